package web

// The tests run projects on the embedded engine, which the CLI registers in
// the binary; here the test binary registers it.
import _ "github.com/medallionhq/medallion/engine/duckdb"
