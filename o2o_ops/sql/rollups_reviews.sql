-- Service-quality rollups: reviews by star rating and complaint category, refunds by reason, at
-- the order grain of rollup_day_store_channel_campaign (order date x store x channel x campaign), so the Service
-- quality page sums a few pre-counted rows instead of joining reviews / refunds with order_facts.
-- Every table carries the columns Filters uses for target 'rollup' (date, store_id, city,
-- district, region, category, channel, campaign_id, campaign_kind) with the values order_facts
-- has (district / region '' when missing), and is sorted by date so date filters skip row groups.
-- Attribution as everywhere: a review or refund counts with its order, by the order's date.
-- Each table groups on the narrow keys first and joins the store / campaign attributes after.
-- Read by o2o_ops/analysis.py (rating_distribution, complaints_by_category, refund_reasons).

-- rollup_review_rating_day: one row per order date x store x channel x campaign (NULL = full
-- price) with at least one review. count_rating_<n> = reviews with rating n (1-5).
CREATE OR REPLACE TABLE rollup_review_rating_day AS
WITH summed AS (
    SELECT f.order_date AS date, f.store_id, f.channel, f.campaign_id,
           count(*) FILTER (WHERE v.rating = 1) AS count_rating_1,
           count(*) FILTER (WHERE v.rating = 2) AS count_rating_2,
           count(*) FILTER (WHERE v.rating = 3) AS count_rating_3,
           count(*) FILTER (WHERE v.rating = 4) AS count_rating_4,
           count(*) FILTER (WHERE v.rating = 5) AS count_rating_5
    FROM {{ touched_slice reviews: store_days }} v JOIN {{ touched_slice order_facts: store_days }} f USING (order_id){{ where_touched store_days: f.store_id, f.order_date }}
    GROUP BY f.order_date, f.store_id, f.channel, f.campaign_id
)
SELECT g.date, g.store_id, s.city, coalesce(s.district, '') AS district,
       coalesce(s.region, '') AS region, s.category, g.channel, g.campaign_id,
       c.kind AS campaign_kind,
       g.count_rating_1, g.count_rating_2, g.count_rating_3, g.count_rating_4, g.count_rating_5
FROM summed g
JOIN stores s USING (store_id)
LEFT JOIN campaigns c USING (campaign_id)
ORDER BY g.date, g.store_id;

-- rollup_complaint_day: one row per order date x store x channel x campaign x complaint
-- category, for reviews with a complaint (category neither NULL nor '').
CREATE OR REPLACE TABLE rollup_complaint_day AS
WITH summed AS (
    SELECT f.order_date AS date, f.store_id, f.channel, f.campaign_id, v.complaint_category,
           count(*) AS count_complaints
    FROM {{ touched_slice reviews: store_days }} v JOIN {{ touched_slice order_facts: store_days }} f USING (order_id)
    WHERE v.complaint_category IS NOT NULL AND v.complaint_category <> ''{{ and_touched store_days: f.store_id, f.order_date }}
    GROUP BY f.order_date, f.store_id, f.channel, f.campaign_id, v.complaint_category
)
SELECT g.date, g.store_id, s.city, coalesce(s.district, '') AS district,
       coalesce(s.region, '') AS region, s.category, g.channel, g.campaign_id,
       c.kind AS campaign_kind, g.complaint_category, g.count_complaints
FROM summed g
JOIN stores s USING (store_id)
LEFT JOIN campaigns c USING (campaign_id)
ORDER BY g.date, g.store_id;

-- rollup_refund_reason_day: one row per order date x store x channel x campaign x refund reason
-- (missing or blank reason = 'not given'), for refunds of paid orders. count_orders = distinct
-- orders refunded for that reason; it adds up across rows because every order belongs to
-- exactly one (date, store, channel, campaign) row.
CREATE OR REPLACE TABLE rollup_refund_reason_day AS
WITH summed AS (
    SELECT f.order_date AS date, f.store_id, f.channel, f.campaign_id,
           coalesce(nullif(trim(x.reason), ''), 'not given') AS reason,
           count(*) AS count_refunds,
           count(DISTINCT x.order_id) AS count_orders,
           sum(x.amount) AS refund_amount
    FROM {{ touched_slice refunds: store_days }} x JOIN {{ touched_slice order_facts: store_days }} f USING (order_id)
    WHERE f.is_paid{{ and_touched store_days: f.store_id, f.order_date }}
    GROUP BY f.order_date, f.store_id, f.channel, f.campaign_id, coalesce(nullif(trim(x.reason), ''), 'not given')
)
SELECT g.date, g.store_id, s.city, coalesce(s.district, '') AS district,
       coalesce(s.region, '') AS region, s.category, g.channel, g.campaign_id,
       c.kind AS campaign_kind, g.reason, g.count_refunds, g.count_orders, g.refund_amount
FROM summed g
JOIN stores s USING (store_id)
LEFT JOIN campaigns c USING (campaign_id)
ORDER BY g.date, g.store_id;
