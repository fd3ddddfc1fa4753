"""The reproduce lines of the ``gradtest`` command work where the command ran, as printed.

Each test runs the real command (a subprocess) in one directory on checks that live in
another, takes the printed reproduce lines and the report's ``reproduce`` fields, runs them
in the same directory exactly as written, and checks that they rerun the same check, alone,
with the same verdict (and, for a failure or an error, the same input).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

#: one check of each verdict that prints or records a reproduce line
CHECKS = """
import numpy as np
import gradtest
import gradtest.strategies as gs


@gradtest.gradcheck(wrt="w", w=gs.weights(gs.dim("n", max_value=3)))
def test_cube(w):
    return float(np.sum(w**3)), 2 * w**2


@gradtest.gradcheck(wrt="W", W=gs.weights((2, 3)))
def test_transposed(W):
    return float(np.sum(W**2)), (2 * W).T


@gradtest.gradcheck(wrt="w", w=np.zeros(3))
def test_abs_at_its_kink(w):
    return float(np.sum(np.abs(w))), np.sign(w)


@gradtest.gradcheck(wrt="w", w=gs.weights(3))
def test_sine(w):
    return float(np.sum(np.sin(w))), np.cos(w)
"""

#: verdict of each check of CHECKS that has a reproduce line
VERDICTS = {"test_cube": "fail", "test_transposed": "error", "test_abs_at_its_kink": "inconclusive"}


def gradtest_cmd(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gradtest", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def paste(cwd: Path, line: str, env: dict[str, str] | None) -> subprocess.CompletedProcess[str]:
    """Run a reproduce line in ``cwd`` as a shell would, ``gradtest`` being this checkout's."""
    command = shlex.split(line)
    assert command[0] == "gradtest", line
    return gradtest_cmd(cwd, *command[1:], env=env)


def _layout(tmp_path: Path, where: str) -> tuple[Path, list[str], dict[str, str] | None]:
    """Write CHECKS somewhere; return the directory to run in, the target and the env."""
    run_dir = tmp_path / "q2"
    run_dir.mkdir()
    env = None
    if where == "module":  # an importable module (on PYTHONPATH) outside the directory
        package = tmp_path / "lib" / "mylosses"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "checks.py").write_text(CHECKS)
        path = os.pathsep.join([str(tmp_path / "lib"), os.environ.get("PYTHONPATH", "")])
        return run_dir, ["mylosses.checks"], {**os.environ, "PYTHONPATH": path}
    targets = {
        "../dir/file.py": ("q1/losses_bad.py", "../q1/losses_bad.py"),
        "absolute": ("q1/losses_bad.py", str(tmp_path / "q1" / "losses_bad.py")),
        "../dir": ("q1/losses_bad.py", "../q1"),
        "../dir with space/sub/dir/file.py": ("q 1/sub/dir/losses.py", "../q 1/sub/dir/losses.py"),
        "sub/dir/file.py": ("q2/sub/dir/losses.py", "sub/dir/losses.py"),
    }
    file, target = targets[where]
    (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / file).write_text(CHECKS)
    return run_dir, [target], env


@pytest.mark.parametrize(
    "where",
    [
        "../dir/file.py",
        "absolute",
        "../dir",
        "../dir with space/sub/dir/file.py",
        "sub/dir/file.py",
        "module",
    ],
)
def test_every_reproduce_line_reruns_its_check_where_the_command_ran(
    tmp_path: Path, where: str
) -> None:
    run_dir, targets, env = _layout(tmp_path, where)
    first = gradtest_cmd(run_dir, "--report", "r.json", *targets, env=env)
    assert first.returncode == 1, first.stdout + first.stderr
    checks = {c["name"]: c for c in json.loads((run_dir / "r.json").read_text())["checks"]}
    assert {name: c["verdict"] for name, c in checks.items()} == {**VERDICTS, "test_sine": "pass"}
    # the lines printed for the failure, the inconclusive check and the error are the report's
    printed = {
        ln.strip().removeprefix("reproduce with: ")
        for ln in first.stdout.splitlines()
        if ln.strip().startswith("reproduce with: ")
    }
    assert printed == {checks[name]["reproduce"] for name in VERDICTS}
    for name, verdict in VERDICTS.items():
        again = paste(run_dir, checks[name]["reproduce"], env)
        assert again.returncode == 1, again.stdout + again.stderr
        assert f"gradtest: 1 {verdict} in " in again.stdout, again.stdout
        (progress,) = [ln for ln in again.stdout.splitlines() if ln.startswith("[")]
        assert re.match(rf"\[1/1\] {verdict.upper()} +\S+::{name} ", progress), progress
        if verdict != "inconclusive":  # the same input again
            example = checks[name]["example"].splitlines()
            assert example and all(f"    {ln}" in again.stdout.splitlines() for ln in example)


def test_quiet_output_keeps_the_replay_lines_and_they_carry_accept_inconclusive(
    tmp_path: Path,
) -> None:
    """``-q`` printed each failing verdict without its replay line (the seed is random by
    default); a line replaying an accepted inconclusive check lacked --accept-inconclusive,
    so the pasted line failed where the run had passed."""
    (tmp_path / "checks.py").write_text(CHECKS)
    quiet = gradtest_cmd(tmp_path, "-q", "checks.py")
    lines = quiet.stdout.splitlines()
    for name in VERDICTS:  # each verdict line, then its replay line
        (i,) = [i for i, ln in enumerate(lines) if ln.endswith(f"checks.py::{name}")]
        # (no --seed in a derandomized run, hypothesis's CI profile)
        assert re.fullmatch(
            rf"  reproduce with: gradtest (--seed \d+ )?checks\.py::{name}", lines[i]
        )
        assert name in lines[i - 1] and not lines[i - 1].endswith(":")
    accepted = gradtest_cmd(tmp_path, "--accept-inconclusive", "checks.py::test_abs_at_its_kink")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    (line,) = [ln for ln in accepted.stdout.splitlines() if ln.startswith("reproduce with: ")]
    assert "--accept-inconclusive" in line
    again = paste(tmp_path, line.removeprefix("reproduce with: "), None)
    assert again.returncode == 0, again.stdout + again.stderr
