"""The ``gradtest`` command as users run it: subprocesses in a fresh project directory."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import hypothesis
import pytest

#: hypothesis's CI profile (CI=true) derandomizes: no seed to print, the run replays as is
DERANDOMIZED = bool(hypothesis.settings.default.derandomize)

KINK = """
import numpy as np
import gradtest


@gradtest.gradcheck(wrt="w", w=np.zeros(3))
def test_abs_at_its_kink(w):
    return float(np.sum(np.abs(w))), np.sign(w)
"""

RANDOM_FAILURE = """
import numpy as np
import gradtest
import gradtest.strategies as gs


@gradtest.gradcheck(wrt="w", w=gs.weights(gs.dim("n", max_value=3)))
def test_cube(w):
    return float(np.sum(w**3)), 2 * w**2


@gradtest.gradcheck(wrt="w", w=gs.weights(3))
def test_sine(w):
    return float(np.sum(np.sin(w))), np.cos(w)
"""

SCRIPT = """
import numpy as np
import gradtest

raise SystemExit("this script ran during --list")


@gradtest.gradcheck(wrt="w", w=np.ones(2))
def test_square(w):
    return float(w @ w), 2 * w


class Checks:
    @gradtest.gradcheck(wrt="w", w=np.ones(2))
    def test_nested(w):
        return float(w @ w), 2 * w
"""


def gradtest_cmd(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gradtest", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_inconclusive_exits_1_unless_accepted(tmp_path: Path) -> None:
    (tmp_path / "kink.py").write_text(KINK)
    out = gradtest_cmd(tmp_path, "kink.py")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "gradtest: 1 inconclusive in " in out.stdout
    assert "an inconclusive check verified nothing, so it fails the run" in out.stdout
    accepted = gradtest_cmd(tmp_path, "--accept-inconclusive", "kink.py")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "kink.py::test_abs_at_its_kink  inconclusive (ok)" in accepted.stdout
    (tmp_path / "pyproject.toml").write_text("[tool.gradtest]\naccept_inconclusive = true\n")
    assert gradtest_cmd(tmp_path, "kink.py").returncode == 0
    # a strict run where the file accepts inconclusive checks
    strict = gradtest_cmd(tmp_path, "--no-accept-inconclusive", "kink.py")
    assert strict.returncode == 1, strict.stdout + strict.stderr
    assert "gradtest: 1 inconclusive in " in strict.stdout


def test_the_reproduce_command_replays_the_failure_as_printed(tmp_path: Path) -> None:
    (tmp_path / "losses.py").write_text(RANDOM_FAILURE)
    first = gradtest_cmd(tmp_path, "--report", "r.json", "losses.py")
    assert first.returncode == 1, first.stdout + first.stderr
    (line,) = [ln for ln in first.stdout.splitlines() if ln.startswith("reproduce with: ")]
    command = shlex.split(line.removeprefix("reproduce with: "))
    # "--seed N" unless hypothesis runs derandomized (its CI profile), which replays anyway
    assert command[0] == "gradtest" and (command[1] == "--seed" or DERANDOMIZED)
    assert command[-1] == "losses.py::test_cube"
    check = json.loads((tmp_path / "r.json").read_text())["checks"][0]
    assert check["reproduce"] == line.removeprefix("reproduce with: ")
    assert check["example"].startswith("w = np.array(")
    again = gradtest_cmd(tmp_path, *command[1:])
    assert again.returncode == 1, again.stdout + again.stderr
    assert "test_sine" not in again.stdout  # only the check named
    assert f"    {check['example']}" in again.stdout.splitlines()


def test_list_reads_the_source_without_running_it(tmp_path: Path) -> None:
    (tmp_path / "script.py").write_text(SCRIPT)
    out = gradtest_cmd(tmp_path, "--list", ".")
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.split() == ["script.py::test_square", "script.py::Checks.test_nested"]
    assert "ran during --list" not in out.stdout + out.stderr


def test_version_and_no_abbreviated_options(tmp_path: Path) -> None:
    from importlib.metadata import version

    out = gradtest_cmd(tmp_path, "--version")
    assert (out.returncode, out.stdout.strip()) == (0, f"gradtest {version('gradtest')}")
    abbreviated = gradtest_cmd(tmp_path, "--max-example", "5", ".")
    assert abbreviated.returncode == 2
    assert "unrecognized arguments: --max-example" in abbreviated.stderr


def test_a_mistake_is_an_error_with_the_input_in_the_json(tmp_path: Path) -> None:
    (tmp_path / "mistake.py").write_text(
        "import numpy as np\nimport gradtest\nimport gradtest.strategies as gs\n\n\n"
        "@gradtest.gradcheck(wrt='W', W=gs.weights((2, 3)))\n"
        "def test_transposed(W):\n    return float(np.sum(W**2)), (2 * W).T\n"
    )
    out = gradtest_cmd(tmp_path, "--json", "mistake.py")
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    assert report["summary"]["error"] == 1
    (check,) = report["checks"]
    assert "did you return the transpose?" in check["error"]
    assert check["example"].startswith("W = np.array([[")
    assert check["reproduce"].startswith(
        "gradtest mistake.py" if DERANDOMIZED else "gradtest --seed "
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("max_exemples = 3", "[tool.gradtest] has an unknown setting 'max_exemples'; known: rtol,"),
        (
            "max_examples = 0",
            "[tool.gradtest] max_examples = 0: expected a positive integer, got 0",
        ),
        (
            'mode = "fulll"',
            "[tool.gradtest] mode = 'fulll': expected one of auto, full, directions",
        ),
        (
            'accept_inconclusive = "yes"',
            "[tool.gradtest] accept_inconclusive = 'yes': expected true or false (a TOML "
            "boolean), got 'yes'",
        ),
        (
            "accept_inconclusive = 1",
            "[tool.gradtest] accept_inconclusive = 1: expected true or false (a TOML boolean)",
        ),
        # a quoted number is a slip in TOML, as a quoted boolean is
        (
            'max_examples = "30"',
            "[tool.gradtest] max_examples = '30': expected a TOML number, got the string '30': "
            "write max_examples = 30",
        ),
        ('rtol = "1e-3"', "[tool.gradtest] rtol = '1e-3': expected a TOML number"),
        ('seed = "abc"', "[tool.gradtest] seed = 'abc': expected a non-negative integer"),
        # two spellings of one setting: the last one silently won
        (
            "max-examples = 3\nmax_examples = 4",
            "[tool.gradtest] sets max_examples twice, as max-examples = 3 and as "
            "max_examples = 4: keep one",
        ),
    ],
)
def test_bad_configuration_is_a_usage_error(tmp_path: Path, table: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.gradtest]\n{table}\n")
    out = gradtest_cmd(tmp_path, ".")
    assert out.returncode == 2
    assert message in out.stderr


def test_help_has_the_same_settings_and_texts_as_the_plugin(tmp_path: Path) -> None:
    from gradtest._config import OPTIONS

    out = gradtest_cmd(tmp_path, "--help")
    text = " ".join(out.stdout.split())
    for option in OPTIONS:
        if option.command:
            assert option.command_option in text
            assert " ".join(option.help_text().split()) in text
