-- coverage: what the warehouse has been given. One row per contract table and per optional column
-- a KPI reads (o2o_ops/kpis/measures.py declares each measure's inputs with these names):
--   input         'reviews' (a table) or 'stores.listed_rating' (an optional column)
--   n_rows        rows of the table / rows where the column has a value
--   first_date,   the span of the table's own date (orders: ordered_at, redemptions: redeemed_at,
--   last_date     reviews: posted_at, refunds: refunded_at, costs: date); NULL for undated tables
--   imported      whether any import (or the demo build) named the table, even with no rows:
--                 a refunds file with a header and no rows says "no refunds", which is a 0,
--                 while a warehouse never given refunds cannot say (o2o_ops/coverage.py).
-- Portable SQL (one statement, UNION ALL of aggregates); read by o2o_ops/coverage.py.
CREATE OR REPLACE TABLE coverage AS
WITH logged AS (
    SELECT table_name, count(*) AS n_imports FROM import_log GROUP BY table_name
),
spans AS (
    SELECT 'stores' AS input, 'stores' AS table_name, count(*) AS n_rows,
           CAST(NULL AS DATE) AS first_date, CAST(NULL AS DATE) AS last_date FROM stores
    UNION ALL SELECT 'stores.listed_rating', 'stores', count(listed_rating), CAST(NULL AS DATE), CAST(NULL AS DATE) FROM stores
    UNION ALL SELECT 'stores.listed_wait_minutes', 'stores', count(listed_wait_minutes), CAST(NULL AS DATE), CAST(NULL AS DATE) FROM stores
    UNION ALL SELECT 'stores.capacity_per_hour', 'stores', count(capacity_per_hour), CAST(NULL AS DATE), CAST(NULL AS DATE) FROM stores
    UNION ALL SELECT 'stores.coordinates', 'stores', count(CASE WHEN lat IS NOT NULL AND lon IS NOT NULL THEN 1 END),
                     CAST(NULL AS DATE), CAST(NULL AS DATE) FROM stores
    UNION ALL SELECT 'campaigns', 'campaigns', count(*), min(start_date), max(end_date) FROM campaigns
    UNION ALL SELECT 'customers', 'customers', count(*), CAST(NULL AS DATE), CAST(NULL AS DATE) FROM customers
    UNION ALL SELECT 'orders', 'orders', count(*), CAST(min(ordered_at) AS DATE), CAST(max(ordered_at) AS DATE) FROM orders
    UNION ALL SELECT 'orders.discount_amount', 'orders', count(discount_amount),
                     CAST(min(CASE WHEN discount_amount IS NOT NULL THEN ordered_at END) AS DATE),
                     CAST(max(CASE WHEN discount_amount IS NOT NULL THEN ordered_at END) AS DATE) FROM orders
    UNION ALL SELECT 'orders.platform_fee', 'orders', count(platform_fee),
                     CAST(min(CASE WHEN platform_fee IS NOT NULL THEN ordered_at END) AS DATE),
                     CAST(max(CASE WHEN platform_fee IS NOT NULL THEN ordered_at END) AS DATE) FROM orders
    UNION ALL SELECT 'orders.valid_until', 'orders', count(valid_until),
                     CAST(min(CASE WHEN valid_until IS NOT NULL THEN ordered_at END) AS DATE),
                     CAST(max(CASE WHEN valid_until IS NOT NULL THEN ordered_at END) AS DATE) FROM orders
    UNION ALL SELECT 'redemptions', 'redemptions', count(*), CAST(min(redeemed_at) AS DATE), CAST(max(redeemed_at) AS DATE)
              FROM redemptions
    UNION ALL SELECT 'redemptions.wait_minutes', 'redemptions', count(wait_minutes),
                     CAST(min(CASE WHEN wait_minutes IS NOT NULL THEN redeemed_at END) AS DATE),
                     CAST(max(CASE WHEN wait_minutes IS NOT NULL THEN redeemed_at END) AS DATE) FROM redemptions
    UNION ALL SELECT 'redemptions.extra_spend', 'redemptions', count(extra_spend),
                     CAST(min(CASE WHEN extra_spend IS NOT NULL THEN redeemed_at END) AS DATE),
                     CAST(max(CASE WHEN extra_spend IS NOT NULL THEN redeemed_at END) AS DATE) FROM redemptions
    UNION ALL SELECT 'reviews', 'reviews', count(*), CAST(min(posted_at) AS DATE), CAST(max(posted_at) AS DATE) FROM reviews
    UNION ALL SELECT 'reviews.as_described', 'reviews', count(as_described),
                     CAST(min(CASE WHEN as_described IS NOT NULL THEN posted_at END) AS DATE),
                     CAST(max(CASE WHEN as_described IS NOT NULL THEN posted_at END) AS DATE) FROM reviews
    -- a review without a category is one without a complaint: once a source gives categories,
    -- they are given wherever its reviews are (a week of reviews without one has no complaint)
    UNION ALL SELECT 'reviews.complaint_category', 'reviews', count(complaint_category),
                     CASE WHEN count(complaint_category) > 0 THEN CAST(min(posted_at) AS DATE) END,
                     CASE WHEN count(complaint_category) > 0 THEN CAST(max(posted_at) AS DATE) END FROM reviews
    UNION ALL SELECT 'refunds', 'refunds', count(*), CAST(min(refunded_at) AS DATE), CAST(max(refunded_at) AS DATE) FROM refunds
    UNION ALL SELECT 'costs', 'costs', count(*), min(date), max(date) FROM costs
    UNION ALL SELECT 'orders.promised_at', 'orders', count(promised_at),
                     CAST(min(CASE WHEN promised_at IS NOT NULL THEN ordered_at END) AS DATE),
                     CAST(max(CASE WHEN promised_at IS NOT NULL THEN ordered_at END) AS DATE) FROM orders
    UNION ALL SELECT 'orders.promised_wait_minutes', 'orders', count(promised_wait_minutes),
                     CAST(min(CASE WHEN promised_wait_minutes IS NOT NULL THEN ordered_at END) AS DATE),
                     CAST(max(CASE WHEN promised_wait_minutes IS NOT NULL THEN ordered_at END) AS DATE) FROM orders
    UNION ALL SELECT 'store_hours', 'store_hours', count(*), CAST(NULL AS DATE), CAST(NULL AS DATE) FROM store_hours
    UNION ALL SELECT 'inspections', 'inspections', count(*), min(inspected_on), max(inspected_on) FROM inspections
    UNION ALL SELECT 'inspections.score', 'inspections', count(score),
                     min(CASE WHEN score IS NOT NULL THEN inspected_on END),
                     max(CASE WHEN score IS NOT NULL THEN inspected_on END) FROM inspections
    UNION ALL SELECT 'inspections.violations_critical', 'inspections', count(violations_critical),
                     min(CASE WHEN violations_critical IS NOT NULL THEN inspected_on END),
                     max(CASE WHEN violations_critical IS NOT NULL THEN inspected_on END) FROM inspections
    UNION ALL SELECT 'events', 'events', count(*), CAST(min(occurred_at) AS DATE), CAST(max(occurred_at) AS DATE)
              FROM events
)
SELECT s.input, s.table_name, s.n_rows, s.first_date, s.last_date,
       coalesce(l.n_imports, 0) > 0 AS imported
FROM spans s
LEFT JOIN logged l ON l.table_name = s.table_name
ORDER BY s.input;
