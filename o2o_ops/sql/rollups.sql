-- Derived tables, rebuilt after every load (demo build or import batch), after order_facts.sql. Pages read these,
-- never the raw contract tables, so that a page at 10 million orders aggregates a few hundred
-- thousand pre-summed rows instead of joining five fact tables.
--
-- Attribution rule (DESIGN.md): an order counts in a period by its ordered_at; its redemption,
-- reviews and refunds count with it. Costs count by their own date. Capacity use counts by the
-- hour the customer was actually in the store (redeemed_at).

-- rollup_day_store_channel_campaign: one row per order date x store x channel x campaign (NULL = full price).
-- Serves both the store x day and the campaign x day grain; every additive KPI input is a sum,
-- its column generated from the measure's declaration.
CREATE OR REPLACE TABLE rollup_day_store_channel_campaign AS
WITH summed AS (   -- group on the narrow keys; store and campaign attributes are joined after
    SELECT
        order_date AS date, store_id, channel, campaign_id,
        -- one column per order measure of o2o_ops/kpis/measures.py (generated there)
        {{ order_measure_columns }}
    FROM order_facts{{ where_touched store_days: store_id, order_date }}
    GROUP BY order_date, store_id, channel, campaign_id
)
SELECT
    g.date, g.store_id, s.city, coalesce(s.district, '') AS district, coalesce(s.region, '') AS region,
    s.category, g.channel, g.campaign_id, c.kind AS campaign_kind,
    {{ order_measure_names:g }}
FROM summed g
JOIN stores s USING (store_id)
LEFT JOIN campaigns c USING (campaign_id)
ORDER BY g.date, g.store_id;

-- rollup_store_hour: one row per redemption date x hour x store, for capacity use and the
-- day-of-week x hour heatmaps. Counted when the customer was in the store.
CREATE OR REPLACE TABLE rollup_store_hour AS
WITH summed AS (
    SELECT
        CAST(redeemed_at AS DATE) AS date, hour(redeemed_at) AS hour, store_id,
        count(*)                                                          AS count_redemptions,
        count(*) FILTER (WHERE wait_minutes IS NOT NULL
                           AND listed_wait_minutes IS NOT NULL)           AS count_waits,
        count(*) FILTER (WHERE wait_minutes <= listed_wait_minutes)       AS count_sla_met
    FROM order_facts
    WHERE is_redeemed{{ and_touched store_days: store_id, CAST(redeemed_at AS DATE) }}
    GROUP BY CAST(redeemed_at AS DATE), hour(redeemed_at), store_id
)
SELECT g.date, g.hour, g.store_id, s.city, coalesce(s.district, '') AS district,
       coalesce(s.region, '') AS region, s.category,
       g.count_redemptions, g.count_waits, g.count_sla_met
FROM summed g JOIN stores s USING (store_id)
ORDER BY g.date, g.store_id;

-- rollup_costs: one row per cost date x store x cost type x campaign. Campaign costs booked
-- without a store are spread over the campaign's stores in proportion to the campaign's paid
-- orders at each store, so that store, city and category views carry their share of marketing.
-- Costs with neither store nor campaign keep store_id NULL (head-office costs).
CREATE OR REPLACE TABLE rollup_costs AS
WITH campaign_store_share AS (
    SELECT campaign_id, store_id,
           count(*) / sum(count(*)) OVER (PARTITION BY campaign_id) AS share
    FROM order_facts
    WHERE campaign_id IS NOT NULL AND is_paid{{ and_touched cost_campaigns: campaign_id }}
    GROUP BY campaign_id, store_id
),
spread AS (
    SELECT k.date, k.cost_type, coalesce(k.store_id, w.store_id) AS store_id, k.campaign_id,
           k.amount * coalesce(w.share, 1.0) AS amount,
           k.staff_hours * coalesce(w.share, 1.0) AS staff_hours
    FROM costs k
    LEFT JOIN campaign_store_share w
           ON k.store_id IS NULL AND w.campaign_id = k.campaign_id{{ where_touched cost_days: k.campaign_id, k.date }}
),
summed AS (   -- group on the narrow keys; store and campaign attributes are joined after
    SELECT date, store_id, campaign_id, cost_type, sum(amount) AS amount, sum(staff_hours) AS staff_hours
    FROM spread
    GROUP BY date, store_id, campaign_id, cost_type
)
SELECT g.date, g.store_id, s.city, coalesce(s.district, '') AS district,
       coalesce(s.region, '') AS region, s.category,
       c.channel, g.campaign_id, c.kind AS campaign_kind, g.cost_type, g.amount, g.staff_hours
FROM summed g
LEFT JOIN stores s USING (store_id)
LEFT JOIN campaigns c USING (campaign_id)
ORDER BY g.date;

-- rollup_week_store_channel_campaign / rollup_costs_week: the two daily rollups summed to ISO weeks; ``date`` is
-- the week's Monday. Any query whose dates are whole weeks (every default view is 13 of them)
-- gets the same sums from about a fifth of the rows (metrics.kpi_sql picks them).
CREATE OR REPLACE TABLE rollup_week_store_channel_campaign AS
SELECT CAST(date_trunc('week', date) AS DATE) AS date, store_id, city, district, region, category,
       channel, campaign_id, campaign_kind,
       {{ order_measure_sums }}
FROM rollup_day_store_channel_campaign{{ where_touched store_weeks: store_id, date }}
GROUP BY CAST(date_trunc('week', date) AS DATE), store_id, city, district, region, category,
         channel, campaign_id, campaign_kind
ORDER BY 1, store_id;

-- rollup_day_store / rollup_week_store: the two order rollups summed over channels and campaigns, one
-- row per store x day (week), with each measure slice by campaign (deal and full-price reviews,
-- new customers won by a campaign) as its own column. A query that neither filters nor groups by
-- channel, campaign or campaign kind (most page views) reads these: the same sums from about a
-- quarter of the rows (metrics.order_rollup picks them).
CREATE OR REPLACE TABLE rollup_day_store AS
SELECT date, store_id, city, district, region, category,
       {{ store_rollup_sums }}
FROM rollup_day_store_channel_campaign{{ where_touched store_days: store_id, date }}
GROUP BY date, store_id, city, district, region, category
ORDER BY date, store_id;

CREATE OR REPLACE TABLE rollup_week_store AS
SELECT date, store_id, city, district, region, category,
       {{ store_rollup_sums }}
FROM rollup_week_store_channel_campaign{{ where_touched store_weeks: store_id, date }}
GROUP BY date, store_id, city, district, region, category
ORDER BY date, store_id;

-- rollup_week_store_hour: rollup_store_hour summed to ISO weeks (``date`` is the week's Monday),
-- one row per redemption week x hour x store. Capacity by hour and by store (and the capacity
-- utilisation KPI) read it when the dates are whole weeks (or open): the same sums from about a
-- fifth of the rows (metrics.hour_rollup picks it).
CREATE OR REPLACE TABLE rollup_week_store_hour AS
SELECT CAST(date_trunc('week', date) AS DATE) AS date, hour, store_id, city, district, region, category,
       sum(count_redemptions) AS count_redemptions, sum(count_waits) AS count_waits,
       sum(count_sla_met) AS count_sla_met
FROM rollup_store_hour{{ where_touched store_weeks: store_id, date }}
GROUP BY CAST(date_trunc('week', date) AS DATE), hour, store_id, city, district, region, category
ORDER BY 1, store_id;

CREATE OR REPLACE TABLE rollup_costs_week AS
SELECT CAST(date_trunc('week', date) AS DATE) AS date, store_id, city, district, region, category,
       channel, campaign_id, campaign_kind, cost_type,
       sum(amount) AS amount, sum(staff_hours) AS staff_hours
FROM rollup_costs{{ where_touched cost_weeks: campaign_id, date }}
GROUP BY CAST(date_trunc('week', date) AS DATE), store_id, city, district, region, category,
         channel, campaign_id, campaign_kind, cost_type
ORDER BY 1;
