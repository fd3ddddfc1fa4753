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
    ],
)
def test_bad_decorator_arguments(kwargs: dict[str, Any], message: str) -> None:
    arguments = {**OK, **kwargs}
    if arguments.get("X", 0) is None:
        del arguments["X"]
    with pytest.raises(gradtest.InvalidArgumentError, match=re.escape(message)):
        gradtest.gradcheck(**arguments)(svm)


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


def test_run_gradcheck_needs_a_decorated_function() -> None:
    with pytest.raises(
        gradtest.InvalidArgumentError, match=r"target=<function svm .* GradcheckSpec"
    ):
        gradtest.run_gradcheck(svm)
