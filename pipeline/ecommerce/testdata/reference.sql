-- The benchmarks' reference: what you would hand-write in DuckDB to do the
-- built-in e-commerce project's work in one process, with no Delta log.
--
-- It reads the landing CSVs directly (every column as VARCHAR, as the
-- pipeline's ingestion does, then TRY_CAST to the types the pipeline's
-- bronze tables end up with), builds the silver tables with the models'
-- cleaning (trims, empty → NULL, coalesces, boleto → cash, accent
-- stripping, newest row per key), materializes the two joined views that the
-- gold tables read (silver.orders_items, silver.order_payments) once, builds
-- the 18 gold tables with the models' SQL verbatim, and writes every silver
-- and gold table as snappy Parquet (silver.orders partitioned by
-- order_year/order_month, as in the lake).
--
-- Each source is read once into a bronze table that is also written out as
-- Parquet (the raw layer every medallion pipeline keeps), and silver is
-- built from those tables.
--
-- Not done here, by design (it is the baseline, not a second pipeline):
-- typed bronze, _rescued_data, rejected-record rows, the Delta log,
-- exactly-once bookkeeping, expectations and the run report.
--
-- Placeholders the Go benchmark substitutes (bench_test.go, benchReferenceStatements):
--   ${landing}   the landing root (the sources' folders below it)
--   ${out}       the output folder; ${out}/silver and ${out}/gold exist
--   ${segment_mid_from} ${segment_high_from} ${top_n}   the project's vars
-- Statements end with ';' at the end of a line; the benchmark runs them one
-- by one on a single connection of a fresh in-memory database, after
-- setting the project's engine options (memory_limit, temp_directory,
-- threads) and TimeZone='UTC'.

-- bronze: every source read once, as landed (text columns plus the file
-- name), and written out as Parquet, as a hand-written medallion script
-- keeps its raw layer; silver reads these tables.
CREATE SCHEMA bronze;

CREATE TABLE bronze.orders AS SELECT * FROM read_csv('${landing}/orders/**/*.csv',
        header = true, auto_detect = false, hive_partitioning = false, filename = true, ignore_errors = true,
        delim = ',', quote = '"', escape = '"',
        columns = {'order_id': 'VARCHAR', 'customer_id': 'VARCHAR', 'order_status': 'VARCHAR',
                   'order_purchase_timestamp': 'VARCHAR', 'order_approved_at': 'VARCHAR',
                   'order_delivered_carrier_date': 'VARCHAR', 'order_delivered_customer_date': 'VARCHAR',
                   'order_estimated_delivery_date': 'VARCHAR'});

COPY (SELECT *, year(TRY_CAST(order_purchase_timestamp AS TIMESTAMP)) AS order_year, month(TRY_CAST(order_purchase_timestamp AS TIMESTAMP)) AS order_month FROM bronze.orders) TO '${out}/bronze/orders' (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (order_year, order_month));

CREATE TABLE bronze.order_items AS SELECT * FROM read_csv('${landing}/order_items/**/*.csv',
        header = true, auto_detect = false, hive_partitioning = false, filename = true, ignore_errors = true,
        delim = ',', quote = '"', escape = '"',
        columns = {'order_id': 'VARCHAR', 'order_item_id': 'VARCHAR', 'product_id': 'VARCHAR', 'seller_id': 'VARCHAR',
                   'shipping_limit_date': 'VARCHAR', 'price': 'VARCHAR', 'freight_value': 'VARCHAR'});

COPY bronze.order_items TO '${out}/bronze/order_items.parquet' (FORMAT parquet, COMPRESSION snappy);

CREATE TABLE bronze.customers AS SELECT * FROM read_csv('${landing}/customers/**/*.csv',
        header = true, auto_detect = false, hive_partitioning = false, filename = true, ignore_errors = true,
        delim = ',', quote = '"', escape = '"',
        columns = {'customer_id': 'VARCHAR', 'customer_unique_id': 'VARCHAR', 'customer_zip_code_prefix': 'VARCHAR',
                   'customer_city': 'VARCHAR', 'customer_state': 'VARCHAR'});

COPY bronze.customers TO '${out}/bronze/customers.parquet' (FORMAT parquet, COMPRESSION snappy);

CREATE TABLE bronze.payments AS SELECT * FROM read_csv('${landing}/payments/**/*.csv',
        header = true, auto_detect = false, hive_partitioning = false, filename = true, ignore_errors = true,
        delim = ',', quote = '"', escape = '"',
        columns = {'order_id': 'VARCHAR', 'payment_sequential': 'VARCHAR', 'payment_type': 'VARCHAR',
                   'payment_installments': 'VARCHAR', 'payment_value': 'VARCHAR'});

COPY bronze.payments TO '${out}/bronze/payments.parquet' (FORMAT parquet, COMPRESSION snappy);

CREATE TABLE bronze.products AS SELECT * FROM read_csv('${landing}/products/**/*.csv',
        header = true, auto_detect = false, hive_partitioning = false, filename = true, ignore_errors = true,
        delim = ',', quote = '"', escape = '"',
        columns = {'product_id': 'VARCHAR', 'product_category_name': 'VARCHAR', 'product_name_lenght': 'VARCHAR',
                   'product_description_lenght': 'VARCHAR', 'product_photos_qty': 'VARCHAR', 'product_weight_g': 'VARCHAR',
                   'product_length_cm': 'VARCHAR', 'product_height_cm': 'VARCHAR', 'product_width_cm': 'VARCHAR'});

COPY bronze.products TO '${out}/bronze/products.parquet' (FORMAT parquet, COMPRESSION snappy);

CREATE TABLE bronze.sellers AS SELECT * FROM read_csv('${landing}/sellers/**/*.csv',
        header = true, auto_detect = false, hive_partitioning = false, filename = true, ignore_errors = true,
        delim = ',', quote = '"', escape = '"',
        columns = {'seller_id': 'VARCHAR', 'seller_zip_code_prefix': 'VARCHAR', 'seller_city': 'VARCHAR',
                   'seller_state': 'VARCHAR'});

COPY bronze.sellers TO '${out}/bronze/sellers.parquet' (FORMAT parquet, COMPRESSION snappy);

CREATE TABLE bronze.geolocation AS SELECT * FROM read_csv('${landing}/geolocation/**/*.csv',
        header = true, auto_detect = false, hive_partitioning = false, filename = true, ignore_errors = true,
        delim = ',', quote = '"', escape = '"',
        columns = {'geolocation_zip_code_prefix': 'VARCHAR', 'geolocation_lat': 'VARCHAR', 'geolocation_lng': 'VARCHAR',
                   'geolocation_city': 'VARCHAR', 'geolocation_state': 'VARCHAR'});

COPY bronze.geolocation TO '${out}/bronze/geolocation.parquet' (FORMAT parquet, COMPRESSION snappy);

CREATE TABLE bronze.category_translation AS SELECT * FROM read_csv('${landing}/category_translation/**/*.csv',
        header = true, auto_detect = false, hive_partitioning = false, filename = true, ignore_errors = true,
        delim = ',', quote = '"', escape = '"',
        columns = {'product_category_name': 'VARCHAR', 'product_category_name_english': 'VARCHAR'});

COPY bronze.category_translation TO '${out}/bronze/category_translation.parquet' (FORMAT parquet, COMPRESSION snappy);

CREATE TABLE bronze.reviews AS SELECT * FROM read_csv('${landing}/reviews/**/*.csv',
        header = true, auto_detect = false, hive_partitioning = false, filename = true, ignore_errors = true,
        delim = ',', quote = '"', escape = '"',
        columns = {'review_id': 'VARCHAR', 'order_id': 'VARCHAR', 'review_score': 'VARCHAR',
                   'review_comment_title': 'VARCHAR', 'review_comment_message': 'VARCHAR',
                   'review_creation_date': 'VARCHAR', 'review_answer_timestamp': 'VARCHAR'});

COPY bronze.reviews TO '${out}/bronze/reviews.parquet' (FORMAT parquet, COMPRESSION snappy);

CREATE SCHEMA silver;

-- silver.orders: keys [order_id], partitioned by purchase year and month.
CREATE TABLE silver.orders AS
WITH landed AS (
    SELECT
        nullif(trim(order_id), '') AS order_id,
        nullif(trim(customer_id), '') AS customer_id,
        coalesce(nullif(trim(order_status), ''), 'unavailable') AS order_status,
        TRY_CAST(trim(nullif(order_purchase_timestamp, '')) AS TIMESTAMPTZ) AS order_purchase_timestamp,
        TRY_CAST(trim(nullif(order_approved_at, '')) AS TIMESTAMPTZ) AS order_approved_at,
        TRY_CAST(trim(nullif(order_delivered_carrier_date, '')) AS TIMESTAMPTZ) AS order_delivered_carrier_date,
        TRY_CAST(trim(nullif(order_delivered_customer_date, '')) AS TIMESTAMPTZ) AS order_delivered_customer_date,
        TRY_CAST(trim(nullif(order_estimated_delivery_date, '')) AS TIMESTAMPTZ) AS order_estimated_delivery_date,
        substr(filename, length('${landing}') + 2) AS _source_file,
        row_number() OVER () AS _seq
    FROM bronze.orders
)
SELECT
    order_id, customer_id, order_status, order_purchase_timestamp, order_approved_at,
    order_delivered_carrier_date, order_delivered_customer_date, order_estimated_delivery_date,
    CAST(year(order_purchase_timestamp) AS INTEGER) AS order_year,
    CAST(month(order_purchase_timestamp) AS INTEGER) AS order_month,
    _source_file, _seq, now() AS _ingested_at
FROM landed
WHERE order_id IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY _seq DESC) = 1;

-- silver.order_items: keys [order_id, order_item_id]; missing price and freight → 0.0.
CREATE TABLE silver.order_items AS
WITH landed AS (
    SELECT
        nullif(trim(order_id), '') AS order_id,
        TRY_CAST(trim(nullif(order_item_id, '')) AS BIGINT) AS order_item_id,
        nullif(trim(product_id), '') AS product_id,
        nullif(trim(seller_id), '') AS seller_id,
        coalesce(TRY_CAST(trim(nullif(price, '')) AS DOUBLE), 0.0) AS price,
        coalesce(TRY_CAST(trim(nullif(freight_value, '')) AS DOUBLE), 0.0) AS freight_value,
        substr(filename, length('${landing}') + 2) AS _source_file,
        row_number() OVER () AS _seq
    FROM bronze.order_items
)
SELECT *, now() AS _ingested_at
FROM landed
WHERE order_id IS NOT NULL AND order_item_id IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY order_id, order_item_id ORDER BY _seq DESC) = 1;

-- silver.customers: keys [customer_id]; cities lower-case, accents stripped, spaces collapsed.
CREATE TABLE silver.customers AS
WITH landed AS (
    SELECT
        nullif(trim(customer_id), '') AS customer_id,
        nullif(trim(customer_unique_id), '') AS customer_unique_id,
        nullif(trim(customer_zip_code_prefix), '') AS customer_zip_code_prefix,
        nullif(lower(regexp_replace(strip_accents(trim(customer_city)), '\s+', ' ', 'g')), '') AS customer_city,
        nullif(trim(customer_state), '') AS customer_state,
        substr(filename, length('${landing}') + 2) AS _source_file,
        row_number() OVER () AS _seq
    FROM bronze.customers
)
SELECT *, now() AS _ingested_at
FROM landed
WHERE customer_id IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY _seq DESC) = 1;

-- silver.payments: keys [order_id, payment_sequential]; boleto → cash.
CREATE TABLE silver.payments AS
WITH landed AS (
    SELECT
        nullif(trim(order_id), '') AS order_id,
        TRY_CAST(trim(nullif(payment_sequential, '')) AS BIGINT) AS payment_sequential,
        CASE WHEN trim(payment_type) = 'boleto' THEN 'cash' ELSE nullif(trim(payment_type), '') END AS payment_type,
        TRY_CAST(trim(nullif(payment_installments, '')) AS BIGINT) AS payment_installments,
        TRY_CAST(trim(nullif(payment_value, '')) AS DOUBLE) AS payment_value,
        substr(filename, length('${landing}') + 2) AS _source_file,
        row_number() OVER () AS _seq
    FROM bronze.payments
)
SELECT *, now() AS _ingested_at
FROM landed
WHERE order_id IS NOT NULL AND payment_sequential IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY order_id, payment_sequential ORDER BY _seq DESC) = 1;

-- silver.products: keys [product_id]; a missing category is 'unknown'.
CREATE TABLE silver.products AS
WITH landed AS (
    SELECT
        nullif(trim(product_id), '') AS product_id,
        coalesce(nullif(trim(product_category_name), ''), 'unknown') AS product_category_name,
        substr(filename, length('${landing}') + 2) AS _source_file,
        row_number() OVER () AS _seq
    FROM bronze.products
)
SELECT *, now() AS _ingested_at
FROM landed
WHERE product_id IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY product_id ORDER BY _seq DESC) = 1;

-- silver.sellers: keys [seller_id]; as landed, trimmed.
CREATE TABLE silver.sellers AS
WITH landed AS (
    SELECT
        nullif(trim(seller_id), '') AS seller_id,
        nullif(trim(seller_zip_code_prefix), '') AS seller_zip_code_prefix,
        nullif(trim(seller_city), '') AS seller_city,
        nullif(trim(seller_state), '') AS seller_state,
        substr(filename, length('${landing}') + 2) AS _source_file,
        row_number() OVER () AS _seq
    FROM bronze.sellers
)
SELECT *, now() AS _ingested_at
FROM landed
WHERE seller_id IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY seller_id ORDER BY _seq DESC) = 1;

-- silver.geolocation: keys [geolocation_zip_code_prefix] (one row per zip
-- prefix, the last landed); lat/lng dropped; city accents stripped.
CREATE TABLE silver.geolocation AS
WITH landed AS (
    SELECT
        nullif(trim(geolocation_zip_code_prefix), '') AS geolocation_zip_code_prefix,
        nullif(lower(regexp_replace(strip_accents(trim(geolocation_city)), '\s+', ' ', 'g')), '') AS geolocation_city,
        nullif(trim(geolocation_state), '') AS geolocation_state,
        substr(filename, length('${landing}') + 2) AS _source_file,
        row_number() OVER () AS _seq
    FROM bronze.geolocation
)
SELECT *, now() AS _ingested_at
FROM landed
WHERE geolocation_zip_code_prefix IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY geolocation_zip_code_prefix ORDER BY _seq DESC) = 1;

-- silver.category_translation: keys [product_category_name].
CREATE TABLE silver.category_translation AS
WITH landed AS (
    SELECT
        nullif(trim(product_category_name), '') AS product_category_name,
        nullif(trim(product_category_name_english), '') AS product_category_name_english,
        substr(filename, length('${landing}') + 2) AS _source_file,
        row_number() OVER () AS _seq
    FROM bronze.category_translation
)
SELECT *, now() AS _ingested_at
FROM landed
WHERE product_category_name IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY product_category_name ORDER BY _seq DESC) = 1;

-- silver.reviews: keys [review_id, order_id]; messages hold quoted commas and line breaks.
CREATE TABLE silver.reviews AS
WITH landed AS (
    SELECT
        nullif(trim(review_id), '') AS review_id,
        nullif(trim(order_id), '') AS order_id,
        TRY_CAST(trim(nullif(review_score, '')) AS BIGINT) AS review_score,
        nullif(review_comment_title, '') AS review_comment_title,
        nullif(review_comment_message, '') AS review_comment_message,
        TRY_CAST(trim(nullif(review_creation_date, '')) AS TIMESTAMPTZ) AS review_creation_date,
        TRY_CAST(trim(nullif(review_answer_timestamp, '')) AS TIMESTAMPTZ) AS review_answer_timestamp,
        substr(filename, length('${landing}') + 2) AS _source_file,
        row_number() OVER () AS _seq
    FROM bronze.reviews
)
SELECT *, now() AS _ingested_at
FROM landed
WHERE review_id IS NOT NULL AND order_id IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY review_id, order_id ORDER BY _seq DESC) = 1;

-- The joined views the gold tables read, materialized once (the models
-- declare them as views; a hand-written script computes them once).
CREATE TABLE silver.orders_items AS
SELECT
    o.order_id,
    CAST(o.order_purchase_timestamp AS DATE) AS date,
    o.order_purchase_timestamp,
    o.order_status,
    o.customer_id,
    c.customer_unique_id,
    c.customer_state,
    c.customer_city,
    i.order_id IS NOT NULL AS has_item,
    i.order_item_id,
    i.product_id,
    i.seller_id,
    i.price,
    i.freight_value,
    i.price + i.freight_value AS revenue,
    CASE
        WHEN i.order_id IS NULL THEN NULL
        ELSE coalesce(t.product_category_name_english, p.product_category_name, 'unknown')
    END AS category
FROM silver.orders o
LEFT JOIN silver.order_items i ON i.order_id = o.order_id
LEFT JOIN silver.customers c ON c.customer_id = o.customer_id
LEFT JOIN silver.products p ON p.product_id = i.product_id
LEFT JOIN silver.category_translation t ON t.product_category_name = p.product_category_name;

CREATE TABLE silver.order_payments AS
SELECT
    o.order_id,
    CAST(o.order_purchase_timestamp AS DATE) AS date,
    p.payment_sequential,
    p.payment_type,
    p.payment_installments,
    p.payment_value,
    CASE WHEN p.payment_installments > 1 THEN 'installments' ELSE 'one-time' END AS plan
FROM silver.orders o
JOIN silver.payments p ON p.order_id = o.order_id;

-- Silver out.
COPY silver.orders TO '${out}/silver/orders' (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (order_year, order_month));
COPY silver.order_items TO '${out}/silver/order_items.parquet' (FORMAT parquet, COMPRESSION snappy);
COPY silver.customers TO '${out}/silver/customers.parquet' (FORMAT parquet, COMPRESSION snappy);
COPY silver.payments TO '${out}/silver/payments.parquet' (FORMAT parquet, COMPRESSION snappy);
COPY silver.products TO '${out}/silver/products.parquet' (FORMAT parquet, COMPRESSION snappy);
COPY silver.sellers TO '${out}/silver/sellers.parquet' (FORMAT parquet, COMPRESSION snappy);
COPY silver.geolocation TO '${out}/silver/geolocation.parquet' (FORMAT parquet, COMPRESSION snappy);
COPY silver.category_translation TO '${out}/silver/category_translation.parquet' (FORMAT parquet, COMPRESSION snappy);
COPY silver.reviews TO '${out}/silver/reviews.parquet' (FORMAT parquet, COMPRESSION snappy);

-- Gold: the 18 tables, each model's SQL verbatim.
COPY (
    SELECT sum(revenue) AS revenue, count(DISTINCT order_id) AS orders, count(*) AS items
    FROM silver.orders_items
    WHERE has_item
) TO '${out}/gold/total_revenue.parquet' (FORMAT parquet, COMPRESSION snappy);

COPY (
    SELECT category, sum(revenue) AS revenue, count(*) AS items
    FROM silver.orders_items
    WHERE has_item
    GROUP BY category
) TO '${out}/gold/revenue_by_category.parquet' (FORMAT parquet, COMPRESSION snappy);

COPY (
    SELECT product_id, category, count(*) AS items_sold, sum(revenue) AS revenue
    FROM silver.orders_items
    WHERE has_item
    GROUP BY product_id, category
) TO '${out}/gold/top_products.parquet' (FORMAT parquet, COMPRESSION snappy);

COPY (
    SELECT date, sum(revenue) AS revenue, count(DISTINCT order_id) AS orders
    FROM silver.orders_items
    WHERE has_item
    GROUP BY date
) TO '${out}/gold/daily_revenue.parquet' (FORMAT parquet, COMPRESSION snappy);

COPY (
    SELECT date, customer_state, customer_city, sum(revenue) AS revenue
    FROM silver.orders_items
    WHERE has_item
    GROUP BY date, customer_state, customer_city
) TO '${out}/gold/revenue_by_state.parquet' (FORMAT parquet, COMPRESSION snappy);

COPY (
    WITH spend AS (
        SELECT date, customer_unique_id, sum(revenue) AS spend
        FROM silver.orders_items
        WHERE has_item AND customer_unique_id IS NOT NULL
        GROUP BY date, customer_unique_id
    )
    SELECT
        date,
        CASE WHEN spend < ${segment_mid_from} THEN 'Low' WHEN spend < ${segment_high_from} THEN 'Mid' ELSE 'High' END AS segment,
        count(*) AS customers
    FROM spend
    GROUP BY ALL
) TO '${out}/gold/customer_segments.parquet' (FORMAT parquet, COMPRESSION snappy);

COPY (
    SELECT date, sum(revenue) / count(DISTINCT order_id) AS aov, count(DISTINCT order_id) AS orders
    FROM silver.orders_items
    WHERE has_item
    GROUP BY date
) TO '${out}/gold/aov_daily.parquet' (FORMAT parquet, COMPRESSION snappy);

COPY (
    SELECT
        CAST(order_purchase_timestamp AS DATE) AS date,
        count(*) FILTER (WHERE order_status = 'canceled') AS canceled_orders,
        count(*) AS orders,
        100.0 * count(*) FILTER (WHERE order_status = 'canceled') / count(*) AS cancellation_rate_pct
    FROM silver.orders
    GROUP BY 1
) TO '${out}/gold/cancellation_rate_daily.parquet' (FORMAT parquet, COMPRESSION snappy);

COPY (
    SELECT c.customer_unique_id, count(DISTINCT o.order_id) AS orders
    FROM silver.orders o
    JOIN silver.customers c ON c.customer_id = o.customer_id
    WHERE c.customer_unique_id IS NOT NULL
    GROUP BY c.customer_unique_id
    HAVING count(DISTINCT o.order_id) > 1
) TO '${out}/gold/repeat_customers.parquet' (FORMAT parquet, COMPRESSION snappy);

COPY (
    SELECT i.seller_id, s.seller_city, count(*) AS items_sold
    FROM silver.orders_items i
    LEFT JOIN silver.sellers s ON s.seller_id = i.seller_id
    WHERE i.has_item
    GROUP BY i.seller_id, s.seller_city
) TO '${out}/gold/top_sellers.parquet' (FORMAT parquet, COMPRESSION snappy);

COPY (
    SELECT payment_type, count(DISTINCT order_id) AS orders
    FROM silver.order_payments
    WHERE payment_type IS NOT NULL
    GROUP BY payment_type
) TO '${out}/gold/orders_by_payment_type.parquet' (FORMAT parquet, COMPRESSION snappy);

COPY (
    SELECT plan, count(DISTINCT order_id) AS orders
    FROM silver.order_payments
    GROUP BY plan
) TO '${out}/gold/installment_plans.parquet' (FORMAT parquet, COMPRESSION snappy);

COPY (
    SELECT payment_type, plan, count(DISTINCT order_id) AS orders
    FROM silver.order_payments
    WHERE payment_type IS NOT NULL
    GROUP BY ROLLUP (payment_type, plan)
) TO '${out}/gold/payment_rollup.parquet' (FORMAT parquet, COMPRESSION snappy);

COPY (
    SELECT date, category, count(*) AS items
    FROM silver.orders_items
    WHERE has_item
    GROUP BY date, category
) TO '${out}/gold/category_orders_daily.parquet' (FORMAT parquet, COMPRESSION snappy);

COPY (
    SELECT date, rank, product_id, items_sold
    FROM (
        SELECT
            date,
            product_id,
            count(*) AS items_sold,
            row_number() OVER (PARTITION BY date ORDER BY count(*) DESC, product_id ASC NULLS LAST) AS rank
        FROM silver.orders_items
        WHERE has_item
        GROUP BY date, product_id
    )
    WHERE rank <= ${top_n}
) TO '${out}/gold/top_products_daily.parquet' (FORMAT parquet, COMPRESSION snappy);

COPY (
    SELECT
        c.customer_state,
        count(*) AS delivered_orders,
        avg(date_diff('second', o.order_purchase_timestamp, o.order_delivered_customer_date) / 86400.0) AS avg_delivery_days,
        100.0 * count(*) FILTER (WHERE CAST(o.order_delivered_customer_date AS DATE) > CAST(o.order_estimated_delivery_date AS DATE)) / count(*) AS late_pct
    FROM silver.orders o
    LEFT JOIN silver.customers c ON c.customer_id = o.customer_id
    WHERE o.order_status = 'delivered'
      AND o.order_delivered_customer_date IS NOT NULL
      AND o.order_purchase_timestamp IS NOT NULL
    GROUP BY c.customer_state
) TO '${out}/gold/delivery_performance.parquet' (FORMAT parquet, COMPRESSION snappy);

COPY (
    WITH rated AS (
        SELECT DISTINCT r.review_id, r.order_id, l.category, r.review_score
        FROM silver.reviews r
        JOIN silver.orders_items l ON l.order_id = r.order_id AND l.has_item
        WHERE r.review_score IS NOT NULL
    )
    SELECT category, count(*) AS reviews, avg(review_score) AS avg_score
    FROM rated
    GROUP BY category
) TO '${out}/gold/review_scores_by_category.parquet' (FORMAT parquet, COMPRESSION snappy);

COPY (
    WITH monthly AS (
        SELECT c.customer_unique_id AS person, CAST(date_trunc('month', o.order_purchase_timestamp) AS DATE) AS month
        FROM silver.orders o
        JOIN silver.customers c ON c.customer_id = o.customer_id
        WHERE o.order_purchase_timestamp IS NOT NULL AND c.customer_unique_id IS NOT NULL
    ),
    first AS (
        SELECT person, min(month) AS cohort_month FROM monthly GROUP BY person
    )
    SELECT f.cohort_month, CAST(date_diff('month', f.cohort_month, m.month) AS BIGINT) AS months_since_first, count(DISTINCT m.person) AS customers
    FROM monthly m
    JOIN first f USING (person)
    GROUP BY ALL
) TO '${out}/gold/cohort_retention.parquet' (FORMAT parquet, COMPRESSION snappy);
