"""Real exports, as careless hands leave them: the contract's files and the three example exports
(coupon log, review listing, marketplace) re-saved by a spreadsheet or by pandas, cut short,
missing a file or a column. Each either imports with values checked by hand, or is refused with
one message per real problem naming file, row, column and value, the warehouse byte-identical,
never a traceback or DuckDB's words."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from o2o_ops import ingest
from test_ingest import cli

ROOT = Path(__file__).resolve().parent.parent
BASE = Path(__file__).parent / "fixtures" / "ingest" / "base"
# Words of DuckDB's or Python's own messages that must never reach the user.
FOREIGN_WORDS = ("Error:", "duckdb", "Exception", "Traceback", "unexpected problem")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    """A warehouse holding the base fixture (stores s1, s2; orders o1-o3; their reviews ...)."""
    wh = tmp_path_factory.mktemp("filled") / "o2o.duckdb"
    ingest.import_dir(BASE, warehouse=wh)
    return wh


@pytest.fixture(params=["fresh", "filled"])
def warehouse(request, filled: Path, tmp_path: Path) -> Path:
    """A new warehouse path, or a private copy of the filled one."""
    wh = tmp_path / "wh" / "o2o.duckdb"
    wh.parent.mkdir()
    if request.param == "filled":
        shutil.copy(filled, wh)
    return wh


def base_copy(folder: Path, *tables: str) -> Path:
    """``folder`` holding the base fixture's files of ``tables`` (all when none are named)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in BASE.glob("*.csv"):
        if not tables or path.stem in tables:
            shutil.copy(path, folder / path.name)
    return folder


def refused_dir(folder: Path, warehouse: Path, **kwargs) -> ingest.ImportRejected:
    before = digest(warehouse)
    with pytest.raises(ingest.ImportRejected) as caught:
        ingest.import_dir(folder, warehouse=warehouse, **kwargs)
    assert digest(warehouse) == before
    report = caught.value.report()
    assert not [w for w in FOREIGN_WORDS if w in report], report
    return caught.value


def where(rejected: ingest.ImportRejected) -> list[tuple]:
    return [(Path(p.file).name, p.row, p.column, p.kind) for p in rejected.problems]


# ------------------------------------------------------------------------------------------
# A parent file that cannot be read: its own problem, not one per child row
# ------------------------------------------------------------------------------------------

def test_a_stores_file_missing_a_column_is_the_only_problem_of_its_batch(warehouse, tmp_path):
    # Excel user renamed "city" to "town"; orders and costs of the batch name s1, s2. The batch
    # stopped on "Catalog Error: Table with name stage_stores does not exist!" before.
    folder = base_copy(tmp_path / "batch")
    (folder / "stores.csv").write_text((BASE / "stores.csv").read_text().replace(",city,", ",town,"))
    rejected = refused_dir(folder, warehouse)
    assert where(rejected) == [("stores.csv", 1, "city", "missing_column")]
    assert rejected.problems[0].message.startswith("required column 'city' is missing (the file has: "
                                                   "store_id, name, category, town, lat, lon")


def test_a_reviews_file_missing_a_column_beside_its_orders(warehouse, tmp_path):
    # the orders' "placed after a review in the warehouse" check read the missing stage_reviews
    folder = base_copy(tmp_path / "batch", "orders", "reviews")
    (folder / "reviews.csv").write_text((BASE / "reviews.csv").read_text().replace("rating", "stars"))
    if not warehouse.exists():
        base_copy(folder, "stores", "customers", "campaigns")
    rejected = refused_dir(folder, warehouse)
    assert where(rejected) == [("reviews.csv", 1, "rating", "missing_column")]


def test_an_unreadable_stores_file_does_not_make_every_order_unknown(warehouse, tmp_path):
    folder = base_copy(tmp_path / "batch")
    (folder / "stores.csv").write_text("store_id,name,category,city\ns1,\"Noodle House,restaurant,Hangzhou\n")
    rejected = refused_dir(folder, warehouse)
    assert where(rejected) == [("stores.csv", 2, None, "unreadable_file")]
    assert "never closed" in rejected.problems[0].message


def test_the_command_line_says_it_in_our_words(tmp_path):
    folder = base_copy(tmp_path / "batch")
    (folder / "stores.csv").write_text((BASE / "stores.csv").read_text().replace(",city,", ",town,"))
    wh = tmp_path / "o2o.duckdb"
    proc = subprocess.run([sys.executable, "-m", "o2o_ops", "import-dir", str(folder), "--warehouse", str(wh),
                           "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[:3] == [
        "Import refused: 1 problem(s); nothing was written.", "missing_column (1):",
        f"  {folder / 'stores.csv'}, row 1, column city: required column 'city' is missing (the file has: "
        f"store_id, name, category, town, lat, lon, district, region, opened_on, capacity_per_hour, "
        f"listed_rating, listed_wait_minutes)"]
    assert not [w for w in FOREIGN_WORDS if w in proc.stderr + proc.stdout]
    assert not wh.exists()


MAPPING_FIXTURES = Path(__file__).parent / "fixtures" / "mapping"
EXAMPLES = ROOT / "examples" / "mappings"


def export_copy(name: str, folder: Path, leave_out: tuple[str, ...] = ()) -> Path:
    """``folder`` holding the look-alike export ``name`` (tests/fixtures/mapping/<name>)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in (MAPPING_FIXTURES / name).iterdir():
        if path.name not in leave_out:
            shutil.copy(path, folder / path.name)
    return folder


def test_a_marketplace_export_without_its_zip_code_file_is_one_problem(warehouse, tmp_path):
    # The sellers' SQL joins geolocation: without that file the stores cannot be made, and the
    # five orders naming them were each "not in stores" as well.
    folder = export_copy("marketplace", tmp_path / "olist", leave_out=("olist_geolocation_dataset.csv",))
    rejected = refused_dir(folder, warehouse, mapping=EXAMPLES / "marketplace.toml")
    assert [(p.file, p.kind) for p in rejected.problems] == [
        ("marketplace.toml [tables.stores] sql", "bad_mapping")]
    assert "the SQL reads the source 'geolocation', whose file olist_geolocation_dataset.csv is not in this batch" \
        in rejected.problems[0].message


# ------------------------------------------------------------------------------------------
# JSON lines cut short: the line an editor shows
# ------------------------------------------------------------------------------------------

def test_a_review_file_cut_mid_line_names_its_last_line(warehouse, tmp_path):
    # the listing's review.json with a blank line after its third review and its sixth cut
    # mid-record (a download that stopped): line 7 in an editor. DuckDB says "line 7" for the
    # sixth record whatever the blank lines, and said so of line 2 of a two-line file too.
    folder = export_copy("listing", tmp_path / "yelp")
    lines = (folder / "review.json").read_text().splitlines(keepends=True)
    (folder / "review.json").write_text("".join(lines[:3]) + "\n" + "".join(lines[3:5]) + lines[5][:60])
    rejected = refused_dir(folder, warehouse, mapping=EXAMPLES / "review_site.toml")
    assert [(Path(p.file).name, p.kind, p.message) for p in rejected.problems] == [
        ("review.json", "unreadable_file", "expected JSON records: an array of objects, or one object per line "
                                           "(NDJSON), but line 7 is not valid JSON (unexpected end of data), "
                                           "at byte 61 of it")]   # past its 60 characters


@pytest.mark.parametrize("content, words", [
    ('{"store_id": "s1"}\n{"store_id": "s2" "name": "B"}\n{"store_id": "s3"}\n',
     "but line 2 is not valid JSON (unexpected character), at byte 19 of it"),   # its 19th character
    ('\ufeff{"store_id": "s1"}\n\n\n{"store_id": "s2"\n', "but record 2 is not valid JSON (unexpected end of data)"),  # a BOM: read as records
    ('[{"store_id": "s1"},\n {"store_id": "s2",, "name": "B"},\n {"store_id": "s3"}]',
     "but record 2 is not valid JSON (unexpected character)"),
    ('{\n  "store_id": "s1"\n}\n{\n  "store_id" "s2"\n}\n', "but record 2 is not valid JSON (unexpected character)"),
    ('{"store_id" 1}\n', "but record 1 is not valid JSON (unexpected character)"),
])
def test_the_broken_json_record_is_the_one_named(tmp_path, content, words):
    path = tmp_path / "stores.json"
    path.write_text(content)
    (problem,) = ingest.validate([ingest.Source("stores", path)], warehouse=tmp_path / "none.duckdb")
    assert words in problem.message


# ------------------------------------------------------------------------------------------
# Encodings a Chinese spreadsheet writes
# ------------------------------------------------------------------------------------------

def test_gbk_whose_first_chinese_character_is_also_valid_utf8(warehouse, tmp_path):
    # Excel on a Chinese Windows saves CSV as GBK. 圣 is CA A5 there, which UTF-8 reads as 'ʥ'
    # before 保 (B1 A3) fails: the file was refused as "not valid UTF-8 (as the text before it
    # is)", though nothing before that word was beyond ASCII.
    text = ("store_id,name,category,city,lat,lon\r\n"
            "g1,圣保罗面馆,restaurant,杭州,30.25,120.16\r\ng2,西湖酒店,hotel,杭州,30.26,120.15\r\n")
    assert text.encode("gbk")[40:42].decode("utf-8") == "ʥ"
    path = tmp_path / "stores.csv"
    path.write_bytes(text.encode("gbk"))
    result = ingest.import_file("stores", path, warehouse=warehouse)
    assert result.tables[0].encoding == "GB18030"
    con = __import__("duckdb").connect(str(warehouse), read_only=True)
    try:
        assert con.execute("SELECT store_id, name, city FROM stores WHERE store_id LIKE 'g_' ORDER BY 1").fetchall() \
            == [("g1", "圣保罗面馆", "杭州"), ("g2", "西湖酒店", "杭州")]
    finally:
        con.close()


def test_utf8_damaged_in_its_first_chinese_word_is_still_refused(warehouse, tmp_path):
    # the other side of the rule: UTF-8 whose first non-ASCII word has a bad byte is UTF-8 with
    # damage (the rest of it reads as UTF-8), never re-read as GB18030 mojibake
    rows = "".join(f"u{i},北京店{i},restaurant,北京,39.9,116.4\n" for i in range(5))
    data = b"store_id,name,category,city,lat,lon\nu9,\xe5\x8cA,cafe,X,1,1\n" + rows.encode()
    path = tmp_path / "stores.csv"
    path.write_bytes(data)
    before = digest(warehouse)
    with pytest.raises(ingest.ImportRejected) as caught:
        ingest.import_file("stores", path, warehouse=warehouse)
    assert [(p.row, p.value) for p in caught.value.problems] == [(2, "E5 8C")]
    assert caught.value.problems[0].message.startswith("the text is not valid UTF-8 (as the text before it is)")
    assert digest(warehouse) == before


# ------------------------------------------------------------------------------------------
# Numbers and dates as a spreadsheet formats them for reading
# ------------------------------------------------------------------------------------------

ORDERS = "order_id,customer_id,store_id,ordered_at,list_price,paid_amount\n"


@pytest.mark.parametrize("cell, column, message", [
    ('"1,100.00"', "list_price", "list_price: '1,100.00' is not a number — it looks like a number written with "
                                 "thousands separators (1,234.50); export the column as plain numbers, without separators"),
    ('"12,5"', "list_price", "list_price: '12,5' is not a number — it looks like a number written with a decimal "
                             "comma (12,5 for 12.5); export the column with a decimal point"),
    ("¥100", "list_price", "list_price: '¥100' is not a number — it carries a currency sign; export the column as "
                           "plain numbers, without the sign"),
    ("80%", "list_price", "list_price: '80%' is not a number — it is written as a percent, not as one number"),
    ("NaN", "list_price", "list_price: 'NaN' is not a finite number (NaN and infinity are refused) — it looks like "
                          "an empty value written as text; to import it as empty, list it in the mapping's null_values"),
])
def test_a_number_formatted_for_reading_is_refused_saying_how(cell, column, message, tmp_path):
    wh = tmp_path / "o2o.duckdb"
    base_copy(tmp_path / "batch", "stores", "customers")
    (tmp_path / "batch" / "orders.csv").write_text(ORDERS + f"n1,c1,s1,2024-03-02 12:00:00,{cell},80\n")
    rejected = refused_dir(tmp_path / "batch", wh)
    assert [(Path(p.file).name, p.row, p.column, p.message) for p in rejected.problems] == [
        ("orders.csv", 2, column, message)]


@pytest.mark.parametrize("cell, message", [
    ("21/03/2024 12:00", "ordered_at: '21/03/2024 12:00' is not a date-time (ISO 8601 like 2016-07-12) — a "
                         "spreadsheet's date, day first; set date_format = \"%d/%m/%Y\" in the mapping (and "
                         "timestamp_format = \"%d/%m/%Y %H:%M\" for date-times)"),
    ("3/21/2024", "ordered_at: '3/21/2024' is not a date-time (ISO 8601 like 2016-07-12) — a spreadsheet's date, "
                  "month first; set date_format = \"%m/%d/%Y\" in the mapping (and timestamp_format = "
                  "\"%m/%d/%Y %H:%M\" for date-times)"),
    ("2/3/2024 12:00", "ordered_at: '2/3/2024 12:00' is not a date-time (ISO 8601 like 2016-07-12) — a "
                       "spreadsheet's date, day first or month first; name its order in the mapping: date_format = "
                       "\"%d/%m/%Y\" or \"%m/%d/%Y\" (and timestamp_format for date-times)"),
    ("20240302", "ordered_at: '20240302' is not a date-time (ISO 8601 like 2016-07-12) — it looks like a date "
                 "written yyyymmdd; set date_format = \"%Y%m%d\" in the mapping"),
])
def test_a_spreadsheets_date_is_refused_saying_which_format_to_name(cell, message, tmp_path):
    wh = tmp_path / "o2o.duckdb"
    base_copy(tmp_path / "batch", "stores", "customers")
    (tmp_path / "batch" / "orders.csv").write_text(ORDERS + f"n1,c1,s1,{cell},100,80\n")
    rejected = refused_dir(tmp_path / "batch", wh)
    assert [(p.row, p.column, p.message) for p in rejected.problems] == [(2, "ordered_at", message)]
    assert not wh.exists()


def test_the_named_day_first_format_then_imports_it(tmp_path):
    wh = tmp_path / "o2o.duckdb"
    base_copy(tmp_path / "batch", "stores", "customers")
    (tmp_path / "batch" / "orders.csv").write_text(ORDERS + "n1,c1,s1,21/03/2024 12:00,100,80\n"
                                                            "n2,c1,s1,2/3/2024 09:30,100,80\n")
    (tmp_path / "batch" / "mapping.toml").write_text('timestamp_format = "%d/%m/%Y %H:%M"\n')
    ingest.import_dir(tmp_path / "batch", warehouse=wh)
    con = __import__("duckdb").connect(str(wh), read_only=True)
    try:
        assert con.execute("SELECT order_id, ordered_at::VARCHAR FROM orders ORDER BY 1").fetchall() == [
            ("n1", "2024-03-21 12:00:00"), ("n2", "2024-03-02 09:30:00")]
    finally:
        con.close()


def test_the_hints_read_in_chinese():
    problem = ingest.Problem("orders.csv", 2, "list_price", "1,100.00", "wrong_type",
                             "list_price: '1,100.00' is not a number — it looks like a number written with thousands "
                             "separators (1,234.50); export the column as plain numbers, without separators")
    assert problem.text("zh") == ("orders.csv，第 2 行，列 list_price：list_price：“1,100.00”不是数字 —— 看起来是带千位"
                                  "分隔符的数字（1,234.50）；请把该列导出为不带分隔符的纯数字")
    late = ingest.Problem("orders.csv", 3, "ordered_at", "21/03/2024", "bad_date",
                          "ordered_at: '21/03/2024' is not a date-time (ISO 8601 like 2016-07-12) — a spreadsheet's "
                          "date, day first; set date_format = \"%d/%m/%Y\" in the mapping (and timestamp_format = "
                          "\"%d/%m/%Y %H:%M\" for date-times)")
    assert late.words("zh") == ("ordered_at：“21/03/2024”不是日期时间（ISO 8601 格式，如 2016-07-12） —— 电子表格的日期，"
                                "日在前；请在映射中设置 date_format = \"%d/%m/%Y\"（日期时间列另设 timestamp_format = "
                                "\"%d/%m/%Y %H:%M\"）")


def test_optional_text_written_as_an_empty_value_is_kept_and_named(tmp_path, capsys):
    """A customers export writing null / NULL / NA in its optional text columns: kept as written
    (a region may be called NA), and the command line names each value with its rows and says how
    to import them as empty; with null_values they are empty and nothing is named."""
    folder = base_copy(tmp_path / "batch", "stores", "customers")
    (folder / "customers.csv").write_text("customer_id,signup_date,city,tier,acquisition_channel\n"
                                          "c1,2024-01-10,null,gold,NA\n"
                                          "c2,2024-02-11,NULL,NA,NA\n"
                                          "c3,2024-02-12,Hangzhou,,wechat\n")
    wh = tmp_path / "o2o.duckdb"
    assert cli("import-dir", str(folder), "--warehouse", str(wh)) == 0
    out = capsys.readouterr().out
    assert ("kept as written: acquisition_channel 'NA' (2 rows), city 'NULL' (1 row), city 'null' (1 row), "
            "tier 'NA' (1 row); if they mean empty, list them in the mapping's null_values and import again") in out
    result = ingest.import_dir(folder, warehouse=wh)
    (customers,) = [r for r in result.tables if r.table == "customers"]
    assert customers.kept_as_text == (("acquisition_channel", "NA", 2), ("city", "NULL", 1), ("city", "null", 1),
                                      ("tier", "NA", 1))
    assert [r.kept_as_text for r in result.tables if r.table == "stores"] == [()]

    result = ingest.import_dir(folder, warehouse=wh, mapping={"null_values": ["null", "NULL", "NA"]})
    assert all(not r.kept_as_text for r in result.tables)
    con = duckdb.connect(str(wh), read_only=True)
    try:
        assert con.execute("SELECT customer_id, city, tier, acquisition_channel FROM customers ORDER BY 1").fetchall() == [
            ("c1", None, "gold", None), ("c2", None, None, None), ("c3", "Hangzhou", None, "wechat")]
    finally:
        con.close()


def test_a_complaint_written_none_is_refused_not_counted(warehouse, tmp_path):
    """A review export writing "none" where a review has no complaint: imported as text, every
    such review would count as a complaint named "none" (the complaint rate of a store with one
    real complaint in three reviews would read 100%). Refused, saying how to import it as empty;
    the mapping's null_values then imports it so, and one complaint is counted."""
    folder = base_copy(tmp_path / "batch")
    (folder / "reviews.csv").write_text(
        "review_id,order_id,rating,posted_at,as_described,complaint_category\n"
        "r1,o1,5,2024-03-05 20:00:00,true,none\n"
        "r2,o2,2,2024-03-05 08:00:00,false,slow service\n"
        "r3,o3,4,2024-03-06 09:00:00,true, NULL \n")
    rejected = refused_dir(folder, warehouse)
    hint = (" — it looks like an empty value written as text; to import it as empty, list it in the mapping's "
            "null_values")
    assert [(Path(p.file).name, p.row, p.column, p.value, p.kind, p.message) for p in rejected.problems] == [
        ("reviews.csv", 2, "complaint_category", "none", "not_allowed",
         "complaint_category: 'none' would count as a complaint" + hint),
        ("reviews.csv", 4, "complaint_category", "NULL", "not_allowed",
         "complaint_category: 'NULL' would count as a complaint" + hint)]
    assert rejected.problems[0].words("zh") == (
        "complaint_category：“none”会被计为一条投诉 —— 看起来是写成文字的空值；要按空值导入，请在映射的 null_values 中列出它")

    ingest.import_dir(folder, warehouse=warehouse, mapping={"null_values": ["none", "NULL"]})
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("SELECT review_id, complaint_category FROM reviews ORDER BY review_id").fetchall() == [
            ("r1", None), ("r2", "slow service"), ("r3", None)]
        assert con.execute("SELECT sum(count_complaints) FROM order_facts").fetchone() == (1,)
    finally:
        con.close()


# ------------------------------------------------------------------------------------------
# Values that mean what they say: imported
# ------------------------------------------------------------------------------------------

def test_a_discount_written_with_its_percent_sign_is_that_share(tmp_path):
    # campaigns.csv from a spreadsheet showing 20% and 12.5 %: 0.2 and 0.125 taken off; a mapping
    # saying the export writes the share paid turns "90%" round to 0.1.
    header = "campaign_id,name,kind,channel,start_date,end_date,discount_rate\n"
    (tmp_path / "campaigns.csv").write_text(header + "k1,A,coupon,app,2024-03-01,2024-03-31,20%\n"
                                                     "k2,B,coupon,app,2024-03-01,2024-03-31,12.5 %\n")
    wh = tmp_path / "o2o.duckdb"
    ingest.import_file("campaigns", tmp_path / "campaigns.csv", warehouse=wh)
    (tmp_path / "paid.csv").write_text(header + "k3,C,coupon,app,2024-03-01,2024-03-31,90%\n")
    ingest.import_file("campaigns", tmp_path / "paid.csv", warehouse=wh,
                       mapping={"discount_rate_means": "share_paid"})
    con = __import__("duckdb").connect(str(wh), read_only=True)
    try:
        got = dict(con.execute("SELECT campaign_id, discount_rate FROM campaigns").fetchall())
    finally:
        con.close()
    assert got == pytest.approx({"k1": 0.2, "k2": 0.125, "k3": 0.1})


def test_a_coupon_log_re_saved_by_pandas_imports_as_the_original(tmp_path):
    # pandas writes a date column holding NaN as floats (20160528.0) and NaN as an empty cell.
    # The offline log (no Action column) with the example mapping minus its Action lines, as the
    # docs say; values as the original log's, by hand below.
    log = ("User_id,Merchant_id,Coupon_id,Discount_rate,Distance,Date_received,Date\n"
           "1439408,2632,,,0.0,,20160217.0\n"
           "1439408,4663,11002.0,150:20,1.0,20160528.0,\n"
           "1439408,2632,8591.0,20:1,0.0,20160516.0,20160613.0\n"
           "196342,1579,10698.0,0.95,1.0,20160421.0,20160421.0\n")
    folder = tmp_path / "offline"
    folder.mkdir()
    (folder / "coupon_log.csv").write_text(log)
    mapping = tmp_path / "offline.toml"
    example = (EXAMPLES / "coupon_platform.toml").read_text()
    clicks = example[example.index("UNION ALL\n"):example.index("GROUP BY Date, User_id, Merchant_id\n") + 36]
    mapping.write_text("\n".join(line for line in example.replace(clicks, "").splitlines()
                                 if "AND Action IN" not in line))
    wh = tmp_path / "o2o.duckdb"
    ingest.import_dir(folder, mapping=mapping, warehouse=wh)
    con = __import__("duckdb").connect(str(wh), read_only=True)
    try:
        assert con.execute("SELECT campaign_id, start_date::VARCHAR, end_date::VARCHAR, round(discount_rate, 4) "
                           "FROM campaigns ORDER BY 1").fetchall() == [
            ("10698.0", "2016-04-21", "2016-04-21", 0.05), ("11002.0", "2016-05-28", "2016-05-28", round(20 / 150, 4)),
            ("8591.0", "2016-05-16", "2016-06-13", 0.05)]
        assert con.execute("SELECT customer_id, signup_date::VARCHAR FROM customers ORDER BY 1").fetchall() == [
            ("1439408", "2016-02-17"), ("196342", "2016-04-21")]
        assert con.execute("SELECT redeemed_at::VARCHAR FROM redemptions ORDER BY 1").fetchall() == [
            ("2016-04-21 00:00:00",), ("2016-06-13 00:00:00",)]
    finally:
        con.close()


def test_a_spreadsheets_trailing_unnamed_columns_are_not_listed(tmp_path):
    # Excel keeps two formatted but empty columns: the header ends "extra,,". The summary read
    # "ignored columns not in the contract: extra, , " (and the Data page's preview the same).
    from o2o_ops import importing_view

    path = tmp_path / "stores.csv"
    path.write_text("store_id,name,category,city,extra,,\r\ns1,Noodle House,restaurant,Hangzhou,x,,\r\n")
    result = ingest.import_file("stores", path, warehouse=tmp_path / "o2o.duckdb")
    assert result.tables[0].ignored_columns == ("extra",)
    assert result.summary().splitlines()[-1].strip() == "ignored columns not in the contract: extra"
    assert importing_view.preview(ingest.Source("stores", path)).ignored == ("extra",)


def test_a_marketplace_export_without_reviews_says_how_to_import_the_rest(warehouse, tmp_path):
    # the message names the absent file and the way out; taking the section out imports the rest
    folder = export_copy("marketplace", tmp_path / "olist", leave_out=("olist_order_reviews_dataset.csv",))
    rejected = refused_dir(folder, warehouse, mapping=EXAMPLES / "marketplace.toml")
    (problem,) = rejected.problems
    assert problem.message == (
        "line 10: the SQL reads the source 'reviews', whose file olist_order_reviews_dataset.csv is not in this "
        "batch: add that file, or take the source out of [tables.reviews] (without that section, the table is "
        "not imported) — in: FROM reviews")
    assert problem.text("zh") == (
        "marketplace.toml [tables.reviews] sql：第 10 行：SQL 读取来源“reviews”，但它的文件 "
        "olist_order_reviews_dataset.csv 不在这批文件中：请加上该文件，或从 [tables.reviews] 中去掉这个来源（删去整节"
        "则不导入该表） —— 位于：FROM reviews")
    import tomllib
    raw = tomllib.loads((EXAMPLES / "marketplace.toml").read_text())
    del raw["tables"]["reviews"]
    result = ingest.import_dir(folder, mapping=raw, warehouse=warehouse)
    assert [t.table for t in result.tables] == ["stores", "customers", "orders", "redemptions"]


@pytest.mark.parametrize("english, chinese", [
    ("expected JSON records: an array of objects, or one object per line (NDJSON), but line 6 is not valid JSON "
     "(unexpected end of data), at byte 97 of it",
     "应为 JSON 记录（对象数组，或每行一个对象的 NDJSON），但第 6 行不是有效的 JSON（数据意外结束），问题在该处第 97 个字节"),
    ("expected JSON records: an array of objects, or one object per line (NDJSON), but record 2 is not valid JSON, "
     "at byte 1,097 of it",
     "应为 JSON 记录（对象数组，或每行一个对象的 NDJSON），但第 2 条记录不是有效的 JSON，问题在该处第 1,097 个字节"),
    ("the text is not valid UTF-8 (as the text before it is): byte(s) B1 A3 at byte 119 of the file; name the "
     "file's encoding in the mapping (encoding = \"...\")",
     "文本不是有效的 UTF-8（按其前面的文本判断）：文件第 119 个字节处的字节 B1 A3；请在映射中写明文件的编码（encoding = \"...\"）"),
    ("the text is not valid GB18030 (detected): byte(s) FF at byte 1,119 of the file once decompressed; name the "
     "file's encoding in the mapping (encoding = \"...\")",
     "文本不是有效的 GB18030（自动识别）：文件解压后第 1,119 个字节处的字节 FF；请在映射中写明文件的编码（encoding = \"...\"）"),
    ("the file is empty (0 bytes): expected JSON records: an array of objects, or one object per line (NDJSON)",
     "文件为空（0 字节）：应为 JSON 记录（对象数组，或每行一个对象的 NDJSON）"),
    ("a quoted value that opens in this row is never closed (the file ends inside it)",
     "此行开始的带引号的值一直没有结束（文件在引号内结束）"),
])
def test_a_file_that_cannot_be_read_is_said_so_in_chinese(english, chinese):
    # a download cut short, a GBK file named UTF-8: the Data page showed these in English
    assert ingest.Problem("review.json", None, None, None, "unreadable_file", english).words("zh") == chinese


def test_a_listing_export_under_its_own_file_names_is_pointed_at_them(tmp_path):
    # The real Yelp files are yelp_academic_dataset_business.json and …_review.json; the example
    # mapping names them business.json and review.json. The message lists the batch's data files
    # [sources] does not name (not inspections.csv, which it does, nor README.txt's kind).
    folder = export_copy("listing", tmp_path / "yelp")
    for name in ("business", "review"):
        (folder / f"{name}.json").rename(folder / f"yelp_academic_dataset_{name}.json")
    (folder / "notes.md").write_text("downloaded 2026-12-03")
    rejected = refused_dir(folder, tmp_path / "o2o.duckdb", mapping=EXAMPLES / "review_site.toml")
    stores = next(p for p in rejected.problems if p.file == "review_site.toml [tables.stores] sql")
    assert stores.message == (
        "line 5: the SQL reads the source 'business', whose file business.json is not in this batch (files [sources] "
        "does not name: yelp_academic_dataset_business.json, yelp_academic_dataset_review.json): add that file, or "
        "take the source out of [tables.stores] (without that section, the table is not imported) — in: FROM business")
    assert stores.words("zh") == (
        "第 5 行：SQL 读取来源“business”，但它的文件 business.json 不在这批文件中（[sources] 未列出的文件："
        "yelp_academic_dataset_business.json, yelp_academic_dataset_review.json）：请加上该文件，或从 [tables.stores] "
        "中去掉这个来源（删去整节则不导入该表） —— 位于：FROM business")


# ------------------------------------------------------------------------------------------
# Mapping files saved by Notepad
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, content, english, chinese", [
    ("mapping.toml", '[columns]\r\n"门店编号" = "store_id"\r\n'.encode("gbk"),
     "cannot use this mapping file: it is not UTF-8 text (byte C3 at byte 12, line 2): save it as UTF-8",
     "无法使用此映射文件：它不是 UTF-8 文本（第 2 行，第 12 个字节处的字节 C3）：请把它另存为 UTF-8"),
    ("mapping.yaml", 'columns:\r\n\t"门店编号": store_id\r\n'.encode(),
     "cannot use this mapping file: line 2, column 1: found character '\\t' that cannot start any token (YAML "
     "indents with spaces, not tabs)",
     "无法使用此映射文件：第 2 行第 1 列：found character '\\t' that cannot start any token（YAML 用空格缩进，不能用制表符）"),
])
def test_a_mapping_file_saved_wrong_is_one_line_saying_where(tmp_path, name, content, english, chinese):
    # GBK (Notepad's "ANSI" on a Chinese Windows) was answered "'utf-8' codec can't decode byte
    # 0xc3 in position 12: invalid continuation byte"; a tab in YAML with PyYAML's four lines
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ingest.ImportRejected) as caught:
        ingest.read_mapping_file(path)
    (problem,) = caught.value.problems
    assert (problem.message, problem.words("zh")) == (english, chinese)


def test_a_mapping_file_with_a_bom_and_crlf_is_read(tmp_path):
    # Notepad's UTF-8 writes a byte-order mark; Chinese column names renamed from a GBK export
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "mapping.toml").write_bytes(b"\xef\xbb\xbf" + '[columns]\r\n"门店编号" = "store_id"\r\n"店名" = "name"\r\n'
                                          '"品类" = "category"\r\n"城市" = "city"\r\n'.encode())
    (folder / "stores.csv").write_bytes("门店编号,店名,品类,城市\r\ns1,圣保罗面馆,餐饮,杭州\r\n".encode("gbk"))
    wh = tmp_path / "o2o.duckdb"
    ingest.import_dir(folder, warehouse=wh)
    con = __import__("duckdb").connect(str(wh), read_only=True)
    try:
        assert con.execute("SELECT store_id, name, category, city FROM stores").fetchall() == [
            ("s1", "圣保罗面馆", "餐饮", "杭州")]
    finally:
        con.close()


def test_a_coupon_log_repeating_rows_imports_one_event_each(tmp_path):
    # The real log repeats rows: the same user receiving the same coupon twice on a day, a click
    # twice. The events' key is the whole row, so the example's events SQL was refused with
    # "… 'coupon_received / 2016-05-02 … / 3001 / app / 2001 / 1001' appears again".
    folder = export_copy("coupon", tmp_path / "log")
    lines = (folder / "coupon_log.csv").read_text().splitlines(keepends=True)
    (folder / "coupon_log.csv").write_text("".join(lines) + lines[2] + lines[1])   # rows 3 and 2 again
    wh = tmp_path / "o2o.duckdb"
    ingest.import_dir(folder, mapping=EXAMPLES / "coupon_platform.toml", warehouse=wh)
    con = __import__("duckdb").connect(str(wh), read_only=True)
    try:   # as the sample without repeats (test_mapping): 3 clicks, 6 coupons received, 6 orders
        assert con.execute("SELECT event_type, count(*) FROM events GROUP BY ALL ORDER BY 1").fetchall() == [
            ("click", 3), ("coupon_received", 6)]
        assert con.execute("SELECT count(*) FROM orders").fetchone() == (6,)
    finally:
        con.close()


def test_excels_delimiter_hint_line_is_named(tmp_path):
    # "Save as CSV" from some Excel add-ins writes "sep=;" first (Excel hides it when opening):
    # the file was read as one column "sep=" and refused four times for missing columns
    path = tmp_path / "stores.csv"
    path.write_bytes(b"sep=;\r\nstore_id;name;category;city\r\ns1;Noodle House;restaurant;Hangzhou\r\n")
    before = digest(tmp_path / "o2o.duckdb")
    with pytest.raises(ingest.ImportRejected) as caught:
        ingest.import_file("stores", path, warehouse=tmp_path / "o2o.duckdb")
    (problem,) = caught.value.problems
    assert (problem.row, problem.value, problem.message) == (
        1, "sep=;", "row 1 is 'sep=;', Excel's hint of the delimiter, not a header: delete that line so that the "
                    "first line names the columns")
    assert problem.words("zh") == "第 1 行是“sep=;”，这是 Excel 标明分隔符的提示行，不是表头：请删去这一行，让第一行写列名"
    assert digest(tmp_path / "o2o.duckdb") == before


def test_a_marketplace_order_without_items_but_reviewed_is_left_out_with_its_review(tmp_path):
    # In the real export an unavailable order has no items (so no seller, no amount: the orders
    # SQL leaves it out) but its customer reviewed it: the example refused the whole export with
    # "order_id 'o6' is not in orders (neither in the warehouse nor in this batch)".
    folder = export_copy("marketplace", tmp_path / "olist")
    with open(folder / "olist_orders_dataset.csv", "a") as f:
        f.write("o6,c4,unavailable,2018-01-07 09:00:00,,2018-01-30 00:00:00\n")
    with open(folder / "olist_order_reviews_dataset.csv", "a") as f:
        f.write("rv6,o6,1,,nunca chegou,2018-01-31 00:00:00,2018-02-01 10:00:00\n")
    wh = tmp_path / "o2o.duckdb"
    ingest.import_dir(folder, mapping=EXAMPLES / "marketplace.toml", warehouse=wh)
    con = __import__("duckdb").connect(str(wh), read_only=True)
    try:   # as the sample (test_mapping): 5 orders, 5 reviews, 3 deliveries; o6 and rv6 left out
        assert con.execute("SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM reviews), "
                           "(SELECT count(*) FROM redemptions)").fetchone() == (5, 5, 3)
    finally:
        con.close()


def test_a_marketplace_review_surveyed_on_the_day_of_its_order(tmp_path):
    # The export's review_creation_date is the day the survey was sent, at midnight: for an order
    # cancelled the day it was placed (o3, 12:00) it reads 2018-01-04 00:00:00, "before its order
    # was placed", and the whole export was refused. The review is posted when it was answered.
    folder = export_copy("marketplace", tmp_path / "olist")
    path = folder / "olist_order_reviews_dataset.csv"
    path.write_text(path.read_text().replace("rv2,o3,3,,,2018-01-05 00:00:00,2018-01-06 12:00:00",
                                             "rv2,o3,3,,,2018-01-04 00:00:00,2018-01-04 18:30:00"))
    wh = tmp_path / "o2o.duckdb"
    ingest.import_dir(folder, mapping=EXAMPLES / "marketplace.toml", warehouse=wh)
    con = __import__("duckdb").connect(str(wh), read_only=True)
    try:
        assert con.execute("SELECT review_id, posted_at::VARCHAR FROM reviews ORDER BY 1").fetchall() == [
            ("rv1-o1", "2018-01-10 08:00:00"), ("rv2-o2", "2018-01-22 09:00:00"), ("rv2-o3", "2018-01-04 18:30:00"),
            ("rv3-o5", "2018-01-12 10:00:00"), ("rv4-o4", "2018-01-27 11:00:00")]
    finally:
        con.close()


def test_a_table_given_twice_is_said_so_in_chinese():
    problem = ingest.Problem("olist_orders_dataset (1).csv", None, None, None, "unreadable_file",
                             "orders is given more than once in this batch")
    assert problem.text("zh") == "olist_orders_dataset (1).csv：这批文件中 orders 出现了不止一次"
