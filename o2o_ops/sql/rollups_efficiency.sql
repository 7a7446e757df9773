-- Operational-efficiency rollups: the funnel's last stage, the time-to-redeem histogram and the
-- breakage ageing, pre-counted at the order grain of rollup_day_store_channel_campaign (order date x store x
-- channel x campaign), so the Operational efficiency page sums pre-counted rows instead of
-- scanning order_facts. Carries the columns Filters uses for target 'rollup' (date, store_id,
-- city, district, region, category, channel, campaign_id, campaign_kind) with the values
-- order_facts has; sorted by date so date filters skip row groups. Groups on the narrow keys
-- first and joins the store / campaign attributes after.
-- Read by o2o_ops/analysis.py (funnel, time_to_redeem_histogram, breakage_ageing); the bucket
-- bounds are analysis.REDEEM_BUCKETS and analysis.AGEING_BUCKETS (tests compare the answers
-- with the same questions asked of order_facts).

-- rollup_order_stage_day: one row per order date x store x channel x campaign (NULL = full
-- price), for every group with an order.
--   count_reviewed            paid, redeemed orders with at least one review (funnel stage 4)
--   count_redeem_bucket_<i>   paid, redeemed orders with a time to redeem, by bucket i of
--                             REDEEM_BUCKETS (< 1 h, 1-3 h, ..., 2+ weeks; negative -> bucket 0)
--   count_ageing_<i>,         paid, never redeemed orders by bucket i of AGEING_BUCKETS as of the
--   paid_amount_ageing_<i>    latest order: 0 expired (= breakage), 1 0-7 days left,
--                             2 8-30 days, 3 31+ days, 4 no expiry
CREATE OR REPLACE TABLE rollup_order_stage_day AS
WITH a AS (SELECT max(ordered_at) AS as_of FROM {{ touched_as_of order_facts }}),
o AS (
    SELECT f.order_date AS date, f.store_id, f.channel, f.campaign_id,
           f.is_paid AND f.is_redeemed AND f.count_reviews > 0 AS is_reviewed,
           CASE WHEN f.is_paid AND f.is_redeemed AND f.hours_to_redeem IS NOT NULL THEN
               CASE WHEN f.hours_to_redeem < 1 THEN 0 WHEN f.hours_to_redeem < 3 THEN 1
                    WHEN f.hours_to_redeem < 6 THEN 2 WHEN f.hours_to_redeem < 12 THEN 3
                    WHEN f.hours_to_redeem < 24 THEN 4 WHEN f.hours_to_redeem < 48 THEN 5
                    WHEN f.hours_to_redeem < 72 THEN 6 WHEN f.hours_to_redeem < 168 THEN 7
                    WHEN f.hours_to_redeem < 336 THEN 8 ELSE 9 END
           END AS redeem_bucket,
           CASE WHEN f.is_paid AND NOT f.is_redeemed THEN
               CASE WHEN f.valid_until IS NULL THEN 4
                    WHEN f.valid_until < a.as_of THEN 0
                    WHEN date_diff('day', CAST(a.as_of AS DATE), CAST(f.valid_until AS DATE)) <= 7 THEN 1
                    WHEN date_diff('day', CAST(a.as_of AS DATE), CAST(f.valid_until AS DATE)) <= 30 THEN 2
                    ELSE 3 END
           END AS ageing_bucket,
           f.paid_amount
    FROM order_facts f CROSS JOIN a{{ where_touched stage_store_days: f.store_id, f.order_date }}
),
summed AS (
    SELECT date, store_id, channel, campaign_id,
           count(*) FILTER (WHERE is_reviewed) AS count_reviewed,
           count(*) FILTER (WHERE redeem_bucket = 0) AS count_redeem_bucket_0,
           count(*) FILTER (WHERE redeem_bucket = 1) AS count_redeem_bucket_1,
           count(*) FILTER (WHERE redeem_bucket = 2) AS count_redeem_bucket_2,
           count(*) FILTER (WHERE redeem_bucket = 3) AS count_redeem_bucket_3,
           count(*) FILTER (WHERE redeem_bucket = 4) AS count_redeem_bucket_4,
           count(*) FILTER (WHERE redeem_bucket = 5) AS count_redeem_bucket_5,
           count(*) FILTER (WHERE redeem_bucket = 6) AS count_redeem_bucket_6,
           count(*) FILTER (WHERE redeem_bucket = 7) AS count_redeem_bucket_7,
           count(*) FILTER (WHERE redeem_bucket = 8) AS count_redeem_bucket_8,
           count(*) FILTER (WHERE redeem_bucket = 9) AS count_redeem_bucket_9,
           count(*) FILTER (WHERE ageing_bucket = 0) AS count_ageing_0,
           count(*) FILTER (WHERE ageing_bucket = 1) AS count_ageing_1,
           count(*) FILTER (WHERE ageing_bucket = 2) AS count_ageing_2,
           count(*) FILTER (WHERE ageing_bucket = 3) AS count_ageing_3,
           count(*) FILTER (WHERE ageing_bucket = 4) AS count_ageing_4,
           sum(paid_amount) FILTER (WHERE ageing_bucket = 0) AS paid_amount_ageing_0,
           sum(paid_amount) FILTER (WHERE ageing_bucket = 1) AS paid_amount_ageing_1,
           sum(paid_amount) FILTER (WHERE ageing_bucket = 2) AS paid_amount_ageing_2,
           sum(paid_amount) FILTER (WHERE ageing_bucket = 3) AS paid_amount_ageing_3,
           sum(paid_amount) FILTER (WHERE ageing_bucket = 4) AS paid_amount_ageing_4
    FROM o
    GROUP BY date, store_id, channel, campaign_id
)
SELECT g.date, g.store_id, s.city, coalesce(s.district, '') AS district,
       coalesce(s.region, '') AS region, s.category, g.channel, g.campaign_id,
       c.kind AS campaign_kind,
       g.count_reviewed,
       g.count_redeem_bucket_0, g.count_redeem_bucket_1, g.count_redeem_bucket_2, g.count_redeem_bucket_3,
       g.count_redeem_bucket_4, g.count_redeem_bucket_5, g.count_redeem_bucket_6, g.count_redeem_bucket_7,
       g.count_redeem_bucket_8, g.count_redeem_bucket_9,
       g.count_ageing_0, g.count_ageing_1, g.count_ageing_2, g.count_ageing_3, g.count_ageing_4,
       g.paid_amount_ageing_0, g.paid_amount_ageing_1, g.paid_amount_ageing_2, g.paid_amount_ageing_3,
       g.paid_amount_ageing_4
FROM summed g
JOIN stores s USING (store_id)
LEFT JOIN campaigns c USING (campaign_id)
ORDER BY g.date, g.store_id;
