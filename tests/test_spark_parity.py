"""The same numbers on DuckDB and on Spark, from one SQL source.

One demo of 20,000 orders is built with DuckDB (the warehouse the app normally serves), its
contract tables exported to Parquet, and every derived table built again on a real local Spark
(pyspark, local[2], one session for the module, 4 shuffle partitions, UI off, the small-data
settings: no whole-stage code generation, the JIT's quick tier). Then:

- every derived table is equal both ways: same columns in the same order, same rows; doubles
  equal within 1e-9 (absolute; 1e-12 relative for large sums, whose last bits depend on the order
  two engines add in), everything else exactly;
- every KPI at every grain under three filter sets is equal on Spark (the KPI SQL rendered for
  Spark, over the Spark-built tables) and on DuckDB;
- the warehouse assembled from the Spark build serves the same KPIs through ``metrics.compute``
  (ISO week labels included) and the same weekday numbers (Monday = 1) as the DuckDB one.

Spark is started for real; it needs Java 17 and pyspark (scripts/setup.sh --with-spark).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from o2o_ops import db, demo, lake, metrics, portable
from o2o_ops.filters import Filters
from o2o_ops.spark import build as spark_build

ORDERS = 20_000
SEED = 11

FILTER_SETS = {
    "everything": Filters(),
    "13 whole weeks": Filters(start=dt.date(2026, 6, 1), end=dt.date(2026, 8, 30)),
    "two cities, two channels, odd dates": Filters(start=dt.date(2026, 4, 3), end=dt.date(2026, 7, 17),
                                                    cities=("Hangzhou", "Shanghai"), channels=("app", "wechat")),
}


@pytest.fixture(scope="module")
def spark():
    session = spark_build.session("local[2]", shuffle_partitions=4, app_name="o2o-ops parity tests",
                                  conf=spark_build.SMALL_DATA_CONF)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def built(tmp_path_factory, spark) -> dict:
    root = tmp_path_factory.mktemp("parity")
    warehouse = root / "duckdb.duckdb"
    demo.build_demo(warehouse, orders=ORDERS, seed=SEED)
    lake.export_contract(warehouse, root / "source")
    start = time.perf_counter()
    manifest = spark_build.build(root / "source", root / "spark", spark=spark)
    seconds = time.perf_counter() - start
    served = root / "served.duckdb"
    lake.assemble(root / "source", root / "spark", served)
    print(f"\nSpark build of {ORDERS:,} orders: {seconds:.1f} s")
    return {"duckdb": warehouse, "source": root / "source", "spark": root / "spark", "served": served,
            "manifest": manifest}


# ------------------------------------------------------------------------------------------
# Comparing frames from two engines
# ------------------------------------------------------------------------------------------

def _kind(series: pd.Series) -> str:
    values = series.dropna()
    if pd.api.types.is_datetime64_any_dtype(series) or (len(values) and all(isinstance(v, dt.date) for v in values)):
        return "time"
    if pd.api.types.is_bool_dtype(series) or (len(values) and all(isinstance(v, (bool, np.bool_)) for v in values)):
        return "bool"
    if pd.api.types.is_integer_dtype(series) or (len(values) and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values)):
        return "int"
    if pd.api.types.is_numeric_dtype(series) or (len(values) and all(isinstance(v, (float, int)) for v in values)):
        return "float"
    return "text"


def _canon(df: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    out = {}
    for column, kind in kinds.items():
        s = df[column]
        if kind == "time":
            out[column] = pd.to_datetime(s).dt.strftime("%Y-%m-%d %H:%M:%S").astype(object).where(s.notna(), None)
        elif kind in ("int", "float"):
            out[column] = pd.to_numeric(s.astype(object).where(s.notna(), np.nan), errors="raise").astype(float)
        elif kind == "bool":
            out[column] = s.astype(object).map(lambda v: None if v is None or v is pd.NA or v != v else bool(v))
        else:
            out[column] = s.astype(object).where(s.notna(), None)
    return pd.DataFrame(out)


def differences(left: pd.DataFrame, right: pd.DataFrame, what: str) -> list[str]:
    """How ``right`` differs from ``left`` (empty: equal), rows matched after sorting by every
    column that is not a double (doubles rounded to 1e-6 break ties)."""
    if list(left.columns) != list(right.columns):
        return [f"{what}: columns {list(left.columns)} vs {list(right.columns)}"]
    if len(left) != len(right):
        return [f"{what}: {len(left)} rows vs {len(right)}"]
    kinds = {c: _kind(left[c]) if left[c].notna().any() else _kind(right[c]) for c in left.columns}
    a, b = _canon(left, kinds), _canon(right, kinds)
    exact = [c for c, k in kinds.items() if k != "float"]
    floats = [c for c, k in kinds.items() if k == "float"]

    def ordered(df: pd.DataFrame) -> pd.DataFrame:
        key = df.copy()
        for c in exact:
            key[c] = key[c].map(lambda v: "\x00" if v is None else str(v))
        for c in floats:
            key[c] = key[c].round(6).fillna(-1e300)
        return df.loc[key.sort_values(exact + floats, kind="mergesort").index].reset_index(drop=True)

    a, b = ordered(a), ordered(b)
    problems = []
    for c in exact:
        bad = a[c].map(repr) != b[c].map(repr)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            problems.append(f"{what}.{c}: {int(bad.sum())} rows differ, e.g. {a[c][i]!r} vs {b[c][i]!r}")
    for c in floats:
        x, y = a[c].to_numpy(), b[c].to_numpy()
        same_null = np.isnan(x) == np.isnan(y)
        close = np.isclose(x, y, rtol=1e-12, atol=1e-9, equal_nan=True)
        bad = ~(same_null & close)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            problems.append(f"{what}.{c}: {int(bad.sum())} rows differ beyond 1e-9, e.g. {x[i]!r} vs {y[i]!r}")
    return problems


# ------------------------------------------------------------------------------------------
# The tests
# ------------------------------------------------------------------------------------------

def test_every_derived_table_is_equal_on_both_engines(built):
    con = duckdb.connect(str(built["duckdb"]), read_only=True)
    problems, compared = [], 0
    try:
        for table in portable.derived_tables():
            ours = con.execute(f"SELECT * FROM {table}").df()
            theirs = con.execute(f"SELECT * FROM {lake.read_expr(built['spark'], table)}").df()
            problems += differences(ours, theirs, table)
            compared += len(ours)
    finally:
        con.close()
    assert not problems, "\n".join(problems)
    assert compared > ORDERS   # order_facts alone has one row per order


@pytest.mark.parametrize("label", list(FILTER_SETS))
def test_every_kpi_at_every_grain_is_equal_on_both_engines(built, spark, label):
    filters = FILTER_SETS[label]
    names = list(metrics.KPIS)
    con = duckdb.connect(str(built["duckdb"]), read_only=True)
    problems, rows = [], 0
    try:
        for grain in metrics.GRAINS:
            sql, params = metrics.kpi_sql(filters, grain, names)
            ours = db.run(con, sql, params)
            theirs = spark_build.kpi_frame(spark, filters, grain, names)
            problems += differences(ours, theirs, f"{label} / {grain}")
            rows += len(ours)
    finally:
        con.close()
    assert not problems, "\n".join(problems)
    assert rows > 0


def test_the_warehouse_assembled_from_spark_serves_the_same_answers(built):
    ours = db.connect(built["duckdb"])
    served = db.connect(built["served"])   # read-only, checks the tables and the SQL version
    try:
        meta = dict(served.execute("SELECT key, value FROM warehouse_meta").fetchall())
        assert meta["rollups_engine"] == "spark"
        assert meta["as_of"] == ours.execute("SELECT value FROM warehouse_meta WHERE key = 'as_of'").fetchone()[0]
        for label, filters in FILTER_SETS.items():
            for grain in ("week", "store", "total"):
                a, b = metrics.compute(ours, filters, grain), metrics.compute(served, filters, grain)
                problems = differences(a, b, f"served {label} / {grain}")
                assert not problems, "\n".join(problems)
                if grain == "week":
                    assert b["iso_week"].tolist() == a["iso_week"].tolist()
                    assert b["iso_week"].str.fullmatch(r"202[56]-W\d\d").all()
        # the column types are the DuckDB build's, so the app reads the same dtypes
        for table in ("order_facts", "rollup_day_store_channel_campaign", "rollup_lift_store_day"):
            assert served.execute(f"DESCRIBE {table}").fetchall() == ours.execute(f"DESCRIBE {table}").fetchall()
    finally:
        ours.close()
        served.close()


def test_weekdays_are_monday_one_on_spark(built, spark):
    """Every store-day of the lift table carries its ISO weekday (Monday = 1 ... Sunday = 7),
    as Python's date.isoweekday() gives it; 2026-11-16 is a Monday, 2026-11-22 a Sunday."""
    rows = spark.sql("SELECT DISTINCT date, wd FROM rollup_lift_store_day").collect()
    assert len(rows) > 300
    assert all(r["wd"] == r["date"].isoweekday() for r in rows)
    days = {r["date"]: r["wd"] for r in rows}
    assert days[dt.date(2026, 11, 16)] == 1 and days[dt.date(2026, 11, 22)] == 7
    weeks = spark.sql("SELECT DISTINCT week_start, iso_week FROM rollup_anomaly_store_week").collect()
    assert all(r["iso_week"] == "{}-W{:02d}".format(*r["week_start"].isocalendar()[:2]) for r in weeks)
    assert all(r["week_start"].isoweekday() == 1 for r in weeks)


def test_the_manifest_records_the_build(built):
    manifest = built["manifest"]
    assert manifest["engine"] == "spark" and manifest["spark_version"].startswith("4.")
    assert manifest["rollups_version"] == db.rollups_version()
    assert list(manifest["seconds"]) == portable.derived_tables()
    assert lake.read_manifest(built["spark"])["as_of"] == manifest["as_of"]


def test_a_source_without_a_table_is_refused_before_spark_runs(built, tmp_path, spark):
    source = tmp_path / "source"
    source.mkdir()
    for path in Path(built["source"]).glob("*.parquet"):
        if path.name != "reviews.parquet":
            (source / path.name).write_bytes(path.read_bytes())
    with pytest.raises(lake.LakeError, match="lacks the contract table\\(s\\) reviews"):
        spark_build.build(source, tmp_path / "out", spark=spark)
    assert not (tmp_path / "out").exists()

