"""The Alerts page in AppTest on the demo warehouse: the open demo manages rules; a store manager
manages only their own subscriptions and sees only their own alerts and deliveries; an analyst
adds and deletes rules."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from o2o_ops import auth
from o2o_ops.alerts import messages, outbox, rules, store, subscriptions
from apptest_util import open_page, texts
from local_servers import Receiver, free_port, smtp_server

PAGE = "pages/alerts.py"
MGR = {"o2o_user": {"name": "mgr"}}
ANA = {"o2o_user": {"name": "ana"}}
NOW = dt.datetime(2026, 11, 12, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def state_path(tmp_path, monkeypatch):
    path = tmp_path / "alerts.sqlite"
    monkeypatch.setenv("O2O_ALERTS_DB", str(path))
    return path


@pytest.fixture
def users(tmp_path, monkeypatch):
    path = tmp_path / "users.toml"
    auth.add_user("mgr", "pw-m", "store_manager", stores=["S0007", "S0035"], path=path)
    auth.add_user("ana", "pw-a", "analyst", path=path)
    uf = auth.load(path)
    uf.users["mgr"].update(email="mgr@example.com", timezone="Asia/Shanghai",
                           webhook_url="https://oapi.dingtalk.com/robot/send?access_token=tok-XYZ",
                           webhook_format="dingtalk", webhook_secret="SEC-1")
    auth.save(uf)
    monkeypatch.setenv("O2O_USERS_FILE", str(path))
    return path


def frame_of(at, column: str) -> pd.DataFrame:
    [df] = [el.value for el in at.dataframe if column in el.value.columns]
    return df


def test_open_demo_adds_a_rule(demo_warehouse, state_path, tmp_path, monkeypatch):
    monkeypatch.setenv("O2O_USERS_FILE", str(tmp_path / "none.toml"))
    at = open_page(PAGE, demo_warehouse, query={"category": "hotel"})
    assert not at.exception
    shown = texts(at)
    assert "Subscriptions belong to a person, so they need sign-in" in shown
    assert at.multiselect(key="rule_categories").value == ["hotel"]      # the scope starts from the sidebar
    assert "No rules yet." in shown and "Nothing sent yet." in shown
    at.text_input(key="rule_name").input("Refunds over 8%")
    at.selectbox(key="rule_kpi").select("refund_rate")
    at.radio(key="rule_op").set_value("above")
    at.number_input(key="rule_value").set_value(0.08)
    at.multiselect(key="rule_cities").select("Shanghai")
    at.text_input(key="hook_url").input("https://open.feishu.cn/open-apis/bot/v2/hook/abc")
    at.selectbox(key="hook_format").select("feishu")
    at.button(key="rule_add").click().run()
    assert not at.exception and not at.error
    assert "Added rule 1: Refund rate above 8.0% per store, last 7 days · Shanghai · hotel." in texts(at)
    table = frame_of(at, "checks")
    assert table[["id", "name", "checks", "webhook", "created by"]].values.tolist() == [
        [1, "Refunds over 8%", "Refund rate above 8.0% per store, last 7 days · Shanghai · hotel",
         "feishu → https://open.feishu.cn/…", "open demo"]]
    # a careless entry: no name
    at.text_input(key="rule_name").input("")
    at.button(key="rule_add").click().run()
    assert [e.value for e in at.error] == ["The rule needs a name."]


def test_open_demo_adds_an_anomaly_rule(demo_warehouse, state_path, tmp_path, monkeypatch):
    monkeypatch.setenv("O2O_USERS_FILE", str(tmp_path / "none.toml"))
    at = open_page(PAGE, demo_warehouse)
    at.selectbox(key="rule_kind").select("anomaly").run()
    at.text_input(key="rule_name").input("Unusual weeks")
    at.multiselect(key="rule_watch").set_value(["orders", "avg_rating"])
    at.number_input(key="rule_weeks").set_value(4)
    at.multiselect(key="rule_cities").select("Hangzhou")
    at.button(key="rule_add").click().run()
    assert not at.exception and not at.error
    assert ("Added rule 1: Unusual store weeks (orders, average rating; only worse than usual), "
            "the last 4 complete weeks · Hangzhou.") in texts(at)


def test_open_demo_adds_a_target_rule(demo_warehouse, state_path, tmp_path, monkeypatch):
    monkeypatch.setenv("O2O_USERS_FILE", str(tmp_path / "none.toml"))
    at = open_page(PAGE, demo_warehouse)
    at.selectbox(key="rule_kind").select("target_missed").run()
    at.text_input(key="rule_name").input("Goals")
    at.multiselect(key="rule_target_kpis").set_value(["revenue", "redemption_rate"])
    at.number_input(key="rule_target_weeks").set_value(2)
    at.button(key="rule_add").click().run()
    assert not at.exception and not at.error
    assert "Added rule 1: Targets missed (revenue, redemption rate), the last 2 complete weeks." in texts(at)


def test_store_manager_manages_only_their_subscriptions(demo_warehouse, state_path, users):
    with store.connect(state_path) as state:
        rule_id = rules.save(state, rules.clean("Fresh", "freshness", {"days": 2}))
        rules.save(state, rules.clean("Their refunds", "threshold", {"kpi": "refund_rate", "op": "above", "value": 0.1},
                                      {"stores": ["S0001", "S0002"]}))
        for audience, summary in (("user:mgr", "Mine: S0007"), ("user:ana", "Theirs: S0001")):
            state.execute("INSERT INTO alerts (audience, rule_id, finding_key, summary, opened_at, last_seen_at) "
                          "VALUES (?, ?, 'k', ?, ?, ?)", (audience, rule_id, summary, store.iso(NOW), store.iso(NOW)))
            outbox.enqueue(state, f"x:{audience}", audience, "email",
                           messages.Message("alert", f"subject for {audience}", "t"), now=NOW)
    at = open_page(PAGE, demo_warehouse, session=MGR)
    assert not at.exception
    shown = texts(at)
    assert ("Delivered to: email mgr@example.com · chat dingtalk → https://oapi.dingtalk.com/… · "
            "time zone Asia/Shanghai") in shown
    assert "tok-XYZ" not in shown and "SEC-1" not in shown
    assert "Only analysts and admins change rules." in shown
    assert all(b.key != "rule_add" for b in at.button)
    assert frame_of(at, "summary")["summary"].tolist() == ["Mine: S0007"]
    # a rule's scope may name other stores: a manager sees what rules check, not where
    assert frame_of(at, "checks")["checks"].tolist() == ["No import for 2 days",
                                                         "Refund rate above 10.0% per store, last 7 days"]
    assert "S0001" not in texts(at)
    assert frame_of(at, "status")["audience"].tolist() == ["user:mgr"]
    at.radio(key="sub_mode").set_value("daily")
    at.number_input(key="sub_daily_hour").set_value(7)
    at.selectbox(key="sub_weekday").select(0)
    at.button(key="sub_save").click().run()
    assert not at.exception and not at.error
    assert "Saved: alerts once a day at 07:00; the weekly digest on Mondays at 08:00." in texts(at)
    with store.connect(state_path, write=False) as state:
        saved = subscriptions.get(state, "mgr")
        assert subscriptions.get(state, "ana").alerts_mode == "off"
    assert (saved.alerts_mode, saved.daily_hour, saved.digest_weekday, saved.digest_hour) == ("daily", 7, 0, 8)


def test_analyst_deletes_a_rule_and_sees_every_delivery(demo_warehouse, state_path, users):
    with store.connect(state_path) as state:
        rules.save(state, rules.clean("Fresh", "freshness", {"days": 2}))
        outbox.enqueue(state, "x:mgr", "user:mgr", "email", messages.Message("alert", "to mgr", "t"), now=NOW)
        state.execute("INSERT INTO alerts (audience, rule_id, finding_key, summary, opened_at, last_seen_at) "
                      "VALUES ('user:mgr', 1, 'k', 'Mine: S0007', ?, ?)", (store.iso(NOW), store.iso(NOW)))
    at = open_page(PAGE, demo_warehouse, session=ANA)
    assert not at.exception
    assert frame_of(at, "summary")[["audience", "rule", "summary"]].values.tolist() == [
        ["user:mgr", "Fresh", "Mine: S0007"]]
    assert frame_of(at, "status")["audience"].tolist() == ["user:mgr"]
    assert "1 message(s) not delivered yet" in texts(at)
    at.button(key="rule_delete").click().run()
    assert not at.exception and "Rule 1 deleted." in texts(at)
    assert "No rules yet." in texts(at)
    at.button(key="drop").click().run()
    assert "Delivery #1 dropped." in texts(at)
    assert frame_of(at, "status")["status"].tolist() == ["dropped"]


def test_a_damaged_state_file_is_explained(demo_warehouse, state_path, tmp_path, monkeypatch):
    monkeypatch.setenv("O2O_USERS_FILE", str(tmp_path / "none.toml"))
    state_path.write_bytes(b"not sqlite" * 100)
    at = open_page(PAGE, demo_warehouse)
    assert not at.exception
    assert [e.value for e in at.error] == [
        f"The alerts state file {state_path} cannot be used (file is not a database). Move it aside to start "
        f"afresh, or point O2O_ALERTS_DB at another file."]


def test_a_person_sends_themselves_a_test_message(demo_warehouse, state_path, users, monkeypatch):
    """Real local servers: mail to an aiosmtpd server, the webhook to an HTTP receiver that refuses it."""
    port = free_port()
    monkeypatch.setenv("O2O_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("O2O_SMTP_PORT", str(port))
    with Receiver(answer={"errcode": 300001, "errmsg": "token is not exist"}) as rx:
        uf = auth.load(users)
        uf.users["mgr"]["webhook_url"] = rx.url("/robot/send", "access_token=tok-XYZ")
        auth.save(uf)
        with smtp_server(port) as inbox:
            at = open_page(PAGE, demo_warehouse, session=MGR)
            at.button(key="sub_test").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == [f"Sent: mail to mgr@example.com via 127.0.0.1:{port}."]
    assert [e.value for e in at.error] == [
        f"Not sent by webhook: dingtalk → http://127.0.0.1:{rx.port}/… refused the message: "
        f"errcode 300001: token is not exist"]
    [(rcpt, mail)] = inbox.mails
    assert rcpt == ["mgr@example.com"] and mail["Subject"] == "o2o-ops test message"
    assert rx.requests[0]["body"]["markdown"]["title"] == "o2o-ops test message"
