"""The command line answers a careless or hostile call in our words, never with a traceback:
a week thousands of years away, a read-only warehouse (file or folder), an old warehouse without
``warehouse_meta``; and ``kpis --format csv`` neutralises spreadsheet formulas like every export.

Each case runs the real command in a process of its own. A file or folder marked read-only
(no write bit) is respected even by root, who could write it anyway, so the read-only cases
hold whoever runs the tests."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from o2o_ops import db, ingest
from tiny import build_tiny

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "o2o_ops", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def assert_refused(proc: subprocess.CompletedProcess, message: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return build_tiny(tmp_path_factory.mktemp("cli") / "tiny.duckdb")


def test_report_for_a_week_thousands_of_years_away(tiny: Path, tmp_path: Path):
    for week in ("9999-W52", "0001-W01"):
        proc = run_cli("report", "--week", week, "--warehouse", str(tiny), "--out", str(tmp_path / "r.html"))
        assert_refused(proc, f"error: week {week} is outside the years a report can cover (1900–2200); "
                             f"the data runs 2026-W43 → 2026-W46.")
    assert not (tmp_path / "r.html").exists()


def _store_file(folder: Path) -> Path:
    path = folder / "stores.csv"
    path.write_text("store_id,name,category,city,lat,lon\nS1,Renamed by mistake,cafe,Suzhou,31.3,120.6\n")
    path.chmod(0o644)
    return path


def test_import_into_a_read_only_warehouse_file(tiny: Path, tmp_path: Path):
    folder = tmp_path / "wh"
    folder.mkdir()
    wh = folder / "o2o.duckdb"
    shutil.copyfile(tiny, wh)
    wh.chmod(0o444)
    before = wh.read_bytes()
    proc = run_cli("import", "stores", str(_store_file(tmp_path)), "--warehouse", str(wh), "--quiet")
    assert_refused(proc, f"error: The warehouse {wh} is read-only. Nothing was written")
    assert wh.read_bytes() == before and oct(wh.stat().st_mode & 0o777) == "0o444"
    assert [p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".lock"))] == []   # no copy begun


def test_import_into_a_warehouse_in_a_read_only_folder(tiny: Path, tmp_path: Path):
    folder = tmp_path / "wh"
    folder.mkdir()
    wh = folder / "o2o.duckdb"
    shutil.copyfile(tiny, wh)
    wh.chmod(0o644)
    folder.chmod(0o555)
    try:
        before = wh.read_bytes()
        proc = run_cli("import", "stores", str(_store_file(tmp_path)), "--warehouse", str(wh), "--quiet")
        assert_refused(proc, f"error: The folder {folder} is not writable, so the warehouse o2o.duckdb cannot "
                             f"be changed")
        assert wh.read_bytes() == before
        # refresh is a write too
        assert_refused(run_cli("refresh", "--warehouse", str(wh)), "is not writable")
    finally:
        folder.chmod(0o755)


def test_info_on_an_old_warehouse_without_warehouse_meta(tiny: Path, tmp_path: Path):
    old = tmp_path / "old.duckdb"
    shutil.copyfile(tiny, old)
    con = duckdb.connect(str(old))
    con.execute("DROP TABLE warehouse_meta")
    con.close()
    proc = run_cli("info", "--warehouse", str(old))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    assert "  orders                  6" in proc.stdout
    assert f"note: The warehouse at {old} was prepared by another version of o2o-ops. Refresh" in proc.stderr
    # the pages' reader says the same, as a WarehouseError, and refresh brings it up to date
    with pytest.raises(db.StaleWarehouse):
        db.connect(old)
    assert run_cli("refresh", "--warehouse", str(old)).returncode == 0
    assert "note:" not in run_cli("info", "--warehouse", str(old)).stderr


def test_kpis_csv_neutralises_formulas(tiny: Path, tmp_path: Path):
    wh = tmp_path / "formula.duckdb"
    shutil.copyfile(tiny, wh)
    stores = tmp_path / "stores.csv"
    stores.write_text('store_id,name,category,city,lat,lon\nS1,Lakeside Noodles,restaurant,"=HYPERLINK(""http://x"")",30.25,120.13\n'
                      "S2,Bund Hotel,hotel,@SUM(A1),31.23,121.47\n")
    ingest.import_file("stores", stores, warehouse=wh)
    proc = run_cli("kpis", "--by", "city", "--kpi", "orders", "--format", "csv", "--warehouse", str(wh))
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert {r["city"]: float(r["orders"]) for r in rows} == {
        "'=HYPERLINK(\"http://x\")": 3, "'@SUM(A1)": 2, "Shanghai": 1}
    assert not proc.stdout.startswith("\ufeff")


@pytest.mark.parametrize("command", ["attention", "anomalies", "forecast"])
@pytest.mark.parametrize("limit, message", [("0", "must be at least 1, not 0"), ("-3", "must be at least 1, not -3"),
                                            ("ten", "must be a whole number, not 'ten'")])
def test_listing_commands_refuse_a_limit_below_one_the_same_way(tiny: Path, command: str, limit: str, message: str):
    proc = run_cli(command, "--limit", limit, "--warehouse", str(tiny))
    assert_refused(proc, f"python -m o2o_ops {command}: error: argument --limit: {message}")
    assert proc.stdout == ""


@pytest.mark.parametrize("raised, code, words", [
    (RuntimeError("boom\nsecond line"), 1,
     "error: the command stopped on an unexpected problem (RuntimeError: boom). A write that did not finish "
     "leaves the warehouse as it was. Please report it with the command you ran."),
    (duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate 64 MiB\nPossible solutions: …"), 2,
     "error: the warehouse engine ran out of memory (Out of Memory Error: failed to allocate 64 MiB). A write "
     "that did not finish leaves the warehouse as it was. Free memory on this machine and run the command again."),
    (KeyboardInterrupt(), 130, "interrupted. A write that did not finish leaves the warehouse as it was."),
])
def test_an_unexpected_failure_of_any_command_is_one_plain_line(tiny, monkeypatch, capsys, raised, code, words):
    from o2o_ops import __main__ as cli_main
    from o2o_ops.cli import info_cmd

    def fails(args):
        raise raised

    monkeypatch.setattr(info_cmd, "run", fails)
    assert cli_main.main(["info", "--warehouse", str(tiny)]) == code
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and "second line" not in err and "Possible solutions" not in err


def test_output_piped_into_a_reader_that_stops_early_is_no_error(demo_warehouse: Path):
    """``python -m o2o_ops forecast | head -1``: the reader closes the pipe while the command still
    writes. The command stops quietly (it said "the command stopped on an unexpected problem
    (BrokenPipeError)" and asked for a bug report). Here the pipe is closed before the command
    writes anything, so its first line meets it: the same error, every time."""
    proc = subprocess.Popen([sys.executable, "-m", "o2o_ops", "forecast", "--warehouse", str(demo_warehouse)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()
    stderr = proc.stderr.read()
    proc.wait(timeout=300)
    assert stderr == "", stderr
    assert proc.returncode == 1
