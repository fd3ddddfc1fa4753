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


@pytest.mark.parametrize("scalar", [np.float32(0.7), np.float16(0.7), np.float64(0.7), 0.7])
def test_a_numpy_float_scalar_is_checked(scalar: Any) -> None:
    """np.float32(0.7) was refused: "args hold no floating-point array to check, got
    ['float32']: pass float64 arrays (an integer array x as x.astype(np.float64))"."""
    result = check_function(make_cube(False), scalar, seed=0)
    assert result.verdict == "pass", str(result)
    assert result.wrt == ("x",)
    assert result.entries[0].analytic == pytest.approx(3 * float(scalar) ** 2, rel=1e-6)
    wrong = check_function(make_cube(True), scalar, seed=0)  # its vjp forgets g
    assert wrong.verdict == "fail", str(wrong)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_a_vjp_computed_in_float32_is_allowed_its_rounding(sign: float) -> None:
    """A rule returning float32 for a float64 x failed ("a single wrong entry: x[1, 1]"),
    where gradtest.check_grad with the same float32 gradient passes: the adapter cast it
    to float64 before the core could see its precision."""

    @primitive
    def cube(x: Any) -> Any:
        return x**3

    defvjp(cube, lambda ans, x: lambda g: (sign * g * 3 * x**2).astype(np.float32))
    x = np.array([[0.5, -1.0, 2.0], [0.3, 0.7, -0.2]])
    for f in (lambda x: anp.sum(cube(x)), cube):
        result = check_function(f, x, seed=0)
        assert result.verdict == ("pass" if sign > 0 else "fail"), str(result)
        assert "the gradient is float32" in " ".join(result.diagnosis.notes)


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
        (  # was "<lambda> raised ValueError on its first call: ... inhomogeneous shape"
            lambda: check_function(lambda x: (anp.sin(x), anp.sum(x)), X),
            r"<lambda> must return a scalar or an array, got a tuple \(array\(\[",
        ),
    ],
)
def test_bad_arguments(call: Any, match: str) -> None:
    with pytest.raises(gradtest.InvalidArgumentError, match=match):
        call()


def make_cube(forget_g: bool) -> Any:
    @primitive
    def cube(x: Any) -> Any:
        return x**3

    defvjp(cube, lambda ans, x: (lambda g: 3 * x**2) if forget_g else (lambda g: g * 3 * x**2))
    return cube


@pytest.mark.parametrize("output", ["sum", "one", "elementwise"])
def test_vjp_ignoring_its_cotangent_fails(output: str) -> None:
    def f(cube: Any) -> Any:
        def out(x: Any) -> Any:
            y = cube(x)
            return {"sum": anp.sum(y), "one": anp.sum(y).reshape(1), "elementwise": y}[output]

        return out

    x = np.array([0.5, -1.0, 2.0])
    result = check_function(f(make_cube(True)), x, seed=0)
    assert result.verdict == "fail", str(result)
    notes = [n for n in result.diagnosis.notes if "does not scale with the incoming" in n]
    assert notes and "ignores grad_output" in notes[0]
    assert check_function(f(make_cube(False)), x, seed=0).passed


def test_float32_rule_that_overflows_fails_and_a_stable_one_passes() -> None:
    @primitive
    def naive(x: Any) -> Any:
        return np.log(np.sum(np.exp(x)))

    defvjp(naive, lambda ans, x: lambda g: g * np.exp(x) / np.sum(np.exp(x)))
    x = np.array([100.0, 90.0, 50.0], dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        result = check_function(naive, x, seed=0)
    assert result.verdict == "fail", str(result)
    assert "the float32 backward (vjp) is not finite (x) where the float64 one is" in str(result)
    for scale in (1.0, 100.0):
        big = (scale * np.random.default_rng(0).standard_normal(20)).astype(np.float32)
        ok = check_function(make_logsumexp(), big, seed=0)
        assert ok.verdict == "pass", str(ok)
        assert any("consistent with round-off" in n for n in ok.diagnosis.notes)


def test_f_failing_on_its_first_call_is_a_function_evaluation_error() -> None:
    def broken(x: Any) -> Any:
        return x.foo

    with pytest.raises(gradtest.FunctionEvaluationError, match="broken raised AttributeError") as e:
        check_function(broken, X, seed=0)
    assert isinstance(e.value.__cause__, AttributeError)


def test_a_vjp_that_raises_is_named_as_the_vjp_of_f() -> None:
    @primitive
    def cube(x: Any) -> Any:
        return x**3

    def explode(ans: Any, x: Any) -> Any:
        raise RuntimeError("vjp exploded")

    defvjp(cube, explode)

    def f(x: Any) -> Any:
        return anp.sum(cube(x))

    with pytest.raises(gradtest.FunctionEvaluationError) as e:
        check_function(f, X, seed=0)
    assert str(e.value).startswith("grad (the vjp of f) raised RuntimeError at x: vjp exploded")


@pytest.mark.parametrize(
    ("output", "x", "shape"),
    [
        # read "grad for x has shape () but x has shape (3,)"
        ("sum", np.array([0.5, -1.0, 2.0]), r"\(3,\)"),
        # a float argument: None became NaN and the check failed as a wrong gradient
        ("sum", 0.5, r"\(\)"),
        # the Jacobian: "raised ValueError at x: cannot reshape array of size 3"
        ("elementwise", np.array([0.5, -1.0, 2.0]), r"\(3,\)"),
    ],
)
def test_a_vjp_returning_none_is_said_to_return_none(output: str, x: Any, shape: str) -> None:
    @primitive
    def cube(x: Any) -> Any:
        return x**3

    defvjp(cube, lambda ans, x: lambda g: None)

    def f(x: Any) -> Any:
        return anp.sum(cube(x)) if output == "sum" else cube(x)

    with pytest.raises(
        gradtest.InvalidArgumentError,
        match=rf"^the vjp of f returned None for x: a defvjp rule must return the gradient .*"
        rf"an array of shape {shape}\), not None$",
    ):
        check_function(f, x, seed=0)


def test_arrays_that_are_not_checked_are_copies_for_f() -> None:
    order = np.array([2, 0, 1, 3])
    saved = order.copy()

    def f(x: Any, order: Any) -> Any:
        order.sort()
        return anp.sum(x[order] ** 3)

    assert check_function(f, X, order, seed=0).passed
    assert np.array_equal(order, saved)
