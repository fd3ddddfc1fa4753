"""One configuration: ``[tool.gradtest]`` is read by the command, pytest and the decorator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

LOSS = """
import numpy as np
import gradtest
import gradtest.strategies as gs


@gradtest.gradcheck(wrt="w", w=gs.weights(3), max_examples=50)
def test_sine(w):
    return float(np.sum(np.sin(w))), np.cos(w)
"""

PYPROJECT = """
[tool.gradtest]
max_examples = 7
seed = 3
"""


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "CI")}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env
    )


def test_the_same_settings_reach_the_command_pytest_and_the_decorator(tmp_path: Path) -> None:
    (tmp_path / "test_losses.py").write_text(LOSS)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)

    command = _run(tmp_path, "-m", "gradtest", "--json", "test_losses.py")
    assert command.returncode == 0, command.stdout + command.stderr
    (check,) = json.loads(command.stdout)["checks"]
    assert (check["n_examples"], check["seed"]) == (7, 3)

    session = _run(
        tmp_path, "-m", "pytest", "-p", "no:cacheprovider", "--gradcheck",
        "--gradcheck-report=r.json", "test_losses.py",
    )  # fmt: skip
    assert session.returncode == 0, session.stdout + session.stderr
    assert "gradtest: gradient checks on (rtol=auto, max_examples=7, mode=auto, seed=3)" in (
        session.stdout
    )
    (check,) = json.loads((tmp_path / "r.json").read_text())["checks"]
    assert (check["n_examples"], check["seed"]) == (7, 3)

    called = _run(
        tmp_path, "-c",
        "import gradtest, test_losses; o = gradtest.run_gradcheck(test_losses.test_sine); "
        "print(o.n_examples, o.seed)",
    )  # fmt: skip
    assert called.stdout.split() == ["7", "3"], called.stderr

    # the command line wins over the file
    override = _run(tmp_path, "-m", "gradtest", "--json", "--max-examples", "2", "test_losses.py")
    assert json.loads(override.stdout)["checks"][0]["n_examples"] == 2
