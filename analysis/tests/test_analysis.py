"""Tests of analysis/ on HDF5 files from real short ferret runs (ferret and fedavg, 2 ranks)."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ANALYSIS = Path(__file__).resolve().parents[1]
REPO = ANALYSIS.parent
FERRET = Path(os.environ.get("FERRET_BINARY", REPO / "build" / "ferret"))
sys.path.append(str(ANALYSIS))

from ferret_h5 import load_run  # noqa: E402
from compare import rounds_to_target  # noqa: E402

pytestmark = pytest.mark.skipif(not FERRET.exists(), reason=f"{FERRET} not built (run scripts/setup.sh)")
TINY = ["--config", str(REPO / "configs" / "demo.ini"), "--rounds", "3", "--num-clients", "4", "--eval-every", "2",
        "--checkpoint-every", "1", "--train-per-client", "32", "--eval-samples", "16", "--rouge-samples", "2",
        "--max-new-tokens", "4", "--hidden-size", "32", "--layers", "1", "--intermediate-size", "64", "--k", "512"]


def script(name, *args):
    return subprocess.run([sys.executable, str(ANALYSIS / name), *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    out = {}
    for algorithm in ("ferret", "fedavg"):
        out[algorithm] = base / algorithm
        subprocess.run(["mpirun", "-np", "2", "--oversubscribe", str(FERRET), *TINY, "--algorithm", algorithm,
                        "--out", str(out[algorithm])], check=True, env=env, capture_output=True)
    return out


def test_load_run_reads_the_schema(runs):
    run = load_run(runs["ferret"])
    assert run.num_rounds == 3 and len(run.eval_loss) == 4
    assert run.coefficients.shape == (3, 512)
    assert run.attrs["algorithm"] == "ferret" and run.attrs["k"] == 512


def test_plot_run_writes_three_pngs(runs, tmp_path):
    r = script("plot_run.py", runs["ferret"], runs["fedavg"], "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    for name in ("loss_rouge.png", "bytes_vs_loss.png", "time_split.png"):
        png = tmp_path / name
        assert png.stat().st_size > 5000 and png.read_bytes()[:4] == b"\x89PNG"


def test_compare_table_matches_the_metrics(runs):
    r = script("compare.py", runs["ferret"], runs["fedavg"], "--format", "csv")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
    assert [row["algorithm"] for row in rows] == ["ferret", "fedavg"]
    assert rows[0]["K"] == "512" and rows[0]["rounds"] == "3"
    for row, name in zip(rows, ("ferret", "fedavg")):
        expected = load_run(runs[name]).bytes_per_round().mean()
        assert float(row["bytes_per_round"]) == pytest.approx(expected, rel=1e-3)
    assert float(rows[1]["bytes_ratio_vs_baseline"]) == pytest.approx(1.0)  # fedavg is the default baseline
    assert float(rows[0]["bytes_ratio_vs_baseline"]) > 10.0                 # ferret sends far less


def test_rounds_to_target():
    loss = np.array([5.0, 4.0, 3.5, 3.6, 3.0])
    assert rounds_to_target(loss, 3.5) == 2
    assert rounds_to_target(loss, 5.0) == 1  # entry 0 (before training) never counts
    assert rounds_to_target(loss, 2.0) is None


def test_inspect_shows_config_and_params(runs):
    r = script("inspect.py", runs["ferret"] / "checkpoints" / "round_000003.h5")
    assert r.returncode == 0, r.stderr
    assert "ferret checkpoint" in r.stdout and "k = 512" in r.stdout and "/params/" in r.stdout
    r = script("inspect.py", runs["fedavg"] / "metrics.h5")
    assert "ferret metrics" in r.stdout and "/rounds/eval_loss  shape=(4,)" in r.stdout


@pytest.mark.parametrize("tool", ["compare.py", "plot_run.py", "inspect.py", "summarize.py"])
def test_bad_input_is_one_line_and_exit_2(tool, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not hdf5")
    import h5py
    empty = tmp_path / "empty.h5"
    with h5py.File(empty, "w") as f:
        f.attrs["x"] = 1
    for bad, words in ((tmp_path / "missing.h5", "does not exist"), (text, "not an HDF5 file"),
                       (empty, "not a ferret")):
        r = script(tool, bad)
        assert r.returncode == 2, (tool, bad, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and words in r.stderr, r.stderr
