package notify_test

import _ "github.com/medallionhq/medallion/engine/duckdb" // the engine the pipeline tests run
