"""Build the wheel, install it in a fresh virtual environment, run the example project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = Path(__file__).resolve().parent / "example_project"


def _run(*cmd: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_wheel_ships_the_plugin_and_the_command_line_tool(tmp_path: Path) -> None:
    isolation = [] if _has("hatchling") else ["--use-pep517"]
    no_isolation = ["--no-build-isolation"] if _has("hatchling") else []
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", *no_isolation, *isolation,
                 "-w", tmp_path / "dist", ROOT)  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("gradtest-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(zf.read(n) for n in names if n.endswith("entry_points.txt")).decode()
    assert {"pytest_gradtest.py", "gradtest_cli.py", "gradtest/__main__.py"} <= names
    assert not any(n.startswith("plugins/") for n in names)
    assert "[pytest11]\ngradtest = pytest_gradtest" in entry_points
    assert "gradtest = gradtest_cli:main" in entry_points

    # numpy, scipy, hypothesis and pytest come from the running interpreter: no download
    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", "--system-site-packages", venv).returncode == 0
    python = venv / "bin" / "python"
    installed = _run(python, "-m", "pip", "install", "--no-deps", "--no-index", wheel)
    assert installed.returncode == 0, installed.stderr
    where = _run(python, "-c", "import gradtest, pytest_gradtest, gradtest_cli as c; "
                 "print(gradtest.__file__, pytest_gradtest.__file__, c.__file__)", cwd=tmp_path)  # fmt: skip
    assert all(str(venv) in f for f in where.stdout.split()), where.stdout

    project = tmp_path / "project"
    shutil.copytree(EXAMPLE, project)
    result = _run(python, "-m", "pytest", "--gradcheck", "-p", "no:cacheprovider", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gradtest: gradient checks on" in result.stdout
    assert "= gradtest: 3 pass =" in result.stdout
    assert "src/example_losses/losses.py::test_softmax_loss" in result.stdout

    skipped = _run(python, "-m", "pytest", "-p", "no:cacheprovider", "-rs", cwd=project)
    assert skipped.returncode == 0, skipped.stdout
    assert "run pytest with --gradcheck to run it" in skipped.stdout

    disabled = _run(python, "-m", "pytest", "-p", "no:gradtest", "--gradcheck", cwd=project)
    assert disabled.returncode == pytest.ExitCode.USAGE_ERROR
    assert "unrecognized arguments: --gradcheck" in disabled.stderr

    listed = _run(venv / "bin" / "gradtest", "--list", "src", cwd=project)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["src/example_losses/losses.py::test_softmax_loss"]
    module = _run(python, "-m", "gradtest", "tests", cwd=project)
    assert module.returncode == 0, module.stdout + module.stderr
    assert "gradtest: 1 pass" in module.stdout


def _has(module: str) -> bool:
    from importlib.util import find_spec

    return find_spec(module) is not None


@pytest.mark.slow
def test_an_editable_install_runs_the_edited_plugin_and_command(tmp_path: Path) -> None:
    """No copies of plugins/*.py in site-packages: an edit shows at once."""
    pytest.importorskip("hatchling")
    checkout = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("gradtest", "plugins"):
        shutil.copytree(ROOT / name, checkout / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, checkout / name)
    built = _run(sys.executable, "-c", "from hatchling.build import build_editable; "
                 "print(build_editable('dist'))", cwd=checkout)  # fmt: skip
    assert built.returncode == 0, built.stderr
    wheel = checkout / "dist" / built.stdout.split()[-1]
    with zipfile.ZipFile(wheel) as zf:
        assert not {"pytest_gradtest.py", "gradtest_cli.py"} & set(zf.namelist())
    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", "--system-site-packages", venv).returncode == 0
    installed = _run(venv / "bin" / "python", "-m", "pip", "install", "--no-deps", "--no-index",
                     wheel)  # fmt: skip
    assert installed.returncode == 0, installed.stderr

    cli = checkout / "plugins" / "gradtest_cli.py"
    cli.write_text(cli.read_text().replace('prog="gradtest",', 'prog="gradtest-edited",'))
    plugin = checkout / "plugins" / "pytest_gradtest.py"
    plugin.write_text(plugin.read_text().replace("gradient checks (gradtest)", "edited group"))
    helped = _run(venv / "bin" / "gradtest", "--help", cwd=tmp_path)
    assert helped.stdout.startswith("usage: gradtest-edited"), helped.stdout + helped.stderr
    pytest_help = _run(venv / "bin" / "python", "-m", "pytest", "--help", cwd=tmp_path)
    assert "edited group:" in pytest_help.stdout, pytest_help.stdout + pytest_help.stderr
