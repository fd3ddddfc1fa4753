"""Real pre-commit: the ``gradtest`` hook refuses a commit with a wrong gradient."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

GOOD = """import numpy as np
import gradtest


@gradtest.gradcheck(wrt="w", w=np.array([1.0, 2.0, 0.5]))
def test_sine(w):
    return float(np.sum(np.sin(w))), np.cos(w)
"""

BAD = """import numpy as np
import gradtest


@gradtest.gradcheck(wrt="w", w=np.array([1.0, 2.0, 0.5]))
def test_cube(w):
    return float(np.sum(w**3)), 2 * w**2  # wrong: 3 w**2
"""


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    env.update(
        PRE_COMMIT_HOME=str(home / "pre-commit-cache"),
        # the hook's virtualenv sees numpy, scipy, hypothesis and pytest of this interpreter
        VIRTUALENV_SYSTEM_SITE_PACKAGES="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        GIT_AUTHOR_NAME="gradtest",
        GIT_AUTHOR_EMAIL="gradtest@example.invalid",
        GIT_COMMITTER_NAME="gradtest",
        GIT_COMMITTER_EMAIL="gradtest@example.invalid",
        GIT_CONFIG_NOSYSTEM="1",
        HOME=str(home),
    )
    return env


def _run(cwd: Path, env: dict[str, str], *cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, str]]:
    """A git repository holding this checkout of gradtest (committed changes or not)."""
    if shutil.which("pre-commit") is None or shutil.which("git") is None:
        pytest.skip("needs git and pre-commit (pip install pre-commit)")
    home = tmp_path_factory.mktemp("home")
    env = _env(home)
    repo = tmp_path_factory.mktemp("gradtest-hooks")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, repo / name)
    for name in ("gradtest", "plugins"):
        shutil.copytree(ROOT / name, repo / name, ignore=ignore)
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "gradtest"]):
        assert _run(repo, env, *cmd).returncode == 0
    rev = _run(repo, env, "git", "rev-parse", "HEAD").stdout.strip()
    return repo, rev, env


@pytest.fixture
def user_repo(tmp_path: Path, hook_repo: tuple[Path, str, dict[str, str]]) -> Path:
    repo, rev, env = hook_repo
    (tmp_path / "good_loss.py").write_text(GOOD)
    (tmp_path / "bad_loss.py").write_text(BAD)
    (tmp_path / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repo}\n    rev: {rev}\n    hooks:\n      - id: gradtest\n"
    )
    assert _run(tmp_path, env, "git", "init", "-q").returncode == 0
    return tmp_path


@pytest.mark.slow
def test_try_repo_passes_the_good_file_and_fails_the_buggy_one(
    user_repo: Path, hook_repo: tuple[Path, str, dict[str, str]]
) -> None:
    repo, _, env = hook_repo
    good = _run(user_repo, env, "pre-commit", "try-repo", str(repo), "gradtest",
                "--files", "good_loss.py")  # fmt: skip
    assert good.returncode == 0, good.stdout + good.stderr
    assert "gradtest" in good.stdout and "Passed" in good.stdout
    bad = _run(user_repo, env, "pre-commit", "try-repo", str(repo), "gradtest",
               "--files", "good_loss.py", "bad_loss.py")  # fmt: skip
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout
    assert "FAIL test_cube wrt w: max relative error 3.3e-01" in bad.stdout
    assert "gradtest: 1 fail, 1 pass" in bad.stdout


@pytest.mark.slow
def test_commit_of_a_wrong_gradient_is_refused(
    user_repo: Path, hook_repo: tuple[Path, str, dict[str, str]]
) -> None:
    _, _, env = hook_repo
    assert _run(user_repo, env, "pre-commit", "install").returncode == 0
    _run(user_repo, env, "git", "add", ".pre-commit-config.yaml", "good_loss.py")
    good = _run(user_repo, env, "git", "commit", "-m", "a correct loss")
    assert good.returncode == 0, good.stdout + good.stderr

    _run(user_repo, env, "git", "add", "bad_loss.py")
    bad = _run(user_repo, env, "git", "commit", "-m", "a buggy loss")
    assert bad.returncode != 0
    shown = bad.stdout + bad.stderr  # git prints the hook's output on stderr
    assert "FAIL test_cube wrt w" in shown
    assert "step sweep for w[" in shown
    log = _run(user_repo, env, "git", "log", "--format=%s").stdout.split("\n")
    assert log[0] == "a correct loss"
    assert "bad_loss.py" in _run(user_repo, env, "git", "diff", "--cached", "--name-only").stdout


LOSSES_MODULE = """import numpy as np


def loss(w, reg):
    return float(np.sum(w**2) + reg * np.sum(w**2)), 2 * w + {factor} * reg * w
"""

CHECKS_IMPORTING_THE_LOSS = """import numpy as np
import gradtest
from mylosses import loss


@gradtest.gradcheck(wrt="w", w=np.array([1.0, 2.0, 0.5]), reg=0.5)
def test_loss(w, reg):
    return loss(w, reg)
"""


@pytest.mark.slow
def test_a_bug_in_a_module_imported_by_the_checks_is_refused(
    tmp_path: Path, hook_repo: tuple[Path, str, dict[str, str]]
) -> None:
    """The changed file has no check itself; the check importing it runs, and says why."""
    repo, rev, env = hook_repo
    (tmp_path / "mylosses.py").write_text(LOSSES_MODULE.format(factor="2.0"))
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_grads.py").write_text(CHECKS_IMPORTING_THE_LOSS)
    (tmp_path / "notes.py").write_text("print('unrelated')\n")
    (tmp_path / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repo}\n    rev: {rev}\n    hooks:\n      - id: gradtest\n"
    )
    for cmd in (["git", "init", "-q"], ["pre-commit", "install"], ["git", "add", "."]):
        assert _run(tmp_path, env, *cmd).returncode == 0
    first = _run(tmp_path, env, "git", "commit", "-m", "a correct loss")
    assert first.returncode == 0, first.stdout + first.stderr

    (tmp_path / "notes.py").write_text("print('still unrelated')\n")
    _run(tmp_path, env, "git", "add", "notes.py")
    unrelated = _run(tmp_path, env, "git", "commit", "-m", "notes")
    shown = unrelated.stdout + unrelated.stderr
    assert unrelated.returncode == 0, shown
    assert (
        "1 changed Python file (notes.py); the one file with gradient checks under the "
        "current directory neither is nor imports one of them: nothing to check" in shown
    )

    (tmp_path / "mylosses.py").write_text(LOSSES_MODULE.format(factor="3.0"))
    _run(tmp_path, env, "git", "add", "mylosses.py")
    bad = _run(tmp_path, env, "git", "commit", "-m", "a wrong regulariser gradient")
    shown = bad.stdout + bad.stderr
    assert bad.returncode != 0, shown
    assert "1 changed Python file (mylosses.py); running the checks in:" in shown
    assert "tests/test_grads.py (imports mylosses.py)" in shown
    assert "FAIL test_loss wrt w" in shown
    log = _run(tmp_path, env, "git", "log", "--format=%s").stdout.split("\n")
    assert log[0] == "notes"


def _readme_precommit_config() -> str:
    """The ``.pre-commit-config.yaml`` block of the README, as printed there."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("```yaml\n# .pre-commit-config.yaml\n", 1)[1].split("```", 1)[0]
    return block


@pytest.mark.slow
def test_the_readme_configuration_works_as_written(
    tmp_path: Path, hook_repo: tuple[Path, str, dict[str, str]]
) -> None:
    repo, rev, env = hook_repo
    config = _readme_precommit_config()
    assert "/path/to/gradtest" in config and "0123456789abcdef0123456789abcdef01234567" in config
    config = config.replace("/path/to/gradtest", str(repo)).replace(
        "0123456789abcdef0123456789abcdef01234567", rev
    )
    (tmp_path / ".pre-commit-config.yaml").write_text(config)
    (tmp_path / "bad_loss.py").write_text(BAD)
    for cmd in (["git", "init", "-q"], ["pre-commit", "install"], ["git", "add", "."]):
        assert _run(tmp_path, env, *cmd).returncode == 0
    refused = _run(tmp_path, env, "git", "commit", "-m", "a buggy loss")
    shown = refused.stdout + refused.stderr
    assert refused.returncode != 0, shown
    assert "bad_loss.py (changed)" in shown and "FAIL test_cube wrt w" in shown


@pytest.mark.slow
def test_an_inconclusive_check_refuses_the_commit_unless_accepted(
    tmp_path: Path, hook_repo: tuple[Path, str, dict[str, str]]
) -> None:
    repo, rev, env = hook_repo
    (tmp_path / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repo}\n    rev: {rev}\n    hooks:\n      - id: gradtest\n"
    )
    (tmp_path / "kink_loss.py").write_text(
        "import numpy as np\nimport gradtest\n\n\n"
        "@gradtest.gradcheck(wrt='w', w=np.zeros(3))\n"
        "def test_abs(w):\n    return float(np.sum(np.abs(w))), np.sign(w)\n"
    )
    for cmd in (["git", "init", "-q"], ["pre-commit", "install"], ["git", "add", "."]):
        assert _run(tmp_path, env, *cmd).returncode == 0
    refused = _run(tmp_path, env, "git", "commit", "-m", "a kinked check")
    shown = refused.stdout + refused.stderr
    assert refused.returncode != 0, shown
    assert "gradtest: 1 inconclusive in " in shown
    assert "3 entries at a kink" in shown  # the core's reason reaches the hook's output
    (tmp_path / "pyproject.toml").write_text("[tool.gradtest]\naccept_inconclusive = true\n")
    _run(tmp_path, env, "git", "add", ".")
    accepted = _run(tmp_path, env, "git", "commit", "-m", "accepted")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "inconclusive (ok)" in accepted.stdout + accepted.stderr


@pytest.mark.slow
def test_a_check_file_that_does_not_parse_is_refused_and_other_files_pass(
    tmp_path: Path, hook_repo: tuple[Path, str, dict[str, str]]
) -> None:
    """A check file committed mid-edit (a syntax error) used to pass as "nothing to check";
    a repository without checks, and a commit of non-Python files, pass."""
    repo, rev, env = hook_repo
    (tmp_path / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repo}\n    rev: {rev}\n    hooks:\n      - id: gradtest\n"
    )
    (tmp_path / "script.py").write_text("print('no checks here')\n")
    for cmd in (["git", "init", "-q"], ["pre-commit", "install"], ["git", "add", "."]):
        assert _run(tmp_path, env, *cmd).returncode == 0
    first = _run(tmp_path, env, "git", "commit", "-m", "no checks")
    shown = first.stdout + first.stderr
    assert first.returncode == 0, shown
    assert (
        "1 changed Python file (script.py); no file under the current directory has gradient "
        "checks: nothing to check" in shown
    )

    (tmp_path / "NOTES.md").write_text("# notes\n")
    _run(tmp_path, env, "git", "add", "NOTES.md")
    text_only = _run(tmp_path, env, "git", "commit", "-m", "notes")
    assert text_only.returncode == 0, text_only.stdout + text_only.stderr

    (tmp_path / "test_grads.py").write_text(GOOD + "\n\ndef unfinished(:\n    pass\n")
    _run(tmp_path, env, "git", "add", "test_grads.py")
    broken = _run(tmp_path, env, "git", "commit", "-m", "a check file mid-edit")
    shown = broken.stdout + broken.stderr
    assert broken.returncode != 0, shown
    assert "test_grads.py (changed)" in shown
    assert "cannot import" in shown and "SyntaxError" in shown
    log = _run(tmp_path, env, "git", "log", "--format=%s").stdout.split("\n")
    assert log[0] == "notes"
