"""The shared frame: a stale warehouse is refreshed on start; a broken one gets a clear message."""

from __future__ import annotations

import duckdb

from apptest_util import open_page, texts
from tiny import build_tiny


def test_warehouse_from_another_version_is_refreshed_on_start(tmp_path):
    wh = build_tiny(tmp_path / "tiny.duckdb")
    con = duckdb.connect(str(wh))
    con.execute("UPDATE warehouse_meta SET value = 'older' WHERE key = 'rollups_version'")
    con.close()
    at = open_page("pages/definitions.py", wh)
    assert not at.exception
    assert "KPI definitions" in texts(at)
    con = duckdb.connect(str(wh), read_only=True)
    assert con.execute("SELECT value FROM warehouse_meta WHERE key = 'rollups_version'").fetchone()[0] != "older"
    con.close()


def test_a_file_that_is_not_a_warehouse_gets_a_message_not_a_traceback(tmp_path):
    bogus = tmp_path / "bogus.duckdb"
    duckdb.connect(str(bogus)).close()
    at = open_page(None, bogus)
    assert not at.exception
    assert "is not an o2o-ops warehouse" in texts(at) and "python -m o2o_ops demo" in texts(at)
