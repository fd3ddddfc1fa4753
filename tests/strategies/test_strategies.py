"""gradtest.strategies: values, shapes, shrinking, composition and argument validation."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import gradtest
import gradtest.strategies as gs

FAST = settings(max_examples=60, database=None, deadline=None)


def decimals(v: float) -> int:
    """Digits after the point in the shortest repr of ``v``."""
    exponent = Decimal(repr(float(v))).normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


@FAST
@given(gs.weights((3, 2)))
def test_weights_are_bounded_readable_float64(W: np.ndarray) -> None:
    assert W.shape == (3, 2) and W.dtype == np.float64
    assert np.all(np.isfinite(W)) and np.all(np.abs(W) <= 1.0)
    assert all(decimals(v) <= 2 for v in W.ravel())


@FAST
@given(gs.data((2, 3), scale=255, nonnegative=True, digits=1))
def test_data_scale_sign_and_digits(X: np.ndarray) -> None:
    assert np.all((X >= 0) & (X <= 255))
    assert np.all(X % 10 == 0)  # multiples of 10**(floor(log10(255)) - 1)


@FAST
@given(gs.weights(4, scale=0.003, digits=None, dtype=np.float32))
def test_full_precision_and_float32(W: np.ndarray) -> None:
    assert W.dtype == np.float32 and np.all(np.abs(W) <= np.float32(0.003))


@FAST
@given(gs.weights(6, kink_margin=0.1), gs.data(6, kink_margin=0.25, kinks=(-1.0, 1.0)))
def test_kink_margin_keeps_values_away_from_kinks(W: np.ndarray, X: np.ndarray) -> None:
    assert np.all(np.abs(W) >= 0.1)
    assert np.all(np.abs(np.abs(X) - 1.0) >= 0.25)


def test_badly_scaled_values_span_many_decades() -> None:
    big = find(gs.data(2, badly_scaled=True), lambda X: np.abs(X).max() > 1e5)
    tiny = find(gs.data(2, badly_scaled=True), lambda X: 0 < np.abs(X).max() < 1e-6)
    for X in (big, tiny):  # shrunk: one short value, like 110000.0 or 1e-08
        assert np.count_nonzero(X) == 1
        assert len(repr(float(np.abs(X).max()))) <= 8, X
    assert find(gs.data(2), lambda X: np.abs(X).max() > 0.99).max() <= 1.0  # not scaled


@FAST
@given(gs.weights(5, scale=2.0, badly_scaled=True))
def test_badly_scaled_values_stay_finite_and_bounded(W: np.ndarray) -> None:
    assert np.all(np.isfinite(W)) and np.all(np.abs(W) <= 2.0 * 10**6)


@FAST
@given(st.data())
def test_named_dims_are_shared_within_an_example(data: Any) -> None:
    D, C, N = gs.dim("D"), gs.dim("C"), gs.dim("N", max_value=6)
    W = data.draw(gs.weights((D, C)))
    X = data.draw(gs.data((N, D)))
    y = data.draw(gs.labels(N, classes=C))
    assert X.shape[1] == W.shape[0] and y.shape == (X.shape[0],)
    assert y.dtype == np.int64 and np.all((y >= 0) & (y < W.shape[1]))
    assert 1 <= W.shape[0] <= 4 and 1 <= X.shape[0] <= 6


def test_shrinking_gives_small_shapes_and_simple_values() -> None:
    W = find(
        gs.weights(gs.shapes(max_dims=3, max_side=5)),
        lambda W: W.ndim >= 2 and bool(np.any(W < -0.5)),
        settings=settings(database=None),
    )
    assert W.shape == (1, 1) and W.tolist() == [[-0.51]]
    y = find(gs.labels(gs.dim("N"), classes=5), lambda y: y.max() >= 3)
    assert y.tolist() == [3]


def test_strategies_compose_with_hypothesis() -> None:
    pair = st.tuples(gs.weights(2), gs.scalars(nonnegative=True)).map(lambda t: t[0] * t[1])
    assert find(pair, lambda v: v.shape == (2,)).tolist() == [0.0, 0.0]
    shape = st.sampled_from([(1, 2), (2, 1)])
    assert find(gs.weights(shape), lambda W: W.shape[0] == 2).shape == (2, 1)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: gs.weights("3"),  # type: ignore[arg-type]
            "shape='3' must be an int, a tuple of ints",
        ),
        (lambda: gs.weights((2, -1)), "shape[1]=-1 must be an int >= 0"),
        (lambda: gs.weights((2, 1.5)), "shape[1]=1.5 must be an int (type float given)"),  # type: ignore[arg-type]
        (lambda: gs.weights(2, scale=0), "scale=0 must be a finite number > 0"),
        (lambda: gs.weights(2, scale=float("inf")), "scale=inf must be a finite number > 0"),
        (lambda: gs.weights(2, digits=-1), "digits=-1 must be an int >= 0"),
        (lambda: gs.weights(2, kink_margin=0), "kink_margin=0 must be a finite number > 0"),
        (lambda: gs.weights(2, kinks=0.0), "kinks=0.0 must be a tuple of finite numbers"),  # type: ignore[arg-type]
        (
            lambda: gs.weights(2, kink_margin=0.5, kinks=(0, 0.8)),
            "kink_margin=0.5 leaves no room between the kinks 0.0 and 0.8",
        ),
        (lambda: gs.weights(2, badly_scaled=0), "badly_scaled=0 must be True, False or"),
        (lambda: gs.weights(2, dtype=np.int32), "dtype=<class 'numpy.int32'> must be a real"),
        (lambda: gs.weights(2, dtype="nope"), "dtype='nope' is not a numpy dtype"),
        (lambda: gs.data(2, nonnegative=1), "nonnegative=1 must be True or False"),  # type: ignore[arg-type]
        (lambda: gs.labels(3, classes=0), "classes=0 must be an int >= 1"),
        (lambda: gs.labels(-1, classes=2), "n=-1 must be an int >= 0"),
        (lambda: gs.labels(3, 2, dtype=np.float64), "must be an integer dtype"),
        (lambda: gs.dim(""), "name='' must be a non-empty str"),
        (lambda: gs.dim("N", min_value=3, max_value=2), "max_value=2 must be >= min_value=3"),
        (lambda: gs.shapes(min_dims=3, max_dims=2), "max_dims=2 must be >= min_dims=3"),
        (lambda: gs.shapes(max_side=True), "max_side=True must be an int"),
    ],
)
def test_invalid_arguments(build: Any, message: str) -> None:
    with pytest.raises(gradtest.InvalidArgumentError, match=re.escape(message)):
        build()


def test_invalid_values_drawn_from_strategies_are_named() -> None:
    with pytest.raises(
        gradtest.InvalidArgumentError,
        match=r"shape\[0\]: the strategy just\(-2\) drew -2, expected an int >= 0",
    ):
        find(gs.weights((st.just(-2),)), lambda W: True)
    with pytest.raises(gradtest.InvalidArgumentError, match=r"drew 'ab': expected a tuple"):
        find(gs.weights(st.just("ab")), lambda W: True)  # type: ignore[arg-type]
    with pytest.raises(
        gradtest.InvalidArgumentError,
        match=r"classes: the strategy just\(0\) drew 0, expected an int >= 1",
    ):
        find(gs.labels(2, classes=st.just(0)), lambda y: True)
