//go:build !unix

package duckdb

import "time"

// processCPU is not measured on this platform: --trace prints 0.
func processCPU() time.Duration { return 0 }
