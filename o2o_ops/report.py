"""The weekly executive report as one self-contained HTML file, and as a PDF printed from it.

The report shows what the weekly overview shows (:func:`o2o_ops.weekly.build`): the week and
filters, headline cards with week-over-week change (a large amount short, ``¥269.4M``, its every digit
in a small line under it: a PDF has no hover), 13-week trends, best/worst stores, the
symmetry attention list, the written summary, and an appendix with every KPI definition from the
registry and the data's freshness.

Self-contained means no network: styles are inline, charts are inline SVG drawn here (vector, so
they stay sharp in print), no fonts or scripts are fetched. The PDF is printed by the system's
headless chromium (Debian's ``/usr/bin/chromium``), so no browser download is needed.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Sequence

import duckdb
import pandas as pd

from o2o_ops import attention, i18n, metrics, units, weekly
from o2o_ops.charts import BAD, GOOD, NEUTRAL, PALETTE
from o2o_ops.filters import Filters

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
PDF_TIMEOUT_S = 120

_esc = html.escape


# ------------------------------------------------------------------------------------------
# SVG charts
# ------------------------------------------------------------------------------------------

def _tick(name: str, value: float, lang: str = "en") -> str:
    """A short axis label in the KPI's unit."""
    return units.format_tick(value, metrics.KPIS[name].unit, lang)


def svg_line_chart(labels: Sequence[str], values: Sequence[float | None], name: str, *,
                   highlight: int | None = None, width: int = 320, height: int = 150, lang: str = "en",
                   why: str | None = None) -> str:
    """An inline SVG line chart of one KPI over weeks; gaps where a value is missing.

    ``highlight`` is the index of the report's week, drawn larger in good/bad colour. ``why``: why
    the KPI's value is blank (its card's note), which a chart with no value at all says in place
    of "No data" ("Not provided: no reviews imported"), in lines that fit its width.
    """
    from o2o_ops.charts import wrap_words

    label = i18n.kpi_label(name, lang)
    title = f'<text x="4" y="14" class="ct">{_esc(label)}</text>'
    points = [(i, float(v)) for i, v in enumerate(values) if not units.is_missing(v)]
    if not points:
        said = i18n.note_sentence(why) if why else i18n.t("report.no_data_chart", lang)
        lines = wrap_words(said, width - 24, 12)
        top = height / 2 - 7 * (len(lines) - 1)
        spans = "".join(f'<tspan x="{width / 2}" y="{top + 14 * i:g}">{_esc(line)}</tspan>'
                        for i, line in enumerate(lines))
        return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
                f'height="{height}" role="img">{title}<text text-anchor="middle" class="na">{spans}</text></svg>')
    left, right, top, bottom = 46, 8, 24, 22
    lo, hi = min(v for _, v in points), max(v for _, v in points)
    if hi == lo:
        pad = abs(hi) * 0.05 or 1.0
        lo, hi = lo - pad, hi + pad
    n = max(len(values) - 1, 1)

    def sx(i: float) -> float:
        return left + (width - left - right) * i / n

    def sy(v: float) -> float:
        return top + (height - top - bottom) * (1 - (v - lo) / (hi - lo))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{_esc(i18n.t("report.by_week", lang, label=label))}">', title]
    for v in (lo, (lo + hi) / 2, hi):
        y = sy(v)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end" class="ax">{_esc(_tick(name, v, lang))}</text>')
    last = len(labels) - 1
    for i in sorted({0, last, last // 2}):
        anchor = "end" if i == last and last else ("start" if i == 0 and last else "middle")
        parts.append(f'<text x="{sx(i):.1f}" y="{height - 6}" text-anchor="{anchor}" class="ax">'
                     f'{_esc(str(labels[i]))}</text>')
    # consecutive runs of present values become one polyline each, so a missing week is a gap
    run: list[str] = []
    runs: list[list[str]] = []
    prev_i = None
    for i, v in points:
        if prev_i is not None and i != prev_i + 1:
            runs.append(run)
            run = []
        run.append(f"{sx(i):.1f},{sy(v):.1f}")
        prev_i = i
    runs.append(run)
    for r in runs:
        if len(r) > 1:
            parts.append(f'<polyline points="{" ".join(r)}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>')
    for i, v in points:
        parts.append(f'<circle cx="{sx(i):.1f}" cy="{sy(v):.1f}" r="2.2" fill="{PALETTE[0]}"/>')
    if highlight is not None and highlight < len(values) and not units.is_missing(values[highlight]):
        before = values[highlight - 1] if highlight > 0 else None
        change = None if units.is_missing(before) else float(values[highlight]) - float(before)
        colour = {True: GOOD, False: BAD, None: NEUTRAL}[metrics.is_good_change(name, change)]
        parts.append(f'<circle cx="{sx(highlight):.1f}" cy="{sy(float(values[highlight])):.1f}" r="4.5" '
                     f'fill="{colour}"/>')
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------------------------------------------
# HTML
# ------------------------------------------------------------------------------------------

CSS = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
/* the body as wide as A4 less the page's margins (210 - 2 x 12 mm): at 190 mm the right column
   of cards lost its right edge in print */
body { font-family: 'DejaVu Sans', 'Liberation Sans', Arial, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC',
       'WenQuanYi Micro Hei', sans-serif; color: #1f2937; font-size: 10.5pt;
       margin: 0 auto; max-width: 186mm; line-height: 1.35; }
h1 { font-size: 19pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; margin: 6mm 0 2mm; border-bottom: 1px solid #e5e7eb; padding-bottom: 1mm; }
.meta { color: #4b5563; margin: 0 0 1mm; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 2.5mm; }
.card { border: 1px solid #d1d5db; border-radius: 2mm; padding: 2mm 3mm; break-inside: avoid; }
.card .l { font-size: 8.5pt; color: #4b5563; }
.card .v { font-size: 15pt; font-weight: bold; }
.card .d { font-size: 9pt; }
.card .x { font-size: 7.5pt; color: #6b7280; overflow-wrap: anywhere; }
.good { color: """ + GOOD + """; } .bad { color: """ + BAD + """; } .neutral { color: """ + NEUTRAL + """; }
.charts { display: grid; grid-template-columns: repeat(2, 1fr); gap: 2mm 4mm; }
.charts svg { width: 100%; height: auto; break-inside: avoid; }
svg .ct { font: bold 11px 'DejaVu Sans', sans-serif; fill: #1f2937; }
svg .ax { font: 9px 'DejaVu Sans', sans-serif; fill: #6b7280; }
svg .na { font: 12px 'DejaVu Sans', sans-serif; fill: #6b7280; }
svg .grid { stroke: #e5e7eb; stroke-width: 1; }
table { border-collapse: collapse; width: 100%; font-size: 8.5pt; margin-bottom: 2mm; }
th, td { border-bottom: 1px solid #e5e7eb; padding: 1mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #f3f4f6; } td.n, th.n { text-align: right; white-space: nowrap; }
tr { break-inside: avoid; }
.pair { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 4mm; break-inside: avoid; }
h2, h3 { break-after: avoid; }
.doc { white-space: pre-line; }
.pair h3 { font-size: 10.5pt; margin: 2mm 0 1mm; }
.summary li { margin-bottom: 1.5mm; }
.empty { border: 1px solid #fcd34d; background: #fffbeb; padding: 3mm; border-radius: 2mm; }
.appendix { break-before: page; }
.note { color: #6b7280; font-size: 8.5pt; }
"""


def _table(df: pd.DataFrame, columns: Sequence[tuple[str, str, str | None]], empty: str, lang: str = "en") -> str:
    """An HTML table; ``columns`` = (column, heading, KPI name to format with or None)."""
    if df.empty:
        return f'<p class="note">{_esc(empty)}</p>'
    head = "".join(f'<th class="{"n" if kpi else ""}">{_esc(h)}</th>' for _, h, kpi in columns)
    rows = []
    for _, row in df.iterrows():
        cells = []
        for col, _, kpi in columns:
            value = row.get(col)
            if kpi:
                cells.append(f'<td class="n">{_esc(units.format_value(value, metrics.KPIS[kpi].unit, lang=lang))}</td>')
            else:
                cells.append(f"<td>{_esc(units.MISSING if units.is_missing(value) else str(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _store_cols(lang: str) -> list[tuple[str, str, None]]:
    return [("store", i18n.t("report.store", lang), None), ("store_city", i18n.t("report.city", lang), None)]


def _with_store(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``store`` = "name (id)" for the tables."""
    if df.empty:
        return df
    return df.assign(store=[f"{n} ({i})" for n, i in zip(df["store_name"], df["store_id"])])


def _cards_html(cards: pd.DataFrame, previous_iso: str, targets: pd.DataFrame | None = None,
                lang: str = "en") -> str:
    goals = dict(zip(targets["kpi"], targets["text"])) if targets is not None and not targets.empty else {}
    out = []
    for name, c in cards.iterrows():
        tone = {True: "good", False: "bad", None: "neutral"}[c["is_good"]]
        label = c["label"]
        against = (i18n.t("report.vs", lang, week=previous_iso)
                   + (i18n.t("report.at_equal_age", lang) if c.get("equal_age") else "")
                   + (i18n.t("report.provisional", lang) if c.get("provisional") else ""))
        # a large amount or count short, as on the app's cards (¥269.4M); every digit in a small line
        # under it, since a printed report has no hover
        # (with the minus sign: a printed card is text, not st.metric's delta, and "-¥520" read as a hyphen)
        change = i18n.whole_amounts(units.format_card_change(c["change"], c["unit"], lang=lang))
        # a sign kept with its amount: Chromium wrapped "−¥21,794,300.00" after the "−"
        exact_words = i18n.whole_amounts(i18n.exact_help(c["value"], c["change"], c["unit"], lang))
        if c.get("note"):   # "—" and why: "not provided: no costs imported", "too few reviews (2)"
            change, against = c["note"][:1].upper() + c["note"][1:], ""
        exact = f'<div class="x">{_esc(exact_words)}</div>' if exact_words else ""
        goal = f'<div class="d neutral">🎯 {_esc(goals[name])}</div>' if goals.get(name) else ""
        out.append(f'<div class="card"><div class="l">{_esc(label)}</div>'
                   f'<div class="v">{_esc(units.format_card(c["value"], c["unit"], lang=lang))}</div>'
                   f'<div class="d {tone}">{_esc(change)} <span class="neutral">{_esc(against)}</span>'
                   f"</div>{exact}{goal}</div>")
    return '<div class="cards">' + "".join(out) + "</div>"


def render_html(ov: weekly.WeeklyOverview, definitions: pd.DataFrame, fresh: dict[str, Any], *,
                generated_at: dt.datetime | None = None, lang: str = "en") -> str:
    """The whole report as one HTML string (inline CSS and SVG; nothing fetched), its words in
    ``lang`` (``ov`` and ``definitions`` built in the same language)."""
    def t(key: str, **values: Any) -> str:
        return _esc(i18n.t(f"report.{key}", lang, **values))

    def in_sentence(name: str) -> str:
        label = i18n.kpi_label(name, lang)
        return label.lower() if i18n.check(lang) == "en" else label

    generated_at = generated_at or dt.datetime.now().replace(microsecond=0)
    # before the first order the warehouse has no as_of: missing, never the text "nan"
    fresh = {k: None if v is None or (not isinstance(v, str) and pd.isna(v)) else v for k, v in fresh.items()}
    week, prev = ov.week, ov.week.previous
    stores = _store_cols(lang)
    latest = str(fresh.get("latest_order") or i18n.t("report.no_orders", lang))[:16]
    body = [f"<h1>{t('title', week=week.iso)}</h1>",
            f'<p class="meta"><b>{t("week_label")}</b> '
            f'{t("week_line", week=week.label_in(lang), previous=prev.label_in(lang))}</p>',
            f'<p class="meta"><b>{t("filters_label")}</b> {t("filters_line", filters=ov.filters.describe(lang))}</p>',
            f'<p class="meta"><b>{t("data_up_to_label")}</b> '
            f'{t("data_up_to", when=latest, generated=f"{generated_at:%Y-%m-%d %H:%M}")}</p>']
    if not ov.has_data:
        body.append(f'<div class="empty"><b>{t("no_data_week")}</b> {_esc(i18n.sentences(ov.summary, lang))}</div>')
    else:
        body.append(f"<h2>{t('headline')}</h2>" + _cards_html(ov.cards, prev.iso, ov.targets, lang))
        body.append(f'<h2>{t("summary")}</h2><ul class="summary">'
                    + "".join(f"<li>{_esc(i18n.whole_amounts(s))}</li>" for s in ov.summary) + "</ul>")
        labels = [w.split("-", 1)[1] for w in ov.series["iso_week"]]
        charts = [svg_line_chart(labels, ov.series[name].tolist(), name, highlight=len(labels) - 1, lang=lang,
                                 why=ov.cards.at[name, "note"] or None)
                  for name in metrics.HEADLINE]
        body.append(f"<h2>{t('trends', first=ov.series['iso_week'].iloc[0], week=week.iso)}</h2>"
                    f'<div class="charts">{"".join(charts)}</div>'
                    f'<p class="note">{t("dot_note", week=week.iso)}</p>')
        left_out = t("left_out", count=f"{ov.left_out:,}") if ov.left_out else ""
        body.append(f"<h2>{t('best_worst')}</h2>"
                    f'<p class="note">{t("ranked_note", min_reviews=ov.min_reviews, left_out=left_out)}</p>')
        if ov.unjudged:   # the rankings need the same reviews as the attention rule
            body.append(f'<p>{_esc(i18n.t("weekly.none_ranked", lang, why=ov.unjudged))}</p>')
        for by in weekly.RANKINGS if not ov.unjudged else ():
            cols = [*stores, (by, i18n.kpi_label(by, lang), by), ("reviews", i18n.kpi_label("reviews", lang), "reviews")]
            body.append(f'<div class="pair"><div><h3>{t("best_by", kpi=in_sentence(by))}</h3>'
                        f'{_table(_with_store(ov.best.get(by, pd.DataFrame())), cols, i18n.t("report.no_best", lang), lang)}</div>'
                        f'<div><h3>{t("worst_by", kpi=in_sentence(by))}</h3>'
                        f'{_table(_with_store(ov.worst.get(by, pd.DataFrame())), cols, i18n.t("report.no_worst", lang), lang)}</div></div>')
        body.append(f"<h2>{t('attention')}</h2>"
                    f'<p class="note">{_esc(ov.rule.describe(lang))} {_esc(attention.left_out_words(ov.left_out, ov.rule, lang))} '
                    f"{t('attention_order')}</p>")
        body.append(_table(_with_store(ov.attention), [*stores, ("listed_rating", i18n.t("report.listed", lang), None),
                                          ("avg_rating", i18n.t("report.reviewed", lang), "avg_rating"),
                                          ("rating_gap", i18n.kpi_label("rating_gap", lang), "rating_gap"),
                                          ("wait_gap_minutes", i18n.kpi_label("wait_gap_minutes", lang), "wait_gap_minutes"),
                                          ("symmetry_index", i18n.t("report.symmetry", lang), "symmetry_index")],
                           i18n.t("weekly.none_judged", lang, why=ov.unjudged) if ov.unjudged
                           else i18n.t("report.no_attention", lang), lang))
    defs = definitions[["KPI", "area", "definition", "unit", "better when"]]
    body.append(f'<section class="appendix"><h2>{t("appendix_a")}</h2>'
                + _table(defs, [("KPI", i18n.t("report.kpi", lang), None), ("area", i18n.t("report.area", lang), None),
                               ("definition", i18n.t("report.definition", lang), None),
                               ("unit", i18n.t("report.unit", lang), None),
                               ("better when", i18n.t("report.better_when", lang), None)], "", lang)
                + (f'<p class="note doc">{_esc(metrics.SYMMETRY_DOC)}</p>' if i18n.check(lang) == "en"
                   else f'<p class="note doc">{t("symmetry_doc")}</p>'))
    body.append(f"<h2>{t('appendix_b')}</h2>" + _table(pd.DataFrame([
        {"item": i18n.t("report.latest_order", lang), "value": fresh.get("latest_order") or "—"},
        {"item": i18n.t("report.first_order_date", lang), "value": fresh.get("first_order_date") or "—"},
        {"item": i18n.t("report.last_order_date", lang), "value": fresh.get("last_order_date") or "—"},
        {"item": i18n.t("report.rollups_built", lang), "value": fresh.get("rollups_built_at") or "—"},
    ]), [("item", i18n.t("report.item", lang), None), ("value", i18n.t("report.value", lang), None)], "", lang)
        + "</section>")
    title = i18n.t("report.html_title", lang, week=week.iso, filters=ov.filters.describe(lang))
    html_lang = "zh-Hans" if i18n.check(lang) == "zh" else "en"
    return (f"<!DOCTYPE html>\n<html lang=\"{html_lang}\"><head><meta charset=\"utf-8\">"
            f"<title>{_esc(title)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def build_html(con: duckdb.DuckDBPyConnection, filters: Filters, week: weekly.Week, *,
               min_reviews: int | None = None, lang: str = "en") -> str:
    """The report of ``week`` under ``filters`` (their dates are ignored: the week sets them), in ``lang``."""
    ov = weekly.build(con, filters, week, min_reviews=min_reviews, lang=lang)
    return render_html(ov, metrics.definitions_frame(lang), weekly.freshness(con), lang=lang)


def file_name(week: weekly.Week, filters: Filters, ext: str = "html") -> str:
    return f"o2o-ops_weekly-report_{week.iso}_{filters.replace(start=None, end=None).slug()}.{ext}"


# ------------------------------------------------------------------------------------------
# PDF
# ------------------------------------------------------------------------------------------

class PdfError(RuntimeError):
    """The PDF could not be printed; the message says what to do."""


def find_chromium() -> str:
    for candidate in (os.environ.get("O2O_CHROMIUM"), *CHROMIUM_CANDIDATES, shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    raise PdfError("No chromium found to print the PDF. Install Debian's `chromium` package, set "
                   "O2O_CHROMIUM to a Chrome/Chromium binary, or use --format html.")


def write_pdf(report_html: str, out: Path) -> Path:
    """Print ``report_html`` to ``out`` (A4) with headless chromium, offline."""
    chromium = find_chromium()
    out = Path(out).resolve()
    with tempfile.TemporaryDirectory(prefix="o2o-report-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(report_html, encoding="utf-8")
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-first-run", f"--user-data-dir={tmp}/profile", f"--print-to-pdf={out}", page.as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=PDF_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise PdfError(f"chromium did not finish printing within {PDF_TIMEOUT_S} s.") from None
    if done.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        raise PdfError(f"chromium could not print the PDF (exit {done.returncode}): {done.stderr.strip()[-400:]}")
    return out
