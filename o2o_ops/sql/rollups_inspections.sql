-- inspection_facts: one row per inspection (the optional contract table inspections), with the
-- store's place and kind for the filters (the "hours" target of o2o_ops/filters.py: date and
-- store dimensions) and the total of its violations (NULL when none of the counts was given).
-- Whether an inspection passed is decided when it is read (metrics.kpi_sql: passed if given,
-- else score >= O2O_INSPECTION_PASS_SCORE, else no critical violation), so the setting applies
-- without a rebuild.
CREATE OR REPLACE TABLE inspection_facts AS
SELECT i.inspected_on AS date, i.store_id, s.city, coalesce(s.district, '') AS district,
       coalesce(s.region, '') AS region, s.category, i.inspection_type,
       i.score, i.violations_critical, i.violations_major, i.violations_minor,
       CASE WHEN i.violations_critical IS NULL AND i.violations_major IS NULL AND i.violations_minor IS NULL
            THEN NULL
            ELSE coalesce(i.violations_critical, 0) + coalesce(i.violations_major, 0)
                 + coalesce(i.violations_minor, 0) END AS violations_total,
       i.passed
FROM inspections i JOIN stores s ON s.store_id = i.store_id
ORDER BY i.inspected_on, i.store_id;
