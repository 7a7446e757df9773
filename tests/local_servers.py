"""Servers the alert tests start on 127.0.0.1: an SMTP server (aiosmtpd) keeping what it receives,
an HTTP receiver recording each POST (http.server in a thread), and a fake sleep."""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self):
        self.mails: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.mails.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content,
                                                                              policy=email.policy.default)))
        return "250 Message accepted for delivery"


@contextlib.contextmanager
def smtp_server(port: int):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


class Receiver:
    """An HTTP server on 127.0.0.1 recording each POST; answers ``fail`` statuses first, then 200."""

    def __init__(self, port: int = 0, *, fail: tuple[int, ...] = (), answer: dict | str = None):
        self.requests: list[dict] = []
        self.fail = list(fail)
        self.answer = answer if answer is not None else {"errcode": 0, "code": 0}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                parts = urllib.parse.urlsplit(self.path)
                status = receiver.fail.pop(0) if receiver.fail else 200
                receiver.requests.append({"path": parts.path, "query": urllib.parse.parse_qs(parts.query),
                                          "body": json.loads(body), "status": status,
                                          "type": self.headers["Content-Type"]})
                answer = receiver.answer if isinstance(receiver.answer, str) else json.dumps(receiver.answer)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hook", query: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}" + (f"?{query}" if query else "")

    @property
    def delivered(self) -> list[dict]:
        return [r for r in self.requests if r["status"] == 200]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class Sleeps(list):
    """A fake sleep: records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def self_signed_cert(folder) -> tuple[str, str]:
    """(certificate, key) PEM files for 127.0.0.1, made with the openssl command line."""
    import subprocess
    cert, key = f"{folder}/cert.pem", f"{folder}/key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@contextlib.contextmanager
def tls_smtp_server(port: int, cert: str, key: str, login: str, password: str):
    """An SMTP server that offers STARTTLS, requires it, and requires sign-in as login/password.
    Yields (inbox, sign-ins seen: (login, ok))."""
    import ssl

    from aiosmtpd.smtp import AuthResult, LoginPassword

    inbox, seen = Inbox(), []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == login \
            and auth_data.password.decode() == password
        seen.append((auth_data.login.decode(), ok, session.ssl is not None))
        return AuthResult(success=ok, handled=False)   # handled=False: the server answers 535 itself

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=authenticator, auth_required=True, auth_exclude_mechanism=["LOGIN"])
    controller.start()
    try:
        yield inbox, seen
    finally:
        controller.stop()
