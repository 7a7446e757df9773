"""The KPI layer (o2o_ops/kpis): what is declared once is generated everywhere, and agrees with
the same questions asked of the fact table."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from o2o_ops import db, kpis, metrics, units, weekly
from o2o_ops.filters import Filters
from o2o_ops.kpis import sql as generated
from o2o_ops.kpis import symmetry_index
from o2o_ops.kpis.measures import MEASURE_LIST, MEASURES

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*(ROOT / "o2o_ops").rglob("*.py"), *(ROOT / "o2o_ops").rglob("*.sql"), *(ROOT / "pages").glob("*.py")])

# KPIs built from order measures alone: the fact table can answer them without any rollup
ORDER_ONLY = [k.name for k in kpis.KPI_LIST
              if k.kind != "index" and all(MEASURES[m].source == "orders" for m in k.measures)]


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# --- generated from the declarations agrees with the fact table ------------------------------

def test_every_rollup_column_equals_its_declaration_over_the_facts(ro_con):
    columns = [m for m in MEASURE_LIST if m.is_rollup_column]
    roll = db.run(ro_con, "SELECT " + ", ".join(f"sum({m.name}) AS {m.name}" for m in columns)
                  + " FROM rollup_day_store_channel_campaign").iloc[0]
    facts = db.run(ro_con, "SELECT " + ", ".join(f"{generated.order_aggregate(m)} AS {m.name}" for m in columns)
                   + " FROM order_facts").iloc[0]
    for m in columns:
        assert roll[m.name] == pytest.approx(facts[m.name], rel=1e-9), m.name


@pytest.mark.parametrize("grain", ["total", "week", "store", "channel"])
def test_order_kpis_equal_the_reference_query_on_the_facts(ro_con, grain):
    flt = Filters(start=dt.date(2026, 8, 3), end=dt.date(2026, 10, 25))   # whole weeks: weekly rollups
    names = ORDER_ONLY
    got = metrics.compute(ro_con, flt, grain, names)
    keys = metrics._keys(grain, "order_date")
    ref = db.run(ro_con, generated.reference_sql(keys, [kpis.KPIS[n] for n in names], where=flt.where_sql("facts")),
                 flt.params("facts"))
    key_cols = [o for o, _ in keys]
    got = got.set_index(key_cols).sort_index()
    ref = ref.set_index(key_cols).sort_index()
    assert len(got) == len(ref) > 0
    for name in names:
        assert got[name].tolist() == pytest.approx(ref[name].tolist(), rel=1e-9, nan_ok=True), name


def test_order_only_covers_most_kpis():
    assert {"redemption_rate", "avg_rating", "rating_gap", "deal_customer_gap", "time_to_redeem_hours",
            "net_revenue"} <= set(ORDER_ONLY)


# --- declarations carry what later issues need ---------------------------------------------

def test_inputs_name_the_tables_and_optional_columns_a_kpi_needs():
    assert kpis.inputs_of("orders") == {"orders"}
    assert kpis.inputs_of("avg_rating") == {"orders", "reviews"}
    assert kpis.inputs_of("sla_attainment") == {"orders", "redemptions.wait_minutes", "stores.listed_wait_minutes"}
    assert "stores.listed_rating" in kpis.inputs_of("rating_gap")
    assert "stores.capacity_per_hour" in kpis.inputs_of("capacity_utilisation")
    assert kpis.inputs_of("cac") >= {"costs", "campaigns", "orders"}
    # the index leaves out a component without its promise: the promises are not required
    assert kpis.inputs_of("symmetry_index") == {"orders", "redemptions", "reviews"}


def test_missing_inputs_say_which_kpis_a_warehouse_cannot_provide():
    # a warehouse with orders and reviews but no redemptions and no promised waits
    present = {"orders", "reviews", "stores.listed_rating"}
    assert kpis.missing_inputs("avg_rating", present) == frozenset()
    assert kpis.missing_inputs("redemption_rate", present) == {"redemptions"}
    assert kpis.missing_inputs("sla_attainment", present) == {"redemptions.wait_minutes", "stores.listed_wait_minutes"}
    provided = [k.name for k in kpis.KPI_LIST if not kpis.missing_inputs(k.name, present)]
    assert {"orders", "revenue", "avg_rating", "positive_share", "rating_gap", "repeat_rate"} <= set(provided)
    assert not {"redemptions", "sla_attainment", "marketing_spend", "symmetry_index"} & set(provided)


def test_what_matures_after_the_order():
    assert kpis.KPIS["redemption_rate"].matures and kpis.KPIS["avg_rating"].matures
    assert kpis.KPIS["refund_rate"].matures and kpis.KPIS["net_revenue"].matures
    assert not kpis.KPIS["orders"].matures and not kpis.KPIS["revenue"].matures
    assert not kpis.KPIS["marketing_spend"].matures


def test_evidence_floor_is_the_review_setting(monkeypatch):
    monkeypatch.setenv("O2O_MIN_REVIEWS", "7")
    assert kpis.KPIS["avg_rating"].min_evidence() == 7
    assert kpis.KPIS["orders"].min_evidence() == 0


def test_additive_is_the_declared_kind_not_the_sql_text():
    additive = {k.name for k in kpis.KPI_LIST if weekly.is_additive(k.name)}
    assert {"orders", "revenue", "net_revenue", "marketing_spend"} <= additive
    assert not additive & {"avg_rating", "roi", "time_to_redeem_hours", "symmetry_index", "repeat_rate"}


def test_a_formula_naming_an_unknown_measure_is_refused():
    with pytest.raises(ValueError, match="Unknown measure"):
        generated.render_formula("paid_amount - refunds_typo", lambda m: m)


def test_unknown_placeholder_is_refused():
    with pytest.raises(ValueError, match="Unknown SQL placeholder"):
        generated.render_template("SELECT {{ nothing_here }}")


def test_definitions_frame_shows_kind_inputs_and_maturing():
    frame = kpis.definitions_frame().set_index("name")
    assert frame.loc["avg_rating", "kind"] == "ratio"
    assert frame.loc["avg_rating", "needs"] == "orders, reviews"
    assert frame.loc["avg_rating", "matures"] == "yes" and frame.loc["orders", "matures"] == "no"
    assert frame.loc["avg_rating", "unit"] == units.UNITS["stars"].label


# --- each constant and formula in one place -------------------------------------------------

def test_symmetry_constants_live_only_in_their_declaration():
    ix = symmetry_index.INDEX
    # the definitions text and the SQL are generated from the same numbers
    doc = metrics.SYMMETRY_DOC
    assert f"rating (weight {ix.w_rating})" in doc and f"n/(n+{ix.k_reviews})" in doc
    assert f"CAST({ix.w_rating} AS DOUBLE) * (1 - least(1" in metrics.SYMMETRY_SQL   # DOUBLE: same on Spark
    # no other file spells the scoring or the shrinkage out
    spelled = [r"\+ 10\) AS rgap", r"10 \* 0\.9", r"20 \* 0\.03", r"greatest\(st\.rgap, 0\) / 1\.5",
               r"weight 0\.35", r"n/\(n\+10\)", r"35% rating gap"]
    own = ROOT / "o2o_ops" / "kpis" / "symmetry_index.py"
    for path in SOURCES:
        if path == own:
            continue
        for pattern in spelled:
            assert not re.search(pattern, _text(path)), f"{path.relative_to(ROOT)} repeats {pattern}"


def test_measure_formulas_live_only_in_their_declaration():
    own = ROOT / "o2o_ops" / "kpis" / "measures.py"
    spelled = [r"coalesce\(paid_amount, 0\) - coalesce\(refund_amount", r"paid_amount - refund_amount",
               r"count_redeemed\b"]
    for path in SOURCES:
        if path == own:
            continue
        for pattern in spelled:
            assert not re.search(pattern, _text(path)), f"{path.relative_to(ROOT)} repeats {pattern}"
    assert "NULLIF" not in _text(ROOT / "o2o_ops" / "weekly.py")


def test_every_rollup_measure_column_exists_once_in_the_rollup(ro_con):
    cols = db.run(ro_con, "SELECT column_name FROM information_schema.columns WHERE table_name = 'rollup_day_store_channel_campaign'")
    names = cols["column_name"].tolist()
    for m in MEASURE_LIST:
        assert names.count(m.name) == (1 if m.is_rollup_column else 0), m.name


def test_formulas_evaluate_outside_sql_as_in_sql():
    # the tiny warehouse's hand-computed figures (tests/test_metrics.py): net revenue 600, ROI cost 632
    from o2o_ops.kpis.measures import evaluate

    sums = {"paid_amount": 640, "refund_amount": 50, "extra_spend": 10, "platform_fee": 32, "marketing": 300,
            "staff": 200, "other_cost": 100, "discount_amount": 120}
    assert evaluate("net_revenue", sums) == 600
    assert evaluate("cash_cost", sums) == 632
    assert evaluate("promo_cost", sums) == 120 + 32 + 300 + 200
    with pytest.raises(ValueError, match="Unknown measure"):
        evaluate("paid_amount - bogus", sums)


def test_attention_thresholds_and_capacity_calendar_exist_once():
    # the attention thresholds are settings read by o2o_ops/attention.py; no module keeps its own
    for path in SOURCES:
        text = _text(path)
        for name in ("RATING_GAP_ALERT", "WAIT_GAP_ALERT", "DEFAULT_GAP_THRESHOLD", "DEFAULT_MIN_DROP", "MIN_REVIEWS ="):
            assert name not in text, f"{path.relative_to(ROOT)} keeps {name}"
        # other day series, not capacity calendars: the demo generator's days, anomalies' campaign
        # days, the lift rollup's zero-filled store days, the ISO weeks of an incremental import's
        # period (issue #17); and the portability lint, which names it
        if path.name not in ("demo.py", "anomalies.py", "rollups_lift.sql", "portable.py", "incremental.py"):
            assert ("generate_series" in text) == (path.name == "metrics.py"), path.relative_to(ROOT)
