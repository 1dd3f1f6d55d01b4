package spark

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/storage"
)

// fakeDriver is a store driver of any scheme that holds nothing: the
// translation reads only the store's URL.
type fakeDriver struct{ storage.Driver }

// TestObjectLocation: Spark reads each landing object in place at the
// location its Hadoop file systems understand.
func TestObjectLocation(t *testing.T) {
	dir := t.TempDir()
	local, err := storage.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	mem, err := storage.Open(t.Context(), "mem://spark-objects")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	at := func(url string) *storage.Store { return storage.NewStore(url, fakeDriver{}) }
	t.Setenv("AZURE_STORAGE_ACCOUNT", "envacct")
	t.Setenv("AZURE_STORAGE_ACCOUNT_NAME", "")
	tests := []struct {
		name    string
		obj     engine.Object
		want    string
		wantErr string
	}{
		{"local store", engine.Object{Store: local, Key: "orders/1.csv"}, filepath.Join(dir, "orders", "1.csv"), ""},
		{"local-only file", engine.LocalObject("/tmp/range-1.csv"), "/tmp/range-1.csv", ""},
		{"abfss as is", engine.Object{Store: at("abfss://land@acct.dfs.core.windows.net/root"), Key: "orders/1.csv"}, "abfss://land@acct.dfs.core.windows.net/root/orders/1.csv", ""},
		{"s3 to s3a", engine.Object{Store: at("s3://bucket/landing"), Key: "orders/1.csv"}, "s3a://bucket/landing/orders/1.csv", ""},
		{"gs as is", engine.Object{Store: at("gs://bucket/landing/"), Key: "orders/1.csv"}, "gs://bucket/landing/orders/1.csv", ""},
		{"az with the account from the environment", engine.Object{Store: at("az://land/root"), Key: "o/1.csv"}, "abfss://land@envacct.dfs.core.windows.net/root/o/1.csv", ""},
		{"azblob with the account in the host", engine.Object{Store: at("azblob://land@acct.blob.core.windows.net/root"), Key: "o/1.csv"}, "abfss://land@acct.dfs.core.windows.net/root/o/1.csv", ""},
		{"memory store", engine.Object{Store: mem, Key: "o/1.csv"}, "", "mem://spark-objects/o/1.csv"},
		{"nothing to read", engine.Object{}, "", "neither a store nor a local path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := objectLocation(tt.obj)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("objectLocation: %q, %v; want an error naming %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("objectLocation: %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	t.Run("az without an account", func(t *testing.T) {
		t.Setenv("AZURE_STORAGE_ACCOUNT", "")
		if _, err := objectLocation(engine.Object{Store: at("az://land/root"), Key: "o/1.csv"}); err == nil || !strings.Contains(err.Error(), "AZURE_STORAGE_ACCOUNT") {
			t.Fatalf("az:// without an account: %v, want an error saying where the account goes", err)
		}
	})
}

// TestSparkURL: a table's folder and a key below it map to the same URL
// Spark's Hadoop file systems read, by one function for both.
func TestSparkURL(t *testing.T) {
	dir := t.TempDir()
	local, err := storage.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	at := func(url string) *storage.Store { return storage.NewStore(url, fakeDriver{}) }
	t.Setenv("AZURE_STORAGE_ACCOUNT", "envacct")
	t.Setenv("AZURE_STORAGE_ACCOUNT_NAME", "")
	tests := []struct {
		name    string
		store   *storage.Store
		key     string
		want    string
		wantErr string
	}{
		{"local table", local, "", dir, ""},
		{"local staging folder", local, ".staging-1", filepath.Join(dir, ".staging-1"), ""},
		{"s3 table", at("s3://bucket/lake/silver/orders"), "", "s3a://bucket/lake/silver/orders", ""},
		{"s3 staging folder", at("s3://bucket/lake/silver/orders/"), ".staging-1", "s3a://bucket/lake/silver/orders/.staging-1", ""},
		{"s3a table", at("s3a://bucket/lake/t"), "", "s3a://bucket/lake/t", ""},
		{"abfss table", at("abfss://lake@acct.dfs.core.windows.net/silver/orders"), "", "abfss://lake@acct.dfs.core.windows.net/silver/orders", ""},
		{"abfs (plain HTTP) table", at("abfs://lake@devstoreaccount1.dfs.core.windows.net/silver/orders"), "", "abfs://lake@devstoreaccount1.dfs.core.windows.net/silver/orders", ""},
		{"az table", at("az://lake/silver/orders"), "", "abfss://lake@envacct.dfs.core.windows.net/silver/orders", ""},
		{"azblob staging folder", at("azblob://lake@acct.blob.core.windows.net/t"), ".staging-1/p=1", "abfss://lake@acct.dfs.core.windows.net/t/.staging-1/p=1", ""},
		{"gs table", at("gs://bucket/lake/t/"), "", "gs://bucket/lake/t", ""},
		{"memory table", at("mem://lake/t"), "", "", "mem://lake/t: Spark cannot read mem://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sparkURL(tt.store, tt.key)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("sparkURL: %q, %v; want an error naming %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("sparkURL: %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
