"""gradtest.strategies: values, shapes, shrinking, composition and argument validation."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst

import gradtest
import gradtest.strategies as gs

FAST = settings(max_examples=60, database=None, deadline=None)


def decimals(v: float) -> int:
    """Digits after the point in the shortest repr of ``v``."""
    exponent = Decimal(repr(float(v))).normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


@FAST
@given(gs.weights((3, 2), corners=False))
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
@given(gs.weights(4, scale=0.003, digits=None, dtype=np.float32, corners=False))
def test_full_precision_and_float32(W: np.ndarray) -> None:
    assert W.dtype == np.float32 and np.all(np.abs(W) <= np.float32(0.003))


@FAST
@given(
    gs.weights(6, kink_margin=0.1),
    gs.data(6, kink_margin=0.25, kinks=(-1.0, 1.0)),
    gs.weights(2, kink_margin=2.0, kinks=(5.0,), corners=False),
)
def test_kink_margin_keeps_values_away_from_kinks(
    W: np.ndarray, X: np.ndarray, far: np.ndarray
) -> None:
    assert np.all(np.abs(W) >= 0.1)
    assert np.all(np.abs(np.abs(X) - 1.0) >= 0.25)
    assert np.all(np.abs(far) <= 1.0)  # a margin wider than scale around a kink outside


def test_badly_scaled_values_span_many_decades() -> None:
    big = find(gs.data(2, badly_scaled=True), lambda X: np.abs(X).max() > 1e5)
    tiny = find(gs.data(2, badly_scaled=True), lambda X: 0 < np.abs(X).max() < 1e-6)
    for X in (big, tiny):  # shrunk: one short value, like 110000.0 or 1e-08
        assert np.count_nonzero(X) == 1
        assert len(repr(float(np.abs(X).max()))) <= 8, X
    not_scaled = find(gs.data(2, corners=False), lambda X: np.abs(X).max() > 0.99)
    assert not_scaled.max() <= 1.0


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
    # the plain minimum, or the "scaled" corner's (-0.01 times 10**4): shrinking may end
    # at either
    assert W.shape == (1, 1) and W.tolist() in ([[-0.51]], [[-100.0]])
    W = find(
        gs.weights(gs.shapes(max_dims=3, max_side=5), corners=False),
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
        (
            # every value used to be drawn as -2.0 or 2.0, outside [-scale, scale]
            lambda: gs.weights(2, kink_margin=2.0),
            "kink_margin=2.0 covers all of [-1.0, 1.0] around the kink 0.0: every value "
            "would be moved to the margin's edge, outside the range; choose kink_margin < 1.0",
        ),
        (
            lambda: gs.data(2, nonnegative=True, kink_margin=0.5, scale=0.3),
            "kink_margin=0.5 covers all of [0.0, 0.3] around the kink 0.0",
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
        (
            lambda: gs.weights(2, corners={"zero"}),
            "corners={'zero'} names unknown corners ['zero']: the corners here are",
        ),
        (lambda: gs.data(2, corners="ties"), "corners='ties' must be True, False or a set"),
        (lambda: gs.labels(2, 3, corners={"large"}), "names unknown corners ['large']"),
        (lambda: gs.masks(2, corners=1), "corners=1 must be True, False or a set"),  # type: ignore[arg-type]
        (lambda: gs.dim("N", corners=["one", 2]), "must be True, False or a set"),  # type: ignore[list-item]
        (lambda: gs.scalars(corners={"ties"}), "names unknown corners ['ties']"),
        (
            lambda: gs.with_corners(np.zeros(2)),
            "arrays=array([0., 0.]) must be a hypothesis strategy",
        ),  # type: ignore[arg-type]
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


# -- corners -------------------------------------------------------------------------------

CORNER_RUN = settings(max_examples=400, database=None, deadline=None, derandomize=True)
D3, N4 = gs.dim("D", max_value=3), gs.dim("N", min_value=2, max_value=4)


def corner_shares(strategy: Any, measures: dict[str, Any]) -> dict[str, float]:
    """The share of 400 draws of ``strategy`` for which each measure holds.

    Each draw comes with an unrelated integer, as a loss's other arguments would:
    hypothesis never repeats an example, so a corner drawn alone (a constant) would be
    drawn once only.
    """
    hits = dict.fromkeys(measures, 0)
    draws = [0]

    @CORNER_RUN
    @given(strategy, st.integers(0, 10**9))
    def record(value: Any, _: int) -> None:
        draws[0] += 1
        for name, holds in measures.items():
            hits[name] += bool(holds(value))

    record()
    return {name: count / draws[0] for name, count in hits.items()}


def test_array_corners_come_in_5_to_20_percent_of_draws_by_default() -> None:
    shares = corner_shares(
        gs.weights((N4, 3)),
        {
            "large or scaled": lambda W: 30 <= np.abs(W).max() <= 700,
            "zero row, column or array": lambda W: (
                (W == 0).all(axis=1).any() or (W == 0).all(axis=0).any()
            ),
            "tie at the max of every row": lambda W: (
                ((W == W.max(axis=1, keepdims=True)).sum(axis=1) >= 2).all() and W.any()
            ),
            "duplicated row": lambda W: (
                len({tuple(r) for r in W.tolist()}) < len(W) and (W != 0).all(axis=1).any()
            ),
        },
    )
    # "zeros" also zeroes single entries, columns and whole arrays, so a zero row that is
    # not all zeros is a part of its share; plain draws add a little to each
    assert 0.10 <= shares["large or scaled"] <= 0.35, shares  # two corners
    assert 0.04 <= shares["zero row, column or array"] <= 0.25, shares
    assert 0.05 <= shares["tie at the max of every row"] <= 0.25, shares
    assert 0.05 <= shares["duplicated row"] <= 0.25, shares


def test_corners_off_or_chosen_one_by_one() -> None:
    large = {"large": lambda W: np.abs(W).max() > 1}
    assert corner_shares(gs.weights(4, corners=False), large)["large"] == 0
    no_large = gs.weights(4, corners=gs.ARRAY_CORNERS - {"large", "scaled"})
    assert corner_shares(no_large, large)["large"] == 0
    only_large = corner_shares(gs.weights(4, corners={"large"}), large)["large"]
    assert 0.05 <= only_large <= 0.25
    only_scaled = corner_shares(gs.weights(4, corners={"scaled"}), large)["large"]
    assert 0.05 <= only_scaled <= 0.25
    assert (
        corner_shares(gs.weights(4, scale=100.0), {"big": lambda W: np.abs(W).max() > 100})["big"]
        == 0
    )  # scale >= 30 already reaches the magnitudes: no "large" corner


@CORNER_RUN
@given(
    gs.data((N4, D3), nonnegative=True),
    gs.weights((N4, D3), kink_margin=0.1),
    gs.scalars(nonnegative=True),
    gs.weights(3, dtype=np.float16),
)
def test_corners_keep_sign_margin_dtype_and_finiteness(
    X: np.ndarray, W: np.ndarray, r: float, H: np.ndarray
) -> None:
    assert np.all(X >= 0) and r >= 0
    assert np.all(np.abs(W) >= 0.1)  # no zeros corner with a kink margin
    assert np.all(np.abs(X) <= 700) and np.all(np.abs(W) <= 700) and abs(r) <= 700
    assert H.dtype == np.float16 and np.all(np.isfinite(H))
    large = np.abs(X) > 1
    assert np.all(X[large] == np.round(X[large]))  # large values are readable integers


def test_label_mask_and_scalar_corners() -> None:
    y = corner_shares(
        gs.labels(4, classes=5),
        {
            "all the same": lambda y: len(set(y.tolist())) == 1,
            "ends": lambda y: 4 in y and set(y.tolist()) <= {0, 4},
        },
    )
    plain = corner_shares(
        gs.labels(4, classes=5, corners=False),
        {
            "all the same": lambda y: len(set(y.tolist())) == 1,
            "ends": lambda y: 4 in y and set(y.tolist()) <= {0, 4},
        },
    )
    # each corner in at least 5% of draws (the 5-20%), and never rarer than without
    # corners (hypothesis itself favours boundary values, more or less by version)
    assert y["all the same"] >= max(0.05, plain["all the same"]), (y, plain)
    assert y["ends"] >= max(0.05, plain["ends"]), (y, plain)
    masks = corner_shares(gs.masks(6), {"none": lambda m: not m.any(), "all": lambda m: m.all()})
    assert masks["none"] >= 0.05 and masks["all"] >= 0.05, masks
    r = corner_shares(gs.scalars(), {"zero": lambda v: v == 0.0, "large": lambda v: abs(v) >= 30})
    assert r["zero"] >= 0.05 and 0.05 <= r["large"] <= 0.25, r


def test_wide_dims_draw_one_and_an_odd_size() -> None:
    sizes = corner_shares(
        gs.dim("W", min_value=1, max_value=64),
        {"one": lambda n: n == 1, "odd": lambda n: n == 63},
    )
    assert sizes["one"] >= 0.05 and sizes["odd"] >= 0.05, sizes
    narrow = corner_shares(
        gs.dim("V", max_value=4), {"one": lambda n: n == 1, "3": lambda n: n == 3}
    )
    assert narrow["one"] >= 0.1 and narrow["3"] >= 0.1, narrow


@CORNER_RUN
@given(
    gs.with_corners(
        npst.arrays(np.float64, (2, 3), elements=st.sampled_from([0.0, 0.37, -0.05])),
        corners={"scaled"},
    )
)
def test_scaled_shifts_the_whole_array_by_a_power_of_ten(a: np.ndarray) -> None:
    values = set(a.ravel().tolist()) - {0.0}
    # as drawn (a plain slot); the largest magnitude times 10**k within 700, exactly
    assert (
        values <= {0.37, -0.05}
        or values <= {370.0, -50.0}
        or values <= {-500.0}
        # an array of zeros gets the "large" corner: integers 30 .. 700, signs kept
        or all(v.is_integer() and 30 <= v <= 700 for v in values)
    ), a


def test_scaled_arrays_give_large_products_of_both_signs() -> None:
    # many z = X @ w past +-30 at once, e.g. a large negative z beside a label 1
    def both_signs(pair: tuple[np.ndarray, np.ndarray]) -> bool:
        z = pair[0] @ pair[1]
        return bool((z < -30).any() and (z > 30).any())

    shares = {
        name: corner_shares(
            st.tuples(gs.data((N4, D3), corners=kinds), gs.weights(D3, corners=kinds)),
            {"both": both_signs},
        )["both"]
        for name, kinds in {
            "default": gs.ARRAY_CORNERS,
            "without scaled": gs.ARRAY_CORNERS - {"scaled"},
        }.items()
    }
    assert shares["default"] >= 0.05 and shares["default"] >= 2 * shares["without scaled"], shares


def test_shrinking_removes_corners_a_failure_does_not_need() -> None:
    assert find(gs.weights((3, 2)), lambda W: W.max() > 0.5).max() == 0.51
    # two corners reach past 20 ("large": 30, "scaled": a value times a power of ten);
    # shrinking ends at either, with every other entry zero
    W = find(gs.weights((2, 2)), lambda W: W.max() > 20)
    assert sorted(W.ravel().tolist())[:3] == [0.0, 0.0, 0.0]
    assert W.max() in (30.0, 100.0)
    W = find(gs.weights((2, 2), corners={"large"}), lambda W: W.max() > 20)
    assert sorted(W.ravel().tolist()) == [0.0, 0.0, 0.0, 30.0]
    X = find(gs.data((3, 2)), lambda X: (X[0] == X[1]).all() and (X[0] != 0).all())
    assert X[0].tolist() == X[1].tolist() and np.count_nonzero(X) <= 4


def test_with_corners_composes_with_any_array_strategy() -> None:
    ones = npst.arrays(np.float64, (2, 3), elements=st.just(1.0))
    cornered = gs.with_corners(ones.map(lambda a: a * np.arange(1, 4)))
    zero_column = find(cornered, lambda a: (a == 0).all(axis=0).any() and a.any())
    assert zero_column.tolist() == [[0.0, 2.0, 3.0]] * 2
    tied = find(cornered, lambda a: (a == 3).sum(axis=1).min() >= 2)
    assert tied.tolist() == [[1.0, 3.0, 3.0]] * 2 or tied.tolist() == [[3.0, 2.0, 3.0]] * 2
    assert gs.with_corners(ones, corners=False) is ones


def test_with_corners_of_a_strategy_that_draws_no_array_says_so() -> None:
    # the first corner drawn used to raise AttributeError: 'float' object has no attribute
    # 'size', from inside gradtest
    cornered = gs.with_corners(st.floats(-1, 1))
    with pytest.raises(
        gradtest.InvalidArgumentError,
        match=re.escape(
            "with_corners(arrays=...) needs a strategy of float arrays, but its strategy drew "
            "float "
        ),
    ):
        find(cornered, lambda a: True)


def test_with_corners_of_integer_arrays_says_so_instead_of_wrapping_around() -> None:
    # the "large" corner of an int8 array gave -128: 30 to 700 wrapped around
    ints = npst.arrays(np.int8, (3,), elements=st.integers(0, 5))
    with pytest.raises(
        gradtest.InvalidArgumentError,
        match=re.escape("needs a strategy of float arrays, but its strategy drew an array of "
                        "dtype int8"),
    ):  # fmt: skip
        find(gs.with_corners(ints, corners={"large"}), lambda a: True)


@CORNER_RUN
@given(gs.with_corners(gs.data((3, 2), nonnegative=True, corners=False)))
def test_with_corners_keeps_the_sign_of_the_values(X: np.ndarray) -> None:
    assert np.all(X >= 0) and np.all(X <= 700)
