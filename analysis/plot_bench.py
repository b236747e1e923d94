#!/usr/bin/env python3
"""Render a ferret-bench result file (HDF5) as PNGs and print its tables.

usage: plot_bench.py BENCH_H5 [--out DIR]

Writes into DIR (default: the current folder) and prints each path:
  bench_throughput.png  basis elements per second of ours (solid) and of the naive LibTorch way
                        (dashed, where measured) against K, one panel per (operation, basis); one
                        line per (d, L) at the most threads measured
  bench_floor.png       floor_fraction (streaming read+write of d floats / our time) against K_l
                        = K / L, one panel per operation; the dotted line is the issue's target 1/3
  bench_rounds.png      per-round seconds stacked local / project / comm / reconstruct / eval per
                        algorithm (when the file has a rounds table)
The file is what `ferret-bench sweep|quick|rounds` writes: groups /kernels and /rounds, one 1-D
dataset per column (README, "Benchmark").
"""
import os
import sys
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _HERE] + [_HERE]
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")

import argparse  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from ferret_h5 import BadInput, main_guard, open_h5  # noqa: E402

DPI = 110
KERNEL_COLUMNS = ("op", "basis", "d", "k", "blocks", "threads", "seconds", "elements_per_s", "gb_per_s",
                  "floor_seconds", "floor_fraction", "philox_seconds", "philox_fraction", "naive_seconds",
                  "speedup_vs_naive")
ROUND_COLUMNS = ("algorithm", "ranks", "d", "k", "time_local", "time_project", "time_comm", "time_reconstruct",
                 "time_eval", "time_round", "time_wait", "bytes_up", "bytes_down", "overhead_pct")
ROUND_PARTS = ("time_local", "time_wait", "time_project", "time_comm", "time_reconstruct", "time_eval")
# Columns added after the first ferret-bench files, and what older files read as.
LATER_COLUMNS = {"time_wait": 0.0, "philox_seconds": np.nan, "philox_fraction": np.nan}


def _table(f, group: str, columns) -> dict | None:
    """{column: array} of one group, or None when the group is absent; BadInput when a column is."""
    if group not in f:
        return None
    table = {}
    for c in columns:
        if c not in f[group] and c in LATER_COLUMNS and table:
            table[c] = np.full(len(next(iter(table.values()))), LATER_COLUMNS[c])
            continue
        if c not in f[group]:
            raise BadInput(f"'{f.filename}' lacks dataset /{group}/{c} (not a ferret-bench file?)")
        data = f[group][c][()]
        table[c] = np.array([x.decode() if isinstance(x, bytes) else x for x in data]) if data.dtype.kind == "O" \
            else np.asarray(data, dtype=float)
    lengths = {len(v) for v in table.values()}
    if len(lengths) > 1:
        raise BadInput(f"'{f.filename}': the columns of /{group} have different lengths {sorted(lengths)}")
    return table


def load_bench(path) -> tuple[dict | None, dict | None, dict]:
    """(kernels, rounds, attributes) of a ferret-bench file."""
    with open_h5(Path(path)) as f:
        if "kernels" not in f and "rounds" not in f:
            raise BadInput(f"'{path}' has neither /kernels nor /rounds (not a ferret-bench file)")
        attrs = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in f.attrs.items()}
        return _table(f, "kernels", KERNEL_COLUMNS), _table(f, "rounds", ROUND_COLUMNS), attrs


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=DPI)
    except OSError as e:
        raise BadInput(f"cannot write '{path}': {e.strerror or e}") from None
    finally:
        _pyplot().close(fig)
    return path


def plot_throughput(kern: dict, out: Path) -> Path:
    plt = _pyplot()
    panels = sorted({(o, b) for o, b in zip(kern["op"], kern["basis"])})
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8), squeeze=False)
    tmax = kern["threads"].max()
    for ax, (op, basis) in zip(axes[0], panels):
        sel = (kern["op"] == op) & (kern["basis"] == basis) & (kern["threads"] == tmax)
        for d, L in sorted({(d, L) for d, L in zip(kern["d"][sel], kern["blocks"][sel])}):
            s = sel & (kern["d"] == d) & (kern["blocks"] == L)
            order = np.argsort(kern["k"][s])
            k = kern["k"][s][order]
            line, = ax.plot(k, kern["elements_per_s"][s][order], marker="o", ms=3, label=f"d={d:.0e} L={L:.0f}")
            naive = kern["naive_seconds"][s][order]
            ok = np.isfinite(naive)
            if ok.any():
                elems = kern["elements_per_s"][s][order] * kern["seconds"][s][order]
                ax.plot(k[ok], elems[ok] / naive[ok], ls="--", color=line.get_color())
        ax.set(xscale="log", yscale="log", xlabel="K", ylabel="basis elements / s",
               title=f"{op}, {basis}, {tmax:.0f} threads")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    return _save(fig, out / "bench_throughput.png")


def plot_floor(kern: dict, out: Path) -> Path:
    plt = _pyplot()
    ops = sorted(set(kern["op"]))
    fig, axes = plt.subplots(1, len(ops), figsize=(5 * len(ops), 3.8), squeeze=False)
    for ax, op in zip(axes[0], ops):
        for basis in sorted(set(kern["basis"])):
            s = (kern["op"] == op) & (kern["basis"] == basis)
            ax.scatter(kern["k"][s] / kern["blocks"][s], kern["floor_fraction"][s], s=10, label=basis)
        ax.axhline(1 / 3, ls=":", color="k")
        ax.set(xscale="log", yscale="log", xlabel="K_l = K / L", ylabel="floor seconds / our seconds", title=op)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    return _save(fig, out / "bench_floor.png")


def plot_rounds(rounds: dict, out: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    x = np.arange(len(rounds["algorithm"]))
    bottom = np.zeros(len(x))
    for part in ROUND_PARTS:
        ax.bar(x, rounds[part], bottom=bottom, label=part.removeprefix("time_"))
        bottom += rounds[part]
    ax.set_xticks(x, [f"{a}\n{u:.3g} B up" for a, u in zip(rounds["algorithm"], rounds["bytes_up"])])
    ax.set(ylabel="seconds per round", title="per-round breakdown")
    ax.legend(fontsize=8)
    return _save(fig, out / "bench_rounds.png")


def print_tables(kern, rounds, attrs) -> None:
    print(f"# {attrs.get('mode', '?')} on {attrs.get('host', '?')} ({attrs.get('cpu', '?')}, "
          f"{attrs.get('cores', '?')} cores), {attrs.get('date', '?')}, ferret {attrs.get('version', '?')}")
    if kern is not None:
        print("op basis d K L threads elements_per_s floor_fraction philox_fraction speedup_vs_naive")
        for i in range(len(kern["op"])):
            print(f"{kern['op'][i]} {kern['basis'][i]} {kern['d'][i]:.0f} {kern['k'][i]:.0f} {kern['blocks'][i]:.0f} "
                  f"{kern['threads'][i]:.0f} {kern['elements_per_s'][i]:.4g} {kern['floor_fraction'][i]:.3f} "
                  f"{kern['philox_fraction'][i]:.3f} "
                  f"{kern['speedup_vs_naive'][i]:.1f}")
    if rounds is not None:
        print("algorithm local wait project comm reconstruct eval bytes_up overhead_pct")
        for i in range(len(rounds["algorithm"])):
            print(" ".join([rounds["algorithm"][i]] + [f"{rounds[p][i]:.4g}" for p in ROUND_PARTS] +
                           [f"{rounds['bytes_up'][i]:.0f}", f"{rounds['overhead_pct'][i]:.2f}"]))


def run(path: str, out: str) -> int:
    kern, rounds, attrs = load_bench(path)
    print_tables(kern, rounds, attrs)
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadInput(f"cannot create output folder '{out}': {e.strerror}") from None
    if kern is not None and len(kern["op"]):
        print(plot_throughput(kern, out))
        print(plot_floor(kern, out))
    if rounds is not None and len(rounds["algorithm"]):
        print(plot_rounds(rounds, out))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[2:]))
    ap.add_argument("bench", metavar="BENCH_H5", help="a file written by ferret-bench")
    ap.add_argument("--out", default=".", metavar="DIR", help="folder for the PNGs (created; default: .)")
    args = ap.parse_args()
    return main_guard(lambda: run(args.bench, args.out))


if __name__ == "__main__":
    sys.exit(main())
