"""Weekly overview (landing page): one ISO week's headline KPIs against the week before, 13-week
trends, best and worst stores, the symmetry attention list, a written summary and the report."""

import streamlit as st

from o2o_ops import attention, comparisons, metrics, report, targets, text, weekly
from o2o_ops.charts import overview as charts
from o2o_ops.ui import anomaly_marks, warehouse, frame

WATCHED = ("orders", "avg_rating", "refund_rate", "avg_wait_minutes")  # anomaly flags listed here

weeks_in_data = warehouse.cached(weekly.weeks_in_data)
default_week = warehouse.cached(weekly.default_week)
week_overview = warehouse.cached(weekly.build)
report_html = warehouse.cached(report.build_html)
weekly_goals = warehouse.cached(targets.weekly_goals)
period_values = warehouse.cached(comparisons.period_values)

# The week sets the dates; every other sidebar filter applies.
filters = frame.current_filters().replace(start=None, end=None)
weeks = weeks_in_data()
if "ov_week" not in st.session_state:
    week, notice = weekly.resolve_week(st.query_params.get("week"), weeks, default_week())
    if notice:
        st.session_state.setdefault(frame.NOTICES_KEY, []).append(notice)  # plain text, escaped when shown
    st.session_state["ov_week"] = week.iso if week else None

frame.header("Weekly overview", filters,
             note="the sidebar date range does not apply here: pick the week below")
if not weeks:
    frame.empty_state(filters)
    st.stop()

by_iso = {w.iso: w for w in weeks}
pick, download = st.columns([3, 1], vertical_alignment="bottom")
iso = pick.selectbox("Week", list(by_iso), key="ov_week", format_func=lambda i: by_iso[i].label,
                     help="ISO weeks, Monday to Sunday. The default is the last complete week in the data.")
week = by_iso[iso]
frame.set_param("week", week.iso)

ov = frame.guard(lambda: week_overview(filters, week))
if ov is None:
    st.stop()
download.download_button(
    "Download report (HTML)", data=lambda: report_html(filters, week),
    file_name=report.file_name(week, filters), mime="text/html", on_click="ignore",
    icon=":material/download:", help="The same week and filters as one self-contained HTML file.")
if not ov.any_data:
    frame.empty_state(filters)
    st.stop()
if not ov.has_data:
    st.info(text.md(" ".join(ov.summary)), icon="🔎")
    st.stop()

st.subheader(f"Headline KPIs — {week.label}")
mode = frame.current_comparison()
current, previous, compared_with = ov.cards["value"], ov.cards["previous"], f"against {week.previous.label}"
marked = [n for n in metrics.HEADLINE if ov.cards.at[n, "provisional"] and not ov.cards.at[n, "note"]]
equal_age = [n for n in marked if ov.cards.at[n, "equal_age"]]
if mode != comparisons.DEFAULT:   # the week against last year's, its holiday's, or week to date
    span = frame.data_span(warehouse.dimension_values())   # an unfinished week: its days so far
    cmp, current, previous = period_values(filters, mode, week.start, min(week.end, span[1]) if span else week.end,
                                           metrics.HEADLINE, grain="week")
    compared_with = cmp.describe()
    equal_age = marked            # period_values compares maturing KPIs at equal age as well
frame.kpi_cards(current, metrics.HEADLINE, previous,
                sparklines={name: ov.cards.at[name, "spark"] for name in metrics.HEADLINE},
                notes={n: ov.cards.at[n, "note"] for n in metrics.HEADLINE if ov.cards.at[n, "note"]},
                provisional=marked, equal_age=equal_age,
                goals=dict(zip(ov.targets["kpi"], ov.targets["text"])) if not ov.targets.empty else None)
st.caption(f"Change {compared_with}; green is good news for that KPI, red is bad. "
           f"Sparklines: the {weekly.TREND_WEEKS} weeks ending with this one."
           + (f" {frame.PROVISIONAL_MARK} provisional: this week's vouchers can still be used or reviewed, so these "
              f"KPIs are compared with the other period as it stood at the same age (equal age)." if marked else ""))

st.subheader("Summary")
st.markdown("\n".join(f"- {text.md(sentence)}" for sentence in ov.summary))

st.subheader(f"{weekly.TREND_WEEKS}-week trends")
trend_scope = filters.replace(start=week.minus(weekly.TREND_WEEKS - 1).start, end=week.end)
flagged = anomaly_marks.page_flags(trend_scope, WATCHED)
st.plotly_chart(charts.trend_grid(ov.series, metrics.HEADLINE, week_iso=week.iso, columns=2 if frame.is_phone() else 4,
                                  marks={n: anomaly_marks.marks(flagged, n) for n in metrics.HEADLINE},
                                  goals=weekly_goals(filters, metrics.HEADLINE, tuple(ov.series["week_start"]))),
                key="ov_trends")
anomaly_marks.show_list(flagged, trend_scope, "overview", WATCHED)

st.subheader("Best and worst stores of the week")
st.caption(f"Only stores with at least {ov.min_reviews} reviews of orders placed in the week are ranked"
           + (f" ({ov.left_out:,} store{' was' if ov.left_out == 1 else 's were'} left out)" if ov.left_out else "")
           + ". Tick a row (or use its Open link) for the store's symmetry view of this week.")
store_config = {
    "store_id": "Store", "store_name": "Name", "store_city": "City", "store_category": "Category",
    "listed_rating": st.column_config.NumberColumn("Listed rating", format="%.1f ★"), "reason": "Why",
    "view": st.column_config.LinkColumn("Store view", display_text="Open"),
    **frame.kpi_column_config(weekly.STORE_KPIS),
}
for tab, by in zip(st.tabs([f"By {metrics.KPIS[b].label.lower()}" for b in weekly.RANKINGS]), weekly.RANKINGS):
    with tab:
        best, worst = st.columns(2)
        with best:
            st.markdown(f"**Best 5 by {metrics.KPIS[by].label.lower()}**")
            picked = frame.table(ov.best[by], "overview", ov.week.filters(filters), key=f"best_{by}",
                                 column_config=store_config, on_pick=True)
            if picked:
                frame.drill_to("pages/symmetry.py", weekly.store_view_params(picked["store_id"], week))
        with worst:
            st.markdown(f"**Worst 5 by {metrics.KPIS[by].label.lower()}**")
            picked = frame.table(ov.worst[by], "overview", ov.week.filters(filters), key=f"worst_{by}",
                                 column_config=store_config, on_pick=True)
            if picked:
                frame.drill_to("pages/symmetry.py", weekly.store_view_params(picked["store_id"], week))

st.subheader("Symmetry attention list")
st.caption(f"Stores whose online promise ran ahead of the offline experience this week. {ov.rule.describe()} "
           f"{attention.left_out_words(ov.left_out, ov.rule)} The symmetry page has the full analysis, under the same rule.")
if ov.attention.empty:
    st.success("No store needs attention this week.", icon="✅")
else:
    with st.container(key="phone-only-attention"):   # a phone: one line per store, no grid to scroll sideways
        st.markdown("\n".join(f"- **[{text.md(r.store_name)}]({r.view})** ({text.md(r.store_city)}) — {text.md(r.reason)}"
                               for r in ov.attention.itertuples()))
    with st.container(key="wide-only-attention"):
        picked = frame.table(ov.attention, "overview", ov.week.filters(filters), key="attention",
                             column_config=store_config, on_pick=True)
    if picked:
        frame.drill_to("pages/symmetry.py", weekly.store_view_params(picked["store_id"], week))
