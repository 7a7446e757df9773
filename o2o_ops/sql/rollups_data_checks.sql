-- Data-quality check results, stored when the warehouse is loaded (demo build or import batch):
-- the checks only change when the data changes, and at 10 million orders the orphan check alone
-- joins every child table with its parent (seconds). This file is the only statement of each
-- check: o2o_ops/data_checks.py and the Data page's scoped views read these tables. The tests
-- hold independent reference queries and a warehouse with planted problems.

-- quality_orphans: one row per foreign key of the warehouse contract (ingest.CONTRACT, in its
-- order: position), zero counts included: table_name, column_name, parent_table, count_orphans
-- (child rows whose non-NULL key has no parent row), example_value (the smallest such key).
CREATE OR REPLACE TABLE quality_orphans AS
SELECT 0 AS position, 'orders' AS table_name, 'customer_id' AS column_name, 'customers' AS parent_table,
       count(*) AS count_orphans, min(x.customer_id) AS example_value
FROM orders x WHERE x.customer_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM customers y WHERE y.customer_id = x.customer_id)
UNION ALL
SELECT 1, 'orders', 'store_id', 'stores', count(*), min(x.store_id)
FROM orders x WHERE x.store_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM stores y WHERE y.store_id = x.store_id)
UNION ALL
SELECT 2, 'orders', 'campaign_id', 'campaigns', count(*), min(x.campaign_id)
FROM orders x WHERE x.campaign_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM campaigns y WHERE y.campaign_id = x.campaign_id)
UNION ALL
SELECT 3, 'redemptions', 'order_id', 'orders', count(*), min(x.order_id)
FROM redemptions x WHERE x.order_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM orders y WHERE y.order_id = x.order_id)
UNION ALL
SELECT 4, 'reviews', 'order_id', 'orders', count(*), min(x.order_id)
FROM reviews x WHERE x.order_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM orders y WHERE y.order_id = x.order_id)
UNION ALL
SELECT 5, 'refunds', 'order_id', 'orders', count(*), min(x.order_id)
FROM refunds x WHERE x.order_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM orders y WHERE y.order_id = x.order_id)
UNION ALL
SELECT 6, 'costs', 'store_id', 'stores', count(*), min(x.store_id)
FROM costs x WHERE x.store_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM stores y WHERE y.store_id = x.store_id)
UNION ALL
SELECT 7, 'costs', 'campaign_id', 'campaigns', count(*), min(x.campaign_id)
FROM costs x WHERE x.campaign_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM campaigns y WHERE y.campaign_id = x.campaign_id)
UNION ALL
SELECT 8, 'store_hours', 'store_id', 'stores', count(*), min(x.store_id)
FROM store_hours x WHERE x.store_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM stores y WHERE y.store_id = x.store_id)
UNION ALL
SELECT 9, 'inspections', 'store_id', 'stores', count(*), min(x.store_id)
FROM inspections x WHERE x.store_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM stores y WHERE y.store_id = x.store_id)
UNION ALL
SELECT 10, 'events', 'campaign_id', 'campaigns', count(*), min(x.campaign_id)
FROM events x WHERE x.campaign_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM campaigns y WHERE y.campaign_id = x.campaign_id)
UNION ALL
SELECT 11, 'events', 'store_id', 'stores', count(*), min(x.store_id)
FROM events x WHERE x.store_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM stores y WHERE y.store_id = x.store_id);

-- quality_discount_direction: one row per campaign whose discount_rate reads the wrong way round
-- against its own orders. The contract's discount_rate is the share taken off (0.2 = 20 % off);
-- a rate written as the share paid (0.8 for the same deal) is flagged when the campaign's orders
-- with a list price and a discount (5 at least) were discounted, overall, closer to 1 - rate than
-- to the rate, and more than 0.1 away from the rate: campaign_id, name, discount_rate,
-- observed_discount_share (sum of discount_amount / sum of list_price), count_orders. By campaign_id.
CREATE OR REPLACE TABLE quality_discount_direction AS
WITH observed AS (
    SELECT campaign_id, count(*) AS count_orders,
           CAST(sum(discount_amount) AS DOUBLE) / sum(list_price) AS observed_discount_share
    FROM orders
    WHERE campaign_id IS NOT NULL AND list_price > 0 AND discount_amount IS NOT NULL
    GROUP BY campaign_id
)
SELECT c.campaign_id, c.name, c.discount_rate, o.observed_discount_share, o.count_orders
FROM campaigns c JOIN observed o ON o.campaign_id = c.campaign_id
WHERE c.discount_rate IS NOT NULL AND o.count_orders >= 5
  AND abs(o.observed_discount_share - c.discount_rate) > 0.1
  AND abs(o.observed_discount_share - (1 - c.discount_rate)) < abs(o.observed_discount_share - c.discount_rate)
ORDER BY c.campaign_id;

-- quality_date_gaps: one row per run of days (1 or more) with no order between the first and
-- the last order date: gap_start, gap_end, days_missing. Sorted by gap_start.
CREATE OR REPLACE TABLE quality_date_gaps AS
WITH days AS (
    SELECT DISTINCT CAST(ordered_at AS DATE) AS order_date FROM orders
),
steps AS (
    SELECT order_date, lead(order_date) OVER (ORDER BY order_date) AS next_date FROM days
)
SELECT order_date + 1 AS gap_start, next_date - 1 AS gap_end,
       date_diff('day', order_date, next_date) - 1 AS days_missing
FROM steps
WHERE date_diff('day', order_date, next_date) - 1 >= 1
ORDER BY gap_start;

-- quality_stores_without_coordinates: one row per store whose coordinates cannot be mapped
-- (missing, or exactly (0, 0)): store_id, name, city, lat, lon. Sorted by store_id.
CREATE OR REPLACE TABLE quality_stores_without_coordinates AS
SELECT store_id, name, city, lat, lon
FROM stores
WHERE lat IS NULL OR lon IS NULL OR (lat = 0 AND lon = 0)
ORDER BY store_id;

-- quality_reviews_without_redemptions: one row per review of an order that has no redemption,
-- in posted_at order (ties by review_id): review_id, order_id, rating, posted_at, store_id. All
-- of them, so that the check's count is exact; the page shows the first quality.EXAMPLES.
CREATE OR REPLACE TABLE quality_reviews_without_redemptions AS
SELECT v.review_id, v.order_id, v.rating, v.posted_at, o.store_id
FROM reviews v
JOIN orders o USING (order_id)
WHERE NOT EXISTS (SELECT 1 FROM redemptions r WHERE r.order_id = v.order_id){{ and_touched orders: v.order_id }}
ORDER BY v.posted_at, v.review_id;
