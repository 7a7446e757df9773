"""Anomaly flags (o2o_ops.anomalies): a hand-made fixture with one known spike and one holiday
every store shares, and the demo's planted spikes."""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys

import duckdb
import pytest

from o2o_ops import anomalies
from o2o_ops.filters import Filters
from test_lift import _build

FIRST = dt.date(2026, 3, 2)          # Monday of 2026-W10
SPIKE_WEEK, HOLIDAY_WEEK = 6, 3      # 0-based weeks from FIRST: 2026-W16 and 2026-W13


def _daily(store: str, day: dt.date) -> int:
    week = (day - FIRST).days // 7
    base = {"S1": 10, "S2": 20, "S3": 5}[store]
    if week == HOLIDAY_WEEK:
        return 2 * base                       # every store doubles: a holiday, not an anomaly
    if store == "S1" and week == SPIKE_WEEK:
        return 3 * base                       # S1 alone triples
    return base


@pytest.fixture(scope="module")
def fixture_con(tmp_path_factory):
    path = tmp_path_factory.mktemp("anom") / "anom.duckdb"
    orders, customers, n = [], [], 0
    for store in ("S1", "S2", "S3"):
        for d in range(70):                   # ten whole weeks
            day = FIRST + dt.timedelta(days=d)
            for i in range(_daily(store, day)):
                n += 1
                customers.append((f"C{n}", "2026-01-01", "Hangzhou", None, None))
                orders.append((f"O{n:05d}", f"C{n}", store, f"{day} 12:00", 50, 50, None, "app", 0, 0, "paid",
                               None, f"T{n}"))
    _build(path, {
        "stores": [(s, f"Store {s}", "restaurant", "Hangzhou", 30.2, 120.1, None, None, None, None, None, None)
                   for s in ("S1", "S2", "S3")],
        "customers": customers, "orders": orders,
    })
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def test_the_one_spike_is_flagged_and_the_holiday_is_not(fixture_con):
    f = anomalies.flags(fixture_con)
    assert len(f) == 1
    row = f.iloc[0]
    assert (row["store_id"], row["iso_week"], row["kpi"], row["direction"]) == ("S1", "2026-W16", "orders", "high")
    assert row["value"] == 210 and row["expected"] == pytest.approx(70)
    # level = 70 (rolling median), week effect = median(ln 3, 0, 0) = 0, MAD 0 -> Poisson scale 1/√70
    assert row["z"] == pytest.approx(math.log(3) * math.sqrt(70))
    assert row["reason"].startswith("S1 in 2026-W16: 210 orders, 3.0× the 70 expected for this store")


def test_holiday_week_is_expected_at_double(fixture_con):
    scored = anomalies.score(anomalies.store_weeks(fixture_con))
    holiday = scored[(scored["kpi"] == "orders") & (scored["iso_week"] == "2026-W13")]
    assert sorted(holiday["value"]) == [70, 140, 280]
    assert holiday["expected"].tolist() == pytest.approx(holiday["value"].tolist())
    assert (holiday["z"].abs() < 1e-9).all()


def test_store_filter_and_dates(fixture_con):
    assert anomalies.flags(fixture_con, Filters(stores=("S2",))).empty
    # S1 is judged against every store of its category, not against itself alone: its manager
    # (or a filter on S1) sees the same spike, with the same expectation, as the whole business
    alone = anomalies.flags(fixture_con, Filters(stores=("S1",)))
    assert alone[["store_id", "iso_week", "kpi"]].values.tolist() == [["S1", "2026-W16", "orders"]]
    assert alone["expected"].iloc[0] == pytest.approx(70)
    assert len(anomalies.flags(fixture_con, Filters(cities=("Hangzhou",), districts=("nowhere",)))) == 0
    assert anomalies.flags(fixture_con, Filters(start=dt.date(2026, 4, 20))).empty     # after W16
    assert len(anomalies.flags(fixture_con, Filters(start=dt.date(2026, 4, 13), end=dt.date(2026, 4, 19)))) == 1


def test_demo_spikes_found_and_few_false_flags(ro_con):
    ev = anomalies.evaluate_demo(ro_con)
    # The spike's extra demand is sold in the two weeks before it (demo.PLANTED "presale"), so the
    # spike week itself has its usual number of orders: it is found by what the rush does to the
    # orders served in it (waits, ratings, refunds), and the weeks the vouchers were sold in by
    # their orders and their share of the rush. Measured on this demo (2026-12-02): every spike
    # store-week flagged on some KPI; the selling weeks 100 / 60 / 84 %; unplanted 2.0 % of 2,617.
    assert set(ev["spike_store_weeks_found_any_kpi"]) == {"Hangzhou 2026-W27", "Chengdu 2026-W36", "Shanghai 2026-W44"}
    assert min(ev["spike_store_weeks_found_any_kpi"].values()) >= 0.9
    assert set(ev["presale_store_weeks_found_any_kpi"]) == set(ev["spike_store_weeks_found_any_kpi"])
    assert min(ev["presale_store_weeks_found_any_kpi"].values()) >= 0.4
    assert ev["unplanted_store_weeks"] > 500
    assert ev["unplanted_flagged_share"] < 0.05


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "o2o_ops", "anomalies", *args],
                          capture_output=True, text=True, timeout=300)


def test_cli_lists_flags_with_reasons(demo_warehouse):
    done = _cli("--warehouse", str(demo_warehouse), "--week", "2026-W27", "--city", "Hangzhou")
    assert done.returncode == 0, done.stderr
    assert "2026-W27" in done.stdout and "expected for this store" in done.stdout


@pytest.mark.parametrize("args, message", [
    (("--week", "2026-53x"), "--week must look like 2026-W27"),
    (("--kpi", "nonsense"), "unknown KPI nonsense"),
])
def test_cli_refuses_bad_arguments_in_words(demo_warehouse, args, message):
    done = _cli("--warehouse", str(demo_warehouse), *args)
    assert done.returncode == 2 and message in done.stdout + done.stderr and "Traceback" not in done.stderr


def test_cli_says_what_it_could_not_judge(fixture_con):
    """Only orders imported: the CLI lists no flag, then the KPIs it could not judge and why; asked
    for a KPI it could not judge, it says so instead of "no unusual store-weeks"."""
    path = fixture_con.execute("PRAGMA database_list").fetchall()[0][2]
    done = _cli("--warehouse", path, "--store", "S2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "No unusual store-weeks under these options.",
        "Not judged: average wait (no wait times imported); average rating (no reviews imported); "
        "refund rate (no refunds imported)."]
    done = _cli("--warehouse", path, "--kpi", "avg_rating", "--week", "2026-W16")
    assert done.stdout.splitlines() == [
        "No store-week could be judged under these options: average rating (no reviews imported)."]
    done = _cli("--warehouse", path, "--week", "2026-W16")
    assert done.stdout.splitlines()[:2] == ["1 unusual store-week:", f"- {anomalies.flags(fixture_con)['reason'][0]}"]
    done = _cli("--warehouse", path, "--week", "2026-W99")
    assert done.returncode == 2 and done.stdout == "error: --week: '2026-W99' is not an ISO week: 2026 has no week 99.\n"


# --- the anomaly alert rule (o2o_ops.alerts.rules, kind "anomaly") on the same fixture ---------

def _anomaly_findings(con, params, filters=None):
    from pathlib import Path

    from o2o_ops.alerts import rules, store
    rule = rules.clean("Unusual weeks", "anomaly", params)
    with store.connect(":memory:") as state:
        ctx = rules.Context(con, state, Path("anom.duckdb"), dt.datetime(2026, 5, 12, 9, 0, tzinfo=dt.timezone.utc))
        return rules.evaluate(rule, ctx, filters or rule.filters())


def test_anomaly_rule_reports_the_spike_in_its_weeks_only(fixture_con):
    from o2o_ops import auth
    # the data ends on Sunday 2026-05-10 (W19): the last 4 complete weeks are W16..W19
    found = _anomaly_findings(fixture_con, {"weeks": 4})
    assert [f.key for f in found] == ["anomaly:S1:orders:2026-W16"]
    assert found[0].summary.startswith("Store S1 (Hangzhou): S1 in 2026-W16: 210 orders, 3.0× the 70 expected")
    assert found[0].window == (dt.date(2026, 4, 13), dt.date(2026, 5, 10))
    assert "S1" in found[0].link and "2026-04-13" in found[0].link and "2026-04-19" in found[0].link
    assert _anomaly_findings(fixture_con, {"weeks": 3}) == []                        # W17..W19
    assert _anomaly_findings(fixture_con, {"weeks": 4, "kpis": ["avg_rating", "refund_rate"]}) == []
    # a manager of S2 never hears of S1
    assert _anomaly_findings(fixture_con, {"weeks": 4},
                             auth.scoped(Filters(), auth.User("m", "store_manager", stores=("S2",)))) == []


@pytest.mark.parametrize("params, message", [
    ({"kpis": ["orders", "vibes"]}, "not for 'vibes'"),
    ({"only_worse": "yes"}, "only_worse must be true or false"),
    ({"weeks": 60}, "weeks must be between 1 and 52"),
])
def test_anomaly_rule_refuses_bad_parameters_in_words(params, message):
    from o2o_ops.alerts import rules
    with pytest.raises(rules.RuleError, match=message):
        rules.clean("x", "anomaly", params)


def test_anomaly_rule_describes_itself():
    from o2o_ops.alerts import rules
    rule = rules.clean("x", "anomaly", {"kpis": "refund_rate,orders", "weeks": 2})
    assert rule.params == {"weeks": 2, "kpis": ["orders", "refund_rate"], "only_worse": True}
    assert rule.describe() == ("Unusual store weeks (orders, refund rate; only worse than usual), "
                               "the last 2 complete weeks")


def test_judged_counts_the_store_weeks_scored_in_the_scope(fixture_con):
    """Ten whole weeks of orders at three stores (35, 70 and 140 a week: all over the 10 orders and
    20 paid orders the order count and refund rate need), nothing else imported: 30 store-weeks
    scored on orders and on the refund rate (0 in each: no refund was imported), none on the
    waits and ratings."""
    assert anomalies.judged(fixture_con) == {"orders": 30, "avg_wait_minutes": 0, "avg_rating": 0, "refund_rate": 30}
    assert anomalies.judged(fixture_con, Filters(stores=("S3",)))["orders"] == 10
    assert anomalies.judged(fixture_con, Filters(start=dt.date(2026, 4, 13), end=dt.date(2026, 4, 19)))["orders"] == 3


@pytest.mark.parametrize("lang, expected", [
    ("en", {"avg_wait_minutes": "average wait (no wait times imported)",
            "avg_rating": "average rating (no reviews imported)",
            "refund_rate": "refund rate (no refunds imported)"}),
    ("zh", {"avg_wait_minutes": "平均等待（未导入等待时间）",
            "avg_rating": "平均评分（未导入评价）",
            "refund_rate": "退款率（未导入退款）"}),
])
def test_not_judged_says_which_data_was_never_imported(fixture_con, lang, expected):
    """No flag among store-weeks never judged is no news: each watched KPI none was judged on says
    why, in the reader's language, and so does the refund rate, scored at 0 in every week because
    no refund was imported; orders, judged, are not listed."""
    watched = ("orders", "avg_wait_minutes", "avg_rating", "refund_rate")
    assert anomalies.not_judged(fixture_con, Filters(), watched, lang) == expected
    assert anomalies.not_judged(fixture_con, Filters(), ("orders",), lang) == {}


def test_not_judged_says_when_no_store_had_enough(tmp_path):
    """The tiny warehouse: six orders and four reviews over three weeks, so no store-week has the
    10 orders or 8 reviews a judgement needs; its orders, reviews were imported."""
    from tiny import build_tiny
    con = duckdb.connect(str(build_tiny(tmp_path / "tiny.duckdb")), read_only=True)
    try:
        assert anomalies.judged(con) == {"orders": 0, "avg_wait_minutes": 0, "avg_rating": 0, "refund_rate": 0}
        assert anomalies.not_judged(con, Filters(), ("orders", "avg_rating")) == {
            "orders": "orders (no store had a whole week with 10 orders)",
            "avg_rating": "average rating (no store had a whole week with 8 reviews)"}
        assert anomalies.not_judged(con, Filters(), ("avg_rating",), "zh") == {
            "avg_rating": "平均评分（没有门店在完整的一周内有 8 条评价）"}
    finally:
        con.close()


def test_an_alert_rule_says_what_it_cannot_see(fixture_con):
    """Orders alone imported: a rule on the average rating, the symmetry list (which judges stores by
    their reviews) or unusual waits, ratings and refunds cannot fire, and says why; rules on the
    orders, on freshness, or on targets never set, see all they watch."""
    from o2o_ops.alerts import rules

    def blind(kind, params, lang="en"):
        return rules.blind_to(rules.clean("r", kind, params), fixture_con, lang=lang)

    assert blind("threshold", {"kpi": "avg_rating", "op": "below", "value": 4}) == \
        "average rating (no reviews imported)"
    assert blind("threshold", {"kpi": "avg_rating", "op": "below", "value": 4}, "zh") == "平均评分（未导入评价）"
    assert blind("threshold", {"kpi": "orders", "op": "below", "value": 4}) == ""
    assert blind("symmetry", {}) == "reviews (no reviews imported)"
    assert blind("anomaly", {}) == ("average wait (no wait times imported); average rating (no reviews imported); "
                                    "refund rate (no refunds imported)")
    assert blind("anomaly", {"kpis": ["orders"]}) == ""
    assert blind("freshness", {}) == "" and blind("target_missed", {}) == ""


def test_alerts_list_says_what_each_rule_cannot_see(fixture_con, tmp_path, monkeypatch, capsys):
    """`python -m o2o_ops alerts list` names, under each rule, what it watches that the warehouse
    does not hold (orders alone here); a rule that sees all it watches gets no such line."""
    from o2o_ops.__main__ import main
    from o2o_ops.alerts import rules, store
    path = fixture_con.execute("PRAGMA database_list").fetchall()[0][2]
    monkeypatch.setenv("O2O_ALERTS_DB", str(tmp_path / "alerts.sqlite"))
    with store.connect(tmp_path / "alerts.sqlite") as state:
        rules.save(state, rules.clean("Low rating", "threshold", {"kpi": "avg_rating", "op": "below", "value": 4}))
        rules.save(state, rules.clean("Orders", "anomaly", {"kpis": ["orders"]}))
    assert main(["alerts", "list", "--warehouse", path, "--users-file", str(tmp_path / "none.toml")]) == 0
    listed = capsys.readouterr().out.splitlines()
    at = listed.index("rules:")
    assert listed[at + 1:at + 4] == [
        "  1. Low rating [threshold]: Average rating below 4.00 ★ per store, last 7 days",
        "     cannot see: average rating (no reviews imported); it cannot fire on that",
        "  2. Orders [anomaly]: Unusual store weeks (orders; only worse than usual), the last complete week"]
    assert listed[at + 4] == "subscriptions:"
