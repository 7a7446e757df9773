"""Chart builders of the quality, cost and efficiency pages with 0, 1 and 2-row frames."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import plotly.graph_objects as go
import pytest

from o2o_ops import charts, units
from o2o_ops.charts import cost, efficiency, quality, symmetry


def is_empty_figure(fig: go.Figure) -> bool:
    return not fig.data and any("No" in (a.text or "") for a in fig.layout.annotations)


W1, W2 = dt.date(2026, 11, 2), dt.date(2026, 11, 9)

RATINGS = pd.DataFrame({"rating": [2, 5], "count_reviews": [1, 3], "share": [0.25, 0.75]})
WEEKLY = pd.DataFrame({"week_start": [W1, W2], "avg_rating": [4.0, 3.5], "positive_share": [0.8, 0.5]})
COMPLAINTS = pd.DataFrame({"complaint_category": ["long_wait", "rude"], "count_complaints": [3, 1],
                           "complaint_rate": [0.03, 0.01]})
REASONS = pd.DataFrame({"reason": ["long wait", "not as described"], "count_refunds": [2, 1],
                        "count_orders": [2, 1], "refund_amount": [50.0, 20.0], "share_of_paid_orders": [0.02, 0.01]})
SLA = pd.DataFrame({"iso_dow": [2, 5], "weekday": ["Tue", "Fri"], "hour": [12, 20], "count_redemptions": [4, 2],
                    "count_waits": [4, 2], "count_sla_met": [3, 0], "sla_attainment": [0.75, 0.0]})
PEERS = pd.DataFrame({"rank": [1, 2], "store_id": ["S3", "S1"], "store_name": ["Xuhui", "Lakeside"],
                      "city": ["Shanghai", "Hangzhou"], "category": ["restaurant"] * 2, "reviews": [1, 2],
                      "redemptions": [1, 2], "avg_rating": [5.0, 3.0], "peer_median": [5.0, 4.0],
                      "peer_stores": [1, 2], "vs_peers": [0.0, -1.0]})
BREAKDOWN = pd.DataFrame({"week_start": [W1, W1], "iso_week": ["2026-W45"] * 2, "component": ["Discounts", "Staff"],
                          "kpi": ["discount_cost", "staff_cost"], "amount": [120.0, 200.0]})
GROUPS = pd.DataFrame({"campaign_kind": ["group_buy", "full price"], "cost_per_redemption": [444.0, 104.0],
                       "cac": [300.0, None], "roi": [0.51, -0.64]})
MARGINS = pd.DataFrame({"store_id": ["S1", "S2"], "store_name": ["Lakeside", "Bund"], "margin": [-219.0, 130.0],
                        "net_revenue": [140.0, 400.0], "total_cost": [359.0, 270.0]})
FUNNEL = pd.DataFrame({"stage": ["Ordered", "Paid"], "count_orders": [5, 4], "share_of_ordered": [1.0, 0.8],
                       "share_of_previous": [None, 0.8]})
HIST = pd.DataFrame({"bucket": [0, 1], "label": ["< 1 h", "1–3 h"], "lower_hours": [0, 1], "upper_hours": [1, 3],
                     "count_orders": [2, 1], "share": [2 / 3, 1 / 3]})
AGEING = pd.DataFrame({"bucket": [0, 1], "label": ["expired", "0–7 days"], "count_orders": [1, 3],
                       "paid_amount": [400.0, 150.0]})
CAP_STORES = pd.DataFrame({"store_id": ["S1", "S2"], "store_name": ["Lakeside", "Bund"], "capacity_utilisation": [1.2, 0.4],
                           "peak_week_utilisation": [3.0, 0.5], "weeks_over_capacity": [5, 0],
                           "is_over_capacity": [True, False]})
CAP_HOURS = pd.DataFrame({"hour": [12, 13], "count_redemptions": [50, 10], "capacity": [42, 42],
                          "utilisation": [50 / 42, 10 / 42], "is_over_capacity": [True, False]})

BUILDERS = [
    (quality.rating_distribution_bar, RATINGS, {}),
    (quality.rating_trend, WEEKLY, {}),
    (quality.complaints_bar, COMPLAINTS, {}),
    (quality.refund_reasons_bar, REASONS, {}),
    (quality.sla_heatmap, SLA, {}),
    (quality.peer_comparison_chart, PEERS, {"kpi": "avg_rating"}),
    (cost.cost_breakdown_stack, BREAKDOWN, {}),
    (cost.group_kpi_bars, GROUPS, {"group": "campaign_kind"}),
    (cost.roi_bars, GROUPS, {"group": "campaign_kind"}),
    (cost.store_margin_bars, MARGINS, {}),
    (efficiency.funnel_chart, FUNNEL, {}),
    (efficiency.time_to_redeem_bars, HIST, {"median_hours": 0.7}),
    (efficiency.breakage_ageing_bars, AGEING, {}),
    (efficiency.capacity_by_store_bars, CAP_STORES, {}),
    (efficiency.capacity_by_hour_bars, CAP_HOURS, {}),
]
IDS = [b[0].__name__ for b in BUILDERS]


@pytest.mark.parametrize("builder, frame, kwargs", BUILDERS, ids=IDS)
def test_empty_frame_gives_no_data_figure(builder, frame, kwargs):
    assert is_empty_figure(builder(frame.iloc[0:0], **kwargs))
    # under its title: two empty charts side by side (or stacked on a phone) are told apart
    titled = builder(frame.iloc[0:0], **{**kwargs, "title": "Chart of this"})
    assert titled.layout.title.text == "Chart of this" and is_empty_figure(titled)


@pytest.mark.parametrize("builder, frame, kwargs", BUILDERS, ids=IDS)
def test_an_empty_chart_of_data_never_provided_says_so(builder, frame, kwargs):
    """The page passes the card's note of a KPI the warehouse cannot provide: an empty chart says it
    (as a sentence) in place of "No … for these filters"; a chart that drew something is unchanged."""
    empty = charts.say_why_empty(builder(frame.iloc[0:0], **kwargs), "not provided: no reviews imported")
    assert [a.text for a in empty.layout.annotations] == ["Not provided: no reviews imported"]
    assert not empty.data
    drawn = builder(frame, **kwargs)
    before = drawn.to_json()
    assert charts.say_why_empty(drawn, "not provided: no reviews imported").to_json() == before
    # no note: the chart's own message stays
    kept = charts.say_why_empty(builder(frame.iloc[0:0], **kwargs), None)
    assert is_empty_figure(kept) and kept.layout.annotations[0].text.startswith("No")
    assert charts.say_why_empty(builder(frame.iloc[0:0], **kwargs), "未提供：未导入评价").layout.annotations[0].text \
        == "未提供：未导入评价"
    # a long reason in lines a phone's chart holds (plotly does not wrap an annotation)
    long = "not provided: no costs imported; no platform fees imported; no in-store extra spend imported"
    lines = charts.say_why_empty(builder(frame.iloc[0:0], **kwargs), long).layout.annotations[0].text.split("<br>")
    assert " ".join(lines) == "N" + long[1:] and len(lines) == 3
    assert all(charts.text_px(line, 14) <= charts.WHY_WIDTH_PX for line in lines)


@pytest.mark.parametrize("builder, frame, kwargs", BUILDERS, ids=IDS)
@pytest.mark.parametrize("rows", [1, 2])
def test_rows_give_a_figure(builder, frame, kwargs, rows):
    fig = builder(frame.head(rows), **kwargs)
    assert fig.data, "expected at least one trace"
    assert fig.layout.height >= 240


def test_rating_bars_show_counts_and_star_colours():
    fig = quality.rating_distribution_bar(RATINGS)
    assert list(fig.data[0].x) == ["2 ★", "5 ★"] and list(fig.data[0].y) == [1, 3]
    assert list(fig.data[0].text) == ["25%", "75%"]


def test_sla_heatmap_places_values_by_weekday_and_hour():
    fig = quality.sla_heatmap(SLA)
    trace = fig.data[0]
    assert list(trace.y) == ["Tue", "Fri"] and list(trace.x) == ["12", "20"]
    assert trace.z[0][0] == 0.75 and trace.z[1][1] == 0.0


def test_peer_chart_colours_below_peers_red():
    fig = quality.peer_comparison_chart(PEERS, "avg_rating")
    bars, dots = fig.data
    assert list(bars.x) == [5.0, 4.0] and list(dots.x) == [5.0, 3.0]
    assert dots.marker.color[1] == "#dc2626"  # Lakeside 1 star below its peers


def test_cost_stack_has_one_trace_per_component():
    fig = cost.cost_breakdown_stack(BREAKDOWN)
    assert [t.name for t in fig.data] == ["Discounts", "Staff"] and fig.layout.barmode == "stack"


def test_cost_stack_hover_names_the_component_in_the_readers_language():
    """The hover reads the trace's name, which localise translates: in Chinese '2026-W45 · 折扣:
    120', not the English component (it read 'Discounts' in a Chinese page)."""
    from o2o_ops.i18n.figures import localise
    fig = localise(cost.cost_breakdown_stack(BREAKDOWN), "zh")
    assert [t.name for t in fig.data] == ["折扣", "人力"]
    assert {t.hovertemplate for t in fig.data} == {"%{customdata} · %{fullData.name}: %{y:,.0f}<extra></extra>"}


def test_roi_colours_by_sign_and_cac_gap_allowed():
    roi = cost.roi_bars(GROUPS, "campaign_kind")
    assert list(roi.data[0].marker.color) == ["#16a34a", "#dc2626"]
    bars = cost.group_kpi_bars(GROUPS, "campaign_kind")
    assert [t.name for t in bars.data] == ["Cost per redemption", "Customer acquisition cost"]


def test_funnel_values():
    fig = efficiency.funnel_chart(FUNNEL)
    assert list(fig.data[0].x) == [5, 4] and list(fig.data[0].y) == ["Ordered", "Paid"]
    assert list(fig.data[0].text) == ["5 · 100%", "4 · 80%"] and fig.data[0].textinfo == "text"


def test_funnel_labels_read_as_counts_do():
    big = pd.DataFrame({"stage": ["Ordered", "Paid"], "count_orders": [31940, 3194]})
    assert list(efficiency.funnel_chart(big).data[0].text) == ["31,940 · 100%", "3,194 · 10%"]
    assert list(efficiency.funnel_chart(big, lang="zh").data[0].text) == ["3.19万 · 100%", "3,194 · 10%"]


def test_over_capacity_highlighted():
    stores = efficiency.capacity_by_store_bars(CAP_STORES)
    assert list(stores.data[0].marker.color) == ["#dc2626", "#2563eb"]
    hours = efficiency.capacity_by_hour_bars(CAP_HOURS)
    assert list(hours.data[0].marker.color) == ["#dc2626", "#2563eb"]


def test_ageing_marks_expired_and_labels_value():
    fig = efficiency.breakage_ageing_bars(AGEING)
    assert fig.data[0].marker.color[0] == "#dc2626"
    # bars count vouchers; the labels are their value in money, said so in the title
    assert list(fig.data[0].y) == [1, 3]
    assert list(fig.data[0].text) == ["¥400", "¥150"]
    assert fig.layout.title.text == "Unredeemed vouchers by time to expiry (bars: count, labels: value)"


def test_title_and_legend_each_get_their_own_row():
    from o2o_ops.charts import LEGEND_SPACE, TITLE_SPACE, base_layout
    import plotly.graph_objects as go
    two = go.Figure([go.Bar(x=[1], y=[1], name="a"), go.Bar(x=[1], y=[2], name="b")])
    assert base_layout(two, title="Cost").layout.margin.t == TITLE_SPACE + LEGEND_SPACE
    assert base_layout(go.Figure([go.Bar(x=[1], y=[1])]), title="Cost").layout.margin.t == TITLE_SPACE
    hidden = go.Figure([go.Bar(x=[1], y=[1]), go.Bar(x=[1], y=[2])], layout=dict(showlegend=False))
    assert base_layout(hidden).layout.margin.t == 10
    titled = base_layout(two, title="Cost").layout.title
    assert (titled.yref, titled.y, titled.yanchor) == ("container", 1, "top")


def test_a_chart_fitted_to_a_phone_by_hand():
    import plotly.graph_objects as go

    from o2o_ops import charts

    # 0.6 em a Latin character, a full em a Chinese one: "abc" at 10 px is 18 px, "门店" 20 px
    assert charts.text_px("abc", 10) == pytest.approx(18) and charts.text_px("门店", 10) == pytest.approx(20)
    # at 15 px a character is 9 px: "aaaa bbbb cccc" (14 chars, 126 px) in 90 px breaks after "aaaa bbbb" (81 px)
    assert charts.wrap_words("aaaa bbbb cccc", 90, 15) == ["aaaa bbbb", "cccc"]
    assert charts.wrap_words("一二三四五", 40, 15) == ["一二", "三四", "五"]          # no spaces: between characters
    # but a line never begins with closing punctuation: "；" stays on the line before, past the width
    assert charts.wrap_words("一二；三四。", 40, 15) == ["一二；", "三四。"]
    assert charts.wrap_words("only 2016年5月9日 – 2018年1月20日", 120, 12) == ["only 2016年5月9日 –", "2018年1月20日"]
    assert charts.wrap_words("未导入成本；未导入折扣金额；未导入核销", 150, 15) == ["未导入成本；未导入折", "扣金额；未导入核销"]
    # legend items are 50 px + text: at 13 px "Orders" is 46.8 + 50, "Target" the same: 193.6 px in all
    assert charts.legend_rows(["Orders", "Target"], 200) == 1 and charts.legend_rows(["Orders", "Target"], 150) == 2
    assert charts.shorten("Shanghai Pudong Hotel 28 (S0028)") == "Shanghai Pudong… (S0028)"     # 24 characters
    assert charts.shorten("C0013 · Shanghai restaurant membership") == "C0013 · Shanghai restau…"
    assert charts.shorten("Short (S1)") == "Short (S1)"

    fig = charts.base_layout(go.Figure([go.Bar(x=[1, 2], y=["Shanghai Pudong Hotel 28 (S0028)", "B (S2)"],
                                               orientation="h", name="Peer median (city × category)"),
                                        go.Scatter(x=[1], y=["B (S2)"], name="Store")]),
                             title="Average rating: stores against their peers", height=340)
    assert fig.layout.margin.t == charts.TITLE_SPACE + charts.LEGEND_SPACE                     # 68 on a desktop
    charts.fit_width(fig, 350)
    # the title (42 characters, 378 px at 15 px) breaks onto two lines within 340 px: one more line, 20 px
    assert fig.layout.title.text == "Average rating: stores against their<br>peers"
    # the legend: "Peer median (city × category)" alone is 29 × 7.8 + 50 = 276.2 px, over the 350 - 120 px
    # counted on, so it wraps, and a legend that wraps gets a row per item: 40 + 20 + 2 × 21 + 6 = 108 above
    # the plot, which keeps its height (the figure grows by 108 - 68)
    assert fig.layout.margin.t == 108 and fig.layout.height == 340 + 108 - 68
    assert fig.layout.legend.y == 1.0 and fig.layout.legend.xref == "container"
    # columns (no long labels at the side): the legend is placed on the plot, so it takes none of
    # the plot's width (placed on the figure, it pushed a phone's column chart half its width right)
    columns = charts.base_layout(go.Figure([go.Bar(x=["a", "b"], y=[1, 2], name="One"),
                                            go.Bar(x=["a", "b"], y=[2, 1], name="Two")]), title="T", height=340)
    charts.fit_width(columns, 350)
    assert (columns.layout.legend.xref, columns.layout.legend.x, columns.layout.legend.y) == ("paper", 0, 1.0)
    assert list(fig.layout.yaxis.ticktext) == ["Shanghai Pudong… (S0028)", "B (S2)"]
    assert list(fig.layout.yaxis.tickvals) == ["Shanghai Pudong Hotel 28 (S0028)", "B (S2)"]   # the bars' own values


def test_a_phone_gets_few_short_ticks_on_a_value_axis_of_amounts():
    """The cost page's margin bars at phone width: three round ticks, written short (they were
    "−200,000  0  200,000" squeezed under the bars); in Chinese in 万."""
    margins = pd.DataFrame({"store_id": ["S1", "S2"], "store_name": ["Shanghai Pudong Hotel 28", "B"],
                            "margin": [-276_059.6, 319_420.1], "net_revenue": [1.0, 2.0], "total_cost": [1.0, 2.0]})
    fig = charts.fit_width(cost.store_margin_bars(margins), 350)
    assert list(fig.layout.xaxis.tickvals) == [-200_000, 0, 200_000]
    assert list(fig.layout.xaxis.ticktext) == ["−200k", "0", "200k"]
    zh = charts.fit_width(cost.store_margin_bars(margins), 350, lang="zh")
    assert list(zh.layout.xaxis.ticktext) == ["−20万", "0", "20万"]
    assert charts.nice_ticks(0, 4_300) == [0, 2_000, 4_000] and charts.nice_ticks(0, 980) == [0, 500]
    # a rate axis (no grouped digits) keeps plotly's own ticks
    rates = charts.base_layout(go.Figure(go.Bar(x=[0.2, 0.5], y=["Shanghai Pudong Hotel 28 (S0028)", "B"],
                                                orientation="h")))
    rates.update_xaxes(tickformat=".0%")
    assert charts.fit_width(rates, 350).layout.xaxis.tickvals is None


# Value axes of large counts and amounts read short (charts.short_value_axes), by hand.
BIG_BREAKDOWN = pd.DataFrame({"week_start": [W1, W1, W2], "iso_week": ["2026-W45", "2026-W45", "2026-W46"],
                              "component": ["Discounts", "Other", "Discounts"], "kpi": ["discount_cost", "other_costs",
                                                                                        "discount_cost"],
                              "amount": [10_000_000.0, 20_000_000.0, 5_000_000.0]})


def test_stacked_amounts_get_short_ticks_up_to_their_stack():
    """W45 stacks ¥10M + ¥20M = ¥30M: ticks over 0..33M (10 % more, see the line below), six steps
    of 5M from 0 (plotly wrote "30,000,000")."""
    fig = cost.cost_breakdown_stack(BIG_BREAKDOWN)
    assert charts.axis_extent(fig, "yaxis") == (0.0, 30_000_000.0)
    charts.short_value_axes(fig)
    assert list(fig.layout.yaxis.tickvals) == [0, 5e6, 10e6, 15e6, 20e6, 25e6, 30e6]
    assert list(fig.layout.yaxis.ticktext) == ["0", "5M", "10M", "15M", "20M", "25M", "30M"]
    zh = charts.short_value_axes(cost.cost_breakdown_stack(BIG_BREAKDOWN), "zh")
    assert list(zh.layout.yaxis.ticktext) == ["0", "500万", "1000万", "1500万", "2000万", "2500万", "3000万"]
    # the hover keeps every digit: its own format, and the axis' tickformat stays grouped digits
    assert all(":,.0f}" in t.hovertemplate for t in fig.data) and fig.layout.yaxis.tickformat == ",.0f"
    assert fig.layout.xaxis.tickvals is None   # the weeks' axis is not touched


def test_a_line_of_large_values_gets_at_least_two_short_ticks():
    """Revenue from ¥1.02M to ¥1.38M, ticks chosen over 10 % more each side (plotly pads a line's
    range): 0.984M..1.416M, steps of 100k (the smallest round step seven fit), 1M to 1.4M."""
    weekly = pd.DataFrame({"week_start": [W1, W2], "revenue": [1_020_000.0, 1_380_000.0]})
    fig = charts.short_value_axes(charts.kpi_line(weekly, "week_start", "revenue"))
    assert list(fig.layout.yaxis.tickvals) == [1_000_000, 1_100_000, 1_200_000, 1_300_000, 1_400_000]
    assert list(fig.layout.yaxis.ticktext) == ["1M", "1.1M", "1.2M", "1.3M", "1.4M"]
    zh = charts.short_value_axes(charts.kpi_line(weekly, "week_start", "revenue"), "zh")
    assert list(zh.layout.yaxis.ticktext) == ["100万", "110万", "120万", "130万", "140万"]
    # orders 10,400..15,400 in a small multiple (nticks=4: three steps): 9,900..15,900, steps of 2k
    orders = pd.DataFrame({"week_start": [W1, W2], "orders": [10_400, 15_400]})
    small = charts.kpi_line(orders, "week_start", "orders")
    small.update_yaxes(nticks=4)
    assert list(charts.short_value_axes(small).layout.yaxis.ticktext) == ["10k", "12k", "14k"]


def test_small_values_keep_their_axis_format():
    """Under 10,000 (counts, ¥), rates, stars: plotly's own ticks in the unit's format."""
    for fig in (charts.short_value_axes(cost.cost_breakdown_stack(BREAKDOWN)),          # ¥320 stacked
                charts.short_value_axes(cost.store_margin_bars(MARGINS)),               # −¥219..¥130
                charts.short_value_axes(cost.roi_bars(GROUPS, "campaign_kind"))):       # +51%, −64%
        assert fig.layout.yaxis.tickvals is None and fig.layout.xaxis.tickvals is None
    assert charts.short_value_axes(quality.rating_distribution_bar(RATINGS)).layout.yaxis.tickvals is None


def test_overview_small_multiples_short_only_where_large():
    """Revenue (¥) and orders get three short ticks (nticks=4: three steps over 10 % more than the
    values: 0..296.3M, 38.8k..53.2k); the rates keep theirs."""
    from o2o_ops.charts import overview

    series = pd.DataFrame({"iso_week": ["2026-W45", "2026-W46"], "revenue": [0.0, 269_400_000.0],
                           "orders": [40_000, 52_000], "redemption_rate": [0.8, 0.7]})
    fig = charts.short_value_axes(overview.trend_grid(series, ("revenue", "orders", "redemption_rate"),
                                                      columns=3), "zh")
    assert list(fig.layout.yaxis.tickvals) == [0, 100_000_000, 200_000_000]
    assert list(fig.layout.yaxis.ticktext) == ["0", "1亿", "2亿"]
    assert list(fig.layout.yaxis2.tickvals) == [40_000, 45_000, 50_000]     # 12k over 3: steps of 5k
    assert list(fig.layout.yaxis2.ticktext) == ["4万", "4.5万", "5万"]
    assert fig.layout.yaxis3.tickvals is None and fig.layout.yaxis3.tickformat == ".0%"


def test_axis_extent_by_hand():
    grouped = go.Figure([go.Bar(x=["a", "b"], y=[-3.0, 7.0]), go.Bar(x=["a", "b"], y=[2.0, None])])
    assert charts.axis_extent(grouped, "yaxis") == (-3.0, 7.0)
    grouped.update_layout(barmode="relative")   # a and b: the positives and the negatives stack apart
    assert charts.axis_extent(grouped, "yaxis") == (-3.0, 7.0)
    grouped.update_layout(barmode="stack")
    grouped.add_trace(go.Bar(x=["b"], y=[4.0]))
    assert charts.axis_extent(grouped, "yaxis") == (-3.0, 11.0)
    line = go.Figure(go.Scatter(x=[1, 2, 3], y=[5.0, None, 8.0]))
    assert charts.axis_extent(line, "yaxis") == (5.0, 8.0)    # a line does not reach 0
    assert charts.axis_extent(go.Figure(), "yaxis") is None
    assert charts.nice_ticks(1_020_000, 1_380_000, 3) == [1_100_000, 1_200_000, 1_300_000]   # not 1.2M alone


LOAD_DAYS = pd.DataFrame({"day": [dt.date(2026, 11, 23), dt.date(2026, 11, 29)], "from_book": [110.0, 20.0],
                          "from_new_sales": [20.0, 90.0], "capacity_per_day": [235.0, 235.0]})


def _flagged():
    """Two flagged store-weeks (W45 orders high, W46 average rating low) as anomalies.flags rows."""
    from o2o_ops import anomalies
    rows = [("S1", "2026-W45", W1, "orders", 210.0, 70.0, 9.2), ("S2", "2026-W46", W2, "avg_rating", 2.0, 4.5, -5.0)]
    frame = pd.DataFrame([{"store_id": s, "city": "Hangzhou", "category": "restaurant", "iso_week": w,
                           "week_start": pd.Timestamp(d), "kpi": k, "label": k, "value": v, "expected": e, "z": z,
                           "direction": "high" if v > e else "low"} for s, w, d, k, v, e, z in rows])
    frame["reason"] = [anomalies.reason(r) for _, r in frame.iterrows()]
    return frame[anomalies.FLAG_COLUMNS]


def _every_figure():
    """(name, Chinese figure) of every chart builder the pages call, with every overlay it can
    draw (anomaly rings, targets, comparison period), built as the pages build them."""
    from o2o_ops import anomalies
    from o2o_ops.charts import campaigns, overview
    from o2o_ops.i18n.figures import localise
    lang = "zh"
    weekly = pd.DataFrame({"week_start": pd.to_datetime([W1, W2]), "iso_week": ["2026-W45", "2026-W46"],
                           "orders": [140.0, 280.0], "avg_rating": [4.5, 3.0], "positive_share": [0.9, 0.5],
                           "deal_customer_gap": [-0.2, 0.1], "symmetry_index": [80.0, 70.0]})
    flagged = _flagged()
    marks = {n: anomalies.week_marks(flagged, n, lang) for n in ("orders", "avg_rating")}
    previous = weekly.assign(orders=[120.0, 130.0])
    stores = pd.DataFrame({"store_id": ["S1", "S2"], "store_name": ["湖滨", "外滩"], "listed_rating": [4.8, 4.5],
                           "avg_rating": [4.1, 4.6], "reviews": [10, 3], "store_category": ["restaurant", "hotel"],
                           "deal_customer_gap": [-0.3, 0.2]})
    phases = pd.DataFrame({"campaign_id": ["C1"], "campaign_name": ["双十一"], "before": [4.0], "during": [3.8],
                           "after": [4.2], "reviews_before": [3], "reviews_during": [5], "reviews_after": [2]})
    daily = pd.DataFrame({"day": [W1, W2], "orders": [5, 6], "redemptions": [3, 4]})
    buckets = pd.DataFrame({"bucket": ["< 1 h", "1–3 h"], "redemptions": [3, 1], "share": [0.75, 0.25]})
    lifts = pd.DataFrame({"campaign_id": ["C1", "C2"], "lift": [0.1, -0.2], "lift_low": [0.05, -0.3],
                          "lift_high": [0.2, 0.1]})
    campaign_table = pd.DataFrame({"campaign_id": ["C1"], "campaign_name": ["双十一"], "orders": [9], "roi": [0.2]})
    load_stores = pd.DataFrame({"store_id": ["S1", "S2"], "store_name": ["湖滨", "外滩"],
                                "peak_window_utilisation": [1.1, 0.85], "peak_window_start": ["2026-11-23"] * 2})
    built = {
        **{b.__name__: b(frame, **kwargs) for b, frame, kwargs in BUILDERS},
        "kpi_line": charts.kpi_line(weekly, "week_start", "orders", marks=marks["orders"], goals=[150.0, 150.0],
                                    comparison=previous, comparison_label="上一周期"),
        "kpi_bar": charts.kpi_bar(weekly, "iso_week", "orders"),
        "heatmap": charts.heatmap(SLA, "hour", "weekday", "sla_attainment", title="SLA"),
        "rating_trend_rings": quality.rating_trend(weekly, marks=marks["avg_rating"]),
        "trend_grid": overview.trend_grid(weekly, ("orders", "avg_rating"), week_iso="2026-W46", marks=marks,
                                          goals={"orders": [150.0, 150.0]}, lang=lang),
        "daily_orders_redemptions": campaigns.daily_orders_redemptions(daily),
        "time_to_redeem_distribution": campaigns.time_to_redeem_distribution(buckets),
        "lift_intervals": campaigns.lift_intervals(lifts),
        "campaign_bars": campaigns.campaign_bars(campaign_table),
        "store_bars": campaigns.store_bars(campaign_table.assign(store_id="S1", store_name="湖滨")),
        "load_ahead_days": efficiency.load_ahead_days(LOAD_DAYS),
        "load_ahead_bars": efficiency.load_ahead_bars(load_stores),
        "listed_vs_actual": symmetry.listed_vs_actual(stores),
        "deal_gap_by_store": symmetry.deal_gap_by_store(stores),
        "deal_gap_over_time": symmetry.deal_gap_over_time(weekly),
        "campaign_phases": symmetry.campaign_phases(phases),
        "store_trend": symmetry.store_trend(weekly),
    }
    return [(name, localise(fig, lang)) for name, fig in built.items()]


EVERY_FIGURE = _every_figure()


def _english_words(words: str) -> list[str]:
    return re.findall(r"[A-Za-z]{2,}", words)


@pytest.mark.parametrize("name, fig", EVERY_FIGURE, ids=[name for name, _ in EVERY_FIGURE])
def test_hover_labels_read_in_chinese(name, fig):
    """Every hover label of a Chinese chart has its words in Chinese: between the values (it kept
    'orders', 'of redemptions', 'utilisation' … in English), in the secondary box ('sold'), in the
    words a label reads from its data (an anomaly ring's reasons) and in a date with names; values,
    tags and marks are kept. Every chart builder the pages call, with its overlays."""
    assert fig.data, name
    for trace in fig.data:
        template = trace.hovertemplate or ""
        assert not _english_words(re.sub(r"%\{[^}]*\}|<[^>]+>", " ", template)), template
        for field, values in (("customdata", trace.customdata), ("hovertext", trace.hovertext)):
            if f"%{{{field}" in template and values is not None:
                words = " ".join(str(v) for v in pd.DataFrame(list(values)).to_numpy().ravel() if isinstance(v, str))
                words = re.sub(r"\b(S\d+|C\d+|\d{4}-W\d+)\b", " ", words)   # fixture ids
                assert not _english_words(words), (template, words)


def test_every_chart_builder_is_in_the_chinese_hover_test():
    """A builder added to o2o_ops.charts is checked in Chinese too (the rings, targets, trend lines
    and symmetry charts had been left out)."""
    import inspect

    from o2o_ops.charts import campaigns, overview, symmetry
    not_builders = {"empty_figure", "base_layout", "has_legend", "axis_format", "anomaly_trace", "goal_trace",
                    "histogram", "picked_id", "picked_store", "text_px", "wrap_words", "legend_rows", "shorten",
                    "nice_ticks", "axis_extent", "short_value_axis", "short_value_axes", "fit_width",
                    "is_empty", "say_why_empty"}
    names = {name for module in (charts, campaigns, cost, efficiency, overview, quality, symmetry)
             for name, member in inspect.getmembers(module, inspect.isfunction)
             if member.__module__ == module.__name__ and not name.startswith("_")} - not_builders
    assert names <= {name.removesuffix("_rings") for name, _ in EVERY_FIGURE}


def test_a_hover_label_in_chinese_by_hand():
    from o2o_ops.i18n.figures import localise
    fig = localise(quality.refund_reasons_bar(REASONS), "zh")
    assert fig.data[0].hovertemplate == ("%{y}: %{x:,} 单（占已支付 %{customdata[0]:.1%}），退款 "
                                         "%{customdata[1]:,.0f}<extra></extra>")
    # English is left as the builder wrote it
    assert quality.refund_reasons_bar(REASONS).data[0].hovertemplate.startswith("%{y}: %{x:,} orders (")



def test_a_chinese_hover_writes_its_dates_in_chinese():
    """The load-ahead chart's hover wrote 'Mon 23 Nov' on a Chinese page (d3 has English names
    only): the Chinese figure reads each day's words from its hover text, '11月23日 周一' (23 Nov
    2026 is a Monday, 29 Nov a Sunday); English keeps plotly's own format."""
    from o2o_ops.i18n.figures import localise
    english = efficiency.load_ahead_days(LOAD_DAYS)
    assert english.data[0].hovertemplate == "%{x|%a %d %b}: %{y:,.0f}<extra>sold</extra>"
    assert english.data[0].hovertext is None
    fig = localise(efficiency.load_ahead_days(LOAD_DAYS), "zh")
    for trace in fig.data:
        assert trace.hovertemplate.startswith("%{hovertext}: %{y:,.0f}<extra>")
        assert list(trace.hovertext) == ["11月23日 周一", "11月29日 周日"]


def test_a_chinese_date_axis_hovers_its_dates_in_chinese():
    """A hover written ``%{x}`` on a date axis read plotly's 'Nov 2, 2026' on a Chinese page; the
    Chinese axis hovers '2026年11月2日'."""
    from o2o_ops.i18n.figures import date_words, localise
    weekly = pd.DataFrame({"week_start": [W1, W2], "orders": [10, 12]})
    fig = localise(charts.kpi_line(weekly, "week_start", "orders"), "zh")
    assert fig.layout.xaxis.hoverformat == "%Y年%-m月%-d日"
    assert charts.kpi_line(weekly, "week_start", "orders").layout.xaxis.hoverformat is None
    assert date_words(W1, "%Y-%m-%d %a", "zh") == "2026年11月2日 周一"
    assert date_words(W2, "%d %b", "zh") == "11月9日"


def test_chinese_hovers_in_their_own_word_order_by_hand():
    """A label whose words a Chinese reader puts in another order is the catalogue's whole template
    ('85% 占接待能力，7 天起于 2026-11-23' read word by word); an anomaly ring lists its reasons in
    Chinese (they were the core's English); the load-ahead's boxes are Chinese ('sold')."""
    figures = dict(EVERY_FIGURE)
    assert figures["load_ahead_bars"].data[0].hovertemplate == (
        "%{y}: 占接待能力 %{x:.0%}，自 %{customdata[0]} 起 7 天<extra></extra>")
    assert figures["complaints_bar"].data[0].hovertemplate == (
        "%{y}: 占核销 %{x:.1%}（%{customdata:,} 条投诉）<extra></extra>")
    (ring,) = [t for t in figures["kpi_line"].data if t.name == "异常的门店周"]
    assert ring.hovertemplate == "%{customdata[0]} 个异常门店周：<br>%{customdata[1]}<extra></extra>"
    # S1 in W45: 210 orders against 70 expected = 3.0 times, 9.2 typical swings above
    assert ring.customdata[0][1] == ("S1 在 2026-W45：210 笔订单，为预期 70 笔的 3.0 倍（已考虑其自身趋势和品类当周"
                                     "情况；高于预期 9.2 个典型波动幅度）。")
    assert [t.hovertemplate.split("<extra>")[1] for t in figures["load_ahead_days"].data] == [
        "已售</extra>", "未来销售</extra>", "接待能力</extra>"]
    # listed vs actual read "标示 4.8 ★, 顾客给出 4.10 ★" word by word (an English comma); by hand,
    # 湖滨 (S1, a restaurant): listed 4.8, its reviews 4.1 on average, 10 of them
    (lakeside,) = [t for t in figures["listed_vs_actual"].data if t.text is not None and "湖滨" in t.text]
    assert lakeside.hovertemplate == ("<b>%{text}</b><br>标示 %{x:.1f} ★，顾客实际 %{y:.2f} ★"
                                      "<br>%{customdata[0]:,.0f} 条评价<extra></extra>")
    (x,), (y,), ((reviews, _),) = lakeside.x, lakeside.y, lakeside.customdata
    shown = (lakeside.hovertemplate.split("<extra>")[0].replace("%{text}", "湖滨").replace("%{x:.1f}", f"{x:.1f}")
             .replace("%{y:.2f}", f"{y:.2f}").replace("%{customdata[0]:,.0f}", f"{reviews:,.0f}"))
    assert shown == "<b>湖滨</b><br>标示 4.8 ★，顾客实际 4.10 ★<br>10 条评价"
    # English is left as the builders wrote it
    assert efficiency.load_ahead_bars(pd.DataFrame({
        "store_id": ["S1"], "store_name": ["Lakeside"], "peak_window_utilisation": [0.85],
        "peak_window_start": ["2026-11-23"]})).data[0].hovertemplate == (
        "%{y}: %{x:.0%} of capacity in the 7 days from %{customdata[0]}<extra></extra>")
    assert symmetry.listed_vs_actual(pd.DataFrame({
        "store_id": ["S1"], "store_name": ["Lakeside"], "listed_rating": [4.8], "avg_rating": [4.1],
        "reviews": [10]})).data[1].hovertemplate == (
        "<b>%{text}</b><br>listed %{x:.1f} ★, customers give %{y:.2f} ★<br>%{customdata[0]:,.0f} reviews"
        "<extra></extra>")


def test_more_flags_than_a_chinese_ring_holds():
    from o2o_ops import anomalies
    flagged = pd.concat([_flagged()] * 2, ignore_index=True).head(4)   # W45 twice, W46 twice
    flagged = flagged.assign(week_start=pd.Timestamp(W1), iso_week="2026-W45", kpi="orders")
    lines = anomalies.week_marks(flagged, "orders", "zh").iloc[0]["hover"].split("<br>")
    assert len(lines) == anomalies.MARKS_IN_HOVER + 1 and lines[-1] == "……另有 1 个异常门店周"
