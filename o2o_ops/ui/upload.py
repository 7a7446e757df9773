"""Streamlit glue for the Data page: uploads saved to files the importer can read, a progress
bar callback that is safe to call from the importer's watcher thread, a per-session memo of the
batch check, and cached views of the warehouse (import log, table counts, quality checks).

Uploads and what is left of them: Streamlit keeps an uploaded file in the server's memory (its
upload handler reads the whole body) until the session ends or the file is removed, so the app's
own limit, ``O2O_UPLOAD_MAX_MB`` (= ``server.maxUploadSize``), is far below the command line's.
Each file is copied to disk in 1 MiB pieces, into a folder named after the session
(``<tmp>/o2o-upload-<server pid>-<session id>``). A copy is deleted when its file leaves the uploader, after
it was imported (then Streamlit's in-memory copy is dropped too), and — for sessions that ended
or a server that was restarted — by :func:`sweep_abandoned`, which every Data page run calls: a
folder whose session is no longer active is removed.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Hashable, Sequence

import streamlit as st

from o2o_ops import config, db, i18n, importing_view as data_page
from o2o_ops.ui import warehouse

_DIR_KEY = "data_upload_dir"
_CHECK_KEY = "data_check_memo"
_PREFIX = "o2o-upload-"
#: Upload folders named by older versions are removed once untouched this long (a session lasts
#: at most 12 hours, see auth.DEFAULT_MAX_HOURS).
LEGACY_AGE_S = 24 * 3600




@dataclass(frozen=True)
class SavedUpload:
    name: str        # the name the user's browser sent
    path: Path       # where the importer reads it
    size_bytes: int
    file_id: str


def _session_id() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def _safe_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text)


def _session_dir() -> Path:
    folder = st.session_state.get(_DIR_KEY)
    if not folder or not Path(folder).is_dir():
        session = _session_id()
        if session:
            folder = Path(tempfile.gettempdir()) / f"{_PREFIX}{os.getpid()}-{_safe_id(session)}"
            folder.mkdir(mode=0o700, exist_ok=True)
        else:  # no session (bare mode): a folder of its own
            folder = Path(tempfile.mkdtemp(prefix=_PREFIX))
        st.session_state[_DIR_KEY] = str(folder)
    return Path(folder)


def limit_bytes() -> int:
    return int(config.get_float("O2O_UPLOAD_MAX_MB") * 1024 * 1024)


def sweep_abandoned() -> int:
    """Delete the upload folders of sessions that are no longer active: this server's ended
    sessions, and every session of a server process that no longer runs (a restart). Another
    running server's folders are left alone. Returns how many were removed."""
    try:
        from streamlit import runtime

        if not runtime.exists():
            return 0
        instance = runtime.get_instance()
    except Exception:  # noqa: BLE001 - no runtime (AppTest): nothing can be judged abandoned
        return 0
    removed = 0
    legacy_before = time.time() - LEGACY_AGE_S
    for folder in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*"):
        if not folder.is_dir() or folder.is_symlink():
            continue
        pid_text, _, session = folder.name[len(_PREFIX):].partition("-")
        if not pid_text.isdigit():
            # named by an older version (no server pid): abandoned once older than any session
            if folder.stat().st_mtime < legacy_before:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
            continue
        pid = int(pid_text)
        mine = pid == os.getpid()
        if (mine and not instance.is_active_session(session)) or (not mine and not db.pid_alive(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def drop_from_memory(file_ids: Sequence[str]) -> None:
    """Forget Streamlit's in-memory copies of these uploads (after they were imported)."""
    session = _session_id()
    if not session:
        return
    try:
        from streamlit import runtime

        manager = runtime.get_instance().uploaded_file_mgr
    except Exception:  # noqa: BLE001 - no runtime (AppTest): nothing held
        return
    for file_id in file_ids:
        manager.remove_file(session, file_id)


def discard(saved: Sequence["SavedUpload"]) -> None:
    """Delete the on-disk copies of these uploads and Streamlit's in-memory copies (after an
    import: the files are in the warehouse now)."""
    for item in saved:
        shutil.rmtree(item.path.parent, ignore_errors=True)
    drop_from_memory([item.file_id for item in saved])


def safe_file_name(name: str) -> str:
    """The upload's base name with anything but letters, digits, ``.``, ``-``, ``_`` replaced,
    so a browser-sent name can never point outside the upload folder."""
    base = Path(name.replace("\\", "/")).name.strip() or "upload"
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip(".")
    return cleaned or "upload"


def save_uploads(files: Sequence[Any], *, keep: Sequence[str] = ()) -> list[SavedUpload]:
    """Write each ``UploadedFile`` once to this session's upload folder (named after the
    upload, so the import log shows the user's file name) and delete files no longer uploaded.
    ``keep`` names further file ids whose copies must stay (e.g. the mapping file).

    Files over ``O2O_UPLOAD_MAX_MB`` are not saved (see :func:`oversize_message`)."""
    folder = _session_dir()
    saved = []
    limit = limit_bytes()
    for upload in files:
        if int(upload.size) > limit:
            continue
        sub = folder / _safe_id(str(upload.file_id))
        path = sub / safe_file_name(upload.name)
        if not path.exists():
            sub.mkdir(parents=True, exist_ok=True)
            upload.seek(0)
            partial = path.with_name(path.name + ".part")
            with open(partial, "wb") as out:
                shutil.copyfileobj(upload, out, length=1 << 20)
            os.replace(partial, path)   # a copy cut short by a crash is never read as whole
        saved.append(SavedUpload(upload.name, path, int(upload.size), str(upload.file_id)))
    wanted = {p.path.parent.name for p in saved} | {_safe_id(k) for k in keep}
    for sub in folder.iterdir():
        if sub.is_dir() and sub.name not in wanted:
            shutil.rmtree(sub, ignore_errors=True)
    return saved


def oversize_message(files: Sequence[Any], lang: str = "en") -> str | None:
    """What to say about uploads over ``O2O_UPLOAD_MAX_MB`` (None when there are none), in ``lang``."""
    limit = limit_bytes()
    too_large = [u for u in files if int(u.size) > limit]
    if not too_large:
        return None
    names = ", ".join(f"{u.name} ({int(u.size) / 2**20:,.1f} MiB)" for u in too_large)
    return i18n.t("data.oversize", lang, names=names, limit=f"{limit / 2**20:g}")


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
import_log = warehouse.cached(data_page.import_log)
warehouse_summary = warehouse.cached(data_page.warehouse_summary)
quality_checks = warehouse.cached(data_page.quality_checks)
quality_check_rows = warehouse.cached(data_page.quality_check_rows)


# Streamlit 1.67's file uploader writes its own words in English ("Upload", "200MB per file • CSV,
# …") and has no parameter for them (streamlit/streamlit#13500, open). In Chinese they are
# painted over with CSS: the English text at font size 0, the Chinese as generated content. This
# leans on the uploader's test ids (stFileUploaderDropzone, stFileUploaderDropzoneInstructions,
# stBaseButton-secondary); tests/browser/test_data_upload_browser.py pins it, so a Streamlit
# upgrade that moves them fails there rather than leaving English on the page.
_UPLOADER_CSS = """
{scope} [data-testid="stFileUploaderDropzone"] [data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"] p {{ font-size: 0; }}
{scope} [data-testid="stFileUploaderDropzone"] [data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"] p::after {{ content: "{button}"; font-size: 0.875rem; }}
{scope} [data-testid="stFileUploaderDropzoneInstructions"] span {{ font-size: 0; }}
{scope} [data-testid="stFileUploaderDropzoneInstructions"] span::after {{ content: "{limit}"; font-size: 0.875rem; }}
"""


def _css_string(words: str) -> str:
    return words.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def uploader_words(uploaders: dict[str, Sequence[str]], lang: str) -> str:
    """The CSS that puts the file uploaders' own words in ``lang`` (nothing for English, which
    Streamlit writes itself). ``uploaders``: each uploader's key prefix -> its file types, as
    the uploader lists them."""
    if i18n.check(lang) == "en":
        return ""
    limit = f"{st.get_option('server.maxUploadSize'):g}MB"
    rules = [_UPLOADER_CSS.format(scope=f'[class*="st-key-{prefix}"]',
                                  button=_css_string(i18n.t("data.uploader_button", lang)),
                                  limit=_css_string(i18n.t("data.uploader_limit", lang, limit=limit,
                                                           types=", ".join(t.upper() for t in types))))
             for prefix, types in uploaders.items()]
    return "<style>" + "".join(rules) + "</style>"

