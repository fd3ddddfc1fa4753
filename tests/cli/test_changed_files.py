"""``gradtest --changed`` (the pre-commit hook) on files that do not parse, and its wording."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

GOOD = """
import numpy as np
import gradtest


@gradtest.gradcheck(wrt="w", w=np.array([1.0, 2.0, 0.5]))
def test_sine(w):
    return float(np.sum(np.sin(w))), np.cos(w)
"""

#: a check file with a syntax error further down (a commit in the middle of an edit)
BROKEN = GOOD + "\n\ndef unfinished(:\n    pass\n"


def _gradtest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gradtest", *args], cwd=cwd, capture_output=True, text=True
    )


def test_changed_runs_a_check_file_that_does_not_parse(tmp_path: Path) -> None:
    """A check file committed with a syntax error is an import error, not 'nothing to
    check' (which let the commit through)."""
    (tmp_path / "test_broken.py").write_text(BROKEN)
    (tmp_path / "notes.py").write_text("x = (\n")  # no checks: still nothing to run
    out = _gradtest(tmp_path, "--changed", "test_broken.py")
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stdout.splitlines()[:2] == [
        "gradtest: 1 changed Python file (test_broken.py); running the checks in:",
        "  test_broken.py (changed)",
    ]
    assert "cannot import" in out.stderr and "SyntaxError" in out.stderr
    plain = _gradtest(tmp_path, "--changed", "notes.py")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert plain.stdout.strip() == (
        "gradtest: 1 changed Python file (notes.py); no file under the current directory has "
        "gradient checks: nothing to check"
    )


def test_changed_with_one_check_file_reads_as_english(tmp_path: Path) -> None:
    (tmp_path / "test_good.py").write_text(GOOD)
    (tmp_path / "notes.py").write_text("x = 1\n")
    out = _gradtest(tmp_path, "--changed", "notes.py")
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == (
        "gradtest: 1 changed Python file (notes.py); the one file with gradient checks under "
        "the current directory neither is nor imports one of them: nothing to check"
    )


def test_changed_with_json_prints_the_json_document_alone(tmp_path: Path) -> None:
    """Which checks run and why goes to stderr: stdout parses as JSON (it did not)."""
    (tmp_path / "test_good.py").write_text(GOOD)
    out = _gradtest(tmp_path, "--changed", "--json", "test_good.py")
    assert out.returncode == 0, out.stdout + out.stderr
    document = json.loads(out.stdout)
    assert [c["id"] for c in document["checks"]] == ["test_good.py::test_sine"]
    assert out.stderr.splitlines() == [
        "gradtest: 1 changed Python file (test_good.py); running the checks in:",
        "  test_good.py (changed)",
    ]


def test_changed_with_nothing_to_check_still_gives_the_json_report_of_no_checks(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_good.py").write_text(GOOD)
    (tmp_path / "notes.py").write_text("x = 1\n")
    out = _gradtest(tmp_path, "--changed", "--json", "--report", "r.json", "notes.py")
    assert out.returncode == 0, out.stdout + out.stderr
    printed = json.loads(out.stdout)
    written = json.loads((tmp_path / "r.json").read_text())
    for document in (printed, written):
        assert document["checks"] == [] and document["summary"]["total"] == 0
    assert "nothing to check" in out.stderr
