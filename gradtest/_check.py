"""``check_grad``, ``assert_grad`` and ``check_jacobian``: the gradient check itself.

The check runs in phases, each counted in ``GradCheckResult.evals_by_phase``:

1. ``base``: ``fun`` at ``x`` twice (a nondeterministic function is an error), and the
   analytic gradient; structure, shape, dtype and finiteness are checked first.
2. ``noise``: the noise floor of ``fun`` along a random line (6 evaluations).
3. ``screen``: the chosen stencil on every entry. An entry that agrees with the
   analytic value to ``SCREEN_SAFETY`` times its modelled error passes here.
4. ``verify``: every other entry (worst first, at most ``MAX_VERIFY``) gets central
   differences at six halving steps, a kink test on the one-sided differences and a
   Richardson extrapolation with an error estimate; its verdict follows from that estimate.
5. ``sweep``, ``taylor``, ``scipy``: the diagnostics shown in the report.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from gradtest import _diagnosis as diag
from gradtest import _finite_diff as fd
from gradtest import _tolerance as tol
from gradtest._evaluate import Evaluator
from gradtest._params import Float64Array, ParamSpec, flatten_params
from gradtest._result import Diagnosis, EntryRecord, GradCheckResult, StepSweep
from gradtest.errors import (
    FunctionEvaluationError,
    GradientError,
    GradtestError,
    InconclusiveWarning,
    InvalidArgumentError,
    NondeterminismError,
)

#: at most this many entries get the full verification (worst first)
MAX_VERIFY = 256
#: verification uses central differences at VERIFY_STEPS halving steps from 4 x the default
VERIFY_STEPS = 6
#: entries whose step sweep is shown: the worst failing ones, or the worst one
SWEEP_ENTRIES = 3
#: scipy's check_grad costs n + 1 evaluations; above this size it is skipped
SCIPY_MAX_N = 10_000
#: two evaluations at x may differ by this much (relative) and count as noise
NONDET_RTOL = 1e-8

Method = Literal["central", "forward", "central4", "richardson", "complex"]


def _validate_options(
    fun: Any, deriv: Any, derivname: str, rtol: Any, atol: Any, method: Any, step: Any, seed: Any
) -> int:
    if not callable(fun):
        raise InvalidArgumentError(f"fun must be callable, got {type(fun).__name__} {fun!r:.60}")
    if deriv is not True and not callable(deriv):
        raise InvalidArgumentError(
            f"{derivname} must be a callable returning the derivative, or True when fun returns "
            f"(value, derivative); got {type(deriv).__name__} {deriv!r:.60}"
        )
    for name, value in (("rtol", rtol), ("atol", atol)):
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, (int, float, np.floating, np.integer))
            or not math.isfinite(value)
            or value < 0
        ):
            raise InvalidArgumentError(
                f"{name} must be None or a finite number >= 0, got {value!r}"
            )
    if method not in fd.METHODS:
        raise InvalidArgumentError(f"method must be one of {list(fd.METHODS)}, got {method!r}")
    if step is not None and (
        isinstance(step, bool)
        or not isinstance(step, (int, float, np.floating))
        or not (0 < step < 1)
    ):
        raise InvalidArgumentError(f"step must be None or a relative step in (0, 1), got {step!r}")
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2**32))  # type: ignore[operator]
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidArgumentError(f"seed must be None or an int >= 0, got {seed!r}")
    return int(seed)


def _analytic_matrix(
    raw: Any, spec: ParamSpec, out_shape: tuple[int, ...], argname: str
) -> NDArray[np.float64]:
    """The analytic derivative as an (m, n) matrix: m outputs, n parameter entries."""
    if not out_shape:
        return spec.flatten_gradient(raw, argname=argname)[None, :]
    m = int(np.prod(out_shape))
    blocks = spec._split_like(raw, argname)
    cols = []
    for k, b in enumerate(blocks):
        arr = np.asarray(b)
        want = out_shape + spec.shapes[k]
        if arr.dtype.kind not in "fiub" or arr.shape != want:
            raise InvalidArgumentError(
                f"{argname} returned {arr.dtype} shape {arr.shape} for {spec.names[k]}, "
                f"expected a real array of shape {want} (output shape {out_shape} followed by "
                f"the shape of {spec.names[k]})"
            )
        if not np.all(np.isfinite(arr)):
            raise InvalidArgumentError(f"{argname} returned non-finite values for {spec.names[k]}")
        cols.append(arr.astype(np.float64).reshape(m, -1))
    return np.concatenate(cols, axis=1)


def _name_of(fun: Any) -> str:
    return str(getattr(fun, "__name__", None) or type(fun).__name__)


def run_check(
    fun: Callable[..., Any],
    deriv: Callable[..., Any] | Literal[True],
    x: Any,
    *,
    kind: Literal["gradient", "jacobian"],
    args: tuple[Any, ...] = (),
    rtol: float | None = None,
    atol: float | None = None,
    method: Method = "central",
    step: float | None = None,
    seed: int | None = None,
    name: str | None = None,
    compare_scipy: bool = True,
) -> GradCheckResult:
    """Shared implementation of :func:`check_grad` and :func:`check_jacobian`."""
    derivname = "grad" if kind == "gradient" else "jac"
    seed = _validate_options(fun, deriv, derivname, rtol, atol, method, step, seed)
    if not isinstance(args, tuple):
        raise InvalidArgumentError(
            f"args must be a tuple of extra arguments, got {type(args).__name__}: "
            "write args=(X, y) (a one-element tuple needs a comma: args=(X,))"
        )
    name = name or _name_of(fun)
    rng = np.random.default_rng(seed)
    spec, x0 = flatten_params(x)
    eps = spec.eps
    returns_pair = deriv is True
    ev = Evaluator(
        fun, args, spec, x0, returns_pair=returns_pair, scalar=kind == "gradient", name=name
    )

    # 1. base: value, analytic derivative, determinism
    raw0 = ev.call(spec.unflatten(x0), phase="base", what="x")
    f0 = ev.value(raw0, what="x")
    if not np.all(np.isfinite(f0)):
        raise InvalidArgumentError(f"fun is not finite at x: {name} returned {f0!r:.80}")
    out_shape = f0.shape
    if returns_pair:
        g_raw = raw0[1]
        gname = f"the {'gradient' if kind == 'gradient' else 'Jacobian'} returned by fun"
    else:
        assert callable(deriv)
        try:
            g_raw = deriv(spec.unflatten(x0), *args)
        except GradtestError:
            raise
        except Exception as err:
            raise FunctionEvaluationError(
                f"{derivname} ({_name_of(deriv)}) raised {type(err).__name__} at x: {err}"
            ) from err
        gname = derivname
    analytic = _analytic_matrix(g_raw, spec, out_shape, gname)  # (m, n)
    notes: list[str] = []
    for k, b in enumerate(spec._split_like(g_raw, gname)):
        gd = np.asarray(b).dtype
        if gd.kind == "f" and np.finfo(gd).eps > np.finfo(spec.dtypes[k]).eps:
            notes.append(
                f"the gradient of {spec.names[k]} has dtype {gd} but {spec.names[k]} is "
                f"{spec.dtypes[k]}: it carries only {gd} precision"
            )
    f0 = np.asarray(f0, dtype=np.float64).reshape(-1)  # (m,)
    f0_again = np.asarray(
        ev.at_point(x0, phase="base", what="x (repeated)"), dtype=np.float64
    ).reshape(-1)
    spread = float(np.max(np.abs(f0 - f0_again)))
    if spread > NONDET_RTOL * max(float(np.max(np.abs(f0))), 1e-300):
        raise NondeterminismError(
            f"{name} is not deterministic: two evaluations at the same x gave "
            f"{f0.ravel()[:3].tolist()} and {f0_again.ravel()[:3].tolist()} (spread "
            f"{spread:.3g}). Finite differences cannot see through that: fix the random seed "
            "(dropout, data sampling) or make the function deterministic before checking."
        )
    if any(spec.dtypes[k] != np.float64 for k in range(spec.n_blocks)):
        low = sorted({str(d) for d in spec.dtypes if d != np.float64})
        msg = (
            f"x has {', '.join(low)} entries: fun is evaluated at those precisions, so the "
            f"numeric derivative is only good to about {eps ** (2 / 3):.1e} and the "
            "tolerances follow from that; check in float64 where you can"
        )
        warnings.warn(msg, UserWarning, stacklevel=3)
        notes.append(msg)

    # 2. noise floor
    sigma, measured_noise = diag.noise_floor(ev, x0, f0, rng)
    if spread > 0:
        sigma = np.maximum(sigma, spread)
        notes.append(f"two evaluations at x differed by {spread:.2g}; counted as noise")

    # 3. screen
    scales = fd.entry_scales(spec, x0)
    c = step if step is not None else fd.relative_step(method, eps)
    n = spec.size
    numeric, error, steps = _screen(ev, method, c, scales, x0, f0, sigma)
    floor = tol.near_zero_floor(analytic, numeric)
    diff = np.abs(analytic - numeric)
    screen_tol = np.maximum(tol.SCREEN_SAFETY * error, tol.FLOOR_ULPS * eps * np.abs(numeric))
    if rtol is not None or atol is not None:
        screen_tol = np.minimum(
            screen_tol, tol.tolerance(analytic, numeric, error, eps=eps, rtol=rtol, atol=atol)
        )
    trusted = ~tol.unreliable(numeric, error, floor, eps=eps, rtol=rtol)
    passed_screen = (diff <= screen_tol) & trusted  # (m, n)
    outcome = np.full(analytic.shape, "pass", dtype=object)
    tolerance = screen_tol.copy()
    record_notes: dict[tuple[int, int], str] = {}

    # 4. verify the rest, worst first
    rel = tol.relative_error(analytic, numeric, floor)
    flagged = np.flatnonzero(~passed_screen.all(axis=0))
    flagged = flagged[np.argsort(-rel[:, flagged].max(axis=0))]
    unverified = flagged[MAX_VERIFY:]
    kinks: list[str] = []
    for i in flagged[:MAX_VERIFY]:
        est, est_err, h_used, kinked, lo, hi = _verify(ev, int(i), scales[i], x0, f0, sigma, eps)
        if method == "complex":
            agrees = np.abs(
                numeric[:, i] - est
            ) <= tol.SAFETY * est_err + tol.FLOOR_ULPS * eps * np.abs(est)
            for kk in np.flatnonzero(~agrees):
                record_notes[(int(kk), int(i))] = (
                    "complex step disagrees with central differences: fun is not "
                    "complex-analytic here (abs, max, .real?)"
                )
            est_err = np.where(agrees, np.minimum(est_err, error[:, i]), est_err)
            est = np.where(agrees, numeric[:, i], est)
            h_used = np.where(agrees, steps[i], h_used)
            error[:, i] = np.where(agrees, error[:, i], np.inf)
        else:
            error[:, i] = est_err
            numeric[:, i] = est
        steps_i = h_used
        a = analytic[:, i]
        t = tol.tolerance(a, est, est_err, eps=eps, rtol=rtol, atol=atol)
        tolerance[:, i] = t
        bad_est = tol.unreliable(est, error[:, i], floor, eps=eps, rtol=rtol)
        for k in range(analytic.shape[0]):
            if kinked[k]:
                kink_tol = tol.SAFETY * 2.0 * sigma[k] / h_used[k] + 0.1 * (hi[k] - lo[k])
                if lo[k] - kink_tol <= a[k] <= hi[k] + kink_tol:
                    outcome[k, i] = "kink"
                    record_notes[(k, int(i))] = (
                        f"kink: one-sided derivatives {lo[k]:.4g} and {hi[k]:.4g}; the analytic "
                        "value lies between them (a valid one-sided derivative or subgradient)"
                    )
                    kinks.append(_entry_label(spec, k, int(i), out_shape))
                else:
                    outcome[k, i] = "fail"
                    record_notes[(k, int(i))] = (
                        f"kink, but the analytic value is outside the one-sided derivatives "
                        f"[{lo[k]:.4g}, {hi[k]:.4g}]"
                    )
                    tolerance[k, i] = kink_tol
            elif bad_est[k]:
                outcome[k, i] = "unreliable"
                record_notes.setdefault(
                    (k, int(i)),
                    f"numeric estimate uncertain to {error[k, i]:.2g}: finite differences cannot "
                    "be trusted here (noise or a nearby kink)",
                )
            elif abs(a[k] - est[k]) > t[k]:
                outcome[k, i] = "fail"
            else:
                outcome[k, i] = "pass"
        steps[i] = float(np.max(steps_i))
    for i in unverified:
        for kk in np.flatnonzero(~passed_screen[:, i]):
            outcome[kk, i] = "unreliable"
            record_notes[(int(kk), int(i))] = (
                f"not verified: more than {MAX_VERIFY} entries disagreed at the screen"
            )

    # records
    floor = tol.near_zero_floor(analytic, numeric)
    rel = tol.relative_error(analytic, numeric, floor)
    m = analytic.shape[0]
    records = []
    for k in range(m):
        out_index = tuple(int(j) for j in np.unravel_index(k, out_shape)) if out_shape else ()
        for i in range(n):
            blk, index = spec.locate(i)
            records.append(
                EntryRecord(
                    array=spec.names[blk],
                    index=index,
                    label=_entry_label(spec, k, i, out_shape),
                    output=out_index,
                    analytic=float(analytic[k, i]),
                    numeric=float(numeric[k, i]),
                    abs_error=float(diff_at(analytic, numeric, k, i)),
                    rel_error=float(rel[k, i]),
                    error_estimate=float(error[k, i]),
                    step=float(steps[i]),
                    tolerance=float(tolerance[k, i]),
                    outcome=outcome[k, i],
                    note=record_notes.get((k, i), ""),
                )
            )
    failed = outcome == "fail"
    judged = [r for r in records if r.outcome in ("pass", "fail")] or records
    if failed.any():
        verdict: Literal["pass", "fail", "inconclusive"] = "fail"
        pool = [r for r in records if r.outcome == "fail"]
    elif (outcome != "pass").any():
        verdict = "inconclusive"
        pool = judged
    else:
        verdict = "pass"
        pool = records
    worst = max(pool, key=lambda r: r.rel_error)
    max_rel = max(r.rel_error for r in judged)

    # 5. diagnostics
    patterns = (
        diag.bug_patterns(spec, x0, analytic.ravel(), numeric.ravel(), failed.ravel())
        if m == 1 and failed.any()
        else []
    )
    sweep_targets = sorted((r for r in records if r.outcome == "fail"), key=lambda r: -r.rel_error)[
        :SWEEP_ENTRIES
    ] or [worst]
    sweeps: list[StepSweep] = []
    for r in sweep_targets:
        k = int(np.ravel_multi_index(r.output, out_shape)) if out_shape else 0
        i = spec.offsets[spec.names.index(r.array)] + (
            int(np.ravel_multi_index(r.index, spec.shapes[spec.names.index(r.array)]))
            if r.index
            else 0
        )
        sweeps.append(diag.step_sweep(ev, i, k, r.analytic, x0, float(scales[i]), floor))
    taylor = None
    scipy_figure = None
    if kind == "gradient":
        taylor = diag.taylor_test(ev, x0, float(f0[0]), analytic[0], float(sigma[0]), rng)
        if taylor.verdict == "wrong" and verdict == "pass":
            notes.append(
                "the Taylor test suggests a wrong gradient although every entry passed: "
                "the disagreement is below the finite-difference tolerances"
            )
        if compare_scipy and n <= SCIPY_MAX_N:
            scipy_figure = _scipy_check_grad(ev, x0, analytic[0])
        elif compare_scipy:
            notes.append(
                f"scipy.optimize.check_grad skipped: it would cost n + 1 = {n + 1} evaluations"
            )
    if unverified.size:
        notes.append(
            f"{unverified.size} more entries disagreed at the screen and were not verified "
            f"(only the worst {MAX_VERIFY} are)"
        )
    summary = _summary(verdict, worst, patterns, kinks, records)
    diagnosis = Diagnosis(
        summary=summary,
        patterns=tuple(patterns),
        kinks=tuple(kinks),
        noise_floor=measured_noise,
        taylor=taylor,
        sweeps=tuple(sweeps),
        scipy_check_grad=scipy_figure,
        notes=tuple(notes),
    )
    return GradCheckResult(
        name=name,
        verdict=verdict,
        max_rel_error=float(max_rel),
        worst=worst,
        n_evals=ev.n_evals,
        entries=tuple(records),
        diagnosis=diagnosis,
        method=method,
        seed=seed,
        dtype=", ".join(sorted({str(d) for d in spec.dtypes})),
        kind=kind,
        wrt=spec.names,
        evals_by_phase=dict(ev.counts),
        relative_error_formula=(
            f"|a − n| / max(|a|, |n|, {tol.NEAR_ZERO:g}·max|g|) with max|g| = "
            f"{floor / tol.NEAR_ZERO:.3g}"
        ),
    )


def diff_at(a: NDArray[np.float64], n: NDArray[np.float64], k: int, i: int) -> float:
    return abs(float(a[k, i]) - float(n[k, i]))


def _entry_label(spec: ParamSpec, k: int, i: int, out_shape: tuple[int, ...]) -> str:
    if not out_shape:
        return spec.label(i)
    out_index = np.unravel_index(k, out_shape)
    return f"d out[{', '.join(str(int(j)) for j in out_index)}] / d {spec.label(i)}"


def _screen(
    ev: Evaluator,
    method: str,
    c: float,
    scales: Float64Array,
    x0: Float64Array,
    f0: NDArray[np.float64],
    sigma: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], Float64Array]:
    """The chosen stencil on every entry: numeric (m, n), modelled error (m, n), steps (n,)."""
    spec = ev.spec
    h = fd.realise(spec, x0, c * scales) if method != "complex" else c * scales
    h = np.where(h == 0, fd.realise(spec, x0, 4 * np.spacing(np.abs(x0) + scales)), h)
    m, n = f0.size, spec.size
    numeric = np.empty((m, n))
    error = np.empty((m, n))
    order = fd.ORDER[method]
    for i in range(n):
        hi = float(h[i])
        if method == "complex":
            (val,) = ev.at_entries([(i, complex(0.0, hi))], phase="screen")
            d = np.imag(np.ravel(val)) / hi
            numeric[:, i] = d
            error[:, i] = 10 * ev.spec.eps * np.abs(d) + np.finfo(np.float64).tiny
            continue
        if method == "richardson":
            hs = [hi, hi / 2, hi / 4]
            centrals = []
            for hk in hs:
                fp, fm = ev.at_entries([(i, hk), (i, -hk)], phase="screen")
                centrals.append((np.ravel(fp) - np.ravel(fm)) / (2 * hk))
            est = fd.richardson(centrals, hs, sigma)
            numeric[:, i] = est.value
            error[:, i] = est.error
            continue
        offsets, weights = fd.STENCILS[method]
        pert = [(i, o * hi) for o in offsets if o != 0]
        vals = iter(ev.at_entries(pert, phase="screen"))
        values = [f0 if o == 0 else np.ravel(next(vals)).astype(np.float64) for o in offsets]
        d, roundoff = fd.stencil_estimate(values, weights, hi, sigma)
        numeric[:, i] = d
        trunc = (hi / scales[i]) ** order * np.abs(d)
        error[:, i] = roundoff + trunc
    return numeric, error, h


def _verify(
    ev: Evaluator,
    i: int,
    scale: float,
    x0: Float64Array,
    f0: NDArray[np.float64],
    sigma: NDArray[np.float64],
    eps: float,
) -> tuple[
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.bool_],
    NDArray[np.float64],
    NDArray[np.float64],
]:
    """Richardson estimate, its error, the step, and the kink test for entry ``i``."""
    spec = ev.spec
    base = 4 * fd.relative_step("central", eps) * scale
    steps: list[float] = []
    for k in range(VERIFY_STEPS):
        hv = np.zeros(spec.size)
        hv[i] = base / 2**k
        h = float(fd.realise(spec, x0, hv)[i])
        if h > 0 and (not steps or h < steps[-1]):
            steps.append(h)
    pert = [(i, s * h) for h in steps for s in (1.0, -1.0)]
    vals = [np.ravel(v).astype(np.float64) for v in ev.at_entries(pert, phase="verify")]
    f_plus, f_minus = vals[0::2], vals[1::2]
    centrals = [(fp - fm) / (2 * h) for fp, fm, h in zip(f_plus, f_minus, steps, strict=True)]
    est = fd.richardson(centrals, steps, sigma)
    value, error = est.value, est.error
    h_used = np.full(value.shape, est.step)
    if len(steps) > 3:
        tail = fd.richardson(centrals[-3:], steps[-3:], sigma)
        better = tail.error < error
        value = np.where(better, tail.value, value)
        error = np.where(better, tail.error, error)
        h_used = np.where(better, tail.step, h_used)
    if len(steps) >= 2:
        kinked, lo, hi = diag.one_sided_jump(f_plus, f_minus, f0, steps, sigma)
    else:
        kinked = np.zeros(value.shape, dtype=bool)
        lo = hi = value
    return value, error, h_used, kinked, lo, hi


def _scipy_check_grad(ev: Evaluator, x0: Float64Array, analytic: Float64Array) -> float:
    from scipy.optimize import check_grad as scipy_check_grad

    def f(z: Float64Array) -> float:
        return float(ev.at_point(z, phase="scipy", what="scipy.optimize.check_grad"))

    def g(z: Float64Array) -> Float64Array:
        return analytic

    return float(scipy_check_grad(f, g, x0.copy()))


def _summary(
    verdict: str,
    worst: EntryRecord,
    patterns: list[str],
    kinks: list[str],
    records: list[EntryRecord],
) -> str:
    if verdict == "fail":
        if patterns:
            return patterns[0]
        return (
            f"analytic {worst.analytic:.6g} vs numeric {worst.numeric:.6g} at {worst.label} "
            f"(tolerance {worst.tolerance:.2g})"
        )
    if verdict == "inconclusive":
        n_unrel = sum(r.outcome == "unreliable" for r in records)
        parts = []
        if kinks:
            parts.append(f"{len(kinks)} entr{'y' if len(kinks) == 1 else 'ies'} at a kink")
        if n_unrel:
            parts.append(f"{n_unrel} with an unreliable numeric derivative")
        return "; ".join(parts) + ": no wrong entry found, but not every entry could be judged"
    return "every entry agrees within its tolerance"


def check_grad(
    fun: Callable[..., Any],
    grad: Callable[..., Any] | Literal[True],
    x: Any,
    *,
    args: tuple[Any, ...] = (),
    rtol: float | None = None,
    atol: float | None = None,
    method: Method = "central",
    step: float | None = None,
    seed: int | None = None,
    name: str | None = None,
    compare_scipy: bool = True,
) -> GradCheckResult:
    """Check an analytic gradient against finite differences.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float``, the loss; with ``grad=True``,
        ``fun(x, *args) -> (float, gradient)``.
    grad : callable or True
        ``grad(x, *args)`` returns the gradient with the structure of ``x``; ``True`` when
        ``fun`` returns it (the ``jac=True`` convention of ``scipy.optimize.minimize``).
    x : ndarray, tuple of ndarrays or dict of ndarrays
        The point. Several arrays (a neural net's weights and biases) are passed to ``fun``
        in the same structure. Floating dtype; float32 and float16 are evaluated at their
        own precision with tolerances to match (and a warning).
    args : tuple, optional
        Extra arguments for ``fun`` and ``grad``.
    rtol, atol : float, optional
        Fixed tolerances: an entry fails when ``|a - n| > atol + rtol * max(|a|, |n|)``.
        By default the tolerance of each entry follows from the error estimate of its
        numeric derivative (see Notes).
    method : {"central", "forward", "central4", "richardson", "complex"}, optional
        The stencil of the first pass over every entry. ``"complex"`` needs a ``fun`` that
        accepts complex input and is complex-analytic.
    step : float, optional
        The step relative to the scale of each entry; by default a formula of the machine
        epsilon of ``x``'s dtype (``EPS**(1/3)`` for ``"central"``).
    seed : int, optional
        Seed of the random directions (noise floor, Taylor test); recorded in the result.
    name : str, optional
        The name shown in the report (default: ``fun.__name__``).
    compare_scipy : bool, optional
        Also run ``scipy.optimize.check_grad`` (n + 1 evaluations; skipped for n > 10,000).

    Returns
    -------
    GradCheckResult
        ``verdict`` is ``"pass"``, ``"fail"`` or ``"inconclusive"``; ``str(result)`` is the
        report.

    Raises
    ------
    InvalidArgumentError
        Bad input: wrong gradient structure or shape, a non-scalar or non-finite loss,
        integer or non-finite ``x``.
    FunctionEvaluationError
        ``fun`` or ``grad`` raised; the message names the evaluation and perturbed entry.
    NondeterminismError
        Two evaluations of ``fun`` at ``x`` differ.

    See Also
    --------
    assert_grad : raise ``GradientError`` on a wrong gradient.
    check_jacobian : vector-valued functions.

    Notes
    -----
    Each entry ``i`` is first differenced with the chosen stencil at step
    ``h_i = c * max(|x_i|, rms(x_array))``. Entries that agree with the analytic value
    to 10 times their modelled error (round-off ``sigma * sum|w| / h`` plus truncation)
    pass. Every other entry is verified: central differences at six halving steps,
    Richardson extrapolation with an error estimate ``e`` (Ridders), and a kink test on
    the one-sided differences. Such an entry fails when ``|a - n| > max(10 e, 100 EPS |n|)``,
    is a *kink* when the one-sided derivatives disagree (it fails only when the analytic
    value lies outside them) and is *unreliable* when ``e`` is too large to judge by. The
    verdict is ``fail`` if any entry fails, ``inconclusive`` if some entry could not be
    judged, and ``pass`` otherwise. The relative error reported is
    ``|a - n| / max(|a|, |n|, 1e-6 * max_j |g_j|)``.

    Examples
    --------
    >>> import numpy as np
    >>> import gradtest
    >>> def loss(w):
    ...     return float(np.sum(w**3))
    >>> def grad(w):
    ...     return 3 * w**2
    >>> w = np.array([1.0, -2.0, 0.5])
    >>> result = gradtest.check_grad(loss, grad, w, seed=0)
    >>> result.verdict
    'pass'
    >>> bad = gradtest.check_grad(loss, lambda w: -3 * w**2, w, seed=0)
    >>> bad.verdict, bad.worst.label
    ('fail', 'x[1]')
    >>> bad.diagnosis.summary
    'analytic = -1 × numeric over all entries (sign flipped?)'
    """
    return run_check(
        fun,
        grad,
        x,
        kind="gradient",
        args=args,
        rtol=rtol,
        atol=atol,
        method=method,
        step=step,
        seed=seed,
        name=name,
        compare_scipy=compare_scipy,
    )


def assert_grad(
    fun: Callable[..., Any],
    grad: Callable[..., Any] | Literal[True],
    x: Any,
    *,
    args: tuple[Any, ...] = (),
    rtol: float | None = None,
    atol: float | None = None,
    method: Method = "central",
    step: float | None = None,
    seed: int | None = None,
    name: str | None = None,
    compare_scipy: bool = True,
) -> GradCheckResult:
    """Like :func:`check_grad`, but raise :class:`GradientError` when the gradient is wrong.

    An inconclusive check emits :class:`InconclusiveWarning` with the report and returns
    the result.

    Examples
    --------
    >>> import numpy as np
    >>> import gradtest
    >>> w = np.array([1.0, 2.0])
    >>> gradtest.assert_grad(lambda w: float(w @ w), lambda w: 2 * w, w).verdict
    'pass'
    >>> gradtest.assert_grad(lambda w: float(w @ w), lambda w: w, w, seed=0)
    Traceback (most recent call last):
    ...
    gradtest.errors.GradientError: FAIL ...
    """
    result = check_grad(
        fun,
        grad,
        x,
        args=args,
        rtol=rtol,
        atol=atol,
        method=method,
        step=step,
        seed=seed,
        name=name,
        compare_scipy=compare_scipy,
    )
    _raise_or_warn(result)
    return result


def _raise_or_warn(result: GradCheckResult) -> None:
    if result.verdict == "fail":
        raise GradientError(str(result), result)
    if result.verdict == "inconclusive":
        warnings.warn(InconclusiveWarning(str(result)), stacklevel=3)


def check_jacobian(
    fun: Callable[..., Any],
    jac: Callable[..., Any] | Literal[True],
    x: Any,
    *,
    args: tuple[Any, ...] = (),
    rtol: float | None = None,
    atol: float | None = None,
    method: Method = "central",
    step: float | None = None,
    seed: int | None = None,
    name: str | None = None,
) -> GradCheckResult:
    """Check the Jacobian of a vector-valued function against finite differences.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args)`` returns an array of shape ``out``.
    jac : callable or True
        ``jac(x, *args)`` returns an array of shape ``out + x.shape`` (for a tuple or dict
        ``x``, one such array per parameter array); ``True`` when ``fun`` returns
        ``(value, jacobian)``.
    x, args, rtol, atol, method, step, seed, name
        As in :func:`check_grad`.

    Returns
    -------
    GradCheckResult
        With one entry per (output, parameter) pair, labelled ``d out[j] / d x[i]``.

    Notes
    -----
    A Hessian check is the Jacobian check of a gradient function: pass the gradient as
    ``fun`` and the Hessian as ``jac``.

    Examples
    --------
    >>> import numpy as np
    >>> import gradtest
    >>> def f(x):
    ...     return np.array([x[0] * x[1], np.sin(x[0])])
    >>> def jac(x):
    ...     return np.array([[x[1], x[0]], [np.cos(x[0]), 0.0]])
    >>> gradtest.check_jacobian(f, jac, np.array([0.3, 2.0]), seed=0).verdict
    'pass'

    The Hessian of ``f(x) = sum(x**4)`` is checked as the Jacobian of its gradient:

    >>> grad = lambda x: 4 * x**3
    >>> hess = lambda x: np.diag(12 * x**2)
    >>> gradtest.check_jacobian(grad, hess, np.array([1.0, -0.5, 2.0]), seed=0).verdict
    'pass'
    """
    return run_check(
        fun,
        jac,
        x,
        kind="jacobian",
        args=args,
        rtol=rtol,
        atol=atol,
        method=method,
        step=step,
        seed=seed,
        name=name,
        compare_scipy=False,
    )
