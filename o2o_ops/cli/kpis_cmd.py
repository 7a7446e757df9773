"""``python -m o2o_ops kpis``: print KPIs by registry name at a grain, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

import pandas as pd

from o2o_ops import auth, db, export, metrics, units
from o2o_ops.cli import add_users_file_arg, add_warehouse_arg
from o2o_ops.filters import Filters


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-16") from None


def add_filter_args(parser: argparse.ArgumentParser) -> None:
    """The filter options shared by every command that computes KPIs."""
    parser.add_argument("--from", dest="start", type=_date, metavar="DATE", help="first order date (inclusive)")
    parser.add_argument("--to", dest="end", type=_date, metavar="DATE", help="last order date (inclusive)")
    parser.add_argument("--city", action="append", default=[], metavar="C")
    parser.add_argument("--district", action="append", default=[], metavar="D")
    parser.add_argument("--category", action="append", default=[], metavar="K")
    parser.add_argument("--store", action="append", default=[], metavar="S")
    parser.add_argument("--channel", action="append", default=[], metavar="H")
    parser.add_argument("--kind", action="append", default=[], metavar="KIND", help="campaign kind")
    parser.add_argument("--campaign", action="append", default=[], metavar="ID")
    parser.add_argument("--as-user", metavar="NAME", default=None,
                        help="only the stores this user of the users file may see")
    add_users_file_arg(parser, "users file for --as-user")


def filters_from_args(args: argparse.Namespace) -> Filters:
    """The filters the options name, narrowed to ``--as-user``'s scope when given."""
    try:
        filters = Filters(start=args.start, end=args.end, cities=args.city, districts=args.district,
                          categories=args.category, stores=args.store, channels=args.channel,
                          campaign_kinds=args.kind, campaigns=args.campaign)
    except ValueError as exc:
        raise db.WarehouseError(str(exc)) from None
    if args.as_user:
        try:
            filters = auth.scoped(filters, auth.get_user(args.as_user, args.users_file))
        except auth.AuthError as exc:
            raise db.WarehouseError(str(exc)) from None
    return filters


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("kpis", help="print KPIs by name", description=__doc__)
    add_filter_args(parser)
    parser.add_argument("--by", default="total", choices=list(metrics.GRAINS))
    parser.add_argument("--kpi", action="append", default=[], metavar="NAME",
                        help="only these KPIs (default: all); see `--list`")
    parser.add_argument("--format", default="table", choices=("table", "json", "csv"))
    parser.add_argument("--list", action="store_true", help="list the KPI names and formulas, then stop")
    add_warehouse_arg(parser)
    parser.set_defaults(func=run)


def to_records(df: pd.DataFrame) -> list[dict]:
    """JSON-ready rows: dates as ISO strings, NaN/NA as None (a zero-denominator rate is null)."""
    records = []
    for row in df.to_dict(orient="records"):
        clean = {}
        for key, value in row.items():
            if units.is_missing(value):
                clean[key] = None
            elif isinstance(value, (pd.Timestamp, dt.date)):
                clean[key] = value.isoformat()[:10] if isinstance(value, dt.date) else str(value)
            elif hasattr(value, "item"):
                clean[key] = value.item()
            else:
                clean[key] = value
        records.append(clean)
    return records


def run(args: argparse.Namespace) -> int:
    if args.list:
        for kpi in metrics.KPI_LIST:
            print(f"{kpi.name:22} {kpi.unit:9} {kpi.description}")
        return 0
    unknown = [n for n in args.kpi if n not in metrics.KPIS]
    if unknown:
        print(f"error: unknown KPI {', '.join(unknown)}; `kpis --list` shows the names", file=sys.stderr)
        return 2
    filters = filters_from_args(args)
    names = args.kpi or list(metrics.KPIS)
    con = db.connect(args.warehouse)
    try:
        # the review count says why a rating is withheld; asked for alongside, printed only when asked
        df = metrics.compute(con, filters, args.by, list(dict.fromkeys([*names, "reviews"])))
        why = metrics.notes(con, df, filters, args.by, names) if not df.empty else []
        if "reviews" not in names:
            df = df.drop(columns=["reviews"])
    finally:
        con.close()
    if args.format == "json":
        records = to_records(df)
        for record, reasons in zip(records, why):
            record["not_shown"] = reasons   # KPI -> why it is null: "not provided: ...", "too few reviews (2)"
        print(json.dumps(records, indent=2, ensure_ascii=False))
    elif args.format == "csv":
        # like every export: a text cell a spreadsheet would run as a formula is neutralised
        sys.stdout.write(export.safe_csv(df).decode("utf-8-sig"))
    else:
        if df.empty:
            print(f"No orders match: {filters.describe()}")
            return 0
        shown = df.copy()
        for name in (c for c in shown.columns if c in metrics.KPIS):
            shown[name] = [why[i].get(name) or metrics.format_value(v, metrics.KPIS[name].unit)
                           for i, v in enumerate(shown[name])]
        print(f"# {filters.describe()}")
        print(shown.T.to_string(header=False) if len(shown) == 1 else shown.to_string(index=False))
    return 0
