"""Opening a page of the app in Streamlit's AppTest, on a given warehouse."""

from __future__ import annotations

import os
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent


def open_page(page: str | None, warehouse: Path, query: dict | None = None, *, timeout: float = 60,
              session: dict | None = None) -> AppTest:
    """Run dashboard.py on ``warehouse`` and show ``page`` (e.g. ``"pages/quality.py"``).

    ``query`` becomes the URL's query parameters before the first run, as if a shared link was
    opened; ``session`` pre-sets session_state (e.g. a signed-in user).
    """
    os.environ["O2O_WAREHOUSE"] = str(warehouse)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.run()
    if page and not at.exception:
        at.switch_page(page)
        at.run()
    return at


def texts(at: AppTest) -> str:
    """Everything visible as text: titles, markdown, captions, metrics, warnings, info, errors."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "warning", "info", "error", "success"):
        parts.extend(str(el.value) for el in getattr(at, kind))
    parts.extend(f"{m.label}: {m.value}" for m in at.metric)
    return "\n".join(parts)
