// Command gcsserver runs fake-gcs-server (the fakestorage library, in
// memory) over plain HTTP on a fixed address, for the tests whose other
// processes must reach one GCS emulator at a URL known when they start: the
// Spark Connect server of scripts/spark-connect-gcs.sh (the GCS connector's
// fs.gs.storage.root.url) and the medallion processes of engine/spark's GCS
// lake test (STORAGE_EMULATOR_HOST). scripts/gcsserver.sh builds and starts
// it.
//
//	gcsserver -addr 127.0.0.1:10003
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/fsouza/fake-gcs-server/fakestorage"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:10003", "host:port to listen on")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "gcsserver:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return fmt.Errorf("-addr %q: port: %w", addr, err)
	}
	// ExternalURL and PublicHost: the resumable upload URLs the server
	// hands out point back at this address.
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme:      "http",
		Host:        host,
		Port:        uint16(port),
		ExternalURL: "http://" + addr,
		PublicHost:  addr,
		Writer:      os.Stderr,
	})
	if err != nil {
		return fmt.Errorf("starting fake-gcs-server on %s: %w", addr, err)
	}
	defer srv.Stop()
	fmt.Fprintf(os.Stderr, "gcsserver: fake-gcs-server listens on %s\n", srv.URL())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	return nil
}
