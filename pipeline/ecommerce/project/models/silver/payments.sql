-- name: silver.payments
-- description: "Payments; payment_type 'boleto' is called 'cash'."
-- keys: [order_id, payment_sequential]
-- incremental: bronze.payments
SELECT
    nullif(trim(order_id), '') AS order_id,
    payment_sequential,
    CASE WHEN trim(payment_type) = 'boleto' THEN 'cash' ELSE nullif(trim(payment_type), '') END AS payment_type,
    payment_installments,
    payment_value,
    _source_file,
    _seq,
    _ingested_at
FROM bronze.payments
