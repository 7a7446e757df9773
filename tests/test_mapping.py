"""Mapping files beyond renaming (issue #16): the three example mappings in examples/mappings/
importing their look-alike exports with KPIs worked out by hand, row numbers of staging-SQL
results pointing back into the source file, null markers, value maps, defaults and constants,
discount direction, spreadsheet-mangled values, JSON files and wrong formats in our words."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from o2o_ops import db, ingest, metrics
from o2o_ops.cli import import_cmd
from o2o_ops.filters import Filters

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "mappings"
FIXTURES = Path(__file__).parent / "fixtures" / "mapping"


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    import_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args([*argv, "--quiet"])
    return args.func(args)


def rows(wh: Path, sql: str, params=None) -> list[tuple]:
    con = db.connect(wh)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


def kpis(wh: Path, names: list[str], by: str = "total"):
    con = db.connect(wh)
    try:
        return metrics.compute(con, Filters(), by, names)
    finally:
        con.close()


def refused(sources, tmp_path: Path) -> ingest.ImportRejected:
    problems = ingest.validate(sources, warehouse=tmp_path / "none.duckdb")
    assert problems, "expected the batch to be refused"
    return ingest.ImportRejected(problems, {})


# ------------------------------------------------------------------------------------------
# The three example exports
# ------------------------------------------------------------------------------------------

def test_coupon_log_imports_with_the_example_mapping(tmp_path):
    wh = tmp_path / "o2o.duckdb"
    assert cli("import-dir", str(FIXTURES / "coupon"), "--mapping", str(EXAMPLES / "coupon_platform.toml"),
               "--warehouse", str(wh)) == 0
    # 3 merchants (2003 only clicked and bought at a "fixed" price cut), 4 users, 3 coupons; 6
    # coupons received (rows 3, 4, 6, 8, 9, 10 of the log), 3 of them used (rows 4, 8, 10); clicks,
    # the coupon-less purchase and the price cut left out.
    assert rows(wh, "SELECT count(*) FROM stores")[0][0] == 3
    assert rows(wh, "SELECT customer_id, signup_date FROM customers ORDER BY 1") == [
        ("1001", __import__("datetime").date(2016, 5, 1)), ("1002", __import__("datetime").date(2016, 5, 4)),
        ("1003", __import__("datetime").date(2016, 5, 7)), ("1004", __import__("datetime").date(2016, 5, 8))]
    assert rows(wh, "SELECT count(*) FROM orders")[0][0] == 6
    assert rows(wh, "SELECT count(*) FROM redemptions")[0][0] == 3
    # Discounts: "150:20" -> 20/150 taken off; 0.9 paid -> 0.1 off; "20:5" -> 5/20.
    got = dict(rows(wh, "SELECT campaign_id, discount_rate FROM campaigns"))
    assert got["3001"] == pytest.approx(20 / 150)
    assert got["3002"] == pytest.approx(0.1)
    assert got["3003"] == pytest.approx(0.25)
    # The literal "null" never reaches a text column.
    assert rows(wh, "SELECT count(*) FROM orders WHERE campaign_id = 'null' OR store_id = 'null'")[0][0] == 0
    # Redemption rate on paper: 3 used / 6 received.
    assert kpis(wh, ["redemption_rate"])["redemption_rate"].iloc[0] == pytest.approx(0.5)
    # The online half: 3 clicks (rows 2, 5, 11) and the 6 coupons received, as events; each
    # receipt is an order here. Redeemed within 15 days of a receipt (an order of that customer
    # and coupon placed at or after it, then used): 1001's receipts of 2 and 3 May (its 3 May
    # order used on the 10th: 8 and 7 days), 1003's coupon 3002 (2 days), 1004's 3003 (4 days);
    # not 1002's 3002 nor 1003's 3003 -> 4 of 6.
    assert rows(wh, "SELECT event_type, count(*) FROM events GROUP BY ALL ORDER BY 1") == [
        ("click", 3), ("coupon_received", 6)]
    funnel = kpis(wh, ["clicks", "coupons_received", "received_to_order_rate", "received_to_redeemed_rate"]).iloc[0]
    assert (funnel["clicks"], funnel["coupons_received"]) == (3, 6)
    assert funnel["received_to_order_rate"] == pytest.approx(1.0)
    assert funnel["received_to_redeemed_rate"] == pytest.approx(4 / 6)
    # Re-importing the same export changes nothing.
    assert cli("import-dir", str(FIXTURES / "coupon"), "--mapping", str(EXAMPLES / "coupon_platform.toml"),
               "--warehouse", str(wh)) == 0
    assert rows(wh, "SELECT count(*) FROM orders")[0][0] == 6


def test_review_site_listing_imports_from_ndjson(tmp_path, monkeypatch):
    monkeypatch.setenv("O2O_MIN_REVIEWS", "1")   # a store's rating from its 1-3 reviews (default floor: 5)
    wh = tmp_path / "o2o.duckdb"
    ingest.import_dir(FIXTURES / "listing", mapping=EXAMPLES / "review_site.toml", warehouse=wh)
    stores = {r[0]: r[1:] for r in rows(wh, "SELECT store_id, category, listed_rating, lat, lon FROM stores")}
    assert stores["b1"] == ("Restaurants", 4.5, 33.45, -112.07)
    assert stores["b2"] == ("Mexican", 3.0, None, None)          # no coordinates: kept, listed apart
    assert stores["b3"][0] == "unknown"                          # categories null -> the default
    # Average rating on paper: (5 + 4 + 3 + 2 + 4 + 1) / 6; per business 4, 3 and 1.
    assert kpis(wh, ["avg_rating"])["avg_rating"].iloc[0] == pytest.approx(19 / 6)
    by_store = kpis(wh, ["avg_rating"], "store").set_index("store_id")["avg_rating"]
    assert by_store.to_dict() == pytest.approx({"b1": 4.0, "b2": 3.0, "b3": 1.0})
    assert rows(wh, "SELECT signup_date::VARCHAR FROM customers WHERE customer_id = 'u1'")[0][0] == "2021-03-01"
    # The city's inspections, matched by name and city (case aside; Unknown Diner is not listed):
    # Pasta Place pass then fail, Taco Spot pass, Nail Bar fail (score "null") -> 2 of 4 passed;
    # violations 3 + 3 + 3 + 3 = 12 over 4; critical 0 + 1 + 0 + 2 = 3 over 4.
    assert rows(wh, "SELECT store_id, count(*) FROM inspections GROUP BY ALL ORDER BY 1") == [
        ("b1", 2), ("b2", 1), ("b3", 1)]
    got = kpis(wh, ["inspection_pass_rate", "violations_per_inspection", "critical_violations_per_inspection"]).iloc[0]
    assert got["inspection_pass_rate"] == pytest.approx(0.5)
    assert got["violations_per_inspection"] == pytest.approx(3.0)
    assert got["critical_violations_per_inspection"] == pytest.approx(0.75)
    # high online rating, failed inspection: Pasta Place (listed 4.5) fails once of two
    by_store = kpis(wh, ["inspection_pass_rate", "online_rating"], "store").set_index("store_id")
    assert by_store.loc["b1", "inspection_pass_rate"] == pytest.approx(0.5) and by_store.loc["b1", "online_rating"] == 4.5


def test_marketplace_export_imports_with_items_aggregated_and_sellers_located(tmp_path):
    wh = tmp_path / "o2o.duckdb"
    ingest.import_dir(FIXTURES / "marketplace", mapping=EXAMPLES / "marketplace.toml", warehouse=wh)
    orders = {r[0]: r[1:] for r in rows(wh, "SELECT order_id, store_id, paid_amount, status FROM orders")}
    assert orders == {"o1": ("s1", 95.0, "paid"), "o2": ("s2", 135.5, "paid"), "o3": ("s1", 60.0, "cancelled"),
                      "o4": ("s2", 37.0, "paid"), "o5": ("s3", 35.0, "paid")}
    located = {r[0]: r[1:] for r in rows(wh, "SELECT store_id, lat, lon FROM stores")}
    assert located["s1"] == pytest.approx((-23.555, -46.635))      # mean of the zip's two points
    assert located["s2"] == pytest.approx((-22.90, -47.06))
    assert located["s3"] == (None, None)                            # zip not in the file
    # review rv2 appears on two orders (as in the real export): both kept, apart
    assert rows(wh, "SELECT review_id, complaint_category FROM reviews ORDER BY 1") == [
        ("rv1-o1", None), ("rv2-o2", "atraso"), ("rv2-o3", None), ("rv3-o5", None), ("rv4-o4", "low score")]
    got = kpis(wh, ["redemption_rate", "complaint_rate", "avg_rating", "revenue"]).iloc[0]
    assert got["redemption_rate"] == pytest.approx(3 / 4)           # o1, o2, o5 delivered of 4 paid
    assert got["complaint_rate"] == pytest.approx(2 / 3)            # rv2, rv4 (1-2 stars) / 3 deliveries
    assert got["avg_rating"] == pytest.approx((5 + 1 + 4 + 2 + 3) / 5)
    assert got["revenue"] == pytest.approx(95 + 135.5 + 37 + 35)   # paid orders only
    # The estimated delivery date is the promise. Due: delivered (o1, o2, o5) or past its date by
    # the last order (o4's 25 Jan is not, o3 was cancelled); late: o2 (20 Jan against 12 Jan).
    late = kpis(wh, ["promises_due", "late_vs_promise_rate"]).iloc[0]
    assert late["promises_due"] == 3 and late["late_vs_promise_rate"] == pytest.approx(1 / 3)


def test_a_marketplace_complaint_titled_with_no_word_is_a_low_score(tmp_path):
    """Real review titles include "..." and "NA": on a 1- or 2-star review the mapping makes such
    a title the category "low score" (as an empty one), rather than a category the importer
    refuses as an empty value written as text. A title with a word is kept, in any script."""
    folder = tmp_path / "marketplace"
    shutil.copytree(FIXTURES / "marketplace", folder)
    reviews = folder / "olist_order_reviews_dataset.csv"
    text = reviews.read_text(encoding="utf-8")
    text = text.replace("rv4,o4,2,,,", "rv4,o4,2,...,,").replace("rv2,o2,1,atraso,", "rv2,o2,1,NA,")
    reviews.write_text(text + "rv5,o3,1,Não,,2018-01-06 00:00:00,2018-01-07 12:00:00\n", encoding="utf-8")
    wh = tmp_path / "o2o.duckdb"
    ingest.import_dir(folder, mapping=EXAMPLES / "marketplace.toml", warehouse=wh)
    assert rows(wh, "SELECT review_id, complaint_category FROM reviews WHERE complaint_category IS NOT NULL "
                    "ORDER BY 1") == [("rv2-o2", "low score"), ("rv4-o4", "low score"), ("rv5-o3", "Não")]


def test_without_null_markers_the_literal_null_is_refused_not_a_false_complaint(tmp_path):
    """The issue's case: an optional text column holding the literal 'null' or '-' (a re-saved
    export) would be counted as a complaint category. Refused, naming each, nothing written; the
    null markers import them as empty. Reviews of the three delivered orders, one real complaint."""
    wh = tmp_path / "o2o.duckdb"
    ingest.import_dir(FIXTURES / "marketplace", mapping=EXAMPLES / "marketplace.toml", warehouse=wh)
    more = tmp_path / "reviews.csv"
    more.write_text("review_id,order_id,rating,posted_at,complaint_category\n"
                    "x1,o1,4,2018-01-09 01:00:00,null\n"
                    "x2,o2,2,2018-01-21 01:00:00,late\n"
                    "x3,o5,5,2018-01-11 01:00:00,-\n"
                    "x4,o5,5,2018-01-12 01:00:00,服务慢\n")
    with pytest.raises(ingest.ImportRejected) as caught:
        ingest.import_file("reviews", more, warehouse=wh)
    assert [(p.row, p.value, p.message.split(" — ")[0]) for p in caught.value.problems] == [
        (2, "null", "complaint_category: 'null' would count as a complaint"),
        (4, "-", "complaint_category: '-' would count as a complaint")]
    # 2 complaints from the export, nothing of this file
    assert kpis(wh, ["complaint_rate"])["complaint_rate"].iloc[0] == pytest.approx(2 / 3)
    ingest.import_file("reviews", more, warehouse=wh, mapping={"null_values": ["null", "-"]})
    # + x2 and x4 (a complaint written in Chinese): 4 of 3 deliveries
    assert kpis(wh, ["complaint_rate"])["complaint_rate"].iloc[0] == pytest.approx(4 / 3)


def test_cli_import_one_file_with_staging_sql(tmp_path):
    """``python -m o2o_ops import TABLE FILE --mapping`` with staging SQL: the file is the
    mapping's only source, whatever it is called."""
    log = tmp_path / "may_export.csv"
    shutil.copy(FIXTURES / "coupon" / "coupon_log.csv", log)
    wh = tmp_path / "o2o.duckdb"
    done = subprocess.run([sys.executable, "-m", "o2o_ops", "import", "stores", str(log), "--mapping",
                           str(EXAMPLES / "coupon_platform.toml"), "--warehouse", str(wh), "--quiet"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "stores" in done.stdout and "3 added" in done.stdout
    for table in ("customers", "campaigns", "orders", "redemptions"):
        assert cli("import", table, str(log), "--mapping", str(EXAMPLES / "coupon_platform.toml"),
                   "--warehouse", str(wh)) == 0
    assert rows(wh, "SELECT count(*) FROM redemptions")[0][0] == 3


def test_cli_reports_a_problem_in_a_sql_fed_table_with_the_source_row(tmp_path, capsys):
    folder = tmp_path / "export"
    shutil.copytree(FIXTURES / "marketplace", folder)
    reviews = folder / "olist_order_reviews_dataset.csv"
    reviews.write_text(reviews.read_text().replace("rv2,o2,1,", "rv2,o2,6,"))
    wh = tmp_path / "o2o.duckdb"
    assert cli("import-dir", str(folder), "--mapping", str(EXAMPLES / "marketplace.toml"),
               "--warehouse", str(wh)) == 1
    err = capsys.readouterr().err
    # rv2 is row 3 of the reviews file (header = row 1): the message points there, not at the SQL.
    assert f"{reviews}, row 3, column rating: rating must be between 1 and 5, got 6" in err
    assert not wh.exists()


def test_result_rows_are_numbered_when_they_come_from_no_single_file(tmp_path):
    raw = tomllib.loads((EXAMPLES / "marketplace.toml").read_text())
    # no _row: problems are numbered by the SQL's result, named after the mapping and table
    raw["tables"]["reviews"]["sql"] = ("SELECT review_id, order_id, CAST(review_score AS INTEGER) + 4 AS rating,\n"
                                       "       review_creation_date AS posted_at FROM reviews ORDER BY review_id, order_id")
    sources = ingest.find_sources(FIXTURES / "marketplace", raw)
    problems = [p for p in ingest.validate(sources, warehouse=tmp_path / "none.duckdb") if p.column == "rating"]
    # rv1 5+4=9, rv2/o2 1+4=5 (fine), rv2/o3 3+4=7, rv3 4+4=8, rv4 2+4=6 -> result rows 1, 3, 4, 5
    assert [(p.file, p.row, p.value) for p in problems] == [
        ("mapping [tables.reviews] sql", 1, "9"), ("mapping [tables.reviews] sql", 3, "7"),
        ("mapping [tables.reviews] sql", 4, "8"), ("mapping [tables.reviews] sql", 5, "6")]


def test_source_file_missing_from_the_batch_is_named(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIXTURES / "marketplace", folder)
    (folder / "olist_geolocation_dataset.csv").unlink()
    sources = ingest.find_sources(folder, EXAMPLES / "marketplace.toml")
    problems = ingest.validate(sources, warehouse=tmp_path / "none.duckdb")
    assert [p.message for p in problems if p.kind == "bad_mapping"] == [
        "line 4: the SQL reads the source 'geolocation', whose file olist_geolocation_dataset.csv is not in this "
        "batch: add that file, or take the source out of [tables.stores] (without that section, the table is not "
        "imported) — in: FROM geolocation"]


def test_sql_errors_name_the_mapping_table_and_line(tmp_path):
    (tmp_path / "log.csv").write_text("a,b\n1,2\n")
    raw = {"sources": {"log": "log.csv"},
           "tables": {"stores": {"sql": "SELECT a AS store_id,\n  b AS name,\n  nope AS city\nFROM log"}}}
    sources, _ = ingest.sql_sources(raw, {"log.csv": tmp_path / "log.csv"}, label=str(tmp_path / "m.toml"))
    problems = ingest.validate(sources, warehouse=tmp_path / "none.duckdb")
    assert len(problems) == 1
    p = problems[0]
    assert p.file == "m.toml [tables.stores] sql" and p.kind == "bad_mapping"
    assert p.message.startswith("line 3: Binder Error: Referenced column \"nope\" not found")
    assert p.message.endswith("— in: nope AS city")


# ------------------------------------------------------------------------------------------
# Without SQL: null markers, value maps, defaults, constants, discount direction
# ------------------------------------------------------------------------------------------

STORES = ("store_id,name,category,city,district,listed_rating\n"
          "s1,Noodle House,餐饮,Hangzhou,null,4.5\n"
          "s2,Tea Room,茶馆,,-,-\n"
          "s3,Spa,other,Suzhou,Gusu,\n")


def test_null_markers_values_defaults_and_constants(tmp_path):
    path = tmp_path / "stores.csv"
    path.write_text(STORES, encoding="utf-8")
    mapping = tmp_path / "m.toml"
    mapping.write_text('null_values = ["null", "-"]\n'
                       '[values.category]\n"餐饮" = "restaurant"\n"茶馆" = "tea"\n'
                       '[defaults]\ncity = "unknown"\n'
                       '[tables.stores.constants]\nregion = "East"\n', encoding="utf-8")
    wh = tmp_path / "o2o.duckdb"
    ingest.import_file("stores", path, mapping=mapping, warehouse=wh)
    assert rows(wh, "SELECT store_id, category, city, district, region, listed_rating FROM stores ORDER BY 1") == [
        ("s1", "restaurant", "Hangzhou", None, "East", 4.5),
        ("s2", "tea", "unknown", None, "East", None),       # "-" is empty, not a number to refuse
        ("s3", "other", "Suzhou", "Gusu", "East", None)]


def test_a_default_fills_a_required_column_the_file_lacks(tmp_path):
    path = tmp_path / "stores.csv"
    path.write_text("store_id,name,city\ns1,Noodle House,Hangzhou\n")
    problems = ingest.validate([ingest.Source("stores", path)], warehouse=tmp_path / "none.duckdb")
    assert [p.kind for p in problems] == ["missing_column"]
    mapping = ingest.mapping_for({"tables": {"stores": {"defaults": {"category": "unknown"}}}}, "stores")
    assert ingest.validate([ingest.Source("stores", path, mapping)], warehouse=tmp_path / "none.duckdb") == []


CAMPAIGNS = ("campaign_id,name,kind,channel,start_date,end_date,discount_rate\n"
             "k1,A,coupon,app,2024-03-01,2024-03-31,0.95\n"
             "k2,B,coupon,app,2024-03-01,2024-03-31,150:20\n"
             "k3,C,coupon,app,2024-03-01,2024-03-31,500:50:00\n")


def _campaign_problems(tmp_path, text: str, **mapping) -> list[ingest.Problem]:
    path = tmp_path / "campaigns.csv"
    path.write_text(text)
    src = ingest.Source("campaigns", path, ingest.mapping_for(mapping, "campaigns"))
    return ingest.validate([src], warehouse=tmp_path / "none.duckdb")


def test_discount_written_x_y_is_refused_unless_the_mapping_converts_it(tmp_path):
    problems = _campaign_problems(tmp_path, CAMPAIGNS)
    assert [(p.row, p.value) for p in problems] == [(3, "150:20"), (4, "500:50:00")]
    assert "written x:y (spend x, get y off); to convert it to the share taken off (y / x), set " \
           "discount_rate_x_y = \"spend_off\"" in problems[0].message
    assert "a spreadsheet turned into a clock time" in problems[1].message
    converted = _campaign_problems(tmp_path, CAMPAIGNS, discount_rate_x_y="spend_off")
    # 150:20 converts; the mangled clock time is still refused, with its own message
    assert [(p.row, p.value) for p in converted] == [(4, "500:50:00")]
    assert "clock time" in converted[0].message


def test_discount_share_paid_and_percent_are_converted(tmp_path):
    good = CAMPAIGNS.replace("k3,C,coupon,app,2024-03-01,2024-03-31,500:50:00\n", "")
    path = tmp_path / "campaigns.csv"
    path.write_text(good)
    wh = tmp_path / "o2o.duckdb"
    ingest.import_file("campaigns", path, warehouse=wh,
                       mapping={"discount_rate_means": "share_paid", "discount_rate_x_y": "spend_off"})
    got = dict(rows(wh, "SELECT campaign_id, discount_rate FROM campaigns"))
    assert got == pytest.approx({"k1": 0.05, "k2": 20 / 150})
    percent = _campaign_problems(tmp_path, "campaign_id,name,kind,channel,start_date,end_date,discount_rate\n"
                                           "k1,A,coupon,app,2024-03-01,2024-03-31,15\n"
                                           "k2,B,coupon,app,2024-03-01,2024-03-31,150\n",
                                 discount_rate_scale="percent")
    assert [(p.row, p.kind, p.message) for p in percent] == [
        (3, "out_of_range", "discount_rate must be between 0 and 1, got 1.5")]
    # The contract's own reading: a rate above 1 is refused, never taken as 95 % off silently.
    plain = _campaign_problems(tmp_path, "campaign_id,name,kind,channel,start_date,end_date,discount_rate\n"
                                         "k1,A,coupon,app,2024-03-01,2024-03-31,95\n")
    assert [p.kind for p in plain] == ["out_of_range"]


def test_mangled_number_in_a_money_column_is_explained(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,customer_id,store_id,ordered_at,list_price,paid_amount\n"
                    "o1,c1,s1,2024-03-02 10:00:00,500:50:00,450\n")
    problems = [p for p in ingest.validate([ingest.Source("orders", path)], warehouse=tmp_path / "none.duckdb")
                if p.kind == "wrong_type"]
    assert [(p.row, p.column, p.value) for p in problems] == [(2, "list_price", "500:50:00")]
    assert problems[0].message.startswith("list_price: '500:50:00' is not a number — it looks like a number "
                                          "a spreadsheet turned into a clock time")


@pytest.mark.parametrize("mapping, words", [
    ({"values": {"nope": {"a": "b"}}}, "values.nope: 'nope' is not a contract column"),
    ({"discount_rate_means": "paid"}, "discount_rate_means must be one of share_off, share_paid"),
    ({"null_values": "null"}, "null_values must be a list of texts"),
    ({"tables": {"stores": {"sql": "SELECT 1"}}}, "add a [sources] table"),
    ({"tables": {"nope": {}}}, "'nope' is not a contract table"),
    ({"sources": {"log": "../other-batch/orders.csv"}}, "is not a plain file name of the batch"),
    ({"sources": {"log": "/tmp/o2o-upload-1/orders.csv"}}, "is not a plain file name of the batch"),
    ({"sources": {"log": "*.csv"}}, "no folders, wildcards or URLs"),
    ({"sources": {"log": "https://example.com/orders.csv"}}, "no folders, wildcards or URLs"),
    ({"sources": {"select": "a.csv"}}, "not a word SQL uses"),
])
def test_unusable_mapping_is_refused_in_words(tmp_path, mapping, words):
    path = tmp_path / "stores.csv"
    path.write_text("store_id,name,category,city\ns1,A,b,c\n")
    with pytest.raises(ingest.ImportRejected) as caught:
        ingest.import_file("stores", path, mapping=mapping, warehouse=tmp_path / "o2o.duckdb")
    assert caught.value.counts == {"bad_mapping": 1}
    assert words in caught.value.problems[0].message
    assert not (tmp_path / "o2o.duckdb").exists()


# ------------------------------------------------------------------------------------------
# JSON files, and files that are not what their name says
# ------------------------------------------------------------------------------------------

def test_stores_from_json_array_and_ndjson(tmp_path):
    (tmp_path / "stores.json").write_text(
        '[{"store_id": "s1", "name": "A", "category": "food", "city": "X", "lat": 30.1, "lon": 120},\n'
        ' {"store_id": "s2", "name": "B", "category": "spa", "city": "Y", "listed_rating": "4.5", "extra": {"a": 1}}]')
    wh = tmp_path / "o2o.duckdb"
    result = ingest.import_file("stores", tmp_path / "stores.json", warehouse=wh)
    assert result.tables[0].ignored_columns == ("extra",)
    assert rows(wh, "SELECT store_id, lat, listed_rating FROM stores ORDER BY 1") == [("s1", 30.1, None), ("s2", None, 4.5)]
    (tmp_path / "more.ndjson").write_text('{"store_id": "s3", "name": "C", "category": "food", "city": "X"}\n'
                                          '{"store_id": "s4", "name": "D", "category": "food", "city": "Z", "lat": 95}\n')
    problems = ingest.validate([ingest.Source("stores", tmp_path / "more.ndjson")], warehouse=wh)
    assert [(p.row, p.column, p.message) for p in problems] == [(2, "lat", "lat must be between -90 and 90, got 95.0")]


@pytest.mark.parametrize("name, content, words", [
    ("stores.json", "store_id,name\ns1,A\n",
     "expected JSON records: an array of objects, or one object per line (NDJSON), found text that starts "
     "with 'store_id,name' (a CSV file? name it .csv)"),
    ("stores.json", '{"store_id": "s1"}\n{"store_id": "s2",\n',
     "expected JSON records: an array of objects, or one object per line (NDJSON), but line 2 is not valid JSON (unexpected end of data), at byte"),
    ("stores.ndjson", '{"store_id": "s1"}\n[1, 2]\n', "but record 2 is not an object: [1, 2]"),
    ("stores.json", "", "the file is empty (0 bytes): expected JSON records"),
    ("stores.json", "PK\x03\x04rest", "expected JSON records: an array of objects, or one object per line "
                                       "(NDJSON), found a ZIP archive"),
    ("stores.csv", '[{"store_id": "s1"}]', "expected a CSV or Parquet file, found JSON (the file starts with '[') — name it .json or .ndjson to import it as JSON"),
])
def test_wrong_format_is_answered_in_our_words(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_text(content)
    problems = ingest.validate([ingest.Source("stores", path)], warehouse=tmp_path / "none.duckdb")
    assert len(problems) == 1 and problems[0].kind == "unreadable_file"
    assert words in problems[0].message
    assert "sniff" not in problems[0].message.lower() and "\n" not in problems[0].message


def test_preview_of_a_json_file_uses_the_importers_reader(tmp_path):
    from o2o_ops import importing_view

    path = tmp_path / "stores.ndjson"
    path.write_text('{"Merchant": "s1", "name": "A", "lat": 30.5}\n{"Merchant": "s2", "name": "B"}\n')
    shown = importing_view.preview(ingest.Source("stores", path, ingest.mapping_for(
        {"columns": {"Merchant": "store_id"}}, "stores")))
    assert shown.rows.fillna("").values.tolist() == [["s1", "A", "30.5"], ["s2", "B", ""]]
    assert shown.renamed == {"Merchant": "store_id"}
    assert shown.missing_required == ("category", "city")
    (tmp_path / "bad.json").write_text("store_id,name\n")
    with pytest.raises(importing_view.PreviewError, match="bad.json cannot be read: expected JSON records"):
        importing_view.preview(ingest.Source("stores", tmp_path / "bad.json"))


def test_source_rows_count_blank_lines_and_quoted_newlines_like_a_spreadsheet(tmp_path):
    (tmp_path / "log.csv").write_text('id,name,city\n'
                                      's1,"Two\nlines",X\n'      # row 2 (one record over two lines)
                                      '\n'                        # row 3, blank
                                      's2,B,null\n'               # row 4: city "null" -> empty
                                      's3,C,Y\n')                 # row 5
    raw = {"null_values": ["null"], "sources": {"log": "log.csv"},
           "tables": {"stores": {"sql": "SELECT _row, id AS store_id, name, 'food' AS category, city FROM log"}}}
    sources, _ = ingest.sql_sources(raw, {"log.csv": tmp_path / "log.csv"})
    problems = ingest.validate(sources, warehouse=tmp_path / "none.duckdb")
    assert [(Path(p.file).name, p.row, p.column, p.kind) for p in problems] == [
        ("log.csv", 4, "city", "missing_value")]


def test_parquet_source_keeps_its_types(tmp_path):
    import duckdb

    con = duckdb.connect()
    con.execute(f"COPY (SELECT 'k' || i AS id, i * 0.5 AS rate, DATE '2024-03-01' + CAST(i AS INTEGER) AS day FROM range(1, 4) t(i)) "
                f"TO '{tmp_path / 'coupons.parquet'}' (FORMAT parquet)")
    con.close()
    raw = {"sources": {"coupons": "coupons.parquet"},
           "tables": {"campaigns": {"sql": "SELECT _row, id AS campaign_id, id AS name, 'coupon' AS kind, "
                                           "'app' AS channel, day AS start_date, day + INTERVAL 30 DAY AS end_date, "
                                           "rate AS discount_rate FROM coupons"}}}
    sources, _ = ingest.sql_sources(raw, {"coupons.parquet": tmp_path / "coupons.parquet"})
    problems = ingest.validate(sources, warehouse=tmp_path / "none.duckdb")
    # rates 0.5, 1.0, 1.5: the third is out of range, record 3 of the Parquet file
    assert [(Path(p.file).name, p.row, p.column, p.value) for p in problems] == [
        ("coupons.parquet", 3, "discount_rate", "1.5")]
