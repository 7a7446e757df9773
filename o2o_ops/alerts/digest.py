"""``python -m o2o_ops digest send``: the weekly report, scoped to each recipient, by mail (HTML
body + PDF attachment) and as a short chat message with a link to the week's overview.

Who gets it when: a person subscribed to the digest gets it at the first run on or after their
weekday and hour (their time zone); each such slot is handled once. ``--week W`` sends week W to
every digest subscriber now, whatever their slot. Either way a person gets each week's digest
once per channel (the outbox's key ``digest:NAME:WEEK:CHANNEL``): a digest that could not be
delivered is retried by every later run until it is, and is never sent again once delivered.

Scope: the report is built with :func:`o2o_ops.auth.scoped` filters, exactly as the app scopes
the person, so a store manager's digest holds only their stores.

PDF: printed by the system's headless chromium, as ``python -m o2o_ops report --format pdf``
does (see README, "Alerts and digests", for why not WeasyPrint). When it cannot be printed, the
mail still goes out with the HTML body and says the PDF is missing; the run reports it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import tempfile
import time
from pathlib import Path
from typing import Callable

from o2o_ops import auth, config, db, metrics, report, weekly
from o2o_ops.alerts import messages, outbox, people as people_mod, rules as rules_mod, store, subscriptions
from o2o_ops.alerts.engine import RunReport
from o2o_ops.alerts.people import Person
from o2o_ops.filters import Filters

PdfWriter = Callable[[str, Path], Path]


def build_message(con, person: Person, week: weekly.Week, *, write_pdf: PdfWriter = report.write_pdf,
                  problems: list[str] | None = None) -> messages.Message:
    """The digest of ``week`` for ``person``: HTML report body, PDF attachment, summary, link."""
    filters = auth.scoped(Filters(), person.user)
    ov = weekly.build(con, filters, week)
    html_body = report.render_html(ov, metrics.definitions_frame(), weekly.freshness(con))
    where = filters.describe()
    subject = f"o2o-ops weekly digest {week.iso}" + ("" if where == "All data" else f" — {where}")
    link = messages.app_link("", None, week=week.iso)
    summary = list(ov.summary) if ov.has_data else [f"No orders in {week.label} for {where}."]
    attachments: tuple[messages.Attachment, ...] = ()
    note = ""
    with tempfile.TemporaryDirectory(prefix="o2o-digest-") as tmp:
        out = Path(tmp) / report.file_name(week, filters, "pdf")
        try:
            write_pdf(html_body, out)
            attachments = (messages.Attachment.of(out.name, "application/pdf", out.read_bytes()),)
        except report.PdfError as exc:
            note = f"\n\nThe PDF could not be printed ({exc}); the report is in this mail's body."
            if problems is not None:
                problems.append(f"digest for {person.name}: no PDF ({exc})")
    text = (f"Weekly operations report {week.label}, {where}.\n\n"   # the label opens with the week
            + "\n".join(f"- {s}" for s in summary) + f"\n\nOpen the week in o2o-ops: {link}" + note)
    return messages.Message("digest", subject, text, tuple(summary), link, "Open the week in o2o-ops",
                            html_body, attachments)


def send(*, warehouse: str | os.PathLike | None = None, state_path: str | os.PathLike | None = None,
         users_path: str | os.PathLike | None = None, now: dt.datetime | None = None, week: str | None = None,
         dry_run: bool = False, senders: outbox.Senders | None = None, write_pdf: PdfWriter = report.write_pdf,
         clock: Callable[[], dt.datetime] | None = None, sleep: Callable[[float], None] = time.sleep) -> RunReport:
    """Queue the digests that are due (or week ``week`` for everyone), then deliver everything
    pending. ``dry_run`` reports who would get which week, building and sending nothing."""
    clock = clock or ((lambda: now) if now else store.utc_now)
    now = now or store.utc_now()
    wh = config.warehouse_path(warehouse)
    path = Path(state_path) if state_path else store.db_path(wh)
    result = RunReport(dry_run=dry_run)
    persons, problems = people_mod.load(users_path)
    result.problems += problems
    if not wh.exists():
        raise db.WarehouseError(f"The warehouse {wh} does not exist; there is nothing to report on.")
    with store.connect(path, write=False) as state:
        subs = [s for s in subscriptions.load_all(state) if s.digest_weekday is not None]
    con = db.connect(wh)
    try:
        if week:
            target = weekly.Week.parse(week)
        else:
            target = weekly.default_week(con)
            if target is None:
                raise db.WarehouseError("The warehouse has no orders, so there is no week to send.")
        due: list[tuple[Person, str | None]] = []
        for sub in subs:
            person = persons.get(sub.user_name)
            if person is None:
                result.problems.append(f"{sub.user_name} subscribes to the digest but is not in the users file "
                                       f"(or their entry has a problem).")
                continue
            slot = None
            if not week:
                slot_at = subscriptions.latest_slot(sub.digest_weekday, sub.digest_hour, person.tz, now)
                last = store.parse_iso(sub.digest_last_slot)
                if last is not None and slot_at <= last:
                    continue
                slot = store.iso(slot_at)
            if not person.channels:
                result.problems.append(f"{person.name} subscribes to the digest but has neither email nor "
                                       f"webhook_url in the users file.")
            due.append((person, slot))
        built: dict[tuple, messages.Message] = {}
        queued: list[tuple[Person, str | None, messages.Message | None]] = []
        for person, slot in due:
            if dry_run or not person.channels:
                queued.append((person, slot, None))
                continue
            scope = auth.scope_for(person.user)
            if scope not in built:
                built[scope] = build_message(con, person, target, write_pdf=write_pdf, problems=result.problems)
            queued.append((person, slot, built[scope]))
    finally:
        con.close()
    with store.connect(path, commit=not dry_run) as state:
        for person, slot, msg in queued:
            for channel in person.channels:
                key = f"digest:{person.name}:{target.iso}:{channel}"
                if msg is None:   # dry run
                    if state.execute("SELECT 1 FROM deliveries WHERE dedupe_key = ?", (key,)).fetchone() is None:
                        result.queued.append((f"user:{person.name}", channel, f"weekly digest {target.iso}"))
                    continue
                body = msg if channel == "email" else dataclasses.replace(msg, html=None, attachments=())
                if outbox.enqueue(state, key, f"user:{person.name}", channel, body, now=now) is not None:
                    result.queued.append((f"user:{person.name}", channel, body.subject))
            if slot is not None:
                subscriptions.mark(state, person.name, digest_last_slot=slot)
        rules_by_id = {r.rule_id: r for r in rules_mod.load_all(state)}
    if not dry_run:
        result.outcomes = outbox.deliver_pending(path, outbox.Directory(persons, rules_by_id),
                                                 senders or outbox.Senders.from_settings(),
                                                 clock=clock, sleep=sleep)
    return result
