"""Data: upload CSV/Parquet files, preview them with the mapped columns, see every problem,
import them as one all-or-nothing batch; the import log; data-quality checks on the warehouse.

Importing and the import log are for those who may write (admins and analysts; everyone in the
open demo). Everyone else sees the quality findings and row counts of their own scope only."""

import streamlit as st

from o2o_ops import config, db, i18n, importing_view as data_page, ingest, targets, text
from o2o_ops.i18n import problems as problem_words
from o2o_ops.ui import auth as auth_ui, warehouse, frame, upload

FILE_TYPES = ["csv", "tsv", "txt", "parquet", "pq", "json", "ndjson", "jsonl"]
MAPPING_TYPES = ["toml", "yaml", "yml"]
lang = frame.language()   # taken once: widgets' format functions run later, outside this run too


def t(key: str, **values) -> str:
    return i18n.t(key, lang, **values)


def check_words(name: str) -> str:
    """A quality check by its code in English (as the log and the CLI name it), in words in Chinese."""
    return name if lang == "en" else i18n.value_label("check", name, lang)


def table_words(name: str) -> str:
    """A contract table by its name in English (the files' names), in words in Chinese."""
    return data_page.table_words(name, lang)


def result_columns() -> dict:
    """The import result's columns in the reader's language."""
    return {c: i18n.column_label(c, lang) for c in ("file", "rows_added", "rows_updated")} | {
        "table": t("data.table"), "rows_read": t("data.rows_read"), "rows_unchanged": t("data.rows_unchanged")}


def problem_columns() -> dict:
    """A problem's file, row, column, value and message, headed in the reader's language."""
    return {c: t(f"data.problem_{c}") for c in ("file", "row", "column", "value", "message")}


def import_files() -> None:
    """The upload → preview → check → import flow (only rendered for those who may write)."""
    import_requested = st.session_state.pop("data_import_requested", False)  # set by Import's on_click
    last = st.session_state.pop("data_last_import", None)
    if last is not None:
        st.success(t("data.imported", files=len(last), added=f"{int(last['rows_added'].sum()):,}",
                     updated=f"{int(last['rows_updated'].sum()):,}",
                     unchanged=f"{int(last['rows_unchanged'].sum()):,}"), icon="✅")
        st.dataframe(last, hide_index=True, placeholder=text.MISSING, column_config=result_columns())
        for note in st.session_state.pop("data_last_import_notes", []):
            st.info(text.md(note), icon="ℹ️")
    if open_app:
        st.warning(t("data.open_demo"), icon="🔓")

    generation = st.session_state.setdefault("data_upload_generation", 0)  # new key = empty uploader
    words = upload.uploader_words({"data_files_": FILE_TYPES, "data_mapping_": MAPPING_TYPES}, lang)
    if words:   # the uploaders' own words in Chinese
        st.sidebar.html(words)
    limit_mb = config.get_float("O2O_UPLOAD_MAX_MB")
    left, right = st.columns([3, 2])
    files = left.file_uploader(
        t("data.files"), type=FILE_TYPES, accept_multiple_files=True,
        key=f"data_files_{generation}", help=t("data.files_help", limit=f"{limit_mb:g}"))
    mapping_upload = right.file_uploader(
        t("data.mapping"), type=MAPPING_TYPES, key=f"data_mapping_{generation}", help=t("data.mapping_help"))
    with right.expander(t("data.mapping_format")):
        st.code(t("data.mapping_sample"), language="toml")
        st.caption(t("data.mapping_reference"))

    too_large = upload.oversize_message(files or [], lang)
    if too_large:
        st.error(too_large, icon="🚫")
    mapping_raw, mapping_id = None, None
    saved = upload.save_uploads(files or [], keep=[mapping_upload.file_id] if mapping_upload else [])
    if mapping_upload is not None:
        mapping_saved = upload.save_uploads([mapping_upload], keep=[f.file_id for f in saved])
        if not mapping_saved:
            st.error(text.md(t("data.mapping_too_large", name=mapping_upload.name)), icon="🚫")
        else:
            try:
                mapping_raw = ingest.read_mapping_file(mapping_saved[0].path)
                mapping_id = mapping_saved[0].file_id
            except ingest.ImportRejected as exc:
                st.error(text.md(t("data.mapping_unusable", name=mapping_upload.name, why=exc.problems[0].words(
                    lang).removeprefix("cannot use this mapping file: "))), icon="🚫")

    if not saved:
        st.info(t("data.upload_first"), icon="📤")
        return
    sources, names = [], {}
    try:   # tables the mapping feeds with staging SQL, and the uploads it reads as sources
        sql_fed, used = ingest.sql_sources(mapping_raw, {item.name: item.path for item in saved},
                                           label=mapping_upload.name if mapping_upload else None)
    except ingest.ImportRejected as exc:
        st.error(text.md(t("data.mapping_cannot", why=exc.problems[0].words(lang))), icon="🚫")
        sql_fed, used = [], set()
    if sql_fed:
        sources.extend(sql_fed)
        tables = t("data.list_separator").join(table_words(s.table) for s in sql_fed)
        st.info(text.md(t("data.sql_fills", tables=tables, files=", ".join(sorted(used))) if used
                        else t("data.sql_fills_none", tables=tables)), icon="🧮")
    for item in saved:
        if item.name in used:
            names[str(item.path)] = item.name
            st.caption(text.md(f"**{item.name}** · {item.size_bytes / 1024:,.1f} KiB · ") + t("data.read_by_sql"))
            continue
        with st.container(border=True):
            head, choose = st.columns([3, 2])
            head.markdown(f"**{text.md(item.name)}** · {item.size_bytes / 1024:,.1f} KiB")
            guess = data_page.guess_table(item.name, taken=(s.table for s in sql_fed))
            table = choose.selectbox(
                t("data.table"), ingest.IMPORT_ORDER, key=f"data_table_{item.file_id}",
                index=ingest.IMPORT_ORDER.index(guess) if guess else None,
                placeholder=t("data.choose_table"), label_visibility="collapsed", format_func=table_words)
            if table is None:
                st.warning(t("data.choose_table_for"), icon="👉")
                continue
            source = ingest.Source(table, item.path, ingest.mapping_for(mapping_raw, table))
            sources.append(source)
            names[str(item.path)] = item.name
            try:
                shown = data_page.preview(source)
            except data_page.PreviewError as exc:
                st.error(text.md(str(exc)), icon="🚫")
                continue
            st.dataframe(shown.rows, hide_index=True, placeholder="")
            notes = [t("data.preview_first", count=len(shown.rows))]
            if shown.renamed:
                notes.append(t("data.renamed", columns=", ".join(f"{k} → {v}" for k, v in shown.renamed.items())))
            if shown.ignored:
                notes.append(t("data.ignored", columns=", ".join(shown.ignored)))
            st.caption(text.md(" · ".join(notes)))

    if len(sources) != len(saved) - len(used) + len(sql_fed):
        return
    key = (tuple(sorted((s.table, str(s.path)) for s in sources)), mapping_id, warehouse.warehouse_stamp())
    with st.spinner(t("data.checking")):
        checked = upload.memo_check(key, lambda: data_page.check_batch(
            sources, warehouse=config.warehouse_path()))
    if checked.ok:
        st.success(t("data.no_problems", tables=t("data.list_separator").join(
            t("data.table_rows", table=table_words(name), count=f"{n:,}") for name, n in checked.rows.items())),
                   icon="✅")
        for note in data_page.kept_notes(checked.kept, lang):
            st.info(text.md(note), icon="ℹ️")
    else:
        rejected = checked.rejected
        summary = data_page.problem_summary(rejected, lang)
        st.error(t("data.problems", count=f"{rejected.total:,}", kinds=len(summary)), icon="🚫")
        for i, row in enumerate(summary.itertuples()):
            with st.expander(t("data.problem_kind", label=row.label, kind=row.kind, count=f"{row.count_problems:,}"),
                             expanded=i < 3):
                examples = data_page.problem_examples(rejected, row.kind, file_names=names, lang=lang)
                st.dataframe(examples, hide_index=True, placeholder=text.MISSING, column_config=problem_columns())
                if row.count_problems > len(examples):
                    st.caption(t("data.first_shown", shown=len(examples), count=f"{row.count_problems:,}"))

    user = auth_ui.current_user() if not open_app else None
    # The click is kept in session state (not the button's one-run value), so a rerun the
    # shared frame may trigger before this line does not lose it.
    st.button(t("data.import"), type="primary", disabled=not checked.ok, icon=":material/upload:",
              help=t("data.import_help", name=user.name if user else "app"),
              on_click=st.session_state.__setitem__, args=("data_import_requested", True))
    if not (import_requested and checked.ok):
        return
    bar = st.progress(0.0, text=t("data.starting"))
    waiting = st.empty()

    def show_waiting(message: str) -> None:
        waiting.info(t("data.waiting", limit=f"{config.get_float('O2O_WRITE_WAIT_S'):g}"), icon="⏳")

    try:
        with db.notify_waits(show_waiting):
            # The role is checked again inside, whatever this page showed.
            result = data_page.import_batch(sources, user=user, open_app=open_app,
                                            warehouse=config.warehouse_path(),
                                            progress=upload.progress_callback(bar))
    except ingest.ImportRejected as exc:  # the warehouse changed since the check
        bar.empty()
        waiting.empty()
        upload.forget_check()
        st.error(t("data.refused", report=exc.report(lang=lang)), icon="🚫")
    except data_page.NotAllowed as exc:
        bar.empty()
        waiting.empty()
        st.error(text.md(str(exc)), icon="🔒")
    except (db.WarehouseError, OSError) as exc:
        bar.empty()
        waiting.empty()
        st.error(text.md(t("data.failed", why=frame.error_message(exc) or exc)), icon="🚫")
    else:
        upload.forget_check()
        upload.discard(saved)   # imported: the copies on disk and in memory are no longer needed
        st.session_state["data_last_import"] = data_page.result_table(result, names, lang)
        st.session_state["data_last_import_notes"] = data_page.kept_notes(
            {r.table: r.kept_as_text for r in result.tables}, lang)
        st.session_state["data_upload_generation"] = generation + 1
        st.rerun()  # the sidebar and every cache now read the new warehouse file


visible_targets = warehouse.cached(targets.visible)


def targets_panel() -> None:
    """Targets per KPI, scope and month: edited in place by those who may write, shown to the rest."""
    st.subheader(t("data.targets"))
    st.caption(t("data.targets_help"))
    current = visible_targets(filters)
    if not writer:
        frame.table(current, "data", filters, key="targets", label=t("data.download_targets"))
        return
    edited = st.data_editor(
        current, key="data_targets_editor", num_rows="dynamic", hide_index=True, width="stretch",
        column_config={
            "kpi": st.column_config.SelectboxColumn(t("data.col_kpi"), options=list(
                ingest.CONTRACT["targets"].column("kpi").allowed), required=True),
            "scope": st.column_config.SelectboxColumn(t("data.col_scope"), options=list(ingest.TARGET_SCOPES),
                                                      required=True),
            "scope_id": st.column_config.TextColumn(t("data.col_scope_id"), help=t("data.col_scope_id_help")),
            "month": st.column_config.DateColumn(t("data.col_month"), format="YYYY-MM", required=True,
                                                 help=t("data.col_month_help")),
            "target_value": st.column_config.NumberColumn(t("data.col_target"), required=True,
                                                          help=t("data.col_target_help")),
        })
    user = auth_ui.current_user() if not open_app else None
    if st.button(t("data.save_targets"), key="data_targets_save", icon=":material/save:"):
        try:
            with db.notify_waits(lambda message: st.info(t("data.targets_waiting"), icon="⏳")):
                n = targets.save(edited, allowed=auth_ui.can_write(), warehouse=config.warehouse_path(),
                                 saved_by=user.name if user else "app")
        except ingest.ImportRejected as exc:
            st.error(t("data.targets_refused", report=exc.report(lang=lang)), icon="🚫")
        except targets.NotAllowed as exc:
            st.error(text.md(str(exc)), icon="🔒")
        except (db.WarehouseError, OSError) as exc:
            st.error(text.md(t("data.targets_failed", why=frame.error_message(exc) or exc)), icon="🚫")
        else:
            st.session_state.pop("data_targets_editor", None)
            st.session_state["data_targets_saved"] = n
            st.rerun()
    saved = st.session_state.pop("data_targets_saved", None)
    if saved is not None:
        st.success(t("data.targets_saved", count=saved), icon="✅")


filters = frame.current_filters()
writer = auth_ui.can_write()
open_app = not auth_ui.sign_in_required()
scope = {"scope_stores": filters.scope_stores, "scope_regions": filters.scope_regions}
frame.header(t("nav.data"), filters, note=t("data.warehouse", name=config.warehouse_path().name) if writer else None)
upload.sweep_abandoned()

if writer:
    import_tab, log_tab, quality_tab, targets_tab = st.tabs(
        [t("data.tab_import"), t("data.import_log"), t("data.tab_checks"), t("data.targets")])
    with import_tab:
        import_files()
else:
    st.session_state.pop("data_import_requested", None)   # a click from before a role change
    st.info(t("data.readers_only"), icon="🔒")
    log_tab, quality_tab, targets_tab = st.tabs([t("data.tab_yours"), t("data.tab_checks"), t("data.targets")])

# ------------------------------------------------------------------------------------------
with log_tab:
    st.subheader(t("data.tables"))
    frame.table(upload.warehouse_summary(**scope), "data", filters, key="warehouse_tables")
    if writer:
        st.subheader(t("data.import_log"))
        log = upload.import_log()
        if log.empty:
            st.info(t("data.no_imports"), icon="🗒️")
        frame.table(log, "data", filters, key="import_log", column_config={
            "imported_at": st.column_config.DatetimeColumn(i18n.column_label("imported_at", lang),
                                                           format="YYYY-MM-DD HH:mm:ss")})

# ------------------------------------------------------------------------------------------
with quality_tab:
    checks = upload.quality_checks(**scope)
    problems_total = int(checks["count_problems"].sum())
    if problems_total:
        st.warning(t("data.checks_find", found=int((checks['count_problems'] > 0).sum()), count=len(checks)),
                   icon="🔍")
    else:
        st.success(t("data.checks_pass", count=len(checks)), icon="✅")
    frame.table(checks.assign(description=[t(f"datacheck.{name}") for name in checks["check"]]), "data", filters,
                key="quality_checks")
    counts = dict(zip(checks["check"], checks["count_problems"]))
    with_problems = [i for i, n in enumerate(counts.values()) if n]
    chosen = st.selectbox(t("data.show_rows"), list(counts), key="data_quality_check",
                          index=with_problems[0] if with_problems else 0,
                          format_func=lambda name: f"{check_words(name)} ({counts[name]:,})")
    rows = upload.quality_check_rows(chosen, **scope)
    if rows.empty:
        st.caption(text.md(t("data.nothing_found", check=check_words(chosen))))
    else:
        frame.table(rows, "data", filters, key=f"quality_{chosen}")

# ------------------------------------------------------------------------------------------
with targets_tab:
    targets_panel()
