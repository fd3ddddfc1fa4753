"""What a pytest user sees for each outcome of a decorated or fixture check (real sessions)."""

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


FIXTURE_MISTAKES = """
import numpy as np

W0 = np.linspace(0.1, 1.2, 12).reshape(3, 4)


def loss(W):
    return float(np.sum(W**3))


def broken(W):
    raise KeyError("missing weights")


def test_transposed(gradcheck):
    gradcheck(loss, lambda W: (3 * W**2).T, W0)


def test_raises(gradcheck):
    gradcheck(broken, lambda W: 3 * W**2, W0)
"""

FIXTURE_FAILURES = """
import numpy as np


def square(w):
    return float(np.sum(w**2))


def test_wrong(gradcheck):
    gradcheck(square, lambda w: 2 * w, np.ones(3))  # passes, with the test's seed too
    gradcheck(square, lambda w: w, np.ones(3))


def test_wrong_seeded(gradcheck):
    gradcheck(square, lambda w: w, np.ones(3), seed=7)
"""

#: the internals a failure of the fixture must not show
INTERNALS = ("pytest_gradtest.py", "_check.py", "_setup.py", "_params.py", "_evaluate.py")


def reproduce_lines(result: pytest.RunResult) -> list[str]:
    """The commands of the run's ``reproduce with:`` lines, in the order printed."""
    prefix = "reproduce with: "
    return [ln.removeprefix(prefix) for ln in result.stdout.lines if ln.startswith(prefix)]


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
    # the ini file accepts inconclusive checks; a strict run on the command line does not
    strict = run("--gradcheck", "--no-gradcheck-accept-inconclusive")
    strict.assert_outcomes(failed=1)
    strict.stdout.fnmatch_lines(["*= gradtest: 1 inconclusive =*"])


def test_the_replay_line_of_an_accepted_inconclusive_check_accepts_it_too(
    pytester: pytest.Pytester, run
) -> None:
    # without the flag, the pasted line failed a test the run had passed
    pytester.makepyfile(test_kink=INCONCLUSIVE)
    result = run(
        "--gradcheck", "--gradcheck-accept-inconclusive", "--gradcheck-report=r.json",
        "-W", "default",
    )  # fmt: skip
    result.assert_outcomes(passed=1, warnings=1)
    check = json.loads((pytester.path / "r.json").read_text())["checks"][0]
    assert check["accepted"] is True
    assert "--gradcheck-accept-inconclusive" in check["reproduce"]
    command = shlex.split(check["reproduce"])
    assert command[:2] == ["pytest", "--gradcheck"]
    run(*command[1:], "-W", "default").assert_outcomes(passed=1, warnings=1)


def test_a_user_mistake_shows_the_message_and_counts_as_error(
    pytester: pytest.Pytester, run
) -> None:
    pytester.makepyfile(test_mistake=TRANSPOSED)
    result = run("--gradcheck", "--gradcheck-report=r.json", "-rf")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "gradcheck test_transposed: test_transposed returned a gradient for W of shape "
            "(3, 2), but W has shape (2, 3): did you return the transpose?",
            "for this input (shrunk by hypothesis):",
            "    W = np.array([[]*",
            "test_mistake.py:*: InvalidArgumentError in @gradcheck test_transposed",
            "*= gradtest: 1 error =*",
            "test_mistake.py::test_transposed  error*",
            "FAILED test_mistake.py::test_transposed - gradcheck test_transposed: test_tr*",
        ]
    )
    for internal in ("_runner.py", "_decorator.py", "pluggy/", "_pytest/", "hypothesis/"):
        assert internal not in out
    report = json.loads((pytester.path / "r.json").read_text())
    assert report["summary"]["total"] == 1 and report["summary"]["error"] == 1
    (check,) = report["checks"]
    assert check["verdict"] == "error"
    assert check["error"].startswith(
        "InvalidArgumentError: gradcheck test_transposed: test_transposed returned a gradient"
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
    result.stdout.fnmatch_lines(
        [
            "*An inconclusive check verified nothing, so it fails*",
            "reproduce with: pytest --gradcheck --gradcheck-seed=* test_fixture_kink.py::test_abs",
        ]
    )
    check = json.loads((pytester.path / "r.json").read_text())["checks"][0]
    assert check["reproduce"] == reproduce_lines(result)[0]
    assert check["accepted"] is False
    accepted = run("--gradcheck-accept-inconclusive", "-W", "default", "--gradcheck-report=a.json")
    accepted.assert_outcomes(passed=1, warnings=1)
    accepted.stdout.fnmatch_lines(["test_fixture_kink.py::test_abs::<lambda>  inconclusive (ok)*"])
    assert json.loads((pytester.path / "a.json").read_text())["checks"][0]["accepted"] is True


def test_a_bad_tool_gradtest_value_is_a_usage_error(pytester: pytest.Pytester, run) -> None:
    pytester.makepyprojecttoml('[tool.gradtest]\nmode = "fulll"\n')
    result = run("--gradcheck")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*pyproject.toml: [[]tool.gradtest[]] mode = 'fulll': expected one of auto, full, *"]
    )


def test_a_user_mistake_in_a_fixture_call_shows_the_message_and_counts_as_error(
    pytester: pytest.Pytester, run
) -> None:
    pytester.makepyfile(test_mistakes=FIXTURE_MISTAKES)
    result = run("--gradcheck", "--gradcheck-report=r.json", "-rf", "-k", "transposed")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_transposed _*",
            "grad has shape (4, 3) but x has shape (3, 4): did you return the transpose?",
            "reproduce with: pytest --gradcheck --gradcheck-seed=* test_mistakes.py::test_transposed",
            "test_mistakes.py:15: InvalidArgumentError in: gradcheck(loss, lambda W: (3 * W**2).T, W0)",
            "*= gradtest: 1 error =*",
            "test_mistakes.py::test_transposed::loss  error*",
            "FAILED test_mistakes.py::test_transposed - grad has shape (4, 3)*",
        ]
    )
    out = result.stdout.str()
    assert "Traceback" not in out
    for internal in INTERNALS:
        assert internal not in out
    report = json.loads((pytester.path / "r.json").read_text())
    assert report["summary"]["total"] == 1 and report["summary"]["error"] == 1
    (check,) = report["checks"]
    assert (check["id"], check["source"], check["verdict"]) == (
        "test_mistakes.py::test_transposed::loss", "fixture", "error"
    )  # fmt: skip
    assert check["error"].startswith("InvalidArgumentError: grad has shape (4, 3) but x has")
    assert check["reproduce"] == reproduce_lines(result)[0]
    assert check["reproduce"].endswith(
        f"--gradcheck-seed={check['seed']} test_mistakes.py::test_transposed"
    )


def test_a_loss_that_raises_in_a_fixture_call_shows_only_the_users_frames(
    pytester: pytest.Pytester, run
) -> None:
    pytester.makepyfile(test_mistakes=FIXTURE_MISTAKES)
    result = run("--gradcheck-report=r.json", "-k", "raises")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_raises _*",
            "broken raised KeyError at evaluation 1 (base: x): 'missing weights'",
            "reproduce with: pytest --gradcheck --gradcheck-seed=* test_mistakes.py::test_raises",
            "raised in your code:",
            '  File "*test_mistakes.py", line 11, in broken',
            "    raise KeyError(*missing weights*)",
            "KeyError: 'missing weights'",
            "test_mistakes.py:19: FunctionEvaluationError in: "
            "gradcheck(broken, lambda W: 3 * W**2, W0)",
            "*= gradtest: 1 error =*",
        ]
    )
    out = result.stdout.str()
    for internal in INTERNALS:
        assert internal not in out
    (check,) = json.loads((pytester.path / "r.json").read_text())["checks"]
    assert check["verdict"] == "error"
    assert check["error"].startswith("FunctionEvaluationError: broken raised KeyError")


def test_the_fixture_reproduce_line_replays_the_failure_as_printed(
    pytester: pytest.Pytester, run
) -> None:
    pytester.makepyfile(test_failures=FIXTURE_FAILURES)
    first = run("--gradcheck-rtol=1e-3", "--gradcheck-report=r.json")
    first.assert_outcomes(failed=2)
    drawn, explicit = reproduce_lines(first)
    # the seed the check used (the test's own), and the replay options of the run
    seed = re.fullmatch(
        r"pytest --gradcheck --gradcheck-seed=(\d+) --gradcheck-rtol=0.001 "
        r"test_failures.py::test_wrong",
        drawn,
    )
    assert seed is not None
    assert f"; seed={seed[1]}" in first.stdout.str()
    # a seed given in the call is in the test already
    assert (
        explicit == "pytest --gradcheck --gradcheck-rtol=0.001 test_failures.py::test_wrong_seeded"
    )
    checks = json.loads((pytester.path / "r.json").read_text())["checks"]
    failing = {c["id"]: c for c in checks if c["verdict"] == "fail"}
    assert failing["test_failures.py::test_wrong::square#2"]["reproduce"] == drawn
    assert failing["test_failures.py::test_wrong::square#2"]["seed"] == int(seed[1])
    assert failing["test_failures.py::test_wrong_seeded::square"]["reproduce"] == explicit

    for line, test, used in ((drawn, "test_wrong", seed[1]), (explicit, "test_wrong_seeded", "7")):
        again = run(*shlex.split(line)[1:])
        again.assert_outcomes(failed=1)  # only that test, which fails again the same way
        again.stdout.fnmatch_lines(
            [f"*_ {test} _*", "FAIL square wrt x: max relative error 5.0e-01 at x*",
             f"*; seed={used}", f"reproduce with: {line}"]
        )  # fmt: skip


def test_reproduce_lines_work_in_the_directory_pytest_was_run_from(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyprojecttoml("[tool.pytest.ini_options]\n")
    tests = pytester.mkdir("tests")
    (tests / "test_random.py").write_text(RANDOM_FAILURE)
    (tests / "test_failures.py").write_text(FIXTURE_FAILURES)
    monkeypatch.chdir(tests)
    first = pytester.runpytest_subprocess(
        *plugin_args(), "--gradcheck", "-k", "cube or seeded", "--gradcheck-report=r.json"
    )
    first.assert_outcomes(failed=2, deselected=1)
    # the report given on the command line lands where pytest ran, as --junitxml does
    # (it landed in the rootdir, where its reproduce lines do not work)
    report = json.loads((tests / "r.json").read_text())
    assert sorted(c["reproduce"] for c in report["checks"]) == sorted(reproduce_lines(first))
    lines = reproduce_lines(first)
    # relative to the directory pytest ran in, not to the rootdir (tests/test_random.py)
    assert sorted(shlex.split(line)[-1] for line in lines) == [
        "test_failures.py::test_wrong_seeded",
        "test_random.py::test_cube",
    ]
    for line in lines:
        again = pytester.runpytest_subprocess(*plugin_args(), *shlex.split(line)[1:])
        again.assert_outcomes(failed=1)
        again.stdout.fnmatch_lines([f"FAILED {shlex.split(line)[-1]} - *"])
