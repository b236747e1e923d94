"""ferret-bench's fixed-form output and HDF5 file, and analysis/plot_bench.py on a real (tiny) sweep.

Needs build/ferret-bench (or $FERRET_BENCH); skipped without it. Timings are not asserted (speed
targets live in the benchmark's printed numbers), only what must hold whatever the speed.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ANALYSIS = Path(__file__).resolve().parents[1]
REPO = ANALYSIS.parent
BENCH = Path(os.environ.get("FERRET_BENCH", REPO / "build" / "ferret-bench"))
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else sys.executable
sys.path.append(str(ANALYSIS))
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")

from plot_bench import load_bench  # noqa: E402

pytestmark = pytest.mark.skipif(not BENCH.exists(), reason=f"{BENCH} is not built (run scripts/setup.sh)")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
TINY_MODEL = ["--", "--num-clients", "2", "--train-per-client", "16", "--eval-samples", "8", "--rouge-samples", "1",
              "--max-new-tokens", "2", "--hidden-size", "32", "--layers", "1", "--intermediate-size", "64",
              "--local-steps", "2", "--k", "256"]


def bench(*args, timeout=300):
    return subprocess.run([str(BENCH), *map(str, args)], capture_output=True, text=True, env=ENV, timeout=timeout)


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return r.stdout


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "sweep.h5"
    stdout = ok(bench("sweep", "--d", "5000,20000", "--k", "8,64", "--blocks", "1,4", "--basis", "rademacher,truncnormal",
                      "--threads", "1", "--naive-budget", "0.05", "--rounds", "2", "--out", out, *TINY_MODEL))
    return out, stdout


@pytest.mark.parametrize("op", ["project", "reconstruct"])
def test_single_case_ends_with_the_fixed_line(op):
    stdout = ok(bench(op, "--d", "100000", "--k", "64", "--blocks", "8", "--basis", "rademacher", "--threads", "1"))
    last = stdout.strip().splitlines()[-1]
    m = re.fullmatch(r"elements_per_s=([0-9.e+]+) floor_fraction=([0-9.e+-]+)", last)
    assert m, last
    assert float(m.group(1)) > 0 and float(m.group(2)) > 0


def test_bad_case_is_one_line_and_exit_2():
    r = bench("project", "--d", "100", "--k", "4", "--blocks", "8", "--threads", "1")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "--k 4 is smaller than --blocks 8" in r.stderr
    r = bench("project", "--basis", "uniform")
    assert r.returncode == 2 and "basis 'uniform'" in r.stderr


def test_sweep_file_is_self_consistent(sweep):
    path, stdout = sweep
    kern, rounds, attrs = load_bench(path)
    assert attrs["mode"] == "sweep" and int(attrs["cores"]) >= 1
    # 2 d × 2 K × 2 L × 2 bases × 1 thread count × 2 operations, all valid splits (K ≥ L).
    assert len(kern["op"]) == 32
    # elements = Σ_l d_l K_l = L · (d/L)(K/L) = d·K/L for equal blocks (d and K divisible by L here).
    np.testing.assert_allclose(kern["elements_per_s"] * kern["seconds"], kern["d"] * kern["k"] / kern["blocks"],
                               rtol=1e-9)
    np.testing.assert_allclose(kern["floor_fraction"], kern["floor_seconds"] / kern["seconds"], rtol=1e-9)
    np.testing.assert_allclose(kern["philox_fraction"], kern["philox_seconds"] / kern["seconds"], rtol=1e-9)
    assert np.all(kern["philox_seconds"] > 0)
    np.testing.assert_allclose(kern["speedup_vs_naive"], kern["naive_seconds"] / kern["seconds"], rtol=1e-9)
    bytes_per_d = np.where(kern["op"] == "project", 4.0, 8.0)
    np.testing.assert_allclose(kern["gb_per_s"] * kern["seconds"] * 1e9, bytes_per_d * kern["d"], rtol=1e-9)
    assert list(rounds["algorithm"]) == ["ferret", "fedavg", "fedkseed"]
    parts = rounds["time_project"] + rounds["time_comm"] + rounds["time_reconstruct"]
    np.testing.assert_allclose(rounds["overhead_pct"], 100 * parts / rounds["time_local"], rtol=1e-9)
    # Traffic: Ferret and FedKSeed upload K floats (+ header), FedAvg d floats; one rank hosts both clients.
    up = dict(zip(rounds["algorithm"], rounds["bytes_up"]))
    d = rounds["d"][0]
    assert up["fedkseed"] == (256 + 4) * 4
    # Ferret also reduces its L block norms (--allocation norm) before projecting: L floats more.
    assert (256 + 4) * 4 < up["ferret"] <= (256 + 4 + 64) * 4 and (up["ferret"] - up["fedkseed"]) % 4 == 0
    assert up["fedavg"] == (d + 4) * 4
    assert "results: " + str(path) in stdout


def test_an_existing_result_is_never_overwritten(sweep):
    path, _ = sweep
    before = path.read_bytes()
    r = bench("rounds", "--rounds", "1", "--algorithms", "ferret", "--out", path, *TINY_MODEL)
    assert r.returncode != 0 and "never overwrites" in r.stderr
    assert path.read_bytes() == before


def test_plot_bench_writes_three_pngs_and_the_tables(sweep, tmp_path):
    path, _ = sweep
    r = subprocess.run([PYTHON, str(ANALYSIS / "plot_bench.py"), str(path), "--out", str(tmp_path / "png")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    names = [tmp_path / "png" / n for n in ("bench_throughput.png", "bench_floor.png", "bench_rounds.png")]
    assert lines[-3:] == [str(n) for n in names]
    for n in names:
        assert n.stat().st_size > 5000 and n.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sum(1 for line in lines if line.startswith(("project ", "reconstruct "))) == 32


def test_plot_bench_refuses_a_metrics_file(tmp_path):
    bad = tmp_path / "x.h5"
    import h5py
    with h5py.File(bad, "w") as f:
        f.create_dataset("rounds/eval_loss", data=[1.0])
    r = subprocess.run([PYTHON, str(ANALYSIS / "plot_bench.py"), str(bad)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "lacks dataset /rounds/" in r.stderr


def test_a_file_from_before_time_wait_still_loads(sweep, tmp_path):
    """Bench files written before /rounds/time_wait and the Philox floor existed still load."""
    import shutil
    import h5py
    path, _ = sweep
    old = tmp_path / "old.h5"
    shutil.copy(path, old)
    with h5py.File(old, "a") as f:
        expected_local = f["rounds/time_local"][()]
        del f["rounds/time_wait"]
        del f["kernels/philox_fraction"]
    kern, rounds, _ = load_bench(old)
    assert np.array_equal(rounds["time_wait"], np.zeros(len(expected_local)))
    assert np.all(np.isnan(kern["philox_fraction"]))
    assert np.array_equal(rounds["time_local"], expected_local)
