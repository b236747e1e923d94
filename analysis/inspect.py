#!/usr/bin/env python3
"""Show what a ferret HDF5 file holds: kind, root attributes (config as text), every dataset.

usage: inspect.py FILE.h5     (a metrics.h5 or a checkpoints/round_NNNNNN.h5)
"""
# analysis/ holds a script named inspect.py, which would shadow the standard library's `inspect`
# for every script here: search this folder last, not first.
import os
import sys
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _HERE] + [_HERE]

import argparse
import sys

import h5py

from ferret_h5 import BadInput, _attr, main_guard, open_h5
from pathlib import Path


def describe(path: Path) -> None:
    with open_h5(path) as f:
        kind = "checkpoint" if "params" in f else "metrics" if "rounds" in f else None
        if kind is None:
            raise BadInput(f"'{path}' is not a ferret metrics file or checkpoint")
        print(f"{path}: ferret {kind}")
        for name, value in sorted(f.attrs.items()):
            value = _attr(value)
            if name == "config":
                print("config:\n  " + str(value).rstrip().replace("\n", "\n  "))
            else:
                print(f"{name} = {value}")
        datasets = []
        f.visititems(lambda n, o: datasets.append((n, o)) if isinstance(o, h5py.Dataset) else None)
        for name, d in datasets:
            print(f"/{name}  shape={d.shape}  dtype={d.dtype}")
        if kind == "checkpoint":
            total = sum(f["params"][n].size for n in f["params"])
            print(f"parameters: {len(f['params'])} tensors, {total} elements")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    args = ap.parse_args()
    return main_guard(lambda: describe(Path(args.file)) or 0)


if __name__ == "__main__":
    sys.exit(main())
