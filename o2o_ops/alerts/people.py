"""Recipients: the people of the users file with where they receive alerts and digests.

Optional keys of a user's table in the users file (flat keys, so ``user add --replace`` keeps
them)::

    [users.li_wei]
    role = "store_manager"
    stores = ["S0007"]
    email = "li.wei@example.com"          # mail for alerts and the digest
    timezone = "Asia/Shanghai"            # IANA name; digests and daily summaries follow it (default UTC)
    webhook_url = "https://oapi.dingtalk.com/robot/send?access_token=..."
    webhook_format = "dingtalk"           # generic | slack | wecom | dingtalk | feishu
    webhook_secret = "SEC..."             # DingTalk / Feishu signing secret, if the bot has one

A person's scope is exactly the app's (:func:`o2o_ops.auth.scope_for`): whatever they receive
is computed with :func:`o2o_ops.auth.scoped` filters.
"""

from __future__ import annotations

import os
import re
import urllib.parse
import zoneinfo
from dataclasses import dataclass
from typing import Any, Mapping

from o2o_ops import auth

WEBHOOK_FORMATS: dict[str, str] = {
    "generic": "JSON: kind, subject, text, items, link",
    "slack": "Slack incoming webhook (text + blocks)",
    "wecom": "WeCom (企业微信) group robot, markdown",
    "dingtalk": "DingTalk (钉钉) custom robot, markdown; signed when a secret is set",
    "feishu": "Feishu / Lark (飞书) custom bot, post; signed when a secret is set",
}
_EMAIL_RE = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


class RecipientError(ValueError):
    """A recipient's settings are unusable; the message names the user and the key."""


@dataclass(frozen=True)
class Webhook:
    url: str
    format: str = "generic"
    secret: str | None = None

    def masked(self) -> str:
        """Where it goes, without the token in the path or query (for logs and the page)."""
        parts = urllib.parse.urlsplit(self.url)
        return f"{self.format} → {parts.scheme}://{parts.netloc}{'/…' if parts.path.strip('/') or parts.query else ''}"


def webhook_from(url: Any, fmt: Any, secret: Any, *, where: str) -> Webhook | None:
    """A checked :class:`Webhook` (None when ``url`` is empty); ``where`` names it in messages."""
    url = str(url or "").strip()
    if not url:
        return None
    fmt = str(fmt or "generic").strip().lower()
    if fmt not in WEBHOOK_FORMATS:
        raise RecipientError(f"{where}: webhook format {fmt!r} is not one of {', '.join(WEBHOOK_FORMATS)}.")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RecipientError(f"{where}: webhook URL must start with https:// (or http://) and name a host.")
    secret = str(secret or "").strip() or None
    return Webhook(url, fmt, secret)


def check_email(value: Any, *, where: str) -> str | None:
    email = str(value or "").strip()
    if not email:
        return None
    if not _EMAIL_RE.match(email):
        raise RecipientError(f"{where}: {email!r} is not an email address.")
    return email


def check_timezone(value: Any, *, where: str) -> str:
    name = str(value or "UTC").strip() or "UTC"
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise RecipientError(f"{where}: time zone {name!r} is unknown; use an IANA name such as "
                             f"Asia/Shanghai or Europe/London.") from None
    return name


@dataclass(frozen=True)
class Person:
    user: auth.User
    email: str | None = None
    timezone: str = "UTC"
    webhook: Webhook | None = None

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(c for c, have in (("email", self.email), ("webhook", self.webhook)) if have)


def person_from_entry(name: str, entry: Mapping[str, Any]) -> Person:
    where = f"users file, user {name!r}"
    try:
        user = auth._user_from_entry(name, entry)
    except auth.AuthError as exc:
        raise RecipientError(f"{where}: {exc}") from None
    return Person(user=user, email=check_email(entry.get("email"), where=where),
                  timezone=check_timezone(entry.get("timezone"), where=where),
                  webhook=webhook_from(entry.get("webhook_url"), entry.get("webhook_format"),
                                       entry.get("webhook_secret"), where=where))


def load(path: str | os.PathLike | None = None) -> tuple[dict[str, Person], list[str]]:
    """Every person of the users file, and a message for each entry that cannot be used."""
    uf = auth.load(path)
    people: dict[str, Person] = {}
    problems: list[str] = []
    for name, entry in sorted(uf.users.items()):
        try:
            people[name] = person_from_entry(name, entry)
        except RecipientError as exc:
            problems.append(str(exc))
    return people, problems
