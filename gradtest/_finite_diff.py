"""Finite differences: step sizes, stencils, Richardson extrapolation, complex step.

Everything about *how a numeric derivative is computed and how accurate it is* lives here.

Steps
-----
The step of entry ``i`` is ``h_i = c * s_i`` with ``s_i = max(|x_i|, rms(x_block))``
(1 where the whole array is zero), so it follows the scale of the entry and of its array,
and ``c`` follows the method and the machine epsilon of the parameter dtype (EPS):

====================  ===============  ====================================
method                c                error at the best step (f64)
====================  ===============  ====================================
``forward``           EPS**(1/2)       O(EPS**(1/2)) ~ 1e-8
``central``           (8 EPS)**(1/3)   O(EPS**(2/3)) ~ 1e-10
``central4``          EPS**(1/5)       O(EPS**(4/5)) ~ 3e-13
``richardson``        EPS**(1/7)       estimated from the tableau (~1e-13)
``complex``           1e-20            O(EPS) (no subtraction)
====================  ===============  ====================================

These balance truncation against round-off (Numerical Recipes, 3rd ed., section 5.7;
scipy's ``approx_derivative`` uses the same exponents). The central step uses ``8 EPS``
because the round-off of a computed ``f`` is a few ulps, not one: on the 28 smooth
functions of the test corpus it halves the median error (``benchmarks/bench_corpus.py``).
Steps are *realised*: for a float32 parameter the step actually taken is
``float32(x + h) - x``, and that is the step the quotient divides by.

Error model
-----------
Round-off: a value of ``f`` carries an error of about ``sigma`` (the noise floor,
measured by :func:`estimate_noise`), so a stencil with weights ``w`` at step ``h`` has
round-off error ``sigma * sum|w| / h``. Truncation is estimated from the Richardson
tableau (differences between successive extrapolations, as in Ridders' method).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gradtest import _tolerance as tol
from gradtest._params import Float64Array, ParamSpec, rms


@dataclass(frozen=True)
class MethodSpec:
    """One finite-difference method: everything else about it derives from this row.

    ``offsets``/``weights``: the one-step stencil in units of ``h`` (offset 0 is ``f(x)``,
    which every check has already); ``cost``: evaluations per entry; ``order``: the power
    of ``h`` in its truncation error; ``step``: the step relative to the entry's scale,
    a function of the machine epsilon.
    """

    label: str
    offsets: tuple[float, ...]
    weights: tuple[float, ...]
    order: int
    cost: int
    step: Callable[[float], float]


#: the methods (Numerical Recipes 3rd ed. 5.7; scipy's ``approx_derivative`` uses the same
#: exponents). ``richardson`` is central differences at h, h/2, h/4 extrapolated; ``complex``
#: is Im f(x + ih)/h, which has no subtraction and so no round-off from cancellation.
METHOD_TABLE: dict[str, MethodSpec] = {
    "central": MethodSpec(
        "central differences", (1.0, -1.0), (0.5, -0.5), 2, 2, lambda eps: (8 * eps) ** (1 / 3)
    ),
    "forward": MethodSpec(
        "forward differences", (1.0, 0.0), (1.0, -1.0), 1, 1, lambda eps: math.sqrt(eps)
    ),
    "central4": MethodSpec(
        "4th-order central differences",
        (2.0, 1.0, -1.0, -2.0),
        (-1 / 12, 8 / 12, -8 / 12, 1 / 12),
        4,
        4,
        lambda eps: eps ** (1 / 5),
    ),
    "richardson": MethodSpec("Richardson extrapolation", (), (), 6, 6, lambda eps: eps ** (1 / 7)),
    "complex": MethodSpec("complex step", (), (), 2, 1, lambda eps: 1e-20),
}
METHODS = tuple(METHOD_TABLE)
METHOD_NAMES = {k: m.label for k, m in METHOD_TABLE.items()}


def relative_step(method: str, eps: float) -> float:
    """The step relative to the entry's scale, ``c`` in the module notes."""
    return float(METHOD_TABLE[method].step(eps))


def entry_scales(
    spec: ParamSpec, x: Float64Array, indices: NDArray[np.intp] | None = None
) -> Float64Array:
    """``s_i = max(|x_i|, rms(x_block))`` (rms 1 for an all-zero array), for every entry or
    for the given ones."""
    block_rms = np.array([rms(x[spec.block(k)]) for k in range(spec.n_blocks)])
    if indices is None:
        return np.asarray(np.maximum(np.abs(x), np.repeat(block_rms, np.diff(spec.offsets))))
    return np.asarray(np.maximum(np.abs(x[indices]), block_rms[spec.blocks_of(indices)]))


def realise(spec: ParamSpec, x: Float64Array, h: Float64Array) -> Float64Array:
    """The steps actually taken once ``x + h`` is rounded to each array's dtype."""
    out = h.copy()
    for k in range(spec.n_blocks):
        blk = spec.block(k)
        dtype = spec.dtypes[k]
        if dtype != np.float64:
            moved = (x[blk] + h[blk]).astype(dtype).astype(np.float64)
            out[blk] = moved - x[blk]
    return out


def realise_entries(
    spec: ParamSpec, x: Float64Array, indices: NDArray[np.intp], h: Float64Array
) -> Float64Array:
    """:func:`realise` for the steps ``h`` of the entries ``indices`` only."""
    out = np.array(h, dtype=np.float64)
    if all(d == np.float64 for d in spec.dtypes):
        return out
    for col, i in enumerate(indices):
        k = spec.block_of(int(i))
        moved = np.array(x[i] + h[col]).astype(spec.dtypes[k]).astype(np.float64)
        out[col] = float(moved) - x[i]
    return out


@dataclass(frozen=True)
class Estimate:
    """A numeric derivative with its error estimate and the step it came from."""

    value: NDArray[np.float64]
    error: NDArray[np.float64]
    step: float


def stencil_estimate(
    values: list[NDArray[np.float64]],
    weights: tuple[float, ...],
    h: float,
    sigma: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Derivative from stencil values and its round-off error ``sigma * sum|w| / h``."""
    d = sum(w * v for w, v in zip(weights, values, strict=True)) / h
    roundoff = sigma * sum(abs(w) for w in weights) / abs(h)
    return np.asarray(d, dtype=np.float64), np.asarray(roundoff, dtype=np.float64)


def richardson(
    central: list[NDArray[np.float64]], steps: list[float], sigma: NDArray[np.float64]
) -> Estimate:
    """Richardson extrapolation of central differences at steps ``h, h/2, h/4, ...``.

    ``central[k]`` is the central difference at ``steps[k]`` (halving). The tableau
    ``T[k][j] = T[k][j-1] + (T[k][j-1] - T[k-1][j-1]) / (4**j - 1)`` removes the
    ``h**2, h**4, ...`` error terms. The error of ``T[k][j]`` is estimated as
    ``max(|T[k][j] - T[k][j-1]|, |T[k][j] - T[k-1][j-1]|)`` (Ridders' method, Numerical
    Recipes 5.7) plus its round-off, ``2 * sigma / h_k`` times the growth of round-off
    through the extrapolation; the entry with the smallest total error is returned.
    """
    n = len(central)
    table: list[list[NDArray[np.float64]]] = [[c] for c in central]
    best_val = central[0]
    best_err = np.full(np.shape(central[0]), np.inf)
    best_step = np.full(np.shape(central[0]), steps[0])
    for k in range(n):
        amp = 1.0
        for j in range(1, k + 1):
            factor = 4.0**j
            t = table[k][j - 1] + (table[k][j - 1] - table[k - 1][j - 1]) / (factor - 1)
            table[k].append(t)
            amp *= (factor + 1) / (factor - 1)
            trunc = np.maximum(np.abs(t - table[k][j - 1]), np.abs(t - table[k - 1][j - 1]))
            err = trunc + 2.0 * amp * sigma / steps[k]
            better = err < best_err
            best_val = np.where(better, t, best_val)
            best_err = np.where(better, err, best_err)
            best_step = np.where(better, steps[k], best_step)
    if n == 1:
        best_err = 2.0 * sigma / steps[0]
    return Estimate(value=best_val, error=best_err, step=float(np.max(best_step)))


def estimate_noise(
    values: NDArray[np.float64], positions: NDArray[np.float64] | None = None
) -> float:
    """Noise level of ``f`` from values at points along a line.

    Equally spaced points (``positions=None``): the k-th differences of smooth values vanish
    quickly while those of noise of level ``sigma`` have variance ``binom(2k, k) *
    sigma**2``; the estimate of order k is ``sqrt(mean(diff(f, k)**2) / binom(2k, k))``,
    and the median of the estimates of orders 3 and 4 is returned (after Moré and Wild,
    "Estimating computational noise", SIAM J. Sci. Comput. 33(3), 2011).

    Points at ``positions`` (in units of their mean spacing, any order): the root mean
    square residual of a least-squares quadratic through them, with ``n - 3`` degrees of
    freedom. Jittered positions keep a quantized function from stepping by exactly equal
    amounts, which equal spacing can make it do (its differences then vanish as a smooth
    function's would).
    """
    v = np.asarray(values, dtype=np.float64)
    if positions is not None:
        t = np.asarray(positions, dtype=np.float64)
        if v.size <= 3 or not np.all(np.isfinite(v)):
            return 0.0 if v.size <= 3 else float("nan")
        centred = v - v[v.size // 2]
        basis = np.vander(t - t.mean(), 3)
        coef, *_ = np.linalg.lstsq(basis, centred, rcond=None)
        residual = centred - basis @ coef
        return math.sqrt(float(residual @ residual) / (v.size - 3))
    levels = []
    for k in (3, 4):
        if v.size > k:
            d = np.diff(v, k)
            levels.append(math.sqrt(float(np.mean(d**2)) / math.comb(2 * k, k)))
    return float(np.median(levels)) if levels else 0.0


@dataclass(frozen=True)
class LineEstimate:
    """Derivative along a line from central differences at halving steps."""

    value: NDArray[np.float64]
    error: NDArray[np.float64]
    step: NDArray[np.float64]
    kinked: NDArray[np.bool_]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]


def line_derivative(
    values_at: Callable[[list[float]], list[NDArray[np.float64]]],
    steps: list[float],
    f0: NDArray[np.float64],
    sigma: NDArray[np.float64],
) -> LineEstimate:
    """Derivative of ``t -> f(x + t d)`` at 0 from central differences at ``steps``.

    ``values_at(offsets)`` returns ``f`` at ``x + t d`` for each offset ``t``. The estimate
    is the Richardson extrapolation of the central differences (:func:`richardson`); when
    more than three steps are given, the extrapolation over the three smallest alone is
    also tried (a kink between the larger steps spoils only the larger ones) and the one
    with the smaller error estimate wins. One-sided differences at the two smallest steps
    feed the kink test (:func:`one_sided_jump`).
    """
    offsets = [s * h for h in steps for s in (1.0, -1.0)]
    vals = [np.ravel(v).astype(np.float64) for v in values_at(offsets)]
    f_plus, f_minus = vals[0::2], vals[1::2]
    centrals = [(fp - fm) / (2 * h) for fp, fm, h in zip(f_plus, f_minus, steps, strict=True)]
    est = richardson(centrals, steps, sigma)
    value, error = est.value, est.error
    step = np.full(value.shape, est.step)
    if len(steps) > 3:
        tail = richardson(centrals[-3:], steps[-3:], sigma)
        better = tail.error < error
        value = np.where(better, tail.value, value)
        error = np.where(better, tail.error, error)
        step = np.where(better, tail.step, step)
    if len(steps) >= 2:
        kinked, lower, upper = one_sided_jump(f_plus, f_minus, f0, steps, sigma)
    else:
        kinked = np.zeros(value.shape, dtype=bool)
        lower = upper = value
    return LineEstimate(value, error, step, kinked, lower, upper)


def one_sided_jump(
    f_plus: Sequence[NDArray[np.float64]],
    f_minus: Sequence[NDArray[np.float64]],
    f0: NDArray[np.float64],
    steps: Sequence[float],
    sigma: NDArray[np.float64],
) -> tuple[NDArray[np.bool_], NDArray[np.float64], NDArray[np.float64]]:
    """Kink test from one-sided differences at the two smallest steps (halving).

    For a smooth function ``fwd - bwd = h f'' + O(h**3)`` halves with ``h``; at a kink it
    tends to the jump of the derivative and does not shrink. An output is kinked when at the
    smallest step the jump is well above round-off (``10 * 4 sigma / h``) and did not shrink
    below 3/4 of its value at twice the step.

    Returns ``(kinked, lower, upper)``: the one-sided derivatives, sorted, at the smallest step.
    """
    fwd = [(fp - f0) / h for fp, h in zip(f_plus, steps, strict=True)]
    bwd = [(f0 - fm) / h for fm, h in zip(f_minus, steps, strict=True)]
    jump_small = np.abs(fwd[-1] - bwd[-1])
    jump_big = np.abs(fwd[-2] - bwd[-2])
    noise = 4.0 * sigma / steps[-1]
    kinked = (jump_small > 10.0 * noise) & (jump_small > 0.75 * jump_big)
    return kinked, np.minimum(fwd[-1], bwd[-1]), np.maximum(fwd[-1], bwd[-1])


#: a pair of steps for judging a line: h and h / PAIR_RATIO
PAIR_RATIO = 4.0


@dataclass(slots=True)
class PairEstimate:
    """The derivative of one output along a line, from central differences at ``h1 > h2``.

    ``value`` is the Richardson extrapolation ``d2 + (d2 - d1) / (r**2 - 1)``
    (``r = h1 / h2``); ``step_dep`` is ``|d2 - d1|``, how much the estimate moves with the
    step; ``error`` bounds the error of ``value``: the truncation left in ``d2``
    (``step_dep / (r**2 - 1)``, Ridders' estimate, never credited with more than a ratio of
    4) plus round-off ``sigma / h2``. ``kinked``: the one-sided slopes jump apart at both
    steps (the kink test of :func:`one_sided_jump`); ``lower``/``upper`` are the one-sided
    slopes at ``h2``, ``lower_big``/``upper_big`` at ``h1``. Plain floats: a line is judged
    output by output, and Python arithmetic on numbers is far cheaper than NumPy's on
    one-element arrays. Never changed once made (not declared frozen: a frozen dataclass
    takes twice as long to make, and a check makes one per output and pair of steps).
    """

    h1: float
    h2: float
    d1: float
    d2: float
    value: float
    step_dep: float
    error: float
    kinked: bool
    lower: float
    upper: float
    lower_big: float
    upper_big: float
    finite: bool
    flat: bool
    #: the round-off part of ``error`` (``sigma / h2``)
    roundoff: float
    #: the resolution of ``f`` seen at these steps: both points of the smaller step gave
    #: exactly ``f(x)``, a point of the larger differed by this much (0: not seen)
    quantum: float = 0.0
    #: the jump of the one-sided slopes extrapolated to a zero step, ``0.0`` unless it is
    #: well above round-off: a kink at x under a curvature large enough that the jump
    #: ``fwd - bwd = jump + h f''`` shrinks with the step and passes ``kinked``'s test
    jump0: float = 0.0
    #: the smallest nonzero change ``|f(p) - f(x)|`` at the four points (``inf``: none):
    #: how finely ``f`` was seen to resolve changes
    fine: float = math.inf


def pair_estimates(
    big: tuple[NDArray[np.float64], NDArray[np.float64]],
    small: tuple[NDArray[np.float64], NDArray[np.float64]],
    f0: NDArray[np.float64],
    h1: float,
    h2: float,
    sigma: NDArray[np.float64],
    eps: float = float(np.finfo(np.float64).eps),
) -> list[PairEstimate]:
    """A :class:`PairEstimate` for each output, from ``(f(x + h1 u), f(x - h1 u))`` and the
    same at ``h2`` (arrays of one value per output).

    The round-off of a value is never taken below ``2 eps |f|`` at the points themselves
    (``f(x)`` may be 0 at a minimum while ``f(x ± h)`` is not). When ``f`` takes exactly the
    same value at all five points it has not resolved the step at all: the estimate is
    ``flat``, and carries information only about a zero derivative. When both points of the
    smaller step give exactly ``f(x)`` and a point of the larger step does not, ``f`` is
    resolved only to the smallest difference seen (a value computed next to a much larger
    one, as in a saturated softmax, is quantized to that one's ulp): its round-off is then
    at least half of that.
    """
    ratio2 = (h1 / h2) * (h1 / h2)
    r2 = min(ratio2, PAIR_RATIO * PAIR_RATIO)
    isfinite = math.isfinite
    out = []
    for fp1, fm1, fp2, fm2, c, s in zip(
        big[0].tolist(), big[1].tolist(), small[0].tolist(), small[1].tolist(),
        f0.tolist(), sigma.tolist(), strict=True,
    ):  # fmt: skip
        finite = isfinite(fp1) and isfinite(fm1) and isfinite(fp2) and isfinite(fm2)
        quantum = 0.0
        fine = math.inf
        for v in (fp1, fm1, fp2, fm2):
            if v != c and abs(v - c) < fine:
                fine = abs(v - c)
        if finite:
            s = max(s, 2 * eps * max(abs(fp1), abs(fm1), abs(fp2), abs(fm2)))
            if fp2 == c and fm2 == c and (fp1 != c or fm1 != c):
                # unresolved on both sides at the smaller step, resolved at the larger: a
                # kink's flat side shows only on one side, quantization on both
                quantum = min(abs(v - c) for v in (fp1, fm1) if v != c)
                s = max(s, quantum / 2)
        d1 = (fp1 - fm1) / (2 * h1)
        d2 = (fp2 - fm2) / (2 * h2)
        value = d2 + (d2 - d1) / (ratio2 - 1)
        step_dep = abs(d2 - d1)
        roundoff = s / h2
        error = step_dep / (r2 - 1) + roundoff * r2 / (r2 - 1)
        finite = finite and isfinite(value) and isfinite(error)
        fwd1, bwd1 = (fp1 - c) / h1, (c - fm1) / h1
        fwd2, bwd2 = (fp2 - c) / h2, (c - fm2) / h2
        jump_small, jump_big = abs(fwd2 - bwd2), abs(fwd1 - bwd1)
        kinked = (
            finite
            and jump_small > tol.KINK_NOISE * 4 * s / h2
            and jump_small > tol.KINK_KEEP * jump_big
        )
        # fwd - bwd = jump + h f'' + O(h^3) on both sides of a kink at x: extrapolated
        # linearly to h = 0 (its round-off is (r + 1/r) / (r - 1) that of a jump at h2;
        # JUMP_NOISE says why it is not held to KINK_NOISE)
        r = h1 / h2
        jump0 = (r * (fwd2 - bwd2) - (fwd1 - bwd1)) / (r - 1)
        if not finite or abs(jump0) <= tol.JUMP_NOISE * 4 * s / h2 * (r + 1 / r) / (r - 1):
            jump0 = 0.0
        out.append(
            PairEstimate(
                h1=h1,
                h2=h2,
                d1=d1,
                d2=d2,
                value=value,
                step_dep=step_dep,
                error=error,
                kinked=kinked,
                lower=min(fwd2, bwd2),
                upper=max(fwd2, bwd2),
                lower_big=min(fwd1, bwd1),
                upper_big=max(fwd1, bwd1),
                finite=finite,
                flat=fp1 == c and fm1 == c and fp2 == c and fm2 == c,
                roundoff=roundoff,
                quantum=quantum,
                jump0=jump0,
                fine=fine if finite else math.inf,
            )
        )
    return out
