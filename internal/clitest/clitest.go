// Package clitest lets a test binary act as the medallion command line, so
// that tests run each medallion command as an OS process of its own (the
// way a team runs them side by side) without building the binary first.
package clitest

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/medallionhq/medallion/internal/cli"
)

// Env, set to "1" in a process's environment, makes a test binary whose
// TestMain calls RunIfChild run the command line (its arguments) instead
// of the tests.
const Env = "MEDALLION_CLI_CHILD"

// RunIfChild runs the command line as cmd/medallion does (Ctrl-C and
// SIGTERM end its context) and exits when Env is set; otherwise it returns.
// Call it first thing in TestMain.
func RunIfChild() {
	if os.Getenv(Env) != "1" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// ChildEnv is the environment of a child process running the command line:
// this process's, with Env set, plus extra ("KEY=value").
func ChildEnv(extra ...string) []string {
	return append(append(os.Environ(), Env+"=1"), extra...)
}
