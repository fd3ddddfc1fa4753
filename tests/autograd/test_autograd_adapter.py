"""gradtest.autograd.check_function: autograd.grad / jacobian and custom defvjp rules."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

autograd = pytest.importorskip("autograd")

import autograd.numpy as anp  # noqa: E402
from autograd.extend import defvjp, primitive  # noqa: E402

import gradtest  # noqa: E402
from gradtest.autograd import check_function  # noqa: E402


def make_logsumexp(bug: str | None = None) -> Any:
    @primitive
    def logsumexp(x: Any) -> Any:
        m = np.max(x)
        return m + np.log(np.sum(np.exp(x - m)))

    def vjp(ans: Any, x: Any) -> Any:
        p = np.exp(x - ans)
        if bug == "sign":
            p = -p
        if bug == "factor":
            p = 2 * p
        if bug == "missing_term":
            p = np.exp(x)  # forgets to divide by the normaliser
        return lambda g: g * p

    defvjp(logsumexp, vjp)
    return logsumexp


X = np.array([0.5, -1.0, 2.0, 0.1])


def test_correct_primitive_passes() -> None:
    result = check_function(make_logsumexp(), X, seed=0)
    assert result.verdict == "pass", str(result)
    assert result.kind == "gradient"
    assert result.wrt == ("x",)
    assert isinstance(result, gradtest.GradCheckResult)


@pytest.mark.parametrize("bug", ["sign", "factor", "missing_term"])
def test_seeded_bug_fails(bug: str) -> None:
    result = check_function(make_logsumexp(bug), X, seed=0)
    assert result.verdict == "fail", str(result)
    assert result.failing()


def test_sign_bug_is_diagnosed() -> None:
    result = check_function(make_logsumexp("sign"), X, seed=0)
    assert "sign" in result.diagnosis.summary


def test_several_arguments_and_argnums() -> None:
    def loss(w: Any, b: Any, x: Any) -> Any:
        return anp.sum(anp.tanh(x @ w + b) ** 2)

    rng = np.random.default_rng(0)
    w, b, x = rng.standard_normal((3, 2)), rng.standard_normal(2), rng.standard_normal((4, 3))
    result = check_function(loss, w, b, x, seed=0)
    assert result.passed, str(result)
    assert result.wrt == ("w", "b", "x")
    only_b = check_function(loss, w, b, x, argnums=1, seed=0)
    assert only_b.wrt == ("b",)
    assert [e.label for e in only_b.entries] == ["b[0]", "b[1]"]


def test_array_output_uses_the_jacobian() -> None:
    def f(x: Any) -> Any:
        return anp.array([anp.sum(x**2), anp.prod(x)])

    result = check_function(f, np.array([0.3, 1.2, -0.4]), seed=0)
    assert result.passed, str(result)
    assert result.kind == "jacobian"
    assert len(result.entries) == 2 * 3


def test_non_float_arguments_are_not_checked() -> None:
    result = check_function(lambda x, n: anp.sum(x**n), np.array([0.5, 1.5]), 3, seed=0)
    assert result.passed, str(result)
    assert result.wrt == ("x",)


def test_the_callers_array_is_not_modified() -> None:
    x = X.copy()
    check_function(make_logsumexp("factor"), x, seed=0)
    assert np.array_equal(x, X)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: check_function("f", X), "f must be callable"),
        (lambda: check_function(anp.sum), "args is empty"),
        (
            lambda: check_function(anp.sum, np.arange(3)),
            r"no floating-point array to check, got \['ndarray of int64'\].*x.astype",
        ),
        (lambda: check_function(anp.sum, X, argnums=1), r"range\(1\)"),
        (lambda: check_function(lambda x, n: x * n, X, 2, argnums=[1]), "argument 1"),
    ],
)
def test_bad_arguments(call: Any, match: str) -> None:
    with pytest.raises(gradtest.InvalidArgumentError, match=match):
        call()
