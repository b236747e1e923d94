#!/usr/bin/env python3
"""Plot one or more runs: loss and Rouge-L per round, bytes vs loss, per-round time split.

usage: plot_run.py RUN_DIR... [--out DIR] [--labels a,b,...]
Writes DIR/loss_rouge.png, DIR/bytes_vs_loss.png, DIR/time_split.png (DIR default: .).
"""
# analysis/ holds a script named inspect.py, which would shadow the standard library's `inspect`
# for every script here: search this folder last, not first.
import os
import sys
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _HERE] + [_HERE]

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ferret_h5 import load_run, main_guard  # noqa: E402

PARTS = ("time_local", "time_project", "time_comm", "time_reconstruct")


def plot_loss_rouge(runs, labels, out: Path) -> Path:
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for run, label in zip(runs, labels):
        a.plot(np.arange(len(run.eval_loss)), run.eval_loss, marker="o", ms=3, label=label)
        rl = run.rounds["rouge_l"]
        rounds = np.arange(1, len(rl) + 1)
        ok = ~np.isnan(rl)
        b.plot(rounds[ok], rl[ok], marker="s", label=label)
    a.set(xlabel="round", ylabel="eval loss (nats/token)", title="eval loss")
    b.set(xlabel="round", ylabel="Rouge-L", title="Rouge-L (evaluated rounds)")
    a.legend()
    b.legend()
    path = out / "loss_rouge.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_bytes_vs_loss(runs, labels, out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    for run, label in zip(runs, labels):
        cumulative = np.concatenate([[0.0], np.cumsum(run.bytes_per_round())])
        ax.plot(np.maximum(cumulative, 1.0), run.eval_loss, marker="o", ms=3, label=label)
    ax.set_xscale("log")
    ax.set(xlabel="cumulative bytes (up + down, log)", ylabel="eval loss", title="traffic vs eval loss")
    ax.legend()
    path = out / "bytes_vs_loss.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_time_split(runs, labels, out: Path) -> Path:
    fig, axes = plt.subplots(1, len(runs), figsize=(5 * len(runs), 3.5), squeeze=False)
    for ax, run, label in zip(axes[0], runs, labels):
        rounds = np.arange(1, run.num_rounds + 1)
        bottom = np.zeros(run.num_rounds)
        for part in PARTS:
            ax.bar(rounds, run.rounds[part], bottom=bottom, label=part[5:])
            bottom += run.rounds[part]
        ax.set(xlabel="round", ylabel="seconds (max over ranks)", title=label)
        ax.legend(fontsize=8)
    path = out / "time_split.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--out", default=".")
    ap.add_argument("--labels")
    args = ap.parse_args()

    def go():
        runs = [load_run(r) for r in args.runs]
        labels = args.labels.split(",") if args.labels else [r.label for r in runs]
        if len(labels) != len(runs):
            print(f"plot_run.py: {len(labels)} labels for {len(runs)} runs", file=sys.stderr)
            return 2
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for path in (plot_loss_rouge(runs, labels, out), plot_bytes_vs_loss(runs, labels, out),
                     plot_time_split(runs, labels, out)):
            print(path)
        return 0

    return main_guard(go)


if __name__ == "__main__":
    sys.exit(main())
