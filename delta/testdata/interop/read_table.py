#!/usr/bin/env python3
"""Read a Delta table with delta-rs (the deltalake package) and print it as JSON.

Usage: read_table.py TABLE_PATH [--version N] [--app-id ID ...]

Loads the latest version, or version N (time travel). Prints one JSON object:
  version            the version delta-rs loaded
  num_files          number of active data files at that version
  rows               the rows as lists in schema order, sorted; values are
                     rendered simply: null stays null, booleans are
                     "true"/"false", everything else is str(value)
  schema             [{"name": ..., "type": ...}] with the Delta type names
                     ("long", "string", ...)
  partition_columns  the table's partition columns
  history            [{"version": v, "operation": op}] oldest first, up to
                     the loaded version, from DeltaTable.history()
  protocol           {"min_reader_version": r, "min_writer_version": w}
  txns               {ID: version or null} for each --app-id, from
                     DeltaTable.transaction_version()

The rows are read with delta-rs's own scan (QueryBuilder, DataFusion), not
DeltaTable.to_pyarrow_table(): that one reads the Parquet files with pyarrow
through delta-rs's filesystem handler, and with deltalake 1.6.6 and pyarrow
26.0.1 the process then usually aborts at exit ("terminate called without an
active exception", delta-io/delta-rs#2184, apache/arrow#34314).

History is taken from the table loaded at its latest version and cut at the
requested one: on a table loaded at an older version, deltalake 1.6.6's
history() lists every commit but numbers them relative to the loaded version
(loaded at 1 with commits 0..2, it reports versions -1, 0, 1).

Used by delta/interop_test.go; needs scripts/requirements-test.txt.
"""

import argparse
import json
import sys

import pyarrow as pa
from deltalake import DeltaTable, QueryBuilder


def render(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def sort_key(row):
    # None sorts first, like an empty string.
    return [("" if v is None else v) for v in row]


def main(argv):
    ap = argparse.ArgumentParser(description="Print a Delta table as delta-rs reads it, as JSON.")
    ap.add_argument("path", help="table root directory")
    ap.add_argument("--version", type=int, default=None, help="version to load (default latest)")
    ap.add_argument("--app-id", action="append", default=[], help="report this txn appId's version")
    args = ap.parse_args(argv[1:])
    path = args.path
    dt = DeltaTable(path, version=args.version)

    schema = json.loads(dt.schema().to_json())
    fields = schema["fields"]
    names = [f["name"] for f in fields]

    cols = ", ".join('"' + n.replace('"', '""') + '"' for n in names)
    table = pa.table(QueryBuilder().register("t", dt).execute(f"SELECT {cols} FROM t"))
    rows = [[render(r[n]) for n in names] for r in table.to_pylist()]
    rows.sort(key=sort_key)

    history = [
        {"version": h.get("version"), "operation": h.get("operation")}
        for h in DeltaTable(path).history()
        if h.get("version") is not None and h["version"] <= dt.version()
    ]
    history.sort(key=lambda h: h["version"])

    proto = dt.protocol()
    out = {
        "version": dt.version(),
        "num_files": len(dt.file_uris()),
        "rows": rows,
        "schema": [
            {"name": f["name"], "type": f["type"] if isinstance(f["type"], str) else json.dumps(f["type"], sort_keys=True)}
            for f in fields
        ],
        "partition_columns": list(dt.metadata().partition_columns),
        "history": history,
        "protocol": {
            "min_reader_version": proto.min_reader_version,
            "min_writer_version": proto.min_writer_version,
        },
        "txns": {app: dt.transaction_version(app) for app in args.app_id},
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
