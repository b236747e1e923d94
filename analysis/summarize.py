#!/usr/bin/env python3
"""Print a run's metrics.h5 as a table, and optionally plot loss and Rouge-L per round.

usage: summarize.py RUN_DIR|RUN/metrics.h5 [--plot DIR]
"""
# analysis/ holds a script named inspect.py, which would shadow the standard library's `inspect`
# for every script here: search this folder last, not first.
import os
import sys
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _HERE] + [_HERE]
# ferret keeps metrics.h5 open while it runs: read it without HDF5's file locks (before h5py loads).
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")

import argparse

import numpy as np

from ferret_h5 import load_run, main_guard


def summarize(run_path: str, plot: str | None) -> int:
    run = load_run(run_path)
    a, r = run.attrs, run.rounds
    print(f"{a['algorithm']}  K={a['k']}  clients={a['num_clients']}  ranks={a['ranks']}  "
          f"d={a['num_params']}  seed={a['seed']}  version={a['version']}")
    ev = run.eval_loss
    print(f"{'round':>5} {'eval':>8} {'train':>8} {'rougeL':>7} {'up B':>10} {'down B':>10} {'s':>6}")
    print(f"{0:>5} {ev[0]:8.4f}")
    for i in range(run.num_rounds):
        rouge = "" if np.isnan(r["rouge_l"][i]) else f"{r['rouge_l'][i]:.3f}"
        print(f"{i + 1:>5} {ev[i + 1]:8.4f} {r['train_loss'][i]:8.4f} {rouge:>7} {r['bytes_up'][i]:>10} "
              f"{r['bytes_down'][i]:>10} {r['time_round'][i]:6.2f}")
    print(f"total bytes up {int(r['bytes_up'].sum())}, down {int(r['bytes_down'].sum())}; "
          f"time {r['time_round'].sum():.1f} s")
    if plot:
        import plot_run
        from pathlib import Path
        Path(plot).mkdir(parents=True, exist_ok=True)
        print(plot_run.plot_loss_rouge([run], [run.label], Path(plot)))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("metrics", help="a run directory or its metrics.h5")
    ap.add_argument("--plot", help="also write loss_rouge.png into this folder")
    args = ap.parse_args()
    return main_guard(lambda: summarize(args.metrics, args.plot))


if __name__ == "__main__":
    sys.exit(main())
