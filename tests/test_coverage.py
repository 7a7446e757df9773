"""Coverage and evidence: a KPI whose inputs were never imported is *not provided* (blank with a
reason), a KPI whose inputs were imported but hold no rows in the period is 0, and review-based
KPIs need O2O_MIN_REVIEWS reviews. Values by hand from the partial shapes' CSV rows."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import subprocess
import sys

import pytest

from o2o_ops import coverage, db, ingest, metrics
from o2o_ops.filters import Filters
from partial_shapes import SHAPES, shape_rows
from tests.test_metrics import S1_INDEX, S3_INDEX
from tests.tiny import END, START, build_tiny

ALL = Filters(start=dt.date(2026, 10, 5), end=dt.date(2026, 11, 1))
NAMES = ("orders", "discount_cost", "redemption_rate", "avg_rating", "refund_rate", "marketing_spend",
         "cost_per_redemption", "roi", "cac", "rating_gap", "sla_attainment", "capacity_utilisation",
         "symmetry_index", "reviews")


def totals(path, filters: Filters = ALL) -> tuple[dict, dict]:
    con = db.connect(path)
    try:
        df = metrics.compute(con, filters, "total", NAMES)
        why = metrics.notes(con, df, filters, "total", NAMES)[0]
    finally:
        con.close()
    return df.iloc[0].to_dict(), why


def rows(shape: str, table: str) -> list[dict]:
    return shape_rows(SHAPES[shape]).get(table, ([], []))[1]


def paid(shape: str) -> list[dict]:
    return [o for o in rows(shape, "orders") if o["status"] != "cancelled"]


def blank(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def test_orders_only_provides_volumes_and_order_costs_and_nothing_else(partial_warehouse):
    got, why = totals(partial_warehouse("orders_only"))
    assert got["orders"] == len(rows("orders_only", "orders"))
    assert got["discount_cost"] == pytest.approx(sum(float(o["discount_amount"] or 0) for o in paid("orders_only")))
    for name, reason in {
        "redemption_rate": "not provided: no redemptions imported",
        "avg_rating": "not provided: no reviews imported",
        "refund_rate": "not provided: no refunds imported",
        "marketing_spend": "not provided: no costs imported",
        "cost_per_redemption": "not provided: no costs imported; no redemptions imported",
        "roi": "not provided: no costs imported; no in-store extra spend imported; no refunds imported",
        "cac": "not provided: no campaigns imported; no costs imported",
        "symmetry_index": "not provided: no redemptions imported; no reviews imported",
    }.items():
        assert blank(got[name]) and why[name] == reason, (name, got[name], why.get(name))


def test_no_reviews_keeps_redemptions_and_costs(partial_warehouse):
    got, why = totals(partial_warehouse("no_reviews"))
    redeemed = {r["order_id"] for r in rows("no_reviews", "redemptions")}
    assert got["redemption_rate"] == pytest.approx(sum(o["order_id"] in redeemed for o in paid("no_reviews"))
                                                   / len(paid("no_reviews")))
    marketing = sum(float(c["amount"]) for c in rows("no_reviews", "costs") if c["cost_type"] == "marketing")
    assert got["marketing_spend"] == pytest.approx(marketing)
    assert blank(got["avg_rating"]) and why["avg_rating"] == "not provided: no reviews imported"
    assert blank(got["rating_gap"]) and blank(got["symmetry_index"])


def test_no_promises_withholds_the_gaps_but_not_the_ratings(partial_warehouse):
    got, why = totals(partial_warehouse("no_promises"))
    assert why["rating_gap"] == "not provided: no listed ratings imported"
    assert why["sla_attainment"] == "not provided: no promised waits imported"
    assert why["capacity_utilisation"] == "not provided: no store capacities imported"
    ratings = [int(r["rating"]) for r in rows("no_promises", "reviews")]
    assert got["avg_rating"] == pytest.approx(sum(ratings) / len(ratings))


def test_no_costs_no_campaigns(partial_warehouse):
    got, why = totals(partial_warehouse("no_costs_no_campaigns"))
    assert blank(got["marketing_spend"]) and why["marketing_spend"] == "not provided: no costs imported"
    assert blank(got["cac"]) and blank(got["roi"]) and blank(got["cost_per_redemption"])
    assert not blank(got["redemption_rate"]) and not blank(got["refund_rate"])


@pytest.mark.parametrize("shape", ["no_coordinates", "single_day", "fresh_week"])
def test_complete_shapes_provide_everything(shape, partial_warehouse):
    filters = Filters(start=dt.date(2026, 10, 21), end=dt.date(2026, 10, 21)) if shape == "single_day" else ALL
    got, why = totals(partial_warehouse(shape), filters)
    assert not {n: w for n, w in why.items() if w.startswith("not provided")}
    assert got["marketing_spend"] >= 0 and not blank(got["redemption_rate"])


def test_an_empty_refunds_file_means_zero_refunds(tmp_path):
    """A refunds file with its header and no rows says "no refunds": the refund rate is 0, not
    "not provided" as when no refunds file was ever imported."""
    folder = tmp_path / "files"
    folder.mkdir()
    for table, (columns, table_rows) in shape_rows(SHAPES["orders_only"]).items():
        with open(folder / f"{table}.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(table_rows)
    (folder / "refunds.csv").write_text("order_id,refunded_at,amount,reason\n", encoding="utf-8")
    warehouse = tmp_path / "w.duckdb"
    ingest.import_dir(folder, warehouse=warehouse, imported_by="tests")
    got, why = totals(warehouse)
    assert got["refund_rate"] == 0 and "refund_rate" not in why
    assert blank(got["redemption_rate"]) and why["redemption_rate"] == "not provided: no redemptions imported"


def test_costs_outside_their_span_are_not_provided(tmp_path):
    """Tiny costs run from 20 Oct to 3 Nov: a week after that has no marketing figure, not 0."""
    con = db.connect(build_tiny(tmp_path / "tiny.duckdb"))
    try:
        later = Filters(start=dt.date(2026, 11, 9), end=dt.date(2026, 11, 15))
        df = metrics.compute(con, later, "total", ["marketing_spend", "orders"])
        assert blank(df.at[0, "marketing_spend"]) and df.at[0, "orders"] == 1
        assert coverage.not_provided(con, later, ["marketing_spend"]) == {
            "marketing_spend": "not provided: costs cover 20 Oct 2026 – 3 Nov 2026 only"}
        assert metrics.compute(con, Filters(start=START, end=END), "total", ["marketing_spend"]).at[0, "marketing_spend"] == 300
        # by week: the weeks inside the span have a figure (W43 none booked: 0), W46 is blank
        weeks = metrics.compute(con, Filters(), "week", ["marketing_spend"]).set_index("iso_week")["marketing_spend"]
        assert weeks["2026-W43"] == 0 and weeks["2026-W45"] == 300 and blank(weeks["2026-W46"])
    finally:
        con.close()


def test_reviews_without_a_complaint_are_no_complaint_not_missing_categories(tmp_path, monkeypatch):
    """Tiny's one complaint (R2, long wait) was posted on 3 Nov. The week of 9-15 Nov has a
    redemption (O5) and a review without a complaint (R5): its complaint rate is 0 / 1, not "not
    provided" because no complaint fell within the maturity horizon of it (3 days here; an Olist
    export's quality page said "Not provided" so). Complaint categories count as given wherever the
    reviews are, once the source has given any; a source that never gives one still says not
    provided (tests/test_partial_pages.py)."""
    monkeypatch.setenv("O2O_MATURITY_DAYS", "3")
    con = db.connect(build_tiny(tmp_path / "tiny.duckdb"))
    try:
        later = Filters(start=dt.date(2026, 11, 9), end=dt.date(2026, 11, 15))
        assert metrics.compute(con, later, "total", ["complaint_rate"]).at[0, "complaint_rate"] == 0
        assert coverage.not_provided(con, later, ["complaint_rate"]) == {}
        earlier = Filters(start=dt.date(2026, 10, 19), end=dt.date(2026, 10, 25))   # O6 redeemed, R6 no complaint
        assert metrics.compute(con, earlier, "total", ["complaint_rate"]).at[0, "complaint_rate"] == 0
        both = Filters(start=START, end=END)   # R2's complaint over the window's 3 redemptions (O1, O2, O5)
        assert metrics.compute(con, both, "total", ["complaint_rate"]).at[0, "complaint_rate"] == pytest.approx(1 / 3)
    finally:
        con.close()


# ------------------------------------------------------------------------------------------
# Evidence
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("evidence") / "tiny.duckdb")


def test_review_floor_blanks_ratings_and_indexes_below_it(tiny, monkeypatch):
    # in the window S1 has reviews R1 (4) and R2 (2), S3 has R5 (5); S1 2 redemptions, S3 1
    window = Filters(start=START, end=END)
    con = db.connect(tiny)
    try:
        monkeypatch.setenv("O2O_MIN_REVIEWS", "2")
        stores = metrics.compute(con, window, "store", ["avg_rating", "symmetry_index", "reviews"]).set_index("store_id")
        assert stores.at["S1", "avg_rating"] == 3.0 and blank(stores.at["S3", "avg_rating"])
        assert blank(stores.at["S3", "symmetry_index"])
        why = metrics.notes(con, stores.reset_index(), window, "store", ["avg_rating"])
        assert [w.get("avg_rating") for w in why] == [None, "too few reviews (0)", "too few reviews (1)"]
        total = metrics.compute(con, window, "total", ["avg_rating", "symmetry_index"]).iloc[0]
        assert total["avg_rating"] == pytest.approx(11 / 3)          # 3 reviews in all: enough
        assert total["symmetry_index"] == pytest.approx(S1_INDEX)    # S3 (1 review) is left out

        monkeypatch.setenv("O2O_MIN_REVIEWS", "1")
        total = metrics.compute(con, window, "total", ["symmetry_index"]).iloc[0]
        assert total["symmetry_index"] == pytest.approx((2 * S1_INDEX + S3_INDEX) / 3)

        monkeypatch.setenv("O2O_MIN_REVIEWS", "4")
        total = metrics.compute(con, window, "total", ["avg_rating", "reviews"])
        assert blank(total.at[0, "avg_rating"]) and total.at[0, "reviews"] == 3
        assert metrics.notes(con, total, window, "total", ["avg_rating"]) == [{"avg_rating": "too few reviews (3)"}]
        # the raw value stays available to code that compares SQL with SQL
        assert metrics.compute(con, window, "total", ["avg_rating"], honest=False).at[0, "avg_rating"] == pytest.approx(11 / 3)
    finally:
        con.close()


def test_kpis_json_gives_null_and_a_reason(partial_warehouse):
    out = subprocess.run([sys.executable, "-m", "o2o_ops", "kpis", "--warehouse", str(partial_warehouse("orders_only")),
                          "--kpi", "orders", "--kpi", "roi", "--kpi", "discount_cost", "--format", "json"],
                         capture_output=True, text=True, check=True)
    record = json.loads(out.stdout)[0]
    assert record["roi"] is None and record["orders"] == len(rows("orders_only", "orders"))
    assert record["not_shown"] == {"roi": "not provided: no costs imported; no in-store extra spend imported; "
                                          "no refunds imported"}
    assert "reviews" not in record


def test_coverage_rules_by_hand(monkeypatch):
    """The rules on a hand-made coverage: spans, required columns, event horizons, unknown tables."""
    monkeypatch.setenv("O2O_MATURITY_DAYS", "14")
    d = dt.date
    cov = coverage.Coverage({
        "orders": coverage.Span("orders", 60, d(2026, 10, 5), d(2026, 11, 1), True),
        "costs": coverage.Span("costs", 18, d(2026, 10, 5), d(2026, 10, 25), True),
        "refunds": coverage.Span("refunds", 5, d(2026, 10, 11), d(2026, 10, 16), True),
        "reviews": coverage.Span("reviews", 0, None, None, True),                  # header only
        "reviews.as_described": coverage.Span("reviews.as_described", 0, None, None, True),
        "stores.listed_rating": coverage.Span("stores.listed_rating", 0, None, None, True),
    })
    week = (d(2026, 10, 26), d(2026, 11, 1))
    assert cov.gap("costs", *week) == "costs cover 5 Oct 2026 – 25 Oct 2026 only"      # no overlap
    assert cov.gap("costs", d(2026, 10, 19), d(2026, 10, 25)) is None
    assert cov.gap("refunds", *week) is None                  # last refund 16 Oct, within 14 days of 26 Oct
    assert cov.gap("refunds", d(2026, 11, 2), d(2026, 11, 8)) == "refunds cover 11 Oct 2026 – 16 Oct 2026 only"
    assert cov.gap("reviews", *week) is None                  # imported, no rows: "none", covered
    assert cov.gap("reviews.as_described", *week) is None     # its table has no rows: nothing to lack
    assert cov.gap("stores.listed_rating", *week) == "no listed ratings imported"
    assert cov.gap("orders.list_price", *week) is None        # a required column: as its table
    assert cov.gap("inspections", *week) is None              # unknown to the coverage SQL: not judged
    assert cov.gap("redemptions.wait_minutes", *week) is None  # its table unknown here too
    assert coverage.Coverage(None).gap("costs", *week) is None   # a warehouse built before coverage
