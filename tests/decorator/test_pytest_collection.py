"""A decorated loss is an ordinary pytest test; --hypothesis-seed reproduces a run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

TEST_FILE = """
import hypothesis
import numpy as np
import gradtest
import gradtest.strategies as gs

N = gs.dim("N", max_value=2)

@gradtest.gradcheck(wrt="w", w=gs.weights(N), settings=hypothesis.settings(database=None))
def test_square(w):
    return float(w @ w), 2 * w

@gradtest.gradcheck(wrt="w", w=gs.weights(N), settings=hypothesis.settings(database=None))
def test_cube_wrong(w):
    return float(np.sum(w**3)), 2 * w**2
"""


def run_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_losses.py").write_text(textwrap.dedent(TEST_FILE))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:gradtest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "-q",
            "test_losses.py",
            *args,
        ],
        cwd=tmp_path,
        # as on a developer's machine: under CI=true hypothesis loads its "ci" profile,
        # which derandomizes and so ignores --hypothesis-seed
        env={k: v for k, v in os.environ.items() if k != "CI"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_pytest_collects_runs_and_reproduces(tmp_path: Path) -> None:
    first = run_pytest(tmp_path, "--hypothesis-seed=123")
    assert "1 failed, 1 passed" in first.stdout, first.stdout + first.stderr
    assert "FAILED test_losses.py::test_cube_wrong - gradtest.errors.GradientError" in first.stdout
    assert "gradcheck test_cube_wrong: wrong gradient wrt w" in first.stdout
    assert "reproduce with: gradtest.run_gradcheck(test_cube_wrong, seed=123)" in first.stdout
    assert "    w = np.array([" in first.stdout
    second = run_pytest(tmp_path, "--hypothesis-seed=123")
    report = [line for line in first.stdout.splitlines() if "    w = np.array(" in line]
    again = [line for line in second.stdout.splitlines() if "    w = np.array(" in line]
    assert report == again == ["        w = np.array([0.01])"] or report == again == [
        "        w = np.array([-0.01])"
    ]
