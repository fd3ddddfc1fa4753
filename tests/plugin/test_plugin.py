"""Real pytest sessions (pytester) exercising every option of the plugin."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from .conftest import LOSSES, plugin_args


@pytest.fixture
def run(pytester: pytest.Pytester):  # type: ignore[no-untyped-def]
    def run_inline(*args: str) -> pytest.RunResult:
        return pytester.runpytest(*plugin_args(), *args)

    return run_inline


def test_checks_are_skipped_with_a_reason_without_the_flag(pytester: pytest.Pytester, run) -> None:
    pytester.makepyfile(test_losses=LOSSES)
    pytester.makepyfile(
        test_marked="""
        import pytest

        @pytest.mark.gradcheck
        def test_marked():
            raise AssertionError("must not run without --gradcheck")

        def test_plain():
            pass
        """
    )
    result = run("-rs")
    result.assert_outcomes(passed=1, skipped=3)
    result.stdout.fnmatch_lines(
        [
            "gradtest: gradient checks skipped (run with --gradcheck)",
            "SKIPPED [[]2[]] test_losses.py*: gradient check: run pytest with --gradcheck to run it",
            "SKIPPED [[]1[]] test_marked.py*: gradient check: run pytest with --gradcheck to run it",
        ]
    )


def test_flag_runs_checks_and_a_failure_shows_the_report(pytester: pytest.Pytester, run) -> None:
    pytester.makepyfile(test_losses=LOSSES)
    result = run("--gradcheck")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ gradcheck test_cube _*",
            "FAIL test_cube wrt w: max relative error 3.3e-01 at w*",
            "*step sweep for w*",
            "test_losses.py:*: GradientError in @gradcheck test_cube",
            "*= gradtest: 1 fail, 1 pass =*",
            "check *verdict *max rel.err *evals *time",
            "test_losses.py::test_cube *fail *3.3e-01 *",
            "test_losses.py::test_sine *pass *",
            "FAILED test_losses.py::test_cube - *",
        ]
    )
    # the report, not a traceback through gradtest's internals
    assert "_decorator.py" not in result.stdout.str()
    assert "Traceback" not in result.stdout.str()


def test_imported_checks_are_collected_only_where_defined(pytester: pytest.Pytester, run) -> None:
    pytester.makepyfile(losslib=LOSSES)
    pytester.makepyfile(test_imports="from losslib import test_cube, test_sine  # noqa: F401")
    pytester.syspathinsert()
    result = run("--gradcheck")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_marked_tests_run_with_the_flag(pytester: pytest.Pytester, run) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.gradcheck
        def test_marked():
            pass
        """
    )
    run("--gradcheck", "--strict-markers").assert_outcomes(passed=1)
    run("--strict-markers").assert_outcomes(skipped=1)


def test_marker_is_registered(run) -> None:
    run("--markers").stdout.fnmatch_lines(["@pytest.mark.gradcheck: a gradient check;*"])


def test_help_lists_every_option_with_its_metavar(run) -> None:
    out = run("--help").stdout
    out.fnmatch_lines(
        [
            "gradient checks (gradtest):",
            "*--gradcheck *run the gradient checks (default: skip them; ini:",
            "*--gradcheck-rtol=FLOAT*",
            "*--gradcheck-max-examples=N*",
            "*--gradcheck-mode={auto,full,directions}*",
            "*--gradcheck-seed=N*",
            "*--gradcheck-report=PATH*",
            "*--gradcheck-plots=DIR*",
            "*--gradcheck-modules=MODULE[[],MODULE...[]]*",
        ]
    )
    for ini in ("gradcheck_rtol", "gradcheck_max_examples", "gradcheck_mode", "gradcheck_seed",
                "gradcheck_report", "gradcheck_plots", "gradcheck_modules"):  # fmt: skip
        out.fnmatch_lines([f"  {ini} (*"])
    # generated from the one table of settings, with the same help text as the command's
    from gradtest._config import OPTIONS

    text = " ".join(out.str().split())
    for option in OPTIONS:
        assert option.pytest_option in text and f"  {option.ini} (" in out.str()
        assert " ".join(option.help_text().split()) in text


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (["--gradcheck-rtol=abc"], "", "--gradcheck-rtol: expected a positive number, got 'abc'"),
        (["--gradcheck-rtol=-1"], "", "--gradcheck-rtol: expected a positive finite number, got '-1'"),
        (["--gradcheck-max-examples=0"], "", "--gradcheck-max-examples: expected a positive integer, got '0'"),
        (["--gradcheck-mode=fast"], "", "--gradcheck-mode: expected one of auto, full, directions, got 'fast'"),
        (["--gradcheck-seed=-3"], "", "--gradcheck-seed: expected a non-negative integer, got '-3'"),
        ([], "gradcheck_rtol = nan", "the ini option gradcheck_rtol: expected a positive finite number, got 'nan'"),
        ([], "gradcheck_mode = FULL", "the ini option gradcheck_mode: expected one of auto, full, directions, got 'FULL'"),
    ],
)  # fmt: skip
def test_bad_option_values_are_rejected_showing_the_value(
    pytester: pytest.Pytester, run, args: list[str], ini: str, message: str
) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    result = run(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_a_bad_ini_value_names_the_file_or_the_option_that_set_it(
    pytester: pytest.Pytester, run
) -> None:
    pytester.makeini("[pytest]\ngradcheck_max_examples = abc\n")
    result = run("--gradcheck")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: {pytester.path / 'tox.ini'}: the ini option gradcheck_max_examples: "
            "expected a positive integer, got 'abc'"
        ]
    )
    # a value given with -o is not in the file
    result = run("--gradcheck", "-o", "gradcheck_max_examples=xyz")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: -o gradcheck_max_examples: expected a positive integer, got 'xyz'"]
    )
    (pytester.path / "tox.ini").unlink()
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\ngradcheck_mode = "fulll"\n')
    result = run("--gradcheck")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: {pytester.path / 'pyproject.toml'}: [[]tool.pytest.ini_options[]] "
            "gradcheck_mode: expected one of auto, full, directions, got 'fulll'"
        ]
    )


def test_the_settings_come_from_the_rootdirs_files_not_the_current_directorys(
    pytester: pytest.Pytester, run
) -> None:
    """Run from the top of a repository whose package has its own pytest configuration:
    the header and the report said max_examples=auto and no seed while the checks used
    [tool.gradtest] of the current directory's pyproject.toml, which pytest did not read."""
    pytester.makepyprojecttoml("[tool.gradtest]\nmax_examples = 7\nseed = 5\n")
    pkg = pytester.mkpydir("pkg")
    (pkg / "pyproject.toml").write_text("[tool.pytest.ini_options]\nxfail_strict = true\n")
    (pkg / "test_sq.py").write_text(
        "import numpy as np\n"
        "import gradtest\n"
        "import gradtest.strategies as gs\n\n\n"
        '@gradtest.gradcheck(wrt="w", w=gs.weights(gs.dim("n")), max_examples=12)\n'
        "def test_sq(w):\n"
        "    return float(w @ w), 2 * w\n"
    )
    result = run("--gradcheck", "--gradcheck-report=r.json", "pkg")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "gradtest: gradient checks on (rtol=auto, max_examples=auto, mode=auto, seed=auto)",
            f"rootdir: *{pkg.name}",
            "configfile: pyproject.toml",
        ]
    )
    report = json.loads((pytester.path / "r.json").read_text())
    assert report["settings"]["max_examples"] is None and report["settings"]["seed"] is None
    (check,) = report["checks"]
    # the decorator's max_examples, as the header says, and a seed of hypothesis's own
    assert check["n_examples"] == 12 and check["seed"] != 5


def test_ini_twins_configure_the_run(pytester: pytest.Pytester, run) -> None:
    pytester.makeini(
        """
        [pytest]
        gradcheck = true
        gradcheck_rtol = 1e-3
        gradcheck_mode = full
        gradcheck_seed = 7
        gradcheck_max_examples = 3
        gradcheck_report = out/report.json
        """
    )
    pytester.makepyfile(test_losses=LOSSES)
    result = run()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["gradtest: gradient checks on (rtol=0.001, max_examples=3, mode=full, seed=7)"]
    )
    report = json.loads((pytester.path / "out" / "report.json").read_text())
    assert report["settings"] == {
        "rtol": 0.001,
        "max_examples": 3,
        "mode": "full",
        "seed": 7,
        "accept_inconclusive": False,
    }
    assert {c["seed"] for c in report["checks"]} == {7}


def test_command_line_overrides_the_ini_option(pytester: pytest.Pytester, run) -> None:
    pytester.makeini("[pytest]\ngradcheck_rtol = 1e-3\n")
    result = run("--gradcheck-rtol=0.5")
    result.stdout.fnmatch_lines(["gradtest: gradient checks skipped*"])
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result = run("--gradcheck", "--gradcheck-rtol=0.5")
    result.stdout.fnmatch_lines(["gradtest: gradient checks on (rtol=0.5, *"])


def test_json_report_lists_every_check(pytester: pytest.Pytester, run) -> None:
    pytester.makepyfile(test_losses=LOSSES)
    result = run("--gradcheck", "--gradcheck-report=report.json", "--gradcheck-seed=3")
    result.stdout.fnmatch_lines(["gradtest JSON report: *report.json"])
    report = json.loads((pytester.path / "report.json").read_text())
    assert report["schema"] == 2
    assert report["tool"] == "pytest"
    assert report["summary"] == {"total": 2, "fail": 1, "error": 0, "inconclusive": 0, "pass": 1}
    cube, sine = report["checks"]  # failures first
    assert cube["id"] == "test_losses.py::test_cube"
    assert cube["verdict"] == "fail"
    assert cube["max_rel_error"] == pytest.approx(1 / 3, rel=1e-3)
    assert cube["worst"]["label"].startswith("w[")
    assert cube["n_evals"] > 0
    assert "0.666667 × numeric" in cube["diagnosis"]["summary"]
    assert cube["seed"] == 3
    assert sine["verdict"] == "pass"
    assert sine["max_rel_error"] < 1e-6


def test_fixture_checks_in_ordinary_tests(pytester: pytest.Pytester, run) -> None:
    pytester.makepyfile(
        """
        import numpy as np

        def square(w):
            return float(np.sum(w**2))

        def test_right(gradcheck):
            result = gradcheck(square, lambda w: 2 * w, np.ones(3))
            assert result.passed

        def test_wrong(gradcheck):
            gradcheck(square, lambda w: w, np.ones(3))

        def test_slightly_off(gradcheck):
            gradcheck(square, lambda w: 2 * w * (1 + 1e-4), np.ones(3))

        def test_jacobian(gradcheck):
            result = gradcheck.jacobian(lambda w: w**2, lambda w: np.diag(2 * w), np.ones(2))
            assert result.passed
        """
    )
    result = run("-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_wrong _*",
            "FAIL square wrt x: max relative error 5.0e-01 at x*",
            "test_fixture_checks_in_ordinary_tests.py:*: GradientError in: "
            "gradcheck(square, lambda w: w, np.ones(3))",
        ]
    )
    assert "_check.py" not in result.stdout.str()
    # --gradcheck-rtol is the default rtol of the fixture
    run("--gradcheck-rtol=1e-3").assert_outcomes(passed=3, failed=1)


def test_junitxml_records_the_relative_error(pytester: pytest.Pytester, run) -> None:
    pytester.makepyfile(test_losses=LOSSES)
    run("--gradcheck", "--junitxml=junit.xml")
    root = ET.parse(pytester.path / "junit.xml").getroot()
    props = {
        case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in root.iter("testcase")
    }
    assert float(props["test_cube"]["gradcheck_max_rel_error"]) == pytest.approx(1 / 3, rel=1e-3)
    assert props["test_cube"]["gradcheck_verdict"] == "fail"
    assert float(props["test_sine"]["gradcheck_max_rel_error"]) < 1e-6
    failure = next(root.iter("failure"))
    assert "test_cube" in failure.get("message", "")


def test_k_selects_checks(pytester: pytest.Pytester, run) -> None:
    pytester.makepyfile(test_losses=LOSSES)
    result = run("--gradcheck", "-k", "sine")
    result.assert_outcomes(passed=1, deselected=1)


def test_last_failed_reruns_only_the_failing_check(pytester: pytest.Pytester, run) -> None:
    pytester.makepyfile(test_losses=LOSSES)
    run("--gradcheck").assert_outcomes(passed=1, failed=1)
    result = run("--gradcheck", "--lf")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["run-last-failure: rerun previous 1 failure*"])


def test_modules_option_checks_library_modules(pytester: pytest.Pytester, run) -> None:
    pkg = pytester.mkpydir("mylib")
    (pkg / "losses.py").write_text(LOSSES)
    pytester.makepyfile(test_other="def test_other():\n    pass\n")
    pytester.syspathinsert()
    result = run("--gradcheck", "--gradcheck-modules=mylib.losses", "-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*collected 3 items",
            "mylib/losses.py::test_sine PASSED*",
            "mylib/losses.py::test_cube FAILED*",
        ]
    )
    # the ini twin, and skipped without the flag
    pytester.makeini("[pytest]\ngradcheck_modules = mylib.losses\n")
    run("-rs").assert_outcomes(passed=1, skipped=2)
    run("--gradcheck", "-k", "cube").assert_outcomes(failed=1, deselected=2)


def test_modules_from_tool_gradtest_with_pythonpath_as_the_readme_says(
    pytester: pytest.Pytester, run
) -> None:
    pkg = pytester.mkpydir("mylib")
    (pkg / "losses.py").write_text(LOSSES)
    pytester.makepyprojecttoml(
        """
        [tool.pytest.ini_options]
        pythonpath = ["."]

        [tool.gradtest]
        modules = ["mylib.losses"]
        max_examples = 2
        """
    )
    result = run("--gradcheck", "--gradcheck-report=r.json")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["gradtest: gradient checks on (rtol=auto, max_examples=2, *"])


def test_modules_option_reports_an_import_error(pytester: pytest.Pytester, run) -> None:
    pytester.makepyfile(test_other="def test_other():\n    pass\n")
    result = run("--gradcheck", "--gradcheck-modules=no_such_losses")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "gradtest cannot import 'no_such_losses', listed in --gradcheck-modules, the ini*",
            "*ModuleNotFoundError: No module named 'no_such_losses'",
            "Is the directory that holds it on sys.path? For a module of the project, set "
            'pythonpath = [[]"."[]] (or [[]"src"[]]) in [[]tool.pytest.ini_options[]].',
            "*1 error during collection*",
        ]
    )


def test_a_loss_that_raises_shows_its_own_traceback(pytester: pytest.Pytester, run) -> None:
    pytester.makepyfile(
        """
        import numpy as np
        import gradtest

        @gradtest.gradcheck(wrt="w", w=np.ones(2))
        def test_broken(w):
            raise KeyError("missing weights")
        """
    )
    result = run("--gradcheck")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*KeyError: 'missing weights'*"])


def test_xdist_writes_one_report_on_the_controller(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(test_losses=LOSSES)
    pytester.makepyfile(
        test_fixture="""
        import numpy as np

        def test_fixture(gradcheck):
            gradcheck(lambda w: float(w @ w), lambda w: 2 * w, np.ones(2))
        """
    )
    result = pytester.runpytest_subprocess(
        *plugin_args(), "-n", "2", "--gradcheck", "--gradcheck-report=report.json"
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*= gradtest: 1 fail, 2 pass =*"])
    report = json.loads((pytester.path / "report.json").read_text())
    assert sorted(c["id"] for c in report["checks"]) == [
        "test_fixture.py::test_fixture::<lambda>",
        "test_losses.py::test_cube",
        "test_losses.py::test_sine",
    ]
    # written once, by the controller: no leftover temporary files from the workers
    assert sorted(p.name for p in pytester.path.iterdir() if "report" in p.name) == ["report.json"]


def test_plots_need_matplotlib(
    pytester: pytest.Pytester, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # find_spec() now reports it missing
    result = run("--gradcheck", "--gradcheck-plots=plots")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--gradcheck-plots draws PNG plots with matplotlib, which is not installed: pip "
         "install matplotlib (or the plot extra: pip install -e '.[[]plot[]]' in the clone of "
         "gradtest; gradtest is not on the package index)"]
    )  # fmt: skip


def test_plots_of_failing_checks(pytester: pytest.Pytester, run) -> None:
    pytest.importorskip("matplotlib")
    pytester.makepyfile(test_losses=LOSSES)
    result = run("--gradcheck", "--gradcheck-plots=plots", "--gradcheck-report=r.json")
    result.stdout.fnmatch_lines(["step-sweep plots of failing checks: *plots"])
    png = pytester.path / "plots" / "test_losses.py_test_cube.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in (pytester.path / "plots").iterdir()] == [png.name]
    checks = json.loads((pytester.path / "r.json").read_text())["checks"]
    assert [c["plot"] for c in checks] == [str(png), None]


def test_loading_the_plugin_does_not_import_gradtest() -> None:
    code = (
        "import sys, pytest_gradtest, gradtest_cli; gradtest_cli._build_parser(); "
        "pytest_gradtest._config_module().project_settings(); "
        "print(sorted(m for m in ('gradtest', 'numpy', 'scipy', 'hypothesis') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
