#!/usr/bin/env python3
"""Read the change data feed of Delta tables with Apache Spark (delta-spark).

Usage: read_change_feed.py TABLE_DIR...

Needs pyspark and the delta-spark jars (SPARK_JARS names their folder; `make
test-deps` puts them in .cache/spark-jars). For every table it reads
spark.read.format("delta").option("readChangeFeed", "true") from version 0
and prints one JSON object per change row:
{"table": TABLE_DIR, "version": _commit_version, "type": _change_type,
 "row": the data columns in schema order, rendered as text ("NULL" for null)
 and joined by "|"}, then one per row of the table's latest snapshot with
"type": "snapshot". What the feed must hold is asserted by the Go test.
"""

import glob
import json
import os
import sys

from pyspark.sql import SparkSession


def render(v):
    return "NULL" if v is None else str(v)


def main(argv):
    jars = glob.glob(os.path.join(os.environ["SPARK_JARS"], "*.jar"))
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("medallion-cdf-reader")
        .config("spark.jars", ",".join(jars))
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    for path in argv[1:]:
        snap = spark.read.format("delta").load(path)
        cols = snap.columns
        feed = spark.read.format("delta").option("readChangeFeed", "true").option("startingVersion", 0).load(path)
        for r in feed.collect():
            d = r.asDict()
            row = "|".join(render(d[c]) for c in cols)
            print(json.dumps({"table": path, "version": d["_commit_version"], "type": d["_change_type"], "row": row}))
        for r in snap.collect():
            d = r.asDict()
            print(json.dumps({"table": path, "version": -1, "type": "snapshot", "row": "|".join(render(d[c]) for c in cols)}))
    spark.stop()


if __name__ == "__main__":
    main(sys.argv)
