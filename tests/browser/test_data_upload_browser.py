"""The Data page's real upload in headless Chromium: a broken file lists its problems and keeps
Import disabled; a good file imports, and the sidebar shows the new city without a restart."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from browser_util import error_boxes, running_app, screenshot, wait_for_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tiny import build_tiny  # noqa: E402

BROKEN = ("order_id,customer_id,store_id,ordered_at,list_price,paid_amount\n"
          "O7,C1,S99,2026-11-11 12:00,100,80\n"
          "O8,C2,S1,2026-11-11 13:00,100,eighty\n")
GOOD = "store_id;name;category;city;lat;lon\r\nS5;\"Tea; and Cake\";cafe;Suzhou;31.3;120.6\r\n"


@pytest.fixture()
def tiny_app(tmp_path: Path):
    with running_app(build_tiny(tmp_path / "o2o.duckdb")) as app:
        yield app.url


def upload(page, path: Path) -> None:
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))


def test_upload_broken_then_good_file(tiny_app, page, tmp_path: Path):
    broken = tmp_path / "orders_broken.csv"
    broken.write_text(BROKEN)
    good = tmp_path / "new_stores.csv"
    good.write_bytes(GOOD.encode())

    page.goto(f"{tiny_app}/data")
    wait_for_app(page)
    assert page.locator("h1").first.inner_text().strip() == "Data"

    upload(page, broken)
    page.wait_for_selector("text=2 problem(s) of 2 kind(s)", timeout=60_000)
    wait_for_app(page)
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "Wrong type (wrong_type): 1" in body
    assert "Key points at nothing (unknown_reference): 1" in body
    assert page.get_by_role("button", name="Import").is_disabled()
    screenshot(page, "data-upload-broken")

    # Replace the broken file with the good one (remove, then upload).
    page.locator('[data-testid="stFileChipDeleteBtn"]').first.click()
    wait_for_app(page)
    upload(page, good)
    page.wait_for_selector("text=No problems found: stores 1 rows", timeout=60_000)
    wait_for_app(page)
    import_button = page.get_by_role("button", name="Import")
    assert import_button.is_enabled()
    screenshot(page, "data-upload-good")
    import_button.click()
    page.wait_for_selector("text=Imported 1 file(s): 1 rows added", timeout=60_000)
    wait_for_app(page)
    screenshot(page, "data-upload-imported")
    assert [e for e in error_boxes(page) if "problem" not in e] == []

    # The sidebar's city filter offers the new city at once.
    page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first.click()
    page.wait_for_selector('[role="option"]:has-text("Suzhou")', timeout=30_000)
    page.keyboard.press("Escape")

    page.get_by_role("tab", name="Import log").click()
    page.wait_for_timeout(500)
    screenshot(page, "data-import-log")
    page.get_by_role("tab", name="Quality checks").click()
    page.wait_for_timeout(500)
    screenshot(page, "data-quality")


def sign_in(page, url: str, name: str, password: str) -> None:
    page.goto(url)
    page.wait_for_selector("text=Sign in to o2o-ops", timeout=60_000)
    page.get_by_role("textbox", name="User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_selector("text=Signed in as", timeout=60_000)
    wait_for_app(page)


def open_data_page(page) -> None:
    """Through the sidebar (a page load would be a new, signed-out session)."""
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Data", exact=True).click()
    page.wait_for_selector('h1:has-text("Data")', timeout=60_000)
    wait_for_app(page)


def test_a_signed_in_store_manager_has_no_upload_control(page, tmp_path: Path):
    """Issue #14's attack in a real browser: the store manager of S1 opens the Data page. There
    is no file input to put a stores.csv into and no Import button; an analyst, on the same app,
    has both."""
    from o2o_ops import auth

    wh = build_tiny(tmp_path / "o2o.duckdb")
    before = wh.read_bytes()
    users = tmp_path / "users.toml"
    auth.add_user("mgr", "mgr-pass", "store_manager", stores=["S1"], path=users)
    auth.add_user("ana", "ana-pass", "analyst", path=users)
    with running_app(wh, {"O2O_USERS_FILE": str(users)}) as app:
        sign_in(page, app.url, "mgr", "mgr-pass")
        open_data_page(page)
        main = page.locator('[data-testid="stMain"]')
        main.get_by_text("Importing data is for analysts and admins").wait_for(timeout=30_000)
        assert page.locator('[data-testid="stFileUploaderDropzoneInput"]').count() == 0
        assert page.locator('[data-testid="stFileUploader"]').count() == 0
        assert page.get_by_role("button", name="Import").count() == 0
        assert page.get_by_role("tab", name="Import log").count() == 0
        screenshot(page, "data-store-manager")

        page.context.clear_cookies()
        other = page.context.new_page()
        sign_in(other, app.url, "ana", "ana-pass")
        open_data_page(other)
        assert other.locator('[data-testid="stFileUploaderDropzoneInput"]').count() == 2   # files + mapping
        other.close()
    assert wh.read_bytes() == before


def test_upload_folders_are_swept_and_copies_deleted_after_import(page, tmp_path: Path):
    """A folder left by a server that no longer runs is removed when the Data page opens; an
    import that has to wait for another writer says so on the page, then lands; the copy of the
    imported file is deleted (the running server's own folder stays, empty)."""
    import tempfile

    dead_pid = 2 ** 22 + 4242                       # above Linux's pid_max default: never alive
    leftover = Path(tempfile.gettempdir()) / f"o2o-upload-{dead_pid}-old-session"
    (leftover / "f1").mkdir(parents=True, exist_ok=True)
    (leftover / "f1" / "orders.csv").write_text("order_id\nO1\n")
    good = tmp_path / "new_stores.csv"
    good.write_bytes(GOOD.encode())
    with running_app(build_tiny(tmp_path / "o2o.duckdb"), {"O2O_USERS_FILE": str(tmp_path / "none.toml")}) as app:
        page.goto(f"{app.url}/data")
        wait_for_app(page)
        assert not leftover.exists()
        upload(page, good)
        page.wait_for_selector("text=No problems found: stores 1 rows", timeout=60_000)
        wait_for_app(page)
        mine = list(Path(tempfile.gettempdir()).glob(f"o2o-upload-{app.pid}-*"))
        assert [p.name for f in mine for p in f.rglob("*.csv")] == ["new_stores.csv"]
        # another writer holds the warehouse: the page says it is waiting, then imports
        from o2o_ops import db

        with db.write_lock(tmp_path / "o2o.duckdb"):
            page.get_by_role("button", name="Import").click()
            page.wait_for_selector("text=Waiting for another import…", timeout=60_000)
            screenshot(page, "data-import-waiting")
        page.wait_for_selector("text=Imported 1 file(s): 1 rows added", timeout=60_000)
        wait_for_app(page)
        assert [p.name for f in mine for p in f.rglob("*") if p.is_file()] == []


UPLOADER_WORDS = """() => [...document.querySelectorAll('[data-testid="stFileUploaderDropzone"]')].map(zone => {
    const button = zone.querySelector('[data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"] p');
    const limit = zone.querySelector('[data-testid="stFileUploaderDropzoneInstructions"] span');
    const shown = e => { const after = getComputedStyle(e, '::after').content;
                         return getComputedStyle(e).fontSize === '0px' ? after.replace(/^"|"$/g, '') : e.textContent; };
    return {button: button && shown(button), limit: limit && shown(limit)};
})"""


def test_the_uploaders_own_words_in_chinese(app_url, page):
    """Streamlit's uploader writes "Upload" and "200MB per file • CSV, …" itself, with no parameter
    to change them: in Chinese the app paints them over with CSS on the uploader's test ids. This
    pins those ids: what a reader sees (the English at size 0, the generated words) is Chinese."""
    page.goto(f"{app_url}/data?lang=zh")
    wait_for_app(page)
    page.locator('[data-testid="stFileUploaderDropzone"]').nth(1).wait_for(timeout=60_000)
    files, mapping = page.evaluate(UPLOADER_WORDS)
    assert files == {"button": "上传",
                     "limit": "每个文件不超过 200MB • CSV, TSV, TXT, PARQUET, PQ, JSON, NDJSON, JSONL"}
    assert mapping == {"button": "上传", "limit": "每个文件不超过 200MB • TOML, YAML, YML"}
    zone = page.locator('[data-testid="stFileUploaderDropzone"]').first
    zone.scroll_into_view_if_needed()
    zone.screenshot(path=str(screenshot(page, "data-uploader-zh").with_name("data-uploader-zh-zone.png")))
    page.goto(f"{app_url}/data?lang=en")      # English: Streamlit's own words, untouched
    wait_for_app(page)
    page.locator('[data-testid="stFileUploaderDropzone"]').nth(1).wait_for(timeout=60_000)
    files, _ = page.evaluate(UPLOADER_WORDS)
    assert files == {"button": "Upload", "limit": "200MB per file • CSV, TSV, TXT, PARQUET, PQ, JSON, NDJSON, JSONL"}
