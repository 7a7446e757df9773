-- Opening hours (the optional contract table store_hours) in the shape the capacity calendar reads
-- (metrics.capacity_calendar_cte). A store with no row in store_hours has no row here either and
-- falls back to the setting O2O_OPEN_HOURS_PER_DAY; a store with rows is closed on the weekdays
-- and hours they do not cover. Times are read to the minute.

-- store_hour_open: one row per store with opening hours x ISO weekday (Monday = 1) x hour of day
-- (0-23): the share of that hour the store is open (0-1; overlapping spans count once). A span
-- that closes at or before it opens runs past midnight; its hours after midnight are counted on
-- the weekday it opened (the hour-of-day view and daily totals are unchanged by that choice).
CREATE OR REPLACE TABLE store_hour_open AS
WITH spans AS (
    -- times read from their text 'HH:MM[:SS]' (a TIME in DuckDB, text in the Spark lake: Spark
    -- has no TIME type), so both engines read the same hours; zero-padded text compares as time
    SELECT store_id, iso_weekday,
           CAST(substr(CAST(opens_at AS VARCHAR), 1, 2) AS DOUBLE)
               + CAST(substr(CAST(opens_at AS VARCHAR), 4, 2) AS DOUBLE) / 60 AS open_h,
           CAST(substr(CAST(closes_at AS VARCHAR), 1, 2) AS DOUBLE)
               + CAST(substr(CAST(closes_at AS VARCHAR), 4, 2) AS DOUBLE) / 60
               + CASE WHEN CAST(closes_at AS VARCHAR) <= CAST(opens_at AS VARCHAR) THEN 24 ELSE 0 END AS close_h
    FROM store_hours
),
weekdays AS (SELECT * FROM (VALUES (1), (2), (3), (4), (5), (6), (7)) t(iso_weekday)),
hours AS (
    SELECT * FROM (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12), (13),
                          (14), (15), (16), (17), (18), (19), (20), (21), (22), (23)) t(hour)
),
overlap AS (
    SELECT s.store_id, s.iso_weekday, h.hour,
           greatest(0, least(s.close_h, h.hour + 1) - greatest(s.open_h, h.hour))
             + greatest(0, least(s.close_h, h.hour + 25) - greatest(s.open_h, h.hour + 24)) AS open_share
    FROM spans s CROSS JOIN hours h
),
grid AS (
    SELECT d.store_id, w.iso_weekday, h.hour
    FROM (SELECT DISTINCT store_id FROM store_hours) d CROSS JOIN weekdays w CROSS JOIN hours h
)
SELECT g.store_id, g.iso_weekday, g.hour, least(1.0, coalesce(sum(o.open_share), 0)) AS open_share
FROM grid g
LEFT JOIN overlap o ON o.store_id = g.store_id AND o.iso_weekday = g.iso_weekday AND o.hour = g.hour
GROUP BY g.store_id, g.iso_weekday, g.hour
ORDER BY g.store_id, g.iso_weekday, g.hour;

-- store_weekday_hours: one row per store with opening hours x ISO weekday: hours open that day
-- (0 when closed).
CREATE OR REPLACE TABLE store_weekday_hours AS
SELECT store_id, iso_weekday, sum(open_share) AS open_hours
FROM store_hour_open
GROUP BY store_id, iso_weekday
ORDER BY store_id, iso_weekday;
