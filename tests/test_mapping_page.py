"""The Data page with a mapping that feeds tables by staging SQL (issue #16): the uploaded
files the mapping names are its sources (no table to choose), the SQL-fed tables are checked
and imported as one batch, and a refused SQL is listed like any other problem."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from apptest_util import ROOT, texts
from o2o_ops import db
from tiny import build_tiny

EXAMPLES = ROOT / "examples" / "mappings"
COUPON = Path(__file__).parent / "fixtures" / "mapping" / "coupon"


def open_data_page(warehouse: Path) -> AppTest:
    os.environ["O2O_WAREHOUSE"] = str(warehouse)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/data.py").run()
    return at


def frame_with(at: AppTest, column: str) -> list[pd.DataFrame]:
    return [df.value for df in at.dataframe if column in df.value.columns]


def test_upload_a_log_with_a_staging_sql_mapping(tmp_path: Path):
    wh = build_tiny(tmp_path / "o2o.duckdb")
    before = _count(wh, "redemptions")
    at = open_data_page(wh)
    at.file_uploader(key="data_files_0").set_value(
        ("coupon_log.csv", (COUPON / "coupon_log.csv").read_bytes(), "text/csv"))
    at.file_uploader(key="data_mapping_0").set_value(
        ("coupon_platform.toml", (EXAMPLES / "coupon_platform.toml").read_bytes(), "application/toml")).run()
    assert not at.exception
    shown = texts(at)
    assert ("The mapping's staging SQL fills stores, campaigns, customers, orders, redemptions, events from "
            "coupon_log.csv.") in shown
    assert not [s for s in at.selectbox if s.key.startswith("data_table_")]   # a source, not a table
    assert "No problems found: stores 3 rows, campaigns 3 rows, customers 4 rows, orders 6 rows, " \
           "redemptions 3 rows, events 9 rows. Ready to import." in shown
    [b for b in at.button if b.label == "Import"][0].click().run()
    assert not at.exception
    assert "Imported 6 file(s): 28 rows added, 0 updated, 0 unchanged." in texts(at)   # 9 events too
    assert _count(wh, "redemptions") == before + 3
    assert _count(wh, "orders WHERE campaign_id = '3001'") == 2


def _count(wh: Path, what: str) -> int:
    con = db.connect(wh)
    try:
        return con.execute(f"SELECT count(*) FROM {what}").fetchall()[0][0]
    finally:
        con.close()


def test_a_refused_staging_sql_is_listed_with_its_line(tmp_path: Path):
    wh = build_tiny(tmp_path / "o2o.duckdb")
    stamp = wh.stat().st_mtime_ns
    mapping = (b'[sources]\nlog = "coupon_log.csv"\n[tables.stores]\n'
               b'sql = """\nSELECT Merchant_id AS store_id\nFROM read_csv(\'/etc/passwd\')\n"""\n')
    at = open_data_page(wh)
    at.file_uploader(key="data_files_0").set_value(
        ("coupon_log.csv", (COUPON / "coupon_log.csv").read_bytes(), "text/csv"))
    at.file_uploader(key="data_mapping_0").set_value(("evil.toml", mapping, "application/toml")).run()
    assert not at.exception
    (problems,) = [df for df in frame_with(at, "message")]
    assert problems[["file", "row", "column"]].values.tolist()[0][0] == "evil.toml [tables.stores] sql"
    assert problems["message"].iloc[0].startswith("line 2: staging SQL may read only the batch's sources (log)")
    (button,) = [b for b in at.button if b.label == "Import"]
    assert button.disabled
    assert wh.stat().st_mtime_ns == stamp
