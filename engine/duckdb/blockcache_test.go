package duckdb

import (
	"testing"
)

func TestBlockCacheMB(t *testing.T) {
	for _, tc := range []struct {
		limit string
		want  int64
	}{
		{"2GB", 238},    // 2e9 / 8 bytes
		{"2GiB", 256},   // 2^31 / 8
		{"512MB", 61},   // 512e6 / 8
		{"1.5 GB", 178}, // spaces and fractions
		{"4gib", 512},
		{"80%", 0}, // a share of the machine's memory: DuckDB's default
		{"", 0},
		{"lots", 0},
		{"12 parsecs", 0},
	} {
		if got := blockCacheMB(tc.limit); got != tc.want {
			t.Errorf("blockCacheMB(%q) = %d, want %d", tc.limit, got, tc.want)
		}
	}
}
