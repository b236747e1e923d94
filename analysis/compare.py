#!/usr/bin/env python3
"""Compare runs like the Ferret paper's cost table: time and bytes per round, rounds to a target.

usage: compare.py RUN_DIR... [--baseline RUN_DIR] [--target-loss X] [--format md|csv]

Per run: mean per-round local, aggregation (project + comm + reconstruct) and overall seconds,
bytes per round (up + down), total bytes, the first round whose eval loss is <= the target
(default: the highest final eval loss among the runs, a loss every run reaches), final eval loss
and final Rouge-L, and the baseline's bytes and overall time divided by the run's (default
baseline: the first fedavg run, else the first run).
"""
# analysis/ holds a script named inspect.py, which would shadow the standard library's `inspect`
# for every script here: search this folder last, not first.
import os
import sys
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _HERE] + [_HERE]

import argparse
import math
import sys

import numpy as np

from ferret_h5 import load_run, main_guard


def rounds_to_target(eval_loss: np.ndarray, target: float):
    """First round r >= 1 with eval_loss[r] <= target (eval_loss[0] is before training), else None."""
    hits = np.nonzero(eval_loss[1:] <= target)[0]
    return int(hits[0]) + 1 if hits.size else None


def last_evaluated(values: np.ndarray) -> float:
    ok = values[~np.isnan(values)]
    return float(ok[-1]) if ok.size else math.nan


def table(runs, baseline, target):
    base_bytes = baseline.bytes_per_round().mean()
    base_time = baseline.rounds["time_round"].mean()
    rows = []
    for run in runs:
        r = run.rounds
        bpr = run.bytes_per_round().mean()
        overall = r["time_round"].mean()
        reach = rounds_to_target(run.eval_loss, target)
        rows.append({
            "run": str(run.path.parent),
            "algorithm": run.attrs["algorithm"],
            "K": run.attrs["k"],
            "d": run.attrs["num_params"],
            "rounds": run.num_rounds,
            "local_s": r["time_local"].mean(),
            "aggregation_s": (r["time_project"] + r["time_comm"] + r["time_reconstruct"]).mean(),
            "overall_s": overall,
            "bytes_per_round": bpr,
            "total_bytes": float(run.bytes_per_round().sum()),
            "rounds_to_target": reach if reach is not None else "—",
            "final_eval_loss": float(run.eval_loss[-1]),
            "final_rouge_l": last_evaluated(r["rouge_l"]),
            "bytes_ratio_vs_baseline": base_bytes / bpr,
            "time_ratio_vs_baseline": base_time / overall,
        })
    return rows


def fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--baseline")
    ap.add_argument("--target-loss", type=float)
    ap.add_argument("--format", choices=("md", "csv"), default="md")
    args = ap.parse_args()

    def go():
        runs = [load_run(r) for r in args.runs]
        if args.baseline:
            baseline = load_run(args.baseline)
        else:
            baseline = next((r for r in runs if r.attrs["algorithm"] == "fedavg"), runs[0])
        target = args.target_loss if args.target_loss is not None else max(float(r.eval_loss[-1]) for r in runs)
        rows = table(runs, baseline, target)
        cols = list(rows[0])
        if args.format == "csv":
            print(",".join(cols))
            for row in rows:
                print(",".join(fmt(row[c]) for c in cols))
        else:
            print(f"target eval loss {target:.4f}; baseline {baseline.path.parent}\n")
            print("| " + " | ".join(cols) + " |")
            print("|" + "---|" * len(cols))
            for row in rows:
                print("| " + " | ".join(fmt(row[c]) for c in cols) + " |")
        return 0

    return main_guard(go)


if __name__ == "__main__":
    sys.exit(main())
