"""Provisional periods compared like with like: a period "as it stood" at a moment (metrics.compute
as_of) on the tiny warehouse by hand, and the demo's default week, whose summary must not call an
age artefact a deterioration."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from o2o_ops import db, metrics, weekly
from o2o_ops.filters import Filters
from o2o_ops.weekly import Week
from tests.tiny import build_tiny

W45 = Week.parse("2026-W45")   # tiny: O1 (2 Nov 12:00) .. O4 (5 Nov 09:00)
AS_OF_NAMES = ("orders", "paid_orders", "redemptions", "redemption_rate", "time_to_redeem_hours", "breakage_orders",
               "reviews", "avg_rating", "refund_rate", "roi")


@pytest.fixture(scope="module")
def tiny_con(tmp_path_factory):
    con = db.connect(build_tiny(tmp_path_factory.mktemp("equal-age") / "tiny.duckdb"))
    yield con
    con.close()


@pytest.fixture(autouse=True)
def one_review_is_evidence(monkeypatch):
    monkeypatch.setenv("O2O_MIN_REVIEWS", "1")


def as_of(con, moment: str | None) -> dict:
    row = metrics.compute(con, W45.filters(Filters()), "total", AS_OF_NAMES,
                          as_of=dt.datetime.fromisoformat(moment) if moment else None).iloc[0]
    return {n: row[n] for n in AS_OF_NAMES}


def test_a_week_as_it_stood_by_hand(tiny_con):
    # 4 Nov 10:00: O1, O2, O3 placed (O3 at exactly 10:00 counts); O1 redeemed 3 Nov 12:00 (24 h),
    # O2 3 Nov 20:00 (2 h); O3 not yet. Reviews R1 (4 ★, 3 Nov 14:00) and R2 (2 ★, 22:00); O2's
    # refund on 4 Nov 09:00. O3 expires on 6 Nov: no breakage yet. Costs up to 4 Nov: 300 + 200 + 100.
    got = as_of(tiny_con, "2026-11-04 10:00")
    assert got["orders"] == 3 and got["paid_orders"] == 3
    assert got["redemptions"] == 2 and got["redemption_rate"] == pytest.approx(2 / 3)
    assert got["time_to_redeem_hours"] == pytest.approx(13)
    assert got["breakage_orders"] == 0
    assert got["reviews"] == 2 and got["avg_rating"] == pytest.approx(3.0)
    assert got["refund_rate"] == pytest.approx(1 / 3)
    paid, refunds, fees, costs = 80 + 100 + 400, 50, 4 + 5 + 20, 300 + 200 + 100
    extra = 10 + 0   # O1's and O2's in-store extra spend
    assert got["roi"] == pytest.approx((paid - refunds + extra - fees - costs) / (fees + costs))

    # 3 Nov 09:00: only O1, neither redeemed nor reviewed: rate 0 (covered, nothing yet), no rating
    early = as_of(tiny_con, "2026-11-03 09:00")
    assert early["orders"] == 1 and early["redemptions"] == 0 and early["redemption_rate"] == 0
    assert early["reviews"] == 0 and early["avg_rating"] != early["avg_rating"]   # NaN: nothing to average

    # without a moment: the final week (4 orders, O3 broke its validity, 1 refund of 3 paid)
    final = as_of(tiny_con, None)
    assert final["orders"] == 4 and final["breakage_orders"] == 1 and final["refund_rate"] == pytest.approx(1 / 3)


def test_the_equal_age_cutoff_is_the_newest_order_a_week_earlier():
    week = Week.parse("2026-W47")
    latest = dt.datetime(2026, 11, 24, 18, 30)          # Tuesday after the week: 2 days old
    assert weekly.is_provisional(week, latest)
    assert weekly.equal_age_cutoff(week, latest) == dt.datetime(2026, 11, 17, 18, 30)
    assert weekly.equal_age_cutoff(week, dt.datetime(2026, 12, 20)) is None   # 28 days: mature


# ------------------------------------------------------------------------------------------
# The demo's default week
# ------------------------------------------------------------------------------------------

def _independent(con, week: Week, cutoff: dt.datetime | None) -> tuple[float, float]:
    """(redemption rate, cost per redemption) of ``week`` straight from the contract tables, with
    orders, redemptions and costs up to ``cutoff`` (None: everything)."""
    until = cutoff or dt.datetime(9999, 1, 1)
    params = {"s": week.start, "e": week.end, "until": until}
    orders = """FROM orders o LEFT JOIN redemptions r ON r.order_id = o.order_id AND r.redeemed_at <= $until
                WHERE CAST(o.ordered_at AS DATE) BETWEEN $s AND $e AND o.ordered_at <= $until"""
    paid, redeemed_paid, redeemed, discount_fee = con.execute(f"""
        SELECT count(*) FILTER (WHERE coalesce(o.status, 'paid') <> 'cancelled'),
               count(*) FILTER (WHERE coalesce(o.status, 'paid') <> 'cancelled' AND r.order_id IS NOT NULL),
               count(r.order_id),
               sum(coalesce(o.discount_amount, 0) + coalesce(o.platform_fee, 0))
                   FILTER (WHERE coalesce(o.status, 'paid') <> 'cancelled')
        {orders}""", params).fetchone()
    costs = con.execute("""SELECT coalesce(sum(amount), 0) FROM costs WHERE cost_type IN ('marketing', 'staff')
                           AND date BETWEEN $s AND $e AND date <= CAST($until AS DATE)""", params).fetchone()[0]
    return redeemed_paid / paid, (discount_fee + costs) / redeemed


def test_default_demo_week_reports_no_age_artefact(ro_con, monkeypatch):
    monkeypatch.setenv("O2O_MIN_REVIEWS", "5")
    week = weekly.default_week(ro_con)
    latest = weekly.latest_order(ro_con)
    cutoff = weekly.equal_age_cutoff(week, latest)
    assert cutoff is not None, "the demo's default week is young: it is provisional"
    ov = weekly.build(ro_con, Filters(), week)
    rate_now, cost_now = _independent(ro_con, week, None)
    rate_then, cost_then = _independent(ro_con, week.previous, cutoff)
    rate_final, cost_final = _independent(ro_con, week.previous, None)
    cards = ov.cards
    assert cards.at["redemption_rate", "value"] == pytest.approx(rate_now)
    assert cards.at["redemption_rate", "previous"] == pytest.approx(rate_then)
    assert cards.at["cost_per_redemption", "value"] == pytest.approx(cost_now)
    assert cards.at["cost_per_redemption", "previous"] == pytest.approx(cost_then)
    assert cards.at["redemption_rate", "equal_age"] and cards.at["redemption_rate", "provisional"]
    # the artefact the old summary reported: against the week before's final values the rate fell
    # by more than 10 points and the cost per redemption rose
    assert rate_final - rate_now > 0.10 and cost_now > cost_final
    truly_worse = {"redemption rate": rate_now < rate_then, "cost per redemption": cost_now > cost_then}
    for label, worse in truly_worse.items():   # each item of the summary is one bullet
        claimed = any(re.match(rf"The biggest move [^:]* was {label}: .*, a deterioration\.", s)
                      or (s.startswith("Also worse than") and f" {label} (" in s.replace(":", " "))
                      for s in ov.summary)
        assert claimed == worse, (label, claimed, worse, ov.summary)
    assert f"{week.iso} is provisional" in ov.summary[1]     # said before any move is named
