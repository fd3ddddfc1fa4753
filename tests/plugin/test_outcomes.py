"""What a pytest user sees for each outcome of a decorated check (real pytest sessions)."""

from __future__ import annotations

import json
import re
import shlex

import hypothesis
import pytest

from .conftest import plugin_args

#: hypothesis's CI profile (CI=true) derandomizes: no seed to print, the run replays as is
DERANDOMIZED = bool(hypothesis.settings.default.derandomize)

INCONCLUSIVE = """
import numpy as np
import gradtest


@gradtest.gradcheck(wrt="w", w=np.zeros(3))
def test_abs_at_its_kink(w):
    return float(np.sum(np.abs(w))), np.sign(w)
"""

TRANSPOSED = """
import numpy as np
import gradtest
import gradtest.strategies as gs


@gradtest.gradcheck(wrt="W", W=gs.weights((2, 3)))
def test_transposed(W):
    return float(np.sum(W**2)), (2 * W).T
"""

RANDOM_FAILURE = """
import numpy as np
import gradtest
import gradtest.strategies as gs


@gradtest.gradcheck(wrt="w", w=gs.weights(gs.dim("n", max_value=3)), max_examples=20)
def test_cube(w):
    return float(np.sum(w**3)), 2 * w**2
"""

FLOAT32 = """
import numpy as np
import gradtest
import gradtest.strategies as gs


@gradtest.gradcheck(wrt="w", w=gs.weights(3, dtype=np.float32), max_examples=10)
def test_square32(w):
    return float(np.sum(w.astype(np.float64) ** 2)), 2 * w
"""


@pytest.fixture
def run(pytester: pytest.Pytester):  # type: ignore[no-untyped-def]
    def run_inline(*args: str) -> pytest.RunResult:
        return pytester.runpytest(*plugin_args(), *args)

    return run_inline


def test_an_inconclusive_check_fails_unless_accepted(pytester: pytest.Pytester, run) -> None:
    pytester.makepyfile(test_kink=INCONCLUSIVE)
    result = run("--gradcheck", "--gradcheck-report=r.json")
    result.assert_outcomes(failed=1)
    assert "@seed(" not in result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "gradcheck test_abs_at_its_kink: INCONCLUSIVE: 1 of 1 inputs were rejected*",
            "Why the check could not judge them (by kind of reason):",
            "  - 1 input; the first: 3 entries at a kink*",
            "Fixes: keep the inputs away from the kinks*",
            "reproduce with: pytest --gradcheck*test_kink.py::test_abs_at_its_kink*",
            "test_kink.py:*: InconclusiveGradcheckError in @gradcheck test_abs_at_its_kink",
            "*= gradtest: 1 inconclusive =*",
            "FAILED test_kink.py::test_abs_at_its_kink - gradcheck test_abs_at_its_kink*",
        ]
    )
    check = json.loads((pytester.path / "r.json").read_text())["checks"][0]
    assert (check["verdict"], check["accepted"], check["n_rejected"]) == ("inconclusive", False, 1)
    assert "INCONCLUSIVE" in check["summary"]

    for args, ini in ((["--gradcheck-accept-inconclusive"], ""),
                      ([], "[pytest]\ngradcheck_accept_inconclusive = true\n")):  # fmt: skip
        pytester.makeini(ini or "[pytest]\n")
        accepted = run("--gradcheck", "-W", "default", *args)
        accepted.assert_outcomes(passed=1, warnings=1)
        accepted.stdout.fnmatch_lines(
            ["*InconclusiveWarning: gradcheck test_abs_at_its_kink: INCONCLUSIVE*",
             "test_kink.py::test_abs_at_its_kink  inconclusive (ok)*"]
        )  # fmt: skip


def test_a_user_mistake_shows_the_message_and_counts_as_error(
    pytester: pytest.Pytester, run
) -> None:
    pytester.makepyfile(test_mistake=TRANSPOSED)
    result = run("--gradcheck", "--gradcheck-report=r.json", "-rf")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "gradcheck test_transposed: the gradient returned by fun for W has shape (3, 2) but W "
            "has shape (2, 3): did you return the transpose?",
            "for this input (shrunk by hypothesis):",
            "    W = np.array([[]*",
            "test_mistake.py:*: InvalidArgumentError in @gradcheck test_transposed",
            "*= gradtest: 1 error =*",
            "test_mistake.py::test_transposed  error*",
            "FAILED test_mistake.py::test_transposed - gradcheck test_transposed: the gra*",
        ]
    )
    for internal in ("_runner.py", "_decorator.py", "pluggy/", "_pytest/", "hypothesis/"):
        assert internal not in out
    report = json.loads((pytester.path / "r.json").read_text())
    assert report["summary"]["total"] == 1 and report["summary"]["error"] == 1
    (check,) = report["checks"]
    assert check["verdict"] == "error"
    assert check["error"].startswith(
        "InvalidArgumentError: gradcheck test_transposed: the gradient"
    )
    assert check["example"].startswith("W = np.array([[")
    assert check["reproduce"].startswith(
        "pytest --gradcheck" if DERANDOMIZED else "pytest --gradcheck --gradcheck-seed="
    )


def test_the_reproduce_line_replays_the_failure_as_printed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_random=RANDOM_FAILURE)
    first = pytester.runpytest_subprocess(
        *plugin_args(), "--gradcheck", "--gradcheck-report=r.json"
    )
    first.assert_outcomes(failed=1)
    (line,) = [ln for ln in first.stdout.lines if ln.startswith("reproduce with: ")]
    command = shlex.split(line.removeprefix("reproduce with: "))
    assert command[:2] == ["pytest", "--gradcheck"]
    # the seed, unless hypothesis runs derandomized (its CI profile), which replays anyway
    assert re.fullmatch(r"--gradcheck-seed=\d+", command[2]) or DERANDOMIZED
    assert command[-1] == "test_random.py::test_cube"
    check = json.loads((pytester.path / "r.json").read_text())["checks"][0]
    assert check["reproduce"] == line.removeprefix("reproduce with: ")
    assert check["example"] is not None and check["example"].startswith("w = np.array(")
    (pytester.path / "test_other.py").write_text("def test_unrelated():\n    pass\n")
    again = pytester.runpytest_subprocess(*plugin_args(), *command[1:])
    again.assert_outcomes(failed=1)  # only the check, which fails again on the same input
    assert f"    {check['example']}" in again.stdout.lines


def test_table_counts_all_evaluations_judged_and_rejected_inputs(
    pytester: pytest.Pytester, run
) -> None:
    pytester.makepyfile(
        test_sine="""
        import numpy as np
        import gradtest
        import gradtest.strategies as gs

        @gradtest.gradcheck(wrt="w", w=gs.weights(3), max_examples=8)
        def test_sine(w):
            return float(np.sum(np.sin(w))), np.cos(w)
        """
    )
    result = run("--gradcheck", "--gradcheck-report=r.json", "--gradcheck-seed=1")
    result.assert_outcomes(passed=1)
    check = json.loads((pytester.path / "r.json").read_text())["checks"][0]
    assert check["n_examples"] == 8 and check["n_rejected"] == 0
    # every input costs at least the set-up and a screen: the column is the sum, not one
    # input's count
    assert check["n_evals"] > 8 * 8
    result.stdout.fnmatch_lines(
        [
            "check * verdict * max rel.err * evals * judged * rejected * time",
            f"test_sine.py::test_sine * pass * {check['n_evals']} * 8 * 0 *",
        ]
    )


def test_the_float32_warning_is_given_once_per_check(pytester: pytest.Pytester, run) -> None:
    pytester.makepyfile(test_f32=FLOAT32)
    result = run("--gradcheck", "-W", "default", "--gradcheck-report=r.json")
    result.assert_outcomes(passed=1, warnings=1)
    assert result.stdout.str().count("x has float32 entries") == 2  # the warning, the note
    notes = json.loads((pytester.path / "r.json").read_text())["checks"][0]["notes"]
    assert len([n for n in notes if n.startswith("x has float32 entries")]) == 1


def test_no_checks_collected_is_said(pytester: pytest.Pytester, run) -> None:
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = run("--gradcheck")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*= gradtest: no gradient checks collected =*"])
    assert "no gradient checks collected" not in run().stdout.str()


def test_an_inconclusive_fixture_check_fails_too(pytester: pytest.Pytester, run) -> None:
    pytester.makepyfile(
        test_fixture_kink="""
        import numpy as np

        def test_abs(gradcheck):
            gradcheck(lambda w: float(np.sum(np.abs(w))), np.sign, np.zeros(3))
        """
    )
    result = run("--gradcheck-report=r.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*An inconclusive check verified nothing, so it fails*"])
    accepted = run("--gradcheck-accept-inconclusive", "-W", "default")
    accepted.assert_outcomes(passed=1, warnings=1)


def test_a_bad_tool_gradtest_value_is_a_usage_error(pytester: pytest.Pytester, run) -> None:
    pytester.makepyprojecttoml('[tool.gradtest]\nmode = "fulll"\n')
    result = run("--gradcheck")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*pyproject.toml: [[]tool.gradtest[]] mode = 'fulll': expected one of auto, full, *"]
    )
