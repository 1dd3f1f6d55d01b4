"""The polars + deltalake peer of `make bench`.

A straightforward hand-written script doing the built-in e-commerce
project's work with polars, writing the same three layers as Delta tables
(deltalake) under LAKE/<layer>/<table>:

  bronze  every landed source, typed as medallion.yaml's schemas say
          (unparseable values become null), plus _source_file and _seq;
          orders partitioned by order_year/order_month
  silver  the models' cleaning (trims, empty -> null, coalesces,
          boleto -> cash, lower-case accent-stripped cities) and the newest
          row per key
  gold    the 18 contract tables and gold.daily_by_state, from the joined
          orders_items and order_payments frames (not written, as the
          models' views are not)

It reads the landing zone with no bookkeeping: no exactly-once ingestion,
expectations, quarantine or run report (what a user would write to get the
tables). It is a full refresh every time (mode="overwrite").

  python polars_peer.py LANDING LAKE

The benchmark harness (scripts/benchcmp) checks its gold tables against
medallion's.
"""

import glob
import os
import sys

import polars as pl

SEGMENT_MID_FROM = 500
SEGMENT_HIGH_FROM = 2000
TOP_N = 10

TS = pl.Datetime("us", "UTC")

# Source -> (columns with their types, partition columns). Types follow
# pipeline/ecommerce/project/medallion.yaml; columns not listed (products'
# dimensions) are kept as text in bronze.
SOURCES = {
    "orders": {
        "order_id": pl.Utf8, "customer_id": pl.Utf8, "order_status": pl.Utf8,
        "order_purchase_timestamp": TS, "order_approved_at": TS,
        "order_delivered_carrier_date": TS, "order_delivered_customer_date": TS,
        "order_estimated_delivery_date": TS,
    },
    "order_items": {
        "order_id": pl.Utf8, "product_id": pl.Utf8, "seller_id": pl.Utf8,
        "order_item_id": pl.Int64, "price": pl.Float64, "freight_value": pl.Float64,
        "shipping_limit_date": TS,
    },
    "customers": {c: pl.Utf8 for c in ["customer_id", "customer_unique_id", "customer_zip_code_prefix", "customer_city", "customer_state"]},
    "payments": {
        "order_id": pl.Utf8, "payment_type": pl.Utf8, "payment_sequential": pl.Int64,
        "payment_installments": pl.Int64, "payment_value": pl.Float64,
    },
    "products": {"product_id": pl.Utf8, "product_category_name": pl.Utf8},
    "sellers": {c: pl.Utf8 for c in ["seller_id", "seller_zip_code_prefix", "seller_city", "seller_state"]},
    "geolocation": {
        "geolocation_zip_code_prefix": pl.Utf8, "geolocation_lat": pl.Float64, "geolocation_lng": pl.Float64,
        "geolocation_city": pl.Utf8, "geolocation_state": pl.Utf8,
    },
    "category_translation": {"product_category_name": pl.Utf8, "product_category_name_english": pl.Utf8},
    "reviews": {
        "review_id": pl.Utf8, "order_id": pl.Utf8, "review_score": pl.Int64,
        "review_comment_title": pl.Utf8, "review_comment_message": pl.Utf8,
        "review_creation_date": TS, "review_answer_timestamp": TS,
    },
}


def typed(name, dtype):
    """A text column converted to dtype; a value that does not parse is null."""
    c = pl.col(name)
    if dtype == pl.Utf8:
        return c
    s = c.str.strip_chars()
    if dtype == TS:
        return s.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_zone="UTC", time_unit="us").alias(name)
    return s.cast(dtype, strict=False).alias(name)


def read_source(landing, source):
    files = sorted(glob.glob(os.path.join(landing, source, "**", "*.csv"), recursive=True))
    schema = SOURCES[source]
    if not files:
        return pl.DataFrame(schema={**schema, "_source_file": pl.Utf8, "_seq": pl.Int64})
    frames = []
    for f in files:
        df = pl.read_csv(f, infer_schema=False, quote_char='"')
        df = df.with_columns(pl.lit(os.path.relpath(f, landing)).alias("_source_file"))
        frames.append(df)
    df = pl.concat(frames, how="diagonal")
    df = df.with_columns([typed(n, t) for n, t in schema.items() if n in df.columns])
    return df.with_row_index("_seq", offset=1).with_columns(pl.col("_seq").cast(pl.Int64))


def write(lake, layer, name, df, partition_by=None):
    path = os.path.join(lake, layer, name)
    opts = {"partition_by": partition_by} if partition_by else None
    df.write_delta(path, mode="overwrite", delta_write_options=opts)


def txt(name):
    """nullif(trim(name), '')"""
    s = pl.col(name).str.strip_chars()
    return pl.when(s == "").then(None).otherwise(s).alias(name)


def city(name):
    """nullif(lower(regexp_replace(strip_accents(trim(name)), '\\s+', ' ', 'g')), '')"""
    s = (pl.col(name).str.strip_chars().str.normalize("NFKD").str.replace_all(r"\p{Mn}", "")
         .str.replace_all(r"\s+", " ").str.to_lowercase())
    return pl.when(s == "").then(None).otherwise(s).alias(name)


def newest(df, keys):
    """The newest row (highest _seq) per key, rows with a null key dropped."""
    df = df.filter(pl.all_horizontal([pl.col(k).is_not_null() for k in keys]))
    return df.sort("_seq").unique(subset=keys, keep="last", maintain_order=True)


def main(landing, lake):
    bronze = {}
    for source in SOURCES:
        df = read_source(landing, source)
        parts = None
        if source == "orders":
            ts = pl.col("order_purchase_timestamp")
            df = df.with_columns(ts.dt.year().cast(pl.Int32).alias("order_year"), ts.dt.month().cast(pl.Int32).alias("order_month"))
            parts = ["order_year", "order_month"]
        write(lake, "bronze", source, df, parts)
        bronze[source] = df

    silver = {
        "orders": newest(bronze["orders"].with_columns(
            txt("order_id"), txt("customer_id"),
            pl.coalesce(txt("order_status"), pl.lit("unavailable")).alias("order_status")), ["order_id"]),
        "order_items": newest(bronze["order_items"].with_columns(
            txt("order_id"), txt("product_id"), txt("seller_id"),
            pl.col("price").fill_null(0.0), pl.col("freight_value").fill_null(0.0)), ["order_id", "order_item_id"]),
        "customers": newest(bronze["customers"].with_columns(
            txt("customer_id"), txt("customer_unique_id"), txt("customer_zip_code_prefix"), city("customer_city"),
            txt("customer_state")), ["customer_id"]),
        "payments": newest(bronze["payments"].with_columns(
            txt("order_id"),
            pl.when(pl.col("payment_type").str.strip_chars() == "boleto").then(pl.lit("cash"))
            .otherwise(txt("payment_type")).alias("payment_type")), ["order_id", "payment_sequential"]),
        "products": newest(bronze["products"].select(
            txt("product_id"), pl.coalesce(txt("product_category_name"), pl.lit("unknown")).alias("product_category_name"),
            "_source_file", "_seq"), ["product_id"]),
        "sellers": newest(bronze["sellers"].with_columns(
            txt("seller_id"), txt("seller_zip_code_prefix"), txt("seller_city"), txt("seller_state")), ["seller_id"]),
        "geolocation": newest(bronze["geolocation"].select(
            txt("geolocation_zip_code_prefix"), city("geolocation_city"), txt("geolocation_state"),
            "_source_file", "_seq"), ["geolocation_zip_code_prefix"]),
        "category_translation": newest(bronze["category_translation"].with_columns(
            txt("product_category_name"), txt("product_category_name_english")), ["product_category_name"]),
        "reviews": newest(bronze["reviews"].with_columns(txt("review_id"), txt("order_id")), ["review_id", "order_id"]),
    }
    del bronze
    for name, df in silver.items():
        write(lake, "silver", name, df, ["order_year", "order_month"] if name == "orders" else None)

    o, c = silver["orders"], silver["customers"]
    items = silver["order_items"].select("order_id", "order_item_id", "product_id", "seller_id", "price", "freight_value")
    oi = (o.select("order_id", "order_purchase_timestamp", "order_status", "customer_id")
          .join(items, on="order_id", how="left")
          .join(c.select("customer_id", "customer_unique_id", "customer_state", "customer_city"), on="customer_id", how="left")
          .join(silver["products"].select("product_id", "product_category_name"), on="product_id", how="left")
          .join(silver["category_translation"].select("product_category_name", "product_category_name_english"),
                on="product_category_name", how="left")
          .with_columns(
              pl.col("order_purchase_timestamp").dt.date().alias("date"),
              pl.col("order_item_id").is_not_null().alias("has_item"),
              (pl.col("price") + pl.col("freight_value")).alias("revenue"))
          .with_columns(
              pl.when(pl.col("has_item"))
              .then(pl.coalesce("product_category_name_english", "product_category_name", pl.lit("unknown")))
              .alias("category")))
    sold = oi.filter("has_item")
    pay = (o.select("order_id", pl.col("order_purchase_timestamp").dt.date().alias("date"))
           .join(silver["payments"].select("order_id", "payment_type", "payment_installments"), on="order_id", how="inner")
           .with_columns(pl.when(pl.col("payment_installments") > 1).then(pl.lit("installments"))
                         .otherwise(pl.lit("one-time")).alias("plan")))
    n = lambda e: e.cast(pl.Int64)  # noqa: E731 (counts as BIGINT, as in SQL)
    distinct = lambda col: n(pl.col(col).drop_nulls().n_unique())  # noqa: E731 (count(DISTINCT col))

    gold = {}
    gold["daily_revenue"] = sold.group_by("date").agg(pl.col("revenue").sum(), distinct("order_id").alias("orders"))
    gold["category_orders_daily"] = sold.group_by("date", "category").agg(n(pl.len()).alias("items"))
    gold["total_revenue"] = pl.DataFrame({
        "revenue": [gold["daily_revenue"]["revenue"].sum() if gold["daily_revenue"].height else None],
        "orders": [int(gold["daily_revenue"]["orders"].sum())],
        "items": [int(gold["category_orders_daily"]["items"].sum())],
    }, schema={"revenue": pl.Float64, "orders": pl.Int64, "items": pl.Int64})
    gold["revenue_by_category"] = sold.group_by("category").agg(pl.col("revenue").sum(), n(pl.len()).alias("items"))
    gold["top_products"] = sold.group_by("product_id", "category").agg(n(pl.len()).alias("items_sold"), pl.col("revenue").sum())
    gold["revenue_by_state"] = sold.group_by("date", "customer_state", "customer_city").agg(pl.col("revenue").sum())
    spend = (sold.filter(pl.col("customer_unique_id").is_not_null())
             .group_by("date", "customer_unique_id").agg(pl.col("revenue").sum().alias("spend")))
    gold["customer_segments"] = (spend.with_columns(
        pl.when(pl.col("spend") < SEGMENT_MID_FROM).then(pl.lit("Low"))
        .when(pl.col("spend") < SEGMENT_HIGH_FROM).then(pl.lit("Mid")).otherwise(pl.lit("High")).alias("segment"))
        .group_by("date", "segment").agg(n(pl.len()).alias("customers")))
    gold["aov_daily"] = sold.group_by("date").agg(
        (pl.col("revenue").sum() / pl.col("order_id").n_unique()).alias("aov"), distinct("order_id").alias("orders"))
    canceled = pl.col("order_status") == "canceled"
    gold["cancellation_rate_daily"] = (o.group_by(pl.col("order_purchase_timestamp").dt.date().alias("date"))
                                       .agg(n(canceled.sum()).alias("canceled_orders"), n(pl.len()).alias("orders"))
                                       .with_columns((100.0 * pl.col("canceled_orders") / pl.col("orders")).alias("cancellation_rate_pct")))
    people = o.join(c.select("customer_id", "customer_unique_id"), on="customer_id", how="inner").filter(
        pl.col("customer_unique_id").is_not_null())
    gold["repeat_customers"] = (people.group_by("customer_unique_id").agg(distinct("order_id").alias("orders"))
                                .filter(pl.col("orders") > 1))
    gold["top_sellers"] = (sold.select("seller_id")
                           .join(silver["sellers"].select("seller_id", "seller_city"), on="seller_id", how="left")
                           .group_by("seller_id", "seller_city").agg(n(pl.len()).alias("items_sold")))
    typed_pay = pay.filter(pl.col("payment_type").is_not_null())
    gold["orders_by_payment_type"] = typed_pay.group_by("payment_type").agg(distinct("order_id").alias("orders"))
    gold["installment_plans"] = pay.group_by("plan").agg(distinct("order_id").alias("orders"))
    gold["payment_rollup"] = pl.concat([
        typed_pay.group_by("payment_type", "plan").agg(distinct("order_id").alias("orders")),
        typed_pay.group_by("payment_type").agg(pl.lit(None, pl.Utf8).alias("plan"), distinct("order_id").alias("orders")),
        typed_pay.select(pl.lit(None, pl.Utf8).alias("payment_type"), pl.lit(None, pl.Utf8).alias("plan"),
                         distinct("order_id").alias("orders")),
    ])
    gold["top_products_daily"] = (sold.group_by("date", "product_id").agg(n(pl.len()).alias("items_sold"))
                                  .sort(["date", "items_sold", "product_id"], descending=[False, True, False], nulls_last=True)
                                  .with_columns(n(pl.int_range(1, pl.len() + 1).over("date")).alias("rank"))
                                  .filter(pl.col("rank") <= TOP_N)
                                  .select("date", "rank", "product_id", "items_sold"))
    purchased, delivered = pl.col("order_purchase_timestamp"), pl.col("order_delivered_customer_date")
    gold["delivery_performance"] = (
        o.filter((pl.col("order_status") == "delivered") & delivered.is_not_null() & purchased.is_not_null())
        .join(c.select("customer_id", "customer_state"), on="customer_id", how="left")
        .group_by("customer_state").agg(
            n(pl.len()).alias("delivered_orders"),
            ((delivered - purchased).dt.total_seconds() / 86400.0).mean().alias("avg_delivery_days"),
            (100.0 * (delivered.dt.date() > pl.col("order_estimated_delivery_date").dt.date()).sum() / pl.len()).alias("late_pct")))
    gold["review_scores_by_category"] = (
        silver["reviews"].filter(pl.col("review_score").is_not_null()).select("review_id", "order_id", "review_score")
        .join(sold.select("order_id", "category"), on="order_id", how="inner")
        .unique(subset=["review_id", "order_id", "category", "review_score"])
        .group_by("category").agg(n(pl.len()).alias("reviews"), pl.col("review_score").mean().alias("avg_score")))
    monthly = (people.filter(purchased.is_not_null())
               .select(pl.col("customer_unique_id").alias("person"), purchased.dt.truncate("1mo").dt.date().alias("month")))
    first = monthly.group_by("person").agg(pl.col("month").min().alias("cohort_month"))
    gold["cohort_retention"] = (monthly.join(first, on="person")
                                .with_columns(n((pl.col("month").dt.year() - pl.col("cohort_month").dt.year()) * 12
                                                + pl.col("month").dt.month().cast(pl.Int32)
                                                - pl.col("cohort_month").dt.month().cast(pl.Int32)).alias("months_since_first"))
                                .group_by("cohort_month", "months_since_first").agg(distinct("person").alias("customers")))
    gold["daily_by_state"] = oi.group_by("date", "customer_state").agg(
        pl.col("revenue").filter("has_item").sum().alias("revenue"),
        n(pl.col("order_id").filter("has_item").drop_nulls().n_unique()).alias("orders"),
        distinct("order_id").alias("all_orders"),
        n(pl.col("order_id").filter(canceled).drop_nulls().n_unique()).alias("canceled_orders"))
    for name, df in gold.items():
        write(lake, "gold", name, df)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: polars_peer.py LANDING LAKE")
    main(sys.argv[1], sys.argv[2])
