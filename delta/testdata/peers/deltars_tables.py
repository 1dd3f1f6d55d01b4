#!/usr/bin/env python3
"""Write Delta tables with delta-rs (the deltalake package).

Usage: deltars_tables.py OUT_DIR

Every table is written under OUT_DIR/<name>; what each must hold is asserted
by delta/golden_test.go, not here. Prints one JSON object:
{"deltalake": version, "tables": [names]}.

Tables:
  history              one long column: append 0..4 (v0), MERGE inserting
                       5..19 (v1), overwrite with 5..9 (v2), UPDATE of 6 and
                       8 to 106 and 108 (v3), DELETE of ids over 100 (v4)
  string_partitions    four partition columns typed string whose values look
                       like numbers, booleans and dates
  numeric_partitions   partitions by a long and a double
  two_checkpoints      four appends of the same five rows, checkpoints at
                       versions 1 and 3
  checkpoint_then_more a CREATE (v0) and three overwrites (v1..v3) of five
                       rows, a checkpoint at version 2

Needs scripts/requirements-test.txt (installed into .venv by make test-deps).
"""

import datetime
import json
import sys

import pyarrow as pa
from deltalake import DeltaTable, __version__, write_deltalake


def main(argv):
    if len(argv) != 2:
        print("usage: deltars_tables.py OUT_DIR", file=sys.stderr)
        return 2
    out = argv[1]
    names = []

    def path(name):
        names.append(name)
        return f"{out}/{name}"

    # history
    p = path("history")
    ids = lambda xs: pa.table({"id": pa.array(xs, pa.int64())})  # noqa: E731
    write_deltalake(p, ids(list(range(5))))
    dt = DeltaTable(p)
    (
        dt.merge(ids(list(range(20))), "t.id = s.id", source_alias="s", target_alias="t")
        .when_not_matched_insert_all()
        .execute()
    )
    write_deltalake(p, ids([5, 6, 7, 8, 9]), mode="overwrite")
    DeltaTable(p).update(updates={"id": "id + 100"}, predicate="id = 6 OR id = 8")
    DeltaTable(p).delete("id > 100")

    # string_partitions
    p = path("string_partitions")
    rows = []
    n = 0
    for year in ["2020", "2021.0"]:
        for active in ["true", "false"]:
            for day in ["2023-01-01", "2023-01-02"]:
                for cat in ["A", "B"]:
                    n += 1
                    rows.append(
                        {"id": n, "value": f"record_{n}", "year": year, "is_active": active, "event_date": day, "category": cat}
                    )
    schema = pa.schema(
        [("id", pa.int64()), ("value", pa.string()), ("year", pa.string()), ("is_active", pa.string()),
         ("event_date", pa.string()), ("category", pa.string())]
    )
    write_deltalake(p, pa.Table.from_pylist(rows, schema=schema), partition_by=["year", "is_active", "event_date", "category"])

    # numeric_partitions
    p = path("numeric_partitions")
    schema = pa.schema([("x", pa.int64()), ("y", pa.float64()), ("z", pa.string())])
    write_deltalake(
        p,
        pa.Table.from_pylist([{"x": 9, "y": 9.9, "z": "a"}, {"x": 10, "y": 10.0, "z": "b"}], schema=schema),
        partition_by=["x", "y"],
    )

    # two_checkpoints
    p = path("two_checkpoints")
    schema = pa.schema([("id", pa.string()), ("price", pa.int64()), ("sold", pa.int32()), ("deleted", pa.bool_())])
    five = pa.Table.from_pylist(
        [{"id": str(i + 1), "price": i, "sold": i, "deleted": False} for i in range(5)], schema=schema
    )
    for v in range(4):
        write_deltalake(p, five, mode="append")
        if v in (1, 3):
            DeltaTable(p).create_checkpoint()

    # checkpoint_then_more
    p = path("checkpoint_then_more")
    schema = pa.schema([("letter", pa.string()), ("int", pa.int64()), ("date", pa.date32())])
    DeltaTable.create(p, schema=schema)
    for v in range(1, 4):
        t = pa.Table.from_pylist(
            [{"letter": c, "int": v * 10 + i, "date": datetime.date(1970 + v, 7, 1 + i)} for i, c in enumerate("abcde")],
            schema=schema,
        )
        write_deltalake(p, t, mode="overwrite")
        if v == 2:
            DeltaTable(p).create_checkpoint()

    print(json.dumps({"deltalake": __version__, "tables": names}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
