#!/usr/bin/env python3
"""Plot one or more runs on shared figures: loss and Rouge-L per round, traffic vs loss, time split.

usage: plot_run.py RUN_DIR... [--out DIR] [--labels a,b,...]

Writes into DIR (default: the current folder) and prints each path:
  loss_rouge.png     eval loss per round (round 0 = before training) and Rouge-L per evaluated
                     round (rounds where it is NaN, i.e. not evaluated, are left out)
  bytes_vs_loss.png  eval loss after each round against the cumulative payload bytes (up + down)
                     sent up to that round, log x
  time_split.png     per round, stacked bars of local / project / comm / reconstruct seconds, one
                     panel per run (shared y); a black tick marks time_round. Every part is a max
                     over ranks, so the stack can exceed the round's wall time.
  epsilon_vs_loss.png  only when a run used --dp-clip: eval loss after each round against the ε
                     spent by then (/rounds/dp_epsilon), one line per private run
Legend entries: --labels (one per run, comma-separated), else "algorithm K=k".
"""
# analysis/ holds a script named inspect.py, which would shadow the standard library's `inspect`
# for every script here: search this folder last, not first.
import os
import sys
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _HERE] + [_HERE]
# ferret keeps metrics.h5 open while it runs: read it without HDF5's file locks (before h5py loads).
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")

from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from ferret_h5 import TIME_PARTS, BadInput, load_run, main_guard, runs_parser  # noqa: E402

DPI = 110
PART_COLORS = {"time_local": "tab:blue", "time_project": "tab:orange", "time_comm": "tab:green",
               "time_reconstruct": "tab:red"}


def _pyplot():
    """matplotlib.pyplot with the Agg backend, imported on first use (bad input is answered
    before paying for the import)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: Path, layout: bool = True) -> Path:
    if layout:
        fig.tight_layout()
    try:
        fig.savefig(path, dpi=DPI)
    except OSError as e:
        raise BadInput(f"cannot write '{path}': {e.strerror or e}") from None
    finally:
        _pyplot().close(fig)
    return path


def plot_loss_rouge(runs, labels, out: Path) -> Path:
    """loss_rouge.png: eval loss per round (left), Rouge-L per evaluated round (right)."""
    plt = _pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for run, label in zip(runs, labels):
        rounds = np.arange(len(run.eval_loss))
        ok = ~np.isnan(run.eval_loss)
        line, = a.plot(rounds[ok], run.eval_loss[ok], marker="o", ms=3, label=label)
        rl = run.rounds["rouge_l"]
        rounds = np.arange(1, len(rl) + 1)
        ok = ~np.isnan(rl)
        b.plot(rounds[ok], rl[ok], marker="s", color=line.get_color(), label=label)
    a.set(xlabel="round (0 = before training)", ylabel="eval loss (nats per response token)", title="eval loss")
    b.set(xlabel="round", ylabel="Rouge-L F", title="Rouge-L (evaluated rounds only)")
    for ax in (a, b):
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend()
    return _save(fig, out / "loss_rouge.png")


def plot_bytes_vs_loss(runs, labels, out: Path) -> Path:
    """bytes_vs_loss.png: eval loss after round r against the bytes sent in rounds 1..r (log x)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for run, label in zip(runs, labels):
        cumulative = np.cumsum(run.bytes_per_round())
        loss = run.eval_loss[1:]
        ok = ~np.isnan(loss) & (cumulative > 0)  # log x: a round that sent nothing has no place
        ax.plot(cumulative[ok], loss[ok], marker="o", ms=3, label=label)
    ax.set_xscale("log")
    ax.set(xlabel="cumulative payload bytes, up + down (log scale)", ylabel="eval loss after the round",
           title="traffic vs eval loss")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return _save(fig, out / "bytes_vs_loss.png")


def plot_epsilon_vs_loss(runs, labels, out: Path):
    """epsilon_vs_loss.png: eval loss after round r against ε after round r, for private runs;
    None when no run accounted privacy."""
    private = [(run, label) for run, label in zip(runs, labels) if np.isfinite(run.rounds["dp_epsilon"]).any()]
    if not private:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for run, label in private:
        eps, loss = run.rounds["dp_epsilon"], run.eval_loss[1:]
        ok = np.isfinite(eps) & ~np.isnan(loss)
        ax.plot(eps[ok], loss[ok], marker="o", ms=3, label=label)
    delta = ", ".join(sorted({_config_value(run, "dp-delta") for run, _ in private}))
    ax.set(xlabel=f"epsilon spent (delta = {delta})", ylabel="eval loss after the round", title="privacy vs eval loss")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, out / "epsilon_vs_loss.png")


def _config_value(run, key: str) -> str:
    for line in run.attrs["config"].splitlines():
        if line.split("=", 1)[0].strip() == key:
            return line.split("=", 1)[1].strip()
    return "?"


def plot_time_split(runs, labels, out: Path) -> Path:
    """time_split.png: one panel per run, per-round stacked seconds of each part."""
    plt = _pyplot()
    n = len(runs)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows + 0.4), squeeze=False, sharey=True)
    for ax, run, label in zip(axes.flat, runs, labels):
        rounds = np.arange(1, run.num_rounds + 1)
        bottom = np.zeros(run.num_rounds)
        for part in TIME_PARTS:
            ax.bar(rounds, run.rounds[part], bottom=bottom, color=PART_COLORS[part], label=part[len("time_"):])
            bottom += run.rounds[part]
        ax.plot(rounds, run.rounds["time_round"], "k_", ms=14, mew=2, label="round (wall)")
        ax.set(xlabel="round", title=label)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3, axis="y")
    for ax in axes[:, 0]:
        ax.set_ylabel("seconds (max over ranks)")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=len(names), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.1 / rows, 1, 1))  # room for the legend below the panels
    return _save(fig, out / "time_split.png", layout=False)


def legend_labels(runs, labels_arg: str | None) -> list[str]:
    if labels_arg is not None:
        labels = [s.strip() for s in labels_arg.split(",")]
        if len(labels) != len(runs):
            raise BadInput(f"--labels has {len(labels)} entries for {len(runs)} runs")
        return labels
    labels = [r.label for r in runs]
    repeated = Counter(labels)
    # Two runs of the same algorithm and K: tell them apart by their folder.
    return [f"{lab} ({r.run_dir.name})" if repeated[lab] > 1 else lab for lab, r in zip(labels, runs)]


def plot(run_args, out_arg: str, labels_arg: str | None) -> int:
    runs = [load_run(r) for r in run_args]
    labels = legend_labels(runs, labels_arg)
    out = Path(out_arg)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadInput(f"cannot create output folder '{out}': {e.strerror}") from None
    for path in (plot_loss_rouge(runs, labels, out), plot_bytes_vs_loss(runs, labels, out),
                 plot_time_split(runs, labels, out), plot_epsilon_vs_loss(runs, labels, out)):
        if path is not None:
            print(path)
    return 0


def main() -> int:
    ap = runs_parser(__doc__)
    ap.add_argument("--out", default=".", metavar="DIR", help="folder for the PNGs (created; default: .)")
    ap.add_argument("--labels", metavar="A,B,...", help="legend entries, one per run")
    args = ap.parse_args()
    return main_guard(lambda: plot(args.runs, args.out, args.labels))


if __name__ == "__main__":
    sys.exit(main())
