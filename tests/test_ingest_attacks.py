"""Import attacks: each bad file is refused in our words — file, row and column named where there
is one — and the warehouse file is byte-identical afterwards. Rows are checked against the source
file by hand: a CSV's header is row 1 and a quoted field holding a newline is still one row.

Covers issue #14 item 3 (finite numbers, date windows, chronology, decompressed size, encodings,
empty file, ragged row, unclosed quote, oversize row, wrong format) and the importer's side of
item 5 (staging left by a killed import is swept on the next run)."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import tracemalloc
import zipfile
from pathlib import Path

import duckdb
import pytest

from o2o_ops import ingest
from test_ingest import cli

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
BASE = FIXTURES / "base"
ORDERS_HEADER = "order_id,customer_id,store_id,ordered_at,list_price,paid_amount\n"
TODAY = dt.date.today()
# Words of DuckDB's own messages that must never reach the user.
DUCKDB_WORDS = ("Error:", "duckdb", "Exception", "sniff", "Traceback", "Original Line", "LINE 1")


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    """The importer's today is TODAY for the whole test, even across midnight."""
    monkeypatch.setattr(ingest, "_today", lambda: TODAY)


@pytest.fixture(scope="module")
def base_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wh = tmp_path_factory.mktemp("base") / "o2o.duckdb"
    ingest.import_dir(BASE, warehouse=wh)
    return wh


@pytest.fixture()
def warehouse(base_warehouse: Path, tmp_path: Path) -> Path:
    """A private copy of the base fixture's warehouse (2 stores, orders o1-o3, ...)."""
    wh = tmp_path / "o2o.duckdb"
    shutil.copy(base_warehouse, wh)
    return wh


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refused(warehouse: Path, table: str, path: Path, **kwargs) -> ingest.ImportRejected:
    """Import ``path`` expecting a refusal; checks the warehouse did not change by one byte and
    that the report is ours, not DuckDB's."""
    before = digest(warehouse)
    with pytest.raises(ingest.ImportRejected) as caught:
        ingest.import_file(table, path, warehouse=warehouse, **kwargs)
    assert digest(warehouse) == before
    report = caught.value.report()
    assert not [w for w in DUCKDB_WORDS if w in report], report
    assert "nothing was written" in report
    return caught.value


def where(rejected: ingest.ImportRejected) -> list[tuple]:
    return [(p.kind, p.row, p.column, p.value) for p in rejected.problems]


def scalar(path: Path, sql: str, params=None):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


# --- finite numbers -----------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["NaN", "nan", "inf", "-Infinity", "+INF", "infinity"])
def test_non_finite_money_is_refused(warehouse, tmp_path, value):
    bad = write(tmp_path / "orders.csv", ORDERS_HEADER
                + "n1,c1,s1,2024-03-02 10:00,10,10\n"
                + f"n2,c1,s1,2024-03-02 11:00,10,{value}\n")
    rejected = refused(warehouse, "orders", bad)
    assert where(rejected) == [("wrong_type", 3, "paid_amount", value)]
    # NaN is also how pandas writes "nothing": the message says how to import it as empty
    hint = (" — it looks like an empty value written as text; to import it as empty, list it in the mapping's "
            "null_values") if value.lower() == "nan" else ""
    assert rejected.problems[0].message == \
        f"paid_amount: '{value}' is not a finite number (NaN and infinity are refused){hint}"


def test_non_finite_coordinates_and_parquet_nan_are_refused(warehouse, tmp_path):
    stores = write(tmp_path / "stores.csv", "store_id,name,category,city,lat,lon\n"
                                            "s5,Tea,cafe,Hangzhou,NaN,120.1\n")
    assert where(refused(warehouse, "stores", stores)) == [("wrong_type", 2, "lat", "NaN")]
    parquet = tmp_path / "orders.parquet"
    duckdb.execute(f"COPY (SELECT * FROM (VALUES ('p1', 'c1', 's1', TIMESTAMP '2024-03-02 10:00', 10.0, 9.0), "
                   f"('p2', 'c1', 's1', TIMESTAMP '2024-03-02 10:00', 'NaN'::DOUBLE, 9.0)) "
                   f"t(order_id, customer_id, store_id, ordered_at, list_price, paid_amount)) "
                   f"TO '{parquet}' (FORMAT parquet)")
    assert where(refused(warehouse, "orders", parquet)) == [("wrong_type", 2, "list_price", "nan")]


# --- dates inside a sane window -----------------------------------------------------------------

def test_order_dates_outside_the_window_are_refused(warehouse, tmp_path):
    tomorrow, after = TODAY + dt.timedelta(days=1), TODAY + dt.timedelta(days=2)
    bad = write(tmp_path / "orders.csv", ORDERS_HEADER
                + "n1,c1,s1,9999-12-31 00:00:00,10,10\n"      # row 2: crashed the landing page
                + "n2,c1,s1,0001-01-01,10,10\n"                # row 3
                + "n3,c1,s1,1999-12-31 23:59,10,10\n"          # row 4: before O2O_EARLIEST_DATE
                + f"n4,c1,s1,{after} 00:00,10,10\n"            # row 5: after tomorrow
                + f"n5,c1,s1,{tomorrow} 23:59,10,10\n"         # row 6: tomorrow is allowed (time zones)
                + "n6,c1,s1,2000-01-01 00:00,10,10\n"          # row 7: the first day allowed
                + "n7,c1,s1,infinity,10,10\n")                 # row 8: DuckDB parses it
    rejected = refused(warehouse, "orders", bad)
    assert [(k, r, c) for k, r, c, _ in where(rejected)] == [
        ("out_of_range", 2, "ordered_at"), ("out_of_range", 3, "ordered_at"),
        ("out_of_range", 4, "ordered_at"), ("out_of_range", 5, "ordered_at"),
        ("out_of_range", 8, "ordered_at")]
    messages = [p.message for p in rejected.problems]
    assert messages[0] == f"ordered_at 9999-12-31 00:00:00 is after tomorrow ({tomorrow}): it cannot have happened yet"
    assert messages[1] == "ordered_at 0001-01-01 00:00:00 is before 2000-01-01 (setting O2O_EARLIEST_DATE)"


def test_tomorrow_counts_from_the_day_of_the_import(warehouse, tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "_today", lambda: dt.date(2024, 3, 1))
    orders = write(tmp_path / "orders.csv", ORDERS_HEADER + "n1,c1,s1,2024-03-02 23:59:59,10,10\n"
                                                            "n2,c1,s1,2024-03-03 00:00:00,10,10\n")
    rejected = refused(warehouse, "orders", orders)
    assert where(rejected) == [("out_of_range", 3, "ordered_at", "2024-03-03 00:00:00")]
    assert rejected.problems[0].message == ("ordered_at 2024-03-03 00:00:00 is after tomorrow (2024-03-02): "
                                            "it cannot have happened yet")


def test_planned_dates_may_be_years_ahead_but_not_more(warehouse, tmp_path):
    ahead = TODAY.replace(year=TODAY.year + 5) if (TODAY.month, TODAY.day) != (2, 29) else TODAY.replace(year=TODAY.year + 5, day=28)
    bad = write(tmp_path / "orders.csv", ORDERS_HEADER.strip() + ",valid_until\n"
                + f"n1,c1,s1,2024-03-02 10:00,10,10,{ahead}\n"                       # row 2: OK
                + f"n2,c1,s1,2024-03-02 10:00,10,10,{ahead + dt.timedelta(days=1)}\n")  # row 3
    rejected = refused(warehouse, "orders", bad)
    assert where(rejected) == [("out_of_range", 3, "valid_until", f"{ahead + dt.timedelta(days=1)} 00:00:00")]
    assert "setting O2O_MAX_YEARS_AHEAD" in rejected.problems[0].message
    campaigns = write(tmp_path / "campaigns.csv", "campaign_id,name,kind,channel,start_date,end_date\n"
                                                  "k9,Forever,group_buy,app,2024-01-01,9999-12-31\n")
    assert where(refused(warehouse, "campaigns", campaigns)) == [("out_of_range", 2, "end_date", "9999-12-31")]


def test_a_store_may_have_opened_before_2000_but_not_in_year_1(warehouse, tmp_path):
    stores = write(tmp_path / "stores.csv", "store_id,name,category,city,lat,lon,opened_on\n"
                                            "s5,Old Tea House,cafe,Hangzhou,30.2,120.1,1935-06-01\n"
                                            "s6,Odd,cafe,Hangzhou,30.2,120.1,0001-01-01\n")
    assert where(refused(warehouse, "stores", stores)) == [("out_of_range", 3, "opened_on", "0001-01-01")]
    stores.write_text("store_id,name,category,city,lat,lon,opened_on\ns5,Old Tea House,cafe,Hangzhou,30.2,120.1,1935-06-01\n")
    ingest.import_file("stores", stores, warehouse=warehouse)
    assert scalar(warehouse, "SELECT opened_on FROM stores WHERE store_id = 's5'") == [(dt.date(1935, 6, 1),)]


def test_the_window_settings_apply_and_bad_settings_are_refused(warehouse, tmp_path, monkeypatch):
    orders = write(tmp_path / "orders.csv", ORDERS_HEADER + "n1,c1,s1,2024-03-01 10:00,10,10\n")
    monkeypatch.setenv("O2O_EARLIEST_DATE", "2024-03-02")
    assert where(refused(warehouse, "orders", orders)) == [("out_of_range", 2, "ordered_at", "2024-03-01 10:00:00")]
    monkeypatch.setenv("O2O_EARLIEST_DATE", "March 2024")
    rejected = refused(warehouse, "orders", orders)
    assert list(rejected.counts) == ["bad_setting"] and "O2O_EARLIEST_DATE" in rejected.report()
    monkeypatch.setenv("O2O_EARLIEST_DATE", "2000-01-01")
    monkeypatch.setenv("O2O_MAX_YEARS_AHEAD", "0")
    later = write(tmp_path / "campaigns.csv", "campaign_id,name,kind,channel,start_date,end_date\n"
                                              f"k9,Soon,group_buy,app,{TODAY},{TODAY + dt.timedelta(days=1)}\n")
    assert where(refused(warehouse, "campaigns", later)) == [
        ("out_of_range", 2, "end_date", str(TODAY + dt.timedelta(days=1)))]


# --- chronology ---------------------------------------------------------------------------------

def test_redemption_review_refund_before_the_order_are_refused(warehouse, tmp_path):
    # o1 was ordered 2024-03-02 12:00:00 (base fixture, already in the warehouse)
    redemptions = write(tmp_path / "redemptions.csv", "order_id,redeemed_at\n"
                                                      "o2,2024-03-04 19:00\n"
                                                      "o1,2024-03-02 11:59\n")
    rejected = refused(warehouse, "redemptions", redemptions)
    assert where(rejected) == [("invalid_row", 3, "redeemed_at", "2024-03-02 11:59:00")]
    assert rejected.problems[0].message == ("redeemed_at 2024-03-02 11:59:00 is before its order was placed "
                                            "(ordered_at 2024-03-02 12:00:00): a redemption cannot come before the order")
    reviews = write(tmp_path / "reviews.csv", "review_id,order_id,rating,posted_at\nr9,o3,4,2024-03-01\n")
    assert where(refused(warehouse, "reviews", reviews)) == [("invalid_row", 2, "posted_at", "2024-03-01 00:00:00")]
    refunds = write(tmp_path / "refunds.csv", "order_id,refunded_at,amount\no3,2024-03-04 09:14:59,1\n")
    assert where(refused(warehouse, "refunds", refunds)) == [("invalid_row", 2, "refunded_at", "2024-03-04 09:14:59")]
    # at the very moment of the order is fine
    refunds.write_text("order_id,refunded_at,amount\no3,2024-03-04 09:15:00,1\n")
    assert ingest.import_file("refunds", refunds, warehouse=warehouse).tables[0].rows_added == 1


def test_chronology_uses_the_batch_order_over_the_warehouse_one(warehouse, tmp_path):
    batch = tmp_path / "batch"
    batch.mkdir()
    # a new order and its redemption an hour too early, in the same batch
    write(batch / "orders.csv", ORDERS_HEADER + "o9,c1,s1,2024-03-10 12:00,10,10\n")
    write(batch / "redemptions.csv", "order_id,redeemed_at\no9,2024-03-10 11:00\n")
    before = digest(warehouse)
    with pytest.raises(ingest.ImportRejected) as caught:
        ingest.import_dir(batch, warehouse=warehouse)
    assert [(p.file, p.row, p.column) for p in caught.value.problems] == [
        (str(batch / "redemptions.csv"), 2, "redeemed_at")]
    assert digest(warehouse) == before
    # the batch moves o1 earlier: its redemption in the batch is then fine
    write(batch / "orders.csv", ORDERS_HEADER + "o1,c1,s1,2024-03-01 08:00,100,80\n")
    write(batch / "redemptions.csv", "order_id,redeemed_at\no1,2024-03-01 09:00\n")
    ingest.import_dir(batch, warehouse=warehouse)
    assert scalar(warehouse, "SELECT redeemed_at FROM redemptions WHERE order_id = 'o1'") == [
        (dt.datetime(2024, 3, 1, 9, 0),)]


def test_an_order_moved_after_its_redemption_in_the_warehouse_is_refused(warehouse, tmp_path):
    # o1: redeemed 2024-03-05 12:30, reviewed 2024-03-05 20:00 (in the warehouse)
    orders = write(tmp_path / "orders.csv", ORDERS_HEADER + "o2,c2,s1,2024-03-03 18:30,50,50\n"
                                                            "o1,c1,s1,2024-03-05 13:00,100,80\n")
    rejected = refused(warehouse, "orders", orders)
    assert where(rejected) == [("invalid_row", 3, "ordered_at", "2024-03-05 13:00:00")]
    assert rejected.problems[0].message == (
        "ordered_at 2024-03-05 13:00:00 is after this order's redemption in the warehouse "
        "(redeemed_at 2024-03-05 12:30:00): an order cannot be placed after its redemption")


# --- size limit on decompressed bytes -----------------------------------------------------------

def test_gzip_bomb_is_refused_without_decompressing_it_all(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("O2O_IMPORT_MAX_MB", "2")
    bomb = tmp_path / "orders.csv.gz"
    with gzip.open(bomb, "wb") as gz:
        gz.write(ORDERS_HEADER.encode())
        row = b"n1,c1,s1,2024-03-02 10:00,10,10\n"
        for _ in range(32):                      # 32 MiB of content: 16 times the limit
            gz.write(row * (2**20 // len(row) + 1))
    assert bomb.stat().st_size < 2**20          # the old check (compressed size) let it through
    before = digest(warehouse)
    tracemalloc.start()
    try:
        with pytest.raises(ingest.ImportRejected) as caught:
            ingest.import_file("orders", bomb, warehouse=warehouse)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert digest(warehouse) == before
    rejected = caught.value
    assert where(rejected) == [("file_too_large", None, None, "> 2 MiB")]
    assert "O2O_IMPORT_MAX_MB" in rejected.problems[0].message
    assert peak < 8 * 2**20, f"{peak / 2**20:.1f} MiB held in Python while reading"
    assert not list(Path(tempfile.gettempdir()).glob(f"o2o-import-{os.getpid()}-*"))


def test_a_small_gzip_file_imports(warehouse, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    with gzip.open(folder / "orders.csv.gz", "wt") as gz:
        gz.write(ORDERS_HEADER + "z1,c1,s1,2024-03-02 10:00,10,9.5\n")
    assert cli("import-dir", str(folder), "--warehouse", str(warehouse)) == 0
    assert scalar(warehouse, "SELECT paid_amount FROM orders WHERE order_id = 'z1'") == [(9.5,)]


# --- encodings ----------------------------------------------------------------------------------

STORES_GBK = [("S10", "北京烤鸭店", "北京", "东城区"), ("S11", "上海小笼包", "上海", "黄浦区")]


def test_gbk_stores_import_and_read_back_equal(warehouse):
    result = ingest.import_file("stores", FIXTURES / "stores_gbk.csv", warehouse=warehouse)
    assert result.tables[0].rows_added == 2 and result.tables[0].encoding == "GB18030"
    assert "read as GB18030 text" in result.summary()
    assert scalar(warehouse, "SELECT store_id, name, city, district FROM stores WHERE store_id LIKE 'S1_' "
                             "ORDER BY 1") == STORES_GBK


def test_encoding_named_in_the_mapping(warehouse, tmp_path):
    mapping = write(tmp_path / "m.toml", 'encoding = "gbk"\n')
    ingest.import_file("stores", FIXTURES / "stores_gbk.csv", mapping=mapping, warehouse=warehouse)
    assert scalar(warehouse, "SELECT name FROM stores WHERE store_id = 'S10'") == [("北京烤鸭店",)]


def test_latin1_is_detected_and_round_trips(warehouse):
    result = ingest.import_file("stores", FIXTURES / "stores_latin1.csv", warehouse=warehouse)
    assert result.tables[0].encoding == "Windows-1252 (latin-1)"
    assert scalar(warehouse, "SELECT name, city FROM stores WHERE store_id LIKE 'S2_' ORDER BY 1") == [
        ("Brasserie Ängel", "Genève"), ("Café Crème", "Zürich")]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig", "utf-32"])
def test_unicode_with_a_byte_order_mark(warehouse, tmp_path, encoding):
    text = "store_id,name,category,city,lat,lon\r\nS30,\"北京, 东城\",restaurant,北京,39.9,116.4\r\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = "\ufeff".encode("utf-16-be") + data
    ingest.import_file("stores", write(tmp_path / "stores.csv", data), warehouse=warehouse)
    assert scalar(warehouse, "SELECT name, city FROM stores WHERE store_id = 'S30'") == [("北京, 东城", "北京")]


def test_latin1_after_a_long_ascii_start_is_detected_where_it_appears(warehouse, tmp_path):
    rows = "".join(f"c{i},2024-01-01,Hangzhou\n" for i in range(100, 60100))   # ~1.3 MiB of ASCII
    data = ("customer_id,signup_date,city\n" + rows + "c99,2024-01-01,Zürich\n").encode("latin-1")
    assert len(data) > ingest.CHUNK_BYTES
    ingest.import_file("customers", write(tmp_path / "customers.csv", data), warehouse=warehouse)
    assert scalar(warehouse, "SELECT city FROM customers WHERE customer_id = 'c99'") == [("Zürich",)]


def test_transcoding_streams_in_chunks(warehouse, tmp_path):
    row = "c{},2024-01-01,Genève\n"
    data = ("customer_id,signup_date,city\n" + "".join(row.format(i) for i in range(500_000))).encode("latin-1")
    assert len(data) > 12 * 2**20
    tracemalloc.start()
    try:
        ingest.import_file("customers", write(tmp_path / "customers.csv", data), warehouse=warehouse)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"{peak / 2**20:.1f} MiB held in Python while transcoding"
    assert scalar(warehouse, "SELECT count(*) FILTER (WHERE city = 'Genève') FROM customers") == [(500_000,)]


def test_text_that_is_not_the_named_encoding_names_its_row(warehouse, tmp_path):
    mapping = write(tmp_path / "m.toml", 'encoding = "utf-8"\n')
    rejected = refused(warehouse, "stores", FIXTURES / "stores_gbk.csv", mapping=mapping)
    assert where(rejected) == [("unreadable_file", 2, None, "B1")]   # 北 in GBK starts B1 B1
    assert rejected.problems[0].message.startswith("the text is not valid UTF-8 (named in the mapping)")
    unknown = write(tmp_path / "u.toml", 'encoding = "klingon"\n')
    assert where(refused(warehouse, "stores", FIXTURES / "stores_gbk.csv", mapping=unknown)) == [
        ("bad_mapping", None, None, "klingon")]


# --- empty, ragged, unclosed, oversize, wrong format --------------------------------------------

def test_empty_file_is_refused_and_header_only_is_an_empty_batch(warehouse, tmp_path):
    rejected = refused(warehouse, "orders", write(tmp_path / "orders.csv", b""))
    assert where(rejected) == [("unreadable_file", None, None, None)]
    assert rejected.problems[0].message.startswith("the file is empty (0 bytes)")
    assert where(refused(warehouse, "orders", write(tmp_path / "blank.csv", "\n\n"))) == [
        ("unreadable_file", 1, None, None)]
    result = ingest.import_file("orders", write(tmp_path / "header.csv", ORDERS_HEADER), warehouse=warehouse)
    assert [(r.rows_read, r.rows_added) for r in result.tables] == [(0, 0)]


def test_ragged_rows_are_named_by_their_row(warehouse, tmp_path):
    bad = write(tmp_path / "stores.csv",
                "store_id,name,category,city,lat,lon\n"       # row 1
                "s5,\"Tea\nHouse\",cafe,Hangzhou,30.2,120.1\n"  # row 2 (two lines, one row)
                "s6,Short,cafe,Hangzhou,30.2\n"                # row 3: a field missing
                "s7,Long,cafe,Hangzhou,30.2,120.1,extra\n"     # row 4: one too many
                "s8,Fine,cafe,Hangzhou,30.2,120.1\n")          # row 5
    rejected = refused(warehouse, "stores", bad)
    assert where(rejected) == [("unreadable_file", 3, "lon", None), ("unreadable_file", 4, None, None)]
    assert [p.message for p in rejected.problems] == [
        "the row has 5 field(s) but the header has 6: a value or a delimiter (comma) is missing; "
        "the row ends before column lon",
        "the row has 7 fields but the header has 6: is a value holding the delimiter (comma) not in quotes?"]


def test_unclosed_quote_is_named_by_the_row_it_opens_in(warehouse, tmp_path):
    bad = write(tmp_path / "stores.csv",
                "store_id,name,category,city,lat,lon\n"
                "s5,Tea,cafe,Hangzhou,30.2,120.1\n"
                "s6,\"Open,cafe,Hangzhou,30.2,120.1\n"          # row 3: the quote never closes
                "s7,Fine,cafe,Hangzhou,30.2,120.1\n")
    rejected = refused(warehouse, "stores", bad)
    assert where(rejected) == [("unreadable_file", 3, None, None)]
    assert "never closed" in rejected.problems[0].message
    # a quote inside an unquoted value is a character, as DuckDB reads it
    fine = write(tmp_path / "stores2.csv", "store_id,name,category,city,lat,lon\n"
                                           "s9,Joe's \"Best\",cafe,Hangzhou,30.2,120.1\n")
    ingest.import_file("stores", fine, warehouse=warehouse)
    assert scalar(warehouse, "SELECT name FROM stores WHERE store_id = 's9'") == [('Joe\'s "Best"',)]


def test_a_20_mib_field_is_refused_by_its_row(warehouse, tmp_path):
    bad = write(tmp_path / "stores.csv",
                "store_id,name,category,city,lat,lon\n"
                "s5,Tea,cafe,Hangzhou,30.2,120.1\n"
                "s6,\"" + "x" * (20 * 2**20) + "\",cafe,Hangzhou,30.2,120.1\n"   # row 3
                "s7,Fine,cafe,Hangzhou,30.2,120.1\n")
    rejected = refused(warehouse, "stores", bad)
    assert where(rejected) == [("unreadable_file", 3, None, "20.0 MiB")]
    assert "more than the 2 MiB a row may have" in rejected.problems[0].message


def zipped() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


@pytest.mark.parametrize("content, found", [
    (b'[{"order_id": "o1", "paid_amount": 80}]', "JSON (the file starts with '[')"),
    (b'\xef\xbb\xbf  {"order_id": "o1"}\n{"order_id": "o2"}\n', "JSON (the file starts with '{')"),
    (zipped(), "a ZIP archive"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "a PDF document"),
    (bytes(range(256)) * 40, "binary data, not text"),
    (b"<html><body>orders</body></html>", "HTML or XML"),
], ids=["json", "ndjson-bom", "xlsx", "pdf", "garbage", "html"])
def test_a_file_that_is_not_csv_is_named(warehouse, tmp_path, content, found):
    rejected = refused(warehouse, "orders", write(tmp_path / "orders.csv", content))
    assert [(p.kind, p.row) for p in rejected.problems] == [("unreadable_file", None)]
    assert rejected.problems[0].message.startswith(f"expected a CSV or Parquet file, found {found}")


def test_a_parquet_file_named_csv_is_read_as_parquet(warehouse, tmp_path):
    path = tmp_path / "orders.csv"
    duckdb.execute(f"COPY (SELECT 'q1' AS order_id, 'c1' AS customer_id, 's1' AS store_id, "
                   f"TIMESTAMP '2024-03-02 10:00' AS ordered_at, 10.0 AS list_price, 7.0 AS paid_amount) "
                   f"TO '{path}' (FORMAT parquet)")
    ingest.import_file("orders", path, warehouse=warehouse)
    assert scalar(warehouse, "SELECT paid_amount FROM orders WHERE order_id = 'q1'") == [(7.0,)]
    garbage = write(tmp_path / "orders.parquet", b"PAR1 and then nothing a reader can use")
    rejected = refused(warehouse, "orders", garbage)
    assert rejected.problems[0].message.startswith("expected a Parquet file, but it cannot be read as one")


def test_blank_lines_do_not_shift_row_numbers(warehouse, tmp_path):
    bad = write(tmp_path / "orders.csv", ORDERS_HEADER
                + "n1,c1,s1,2024-03-02 10:00,10,10\r\n"     # row 2
                + "\r\n"                                    # row 3: blank (skipped)
                + "n2,c1,s1,2024-03-02 10:00,10,-1\n"       # row 4
                + "\n\n"                                    # rows 5, 6
                + "n3,\"c\n1\",s1,2024-03-02 10:00,10,10\n"  # row 7 (one row over two lines)
                + "n4,c1,s1,2024-03-02 10:00,10,oops\n")    # row 8
    rejected = refused(warehouse, "orders", bad)
    assert sorted((p.row, p.column, p.kind) for p in rejected.problems) == [
        (4, "paid_amount", "negative_value"), (7, "customer_id", "unknown_reference"),
        (8, "paid_amount", "wrong_type")]


def test_cli_says_it_in_our_words(warehouse, tmp_path, capsys):
    bad = write(tmp_path / "orders.csv", ORDERS_HEADER + "n1,c1,s1,2024-03-02\n")
    before = digest(warehouse)
    assert cli("import", "orders", str(bad), "--warehouse", str(warehouse)) == 1
    err = capsys.readouterr().err
    assert f"{bad}, row 2, column list_price: the row has 4 field(s) but the header has 6" in err
    assert not [w for w in DUCKDB_WORDS if w in err]
    assert digest(warehouse) == before


# --- staging left by a killed import ------------------------------------------------------------

def test_staging_of_a_dead_process_is_swept_on_the_next_run(warehouse, tmp_path, monkeypatch):
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(gone.stdout)
    leftover = temp / f"o2o-import-{dead_pid}-k1ll3d"
    leftover.mkdir()
    (leftover / "stage.duckdb").write_bytes(b"\0" * 4096)
    live = temp / f"o2o-import-{os.getppid()}-running"     # the parent of pytest: alive
    live.mkdir()
    other = temp / "o2o-import-notapid"
    other.mkdir()
    ingest.import_file("customers", BASE / "customers.csv", warehouse=warehouse)
    assert not leftover.exists()
    assert live.exists() and other.exists()
    assert sorted(p.name for p in temp.iterdir()) == sorted([live.name, other.name])


def test_sweep_leaves_a_live_import_alone(tmp_path):
    mine = tmp_path / f"o2o-import-{os.getpid()}-abc"
    mine.mkdir()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        running = tmp_path / f"o2o-import-{child.pid}-def"
        running.mkdir()
        assert ingest.sweep_staging(tmp_path) == []
        child.kill()
        child.wait()
        assert ingest.sweep_staging(tmp_path) == [running]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert mine.exists() and not running.exists()


def test_a_damaged_gzip_file_is_named(warehouse, tmp_path):
    whole = gzip.compress((ORDERS_HEADER + "z1,c1,s1,2024-03-02 10:00,10,9.5\n" * 2000).encode())
    rejected = refused(warehouse, "orders", write(tmp_path / "orders.csv.gz", whole[:len(whole) // 2]))
    assert [p.message for p in rejected.problems] == ["the gzip file is damaged or incomplete"]


def test_the_data_page_check_gives_the_same_answers(warehouse, tmp_path):
    """The Data page validates through the same staging step: same rows, same words."""
    from o2o_ops import importing_view as data_page

    ragged = write(tmp_path / "stores.csv", "store_id,name,category,city,lat,lon\n"
                                            "s5,\"Tea\r\nHouse\",cafe,Hangzhou,30.2,120.1\n"
                                            "s6,Short,cafe,Hangzhou,30.2\n")
    checked = data_page.check_batch([ingest.Source("stores", ragged)], warehouse=warehouse)
    assert where(checked.rejected) == [("unreadable_file", 3, "lon", None)]
    gbk = data_page.check_batch([ingest.Source("stores", FIXTURES / "stores_gbk.csv")], warehouse=warehouse)
    assert gbk.ok and gbk.rows == {"stores": 2}


def test_utf8_with_one_damaged_byte_is_not_reread_as_another_encoding(warehouse, tmp_path):
    """Chinese UTF-8 text, then one bad byte: refused by its row, not imported as mojibake."""
    rows = "".join(f"S{i},北京店{i},restaurant,北京,39.9,116.4\n" for i in range(40, 45))
    data = ("store_id,name,category,city,lat,lon\n" + rows).encode() + b"S45,Bad\xff,cafe,X,1,1\n"
    rejected = refused(warehouse, "stores", write(tmp_path / "stores.csv", data))
    assert where(rejected) == [("unreadable_file", 7, None, "FF")]
    assert rejected.problems[0].message.startswith("the text is not valid UTF-8 (as the text before it is)")


def test_a_header_longer_than_a_mib_is_refused(warehouse, tmp_path):
    bad = write(tmp_path / "stores.csv", ",".join(f"col{i}" for i in range(300_000)) + "\ns1\n")
    rejected = refused(warehouse, "stores", bad)
    assert where(rejected) == [("unreadable_file", 1, None, None)]
    assert rejected.problems[0].message.startswith("the header (row 1) is longer than 1 MiB")


@pytest.mark.parametrize("first, second", [("\r\n", "\n"), ("\n", "\r"), ("\r", "\r")],
                         ids=["crlf-then-lf", "lf-then-cr", "cr-only"])
def test_rows_ending_in_any_mix_of_line_breaks_are_read_and_counted(warehouse, tmp_path, first, second):
    bad = write(tmp_path / "stores.csv", "store_id,name,category,city,lat,lon" + first
                + "s5,\"Tea\r\nHouse\",cafe,Hangzhou,30.2,120.1" + second   # row 2, its CRLF kept
                + "s6,Fine,cafe,Hangzhou,30.2,120x" + first)                  # row 3
    assert where(refused(warehouse, "stores", bad)) == [("wrong_type", 3, "lon", "120x")]
    bad.write_bytes(bad.read_bytes().replace(b"120x", b"120.2"))
    ingest.import_file("stores", bad, warehouse=warehouse)
    assert scalar(warehouse, "SELECT name FROM stores WHERE store_id IN ('s5', 's6') ORDER BY 1") == [
        ("Fine",), ("Tea\r\nHouse",)]


def test_sweep_keeps_a_folder_whose_lock_is_held_whatever_its_pid(tmp_path):
    """A process in another pid namespace sharing the temp folder: its pid means nothing here,
    its lock still does."""
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    foreign = tmp_path / f"o2o-import-{int(gone.stdout)}-ns2"
    foreign.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time\n"
                               "fh = open(sys.argv[1], 'w'); fcntl.flock(fh, fcntl.LOCK_EX)\n"
                               "print('locked', flush=True); time.sleep(60)", str(foreign / ".lock")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert ingest.sweep_staging(tmp_path) == []
        holder.kill()
        holder.wait()
        assert ingest.sweep_staging(tmp_path) == [foreign]
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_an_overlong_text_value_is_refused_in_parquet_and_csv(warehouse, tmp_path):
    parquet = tmp_path / "stores.parquet"
    duckdb.execute(f"COPY (SELECT * FROM (VALUES ('s5', 'Tea', 'cafe', 'Hangzhou', 30.2, 120.1), "
                   f"('s6', repeat('x', 20 * 1024 * 1024), 'cafe', 'Hangzhou', 30.2, 120.1)) "
                   f"t(store_id, name, category, city, lat, lon)) TO '{parquet}' (FORMAT parquet)")
    rejected = refused(warehouse, "stores", parquet)
    assert where(rejected) == [("out_of_range", 2, "name", "x" * 40 + "…")]
    assert rejected.problems[0].message == ("name is 20,971,520 characters long; a text value may have "
                                            "at most 4,096")
    csv_file = write(tmp_path / "stores.csv", "store_id,name,category,city,lat,lon\n"
                                              f"s5,Tea,cafe,Hangzhou,30.2,120.1\ns6,Tea,{'c' * 5000},Hangzhou,30.2,120.1\n")
    assert where(refused(warehouse, "stores", csv_file)) == [("out_of_range", 3, "category", "c" * 40 + "…")]


def test_the_data_page_previews_gbk_latin1_and_gzip_files(tmp_path, monkeypatch):
    from o2o_ops import importing_view as data_page

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gbk = data_page.preview(ingest.Source("stores", FIXTURES / "stores_gbk.csv"))
    assert gbk.rows[["store_id", "name", "city"]].values.tolist() == [[s, n, c] for s, n, c, _ in STORES_GBK]
    latin = data_page.preview(ingest.Source("stores", FIXTURES / "stores_latin1.csv"))
    assert latin.rows["name"].tolist() == ["Café Crème", "Brasserie Ängel"]
    big = tmp_path / "customers.csv.gz"
    with gzip.open(big, "wt", encoding="utf-16") as gz:   # 2.5 MiB of text: the sample is cut
        gz.write("customer_id,signup_date,city\n" + "".join(f"c{i},2024-01-01,\"Gen\nève\"\n" for i in range(80_000)))
    shown = data_page.preview(ingest.Source("customers", big), rows=3)
    assert shown.rows.values.tolist() == [[f"c{i}", "2024-01-01", "Gen\nève"] for i in range(3)]
    samples = list((tmp_path / f"o2o-import-{os.getpid()}-preview").iterdir())
    assert len(samples) == 3 and all(p.stat().st_size <= ingest.CHUNK_BYTES for p in samples)


def test_a_parquet_file_is_measured_by_its_uncompressed_size(warehouse, tmp_path, monkeypatch):
    path = tmp_path / "orders.parquet"
    duckdb.execute(f"COPY (SELECT 'o' || i AS order_id, 'c1' AS customer_id, 's1' AS store_id, "
                   f"TIMESTAMP '2024-03-02' AS ordered_at, 1.0 AS list_price, 1.0 AS paid_amount, "
                   f"repeat('a', 1000) || i AS tracking_code FROM range(20000) t(i)) "
                   f"TO '{path}' (FORMAT parquet, COMPRESSION zstd)")
    assert path.stat().st_size < 2**20              # about 50 KiB on disk, about 19 MiB of data
    monkeypatch.setenv("O2O_IMPORT_MAX_MB", "2")
    rejected = refused(warehouse, "orders", path)
    assert [(p.kind, p.row) for p in rejected.problems] == [("file_too_large", None)]
    assert rejected.problems[0].message.endswith("once decompressed, more than the limit of 2 MiB "
                                                 "(setting O2O_IMPORT_MAX_MB)")
