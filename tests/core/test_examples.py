"""The bundled examples (``examples/``): verdicts, diagnoses, the script and its docstrings."""

from __future__ import annotations

import doctest
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import gradtest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def load(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` by path (``examples`` is not a package)."""
    key = f"gradtest_examples_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


losses = load("losses")
script = load("check_examples")
EXAMPLE_LIST: list[Any] = script.make_examples()
CORRECT = [e for e in EXAMPLE_LIST if not e.wrong]
WRONG = [e for e in EXAMPLE_LIST if e.wrong]


def check(example: Any, seed: int = 0) -> gradtest.GradCheckResult:
    return gradtest.check_grad(example.fun, True, example.x, args=example.args, seed=seed)


def test_every_loss_has_an_example_and_a_wrong_twin() -> None:
    names = {e.fun.__name__ for e in EXAMPLE_LIST}
    assert names == set(losses.__all__)
    assert {e.fun.__name__ for e in CORRECT} == {"svm_loss", "softmax_loss", "two_layer_net"}
    assert len(WRONG) >= 3


@pytest.mark.parametrize("example", CORRECT, ids=lambda e: e.fun.__name__)
def test_correct_example_passes(example: Any) -> None:
    result = check(example)
    assert result.verdict == "pass", str(result)
    assert result.max_rel_error < 1e-6
    assert str(result).startswith(f"PASS {example.fun.__name__} wrt ")


@pytest.mark.parametrize("example", CORRECT, ids=lambda e: e.fun.__name__)
def test_correct_example_never_fails_at_other_seeds(example: Any) -> None:
    for seed in (1, 2, 3):
        result = check(example, seed=seed)
        assert result.verdict != "fail", str(result)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("svm_loss_sign_flipped", "sign flipped"),
        ("softmax_loss_missing_factor", "regularisation"),
        ("softmax_loss_missing_mean", ""),
        ("two_layer_net_missing_reg", "only W1 wrong"),
    ],
)
def test_wrong_example_fails_with_its_diagnosis(name: str, expected: str) -> None:
    (example,) = [e for e in WRONG if e.fun.__name__ == name]
    result = check(example)
    assert result.verdict == "fail"
    assert str(result).startswith(f"FAIL {name} wrt ")
    text = " | ".join((result.diagnosis.summary, *result.diagnosis.patterns))
    assert expected in text, text
    # the Taylor test agrees: the remainder shrinks like eps, not eps**2
    assert result.diagnosis.taylor is not None
    assert result.diagnosis.taylor.verdict == "wrong"


def test_missing_reg_is_confined_to_w1_and_proportional_to_it() -> None:
    (example,) = [e for e in WRONG if e.fun.__name__ == "two_layer_net_missing_reg"]
    result = check(example)
    assert {e.array for e in result.failing()} == {"W1"}
    # the error is exactly -2 * reg * W1, as the diagnosis says
    assert any(f"-{2 * script.REG:g} × W1" in p for p in result.diagnosis.patterns)


def test_sign_flipped_is_exactly_the_negated_gradient() -> None:
    (example,) = [e for e in WRONG if e.fun.__name__ == "svm_loss_sign_flipped"]
    good = losses.svm_loss(example.x, *example.args)[1]
    bad = losses.svm_loss_sign_flipped(example.x, *example.args)[1]
    np.testing.assert_array_equal(bad, -good)


def test_losses_do_not_modify_their_inputs() -> None:
    for example in EXAMPLE_LIST:
        x = example.x
        before = {k: v.copy() for k, v in x.items()} if isinstance(x, dict) else x.copy()
        example.fun(x, *example.args)
        if isinstance(x, dict):
            for k in x:
                np.testing.assert_array_equal(x[k], before[k])
        else:
            np.testing.assert_array_equal(x, before)


def test_losses_docstring_examples() -> None:
    outcome = doctest.testmod(losses, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert outcome.attempted >= 7
    assert outcome.failed == 0


def test_check_examples_script_exits_0_and_prints_reports() -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "check_examples.py")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for e in EXAMPLE_LIST:
        verdict = "FAIL" if e.wrong else "PASS"
        assert f"{verdict} {e.fun.__name__} wrt " in out
    assert "step sweep for" in out and "Taylor test" in out
    assert f"All {len(EXAMPLE_LIST)} examples gave the expected verdict." in out


def test_check_examples_main_returns_1_when_a_verdict_is_unexpected(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # pretend the sign-flipped SVM is correct: gradtest's "fail" is then unexpected
    flipped = [e for e in EXAMPLE_LIST if e.fun.__name__ == "svm_loss_sign_flipped"]
    relabelled = [type(e)(e.fun, e.x, e.args, wrong=False, bug="") for e in flipped]
    monkeypatch.setattr(script, "make_examples", lambda seed=0: relabelled)
    assert script.main() == 1
    assert "1 of 1 examples did NOT give the expected verdict." in capsys.readouterr().out
