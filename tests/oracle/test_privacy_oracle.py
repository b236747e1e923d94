"""Oracle: ferret's RDP accountant (src/privacy/rdp_accountant.cpp) against Google's dp-accounting.

Over a grid of sampling rates q, noise multipliers z, round counts and δ, the ε that ferret reports
for `rounds` rounds of the Poisson-subsampled Gaussian mechanism must equal dp-accounting's
RdpAccountant (PoissonSampledDpEvent(q, GaussianDpEvent(z)) composed `rounds` times) within 1 %.
"""
import itertools
import os
import subprocess

import pytest

dp_accounting = pytest.importorskip("dp_accounting")
from dp_accounting import rdp  # noqa: E402

TOOL = os.environ.get("FERRET_PRIVACY_TOOL")
pytestmark = pytest.mark.skipif(not TOOL, reason="FERRET_PRIVACY_TOOL (path of tests/privacy_tool) is not set")

GRID = list(itertools.product([0.001, 0.01, 0.05, 0.1, 0.5, 1.0],   # q: the paper's 5 % per round among them
                              [0.5, 0.8, 1.0, 2.0, 5.0],            # z
                              [1, 10, 100, 1000],                   # rounds
                              [1e-5, 1e-3]))                        # δ


def reference(q, z, rounds, delta):
    accountant = rdp.RdpAccountant()
    accountant.compose(dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(z)), rounds)
    return accountant.get_epsilon(delta)


def test_epsilon_matches_dp_accounting_within_one_percent():
    lines = "".join(f"{q!r} {z!r} {n} {d!r}\n" for q, z, n, d in GRID)
    out = subprocess.run([TOOL], input=lines, capture_output=True, text=True, check=True, timeout=300).stdout.split()
    assert len(out) == len(GRID)
    worst = 0.0
    for (q, z, n, d), got in zip(GRID, map(float, out)):
        want = reference(q, z, n, d)
        assert got == pytest.approx(want, rel=0.01), f"q={q} z={z} rounds={n} delta={d}: ferret {got}, dp-accounting {want}"
        worst = max(worst, abs(got - want) / want if want else abs(got))
    print(f"{len(GRID)} (q, z, rounds, delta) points; largest relative difference {worst:.2e}")
