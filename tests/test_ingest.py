"""Import: validation problems (one per kind), CSV dialects, Parquet, mappings, idempotence,
size limit, round trip from the demo warehouse, and a kill in the middle of a write."""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from o2o_ops import data_checks as quality, db, ingest
from o2o_ops.cli import import_cmd

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
BASE = FIXTURES / "base"
REPO = Path(__file__).resolve().parent.parent


def cli(*argv: str) -> int:
    """Run the import commands in-process (only this command module, so the test does not
    depend on the other commands being present)."""
    parser = argparse.ArgumentParser()
    import_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args([*argv, "--quiet"])
    return args.func(args)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def counts(path: Path) -> dict[str, int]:
    con = db.connect(path)
    try:
        return db.table_counts(con)
    finally:
        con.close()


def one(path: Path, sql: str, params=None):
    con = db.connect(path)
    try:
        return con.execute(sql, params or {}).fetchone()
    finally:
        con.close()


@pytest.fixture()
def warehouse(tmp_path: Path) -> Path:
    wh = tmp_path / "o2o.duckdb"
    assert cli("import-dir", str(BASE), "--warehouse", str(wh)) == 0
    return wh


def test_base_fixture_imports(warehouse: Path):
    assert counts(warehouse) == {"stores": 2, "campaigns": 1, "customers": 2, "orders": 3,
                                 "redemptions": 2, "reviews": 2, "refunds": 1, "costs": 2, "store_hours": 0,
                                 "inspections": 0, "events": 0, "targets": 0}
    assert one(warehouse, "SELECT sum(paid_amount) FROM rollup_day_store_channel_campaign")[0] == 370
    log = one(warehouse, "SELECT count(*), min(imported_by) FROM import_log")
    assert log[0] == 8 and log[1]


# --- one test per kind of problem --------------------------------------------------------------

BROKEN = [
    # table, file, kind, row, column, value
    ("orders", "orders_missing_column.csv", "missing_column", 1, "paid_amount", None),
    ("orders", "orders_wrong_type.csv", "wrong_type", 3, "paid_amount", "eighty"),
    ("orders", "orders_bad_date.csv", "bad_date", 2, "ordered_at", "2024-13-45 12:00:00"),
    ("reviews", "reviews_bad_rating.csv", "out_of_range", 3, "rating", "7"),
    ("stores", "stores_bad_coordinates.csv", "out_of_range", 2, "lat", "123.4"),
    ("orders", "orders_negative_money.csv", "negative_value", 2, "paid_amount", "-5.0"),
    ("orders", "orders_duplicate_key.csv", "duplicate_key", 3, "order_id", "o7"),
    ("orders", "orders_unknown_store.csv", "unknown_reference", 2, "store_id", "s99"),
]


@pytest.mark.parametrize("table,name,kind,row,column,value", BROKEN, ids=[b[2] for b in BROKEN])
def test_broken_file_is_refused_and_warehouse_unchanged(warehouse, capsys, table, name, kind, row,
                                                        column, value):
    before_bytes, before_counts = digest(warehouse), counts(warehouse)
    path = FIXTURES / name

    with pytest.raises(ingest.ImportRejected) as caught:
        ingest.import_file(table, path, warehouse=warehouse)
    problems = [p for p in caught.value.problems if p.kind == kind]
    assert len(problems) == 1, caught.value.report()
    p = problems[0]
    assert (p.file, p.row, p.column, p.value) == (str(path), row, column, value)
    assert caught.value.counts == {kind: 1}

    assert cli("import", table, str(path), "--warehouse", str(warehouse)) == 1
    err = capsys.readouterr().err
    assert f"{kind} (1):" in err
    assert f"{path}, row {row}, column {column}:" in err
    if value is not None:
        assert value in err
    assert "nothing was written" in err

    assert digest(warehouse) == before_bytes
    assert counts(warehouse) == before_counts


# the order-level tables hold no key index (schema.sql): the importer alone keeps their keys unique
# and their parents present, for every key and foreign key of each
KEYS_KEPT = [
    # table, header, rows, kind, row, column, value
    ("orders", "order_id,customer_id,store_id,ordered_at,list_price,paid_amount,campaign_id",
     ["o9,c404,s1,2024-03-07 10:00,10,10,"], "unknown_reference", 2, "customer_id", "c404"),
    ("orders", "order_id,customer_id,store_id,ordered_at,list_price,paid_amount,campaign_id",
     ["o9,c1,s1,2024-03-07 10:00,10,10,k404"], "unknown_reference", 2, "campaign_id", "k404"),
    ("redemptions", "order_id,redeemed_at", ["o404,2024-03-07 10:00"], "unknown_reference", 2, "order_id", "o404"),
    ("redemptions", "order_id,redeemed_at", ["o3,2024-03-07 10:00", "o3,2024-03-08 10:00"],
     "duplicate_key", 3, "order_id", "o3"),
    ("reviews", "review_id,order_id,rating,posted_at", ["r9,o404,4,2024-03-07 10:00"],
     "unknown_reference", 2, "order_id", "o404"),
    ("reviews", "review_id,order_id,rating,posted_at", ["r9,o1,4,2024-03-07 10:00", "r9,o2,3,2024-03-07 11:00"],
     "duplicate_key", 3, "review_id", "r9"),
    ("refunds", "order_id,refunded_at,amount", ["o404,2024-03-07 10:00,5"], "unknown_reference", 2, "order_id", "o404"),
    ("refunds", "order_id,refunded_at,amount", ["o1,2024-03-07 10:00,5", "o1,2024-03-07 10:00,6"],
     "duplicate_key", 3, None, None),
]


@pytest.mark.parametrize("table,header,rows,kind,row,column,value", KEYS_KEPT,
                         ids=[f"{k[0]}-{k[3]}-{k[5]}" for k in KEYS_KEPT])
def test_the_importer_keeps_the_order_level_keys(tmp_path, warehouse, table, header, rows, kind, row, column, value):
    before = digest(warehouse)
    path = tmp_path / f"{table}.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    with pytest.raises(ingest.ImportRejected) as caught:
        ingest.import_file(table, path, warehouse=warehouse)
    assert caught.value.counts == {kind: 1}, caught.value.report()
    problem = caught.value.problems[0]
    assert problem.row == row
    if column is not None:
        assert (problem.column, problem.value) == (column, value)
    assert digest(warehouse) == before


def test_problems_are_grouped_and_capped(tmp_path, warehouse):
    bad = tmp_path / "orders.csv"
    rows = "\n".join(f"x{i},c1,s1,2024-03-02,10,oops" for i in range(50))
    bad.write_text("order_id,customer_id,store_id,ordered_at,list_price,paid_amount\n" + rows + "\n")
    with pytest.raises(ingest.ImportRejected) as caught:
        ingest.import_file("orders", bad, warehouse=warehouse)
    assert caught.value.counts == {"wrong_type": 50}
    report = caught.value.report()
    assert report.count("is not a number") == 5 and "... and 45 more" in report


def test_required_amount_written_null_is_said_to_be_empty(tmp_path, warehouse, capsys):
    """A careless export: an order's paid_amount written NULL, a cost's amount written n/a. Each
    is reported as a required value that is empty, with its file, row, column and the text as
    written (not "is not a number"); an optional number written NULL is still refused, with the
    way to import it as empty; nothing is written."""
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "orders.csv").write_text(
        "order_id,customer_id,store_id,ordered_at,list_price,paid_amount,discount_amount\n"
        "o8,c1,s1,2024-03-04 10:00:00,60,60,0\n"
        "o9,c1,s1,2024-03-04 11:00:00,60,NULL,NULL\n")
    (folder / "costs.csv").write_text("date,cost_type,amount,store_id\n2024-03-04,staff,n/a,s1\n")
    before_bytes, before_counts = digest(warehouse), counts(warehouse)

    assert cli("import-dir", str(folder), "--warehouse", str(warehouse)) == 1
    err = capsys.readouterr().err
    assert (f"{folder / 'orders.csv'}, row 3, column paid_amount: paid_amount is required but empty: "
            "'NULL' is an empty value written as text") in err
    assert (f"{folder / 'costs.csv'}, row 2, column amount: amount is required but empty: "
            "'n/a' is an empty value written as text") in err
    assert (f"{folder / 'orders.csv'}, row 3, column discount_amount: discount_amount: 'NULL' is not a "
            "number — it looks like an empty value written as text; to import it as empty, list it in "
            "the mapping's null_values") in err
    assert "paid_amount: 'NULL' is not a number" not in err and "'n/a' is not a number" not in err
    assert "nothing was written" in err
    assert digest(warehouse) == before_bytes and counts(warehouse) == before_counts

    with pytest.raises(ingest.ImportRejected) as caught:
        ingest.import_dir(folder, warehouse=warehouse)
    found = sorted((Path(p.file).name, p.row, p.column, p.value, p.kind) for p in caught.value.problems)
    assert found == [("costs.csv", 2, "amount", "n/a", "missing_value"),
                     ("orders.csv", 3, "discount_amount", "NULL", "wrong_type"),
                     ("orders.csv", 3, "paid_amount", "NULL", "missing_value")]
    by_column = {p.column: p for p in caught.value.problems}
    assert by_column["paid_amount"].text("zh", file="orders.csv") == (
        "orders.csv，第 3 行，列 paid_amount：paid_amount 是必填项，但为空：“NULL”是写成文字的空值")
    assert by_column["discount_amount"].words("zh") == (
        "discount_amount：“NULL”不是数字 —— 看起来是写成文字的空值；要按空值导入，请在映射的 null_values 中列出它")
    assert digest(warehouse) == before_bytes


def test_batch_with_one_bad_file_writes_nothing(tmp_path, warehouse):
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "customers.csv").write_text("customer_id,signup_date\nc50,2024-01-01\n")
    (folder / "orders.csv").write_text((FIXTURES / "orders_negative_money.csv").read_text())
    before = digest(warehouse)
    assert cli("import-dir", str(folder), "--warehouse", str(warehouse)) == 1
    assert digest(warehouse) == before


def test_reference_to_parent_in_same_batch_is_accepted(tmp_path, warehouse):
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "stores.csv").write_text("store_id,name,category,city,lat,lon\ns99,New,spa,Ningbo,29.9,121.5\n")
    (folder / "orders.csv").write_text((FIXTURES / "orders_unknown_store.csv").read_text())
    assert cli("import-dir", str(folder), "--warehouse", str(warehouse)) == 0
    assert one(warehouse, "SELECT store_id FROM orders WHERE order_id = 'o9'") == ("s99",)


# --- formats ------------------------------------------------------------------------------------

def test_csv_dialect_semicolon_bom_crlf_quoted_newline(warehouse):
    result = ingest.import_file("stores", FIXTURES / "stores_dialect.csv", warehouse=warehouse)
    assert [(r.rows_read, r.rows_added) for r in result.tables] == [(2, 2)]
    names = dict(duckdb.connect(str(warehouse), read_only=True).execute(
        "SELECT store_id, name FROM stores WHERE city = 'Suzhou'").fetchall())
    assert names == {"s3": "Tea; and\r\nCake", "s4": 'Say "hi"'}


def test_tab_and_pipe_delimiters_are_detected(tmp_path):
    for delim in ("\t", "|"):
        path = tmp_path / "customers.csv"
        path.write_text(delim.join(["customer_id", "signup_date", "tier"]) + "\n"
                        + delim.join(["c1", "2024-01-01", "gold"]) + "\n")
        assert ingest.sniff_delimiter(path) == delim
        wh = tmp_path / f"wh{ord(delim)}.duckdb"
        ingest.import_file("customers", path, warehouse=wh)
        assert one(wh, "SELECT tier FROM customers") == ("gold",)


def test_parquet(tmp_path, warehouse):
    path = tmp_path / "orders.parquet"
    duckdb.execute(f"""COPY (SELECT 'p' || i AS order_id, 'c1' AS customer_id, 's2' AS store_id,
                              TIMESTAMP '2024-03-10 10:00:00' + INTERVAL (i) HOUR AS ordered_at,
                              10.0 AS list_price, 9.5 AS paid_amount, 'paid' AS status
                       FROM range(100) t(i)) TO '{path}' (FORMAT parquet)""")
    result = ingest.import_file("orders", path, warehouse=warehouse)
    assert result.tables[0].rows_added == 100
    assert one(warehouse, "SELECT count(*), sum(paid_amount) FROM orders WHERE order_id LIKE 'p%'") == (100, 950)


def test_parquet_problem_rows_count_records_from_one(tmp_path, warehouse):
    path = tmp_path / "reviews.parquet"
    duckdb.execute(f"""COPY (SELECT * FROM (VALUES ('r8', 'o1', 4, '2024-03-06'),
                                                   ('r9', 'o1', 0, '2024-03-06'))
                             t(review_id, order_id, rating, posted_at)) TO '{path}' (FORMAT parquet)""")
    with pytest.raises(ingest.ImportRejected) as caught:
        ingest.import_file("reviews", path, warehouse=warehouse)
    assert [(p.row, p.column, p.value) for p in caught.value.problems] == [(2, "rating", "0")]


@pytest.mark.parametrize("mapping", ["mapping.toml", "mapping.yaml"])
def test_mapping_renames_columns_and_parses_yyyymmdd(warehouse, mapping):
    assert cli("import", "orders", str(FIXTURES / "orders_tianchi.csv"),
               "--mapping", str(FIXTURES / mapping), "--warehouse", str(warehouse)) == 0
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute("SELECT order_id, customer_id, store_id, ordered_at, paid_amount FROM orders "
                       "WHERE order_id IN ('o20', 'o21') ORDER BY 1").fetchall()
    assert [(r[0], r[1], r[2], r[3].isoformat(), r[4]) for r in rows] == [
        ("o20", "c1", "s2", "2016-07-12T00:00:00", 25.0),
        ("o21", "c2", "s1", "2016-07-13T00:00:00", 40.0)]


def test_mapping_to_unknown_column_is_a_problem(tmp_path, warehouse):
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\nPaid = "paid_amt"\n')
    with pytest.raises(ingest.ImportRejected) as caught:
        ingest.import_file("orders", FIXTURES / "orders_tianchi.csv", mapping=mapping, warehouse=warehouse)
    assert "bad_mapping" in caught.value.counts


# --- idempotence and upsert ---------------------------------------------------------------------

def test_reimport_changes_nothing(warehouse):
    kpi = "SELECT sum(paid_amount), sum(count_paid_redeemed), sum(rating_sum) FROM rollup_day_store_channel_campaign"
    before_counts, before_kpi = counts(warehouse), one(warehouse, kpi)
    for _ in range(2):
        result = ingest.import_dir(BASE, warehouse=warehouse)
        assert all(r.rows_added == 0 and r.rows_updated == 0 for r in result.tables), result.summary()
        assert counts(warehouse) == before_counts
        assert one(warehouse, kpi) == before_kpi


def test_corrected_row_updates_only_that_row(tmp_path, warehouse):
    fixed = tmp_path / "orders.csv"
    fixed.write_text((BASE / "orders.csv").read_text().replace(",100,80,k1,", ",100,75,k1,"))
    result = ingest.import_file("orders", fixed, warehouse=warehouse)
    assert (result.tables[0].rows_added, result.tables[0].rows_updated,
            result.tables[0].rows_unchanged) == (0, 1, 2)
    assert one(warehouse, "SELECT paid_amount FROM orders WHERE order_id = 'o1'") == (75,)
    assert one(warehouse, "SELECT sum(paid_amount) FROM rollup_day_store_channel_campaign") == (365,)


def test_referenced_order_can_move_store_and_parent_rows_update(tmp_path, warehouse):
    # o1 has a redemption and a review: DuckDB refuses DELETE/INSERT OR REPLACE of it.
    moved = tmp_path / "orders.csv"
    moved.write_text("order_id,customer_id,store_id,ordered_at,list_price,paid_amount\n"
                     "o1,c1,s2,2024-03-02 12:00:00,100,80\n")
    stores = tmp_path / "stores.csv"
    stores.write_text((BASE / "stores.csv").read_text().replace("Noodle House", "Noodle Palace"))
    assert ingest.import_file("orders", moved, warehouse=warehouse).tables[0].rows_updated == 1
    assert ingest.import_file("stores", stores, warehouse=warehouse).tables[0].rows_updated == 1
    assert one(warehouse, "SELECT store_id FROM orders WHERE order_id = 'o1'") == ("s2",)
    assert one(warehouse, "SELECT name FROM stores WHERE store_id = 's1'") == ("Noodle Palace",)
    # columns absent from the file were left alone, children are still there
    assert one(warehouse, "SELECT campaign_id, tracking_code FROM orders WHERE order_id = 'o1'") == ("k1", "T1")
    assert counts(warehouse)["redemptions"] == 2 and counts(warehouse)["reviews"] == 2


def test_costs_dedupe_on_key_with_nulls(tmp_path, warehouse):
    costs = tmp_path / "costs.csv"
    costs.write_text("date,cost_type,amount,store_id,campaign_id\n2024-03-02,marketing,350,,k1\n")
    result = ingest.import_file("costs", costs, warehouse=warehouse)
    assert (result.tables[0].rows_added, result.tables[0].rows_updated) == (0, 1)
    assert one(warehouse, "SELECT count(*), sum(amount) FROM costs") == (2, 1150)
    costs.write_text("date,cost_type,amount,store_id,campaign_id\n2024-03-02,marketing,350,,k1\n"
                     "2024-03-02,marketing,1,,k1\n")
    with pytest.raises(ingest.ImportRejected) as caught:
        ingest.import_file("costs", costs, warehouse=warehouse)
    assert caught.value.problems[0].row == 3 and caught.value.problems[0].kind == "duplicate_key"


def test_first_import_creates_the_warehouse(tmp_path):
    wh = tmp_path / "new" / "o2o.duckdb"
    ingest.import_file("customers", BASE / "customers.csv", warehouse=wh)
    assert counts(wh)["customers"] == 2


# --- limits and progress ------------------------------------------------------------------------

def test_file_over_size_limit_is_refused_before_reading(warehouse, monkeypatch, capsys):
    monkeypatch.setenv("O2O_IMPORT_MAX_MB", "0.0001")  # about 100 bytes
    before = digest(warehouse)
    assert cli("import", "orders", str(BASE / "orders.csv"), "--warehouse", str(warehouse)) == 1
    err = capsys.readouterr().err
    assert "file_too_large" in err and "O2O_IMPORT_MAX_MB" in err
    assert digest(warehouse) == before


def test_progress_is_reported_and_reaches_one(tmp_path):
    seen: list[tuple[float, str]] = []
    ingest.import_dir(BASE, warehouse=tmp_path / "wh.duckdb", progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in fractions)
    assert any("rollups" in m for _, m in seen)


# --- round trip from the demo warehouse ----------------------------------------------------------

ROUND_TRIP_SUMS = {
    "orders": "sum(paid_amount), sum(list_price), sum(discount_amount), sum(platform_fee), count(DISTINCT store_id)",
    "redemptions": "sum(wait_minutes), sum(extra_spend)",
    "reviews": "sum(rating), count(*) FILTER (WHERE as_described)",
    "refunds": "sum(amount)",
    "costs": "sum(amount), sum(staff_hours)",
    "stores": "sum(lat), sum(listed_rating)",
    "rollup_day_store_channel_campaign": "sum(count_paid), sum(paid_amount), sum(count_paid_redeemed), sum(rating_sum), sum(count_new_customers)",
    "rollup_costs": "sum(amount)",
}


def test_round_trip_demo_export_import(tmp_path):
    demo = pytest.importorskip("o2o_ops.demo")
    source = tmp_path / "demo.duckdb"
    demo.build_demo(source, orders=3000, seed=7)
    con = duckdb.connect(str(source), read_only=True)
    ingest.export_tables(con, tmp_path / "export")
    con.close()
    target = tmp_path / "imported.duckdb"
    result = ingest.import_dir(tmp_path / "export", warehouse=target)
    assert all(r.rows_updated == 0 for r in result.tables)
    assert counts(target) == counts(source)
    for table, sums in ROUND_TRIP_SUMS.items():
        sql = f"SELECT {sums} FROM {table}"
        expected, actual = one(source, sql), one(target, sql)
        assert actual == pytest.approx(expected), table
    # importing the export again changes nothing
    again = ingest.import_dir(tmp_path / "export", warehouse=target)
    assert all(r.rows_added == 0 and r.rows_updated == 0 for r in again.tables)


# --- kill in the middle of a write --------------------------------------------------------------

def test_kill_during_import_leaves_warehouse_as_it_was(tmp_path, warehouse):
    big = tmp_path / "orders.csv"
    duckdb.execute(f"""COPY (SELECT 'big' || i AS order_id, CASE WHEN i % 2 = 0 THEN 'c1' ELSE 'c2' END AS customer_id,
                              CASE WHEN i % 3 = 0 THEN 's1' ELSE 's2' END AS store_id,
                              TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND AS ordered_at,
                              (i % 100)::DOUBLE AS list_price, (i % 90)::DOUBLE AS paid_amount,
                              'paid' AS status
                       FROM range(2000000) t(i)) TO '{big}' (HEADER)""")
    before_bytes, before_counts = digest(warehouse), counts(warehouse)
    code = ("import sys; from o2o_ops import ingest; "
            "ingest.import_file('orders', sys.argv[1], warehouse=sys.argv[2])")
    proc = subprocess.Popen([sys.executable, "-c", code, str(big), str(warehouse)], cwd=REPO)
    tmp_copy = warehouse.with_name(f".{warehouse.name}.{proc.pid}.tmp")
    deadline = time.monotonic() + 120
    while not tmp_copy.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert tmp_copy.exists(), "the import finished or failed before it started writing"
    time.sleep(0.3)  # well into the merge
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert digest(warehouse) == before_bytes
    assert counts(warehouse) == before_counts


# --- quality checks ---------------------------------------------------------------------------

def test_quality_checks_on_small_warehouse(warehouse):
    con = db.connect(warehouse)
    try:
        summary = quality.run_all(con)
        by_name = dict(zip(summary["check"], summary["count_problems"]))
        assert by_name["orphans"] == 0
        assert by_name["reviews_without_redemptions"] == 0
        assert by_name["stores_without_coordinates"] == 0
        # orders on 2024-03-02, 03, 04: no gap; costs only on 03-02
        assert by_name["date_gaps"] == 0
        assert quality.reviews_without_redemptions(con).empty
    finally:
        con.close()
