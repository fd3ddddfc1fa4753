"""The ``gradtest`` command line tool, run in-process through ``main`` and as ``python -m``."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from gradtest_cli import Progress, main

GOOD = """
import numpy as np
import gradtest


@gradtest.gradcheck(wrt="w", w=np.array([1.0, 2.0, 0.5]))
def test_sine(w):
    return float(np.sum(np.sin(w))), np.cos(w)
"""

BAD = """
import numpy as np
import gradtest


@gradtest.gradcheck(wrt="w", w=np.array([1.0, 2.0, 0.5]))
def test_cube(w):
    return float(np.sum(w**3)), 2 * w**2  # wrong: 3 w**2
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory with a correct and a buggy loss file; imports are undone afterwards."""
    (tmp_path / "good_loss.py").write_text(GOOD)
    (tmp_path / "bad_loss.py").write_text(BAD)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.endswith("_loss") or name.startswith("pkg"):
            del sys.modules[name]


def test_all_pass_exits_0(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["good_loss.py"]) == 0
    out = capsys.readouterr().out
    assert "[1/1] PASS         good_loss.py::test_sine (" in out
    assert "check " in out and "good_loss.py::test_sine  pass" in out
    assert out.rstrip().splitlines()[-1].startswith("gradtest: 1 pass in ")


def test_a_failure_exits_1_and_prints_the_report(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["good_loss.py", "bad_loss.py"]) == 1
    out = capsys.readouterr().out
    assert "FAIL test_cube wrt w: max relative error 3.3e-01" in out
    assert "step sweep for w[" in out
    assert "gradtest: 1 fail, 1 pass in " in out


def test_quiet_prints_failing_verdicts_and_the_summary_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--quiet", "."]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert "test_cube" in lines[0]
    # (no --seed in a derandomized run, hypothesis's CI profile: it replays without one)
    assert re.fullmatch(
        r"  reproduce with: gradtest (--seed \d+ )?bad_loss\.py::test_cube", lines[1]
    )
    assert lines[2].startswith("gradtest: 1 fail, 1 pass in ")


def test_list_does_not_run(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    assert capsys.readouterr().out.split() == ["bad_loss.py::test_cube", "good_loss.py::test_sine"]


def test_json_and_report(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "--seed", "5", "--report", "out/r.json", "."]) == 1
    printed = json.loads(capsys.readouterr().out)
    written = json.loads((project / "out" / "r.json").read_text())
    assert printed["checks"] == written["checks"]
    assert printed["schema"] == 2 and printed["tool"] == "gradtest"
    assert printed["settings"] == {
        "rtol": None,
        "max_examples": None,
        "mode": None,
        "seed": 5,
        "accept_inconclusive": False,
    }
    assert [(c["id"], c["verdict"], c["seed"]) for c in printed["checks"]] == [
        ("bad_loss.py::test_cube", "fail", 5),
        ("good_loss.py::test_sine", "pass", 5),
    ]
    assert printed["checks"][0]["worst"]["label"].startswith("w[")


def test_rtol_reaches_the_check(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--rtol", "0.5", "--mode", "full", "--max-examples", "2", "bad_loss.py"]) == 0


def test_files_not_mentioning_gradcheck_are_not_imported(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "script.py").write_text("raise SystemExit('imported!')\n")
    assert main(["script.py", "good_loss.py"]) == 0
    assert main(["script.py"]) == 0
    assert "gradtest: no gradient checks found" in capsys.readouterr().out


def test_packages_by_path_and_by_module_name(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pkg = project / "pkg" / "sub"
    pkg.mkdir(parents=True)
    (project / "pkg" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "losses.py").write_text(GOOD)
    assert main(["--list", "pkg/sub/losses.py"]) == 0
    assert main(["--list", "pkg"]) == 0
    assert main(["--list", "pkg.sub.losses"]) == 0
    assert capsys.readouterr().out.split() == ["pkg/sub/losses.py::test_sine"] * 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.py"], "gradtest: error: missing.py: no such file, directory or module"),
        (["no.such.module"], "gradtest: error: no.such.module: no such file, directory or module"),
        (["notes.txt"], "gradtest: error: notes.txt: not a Python file (expected a .py file)"),
        (["broken_loss.py"], "gradtest: error: cannot import broken_loss.py: "
                             "ZeroDivisionError: division by zero"),
        (["--rtol", "-1"], "argument --rtol: expected a positive finite number, got '-1'"),
        (["--max-examples", "x"], "argument --max-examples: expected a positive integer, got 'x'"),
        (["--mode", "fast"], "argument --mode: expected one of auto, full, directions, got 'fast'"),
        (["--seed", "-1"], "argument --seed: expected a non-negative integer, got '-1'"),
        (["--json", "--quiet"], "argument -q/--quiet: not allowed with argument --json"),
    ],
)  # fmt: skip
def test_usage_and_import_errors_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    (project / "notes.txt").write_text("gradcheck")
    (project / "broken_loss.py").write_text("import gradtest  # gradcheck\n1 / 0\n")
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_plots_need_matplotlib(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["--plots", "plots", "bad_loss.py"]) == 2
    # not "pip install 'gradtest[plot]'": gradtest is not on the package index (that
    # would install whatever else is published under the name)
    message = (
        "draws PNG plots with matplotlib, which is not installed: pip install matplotlib (or "
        "the plot extra: pip install -e '.[plot]' in the clone of gradtest; gradtest is not "
        "on the package index)"
    )
    assert f"gradtest: error: --plots {message}" in capsys.readouterr().err
    (project / "pyproject.toml").write_text('[tool.gradtest]\nplots = "plots"\n')
    assert main(["bad_loss.py"]) == 2
    err = capsys.readouterr().err
    assert f"{project / 'pyproject.toml'}: [tool.gradtest] plots {message}" in err


def test_plots_of_failures(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    assert main(["--plots", "plots", "."]) == 1
    assert [p.name for p in (project / "plots").iterdir()] == ["bad_loss.py_test_cube.png"]
    assert "plot: plots/bad_loss.py_test_cube.png" in capsys.readouterr().out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_rewrites_the_line_on_a_terminal_only() -> None:
    tty = _Terminal()
    progress = Progress(tty, 2, enabled=True)
    progress.start(1, "a.py::test_a")
    progress.done(1, "a.py::test_a", "pass", 0.25)
    assert (
        tty.getvalue() == "[1/2] a.py::test_a …\r\x1b[K[1/2] PASS         a.py::test_a (0.25 s)\n"
    )
    log = io.StringIO()
    progress = Progress(log, 2, enabled=True)
    progress.start(1, "a.py::test_a")
    progress.done(1, "a.py::test_a", "fail", 1.5)
    assert log.getvalue() == "[1/2] FAIL         a.py::test_a (1.50 s)\n"


def test_python_dash_m_gradtest(project: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gradtest", "bad_loss.py"], capture_output=True, text=True
    )
    assert out.returncode == 1, out.stderr
    assert "FAIL test_cube wrt w" in out.stdout
    help_ = subprocess.run(
        [sys.executable, "-m", "gradtest", "--help"], capture_output=True, text=True
    )
    assert help_.returncode == 0
    text = " ".join(help_.stdout.split())
    assert (
        "Exit status: 0 all passed, 1 a check failed, raised or was inconclusive, 2 usage or import error"
        in text
    )


def _gradtest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``gradtest`` command, run as a user runs it (a subprocess)."""
    return subprocess.run(
        [sys.executable, "-m", "gradtest", *args], cwd=cwd, capture_output=True, text=True
    )


def test_changed_runs_the_checks_that_import_a_changed_file(tmp_path: Path) -> None:
    """Static import analysis: through packages, relative imports and helper modules."""
    pkg = tmp_path / "src" / "mypkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "core.py").write_text(
        "import numpy as np\n\n\ndef loss(w):\n    return float(np.sum(w**3)), 2 * w**2\n"
    )
    (pkg / "api.py").write_text("from .core import loss\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_pkg.py").write_text(
        "import sys, pathlib\n"
        "sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / 'src'))\n"
        "import numpy as np\nimport gradtest\nfrom mypkg import api\n\n\n"
        "@gradtest.gradcheck(wrt='w', w=np.array([1.0, 2.0]))\n"
        "def test_api(w):\n    return api.loss(w)\n"
    )
    (tmp_path / "tests" / "test_other.py").write_text(GOOD)
    (tmp_path / "never_imported.py").write_text("raise SystemExit('imported!')  # gradcheck\n")
    out = _gradtest(tmp_path, "--changed", "src/mypkg/core.py")
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stdout.splitlines()[:2] == [
        "gradtest: 1 changed Python file (src/mypkg/core.py); running the checks in:",
        "  tests/test_pkg.py (imports src/mypkg/core.py through src/mypkg/api.py)",
    ]
    assert "FAIL         tests/test_pkg.py::test_api" in out.stdout
    assert "test_other" not in out.stdout
    listed = _gradtest(tmp_path, "--changed", "--list", "tests/test_other.py", "README.md")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "gradtest: 1 changed Python file (tests/test_other.py); running the checks in:",
        "  tests/test_other.py (changed)",
        "tests/test_other.py::test_sine",
    ]
    nothing = _gradtest(tmp_path, "--changed", "never_imported.py")
    assert nothing.returncode == 0, nothing.stdout + nothing.stderr
    assert "none of the 2 files with gradient checks" in nothing.stdout


RAISES = """
import numpy as np
import gradtest


def lookup(w):
    return w["missing"]


@gradtest.gradcheck(wrt="w", w=np.array([1.0, 2.0]))
def test_lookup(w):
    return float(np.sum(lookup({"w": w}))), w
"""


def test_a_loss_that_raises_shows_where_in_the_users_code(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "raising_loss.py").write_text(RAISES)
    assert main(["--seed", "3", "raising_loss.py"]) == 1
    out = capsys.readouterr().out
    report = out[out.index("ERROR raising_loss.py::test_lookup") :]
    report = report[: report.index("\n\n\n")]
    where = report[report.index("Where it was raised") :]
    assert re.search(r'File ".*raising_loss\.py", line 12, in test_lookup', where)
    assert re.search(
        r'File ".*raising_loss\.py", line 7, in lookup\n\s+return w\["missing"\]', where
    )
    assert "KeyError: 'missing'" in where
    assert "gradtest/_" not in where and "hypothesis" not in where.split("\n", 1)[1]
    # the line that replays it stays last
    assert (
        report.splitlines()[-1] == "reproduce with: gradtest --seed 3 raising_loss.py::test_lookup"
    )


def test_an_import_error_shows_where_in_the_users_module(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "broken_loss.py").write_text(
        "import gradtest  # gradcheck\n\n\ndef setup():\n    return 1 / 0\n\n\nsetup()\n"
    )
    assert main(["broken_loss.py"]) == 2
    err = capsys.readouterr().err
    assert (
        "gradtest: error: cannot import broken_loss.py: ZeroDivisionError: division by zero" in err
    )
    assert re.search(r'File ".*broken_loss\.py", line 5, in setup\n\s+return 1 / 0', err)
    assert "importlib" not in err
