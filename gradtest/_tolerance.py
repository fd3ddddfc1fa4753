"""Error metrics, tolerances and the verdict rules: the one place where thresholds are set.

Relative error
--------------
For an entry with analytic value ``a`` and numeric value ``n``::

    rel = |a - n| / max(|a|, |n|, NEAR_ZERO * G)

where ``G`` is the largest ``max(|a_j|, |n_j|)`` over all entries of the check: the
formula of the CS231n notes with a floor, so that an entry whose true value is zero is
judged against the size of the gradient, not against itself.

Tolerance
---------
A numeric value ``n`` comes with an error estimate ``e`` (truncation from the step
dependence, round-off from the noise of ``fun``; see ``gradtest._finite_diff``). Without
``rtol``/``atol`` the tolerance on ``|a - n|`` is::

    tol = max(SAFETY * e, max(FLOOR_ULPS * EPS_f, sqrt(EPS_f)) * max(|a|, |n|))
          + GRAD_ULPS * EPS_g * |a|

for an entry; for a directional derivative the second term is ``FLOOR_ULPS * EPS_f * |n|``
(no resolution floor: see :func:`tolerance`).

with ``EPS_f`` the precision ``fun`` is computed in and ``EPS_g`` that of the gradient's
dtype. With ``rtol``/``atol``, ``tol = atol + rtol * max(|a|, |n|)``.

Verdict rules (for an entry or a directional derivative)
--------------------------------------------------------
- **pass**: ``|a - n| <= tol`` and the numeric value carries information: its error is at
  most ``TRUST[EPS_f]`` of ``max(|a|, |n|, TRUST_FLOOR * G)``.
- **fail**, only when confirmed: ``|a - n| > max(tol, SAFETY * e)``, the central
  differences at the two steps (``PAIR_RATIO`` apart) agree with each other to
  ``CONFIRM`` of the discrepancy and both disagree with ``a``, no kink is inside the stencil,
  and the noise of ``fun`` has been measured (not modelled).
- **kink**: the one-sided slopes jump apart at both steps. ``a`` between them (within
  tolerance) is a valid one-sided derivative or subgradient: *kink*, not judged. ``a``
  outside both, with stable one-sided slopes, is wrong: *fail*.
- anything else is *unsettled*: more steps are tried (smaller for a step-dependent value,
  larger for one drowned in round-off); when none decides, *unreliable*, with the reason.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from gradtest._finite_diff import PairEstimate

#: tolerance = SAFETY x the error estimate of the numeric value
SAFETY = 10.0
#: the tolerance never goes below this many units of round-off of the values compared
FLOOR_ULPS = 100.0
#: however precisely measured, a discrepancy below sqrt(EPS_f) of the values compared (1.5e-8
#: in float64, what a one-sided difference resolves) is not called a bug: implementations
#: differ from their textbook derivative by less (torch's softplus is exactly linear above
#: 20 while its backward is the sigmoid, 2e-9 below 1), and a fail there is a false alarm
#: to the user; the bugs the fuzz test must catch start at 1e-6 of the gradient's norm
RESOLUTION_POWER = 0.5
#: ... plus this many units of round-off of the gradient's own dtype
GRAD_ULPS = 10.0
#: entries smaller than NEAR_ZERO x the largest entry are compared against that floor
NEAR_ZERO = 1e-6
#: a numeric value is precise enough to pass a gradient when its error is below TRUST of
#: max(|a|, |n|, TRUST_FLOOR x G): relative to the whole gradient's scale G, so that a pass
#: means agreement to about 10 x TRUST of the largest entry
TRUST_FLOOR = 1.0
#: the largest relative error estimate a numeric value may have and still pass a gradient
#: (so that a pass means agreement to about 10 x this): by the precision fun is computed in
TRUST = {"float64": 1e-7, "float32": 1e-3, "float16": 1e-1}
#: check_descent: a slope whose relative error estimate exceeds this cannot be judged
DESCENT_TRUST = 1e-4
#: the kink test flags a jump of the one-sided slopes above KINK_NOISE x their round-off
KINK_NOISE = 10.0
#: ... that keeps more than KINK_KEEP of its size when the step shrinks by 4 (a smooth
#: function's jump h f'' keeps a quarter of it; a kink keeps all of it)
KINK_KEEP = 0.5
#: before a fail, the one-sided jump extrapolated to a zero step counts as a kink above
#: JUMP_NOISE x its round-off bound. Not KINK_NOISE: half the jump is what a kink adds to a
#: central difference, and that fails once it exceeds SAFETY x the round-off (about
#: 11 sigma / h); a jump of 2 x 11 sigma / h must therefore be seen, and the bound is
#: 5.7 sigma / h
JUMP_NOISE = 1.5
#: the full-mode screen sends an entry to confirmation when its one-sided slopes differ by
#: more than KINK_HINT of their size (plus round-off): a hint of a kink, to be tested
KINK_HINT = 0.1
#: a fail is confirmed when the two steps' values agree to this fraction of the discrepancy
CONFIRM = 0.25
#: two evaluations at x may differ by this much (relative) and count as noise
NONDET_RTOL = 1e-8

Outcome = Literal["pass", "fail", "kink", "unreliable"]
Want = Literal["", "down", "up", "noise"]


#: TRUST by the machine epsilon of each precision, finest first
_TRUST_BY_EPS = tuple((float(np.finfo(np.dtype(d)).eps), limit) for d, limit in TRUST.items())


def trust_limit(eps: float) -> float:
    """``TRUST`` for the precision whose machine epsilon is ``eps``."""
    for dtype_eps, limit in _TRUST_BY_EPS:
        if eps <= dtype_eps:
            return limit
    return max(TRUST.values())


def near_zero_floor(
    analytic: NDArray[np.float64] | Sequence[float], numeric: NDArray[np.float64] | Sequence[float]
) -> float:
    """``NEAR_ZERO * G``: the floor of the relative-error denominator (``G`` the largest
    finite ``|a|`` or ``|n|``)."""
    if isinstance(analytic, list) and len(analytic) < 64:
        isfinite = math.isfinite
        pairs = zip(analytic, numeric, strict=True)
        g = max((max(abs(a), abs(n)) for a, n in pairs if isfinite(a) and isfinite(n)), default=0)
        return NEAR_ZERO * g if g > 0 else float(np.finfo(np.float64).tiny)
    with np.errstate(invalid="ignore"):
        size = np.maximum(np.abs(analytic), np.abs(numeric))
    size = size[np.isfinite(size)]
    g = float(np.max(size, initial=0.0))
    return NEAR_ZERO * g if g > 0 else float(np.finfo(np.float64).tiny)


@overload
def relative_error(analytic: float, numeric: float, floor: float) -> float: ...
@overload
def relative_error(
    analytic: NDArray[np.float64], numeric: NDArray[np.float64], floor: float
) -> NDArray[np.float64]: ...
def relative_error(analytic: Any, numeric: Any, floor: float) -> Any:
    """``|a - n| / max(|a|, |n|, floor)``, elementwise (computed without overflow); ``inf``
    where either is NaN. Numbers give a number, arrays an array."""
    if isinstance(analytic, float) and isinstance(numeric, float):
        if math.isnan(analytic) or math.isnan(numeric):
            return math.inf
        size = max(abs(analytic), abs(numeric), floor)
        return abs(analytic / size - numeric / size)
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    with np.errstate(all="ignore"):
        denom = np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)
        out = np.abs(a / denom - n / denom)
    return np.asarray(np.where(np.isnan(a) | np.isnan(n), np.inf, out), dtype=np.float64)


@dataclass(frozen=True)
class Precision:
    """What limits the accuracy of a check: the dtypes involved and their epsilons."""

    eps_x: float  # the parameters' dtype
    eps_f: float  # what fun is computed in (never below eps_x)
    eps_g: float  # the gradient's dtype
    rtol: float | None
    atol: float | None


@dataclass(frozen=True)
class Judgement:
    """The outcome of one line (an entry or a direction) for one output of ``fun``."""

    outcome: Outcome
    numeric: float
    error: float
    step: float
    tolerance: float
    note: str = ""
    #: False: more steps might decide; ``want`` says which (``""``: nothing more to try)
    settled: bool = True
    want: Want = ""

    def demoted(self, note: str) -> Judgement:
        """The same numbers, judged *unreliable* for the reason ``note``."""
        return Judgement("unreliable", self.numeric, self.error, self.step, self.tolerance, note)


def _stable(est: PairEstimate, diff: float) -> bool:
    """The two steps of ``est`` agree with each other: to ``CONFIRM`` of the discrepancy
    ``diff`` they are to confirm, and to ``CONFIRM`` of their own size, or to their
    round-off (two values a factor 4 apart are not in the asymptotic regime, whatever
    their distance from the analytic value)."""
    dep = est.step_dep
    size = max(abs(est.d1), abs(est.d2))
    return dep <= CONFIRM * diff and (dep <= CONFIRM * size or dep <= SAFETY * est.roundoff)


def _larger(a: Any, b: Any) -> Any:
    """``max`` of numbers, ``np.maximum`` of arrays (Python's is 20 times faster on numbers)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.maximum(a, b)
    return max(a, b)


def informative(a: Any, n: Any, e: Any, scale: float, p: Precision) -> Any:
    """Whether a numeric value ``n`` with error ``e`` can pass an analytic ``a`` (the trust
    rule of the module notes); elementwise for arrays, a bool for numbers."""
    size = _larger(_larger(abs(a), abs(n)), TRUST_FLOOR * scale)
    return e <= trust_limit(p.eps_f) * size


def tolerance(
    a: Any, n: Any, e: Any, p: Precision, extra: float = 0.0, *, axis: bool = True
) -> Any:
    """The tolerance on ``|a - n|`` (see the module notes); elementwise for arrays.

    ``axis``: ``a`` is one entry of the gradient, so the resolution floor applies. Not to a
    directional derivative: there one large entry can dwarf another's wrong contribution,
    and the floor of the sum would hide it (directions that fail below the floor of the
    entries they sum are reconciled with those entries: see ``_directions``)."""
    if p.rtol is not None or p.atol is not None:
        return (p.atol or 0.0) + (p.rtol or 0.0) * _larger(abs(a), abs(n)) + extra
    if axis:
        floor = resolution_floor(p) * _larger(abs(a), abs(n))
    else:
        floor = FLOOR_ULPS * p.eps_f * abs(n)
    return _larger(SAFETY * e, floor) + GRAD_ULPS * p.eps_g * abs(a) + extra


def resolution_floor(p: Precision) -> float:
    """The relative discrepancy of an entry below which it is not called a bug."""
    return max(FLOOR_ULPS * p.eps_f, float(p.eps_f**RESOLUTION_POWER))


def judge(
    a: float,
    estimates: Sequence[PairEstimate],
    *,
    scale: float,
    p: Precision,
    noise_measured: bool,
    extra: float = 0.0,
    where: str = "",
    axis: bool = True,
) -> Judgement:
    """Judge the analytic value ``a`` of one output by its estimates along one line.

    ``axis``: the line is an entry's axis. Only there does an analytic value outside both
    one-sided derivatives of a kink prove the gradient wrong: along a direction that
    crosses several kinks at once, a valid subgradient of each term can sum to a value
    outside them.

    ``scale`` is ``G``, the size of the largest gradient entry (for the trust floor);
    ``extra`` widens the tolerance by the rounding of ``a`` itself (a directional
    derivative sums many terms). Returns an unsettled judgement when more steps might
    decide; see the module notes for the rules.
    """
    if not math.isfinite(a):
        # the numeric value is shown as measured (the most precise finite estimate)
        est = min((e for e in estimates if e.finite), key=lambda e: e.error, default=None)
        return Judgement(
            "fail",
            est.value if est is not None else float("nan"),
            est.error if est is not None else float("nan"),
            est.h2 if est is not None else estimates[0].h2,
            0.0,
            f"the analytic value is {a}: the gradient is not finite where fun is",
        )
    if len(estimates) == 1:
        est = estimates[0]
        if est.finite and not est.flat and not est.kinked:
            # the common case, one smooth estimate: the rules below reduce to these lines
            size = max(abs(a), abs(est.value))
            if est.error <= trust_limit(p.eps_f) * max(
                size, TRUST_FLOOR * max(scale, est.upper - est.lower)
            ):
                r, e = est.value, est.error
                t = tolerance(a, r, e, p, extra, axis=axis)
                if abs(a - r) <= t:
                    return Judgement("pass", r, e, est.h2, t)
    finite = [est for est in estimates if est.finite]
    flat = [est for est in finite if est.flat]
    if flat and a == 0.0:
        est = flat[-1]
        return Judgement(
            "pass", 0.0, 0.0, est.h2, 0.0,
            "fun does not change at all along this line, and the analytic value is 0",
        )  # fmt: skip
    # a flat estimate (fun did not resolve the step) says nothing about a nonzero value
    if flat and len(flat) == len(finite):
        est = flat[-1]
        return Judgement(
            "unreliable", 0.0, float("inf"), est.h2, float("inf"),
            f"fun takes exactly the same value at x and at x ± {est.h1:.2g}{where}: it does "
            f"not resolve a change of the size the analytic value {a:.6g} predicts (its "
            "precision is coarser than its value suggests)",
            settled=False, want="up",
        )  # fmt: skip
    finite = [est for est in finite if not est.flat]
    if not finite:
        est = estimates[-1]
        return Judgement(
            "unreliable", float("nan"), float("inf"), est.h2, float("inf"),
            f"fun is not finite at x ± {est.h2:.2g}{where}: no finite difference can be taken",
            settled=len(estimates) > 1, want="down",
        )  # fmt: skip
    smooth = [est for est in finite if not est.kinked]
    # the one-sided slopes set a scale too: at a minimum the derivative is 0 while f
    # still changes at the rate |upper - lower| across the step
    useful = [
        est
        for est in smooth
        if not est.flat
        and informative(
            a,
            est.value,
            est.error,
            max(scale, est.upper - est.lower),
            p,
        )
    ]
    if useful:
        best = min(useful, key=lambda est: est.error)
        r, e = best.value, best.error
        t = tolerance(a, r, e, p, extra, axis=axis)
        diff = abs(a - r)
        if diff <= t:
            return Judgement("pass", r, e, best.h2, t)
        confirmed = (
            diff > max(t, SAFETY * e)
            and _stable(best, diff)
            and abs(a - best.d1) > t
            and abs(a - best.d2) > t
        )
        if confirmed and _between_sides(best, diff, t):
            return _kink_judgement(a, [best], p, noise_measured, extra, axis)
        if confirmed and noise_measured:
            return Judgement("fail", r, e, best.h2, t)
        if confirmed:
            return Judgement("fail", r, e, best.h2, t, settled=False, want="noise")
        return Judgement(
            "unreliable", r, e, best.h2, t,
            f"the numeric derivative changes with the step ({best.d1:.6g} at "
            f"h = {best.h1:.2g}, {best.d2:.6g} at h = {best.h2:.2g}): a kink "
            "nearby or noise; no step gave a value stable enough to judge by",
            settled=False, want="down",
        )  # fmt: skip
    kinked = [est for est in finite if est.kinked]
    if kinked:
        return _kink_judgement(a, kinked, p, noise_measured, extra, axis)
    # every estimate is drowned in round-off or truncation: larger (or smaller) steps
    est = min(finite, key=lambda est: est.error)
    r, e = est.value, est.error
    t = tolerance(a, r, e, p, extra, axis=axis)
    diff = abs(a - r)
    if diff > max(t, SAFETY * e) and _stable(est, diff):
        # the numeric value is imprecise, but still far from a: a confirmed disagreement
        if _between_sides(est, diff, t):
            return _kink_judgement(a, [est], p, noise_measured, extra, axis)
        if noise_measured:
            return Judgement("fail", r, e, est.h2, t)
        return Judgement("fail", r, e, est.h2, t, settled=False, want="noise")
    return Judgement(
        "unreliable", r, e, est.h2, t,
        f"numeric estimate {r:.6g} uncertain to {e:.2g}, too coarse to judge an analytic "
        f"value of {a:.6g}: finite differences carry no information at this step",
        settled=False, want="down" if est.step_dep > 7.5 * e else "up",
    )  # fmt: skip


def _between_sides(est: PairEstimate, diff: float, t: float) -> bool:
    """Whether a discrepancy ``diff`` from the central value is explained by a kink at x:
    the central value is the mean of one-sided slopes that stay apart as the step shrinks
    (``est.jump0``, seen even where curvature or a high noise hides the jump from the kink
    test), and the analytic value lies between them. Such a line is judged as a kink,
    never failed."""
    return diff <= abs(est.jump0) / 2 + t


def _kink_judgement(
    a: float,
    kinked: list[PairEstimate],
    p: Precision,
    noise_measured: bool,
    extra: float,
    axis: bool,
) -> Judgement:
    """Judge ``a`` by the one-sided derivatives of the estimates that showed a kink."""
    kinked = sorted(kinked, key=lambda est: est.h2)
    j = _judge_kink(a, kinked[0], p, noise_measured, extra, axis)
    if not axis:
        # along a direction a kink decides nothing (a pass needs a smooth estimate, and
        # sums of valid subgradients can leave the one-sided interval): smaller steps
        # may pass a kink that sits near x but not at it
        if j.outcome == "fail":
            j = Judgement(
                "unreliable", j.numeric, j.error, j.step, j.tolerance,
                f"kinks along this direction: one-sided derivatives "
                f"[{kinked[0].lower:.6g}, {kinked[0].upper:.6g}]; a "
                "direction crossing several kinks cannot judge a subgradient",
            )  # fmt: skip
        return dataclasses.replace(j, settled=False, want="down")
    if j.outcome == "fail" and (
        len(kinked) < 2 or _judge_kink(a, kinked[1], p, True, extra, axis).outcome != "fail"
    ):
        # a kink persists at every scale: a fail needs it at a second pair of steps
        return Judgement(
            "unreliable", j.numeric, j.error, j.step, j.tolerance,
            f"{j.note}, at one pair of steps only: not confirmed at smaller steps",
            settled=False, want="down",
        )  # fmt: skip
    return j


def _judge_kink(
    a: float, est: PairEstimate, p: Precision, noise_measured: bool, extra: float, axis: bool
) -> Judgement:
    lo, hi = est.lower, est.upper
    drift = abs(lo - est.lower_big) + abs(hi - est.upper_big)
    roundoff = est.error
    size = max(abs(lo), abs(hi))
    if p.rtol is not None or p.atol is not None:
        base = (p.atol or 0.0) + (p.rtol or 0.0) * size
    else:
        floor = resolution_floor(p) * max(size, abs(a)) if axis else FLOOR_ULPS * p.eps_f * size
        base = floor + GRAD_ULPS * p.eps_g * abs(a)
    ktol = base + SAFETY * roundoff + drift + extra
    inside = lo - ktol <= a <= hi + ktol
    if inside:
        return Judgement(
            "kink", est.value, roundoff, est.h2, ktol,
            f"not differentiable here: one-sided derivatives {lo:.6g} and {hi:.6g}; the "
            "analytic value lies between them (a valid one-sided derivative or subgradient)",
            settled=noise_measured, want="" if noise_measured else "noise",
        )  # fmt: skip
    dist = lo - a if a < lo else a - hi
    nearest = lo if a < lo else hi
    if drift <= CONFIRM * dist and drift <= CONFIRM * size and dist > SAFETY * roundoff:
        note = (
            f"a kink, and the analytic value {a:.6g} is outside the one-sided derivatives "
            f"[{lo:.6g}, {hi:.6g}]: it matches neither side"
        )
        return Judgement(
            "fail", nearest, roundoff + drift, est.h2, ktol, note,
            settled=noise_measured, want="" if noise_measured else "noise",
        )  # fmt: skip
    return Judgement(
        "unreliable", est.value, roundoff + drift, est.h2, ktol,
        f"one-sided derivatives {lo:.6g} and {hi:.6g} change with the step: kinks close by",
        settled=False, want="down",
    )  # fmt: skip
