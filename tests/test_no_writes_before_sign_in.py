"""With sign-in configured, an anonymous visitor causes no write: a missing warehouse is reported
(not replaced by a demo serving fake data), an outdated one is not refreshed. In the open demo the
first start still builds, under the write lock."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from apptest_util import ROOT, texts
from o2o_ops import auth, db
from tiny import build_tiny


def visit(warehouse: Path) -> AppTest:
    os.environ["O2O_WAREHOUSE"] = str(warehouse)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    assert not at.exception
    return at


@pytest.fixture()
def users(tmp_path: Path, monkeypatch) -> Path:
    path = tmp_path / "users.toml"
    auth.add_user("ana", "ana-pass", "analyst", path=path)
    monkeypatch.setenv("O2O_USERS_FILE", str(path))
    return path


def test_a_missing_warehouse_is_reported_not_built(tmp_path: Path, users: Path):
    folder = tmp_path / "data"
    folder.mkdir()
    at = visit(folder / "o2o.duckdb")
    assert [t.value for t in at.title] == ["o2o-ops is not set up yet"]
    assert "does not build a demo in its place" in texts(at)
    assert "python -m o2o_ops import-dir FOLDER" in texts(at)
    assert str(folder) not in texts(at)            # no server path for an anonymous visitor
    assert list(folder.iterdir()) == []            # nothing written, not even a lock file


def test_an_outdated_warehouse_is_not_refreshed_for_a_visitor(tmp_path: Path, users: Path):
    wh = build_tiny(tmp_path / "o2o.duckdb")
    con = duckdb.connect(str(wh))
    con.execute("UPDATE warehouse_meta SET value = 'older' WHERE key = 'rollups_version'")
    con.close()
    before = wh.read_bytes()
    at = visit(wh)
    assert "prepared by another version of o2o-ops" in texts(at)
    assert "python -m o2o_ops refresh" in texts(at)
    assert wh.read_bytes() == before
    with pytest.raises(db.StaleWarehouse):
        db.connect(wh)


def test_the_open_demo_still_refreshes_an_outdated_warehouse(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("O2O_USERS_FILE", str(tmp_path / "no-users.toml"))
    wh = build_tiny(tmp_path / "o2o.duckdb")
    con = duckdb.connect(str(wh))
    con.execute("UPDATE warehouse_meta SET value = 'older' WHERE key = 'rollups_version'")
    con.close()
    at = visit(wh)
    assert "Open demo: no sign-in configured" in "\n".join(c.value for c in at.sidebar.caption)
    db.connect(wh).close()                         # refreshed: no longer stale


def test_the_open_demo_builds_on_first_start(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("O2O_USERS_FILE", str(tmp_path / "no-users.toml"))
    monkeypatch.setenv("O2O_DEMO_ORDERS", "5000")
    wh = tmp_path / "data" / "o2o.duckdb"
    visit(wh)
    con = db.connect(wh)
    try:
        assert db.scalar(con, "SELECT count(*) FROM orders") == 5000
    finally:
        con.close()
