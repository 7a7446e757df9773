"""Sending one :class:`~o2o_ops.alerts.messages.Message`: by mail (SMTP) or to a chat webhook.

Mail: the server from the settings ``O2O_SMTP_*``, else the ``[smtp]`` table of
``.streamlit/secrets.toml`` (keys ``host``, ``port``, ``user``, ``password``, ``from``,
``starttls``, ``ca_file``). STARTTLS is used whenever the server offers it (``starttls = "auto"``);
``"require"`` refuses a server without it; credentials are never sent over an unencrypted
connection and never written to a log or an error message.

Webhooks (payloads as each service documents them):

- ``generic``  ``{"kind", "subject", "text", "items", "link"}``
- ``slack``    ``{"text", "blocks": [section mrkdwn, ...]}`` (incoming webhooks)
- ``wecom``    ``{"msgtype": "markdown", "markdown": {"content"}}`` (企业微信 group robot)
- ``dingtalk`` ``{"msgtype": "markdown", "markdown": {"title", "text"}}``; with a secret, the URL
  gets ``timestamp`` (ms) and ``sign`` = urlencode(base64(HMAC-SHA256(key=secret,
  msg=timestamp + "\\n" + secret)))
- ``feishu``   ``{"msg_type": "post", "content": {"post": {"zh_cn": {"title", "content"}}}}``; with a
  secret, the body also carries ``timestamp`` (s) and ``sign`` = base64(HMAC-SHA256(key=timestamp +
  "\\n" + secret, msg=""))

A service that answers HTTP 200 with an error code in its body (DingTalk/WeCom ``errcode``,
Feishu ``code``, Slack anything but ``ok``) counts as a failed delivery.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import smtplib
import ssl
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from o2o_ops import config
from o2o_ops.alerts.messages import Message
from o2o_ops.alerts.people import Webhook

HTTP_TIMEOUT_S = 15
SMTP_TIMEOUT_S = 30


class DeliveryError(RuntimeError):
    """A message could not be delivered. ``retry`` says whether trying again may help."""

    def __init__(self, message: str, *, retry: bool = True):
        super().__init__(message)
        self.retry = retry


# ------------------------------------------------------------------------------------------
# SMTP
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    user: str | None = None
    password: str | None = None
    sender: str = "o2o-ops@localhost"
    starttls: str = "auto"          # auto | require | off
    ca_file: str | None = None      # PEM certificates to trust; None: the system's

    def __repr__(self) -> str:      # never print the password
        return f"SmtpSettings(host={self.host!r}, port={self.port}, user={self.user!r}, starttls={self.starttls!r})"


def _secrets(path: Path | None = None) -> dict[str, Any]:
    path = path or config.PROJECT_ROOT / ".streamlit" / "secrets.toml"
    if not path.exists():
        return {}
    try:
        return dict(tomllib.loads(path.read_text(encoding="utf-8")).get("smtp", {}))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DeliveryError(f"{path} is not valid TOML ({exc}); fix it or set O2O_SMTP_* instead.",
                            retry=False) from None


def smtp_settings(secrets_path: Path | None = None) -> SmtpSettings | None:
    """The mail server: each ``O2O_SMTP_*`` setting when set, else the secrets file's; None without a host."""
    sec = _secrets(secrets_path)

    def pick(name: str, key: str) -> str:
        return os.environ.get(name) or str(sec.get(key, "") or "") or config.get(name)

    host = pick("O2O_SMTP_HOST", "host")
    if not host:
        return None
    port_text = pick("O2O_SMTP_PORT", "port")
    try:
        port = int(port_text)
    except ValueError:
        raise DeliveryError(f"The mail server port {port_text!r} is not a number.", retry=False) from None
    starttls = pick("O2O_SMTP_STARTTLS", "starttls").lower()
    if starttls not in ("auto", "require", "off"):
        raise DeliveryError(f"O2O_SMTP_STARTTLS must be auto, require or off, not {starttls!r}.", retry=False)
    return SmtpSettings(host, port, pick("O2O_SMTP_USER", "user") or None,
                        pick("O2O_SMTP_PASSWORD", "password") or None, pick("O2O_SMTP_FROM", "from"), starttls,
                        pick("O2O_SMTP_CA_FILE", "ca_file") or None)


def build_email(msg: Message, to: str, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = msg.subject
    mail["From"] = sender
    mail["To"] = to
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "o2o-ops.local")
    mail.set_content(msg.text)
    if msg.html:
        mail.add_alternative(msg.html, subtype="html")
    for att in msg.attachments:
        maintype, _, subtype = att.mime.partition("/")
        mail.add_attachment(att.data, maintype=maintype, subtype=subtype or "octet-stream", filename=att.filename)
    return mail


def send_email(msg: Message, to: str, settings: SmtpSettings | None) -> str:
    """Send ``msg`` to ``to``; returns a short receipt. Raises :class:`DeliveryError`."""
    if settings is None:
        raise DeliveryError("No mail server is set up: set O2O_SMTP_HOST (or [smtp] host in "
                            ".streamlit/secrets.toml).", retry=False)
    mail = build_email(msg, to, settings.sender)
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_S) as smtp:
            smtp.ehlo()
            encrypted = False
            if settings.starttls != "off" and smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context(cafile=settings.ca_file))
                smtp.ehlo()
                encrypted = True
            elif settings.starttls == "require":
                raise DeliveryError(f"The mail server {settings.host}:{settings.port} does not offer STARTTLS, "
                                    f"and O2O_SMTP_STARTTLS is 'require'.", retry=False)
            if settings.user:
                if not encrypted:
                    raise DeliveryError("The mail server offers no STARTTLS; the password is not sent over an "
                                        "unencrypted connection.", retry=False)
                smtp.login(settings.user, settings.password or "")
            refused = smtp.send_message(mail)
    except DeliveryError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"The mail server refused the sign-in (code {exc.smtp_code}).", retry=False) from None
    except smtplib.SMTPRecipientsRefused:
        raise DeliveryError(f"The mail server refused the address {to}.", retry=False) from None
    except smtplib.SMTPResponseException as exc:
        retry = 400 <= exc.smtp_code < 500
        raise DeliveryError(f"The mail server answered {exc.smtp_code}: "
                            f"{exc.smtp_error.decode('utf-8', 'replace')[:200]}", retry=retry) from None
    except ssl.SSLError as exc:
        raise DeliveryError(f"The mail server {settings.host}:{settings.port} failed the TLS check "
                            f"({exc.reason or exc}); set O2O_SMTP_CA_FILE if it uses a company CA.",
                            retry=False) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"Could not reach the mail server {settings.host}:{settings.port}: "
                            f"{type(exc).__name__}: {exc}") from None
    if refused:
        raise DeliveryError(f"The mail server refused {', '.join(refused)}.", retry=False)
    return f"mail to {to} via {settings.host}:{settings.port}"


# ------------------------------------------------------------------------------------------
# Webhooks
# ------------------------------------------------------------------------------------------

def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's ``sign``: base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")) (URL-encode it)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's ``sign``: base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode("utf-8"), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _markdown(msg: Message, *, bullet: str = "- ") -> str:
    lines = [f"**{msg.subject}**", ""]
    body = msg.text.split("\n\n", 1)[0] if msg.items else msg.text
    lines.append(body)
    if msg.items:
        lines.append("")
        lines.extend(f"{bullet}{item}" for item in msg.items)
    if msg.link:
        lines += ["", f"[{msg.link_label}]({msg.link})"]
    return "\n".join(lines)


def payload(msg: Message, hook: Webhook, *, now: dt.datetime) -> tuple[str, dict[str, Any]]:
    """(URL, JSON body) for ``hook``'s format, signed when it has a secret."""
    url = hook.url
    if hook.format == "slack":
        text = f"*{msg.subject}*\n" + "\n".join(f"• {i}" for i in msg.items)
        blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}]
        if msg.link:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"<{msg.link}|{msg.link_label}>"}})
        return url, {"text": msg.subject, "blocks": blocks}
    if hook.format == "wecom":
        # WeCom takes at most 4096 bytes of UTF-8 (a Chinese character is 3)
        content = _markdown(msg).encode("utf-8")[:4096].decode("utf-8", "ignore")
        return url, {"msgtype": "markdown", "markdown": {"content": content}}
    if hook.format == "dingtalk":
        body = {"msgtype": "markdown", "markdown": {"title": msg.subject, "text": _markdown(msg)}}
        if hook.secret:
            ts = int(now.timestamp() * 1000)
            sep = "&" if urllib.parse.urlsplit(url).query else "?"
            url = f"{url}{sep}timestamp={ts}&sign={urllib.parse.quote_plus(dingtalk_sign(hook.secret, ts))}"
        return url, body
    if hook.format == "feishu":
        content: list[list[dict[str, str]]] = [[{"tag": "text", "text": line}] for line in
                                               ([msg.text.split("\n\n", 1)[0]] if msg.items else [msg.text])]
        content += [[{"tag": "text", "text": f"• {i}"}] for i in msg.items]
        if msg.link:
            content.append([{"tag": "a", "text": msg.link_label, "href": msg.link}])
        body = {"msg_type": "post", "content": {"post": {"zh_cn": {"title": msg.subject, "content": content}}}}
        if hook.secret:
            ts = int(now.timestamp())
            body = {"timestamp": str(ts), "sign": feishu_sign(hook.secret, ts), **body}
        return url, body
    return url, {"kind": msg.kind, "subject": msg.subject, "text": msg.text, "items": list(msg.items),
                 "link": msg.link}


def _app_error(fmt: str, answer: Any) -> str | None:
    """The service's error in a 200 answer, if any."""
    if fmt == "slack":
        return None if answer in ("ok", None) else str(answer)[:200]
    if not isinstance(answer, dict):
        return None
    if fmt in ("dingtalk", "wecom") and answer.get("errcode", 0) != 0:
        return f"errcode {answer.get('errcode')}: {answer.get('errmsg', '')}"
    if fmt == "feishu":
        code = answer.get("code", answer.get("StatusCode", 0))
        if code not in (0, None):
            return f"code {code}: {answer.get('msg', answer.get('StatusMessage', ''))}"
    return None


def post_webhook(msg: Message, hook: Webhook, *, now: dt.datetime | None = None) -> str:
    """POST ``msg`` to ``hook``; returns a short receipt. Raises :class:`DeliveryError` (the
    URL's token and the secret never appear in it)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    url, body = payload(msg, hook, now=now)
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8",
                                              "User-Agent": "o2o-ops"})
    where = hook.masked()
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
            raw = response.read(65536).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        retry = exc.code >= 500 or exc.code in (408, 429)
        raise DeliveryError(f"{where} answered HTTP {exc.code}.", retry=retry) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"Could not reach {where}: {reason}.") from None
    try:
        answer: Any = json.loads(raw) if raw.strip().startswith(("{", "[")) else raw.strip()
    except json.JSONDecodeError:
        answer = raw.strip()
    error = _app_error(hook.format, answer)
    if error:
        raise DeliveryError(f"{where} refused the message: {error}", retry=False)
    return f"{where}"
