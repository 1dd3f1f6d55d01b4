#!/usr/bin/env python3
"""Write a small partitioned Delta table with delta-rs (the deltalake package).

Usage: write_table.py TABLE_PATH

The table has the schema of the Go tests (id long, name string, part string),
partitioned by part, and is written in these commits:
  0  append   parts a and b
  1  append   parts b and "c d" (a value that needs escaping in paths; one
              name is null)
  2  overwrite of part b only (predicate "part = 'b'")
and then a checkpoint at version 2 (DeltaTable.create_checkpoint()).

Prints one JSON object: the rows the table must hold, worked out from what
was written (not read back), as lists [id, name, part] with the values
rendered as read_table.py renders them, sorted; the final version; and
num_files, the active file count delta-rs reports.

Used by delta/interop_test.go; needs scripts/requirements-test.txt.
"""

import json
import os
import sys

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64()),
        pa.field("name", pa.string()),
        pa.field("part", pa.string()),
    ]
)


def batch(rows):
    return pa.Table.from_pylist(
        [{"id": i, "name": n, "part": p} for i, n, p in rows], schema=SCHEMA
    )


def main(argv):
    if len(argv) != 2:
        print("usage: write_table.py TABLE_PATH", file=sys.stderr)
        return 2
    path = argv[1]
    if os.path.exists(os.path.join(path, "_delta_log")):
        print(f"write_table.py: {path} already holds a Delta log", file=sys.stderr)
        return 2

    expected = {}  # part -> rows

    v0 = [(1, "alice", "a"), (2, "bob", "a"), (3, "carol", "b")]
    write_deltalake(path, batch(v0), partition_by=["part"], mode="append")
    for r in v0:
        expected.setdefault(r[2], []).append(r)

    v1 = [(4, "dave", "b"), (5, "zoë", "c d"), (6, None, "c d")]
    write_deltalake(path, batch(v1), partition_by=["part"], mode="append")
    for r in v1:
        expected.setdefault(r[2], []).append(r)

    v2 = [(7, "frank", "b"), (8, "grace", "b")]
    write_deltalake(
        path,
        batch(v2),
        partition_by=["part"],
        mode="overwrite",
        predicate="part = 'b'",
    )
    expected["b"] = list(v2)

    dt = DeltaTable(path)
    dt.create_checkpoint()

    rows = [
        [str(i), n, p] for part_rows in expected.values() for i, n, p in part_rows
    ]
    rows.sort(key=lambda r: [("" if v is None else v) for v in r])
    out = {
        "version": dt.version(),
        "num_files": len(dt.file_uris()),
        "rows": rows,
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
