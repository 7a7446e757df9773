"""Uploads on the Data page: the app's own size limit (far below the command line's), copies on
disk deleted after import and when a file leaves the uploader, abandoned folders swept."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from apptest_util import ROOT, texts
from o2o_ops import config
from tiny import build_tiny

STORES = b"store_id,name,category,city,lat,lon\nS9,Canal Tea House,cafe,Suzhou,31.3,120.6\n"


@pytest.fixture()
def page(tmp_path: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("O2O_USERS_FILE", str(tmp_path / "no-users.toml"))
    os.environ["O2O_WAREHOUSE"] = str(build_tiny(tmp_path / "o2o.duckdb"))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)
    at.run()
    at.switch_page("pages/data.py").run()
    assert not at.exception
    return at


def saved_files(at: AppTest) -> list[str]:
    folder = Path(at.session_state["data_upload_dir"])
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def test_the_app_limit_is_far_below_the_importers_and_matches_streamlits():
    assert config.get_float("O2O_UPLOAD_MAX_MB") * 10 <= config.get_float("O2O_IMPORT_MAX_MB")
    import tomllib
    streamlit_conf = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert streamlit_conf["server"]["maxUploadSize"] == config.get_float("O2O_UPLOAD_MAX_MB")


def test_an_upload_over_the_limit_is_refused_unread(page: AppTest, monkeypatch):
    monkeypatch.setenv("O2O_UPLOAD_MAX_MB", str(64 / 2**20))    # 64 bytes
    page.file_uploader(key="data_files_0").set_value(("stores.csv", STORES, "text/csv")).run()
    assert not page.exception
    assert any("stores.csv (0.0 MiB): larger than the app's upload limit" in e.value and
               "python -m o2o_ops import TABLE FILE" in e.value for e in page.error)
    assert not [b for b in page.button if b.label == "Import"]
    assert saved_files(page) == []


def test_copies_are_deleted_when_removed_and_after_import(page: AppTest):
    page.file_uploader(key="data_files_0").set_value(("stores.csv", STORES, "text/csv")).run()
    assert saved_files(page) == ["stores.csv"]
    folder = Path(page.session_state["data_upload_dir"])
    assert folder.parent == Path(tempfile.gettempdir()) and folder.name.startswith(f"o2o-upload-{os.getpid()}-")
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    page.file_uploader(key="data_files_0").set_value([]).run()            # the user removes the file
    assert saved_files(page) == []
    page.file_uploader(key="data_files_0").set_value(("stores.csv", STORES, "text/csv")).run()
    [b for b in page.button if b.label == "Import"][0].click().run()
    assert "Imported 1 file(s): 1 rows added" in texts(page)
    assert saved_files(page) == []                                        # imported: copy deleted


def test_the_open_demo_says_everyone_can_import(page: AppTest):
    assert any("Open demo, no sign-in configured: Everyone who can open this app can import data" in w.value
               for w in page.warning)


def test_an_import_waiting_for_another_writer_gives_up_with_a_message(page: AppTest, monkeypatch):
    from o2o_ops import db

    monkeypatch.setenv("O2O_WRITE_WAIT_S", "0.5")
    warehouse = Path(os.environ["O2O_WAREHOUSE"])
    page.file_uploader(key="data_files_0").set_value(("stores.csv", STORES, "text/csv")).run()
    before = warehouse.read_bytes()
    with db.write_lock(warehouse):           # another import holds the warehouse
        [b for b in page.button if b.label == "Import"][0].click().run()
    assert not page.exception
    (error,) = [e.value.replace("\\", "") for e in page.error]   # the page escapes markdown in messages
    assert error.startswith("The import failed and the warehouse is unchanged: Another writer (an import, "
                            "a rebuild or a user change) is still changing the warehouse")
    assert "gave up after waiting 0.5 s (setting O2O_WRITE_WAIT_S)" in error
    assert warehouse.read_bytes() == before
    assert saved_files(page) == ["stores.csv"]   # kept for another try
