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
- ``badly_scaled=`` spreads the values over several orders of magnitude;
- *cornered*: by default a share of the draws is a corner where gradient bugs hide
  (exact zeros, ties at a maximum, duplicated rows, magnitudes of 30 to 700 that take
  the stable branch of ``softplus`` or ``sigmoid``, in some entries or the whole array
  scaled up, sizes 1 and odd, repeated labels,
  labels of the last class, all-false masks), each in about ``1 / CORNER_SLOTS`` of the
  draws; ``corners=False`` or a subset of the corner names turns them off, and
  :func:`with_corners` adds them to any strategy of float arrays.

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

import functools
import itertools
import math
import numbers
from collections.abc import Sequence, Set
from decimal import Decimal
from typing import Any, TypeAlias

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst
from numpy.typing import DTypeLike, NDArray

from gradtest.errors import InvalidArgumentError

__all__ = [
    "ARRAY_CORNERS",
    "DIM_CORNERS",
    "LABEL_CORNERS",
    "MASK_CORNERS",
    "SCALAR_CORNERS",
    "data",
    "dim",
    "labels",
    "masks",
    "scalars",
    "shapes",
    "weights",
    "with_corners",
]

#: sides of dim() and shapes() are at most this by default: gradient checks cost one or
#: two evaluations per entry, and failures shrink to small shapes anyway
DEFAULT_MAX_SIDE = 4
#: ``badly_scaled=True`` spreads magnitudes over this many decades either side of ``scale``
BADLY_SCALED_DECADES = 6

#: corners of float arrays: exact zeros (an entry, a row, a column or the whole array),
#: ties at the maximum along an axis (argmax, max-pooling, top-k, sort), duplicated rows
#: (repeated examples), large magnitudes in some entries (see LARGE_MAGNITUDES) and the
#: whole array scaled up to them
ARRAY_CORNERS = frozenset({"duplicates", "large", "scaled", "ties", "zeros"})
#: corners of scalars: exactly zero, and a large magnitude
SCALAR_CORNERS = frozenset({"large", "zeros"})
#: corners of dim(): the size 1 and the largest odd size of the range (3 by default)
DIM_CORNERS = frozenset({"odd", "one"})
#: corners of labels(): every label the same (repeated indices), and labels at both
#: ends of the class range (0 and classes - 1)
LABEL_CORNERS = frozenset({"ends", "repeated"})
#: corners of masks(): all False, all True, a single True entry
MASK_CORNERS = frozenset({"all_false", "all_true", "single"})
#: each corner is one of this many equally likely slots (the others draw plain values),
#: so each corner comes in about 10% of the draws and shrinking leaves the corner first
CORNER_SLOTS = 10
#: magnitudes of the "large" corner: past the switch to the stable branch of softplus,
#: sigmoid or log-sum-exp (usually |z| > 20 to 50) and below exp's overflow (709)
LARGE_MAGNITUDES = (30, 700)

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


# -- corners -------------------------------------------------------------------------------


def _check_corners(value: Any, allowed: frozenset[str], name: str = "corners") -> frozenset[str]:
    """``True`` means every corner in ``allowed``, ``False`` none, else a subset of names."""
    if value is True:
        return allowed
    if value is False or value is None:
        return frozenset()
    if isinstance(value, (set, frozenset, tuple, list)) and all(isinstance(v, str) for v in value):
        unknown = sorted(set(value) - allowed)
        if not unknown:
            return frozenset(value)
        raise InvalidArgumentError(
            f"{name}={value!r} names unknown corners {unknown}: the corners here are "
            f"{sorted(allowed)}"
        )
    raise InvalidArgumentError(
        f"{name}={value!r} must be True, False or a set of corner names from "
        f"{sorted(allowed)}; to turn one off pass e.g. {name}={sorted(allowed)[1:]!r}"
    )


def _slots(kinds: frozenset[str]) -> list[str]:
    """``CORNER_SLOTS`` choices: ``"plain"`` first (where shrinking goes), one per corner."""
    return ["plain"] * (CORNER_SLOTS - len(kinds)) + sorted(kinds)


def _index(draw: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(draw(st.integers(0, side - 1)) for side in shape)


def _two_positions(draw: Any, n: int) -> tuple[int, int]:
    """Two different positions in ``0 .. n - 1`` (``n >= 2``)."""
    i = draw(st.integers(0, n - 1))
    return i, (i + draw(st.integers(1, n - 1))) % n


def _corner_zeros(draw: Any, a: NDArray[Any], signs: str) -> NDArray[Any]:
    where = draw(st.sampled_from(["entry", "row", "column", "all"]))
    if where == "all" or a.ndim == 0:
        a[...] = 0
    elif where == "entry":
        a[_index(draw, a.shape)] = 0
    elif where == "row":
        a[draw(st.integers(0, a.shape[0] - 1))] = 0
    else:
        a[..., draw(st.integers(0, a.shape[-1] - 1))] = 0
    return a


def _corner_ties(draw: Any, a: NDArray[Any], signs: str) -> NDArray[Any]:
    """Every line along an axis gets a second entry equal to its maximum."""
    axes = [ax for ax in sorted({a.ndim - 1, 0}, reverse=True) if a.ndim and a.shape[ax] >= 2]
    if not axes:
        return a
    axis = draw(st.sampled_from(axes))
    lines = np.moveaxis(a, axis, -1)  # a view: writing to it writes to a
    n = lines.shape[-1]
    top = np.argmax(lines, axis=-1)[..., None]
    other = (top + draw(st.integers(1, n - 1))) % n
    np.put_along_axis(lines, other, np.take_along_axis(lines, top, axis=-1), axis=-1)
    return a


def _corner_duplicates(draw: Any, a: NDArray[Any], signs: str) -> NDArray[Any]:
    """One row (an example; an entry of a vector) repeats another exactly."""
    if a.ndim == 0 or a.shape[0] < 2:
        return a
    i, j = _two_positions(draw, a.shape[0])
    a[j] = a[i]
    return a


def _corner_large(draw: Any, a: NDArray[Any], signs: str) -> NDArray[Any]:
    """One entry, and any others, get an integer magnitude in ``LARGE_MAGNITUDES``.

    ``signs``: ``"drawn"`` at random, ``"positive"``, or ``"kept"`` from the values (a
    zero counts as positive).
    """
    lo, hi = LARGE_MAGNITUDES
    chosen = draw(npst.arrays(np.bool_, a.shape))
    chosen[_index(draw, a.shape)] = True
    values = draw(npst.arrays(np.int64, a.shape, elements=st.integers(lo, hi)))
    if signs == "drawn":
        values = np.where(draw(npst.arrays(np.bool_, a.shape)), -values, values)
    elif signs == "kept":
        values = np.where(a < 0, -values, values)
    a[chosen] = values[chosen]
    return a


def _corner_scaled(draw: Any, a: NDArray[Any], signs: str) -> NDArray[Any]:
    """The whole array times the largest power of ten that keeps it within 700.

    The largest magnitude lands in ``(70, 700]`` (``LARGE_MAGNITUDES``), every value
    keeps its sign and its digits (the shift is decimal: ``0.37`` becomes ``370.0``), so
    many products ``X @ w`` are large, of both signs. An array of zeros, or one already
    past 30, gets the ``"large"`` corner instead.
    """
    lo, hi = LARGE_MAGNITUDES
    top = Decimal(repr(float(np.abs(a).max())))
    if not 0 < top < lo:
        return _corner_large(draw, a, signs)
    k = math.floor(math.log10(hi / float(top)))
    while top.scaleb(k + 1) <= hi:  # log10 is rounded: one step either way
        k += 1
    while top.scaleb(k) > hi:
        k -= 1
    shifted = [float(Decimal(repr(float(v))).scaleb(k)) for v in a.reshape(-1)]
    return np.array(shifted, dtype=a.dtype).reshape(a.shape)


_ARRAY_CORNER_MAKERS = {
    "duplicates": _corner_duplicates,
    "large": _corner_large,
    "scaled": _corner_scaled,
    "ties": _corner_ties,
    "zeros": _corner_zeros,
}


@st.composite
def _cornered(
    draw: Any,
    arrays: st.SearchStrategy[NDArray[Any]],
    kinds: frozenset[str],
    signs: str,
    kinks: tuple[float, ...],
    margin: float | None,
) -> NDArray[Any]:
    kind = draw(st.sampled_from(_slots(kinds)))
    a: NDArray[Any] = draw(arrays)
    if not isinstance(a, np.ndarray):
        # (a corner needs an array's shape and entries: without this check the first
        # corner drawn raised a bare AttributeError from inside gradtest)
        raise InvalidArgumentError(
            "with_corners(arrays=...) needs a strategy of float arrays, but its strategy "
            f"drew {type(a).__name__} {a!r:.60}: pass one that draws numpy arrays, e.g. "
            "hypothesis.extra.numpy.arrays(np.float64, shape)"
        )
    if a.dtype.kind != "f":
        # (the corners' values, 30 to 700 and their scalings, wrap around in int8)
        raise InvalidArgumentError(
            "with_corners(arrays=...) needs a strategy of float arrays, but its strategy "
            f"drew an array of dtype {a.dtype}: pass one that draws floats, e.g. "
            "hypothesis.extra.numpy.arrays(np.float64, shape)"
        )
    if kind == "plain" or a.size == 0:
        return a
    out = np.array(a, copy=True)
    out = _ARRAY_CORNER_MAKERS[kind](draw, out, signs)
    if margin is not None and kind in ("large", "scaled"):
        flat = out.reshape(-1)
        flat[:] = [_push_out(float(v), kinks, margin) for v in flat]
    return out


def with_corners(
    arrays: st.SearchStrategy[NDArray[Any]],
    *,
    corners: bool | Set[str] = True,
) -> st.SearchStrategy[NDArray[Any]]:
    """Mix the corners where gradient bugs hide into any strategy of float arrays.

    Each corner is one of ``CORNER_SLOTS`` (10) equally likely choices drawn before the
    array; the other choices leave the array as drawn. So each corner comes in about 10%
    of the examples, and shrinking, which goes to the first choice, removes the corner
    unless the failure needs it.

    Parameters
    ----------
    arrays : SearchStrategy[numpy.ndarray]
        Any strategy of float arrays (:func:`weights`, :func:`data`,
        ``hypothesis.extra.numpy.arrays``). Its arrays are copied, never changed.
    corners : bool or set of str, optional
        ``True`` (default) for all of :data:`ARRAY_CORNERS`, ``False`` for none, or a
        subset of it, e.g. ``gs.ARRAY_CORNERS - {"large", "scaled"}``:

        - ``"zeros"``: exact zeros in one entry, one row, one column or the whole array;
        - ``"ties"``: along the last axis (or the first), every line gets a second entry
          equal to its maximum (ties for ``argmax``, max-pooling, top-k, ``sort``);
        - ``"duplicates"``: one row (an example) is an exact copy of another;
        - ``"large"``: one entry, and any others, get an integer magnitude from 30 to 700
          with their sign, 0 counting as positive (``LARGE_MAGNITUDES``): past the switch
          of the stable branches of softplus, sigmoid and log-sum-exp, below the overflow
          of ``exp`` (709);
        - ``"scaled"``: the whole array times the largest power of ten that keeps it
          within 700, so its largest magnitude lies in 70 to 700 and the others keep
          their signs and proportions (``[0.37, -0.05]`` becomes ``[370.0, -50.0]``): a
          batch of large scores of both signs, where ``"large"`` gives one. An array of
          zeros, or one already past 30, gets ``"large"`` instead.

    Returns
    -------
    SearchStrategy[numpy.ndarray]

    Notes
    -----
    Corners keep the sign of the values (a nonnegative array stays so), their
    readability (zeros, copies, integers) and their dtype. (In :func:`weights` and
    :func:`data` the signs of large values are drawn, positive for ``nonnegative``.)
    A corner that does not fit the drawn shape (a tie in a line of length 1) leaves the
    array as drawn. A ``large`` or ``scaled`` entry times another can exceed 709, where
    a naive ``np.exp`` overflows: a loss that must work there is worth testing there;
    drop ``"large"`` and ``"scaled"`` otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from hypothesis import find, strategies as st
    >>> from hypothesis.extra import numpy as npst
    >>> import gradtest.strategies as gs
    >>> plain = npst.arrays(np.float64, (3, 2), elements=st.sampled_from([0.5, 1.5]))
    >>> find(gs.with_corners(plain, corners={"scaled"}), lambda a: np.abs(a).max() > 20)
    array([[500., 500.],
           [500., 500.],
           [500., 500.]])
    >>> find(gs.with_corners(plain, corners={"large"}), lambda a: np.abs(a).max() > 20)
    array([[30. ,  0.5],
           [ 0.5,  0.5],
           [ 0.5,  0.5]])
    >>> find(gs.with_corners(plain), lambda a: (a[:, 1] == 0).all() and a.any())  # a column
    array([[0.5, 0. ],
           [0.5, 0. ],
           [0.5, 0. ]])
    >>> no_large = gs.with_corners(plain, corners=gs.ARRAY_CORNERS - {"large", "scaled"})
    >>> find(no_large, lambda a: np.abs(a).max() > 20)
    Traceback (most recent call last):
    ...
    hypothesis.errors.NoSuchExample: No examples found of condition lambda a: ...
    """
    if not isinstance(arrays, st.SearchStrategy):
        raise InvalidArgumentError(
            f"arrays={arrays!r} must be a hypothesis strategy of float arrays, such as "
            "gradtest.strategies.weights((3, 2)) or hypothesis.extra.numpy.arrays(...)"
        )
    kinds = _check_corners(corners, ARRAY_CORNERS)
    if not kinds:
        return arrays
    return _cornered(arrays, kinds, "kept", (), None)


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


def _check_room(margin: float, kinks: tuple[float, ...], lo: float, hi: float) -> None:
    """A margin that covers the whole range ``[lo, hi]`` would move every value out of it."""
    for k in kinks:
        if k - margin <= lo and hi <= k + margin:
            raise InvalidArgumentError(
                f"kink_margin={margin!r} covers all of [{lo!r}, {hi!r}] around the kink {k!r}: "
                "every value would be moved to the margin's edge, outside the range; choose "
                f"kink_margin < {max(k - lo, hi - k)!r}, or a larger scale"
            )


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
    corners: bool | Set[str] = True,
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
        ``kink_margin``; a margin that covers the whole range around a kink is an
        error). Use it for functions that are non-smooth in each entry
        (``relu``, ``abs``, ``max(0, x)``). Kinks of a derived quantity (the margin
        ``s_j - s_y + 1`` of an SVM) cannot be avoided by the values alone:
        :func:`gradtest.gradcheck` rejects such inputs instead.
    kinks : sequence of float, optional
        The points to keep away from; ``(0.0,)`` by default.
    badly_scaled : bool or int, optional
        Multiply each value by a power of ten drawn from ``10**-n .. 10**n``
        (``n = 6`` for ``True``), to mix magnitudes in one input. Shrinks to ``1``.
    corners : bool or set of str, optional
        ``True`` (default) mixes in :data:`SCALAR_CORNERS`, each in about 10% of the
        draws: exactly ``0.0`` (``"zeros"``; not with ``kink_margin``) and an integer
        magnitude from 30 to 700 (``"large"``, ``LARGE_MAGNITUDES``; only when ``scale``
        is below 30, since otherwise the plain values reach it). ``False`` keeps every
        value in ``[-scale, scale]``; a subset keeps only those corners.

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
    >>> find(gs.scalars(), lambda v: v > 1)  # the "large" corner
    30.0
    >>> find(gs.scalars(corners=False), lambda v: v > 1)
    Traceback (most recent call last):
    ...
    hypothesis.errors.NoSuchExample: No examples found of condition lambda v: v > 1
    """
    scale = _check_positive_real(scale, "scale")
    nonnegative = _check_bool(nonnegative, "nonnegative")
    if digits is not None:
        digits = _check_int(digits, "digits", minimum=0)
    margin = None if kink_margin is None else _check_positive_real(kink_margin, "kink_margin")
    points = _check_kinks(kinks, margin)
    if margin is not None:
        _check_room(margin, points, 0.0 if nonnegative else -scale, scale)
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
    kinds = _fitting_corners(_check_corners(corners, SCALAR_CORNERS), scale, margin)
    if kinds:
        lo, hi = LARGE_MAGNITUDES
        large = st.integers(lo, hi).map(float)
        if not nonnegative:
            large = st.tuples(large, st.booleans()).map(lambda mn: -mn[0] if mn[1] else mn[0])
        choices = {"plain": base, "zeros": st.just(0.0), "large": large}
        base = st.sampled_from(_slots(kinds)).flatmap(choices.__getitem__)
    if margin is None:
        return base
    pushed = base.map(lambda v: _push_out(v, points, margin))
    if nonnegative:
        pushed = pushed.filter(lambda v: v >= 0)
    return pushed


def _fitting_corners(kinds: frozenset[str], scale: float, margin: float | None) -> frozenset[str]:
    """Drop the corners a value strategy cannot or need not draw.

    ``"zeros"`` when ``kink_margin`` keeps values away from the kinks (0 is one by
    default), and ``"large"`` and ``"scaled"`` when ``scale`` already reaches their
    magnitudes.
    """
    if margin is not None:
        kinds -= {"zeros"}
    if scale >= LARGE_MAGNITUDES[0]:
        kinds -= {"large", "scaled"}
    return kinds


# -- shapes --------------------------------------------------------------------------------


def dim(
    name: str,
    *,
    min_value: int = 1,
    max_value: int = DEFAULT_MAX_SIDE,
    corners: bool | Set[str] = True,
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
    corners : bool or set of str, optional
        ``True`` (default) mixes in :data:`DIM_CORNERS`, each in about 10% of the
        draws on top of its share of the plain draws: the size 1 (``"one"``: a batch of
        one example, where ``squeeze`` drops an axis) and the largest odd size of the
        range from 3 (``"odd"``: halves that do not split evenly). A corner outside the
        bounds is left out, and so are both when the range has at most
        ``CORNER_SLOTS`` (10) sizes: then every size, 1 and 3 included, already comes in
        more than 10% of the plain draws (hypothesis favours the small end: with the
        default ``1 .. 4``, ``N`` of ``gs.data((N, D))`` was 1, 2, 3, 4 in 54%, 22%, 12%,
        13% of 500 examples of a three-argument test).
        ``False`` draws plain integers.

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
    kinds = _check_corners(corners, DIM_CORNERS)
    return st.shared(_dim_values(lo, hi, kinds), key=f"gradtest.dim:{name}")


@functools.lru_cache(maxsize=256)
def _dim_values(lo: int, hi: int, kinds: frozenset[str]) -> st.SearchStrategy[int]:
    """One strategy object per arguments: st.shared wants the same strategy for a key."""
    values = st.integers(lo, hi)
    if hi - lo + 1 <= CORNER_SLOTS:
        # each size already comes in more than 1 / CORNER_SLOTS of the plain draws, and
        # a corner slot would only make shrinking stop at a larger size
        return values
    odd = hi if hi % 2 else hi - 1
    special = {"one": 1 if lo <= 1 else None, "odd": odd if odd >= max(lo, 3) else None}
    fitting = {k: v for k, v in special.items() if k in kinds and v is not None}
    if not fitting:
        return values
    choices = {"plain": values, **{k: st.just(v) for k, v in fitting.items()}}
    return st.sampled_from(_slots(frozenset(fitting))).flatmap(choices.__getitem__)


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
    corners: Any,
    nonnegative: bool,
    scale: float,
    kink_margin: float | None,
    kinks: Sequence[float],
) -> st.SearchStrategy[NDArray[Any]]:
    dt = _check_float_dtype(dtype)
    cast = dt.type
    arrays = npst.arrays(dt, _shape(shape), elements=elements.map(cast))
    kinds = _fitting_corners(_check_corners(corners, ARRAY_CORNERS), scale, kink_margin)
    if not kinds:
        return arrays
    signs = "positive" if nonnegative else "drawn"
    return _cornered(arrays, kinds, signs, tuple(float(k) for k in kinks), kink_margin)


def weights(
    shape: ShapeLike,
    *,
    scale: float = 1.0,
    digits: int | None = 2,
    kink_margin: float | None = None,
    kinks: Sequence[float] = (0.0,),
    badly_scaled: bool | int = False,
    dtype: DTypeLike = np.float64,
    corners: bool | Set[str] = True,
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
    corners : bool or set of str, optional
        ``True`` (default) mixes in :data:`ARRAY_CORNERS` as :func:`with_corners`
        describes (each in about 10% of the draws): exact zeros, ties at a maximum,
        duplicated rows, magnitudes from 30 to 700 in some entries, the whole array
        scaled up to them. ``"zeros"`` is left out with ``kink_margin``, ``"large"``
        and ``"scaled"`` when ``scale >= 30``. ``False`` keeps every entry in
        ``[-scale, scale]``; a subset such as ``gs.ARRAY_CORNERS - {"zeros"}`` keeps
        only those.

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
    >>> find(gs.weights((2, 2)), lambda W: W[0, 0] > 0 and W[0, 0] == W[0, 1])  # a tie
    array([[0.01, 0.01],
           [0.  , 0.  ]])
    """
    elements = scalars(
        scale=scale,
        digits=digits,
        kink_margin=kink_margin,
        kinks=kinks,
        badly_scaled=badly_scaled,
        corners=False,
    )
    return _float_arrays(shape, dtype, elements, corners, False, scale, kink_margin, kinks)


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
    corners: bool | Set[str] = True,
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
    corners : bool or set of str, optional
        As in :func:`weights`: duplicated rows are repeated examples, a zero column
        a feature that is always 0. Corners keep ``nonnegative`` data nonnegative.

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
    >>> find(gs.data((2, 3), corners={"scaled"}), lambda X: X.min() < -1)  # -0.01 x 10**4
    array([[   0.,    0.,    0.],
           [   0.,    0., -100.]])
    >>> find(gs.data((2, 3), corners={"large"}), lambda X: X.min() < -1)
    array([[-30.,   0.,   0.],
           [  0.,   0.,   0.]])
    """
    elements = scalars(
        scale=scale,
        digits=digits,
        nonnegative=nonnegative,
        kink_margin=kink_margin,
        kinks=kinks,
        badly_scaled=badly_scaled,
        corners=False,
    )
    return _float_arrays(shape, dtype, elements, corners, nonnegative, scale, kink_margin, kinks)


def labels(
    n: Side,
    classes: Side,
    *,
    dtype: DTypeLike = np.int64,
    corners: bool | Set[str] = True,
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
    corners : bool or set of str, optional
        ``True`` (default) mixes in :data:`LABEL_CORNERS`, each in about 10% of the
        draws: every label the same class (``"repeated"``: repeated indices, where
        ``W[y] += g`` and ``np.add.at(W, y, g)`` differ) and every label either 0 or
        ``classes - 1``, the last label ``classes - 1`` (``"ends"``: the first and the
        last class). ``False`` draws
        plain labels. Labels are also indices: ``labels(n, classes=V)`` draws ``n``
        row indices into a table of ``V`` rows.

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
    >>> find(gs.labels(4, classes=4), lambda y: (y == 3).sum() >= 2 and (y == 0).any())
    array([0, 0, 3, 3])
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
    kinds = _check_corners(corners, LABEL_CORNERS)

    def build(nc: tuple[int, int]) -> st.SearchStrategy[NDArray[Any]]:
        size, n_classes = nc
        if n_classes - 1 > top:
            raise InvalidArgumentError(f"classes={n_classes} does not fit into dtype {dt}")
        # fill=nothing: every label drawn on its own (hypothesis's arrays otherwise fill most
        # of an array with one value, so that a run rarely sees two classes together)
        plain = npst.arrays(dt, (size,), elements=st.integers(0, n_classes - 1), fill=st.nothing())
        if not kinds or size == 0:
            return plain
        last = n_classes - 1
        choices = {
            "plain": plain,
            "repeated": st.integers(0, last).map(lambda c: np.full(size, c, dtype=dt)),
            "ends": npst.arrays(np.bool_, (size,), fill=st.nothing()).map(
                lambda b: _ends(b, last, dt)
            ),
        }
        return st.sampled_from(_slots(kinds)).flatmap(choices.__getitem__)

    return st.tuples(n_st, c_st).flatmap(build)


def _ends(last_class: NDArray[Any], last: int, dt: np.dtype[Any]) -> NDArray[Any]:
    """Labels 0, or ``last`` where ``last_class`` is true and at the end."""
    last_class[-1] = True
    return np.where(last_class, last, 0).astype(dt)


def masks(shape: ShapeLike, *, corners: bool | Set[str] = True) -> st.SearchStrategy[NDArray[Any]]:
    """Boolean masks (which examples, entries or tokens count).

    Parameters
    ----------
    shape : int, tuple or strategy
        As in :func:`weights`; ``dim("N")`` for one flag per example.
    corners : bool or set of str, optional
        ``True`` (default) mixes in :data:`MASK_CORNERS`, each in about 10% of the
        draws: all ``False`` (``"all_false"``: an empty selection, where a masked mean
        divides by zero), all ``True`` (``"all_true"``) and a single ``True``
        (``"single"``). ``False`` draws plain masks.

    Returns
    -------
    SearchStrategy[numpy.ndarray]
        Boolean arrays that shrink towards all ``False``.

    Examples
    --------
    >>> from hypothesis import find
    >>> import gradtest.strategies as gs
    >>> find(gs.masks(3), lambda m: m.sum() == 1)
    array([ True, False, False])
    >>> find(gs.masks(gs.dim("N")), lambda m: m.size == 4 and m.all())
    array([ True,  True,  True,  True])
    """
    kinds = _check_corners(corners, MASK_CORNERS)

    def build(size: tuple[int, ...]) -> st.SearchStrategy[NDArray[Any]]:
        plain = npst.arrays(np.bool_, size)
        if not kinds or math.prod(size) == 0:
            return plain

        def single(flat_index: int) -> NDArray[Any]:
            m = np.zeros(size, dtype=np.bool_)
            m.reshape(-1)[flat_index] = True
            return m

        choices = {
            "plain": plain,
            "all_false": st.just(np.zeros(size, dtype=np.bool_)),
            "all_true": st.just(np.ones(size, dtype=np.bool_)),
            "single": st.integers(0, math.prod(size) - 1).map(single),
        }
        return st.sampled_from(_slots(kinds)).flatmap(choices.__getitem__)

    return _shape(shape).flatmap(build)
