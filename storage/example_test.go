package storage_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/medallionhq/medallion/storage"
)

// Example opens a lake in a local directory, writes a data file, commits it
// with CreateIfAbsent (as a Delta writer does, so that of two concurrent
// commits only one wins) and lists the table.
func Example() {
	dir, err := os.MkdirTemp("", "medallion-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	lake, err := storage.Open(ctx, dir) // or "file:///...", "mem://name", ...
	if err != nil {
		log.Fatal(err)
	}
	defer lake.Close()

	if err := lake.Write(ctx, "sales/part-00000.parquet", []byte("PAR1...PAR1")); err != nil {
		log.Fatal(err)
	}
	const commit = "sales/_delta_log/00000000000000000000.json"
	if err := lake.CreateIfAbsent(ctx, commit, []byte(`{"commitInfo":{}}`)); err != nil {
		log.Fatal(err)
	}
	err = lake.CreateIfAbsent(ctx, commit, []byte(`{"commitInfo":{"late":true}}`))
	fmt.Println("second commit lost:", errors.Is(err, storage.ErrExists))

	objs, err := lake.List(ctx, "sales/")
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range objs {
		fmt.Println(o.Key, o.Size)
	}
	// Output:
	// second commit lost: true
	// sales/_delta_log/00000000000000000000.json 17
	// sales/part-00000.parquet 11
}
