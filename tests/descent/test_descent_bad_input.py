"""check_descent: bad input gets a clear error naming the argument and what arrived."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import gradtest
from gradtest._descent import check_descent


def quad(w: Any) -> float:
    return float(np.sum(w**2))


def quad_grad(w: Any) -> Any:
    return 2 * w


W = np.array([1.0, -2.0, 0.5])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"steps": []}, r"steps must be None or a non-empty 1-D sequence .* got \[\]"),
        ({"steps": [1e-3, -1.0]}, r"steps must hold finite learning rates > 0, got steps\[1\] = "),
        ({"steps": [0.0]}, r"steps\[0\] = 0.0"),
        ({"steps": [np.nan]}, r"steps\[0\] = nan"),
        ({"steps": "fast"}, r"steps must be None or a sequence of learning rates > 0, got 'fast'"),
        ({"steps": [[1e-3]]}, r"non-empty 1-D sequence"),
        ({"directions": -1}, r"directions must be an int >= 0 .* got -1"),
        ({"directions": True}, r"directions must be an int >= 0 .* got True"),
        ({"directions": 1.5}, r"directions must be an int >= 0 .* got 1.5"),
        ({"directions": np.int64(1001)}, r"directions must be at most 1000 .* got 1001$"),
        ({"seed": -3}, r"seed must be None or an int >= 0, got -3"),
        # as check_grad rejects it (check_descent printed "descent of 3")
        ({"name": 3}, r"name must be None or a str, got 3"),
        ({"name": ("W",)}, r"name must be None or a str, got \('W',\)"),
        ({"args": [1]}, r"args must be a tuple of extra arguments, got list"),
        ({"grad": 3}, r"grad must be a callable .* got int 3"),
        ({"fun": "quad"}, r"fun must be callable, got str"),
        ({"x": np.arange(3)}, r"x has integer dtype int64"),
        ({"x": np.array([1.0, np.inf])}, r"x is not finite: x\[1\] = inf"),
        # (a correct gradient failed: the masked entry was moved as NaN)
        ({"x": np.ma.array(W, mask=[0, 1, 0])}, r"x is a masked array"),
        ({"x": W[None].view(np.matrix)}, r"x is an np.matrix"),
        ({"grad": lambda w: 2 * w[:2]}, r"grad has shape \(2,\) but x has shape \(3,\)"),
        ({"grad": lambda w: np.array([1.0, np.nan, 0.0])}, r"grad is not finite: x\[1\] = nan"),
        ({"fun": lambda w: w}, r"must return a scalar loss, got an array of shape \(3,\)"),
        ({"fun": lambda w: (quad(w), 2 * w)}, r"if fun returns \(loss, gradient\), pass grad=True"),
        ({"fun": lambda w: float("nan")}, r"fun is not finite at x"),
        (
            {"grad": True},
            r"with grad=True, fun must return \(value, gradient\); quad returned float",
        ),
    ],
)
def test_bad_input_is_named(kwargs: dict[str, Any], match: str) -> None:
    call: dict[str, Any] = {"fun": quad, "grad": quad_grad, "x": W, "seed": 0}
    call.update(kwargs)
    with pytest.raises(gradtest.InvalidArgumentError, match=match) as info:
        check_descent(call.pop("fun"), call.pop("grad"), call.pop("x"), **call)
    assert isinstance(info.value, ValueError)


def test_too_many_directions_are_refused_before_any_evaluation() -> None:
    """directions had no limit: 10**6 directions on 3 entries ran for more than 10 minutes."""
    calls = []

    def counted(w: Any) -> float:
        calls.append(1)
        if len(calls) > 1000:
            raise RuntimeError("still evaluating")
        return quad(w)

    with pytest.raises(
        gradtest.InvalidArgumentError,
        match=r"^directions must be at most 1000 \(each random direction costs about 12 "
        r"evaluations of fun\), got 1000000$",
    ):
        check_descent(counted, quad_grad, W, seed=0, directions=10**6)
    assert calls == []
    # the bound itself is a valid value, with the documented meaning
    result = check_descent(quad, quad_grad, W, seed=0, directions=1000)
    assert result.verdict == "pass" and len(result.slopes) == 1 + 1000


def test_a_raising_gradient_is_wrapped_and_chained() -> None:
    def broken(w: Any) -> Any:
        raise KeyError("bias")

    with pytest.raises(gradtest.FunctionEvaluationError, match=r"grad \(broken\) raised KeyError"):
        check_descent(quad, broken, W, seed=0)


def test_a_raising_loss_names_the_evaluation_and_the_direction() -> None:
    calls = {"n": 0}

    def flaky(w: Any) -> float:
        calls["n"] += 1
        if calls["n"] > 25:
            raise ZeroDivisionError("boom")
        return quad(w)

    with pytest.raises(gradtest.FunctionEvaluationError, match=r"flaky raised ZeroDivisionError"):
        check_descent(flaky, quad_grad, W, seed=0)


def test_a_nondeterministic_loss_is_an_error() -> None:
    rng = np.random.default_rng(0)

    def dropout(w: Any) -> float:
        return quad(w) * (1 + 1e-3 * rng.standard_normal())

    with pytest.raises(gradtest.NondeterminismError, match="dropout is not deterministic"):
        check_descent(dropout, quad_grad, W, seed=0)
