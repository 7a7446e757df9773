"""The Data page: its core helpers (o2o_ops/data_page.py) checked exactly, and the page in
AppTest — import log, warehouse tables and quality checks of a small warehouse with planted
problems, and the upload flow (broken file -> problems listed, import disabled; good file ->
imported, the sidebar sees the new data without a restart)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from apptest_util import ROOT, texts
from tiny import TABLE_ROWS, build_tiny, insert_rows
from o2o_ops import data_checks as quality, db, importing_view as data_page, ingest
from o2o_ops.ui.upload import safe_file_name

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"

# The tiny warehouse plus two planted quality problems: store S4 at (0, 0) (no usable
# coordinates) and review R3 of order O3, which was never redeemed.
PLANTED = {
    **TABLE_ROWS,
    "stores": TABLE_ROWS["stores"] + [
        ("S4", "Null Island Spa", "beauty", "Hangzhou", 0.0, 0.0, None, None, None, None, None, None)],
    "reviews": TABLE_ROWS["reviews"] + [("R3", "O3", 3, "2026-11-05 10:00", None, None)],
}
# Order dates 10-20, 11-02, 11-03, 11-04, 11-05, 11-10: gaps 10-21..11-01 (12 days) and
# 11-06..11-09 (4 days).
DAYS_MISSING = 16

CUSTOMERS_CSV = b"customer_id,signup_date,city\nC5,2026-11-01,Hangzhou\n"
BROKEN_ORDERS_CSV = (b"order_id,customer_id,store_id,ordered_at,list_price,paid_amount\n"
                     b"O7,C1,S99,2026-11-11 12:00,100,80\n"        # row 2: unknown store
                     b"O8,C2,S1,2026-11-11 13:00,100,eighty\n"     # row 3: wrong type
                     b"O9,C9,S1,2026-11-11 14:00,100,90\n")        # row 4: unknown customer
GOOD_STORES_CSV = (b"store_id;name;category;city;lat;lon\r\n"
                   b"S5;\"Tea; and Cake\";cafe;Suzhou;31.3;120.6\r\n")


@pytest.fixture()
def warehouse(tmp_path: Path) -> Path:
    """The planted tiny warehouse with one earlier import (customer C5, by 'tester')."""
    wh = build_tiny(tmp_path / "o2o.duckdb", PLANTED)
    first = tmp_path / "upload" / "customers_extra.csv"
    first.parent.mkdir()
    first.write_bytes(CUSTOMERS_CSV)
    ingest.import_file("customers", first, warehouse=wh, imported_by="tester")
    return wh


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


# --- core helpers -----------------------------------------------------------------------------

@pytest.mark.parametrize("name, table", [
    ("orders.csv", "orders"), ("2024_Orders_export.CSV", "orders"), ("store-list.parquet", "stores"),
    ("cost.csv", "costs"), ("customer_orders.csv", "customers"), ("export.csv", None),
    ("reviews_bad_rating.csv", "reviews"),
])
def test_guess_table(name, table):
    assert data_page.guess_table(name) == table


def test_preview_renames_with_the_mapping_and_reads_only_the_first_rows(tmp_path: Path):
    raw = ingest.read_mapping_file(FIXTURES / "mapping.toml")
    src = write(tmp_path / "tianchi.csv",
                b"Order_id,User_id,Merchant_id,Date_received,Price,Paid,Coupon\n"
                + b"".join(b"o%d,c1,s2,201607%02d,30,25,x\n" % (i, i) for i in range(1, 21)))
    shown = data_page.preview(ingest.Source("orders", src, ingest.mapping_for(raw, "orders")), rows=3)
    assert list(shown.rows.columns) == ["order_id", "customer_id", "store_id", "ordered_at",
                                        "list_price", "paid_amount"]
    assert shown.rows["order_id"].tolist() == ["o1", "o2", "o3"]
    assert shown.rows["ordered_at"].tolist() == ["20160701", "20160702", "20160703"]
    assert shown.renamed["Merchant_id"] == "store_id" and len(shown.renamed) == 6
    assert shown.ignored == ("Coupon",)
    assert shown.missing_required == ()


def test_preview_of_a_dialect_file_and_missing_columns():
    shown = data_page.preview(ingest.Source("stores", FIXTURES / "stores_dialect.csv"))
    assert shown.rows["store_id"].tolist() == ["s3", "s4"]
    assert shown.rows["name"].tolist() == ["Tea; and\r\nCake", 'Say "hi"']
    missing = data_page.preview(ingest.Source("orders", FIXTURES / "orders_missing_column.csv"))
    assert missing.missing_required == ("paid_amount",)


def test_preview_of_an_unreadable_file_is_a_clear_error(tmp_path: Path):
    bad = write(tmp_path / "orders.parquet", b"this is not parquet at all")
    with pytest.raises(data_page.PreviewError, match="orders.parquet cannot be read as Parquet"):
        data_page.preview(ingest.Source("orders", bad))


def test_check_batch_counts_exactly_and_names_row_column_value(warehouse: Path, tmp_path: Path):
    src = write(tmp_path / "orders_broken.csv", BROKEN_ORDERS_CSV)
    checked = data_page.check_batch([ingest.Source("orders", src)], warehouse=warehouse)
    assert not checked.ok and checked.rows == {"orders": 3}
    assert checked.rejected.counts == {"wrong_type": 1, "unknown_reference": 2}
    summary = data_page.problem_summary(checked.rejected)
    assert summary.to_dict("list") == {
        "kind": ["wrong_type", "unknown_reference"],
        "label": ["Wrong type", "Key points at nothing"],
        "count_problems": [1, 2]}
    refs = data_page.problem_examples(checked.rejected, "unknown_reference",
                                      file_names={str(src): "my orders.csv"})
    assert refs[["file", "row", "column", "value"]].values.tolist() == [
        ["my orders.csv", 2, "store_id", "S99"], ["my orders.csv", 4, "customer_id", "C9"]]
    wrong = data_page.problem_examples(checked.rejected, "wrong_type", first=1)
    assert wrong[["file", "row", "column", "value"]].values.tolist() == [
        ["orders_broken.csv", 3, "paid_amount", "eighty"]]


def test_check_batch_ok_counts_rows_and_writes_nothing(warehouse: Path, tmp_path: Path):
    before = warehouse.stat().st_mtime_ns
    src = write(tmp_path / "stores.csv", GOOD_STORES_CSV)
    checked = data_page.check_batch([ingest.Source("stores", src)], warehouse=warehouse)
    assert checked.ok and checked.rows == {"stores": 1}
    assert warehouse.stat().st_mtime_ns == before


def test_check_batch_of_garbage_is_a_problem_not_a_crash(warehouse: Path, tmp_path: Path):
    bad = write(tmp_path / "orders.parquet", b"\x00\x01 not parquet")
    checked = data_page.check_batch([ingest.Source("orders", bad)], warehouse=warehouse)
    assert list(checked.rejected.counts) == ["unreadable_file"]


def test_problem_examples_keep_at_most_five_but_count_all(warehouse: Path, tmp_path: Path):
    rows = b"".join(b"X%d,C1,S1,2026-11-11 12:00,100,-1\n" % i for i in range(12))
    src = write(tmp_path / "orders.csv", b"order_id,customer_id,store_id,ordered_at,list_price,paid_amount\n" + rows)
    rejected = data_page.check_batch([ingest.Source("orders", src)], warehouse=warehouse).rejected
    assert data_page.problem_summary(rejected)["count_problems"].tolist() == [12]
    assert data_page.problem_examples(rejected, "negative_value")["row"].tolist() == [2, 3, 4, 5, 6]


def test_warehouse_views(warehouse: Path):
    con = db.connect(warehouse)
    try:
        log = data_page.import_log(con)
        assert log[["imported_by", "file", "table_name", "rows_added", "rows_updated", "rows_rejected"]
                   ].values.tolist() == [["tester", "customers_extra.csv", "customers", 1, 0, 0]]
        summary = data_page.warehouse_summary(con)
        assert dict(zip(summary["table_name"], summary["count_rows"])) == {
            "stores": 4, "campaigns": 1, "customers": 5, "orders": 6, "redemptions": 4,
            "reviews": 5, "refunds": 1, "costs": 4, "store_hours": 0, "inspections": 5, "events": 8, "targets": 0}
        checks = data_page.quality_checks(con)
        assert dict(zip(checks["check"], checks["count_problems"])) == {
            "orphans": 0, "date_gaps": DAYS_MISSING, "stores_without_coordinates": 1,
            "reviews_without_redemptions": 1, "discount_direction": 0}
        assert data_page.quality_check_rows(con, "reviews_without_redemptions")["review_id"].tolist() == ["R3"]
        with pytest.raises(ValueError, match="unknown quality check"):
            data_page.quality_check_rows(con, "drop table stores")
    finally:
        con.close()


def test_uploaded_by_and_safe_file_names():
    assert data_page.uploaded_by({"name": "mei"}) == "mei"
    assert data_page.uploaded_by({}) == "app" and data_page.uploaded_by(None) == "app"
    assert safe_file_name("../../etc/passwd") == "passwd"
    assert safe_file_name("C:\\Users\\x\\My Orders (1).csv") == "My_Orders_1_.csv"
    assert safe_file_name("..") == "upload"


# --- the page ---------------------------------------------------------------------------------

def open_page(page: str, warehouse: Path, *, session: dict | None = None) -> AppTest:
    """Like apptest_util.open_page, but switches to ``page`` even when the default page fails on
    this warehouse (the overview is another page's business; this file tests the Data page)."""
    os.environ["O2O_WAREHOUSE"] = str(warehouse)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.run()
    at.switch_page(page).run()
    return at


def sidebar_cities(warehouse: Path) -> list[str]:
    """The sidebar's city choices, as a new visitor in this same process sees them (AppTest
    drops the sidebar after switch_page, so a fresh session on the default page is used; the
    caches are the process's, so stale caches would show here)."""
    os.environ["O2O_WAREHOUSE"] = str(warehouse)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.run()
    return list(at.multiselect(key="flt_city").options)


def frame_with(at, column: str) -> list[pd.DataFrame]:
    return [df.value for df in at.dataframe if column in df.value.columns]


def test_page_shows_log_tables_and_quality_checks(warehouse: Path):
    at = open_page("pages/data.py", warehouse)
    assert not at.exception
    assert at.title[0].value == "Data"
    (log,) = frame_with(at, "rows_rejected")
    assert log[["imported_by", "file", "table_name", "rows_added", "rows_updated", "rows_rejected"]
               ].values.tolist() == [["tester", "customers_extra.csv", "customers", 1, 0, 0]]
    (tables,) = frame_with(at, "count_rows")
    assert dict(zip(tables["table_name"], tables["count_rows"]))["customers"] == 5
    (checks,) = frame_with(at, "description")
    assert checks["count_problems"].tolist() == [0, DAYS_MISSING, 1, 1, 0]
    assert "3 of 5 checks find something" in texts(at)
    # The first check that finds something is shown; choosing another shows its rows.
    assert at.selectbox(key="data_quality_check").value == "date_gaps"
    (gaps,) = frame_with(at, "days_missing")
    assert gaps["days_missing"].tolist() == [12, 4]
    at.selectbox(key="data_quality_check").set_value("stores_without_coordinates").run()
    (rows,) = frame_with(at, "lat")
    assert rows["store_id"].tolist() == ["S4"]
    at.selectbox(key="data_quality_check").set_value("orphans").run()
    assert "orphans: nothing found." in texts(at)
    assert "Upload one or more files" in texts(at)


def test_upload_broken_then_good_file(warehouse: Path):
    at = open_page("pages/data.py", warehouse)
    uploader = at.file_uploader(key="data_files_0")
    uploader.set_value(("orders_broken.csv", BROKEN_ORDERS_CSV, "text/csv")).run()
    assert not at.exception
    assert at.selectbox(key=next(s.key for s in at.selectbox if s.key.startswith("data_table_"))).value == "orders"
    (preview,) = frame_with(at, "paid_amount")
    assert preview["order_id"].tolist() == ["O7", "O8", "O9"]
    shown = texts(at)
    assert "3 problem(s) of 2 kind(s)" in shown
    assert [e.label for e in at.expander if "(" in e.label and ":" in e.label] == [
        "Wrong type (wrong_type): 1", "Key points at nothing (unknown_reference): 2"]
    (refs,) = [df for df in frame_with(at, "message") if "store_id" in df["column"].tolist()]
    assert refs[["file", "row", "column", "value"]].values.tolist() == [
        ["orders_broken.csv", 2, "store_id", "S99"], ["orders_broken.csv", 4, "customer_id", "C9"]]
    (button,) = [b for b in at.button if b.label == "Import"]
    assert button.disabled
    assert "Suzhou" not in sidebar_cities(warehouse)

    # A good file (semicolons, CRLF, a quoted ';'), for a store in a new city.
    at.file_uploader(key="data_files_0").set_value(("my_stores.csv", GOOD_STORES_CSV, "text/csv")).run()
    assert not at.exception
    assert "No problems found: stores 1 rows. Ready to import." in texts(at)
    (button,) = [b for b in at.button if b.label == "Import"]
    assert not button.disabled
    button.click().run()
    assert not at.exception
    assert "Imported 1 file(s): 1 rows added, 0 updated, 0 unchanged." in texts(at)
    (result,) = frame_with(at, "rows_unchanged")
    assert result.to_dict("records") == [{"table": "stores", "file": "my_stores.csv", "rows_read": 1,
                                          "rows_added": 1, "rows_updated": 0, "rows_unchanged": 0}]
    # The app sees the new data at once: sidebar choices (cached in this process before the
    # import), table counts, the log.
    assert "Suzhou" in sidebar_cities(warehouse)
    (tables,) = frame_with(at, "count_rows")
    assert dict(zip(tables["table_name"], tables["count_rows"]))["stores"] == 5
    (log,) = frame_with(at, "rows_rejected")
    assert log[["imported_by", "file", "table_name", "rows_added"]].values.tolist()[0] == [
        "app", "my_stores.csv", "stores", 1]
    assert len(log) == 2
    # The uploader was emptied for the next batch.
    assert at.file_uploader(key="data_files_1").value in (None, [])


def test_values_kept_as_written_are_named_after_the_import(warehouse: Path):
    """A customers export writing NULL and n/a in optional text columns: imported as written (a
    city may be called NA), and the page says which values, how many rows, and how to import them
    as empty."""
    at = open_page("pages/data.py", warehouse)
    csv = (b"customer_id,signup_date,city,tier\n"
           b"C6,2026-11-01,NULL,gold\nC7,2026-11-02,NULL,n/a\nC8,2026-11-03,Suzhou,\n")
    at.file_uploader(key="data_files_0").set_value(("more_customers.csv", csv, "text/csv")).run()
    said = ("customers: kept as written: city 'NULL' (2 row(s)), tier 'n/a' (1 row(s)). If they mean empty, "
            "list them in the mapping's null_values and import again.")
    # said when checked, before anything is written
    assert [re.sub(r"\\(.)", r"\1", i.body) for i in at.info if i.body.startswith("customers")] == [said]
    [b for b in at.button if b.label == "Import"][0].click().run()
    assert not at.exception
    notes = [re.sub(r"\\(.)", r"\1", i.body) for i in at.info if i.body.startswith("customers")]  # markdown unescaped
    assert notes == ["customers: kept as written: city 'NULL' (2 row(s)), tier 'n/a' (1 row(s)). If they mean empty, "
                     "list them in the mapping's null_values and import again."]
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("SELECT customer_id, city, tier FROM customers WHERE customer_id >= 'C6' "
                       "ORDER BY 1").fetchall() == [("C6", "NULL", "gold"), ("C7", "NULL", "n/a"), ("C8", "Suzhou", None)]
    con.close()


def test_kept_notes_in_chinese():
    result = ingest.ImportResult(Path("w.duckdb"), (
        ingest.TableResult("customers", "c.csv", 3, 3, 0, 0, kept_as_text=(("city", "NULL", 2), ("tier", "n/a", 1))),
        ingest.TableResult("orders", "o.csv", 1, 1, 0, 0)))
    assert data_page.kept_notes({r.table: r.kept_as_text for r in result.tables}, "zh") == [
        "顾客：已按原文保留：city“NULL”（2 行），tier“n/a”（1 行）。如果它们表示空值，请在映射的 null_values 中列出它们后重新导入。"]
    assert result.tables[0].kept_words() == "city 'NULL' (2 rows), tier 'n/a' (1 row)"
    # the result's tables as the page names them elsewhere: 顾客 in Chinese, the file name in English
    assert data_page.result_table(result, lang="zh")["table"].tolist() == ["顾客", "订单"]
    assert data_page.result_table(result)["table"].tolist() == ["customers", "orders"]


def test_upload_with_mapping(warehouse: Path):
    """With no users file the app runs open and the log says 'app' (a signed-in user's name is
    data_page.uploaded_by, tested above)."""
    at = open_page("pages/data.py", warehouse)
    csv = (b"Order_id,User_id,Merchant_id,Date_received,Price,Paid\n"
           b"O20,C2,S2,20261111,30,25\n")
    at.file_uploader(key="data_files_0").set_value(("orders_tianchi.csv", csv, "text/csv"))
    at.file_uploader(key="data_mapping_0").set_value(
        ("mapping.toml", (FIXTURES / "mapping.toml").read_bytes(), "application/toml")).run()
    assert not at.exception
    (preview,) = frame_with(at, "paid_amount")
    assert preview.values.tolist() == [["O20", "C2", "S2", "20261111", "30", "25"]]
    assert "renamed Order_id → order_id" in texts(at)
    [b for b in at.button if b.label == "Import"][0].click().run()
    assert not at.exception
    (log,) = frame_with(at, "rows_rejected")
    assert log[["imported_by", "file", "table_name", "rows_added"]].values.tolist()[0] == [
        "app", "orders_tianchi.csv", "orders", 1]


def test_a_broken_mapping_file_is_a_message(warehouse: Path):
    at = open_page("pages/data.py", warehouse)
    at.file_uploader(key="data_mapping_0").set_value(("mapping.toml", b"columns = [not toml", "text/plain")).run()
    assert not at.exception
    assert at.error and "The mapping file mapping.toml cannot be used" in texts(at)


# --- stored quality checks (sql/rollups_data_checks.sql) ------------------------------------------

def _orphaned_warehouse(path: Path) -> Path:
    """The planted tiny warehouse written around the importer: the schema without its foreign
    keys, plus rows pointing at a missing customer, store, campaign and order."""
    con = duckdb.connect(str(path))
    try:
        con.execute(re.sub(r"\s+REFERENCES \w+ \(\w+\)", "", db.load_sql("schema")))
        tables = {**PLANTED,
                  "orders": PLANTED["orders"] + [
                      ("O90", "C404", "S404", "2026-11-05 09:00", 10, 10, "K404", "app", 0, 0, "paid", None, None)],
                  "redemptions": PLANTED["redemptions"] + [("O404", "2026-11-05 10:00", 5, 5, 0)],
                  "refunds": PLANTED["refunds"] + [("O405", "2026-11-05 10:00", 1.0, None),
                                                   ("O404", "2026-11-05 10:00", 1.0, None)]}
        for table in db.CONTRACT_TABLES:
            rows = tables.get(table, [])
            if rows:
                insert_rows(con, table, rows)
        db.rebuild_rollups(con)
    finally:
        con.close()
    return path


# Independent reference queries for the stored checks, run on the contract tables as they stand.
def _reference(con, check: str) -> pd.DataFrame:
    if check == "orphans":
        parts = [f"SELECT '{t.name}' AS table_name, '{fk.column}' AS column_name, '{fk.parent}' AS parent_table, "
                 f"count(*) AS count_orphans, min(x.{fk.column}) AS example_value FROM {t.name} x "
                 f"WHERE x.{fk.column} IS NOT NULL AND NOT EXISTS "
                 f"(SELECT 1 FROM {fk.parent} y WHERE y.{fk.parent_column} = x.{fk.column})"
                 for t in ingest.CONTRACT.values() for fk in t.foreign_keys]
        df = db.run(con, " UNION ALL ".join(parts))
        return df[df["count_orphans"] > 0].reset_index(drop=True)
    if check == "date_gaps":
        return db.run(con, """
            WITH days AS (SELECT DISTINCT CAST(ordered_at AS DATE) AS d FROM orders),
                 steps AS (SELECT d, lead(d) OVER (ORDER BY d) AS next_d FROM days)
            SELECT d + 1 AS gap_start, next_d - 1 AS gap_end, date_diff('day', d, next_d) - 1 AS days_missing
            FROM steps WHERE date_diff('day', d, next_d) > 1 ORDER BY gap_start""")
    if check == "stores_without_coordinates":
        return db.run(con, "SELECT store_id, name, city, lat, lon FROM stores "
                           "WHERE lat IS NULL OR lon IS NULL OR (lat = 0 AND lon = 0) ORDER BY store_id")
    if check == "discount_direction":   # share taken off by the orders, against the rate and 1 - rate
        return db.run(con, """
            SELECT c.campaign_id, c.name, c.discount_rate, o.share AS observed_discount_share, o.n AS count_orders
            FROM campaigns c
            JOIN (SELECT campaign_id, count(*) AS n, sum(discount_amount) / sum(list_price) AS share FROM orders
                  WHERE campaign_id IS NOT NULL AND list_price > 0 AND discount_amount IS NOT NULL
                  GROUP BY campaign_id) o USING (campaign_id)
            WHERE o.n >= 5 AND abs(o.share - c.discount_rate) > 0.1
              AND abs(o.share - 1 + c.discount_rate) < abs(o.share - c.discount_rate)
            ORDER BY c.campaign_id""")
    return db.run(con, """
        SELECT v.review_id, v.order_id, v.rating, v.posted_at, o.store_id
        FROM reviews v JOIN orders o USING (order_id)
        WHERE NOT EXISTS (SELECT 1 FROM redemptions r WHERE r.order_id = v.order_id)
        ORDER BY v.posted_at, v.review_id""")


def test_stored_quality_checks_equal_independent_queries(warehouse: Path, tmp_path: Path):
    orphaned = _orphaned_warehouse(tmp_path / "orphaned.duckdb")
    for path in (warehouse, orphaned):
        con = db.connect(path)
        try:
            for name, (check, _) in quality.CHECKS.items():
                pd.testing.assert_frame_equal(check(con), _reference(con, name), check_dtype=False, obj=name)
            gaps = _reference(con, "date_gaps")
            pd.testing.assert_frame_equal(quality.date_gaps(con, min_days=5),
                                          gaps[gaps["days_missing"] >= 5].reset_index(drop=True), check_dtype=False)
            counts = quality.run_all(con).set_index("check")["count_problems"].to_dict()
            assert counts == {"orphans": int(_reference(con, "orphans")["count_orphans"].sum()),
                              "date_gaps": int(gaps["days_missing"].sum()),
                              "stores_without_coordinates": len(_reference(con, "stores_without_coordinates")),
                              "reviews_without_redemptions": len(_reference(con, "reviews_without_redemptions")),
                              "discount_direction": len(_reference(con, "discount_direction"))}
        finally:
            con.close()
    con = db.connect(orphaned)
    try:
        found = quality.orphans(con)
        assert found[["table_name", "column_name", "count_orphans", "example_value"]].values.tolist() == [
            ["orders", "customer_id", 1, "C404"], ["orders", "store_id", 1, "S404"],
            ["orders", "campaign_id", 1, "K404"], ["redemptions", "order_id", 1, "O404"],
            ["refunds", "order_id", 2, "O404"]]
        # the stored orphan check covers every foreign key of the contract, in its order
        stored = db.run(con, "SELECT table_name, column_name, parent_table FROM quality_orphans ORDER BY position")
        assert stored.values.tolist() == [[t.name, fk.column, fk.parent] for t in ingest.CONTRACT.values()
                                          for fk in t.foreign_keys]
    finally:
        con.close()


def test_a_warehouse_without_stored_checks_is_stale_and_says_how_to_refresh(warehouse: Path):
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("DROP TABLE quality_orphans")
    finally:
        con.close()
    con = db.connect(warehouse)
    try:
        with pytest.raises(db.StaleWarehouse, match=r"quality_orphans.*python -m o2o_ops refresh"):
            data_page.quality_checks(con)
    finally:
        con.close()
    db.refresh(warehouse)
    con = db.connect(warehouse)
    try:
        checks = data_page.quality_checks(con)
        assert dict(zip(checks["check"], checks["count_problems"])) == {
            "orphans": 0, "date_gaps": DAYS_MISSING, "stores_without_coordinates": 1,
            "reviews_without_redemptions": 1, "discount_direction": 0}
        assert data_page.quality_check_rows(con, "reviews_without_redemptions")["review_id"].tolist() == ["R3"]
    finally:
        con.close()


def test_stored_review_problems_are_all_kept_so_the_count_is_exact():
    statement = db.load_sql("rollups_data_checks").split("quality_reviews_without_redemptions AS", 1)[1]
    assert "LIMIT" not in statement.split(";", 1)[0]


def test_quality_counts_stay_exact_beyond_the_examples(tmp_path, monkeypatch):
    """The examples are capped; the count in run_all is not."""
    from o2o_ops import data_checks as quality, db
    from tiny import build_tiny

    monkeypatch.setattr(quality, "EXAMPLES", 1)
    wh = build_tiny(tmp_path / "tiny.duckdb")
    with db.rebuild(wh) as con:   # two stores without coordinates
        con.execute("UPDATE stores SET lat = 0, lon = 0 WHERE store_id IN ('S2', 'S3')")
    con = db.connect(wh)
    counts = quality.run_all(con).set_index("check")["count_problems"]
    assert counts["stores_without_coordinates"] == 2
    assert len(quality.stores_without_coordinates(con)) == 1
    con.close()


def test_every_kind_of_import_problem_has_a_label_in_words():
    assert set(data_page.PROBLEM_LABELS) == set(ingest.PROBLEM_KINDS)
    assert data_page.PROBLEM_LABELS["bad_setting"] == "Server setting wrong"
