"""Users, roles and scopes: who may sign in, and which stores each person's numbers cover.

The users file (setting ``O2O_USERS_FILE``, kept outside git) is TOML written by
``python -m o2o_ops user add``::

    [session]
    idle_minutes = 60          # sign out after this long without a click
    max_hours = 12             # and this long after signing in, whatever happens

    [users.li_wei]
    role = "store_manager"     # admin | analyst | executive | regional_manager | store_manager
    stores = ["S0001", "S0002"]
    regions = []
    password = "scrypt$16384$8$1$<salt>$<hash>"   # never the password itself

    [oidc]                      # optional: map claims of Streamlit's st.login to roles
    role_claim = "groups"       # the claim holding a string or a list of strings
    name_claim = "email"
    [[oidc.map]]
    value = "o2o-east-managers"
    role = "regional_manager"
    regions = ["East"]

Roles: an **admin**, an **analyst** and an **executive** see every store; a **regional manager**
sees the stores in their regions (plus any stores listed); a **store manager** sees their stores.
Admins and analysts see order-level rows and may change data (:func:`can_write`: import on the
Data page; analysts import their platform's exports); admins also manage users (with the
``user`` command). A scope becomes ``Filters(scope_stores=..., scope_regions=...)``, which every
query ANDs in as bound parameters, so filters and links can only narrow it.

Failed sign-ins are counted per user name *and client* (the browser's IP address) in a small
SQLite file next to the users file (``<users file>.signin.sqlite``). After ``FREE_FAILURES``
failures, each further attempt from that client for that name must wait longer (``backoff``:
doubling from ``BACKOFF_START`` to ``BACKOFF_MAX``); an attacker guessing a name from one place is
slowed to a few tries an hour, while the real user, from their own client, signs in as usual.
``user unlock NAME`` forgets a name's failures. Every attempt is logged through ``logging`` and
appended to ``<users file>.signin.log`` (one JSON object per line); an unknown name and a wrong
password give the same event, so the log does not tell which names exist. The log and the
SQLite file are created readable by their owner only (0600). Writes to the users file hold its
lock (``<users file>.lock``), so two ``user`` commands cannot lose each other's change.

No streamlit here; ``o2o_ops/ui/auth.py`` is the app's side.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import sqlite3
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import duckdb

from o2o_ops import config, db
from o2o_ops.filters import Filters

log = logging.getLogger("o2o_ops.auth")

ROLES: dict[str, str] = {
    "admin": "every store, order-level rows; imports data and manages users",
    "executive": "every store; KPIs and reports, no order-level rows",
    "regional_manager": "the stores in their regions (plus any stores listed)",
    "store_manager": "their stores only",
    "analyst": "every store, plus order-level drill-down and exports; imports data",
}
ORDER_ROLES = frozenset({"admin", "analyst"})
#: Roles that may change the warehouse (import); see :func:`can_write`.
WRITE_ROLES = frozenset({"admin", "analyst"})
#: Roles that see every store.
ALL_STORE_ROLES = frozenset({"admin", "analyst", "executive"})

#: Failures per name and client before any wait.
FREE_FAILURES = 3
#: The wait after the first failure beyond FREE_FAILURES; it doubles with each further one.
BACKOFF_START = dt.timedelta(seconds=5)
BACKOFF_MAX = dt.timedelta(minutes=15)
#: Failures older than this are forgotten.
FAILURE_WINDOW = dt.timedelta(hours=24)
#: The client recorded when the app cannot tell (local connections, the command line).
LOCAL_CLIENT = "local"
DEFAULT_IDLE_MINUTES = 60
DEFAULT_MAX_HOURS = 12

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$")
# scrypt parameters: ~16 MiB and ~0.1 s per hash; stored with each hash so they can be raised.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P, _KEY_BYTES = 2 ** 14, 8, 1, 32


class AuthError(ValueError):
    """A sign-in or users-file problem, worded for the person who hit it."""


class SignInRefused(AuthError):
    """Wrong name or password (deliberately not saying which)."""


class RateLimited(SignInRefused):
    """Too many recent failures for this name from this client: wait ``retry_after``."""

    def __init__(self, message: str, retry_after: dt.timedelta):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class User:
    name: str
    role: str
    stores: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    source: str = "password"  # or "oidc"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "stores": list(self.stores),
                "regions": list(self.regions), "source": self.source}


@dataclass(frozen=True)
class SessionRules:
    idle: dt.timedelta = dt.timedelta(minutes=DEFAULT_IDLE_MINUTES)
    max_age: dt.timedelta = dt.timedelta(hours=DEFAULT_MAX_HOURS)


@dataclass
class UsersFile:
    """The parsed users file: users by name (with password hashes), session rules, OIDC map."""

    path: Path
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    session: dict[str, Any] = field(default_factory=dict)
    oidc: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------
# Passwords
# ------------------------------------------------------------------------------------------

def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A salted scrypt hash as ``scrypt$n$r$p$salt$key`` (base64 salt and key)."""
    if not password:
        raise AuthError("The password is empty.")
    salt = salt or secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P,
                         dklen=_KEY_BYTES)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(key)}"


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (scrypt or pbkdf2_sha256), compared in constant time."""
    try:
        scheme, *fields = stored.split("$")
        if scheme == "scrypt":
            n, r, p, salt_b64, key_b64 = fields
            salt, key = base64.b64decode(salt_b64), base64.b64decode(key_b64)
            got = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=int(n), r=int(r), p=int(p),
                                 dklen=len(key), maxmem=256 * 1024 * 1024)
        elif scheme == "pbkdf2_sha256":
            iterations, salt_b64, key_b64 = fields
            salt, key = base64.b64decode(salt_b64), base64.b64decode(key_b64)
            got = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, int(iterations), len(key))
        else:
            return False
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, key)


# A hash of nothing anyone knows, checked for unknown names so they take as long as known ones.
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_hex(16))
    return _DUMMY_HASH


# ------------------------------------------------------------------------------------------
# The users file
# ------------------------------------------------------------------------------------------

def users_path(explicit: str | os.PathLike | None = None) -> Path:
    return Path(explicit) if explicit else Path(config.get("O2O_USERS_FILE")).expanduser()


def is_configured(path: str | os.PathLike | None = None) -> bool:
    """Sign-in is required as soon as a users file exists (even an empty one: fail closed)."""
    return users_path(path).exists()


def load(path: str | os.PathLike | None = None) -> UsersFile:
    """Read the users file; a missing file is an empty one."""
    path = users_path(path)
    if not path.exists():
        return UsersFile(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AuthError(f"The users file {path} is not valid TOML: {exc}") from None
    return UsersFile(path, users=dict(raw.get("users", {})), session=dict(raw.get("session", {})),
                     oidc=dict(raw.get("oidc", {})))


def _toml_str(value: str) -> str:
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_str(key)


def _table(header: str, values: Mapping[str, Any]) -> list[str]:
    lines = [header]
    for key, value in values.items():
        if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict) for v in value)):
            continue  # sub-tables are written by dumps()
        lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    return lines


def dumps(uf: UsersFile) -> str:
    lines = ["# o2o-ops users: written by `python -m o2o_ops user ...`. Keep this file out of git.",
             "# Passwords are stored only as salted scrypt hashes.", ""]
    if uf.session:
        lines += _table("[session]", uf.session) + [""]
    for name, entry in uf.users.items():
        lines += _table(f"[users.{_toml_key(name)}]", entry) + [""]
    if uf.oidc:
        lines += _table("[oidc]", {k: v for k, v in uf.oidc.items() if k != "map"}) + [""]
        for entry in uf.oidc.get("map", []):
            lines += _table("[[oidc.map]]", entry) + [""]
    return "\n".join(lines)


def save(uf: UsersFile) -> None:
    """Write the users file atomically, readable by its owner only."""
    uf.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=uf.path.parent, prefix=".users-", suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(dumps(uf))
        os.chmod(tmp, 0o600)
        os.replace(tmp, uf.path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _users_lock(path: str | os.PathLike | None) -> Iterator[None]:
    """The users file's write lock, held from reading the file to writing it back."""
    users_file = users_path(path)
    users_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        with db.write_lock(users_file, what=f"the users file {users_file}"):
            yield
    except db.WarehouseError as exc:
        raise AuthError(str(exc)) from None


def _clean(values: Iterable[str] | None) -> list[str]:
    return sorted({str(v).strip() for v in (values or []) if str(v).strip()})


def validate_role(role: str, stores: Iterable[str], regions: Iterable[str]) -> tuple[list[str], list[str]]:
    """Check a role and its scope; return the cleaned (stores, regions)."""
    stores, regions = _clean(stores), _clean(regions)
    if role not in ROLES:
        raise AuthError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    if role == "store_manager":
        if not stores:
            raise AuthError("A store manager needs at least one --store.")
        if regions:
            raise AuthError("A store manager is scoped to stores; use the regional_manager role for regions.")
    if role == "regional_manager" and not regions:
        raise AuthError("A regional manager needs at least one --region.")
    if role in ALL_STORE_ROLES and (stores or regions):
        raise AuthError(f"An {role} sees every store; leave out --store and --region.")
    return stores, regions


def add_user(name: str, password: str, role: str, *, stores: Iterable[str] = (), regions: Iterable[str] = (),
             path: str | os.PathLike | None = None, replace: bool = False) -> User:
    """Add (or with ``replace``, update) a user with a freshly salted password hash."""
    if not _NAME_RE.match(name or ""):
        raise AuthError(f"User name {name!r} must be 1-64 letters, digits or . _ @ + - (starting with a "
                        f"letter or digit).")
    stores_, regions_ = validate_role(role, stores, regions)
    hashed = hash_password(password)
    with _users_lock(path):
        uf = load(path)
        if name in uf.users and not replace:
            raise AuthError(f"User {name!r} already exists; use --replace to change them.")
        # keep what was added by hand (email, timezone, webhook_*) when a user is replaced
        uf.users[name] = {**uf.users.get(name, {}), "role": role, "stores": stores_, "regions": regions_,
                          "password": hashed}
        save(uf)
    _log_event(uf.path, "user_added", name, role=role)
    return User(name, role, tuple(stores_), tuple(regions_))


def remove_user(name: str, path: str | os.PathLike | None = None) -> None:
    with _users_lock(path):
        uf = load(path)
        if name not in uf.users:
            raise AuthError(f"No user named {name!r}.")
        del uf.users[name]
        save(uf)
    _log_event(uf.path, "user_removed", name)


def _user_from_entry(name: str, entry: Mapping[str, Any], source: str = "password") -> User:
    role = str(entry.get("role", ""))
    stores, regions = validate_role(role, entry.get("stores", []), entry.get("regions", []))
    return User(name, role, tuple(stores), tuple(regions), source)


def get_user(name: str, path: str | os.PathLike | None = None) -> User:
    """The user ``name`` as configured now (role or scope changes apply at the next click)."""
    uf = load(path)
    if name not in uf.users:
        raise AuthError(f"No user named {name!r} in {uf.path}.")
    return _user_from_entry(name, uf.users[name])


def list_users(path: str | os.PathLike | None = None) -> list[User]:
    uf = load(path)
    return [_user_from_entry(name, entry) for name, entry in sorted(uf.users.items())]


def session_rules(path: str | os.PathLike | None = None) -> SessionRules:
    session = load(path).session
    return SessionRules(idle=dt.timedelta(minutes=float(session.get("idle_minutes", DEFAULT_IDLE_MINUTES))),
                        max_age=dt.timedelta(hours=float(session.get("max_hours", DEFAULT_MAX_HOURS))))


def session_expired(signed_in_at: dt.datetime, last_seen_at: dt.datetime, now: dt.datetime,
                    rules: SessionRules) -> bool:
    """A session ends after ``rules.idle`` without activity or ``rules.max_age`` after sign-in."""
    return now - last_seen_at > rules.idle or now - signed_in_at > rules.max_age


# ------------------------------------------------------------------------------------------
# Sign-in: rate limit and log
# ------------------------------------------------------------------------------------------

def _state_path(users_file: Path) -> Path:
    return users_file.with_name(users_file.name + ".signin.sqlite")


def log_path(users_file: str | os.PathLike | None = None) -> Path:
    path = users_path(users_file)
    return path.with_name(path.name + ".signin.log")


def _private_file(path: Path) -> None:
    """Create ``path`` readable and writable by its owner only (0600), or tighten it if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _failures_db(users_file: Path) -> Iterator[sqlite3.Connection]:
    users_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    state = _state_path(users_file)
    _private_file(state)   # before SQLite creates it with the umask's mode
    con = sqlite3.connect(state, timeout=10, isolation_level=None)
    try:
        con.execute("DROP TABLE IF EXISTS failed_signins")   # per-name counts of older versions
        con.execute("CREATE TABLE IF NOT EXISTS signin_failures "
                    "(name TEXT NOT NULL, client TEXT NOT NULL, at_utc REAL NOT NULL)")
        con.execute("BEGIN IMMEDIATE")  # one process at a time counts and records
        yield con
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.timezone.utc)


def _log_event(users_file: Path, event: str, name: str, **detail: Any) -> None:
    record = {"at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "event": event,
              "user": name, **detail}
    log.info("%s user=%r %s", event, name, detail or "")
    try:
        path = log_path(users_file)
        _private_file(path)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    except OSError as exc:  # a read-only disk must not stop sign-in; the logger still has it
        log.warning("could not append to the sign-in log: %s", exc)


def backoff(failures: int) -> dt.timedelta:
    """The wait before the next attempt after ``failures`` failures (for one name and client):
    none for the first ``FREE_FAILURES``, then ``BACKOFF_START`` doubling up to ``BACKOFF_MAX``."""
    if failures < FREE_FAILURES:
        return dt.timedelta(0)
    return min(BACKOFF_START * 2 ** (failures - FREE_FAILURES), BACKOFF_MAX)


def _client(client: str | None) -> str:
    return (client.strip() if isinstance(client, str) else "") or LOCAL_CLIENT


def _wait_for(con: sqlite3.Connection, name: str, client: str, now: dt.datetime) -> tuple[int, dt.timedelta | None]:
    """(recent failures for name+client, how long it must still wait or None)."""
    since = (now - FAILURE_WINDOW).timestamp()
    count, last = con.execute(
        "SELECT count(*), max(at_utc) FROM signin_failures WHERE name = ? AND client = ? AND at_utc > ?",
        (name, client, since)).fetchone()
    if not count:
        return 0, None
    until = dt.datetime.fromtimestamp(last, dt.timezone.utc) + backoff(count)
    return count, (until - now if until > now else None)


def locked_for(name: str, *, client: str | None = None, path: str | os.PathLike | None = None,
               now: dt.datetime | None = None) -> dt.timedelta | None:
    """How long ``name`` must still wait before trying again from ``client``, or None."""
    users_file = users_path(path)
    with _failures_db(users_file) as con:
        return _wait_for(con, name, _client(client), _now(now))[1]


def clear_failures(name: str, path: str | os.PathLike | None = None) -> None:
    """Forget every failed sign-in of ``name`` (from any client): ``user unlock``."""
    users_file = users_path(path)
    with _failures_db(users_file) as con:
        con.execute("DELETE FROM signin_failures WHERE name = ?", (name,))
    _log_event(users_file, "unlocked", name)


def _in_words(wait: dt.timedelta) -> str:
    seconds = max(1, int(-(-wait.total_seconds() // 1)))
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minutes"


def verify(name: str, password: str, *, client: str | None = None, path: str | os.PathLike | None = None,
           now: dt.datetime | None = None) -> User:
    """The user ``name`` if ``password`` is theirs; else raise :class:`SignInRefused`.

    ``client`` identifies where the attempt comes from (the app passes the browser's IP address;
    None counts as ``"local"``). While ``name`` must wait after failures from this client, raises
    :class:`RateLimited` without checking the password. Unknown names are counted, timed and
    logged like known ones, so neither the answer nor the log reveals them.
    """
    users_file = users_path(path)
    now = _now(now)
    name = (name or "").strip()
    client = _client(client)
    uf = load(users_file)
    entry = uf.users.get(name)
    with _failures_db(users_file) as con:
        _, wait = _wait_for(con, name, client, now)
        if wait is not None:
            _log_event(users_file, "refused_wait", name, client=client, retry_after_s=round(wait.total_seconds()))
            raise RateLimited(f"Too many failed sign-ins for this name from here. Wait {_in_words(wait)} "
                              f"before trying again.", wait)
        stored = str(entry.get("password", "")) if entry else ""
        ok = check_password(password or "", stored or _dummy_hash()) and bool(stored)
        if not ok:
            con.execute("INSERT INTO signin_failures VALUES (?, ?, ?)", (name, client, now.timestamp()))
            failures, wait = _wait_for(con, name, client, now)
        else:
            con.execute("DELETE FROM signin_failures WHERE name = ? AND client = ?", (name, client))
    if not ok:
        _log_event(users_file, "failed", name, client=client, failures=failures)
        if wait is not None:
            raise RateLimited(f"Wrong user name or password. After {failures} failures, wait "
                              f"{_in_words(wait)} before the next try.", wait)
        raise SignInRefused("Wrong user name or password.")
    user = _user_from_entry(name, entry)
    _log_event(users_file, "signed_in", name, client=client, role=user.role)
    return user


# ------------------------------------------------------------------------------------------
# OIDC (Streamlit's st.login): claims -> role and scope
# ------------------------------------------------------------------------------------------

def user_from_claims(claims: Mapping[str, Any], path: str | os.PathLike | None = None, *,
                     record: bool = True) -> User:
    """Map an identity token's claims to a role through the users file's ``[oidc]`` table.

    The first ``[[oidc.map]]`` entry whose ``value`` is among the ``role_claim`` values wins.
    No matching entry means no access (never a default role). ``record=False`` skips the sign-in
    log (for re-checking a session on every click).
    """
    uf = load(path)
    spec = uf.oidc
    name = str(claims.get(spec.get("name_claim", "email")) or claims.get("email") or claims.get("sub") or "")
    if not spec.get("map"):
        _log_event(uf.path, "oidc_refused", name, reason="no [oidc] mapping")
        raise AuthError("Single sign-on worked, but this app has no role mapping for it yet "
                        "(the users file needs an [oidc] table). Ask the app's administrator.")
    raw = claims.get(spec.get("role_claim", "groups"))
    values = {str(v) for v in raw} if isinstance(raw, (list, tuple, set)) else ({str(raw)} if raw else set())
    for entry in spec["map"]:
        if str(entry.get("value")) in values:
            user = _user_from_entry(name or "unknown", entry, source="oidc")
            if record:
                _log_event(uf.path, "signed_in", user.name, role=user.role, source="oidc")
            return user
    _log_event(uf.path, "oidc_refused", name, reason="no matching claim")
    raise AuthError(f"You are signed in as {name or 'an unnamed account'}, but no role is mapped to your "
                    f"account. Ask the app's administrator for access.")


# ------------------------------------------------------------------------------------------
# Scope
# ------------------------------------------------------------------------------------------

def scope_for(user: User | None) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """(stores, regions) the user may see; None means no limit on that side.

    A regional manager with stores listed sees their regions' stores plus those stores (the two
    are ORed by :class:`Filters`). ``None`` (no user: the open demo) sees everything.
    """
    if user is None or user.role in ALL_STORE_ROLES:
        return None, None
    if user.role == "store_manager":
        return tuple(user.stores), None
    if user.role == "regional_manager":
        return (tuple(user.stores) or None), tuple(user.regions)
    raise AuthError(f"Unknown role {user.role!r}.")  # validate_role keeps this unreachable


def can_see_orders(user: User | None) -> bool:
    """Order-level rows are for admins and analysts (and the open demo, which has no users)."""
    return user is None or user.role in ORDER_ROLES


def can_write(user: User | None) -> bool:
    """Whether ``user`` may change the warehouse (import files) and shared settings (alert rules):
    admins and analysts.

    ``None`` is the open demo (no users file): everyone may write there, and the app says so.
    Executives and regional and store managers only read.
    """
    return user is None or user.role in WRITE_ROLES


def scoped(filters: Filters, user: User | None) -> Filters:
    """``filters`` with the user's scope ANDed in."""
    stores, regions = scope_for(user)
    if stores is None and regions is None:
        return filters
    return filters.replace(scope_stores=stores, scope_regions=regions)


# Grain: one row per store the scope lets the user see. Parameters: the scope, as Filters.
def visible_stores(con: duckdb.DuckDBPyConnection, scope_stores: tuple[str, ...] | None,
                   scope_regions: tuple[str, ...] | None) -> Any:
    """Stores (id, name, city, district, region, category) inside a scope, for pickers."""
    flt = Filters(scope_stores=scope_stores, scope_regions=scope_regions)
    return db.run(con, f"""
        SELECT store_id, name, city, district, region, category
        FROM stores
        WHERE {flt.where_sql("stores")}
        ORDER BY store_id""", flt.params("stores"))
