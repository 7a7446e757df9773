"""``python -m o2o_ops report``: write the weekly executive report (HTML or PDF) for one ISO week."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from o2o_ops import config, db, i18n, report, weekly
from o2o_ops.cli import add_warehouse_arg
from o2o_ops.cli.kpis_cmd import add_filter_args, filters_from_args

#: Years a report may cover: the report reaches 13 weeks back, and dates in the KPI layer are
#: pandas timestamps (1677-2262); nothing real lies outside these.
REPORT_YEARS = (1900, 2200)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="write the weekly report (HTML or PDF)", description=__doc__)
    parser.add_argument("--week", metavar="YYYY-Www",
                        help="ISO week, e.g. 2026-W47 (default: the last complete week in the data)")
    add_filter_args(parser)
    parser.add_argument("--format", default="html", choices=("html", "pdf"))
    parser.add_argument("--lang", choices=i18n.LANGS, default=None,
                        help="language of the report: en or zh (default: the setting O2O_LANG; auto means en)")
    parser.add_argument("--out", metavar="FILE", help="output file (default: a name made of the week and filters)")
    add_warehouse_arg(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    filters = filters_from_args(args)
    if filters.start or filters.end:
        print("note: --from/--to are ignored; the report covers one week (--week).", file=sys.stderr)
    con = db.connect(args.warehouse)
    try:
        weeks = weekly.weeks_in_data(con)
        default = weekly.default_week(con)
        if args.week:
            try:
                week = weekly.Week.parse(args.week)
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            first, last = REPORT_YEARS
            if not dt.date(first, 1, 1) <= week.start <= dt.date(last, 12, 31):
                span = f"; the data runs {weeks[-1].iso} → {weeks[0].iso}" if weeks else ""
                print(f"error: week {args.week.strip()} is outside the years a report can cover ({first}–{last}){span}.",
                      file=sys.stderr)
                return 2
            if week not in weeks:
                span = f"{weeks[-1].iso} → {weeks[0].iso}" if weeks else "none"
                print(f"note: week {week.iso} is outside the data ({span}); the report will say it has no data.",
                      file=sys.stderr)
        elif default is None:
            print("error: the warehouse has no orders, so there is no week to report on.", file=sys.stderr)
            return 2
        else:
            week = default
        lang = args.lang or i18n.normalise(config.get("O2O_LANG")) or i18n.DEFAULT
        text = report.build_html(con, filters, week, lang=lang)
    finally:
        con.close()
    out = Path(args.out) if args.out else Path(report.file_name(week, filters, args.format))
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.format == "pdf":
        try:
            report.write_pdf(text, out)
        except report.PdfError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    else:
        out.write_text(text, encoding="utf-8")
    print(f"wrote {out} ({week.iso}, {filters.replace(start=None, end=None).describe()})")
    return 0
