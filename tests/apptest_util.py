"""Opening a page of the app in Streamlit's AppTest, on a given warehouse."""

from __future__ import annotations

import os
import re
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


_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def shown(markdown: str) -> str:
    """Markdown source as the reader sees its text: backslash escapes and the invisible word
    joiners of o2o_ops.text.md removed."""
    return _ESCAPED.sub(r"\1", markdown).replace("\u2060", "")


def open_link(page: str, warehouse: Path, query: dict | None = None, *, timeout: float = 60) -> AppTest:
    """Open ``page`` the way a shared link to it does: its first run is that page (with the
    link's query parameters), not the landing page."""
    os.environ["O2O_WAREHOUSE"] = str(warehouse)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(page)
    at.run()
    return at


def texts(at: AppTest) -> str:
    """Everything visible as text: titles, markdown, captions, metrics, warnings, info, errors
    (markdown escapes removed, as displayed)."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "warning", "info", "error", "success"):
        parts.extend(shown(str(el.value)) for el in getattr(at, kind))
    parts.extend(f"{m.label}: {m.value}" for m in at.metric)
    return "\n".join(parts)


TEXT_KINDS = ("title", "header", "subheader", "markdown", "caption", "warning", "info", "error", "success",
              "exception", "text", "code", "latex", "toast")
# What a missing or undefined value must never read as, anywhere a user looks.
LEAKS = re.compile(r"\b(nan|NaN|None|NaT|inf|-inf)\b|[+-]nan%|Traceback \(most recent call last\)")


def rendered_texts(at: AppTest) -> list[str]:
    """Every piece of text the run rendered, main area and sidebar: markdown-like elements,
    metrics' labels, values and deltas, expander and tab labels, widget labels and help, and
    every text cell and column name of every dataframe (as displayed: the text itself)."""
    out: list[str] = []
    for kind in TEXT_KINDS:
        out.extend(shown(str(el.value)) for el in getattr(at, kind))
    for m in at.metric:
        out.extend(str(x) for x in (m.label, m.value, m.proto.delta, m.help) if x)
    out.extend(str(e.label) for e in at.expander)
    out.extend(str(t.label) for t in at.tabs)
    for kind in ("selectbox", "multiselect", "slider", "toggle", "number_input", "date_input", "pills",
                 "segmented_control", "button", "download_button"):
        for w in getattr(at, kind):
            out.extend(str(x) for x in (getattr(w, "label", None), getattr(w, "help", None)) if x)
    for df in at.dataframe:
        frame = df.value
        out.extend(str(c) for c in frame.columns)
        for column in frame.columns:
            if frame[column].dtype == object:
                out.extend(str(v) for v in frame[column] if isinstance(v, str))
    return out


def leaks(at: AppTest) -> list[str]:
    """Rendered texts that show nan, None, NaT, inf or a traceback."""
    return [t for t in rendered_texts(at) if LEAKS.search(t)]
