"""``python -m o2o_ops calibrate``: how often the lift's 95 % interval contains the planted truth,
and how the anomaly flags do on the planted spikes."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from o2o_ops import demo


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibrate", help="measure the lift's interval coverage on demo warehouses", description=__doc__)
    parser.add_argument("--seeds", type=int, default=5, help="demo warehouses to build, one per seed (default 5)")
    parser.add_argument("--orders", type=int, default=100_000, help="orders in each demo warehouse (default 100,000)")
    parser.add_argument("--first-seed", type=int, default=1, help="first seed (default 1)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures and every campaign's result as JSON")
    parser.set_defaults(func=run)


def _pct(value: float) -> str:
    return "—" if value is None or math.isnan(value) else f"{value * 100:.1f}%"


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.seeds <= 100:
        print(f"error: --seeds must be between 1 and 100, not {args.seeds}")
        return 2
    if not demo.MIN_ORDERS <= args.orders <= demo.MAX_ORDERS:
        print(f"error: --orders must be between {demo.MIN_ORDERS:,} and {demo.MAX_ORDERS:,}, not {args.orders:,}")
        return 2
    if args.first_seed < 0:
        print(f"error: --first-seed must be zero or positive, not {args.first_seed}")
        return 2
    from o2o_ops import calibrate

    print(f"# lift calibration · {args.seeds} demo warehouses of {args.orders:,} orders · seeds "
          f"{args.first_seed}..{args.first_seed + args.seeds - 1}", flush=True)
    summary, camps, placebos = calibrate.calibrate(args.seeds, args.orders, args.first_seed,
                                                   progress=lambda m: print(m, flush=True))
    goals = calibrate.GOALS
    print()
    print(f"campaigns judged               {summary['judged']} of {summary['campaigns']}")
    print(f"coverage of the 95% interval   {_pct(summary['coverage'])}   (goal ≥ {goals['coverage']:.0%})")
    print(f"no-effect called 'Real lift'   {_pct(summary['false_lift'])}   (goal ≤ {goals['false_lift']:.0%}; "
          f"of {summary['zero_effect_judged']} judged with no planted effect)")
    print(f"placebos whose interval has 0  {_pct(summary['placebo_contains_zero'])}   (goal ≥ "
          f"{goals['placebo_contains_zero']:.0%}; {summary['placebos_judged']} of {summary['placebos']} judged)")
    print(f"effects of 10% or more found   {_pct(summary['real_effects_found'])}")
    print(f"median interval width          {summary['median_interval_width'] * 100:.1f} points")
    print(f"error of the estimate (log)    bias {summary['bias_log']:+.4f}, rmse {summary['rmse_log']:.4f}")
    an = summary["anomalies"]
    print(f"anomaly flags: planted spikes' store-weeks flagged {_pct(an['spike_found_orders'])} on orders "
          f"(worst spike {_pct(an['spike_found_orders_worst'])}), {_pct(an['spike_found_any_kpi'])} on any KPI "
          f"(worst spike {_pct(an['spike_found_any_kpi_worst'])}); the weeks their vouchers were sold in "
          f"{_pct(an['presale_found_any_kpi'])} on any KPI")
    print(f"anomaly flags: unplanted store-weeks flagged {_pct(an['unplanted_flagged_share'])} of "
          f"{an['unplanted_store_weeks']:,}   (goal < {goals['unplanted_flagged']:.0%})")
    met = (summary["coverage"] >= goals["coverage"] and summary["false_lift"] <= goals["false_lift"]
           and summary["placebo_contains_zero"] >= goals["placebo_contains_zero"]
           and an["unplanted_flagged_share"] < goals["unplanted_flagged"])
    print("all goals met" if met else "NOT all goals met")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "summary": summary, "campaigns": camps.to_dict("records"), "placebos": placebos.to_dict("records"),
        }, indent=2, default=str))
    return 0
