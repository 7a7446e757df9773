"""Fixtures for headless-Chromium tests: a running app on the demo warehouse and a page."""

from __future__ import annotations

import pytest

from browser_util import CHROMIUM, CHROMIUM_ARGS, running_app


@pytest.fixture(scope="session")
def app_url(demo_warehouse):
    with running_app(demo_warehouse) as app:
        yield app.url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()
