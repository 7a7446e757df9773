"""What a person receives: one :class:`Message` (subject, plain text, optional HTML, a list of
items, a link back to the app, attachments), rendered by each channel in its own format.

Links go to ``O2O_APP_URL`` + the page's path, with the app's own query parameters (``from``,
``to``, ``city``, ``category``, ``store``, ``week``), so the app opens with the same filters; the
app then ANDs the reader's scope in, whatever the link says.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import urllib.parse
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from o2o_ops import config
from o2o_ops.filters import Filters

# KPI area -> the page showing it (url paths of dashboard.py's PAGES; "" is the weekly overview)
AREA_PAGES = {"volume": "", "quality": "quality", "cost": "cost", "efficiency": "efficiency",
              "symmetry": "symmetry"}


def app_link(page: str, filters: Filters | None = None, **extra: Any) -> str:
    """An absolute link to ``page`` with ``filters`` as the app's query parameters.

    The filters' scope is not written: the app applies the reader's own scope.
    """
    base = config.get("O2O_APP_URL").rstrip("/")
    params: list[tuple[str, str]] = []
    if filters is not None:
        if filters.start:
            params.append(("from", filters.start.isoformat()))
        if filters.end:
            params.append(("to", filters.end.isoformat()))
        for key, values in (("city", filters.cities), ("category", filters.categories),
                            ("store", filters.stores)):
            params.extend((key, v) for v in values)
    params.extend((k, str(v)) for k, v in extra.items() if v is not None)
    query = urllib.parse.urlencode(params)
    return f"{base}/{page}" + (f"?{query}" if query else "")


@dataclass(frozen=True)
class Attachment:
    filename: str
    mime: str           # e.g. application/pdf
    data_b64: str

    @classmethod
    def of(cls, filename: str, mime: str, data: bytes) -> "Attachment":
        return cls(filename, mime, base64.b64encode(data).decode("ascii"))

    @property
    def data(self) -> bytes:
        return base64.b64decode(self.data_b64)


@dataclass(frozen=True)
class Message:
    kind: str                       # alert | daily | digest
    subject: str
    text: str                       # plain text, the whole message
    items: tuple[str, ...] = ()     # one line per finding (chat formats list them)
    link: str | None = None
    link_label: str = "Open in o2o-ops"
    html: str | None = None         # mail body; without it the mail is plain text
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "Message":
        raw = json.loads(text)
        raw["items"] = tuple(raw.get("items") or ())
        raw["attachments"] = tuple(Attachment(**a) for a in raw.get("attachments") or ())
        return cls(**raw)


def alert_message(rule_name: str, rule_text: str, items: Sequence[str], link: str | None, *,
                  at: dt.datetime) -> Message:
    """New findings of one rule for one audience."""
    count = len(items)
    subject = f"o2o-ops alert: {rule_name} ({count} new)" if count > 1 else f"o2o-ops alert: {rule_name}"
    text = (f"{rule_text}\n\n" + "\n".join(f"- {i}" for i in items)
            + (f"\n\nOpen in o2o-ops: {link}" if link else "")
            + f"\n\nChecked {at:%Y-%m-%d %H:%M} UTC. You will not be told again until it clears.")
    return Message("alert", subject, text, tuple(items), link)


def daily_message(local_date: dt.date, groups: Sequence[tuple[str, Sequence[str]]], link: str | None) -> Message:
    """A person's daily summary: per rule, the alerts opened since the last summary."""
    count = sum(len(items) for _, items in groups)
    lines: list[str] = []
    items: list[str] = []
    for rule_name, rule_items in groups:
        lines.append(f"{rule_name}:")
        lines.extend(f"- {i}" for i in rule_items)
        lines.append("")
        items.extend(f"{rule_name}: {i}" for i in rule_items)
    text = "\n".join(lines) + (f"\nOpen in o2o-ops: {link}" if link else "")
    return Message("daily", f"o2o-ops daily alerts {local_date.isoformat()}: {count} new", text, tuple(items), link)
