"""Hypothesis strategies for the inputs of a loss function: weights, data, labels, shapes.

Every builder returns an ordinary hypothesis ``SearchStrategy``, so it composes with any
other strategy (``.map``, ``st.tuples``, ``@st.composite``) and works in ``@given`` as
well as in :func:`gradtest.gradcheck`.

The values are made for gradient checks and for reading:

- finite float64 values of bounded size (``scale``), never NaN, infinity or subnormal;
- *readable*: by default a value has about ``digits`` significant digits (``0.37``,
  ``-1.25``), so a shrunk failing example can be pasted into a unit test as is;
- *shrinkable*: values shrink towards ``0`` and shapes towards their smallest sides;
- ``kink_margin=`` keeps every value a margin away from the kinks of an elementwise
  non-smooth function (``relu``, ``abs``: a kink at 0), where finite differences
  cannot judge a gradient;
- ``badly_scaled=`` spreads the values over several orders of magnitude.

Shape arguments accept a value or a strategy, also per side: ``(dim("N"), 3)``.
:func:`dim` names a side that several arrays share (the ``D`` of ``W (D, C)`` and
``X (N, D)``).

Examples
--------
>>> from hypothesis import given
>>> import gradtest.strategies as gs
>>> D, C, N = gs.dim("D"), gs.dim("C"), gs.dim("N")
>>> @given(W=gs.weights((D, C)), X=gs.data((N, D)), y=gs.labels(N, classes=C))
... def test_shapes_agree(W, X, y):
...     assert (X @ W).shape == (X.shape[0], W.shape[1]) == (y.shape[0], W.shape[1])
...     assert y.max() < W.shape[1]
>>> test_shapes_agree()
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypeAlias

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst
from numpy.typing import DTypeLike, NDArray

from gradtest.errors import InvalidArgumentError

__all__ = [
    "data",
    "dim",
    "labels",
    "scalars",
    "shapes",
    "weights",
]

#: sides of dim() and shapes() are at most this by default: gradient checks cost one or
#: two evaluations per entry, and failures shrink to small shapes anyway
DEFAULT_MAX_SIDE = 4
#: ``badly_scaled=True`` spreads magnitudes over this many decades either side of ``scale``
BADLY_SCALED_DECADES = 6

Side: TypeAlias = "int | st.SearchStrategy[int]"
ShapeLike: TypeAlias = (
    "int | st.SearchStrategy[int] | Sequence[int | st.SearchStrategy[int]] "
    "| st.SearchStrategy[tuple[int, ...]]"
)

_FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


# -- validation helpers (name=value, what was expected, a fix) -----------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_int(value: Any, name: str, *, minimum: int) -> int:
    if not _is_int(value):
        raise InvalidArgumentError(
            f"{name}={value!r} must be an int (type {type(value).__name__} given)"
        )
    if value < minimum:
        raise InvalidArgumentError(f"{name}={value!r} must be an int >= {minimum}")
    return int(value)


def _check_positive_real(value: Any, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InvalidArgumentError(f"{name}={value!r} must be a finite number > 0")
    return float(value)


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgumentError(
            f"{name}={value!r} must be True or False (type {type(value).__name__} given)"
        )
    return value


def _check_float_dtype(dtype: Any, name: str = "dtype") -> np.dtype[Any]:
    try:
        dt: np.dtype[Any] = np.dtype(dtype)
    except TypeError as err:
        raise InvalidArgumentError(
            f"{name}={dtype!r} is not a numpy dtype: pass np.float64, np.float32 or np.float16"
        ) from err
    if dt not in _FLOAT_DTYPES:
        raise InvalidArgumentError(
            f"{name}={dtype!r} must be a real floating dtype (float64, float32 or float16): "
            "finite differences need floating point"
        )
    return dt


def _check_drawn(value: Any, name: str, strategy: Any, *, minimum: int) -> int:
    if not _is_int(value) or value < minimum:
        raise InvalidArgumentError(
            f"{name}: the strategy {strategy!r} drew {value!r}, expected an int >= {minimum}"
        )
    return int(value)


def _side(value: Any, name: str) -> st.SearchStrategy[int]:
    """A strategy for one side of a shape: an int >= 0, or a strategy of such ints."""
    if isinstance(value, st.SearchStrategy):
        return value.map(lambda v: _check_drawn(v, name, value, minimum=0))
    return st.just(_check_int(value, name, minimum=0))


def _shape(shape: Any, name: str = "shape") -> st.SearchStrategy[tuple[int, ...]]:
    """A strategy of shapes from an int, a tuple of (int | strategy) or a strategy."""
    if isinstance(shape, st.SearchStrategy):

        def checked(value: Any) -> tuple[int, ...]:
            if _is_int(value):
                value = (value,)
            if not isinstance(value, tuple):
                raise InvalidArgumentError(
                    f"{name} strategy {shape!r} drew {value!r}: expected a tuple of ints "
                    "(use gradtest.strategies.shapes() or a tuple of dim() strategies)"
                )
            return tuple(_check_int(v, f"{name}[{i}]", minimum=0) for i, v in enumerate(value))

        return shape.map(checked)
    if _is_int(shape):
        return st.tuples(_side(shape, name))
    if isinstance(shape, (tuple, list)):
        return st.tuples(*(_side(v, f"{name}[{i}]") for i, v in enumerate(shape)))
    raise InvalidArgumentError(
        f"{name}={shape!r} must be an int, a tuple of ints or of int strategies (dim('N')), "
        f"or a strategy of shape tuples; got {type(shape).__name__}"
    )


# -- scalars -------------------------------------------------------------------------------


def _decades(badly_scaled: Any) -> int:
    if badly_scaled is True:
        return BADLY_SCALED_DECADES
    if badly_scaled is False:
        return 0
    if _is_int(badly_scaled) and badly_scaled > 0:
        return int(badly_scaled)
    raise InvalidArgumentError(
        f"badly_scaled={badly_scaled!r} must be True, False or a number of decades >= 1 "
        f"(True means {BADLY_SCALED_DECADES})"
    )


def _is_finite_real(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return math.isfinite(float(value))


def _check_kinks(kinks: Any, kink_margin: float | None) -> tuple[float, ...]:
    if not isinstance(kinks, (tuple, list)) or not all(_is_finite_real(k) for k in kinks):
        raise InvalidArgumentError(
            f"kinks={kinks!r} must be a tuple of finite numbers (the points where the "
            "function is not differentiable, e.g. (0.0,) for relu or abs)"
        )
    points = tuple(sorted(float(k) for k in kinks))
    if kink_margin is not None:
        for a, b in itertools.pairwise(points):
            if b - a <= 2 * kink_margin:
                raise InvalidArgumentError(
                    f"kink_margin={kink_margin!r} leaves no room between the kinks {a!r} and "
                    f"{b!r}: choose kink_margin < {(b - a) / 2!r}"
                )
    return points


def _push_out(value: float, kinks: tuple[float, ...], margin: float) -> float:
    """Move ``value`` to the nearer edge of the margin around a kink it falls into."""
    for k in kinks:
        if abs(value - k) < margin:
            return k + margin if value >= k else k - margin
    return value


def scalars(
    *,
    scale: float = 1.0,
    digits: int | None = 2,
    nonnegative: bool = False,
    kink_margin: float | None = None,
    kinks: Sequence[float] = (0.0,),
    badly_scaled: bool | int = False,
) -> st.SearchStrategy[float]:
    """Readable finite floats of size about ``scale`` (elements of arrays, or a scalar).

    Parameters
    ----------
    scale : float, optional
        Values lie in ``[-scale, scale]`` (``[0, scale]`` with ``nonnegative=True``).
    digits : int or None, optional
        Values are multiples of ``10**(floor(log10(scale)) - digits)``, so they print
        with about ``digits`` significant digits (``0.37`` for ``scale=1``); ``None``
        allows any float in the range.
    nonnegative : bool, optional
        Only values ``>= 0`` (a regularisation strength, pixel intensities).
    kink_margin : float, optional
        Keep every value at least this far from each point in ``kinks``: a value that
        falls closer is moved to the edge of the margin (so ``0`` becomes
        ``kink_margin``). Use it for functions that are non-smooth in each entry
        (``relu``, ``abs``, ``max(0, x)``). Kinks of a derived quantity (the margin
        ``s_j - s_y + 1`` of an SVM) cannot be avoided by the values alone:
        :func:`gradtest.gradcheck` rejects such inputs instead.
    kinks : sequence of float, optional
        The points to keep away from; ``(0.0,)`` by default.
    badly_scaled : bool or int, optional
        Multiply each value by a power of ten drawn from ``10**-n .. 10**n``
        (``n = 6`` for ``True``), to mix magnitudes in one input. Shrinks to ``1``.

    Returns
    -------
    SearchStrategy[float]
        Python floats; shrinking goes towards ``0`` (or the margin around it).

    Examples
    --------
    >>> from hypothesis import find
    >>> import gradtest.strategies as gs
    >>> find(gs.scalars(), lambda v: v > 0.5)
    0.51
    >>> find(gs.scalars(kink_margin=0.1), lambda v: True)
    0.1
    >>> find(gs.scalars(scale=100, digits=1, nonnegative=True), lambda v: v > 42)
    50.0
    """
    scale = _check_positive_real(scale, "scale")
    nonnegative = _check_bool(nonnegative, "nonnegative")
    if digits is not None:
        digits = _check_int(digits, "digits", minimum=0)
    margin = None if kink_margin is None else _check_positive_real(kink_margin, "kink_margin")
    points = _check_kinks(kinks, margin)
    decades = _decades(badly_scaled)

    base: st.SearchStrategy[float]
    if digits is None:
        base = st.floats(
            min_value=0.0 if nonnegative else -scale,
            max_value=scale,
            allow_nan=False,
            allow_infinity=False,
            allow_subnormal=False,
        )
    else:
        exponent = math.floor(math.log10(scale)) - digits
        top = max(1, math.floor(scale / 10.0**exponent))
        # float("37e-2") is the float nearest to 0.37: it prints as 0.37
        base = st.integers(0 if nonnegative else -top, top).map(lambda i: float(f"{i}e{exponent}"))
    if decades:
        powers = st.integers(-decades, decades)
        base = st.tuples(base, powers).map(lambda vp: float(Decimal(repr(vp[0])).scaleb(vp[1])))
    if margin is None:
        return base
    pushed = base.map(lambda v: _push_out(v, points, margin))
    if nonnegative:
        pushed = pushed.filter(lambda v: v >= 0)
    return pushed


# -- shapes --------------------------------------------------------------------------------


def dim(
    name: str, *, min_value: int = 1, max_value: int = DEFAULT_MAX_SIDE
) -> st.SearchStrategy[int]:
    """A named side length, shared by every array of one example that uses it.

    ``dim("D")`` drawn twice in the same example gives the same value, so ``W (D, C)``
    and ``X (N, D)`` always fit together. It is ``st.shared(st.integers(...))`` with
    the key ``"gradtest.dim:" + name``; use the same bounds wherever a name appears.

    Parameters
    ----------
    name : str
        The dimension's name (``"N"``, ``"D"``, ``"C"``).
    min_value, max_value : int, optional
        Bounds of the side; it shrinks towards ``min_value``.

    Returns
    -------
    SearchStrategy[int]

    Examples
    --------
    >>> from hypothesis import given, strategies as st
    >>> import gradtest.strategies as gs
    >>> @given(st.tuples(gs.dim("N"), gs.dim("N", min_value=1, max_value=4)))
    ... def test_same(pair):
    ...     assert pair[0] == pair[1]
    >>> test_same()
    """
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(f"name={name!r} must be a non-empty str such as 'N' or 'D'")
    lo = _check_int(min_value, "min_value", minimum=0)
    hi = _check_int(max_value, "max_value", minimum=0)
    if hi < lo:
        raise InvalidArgumentError(
            f"max_value={max_value!r} must be >= min_value={min_value!r} (dim {name!r})"
        )
    return st.shared(st.integers(lo, hi), key=f"gradtest.dim:{name}")


def shapes(
    *,
    min_dims: int = 1,
    max_dims: int = 2,
    min_side: int = 1,
    max_side: int = DEFAULT_MAX_SIDE,
) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes small enough for a gradient check (``hypothesis.extra.numpy.array_shapes``).

    Parameters
    ----------
    min_dims, max_dims : int, optional
        Number of dimensions; shrinks towards ``min_dims``.
    min_side, max_side : int, optional
        Length of each side; shrinks towards ``min_side``.

    Returns
    -------
    SearchStrategy[tuple[int, ...]]

    Examples
    --------
    >>> from hypothesis import find
    >>> import gradtest.strategies as gs
    >>> find(gs.shapes(), lambda s: len(s) == 2)
    (1, 1)
    """
    lo_d = _check_int(min_dims, "min_dims", minimum=0)
    hi_d = _check_int(max_dims, "max_dims", minimum=0)
    lo_s = _check_int(min_side, "min_side", minimum=0)
    hi_s = _check_int(max_side, "max_side", minimum=0)
    if hi_d < lo_d:
        raise InvalidArgumentError(f"max_dims={max_dims!r} must be >= min_dims={min_dims!r}")
    if hi_s < lo_s:
        raise InvalidArgumentError(f"max_side={max_side!r} must be >= min_side={min_side!r}")
    return npst.array_shapes(min_dims=lo_d, max_dims=hi_d, min_side=lo_s, max_side=hi_s)


# -- arrays --------------------------------------------------------------------------------


def _float_arrays(
    shape: Any,
    dtype: DTypeLike,
    elements: st.SearchStrategy[float],
) -> st.SearchStrategy[NDArray[Any]]:
    dt = _check_float_dtype(dtype)
    cast = dt.type
    return npst.arrays(dt, _shape(shape), elements=elements.map(cast))


def weights(
    shape: ShapeLike,
    *,
    scale: float = 1.0,
    digits: int | None = 2,
    kink_margin: float | None = None,
    kinks: Sequence[float] = (0.0,),
    badly_scaled: bool | int = False,
    dtype: DTypeLike = np.float64,
) -> st.SearchStrategy[NDArray[Any]]:
    """Parameter arrays (the ``x`` a gradient is taken with respect to).

    Parameters
    ----------
    shape : int, tuple or strategy
        An int, a tuple whose sides are ints or int strategies (``(dim("D"), 3)``), or a
        strategy of shape tuples (:func:`shapes`).
    scale, digits, kink_margin, kinks, badly_scaled
        As in :func:`scalars`: entries in ``[-scale, scale]`` with about ``digits``
        significant digits.
    dtype : dtype, optional
        float64 (default), float32 or float16.

    Returns
    -------
    SearchStrategy[numpy.ndarray]
        Arrays that shrink towards zeros of the smallest shape.

    Examples
    --------
    >>> from hypothesis import find
    >>> import gradtest.strategies as gs
    >>> W = find(gs.weights((2, 3)), lambda W: W.max() > 0.5)
    >>> W.shape, sorted(W.ravel().tolist())
    ((2, 3), [0.0, 0.0, 0.0, 0.0, 0.0, 0.51])
    >>> find(gs.weights(gs.dim("D"), kink_margin=0.25), lambda W: True)
    array([0.25])
    """
    elements = scalars(
        scale=scale,
        digits=digits,
        kink_margin=kink_margin,
        kinks=kinks,
        badly_scaled=badly_scaled,
    )
    return _float_arrays(shape, dtype, elements)


def data(
    shape: ShapeLike,
    *,
    scale: float = 1.0,
    digits: int | None = 2,
    nonnegative: bool = False,
    kink_margin: float | None = None,
    kinks: Sequence[float] = (0.0,),
    badly_scaled: bool | int = False,
    dtype: DTypeLike = np.float64,
) -> st.SearchStrategy[NDArray[Any]]:
    """Input data arrays (a batch of features ``X``).

    Parameters
    ----------
    shape : int, tuple or strategy
        As in :func:`weights`; typically ``(dim("N"), dim("D"))``.
    scale, digits, nonnegative, kink_margin, kinks, badly_scaled
        As in :func:`scalars`. ``nonnegative=True`` for counts or pixel intensities,
        ``badly_scaled=True`` for unnormalised features of very different sizes.
    dtype : dtype, optional
        float64 (default), float32 or float16.

    Returns
    -------
    SearchStrategy[numpy.ndarray]

    Examples
    --------
    >>> from hypothesis import find
    >>> import gradtest.strategies as gs
    >>> X = find(gs.data((2, 2), scale=255, nonnegative=True), lambda X: X.max() >= 100)
    >>> sorted(X.ravel().tolist())
    [0.0, 0.0, 0.0, 100.0]
    """
    elements = scalars(
        scale=scale,
        digits=digits,
        nonnegative=nonnegative,
        kink_margin=kink_margin,
        kinks=kinks,
        badly_scaled=badly_scaled,
    )
    return _float_arrays(shape, dtype, elements)


def labels(
    n: Side,
    classes: Side,
    *,
    dtype: DTypeLike = np.int64,
) -> st.SearchStrategy[NDArray[Any]]:
    """Integer class labels: an array of shape ``(n,)`` with values in ``0 .. classes - 1``.

    Parameters
    ----------
    n : int or strategy of int
        Number of labels (``dim("N")`` to match the rows of ``X``).
    classes : int or strategy of int
        Number of classes, at least 1 (``dim("C")`` to match the columns of ``W``).
    dtype : integer dtype, optional
        int64 by default.

    Returns
    -------
    SearchStrategy[numpy.ndarray]
        Labels that shrink towards class 0.

    Examples
    --------
    >>> from hypothesis import find
    >>> import gradtest.strategies as gs
    >>> find(gs.labels(gs.dim("N"), classes=4), lambda y: y.size >= 2)
    array([0, 0])
    """
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise InvalidArgumentError(f"dtype={dtype!r} is not a numpy dtype") from err
    if dt.kind not in "iu":
        raise InvalidArgumentError(f"dtype={dtype!r} must be an integer dtype such as np.int64")
    n_st = _side(n, "n")
    if isinstance(classes, st.SearchStrategy):
        c_st = classes.map(lambda c: _check_drawn(c, "classes", classes, minimum=1))
    else:
        c_st = st.just(_check_int(classes, "classes", minimum=1))
    top = int(np.iinfo(dt).max)

    def build(nc: tuple[int, int]) -> st.SearchStrategy[NDArray[Any]]:
        size, n_classes = nc
        if n_classes - 1 > top:
            raise InvalidArgumentError(f"classes={n_classes} does not fit into dtype {dt}")
        return npst.arrays(dt, (size,), elements=st.integers(0, n_classes - 1))

    return st.tuples(n_st, c_st).flatmap(build)
