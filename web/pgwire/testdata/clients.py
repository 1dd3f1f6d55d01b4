"""Python clients against medallion's Postgres endpoint (pgwire tests).

Usage: clients.py DSN
Connects with psycopg 3 (extended protocol, server-side parameters, text
and binary results) and with SQLAlchemy's inspector (what Superset uses
to list schemas, tables and columns), runs parameterised queries over
gold and tries writes. Prints one JSON object on stdout.
"""
import datetime
import decimal
import json
import sys

import psycopg
import sqlalchemy
from sqlalchemy import text

dsn = sys.argv[1]
out = {}

REVENUE = ("SELECT date, revenue, orders FROM gold.daily_revenue "
           "WHERE date >= %s AND orders >= %s ORDER BY date")


def plain(v):
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    return v


with psycopg.connect(dsn) as conn:
    with conn.cursor() as cur:
        cur.execute("SELECT schema_name FROM information_schema.schemata ORDER BY 1")
        out["psycopg_schemas"] = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = %s ORDER BY 1", ("gold",))
        out["psycopg_tables"] = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                    ("gold", "daily_revenue"))
        out["psycopg_columns"] = [r[0] for r in cur.fetchall()]
        cur.execute(REVENUE, (datetime.date(2017, 6, 1), 2))
        out["psycopg_rows"] = [[plain(v) for v in r] for r in cur.fetchall()]
    with conn.cursor(binary=True) as cur:
        cur.execute(REVENUE, (datetime.date(2017, 6, 1), 2))
        out["psycopg_binary_rows"] = [[plain(v) for v in r] for r in cur.fetchall()]
    refused = {}
    for sql in ["DELETE FROM gold.daily_revenue",
                "CREATE TABLE gold.t AS SELECT 1",
                "COPY (SELECT 1) TO '/tmp/medallion-pgwire-copy.csv'"]:
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
            refused[sql] = None
        except psycopg.Error as e:
            refused[sql] = e.sqlstate
        conn.rollback()
    out["psycopg_refused"] = refused

engine = sqlalchemy.create_engine(dsn.replace("postgresql://", "postgresql+psycopg://", 1))
insp = sqlalchemy.inspect(engine)
out["sa_schemas"] = sorted(insp.get_schema_names())
out["sa_tables"] = sorted(insp.get_table_names(schema="gold"))
out["sa_views"] = sorted(insp.get_view_names(schema="silver"))
out["sa_columns"] = [[c["name"], str(c["type"]), c["nullable"]]
                     for c in insp.get_columns("daily_revenue", schema="gold")]
out["sa_pk"] = insp.get_pk_constraint("daily_revenue", schema="gold")["constrained_columns"]
out["sa_fks"] = insp.get_foreign_keys("daily_revenue", schema="gold")
out["sa_indexes"] = insp.get_indexes("daily_revenue", schema="gold")
with engine.connect() as c:
    rows = c.execute(text("SELECT date, revenue, orders FROM gold.daily_revenue "
                          "WHERE date >= :d AND orders >= :n ORDER BY date"),
                     {"d": datetime.date(2017, 6, 1), "n": 2}).fetchall()
    out["sa_rows"] = [[plain(v) for v in r] for r in rows]
json.dump(out, sys.stdout)
