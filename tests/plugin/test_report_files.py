"""The files the plugin writes: the JSON report and the plots, and their paths' errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import LOSSES, plugin_args

#: a wrong gradient of 40 entries: mode=directions checks it by random directions only
DIRECTIONS = """
import numpy as np
import gradtest


@gradtest.gradcheck(wrt="w", w=np.linspace(0.1, 1.0, 40))
def test_wide(w):
    return float(np.sum(w**2)), 3 * w
"""


@pytest.fixture
def run(pytester: pytest.Pytester):  # type: ignore[no-untyped-def]
    def run_inline(*args: str) -> pytest.RunResult:
        return pytester.runpytest(*plugin_args(), *args)

    return run_inline


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            "--gradcheck-report=report.md",
            "--gradcheck-report: expected a file name ending in .json (the report is a JSON "
            "document), got the extension '.md' in *report.md",
        ),
        (
            "--gradcheck-report=out",
            "--gradcheck-report: expected a file name ending in .json, got the directory *out",
        ),
        (
            "--gradcheck-report=afile/report.json",
            "--gradcheck-report: cannot write the JSON report to *report.json: *afile is a file, "
            "not a directory",
        ),
        (
            "--gradcheck-plots=afile",
            "--gradcheck-plots: expected a directory for the PNG plots, got the file *afile",
        ),
    ],
)
def test_a_path_that_cannot_be_written_is_a_usage_error_before_any_check_runs(
    pytester: pytest.Pytester, run, option: str, message: str
) -> None:
    pytester.makepyfile(test_losses=LOSSES)
    (pytester.path / "out").mkdir()
    (pytester.path / "afile").write_text("")
    result = run("--gradcheck", option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_a_bad_report_path_in_pyproject_names_the_file_and_the_setting(
    pytester: pytest.Pytester, run
) -> None:
    pytester.makepyfile(test_losses=LOSSES)
    pytester.makepyprojecttoml('[tool.gradtest]\nreport = "gradtest.xml"\n')
    result = run("--gradcheck")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: *pyproject.toml: [[]tool.gradtest[]] report: expected a file name ending in "
         ".json * got the extension '.xml' in *gradtest.xml"]
    )  # fmt: skip


def test_a_report_that_cannot_be_written_at_the_end_fails_the_run_with_a_message(
    pytester: pytest.Pytester, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked at the start; a failure to write at the end (here: the checks removed
    the directory and put a file in its place) still says so, without a traceback."""
    pytester.makepyfile(
        test_losses="""
        import pathlib
        import numpy as np


        def test_sine(gradcheck):
            gradcheck(lambda w: float(np.sum(np.sin(w))), np.cos, np.array([1.0, 2.0]))
            out = pathlib.Path("out")
            out.rmdir()
            out.write_text("")
        """
    )
    (pytester.path / "out").mkdir()
    result = run("--gradcheck-report=out/r.json")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    result.stdout.fnmatch_lines(["*gradtest: error: cannot write the JSON report to *r.json: *"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert not [p for p in pytester.path.iterdir() if p.name.endswith(".tmp")]


def test_the_report_settings_are_the_same_fields_as_the_commands(
    pytester: pytest.Pytester, run
) -> None:
    pytester.makepyfile(test_losses=LOSSES)
    run("--gradcheck", "--gradcheck-report=pytest.json", "--gradcheck-seed=3")
    command = subprocess.run(
        [sys.executable, "-m", "gradtest", "--seed", "3", "--report", "command.json",
         "test_losses.py"],
        cwd=pytester.path, capture_output=True, text=True,
    )  # fmt: skip
    assert command.returncode == 1, command.stdout + command.stderr
    from_pytest = json.loads((pytester.path / "pytest.json").read_text())
    from_command = json.loads((pytester.path / "command.json").read_text())
    assert (
        from_pytest["settings"]
        == from_command["settings"]
        == {
            "rtol": None,
            "max_examples": None,
            "mode": None,
            "seed": 3,
            "accept_inconclusive": False,
        }
    )
    assert sorted(from_pytest) == sorted(from_command)
    assert [sorted(c) for c in from_pytest["checks"]] == [sorted(c) for c in from_command["checks"]]


def test_a_failing_check_without_a_step_sweep_says_why_it_has_no_plot(
    pytester: pytest.Pytester, run
) -> None:
    pytest.importorskip("matplotlib")
    pytester.makepyfile(test_wide=DIRECTIONS)
    result = run("--gradcheck", "--gradcheck-plots=plots", "--gradcheck-mode=directions")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "plot failed" not in out and "InvalidArgumentError" not in out
    result.stdout.fnmatch_lines(
        ["*no step-sweep plot: the failing check swept no entry (it ran mode=directions*"]
    )
    assert not Path(pytester.path / "plots").exists() or not list(
        (pytester.path / "plots").iterdir()
    )


def test_a_report_that_cannot_be_written_is_said_even_when_nothing_was_checked(
    pytester: pytest.Pytester, run
) -> None:
    pytester.makepyfile(
        test_plain="""
        import pathlib


        def test_plain():
            out = pathlib.Path("out")
            out.rmdir()
            out.write_text("")
        """
    )
    (pytester.path / "out").mkdir()
    result = run("--gradcheck", "--gradcheck-report=out/r.json")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    result.stdout.fnmatch_lines(["*gradtest: error: cannot write the JSON report to *r.json: *"])
