-- Campaign-only copies of the core derived tables, sorted by campaign, for the campaign page and
-- its drill-down (o2o_ops/campaigns.py, o2o_ops/lift.py). About one order in ten carries a
-- campaign; in the core tables those orders are spread over every date, so a query for one
-- campaign scans them all. Here a campaign's rows sit together, and a filter on campaign_id
-- (and store_id) skips every other row group.

-- rollup_campaign_day: one row per order date x store x channel x campaign, campaign rows only.
-- Exactly rollup_day_store_channel_campaign's rows WHERE campaign_id IS NOT NULL (same columns), so the KPI
-- registry's SQL gives the same answer on it for any campaign (o2o_ops/campaigns.py).
CREATE OR REPLACE TABLE rollup_campaign_day AS
SELECT * FROM rollup_day_store_channel_campaign
WHERE campaign_id IS NOT NULL{{ and_touched store_days: store_id, date }}
ORDER BY campaign_id, date, store_id;

-- campaign_order_facts: one row per campaign order, with the order_facts columns the campaign
-- page reads (the filter columns, order_date included, so Filters.where_sql('facts') applies),
-- plus
--   next_ordered_at  for a customer's first-ever order: when that customer ordered next
--                    (anywhere, with or without a campaign); NULL if never again or not a first
--                    order. A first order is the customer's earliest, so the next one is the
--                    earliest of the customer's other orders (ties on ordered_at included).
--   complaint        the order's review complaint categories, distinct, sorted, ', '-joined.
-- Sorted by campaign, store, time: one campaign's orders at one store are one short stretch.
CREATE OR REPLACE TABLE campaign_order_facts AS
WITH next_order AS (
    SELECT customer_id, min(ordered_at) AS next_ordered_at
    FROM order_facts
    WHERE NOT is_first_order{{ and_touched campaign_first_facts: rowid }}
      AND customer_id IN (SELECT customer_id FROM order_facts WHERE campaign_id IS NOT NULL AND is_first_order{{ and_touched customer_facts: rowid }})
    GROUP BY customer_id
),
complaints AS (
    SELECT order_id, string_agg(DISTINCT complaint_category, ', ' ORDER BY complaint_category) AS complaint
    FROM reviews
    WHERE complaint_category IS NOT NULL AND complaint_category <> ''
      AND order_id IN (SELECT order_id FROM order_facts WHERE campaign_id IS NOT NULL{{ and_touched customer_facts: rowid }})
    GROUP BY order_id
)
SELECT o.order_id, o.customer_id, o.store_id, o.tracking_code, o.city, o.district, o.region, o.category,
       o.campaign_id, o.campaign_kind, o.channel, o.ordered_at, o.order_date, o.status, o.is_paid,
       o.paid_amount, o.discount_amount, o.refund_amount, o.is_redeemed, o.redeemed_at, o.hours_to_redeem,
       o.count_reviews, o.rating_sum, o.is_first_order,
       CASE WHEN o.is_first_order THEN n.next_ordered_at END AS next_ordered_at,
       c.complaint
FROM order_facts o
LEFT JOIN next_order n USING (customer_id)
LEFT JOIN complaints c USING (order_id)
WHERE o.campaign_id IS NOT NULL{{ and_touched customer_facts: o.rowid }}
ORDER BY o.campaign_id, o.store_id, o.ordered_at, o.order_id;

-- rollup_campaign_store: one row per campaign x store where the campaign has at least one order,
-- with the store's dimensions (for the store filters lift respects).
CREATE OR REPLACE TABLE rollup_campaign_store AS
SELECT DISTINCT campaign_id, store_id, city, district, region, category
FROM rollup_campaign_day{{ where_touched campaigns: campaign_id }}
ORDER BY campaign_id, store_id;

-- rollup_store_day_totals: one row per store x order date, all orders (any campaign or none):
-- the day totals lift compares a campaign's stores on. net_revenue is the formula of
-- o2o_ops/kpis/measures.py (paid − refunds + in-store extra spend), generated from it.
CREATE OR REPLACE TABLE rollup_store_day_totals AS
SELECT store_id, date, city, district, region, category,
       sum(count_orders) AS n_orders,
       {{ formula_per_row:net_revenue }} AS net_revenue
FROM rollup_day_store_channel_campaign{{ where_touched store_days: store_id, date }}
GROUP BY store_id, date, city, district, region, category
ORDER BY store_id, date;

-- rollup_campaign_costs: one row per cost date x store x cost type x campaign, campaign costs
-- only: exactly rollup_costs' rows WHERE campaign_id IS NOT NULL (same columns).
CREATE OR REPLACE TABLE rollup_campaign_costs AS
SELECT * FROM rollup_costs
WHERE campaign_id IS NOT NULL{{ and_touched cost_days: campaign_id, date }}
ORDER BY campaign_id, date, store_id;
