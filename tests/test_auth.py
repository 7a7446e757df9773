"""Sign-in core: password hashes, the users file, rate limiting, the sign-in log, roles and scopes,
OIDC claim mapping, and the command line (``user``, ``kpis --as-user``)."""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import io
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from o2o_ops import auth, db, metrics
from o2o_ops.filters import Filters
from tiny import END, START, build_tiny

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    """``python -m o2o_ops`` in-process."""
    from o2o_ops.__main__ import main as o2o_main

    return o2o_main(argv)


T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone.utc)
PASSWORD = "correct horse battery staple"


@pytest.fixture
def users(tmp_path) -> Path:
    path = tmp_path / "conf" / "users.toml"
    auth.add_user("mgr", PASSWORD, "store_manager", stores=["S1"], path=path)
    auth.add_user("east", "east-pass", "regional_manager", regions=["East"], path=path)
    auth.add_user("ana", "ana-pass", "analyst", path=path)
    auth.add_user("exec", "exec-pass", "executive", path=path)
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")


# --- passwords and the users file -----------------------------------------------------------

def test_hash_is_salted_and_checks():
    first, second = auth.hash_password("s3cret"), auth.hash_password("s3cret")
    assert first != second                      # a fresh salt per hash
    assert first.startswith("scrypt$16384$8$1$")
    assert auth.check_password("s3cret", first) and auth.check_password("s3cret", second)
    assert not auth.check_password("s3cret ", first)
    assert not auth.check_password("s3cret", "plain-text-is-never-accepted")
    assert not auth.check_password("s3cret", "")


def test_pbkdf2_hashes_are_accepted():
    import base64
    import hashlib
    salt = b"0123456789abcdef"
    key = hashlib.pbkdf2_hmac("sha256", b"pw", salt, 1000, 32)
    stored = f"pbkdf2_sha256$1000${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"
    assert auth.check_password("pw", stored) and not auth.check_password("pw2", stored)


def test_users_file_never_holds_a_plain_password(users):
    text = users.read_text(encoding="utf-8")
    for password in (PASSWORD, "east-pass", "ana-pass", "exec-pass"):
        assert password not in text
    parsed = tomllib.loads(text)
    assert set(parsed["users"]) == {"mgr", "east", "ana", "exec"}
    assert parsed["users"]["mgr"] == {"role": "store_manager", "stores": ["S1"], "regions": [],
                                      "password": parsed["users"]["mgr"]["password"]}
    assert parsed["users"]["mgr"]["password"].startswith("scrypt$")
    assert oct(users.stat().st_mode & 0o777) == "0o600"
    # neither the lockout state nor the log holds a password either
    auth.verify("mgr", PASSWORD, path=users)
    with pytest.raises(auth.SignInRefused):
        auth.verify("mgr", "a-wrong-guess", path=users)
    for sibling in users.parent.iterdir():
        raw = sibling.read_bytes()
        assert PASSWORD.encode() not in raw and b"a-wrong-guess" not in raw, sibling


def test_odd_characters_survive_the_file(tmp_path):
    path = tmp_path / "users.toml"
    odd = 'Store "7"\\ \t\x7f 南京'
    auth.add_user("odd.user@example.com", "pw", "store_manager", stores=[odd], path=path)
    assert auth.get_user("odd.user@example.com", path).stores == (odd,)


@pytest.mark.parametrize("role, stores, regions, message", [
    ("store_manager", [], [], "at least one --store"),
    ("store_manager", ["S1"], ["East"], "scoped to stores"),
    ("regional_manager", [], [], "at least one --region"),
    ("analyst", ["S1"], [], "sees every store"),
    ("boss", [], [], "Unknown role"),
])
def test_roles_need_the_right_scope(tmp_path, role, stores, regions, message):
    with pytest.raises(auth.AuthError, match=message):
        auth.add_user("x", "pw", role, stores=stores, regions=regions, path=tmp_path / "u.toml")
    assert not (tmp_path / "u.toml").exists()


def test_add_refuses_duplicates_and_bad_names(users):
    with pytest.raises(auth.AuthError, match="already exists"):
        auth.add_user("mgr", "x", "analyst", path=users)
    with pytest.raises(auth.AuthError, match="must be"):
        auth.add_user("has space", "x", "analyst", path=users)
    with pytest.raises(auth.AuthError, match="empty"):
        auth.add_user("nopw", "", "analyst", path=users)
    auth.add_user("mgr", "new-pass", "store_manager", stores=["S2", "S3"], path=users, replace=True)
    assert auth.verify("mgr", "new-pass", path=users).stores == ("S2", "S3")


def test_remove_user(users):
    auth.remove_user("ana", users)
    assert [u.name for u in auth.list_users(users)] == ["east", "exec", "mgr"]
    with pytest.raises(auth.AuthError, match="No user"):
        auth.remove_user("ana", users)


def test_open_until_a_users_file_exists(tmp_path):
    assert not auth.is_configured(tmp_path / "none.toml")
    assert auth.load(tmp_path / "none.toml").users == {}
    (tmp_path / "empty.toml").write_text("")
    assert auth.is_configured(tmp_path / "empty.toml")     # fail closed: an empty file admits nobody
    (tmp_path / "broken.toml").write_text("[users.x\n")
    with pytest.raises(auth.AuthError, match="not valid TOML"):
        auth.load(tmp_path / "broken.toml")


# --- verify, rate limit, log --------------------------------------------------------------------

def test_verify_right_and_wrong(users):
    user = auth.verify("mgr", PASSWORD, path=users, now=T0)
    assert user == auth.User("mgr", "store_manager", ("S1",), ())
    for name, password in (("mgr", "wrong"), ("mgr", ""), ("nobody", PASSWORD), ("", "")):
        with pytest.raises(auth.SignInRefused, match="Wrong user name or password"):
            auth.verify(name, password, path=users, now=T0)


ATTACKER, REAL = "203.0.113.66", "198.51.100.7"


def _fail(users, name, at, client=ATTACKER):
    with pytest.raises(auth.SignInRefused) as info:
        auth.verify(name, "guess", path=users, now=at, client=client)
    return info.value


def test_backoff_grows_per_failure_for_one_name_and_client(users):
    """3 free failures, then 5 s, 10 s, 20 s, ... before the next try from that client."""
    assert [auth.backoff(n).total_seconds() for n in range(1, 10)] == [0, 0, 5, 10, 20, 40, 80, 160, 320]
    assert auth.backoff(40) == auth.BACKOFF_MAX == dt.timedelta(minutes=15)
    assert not isinstance(_fail(users, "mgr", T0), auth.RateLimited)
    assert not isinstance(_fail(users, "mgr", T0 + dt.timedelta(seconds=1)), auth.RateLimited)
    third = _fail(users, "mgr", T0 + dt.timedelta(seconds=2))
    assert isinstance(third, auth.RateLimited) and third.retry_after == dt.timedelta(seconds=5)
    assert "After 3 failures, wait 5 seconds before the next try" in str(third)
    # while waiting, even the right password is refused without being checked
    with pytest.raises(auth.RateLimited, match="Wait 2 seconds") as info:
        auth.verify("mgr", PASSWORD, path=users, now=T0 + dt.timedelta(seconds=5), client=ATTACKER)
    assert info.value.retry_after == dt.timedelta(seconds=2)
    # the wait doubles with each further failure
    assert _fail(users, "mgr", T0 + dt.timedelta(seconds=7)).retry_after == dt.timedelta(seconds=10)
    assert _fail(users, "mgr", T0 + dt.timedelta(seconds=17)).retry_after == dt.timedelta(seconds=20)
    assert auth.locked_for("mgr", client=ATTACKER, path=users, now=T0 + dt.timedelta(seconds=27)) == \
        dt.timedelta(seconds=10)
    # after the wait the right password works, and clears that client's failures
    assert auth.verify("mgr", PASSWORD, path=users, now=T0 + dt.timedelta(seconds=37), client=ATTACKER).name == "mgr"
    assert not isinstance(_fail(users, "mgr", T0 + dt.timedelta(seconds=38)), auth.RateLimited)


def test_the_real_user_signs_in_from_their_own_client_while_the_attacker_waits(users):
    for i in range(12):   # an attacker hammering mgr's name: now at the 15-minute cap
        attempt = T0 + dt.timedelta(hours=i)
        with contextlib.suppress(auth.SignInRefused):
            auth.verify("mgr", f"guess-{i}", path=users, now=attempt, client=ATTACKER)
    later = T0 + dt.timedelta(hours=11, minutes=1)
    assert auth.locked_for("mgr", client=ATTACKER, path=users, now=later) == dt.timedelta(minutes=14)
    with pytest.raises(auth.RateLimited):
        auth.verify("mgr", PASSWORD, path=users, now=later, client=ATTACKER)
    # the real user, from another client, is not slowed at all
    assert auth.locked_for("mgr", client=REAL, path=users, now=later) is None
    assert auth.verify("mgr", PASSWORD, path=users, now=later, client=REAL).name == "mgr"
    # nor by a typo of their own
    assert not isinstance(_fail(users, "mgr", later, client=REAL), auth.RateLimited)
    assert auth.verify("mgr", PASSWORD, path=users, now=later, client=REAL).name == "mgr"
    # and the attacker still waits: the real user's success does not clear their failures
    assert auth.locked_for("mgr", client=ATTACKER, path=users, now=later) == dt.timedelta(minutes=14)


def test_failures_are_forgotten_after_the_window(users):
    for i in range(6):
        _fail(users, "mgr", T0 + dt.timedelta(minutes=10 * i))
    # the 6th failure, at 50 minutes, means 40 s of waiting
    assert auth.locked_for("mgr", client=ATTACKER, path=users, now=T0 + dt.timedelta(minutes=50, seconds=30)) == \
        dt.timedelta(seconds=10)
    after = T0 + dt.timedelta(minutes=50) + auth.FAILURE_WINDOW + dt.timedelta(seconds=1)
    assert auth.locked_for("mgr", client=ATTACKER, path=users, now=after) is None
    assert auth.verify("mgr", PASSWORD, path=users, now=after, client=ATTACKER).name == "mgr"


def test_lockout_survives_a_new_process_and_unlock_lifts_it(users):
    now = dt.datetime.now(dt.timezone.utc)
    for _ in range(9):   # the 9th failure means a wait of 320 s
        with pytest.raises(auth.SignInRefused):
            auth.verify("mgr", "guess", path=users, now=now)
    code = ("import sys; from o2o_ops import auth\n"
            "try:\n    auth.verify('mgr', sys.argv[2], path=sys.argv[1])\n"
            "except auth.RateLimited:\n    sys.exit(3)\n")
    run = subprocess.run([sys.executable, "-c", code, str(users), PASSWORD], cwd=ROOT)
    assert run.returncode == 3
    assert main(["user", "unlock", "mgr", "--users-file", str(users)]) == 0
    assert auth.verify("mgr", PASSWORD, path=users).name == "mgr"


def test_unknown_names_are_rate_limited_too(users):
    for _ in range(5):
        with pytest.raises(auth.SignInRefused):
            auth.verify("ghost", "x", path=users, now=T0)
    with pytest.raises(auth.RateLimited):
        auth.verify("ghost", "x", path=users, now=T0)


def test_sign_in_log_is_appended_and_does_not_tell_which_names_exist(users, caplog):
    caplog.set_level("INFO", logger="o2o_ops.auth")
    auth.verify("mgr", PASSWORD, path=users, now=T0, client=REAL)
    with pytest.raises(auth.SignInRefused):
        auth.verify("mgr", "nope", path=users, now=T0, client=ATTACKER)
    with pytest.raises(auth.SignInRefused):
        auth.verify("ghost", "nope", path=users, now=T0, client=ATTACKER)
    lines = [json.loads(line) for line in auth.log_path(users).read_text().splitlines()]
    events = [(r["event"], r["user"]) for r in lines]
    assert events[:4] == [("user_added", "mgr"), ("user_added", "east"), ("user_added", "ana"), ("user_added", "exec")]
    assert events[4:] == [("signed_in", "mgr"), ("failed", "mgr"), ("failed", "ghost")]
    assert lines[4]["client"] == REAL
    # a wrong password and an unknown name leave the same record, apart from the name typed
    wrong, unknown = ({k: v for k, v in r.items() if k not in ("at", "user")} for r in lines[5:7])
    assert wrong == unknown == {"event": "failed", "client": ATTACKER, "failures": 1}
    assert [r.message.split()[0] for r in caplog.records] == ["signed_in", "failed", "failed"]


def test_sign_in_log_and_state_are_private(users, tmp_path):
    with pytest.raises(auth.SignInRefused):
        auth.verify("mgr", "nope", path=users, now=T0)
    for path in (auth.log_path(users), users.with_name(users.name + ".signin.sqlite"), users):
        assert oct(path.stat().st_mode & 0o777) == "0o600", path
    # files left world-readable by an older version are tightened at the next write
    other = tmp_path / "old" / "users.toml"
    auth.add_user("x", "pw", "analyst", path=other)
    auth.log_path(other).chmod(0o644)
    with pytest.raises(auth.SignInRefused):
        auth.verify("x", "nope", path=other)
    assert oct(auth.log_path(other).stat().st_mode & 0o777) == "0o600"


def test_session_expiry():
    rules = auth.SessionRules(idle=dt.timedelta(minutes=60), max_age=dt.timedelta(hours=12))
    assert not auth.session_expired(T0, T0 + dt.timedelta(minutes=59), T0 + dt.timedelta(minutes=119), rules)
    assert auth.session_expired(T0, T0, T0 + dt.timedelta(minutes=61), rules)
    assert auth.session_expired(T0, T0 + dt.timedelta(hours=12), T0 + dt.timedelta(hours=12, minutes=1), rules)


def test_session_rules_from_the_file(tmp_path):
    path = tmp_path / "u.toml"
    path.write_text("[session]\nidle_minutes = 5\nmax_hours = 1\n")
    assert auth.session_rules(path) == auth.SessionRules(dt.timedelta(minutes=5), dt.timedelta(hours=1))
    assert auth.session_rules(tmp_path / "none.toml") == auth.SessionRules()


# --- roles and scope --------------------------------------------------------------------------

def test_scope_and_orders_by_role(users):
    by_name = {u.name: u for u in auth.list_users(users)}
    assert auth.scope_for(by_name["mgr"]) == (("S1",), None)
    assert auth.scope_for(by_name["east"]) == (None, ("East",))
    assert auth.scope_for(by_name["ana"]) == (None, None)
    assert auth.scope_for(by_name["exec"]) == (None, None)
    assert auth.scope_for(None) == (None, None)
    assert auth.scope_for(auth.User("r", "regional_manager", ("S3",), ("East",))) == (("S3",), ("East",))
    assert [n for n, u in sorted(by_name.items()) if auth.can_see_orders(u)] == ["ana"]
    assert auth.can_see_orders(None)   # the open demo has no users and no secrets


def test_who_may_write(users):
    """Admins and analysts import; executives and managers only read; the open demo (no users
    file, user None) lets everyone import."""
    auth.add_user("root", "root-pass", "admin", path=users)
    by_name = {u.name: u for u in auth.list_users(users)}
    assert {n: auth.can_write(u) for n, u in by_name.items()} == {
        "ana": True, "root": True, "east": False, "exec": False, "mgr": False}
    assert auth.can_write(None)
    admin = by_name["root"]
    assert auth.scope_for(admin) == (None, None) and auth.can_see_orders(admin)
    with pytest.raises(auth.AuthError, match="sees every store"):
        auth.add_user("root2", "pw", "admin", stores=["S1"], path=users)


def test_scope_narrows_every_query(tiny, users):
    """S1 in the window: orders O1, O2 (paid 80 + 100); East = S1 + S2; S3 has no region."""
    con = db.connect(tiny)
    try:
        window = Filters(start=START, end=END)
        mgr, east = auth.get_user("mgr", users), auth.get_user("east", users)
        assert metrics.compute(con, auth.scoped(window, mgr), "total", ["orders", "revenue"])[["orders", "revenue"]].iloc[0].tolist() == [2, 180]
        assert metrics.compute(con, auth.scoped(window, east), "total", ["orders"])["orders"].iloc[0] == 4
        by_store = metrics.compute(con, auth.scoped(window, mgr), "store", ["orders"])
        assert by_store["store_id"].tolist() == ["S1"]
        # a filter on another store can only narrow the scope: nothing, not S2
        other = auth.scoped(window.replace(stores=("S2",)), mgr)
        assert metrics.compute(con, other, "total", ["orders"]).empty
        assert other.params("rollup")["f_scope_stores"] == ["S1"]
        assert "$f_scope_stores" in other.where_sql("facts") and "S1" not in other.where_sql("facts")
        visible = auth.visible_stores(con, ("S1",), None)
        assert visible["store_id"].tolist() == ["S1"]
        assert auth.visible_stores(con, None, ("East",))["store_id"].tolist() == ["S1", "S2"]
        assert auth.visible_stores(con, ("S3",), ("East",))["store_id"].tolist() == ["S1", "S2", "S3"]
    finally:
        con.close()


# --- OIDC ---------------------------------------------------------------------------------------

OIDC = """
[oidc]
role_claim = "groups"
name_claim = "email"

[[oidc.map]]
value = "o2o-analysts"
role = "analyst"

[[oidc.map]]
value = "o2o-east"
role = "regional_manager"
regions = ["East"]

[[oidc.map]]
value = "o2o-s1"
role = "store_manager"
stores = ["S1"]
"""


def test_oidc_claims_map_to_roles(tmp_path):
    path = tmp_path / "users.toml"
    path.write_text(OIDC)
    user = auth.user_from_claims({"email": "a@x.cn", "groups": ["staff", "o2o-east"]}, path)
    assert (user.name, user.role, user.regions, user.source) == ("a@x.cn", "regional_manager", ("East",), "oidc")
    assert auth.user_from_claims({"email": "b@x.cn", "groups": "o2o-s1"}, path).stores == ("S1",)
    # the first matching entry wins
    assert auth.user_from_claims({"email": "c@x.cn", "groups": ["o2o-s1", "o2o-analysts"]}, path).role == "analyst"
    with pytest.raises(auth.AuthError, match="no role is mapped"):
        auth.user_from_claims({"email": "d@x.cn", "groups": ["staff"]}, path)
    with pytest.raises(auth.AuthError, match="no role is mapped"):
        auth.user_from_claims({"email": "e@x.cn"}, path)
    # a mapping survives a rewrite by `user add`
    auth.add_user("local", "pw", "executive", path=path)
    assert auth.load(path).oidc["map"][1] == {"value": "o2o-east", "role": "regional_manager", "regions": ["East"]}
    assert auth.user_from_claims({"email": "a@x.cn", "groups": ["o2o-east"]}, path).role == "regional_manager"


def test_oidc_without_a_mapping_admits_nobody(tmp_path):
    with pytest.raises(auth.AuthError, match="no role mapping"):
        auth.user_from_claims({"email": "a@x.cn", "groups": ["o2o-east"]}, tmp_path / "none.toml")


# --- command line -------------------------------------------------------------------------------

def test_cli_user_add_list_remove(tmp_path, monkeypatch, capsys):
    path = tmp_path / "users.toml"
    monkeypatch.setattr(sys, "stdin", io.StringIO("pa ss\n"))
    assert main(["user", "add", "li", "--role", "regional_manager", "--region", "East", "--store", "S3",
                 "--password-stdin", "--users-file", str(path)]) == 0
    assert "Added li (regional_manager: regions East + stores S3)" in capsys.readouterr().out
    assert "pa ss" not in path.read_text()
    assert auth.verify("li", "pa ss", path=path).regions == ("East",)

    monkeypatch.setattr("getpass.getpass", lambda prompt="": "typed-pw")
    assert main(["user", "add", "wu", "--role", "store_manager", "--store", "S2", "--users-file", str(path)]) == 0
    assert auth.verify("wu", "typed-pw", path=path).stores == ("S2",)

    assert main(["user", "add", "bad", "--role", "store_manager", "--users-file", str(path)]) == 2
    assert "at least one --store" in capsys.readouterr().err

    capsys.readouterr()
    assert main(["user", "list", "--users-file", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["li", "regional_manager", "region", "East,", "store", "S3"]
    assert out[2].split() == ["wu", "store_manager", "store", "S2"]
    assert "scrypt" not in "\n".join(out)

    assert main(["user", "remove", "li", "--users-file", str(path)]) == 0
    assert [u.name for u in auth.list_users(path)] == ["wu"]
    assert main(["user", "remove", "li", "--users-file", str(path)]) == 2


def test_cli_password_prompt_must_match(tmp_path, monkeypatch, capsys):
    answers = iter(["one", "two"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["user", "add", "x", "--role", "analyst", "--users-file", str(tmp_path / "u.toml")]) == 2
    assert "differ" in capsys.readouterr().err
    assert not (tmp_path / "u.toml").exists()


def test_cli_kpis_as_user_applies_the_scope(tiny, users, capsys):
    base = ["kpis", "--from", str(START), "--to", str(END), "--kpi", "orders", "--kpi", "revenue",
            "--format", "json", "--warehouse", str(tiny), "--users-file", str(users)]
    assert main(base + ["--as-user", "mgr"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"total": "all", "orders": 2, "revenue": 180.0, "not_shown": {}}]
    assert main(base + ["--as-user", "mgr", "--store", "S2"]) == 0      # a filter cannot widen it
    assert json.loads(capsys.readouterr().out) == []
    assert main(base + ["--as-user", "exec"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"total": "all", "orders": 5, "revenue": 640.0, "not_shown": {}}]
    assert main(base + ["--as-user", "nobody"]) == 2
    assert "No user named 'nobody'" in capsys.readouterr().err


def test_core_auth_does_not_import_streamlit():
    tree = ast.parse((ROOT / "o2o_ops" / "auth.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert "streamlit" not in imported


def test_cli_report_as_user_covers_only_their_stores(tiny, users, tmp_path, capsys):
    out = tmp_path / "mgr.html"
    assert main(["report", "--week", "2026-W45", "--warehouse", str(tiny), "--users-file", str(users),
                 "--as-user", "mgr", "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert "within S1" in html                         # the scope is stated with the filters
    assert "¥180" in html and "¥580" not in html       # W45 revenue of S1 (O1 80 + O2 100), not of all
    assert "Bund Hotel" not in html and "Xuhui Dumplings" not in html
    assert main(["report", "--warehouse", str(tiny), "--users-file", str(users), "--as-user", "nobody",
                 "--out", str(out)]) == 2
    assert "No user named 'nobody'" in capsys.readouterr().err
