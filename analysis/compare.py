#!/usr/bin/env python3
"""Compare runs like the Ferret paper's cost table: time and bytes per round, rounds to a target.

usage: compare.py RUN_DIR... [--baseline RUN_DIR] [--target-loss X] [--format md|csv]

One row per run (RUN_DIR or RUN_DIR/metrics.h5):
  algorithm, K, d (trainable parameters), rounds completed;
  local_s, aggregation_s (project + comm + reconstruct), overall_s (time_round): per-round means
    of the recorded seconds (each the max over ranks, so the parts need not add up to overall_s);
  bytes_per_round (mean of bytes_up + bytes_down), total_bytes (their sum over all rounds);
  rounds_to_target: the first round whose eval loss is <= the target loss ("—" if none does;
    default target: the highest final eval loss among the runs, a loss every run reaches);
  final_eval_loss, final_rouge_l (the last evaluated one; "—" if never evaluated);
  bytes_saving_x = baseline bytes_per_round / the run's, speedup_x = baseline overall_s / the run's
    (so the baseline row has 1 and a cheaper run more than 1). The baseline is --baseline (added
    as a row if it is not among the runs), else the first fedavg run, else the first run.
"""
# analysis/ holds a script named inspect.py, which would shadow the standard library's `inspect`
# for every script here: search this folder last, not first.
import os
import sys
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _HERE] + [_HERE]
# ferret keeps metrics.h5 open while it runs: read it without HDF5's file locks (before h5py loads).
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")

import csv  # noqa: E402
import io  # noqa: E402
import math  # noqa: E402

from ferret_h5 import first_round_reaching, last_finite, load_run, main_guard, mean_or_nan, runs_parser  # noqa: E402

NEVER = "—"
COLUMNS = ("run", "algorithm", "K", "d", "rounds", "local_s", "aggregation_s", "overall_s", "bytes_per_round",
           "total_bytes", "rounds_to_target", "final_eval_loss", "final_rouge_l", "bytes_saving_x", "speedup_x")

# rounds_to_target is kept as an alias: the name the rest of analysis/ and its tests know.
rounds_to_target = first_round_reaching


def default_target(runs) -> float:
    """The highest final eval loss among the runs (NaN if no run has completed a round)."""
    finals = [final_eval_loss(r) for r in runs]
    finals = [x for x in finals if not math.isnan(x)]
    return max(finals) if finals else math.nan


def final_eval_loss(run) -> float:
    """The eval loss after the last evaluated round (NaN for a run with no round yet)."""
    return last_finite(run.eval_loss[1:])


def default_baseline(runs):
    return next((r for r in runs if r.attrs["algorithm"] == "fedavg"), runs[0])


def ratio(base: float, value: float) -> float:
    return base / value if value and not math.isnan(value) and not math.isnan(base) else math.nan


def table(runs, baseline, target: float) -> list[dict]:
    """One dict per run, keys COLUMNS; numbers stay numbers (NaN / None where undefined)."""
    base_bytes = mean_or_nan(baseline.bytes_per_round())
    base_time = mean_or_nan(baseline.rounds["time_round"])
    rows = []
    for run in runs:
        r = run.rounds
        bytes_per_round = mean_or_nan(run.bytes_per_round())
        overall = mean_or_nan(r["time_round"])
        rows.append({
            "run": str(run.run_dir),
            "algorithm": run.attrs["algorithm"],
            "K": int(run.attrs["k"]),
            "d": int(run.attrs["num_params"]),
            "rounds": run.num_rounds,
            "local_s": mean_or_nan(r["time_local"]),
            "aggregation_s": mean_or_nan(run.aggregation_time()),
            "overall_s": overall,
            "bytes_per_round": bytes_per_round,
            "total_bytes": int(r["bytes_up"].sum(dtype="u8")) + int(r["bytes_down"].sum(dtype="u8")),
            "rounds_to_target": first_round_reaching(run.eval_loss, target),
            "final_eval_loss": final_eval_loss(run),
            "final_rouge_l": last_finite(r["rouge_l"]),
            "bytes_saving_x": ratio(base_bytes, bytes_per_round),
            "speedup_x": ratio(base_time, overall),
        })
    return rows


def fmt_md(column: str, v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return NEVER
    if column in ("bytes_per_round", "total_bytes"):
        return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"
    if column.endswith("_x"):
        return f"{v:.2f}"
    if column.endswith("_s"):
        return f"{v:.4g}"
    if column == "final_eval_loss":
        return f"{v:.4f}"
    if column == "final_rouge_l":
        return f"{v:.3f}"
    return str(v)


def fmt_csv(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return NEVER
    return repr(v) if isinstance(v, float) else str(v)


def render(rows, fmt: str, target: float, baseline) -> str:
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows([fmt_csv(row[c]) for c in COLUMNS] for row in rows)
        return out.getvalue().rstrip("\n")
    target_text = NEVER if math.isnan(target) else f"{target:.4f}"
    lines = [f"target eval loss {target_text}; baseline {baseline.run_dir} "
             f"(bytes_saving_x, speedup_x = baseline ÷ run); seconds are per-round means", "",
             "| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join("---" if c in ("run", "algorithm") else "--:" for c in COLUMNS) + "|"]
    lines += ["| " + " | ".join(fmt_md(c, row[c]) for c in COLUMNS) + " |" for row in rows]
    return "\n".join(lines)


def compare(run_args, baseline_arg, target_loss, fmt) -> int:
    runs = [load_run(r) for r in run_args]
    if baseline_arg:
        baseline = load_run(baseline_arg)
        if all(r.path.resolve() != baseline.path.resolve() for r in runs):
            runs.insert(0, baseline)
    else:
        baseline = default_baseline(runs)
    target = target_loss if target_loss is not None else default_target(runs)
    print(render(table(runs, baseline, target), fmt, target, baseline))
    return 0


def main() -> int:
    ap = runs_parser(__doc__)
    ap.add_argument("--baseline", metavar="RUN_DIR", help="the run the ratio columns divide (default: first fedavg run)")
    ap.add_argument("--target-loss", type=float, metavar="X",
                    help="eval loss for rounds_to_target (default: highest final eval loss among the runs)")
    ap.add_argument("--format", choices=("md", "csv"), default="md", help="markdown table (default) or CSV")
    args = ap.parse_args()
    return main_guard(lambda: compare(args.runs, args.baseline, args.target_loss, args.format))


if __name__ == "__main__":
    sys.exit(main())
