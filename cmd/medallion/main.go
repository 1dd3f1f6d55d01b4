// Command medallion is the lakehouse pipeline: see `medallion --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/medallionhq/medallion/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
