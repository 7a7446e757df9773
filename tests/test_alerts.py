"""Alert rules and their state, on the tiny warehouse (tests/tiny.py) where every value is known
by hand, and on the demo for freshness and a store manager's scope.

Tiny, last 14 days of data (2026-10-28 → 2026-11-10: orders O1..O5):
- average rating: S1 (4 + 2) / 2 = 3.00 ★; S2 no reviews; S3 5.00 ★; all stores (4+2+5)/3 = 3.67 ★
- refund rate: S1 1 of 2 paid orders = 50.0%; S2 0 of 1 (O4 was cancelled); S3 0 of 1
- S3 has no region, S1 and S2 are in East.
The delivery side here records messages in memory; tests/test_alerts_delivery.py uses real servers.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zoneinfo
from pathlib import Path

import pandas as pd
import pytest

from o2o_ops import auth, db, ingest
from o2o_ops.alerts import engine, import_failures, outbox, people, rules, store, subscriptions, views
from o2o_ops.alerts.rules import Context, RuleError
from o2o_ops.filters import Filters
from tiny import build_tiny

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 12, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def one_review_is_evidence(monkeypatch):
    """The tiny warehouse has 1-3 reviews per store: rating rules are checked with a review floor of
    1 (under the default floor of 5 the KPI layer withholds those ratings, and no rule fires)."""
    monkeypatch.setenv("O2O_MIN_REVIEWS", "1")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")


@pytest.fixture
def state_path(tmp_path, monkeypatch):
    path = tmp_path / "alerts.sqlite"
    monkeypatch.setenv("O2O_ALERTS_DB", str(path))
    return path


@pytest.fixture
def users(tmp_path, monkeypatch):
    """s1mgr runs S1; s3mgr runs S3; east is the East regional manager; ana an analyst."""
    path = tmp_path / "users.toml"
    auth.add_user("s1mgr", "pw-1", "store_manager", stores=["S1"], path=path)
    auth.add_user("s3mgr", "pw-3", "store_manager", stores=["S3"], path=path)
    auth.add_user("east", "pw-e", "regional_manager", regions=["East"], path=path)
    auth.add_user("ana", "pw-a", "analyst", path=path)
    uf = auth.load(path)
    for name in uf.users:
        uf.users[name]["email"] = f"{name}@example.com"
    auth.save(uf)
    monkeypatch.setenv("O2O_USERS_FILE", str(path))
    return path


class Recorder:
    """Senders that keep messages in memory: (address, Message)."""

    def __init__(self):
        self.sent: list[tuple[str, object]] = []
        self.senders = outbox.Senders(send_email=self._email, post_webhook=self._hook)

    def _email(self, msg, to, smtp):
        self.sent.append((to, msg))
        return f"to {to}"

    def _hook(self, msg, hook, *, now):
        self.sent.append((hook.url, msg))
        return hook.url


def evaluate(tiny: Path, rule: rules.Rule, filters: Filters | None = None, now: dt.datetime = NOW):
    con = db.connect(tiny)
    try:
        with store.connect(":memory:") as state:
            return rules.evaluate(rule, Context(con, state, tiny, now), filters or rule.filters())
    finally:
        con.close()


def add_rule(state_path: Path, name: str, kind: str, params: dict, scope: dict | None = None, **kw) -> int:
    with store.connect(state_path) as state:
        return rules.save(state, rules.clean(name, kind, params, scope, **kw))


def subscribe(state_path: Path, name: str, mode: str = "immediate", *, tz: str = "UTC", now=NOW, **kw):
    with store.connect(state_path) as state:
        return subscriptions.save(state, subscriptions.Subscription(name, mode, **kw), timezone=tz, now=now)


# ------------------------------------------------------------------------------------------
# Rules: validation
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, params, scope, message", [
    ("threshold", {"kpi": "nope", "op": "above", "value": 1}, None, "Unknown KPI 'nope'"),
    ("threshold", {"kpi": "avg_rating", "op": "over", "value": 1}, None, "op must be 'above' or 'below'"),
    ("threshold", {"kpi": "avg_rating", "op": "above", "value": "four"}, None, "value must be a number"),
    ("threshold", {"kpi": "avg_rating", "op": "above", "value": float("nan")}, None, "finite"),
    ("threshold", {"kpi": "avg_rating", "op": "above", "value": 4, "window_days": 0}, None, "between 1 and 366"),
    ("threshold", {"kpi": "avg_rating", "op": "above", "value": 4, "window_days": 2.5}, None, "whole number"),
    ("threshold", {"kpi": "avg_rating", "op": "above", "value": 4, "grain": "city"}, None, "grain must be"),
    ("freshness", {"days": "x"}, None, "days must be a whole number"),
    ("threshold", {"kpi": "avg_rating", "op": "above", "value": 4}, {"planet": ["Mars"]}, "Unknown scope 'planet'"),
    ("weather", {}, None, "Unknown rule kind 'weather'"),
])
def test_bad_rules_are_refused_in_words(kind, params, scope, message):
    with pytest.raises(RuleError, match=re.escape(message)):
        rules.clean("r", kind, params, scope)


def test_rule_needs_a_name_and_a_usable_webhook():
    with pytest.raises(RuleError, match="needs a name"):
        rules.clean("  ", "freshness", {})
    with pytest.raises(RuleError, match="must start with https://"):
        rules.rule_webhook("ftp://example.com/hook", "generic", "")
    with pytest.raises(RuleError, match="format 'teams' is not one of"):
        rules.rule_webhook("https://example.com/hook", "teams", "")
    assert rules.rule_webhook("", "slack", "") is None


def test_defaults_and_description():
    rule = rules.clean("Refunds", "threshold", {"kpi": "refund_rate", "op": "above", "value": 0.05},
                       {"cities": ["Shanghai"], "stores": []})
    assert rule.params == {"kpi": "refund_rate", "op": "above", "value": 0.05, "grain": "store", "window_days": 7,
                           "min_orders": 0}
    assert rule.scope == {"cities": ("Shanghai",)}
    assert rule.describe() == "Refund rate above 5.0% per store, last 7 days · Shanghai"
    assert rules.clean("f", "freshness", {}).describe() == "No import for 2 days"


# ------------------------------------------------------------------------------------------
# Rules: evaluation, values by hand
# ------------------------------------------------------------------------------------------

def test_threshold_per_store(tiny):
    rule = rules.clean("Low rating", "threshold", {"kpi": "avg_rating", "op": "below", "value": 4, "window_days": 14})
    found = evaluate(tiny, rule)
    assert [f.key for f in found] == ["store:S1"]
    assert found[0].summary == ("Lakeside Noodles (S1, Hangzhou): Average rating 3.00 ★, below 4.00 ★ "
                                "(2026-10-28 → 2026-11-10)")
    assert found[0].link == "http://localhost:8501/quality?from=2026-10-28&to=2026-11-10&store=S1"
    refunds = rules.clean("Refunds", "threshold", {"kpi": "refund_rate", "op": "above", "value": 0.1,
                                                   "window_days": 14})
    assert [f.summary.split(": ", 1)[1] for f in evaluate(tiny, refunds)] == \
        ["Refund rate 50.0%, above 10.0% (2026-10-28 → 2026-11-10)"]


def test_threshold_only_where_there_are_enough_orders(tiny):
    # 14 days: S1 has 2 orders (O1, O2), S3 one (O5)
    rule = rules.clean("Rated", "threshold", {"kpi": "avg_rating", "op": "below", "value": 5.5, "window_days": 14,
                                              "min_orders": 2})
    assert [f.key for f in evaluate(tiny, rule)] == ["store:S1"]
    assert rule.describe() == "Average rating below 5.50 ★ per store, last 14 days, with at least 2 orders"


def test_threshold_for_the_scope_as_a_whole(tiny):
    rule = rules.clean("All", "threshold", {"kpi": "avg_rating", "op": "below", "value": 4, "grain": "total",
                                            "window_days": 14})
    found = evaluate(tiny, rule)
    assert [(f.key, f.summary) for f in found] == [
        ("total", "Average rating 3.67 ★ is below 4.00 ★ (All data, 2026-10-28 → 2026-11-10)")]
    # only Shanghai: S3's single 5-star review; not below 4
    assert evaluate(tiny, rules.clean("SH", "threshold", dict(rule.params), {"cities": ["Shanghai"]})) == []


def test_threshold_window_is_the_last_days_of_data(tiny):
    # 7 days: 2026-11-04 → 11-10 holds O3 (S2, no review), O4 (cancelled), O5 (S3, rated 5): nobody below 4
    rule = rules.clean("Low", "threshold", {"kpi": "avg_rating", "op": "below", "value": 4})
    assert evaluate(tiny, rule) == []


def test_a_persons_scope_narrows_every_rule(tiny):
    rule = rules.clean("Low rating", "threshold", {"kpi": "avg_rating", "op": "below", "value": 5.5,
                                                   "window_days": 14})
    def keys(user):
        return [f.key for f in evaluate(tiny, rule, auth.scoped(rule.filters(), user))]
    assert keys(auth.User("ana", "analyst")) == ["store:S1", "store:S3"]
    assert keys(auth.User("m", "store_manager", stores=("S3",))) == ["store:S3"]
    assert keys(auth.User("e", "regional_manager", regions=("East",))) == ["store:S1"]   # S3 has no region
    # a rule scoped to S1 can only narrow a manager of S3 to nothing
    s1 = rules.clean("S1", "threshold", dict(rule.params), {"stores": ["S1"]})
    assert evaluate(tiny, s1, auth.scoped(s1.filters(), auth.User("m", "store_manager", stores=("S3",)))) == []


def test_symmetry_rule_uses_the_attention_list(ro_con, demo_warehouse):
    rule = rules.clean("Symmetry", "symmetry", {})
    with store.connect(":memory:") as state:
        found = rules.evaluate(rule, Context(ro_con, state, demo_warehouse, NOW), rule.filters())
    last = pd.Timestamp(db.scalar(ro_con, "SELECT max(date) FROM rollup_day_store_channel_campaign")).date()
    expected = rules.attention_stores(ro_con, Filters(start=last - dt.timedelta(days=27), end=last))
    assert sorted(f.key for f in found) == sorted(f"store:{s}" for s in expected["store_id"])
    assert found, "the demo plants over-promising stores"
    first = expected.sort_values("store_id").iloc[0]
    assert found[0].summary == f"{first['store_name']} ({first['store_id']}, {first['store_city']}): {first['reason']}"


def test_freshness_counts_days_since_the_last_import(ro_con, demo_warehouse):
    last = pd.Timestamp(db.scalar(ro_con, "SELECT max(imported_at) FROM import_log")).to_pydatetime()
    rule = rules.clean("Fresh", "freshness", {"days": 2})
    with store.connect(":memory:") as state:
        def at(delta):
            return rules.evaluate(rule, Context(ro_con, state, demo_warehouse, (last + delta).astimezone()),
                                  Filters())
        assert at(dt.timedelta(days=1, hours=23)) == []
        [finding] = at(dt.timedelta(days=3, hours=1))
    assert finding.key == "stale"
    assert finding.summary == (f"No data imported for 3 days (last import {last:%Y-%m-%d %H:%M}); "
                               f"the rule allows 2.")


def test_freshness_with_an_empty_import_log(tiny):
    [finding] = evaluate(tiny, rules.clean("Fresh", "freshness", {"days": 1}))
    assert finding.summary == "No import has ever been logged in the warehouse."


def test_a_refused_import_is_recorded_and_alerted_without_row_values(tiny, tmp_path, state_path):
    wh = tmp_path / "copy.duckdb"
    wh.write_bytes(tiny.read_bytes())
    bad = tmp_path / "stores.csv"
    bad.write_text("store_id,name,category,city,lat,lon\nS9,Secret Store S0042,restaurant,Hangzhou,95.0,120.1\n")
    with pytest.raises(ingest.ImportRejected):
        ingest.import_file("stores", bad, warehouse=wh, imported_by="loader")
    # import_file calls import_batch: recorded once, with counts by kind only
    with store.connect(state_path, write=False) as state:
        rows = [dict(r) for r in state.execute("SELECT * FROM import_failures")]
    assert len(rows) == 1
    assert rows[0]["kind"] == "refused" and rows[0]["imported_by"] == "loader"
    assert rows[0]["message"] == "1 problem(s): 1 out of range; nothing was written."
    assert rows[0]["sources"] == "stores.csv (stores)"
    rule = rules.clean("Failed", "failed_import", {"within_hours": 24})
    con = db.connect(wh)
    try:
        with store.connect(state_path) as state:
            at = store.parse_iso(rows[0]["at"])
            found = rules.evaluate(rule, Context(con, state, wh, at + dt.timedelta(hours=1)), Filters())
            later = rules.evaluate(rule, Context(con, state, wh, at + dt.timedelta(hours=25)), Filters())
            other = rules.evaluate(rule, Context(con, state, tiny, at), Filters())
    finally:
        con.close()
    assert [f.key for f in found] == [f"failure:{rows[0]['failure_id']}"]
    assert "by loader, stores.csv (stores)): 1 problem(s): 1 out of range" in found[0].summary
    assert "S0042" not in found[0].summary and "95" not in found[0].summary
    assert later == [] and other == []   # too old; another warehouse's failures are not this one's


def test_an_import_that_fails_otherwise_is_recorded_as_failed(tmp_path, state_path):
    with pytest.raises(ingest.ImportRejected):
        ingest.import_dir(tmp_path / "no-such-folder", warehouse=tmp_path / "wh.duckdb")
    with store.connect(state_path, write=False) as state:
        [row] = [dict(r) for r in state.execute("SELECT kind, message, sources FROM import_failures")]
    assert row["kind"] == "refused" and row["sources"] == "no-such-folder"
    kind, message = import_failures.describe_error(OSError("disk full"))
    assert (kind, message) == ("failed", "OSError: disk full")


# ------------------------------------------------------------------------------------------
# State: sent once while open, again only after it cleared
# ------------------------------------------------------------------------------------------

def run(tiny, rec, now=NOW, **kw):
    return engine.run(warehouse=tiny, now=now, senders=rec.senders, sleep=lambda s: None, **kw)


def test_an_alert_is_sent_once_until_it_clears(tiny, state_path, users):
    rule_id = add_rule(state_path, "Low rating", "threshold",
                       {"kpi": "avg_rating", "op": "below", "value": 4, "window_days": 14})
    subscribe(state_path, "ana")
    rec = Recorder()
    first = run(tiny, rec)
    assert first.opened == [("user:ana", "Low rating", "Lakeside Noodles (S1, Hangzhou): Average rating 3.00 ★, "
                                                       "below 4.00 ★ (2026-10-28 → 2026-11-10)")]
    assert [(to, m.subject) for to, m in rec.sent] == [("ana@example.com", "o2o-ops alert: Low rating")]
    assert rec.sent[0][1].link == "http://localhost:8501/quality?from=2026-10-28&to=2026-11-10&store=S1"
    assert run(tiny, rec).lines() == [] and len(rec.sent) == 1            # still open: not sent again
    with store.connect(state_path) as state:                             # the rule now allows 2.5 ★
        rule = rules.load_all(state)[0]
        rules.save(state, rules.clean(rule.name, rule.kind, {**rule.params, "value": 2.5}, rule_id=rule_id))
    cleared = run(tiny, rec)
    assert [c[0] for c in cleared.cleared] == ["user:ana"] and len(rec.sent) == 1
    with store.connect(state_path) as state:
        rules.save(state, rules.clean(rule.name, rule.kind, dict(rule.params), rule_id=rule_id))
    again = run(tiny, rec)                                                 # back: a new alert, sent again
    assert len(again.opened) == 1 and len(rec.sent) == 2
    with store.connect(state_path, write=False) as state:
        episodes = state.execute("SELECT count(*), sum(cleared_at IS NULL) FROM alerts").fetchone()
    assert tuple(episodes) == (2, 1)


def test_each_person_gets_only_their_scope(tiny, state_path, users):
    add_rule(state_path, "Any rating", "threshold", {"kpi": "avg_rating", "op": "below", "value": 5.5,
                                                     "window_days": 14})
    for name in ("s1mgr", "s3mgr", "east", "ana"):
        subscribe(state_path, name)
    rec = Recorder()
    run(tiny, rec)
    got = {to: sorted(m.items) for to, m in rec.sent}
    assert [i.split(" (")[1].split(",")[0] for i in got["s1mgr@example.com"]] == ["S1"]
    assert [i.split(" (")[1].split(",")[0] for i in got["s3mgr@example.com"]] == ["S3"]
    assert [i.split(" (")[1].split(",")[0] for i in got["east@example.com"]] == ["S1"]
    assert [i.split(" (")[1].split(",")[0] for i in got["ana@example.com"]] == ["S1", "S3"]
    assert "Xuhui Dumplings" not in repr(rec.sent[[to for to, _ in rec.sent].index("s1mgr@example.com")][1])


def test_a_rule_naming_other_stores_does_not_name_them_to_a_manager(tiny, state_path, users):
    add_rule(state_path, "Pair", "threshold", {"kpi": "avg_rating", "op": "below", "value": 5.5,
                                                    "window_days": 14, "grain": "total"},
             {"stores": ["S1", "S3"]})
    add_rule(state_path, "Pair by store", "threshold", {"kpi": "avg_rating", "op": "below", "value": 5.5,
                                                             "window_days": 14}, {"stores": ["S1", "S3"]})
    subscribe(state_path, "s1mgr")
    subscribe(state_path, "ana")
    rec = Recorder()
    run(tiny, rec)
    to_mgr = [m for to, m in rec.sent if to == "s1mgr@example.com"]
    assert [m.items for m in to_mgr] == [
        ("Average rating 3.00 ★ is below 5.50 ★ (S1 · within S1, 2026-10-28 → 2026-11-10)",),
        ("Lakeside Noodles (S1, Hangzhou): Average rating 3.00 ★, below 5.50 ★ (2026-10-28 → 2026-11-10)",)]
    for msg in to_mgr:
        assert "S3" not in repr(msg) and "Xuhui" not in repr(msg)
    assert to_mgr[0].text.startswith("Average rating below 5.50 ★ for the scope as a whole, last 14 days\n")
    to_ana = [m for to, m in rec.sent if to == "ana@example.com"]
    assert to_ana[1].text.startswith("Average rating below 5.50 ★ per store, last 14 days · S1, S3\n")
    assert to_ana[1].link == "http://localhost:8501/quality?from=2026-10-28&to=2026-11-10&store=S1&store=S3"


def test_daily_subscribers_get_one_summary_at_their_hour(tiny, state_path, users):
    add_rule(state_path, "Low rating", "threshold", {"kpi": "avg_rating", "op": "below", "value": 4,
                                                     "window_days": 14})
    add_rule(state_path, "Refunds", "threshold", {"kpi": "refund_rate", "op": "above", "value": 0.1,
                                                  "window_days": 14})
    # Shanghai is UTC+8: 09:00 local is 01:00 UTC; subscribed at 00:30 UTC (08:30 local, before 9)
    subscribe(state_path, "ana", "daily", tz="Asia/Shanghai", daily_hour=9,
              now=dt.datetime(2026, 11, 12, 0, 30, tzinfo=UTC))
    uf = auth.load(users)
    uf.users["ana"]["timezone"] = "Asia/Shanghai"
    auth.save(uf)
    rec = Recorder()
    early = run(tiny, rec, now=dt.datetime(2026, 11, 12, 0, 45, tzinfo=UTC))
    assert len(early.opened) == 2 and rec.sent == []                      # queued for the summary
    run(tiny, rec, now=dt.datetime(2026, 11, 12, 1, 5, tzinfo=UTC))
    [(to, msg)] = rec.sent
    assert msg.subject == "o2o-ops daily alerts 2026-11-12: 2 new"
    assert msg.items == ("Low rating: Lakeside Noodles (S1, Hangzhou): Average rating 3.00 ★, below 4.00 ★ "
                         "(2026-10-28 → 2026-11-10)",
                         "Refunds: Lakeside Noodles (S1, Hangzhou): Refund rate 50.0%, above 10.0% "
                         "(2026-10-28 → 2026-11-10)")
    run(tiny, rec, now=dt.datetime(2026, 11, 12, 5, 0, tzinfo=UTC))
    run(tiny, rec, now=dt.datetime(2026, 11, 13, 1, 5, tzinfo=UTC))       # next day: nothing new, no mail
    assert len(rec.sent) == 1


def test_switching_from_daily_to_immediate_sends_what_was_waiting(tiny, state_path, users):
    add_rule(state_path, "Low rating", "threshold", {"kpi": "avg_rating", "op": "below", "value": 4,
                                                     "window_days": 14})
    subscribe(state_path, "ana", "daily", daily_hour=18)
    rec = Recorder()
    run(tiny, rec)                                                          # 09:00 UTC: queued for 18:00
    assert rec.sent == []
    subscribe(state_path, "ana", "immediate")
    run(tiny, rec, now=NOW + dt.timedelta(minutes=5))
    [(to, msg)] = rec.sent
    assert msg.subject == "o2o-ops daily alerts 2026-11-12: 1 new" and msg.items[0].startswith("Low rating: Lakeside")
    run(tiny, rec, now=NOW + dt.timedelta(minutes=10))
    assert len(rec.sent) == 1


def test_dry_run_changes_nothing_and_sends_nothing(tiny, state_path, users):
    add_rule(state_path, "Low rating", "threshold", {"kpi": "avg_rating", "op": "below", "value": 4,
                                                     "window_days": 14})
    subscribe(state_path, "ana")
    rec = Recorder()
    dry = run(tiny, rec, dry_run=True)
    assert dry.lines()[:2] == ["would open: user:ana · Low rating · Lakeside Noodles (S1, Hangzhou): Average rating "
                               "3.00 ★, below 4.00 ★ (2026-10-28 → 2026-11-10)",
                               "would send: user:ana by email · o2o-ops alert: Low rating"]
    assert rec.sent == []
    with store.connect(state_path, write=False) as state:
        assert state.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
        assert state.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0
    run(tiny, rec)
    assert len(rec.sent) == 1


def test_a_rule_that_cannot_be_checked_clears_nothing(tiny, state_path, users, tmp_path):
    add_rule(state_path, "Low rating", "threshold", {"kpi": "avg_rating", "op": "below", "value": 4,
                                                     "window_days": 14})
    subscribe(state_path, "ana")
    rec = Recorder()
    run(tiny, rec)
    missing = engine.run(warehouse=tmp_path / "gone.duckdb", state_path=state_path, now=NOW, senders=rec.senders)
    assert missing.cleared == [] and any("does not exist" in p for p in missing.problems)
    with store.connect(state_path, write=False) as state:
        assert state.execute("SELECT count(*) FROM alerts WHERE cleared_at IS NULL").fetchone()[0] == 1


def test_unusable_people_are_reported_and_the_others_still_served(tiny, state_path, users):
    uf = auth.load(users)
    uf.users["s1mgr"]["timezone"] = "Mars/Olympus"
    uf.users["s3mgr"]["email"] = "not an address"
    del uf.users["east"]["email"]
    auth.save(uf)
    add_rule(state_path, "Any", "threshold", {"kpi": "avg_rating", "op": "below", "value": 5.5, "window_days": 14})
    for name in ("s1mgr", "s3mgr", "east", "ana"):
        subscribe(state_path, name)
    rec = Recorder()
    result = run(tiny, rec)
    assert "users file, user 's1mgr': time zone 'Mars/Olympus' is unknown; use an IANA name such as " \
           "Asia/Shanghai or Europe/London." in result.problems
    assert "users file, user 's3mgr': 'not an address' is not an email address." in result.problems
    assert any(p.startswith("east subscribes to alerts but has neither email nor webhook_url") for p in result.problems)
    assert [to for to, _ in rec.sent] == ["ana@example.com"]


# ------------------------------------------------------------------------------------------
# Subscriptions and the page's logic
# ------------------------------------------------------------------------------------------

def test_latest_digest_slot_in_the_persons_time_zone():
    sh = zoneinfo.ZoneInfo(people.check_timezone("Asia/Shanghai", where="t"))
    # Monday 2026-11-30 09:00 in Shanghai = 01:00 UTC: this Monday's 08:00 slot (00:00 UTC) has come
    assert subscriptions.latest_slot(0, 8, sh, dt.datetime(2026, 11, 30, 1, 0, tzinfo=UTC)) == \
        dt.datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    # Monday 07:00 in Shanghai: not yet; the slot before is a week earlier
    assert subscriptions.latest_slot(0, 8, sh, dt.datetime(2026, 11, 29, 23, 0, tzinfo=UTC)) == \
        dt.datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("sub, message", [
    (subscriptions.Subscription("ana", "hourly"), "Alerts must be one of off, immediate, daily"),
    (subscriptions.Subscription("ana", daily_hour=24), "daily hour must be a whole hour from 0 to 23"),
    (subscriptions.Subscription("ana", digest_weekday=7), "weekday must be 0 (Monday) to 6 (Sunday)"),
    (subscriptions.Subscription("ana", "immediate", alert_rules=(99,)), "There is no rule 99."),
])
def test_bad_subscriptions_are_refused(state_path, sub, message):
    with pytest.raises(subscriptions.SubscriptionError, match=re.escape(message)):
        subscribe(state_path, sub.user_name, sub.alerts_mode, daily_hour=sub.daily_hour,
                  digest_weekday=sub.digest_weekday, alert_rules=sub.alert_rules)


def test_only_writers_change_rules_and_each_person_only_their_subscription(state_path, users):
    mgr = auth.get_user("s1mgr")
    assert auth.can_write(None) and auth.can_write(auth.get_user("ana")) and not auth.can_write(mgr)
    with pytest.raises(views.NotAllowed, match="Only analysts and admins can change alert rules"):
        views.add_rule(state_path, mgr, "Mine", "freshness", {}, {})
    rule = views.add_rule(state_path, auth.get_user("ana"), "Fresh", "freshness", {"days": 3}, {})
    assert views.rules_frame(state_path)[["id", "name", "checks", "created by"]].values.tolist() == \
        [[rule.rule_id, "Fresh", "No import for 3 days", "ana"]]
    with pytest.raises(views.NotAllowed):
        views.delete_rule(state_path, mgr, rule.rule_id)
    me = views.person(mgr)
    with pytest.raises(views.NotAllowed, match="only change your own"):
        views.save_subscription(state_path, subscriptions.Subscription("ana", "immediate"), me)
    saved = views.save_subscription(state_path, subscriptions.Subscription("s1mgr", "daily", daily_hour=7,
                                                                           digest_weekday=0), me)
    assert saved.describe() == "alerts once a day at 07:00; the weekly digest on Mondays at 08:00"


def test_state_file_sits_beside_the_warehouse_by_default(monkeypatch, tmp_path):
    monkeypatch.delenv("O2O_ALERTS_DB", raising=False)
    monkeypatch.setenv("O2O_WAREHOUSE", str(tmp_path / "wh.duckdb"))
    assert store.db_path() == tmp_path / "wh.duckdb.alerts.sqlite"
    with store.connect() as state:
        tables = {r[0] for r in state.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"rules", "subscriptions", "alerts", "deliveries", "delivery_log", "import_failures"} <= tables
    assert not (tmp_path / "wh.duckdb").exists()   # the warehouse is never touched


def test_a_damaged_state_file_is_explained_not_a_traceback(tiny, state_path, users, capsys):
    from o2o_ops.__main__ import main
    state_path.write_bytes(b"this is not a database, it is a shopping list\n" * 20)
    for argv in (["alerts", "run"], ["alerts", "list"], ["digest", "send"]):
        assert main([*argv, "--warehouse", str(tiny)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: The alerts state file {state_path} cannot be used (file is not a database). "
                              f"Move it aside to start afresh, or point O2O_ALERTS_DB at another file."), argv
    # and a failed import is still refused with its own error, not the state file's
    bad = state_path.parent / "stores.csv"
    bad.write_text("store_id\nS1\n")
    with pytest.raises(ingest.ImportRejected):
        ingest.import_file("stores", bad, warehouse=tiny)


def test_rules_and_subscriptions_from_the_command_line(tiny, state_path, users, monkeypatch, capsys):
    from o2o_ops.__main__ import main
    wh = ["--warehouse", str(tiny)]
    assert main(["alerts", "rule", "add", "Refunds", "--kind", "threshold", "--kpi", "refund_rate", "--op", "above",
                 "--value", "0.08", "--city", "Shanghai", "--min-orders", "3", *wh]) == 0
    assert capsys.readouterr().out == ("added rule 1: Refund rate above 8.0% per store, last 7 days, with at least 3 "
                                       "orders · Shanghai\n")
    monkeypatch.setattr("sys.stdin", io.StringIO("SEC-abc\n"))
    assert main(["alerts", "rule", "add", "Stale", "--kind", "freshness", "--days", "3", "--webhook-url",
                 "https://oapi.dingtalk.com/robot/send?access_token=tok", "--webhook-format", "dingtalk",
                 "--webhook-secret-stdin", *wh]) == 0
    assert capsys.readouterr().out == "added rule 2: No import for 3 days → dingtalk → https://oapi.dingtalk.com/…\n"
    with store.connect(state_path, write=False) as state:
        stale = rules.load_all(state)[1]
    assert stale.webhook.secret == "SEC-abc" and stale.created_by.startswith("cli:")
    assert main(["alerts", "rule", "add", "Odd", "--kind", "anomaly", "--weeks", "2", "--watch", "refund_rate,orders",
                 "--both-directions", *wh]) == 0
    assert capsys.readouterr().out == "added rule 3: Unusual store weeks (orders, refund rate), the last 2 complete weeks\n"
    assert main(["alerts", "rule", "remove", "3", *wh]) == 0
    capsys.readouterr()
    assert main(["alerts", "rule", "disable", "1", *wh]) == 0
    assert main(["alerts", "subscribe", "s1mgr", "--alerts", "daily", "--rule", "2", "--digest", "friday",
                 "--digest-hour", "17", *wh]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == \
        "s1mgr: alerts once a day at 08:00 (1 rule); the weekly digest on Fridays at 17:00"
    assert main(["alerts", "subscribe", "s1mgr", "--digest", "none", *wh]) == 0    # the rest unchanged
    assert capsys.readouterr().out == "s1mgr: alerts once a day at 08:00 (1 rule); no weekly digest\n"
    # careless input: explained, exit 2, nothing written
    for argv, message in (
            (["alerts", "rule", "add", "x", "--kind", "threshold", "--kpi", "avg_rating", "--op", "above"],
             "error: value must be a number, not None.\n"),
            (["alerts", "rule", "add", "x", "--kind", "freshness", "--webhook-url", "ftp://x"],
             "error: rule: webhook URL must start with https:// (or http://) and name a host.\n"),
            (["alerts", "rule", "remove", "7"], "error: There is no rule 7.\n"),
            (["alerts", "rule", "add", "x", "--kind", "anomaly", "--watch", "mood"],
             "error: Anomalies are watched for orders, avg_wait_minutes, avg_rating, refund_rate; not for 'mood'.\n"),
            (["alerts", "subscribe", "nobody", "--alerts", "daily"],
             "error: No usable user named 'nobody' in the users file (`alerts list` shows problems).\n"),
            (["alerts", "subscribe", "s1mgr", "--daily-hour", "25"],
             "error: The daily hour must be a whole hour from 0 to 23, not 25.\n")):
        assert main([*argv, *wh]) == 2, argv
        assert capsys.readouterr().err == message
    with store.connect(state_path, write=False) as state:
        assert [(r.rule_id, r.enabled) for r in rules.load_all(state)] == [(1, False), (2, True)]
    assert main(["alerts", "rule", "remove", "1", *wh]) == 0


# ------------------------------------------------------------------------------------------
# Targets missed (kind target_missed), on the tiny warehouse with targets set by hand
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_targets(tmp_path_factory):
    """Tiny with targets for November 2026 (30 days): business 60 orders (a week's goal 14),
    S1 30 orders (goal 7), S2 1 order (goal 7/30); business redemption rate 1.0 in October and
    November. The data ends Tuesday 2026-11-10, so the last complete week is 2026-W45
    (11-02..11-08): orders O1 O2 (S1), O3 O4 (S2) = 4 in all."""
    from o2o_ops import targets
    path = build_tiny(tmp_path_factory.mktemp("tiny_targets") / "tiny.duckdb")
    rows = pd.DataFrame([("orders", "business", None, dt.date(2026, 11, 1), 60.0),
                         ("orders", "store", "S1", dt.date(2026, 11, 1), 30.0),
                         ("orders", "store", "S2", dt.date(2026, 11, 1), 1.0),
                         ("redemption_rate", "business", None, dt.date(2026, 10, 1), 1.0),
                         ("redemption_rate", "business", None, dt.date(2026, 11, 1), 1.0)], columns=targets.COLUMNS)
    targets.save(rows, allowed=True, warehouse=path)
    return path


def test_target_missed_for_each_scope_in_the_last_complete_week(tiny_targets):
    rule = rules.clean("Targets", "target_missed", {})
    found = evaluate(tiny_targets, rule)
    assert sorted(f.key for f in found) == ["target:business::orders:2026-W45", "target:store:S1:orders:2026-W45"]
    s1 = next(f for f in found if "S1" in f.key)
    assert s1.summary.startswith("Store S1, 2026-W45: orders 2, 29% of the 7 target (missed)")
    assert s1.window == (dt.date(2026, 11, 2), dt.date(2026, 11, 8))
    # redemption rate matures: judged on 2026-W43 (ended 14+ days before the data's end), where
    # O6 was redeemed (1 of 1: met) — not on W45, whose 2 of 3 would read as a miss
    assert not [f for f in found if "redemption_rate" in f.key]


def test_target_missed_only_in_the_readers_scope(tiny_targets):
    rule = rules.clean("Targets", "target_missed", {"kpis": ["orders"]})
    s2_manager = auth.scoped(rule.filters(), auth.User("m", "store_manager", stores=("S2",)))
    assert evaluate(tiny_targets, rule, s2_manager) == []          # S2 met its goal; S1's and the business's unseen
    s1_manager = auth.scoped(rule.filters(), auth.User("m", "store_manager", stores=("S1",)))
    assert [f.key for f in evaluate(tiny_targets, rule, s1_manager)] == ["target:store:S1:orders:2026-W45"]
    assert rule.describe() == "Targets missed (orders), the last complete week"
    with pytest.raises(RuleError, match="Unknown KPI 'happiness'"):
        rules.clean("x", "target_missed", {"kpis": "orders,happiness"})
