"""The files the command writes (--report, --plots, --json) and their paths' errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

GOOD = """
import numpy as np
import gradtest


@gradtest.gradcheck(wrt="w", w=np.array([1.0, 2.0, 0.5]))
def test_sine(w):
    return float(np.sum(np.sin(w))), np.cos(w)
"""

#: a wrong gradient of 40 entries: mode=directions checks it by random directions only
WIDE = """
import numpy as np
import gradtest


@gradtest.gradcheck(wrt="w", w=np.linspace(0.1, 1.0, 40))
def test_wide(w):
    return float(np.sum(w**2)), 3 * w
"""


def _gradtest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gradtest", *args], cwd=cwd, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--report", "report.md"],
            "gradtest: error: --report: expected a file name ending in .json (the report is a "
            "JSON document), got the extension '.md' in report.md",
        ),
        (
            ["--report", "out"],
            "gradtest: error: --report: expected a file name ending in .json, got the "
            "directory out",
        ),
        (
            ["--report", "afile/r.json"],
            "gradtest: error: --report: cannot write the JSON report to afile/r.json: afile is "
            "a file, not a directory",
        ),
        (
            ["--plots", "afile"],
            "gradtest: error: --plots: expected a directory for the PNG plots, got the file afile",
        ),
    ],
)
def test_a_path_that_cannot_be_written_is_a_usage_error_before_any_check_runs(
    tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "good_loss.py").write_text(GOOD)
    (tmp_path / "out").mkdir()
    (tmp_path / "afile").write_text("")
    out = _gradtest(tmp_path, *args, "good_loss.py")
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stderr.strip() == message
    assert out.stdout == ""  # nothing ran


def test_a_bad_report_path_in_pyproject_names_the_file_and_the_setting(tmp_path: Path) -> None:
    (tmp_path / "good_loss.py").write_text(GOOD)
    (tmp_path / "pyproject.toml").write_text('[tool.gradtest]\nreport = "gradtest.xml"\n')
    out = _gradtest(tmp_path, "good_loss.py")
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stderr.startswith(
        f"gradtest: error: {tmp_path / 'pyproject.toml'}: [tool.gradtest] report: expected a "
        "file name ending in .json"
    )


def test_a_report_that_cannot_be_written_at_the_end_exits_2_with_a_message(
    tmp_path: Path,
) -> None:
    """Checked at the start; if writing still fails at the end (here: the check replaced
    the directory by a file), the command says so, without a traceback or a stray file."""
    (tmp_path / "out").mkdir()
    (tmp_path / "sneaky_loss.py").write_text(
        GOOD.replace(
            "    return float(",
            "    import pathlib, shutil\n"
            "    if pathlib.Path('out').is_dir():\n"
            "        shutil.rmtree('out')\n"
            "        pathlib.Path('out').write_text('')\n"
            "    return float(",
        )
    )
    out = _gradtest(tmp_path, "--report", "out/r.json", "sneaky_loss.py")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith(
        "gradtest: error: --report: cannot write the JSON report to out/r.json: "
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "sneaky_loss.py"]


def test_plots_of_a_check_by_directions_say_why_there_is_none_and_the_run_goes_on(
    tmp_path: Path,
) -> None:
    pytest.importorskip("matplotlib")
    (tmp_path / "wide_loss.py").write_text(WIDE)
    out = _gradtest(tmp_path, "--mode", "directions", "--plots", "plots", "--report", "r.json", ".")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr and out.stderr == ""
    assert (
        "no step-sweep plot: the failing check swept no entry (it ran mode=directions: "
        "random directions, not entries); mode full sweeps the worst entries" in out.stdout
    )
    assert "gradtest: 1 fail in " in out.stdout
    report = json.loads((tmp_path / "r.json").read_text())  # written all the same
    assert [(c["verdict"], c["plot"]) for c in report["checks"]] == [("fail", None)]


def test_the_readme_lists_the_fields_of_the_json_report(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    paragraph = readme.split("The JSON report is the same document", 1)[1].split("\n\n", 1)[0]
    named = set(re.findall(r"`([a-z_]+)`", paragraph))
    (tmp_path / "good_loss.py").write_text(GOOD)
    out = _gradtest(tmp_path, "--json", "good_loss.py")
    assert out.returncode == 0, out.stdout + out.stderr
    document = json.loads(out.stdout)
    fields = {*document, *document["settings"], *document["summary"], *document["checks"][0]}
    assert fields == named - {"null"}
