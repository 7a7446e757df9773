"""Who may change the warehouse, tried as an attacker would: a store manager signed in to the Data
page finds no way to upload or import (and a click prepared before their role was taken away
writes nothing); the import call re-checks the role itself; readers see only the quality
findings and row counts of their own scope, no import log and no server paths.

The attack of issue #14: a store manager scoped to S0007 and S0035 uploads a stores.csv that
renames S0001. Before, the page said "No problems" and imported it ("1 updated")."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from apptest_util import ROOT, texts
from o2o_ops import words, auth, db, importing_view as data_page, ingest
from o2o_ops.filters import Filters
from test_data_page import PLANTED
from tiny import build_tiny

MINE = ("S0007", "S0035")
RENAME_S0001 = b"store_id,name,category,city,lat,lon\nS0001,Taken Over Ltd,restaurant,Shanghai,31.2,121.4\n"


@pytest.fixture()
def warehouse(demo_warehouse: Path, tmp_path: Path) -> Path:
    """A copy of the session's demo warehouse (40 stores), so a failed defence harms nothing else."""
    path = tmp_path / "o2o.duckdb"
    shutil.copyfile(demo_warehouse, path)
    return path


@pytest.fixture()
def users(tmp_path: Path, monkeypatch) -> Path:
    path = tmp_path / "users.toml"
    auth.add_user("mgr", "mgr-pass", "store_manager", stores=list(MINE), path=path)
    auth.add_user("east", "east-pass", "regional_manager", regions=["East"], path=path)
    auth.add_user("ana", "ana-pass", "analyst", path=path)
    auth.add_user("boss", "boss-pass", "executive", path=path)
    monkeypatch.setenv("O2O_USERS_FILE", str(path))
    return path


def data_page_as(warehouse: Path, name: str) -> AppTest:
    os.environ["O2O_WAREHOUSE"] = str(warehouse)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)
    at.session_state["o2o_user"] = {"name": name}
    at.run()
    at.switch_page("pages/data.py").run()
    assert not at.exception
    return at


def shown_frames(at: AppTest) -> list[pd.DataFrame]:
    return [el.value for el in at.dataframe if isinstance(el.value, pd.DataFrame)]


def test_a_store_manager_cannot_upload_or_import(warehouse: Path, users: Path):
    before = warehouse.read_bytes()
    at = data_page_as(warehouse, "mgr")
    assert at.get("file_uploader") == []
    assert not [b for b in at.button if b.label == "Import"]
    assert "Importing data is for analysts and admins" in texts(at)
    assert [t.label for t in at.tabs] == ["Your data", "Quality checks", "Targets"]   # targets: read only
    # a click smuggled into the session (as a stale page would send) is dropped, nothing written
    at.session_state["data_import_requested"] = True
    at.run()
    assert not at.exception and "data_import_requested" not in at.session_state
    assert warehouse.read_bytes() == before


def test_a_role_taken_away_mid_session_stops_the_import(warehouse: Path, users: Path):
    """An analyst prepares the S0001 rename (checked, Import enabled); their role becomes store
    manager before they click: the click writes nothing."""
    before = warehouse.read_bytes()
    at = data_page_as(warehouse, "ana")
    at.file_uploader(key="data_files_0").set_value(("stores.csv", RENAME_S0001, "text/csv")).run()
    assert "No problems found: stores 1 rows. Ready to import." in texts(at)
    (button,) = [b for b in at.button if b.label == "Import"]
    assert not button.disabled
    auth.add_user("ana", "ana-pass", "store_manager", stores=list(MINE), path=users, replace=True)
    button.click().run()
    assert not at.exception
    assert "Imported" not in texts(at)
    assert at.get("file_uploader") == [] and "Importing data is for analysts and admins" in texts(at)
    assert warehouse.read_bytes() == before


def test_the_import_call_checks_the_role_itself(warehouse: Path, tmp_path: Path):
    before = warehouse.read_bytes()
    upload = tmp_path / "stores.csv"
    upload.write_bytes(RENAME_S0001)
    sources = [ingest.Source("stores", upload)]
    for user in (auth.User("mgr", "store_manager", MINE), auth.User("east", "regional_manager", (), ("East",)),
                 auth.User("boss", "executive"), None):
        with pytest.raises(data_page.NotAllowed, match="only admins and analysts change the warehouse"):
            data_page.import_batch(sources, user=user, open_app=False, warehouse=warehouse)
    assert warehouse.read_bytes() == before
    # an admin may; the log names them
    result = data_page.import_batch(sources, user=auth.User("root", "admin"), open_app=False, warehouse=warehouse)
    assert [(t.table, t.rows_updated) for t in result.tables] == [("stores", 1)]
    con = db.connect(warehouse)
    try:
        assert db.scalar(con, "SELECT imported_by FROM import_log ORDER BY imported_at DESC LIMIT 1") == "root"
    finally:
        con.close()


def test_a_store_manager_sees_only_their_stores_findings_and_counts(warehouse: Path, users: Path):
    at = data_page_as(warehouse, "mgr")
    frames = shown_frames(at)
    (tables,) = [f for f in frames if "count_rows" in f.columns]
    con = db.connect(warehouse)
    try:
        expected = data_page.warehouse_summary(con, MINE, None)
        orders_mine = db.scalar(con, "SELECT count(*) FROM orders WHERE store_id IN ('S0007', 'S0035')")
        orders_all = db.scalar(con, "SELECT count(*) FROM orders")
    finally:
        con.close()
    counts = dict(zip(tables["table_name"], tables["count_rows"]))
    assert counts == dict(zip(expected["table_name"], expected["count_rows"]))
    assert list(counts) == list(data_page.STORE_TABLES)        # no campaigns or customers of everyone
    assert counts["stores"] == 2 and counts["orders"] == orders_mine < orders_all
    (checks,) = [f for f in frames if "description" in f.columns]
    # no orphan counts of the warehouse; the checks in words on screen
    assert checks["check"].tolist() == [words.value_label("check", c) for c in data_page.SCOPED_CHECKS] == [
        "Days without orders", "Stores without coordinates", "Reviews of unredeemed orders"]
    # no import log, no file names, no server paths anywhere on the page
    shown = texts(at) + "".join(f.to_csv() for f in frames)
    assert not [f for f in frames if "imported_by" in f.columns]
    assert "o2o.duckdb" not in shown and str(warehouse.parent) not in shown and "/tmp" not in shown
    # every store id on the page is theirs
    assert set(re.findall(r"\bS\d{4}\b", shown)) <= set(MINE)


def test_an_analyst_sees_the_log_without_server_paths(warehouse: Path, users: Path):
    at = data_page_as(warehouse, "ana")
    at.file_uploader(key="data_files_0").set_value(("new_stores.csv",
        b"store_id,name,category,city,lat,lon\nS9999,Canal Tea,cafe,Suzhou,31.3,120.6\n", "text/csv")).run()
    [b for b in at.button if b.label == "Import"][0].click().run()
    assert not at.exception and "Imported 1 file(s): 1 rows added" in texts(at)
    (log,) = [f for f in shown_frames(at) if "imported_by" in f.columns]
    assert "source" not in log.columns
    assert log.iloc[0][["imported_by", "file", "table_name", "rows_added"]].tolist() == [
        "ana", "new_stores.csv", "stores", 1]
    assert not any("o2o-upload-" in str(v) for v in log.astype(str).to_numpy().ravel())


# --- scoped quality findings, exactly, on the planted tiny warehouse ----------------------------

@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Path:
    """S4 at (0, 0) (Hangzhou, no region); review R3 of order O3 (store S2) never redeemed;
    orders of S1 on 10-20, 11-02, 11-03; of S2 on 11-04, 11-05; of S3 on 11-10."""
    return build_tiny(tmp_path_factory.mktemp("planted") / "planted.duckdb", PLANTED)


@pytest.mark.parametrize("scope, counts, rows", [
    # S1 alone: a 12-day gap (10-21..11-01), its coordinates are fine, its reviews were all redeemed
    ((("S1",), None), {"date_gaps": 12, "stores_without_coordinates": 0, "reviews_without_redemptions": 0}, {}),
    # East = S1 + S2: the same gap (S2's orders fill no earlier day), R3 of S2's order O3
    ((None, ("East",)), {"date_gaps": 12, "stores_without_coordinates": 0, "reviews_without_redemptions": 1},
     {"reviews_without_redemptions": ["R3"]}),
    # S3 and S4: one order day (no gap), S4 without coordinates
    ((("S3", "S4"), None), {"date_gaps": 0, "stores_without_coordinates": 1, "reviews_without_redemptions": 0},
     {"stores_without_coordinates": ["S4"]}),
])
def test_quality_findings_within_a_scope(planted: Path, scope, counts, rows):
    con = db.connect(planted)
    try:
        checks = data_page.quality_checks(con, *scope)
        assert dict(zip(checks["check"], checks["count_problems"])) == counts
        for check in data_page.SCOPED_CHECKS:
            found = data_page.quality_check_rows(con, check, *scope)
            if check == "date_gaps":
                assert found["days_missing"].sum() == counts[check]
            else:
                key = "review_id" if check == "reviews_without_redemptions" else "store_id"
                assert found[key].tolist() == rows.get(check, [])
        with pytest.raises(ValueError, match="not shown within a scope"):
            data_page.quality_check_rows(con, "orphans", *scope)
        # and the same scope passed as Filters values elsewhere in the app
        assert Filters(scope_stores=scope[0], scope_regions=scope[1]).scope_stores == scope[0]
    finally:
        con.close()


def test_scoped_counts_on_the_planted_warehouse(planted: Path):
    con = db.connect(planted)
    try:
        east = data_page.warehouse_summary(con, None, ("East",))
        # East = S1, S2: orders O1, O2, O3, O4, O6; redemptions O1, O2, O6; reviews R1, R2, R6, R3;
        # refund of O2; costs of S1 (2) and S2 (1)
        assert dict(zip(east["table_name"], east["count_rows"])) == {
            "stores": 2, "orders": 5, "redemptions": 3, "reviews": 4, "refunds": 1, "costs": 3}
    finally:
        con.close()
