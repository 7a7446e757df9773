"""Weekly overview (landing page): one ISO week's headline KPIs against the week before, 13-week
trends, best and worst stores, the symmetry attention list, a written summary and the report."""

import streamlit as st

from o2o_ops import attention, comparisons, i18n, metrics, report, targets, text, weekly
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
t, lang = frame.t, frame.language()
weeks = weeks_in_data()
if "ov_week" not in st.session_state:
    week, notice = weekly.resolve_week(st.query_params.get("week"), weeks, default_week(), lang)
    if notice:
        st.session_state.setdefault(frame.NOTICES_KEY, []).append(notice)  # plain text, escaped when shown
    st.session_state["ov_week"] = week.iso if week else None

frame.header(t("nav.overview"), filters, note=t("overview.dates_note"))
if not weeks:
    frame.empty_state(filters)
    st.stop()

by_iso = {w.iso: w for w in weeks}
pick, download = st.columns([3, 1], vertical_alignment="bottom")
iso = pick.selectbox(t("overview.week"), list(by_iso), key="ov_week", format_func=lambda i: by_iso[i].label_in(lang),
                     help=t("overview.week_help"))
week = by_iso[iso]
frame.set_param("week", week.iso)

ov = frame.guard(lambda: week_overview(filters, week, lang=lang))
if ov is None:
    st.stop()
download.download_button(
    t("overview.download_report"), data=lambda: report_html(filters, week, lang=lang),
    file_name=report.file_name(week, filters), mime="text/html", on_click="ignore",
    icon=":material/download:", help=t("overview.download_report_help"))
if not ov.any_data:
    frame.empty_state(filters)
    st.stop()
if not ov.has_data:
    st.info(text.md(i18n.sentences(ov.summary, lang)), icon="🔎")
    st.stop()

# a date whole when the heading wraps ("2026年11 / 月22日" at 1,024 px, "24 / Nov" on a phone)
st.subheader(i18n.whole_dates(t("overview.headline", week=week.label_in(lang))))
mode = frame.current_comparison()
current, previous = ov.cards["value"], ov.cards["previous"]
compared_with = t("overview.against", week=week.previous.label_in(lang))
marked = [n for n in metrics.HEADLINE if ov.cards.at[n, "provisional"] and not ov.cards.at[n, "note"]]
equal_age = [n for n in marked if ov.cards.at[n, "equal_age"]]
if mode != comparisons.DEFAULT:   # the week against last year's, its holiday's, or week to date
    span = frame.data_span(warehouse.dimension_values())   # an unfinished week: its days so far
    cmp, current, previous = period_values(filters, mode, week.start, min(week.end, span[1]) if span else week.end,
                                           metrics.HEADLINE, grain="week")
    compared_with = cmp.describe(lang)
    equal_age = marked            # period_values compares maturing KPIs at equal age as well
frame.kpi_cards(current, metrics.HEADLINE, previous,
                sparklines={name: ov.cards.at[name, "spark"] for name in metrics.HEADLINE},
                notes={n: ov.cards.at[n, "note"] for n in metrics.HEADLINE if ov.cards.at[n, "note"]},
                provisional=marked, equal_age=equal_age,
                goals=dict(zip(ov.targets["kpi"], ov.targets["text"])) if not ov.targets.empty else None)
st.caption(t("overview.cards_caption", compared_with=compared_with, weeks=weekly.TREND_WEEKS)
           + (t("overview.provisional_caption", mark=frame.PROVISIONAL_MARK) if marked else ""))

st.subheader(t("overview.summary"))
# a sign stays with its amount where a line wraps ("(−" / "¥16.18)" on a phone)
st.markdown("\n".join(f"- {text.md(i18n.whole_amounts(sentence))}" for sentence in ov.summary))

st.subheader(t("overview.trends", weeks=weekly.TREND_WEEKS))
trend_scope = filters.replace(start=week.minus(weekly.TREND_WEEKS - 1).start, end=week.end)
flagged = anomaly_marks.page_flags(trend_scope, WATCHED)
st.plotly_chart(frame.localise(charts.trend_grid(ov.series, metrics.HEADLINE, week_iso=week.iso, lang=lang,
                                                 columns=2 if frame.is_phone() else 4,
                                  marks={n: anomaly_marks.marks(flagged, n) for n in metrics.HEADLINE},
                                  goals=weekly_goals(filters, metrics.HEADLINE, tuple(ov.series["week_start"])),
                                  notes={n: ov.cards.at[n, "note"] for n in metrics.HEADLINE if ov.cards.at[n, "note"]})),
                key="ov_trends")
anomaly_marks.show_list(flagged, trend_scope, "overview", WATCHED)

st.subheader(t("overview.best_worst"))
st.caption(t("overview.ranked_caption", min_reviews=ov.min_reviews)
           + (t("overview.left_out_one" if ov.left_out == 1 else "overview.left_out", count=f"{ov.left_out:,}")
              if ov.left_out else "")
           + t("overview.open_caption"))
store_config = {
    "store_id": t("overview.col_store"), "store_name": t("overview.col_name"), "store_city": t("frame.city"),
    "store_category": t("frame.category"),
    "listed_rating": st.column_config.NumberColumn(t("overview.col_listed_rating"), format="%.1f ★"),
    "reason": t("overview.col_why"),
    "view": st.column_config.LinkColumn(t("overview.col_view"), display_text=t("overview.open")),
    **frame.kpi_column_config(weekly.STORE_KPIS),
}
if ov.unjudged:   # the rankings need the same reviews as the attention rule: four empty tables said nothing
    st.info(t("weekly.none_ranked", why=ov.unjudged), icon="🔎")
for tab, by in zip(st.tabs([t("overview.by", kpi=frame.kpi_in_sentence(b)) for b in weekly.RANKINGS])
                   if not ov.unjudged else (), weekly.RANKINGS):
    with tab:
        best, worst = st.columns(2)
        with best:
            st.markdown(f"**{t('overview.best', kpi=frame.kpi_in_sentence(by))}**")
            picked = frame.table(ov.best[by], "overview", ov.week.filters(filters), key=f"best_{by}",
                                 column_config=store_config, on_pick=True)
            if picked:
                frame.drill_to("pages/symmetry.py", weekly.store_view_params(picked["store_id"], week))
        with worst:
            st.markdown(f"**{t('overview.worst', kpi=frame.kpi_in_sentence(by))}**")
            picked = frame.table(ov.worst[by], "overview", ov.week.filters(filters), key=f"worst_{by}",
                                 column_config=store_config, on_pick=True)
            if picked:
                frame.drill_to("pages/symmetry.py", weekly.store_view_params(picked["store_id"], week))

st.subheader(t("overview.attention"))
st.caption(t("overview.attention_caption", rule=ov.rule.describe(lang),
             left_out=attention.left_out_words(ov.left_out, ov.rule, lang)))
if ov.attention.empty and ov.unjudged:   # no all-clear where no store could be judged
    st.info(t("weekly.none_judged", why=ov.unjudged), icon="🔎")
elif ov.attention.empty:
    st.success(t("weekly.no_attention"), icon="✅")
else:
    with st.container(key="phone-only-attention"):   # a phone: one line per store, no grid to scroll sideways
        st.markdown("\n".join(f"- **[{text.md(r.store_name)}]({r.view})** ({text.md(r.store_city)}) — {text.md(r.reason)}"
                               for r in ov.attention.itertuples()))
    with st.container(key="wide-only-attention"):
        picked = frame.table(ov.attention, "overview", ov.week.filters(filters), key="attention",
                             column_config=store_config, on_pick=True)
    if picked:
        frame.drill_to("pages/symmetry.py", weekly.store_view_params(picked["store_id"], week))
