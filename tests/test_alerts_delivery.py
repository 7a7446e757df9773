"""Delivery against real servers the tests start on 127.0.0.1: an SMTP server (aiosmtpd) that
receives digests and alerts, and an HTTP receiver (http.server in a thread) for each webhook
format. Backoff sleeps go to a fake ``sleep`` that records them, so nothing here waits.

Store-manager isolation is checked on the demo warehouse: ``mgr`` runs S0007 and S0035.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import hashlib
import hmac
import io
import re
from pathlib import Path

import pandas as pd
import pypdf
import pytest

from o2o_ops import auth, db, report
from o2o_ops.__main__ import main
from o2o_ops.alerts import channels, digest, engine, outbox, people, rules, scheduler, store, subscriptions
from o2o_ops.alerts.messages import Message
from o2o_ops.alerts.people import Webhook
from local_servers import Receiver, Sleeps, free_port, self_signed_cert, smtp_server, tls_smtp_server
from tiny import build_tiny

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 12, 9, 0, tzinfo=UTC)
MINE = ("S0007", "S0035")
SECRET = "SEC-test-signing-secret"


# ------------------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")


@pytest.fixture
def state_path(tmp_path, monkeypatch):
    path = tmp_path / "alerts.sqlite"
    monkeypatch.setenv("O2O_ALERTS_DB", str(path))
    # the tiny warehouse's stores have 1-2 reviews each: rate them (the default floor is 5)
    monkeypatch.setenv("O2O_MIN_REVIEWS", "1")
    monkeypatch.setenv("O2O_DELIVERY_ATTEMPTS", "4")
    monkeypatch.setenv("O2O_DELIVERY_BACKOFF_S", "1.5")
    monkeypatch.setenv("O2O_APP_URL", "https://o2o.example.com")
    return path


@pytest.fixture
def users(tmp_path, monkeypatch):
    path = tmp_path / "users.toml"
    auth.add_user("mgr", "pw-m", "store_manager", stores=list(MINE), path=path)
    auth.add_user("ana", "pw-a", "analyst", path=path)
    uf = auth.load(path)
    uf.users["mgr"].update(email="mgr@example.com", timezone="Asia/Shanghai")
    uf.users["ana"].update(email="ana@example.com")
    auth.save(uf)
    monkeypatch.setenv("O2O_USERS_FILE", str(path))
    return path


@pytest.fixture(scope="module")
def demo_stores(demo_warehouse) -> pd.DataFrame:
    con = db.connect(demo_warehouse)
    try:
        return db.run(con, "SELECT store_id, name FROM stores ORDER BY store_id")
    finally:
        con.close()


def smtp(port: int, **kw) -> outbox.Senders:
    return outbox.Senders(smtp=channels.SmtpSettings("127.0.0.1", port, **kw))


def subscribe(state_path: Path, name: str, mode: str = "off", *, tz: str = "UTC", now=NOW, **kw) -> None:
    with store.connect(state_path) as state:
        subscriptions.save(state, subscriptions.Subscription(name, mode, **kw), timezone=tz, now=now)


def add_rule(state_path: Path, name: str, kind: str, params: dict, **kw) -> int:
    with store.connect(state_path) as state:
        return rules.save(state, rules.clean(name, kind, params, **kw))


def log_rows(state_path: Path) -> list[tuple]:
    with store.connect(state_path, write=False) as state:
        return [tuple(r) for r in state.execute("SELECT delivery_id, attempt, ok, detail FROM delivery_log "
                                                "ORDER BY log_id")]


def assert_only_mine(text: str, stores: pd.DataFrame, where: str) -> None:
    leaked = sorted({sid for sid in re.findall(r"\bS\d{4}\b", text) if sid not in MINE})
    assert not leaked, (where, leaked[:5])
    others = stores[~stores["store_id"].isin(MINE)]
    leaked_names = [n for n in others["name"] if re.search(re.escape(n) + r"(?!\d)", text)]
    assert not leaked_names, (where, leaked_names[:5])


def body_and_pdf(mail: email.message.EmailMessage) -> tuple[str, str, bytes]:
    html = mail.get_body(("html",)).get_content()
    text = mail.get_body(("plain",)).get_content()
    [pdf] = [part for part in mail.iter_attachments() if part.get_content_type() == "application/pdf"]
    return html, text, pdf.get_content()


# ------------------------------------------------------------------------------------------
# The digest by mail
# ------------------------------------------------------------------------------------------

def test_digest_by_mail_holds_only_the_managers_stores(demo_warehouse, demo_stores, state_path, users):
    auth.add_user("south", "pw-s", "regional_manager", regions=["South"], path=users)
    uf = auth.load(users)
    uf.users["south"]["email"] = "south@example.com"
    auth.save(uf)
    subscribe(state_path, "mgr", digest_weekday=0, digest_hour=8, tz="Asia/Shanghai")
    subscribe(state_path, "ana", digest_weekday=0)
    subscribe(state_path, "south", digest_weekday=0)
    port = free_port()
    with smtp_server(port) as inbox:
        result = digest.send(warehouse=demo_warehouse, week="2026-W46", now=NOW, senders=smtp(port),
                             sleep=Sleeps())
    assert [o.delivered for o in result.outcomes] == [True, True, True] and result.problems == []
    mails = {tuple(rcpt): mail for rcpt, mail in inbox.mails}
    assert set(mails) == {("mgr@example.com",), ("ana@example.com",), ("south@example.com",)}
    # a regional manager's digest: only stores of their region
    con = db.connect(demo_warehouse)
    try:
        south = set(db.run(con, "SELECT store_id FROM stores WHERE region = 'South'")["store_id"])
    finally:
        con.close()
    south_html, _, south_pdf = body_and_pdf(mails[("south@example.com",)])
    assert south_pdf.startswith(b"%PDF") and mails[("south@example.com",)]["Subject"] == \
        "o2o-ops weekly digest 2026-W46 — within region South"
    assert set(re.findall(r"\bS\d{4}\b", south_html)) and set(re.findall(r"\bS\d{4}\b", south_html)) <= south
    mgr = mails[("mgr@example.com",)]
    assert mgr["Subject"] == "o2o-ops weekly digest 2026-W46 — within S0007, S0035"
    assert mgr["To"] == "mgr@example.com" and mgr["From"] == "o2o-ops@localhost"
    html, text, pdf = body_and_pdf(mgr)
    assert pdf.startswith(b"%PDF")
    assert "Weekly operations report — 2026-W46" in html
    assert "Open the week in o2o-ops: https://o2o.example.com/?week=2026-W46" in text
    pdf_text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "2026-W46" in pdf_text
    for where, shown in (("html", html), ("text", text), ("pdf", pdf_text), ("subject", mgr["Subject"])):
        assert_only_mine(shown, demo_stores, where)
    assert set(re.findall(r"\bS\d{4}\b", html)) & set(MINE), "the manager's own stores are in the digest"
    # the analyst's digest covers every store (so the check above would catch a leak)
    ana_html, _, ana_pdf = body_and_pdf(mails[("ana@example.com",)])
    assert ana_pdf.startswith(b"%PDF")
    assert len(set(re.findall(r"\bS\d{4}\b", ana_html)) - set(MINE)) >= 5


def test_digest_is_sent_at_the_persons_slot_once(tiny, state_path, users):
    # mgr: Mondays 08:00 Shanghai (00:00 UTC); subscribed on Thursday 2026-11-12
    subscribe(state_path, "mgr", digest_weekday=0, digest_hour=8, tz="Asia/Shanghai")
    port = free_port()
    with smtp_server(port) as inbox:
        def send(now):
            return digest.send(warehouse=tiny, now=now, senders=smtp(port), sleep=Sleeps())
        assert send(dt.datetime(2026, 11, 15, 23, 59, tzinfo=UTC)).queued == []   # Monday 07:59 local
        monday = send(dt.datetime(2026, 11, 16, 0, 5, tzinfo=UTC))
        assert [q[2] for q in monday.queued] == ["o2o-ops weekly digest 2026-W45 — within S0007, S0035"]
        assert send(dt.datetime(2026, 11, 16, 3, 0, tzinfo=UTC)).queued == []    # same slot: done
        dry = digest.send(warehouse=tiny, now=dt.datetime(2026, 11, 23, 0, 5, tzinfo=UTC), dry_run=True)
        assert dry.queued == []            # the next slot, but the data's last week was already sent
    assert len(inbox.mails) == 1


def test_mail_server_down_then_up_delivers_the_digest_exactly_once(tiny, state_path, users):
    subscribe(state_path, "ana", digest_weekday=0)
    port = free_port()
    sleeps = Sleeps()
    down = digest.send(warehouse=tiny, week="2026-W45", now=NOW, senders=smtp(port), sleep=sleeps)
    [outcome] = down.outcomes
    assert not outcome.delivered and outcome.tries == 4
    assert sleeps == [1.5, 3.0, 6.0]                                   # exponential backoff between tries
    assert f"Could not reach the mail server 127.0.0.1:{port}" in outcome.error
    assert [(a, ok) for _, a, ok, _ in log_rows(state_path)] == [(1, 0), (2, 0), (3, 0), (4, 0)]
    assert any(line.startswith("digest to user:ana by email") and "NOT delivered after 4 tries" in line
               for line in down.lines())
    with smtp_server(port) as inbox:
        # the next run (here a plain scheduled one: nothing new is due) delivers what is pending
        up = digest.send(warehouse=tiny, now=NOW, senders=smtp(port), sleep=Sleeps())
        again = digest.send(warehouse=tiny, week="2026-W45", now=NOW, senders=smtp(port), sleep=Sleeps())
        alerts = engine.run(warehouse=tiny, now=NOW, senders=smtp(port), sleep=Sleeps())
    assert [o.delivered for o in up.outcomes] == [True]
    assert again.queued == [] and again.outcomes == [] and alerts.outcomes == []
    assert len(inbox.mails) == 1
    assert [(a, ok) for _, a, ok, _ in log_rows(state_path)][-1] == (5, 1)
    # once delivered, the HTML body and the PDF are not kept (the text is, for the log)
    with store.connect(state_path, write=False) as state:
        kept = Message.from_json(state.execute("SELECT message FROM deliveries").fetchone()[0])
    assert kept.html is None and kept.attachments == () and kept.text.startswith("Weekly operations report 2026-W45")
    # the week named once ("2026-W45 (2026-W45 (2 Nov – 8 Nov 2026))" before)
    assert kept.text.startswith("Weekly operations report 2026-W45 (2 Nov – 8 Nov 2026), All data.\n")


# ------------------------------------------------------------------------------------------
# Alerts by mail, scoped
# ------------------------------------------------------------------------------------------

def test_a_store_managers_alerts_never_mention_another_store(demo_warehouse, demo_stores, state_path, users):
    add_rule(state_path, "Any rating", "threshold", {"kpi": "avg_rating", "op": "below", "value": 5.1,
                                                     "window_days": 91})  # enough reviews to be shown
    add_rule(state_path, "Refunds", "threshold", {"kpi": "refund_rate", "op": "above", "value": 0.0,
                                                  "window_days": 28})
    add_rule(state_path, "Symmetry", "symmetry", {"window_days": 91})
    add_rule(state_path, "Overall", "threshold", {"kpi": "orders", "op": "above", "value": 0, "grain": "total"})
    subscribe(state_path, "mgr", "immediate", tz="Asia/Shanghai")
    subscribe(state_path, "ana", "immediate")
    port = free_port()
    with smtp_server(port) as inbox:
        result = engine.run(warehouse=demo_warehouse, now=NOW, senders=smtp(port), sleep=Sleeps())
    assert result.undelivered == [] and result.problems == []
    to_mgr = [m for rcpt, m in inbox.mails if rcpt == ["mgr@example.com"]]
    to_ana = [m for rcpt, m in inbox.mails if rcpt == ["ana@example.com"]]
    assert len(to_mgr) == 4
    for mail in to_mgr:
        assert_only_mine(mail["Subject"] + "\n" + mail.get_content(), demo_stores, mail["Subject"])
    mgr_opened = [text for aud, _, text in result.opened if aud == "user:mgr"]
    assert {sid for t in mgr_opened for sid in re.findall(r"\bS\d{4}\b", t)} == set(MINE)
    ana_text = "\n".join(m.get_content() for m in to_ana)
    assert len(set(re.findall(r"\bS\d{4}\b", ana_text)) - set(MINE)) >= 10


# ------------------------------------------------------------------------------------------
# Webhook formats
# ------------------------------------------------------------------------------------------

MSG = Message("alert", "o2o-ops alert: Low rating", "Average rating below 4.00 ★ per store\n\n- a\n\nmore",
              ("Lakeside Noodles (S1, Hangzhou): Average rating 3.00 ★", "Bund Hotel (S2, Shanghai): 3.50 ★"),
              "https://o2o.example.com/quality?store=S1")


def test_generic_slack_and_wecom_payloads():
    with Receiver() as rx:
        for fmt in ("generic", "slack", "wecom"):
            rx.answer = "ok" if fmt == "slack" else {"errcode": 0}   # Slack answers a plain "ok"
            channels.post_webhook(MSG, Webhook(rx.url(f"/{fmt}"), fmt), now=NOW)
    generic, slack, wecom = (r["body"] for r in rx.requests)
    assert all(r["type"] == "application/json; charset=utf-8" for r in rx.requests)
    assert generic == {"kind": "alert", "subject": MSG.subject, "text": MSG.text, "items": list(MSG.items),
                       "link": MSG.link}
    assert slack["text"] == MSG.subject
    assert slack["blocks"][0] == {"type": "section", "text": {"type": "mrkdwn", "text":
                                  f"*{MSG.subject}*\n• {MSG.items[0]}\n• {MSG.items[1]}"}}
    assert slack["blocks"][1]["text"]["text"] == f"<{MSG.link}|Open in o2o-ops>"
    assert wecom["msgtype"] == "markdown"
    content = wecom["markdown"]["content"]
    assert content.startswith(f"**{MSG.subject}**\n\nAverage rating below 4.00 ★ per store\n\n- Lakeside")
    assert content.endswith(f"[Open in o2o-ops]({MSG.link})")


def test_a_long_wecom_message_is_cut_to_its_4096_bytes():
    long = Message("alert", "门店提醒", "t", tuple(f"门店 S{i:04d} 评分下降" for i in range(400)))
    _, body = channels.payload(long, Webhook("https://qyapi.weixin.qq.com/x", "wecom"), now=NOW)
    content = body["markdown"]["content"].encode("utf-8")
    assert 4090 <= len(content) <= 4096 and content.decode("utf-8").startswith("**门店提醒**")


def test_dingtalk_payload_and_signature():
    with Receiver() as rx:
        channels.post_webhook(MSG, Webhook(rx.url("/robot/send", "access_token=tok123"), "dingtalk", SECRET), now=NOW)
    [req] = rx.requests
    assert req["path"] == "/robot/send" and req["query"]["access_token"] == ["tok123"]
    timestamp = req["query"]["timestamp"][0]
    assert timestamp == str(int(NOW.timestamp() * 1000))            # milliseconds
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert req["query"]["sign"] == [expected]                        # parse_qs undid the URL-encoding
    assert req["body"]["msgtype"] == "markdown"
    assert req["body"]["markdown"]["title"] == MSG.subject
    assert f"- {MSG.items[1]}" in req["body"]["markdown"]["text"]
    assert req["body"]["markdown"]["text"].endswith(f"[Open in o2o-ops]({MSG.link})")


def test_feishu_payload_and_signature():
    with Receiver() as rx:
        channels.post_webhook(MSG, Webhook(rx.url("/open-apis/bot/v2/hook/abc"), "feishu", SECRET), now=NOW)
    body = rx.requests[0]["body"]
    assert body["timestamp"] == str(int(NOW.timestamp()))             # seconds
    key = f"{body['timestamp']}\n{SECRET}".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["msg_type"] == "post"
    post = body["content"]["post"]["zh_cn"]
    assert post["title"] == MSG.subject
    assert post["content"][0] == [{"tag": "text", "text": "Average rating below 4.00 ★ per store"}]
    assert post["content"][1:3] == [[{"tag": "text", "text": f"• {i}"}] for i in MSG.items]
    assert post["content"][-1] == [{"tag": "a", "text": "Open in o2o-ops", "href": MSG.link}]
    # without a secret: no signature fields
    with Receiver() as rx:
        channels.post_webhook(MSG, Webhook(rx.url(), "feishu"), now=NOW)
    assert "sign" not in rx.requests[0]["body"] and "timestamp" not in rx.requests[0]["body"]


def test_an_error_in_a_200_answer_is_a_failure_that_names_no_secret():
    with Receiver(answer={"errcode": 310000, "errmsg": "sign not match"}) as rx:
        with pytest.raises(channels.DeliveryError) as caught:
            channels.post_webhook(MSG, Webhook(rx.url("/robot/send", "access_token=tok-SECRET-42"), "dingtalk",
                                               SECRET), now=NOW)
    assert str(caught.value) == "dingtalk → http://127.0.0.1:{}/… refused the message: errcode 310000: " \
                                "sign not match".format(rx.port)
    assert not caught.value.retry
    assert "tok-SECRET-42" not in str(caught.value) and SECRET not in str(caught.value)


def test_a_rule_webhook_down_then_up_is_delivered_exactly_once(tiny, state_path, users):
    port = free_port()
    add_rule(state_path, "Low rating", "threshold", {"kpi": "avg_rating", "op": "below", "value": 4,
                                                     "window_days": 14},
             webhook=Webhook(f"http://127.0.0.1:{port}/robot/send?access_token=tok", "dingtalk", SECRET))
    sleeps = Sleeps()
    down = engine.run(warehouse=tiny, now=NOW, sleep=sleeps, senders=outbox.Senders())
    assert [(o.delivered, o.tries) for o in down.outcomes] == [(False, 4)] and sleeps == [1.5, 3.0, 6.0]
    assert all("tok" not in detail and SECRET not in detail for *_, detail in log_rows(state_path))
    with Receiver(port) as rx:
        up = engine.run(warehouse=tiny, now=NOW, sleep=Sleeps(), senders=outbox.Senders())
        later = engine.run(warehouse=tiny, now=NOW + dt.timedelta(hours=1), sleep=Sleeps(), senders=outbox.Senders())
    assert [o.delivered for o in up.outcomes] == [True] and up.opened == [] and later.outcomes == []
    [req] = rx.requests
    assert req["body"]["markdown"]["title"] == "o2o-ops alert: Low rating"
    assert "Lakeside Noodles (S1, Hangzhou): Average rating 3.00 ★" in req["body"]["markdown"]["text"]
    assert "https://o2o.example.com/quality?from=2026-10-28&to=2026-11-10&store=S1" in req["body"]["markdown"]["text"]


def test_server_errors_are_retried_within_a_run_and_client_errors_are_not(tiny, state_path, users):
    with Receiver(fail=(503, 502)) as rx:
        add_rule(state_path, "Low rating", "threshold", {"kpi": "avg_rating", "op": "below", "value": 4,
                                                         "window_days": 14}, webhook=Webhook(rx.url(), "slack"))
        sleeps = Sleeps()
        rx.answer = "ok"
        result = engine.run(warehouse=tiny, now=NOW, sleep=sleeps, senders=outbox.Senders())
    assert [r["status"] for r in rx.requests] == [503, 502, 200] and sleeps == [1.5, 3.0]
    assert [(o.delivered, o.tries) for o in result.outcomes] == [(True, 3)]
    assert [(a, ok) for _, a, ok, _ in log_rows(state_path)] == [(1, 0), (2, 0), (3, 1)]
    with Receiver(fail=(404,)) as rx:
        add_rule(state_path, "Refunds", "threshold", {"kpi": "refund_rate", "op": "above", "value": 0.1,
                                                      "window_days": 14}, webhook=Webhook(rx.url(), "generic"))
        sleeps = Sleeps()
        result = engine.run(warehouse=tiny, now=NOW, sleep=sleeps, senders=outbox.Senders())
    assert sleeps == [] and [(o.delivered, o.tries, o.error) for o in result.outcomes] == \
        [(False, 1, f"generic → http://127.0.0.1:{rx.port}/… answered HTTP 404.")]


# ------------------------------------------------------------------------------------------
# SMTP: STARTTLS and credentials
# ------------------------------------------------------------------------------------------

def test_a_password_is_never_sent_without_tls_nor_shown(tmp_path):
    port = free_port()
    msg = Message("alert", "s", "t")
    with smtp_server(port) as inbox:
        with pytest.raises(channels.DeliveryError) as no_tls:
            channels.send_email(msg, "a@example.com", channels.SmtpSettings("127.0.0.1", port, "bot", "hunter2-pw"))
        with pytest.raises(channels.DeliveryError) as required:
            channels.send_email(msg, "a@example.com", channels.SmtpSettings("127.0.0.1", port, starttls="require"))
        receipt = channels.send_email(msg, "a@example.com", channels.SmtpSettings("127.0.0.1", port))
    assert str(no_tls.value) == ("The mail server offers no STARTTLS; the password is not sent over an "
                                 "unencrypted connection.")
    assert str(required.value) == (f"The mail server 127.0.0.1:{port} does not offer STARTTLS, and "
                                   f"O2O_SMTP_STARTTLS is 'require'.")
    assert "hunter2-pw" not in repr(channels.SmtpSettings("h", 1, "bot", "hunter2-pw"))
    assert receipt == f"mail to a@example.com via 127.0.0.1:{port}" and len(inbox.mails) == 1


def test_smtp_settings_from_the_environment_or_the_secrets_file(tmp_path, monkeypatch):
    for name in ("O2O_SMTP_HOST", "O2O_SMTP_PORT", "O2O_SMTP_USER", "O2O_SMTP_PASSWORD", "O2O_SMTP_FROM"):
        monkeypatch.delenv(name, raising=False)
    secrets = tmp_path / "secrets.toml"
    assert channels.smtp_settings(secrets) is None
    secrets.write_text('[smtp]\nhost = "mail.example.com"\nport = 2525\nuser = "bot"\npassword = "pw"\n')
    assert channels.smtp_settings(secrets) == channels.SmtpSettings("mail.example.com", 2525, "bot", "pw")
    monkeypatch.setenv("O2O_SMTP_PORT", "465")
    assert channels.smtp_settings(secrets).port == 465
    monkeypatch.setenv("O2O_SMTP_PORT", "many")
    with pytest.raises(channels.DeliveryError, match="The mail server port 'many' is not a number"):
        channels.smtp_settings(secrets)
    secrets.write_text("[smtp\n")
    with pytest.raises(channels.DeliveryError, match="is not valid TOML"):
        channels.smtp_settings(secrets)


# ------------------------------------------------------------------------------------------
# Commands and the scheduler
# ------------------------------------------------------------------------------------------

def test_commands(tiny, state_path, users, monkeypatch, capsys):
    add_rule(state_path, "Low rating", "threshold", {"kpi": "avg_rating", "op": "below", "value": 4,
                                                     "window_days": 14})
    subscribe(state_path, "ana", "immediate")
    port = free_port()
    monkeypatch.setenv("O2O_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("O2O_SMTP_PORT", str(port))
    assert main(["alerts", "run", "--dry-run", "--warehouse", str(tiny)]) == 0
    dry = capsys.readouterr().out
    assert "would send: user:ana by email · o2o-ops alert: Low rating" in dry
    with smtp_server(port) as inbox:
        assert main(["alerts", "run", "--warehouse", str(tiny)]) == 0
        assert "alert to user:ana by email · o2o-ops alert: Low rating: delivered" in capsys.readouterr().out
        assert main(["alerts", "run", "--warehouse", str(tiny)]) == 0
        assert capsys.readouterr().out == "nothing new\n"
    assert len(inbox.mails) == 1
    assert main(["digest", "send", "--week", "2026-W99", "--warehouse", str(tiny)]) == 2
    assert capsys.readouterr().err == "error: '2026-W99' is not an ISO week: 2026 has no week 99.\n"
    assert main(["alerts", "list", "--warehouse", str(tiny)]) == 0
    listed = capsys.readouterr().out
    assert "1. Low rating [threshold]: Average rating below 4.00 ★ per store, last 14 days" in listed
    assert "ana: alerts immediately; no weekly digest" in listed
    assert "  mgr (store_manager): mgr@example.com · no webhook · Asia/Shanghai" in listed
    # the mail server gone: exit 1, the alert kept for the next run
    subscribe(state_path, "ana", "immediate")
    add_rule(state_path, "Refunds", "threshold", {"kpi": "refund_rate", "op": "above", "value": 0.1,
                                                  "window_days": 14})
    monkeypatch.setenv("O2O_DELIVERY_BACKOFF_S", "0")
    assert main(["alerts", "run", "--warehouse", str(tiny)]) == 1
    assert "NOT delivered after 4 tries (kept for the next run)" in capsys.readouterr().out
    # a careless setting: explained, exit 2, the alert still queued
    monkeypatch.setenv("O2O_SMTP_PORT", "25x")
    assert main(["alerts", "run", "--warehouse", str(tiny)]) == 2
    assert capsys.readouterr().err == "error: The mail server port '25x' is not a number.\n"
    assert "undelivered:\n  #2 user:ana by email · o2o-ops alert: Refunds (4 tries;" in \
        (main(["alerts", "list", "--warehouse", str(tiny)]), capsys.readouterr().out)[1]


def test_scheduler_runs_rounds_and_sends_each_thing_once(tiny, state_path, users):
    add_rule(state_path, "Low rating", "threshold", {"kpi": "avg_rating", "op": "below", "value": 4,
                                                     "window_days": 14})
    subscribe(state_path, "ana", "immediate", digest_weekday=0, digest_hour=0,
              now=dt.datetime(2026, 11, 15, tzinfo=UTC))
    port = free_port()
    times = iter([dt.datetime(2026, 11, 16, 0, m, tzinfo=UTC) for m in range(0, 60, 5)])
    clock_now = {"t": NOW}

    def clock():
        clock_now["t"] = next(times)
        return clock_now["t"]

    sleeps, lines = Sleeps(), []
    with smtp_server(port) as inbox:
        rounds = scheduler.loop(interval_s=3, rounds=2, sleep=sleeps, clock=clock, echo=lines.append,
                                warehouse=tiny, senders=smtp(port))
    assert rounds == 2 and sleeps == [1.0, 1.0, 1.0]
    subjects = sorted(m["Subject"] for _, m in inbox.mails)
    assert subjects == ["o2o-ops alert: Low rating", "o2o-ops weekly digest 2026-W45"]
    assert sum("delivered" in line for line in lines) == 2


def test_without_a_pdf_the_digest_still_goes_out_and_says_so(tiny, state_path, users):
    subscribe(state_path, "ana", digest_weekday=0)

    def no_chromium(html, out):
        raise report.PdfError("No chromium found to print the PDF.")

    port = free_port()
    with smtp_server(port) as inbox:
        result = digest.send(warehouse=tiny, week="2026-W45", now=NOW, senders=smtp(port), write_pdf=no_chromium)
    assert result.problems == ["digest for ana: no PDF (No chromium found to print the PDF.)"]
    [(_, mail)] = inbox.mails
    assert list(mail.iter_attachments()) == []
    assert "Weekly operations report — 2026-W45" in mail.get_body(("html",)).get_content()
    assert mail.get_body(("plain",)).get_content().rstrip().endswith(
        "The PDF could not be printed (No chromium found to print the PDF.); the report is in this mail's body.")


def test_two_runs_at_once_do_not_both_send(tiny, state_path, users):
    """A run claims a message before sending it: a second run meanwhile finds nothing to send."""
    with store.connect(state_path) as state:
        outbox.enqueue(state, "k1", "user:ana", "email", Message("alert", "once", "t"), now=NOW)
    directory = outbox.Directory({"ana": people.person_from_entry("ana", auth.load(users).users["ana"])})
    sent, inner = [], []

    def send_email(msg, to, smtp_settings):
        # while this run is sending, another run starts
        inner.extend(outbox.deliver_pending(state_path, directory, outbox.Senders(send_email=send_email),
                                            clock=lambda: NOW))
        sent.append(to)
        return "ok"

    outcomes = outbox.deliver_pending(state_path, directory, outbox.Senders(send_email=send_email), clock=lambda: NOW)
    assert sent == ["ana@example.com"] and inner == [] and [o.delivered for o in outcomes] == [True]
    # a claim left by a run that died mid-send is taken over once it is older than CLAIM_EXPIRES
    with store.connect(state_path) as state:
        outbox.enqueue(state, "k2", "user:ana", "email", Message("alert", "twice?", "t"), now=NOW)
        state.execute("UPDATE deliveries SET status = 'sending', claimed_at = ? WHERE dedupe_key = 'k2'",
                      (store.iso(NOW),))
    record = outbox.Senders(send_email=lambda m, to, s: sent.append(m.subject) or "ok")
    assert outbox.deliver_pending(state_path, directory, record, clock=lambda: NOW + dt.timedelta(minutes=5)) == []
    later = outbox.deliver_pending(state_path, directory, record, clock=lambda: NOW + outbox.CLAIM_EXPIRES * 2)
    assert [o.subject for o in later] == ["twice?"] and sent[-1] == "twice?"


def test_the_state_file_is_private(state_path):
    with store.connect(state_path):
        pass
    assert state_path.stat().st_mode & 0o777 == 0o600


def test_starttls_when_offered_then_sign_in_and_deliver(tmp_path, state_path, users):
    cert, key = self_signed_cert(tmp_path)
    port = free_port()
    good = channels.SmtpSettings("127.0.0.1", port, "bot", "s3cret-pw", ca_file=cert)
    with tls_smtp_server(port, cert, key, "bot", "s3cret-pw") as (inbox, seen):
        receipt = channels.send_email(Message("alert", "over TLS", "t"), "ana@example.com", good)
        # the system's CAs do not know this server: refused, no password sent, not retried
        with pytest.raises(channels.DeliveryError) as untrusted:
            channels.send_email(Message("alert", "x", "t"), "ana@example.com",
                                channels.SmtpSettings("127.0.0.1", port, "bot", "s3cret-pw"))
        with pytest.raises(channels.DeliveryError) as wrong:
            channels.send_email(Message("alert", "x", "t"), "ana@example.com",
                                channels.SmtpSettings("127.0.0.1", port, "bot", "guess", ca_file=cert))
    assert receipt == f"mail to ana@example.com via 127.0.0.1:{port}"
    assert [m["Subject"] for _, m in inbox.mails] == ["over TLS"]
    assert seen == [("bot", True, True), ("bot", False, True)]        # both sign-ins inside TLS
    assert str(untrusted.value).startswith(f"The mail server 127.0.0.1:{port} failed the TLS check (")
    assert str(untrusted.value).endswith("set O2O_SMTP_CA_FILE if it uses a company CA.")
    assert not untrusted.value.retry
    assert str(wrong.value) == "The mail server refused the sign-in (code 535)." and not wrong.value.retry
    assert "s3cret-pw" not in str(untrusted.value) + str(wrong.value)
