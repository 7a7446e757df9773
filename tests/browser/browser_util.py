"""Helpers for headless-Chromium tests: wait for the app, screenshots, error boxes; starting the
app is :mod:`o2o_ops.bench.app`'s (shared with the benchmark).

Chromium is Debian's (/usr/bin/chromium); Playwright never downloads a browser here.
"""

from __future__ import annotations

from pathlib import Path

# the launcher lives beside the benchmark, which starts the app the same way
from o2o_ops.bench.app import CHROMIUM, CHROMIUM_ARGS, RunningApp, running_app, start_streamlit  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"


def wait_for_app(pg, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has finished running the script (no running indicator, app rendered)."""
    pg.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    pg.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=timeout_ms)
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=timeout_ms,
    )
    pg.wait_for_timeout(800)


def screenshot(pg, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    return path


def error_boxes(pg) -> list[str]:
    """Texts of exception boxes and error alerts on the page."""
    found = pg.query_selector_all('[data-testid="stException"], [data-testid="stAlertContentError"]')
    return [el.inner_text() for el in found]
