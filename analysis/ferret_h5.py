"""Reading ferret's HDF5 outputs (the schema in README.md, "Output: HDF5 schema"), shared by the
analysis scripts.

    from ferret_h5 import load_run, main_guard
    run = load_run("runs/demo")          # a run directory or its metrics.h5
    run.eval_loss, run.rounds["bytes_up"], run.attrs["k"], run.label

Everything that is not what the schema says raises BadInput with a one-line message naming the
file; main_guard turns it into that line on stderr and exit status 2.
"""
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# ferret keeps metrics.h5 open while it runs; without this a live run's file cannot be read.
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")
import h5py  # noqa: E402
import numpy as np  # noqa: E402

SCHEMA_VERSION = 5             # metrics.h5 root attribute schema_version written by this ferret
# Older schemas these scripts still read, and the datasets they lack (read as NaN); 3 lacks
# /config_history too (read as the one configuration in /config).
OLDER_SCHEMAS = {4: ("dp_epsilon",), 3: ("dp_epsilon",), 2: ("time_wait", "dp_epsilon")}
CHECKPOINT_FORMAT_VERSION = 1  # checkpoint root attribute format_version
RUN_ATTRIBUTES = ("algorithm", "k", "num_clients", "ranks", "rounds", "seed", "num_params", "num_blocks",
                  "config", "version")
CHECKPOINT_ATTRIBUTES = ("round", "seed", "algorithm", "config", "params_checksum", "server_checksum",
                         "format_version")
# /rounds/* with R entries (eval_loss, with R + 1, is read separately).
ROUND_DATASETS = ("train_loss", "rouge_l", "bytes_up", "bytes_down", "bytes_control", "participants",
                  "senders", "time_local", "time_project", "time_comm", "time_reconstruct", "time_round",
                  "time_eval", "time_wait", "dp_epsilon")
TIME_PARTS = ("time_local", "time_project", "time_comm", "time_reconstruct")


class BadInput(Exception):
    """A file that is missing or not what the schema says; the message is one line."""


class _UnreadableNow(BadInput):
    """HDF5 could not read the file: damage, or a writer between two flushes (load_run retries)."""


@dataclass
class Run:
    """One run's metrics.h5: root attributes and the /rounds datasets (R = rounds completed)."""
    path: Path             # the metrics.h5 file
    attrs: dict            # root attributes, strings decoded, numbers as Python ints
    eval_loss: np.ndarray  # R + 1 entries, [0] = before training
    rounds: dict           # name in ROUND_DATASETS -> array of R entries
    config_history: list = None  # [(from_round, INI text)]: the configuration in effect from that round

    def config_at(self, round_number: int) -> str:
        """The configuration round `round_number` (1-based) ran with (a resume may change options)."""
        history = self.config_history or [(1, self.attrs["config"])]
        return [text for start, text in history if start <= max(round_number, 1)][-1]

    @property
    def run_dir(self) -> Path:
        return self.path.parent

    @property
    def label(self) -> str:
        """'ferret K=4096' / 'fedavg': the default legend entry."""
        k = f" K={self.attrs['k']}" if self.attrs["k"] else ""
        return f"{self.attrs['algorithm']}{k}"

    @property
    def num_rounds(self) -> int:
        return len(self.rounds["train_loss"])

    def bytes_per_round(self) -> np.ndarray:
        """Payload bytes up + down of each round (float64, R entries)."""
        return self.rounds["bytes_up"].astype(np.float64) + self.rounds["bytes_down"].astype(np.float64)

    def aggregation_time(self) -> np.ndarray:
        """project + comm + reconstruct seconds of each round."""
        r = self.rounds
        return r["time_project"] + r["time_comm"] + r["time_reconstruct"]


def metrics_path(run) -> Path:
    """RUN_DIR -> RUN_DIR/metrics.h5; a file path is kept."""
    p = Path(run)
    return p / "metrics.h5" if p.is_dir() else p


def open_h5(path: Path) -> h5py.File:
    """Opens an existing HDF5 file read-only, or raises BadInput saying why not."""
    path = Path(path)
    if not path.exists():
        raise BadInput(f"'{path}' does not exist")
    if not path.is_file():
        raise BadInput(f"'{path}' is not a regular file")
    try:
        is_hdf5 = h5py.is_hdf5(path)
    except OSError as e:
        raise _UnreadableNow(f"'{path}' cannot be read: {one_line(e)}") from None
    if not is_hdf5:
        raise BadInput(f"'{path}' is not an HDF5 file")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise _UnreadableNow(f"'{path}' cannot be opened as HDF5: {one_line(e)}") from None


def one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def attr_value(value):
    """An HDF5 attribute as a plain Python value (str, int, float; arrays stay numpy)."""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def file_kind(f: h5py.File) -> str:
    """'metrics' or 'checkpoint', after checking the version attribute; BadInput otherwise."""
    if isinstance(f.get("params"), h5py.Group):
        version = f.attrs.get("format_version")
        if version is None:
            raise BadInput(f"'{f.filename}' has /params but no format_version attribute (not a ferret checkpoint)")
        if attr_value(version) != CHECKPOINT_FORMAT_VERSION:
            raise BadInput(f"'{f.filename}' is a checkpoint of format_version {attr_value(version)}; "
                           f"these scripts read {CHECKPOINT_FORMAT_VERSION}")
        return "checkpoint"
    if isinstance(f.get("rounds"), h5py.Group):
        version = f.attrs.get("schema_version")
        if version is None:
            raise BadInput(f"'{f.filename}' has no schema_version attribute (not a ferret metrics file)")
        if attr_value(version) != SCHEMA_VERSION and attr_value(version) not in OLDER_SCHEMAS:
            readable = ", ".join(str(v) for v in sorted([SCHEMA_VERSION, *OLDER_SCHEMAS]))
            raise BadInput(f"'{f.filename}' has schema_version {attr_value(version)}; these scripts read {readable}")
        return "metrics"
    raise BadInput(f"'{f.filename}' is not a ferret metrics file or checkpoint (no /rounds or /params group)")


def _completed_rounds(f: h5py.File, names) -> int:
    """Rounds every /rounds dataset holds. ferret appends a round dataset by dataset (eval_loss
    first), so a file read while its run is going may hold one more entry in some of them: that
    round is not complete yet and is left out. Any other difference means a damaged file."""
    lengths, extra = {}, {}  # entries held; entries beyond the rounds (eval_loss: the one before training)
    for name in names:
        obj = f.get(f"/rounds/{name}")
        if not isinstance(obj, h5py.Dataset):
            raise BadInput(f"'{f.filename}' lacks dataset /rounds/{name}")
        if obj.ndim != 1:
            raise BadInput(f"'{f.filename}' dataset /rounds/{name} has shape {obj.shape}, expected 1-D")
        lengths[name], extra[name] = obj.shape[0], 1 if name == "eval_loss" else 0
    r = max(min(lengths[n] - extra[n] for n in names), 0)
    for name in names:
        if lengths[name] - extra[name] not in (r, r + 1):
            raise BadInput(f"'{f.filename}' dataset /rounds/{name} has shape ({lengths[name]},), "
                           f"expected ({r + extra[name]},)")
    return r


def load_run(run, attempts: int = 5) -> Run:
    """Reads a run directory or metrics.h5 (only what the schema documents) into a Run. A run in
    progress reads as its completed rounds; a read that fails is tried again (`attempts` in all,
    0.1 s apart), since ferret may be mid-flush: only a failure that lasts means damage."""
    path = metrics_path(run)
    for _ in range(attempts - 1):
        try:
            return _load_run_once(path)
        except _UnreadableNow:
            time.sleep(0.1)
    return _load_run_once(path)


def _load_run_once(path: Path) -> Run:
    with open_h5(path) as f:
        try:
            if not isinstance(f.get("rounds"), h5py.Group) and not isinstance(f.get("params"), h5py.Group):
                raise BadInput(f"'{path}' is not a ferret metrics file (no /rounds group)")
            if file_kind(f) != "metrics":
                raise BadInput(f"'{path}' is a checkpoint, not a metrics file")
            missing = [a for a in RUN_ATTRIBUTES if a not in f.attrs]
            if missing:
                raise BadInput(f"'{path}' lacks root attribute '{missing[0]}'")
            attrs = {k: attr_value(v) for k, v in f.attrs.items()}
            absent = OLDER_SCHEMAS.get(attrs.get("schema_version"), ())
            present = [n for n in ROUND_DATASETS if n not in absent]
            r = _completed_rounds(f, ["eval_loss", *present])
            rounds = {name: np.full(r, np.nan) if name in absent else f[f"/rounds/{name}"][:r] for name in ROUND_DATASETS}
            eval_loss = f["/rounds/eval_loss"][: r + 1].astype(np.float64)
            history = _config_history(f, attrs["config"])
        except (OSError, KeyError, ValueError, TypeError) as e:  # a damaged file, or one mid-write
            raise _UnreadableNow(f"'{path}' cannot be read: {one_line(e)}") from None
    return Run(path, attrs, eval_loss, rounds, history)


def _config_history(f: h5py.File, initial: str) -> list:
    """/config_history's from_round_NNNNNN attributes as [(round, text)] by round (schema 3: /config)."""
    group = f.get("config_history")
    if group is None:
        return [(1, initial)]
    history = []
    for name, value in group.attrs.items():
        digits = name[len("from_round_"):] if name.startswith("from_round_") else ""
        if not digits.isdigit():
            raise BadInput(f"'{f.filename}' has an unexpected attribute /config_history/{name} (allowed: from_round_NNNNNN)")
        history.append((int(digits), attr_value(value)))
    return sorted(history)


def check_checkpoint(f: h5py.File) -> None:
    """Checks a checkpoint's layout (attributes, /params tensors with `index`, /server); BadInput
    if something is missing. The data itself is not read."""
    missing = [a for a in CHECKPOINT_ATTRIBUTES if a not in f.attrs]
    if missing:
        raise BadInput(f"'{f.filename}' lacks root attribute '{missing[0]}'")
    for name, obj in f["params"].items():
        if not isinstance(obj, h5py.Dataset):
            raise BadInput(f"'{f.filename}' /params/{name} is not a dataset")
        if "index" not in obj.attrs:
            raise BadInput(f"'{f.filename}' dataset /params/{name} lacks attribute 'index'")
    for name in ("/server/momentum", "/server/extra"):
        if not isinstance(f.get(name), h5py.Dataset):
            raise BadInput(f"'{f.filename}' lacks dataset {name}")


def first_round_reaching(eval_loss: np.ndarray, target: float) -> int | None:
    """First round r >= 1 with eval_loss[r] <= target (eval_loss[0], before training, never
    counts; NaN never reaches), or None."""
    if target is None or math.isnan(target):
        return None
    hits = np.nonzero(np.asarray(eval_loss, dtype=np.float64)[1:] <= target)[0]
    return int(hits[0]) + 1 if hits.size else None


def last_finite(values: np.ndarray) -> float:
    """The last non-NaN entry (e.g. the final evaluated Rouge-L), NaN if there is none."""
    values = np.asarray(values, dtype=np.float64)
    ok = values[~np.isnan(values)]
    return float(ok[-1]) if ok.size else math.nan


def mean_or_nan(values: np.ndarray) -> float:
    """Mean without numpy's warning for a run with no rounds yet."""
    return float(np.mean(values)) if len(values) else math.nan


def main_guard(fn) -> int:
    """Runs fn(); a BadInput becomes one line on stderr and exit status 2."""
    try:
        return fn()
    except BadInput as e:
        print(f"{Path(sys.argv[0]).name}: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `script | head`: stop quietly (as the Python docs advise)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def runs_parser(doc: str):
    """An argument parser for a script over run directories: its docstring as help, RUN_DIR... first."""
    import argparse
    ap = argparse.ArgumentParser(description=doc.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(doc.splitlines()[4:]))
    ap.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories (or their metrics.h5)")
    return ap
