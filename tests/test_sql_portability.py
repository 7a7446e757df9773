"""The one SQL source ports to Spark: a lint over every statement the project runs on both engines
(every build step, every KPI at every grain), without Java.

When ``test_every_statement_ports`` fails, its message lists each statement, the construct and
what to write instead (o2o_ops/portable.py's RULES). The other tests show that the lint catches
each construct known not to port, and that the build steps are exactly the tables DuckDB builds.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
import sqlglot

from o2o_ops import db, forecast, portable


def test_every_statement_ports():
    statements = portable.project_statements()
    problems = portable.lint_all(statements)
    assert not problems, ("SQL that would not run (or not give the same numbers) on Spark:\n  - "
                          + "\n  - ".join(problems))
    # it really looked at every build step and every KPI x grain
    names = [name for name, _, _ in statements]
    from o2o_ops import metrics
    assert len(names) == len(portable.build_steps()) + len(metrics.GRAINS) * (len(metrics.KPIS) + 3)


def test_the_stacked_driver_query_ports():
    """metrics.compute_stacked's statement (the weekly summary's drivers) passes the lint too; as
    of a moment it adds nothing to what metrics.as_of_tables' own statement is told (its young
    orders' ``* EXCLUDE``: the as-of queries serve the app's DuckDB only)."""
    import datetime as dt
    from o2o_ops import metrics
    from o2o_ops.filters import Filters
    week = Filters(start=dt.date(2026, 11, 9), end=dt.date(2026, 11, 15))
    for as_of in (None, dt.datetime(2026, 11, 20, 12)):
        for names in (["revenue", "reviews"], ["cost_per_redemption", "reviews"], ["symmetry_index", "reviews"]):
            sql, _ = metrics.kpi_sql(week, "total", names, as_of=as_of, stack=("city", "category", "store"))
            alone, _ = metrics.kpi_sql(week, "city", names, as_of=as_of)
            told = {p.split(": ", 1)[1] for p in portable.lint("q", alone)}
            assert "UNION ALL" in sql and {p.split(": ", 1)[1] for p in portable.lint("q", sql)} <= told, names
            assert as_of is not None or not told


@pytest.mark.parametrize("sql, construct, fix", [
    ("SELECT * REPLACE (coalesce(district, '') AS district) FROM stores", "* REPLACE", "coalesce(district, '') AS district"),
    ("SELECT g.* EXCLUDE (date) FROM g", "* EXCLUDE", "order_measure_names"),
    ("SELECT sum(COLUMNS(* EXCLUDE (date))) FROM t", "COLUMNS(...)", "order_measure_sums"),
    ("SELECT city, count(*) FROM stores GROUP BY ALL", "GROUP BY ALL", "GROUP BY the key expressions"),
    ("SELECT isodow(date) AS wd FROM t", "weekday function", "date_diff('day', date_trunc('week', d), d) + 1"),
    ("SELECT strftime(date, '%G-W%V') FROM t", "strftime", "weekofyear"),
    ("SELECT date_diff('second', a, b) / 3600.0 AS h FROM t", "decimal literal 3600.0", "CAST(x AS DOUBLE) / 3600"),
    ("SELECT CAST(unnest(generate_series(a, b, INTERVAL 1 DAY)) AS DATE) AS d FROM t", "CAST(unnest", "alone in a subquery"),
    ("SELECT d.day FROM t CROSS JOIN generate_series(a, b, INTERVAL 1 DAY) AS d(day)", "table function", "alone in a subquery"),
    ("SELECT review_id FROM reviews ORDER BY rowid", "rowid", "ORDER BY real columns"),
    ("INSERT OR REPLACE INTO warehouse_meta VALUES ('a', 'b')", "INSERT OR REPLACE", "DELETE the keys"),
    ("SELECT list_sort(x) FROM t", "list functions", "aggregates and joins"),
    ("SELECT frobnicate(x) FROM t", "frobnicate", "unknown to sqlglot"),
])
def test_the_lint_names_the_construct_and_the_fix(sql, construct, fix):
    problems = portable.lint("example.sql", sql)
    assert problems, sql
    text = " ".join(problems)
    assert construct in text and fix in text, text
    assert text.startswith("example.sql")


def test_comments_may_name_a_construct_and_portable_sql_passes():
    sql = """-- isodow() and GROUP BY ALL are banned; this comment says so
    SELECT store_id, date_diff('day', date_trunc('week', date), date) + 1 AS wd,
           CAST(date_diff('second', a, b) AS DOUBLE) / 3600 AS hours, count(*) FILTER (WHERE x) AS n
    FROM t GROUP BY store_id, date_diff('day', date_trunc('week', date), date) + 1,
                    CAST(date_diff('second', a, b) AS DOUBLE) / 3600"""
    assert portable.lint("ok.sql", sql) == []
    # a decimal constant is fine once the arithmetic it takes part in is DOUBLE
    assert portable.lint("ok.sql", "SELECT (x + CAST(10 * 0.9 AS DOUBLE)) / (y + 10) AS r FROM t") == []


def test_the_line_of_the_construct_is_given():
    sql = "SELECT a,\n       b\nFROM t\nGROUP BY ALL"
    assert "line 4" in portable.lint("f.sql", sql)[0]


def test_build_steps_are_the_tables_duckdb_builds():
    con = duckdb.connect()
    try:
        db.create_schema(con)
        db.rebuild_rollups(con)
        built = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    finally:
        con.close()
    names = portable.derived_tables()
    assert len(names) == len(set(names))
    python_built = {"anomaly_scores", "campaign_lift", *forecast.TABLES}   # db.build_python_derived, after the SQL
    assert set(names) == built - set(db.CONTRACT_TABLES) - {"import_log", "warehouse_meta"} - python_built
    assert names[0] == "order_facts"


def test_a_build_file_with_anything_but_create_table_as_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "rollups_bad.sql"
    bad.write_text("CREATE OR REPLACE TABLE a AS SELECT 1 AS x;\n"
                   "INSERT INTO warehouse_meta VALUES ('k', 'v');\n", encoding="utf-8")
    monkeypatch.setattr(db, "_rollup_files", lambda: [bad])
    with pytest.raises(portable.PortabilityError, match="write_build_meta"):
        portable.build_steps()


def test_statements_split_on_semicolons_outside_strings_and_comments():
    text = "SELECT 'a;b' AS s; -- a comment; with a semicolon\nSELECT 2 AS y;\n-- trailing comment\n"
    parts = portable._split_statements(text)
    assert [portable.strip_comments(p).strip() for p in parts] == ["SELECT 'a;b' AS s", "SELECT 2 AS y"]


def test_parameters_are_bound_as_typed_literals_for_spark():
    sql = ("SELECT * FROM t WHERE d >= $f_start AND list_contains($f_cities, city) "
           "AND h < $open_hours AND n = $n")
    spark = portable.to_spark(sql, {"f_start": dt.date(2026, 3, 2), "f_cities": ["Hangzhou", "x' OR 1=1 --"],
                                    "open_hours": 12.5, "n": 3})
    assert "CAST('2026-03-02' AS DATE)" in spark
    assert "ARRAY_CONTAINS(ARRAY('Hangzhou', " in spark
    assert "CAST(12.5 AS DOUBLE)" in spark and "n = 3" in spark
    # a quote in a value stays inside its string literal: Spark's grammar reads the value back whole
    values = {lit.this for lit in sqlglot.parse_one(spark, read="spark").find_all(sqlglot.exp.Literal) if lit.is_string}
    assert "x' OR 1=1 --" in values
    with pytest.raises(portable.PortabilityError, match=r"\$f_end has no value"):
        portable.to_spark("SELECT $f_end", {})


def test_the_weekday_and_iso_week_spellings_agree_with_duckdb():
    """The portable spellings used in the build give what isodow() and strftime('%G-W%V') give,
    on every day of 2020-2027 (year ends with ISO weeks 53 and 1 included)."""
    con = duckdb.connect()
    rows = con.execute("""
        SELECT count(*) FILTER (WHERE date_diff('day', date_trunc('week', d), d) + 1 <> isodow(d)),
               count(*) FILTER (WHERE CAST(year(CAST(date_trunc('week', d) AS DATE) + 3) AS VARCHAR) || '-W'
                                      || lpad(CAST(weekofyear(CAST(date_trunc('week', d) AS DATE)) AS VARCHAR), 2, '0')
                                      <> strftime(d, '%G-W%V')),
               count(*)
        FROM (SELECT CAST(unnest(generate_series(DATE '2020-01-01', DATE '2027-12-31', INTERVAL 1 DAY)) AS DATE) AS d)
    """).fetchone()
    assert rows == (0, 0, 2922)
