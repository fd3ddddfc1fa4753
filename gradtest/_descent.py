"""Descent checks: a step against the gradient must lower the loss, at the predicted rate.

A gradient check compares entries; a descent check asks what training asks of the
gradient. Along a direction ``d`` the loss ``phi(t) = f(x + t d)`` has the slope
``phi'(0) = g_true . d``, and the analytic gradient ``g`` *predicts* ``g . d``. Along
``d = -g`` the prediction is ``-||g||**2``: the loss must go down, and at that rate.

:func:`check_descent` measures ``phi'(0)`` by central differences at halving steps with
Richardson extrapolation and an error estimate (the machinery of the core's entry
verification, applied to a line), along ``-g`` and along random descent directions. It
then sweeps the learning rate over decades, ``f(x - lr g)`` for ``lr = 1e-6 ... 1e1``,
as the CS231n notes' "effect of step size" figure does, and reports the largest step that
still lowers the loss and the step with the lowest loss.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from gradtest import _finite_diff as fd
from gradtest import _tolerance as tol
from gradtest._evaluate import Evaluator
from gradtest._options import check_callables, check_seed
from gradtest._options import name_of as _name_of
from gradtest._params import Float64Array, ParamSpec, flatten_params
from gradtest._randomness import random_direction
from gradtest._report import sparkline
from gradtest._setup import noise_floor, precision_of
from gradtest._tolerance import NONDET_RTOL
from gradtest.errors import (
    FunctionEvaluationError,
    GradientError,
    GradtestError,
    InconclusiveWarning,
    InvalidArgumentError,
    NondeterminismError,
)

__all__ = ["DescentResult", "SlopeRecord", "assert_descent", "check_descent"]

Verdict = Literal["pass", "fail", "inconclusive"]
SlopeOutcome = Literal["pass", "fail", "kink", "unreliable"]

SCHEMA_VERSION = 1
#: learning rates of the sweep along -g: one per decade, 1e-6 ... 1e1
DEFAULT_STEPS = tuple(10.0**k for k in range(-6, 2))
#: random descent directions checked besides -g
DEFAULT_DIRECTIONS = 2
#: at most this many (each costs about 2 * SLOPE_STEPS evaluations of fun)
MAX_DIRECTIONS = 1000
#: the slope is measured by central differences at this many halving steps
SLOPE_STEPS = 6


@dataclass(frozen=True)
class SlopeRecord:
    """The slope of the loss along one direction: measured against predicted.

    ``predicted`` is ``g . d`` from the analytic gradient, ``measured`` the derivative of
    ``t -> f(x + t d)`` at 0 by finite differences, with its ``error_estimate``. The
    direction fails when ``|measured - predicted| > tolerance``.
    """

    label: str
    predicted: float
    measured: float
    error_estimate: float
    tolerance: float
    step: float
    one_sided: tuple[float, float]
    outcome: SlopeOutcome
    note: str = ""

    @property
    def ratio(self) -> float:
        """``predicted / measured``: the factor by which the gradient is off (1 if right)."""
        if self.measured == 0.0:
            return math.inf if self.predicted != 0.0 else 1.0
        return self.predicted / self.measured


@dataclass(frozen=True)
class DescentResult:
    """The outcome of :func:`check_descent`.

    ``str(result)`` is the human report; ``result.to_dict()`` a JSON-ready dict.
    """

    name: str
    verdict: Verdict
    summary: str
    loss: float
    gradient_norm: float
    slopes: tuple[SlopeRecord, ...]
    steps: tuple[float, ...]
    losses: tuple[float, ...]
    largest_decreasing_step: float | None
    best_step: float | None
    best_loss: float | None
    noise_floor: float
    n_evals: int
    seed: int
    dtype: str
    wrt: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    evals_by_phase: dict[str, int] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """``True`` when the verdict is ``"pass"``."""
        return self.verdict == "pass"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``"schema": 1``, ``"kind": "descent"``) with every field.

        Non-finite numbers (a loss that overflowed at a large learning rate) become ``None``.
        """
        data = asdict(self)
        data["slopes"] = [{k: _jsonable(v) for k, v in s.items()} for s in data["slopes"]]
        for key in ("steps", "losses", "wrt", "notes"):
            data[key] = [_jsonable(v) for v in data[key]]
        data["schema"] = SCHEMA_VERSION
        data["kind"] = "descent"
        data["passed"] = self.passed
        return {k: _jsonable(v) for k, v in data.items()}

    def __str__(self) -> str:
        return _render(self)


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, tuple):
        return [_jsonable(u) for u in v]
    return v


# ---------------------------------------------------------------------------- validation


def _validate_steps(steps: Any) -> tuple[float, ...]:
    if steps is None:
        return DEFAULT_STEPS
    try:
        arr = np.asarray(steps, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(
            f"steps must be None or a sequence of learning rates > 0, got {steps!r:.80}"
        ) from err
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidArgumentError(
            f"steps must be None or a non-empty 1-D sequence of learning rates > 0, "
            f"got {steps!r:.80}"
        )
    bad = ~(np.isfinite(arr) & (arr > 0))
    if bad.any():
        raise InvalidArgumentError(
            f"steps must hold finite learning rates > 0, got steps[{int(np.argmax(bad))}] = "
            f"{float(arr[bad][0])!r}"
        )
    return tuple(float(s) for s in np.unique(arr))


def _validate_directions(directions: Any) -> int:
    if (
        isinstance(directions, bool)
        or not isinstance(directions, (int, np.integer))
        or directions < 0
    ):
        raise InvalidArgumentError(
            f"directions must be an int >= 0 (random descent directions besides -g), "
            f"got {directions!r}"
        )
    if directions > MAX_DIRECTIONS:
        raise InvalidArgumentError(
            f"directions must be at most {MAX_DIRECTIONS} (each random direction costs about "
            f"{2 * SLOPE_STEPS} evaluations of fun), got {int(directions)}"
        )
    return int(directions)


# ---------------------------------------------------------------------------- the check


def check_descent(
    fun: Callable[..., Any],
    grad: Callable[..., Any] | Literal[True],
    x: Any,
    *,
    args: tuple[Any, ...] = (),
    seed: int | None = None,
    name: str | None = None,
    steps: Sequence[float] | None = None,
    directions: int = DEFAULT_DIRECTIONS,
) -> DescentResult:
    """Check that stepping against the gradient lowers the loss at the predicted rate.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float``, the loss; with ``grad=True``,
        ``fun(x, *args) -> (float, gradient)``.
    grad : callable or True
        ``grad(x, *args)`` returns the gradient with the structure of ``x``; ``True`` when
        ``fun`` returns it.
    x : ndarray, tuple of ndarrays or dict of ndarrays
        The point, as in :func:`gradtest.check_grad`.
    args : tuple, optional
        Extra arguments for ``fun`` and ``grad``.
    seed : int, optional
        Seed of the random directions; recorded in the result.
    name : str, optional
        The name shown in the report (default: ``fun.__name__``).
    steps : sequence of float, optional
        Learning rates ``lr`` of the sweep ``f(x - lr g)``; default one per decade,
        ``1e-6 ... 1e1``.
    directions : int, optional
        Random descent directions checked besides ``-g`` (default 2; 0 checks ``-g`` only;
        at most 1000, as each costs about 12 evaluations of ``fun``).

    Returns
    -------
    DescentResult
        ``verdict`` is ``"pass"``, ``"fail"`` or ``"inconclusive"``; ``str(result)`` is the
        report.

    Raises
    ------
    InvalidArgumentError
        Bad input (as in :func:`gradtest.check_grad`), bad ``steps`` or ``directions``.
    FunctionEvaluationError
        ``fun`` or ``grad`` raised while the slope was measured.
    NondeterminismError
        Two evaluations of ``fun`` at ``x`` differ.

    See Also
    --------
    assert_descent : raise ``GradientError`` when the gradient fails.
    gradtest.check_grad : the entry-by-entry check.
    gradtest.plot.plot_descent : the loss against the learning rate as a PNG.

    Notes
    -----
    Along a direction ``d`` the analytic gradient predicts the slope ``p = g . d`` of
    ``phi(t) = f(x + t d)`` at ``t = 0`` (``-||g||**2`` along ``d = -g``). The measured
    slope ``m`` is the Richardson extrapolation of central differences of ``phi`` at
    six halving steps, starting where no entry moves by more than ``4 EPS**(1/3)`` of
    its scale; its error estimate ``e`` comes from the tableau and the noise floor of
    ``f`` (the same estimate the core uses to verify an entry). A direction

    - *fails* when ``|m - p| > max(10 e, 100 EPS max(|m|, |p|)) + EPS sum|g_i d_i|``
      (the last term is the round-off of ``g . d``); the report names the factor
      ``p / m`` (a gradient ``c`` times too large predicts a slope ``c`` times too steep,
      and ``-1`` means it points uphill);
    - is a *kink* when the one-sided slopes differ (a non-smooth loss); it fails only
      when ``p`` lies outside them;
    - is *unreliable* when ``e / |m|`` is too large to judge by; it fails only when the
      loss measurably goes up where ``p`` says down.

    Random descent directions are standard normal (each array scaled to its RMS),
    flipped so that ``g . d < 0`` and scaled to ``||d|| = ||g||``. The verdict is
    ``fail`` if any direction fails, ``inconclusive`` if some direction could not be
    judged or the gradient is zero, and ``pass`` otherwise. The learning-rate sweep is
    evidence, not part of the verdict: a change of the loss counts as a decrease or an
    increase when it exceeds 10 times the noise floor of ``f``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradtest._descent import check_descent
    >>> def loss(w):
    ...     return float(np.sum((w - 1.0) ** 2))
    >>> def grad(w):
    ...     return 2 * (w - 1.0)
    >>> w = np.array([3.0, -1.0, 0.5])
    >>> result = check_descent(loss, grad, w, seed=0)
    >>> result.verdict
    'pass'
    >>> result.largest_decreasing_step, result.best_step
    (0.1, 0.1)

    A gradient ten times too large predicts a slope ten times too steep:

    >>> bad = check_descent(loss, lambda w: 20 * (w - 1.0), w, seed=0)
    >>> print(str(bad).splitlines()[0])
    FAIL descent of loss: measured slope -3.3e+02 vs predicted -3.3e+03 (gradient 10× too large?)
    """
    check_callables(fun, grad, "grad")
    seed = check_seed(seed)
    if not isinstance(args, tuple):
        raise InvalidArgumentError(
            f"args must be a tuple of extra arguments, got {type(args).__name__}: "
            "write args=(X, y) (a one-element tuple needs a comma: args=(X,))"
        )
    lrs = _validate_steps(steps)
    n_random = _validate_directions(directions)
    if name is not None and not isinstance(name, str):
        # as check_grad says it (the name is shown in the report and the plugin's table)
        raise InvalidArgumentError(f"name must be None or a str, got {name!r:.60}")
    name = name or _name_of(fun)
    rng = np.random.default_rng(seed)
    spec, x0 = flatten_params(x)
    eps = spec.eps
    ev = Evaluator(fun, args, spec, x0, returns_pair=grad is True, scalar=True, name=name)

    # base: loss, gradient, determinism
    raw0 = ev.call(spec.unflatten(x0), phase="base", what="x")
    f0 = float(ev.value(raw0, what="x"))
    if not math.isfinite(f0):
        raise InvalidArgumentError(f"fun is not finite at x: {name} returned {f0!r}")
    g = _gradient(raw0, grad, spec, x0, args)
    f0_again = float(ev.at_point(x0, phase="base", what="x (repeated)"))
    spread = abs(f0 - f0_again)
    if spread > NONDET_RTOL * max(abs(f0), 1e-300):
        raise NondeterminismError(
            f"{name} is not deterministic: two evaluations at the same x gave {f0!r} and "
            f"{f0_again!r} (spread {spread:.3g}). A descent check cannot see through that: "
            "fix the random seed (dropout, data sampling) before checking."
        )
    notes: list[str] = []
    if any(d != np.float64 for d in spec.dtypes):
        notes.append(
            f"x has {', '.join(sorted({str(d) for d in spec.dtypes}))} entries: slopes are "
            f"measured at that precision (about {eps ** (2 / 3):.0e})"
        )
    # the precision fun computes in, as check_grad reads it: from its values at x and at a
    # nearby point (a float32 loss rounds to float32, which slopes measured at float64
    # steps take for kinks)
    nudge = random_direction(spec, x0, np.random.default_rng([seed, 1]), uniform=True)
    near = x0 + fd.relative_step("central", eps) * nudge
    raw_near = ev.at_point(near, phase="base", what="a point near x (precision probe)")
    eps_fun, why = precision_of([raw0[0] if grad is True else raw0, raw_near])
    if eps_fun > eps:
        eps = eps_fun
        notes.append(
            f"{name} is computed in about {'float16' if eps >= 1e-3 else 'float32'} "
            f"precision ({why}): slopes are measured at that precision (about "
            f"{eps ** (2 / 3):.0e})"
        )
    f0_arr = np.array([f0])
    sigma_arr, measured_noise = noise_floor(ev, x0, f0_arr, rng, lines=2)
    sigma_arr = np.maximum(sigma_arr, 2 * eps * abs(f0))
    if spread > 0:
        sigma_arr = np.maximum(sigma_arr, spread)
        notes.append(f"two evaluations at x differed by {spread:.2g}; counted as noise")
    sigma = float(sigma_arr[0])

    # directions: -g, then random descent directions
    gnorm = float(np.linalg.norm(g))
    lines: list[tuple[str, Float64Array]] = []
    if gnorm > 0:
        lines.append(("−g", -g))
    else:
        notes.append(
            "the gradient is zero: −g is no direction and there is no learning rate to sweep; "
            "the random directions check that the loss is flat, as a zero gradient predicts"
        )
    for k in range(n_random):
        v = random_direction(spec, x0, rng)
        if gnorm > 0:
            if float(g @ v) > 0:
                v = -v
            v *= gnorm / float(np.linalg.norm(v))
        lines.append((f"random {k + 1}", v))
    scales = fd.entry_scales(spec, x0)
    records = [_slope(ev, label, d, g, x0, f0_arr, sigma_arr, scales, eps) for label, d in lines]

    # the learning-rate sweep along -g
    losses: list[float] = []
    if gnorm > 0:
        losses = _sweep(ev, x0, g, lrs, notes)
    threshold = tol.SAFETY * sigma
    largest, best, best_loss = _sweep_summary(lrs, losses, f0, threshold)
    if losses and largest is None and records and records[0].outcome == "pass":
        notes.append(
            "no learning rate of the sweep lowered the loss by more than its noise: "
            f"the steps are too small for this gradient (‖g‖ = {gnorm:.1e}) or all too large"
        )

    verdict: Verdict
    if any(r.outcome == "fail" for r in records):
        verdict = "fail"
    elif any(r.outcome != "pass" for r in records) or gnorm == 0 or not records:
        verdict = "inconclusive"
    else:
        verdict = "pass"
    return DescentResult(
        name=name,
        verdict=verdict,
        summary=_summary(verdict, records, gnorm, largest, best),
        loss=f0,
        gradient_norm=gnorm,
        slopes=tuple(records),
        steps=lrs if losses else (),
        losses=tuple(losses),
        largest_decreasing_step=largest,
        best_step=best,
        best_loss=best_loss,
        noise_floor=measured_noise,
        n_evals=ev.n_evals,
        seed=seed,
        dtype=", ".join(sorted({str(d) for d in spec.dtypes})),
        wrt=spec.names,
        notes=tuple(notes),
        evals_by_phase=dict(ev.counts),
    )


def _gradient(
    raw0: Any,
    grad: Callable[..., Any] | Literal[True],
    spec: ParamSpec,
    x0: Float64Array,
    args: tuple[Any, ...],
) -> Float64Array:
    """The analytic gradient at ``x0`` as a flat float64 vector, validated."""
    if grad is True:  # Evaluator.value has checked that raw0 is a (loss, gradient) pair
        return spec.flatten_gradient(raw0[1], argname="the gradient returned by fun")
    try:
        g_raw = grad(spec.unflatten(x0), *args)
    except GradtestError:
        raise
    except Exception as err:
        raise FunctionEvaluationError(
            f"grad ({_name_of(grad)}) raised {type(err).__name__} at x: {err}"
        ) from err
    return spec.flatten_gradient(g_raw, argname="grad")


def _slope(
    ev: Evaluator,
    label: str,
    d: Float64Array,
    g: Float64Array,
    x0: Float64Array,
    f0: NDArray[np.float64],
    sigma: NDArray[np.float64],
    scales: Float64Array,
    eps: float,
) -> SlopeRecord:
    """Measure the slope of ``t -> f(x0 + t d)`` at 0 and judge it against ``g . d``."""
    reach = float(np.max(np.abs(d) / scales))
    t0 = 4 * fd.relative_step("central", eps) / reach
    ts = [t0 / 2**k for k in range(SLOPE_STEPS)]

    def values_at(offsets: list[float]) -> list[NDArray[np.float64]]:
        what = [f"x {'+' if t > 0 else '−'} {abs(t):.3g}·d ({label})" for t in offsets]
        return ev.at_points([x0 + t * d for t in offsets], phase="slope", what=what)

    est = fd.line_derivative(values_at, ts, f0, sigma)
    if ev.spec.eps > np.finfo(np.float64).eps:
        # x + t d is rounded to the parameter dtype: the step taken is not exactly t d
        moved = fd.realise(ev.spec, x0, ts[-1] * d) / ts[-1]
        shift = g @ (d - moved)
        est = fd.LineEstimate(
            est.value + shift, est.error, est.step, est.kinked, est.lower, est.upper
        )
    kinked, lo, hi = est.kinked, est.lower, est.upper
    m, e = float(est.value[0]), float(est.error[0])
    p = float(g @ d)
    dot_err = eps * float(np.abs(g) @ np.abs(d))
    precision = tol.Precision(eps_x=eps, eps_f=eps, eps_g=eps, rtol=None, atol=None)
    t_ = tol.tolerance(p, m, e, precision, axis=False) + dot_err
    lo_, hi_ = float(lo[0]), float(hi[0])
    outcome: SlopeOutcome
    note = ""
    slope_floor = tol.NEAR_ZERO * float(np.linalg.norm(g) * np.linalg.norm(d))
    # the descent check judges slopes at its own precision limit (a slope is one number)
    trust = max(tol.DESCENT_TRUST, tol.trust_limit(eps))  # (coarser for a float32 fun)
    unreliable = e > trust * max(abs(m), slope_floor or np.finfo(np.float64).tiny)
    if bool(kinked[0]):
        kink_tol = (
            tol.SAFETY * 2.0 * float(sigma[0]) / float(est.step[0]) + 0.1 * (hi_ - lo_) + dot_err
        )
        if lo_ - kink_tol <= p <= hi_ + kink_tol:
            outcome = "kink"
            note = (
                f"kink: one-sided slopes {lo_:.4g} and {hi_:.4g}; the predicted {p:.4g} lies "
                "between them (a valid one-sided slope or subgradient)"
            )
        else:
            outcome = "fail"
            note = (
                f"kink, but the predicted slope {p:.4g} is outside the one-sided slopes "
                f"[{lo_:.4g}, {hi_:.4g}]"
            )
            t_ = kink_tol
            m = lo_ if abs(p - lo_) < abs(p - hi_) else hi_
    elif abs(m - p) > t_:
        if not unreliable or (p < 0 and m > t_) or (p > 0 and m < -t_):
            outcome = "fail"
        else:
            outcome = "unreliable"
            note = (
                f"measured slope uncertain to {e:.2g}: finite differences cannot be trusted "
                "along this line (noise or a nearby kink)"
            )
    elif unreliable:
        outcome = "unreliable"
        note = (
            f"measured slope uncertain to {e:.2g}: finite differences cannot be trusted "
            "along this line (noise or a nearby kink)"
        )
    else:
        outcome = "pass"
    return SlopeRecord(
        label=label,
        predicted=p,
        measured=m,
        error_estimate=e,
        tolerance=t_,
        step=float(est.step[0]),
        one_sided=(lo_, hi_),
        outcome=outcome,
        note=note,
    )


def _sweep(
    ev: Evaluator, x0: Float64Array, g: Float64Array, lrs: tuple[float, ...], notes: list[str]
) -> list[float]:
    """``f(x0 - lr g)`` for each learning rate; large steps may overflow or raise."""
    out: list[float] = []
    for lr in lrs:
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                value = float(ev.at_point(x0 - lr * g, phase="sweep", what=f"x − {lr:.0e}·g"))
        except FunctionEvaluationError as err:
            notes.append(f"at lr = {lr:.0e} {err.__cause__!r:.100} was raised; loss taken as nan")
            value = math.nan
        out.append(value)
    return out


def _sweep_summary(
    lrs: tuple[float, ...], losses: list[float], f0: float, threshold: float
) -> tuple[float | None, float | None, float | None]:
    """Largest learning rate before the first increase that lowered the loss; the best one."""
    largest = None
    for lr, loss in zip(lrs, losses, strict=False):
        if not math.isfinite(loss) or loss > f0 + threshold:
            break
        if loss < f0 - threshold:
            largest = lr
    finite = [(loss, lr) for lr, loss in zip(lrs, losses, strict=False) if math.isfinite(loss)]
    if not finite:
        return largest, None, None
    best_loss, best = min(finite)
    if best_loss >= f0 - threshold:
        return largest, None, None
    return largest, best, best_loss


# ---------------------------------------------------------------------------- report


def _factor(c: float) -> str:
    """``c`` to 4 significant digits or, near 1, with two digits of ``c - 1`` (a gradient
    1.00005 times too large read "gradient 1× too large?")."""
    r = round(c)
    if r >= 2 and abs(c - r) <= 1e-3 * c:
        return str(int(r))
    if c != 1 and abs(c - 1) < 1e-2:
        return f"{c:.{2 - math.floor(math.log10(abs(c - 1)))}g}"
    return f"{c:.4g}"


def _pair(a: float, b: float) -> tuple[str, str]:
    """``a`` and ``b`` in scientific notation, with enough digits to tell them apart."""
    for digits in range(1, 16):
        sa, sb = f"{a:.{digits}e}", f"{b:.{digits}e}"
        if sa != sb:
            break
    return sa, sb


def _hint(r: SlopeRecord, along: str) -> str:
    p, m = r.predicted, r.measured
    if r.outcome == "fail" and r.note.startswith("kink"):
        return r.note
    if m == 0.0:
        return f"the loss is flat {along} but the gradient predicts a slope"
    c = p / m
    if c < 0:
        if abs(c + 1) <= 1e-2:
            return f"the loss goes up {along}: the gradient points uphill (sign flipped?)"
        return f"the loss goes up {along}: the gradient points uphill"
    if p == 0.0:
        return f"the gradient predicts a flat loss {along} but it slopes"
    if c > 1:
        return f"gradient {_factor(c)}× too large?"
    return f"gradient {_factor(1 / c)}× too small?"


def _summary(
    verdict: Verdict,
    records: list[SlopeRecord],
    gnorm: float,
    largest: float | None,
    best: float | None,
) -> str:
    if verdict == "fail":
        r = next(r for r in records if r.outcome == "fail")
        along = f"along {r.label}"
        where = "" if r.label == "−g" else f" {along}"
        measured, predicted = _pair(r.measured, r.predicted)
        hint = _hint(r, along)
        if records[0].label == "−g" and records[0].outcome == "pass":
            hint = (
                "right along −g but wrong across it: part of the gradient is missing or wrong, "
                "e.g. a block returned as zeros"
            )
        return f"measured slope {measured} vs predicted {predicted}{where} ({hint})"
    if verdict == "inconclusive":
        if gnorm == 0:
            return "the gradient is zero at x: no descent direction to check"
        r = next(r for r in records if r.outcome != "pass")
        if r.outcome == "kink":
            lo, hi = r.one_sided
            why = (
                f"is at a kink: one-sided slopes {lo:.3g} and {hi:.3g} bracket the predicted "
                f"{r.predicted:.3g} (a non-smooth loss)"
            )
        else:
            why = (
                f"cannot be measured (uncertain to {r.error_estimate:.2g}: noise or a nearby kink)"
            )
        return (
            f"the slope along {r.label} {why}; no wrong slope found, but not every direction "
            "could be judged"
        )
    first = records[0]
    text = f"slope along {first.label} {first.measured:.1e} as predicted ({first.predicted:.1e})"
    if largest is not None:
        text += f"; the loss decreases up to lr = {largest:.0e}"
    if best is not None:
        text += f", lowest at lr = {best:.0e}"
    return text


def _render(r: DescentResult) -> str:
    counts: dict[str, int] = {}
    for s in r.slopes:
        counts[s.outcome] = counts.get(s.outcome, 0) + 1
    n_random = sum(s.label.startswith("random") for s in r.slopes)
    parts = ["d = −g"] if r.gradient_norm > 0 else []
    if n_random:
        kind = "descent direction" if r.gradient_norm > 0 else "direction"
        parts.append(f"{n_random} random {kind}{'s' if n_random != 1 else ''}")
    along = " and ".join(parts) or "no direction"
    lines = [f"{r.verdict.upper()} descent of {r.name}: {r.summary}"]
    lines.append(
        f"  checked the slope along {along} ({r.dtype}) in {r.n_evals} "
        f"evaluations of {r.name}: "
        + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        + f"; seed={r.seed}"
    )
    lines.append(
        f"  f(x) = {r.loss:.10g}, ‖g‖ = {r.gradient_norm:.3e}; predicted slope = g·d "
        "(−‖g‖² along −g), measured by Richardson-extrapolated central differences"
    )
    if r.slopes:
        width = max([len(s.label) for s in r.slopes] + [len("direction")])
        lines.append("")
        lines.append(
            f"  {'direction':<{width}}  {'predicted':>13}  {'measured':>13}  {'err.est':>7}  "
            f"{'tol':>7}  {'step':>7}  outcome"
        )
        for s in r.slopes:
            lines.append(
                f"  {s.label:<{width}}  {s.predicted: .6e}  {s.measured: .6e}  "
                f"{s.error_estimate:7.1e}  {s.tolerance:7.1e}  {s.step:7.1e}  {s.outcome}"
            )
            if s.note:
                lines.append(f"  {'':<{width}}  ↳ {s.note}")
    if r.losses:
        slope = r.slopes[0].predicted if r.slopes else math.nan
        lines.append("")
        lines.append(f"  loss along x − lr·g (effect of the step size; f(x) = {r.loss:.6g}):")
        lines.append("    lr        " + " ".join(f"{s:9.0e}" for s in r.steps))
        lines.append("    loss      " + " ".join(f"{v:9.3g}" for v in r.losses))
        lines.append("    Δloss     " + " ".join(f"{v - r.loss:9.1e}" for v in r.losses))
        lines.append("    lr·g·d    " + " ".join(f"{s * slope:9.1e}" for s in r.steps))
        finite = [v for v in r.losses if math.isfinite(v)]
        low = min(finite) if finite else r.loss
        # f(x) in the middle of the fifth of eight bars: the drop below it gets 4.5 bars
        cap = low + (r.loss - low) * 8 / 4.5 if low < r.loss else None
        lines.append(
            f"    shape     {sparkline(r.losses, hi=cap)}  (loss against lr"
            + ("; f(x) is ▅" if cap is not None else "")
            + ("; × not finite" if len(finite) < len(r.losses) else "")
            + ")"
        )
        largest = (
            f"lr = {r.largest_decreasing_step:.0e}"
            if r.largest_decreasing_step is not None
            else "none"
        )
        best = (
            f"lr = {r.best_step:.0e} (loss {r.best_loss:.6g})"
            if r.best_step is not None and r.best_loss is not None
            else "none lowers the loss"
        )
        lines.append(f"    largest step that still lowers the loss: {largest}; lowest loss: {best}")
    if r.notes:
        lines.append("")
        lines.append("  diagnosis:")
        lines.extend(f"    - {n}" for n in r.notes)
    lines.append("")
    lines.append(f"  noise floor of {r.name}: {r.noise_floor:.1e}")
    return "\n".join(lines)


def assert_descent(
    fun: Callable[..., Any],
    grad: Callable[..., Any] | Literal[True],
    x: Any,
    *,
    args: tuple[Any, ...] = (),
    seed: int | None = None,
    name: str | None = None,
    steps: Sequence[float] | None = None,
    directions: int = DEFAULT_DIRECTIONS,
) -> DescentResult:
    """Like :func:`check_descent`, but raise :class:`GradientError` when a slope is wrong.

    An inconclusive check emits :class:`InconclusiveWarning` with the report and returns
    the result. The raised error's message is the report; ``err.result`` holds the
    :class:`DescentResult`.

    Examples
    --------
    >>> import numpy as np
    >>> from gradtest._descent import assert_descent
    >>> w = np.array([1.0, 2.0])
    >>> assert_descent(lambda w: float(w @ w), lambda w: 2 * w, w, seed=0).verdict
    'pass'
    >>> assert_descent(lambda w: float(w @ w), lambda w: -2 * w, w, seed=0)
    Traceback (most recent call last):
    ...
    gradtest.errors.GradientError: FAIL descent of <lambda>: ... points uphill (sign flipped?))
    ...
    """
    result = check_descent(
        fun, grad, x, args=args, seed=seed, name=name, steps=steps, directions=directions
    )
    if result.verdict == "fail":
        # GradientError.result is annotated GradCheckResult; it carries a DescentResult here
        raise GradientError(str(result), result)
    if result.verdict == "inconclusive":
        warnings.warn(InconclusiveWarning(str(result)), stacklevel=2)
    return result
