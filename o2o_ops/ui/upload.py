"""Streamlit glue for the Data page: uploads saved to files the importer can read, a progress
bar callback that is safe to call from the importer's watcher thread, a per-session memo of the
batch check, and cached views of the warehouse (import log, table counts, quality checks).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Hashable, Sequence

import streamlit as st

from o2o_ops import importing_view as data_page
from o2o_ops.ui import warehouse as data

_DIR_KEY = "data_upload_dir"
_CHECK_KEY = "data_check_memo"


@dataclass(frozen=True)
class SavedUpload:
    name: str        # the name the user's browser sent
    path: Path       # where the importer reads it
    size_bytes: int
    file_id: str


def _session_dir() -> Path:
    folder = st.session_state.get(_DIR_KEY)
    if not folder or not Path(folder).is_dir():
        folder = tempfile.mkdtemp(prefix="o2o-upload-")
        st.session_state[_DIR_KEY] = folder
    return Path(folder)


def safe_file_name(name: str) -> str:
    """The upload's base name with anything but letters, digits, ``.``, ``-``, ``_`` replaced,
    so a browser-sent name can never point outside the upload folder."""
    base = Path(name.replace("\\", "/")).name.strip() or "upload"
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip(".")
    return cleaned or "upload"


def save_uploads(files: Sequence[Any], *, keep: Sequence[str] = ()) -> list[SavedUpload]:
    """Write each ``UploadedFile`` once to this session's upload folder (named after the
    upload, so the import log shows the user's file name) and delete files no longer uploaded.
    ``keep`` names further file ids whose copies must stay (e.g. the mapping file)."""
    folder = _session_dir()
    saved = []
    for upload in files:
        sub = folder / re.sub(r"[^A-Za-z0-9_-]+", "_", str(upload.file_id))
        path = sub / safe_file_name(upload.name)
        if not path.exists():
            sub.mkdir(parents=True, exist_ok=True)
            upload.seek(0)
            with open(path, "wb") as out:
                shutil.copyfileobj(upload, out, length=1 << 20)
        saved.append(SavedUpload(upload.name, path, int(upload.size), str(upload.file_id)))
    wanted = {p.path.parent.name for p in saved} | {re.sub(r"[^A-Za-z0-9_-]+", "_", k) for k in keep}
    for sub in folder.iterdir():
        if sub.is_dir() and sub.name not in wanted:
            shutil.rmtree(sub, ignore_errors=True)
    return saved


def progress_callback(bar: Any) -> Callable[[float, str], None]:
    """An importer ``progress(fraction, message)`` that moves ``bar`` (an ``st.progress``).

    The importer also reports from a watcher thread that has no Streamlit script context;
    those calls are dropped rather than raised — the next call from the script thread moves
    the bar on.
    """
    owner = threading.get_ident()

    def report(fraction: float, message: str) -> None:
        if threading.get_ident() == owner:
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=message)

    return report


def memo_check(key: Hashable, compute: Callable[[], Any]) -> Any:
    """The batch check for ``key`` (files, tables, mapping, warehouse version), computed once
    per session and change of inputs — a rerun for an unrelated widget does not re-read files."""
    cached = st.session_state.get(_CHECK_KEY)
    if cached is not None and cached[0] == key:
        return cached[1]
    value = compute()
    st.session_state[_CHECK_KEY] = (key, value)
    return value


def forget_check() -> None:
    st.session_state.pop(_CHECK_KEY, None)


# Cached views of the warehouse; keyed by the warehouse file's version, so they refresh after an
# import swaps the file.
import_log = data.cached(data_page.import_log)
warehouse_summary = data.cached(data_page.warehouse_summary)
quality_checks = data.cached(data_page.quality_checks)
quality_check_rows = data.cached(data_page.quality_check_rows)
