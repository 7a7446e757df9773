-- Derived tables, rebuilt after every load (demo build or import batch). Pages read these,
-- never the raw contract tables, so that a page at 10 million orders aggregates a few hundred
-- thousand pre-summed rows instead of joining five fact tables.
--
-- Attribution rule (DESIGN.md): an order counts in a period by its ordered_at; its redemption,
-- reviews and refunds count with it. Costs count by their own date. Capacity use counts by the
-- hour the customer was actually in the store (redeemed_at).

-- order_facts: one row per order, denormalised with its store, campaign, redemption, reviews and
-- refunds. Sorted by ordered_at so date filters skip whole row groups.
CREATE OR REPLACE TABLE order_facts AS
WITH as_of AS (
    SELECT max(ordered_at) AS as_of FROM orders
),
review_by_order AS (
    SELECT order_id,
           count(*)                                        AS count_reviews,
           sum(rating)                                     AS rating_sum,
           count(*) FILTER (WHERE rating >= 4)             AS count_positive,
           count(*) FILTER (WHERE complaint_category IS NOT NULL
                              AND complaint_category <> '') AS count_complaints,
           count(*) FILTER (WHERE as_described)            AS count_as_described,
           count(as_described)                             AS count_described_answered,
           min(rating)                                     AS min_rating
    FROM reviews GROUP BY order_id
),
refund_by_order AS (
    SELECT order_id, count(*) AS count_refunds, sum(amount) AS refund_amount,
           min(refunded_at) AS first_refunded_at
    FROM refunds GROUP BY order_id
),
first_order AS (
    SELECT customer_id, arg_min(order_id, (ordered_at, order_id)) AS first_order_id
    FROM orders GROUP BY customer_id
)
SELECT
    o.order_id, o.customer_id, o.store_id, o.tracking_code,
    s.city, coalesce(s.district, '') AS district, coalesce(s.region, '') AS region, s.category,
    o.campaign_id, c.kind AS campaign_kind,
    coalesce(o.channel, c.channel, 'unknown') AS channel,
    o.ordered_at, CAST(o.ordered_at AS DATE) AS order_date, o.status,
    coalesce(o.status, 'paid') <> 'cancelled' AS is_paid,
    o.list_price, o.paid_amount,
    coalesce(o.discount_amount, 0) AS discount_amount,
    coalesce(o.platform_fee, 0)    AS platform_fee,
    o.valid_until,
    r.order_id IS NOT NULL AS is_redeemed,
    r.redeemed_at,
    date_diff('second', o.ordered_at, r.redeemed_at) / 3600.0 AS hours_to_redeem,
    r.wait_minutes, s.listed_wait_minutes, s.listed_rating, r.service_minutes,
    coalesce(r.extra_spend, 0) AS extra_spend,
    (r.order_id IS NULL AND o.valid_until IS NOT NULL AND o.valid_until < a.as_of
        AND coalesce(o.status, 'paid') <> 'cancelled') AS is_breakage,
    coalesce(v.count_reviews, 0)             AS count_reviews,
    coalesce(v.rating_sum, 0)                AS rating_sum,
    coalesce(v.count_positive, 0)            AS count_positive,
    coalesce(v.count_complaints, 0)          AS count_complaints,
    coalesce(v.count_as_described, 0)        AS count_as_described,
    coalesce(v.count_described_answered, 0)  AS count_described_answered,
    v.min_rating,
    coalesce(f.count_refunds, 0) > 0         AS has_refund,
    coalesce(f.refund_amount, 0)             AS refund_amount,
    fo.first_order_id IS NOT NULL            AS is_first_order
FROM orders o
JOIN stores s USING (store_id)
CROSS JOIN as_of a
LEFT JOIN campaigns c USING (campaign_id)
LEFT JOIN redemptions r USING (order_id)
LEFT JOIN review_by_order v USING (order_id)
LEFT JOIN refund_by_order f USING (order_id)
LEFT JOIN first_order fo ON fo.first_order_id = o.order_id
ORDER BY o.ordered_at;

-- rollup_store_day: one row per order date x store x channel x campaign (NULL = full price).
-- Serves both the store x day and the campaign x day grain; every additive KPI input is a sum.
CREATE OR REPLACE TABLE rollup_store_day AS
SELECT
    order_date AS date, store_id, city, district, region, category,
    channel, campaign_id, campaign_kind,
    count(*)                                                          AS count_orders,
    count(*) FILTER (WHERE is_paid)                                   AS count_paid,
    sum(paid_amount) FILTER (WHERE is_paid)                           AS paid_amount,
    sum(list_price) FILTER (WHERE is_paid)                            AS list_value,
    sum(discount_amount) FILTER (WHERE is_paid)                       AS discount_amount,
    sum(platform_fee) FILTER (WHERE is_paid)                          AS platform_fee,
    count(*) FILTER (WHERE is_paid AND is_redeemed)                   AS count_redeemed,
    count(*) FILTER (WHERE is_redeemed)                               AS count_redemptions,
    sum(extra_spend) FILTER (WHERE is_paid)                           AS extra_spend,
    count(*) FILTER (WHERE is_paid AND has_refund)                    AS count_refunded,
    sum(refund_amount) FILTER (WHERE is_paid)                         AS refund_amount,
    count(*) FILTER (WHERE is_breakage)                               AS count_breakage,
    sum(paid_amount) FILTER (WHERE is_breakage)                       AS breakage_amount,
    sum(count_reviews)                                                AS count_reviews,
    sum(rating_sum)                                                   AS rating_sum,
    sum(count_reviews) FILTER (WHERE listed_rating IS NOT NULL)       AS count_reviews_listed,
    sum(rating_sum) FILTER (WHERE listed_rating IS NOT NULL)          AS rating_sum_listed,
    sum(count_reviews * listed_rating)                                AS listed_rating_sum,
    sum(count_positive)                                               AS count_positive,
    sum(count_complaints)                                             AS count_complaints,
    sum(count_as_described)                                           AS count_as_described,
    sum(count_described_answered)                                     AS count_described_answered,
    count(*) FILTER (WHERE is_redeemed AND wait_minutes IS NOT NULL
                       AND listed_wait_minutes IS NOT NULL)           AS count_waits,
    count(*) FILTER (WHERE is_redeemed AND wait_minutes <= listed_wait_minutes) AS count_sla_met,
    sum(wait_minutes - listed_wait_minutes) FILTER (WHERE is_redeemed) AS wait_gap_sum,
    count(*) FILTER (WHERE is_first_order)                            AS count_new_customers
FROM order_facts
GROUP BY ALL
ORDER BY date, store_id;

-- rollup_store_hour: one row per redemption date x hour x store, for capacity use and the
-- day-of-week x hour heatmaps. Counted when the customer was in the store.
CREATE OR REPLACE TABLE rollup_store_hour AS
SELECT
    CAST(redeemed_at AS DATE) AS date, hour(redeemed_at) AS hour, store_id,
    city, district, region, category,
    count(*)                                                          AS count_redemptions,
    count(*) FILTER (WHERE wait_minutes IS NOT NULL
                       AND listed_wait_minutes IS NOT NULL)           AS count_waits,
    count(*) FILTER (WHERE wait_minutes <= listed_wait_minutes)       AS count_sla_met
FROM order_facts
WHERE is_redeemed
GROUP BY ALL
ORDER BY date, store_id;

-- rollup_costs: one row per cost date x store x cost type x campaign. Campaign costs booked
-- without a store are spread over the campaign's stores in proportion to the campaign's paid
-- orders at each store, so that store, city and category views carry their share of marketing.
-- Costs with neither store nor campaign keep store_id NULL (head-office costs).
CREATE OR REPLACE TABLE rollup_costs AS
WITH campaign_store_share AS (
    SELECT campaign_id, store_id,
           count(*) / sum(count(*)) OVER (PARTITION BY campaign_id) AS share
    FROM order_facts
    WHERE campaign_id IS NOT NULL AND is_paid
    GROUP BY campaign_id, store_id
),
spread AS (
    SELECT k.date, k.cost_type, coalesce(k.store_id, w.store_id) AS store_id, k.campaign_id,
           k.amount * coalesce(w.share, 1.0) AS amount,
           k.staff_hours * coalesce(w.share, 1.0) AS staff_hours
    FROM costs k
    LEFT JOIN campaign_store_share w
           ON k.store_id IS NULL AND w.campaign_id = k.campaign_id
)
SELECT sp.date, sp.store_id, s.city, coalesce(s.district, '') AS district,
       coalesce(s.region, '') AS region, s.category,
       c.channel, sp.campaign_id, c.kind AS campaign_kind, sp.cost_type,
       sum(sp.amount) AS amount, sum(sp.staff_hours) AS staff_hours
FROM spread sp
LEFT JOIN stores s USING (store_id)
LEFT JOIN campaigns c USING (campaign_id)
GROUP BY ALL
ORDER BY sp.date;

INSERT OR REPLACE INTO warehouse_meta
SELECT 'as_of', CAST(max(ordered_at) AS VARCHAR) FROM orders;
INSERT OR REPLACE INTO warehouse_meta VALUES ('rollups_built_at', CAST(now()::TIMESTAMP AS VARCHAR));
