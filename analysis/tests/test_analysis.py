"""Tests of analysis/ on HDF5 files from two real short ferret runs (ferret and fedavg, 2 ranks).

    .venv/bin/python -m pytest -q -p no:cacheprovider analysis/tests

Needs build/ferret (or $FERRET_BINARY) and mpirun; the whole module is skipped without them.
"""
import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ANALYSIS = Path(__file__).resolve().parents[1]
REPO = ANALYSIS.parent
FERRET = Path(os.environ.get("FERRET_BINARY", REPO / "build" / "ferret"))
# The scripts run under the project venv (h5py, numpy, matplotlib), whatever python runs pytest.
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else sys.executable
# Appended, not prepended: analysis/inspect.py must not shadow the standard library's inspect.
sys.path.append(str(ANALYSIS))

os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")
import h5py  # noqa: E402

from compare import default_target, rounds_to_target  # noqa: E402
from ferret_h5 import last_finite, load_run  # noqa: E402

pytestmark = [
    pytest.mark.skipif(not FERRET.exists(), reason=f"{FERRET} is not built (run scripts/setup.sh)"),
    pytest.mark.skipif(shutil.which("mpirun") is None, reason="mpirun not found"),
]
ROUNDS, K = 3, 512
TINY = ["--config", str(REPO / "configs" / "demo.ini"), "--rounds", str(ROUNDS), "--num-clients", "4",
        "--eval-every", "2", "--checkpoint-every", "1", "--train-per-client", "32", "--eval-samples", "16",
        "--rouge-samples", "2", "--max-new-tokens", "4", "--hidden-size", "32", "--layers", "1",
        "--intermediate-size", "64", "--k", str(K)]


def script(name, *args):
    return subprocess.run([PYTHON, str(ANALYSIS / name), *map(str, args)], capture_output=True, text=True,
                          timeout=60)


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return r.stdout


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """{'ferret': run dir, 'fedavg': run dir}: 3 rounds each, 4 clients, 2 ranks, checkpoints every round."""
    base = tmp_path_factory.mktemp("runs")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    out = {}
    for algorithm in ("ferret", "fedavg"):
        out[algorithm] = base / algorithm
        cmd = ["mpirun", "-np", "2", "--oversubscribe", str(FERRET), *TINY, "--algorithm", algorithm,
               "--out", str(out[algorithm])]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return out


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory):
    """Inputs every script must refuse with one line and exit 2, and a word the line must hold."""
    d = tmp_path_factory.mktemp("bad")
    text = d / "notes.txt"
    text.write_text("not hdf5\n")
    no_rounds = d / "no_rounds.h5"
    with h5py.File(no_rounds, "w") as f:
        f.attrs["x"] = 1
    return {"missing": (d / "missing.h5", "does not exist"), "text": (text, "not an HDF5 file"),
            "no_rounds": (no_rounds, "not a ferret")}


def csv_rows(stdout):
    return list(csv.DictReader(io.StringIO(stdout)))


# ---- ferret_h5 ---------------------------------------------------------------------------------

def test_load_run_reads_the_schema(runs):
    run = load_run(runs["ferret"])  # a run directory resolves to its metrics.h5
    assert run.path == runs["ferret"] / "metrics.h5"
    assert run.num_rounds == ROUNDS and len(run.eval_loss) == ROUNDS + 1
    assert run.attrs["algorithm"] == "ferret" and run.attrs["k"] == K and run.label == f"ferret K={K}"
    assert "algorithm = ferret" in run.attrs["config"]
    fedavg = load_run(runs["fedavg"] / "metrics.h5")
    assert fedavg.attrs["k"] == 0 and fedavg.label == "fedavg"
    # Rouge-L is evaluated every 2nd round and at the end: NaN in round 1 only.
    assert np.isnan(run.rounds["rouge_l"]).tolist() == [True, False, False]
    # Traffic as the README counts it: one sending rank, 4K + 16 bytes up, + 4L for norm allocation.
    assert (run.rounds["senders"] == 1).all()
    assert (run.rounds["bytes_up"] == 4 * K + 16 + 4 * run.attrs["num_blocks"]).all()
    assert (fedavg.rounds["bytes_up"] == 4 * fedavg.attrs["num_params"] + 16).all()


# ---- compare.py --------------------------------------------------------------------------------

def test_compare_table_matches_the_metrics(runs):
    rows = csv_rows(ok(script("compare.py", runs["ferret"], runs["fedavg"], "--format", "csv")))
    assert [row["algorithm"] for row in rows] == ["ferret", "fedavg"]
    assert [row["K"] for row in rows] == [str(K), "0"]
    assert [row["rounds"] for row in rows] == [str(ROUNDS)] * 2
    for row, name in zip(rows, ("ferret", "fedavg")):
        run = load_run(runs[name])
        assert float(row["bytes_per_round"]) == pytest.approx(run.bytes_per_round().mean(), rel=1e-12)
        assert int(row["total_bytes"]) == int(run.rounds["bytes_up"].sum() + run.rounds["bytes_down"].sum())
        assert int(row["d"]) == run.attrs["num_params"]
        assert float(row["overall_s"]) == pytest.approx(run.rounds["time_round"].mean())
        assert float(row["aggregation_s"]) == pytest.approx(run.aggregation_time().mean())
        assert float(row["final_eval_loss"]) == pytest.approx(run.eval_loss[-1])
        assert float(row["final_rouge_l"]) == pytest.approx(last_finite(run.rounds["rouge_l"]))
    ferret, fedavg = rows
    # fedavg is the default baseline: ratio 1 on its row; Ferret sends far fewer bytes than FedAvg.
    assert float(fedavg["bytes_saving_x"]) == 1.0 and float(fedavg["speedup_x"]) == 1.0
    assert float(ferret["bytes_saving_x"]) > 1.0
    assert float(ferret["bytes_saving_x"]) == pytest.approx(
        float(fedavg["bytes_per_round"]) / float(ferret["bytes_per_round"]))
    # Default target = the higher of the two final losses, which both runs reach.
    target = max(float(ferret["final_eval_loss"]), float(fedavg["final_eval_loss"]))
    for row, name in zip(rows, ("ferret", "fedavg")):
        assert row["rounds_to_target"] == str(rounds_to_target(load_run(runs[name]).eval_loss, target))
        assert row["rounds_to_target"] != "—"


def test_compare_baseline_and_target_options(runs):
    # --baseline not among the runs: added as the first row, with ratio 1.
    rows = csv_rows(ok(script("compare.py", runs["ferret"], "--baseline", runs["fedavg"], "--target-loss", "0.5",
                              "--format", "csv")))
    assert [row["algorithm"] for row in rows] == ["fedavg", "ferret"]
    assert float(rows[0]["bytes_saving_x"]) == 1.0 and float(rows[1]["bytes_saving_x"]) > 1.0
    assert [row["rounds_to_target"] for row in rows] == ["—", "—"]  # a loss no tiny run reaches
    # Ferret as baseline: FedAvg's row gets a saving below 1.
    rows = csv_rows(ok(script("compare.py", runs["ferret"], runs["fedavg"], "--baseline", runs["ferret"],
                              "--target-loss", "100", "--format", "csv")))
    assert len(rows) == 2 and float(rows[0]["bytes_saving_x"]) == 1.0 and float(rows[1]["bytes_saving_x"]) < 1.0
    assert [row["rounds_to_target"] for row in rows] == ["1", "1"]


def test_compare_markdown(runs):
    out = ok(script("compare.py", runs["ferret"], runs["fedavg"]))
    lines = out.strip().splitlines()
    assert lines[0].startswith("target eval loss ")
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 2 + 2  # header, rule, one row per run
    assert table[0].startswith("| run | algorithm | K | d | rounds |")
    assert f"| ferret | {K} |" in table[2] and "| fedavg | 0 |" in table[3]


def test_rounds_to_target_on_synthetic_losses():
    loss = np.array([5.0, 4.0, 3.5, 3.6, 3.0])
    assert rounds_to_target(loss, 3.5) == 2      # first round at or below, not the best one
    assert rounds_to_target(loss, 3.55) == 2
    assert rounds_to_target(loss, 3.0) == 4
    assert rounds_to_target(loss, 5.0) == 1      # entry 0 (before training) never counts
    assert rounds_to_target(loss, 2.0) is None   # never reached
    assert rounds_to_target(np.array([5.0]), 9.0) is None  # no rounds yet
    assert rounds_to_target(np.array([5.0, np.nan, 4.0]), 4.5) == 2
    assert rounds_to_target(loss, float("nan")) is None


def test_default_target_is_a_loss_every_run_reaches():
    class FakeRun:
        def __init__(self, eval_loss):
            self.eval_loss = np.array(eval_loss)
    runs = [FakeRun([5.0, 4.0, 3.0]), FakeRun([5.0, 4.5, 3.8, 3.6]), FakeRun([5.0])]  # the last: no round yet
    target = default_target(runs)
    assert target == 3.6
    assert [rounds_to_target(r.eval_loss, target) for r in runs] == [2, 3, None]


# ---- plot_run.py -------------------------------------------------------------------------------

def test_plot_run_writes_three_pngs(runs, tmp_path):
    out = tmp_path / "plots"  # created by the script
    stdout = ok(script("plot_run.py", runs["ferret"], runs["fedavg"], "--out", out, "--labels", "Ferret,FedAvg"))
    names = ("loss_rouge.png", "bytes_vs_loss.png", "time_split.png")
    assert stdout.split() == [str(out / n) for n in names]
    for name in names:
        png = out / name
        assert png.stat().st_size > 5000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_run_refuses_a_wrong_number_of_labels(runs, tmp_path):
    r = script("plot_run.py", runs["ferret"], runs["fedavg"], "--out", tmp_path, "--labels", "only-one")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "--labels" in r.stderr


# ---- inspect.py --------------------------------------------------------------------------------

def test_inspect_checkpoint_shows_config_and_params(runs):
    ckpt = runs["ferret"] / "checkpoints" / f"round_{ROUNDS:06d}.h5"
    out = ok(script("inspect.py", ckpt))
    assert out.splitlines()[0] == f"{ckpt}: ferret checkpoint"
    with h5py.File(ckpt, "r") as f:
        config = f.attrs["config"]
        config = config.decode() if isinstance(config, bytes) else config
        tensors = len(f["params"])
        elements = sum(d.size for d in f["params"].values())
    assert config.strip() and config in out  # the stored config text, as-is
    assert f"round = {ROUNDS}" in out and "format_version = 1" in out and "algorithm = ferret" in out
    assert "/params/model.embed_tokens.weight  shape=(" in out and "dtype=float32" in out
    assert "/server/momentum  shape=" in out
    assert f"parameters: {tensors} tensors in /params, {elements} elements" in out
    assert elements == load_run(runs["ferret"]).attrs["num_params"]


def test_inspect_metrics(runs):
    out = ok(script("inspect.py", runs["fedavg"] / "metrics.h5"))
    assert "ferret metrics" in out.splitlines()[0]
    assert "schema_version = 5" in out and "algorithm = fedavg" in out
    assert f"/rounds/eval_loss  shape=({ROUNDS + 1},)  dtype=float64" in out
    assert f"/rounds/bytes_up  shape=({ROUNDS},)  dtype=uint64" in out
    assert f"/clients/train_loss  shape=({ROUNDS}, 4)  dtype=float32" in out
    out = ok(script("inspect.py", runs["ferret"]))  # a run directory means its metrics.h5
    assert f"/coefficients  shape=({ROUNDS}, {K})  dtype=float32" in out


# ---- summarize.py ------------------------------------------------------------------------------

def test_summarize(runs, tmp_path):
    out = ok(script("summarize.py", runs["ferret"], "--plot", tmp_path))
    assert out.startswith(f"ferret  K={K}") and (tmp_path / "loss_rouge.png").stat().st_size > 5000
    assert len([line for line in out.splitlines() if line.split() and line.split()[0].isdigit()]) == ROUNDS + 1


# ---- bad input ---------------------------------------------------------------------------------

TOOLS = ["compare.py", "plot_run.py", "inspect.py", "summarize.py"]


def assert_refused(r, path, words):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert str(path) in lines[0] and words in lines[0], lines[0]


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("case", ["missing", "text", "no_rounds"])
def test_bad_input_is_one_line_and_exit_2(tool, case, bad_files, tmp_path):
    path, words = bad_files[case]
    assert_refused(script(tool, path, *(["--out", tmp_path] if tool == "plot_run.py" else [])), path, words)


@pytest.fixture(scope="session")
def damaged_metrics(runs, tmp_path_factory):
    """Copies of the ferret run's metrics.h5: one without a dataset, one of another schema_version."""
    d = tmp_path_factory.mktemp("damaged")
    lacking, future = d / "lacking.h5", d / "future.h5"
    for p in (lacking, future):
        shutil.copy(runs["ferret"] / "metrics.h5", p)
    with h5py.File(lacking, "a") as f:
        del f["rounds/time_comm"]
    with h5py.File(future, "a") as f:
        f.attrs["schema_version"] = 99
    return {"lacking": (lacking, "lacks dataset /rounds/time_comm"), "future": (future, "schema_version 99")}


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("case", ["lacking", "future"])
def test_damaged_metrics_is_one_line_and_exit_2(tool, case, damaged_metrics, runs, tmp_path):
    path, words = damaged_metrics[case]
    extra = ["--out", tmp_path] if tool == "plot_run.py" else []
    assert_refused(script(tool, path, *extra), path, words)
    if tool in ("compare.py", "plot_run.py"):  # one bad run among good ones is enough to refuse
        assert_refused(script(tool, runs["fedavg"], path, *extra), path, words)


def test_a_schema_2_file_still_reads_and_summarizes(runs, tmp_path):
    """metrics.h5 from before /rounds/time_wait (schema 2): read, with the wait as NaN."""
    old = tmp_path / "v2.h5"
    shutil.copy(runs["ferret"] / "metrics.h5", old)
    with h5py.File(old, "a") as f:
        del f["rounds/time_wait"]
        f.attrs["schema_version"] = 2
    r = script("summarize.py", old)
    assert r.returncode == 0, r.stderr
    run = load_run(old)
    assert np.all(np.isnan(run.rounds["time_wait"]))
    assert np.all(np.isfinite(run.rounds["time_comm"]))


def test_a_round_being_appended_is_left_out(runs, tmp_path):
    """ferret appends a round dataset by dataset: read in between, the completed rounds come back;
    a larger mismatch between datasets is damage and is refused."""
    from ferret_h5 import BadInput
    original = load_run(runs["ferret"])
    live, damaged = tmp_path / "live.h5", tmp_path / "damaged.h5"
    for path, grown, extra in ((live, ("eval_loss", "train_loss", "rouge_l"), 1), (damaged, ("time_comm",), 2)):
        shutil.copy(runs["ferret"] / "metrics.h5", path)
        with h5py.File(path, "a") as f:
            for name in grown:
                f["rounds"][name].resize((f["rounds"][name].shape[0] + extra,))
    run = load_run(live)
    assert run.num_rounds == ROUNDS
    np.testing.assert_array_equal(run.eval_loss, original.eval_loss)
    np.testing.assert_array_equal(run.rounds["train_loss"], original.rounds["train_loss"])
    with pytest.raises(BadInput, match=rf"/rounds/time_comm has shape \({ROUNDS + 2},\), expected \({ROUNDS},\)"):
        load_run(damaged)


def test_metrics_scripts_refuse_a_checkpoint(runs):
    ckpt = runs["fedavg"] / "checkpoints" / "round_000001.h5"
    assert_refused(script("compare.py", ckpt), ckpt, "is a checkpoint")


# ---- a run still in progress -------------------------------------------------------------------

def test_scripts_read_a_run_in_progress(tmp_path):
    """ferret keeps metrics.h5 open while it runs; the scripts read it anyway (no HDF5 file locks)."""
    import signal
    import time
    out = tmp_path / "live"
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    args = list(TINY)
    args[args.index("--rounds") + 1] = "50"
    args[args.index("--checkpoint-every") + 1] = "100"
    args += ["--out", str(out)]
    job = subprocess.Popen(["mpirun", "-np", "2", "--oversubscribe", str(FERRET), *args], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert job.poll() is None, f"ferret ended early with {job.returncode}"
            assert time.monotonic() < deadline, "no round written within 60 s"
            try:
                if load_run(out).num_rounds >= 1:
                    break
            except Exception:  # not created yet, or its first write under way
                pass
            time.sleep(0.2)
        out_text = ok(script("summarize.py", out))
        assert out_text.startswith(f"ferret  K={K}")
        assert job.poll() is None, "the run finished before it could be read live"
        rows = csv_rows(ok(script("compare.py", out, "--format", "csv")))
        assert int(rows[0]["rounds"]) >= 1
    finally:
        if job.poll() is None:
            job.send_signal(signal.SIGUSR1)  # ferret's own stop: finish the round, checkpoint, exit 3
            try:
                job.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(job.pid, signal.SIGKILL)
                job.wait()


def test_a_resume_with_changed_options_is_recorded_per_round(tmp_path):
    """--resume with a new --lr and more --rounds: /config keeps the first configuration,
    /config_history says from which round the new one holds, inspect.py prints the change."""
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    run_dir = tmp_path / "resumed"
    i = TINY.index("--rounds")
    base = ["mpirun", "-np", "2", "--oversubscribe", str(FERRET), *TINY[:i], *TINY[i + 2:], "--out", str(run_dir)]
    for extra in (["--rounds", str(ROUNDS)], ["--resume", "auto", "--rounds", str(ROUNDS + 2), "--lr", "0.05"]):
        r = subprocess.run(base + extra, env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert f"resuming after round {ROUNDS} with" in r.stdout + r.stderr
    run = load_run(run_dir)
    assert [start for start, _ in run.config_history] == [1, ROUNDS + 1]
    assert run.attrs["config"] == run.config_history[0][1]
    assert "lr = 0.1\n" in run.config_at(ROUNDS) and "lr = 0.05\n" in run.config_at(ROUNDS + 1)
    out = ok(script("inspect.py", run_dir))
    assert f"from round {ROUNDS + 1}: lr 0.1 -> 0.05, rounds {ROUNDS} -> {ROUNDS + 2}" in out


def test_a_private_run_has_epsilon_per_round_and_its_plot(runs, tmp_path):
    """--dp-clip: /rounds/dp_epsilon grows round by round; plot_run.py adds epsilon_vs_loss.png."""
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    run_dir = tmp_path / "private"
    cmd = ["mpirun", "-np", "2", "--oversubscribe", str(FERRET), *TINY, "--out", str(run_dir), "--allocation", "uniform",
           "--participation", "0.5", "--dp-clip", "5", "--dp-noise-multiplier", "1"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    eps = load_run(run_dir).rounds["dp_epsilon"]
    assert len(eps) == ROUNDS and np.all(np.diff(eps) > 0) and np.all(np.isfinite(eps))
    assert np.all(np.isnan(load_run(runs["ferret"]).rounds["dp_epsilon"]))  # no DP: not accounted
    out = tmp_path / "plots"
    stdout = ok(script("plot_run.py", runs["ferret"], run_dir, "--out", out))
    assert str(out / "epsilon_vs_loss.png") in stdout.split()
    assert (out / "epsilon_vs_loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
