"""``python -m o2o_ops anomalies``: store-weeks unusual for that store, per headline KPI, with the reason."""

from __future__ import annotations

import argparse
import re

from o2o_ops.cli import add_limit_arg, add_warehouse_arg


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("anomalies", help="list unusual store-weeks with the reason", description=__doc__)
    add_warehouse_arg(parser)
    parser.add_argument("--week", metavar="YYYY-Www", help="only this ISO week, e.g. 2026-W27")
    parser.add_argument("--kpi", action="append", default=[], metavar="NAME",
                        help="only these KPIs (orders, avg_wait_minutes, avg_rating, refund_rate)")
    parser.add_argument("--city", action="append", default=[], metavar="C")
    parser.add_argument("--category", action="append", default=[], metavar="K")
    parser.add_argument("--store", action="append", default=[], metavar="S")
    add_limit_arg(parser, 50, "store-weeks, most unusual first")
    parser.add_argument("--check-demo", action="store_true",
                        help="on a demo warehouse: share of planted spikes found, share of other store-weeks flagged")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from o2o_ops import anomalies, config, db
    from o2o_ops.filters import Filters
    from o2o_ops.weekly import Week

    if args.week and not re.fullmatch(r"\d{4}-W\d{2}", args.week):
        print(f"error: --week must look like 2026-W27, not {args.week!r}")
        return 2
    try:
        week = Week.parse(args.week) if args.week else None
    except ValueError as exc:
        print(f"error: --week: {exc}")
        return 2
    names = {k.name for k in anomalies.KPIS}
    unknown = [k for k in args.kpi if k not in names]
    if unknown:
        print(f"error: unknown KPI {', '.join(unknown)}; watched: {', '.join(sorted(names))}")
        return 2
    con = db.connect(config.warehouse_path(args.warehouse))
    try:
        if args.check_demo:
            ev = anomalies.evaluate_demo(con)
            for spike, share in ev["spike_store_weeks_found"].items():
                print(f"spike {spike}: {share:.0%} of its store-weeks flagged on orders, "
                      f"{ev['spike_store_weeks_found_any_kpi'][spike]:.0%} on any KPI; the weeks its vouchers were "
                      f"sold in {ev['presale_store_weeks_found_any_kpi'].get(spike, float('nan')):.0%} on any KPI")
            print(f"unplanted store-weeks flagged: {ev['unplanted_flagged_share']:.1%} of "
                  f"{ev['unplanted_store_weeks']:,} (no spike, no selling ahead for one, no campaign at the store)")
            return 0
        scope = Filters(cities=args.city, categories=args.category, stores=args.store)
        found = anomalies.flags(con, scope)
        # the KPIs no store-week of the scope (the week, when given) was judged on, and why: no
        # flag among them is no news
        watched = tuple(args.kpi) or tuple(k.name for k in anomalies.KPIS)
        unjudged = anomalies.not_judged(con, scope.replace(start=week.start, end=week.end) if week else scope, watched)
    finally:
        con.close()
    if args.week:
        found = found[found["iso_week"] == args.week]
    if args.kpi:
        found = found[found["kpi"].isin(args.kpi)]
    listed = "; ".join(unjudged.values())
    if len(unjudged) == len(watched):
        print(f"No store-week could be judged under these options: {listed}.")
        return 0
    if found.empty:
        print("No unusual store-weeks under these options.")
    else:
        print(f"{len(found):,} unusual store-week{'' if len(found) == 1 else 's'}"
              + (f"; the {args.limit} most unusual:" if len(found) > args.limit else ":"))
        for reason in found["reason"].head(args.limit):
            print(f"- {reason}")
    if unjudged:
        print(f"Not judged: {listed}.")
    return 0
