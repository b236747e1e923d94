"""Reading ferret's HDF5 outputs (the schema in README.md), shared by the analysis scripts."""
import os
import sys
from dataclasses import dataclass
from pathlib import Path

# ferret keeps metrics.h5 open while it runs; without this a live run's file cannot be read.
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")
import h5py  # noqa: E402
import numpy as np  # noqa: E402

SCHEMA_VERSION = 1
ROUND_DATASETS = ("train_loss", "rouge_l", "bytes_up", "bytes_down", "bytes_control", "participants",
                  "senders", "time_local", "time_project", "time_comm", "time_reconstruct", "time_round")


class BadInput(Exception):
    """A file that is missing or not what the schema says; the message is one line."""


@dataclass
class Run:
    path: Path
    attrs: dict
    eval_loss: np.ndarray  # R + 1 entries, [0] = before training
    rounds: dict           # name -> array of R entries
    coefficients: np.ndarray | None

    @property
    def label(self) -> str:
        k = f" K={self.attrs['k']}" if self.attrs["algorithm"] == "ferret" else ""
        return f"{self.attrs['algorithm']}{k}"

    @property
    def num_rounds(self) -> int:
        return len(self.rounds["train_loss"])

    def bytes_per_round(self) -> np.ndarray:
        return self.rounds["bytes_up"].astype(np.float64) + self.rounds["bytes_down"]


def metrics_path(run: str) -> Path:
    p = Path(run)
    return p / "metrics.h5" if p.is_dir() else p


def open_h5(path: Path) -> h5py.File:
    if not path.exists():
        raise BadInput(f"'{path}' does not exist")
    try:
        return h5py.File(path, "r")
    except OSError:
        raise BadInput(f"'{path}' is not an HDF5 file") from None


def _attr(value):
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def load_run(run: str) -> Run:
    path = metrics_path(run)
    with open_h5(path) as f:
        if "rounds" not in f:
            raise BadInput(f"'{path}' is not a ferret metrics file (no /rounds group)")
        version = f.attrs.get("schema_version")
        if version is None or int(version) != SCHEMA_VERSION:
            raise BadInput(f"'{path}' has schema_version {version}; these scripts read {SCHEMA_VERSION}")
        missing = [n for n in ("eval_loss",) + ROUND_DATASETS if n not in f["rounds"]]
        if missing:
            raise BadInput(f"'{path}' lacks /rounds/{missing[0]}")
        attrs = {k: _attr(v) for k, v in f.attrs.items()}
        rounds = {n: f["rounds"][n][:] for n in ROUND_DATASETS}
        coeff = f["coefficients"][:] if "coefficients" in f else None
        return Run(path, attrs, f["rounds"]["eval_loss"][:], rounds, coeff)


def main_guard(fn):
    """Runs fn(); a BadInput becomes one line on stderr and exit status 2."""
    try:
        return fn()
    except BadInput as e:
        print(f"{Path(sys.argv[0]).name}: {e}", file=sys.stderr)
        return 2
