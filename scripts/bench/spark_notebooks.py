"""The PySpark notebooks reference of `make bench-spark`.

The work the original Azure Databricks notebooks did (Bronze.ipynb,
Silver.ipynb, Gold.ipynb; see the README's "make bench-spark"), written the
way a Spark user would, run as a Spark Connect client against the same
local Spark Connect server medallion's spark engine uses. It writes three
layers of Delta tables under LAKE/<layer>/<table>, each notebook reading
the previous layer's tables from the lake:

  bronze  every landed CSV source, typed as medallion.yaml's schemas say
          (a value that does not parse becomes null), plus _source_file
          and _seq (file order, then row order: "newest" below);
          orders partitioned by order_year/order_month
  silver  the models' cleaning (trims, empty -> null, coalesces,
          boleto -> cash, lower-case accent-stripped cities) and the newest
          row per key
  gold    the 18 contract tables and gold.daily_by_state

The table and column contract is medallion's gold (scripts/benchcmp checks
every gold table against medallion's). There is no exactly-once
bookkeeping, expectations, quarantine or run report.

  python spark_notebooks.py [--remote sc://127.0.0.1:15002] [--incremental] LANDING LAKE

Without --incremental every layer is overwritten (a full refresh). With
--incremental the lake must hold an earlier run: bronze appends only the
files not loaded yet (by _source_file), silver MERGEs the newest row per
key of those rows (a newer _seq wins), and gold is recomputed from silver
and overwritten (the Gold notebook's way).
"""

import argparse
import glob
import os
import sys
import unicodedata

from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType, TimestampType

SEGMENT_MID_FROM = 500
SEGMENT_HIGH_FROM = 2000
TOP_N = 10

# _seq = file ordinal << FILE_SHIFT | row number inside the file's partition.
# A CSV read with multiLine is not split, so a file's rows are in one
# partition, in file order; monotonically_increasing_id's low 33 bits count
# them.
FILE_SHIFT = 34

TS, LONG, DOUBLE, STR = "timestamp", "bigint", "double", "string"

# Source -> columns with their types (pipeline/ecommerce/project/medallion.yaml);
# columns not listed (products' dimensions) stay text in bronze.
SOURCES = {
    "orders": {
        "order_id": STR, "customer_id": STR, "order_status": STR,
        "order_purchase_timestamp": TS, "order_approved_at": TS,
        "order_delivered_carrier_date": TS, "order_delivered_customer_date": TS,
        "order_estimated_delivery_date": TS,
    },
    "order_items": {
        "order_id": STR, "product_id": STR, "seller_id": STR,
        "order_item_id": LONG, "price": DOUBLE, "freight_value": DOUBLE,
        "shipping_limit_date": TS,
    },
    "customers": {c: STR for c in ["customer_id", "customer_unique_id", "customer_zip_code_prefix", "customer_city", "customer_state"]},
    "payments": {
        "order_id": STR, "payment_type": STR, "payment_sequential": LONG,
        "payment_installments": LONG, "payment_value": DOUBLE,
    },
    "products": {"product_id": STR, "product_category_name": STR},
    "sellers": {c: STR for c in ["seller_id", "seller_zip_code_prefix", "seller_city", "seller_state"]},
    "geolocation": {
        "geolocation_zip_code_prefix": STR, "geolocation_lat": DOUBLE, "geolocation_lng": DOUBLE,
        "geolocation_city": STR, "geolocation_state": STR,
    },
    "category_translation": {"product_category_name": STR, "product_category_name_english": STR},
    "reviews": {
        "review_id": STR, "order_id": STR, "review_score": LONG,
        "review_comment_title": STR, "review_comment_message": STR,
        "review_creation_date": TS, "review_answer_timestamp": TS,
    },
}

# Silver keys (the newest row per key is kept).
KEYS = {
    "orders": ["order_id"],
    "order_items": ["order_id", "order_item_id"],
    "customers": ["customer_id"],
    "payments": ["order_id", "payment_sequential"],
    "products": ["product_id"],
    "sellers": ["seller_id"],
    "geolocation": ["geolocation_zip_code_prefix"],
    "category_translation": ["product_category_name"],
    "reviews": ["review_id", "order_id"],
}

SPARK_TYPES = {TS: TimestampType(), LONG: LongType(), DOUBLE: DoubleType(), STR: StringType()}


def q(name):
    return "`" + name.replace("`", "``") + "`"


def typed(name, dtype):
    """A text column converted to dtype; a value that does not parse is null."""
    if dtype == STR:
        return F.col(name)
    if dtype == TS:
        return F.expr(f"try_to_timestamp(trim({q(name)}), 'yyyy-MM-dd HH:mm:ss')").alias(name)
    return F.expr(f"try_cast(trim({q(name)}) AS {dtype})").alias(name)


def path_of(lake, layer, name):
    return os.path.join(lake, layer, name)


def read_source(spark, landing, source, files, first_ordinal):
    """The rows of files (sorted landing paths) typed, with _source_file and _seq."""
    schema = SOURCES[source]
    if not files:
        fields = [StructField(n, SPARK_TYPES[t]) for n, t in schema.items()]
        fields += [StructField("_source_file", StringType()), StructField("_seq", LongType())]
        return spark.createDataFrame([], StructType(fields))
    df = (spark.read.option("header", True).option("multiLine", True).option("quote", '"').option("escape", '"')
          .option("mode", "PERMISSIVE").csv(files))
    # _metadata.file_path is a URI (file:/…); the map is keyed by the path.
    ordinal = F.create_map(*[x for i, f in enumerate(files) for x in (F.lit(f), F.lit(first_ordinal + i))])
    rel = F.create_map(*[x for f in files for x in (F.lit(f), F.lit(os.path.relpath(f, landing)))])
    df = df.select("*", F.regexp_replace(F.col("_metadata.file_path"), "^file:/+", "/").alias("_file"))
    df = df.withColumn("_file", F.when(ordinal[F.col("_file")].isNull(), F.raise_error(
        F.concat(F.lit(f"spark_notebooks: {source}: a row of an unexpected file "), F.col("_file")))).otherwise(F.col("_file")))
    df = df.select(
        *[typed(n, t) if n in schema else F.col(q(n)) for n, t in
          [(c, schema.get(c, STR)) for c in df.columns if c != "_file"]],
        rel[F.col("_file")].alias("_source_file"),
        ((ordinal[F.col("_file")].cast("bigint") * F.lit(1 << FILE_SHIFT))
         + (F.monotonically_increasing_id() % F.lit(1 << 33))).alias("_seq"))
    for n, t in schema.items():
        if n not in df.columns:
            df = df.withColumn(n, F.lit(None).cast(SPARK_TYPES[t]))
    return df


def landing_files(landing, source):
    return sorted(glob.glob(os.path.join(landing, source, "**", "*.csv"), recursive=True))


def write(df, path, partition_by=None, mode="overwrite"):
    w = df.write.format("delta").mode(mode)
    if mode == "overwrite":
        w = w.option("overwriteSchema", "true")
    if partition_by:
        w = w.partitionBy(*partition_by)
    w.save(path)


def with_partitions(df):
    ts = F.col("order_purchase_timestamp")
    return df.withColumn("order_year", F.year(ts).cast("int")).withColumn("order_month", F.month(ts).cast("int"))


# --- Silver ---

def txt(name):
    """nullif(trim(name), '')"""
    s = F.trim(F.col(name))
    return F.when(s == "", F.lit(None)).otherwise(s).alias(name)


def accent_tables():
    """translate()'s two strings: each precomposed Latin letter to its base letter."""
    src, dst = [], []
    for lo, hi in ((0xC0, 0x24F), (0x1E00, 0x1EFF)):
        for r in range(lo, hi + 1):
            d = unicodedata.normalize("NFD", chr(r))
            if len(d) >= 2 and d[0].isalpha() and ord(d[0]) <= 0xFF and all(0x300 <= ord(m) <= 0x36F for m in d[1:]):
                src.append(chr(r))
                dst.append(d[0])
    return "".join(src), "".join(dst)


ACCENTS_FROM, ACCENTS_TO = accent_tables()


def city(name):
    """nullif(lower(regexp_replace(strip_accents(trim(name)), '\\s+', ' ', 'g')), '')"""
    s = F.translate(F.regexp_replace(F.trim(F.col(name)), "[\u0300-\u036f]", ""), ACCENTS_FROM, ACCENTS_TO)
    s = F.lower(F.regexp_replace(s, r"\s+", " "))
    return F.when(s == "", F.lit(None)).otherwise(s).alias(name)


def cleaned(name, df):
    """The silver model's cleaning of a bronze table (before dedupe)."""
    if name == "orders":
        return df.withColumns({"order_id": txt("order_id"), "customer_id": txt("customer_id"),
                               "order_status": F.coalesce(txt("order_status"), F.lit("unavailable"))})
    if name == "order_items":
        return df.withColumns({"order_id": txt("order_id"), "product_id": txt("product_id"), "seller_id": txt("seller_id"),
                               "price": F.coalesce(F.col("price"), F.lit(0.0)),
                               "freight_value": F.coalesce(F.col("freight_value"), F.lit(0.0))})
    if name == "customers":
        return df.withColumns({"customer_id": txt("customer_id"), "customer_unique_id": txt("customer_unique_id"),
                               "customer_zip_code_prefix": txt("customer_zip_code_prefix"),
                               "customer_city": city("customer_city"), "customer_state": txt("customer_state")})
    if name == "payments":
        return df.withColumns({"order_id": txt("order_id"),
                               "payment_type": F.when(F.trim(F.col("payment_type")) == "boleto", F.lit("cash"))
                               .otherwise(txt("payment_type"))})
    if name == "products":
        return df.select(txt("product_id"),
                         F.coalesce(txt("product_category_name"), F.lit("unknown")).alias("product_category_name"),
                         "_source_file", "_seq")
    if name == "sellers":
        return df.withColumns({c: txt(c) for c in ["seller_id", "seller_zip_code_prefix", "seller_city", "seller_state"]})
    if name == "geolocation":
        return df.select(txt("geolocation_zip_code_prefix"), city("geolocation_city"), txt("geolocation_state"),
                         "_source_file", "_seq")
    if name == "category_translation":
        return df.withColumns({"product_category_name": txt("product_category_name"),
                               "product_category_name_english": txt("product_category_name_english")})
    if name == "reviews":
        return df.withColumns({"review_id": txt("review_id"), "order_id": txt("order_id")})
    raise ValueError(name)


def newest(df, keys):
    """The newest row (highest _seq) per key, rows with a null key dropped."""
    for k in keys:
        df = df.filter(F.col(k).isNotNull())
    w = Window.partitionBy(*keys).orderBy(F.col("_seq").desc())
    return df.withColumn("__n", F.row_number().over(w)).filter("__n = 1").drop("__n")


def silver_of(name, bronze):
    return newest(cleaned(name, bronze), KEYS[name])


# --- Gold ---

def gold_tables(o, c, items, products, translation, payments, sellers, reviews):
    items = items.select("order_id", "order_item_id", "product_id", "seller_id", "price", "freight_value")
    oi = (o.select("order_id", "order_purchase_timestamp", "order_status", "customer_id")
          .join(items, "order_id", "left")
          .join(c.select("customer_id", "customer_unique_id", "customer_state", "customer_city"), "customer_id", "left")
          .join(products.select("product_id", "product_category_name"), "product_id", "left")
          .join(translation.select("product_category_name", "product_category_name_english"), "product_category_name", "left")
          .withColumns({"date": F.to_date("order_purchase_timestamp"),
                        "has_item": F.col("order_item_id").isNotNull(),
                        "revenue": F.col("price") + F.col("freight_value")})
          .withColumn("category", F.when(F.col("has_item"), F.coalesce("product_category_name_english", "product_category_name",
                                                                       F.lit("unknown"))))
          .cache())  # the 19 tables read it: join once
    sold = oi.filter("has_item")
    pay = (o.select("order_id", F.to_date("order_purchase_timestamp").alias("date"))
           .join(payments.select("order_id", "payment_type", "payment_installments"), "order_id", "inner")
           .withColumn("plan", F.when(F.col("payment_installments") > 1, F.lit("installments")).otherwise(F.lit("one-time"))))
    orders = F.count_distinct("order_id").alias("orders")
    items_n = F.count(F.lit(1)).alias("items")

    g = {}
    g["daily_revenue"] = sold.groupBy("date").agg(F.sum("revenue").alias("revenue"), orders)
    g["category_orders_daily"] = sold.groupBy("date", "category").agg(items_n)
    g["total_revenue"] = (g["daily_revenue"].agg(F.sum("revenue").alias("revenue"),
                                                 F.coalesce(F.sum("orders"), F.lit(0)).cast("bigint").alias("orders"))
                          .crossJoin(g["category_orders_daily"].agg(
                              F.coalesce(F.sum("items"), F.lit(0)).cast("bigint").alias("items"))))
    g["revenue_by_category"] = sold.groupBy("category").agg(F.sum("revenue").alias("revenue"), items_n)
    g["top_products"] = sold.groupBy("product_id", "category").agg(F.count(F.lit(1)).alias("items_sold"),
                                                                    F.sum("revenue").alias("revenue"))
    g["revenue_by_state"] = sold.groupBy("date", "customer_state", "customer_city").agg(F.sum("revenue").alias("revenue"))
    spend = (sold.filter(F.col("customer_unique_id").isNotNull())
             .groupBy("date", "customer_unique_id").agg(F.sum("revenue").alias("spend")))
    g["customer_segments"] = (spend.withColumn("segment", F.when(F.col("spend") < SEGMENT_MID_FROM, F.lit("Low"))
                                               .when(F.col("spend") < SEGMENT_HIGH_FROM, F.lit("Mid")).otherwise(F.lit("High")))
                              .groupBy("date", "segment").agg(F.count(F.lit(1)).alias("customers")))
    g["aov_daily"] = sold.groupBy("date").agg((F.sum("revenue") / F.count_distinct("order_id")).alias("aov"), orders)
    canceled = F.col("order_status") == "canceled"
    g["cancellation_rate_daily"] = (o.groupBy(F.to_date("order_purchase_timestamp").alias("date"))
                                    .agg(F.sum(F.when(canceled, 1).otherwise(0)).cast("bigint").alias("canceled_orders"),
                                         F.count(F.lit(1)).alias("orders"))
                                    .withColumn("cancellation_rate_pct", 100.0 * F.col("canceled_orders") / F.col("orders")))
    people = (o.join(c.select("customer_id", "customer_unique_id"), "customer_id", "inner")
              .filter(F.col("customer_unique_id").isNotNull()))
    g["repeat_customers"] = people.groupBy("customer_unique_id").agg(orders).filter(F.col("orders") > 1)
    g["top_sellers"] = (sold.select("seller_id").join(sellers.select("seller_id", "seller_city"), "seller_id", "left")
                        .groupBy("seller_id", "seller_city").agg(F.count(F.lit(1)).alias("items_sold")))
    typed_pay = pay.filter(F.col("payment_type").isNotNull())
    g["orders_by_payment_type"] = typed_pay.groupBy("payment_type").agg(orders)
    g["installment_plans"] = pay.groupBy("plan").agg(orders)
    g["payment_rollup"] = typed_pay.rollup("payment_type", "plan").agg(orders)
    w = Window.partitionBy("date").orderBy(F.col("items_sold").desc(), F.col("product_id").asc_nulls_last())
    g["top_products_daily"] = (sold.groupBy("date", "product_id").agg(F.count(F.lit(1)).alias("items_sold"))
                               .withColumn("rank", F.row_number().over(w).cast("bigint"))
                               .filter(F.col("rank") <= TOP_N)
                               .select("date", "rank", "product_id", "items_sold"))
    purchased, delivered = F.col("order_purchase_timestamp"), F.col("order_delivered_customer_date")
    late = F.to_date(delivered) > F.to_date("order_estimated_delivery_date")
    g["delivery_performance"] = (
        o.filter((F.col("order_status") == "delivered") & delivered.isNotNull() & purchased.isNotNull())
        .join(c.select("customer_id", "customer_state"), "customer_id", "left")
        .groupBy("customer_state").agg(
            F.count(F.lit(1)).alias("delivered_orders"),
            F.avg((F.unix_micros(delivered) - F.unix_micros(purchased)) / 1e6 / 86400.0).alias("avg_delivery_days"),
            (100.0 * F.sum(F.when(late, 1).otherwise(0)) / F.count(F.lit(1))).alias("late_pct")))
    g["review_scores_by_category"] = (
        reviews.filter(F.col("review_score").isNotNull()).select("review_id", "order_id", "review_score")
        .join(sold.select("order_id", "category"), "order_id", "inner")
        .dropDuplicates(["review_id", "order_id", "category", "review_score"])
        .groupBy("category").agg(F.count(F.lit(1)).alias("reviews"), F.avg("review_score").alias("avg_score")))
    monthly = (people.filter(purchased.isNotNull())
               .select(F.col("customer_unique_id").alias("person"), F.trunc(F.to_date(purchased), "month").alias("month")))
    first = monthly.groupBy("person").agg(F.min("month").alias("cohort_month"))
    g["cohort_retention"] = (monthly.join(first, "person")
                             .withColumn("months_since_first",
                                         ((F.year("month") - F.year("cohort_month")) * 12
                                          + F.month("month") - F.month("cohort_month")).cast("bigint"))
                             .groupBy("cohort_month", "months_since_first").agg(F.count_distinct("person").alias("customers")))
    g["daily_by_state"] = oi.groupBy("date", "customer_state").agg(
        F.coalesce(F.sum(F.when(F.col("has_item"), F.col("revenue"))), F.lit(0.0)).alias("revenue"),
        F.count_distinct(F.when(F.col("has_item"), F.col("order_id"))).alias("orders"),
        F.count_distinct("order_id").alias("all_orders"),
        F.count_distinct(F.when(canceled, F.col("order_id"))).alias("canceled_orders"))
    return g


def gold(spark, lake):
    """Gold.ipynb: the gold tables from silver's Delta tables, overwritten."""
    s = {name: spark.read.format("delta").load(path_of(lake, "silver", name)) for name in SOURCES}
    s["orders"], s["customers"] = s["orders"].cache(), s["customers"].cache()
    g = gold_tables(s["orders"], s["customers"], s["order_items"], s["products"], s["category_translation"],
                    s["payments"], s["sellers"], s["reviews"])
    for name, df in g.items():
        write(df, path_of(lake, "gold", name))
    spark.catalog.clearCache()


def full(spark, landing, lake):
    # Bronze.ipynb
    for source in SOURCES:
        df = read_source(spark, landing, source, landing_files(landing, source), 0)
        parts = None
        if source == "orders":
            df, parts = with_partitions(df), ["order_year", "order_month"]
        write(df, path_of(lake, "bronze", source), parts)
    # Silver.ipynb
    for name in SOURCES:
        b = spark.read.format("delta").load(path_of(lake, "bronze", name))
        write(silver_of(name, b), path_of(lake, "silver", name), ["order_year", "order_month"] if name == "orders" else None)
    gold(spark, lake)


def incremental(spark, landing, lake):
    for source in SOURCES:
        bpath = path_of(lake, "bronze", source)
        bronze = spark.read.format("delta").load(bpath)
        seen = {r[0] for r in bronze.select("_source_file").distinct().collect()}
        files = [f for f in landing_files(landing, source) if os.path.relpath(f, landing) not in seen]
        if not files:
            continue
        top = bronze.agg(F.max("_seq")).collect()[0][0]
        first = 0 if top is None else (top >> FILE_SHIFT) + 1
        df = read_source(spark, landing, source, files, first)
        if source == "orders":
            df = with_partitions(df)
        # Bronze.ipynb: append the new files' rows.
        write(df, bpath, ["order_year", "order_month"] if source == "orders" else None, mode="append")
        # Silver.ipynb: MERGE the newest new row per key; a newer _seq wins.
        batch = silver_of(source, spark.read.format("delta").load(bpath).filter(F.col("_source_file").isin(
            [os.path.relpath(f, landing) for f in files])))
        view = "__new_" + source
        batch.createOrReplaceTempView(view)
        on = " AND ".join(f"t.{q(k)} = s.{q(k)}" for k in KEYS[source])
        spark.sql(f"MERGE INTO delta.{q(path_of(lake, 'silver', source))} t USING {view} s ON {on} "
                  "WHEN MATCHED AND s._seq > t._seq THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *")
        spark.catalog.dropTempView(view)
    gold(spark, lake)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--remote", default=os.environ.get("SPARK_REMOTE", "sc://127.0.0.1:15002"),
                    help="the Spark Connect server (default $SPARK_REMOTE or sc://127.0.0.1:15002)")
    ap.add_argument("--incremental", action="store_true", help="load only new landing files into an existing lake")
    ap.add_argument("landing")
    ap.add_argument("lake")
    a = ap.parse_args()
    landing, lake = os.path.abspath(a.landing), os.path.abspath(a.lake)
    if not os.path.isdir(landing):
        sys.exit(f"spark_notebooks: {landing}: no such landing folder")
    spark = SparkSession.builder.remote(a.remote).getOrCreate()
    try:
        # local[2]: two shuffle partitions, not 200; snapshots as small jobs.
        for k, v in {"spark.sql.shuffle.partitions": "2", "spark.sql.session.timeZone": "UTC",
                     "spark.sql.adaptive.enabled": "true",
                     "spark.databricks.delta.snapshotPartitions": "2"}.items():
            spark.conf.set(k, v)
        if a.incremental:
            incremental(spark, landing, lake)
        else:
            full(spark, landing, lake)
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
