#!/usr/bin/env python3
"""Write Delta tables with Apache Spark and Delta Lake (delta-spark).

Usage: spark_tables.py OUT_DIR

Needs pyspark (scripts/requirements-test.txt) and the delta-spark jars that
`make test-deps` resolves with Maven into .cache/spark-jars (SPARK_JARS names
the folder). Every table is written under OUT_DIR/<name>; what each must hold
is asserted by delta/golden_test.go, not here. The script prints one JSON
object on its last line: {"spark": version, "tables": [names]}.

Tables (all written by Spark's Delta writer, timestamps as Parquet INT96;
each starts with a CREATE TABLE, version 0, holding no files):
  checkpoint        11 one-row appends, delta.checkpointInterval 10: a
                    classic single-file Parquet checkpoint at version 10
  multipart         7 appends, interval 3, checkpoint part size 2: multi-part
                    checkpoints at versions 3 and 6
  cdf               change data feed, partitioned by a date: write 10 rows,
                    UPDATE, UPDATE, DELETE (cdc files and data files with a
                    _change_type column), checkpoint at 4, append 4 rows,
                    UPDATE; Spark's feed of versions 0-6 in
                    cdf.changes.spark.csv
  types             schema evolution from one NOT NULL integer to every
                    primitive type plus struct/map/array; the last append
                    collects no stats
  edge_timestamps   timestamps at 9999-12-30/31 (INT96 overflows int64 ns)
  partitioned       partitions by int, string, date, long, double and
                    boolean with a null value and values with '/', ' ',
                    '=', '%' and 'ü'
  deletion_vectors  10 rows, DELETE of two with deletion vectors
  column_mapping    column mapping mode 'name', a partition column with spaces
  cm_name, cm_id     column mapping mode 'name' (protocol 2/5) and 'id'
                    (protocol 3/7, readerFeatures), checkpointInterval 4:
                    INSERT, RENAME COLUMN, DROP COLUMN, RENAME of the
                    partition column (checkpoint at 4), INSERT, ADD COLUMN
                    with the dropped column's name, INSERT
  v2_checkpoint     checkpointPolicy v2: JSON checkpoints with Parquet sidecars
  variant           a variant column (feature variantType)
  dv_ops            deletion vectors on, partitioned by grp, checkpointInterval
                    5: append 20 rows (one file per partition), DELETE,
                    UPDATE, MERGE, DELETE (checkpoint at 5), INSERT; Spark's
                    reading of every version (versionAsOf) in
                    dv_ops.v<N>.spark.csv, and as of version 3's commit time
                    (timestampAsOf; the time in dv_ops.ts3.txt) in
                    dv_ops.ts3.spark.csv
  dv_purge          deletion vectors on: append (no vector yet), DELETE,
                    REORG ... APPLY (PURGE) (no vector again)
  dv_big            deletion vectors on: 100000 rows in one file, DELETE of
                    every third row and of a range (array, bitmap and run
                    containers)
  v2_checkpoint_parquet  checkpointPolicy v2 with a Parquet top-level checkpoint
  type_widening     typeWidening: SMALLINT -> INT, INT -> BIGINT, FLOAT -> DOUBLE
                    after rows were written with the narrow types
  dbx_features      what a Databricks table carries: CLUSTER BY (clustering,
                    domainMetadata), rowTracking, inCommitTimestamp,
                    timestamp_ntz, deletion vectors and v2 checkpoints
"""

import glob
import json
import os
import sys

from pyspark.sql import SparkSession


def session(jars, out_dir):
    return (
        SparkSession.builder.master("local[2]")
        .appName("medallion-delta-peers")
        .config("spark.jars", ",".join(jars))
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config(
            "spark.sql.catalog.spark_catalog",
            "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        )
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.warehouse.dir", os.path.join(out_dir, "spark-warehouse"))
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.databricks.delta.snapshotPartitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "INT96")
        .config("spark.databricks.delta.properties.defaults.enableDeletionVectors", "false")
        .getOrCreate()
    )


def main(argv):
    if len(argv) != 2:
        print("usage: spark_tables.py OUT_DIR", file=sys.stderr)
        return 2
    out = argv[1]
    jar_dir = os.environ.get("SPARK_JARS", "")
    jars = sorted(glob.glob(os.path.join(jar_dir, "*.jar")))
    if not jars:
        print(f"spark_tables.py: no jars in SPARK_JARS={jar_dir!r}", file=sys.stderr)
        return 2
    spark = session(jars, out)
    spark.sparkContext.setLogLevel("ERROR")
    names = []

    def path(name):
        names.append(name)
        return os.path.join(out, name)

    def sql(q):
        spark.sql(q).collect()

    # checkpoint: 11 appends, values 0..9 then 0 again.
    p = path("checkpoint")
    sql(f"CREATE TABLE delta.`{p}` (version INT) USING delta TBLPROPERTIES ('delta.checkpointInterval' = '10')")
    for v in list(range(10)):
        sql(f"INSERT INTO delta.`{p}` VALUES ({v})")
    sql(f"INSERT INTO delta.`{p}` VALUES (0)")

    # multipart: checkpoints split into parts of at most 2 actions.
    spark.conf.set("spark.databricks.delta.checkpoint.partSize", "2")
    p = path("multipart")
    sql(f"CREATE TABLE delta.`{p}` (id BIGINT, s STRING) USING delta TBLPROPERTIES ('delta.checkpointInterval' = '3')")
    for v in range(1, 8):
        sql(f"INSERT INTO delta.`{p}` VALUES ({v}, 'row {v}')")
    spark.conf.unset("spark.databricks.delta.checkpoint.partSize")

    # cdf
    p = path("cdf")
    sql(
        f"CREATE TABLE delta.`{p}` (id INT, name STRING, birthday DATE) USING delta "
        "PARTITIONED BY (birthday) "
        "TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true', 'delta.checkpointInterval' = '4')"
    )
    sql(
        f"INSERT INTO delta.`{p}` VALUES "
        "(1, 'Steve', DATE'2023-12-22'), (2, 'Bob', DATE'2023-12-23'), (3, 'Dave', DATE'2023-12-23'), "
        "(4, 'Kate', DATE'2023-12-23'), (5, 'Emily', DATE'2023-12-24'), (6, 'Carl', DATE'2023-12-24'), "
        "(7, 'Dennis', DATE'2023-12-24'), (8, 'Claire', DATE'2023-12-25'), (9, 'Ada', DATE'2023-12-25'), "
        "(10, 'Borb', DATE'2023-12-25')"
    )
    sql(f"UPDATE delta.`{p}` SET birthday = DATE'2023-12-22' WHERE id BETWEEN 2 AND 4")
    sql(f"UPDATE delta.`{p}` SET birthday = DATE'2023-12-29' WHERE id BETWEEN 5 AND 7")
    sql(f"DELETE FROM delta.`{p}` WHERE name = 'Dennis'")
    sql(
        f"INSERT INTO delta.`{p}` VALUES (11, 'Ossama', DATE'2024-12-30'), (12, 'Nick', DATE'2023-12-29'), "
        "(13, 'Ryan', DATE'2023-12-22'), (14, 'Zach', DATE'2023-12-25')"
    )
    sql(f"UPDATE delta.`{p}` SET id = id + 1 WHERE id >= 11")

    # Spark's change data feed of every version (table_changes), the commit
    # time as milliseconds since the epoch.
    df = (
        spark.read.format("delta").option("readChangeFeed", "true").option("startingVersion", 0)
        .option("endingVersion", 6).load(p)
        .selectExpr("*", "unix_millis(_commit_timestamp) AS commit_ms").drop("_commit_timestamp")
    )
    lines = sorted(",".join("" if v is None else str(v) for v in r) for r in df.collect())
    with open(p + ".changes.spark.csv", "w", encoding="utf-8") as f:
        f.write("\n".join([",".join(df.columns)] + lines) + "\n")

    # types: version 0 has one NOT NULL integer; version 1 widens the schema.
    p = path("types")
    sql(f"CREATE TABLE delta.`{p}` (integer INT NOT NULL) USING delta")
    sql(
        f"ALTER TABLE delta.`{p}` ADD COLUMNS (`null` BOOLEAN, boolean BOOLEAN, byte TINYINT, short SMALLINT, "
        "long BIGINT, float FLOAT, double DOUBLE, decimal DECIMAL(8,5), string STRING, binary BINARY, "
        "date DATE, timestamp TIMESTAMP, struct STRUCT<struct_element: STRING>, map MAP<STRING, STRING>, "
        "array ARRAY<STRING>, nested_struct STRUCT<struct_element: STRUCT<nested_struct_element: STRING>>, "
        "struct_of_array_of_map STRUCT<struct_element: ARRAY<MAP<STRING, STRING>>>)"
    )
    row = (
        "CAST(NULL AS BOOLEAN), true, CAST(-7 AS TINYINT), CAST(-300 AS SMALLINT), 9007199254740993, "
        "CAST(1.5 AS FLOAT), 1.234D, -5.67800BD, 'string', X'6279746573', DATE'2022-10-24', {ts}, "
        "named_struct('struct_element', 'struct_value'), map('map_key', 'map_value'), array('array_value'), "
        "named_struct('struct_element', named_struct('nested_struct_element', 'nested_struct_value')), "
        "named_struct('struct_element', array(map('map_key', 'map_value')))"
    )
    sql(f"INSERT INTO delta.`{p}` VALUES (0, " + row.format(ts="TIMESTAMP'2022-10-24 22:59:32.846706'") + ")")
    spark.conf.set("spark.databricks.delta.stats.collect", "false")
    sql(f"INSERT INTO delta.`{p}` VALUES (1, " + row.format(ts="TIMESTAMP'2022-10-24 22:59:34.067272'") + ")")
    spark.conf.unset("spark.databricks.delta.stats.collect")

    # edge_timestamps
    p = path("edge_timestamps")
    sql(f"CREATE TABLE delta.`{p}` (BIG_DATE TIMESTAMP, NORMAL_DATE TIMESTAMP, SOME_VALUE INT) USING delta")
    sql(
        f"INSERT INTO delta.`{p}` VALUES (TIMESTAMP'9999-12-31 00:00:00', TIMESTAMP'2022-01-01 00:00:00', 1), "
        "(TIMESTAMP'9999-12-30 00:00:00', TIMESTAMP'2022-02-01 00:00:00', 2)"
    )

    # partitioned
    p = path("partitioned")
    sql(
        f"CREATE TABLE delta.`{p}` (value STRING, i INT, s STRING, d DATE, l BIGINT, f DOUBLE, b BOOLEAN) "
        "USING delta PARTITIONED BY (i, s, d, l, f, b)"
    )
    sql(
        f"INSERT INTO delta.`{p}` VALUES "
        "('plain', 1, 'a', DATE'2021-12-20', 10, 9.9, true), "
        "('slash', 2, 'A/A', DATE'2020-02-03', 9, 10.0, false), "
        "('space', 3, 'B B', DATE'2020-02-05', -1, -0.5, true), "
        "('equals percent', 4, 'k=v%20', DATE'2021-04-05', 0, 0.0, false), "
        "('umlaut', 5, 'züri', DATE'2021-12-04', 1, 1.25, true), "
        "('nulls', NULL, NULL, NULL, NULL, NULL, NULL), "
        "('nulls too', NULL, NULL, NULL, NULL, NULL, NULL)"
    )

    # deletion_vectors
    p = path("deletion_vectors")
    sql(f"CREATE TABLE delta.`{p}` (value INT) USING delta TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')")
    spark.range(10).selectExpr("CAST(id AS INT) AS value").coalesce(1).write.format("delta").mode("append").save(p)
    sql(f"DELETE FROM delta.`{p}` WHERE value IN (0, 9)")

    # column_mapping
    p = path("column_mapping")
    sql(
        f"CREATE TABLE delta.`{p}` (`Company Very Short` STRING, `Super Name` STRING) USING delta "
        "PARTITIONED BY (`Company Very Short`) "
        "TBLPROPERTIES ('delta.columnMapping.mode' = 'name', 'delta.minReaderVersion' = '2', 'delta.minWriterVersion' = '5')"
    )
    sql(
        f"INSERT INTO delta.`{p}` VALUES ('BME', 'Timothy Lamb'), ('BMS', 'Anthony Johnson'), "
        "('BMS', 'Nathan Bennett')"
    )

    # cm_name, cm_id: renames (data and partition column), a drop, and a
    # re-added column named like the dropped one (new physical name: the
    # dropped values must not come back).
    for mode, proto in (("name", ("2", "5")), ("id", ("3", "7"))):
        p = path("cm_" + mode)
        sql(
            f"CREATE TABLE delta.`{p}` (id INT, `Old Name` STRING, gone STRING, p STRING) USING delta "
            "PARTITIONED BY (p) "
            f"TBLPROPERTIES ('delta.columnMapping.mode' = '{mode}', 'delta.minReaderVersion' = '{proto[0]}', "
            f"'delta.minWriterVersion' = '{proto[1]}', 'delta.checkpointInterval' = '4')"
        )
        sql(f"INSERT INTO delta.`{p}` VALUES (1, 'a', 'x', 'P1'), (2, 'b', 'y', 'P 2')")
        sql(f"ALTER TABLE delta.`{p}` RENAME COLUMN `Old Name` TO `New Name`")
        sql(f"ALTER TABLE delta.`{p}` DROP COLUMN gone")
        sql(f"ALTER TABLE delta.`{p}` RENAME COLUMN p TO `Part Col`")
        sql(f"INSERT INTO delta.`{p}` VALUES (3, 'c', 'P1')")
        sql(f"ALTER TABLE delta.`{p}` ADD COLUMNS (gone STRING)")
        sql(f"INSERT INTO delta.`{p}` VALUES (4, 'd', 'P3', 'new')")
        # What Spark reads back, for the tests to compare with their
        # expectations: a header and one line per row, sorted, NULL empty.
        df = spark.sql(f"SELECT * FROM delta.`{p}`")
        lines = sorted(",".join("" if v is None else str(v) for v in r) for r in df.collect())
        with open(p + ".spark.csv", "w", encoding="utf-8") as f:
            f.write("\n".join([",".join(df.columns)] + lines) + "\n")

    # v2_checkpoint
    spark.conf.set("spark.databricks.delta.checkpointV2.topLevelFileFormat", "json")
    p = path("v2_checkpoint")
    sql(
        f"CREATE TABLE delta.`{p}` (id BIGINT, name STRING, created_at TIMESTAMP) USING delta "
        "TBLPROPERTIES ('delta.checkpointPolicy' = 'v2', 'delta.checkpointInterval' = '3')"
    )
    for v in range(1, 5):
        sql(f"INSERT INTO delta.`{p}` VALUES ({v}, 'name {v}', TIMESTAMP'2025-08-09 14:44:18.184471')")
    spark.conf.unset("spark.databricks.delta.checkpointV2.topLevelFileFormat")

    # variant
    p = path("variant")
    sql(f"CREATE TABLE delta.`{p}` (id INT, v VARIANT) USING delta")
    sql(f"INSERT INTO delta.`{p}` SELECT 1, parse_json('{{\"a\": 1}}')")

    def spark_csv(p, dst, version=None):
        # What Spark reads back: a header and one line per row, sorted, NULL
        # empty; the tests compare medallion's reading with it.
        r = spark.read.format("delta")
        if version is not None:
            r = r.option("versionAsOf", version)
        df = r.load(p)
        lines = sorted(",".join("" if v is None else str(v) for v in row) for row in df.collect())
        with open(dst, "w", encoding="utf-8") as f:
            f.write("\n".join([",".join(df.columns)] + lines) + "\n")

    # dv_ops: deletion vectors written by DELETE, UPDATE and MERGE.
    p = path("dv_ops")
    sql(
        f"CREATE TABLE delta.`{p}` (id INT, grp STRING, amount BIGINT) USING delta PARTITIONED BY (grp) "
        "TBLPROPERTIES ('delta.enableDeletionVectors' = 'true', 'delta.checkpointInterval' = '5')"
    )
    (
        spark.range(20)
        .selectExpr("CAST(id AS INT) AS id", "IF(id % 2 = 0, 'a', 'b') AS grp", "id AS amount")
        .repartition(1)
        .write.format("delta").mode("append").save(p)
    )
    sql(f"DELETE FROM delta.`{p}` WHERE id % 5 = 0")
    sql(f"UPDATE delta.`{p}` SET amount = amount * 10 WHERE id IN (1, 2)")
    sql(
        f"MERGE INTO delta.`{p}` t USING (SELECT * FROM VALUES (3, 'b', CAST(-3 AS BIGINT)), "
        "(100, 'a', CAST(100 AS BIGINT)) AS s(id, grp, amount)) s ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET amount = s.amount WHEN NOT MATCHED THEN INSERT *"
    )
    sql(f"DELETE FROM delta.`{p}` WHERE id = 7")
    sql(f"INSERT INTO delta.`{p}` VALUES (200, 'a', 200)")
    for v in range(0, 7):
        spark_csv(p, f"{p}.v{v}.spark.csv", v)
    # Time travel by timestamp: Spark's reading as of version 3's commit
    # time, and that time (milliseconds since the epoch, UTC).
    ts3 = spark.sql(f"DESCRIBE HISTORY delta.`{p}`").where("version = 3").select("timestamp").collect()[0][0]
    with open(p + ".ts3.txt", "w", encoding="utf-8") as f:
        f.write(ts3.strftime("%Y-%m-%d %H:%M:%S.%f") + "\n")
    df = spark.read.format("delta").option("timestampAsOf", ts3.strftime("%Y-%m-%d %H:%M:%S.%f")).load(p)
    lines = sorted(",".join("" if v is None else str(v) for v in r) for r in df.collect())
    with open(p + ".ts3.spark.csv", "w", encoding="utf-8") as f:
        f.write("\n".join([",".join(df.columns)] + lines) + "\n")

    # dv_purge: the feature listed with no vector, before and after one.
    p = path("dv_purge")
    sql(f"CREATE TABLE delta.`{p}` (id INT) USING delta TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')")
    spark.range(10).selectExpr("CAST(id AS INT) AS id").coalesce(1).write.format("delta").mode("append").save(p)
    sql(f"DELETE FROM delta.`{p}` WHERE id < 3")
    sql(f"REORG TABLE delta.`{p}` APPLY (PURGE)")

    # dv_big: one file, a vector with every kind of roaring container.
    p = path("dv_big")
    sql(f"CREATE TABLE delta.`{p}` (id BIGINT) USING delta TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')")
    spark.range(100000).coalesce(1).write.format("delta").mode("append").save(p)
    sql(f"DELETE FROM delta.`{p}` WHERE id % 3 = 0 OR id BETWEEN 50000 AND 70000")

    # v2_checkpoint_parquet
    spark.conf.set("spark.databricks.delta.checkpointV2.topLevelFileFormat", "parquet")
    p = path("v2_checkpoint_parquet")
    sql(
        f"CREATE TABLE delta.`{p}` (id BIGINT, name STRING) USING delta "
        "TBLPROPERTIES ('delta.checkpointPolicy' = 'v2', 'delta.checkpointInterval' = '3')"
    )
    for v in range(1, 5):
        sql(f"INSERT INTO delta.`{p}` VALUES ({v}, 'name {v}')")
    spark.conf.unset("spark.databricks.delta.checkpointV2.topLevelFileFormat")

    # type_widening
    p = path("type_widening")
    sql(
        f"CREATE TABLE delta.`{p}` (s SMALLINT, i INT, f FLOAT) USING delta "
        "TBLPROPERTIES ('delta.enableTypeWidening' = 'true')"
    )
    sql(f"INSERT INTO delta.`{p}` VALUES (1, 1, 1.5)")
    sql(f"ALTER TABLE delta.`{p}` ALTER COLUMN s TYPE INT")
    sql(f"ALTER TABLE delta.`{p}` ALTER COLUMN i TYPE BIGINT")
    sql(f"ALTER TABLE delta.`{p}` ALTER COLUMN f TYPE DOUBLE")
    sql(f"INSERT INTO delta.`{p}` VALUES (100000, 10000000000, 2.25)")
    spark_csv(p, p + ".spark.csv")

    # dbx_features
    p = path("dbx_features")
    sql(
        f"CREATE TABLE delta.`{p}` (id BIGINT, ts TIMESTAMP_NTZ, s STRING) USING delta CLUSTER BY (id) "
        "TBLPROPERTIES ('delta.enableRowTracking' = 'true', 'delta.enableInCommitTimestamps' = 'true', "
        "'delta.enableDeletionVectors' = 'true', 'delta.checkpointPolicy' = 'v2', 'delta.checkpointInterval' = '2')"
    )
    sql(f"INSERT INTO delta.`{p}` VALUES (1, TIMESTAMP_NTZ'2026-12-01 10:00:00', 'one'), (2, TIMESTAMP_NTZ'2026-12-01 11:30:00.5', 'two')")
    sql(f"INSERT INTO delta.`{p}` VALUES (3, NULL, 'three')")
    sql(f"DELETE FROM delta.`{p}` WHERE id = 2")
    spark_csv(p, p + ".spark.csv")

    print(json.dumps({"spark": spark.version, "tables": names}))
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
