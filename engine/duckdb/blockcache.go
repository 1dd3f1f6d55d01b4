package duckdb

import (
	"strconv"
	"strings"
)

// The database keeps an eighth of its memory limit of freed buffer blocks
// for reuse (DuckDB's block_allocator_memory) instead of handing each back
// to the C allocator, which returns large blocks to the system and faults
// fresh pages in for the next one. SF1 full refresh, --parallelism 1,
// one run each under load 30: 1.62 s of system time and 384k minor page
// faults before; 1.02 s and 209k with 256MB (2GB / 8), user time equal;
// peak RSS 381 MB → 473 MB. 128MB kept 290k faults, 512MB no fewer than
// 256MB. Memory limits it cannot read (a percentage) leave DuckDB's
// default (none kept).

// blockCacheMB is the block allocator's share of a memory limit, in MiB
// (0: leave DuckDB's default).
func blockCacheMB(limit string) int64 {
	n, ok := parseSize(limit)
	if !ok {
		return 0
	}
	return n / 8 >> 20
}

// parseSize reads a DuckDB memory size: a number and a unit (B, KB, MB,
// GB, TB: powers of 1000; KiB, MiB, GiB, TiB: of 1024), case-insensitive,
// spaces allowed between them.
func parseSize(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i <= 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(s[:i], 64)
	if err != nil || v < 0 {
		return 0, false
	}
	mult := map[string]float64{"b": 1, "bytes": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}[strings.ToLower(strings.TrimSpace(s[i:]))]
	if mult == 0 {
		return 0, false
	}
	return int64(v * mult), true
}
