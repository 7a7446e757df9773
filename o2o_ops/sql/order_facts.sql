-- Derived table 1 of the rollups (see rollups.sql for the attribution rule).

-- order_facts: one row per order, denormalised with its store, campaign, redemption, reviews and
-- refunds. Stored in time order: date filters skip whole row groups when each group holds a
-- narrow span of order times (sorted here, in the one statement that writes it, rather than
-- written unsorted and then sorted into a second copy: 41.0 against 43.2 s at 10 million orders).
CREATE OR REPLACE TABLE order_facts AS
WITH as_of AS (
    SELECT max(ordered_at) AS as_of FROM {{ touched_as_of orders }}
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
           min(rating)                                     AS min_rating,
           min(posted_at)                                  AS first_posted_at
    FROM {{ touched_slice reviews: orders }}{{ where_touched orders: order_id }} GROUP BY order_id
),
refund_by_order AS (
    SELECT order_id, count(*) AS count_refunds, sum(amount) AS refund_amount,
           min(refunded_at) AS first_refunded_at
    FROM {{ touched_slice refunds: orders }}{{ where_touched orders: order_id }} GROUP BY order_id
),
redemption_by_order AS (
    -- (the touched orders' redemptions, reviews and refunds are each a slice for an import: a new
    -- order's are read among the rows the batch appended, o2o_ops/incremental.py _gather_children)
    SELECT order_id, redeemed_at, wait_minutes, service_minutes, extra_spend
    FROM {{ touched_slice redemptions: orders }}{{ where_touched orders: order_id }}
),
customer_sequence AS (
    -- each order's neighbours in its customer's history: the first order has no previous one;
    -- the repeat rate of a date range needs only these two dates per order (see metrics.py)
    SELECT order_id,
           CAST(lag(ordered_at) OVER w AS DATE)  AS prev_customer_order_date,
           CAST(lead(ordered_at) OVER w AS DATE) AS next_customer_order_date
    FROM {{ touched_slice orders: customers }}{{ where_touched customers: customer_id }}
    WINDOW w AS (PARTITION BY customer_id ORDER BY ordered_at, order_id)
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
    -- DOUBLE before dividing: a decimal literal (/ 3600.0) is DECIMAL on Spark and drifts
    CAST(date_diff('second', o.ordered_at, r.redeemed_at) AS DOUBLE) / 3600 AS hours_to_redeem,
    r.wait_minutes, s.listed_wait_minutes, s.listed_rating, r.service_minutes,
    coalesce(r.extra_spend, 0) AS extra_spend,
    {{ as_of_flag:is_breakage }} AS is_breakage,
    coalesce(v.count_reviews, 0)             AS count_reviews,
    coalesce(v.rating_sum, 0)                AS rating_sum,
    coalesce(v.count_positive, 0)            AS count_positive,
    coalesce(v.count_complaints, 0)          AS count_complaints,
    coalesce(v.count_as_described, 0)        AS count_as_described,
    coalesce(v.count_described_answered, 0)  AS count_described_answered,
    v.min_rating, v.first_posted_at,
    coalesce(f.count_refunds, 0) > 0         AS has_refund,
    coalesce(f.refund_amount, 0)             AS refund_amount,
    f.first_refunded_at,
    q.prev_customer_order_date IS NULL       AS is_first_order,
    q.prev_customer_order_date, q.next_customer_order_date,
    -- the order's own promise (optional): a time it is to be fulfilled by and/or a wait; due and
    -- late as of the latest order (the three "as of" facts: o2o_ops/kpis/sql.py AS_OF_FLAGS)
    o.promised_at, o.promised_wait_minutes,
    {{ as_of_flag:is_promise_due }} AS is_promise_due,
    {{ as_of_flag:is_late_vs_promise }} AS is_late_vs_promise
FROM {{ touched_slice orders: order_rows }} o
JOIN stores s USING (store_id)
CROSS JOIN as_of a
LEFT JOIN campaigns c USING (campaign_id)
LEFT JOIN redemption_by_order r USING (order_id)
LEFT JOIN review_by_order v USING (order_id)
LEFT JOIN refund_by_order f USING (order_id)
JOIN customer_sequence q USING (order_id){{ where_touched orders: o.order_id }}
ORDER BY o.ordered_at;
