"""Data: upload CSV/Parquet files, preview them with the mapped columns, see every problem,
import them as one all-or-nothing batch; the import log; data-quality checks on the warehouse.

Importing and the import log are for those who may write (admins and analysts; everyone in the
open demo). Everyone else sees the quality findings and row counts of their own scope only."""

import streamlit as st

from o2o_ops import config, db, importing_view as data_page, ingest, targets, text
from o2o_ops.ui import auth as auth_ui, warehouse, frame, upload

FILE_TYPES = ["csv", "tsv", "txt", "parquet", "pq", "json", "ndjson", "jsonl"]
MAPPING_TYPES = ["toml", "yaml", "yml"]


def import_files() -> None:
    """The upload → preview → check → import flow (only rendered for those who may write)."""
    import_requested = st.session_state.pop("data_import_requested", False)  # set by Import's on_click
    last = st.session_state.pop("data_last_import", None)
    if last is not None:
        st.success(f"Imported {len(last)} file(s): {int(last['rows_added'].sum()):,} rows added, "
                   f"{int(last['rows_updated'].sum()):,} updated, {int(last['rows_unchanged'].sum()):,} "
                   f"unchanged. Every page now shows the new data.", icon="✅")
        st.dataframe(last, hide_index=True, placeholder=text.MISSING)
    if open_app:
        st.warning(f"Open demo, no sign-in configured: {auth_ui.OPEN_WRITE_NOTE} Add users "
                   f"(`python -m o2o_ops user add`) to limit importing to admins and analysts.", icon="🔓")

    generation = st.session_state.setdefault("data_upload_generation", 0)  # new key = empty uploader
    limit_mb = config.get_float("O2O_UPLOAD_MAX_MB")
    left, right = st.columns([3, 2])
    files = left.file_uploader(
        "Data files (CSV, Parquet or JSON; one per table, or the sources a mapping names)", type=FILE_TYPES, accept_multiple_files=True,
        key=f"data_files_{generation}",
        help=f"Columns are matched to the warehouse contract by name (see KPI definitions → data). "
             f"Files over {limit_mb:g} MiB are refused here (setting O2O_UPLOAD_MAX_MB); import "
             f"bigger ones on the server with `python -m o2o_ops import`.")
    mapping_upload = right.file_uploader(
        "Column mapping (optional, TOML or YAML)", type=MAPPING_TYPES, key=f"data_mapping_{generation}",
        help="Renames your columns to the contract's, gives date formats, null markers, value maps, "
             "defaults, and per table a DuckDB query over the files it names (see docs/mapping.md).")
    with right.expander("Mapping file format"):
        st.code('date_format = "%Y%m%d"          # e.g. 20160712\nnull_values = ["null", "-"]\n\n'
                '[columns]                       # your name = the contract\'s\nUser_id     = "customer_id"\n'
                'Merchant_id = "store_id"\n\n[sources]                       # files staging SQL reads\n'
                'log = "coupon_log.csv"\n\n[tables.stores]\nsql = """ a DuckDB query over log, '
                'one column per contract column """', language="toml")
        st.caption("Full reference and worked examples: docs/mapping.md and examples/mappings/ in the repository.")

    too_large = upload.oversize_message(files or [])
    if too_large:
        st.error(too_large, icon="🚫")
    mapping_raw, mapping_id = None, None
    saved = upload.save_uploads(files or [], keep=[mapping_upload.file_id] if mapping_upload else [])
    if mapping_upload is not None:
        mapping_saved = upload.save_uploads([mapping_upload], keep=[f.file_id for f in saved])
        if not mapping_saved:
            st.error(text.md(f"The mapping file {mapping_upload.name} is over the upload limit and is ignored."), icon="🚫")
        else:
            try:
                mapping_raw = ingest.read_mapping_file(mapping_saved[0].path)
                mapping_id = mapping_saved[0].file_id
            except ingest.ImportRejected as exc:
                st.error(text.md(f"The mapping file {mapping_upload.name} cannot be used: "
                         f"{exc.problems[0].message.removeprefix('cannot use this mapping file: ')}. "
                         f"It is ignored until you upload a corrected one."), icon="🚫")

    if not saved:
        st.info("Upload one or more files to preview and check them. Nothing is written until you "
                "press Import, and a batch with any problem writes nothing.", icon="📤")
        return
    sources, names = [], {}
    try:   # tables the mapping feeds with staging SQL, and the uploads it reads as sources
        sql_fed, used = ingest.sql_sources(mapping_raw, {item.name: item.path for item in saved},
                                           label=mapping_upload.name if mapping_upload else None)
    except ingest.ImportRejected as exc:
        st.error(text.md(f"The mapping file cannot be used: {exc.problems[0].message}"), icon="🚫")
        sql_fed, used = [], set()
    if sql_fed:
        sources.extend(sql_fed)
        st.info(text.md("The mapping's staging SQL fills " + ", ".join(s.table for s in sql_fed)
                        + (f" from {', '.join(sorted(used))}." if used else " (none of its source files is uploaded yet).")),
                icon="🧮")
    for item in saved:
        if item.name in used:
            names[str(item.path)] = item.name
            st.caption(text.md(f"**{item.name}** · {item.size_bytes / 1024:,.1f} KiB · read by the mapping's "
                               f"staging SQL"))
            continue
        with st.container(border=True):
            head, choose = st.columns([3, 2])
            head.markdown(f"**{text.md(item.name)}** · {item.size_bytes / 1024:,.1f} KiB")
            guess = data_page.guess_table(item.name)
            table = choose.selectbox(
                "Table", ingest.IMPORT_ORDER, key=f"data_table_{item.file_id}",
                index=ingest.IMPORT_ORDER.index(guess) if guess else None,
                placeholder="Choose the table", label_visibility="collapsed")
            if table is None:
                st.warning("Choose the table this file is for.", icon="👉")
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
            notes = [f"first {len(shown.rows)} rows, columns named as in the warehouse"]
            if shown.renamed:
                notes.append("renamed " + ", ".join(f"{k} → {v}" for k, v in shown.renamed.items()))
            if shown.ignored:
                notes.append("ignored (not in the contract): " + ", ".join(shown.ignored))
            st.caption(text.md(" · ".join(notes)))

    if len(sources) != len(saved) - len(used) + len(sql_fed):
        return
    key = (tuple(sorted((s.table, str(s.path)) for s in sources)), mapping_id, warehouse.warehouse_stamp())
    with st.spinner("Checking every row against the contract and the warehouse…"):
        checked = upload.memo_check(key, lambda: data_page.check_batch(
            sources, warehouse=config.warehouse_path()))
    if checked.ok:
        st.success("No problems found: " + ", ".join(
            f"{t} {n:,} rows" for t, n in checked.rows.items()) + ". Ready to import.", icon="✅")
    else:
        rejected = checked.rejected
        summary = data_page.problem_summary(rejected)
        st.error(f"{rejected.total:,} problem(s) of {len(summary)} kind(s); fix them and upload "
                 f"the files again. Nothing can be imported until then.", icon="🚫")
        for i, row in enumerate(summary.itertuples()):
            with st.expander(f"{row.label} ({row.kind}): {row.count_problems:,}", expanded=i < 3):
                examples = data_page.problem_examples(rejected, row.kind, file_names=names)
                st.dataframe(examples, hide_index=True, placeholder=text.MISSING)
                if row.count_problems > len(examples):
                    st.caption(f"First {len(examples)} shown of {row.count_problems:,}. CSV rows "
                               f"are numbered as in a spreadsheet (the header is row 1).")

    user = auth_ui.current_user() if not open_app else None
    # The click is kept in session state (not the button's one-run value), so a rerun the
    # shared frame may trigger before this line does not lose it.
    st.button("Import", type="primary", disabled=not checked.ok, icon=":material/upload:",
              help=f"Recorded in the import log as '{user.name if user else 'app'}'.",
              on_click=st.session_state.__setitem__, args=("data_import_requested", True))
    if not (import_requested and checked.ok):
        return
    bar = st.progress(0.0, text="Starting the import…")
    waiting = st.empty()

    def show_waiting(message: str) -> None:
        waiting.info(f"{message.capitalize()} Another import or rebuild is writing the warehouse; this one "
                     f"starts as soon as it has finished (at most {config.get_float('O2O_WRITE_WAIT_S'):g} s, "
                     f"setting O2O_WRITE_WAIT_S).", icon="⏳")

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
        st.error(f"Import refused, nothing was written:\n\n```\n{exc.report()}\n```", icon="🚫")
    except data_page.NotAllowed as exc:
        bar.empty()
        waiting.empty()
        st.error(text.md(str(exc)), icon="🔒")
    except (db.WarehouseError, OSError) as exc:
        bar.empty()
        waiting.empty()
        st.error(text.md(f"The import failed and the warehouse is unchanged: {frame.error_message(exc) or exc}"), icon="🚫")
    else:
        upload.forget_check()
        upload.discard(saved)   # imported: the copies on disk and in memory are no longer needed
        st.session_state["data_last_import"] = data_page.result_table(result, names)
        st.session_state["data_upload_generation"] = generation + 1
        st.rerun()  # the sidebar and every cache now read the new warehouse file


visible_targets = warehouse.cached(targets.visible)


def targets_panel() -> None:
    """Targets per KPI, scope and month: edited in place by those who may write, shown to the rest."""
    st.subheader("Targets")
    st.caption("A goal per KPI for a store, a region or the whole business (scope_id empty) per month "
               "(the first day of the month). Sums (orders, revenue, costs) are monthly totals, spread "
               "evenly over the month's days; rates and averages are the level to reach. Shown as "
               "attainment on the KPI cards, in the weekly summary and report, and as goal lines. "
               "A file `targets.csv` imports like any other table.")
    current = visible_targets(filters)
    if not writer:
        frame.table(current, "data", filters, key="targets", label="Download targets (CSV)")
        return
    edited = st.data_editor(
        current, key="data_targets_editor", num_rows="dynamic", hide_index=True, width="stretch",
        column_config={
            "kpi": st.column_config.SelectboxColumn("KPI", options=list(ingest.CONTRACT["targets"].column("kpi").allowed),
                                                    required=True),
            "scope": st.column_config.SelectboxColumn("Scope", options=list(ingest.TARGET_SCOPES), required=True),
            "scope_id": st.column_config.TextColumn("Store or region", help="store_id or region; empty for the whole business"),
            "month": st.column_config.DateColumn("Month", format="YYYY-MM", required=True,
                                                 help="The first day of the month"),
            "target_value": st.column_config.NumberColumn("Target", required=True,
                                                          help="Percent KPIs as a share: 0.85 for 85%"),
        })
    user = auth_ui.current_user() if not open_app else None
    if st.button("Save targets", key="data_targets_save", icon=":material/save:"):
        try:
            with db.notify_waits(lambda message: st.info(f"{message.capitalize()} Another write is under way; "
                                                         f"the targets are saved when it ends.", icon="⏳")):
                n = targets.save(edited, allowed=auth_ui.can_write(), warehouse=config.warehouse_path(),
                                 saved_by=user.name if user else "app")
        except ingest.ImportRejected as exc:
            st.error(f"Targets not saved, nothing was changed:\n\n```\n{exc.report()}\n```\nRow 2 is the "
                     f"first target in the table above.", icon="🚫")
        except targets.NotAllowed as exc:
            st.error(text.md(str(exc)), icon="🔒")
        except (db.WarehouseError, OSError) as exc:
            st.error(text.md(f"Saving the targets failed and the warehouse is unchanged: "
                             f"{frame.error_message(exc) or exc}"), icon="🚫")
        else:
            st.session_state.pop("data_targets_editor", None)
            st.session_state["data_targets_saved"] = n
            st.rerun()
    saved = st.session_state.pop("data_targets_saved", None)
    if saved is not None:
        st.success(f"Saved {saved} target(s). Every page now measures against them.", icon="✅")


filters = frame.current_filters()
writer = auth_ui.can_write()
open_app = not auth_ui.sign_in_required()
scope = {"scope_stores": filters.scope_stores, "scope_regions": filters.scope_regions}
frame.header(frame.t("nav.data"), filters, note=f"warehouse {config.warehouse_path().name}" if writer else None)
upload.sweep_abandoned()

if writer:
    import_tab, log_tab, quality_tab, targets_tab = st.tabs(["Import files", "Import log", "Quality checks", "Targets"])
    with import_tab:
        import_files()
else:
    st.session_state.pop("data_import_requested", None)   # a click from before a role change
    st.info("Importing data is for analysts and admins. Here are the data-quality findings and row "
            "counts of the stores you see.", icon="🔒")
    log_tab, quality_tab, targets_tab = st.tabs(["Your data", "Quality checks", "Targets"])

# ------------------------------------------------------------------------------------------
with log_tab:
    st.subheader("Warehouse tables")
    frame.table(upload.warehouse_summary(**scope), "data", filters, key="warehouse_tables")
    if writer:
        st.subheader("Import log")
        log = upload.import_log()
        if log.empty:
            st.info("No imports yet: this warehouse was built by the demo generator or by hand.", icon="🗒️")
        frame.table(log, "data", filters, key="import_log",
                    column_config={"imported_at": st.column_config.DatetimeColumn("imported at", format="YYYY-MM-DD HH:mm:ss")})

# ------------------------------------------------------------------------------------------
with quality_tab:
    checks = upload.quality_checks(**scope)
    problems_total = int(checks["count_problems"].sum())
    if problems_total:
        st.warning(f"{(checks['count_problems'] > 0).sum()} of {len(checks)} checks find something "
                   f"in the warehouse as it stands.", icon="🔍")
    else:
        st.success(f"All {len(checks)} data-quality checks pass.", icon="✅")
    frame.table(checks, "data", filters, key="quality_checks")
    counts = dict(zip(checks["check"], checks["count_problems"]))
    with_problems = [i for i, n in enumerate(counts.values()) if n]
    chosen = st.selectbox("Show the rows of", list(counts), key="data_quality_check",
                          index=with_problems[0] if with_problems else 0,
                          format_func=lambda name: f"{name} ({counts[name]:,})")
    rows = upload.quality_check_rows(chosen, **scope)
    if rows.empty:
        st.caption(text.md(f"{chosen}: nothing found."))
    else:
        frame.table(rows, "data", filters, key=f"quality_{chosen}")

# ------------------------------------------------------------------------------------------
with targets_tab:
    targets_panel()
