"""The query runner's limits and the atomic writer."""

from __future__ import annotations

import os

import duckdb
import pytest

from o2o_ops import db
from tiny import build_tiny


def test_run_binds_parameters_and_caps_rows():
    con = duckdb.connect()
    df = db.run(con, "SELECT * FROM range(10) t(i) WHERE i < $n", {"n": 3})
    assert df["i"].tolist() == [0, 1, 2]
    with pytest.raises(db.WarehouseError, match="more than the limit of 5"):
        db.run(con, "SELECT * FROM range(10)", max_rows=5)


def test_run_interrupts_a_slow_query():
    con = duckdb.connect()
    with pytest.raises(db.QueryTimeout, match="narrow the filters"):
        db.run(con, "SELECT count(*) FROM range(100000000000) a", timeout_s=0.2)


def test_a_short_limit_is_kept_while_a_longer_one_is_watched():
    """The one watcher sleeps towards the earliest deadline: a query with a shorter limit than
    one already watched (another thread's) must wake it, and the released query is never
    interrupted afterwards."""
    con = duckdb.connect()
    idle = con.cursor()
    token = db._WATCHDOG.watch(idle, 60)
    try:
        with pytest.raises(db.QueryTimeout):
            db.run(con, "SELECT count(*) FROM range(100000000000) a", timeout_s=0.2)
    finally:
        db._WATCHDOG.release(token)
    assert db.run(con, "SELECT 1 AS one", timeout_s=0.05)["one"].tolist() == [1]
    assert idle.execute("SELECT 2").fetchone() == (2,)


def test_failed_rebuild_leaves_the_warehouse_unchanged(tmp_path):
    wh = tmp_path / "w.duckdb"
    with db.rebuild(wh, start_empty=True) as con:
        con.execute("INSERT INTO stores (store_id, name, category, city, lat, lon) VALUES ('S1','A','hotel','X',1,1)")
    before = wh.read_bytes()
    with pytest.raises(RuntimeError):
        with db.rebuild(wh) as con:
            con.execute("DELETE FROM stores")
            raise RuntimeError("crash half-way")
    assert wh.read_bytes() == before
    # no work copy left; the lock file stays (deleting it could let two writers hold two locks)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb", "w.duckdb.lock"]


def test_copies_left_by_a_killed_writer_are_swept(tmp_path):
    wh = tmp_path / "w.duckdb"
    dead_pid = 2 ** 22 + 12345          # above Linux's pid_max default: never alive
    leftover = tmp_path / f".w.duckdb.{dead_pid}.tmp"
    leftover.write_text("half-written")
    mine = tmp_path / f".w.duckdb.{os.getppid()}.tmp"   # a live process's copy stays
    mine.write_text("in progress")
    with db.rebuild(wh, start_empty=True):
        pass
    assert not leftover.exists() and mine.exists()


def test_order_facts_are_stored_in_time_order(tmp_path):
    """Date filters skip row groups only when each holds a narrow span of time: order_facts is
    written sorted by ordered_at whatever order the orders were loaded in (tiny's O6, of 20
    October, is loaded last)."""
    wh = build_tiny(tmp_path / "t.duckdb")
    con = duckdb.connect(str(wh), read_only=True)
    loaded = [r[0] for r in con.execute("SELECT order_id FROM orders ORDER BY rowid").fetchall()]
    stored = [r[0] for r in con.execute("SELECT order_id FROM order_facts ORDER BY rowid").fetchall()]
    assert loaded == ["O1", "O2", "O3", "O4", "O5", "O6"]
    assert stored == ["O6", "O1", "O2", "O3", "O4", "O5"]


def test_customer_ids_are_stored_uncompressed_in_the_columns_and_types_the_query_gives(tmp_path, monkeypatch):
    """order_facts is created with its columns declared (customer_id USING COMPRESSION
    uncompressed, db.UNCOMPRESSED_COLUMNS) and then filled: the same columns, types and rows, in
    the same order, as the file's CREATE TABLE AS makes; rows an import appends are stored
    uncompressed too. New warehouses' orders store their customer ids so from the schema."""
    monkeypatch.setenv("O2O_INCREMENTAL_IMPORTS", "1")
    wh = build_tiny(tmp_path / "t.duckdb")
    con = duckdb.connect(str(wh))
    try:
        con.execute(db.load_sql("order_facts").replace("TABLE order_facts AS", "TABLE facts_as_the_file_makes_them AS"))
        assert con.execute("DESCRIBE order_facts").fetchall() == con.execute(
            "DESCRIBE facts_as_the_file_makes_them").fetchall()
        assert con.execute("SELECT * FROM order_facts ORDER BY rowid").fetchall() == con.execute(
            "SELECT * FROM facts_as_the_file_makes_them ORDER BY rowid").fetchall()
        definitions = " ".join(r[0] for r in con.execute(
            "SELECT sql FROM duckdb_tables() WHERE table_name IN ('order_facts', 'orders') ORDER BY table_name").fetchall())
        assert definitions.count("USING COMPRESSION Uncompressed") == 2
        assert "customer_id VARCHAR USING COMPRESSION Uncompressed" in definitions
        con.execute("DROP TABLE facts_as_the_file_makes_them")
    finally:
        con.close()
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "orders.csv").write_text("order_id,customer_id,store_id,ordered_at,list_price,paid_amount\n"
                                       "O9,C2,S3,2026-11-11 10:00,50,40\n")
    monkeypatch.setenv("O2O_INCREMENTAL_MAX_SHARE", "1")
    from o2o_ops import ingest
    ingest.import_dir(folder, warehouse=wh)
    assert db.last_build()["mode"] == "incremental"
    con = duckdb.connect(str(wh), read_only=True)
    try:
        stored = {r[0] for r in con.execute(
            "SELECT DISTINCT compression FROM pragma_storage_info('order_facts') "
            "WHERE column_name = 'customer_id' AND segment_type = 'VARCHAR'").fetchall()}
        assert stored == {"Uncompressed"}
        assert con.execute("SELECT count(*) FROM order_facts WHERE customer_id = 'C2'").fetchone()[0] == 2
    finally:
        con.close()


def test_a_warehouse_from_another_version_is_refused_until_refreshed(tmp_path):
    import subprocess
    import sys

    wh = tmp_path / "w.duckdb"
    with db.rebuild(wh, start_empty=True):
        pass
    db.connect(wh).close()
    con = duckdb.connect(str(wh))
    con.execute("UPDATE warehouse_meta SET value = 'older' WHERE key = 'rollups_version'")
    con.close()
    with pytest.raises(db.StaleWarehouse, match="python -m o2o_ops refresh"):
        db.connect(wh)
    out = subprocess.run([sys.executable, "-m", "o2o_ops", "refresh", "--warehouse", str(wh)],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "Refreshed" in out.stdout
    db.connect(wh).close()
