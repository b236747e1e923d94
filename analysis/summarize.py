#!/usr/bin/env python3
"""Print a run's metrics.h5 as a table, and optionally plot eval loss per round.

usage: summarize.py RUN/metrics.h5 [--plot out.png]
"""
import argparse
import os
import sys

# ferret keeps metrics.h5 open while it runs; without this a live run's file cannot be read.
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")
import h5py  # noqa: E402
import numpy as np  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("metrics", help="path of a metrics.h5 written by ferret")
    ap.add_argument("--plot", help="write eval/train loss per round to this PNG")
    args = ap.parse_args()
    try:
        f = h5py.File(args.metrics, "r")
    except OSError as e:
        print(f"summarize: cannot open '{args.metrics}': {e}", file=sys.stderr)
        return 2
    with f:
        a = f.attrs
        print(f"{a['algorithm']}  K={a['k']}  clients={a['num_clients']}  ranks={a['ranks']}  "
              f"d={a['num_params']}  seed={a['seed']}  version={a['version']}")
        r = f["rounds"]
        ev, tr, rl = r["eval_loss"][:], r["train_loss"][:], r["rouge_l"][:]
        up, down, t = r["bytes_up"][:], r["bytes_down"][:], r["time_round"][:]
        print(f"{'round':>5} {'eval':>8} {'train':>8} {'rougeL':>7} {'up B':>10} {'down B':>10} {'s':>6}")
        print(f"{0:>5} {ev[0]:8.4f}")
        for i in range(len(tr)):
            rouge = "" if np.isnan(rl[i]) else f"{rl[i]:.3f}"
            print(f"{i + 1:>5} {ev[i + 1]:8.4f} {tr[i]:8.4f} {rouge:>7} {up[i]:>10} {down[i]:>10} {t[i]:6.2f}")
        print(f"total bytes up {int(up.sum())}, down {int(down.sum())}; time {t.sum():.1f} s")
        if args.plot:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            fig, ax = plt.subplots(figsize=(6, 4))
            ax.plot(range(len(ev)), ev, marker="o", label="eval loss")
            ax.plot(range(1, len(tr) + 1), tr, marker=".", label="train loss")
            ax.set_xlabel("round")
            ax.set_ylabel("loss (nats/token)")
            ax.set_title(f"{a['algorithm']} K={a['k']} d={a['num_params']}")
            ax.legend()
            fig.tight_layout()
            fig.savefig(args.plot, dpi=120)
            print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
