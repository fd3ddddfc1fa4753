"""Bad arguments to @gradcheck and run_gradcheck: one table, each error names the argument."""

from __future__ import annotations

import re
from typing import Any

import hypothesis
import numpy as np
import pytest

import gradtest
import gradtest.strategies as gs


def svm(W: Any, X: Any, y: Any, reg: float = 0.0) -> Any:
    return float(np.sum(W)), np.ones_like(W)


OK: dict[str, Any] = {"W": gs.weights(2), "X": np.ones((1, 2)), "y": np.zeros(1, dtype=int)}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"wrt": 3}, "wrt=3 must be an argument name or a tuple of names, got int"),
        ({"wrt": ()}, "wrt=() must name at least one argument"),
        ({"wrt": ("W", "W")}, "wrt=('W', 'W') names an argument twice"),
        ({"wrt": "V"}, "wrt='V' is not an argument of svm (its arguments: ['W', 'X', 'y', 'reg'])"),
        ({"grad": 1}, "grad=1 must be None (the loss returns (loss, gradient)) or a function"),
        ({"max_examples": 0}, "max_examples=0 must be None or an int >= 1"),
        ({"max_examples": True}, "max_examples=True must be None or an int >= 1"),
        ({"strict_kinks": 1}, "strict_kinks=1 must be True or False"),
        ({"descent": "yes"}, "descent='yes' must be True or False"),
        ({"rtol": -1.0}, "rtol=-1.0 must be None or a finite number >= 0"),
        ({"atol": float("nan")}, "atol=nan must be None or a finite number >= 0"),
        ({"method": "backward"}, "method='backward' must be one of ['central', 'forward',"),
        ({"mode": "fulll"}, "mode='fulll' must be None or one of ['auto', 'full', 'directions']"),
        ({"settings": {"deadline": None}}, "settings={'deadline': None} must be a hypothesis"),
        ({"Z": gs.weights(2)}, "gradcheck got a strategy for Z=, but svm has no argument 'Z'"),
        ({"X": None, "W": gs.weights}, "W=<function weights"),
        (
            {"W": 3},
            "the fixed value W: W has integer dtype int64: finite differences need "
            "floating point; pass floats (3.0, not 3)",
        ),
        (
            {"W": np.arange(2)},
            "the fixed value W: W has integer dtype int64: finite "
            "differences need floating point; pass W.astype(np.float64)",
        ),
        ({"W": {"a": np.ones(2), "b": [1, 2]}}, "the fixed value W['b']: W['b'] has integer"),
        ({"W": np.array([1.0, np.inf])}, "the fixed value W: W is not finite: W[1] = inf"),
        ({"W": "W"}, "the fixed value W: W must be a floating-point ndarray, got str 'W'"),
        ({"W": np.ma.ones(2)}, "the fixed value W: W is a masked array"),
    ],
)
def test_bad_decorator_arguments(kwargs: dict[str, Any], message: str) -> None:
    arguments = {**OK, **kwargs}
    if arguments.get("X", 0) is None:
        del arguments["X"]
    with pytest.raises(gradtest.InvalidArgumentError, match=re.escape(message)):
        gradtest.gradcheck(**arguments)(svm)


def test_max_examples_given_twice_and_different_is_refused() -> None:
    # the decorator's 10 used to win over the settings' 5 silently
    with pytest.raises(
        gradtest.InvalidArgumentError,
        match=re.escape(
            "max_examples=10 disagrees with settings=hypothesis.settings(max_examples=5)"
        ),
    ):
        gradtest.gradcheck(max_examples=10, settings=hypothesis.settings(max_examples=5), **OK)
    # the same count twice, or settings that leave max_examples to the profile, are fine
    both = gradtest.gradcheck(max_examples=7, settings=hypothesis.settings(max_examples=7), **OK)
    assert gradtest.run_gradcheck(both(svm), seed=0).n_examples == 7
    other = gradtest.gradcheck(max_examples=6, settings=hypothesis.settings(deadline=None), **OK)
    assert gradtest.run_gradcheck(other(svm), seed=0).n_examples == 6


def test_missing_strategies_are_named() -> None:
    with pytest.raises(gradtest.InvalidArgumentError, match=r"without a strategy: \['y'\]"):
        gradtest.gradcheck(W=gs.weights(2), X=np.ones((1, 2)))(svm)
    with pytest.raises(gradtest.InvalidArgumentError, match=r"wrt='W' needs a strategy"):
        gradtest.gradcheck(X=np.ones((1, 2)), y=np.zeros(1))(svm)


def test_bare_decorator_and_double_decoration_are_explained() -> None:
    with pytest.raises(gradtest.InvalidArgumentError, match="applied without arguments"):
        gradtest.gradcheck(svm)  # type: ignore[arg-type]
    once = gradtest.gradcheck(**OK)(svm)
    with pytest.raises(gradtest.InvalidArgumentError, match="already decorated"):
        gradtest.gradcheck(**OK)(once)
    given = hypothesis.given(w=gs.weights(1))(lambda w: None)
    with pytest.raises(gradtest.InvalidArgumentError, match=r"already a hypothesis test"):
        gradtest.gradcheck("w", w=gs.weights(1))(given)


def test_invalid_errors_are_value_and_type_errors() -> None:
    with pytest.raises(ValueError):
        gradtest.gradcheck(max_examples=-1, **OK)
    with pytest.raises(TypeError):
        gradtest.gradcheck(wrt=1.5, **OK)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rtol": -1}, "rtol=-1 must be None or a finite number >= 0"),
        ({"max_examples": 0}, "max_examples=0 must be None or an int >= 1"),
        ({"seed": -3}, "seed=-3 must be None or an int >= 0"),
        ({"method": "spline"}, "method='spline' must be one of"),
    ],
)
def test_bad_run_gradcheck_overrides(kwargs: dict[str, Any], message: str) -> None:
    test = gradtest.gradcheck(**OK)(svm)
    with pytest.raises(gradtest.InvalidArgumentError, match=re.escape(message)):
        gradtest.run_gradcheck(test, **kwargs)


def test_an_override_that_conflicts_with_the_decorator_stops_before_any_input() -> None:
    # it used to run hypothesis, blame a "shrunk" input, and print a replay line that passed
    calls = []

    @gradtest.gradcheck(wrt="w", w=gs.weights(2), method="complex")
    def test_loss(w: Any) -> Any:
        calls.append(w)
        return float(np.sum(w)), np.ones_like(w)

    with pytest.raises(gradtest.InvalidArgumentError) as info:
        gradtest.run_gradcheck(test_loss, mode="directions", seed=0)
    assert str(info.value).startswith(
        "gradcheck test_loss: method='complex' is a stencil for the check of every entry: "
        "mode='directions' compares"
    )
    assert "for this input" not in str(info.value)
    assert calls == []


def test_run_gradcheck_needs_a_decorated_function() -> None:
    with pytest.raises(
        gradtest.InvalidArgumentError, match=r"target=<function svm .* GradcheckSpec"
    ):
        gradtest.run_gradcheck(svm)


# -- mistakes that show only when an input is drawn: said in the decorator's words ------------


def test_a_strategy_drawing_integers_for_a_wrt_argument_is_named() -> None:
    @gradtest.gradcheck(wrt="w", w=hypothesis.strategies.integers(), max_examples=5)
    def int_loss(w: Any) -> Any:
        return float(w * w), 2.0 * w

    with pytest.raises(gradtest.InvalidArgumentError) as info:
        gradtest.run_gradcheck(int_loss, seed=0)
    message = str(info.value)
    # the argument by its own name (not the core's x['w']), what arrived, what is needed
    assert "the strategy for w drew int 0: w has integer dtype" in message
    assert "x['w']" not in message
    assert "w=gradtest.strategies.weights(shape)" in message
    assert "    w = 0" in message  # the input that raised


def test_an_empty_array_in_a_dict_argument_is_named_by_its_key() -> None:
    params = hypothesis.strategies.fixed_dictionaries(
        {"W1": gs.weights((2, 2)), "b1": gs.weights((0,))}
    )

    @gradtest.gradcheck(wrt="params", params=params, max_examples=5)
    def empty_loss(params: Any) -> Any:
        return float(np.sum(params["W1"] ** 2)), {"W1": 2 * params["W1"], "b1": params["b1"]}

    with pytest.raises(
        gradtest.InvalidArgumentError,
        match=re.escape(
            "the strategy for params drew an array of shape (0,) and dtype float64: "
            "params['b1'] has no entries"
        ),
    ):
        gradtest.run_gradcheck(empty_loss, seed=0)


def test_a_loss_returning_a_pair_besides_grad_gets_the_decorators_advice() -> None:
    # the core's advice, "pass grad=True", is no option of the decorator (it rejects it)
    @gradtest.gradcheck(wrt="w", w=gs.weights(3), grad=lambda w: 2 * w, max_examples=5)
    def pair_loss(w: Any) -> Any:
        return float(w @ w), 2 * w

    with pytest.raises(gradtest.InvalidArgumentError) as info:
        gradtest.run_gradcheck(pair_loss, seed=0)
    message = str(info.value)
    assert "pair_loss returned a tuple of length 2, but gradcheck was given grad=<lambda>" in (
        message
    )
    assert "drop grad= and return (loss, gradient)" in message
    assert "grad=True" not in message


@pytest.mark.parametrize(
    ("gradient", "message"),
    [
        (
            lambda W: 2 * W.T,
            "of shape (3, 2), but W has shape (2, 3): did you return the transpose?",
        ),
        (lambda W: 2 * W.ravel(), "of shape (6,), but W has shape (2, 3): reshape it to (2, 3)"),
        (lambda W: 2 * W[:1], "of shape (1, 3), but W has shape (2, 3)"),
    ],
)
def test_a_gradient_of_the_wrong_shape_is_blamed_on_the_loss_by_name(
    gradient: Any, message: str
) -> None:
    @gradtest.gradcheck(wrt="W", W=gs.weights((2, 3)), max_examples=5)
    def shaped_loss(W: Any) -> Any:
        return float(np.sum(W**2)), gradient(W)

    with pytest.raises(gradtest.InvalidArgumentError) as info:
        gradtest.run_gradcheck(shaped_loss, seed=0)
    assert f"shaped_loss returned a gradient for W {message}" in str(info.value)
    assert "returned by fun" not in str(info.value)

    # the same with a separate gradient function
    @gradtest.gradcheck(wrt="W", W=gs.weights((2, 3)), grad=lambda W: gradient(W), max_examples=5)
    def loss_only(W: Any) -> Any:
        return float(np.sum(W**2))

    with pytest.raises(gradtest.InvalidArgumentError) as info:
        gradtest.run_gradcheck(loss_only, seed=0)
    assert f"grad (<lambda>) returned a gradient for W {message}" in str(info.value)


def test_a_gradient_that_is_no_numbers_is_described_by_what_arrived() -> None:
    # not "of shape ()": the shape check of the decorator leaves non-numbers to the core
    @gradtest.gradcheck(wrt="w", w=gs.weights(3), max_examples=5)
    def text_gradient(w: Any) -> Any:
        return float(w @ w), "abc"

    with pytest.raises(
        gradtest.InvalidArgumentError, match=r"must hold real numbers, got dtype <U3 \(str 'abc'\)"
    ):
        gradtest.run_gradcheck(text_gradient, seed=0)
