"""The lake commands without Spark: ``export --format parquet``, ``build --engine duckdb`` and
``assemble`` round-trip the tiny warehouse to a serving warehouse with the same numbers; the
errors a careless user causes (no Java, no pyspark, a table missing from the source, an
unfinished or outdated build) end in our words with exit code 2 and write nothing.

Each command runs in a process of its own, as a user would run it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from o2o_ops import db, lake, metrics, portable
from tiny import END, START, build_tiny

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, env: dict | None = None, python_prelude: str | None = None) -> subprocess.CompletedProcess:
    if python_prelude:
        code = f"{python_prelude}\nimport sys\nfrom o2o_ops.__main__ import main\nsys.exit(main({list(args)!r}))"
        cmd = [sys.executable, "-c", code]
    else:
        cmd = [sys.executable, "-m", "o2o_ops", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def assert_refused(proc: subprocess.CompletedProcess, message: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("lake")
    warehouse = build_tiny(root / "tiny.duckdb")
    steps = {}
    steps["export"] = run_cli("export", "--format", "parquet", "--out", str(root / "source"), "--warehouse", str(warehouse))
    steps["build"] = run_cli("build", "--engine", "duckdb", "--source", str(root / "source"), "--out", str(root / "out"))
    steps["assemble"] = run_cli("assemble", "--source", str(root / "source"), "--lake", str(root / "out"),
                                "--warehouse", str(root / "served.duckdb"))
    steps["assemble_view"] = run_cli("assemble", "--source", str(root / "source"), "--lake", str(root / "out"),
                                     "--warehouse", str(root / "served_view.duckdb"), "--facts", "view")
    return {"root": root, "warehouse": warehouse, **steps}


def test_export_writes_every_contract_table(round_trip):
    assert round_trip["export"].returncode == 0, round_trip["export"].stderr
    source = round_trip["root"] / "source"
    con = duckdb.connect()
    # the tiny warehouse: 3 stores, 1 campaign, 4 customers, 6 orders
    counts = {t: con.execute(f"SELECT count(*) FROM {lake.read_expr(source, t)}").fetchone()[0] for t in db.CONTRACT_TABLES}
    assert (counts["stores"], counts["campaigns"], counts["customers"], counts["orders"]) == (3, 1, 4, 6)
    assert "orders" in round_trip["export"].stdout


@pytest.mark.parametrize("served_name", ["served.duckdb", "served_view.duckdb"])
def test_the_assembled_warehouse_serves_the_numbers_of_the_original(round_trip, served_name):
    for step in ("build", "assemble", "assemble_view"):
        assert round_trip[step].returncode == 0, round_trip[step].stderr
    from o2o_ops.filters import Filters
    original = db.connect(round_trip["warehouse"])
    served = db.connect(round_trip["root"] / served_name)
    try:
        for grain in ("total", "store", "day"):
            a = metrics.compute(original, Filters(start=START, end=END), grain)
            b = metrics.compute(served, Filters(start=START, end=END), grain)
            assert a.equals(b), grain
        # the tiny warehouse by hand: 5 orders in the window, 4 of them paid
        total = metrics.compute(served, Filters(start=START, end=END), "total").iloc[0]
        assert (total["orders"], total["paid_orders"]) == (5, 4)
        for table in portable.derived_tables():
            assert served.execute(f"SELECT count(*) FROM {table}").fetchone() == \
                original.execute(f"SELECT count(*) FROM {table}").fetchone(), table
        engine = served.execute("SELECT value FROM warehouse_meta WHERE key = 'rollups_engine'").fetchone()[0]
        assert engine == "duckdb"
        kinds = dict(served.execute("SELECT table_name, table_type FROM information_schema.tables").fetchall())
        expected = "VIEW" if served_name == "served_view.duckdb" else "BASE TABLE"
        assert kinds["order_facts"] == expected and kinds["orders"] == expected
        assert kinds["rollup_day_store_channel_campaign"] == "BASE TABLE" and kinds["stores"] == "BASE TABLE"
    finally:
        original.close()
        served.close()


def test_a_source_missing_a_table_is_named(tmp_path, round_trip):
    source = tmp_path / "source"
    shutil.copytree(round_trip["root"] / "source", source)
    (source / "refunds.parquet").unlink()
    proc = run_cli("build", "--engine", "duckdb", "--source", str(source), "--out", str(tmp_path / "out"))
    assert_refused(proc, "lacks the contract table(s) refunds")
    assert not (tmp_path / "out").exists()
    assert_refused(run_cli("build", "--source", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")),
                   "python -m o2o_ops export --format parquet")


def test_no_java_is_said_in_words(round_trip, tmp_path):
    proc = run_cli("build", "--engine", "spark", "--source", str(round_trip["root"] / "source"),
                   "--out", str(tmp_path / "out"), env={"JAVA_HOME": str(tmp_path / "no-java")})
    assert_refused(proc, "needs Java")
    assert "openjdk-17-jre-headless" in proc.stderr


def test_no_pyspark_is_said_in_words(round_trip, tmp_path):
    proc = run_cli("build", "--engine", "spark", "--source", str(round_trip["root"] / "source"),
                   "--out", str(tmp_path / "out"), python_prelude="import sys; sys.modules['pyspark'] = None")
    assert_refused(proc, "needs pyspark")
    assert "requirements.txt" in proc.stderr


def test_an_unfinished_or_outdated_build_is_not_assembled(round_trip, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(round_trip["root"] / "out", out)
    manifest = json.loads((out / lake.MANIFEST).read_text())
    manifest["rollups_version"] = "0000000000000000"
    (out / lake.MANIFEST).write_text(json.dumps(manifest))
    target = tmp_path / "served.duckdb"
    source = str(round_trip["root"] / "source")
    assert_refused(run_cli("assemble", "--source", source, "--lake", str(out), "--warehouse", str(target)),
                   "built by another version of o2o-ops")
    (out / lake.MANIFEST).unlink()
    assert_refused(run_cli("assemble", "--source", source, "--lake", str(out), "--warehouse", str(target)),
                   "holds no finished build")
    assert not target.exists()


@pytest.mark.parametrize("table,change,message", [
    ("orders", "SELECT * FROM t UNION ALL (SELECT * FROM t ORDER BY order_id LIMIT 1)",
     "holds 2 rows of orders with the same key (order_id O1)"),
    ("redemptions", "SELECT * REPLACE (CASE WHEN order_id = 'O1' THEN 'O404' ELSE order_id END AS order_id) FROM t",
     "holds redemptions whose order_id O404 is not in orders"),
    ("orders", "SELECT * REPLACE ('S404' AS store_id) FROM t",
     "holds orders whose store_id S404 is not in stores"),
], ids=["duplicate order", "orphan redemption", "order of an unknown store"])
def test_a_source_with_a_broken_key_is_not_assembled(round_trip, tmp_path, table, change, message):
    """No index of the warehouse enforces the order-level keys (schema.sql): assemble checks them."""
    source = tmp_path / "source"
    shutil.copytree(round_trip["root"] / "source", source)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT * FROM {lake.read_expr(source, table)}")
    con.execute(f"COPY ({change}) TO '{source / (table + '.parquet')}' (FORMAT parquet)")
    con.close()
    target = tmp_path / "served.duckdb"
    assert_refused(run_cli("assemble", "--source", str(source), "--lake", str(round_trip["root"] / "out"),
                           "--warehouse", str(target)), message)
    assert not target.exists() and not list(tmp_path.glob(".served.duckdb*"))


def test_bad_arguments_are_refused(round_trip, tmp_path):
    assert_refused(run_cli("build", "--engine", "spark", "--source", str(round_trip["root"] / "source"),
                           "--out", str(tmp_path / "o"), "--shuffle-partitions", "0"), "at least 1")
    assert_refused(run_cli("build", "--engine", "duckdb", "--source", str(round_trip["root"] / "source"),
                           "--out", str(round_trip["root"] / "source")), "is the source folder")
