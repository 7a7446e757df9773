"""``python -m o2o_ops forecast``: the load ahead — redemptions expected per store over the next 14
days against capacity, the stores and campaigns at risk; ``--check-demo`` measures the forecast's
error on a demo warehouse cut a week before each planted spike."""

from __future__ import annotations

import argparse
import datetime as dt
import math

from o2o_ops.cli import add_limit_arg, add_warehouse_arg


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("forecast", help="the load ahead: stores and campaigns at risk of over-capacity",
                                   description=__doc__)
    add_warehouse_arg(parser)
    parser.add_argument("--cut", metavar="YYYY-MM-DD",
                        help="forecast as the data stood at the end of this day (default: the data's last day)")
    parser.add_argument("--city", action="append", default=[], metavar="C")
    parser.add_argument("--store", action="append", default=[], metavar="S")
    add_limit_arg(parser, 20, "stores, busiest first")
    parser.add_argument("--check-demo", action="store_true",
                        help="on a demo warehouse: forecast error with the data cut a week before each planted spike")
    parser.set_defaults(func=run)


def _pct(value: float) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.1%}"


def _signed(value: float) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:+.1%}"


def run(args: argparse.Namespace) -> int:
    from o2o_ops import comparisons, config, db

    cut = None
    if args.cut:
        try:
            cut = dt.date.fromisoformat(args.cut)
        except ValueError:
            print(f"error: --cut must be a date like 2026-06-21, not {args.cut!r}")
            return 2
    con = db.connect(config.warehouse_path(args.warehouse))
    try:
        return _run(con, args, cut)
    except comparisons.UnknownCountry as exc:
        print(f"error: {exc}")
        return 2
    finally:
        con.close()


def _run(con, args: argparse.Namespace, cut: dt.date | None) -> int:
    from o2o_ops import db, forecast, i18n
    from o2o_ops.filters import Filters

    if args.check_demo:
        for r in forecast.evaluate_demo(con):
            print(f"cut {r['cut']} ({r['spike']}): store-day error (WAPE) {_pct(r['wape_store_days_outside_spike'])} "
                  f"outside the spike, {_pct(r['wape_store_days_spike'])} in it; 14-day store totals "
                  f"{_pct(r['wape_store_14d_totals'])}; bias outside the spike {r['bias_outside_spike']:+.1%}, "
                  f"at the spike city's stores before it {_signed(r['bias_before_spike'])}; "
                  f"spike redemptions forecast {_pct(r['spike_redemptions_forecast_share'])} of what came; "
                  f"14-day store totals off by {r['mae_store_14d_totals']:.1f} redemptions on average "
                  f"(of {r['mean_store_14d_redemptions']:.1f}); "
                  f"{r['spike_city_stores_flagged']} of {r['spike_city_stores']} spike-city stores flagged "
                  f"(recall {_pct(r['recall'])}; {r['spike_stores_flagged_for_the_spike_week']} of them for the "
                  f"spike's week), false alarms {_pct(r['false_alarm_share'])} of the other stores; "
                  f"{r['over_capacity_stores_flagged']} of {r['stores_over_capacity']} stores that went over "
                  f"capacity flagged, {r['flagged_not_over_capacity']} flagged that did not")
        return 0
    first = db.scalar(con, "SELECT CAST(min(order_date) AS VARCHAR) FROM order_facts")
    last = db.scalar(con, "SELECT CAST(max(order_date) AS VARCHAR) FROM order_facts")
    if cut is not None and (first is None or cut < dt.date.fromisoformat(first)):
        print(f"error: --cut {cut} is before the data (it starts {first})")
        return 2
    if cut is not None and cut > dt.date.fromisoformat(last):
        # the data as it stood then is all of it, with every voucher expired and no recent sales:
        # a forecast of zero everywhere that would read as "no store at risk"
        print(f"error: --cut {cut} is after the data (its last order is on {last}); leave --cut out to "
              f"forecast from the end of the data")
        return 2
    ahead = forecast.load_ahead(con, Filters(cities=args.city, stores=args.store), cut)
    stores = ahead["stores"]
    if ahead["why"]:   # not a forecast of zero everywhere: say what it lacks
        print(f"The load ahead cannot be forecast: {i18n.note_detail(ahead['why'])}.")
        return 0
    if ahead["cut"] is None or stores.empty:
        print("No store with a capacity under these options: nothing to forecast against.")
        return 0
    print(f"Forecast from the end of {ahead['cut']}: {int(stores['at_risk'].sum())} of {len(stores)} stores at risk "
          f"(more redemptions than capacity in {forecast.RISK_WINDOW_DAYS} consecutive days).")
    for r in stores.head(args.limit).itertuples():
        print(f"- {r.store_id} {r.store_name} ({r.city}): {r.expected_14d:,.0f} redemptions expected, busiest "
              f"{forecast.RISK_WINDOW_DAYS} days from {r.peak_window_start} at {_pct(r.peak_window_utilisation)} of "
              f"capacity{' — AT RISK' if r.at_risk else ''}")
    for r in ahead["campaigns"].itertuples():
        print(f"- campaign {r.campaign_id}: {r.open_vouchers:,} open vouchers at {r.stores_at_risk} store(s) at risk")
    return 0
