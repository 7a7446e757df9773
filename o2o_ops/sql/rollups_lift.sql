-- The inputs of incremental lift with a control (o2o_ops/lift.py), built at load time so that a
-- page view reads a campaign's own stores' days and a small city x category x day table, never
-- the orders. Reads rollup_store_day_totals and rollup_campaign_store (rollups_campaigns.sql).

-- rollup_lift_store_day: one row per store x day from the store's first order to the last day of
-- data, zero-filled (a day without orders is a 0, not a gap), with
--   n_campaigns    how many campaigns had the store among their stores that day (0 = "clean":
--                  the store can serve as a control that day).
-- Its usual level on that weekday is rollup_lift_store_level's row of (store_id, wd): kept apart,
-- a new last day of data changes one row per store there, not every store-day of that weekday
-- (an import of a day's orders into 10 million rewrote 196,000 store-days for it)
CREATE OR REPLACE TABLE rollup_lift_store_day AS
WITH span AS (
    SELECT max(date) AS last FROM rollup_store_day_totals
),
firsts AS (
    SELECT store_id, min(date) AS first FROM rollup_store_day_totals GROUP BY store_id
),
-- the days of a span: unnest(generate_series(...)) alone in a subquery's select list, cast
-- outside it (Spark's explode(sequence(...)) may not sit inside another expression); a span
-- that would run backwards is left out before (sequence() fails on it, generate_series is empty)
busy AS (
    SELECT store_id, CAST(day AS DATE) AS date, count(*) AS n_campaigns
    FROM (SELECT r.store_id, unnest(generate_series(k.start_date, least(k.end_date, span.last), INTERVAL 1 DAY)) AS day
          FROM rollup_campaign_store r
          JOIN campaigns k USING (campaign_id)
          CROSS JOIN span
          WHERE k.start_date <= least(k.end_date, span.last)) d
    GROUP BY store_id, CAST(day AS DATE)
),
grid AS (
    SELECT store_id, city, district, region, category, CAST(day AS DATE) AS date
    FROM (SELECT s.store_id, s.city, s.district, s.region, s.category,
                 unnest(generate_series(f.first, span.last, INTERVAL 1 DAY)) AS day
          FROM stores s
          JOIN firsts f USING (store_id)
          CROSS JOIN span) d{{ where_touched lift_store_days: store_id, CAST(day AS DATE) }}
),
filled AS (
    -- wd: the ISO weekday, Monday = 1 ... Sunday = 7, spelled out (isodow() becomes Monday = 3
    -- when transpiled to Spark); date_trunc('week') starts on Monday on both engines
    SELECT g.*, date_diff('day', date_trunc('week', g.date), g.date) + 1 AS wd,
           coalesce(t.n_orders, 0) AS n_orders, coalesce(t.net_revenue, 0) AS net_revenue,
           coalesce(b.n_campaigns, 0) AS n_campaigns
    FROM grid g
    LEFT JOIN rollup_store_day_totals t USING (store_id, date)
    LEFT JOIN busy b USING (store_id, date)
)
SELECT store_id, city, district, region, category, date, wd, n_orders, net_revenue, n_campaigns
FROM filled
ORDER BY store_id, date;

-- rollup_lift_store_level: one row per store x ISO weekday (wd as above) with its usual level:
--   level_orders   the store's mean orders over its clean days of that weekday (over all its days
--                  of that weekday when it has no clean one);
--   level_revenue  the same for net revenue.
-- The levels only put stores of different size and weekday profile on one scale; lift is a
-- difference-in-differences, so a store's level cancels between its baseline and its campaign.
CREATE OR REPLACE TABLE rollup_lift_store_level AS
SELECT store_id, wd,
       coalesce(avg(n_orders) FILTER (WHERE n_campaigns = 0), avg(n_orders)) AS level_orders,
       coalesce(avg(net_revenue) FILTER (WHERE n_campaigns = 0), avg(net_revenue)) AS level_revenue
FROM rollup_lift_store_day{{ where_touched store_weekdays: store_id, date }}
GROUP BY store_id, wd
ORDER BY store_id, wd;

-- rollup_lift_cell_day: one row per city x category x day: the clean store-days (no campaign at
-- the store that day) summed -- the control pool lift's counterfactual is fitted on.
CREATE OR REPLACE TABLE rollup_lift_cell_day AS
SELECT d.city, d.category, d.date, count(*) AS stores,
       sum(d.n_orders) AS n_orders, sum(d.net_revenue) AS net_revenue,
       sum(l.level_orders) AS level_orders, sum(l.level_revenue) AS level_revenue
FROM rollup_lift_store_day d
JOIN rollup_lift_store_level l USING (store_id, wd)
WHERE d.n_campaigns = 0{{ and_touched cell_weekdays: d.city, d.category, d.date }}
GROUP BY d.city, d.category, d.date
ORDER BY date, city, category;

-- rollup_anomaly_store_week: one row per store x ISO week (Monday start) with the sums behind the
-- headline KPIs the anomaly flags watch (o2o_ops/anomalies.py): orders placed, waits and ratings
-- of those orders, paid and refunded orders, and how many days of the week lie in the data.
CREATE OR REPLACE TABLE rollup_anomaly_store_week AS
WITH span AS (SELECT min(order_date) AS first, max(order_date) AS last FROM order_facts),
o AS (SELECT *, CAST(date_trunc('week', order_date) AS DATE) AS week_start FROM order_facts{{ where_touched store_weeks: store_id, order_date }})
SELECT o.store_id, any_value(o.city) AS city, any_value(o.category) AS category,
       o.week_start,
       -- ISO year (the year of the week's Thursday) and ISO week: strftime's %G-W%V spelled out
       CAST(year(o.week_start + 3) AS VARCHAR) || '-W' || lpad(CAST(weekofyear(o.week_start) AS VARCHAR), 2, '0')
           AS iso_week,
       date_diff('day', greatest(o.week_start, any_value(span.first)),
                 least(o.week_start + 6, any_value(span.last))) + 1 AS days_in_data,
       count(*) AS n_orders,
       count(o.wait_minutes) AS wait_n, coalesce(sum(o.wait_minutes), 0) AS wait_sum,
       sum(o.count_reviews) AS rating_n, sum(o.rating_sum) AS rating_sum,
       count(*) FILTER (WHERE o.is_paid) AS paid_orders,
       count(*) FILTER (WHERE o.is_paid AND o.has_refund) AS refunded_orders
FROM o CROSS JOIN span
GROUP BY o.store_id, o.week_start
ORDER BY o.store_id, week_start;
