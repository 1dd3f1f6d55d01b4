-- name: silver.orders_items
-- description: "orders ⟕ order_items (the stream side on the left), with each item's revenue, category and customer. Kept as a table partitioned by the order's purchase month; a run recomputes only the orders its new orders and items touch (a group is one order, within its month's partition)."
-- incremental_by: [order_year, order_month, order_id]
-- partition_by: [order_year, order_month]
-- properties: {delta.enableChangeDataFeed: "true"}
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
    END AS category,
    o.order_year,
    o.order_month
FROM silver.orders o
LEFT JOIN silver.order_items i ON i.order_id = o.order_id
LEFT JOIN silver.customers c ON c.customer_id = o.customer_id
LEFT JOIN silver.products p ON p.product_id = i.product_id
LEFT JOIN silver.category_translation t ON t.product_category_name = p.product_category_name
