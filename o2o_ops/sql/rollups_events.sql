-- event_facts: one row per row of the optional contract table events (the online funnel), with
-- the store's place and kind and the campaign's kind for the filters (the "rollup" target of
-- o2o_ops/filters.py), counted on the day it occurred. A coupon received by a known customer for
-- a campaign carries what followed: is_ordered (the customer placed a paid order with that
-- campaign at or after receiving it) and hours_to_redeem (from receiving it to the first
-- redemption of such an order; NULL when none was redeemed). "Within N days" is decided when read
-- (setting O2O_COUPON_REDEEM_DAYS), so the setting applies without a rebuild.
CREATE OR REPLACE TABLE event_facts AS
WITH numbered AS (
    SELECT row_number() OVER (ORDER BY occurred_at, event_type, campaign_id, store_id, customer_id, channel) AS event_row,
           e.*
    FROM events e{{ where_touched events: CAST(e.occurred_at AS DATE), e.customer_id }}
),
followed AS (
    SELECT n.event_row,
           count(f.order_id) > 0 AS is_ordered,
           min(date_diff('second', n.occurred_at, f.redeemed_at)) AS seconds_to_redeem
    FROM numbered n
    JOIN order_facts f
      ON f.customer_id = n.customer_id AND f.campaign_id = n.campaign_id
     AND f.ordered_at >= n.occurred_at AND f.is_paid
    WHERE n.event_type = 'coupon_received'
    GROUP BY n.event_row
)
SELECT CAST(n.occurred_at AS DATE) AS date, n.store_id, s.city, coalesce(s.district, '') AS district,
       coalesce(s.region, '') AS region, s.category,
       coalesce(n.channel, c.channel, 'unknown') AS channel, n.campaign_id, c.kind AS campaign_kind,
       n.event_type, coalesce(n.event_count, 1) AS event_count, n.customer_id,
       coalesce(w.is_ordered, FALSE) AS is_ordered,
       CAST(w.seconds_to_redeem AS DOUBLE) / 3600 AS hours_to_redeem
FROM numbered n
LEFT JOIN followed w ON w.event_row = n.event_row
LEFT JOIN stores s ON s.store_id = n.store_id
LEFT JOIN campaigns c ON c.campaign_id = n.campaign_id
ORDER BY date;
