#!/usr/bin/env python3
"""Show what a ferret HDF5 file holds: its kind, root attributes, every dataset's shape and type.

usage: inspect.py FILE.h5    (RUN/metrics.h5, a run directory, or RUN/checkpoints/round_NNNNNN.h5)

Prints "FILE: ferret metrics" or "FILE: ferret checkpoint", then the root attributes (sorted; the
stored config text as-is between "config:" and "end of config"), then every dataset as
"/path  shape=(...)  dtype=...", for a metrics file whose run was resumed with changed options one
"from round N: key old -> new, ..." line per change (/config_history), and for a checkpoint the number of parameter tensors in /params
and their total number of elements.
"""
# This file shadows the standard library's `inspect` for scripts in this folder: keep this folder
# last on sys.path (python puts it first), so imports below find the real one.
import os
import sys
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _HERE] + [_HERE]
# ferret keeps metrics.h5 open while it runs: read it without HDF5's file locks (before h5py loads).
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")

import argparse  # noqa: E402

import h5py  # noqa: E402

from ferret_h5 import (BadInput, attr_value, check_checkpoint, file_kind, load_run, main_guard,  # noqa: E402
                       metrics_path, one_line, open_h5)


def ini_values(text: str) -> dict:
    """key -> value of the `key = value` lines of a stored configuration."""
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line and not line.lstrip().startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


# How a run was launched, not what it computes: left out of the change lines.
LAUNCH_KEYS = ("out", "overwrite", "resume")


def config_changes(history) -> list:
    """One 'from round N: key old -> new, ...' line per configuration after the first."""
    lines = []
    for (_, before), (start, after) in zip(history, history[1:]):
        a, b = ini_values(before), ini_values(after)
        diff = [f"{k} {a.get(k, '(unset)')} -> {b.get(k, '(unset)')}" for k in sorted(a.keys() | b.keys())
                if a.get(k) != b.get(k) and k not in LAUNCH_KEYS]
        lines.append(f"from round {start}: " + (", ".join(diff) or "no option changed"))
    return lines


def describe(path) -> int:
    path = metrics_path(path)
    with open_h5(path) as f:
        kind = file_kind(f)
    history = load_run(path).config_history if kind == "metrics" else []  # load_run checks the layout
    with open_h5(path) as f:
        if kind == "checkpoint":
            check_checkpoint(f)
        try:
            print(f"{path}: ferret {kind}")
            for name in sorted(f.attrs):
                value = attr_value(f.attrs[name])
                if name == "config":
                    text = str(value)
                    print("config:")
                    print(text, end="" if text.endswith("\n") else "\n")
                    print("end of config")
                else:
                    print(f"{name} = {value}")
            datasets = []
            f.visititems(lambda n, o: datasets.append((n, o)) if isinstance(o, h5py.Dataset) else None)
            for name, d in datasets:
                print(f"/{name}  shape={d.shape}  dtype={d.dtype}")
            for line in config_changes(history):
                print(line)
            if kind == "checkpoint":
                tensors = [o for o in f["params"].values() if isinstance(o, h5py.Dataset)]
                total = sum(t.size for t in tensors)
                print(f"parameters: {len(tensors)} tensors in /params, {total} elements")
        except BrokenPipeError:  # `inspect.py FILE | head`: main_guard stops quietly
            raise
        except (OSError, KeyError, ValueError) as e:  # a damaged file
            raise BadInput(f"'{path}' cannot be read: {one_line(e)}") from None
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[4:]))
    ap.add_argument("file", metavar="FILE.h5", help="a metrics.h5 (or its run directory) or a checkpoint")
    args = ap.parse_args()
    return main_guard(lambda: describe(args.file))


if __name__ == "__main__":
    sys.exit(main())
