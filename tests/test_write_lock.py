"""One writer at a time: every write to the warehouse (and to the users file) holds a lock file
beside it; a second writer waits, says so, and lands after the first — or gives up after
O2O_WRITE_WAIT_S with the warehouse unchanged. Imports run as separate processes, as users would
run them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from o2o_ops import auth, db
from tiny import build_tiny

ROOT = Path(__file__).resolve().parent.parent
BIG_CUSTOMERS = 200_000


def cli(*args: str, **env: str) -> subprocess.Popen:
    """``python -m o2o_ops ARGS`` in a process of its own, stdout and stderr captured."""
    return subprocess.Popen([sys.executable, "-m", "o2o_ops", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **env})


def wait_for_line(proc: subprocess.Popen, text: str) -> list[str]:
    """Read ``proc``'s stderr until a line holds ``text`` (or the process ends); the lines read."""
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"the process ended without saying {text!r}: {''.join(lines)[-2000:]}")


def log_rows(wh: Path) -> list[tuple[str, str, int]]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return con.execute("SELECT table_name, regexp_extract(source, '[^/]+$'), rows_added FROM import_log "
                           "ORDER BY table_name").fetchall()
    finally:
        con.close()


@pytest.fixture()
def warehouse(tmp_path: Path) -> Path:
    return build_tiny(tmp_path / "o2o.duckdb")


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    big = tmp_path / "big" / "customers.csv"
    big.parent.mkdir()
    with open(big, "w", encoding="utf-8") as out:
        out.write("customer_id,signup_date,city\n")
        out.writelines(f"N{i:07d},2026-03-01,Suzhou\n" for i in range(BIG_CUSTOMERS))
    small = tmp_path / "small" / "stores.csv"
    small.parent.mkdir()
    small.write_text("store_id,name,category,city,lat,lon\nS9,Canal Tea House,cafe,Suzhou,31.3,120.6\n")
    return {"big": big, "small": small}


def test_two_imports_at_once_both_land(warehouse: Path, files: dict[str, Path]):
    """The lost-batch bug: two writers each copied the warehouse and renamed their copy over it,
    so the one finishing last erased the other's rows and log. Now both queue on the lock (held
    here by the test until both are waiting, so they really overlap) and the second copies the
    warehouse only after the first has landed."""
    with db.write_lock(warehouse):
        big = cli("import", "customers", str(files["big"]), "--warehouse", str(warehouse), "--quiet")
        wait_for_line(big, "waiting for another import…")
        small = cli("import", "stores", str(files["small"]), "--warehouse", str(warehouse), "--quiet")
        wait_for_line(small, "waiting for another import…")
    big_out, big_err = big.communicate(timeout=600)
    small_out, small_err = small.communicate(timeout=600)
    assert (big.returncode, small.returncode) == (0, 0), big_err + small_err
    assert "Traceback" not in big_err + small_err
    assert f"rows read: {BIG_CUSTOMERS:,} added, 0 updated" in big_out
    assert "1 rows read: 1 added, 0 updated" in small_out
    assert log_rows(warehouse) == [("customers", "customers.csv", BIG_CUSTOMERS), ("stores", "stores.csv", 1)]
    con = db.connect(warehouse)
    try:
        assert con.execute("SELECT count(*) FROM customers").fetchone()[0] == 4 + BIG_CUSTOMERS
        assert con.execute("SELECT name FROM stores WHERE store_id = 'S9'").fetchone() == ("Canal Tea House",)
        # the derived tables were rebuilt from both batches too
        assert con.execute("SELECT count(*) FROM stores").fetchone()[0] == 4
    finally:
        con.close()


def test_a_waiting_writer_gives_up_and_writes_nothing(warehouse: Path, files: dict[str, Path]):
    before = warehouse.read_bytes()
    with db.write_lock(warehouse):
        proc = cli("import", "stores", str(files["small"]), "--warehouse", str(warehouse), "--quiet",
                   O2O_WRITE_WAIT_S="0.5")
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert "waiting for another import… (another process is writing; waiting up to 0.5 s" in err
    assert "gave up after waiting 0.5 s (setting O2O_WRITE_WAIT_S). Nothing was written" in err
    assert "Traceback" not in err and out == ""
    assert warehouse.read_bytes() == before
    assert [p.name for p in warehouse.parent.iterdir() if p.name.endswith(".tmp")] == []   # no work copy


def test_refresh_and_demo_build_wait_for_the_lock_too(warehouse: Path, tmp_path: Path):
    before = warehouse.read_bytes()
    with db.write_lock(warehouse):
        refresh = cli("refresh", "--warehouse", str(warehouse), O2O_WRITE_WAIT_S="0.3")
        demo = cli("demo", "--orders", "5000", "--warehouse", str(warehouse), O2O_WRITE_WAIT_S="0.3")
        results = [(p.wait(timeout=300), p.stderr.read()) for p in (refresh, demo)]
    for code, err in results:
        assert code == 2 and "gave up after waiting 0.3 s" in err and "Traceback" not in err
    assert warehouse.read_bytes() == before


def test_the_lock_is_reentrant_for_its_thread_and_exclusive_for_others(tmp_path: Path):
    target = tmp_path / "w.duckdb"
    seen: list[str] = []
    outcome: list[BaseException | None] = []

    def other_thread() -> None:
        try:
            with db.write_lock(target, timeout_s=0.3, on_wait=seen.append):
                outcome.append(None)
        except db.WriteBusy as exc:
            outcome.append(exc)

    with db.write_lock(target):
        with db.write_lock(target, timeout_s=0):   # the same thread again: no wait
            thread = threading.Thread(target=other_thread)
            thread.start()
            thread.join()
    assert seen == [db.WAITING_MESSAGE]
    assert isinstance(outcome[0], db.WriteBusy) and "Nothing was written" in str(outcome[0])
    # released: the other thread gets it at once
    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert outcome[1] is None and seen == [db.WAITING_MESSAGE]


def test_user_changes_hold_the_users_file_lock(tmp_path: Path):
    users = tmp_path / "users.toml"
    auth.add_user("ana", "ana-pass", "analyst", path=users)
    before = users.read_bytes()
    with db.write_lock(users):
        proc = subprocess.run([sys.executable, "-m", "o2o_ops", "user", "add", "li", "--role", "admin",
                               "--password-stdin", "--users-file", str(users)], cwd=ROOT, text=True,
                              input="li-pass\n", capture_output=True, env={**os.environ, "O2O_WRITE_WAIT_S": "0.3"})
    assert proc.returncode == 2
    assert "Another writer (an import, a rebuild or a user change) is still changing the users file " \
        f"{users}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert users.read_bytes() == before
    # once free, the change goes through
    auth.add_user("li", "li-pass", "admin", path=users)
    assert [u.name for u in auth.list_users(users)] == ["ana", "li"]


def test_readers_keep_working_while_a_writer_holds_the_lock(warehouse: Path):
    with db.write_lock(warehouse):
        proc = subprocess.run([sys.executable, "-m", "o2o_ops", "kpis", "--kpi", "orders", "--format", "json",
                               "--warehouse", str(warehouse)], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "O2O_WRITE_WAIT_S": "0"}, timeout=120)
    assert proc.returncode == 0 and '"orders": 6' in proc.stdout
