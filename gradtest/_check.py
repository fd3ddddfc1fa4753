"""``check_grad``, ``assert_grad`` and ``check_jacobian``: the gradient check itself.

The check runs in phases, each counted in ``GradCheckResult.evals_by_phase``:

1. ``base``: ``fun`` at ``x`` twice (a nondeterministic function is an error), and the
   analytic gradient; structure, shape, dtype and finiteness are checked first.
2. ``noise``: the noise floor of ``fun`` along a random line (6 evaluations).
3. ``screen``: the chosen stencil on every entry. An entry that agrees with the
   analytic value to ``SCREEN_SAFETY`` times its modelled error passes here.
4. ``verify``: every other entry (worst first, at most ``MAX_VERIFY``) gets central
   differences at eight halving steps, a kink test on the one-sided differences and a
   Richardson extrapolation with an error estimate; its verdict follows from that estimate.
5. ``sweep``, ``taylor``, ``scipy``: the diagnostics shown in the report.
"""

from __future__ import annotations

import functools
import heapq
import math
import warnings
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from gradtest import _diagnosis as diag
from gradtest import _finite_diff as fd
from gradtest import _tolerance as tol
from gradtest._evaluate import Evaluator
from gradtest._params import Float64Array, ParamSpec, flatten_params
from gradtest._result import Diagnosis, EntryRecord, GradCheckResult, Outcome, StepSweep
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
VERIFY_STEPS = 8
#: entries whose step sweep is shown: the worst failing ones, or the worst one
SWEEP_ENTRIES = 3
#: scipy's check_grad costs n + 1 evaluations; above this size it is skipped
SCIPY_MAX_N = 10_000
#: two evaluations at x may differ by this much (relative) and count as noise
NONDET_RTOL = 1e-8

#: mode="auto" checks every entry up to this many entries, directions above
AUTO_FULL_MAX = 2000
#: evaluations of fun at x (value twice)
BASE_COST = 2
#: evaluations per entry of each method's screen
STENCIL_COST = {"central": 2, "forward": 1, "central4": 4, "richardson": 6, "complex": 1}
#: mode="directions": evaluations for detection when no budget is given
DIRECTION_BUDGET = 64
#: mode="directions": further evaluations to localise a failure when no budget is given
LOCALISE_BUDGET = 512
#: steps of a directional probe, in units of the Richardson step EPS**(1/7) (halving); a
#: probe costs twice as many evaluations. RETRY_FACTORS, in units of the central step: the
#: nearer steps tried when the first ones straddle a kink or disagree
PROBE_FACTORS = (1.0, 0.5, 0.25)
RETRY_FACTORS = (2.0, 1.0, 0.5)
PROBE_STEPS = len(PROBE_FACTORS)
#: at the screen, one-sided slopes differing by this fraction send an entry to verification
KINK_HINT = 0.1
#: bisection stops when more than this many parts of an array disagree at once
SPREAD_LIMIT = 8
#: share of the detection probes spent on the first round of directions (the rest adapts)
FIRST_DIRECTION_SHARE = 0.5
#: a passing direction whose discrepancy exceeds this fraction of its tolerance gets a twin
BORDERLINE = 0.3
#: share of the detection probes spent on random directions (the rest on sampled entries)
DIRECTION_SHARE = 0.7

Method = Literal["central", "forward", "central4", "richardson", "complex"]
Mode = Literal["auto", "full", "directions"]
MODES = ("auto", "full", "directions")


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


@dataclass
class _State:
    """What every phase of a check needs: the evaluator, the point and the analytic values."""

    ev: Evaluator
    spec: ParamSpec
    x0: Float64Array
    f0: NDArray[np.float64]  # (m,)
    out_shape: tuple[int, ...]
    analytic: NDArray[np.float64]  # (m, n)
    sigma: NDArray[np.float64]  # (m,)
    eps: float
    scales: Float64Array
    rtol: float | None
    atol: float | None
    method: str
    step: float | None
    kinks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    noise_floor: float = 0.0
    #: evaluations a retried probe must leave for the probes still planned
    reserve: int = 0
    #: x . v of each direction probe, by label (for the regularisation pattern)
    x_dot_v: dict[str, float] = field(default_factory=dict)

    @property
    def m(self) -> int:
        return int(self.analytic.shape[0])

    def out_index(self, k: int) -> tuple[int, ...]:
        if not self.out_shape:
            return ()
        return tuple(int(j) for j in np.unravel_index(k, self.out_shape))


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
    mode: Mode = "auto",
    budget: int | None = None,
    vectorized: bool = False,
    executor: Executor | None = None,
) -> GradCheckResult:
    """Shared implementation of :func:`check_grad` and :func:`check_jacobian`."""
    derivname = "grad" if kind == "gradient" else "jac"
    seed = _validate_options(fun, deriv, derivname, rtol, atol, method, step, seed)
    _validate_scale_options(args, mode, budget, vectorized, executor)
    name = name or _name_of(fun)
    rng = np.random.default_rng(seed)
    spec, x0 = flatten_params(x)
    ev = Evaluator(
        fun,
        args,
        spec,
        x0,
        returns_pair=deriv is True,
        scalar=kind == "gradient",
        name=name,
        vectorized=vectorized,
        executor=executor,
    )
    n = spec.size
    mode_used = _choose_mode(mode, n, budget, method)
    ev.limit = budget
    state = _base(ev, deriv, derivname, kind, rng, mode_used, rtol, atol, method, step)

    if mode_used == "full":
        records = _check_entries(state, np.arange(n))
        coverage = f"every entry ({n}) by {fd.METHOD_NAMES[method]}"
    else:
        records, coverage = _check_directions(state, rng, budget)

    # verdict
    verdict = _verdict(records, spec, mode_used)
    judged = [r for r in records if r.outcome in ("pass", "fail")] or records
    if verdict == "fail":
        pool = [r for r in records if r.outcome == "fail"]
    else:
        pool = judged
    worst = max(pool, key=lambda r: r.rel_error)
    max_rel = max(r.rel_error for r in judged)

    # diagnostics
    failed_entries = [r for r in records if r.outcome == "fail" and r.probe == "entry"]
    patterns = _patterns(state, records, mode_used)
    sweeps: list[StepSweep] = []
    taylor = None
    scipy_figure = None
    optional = budget is None or mode_used == "full"
    if optional:
        targets = sorted(failed_entries, key=lambda r: -r.rel_error)[:SWEEP_ENTRIES]
        if not targets and worst.probe == "entry":
            targets = [worst]
        floor = tol.near_zero_floor(state.analytic, state.analytic)
        for r in targets:
            if not ev.can_afford(2 * len(diag.SWEEP_STEPS)):
                break
            i = _flat_index(spec, r)
            k = int(np.ravel_multi_index(r.output, state.out_shape)) if state.out_shape else 0
            sweeps.append(diag.step_sweep(ev, i, k, r.analytic, x0, float(state.scales[i]), floor))
        if kind == "gradient" and ev.can_afford(diag.TAYLOR_POINTS):
            taylor = diag.taylor_test(
                ev, x0, float(state.f0[0]), state.analytic[0], float(state.sigma[0]), rng
            )
            if taylor.verdict == "wrong" and verdict == "pass":
                state.notes.append(
                    "the Taylor test suggests a wrong gradient although every entry passed: "
                    "the disagreement is below the finite-difference tolerances"
                )
        if kind == "gradient" and compare_scipy:
            direction = "all" if mode_used == "full" else "random"
            cost = n + 1 if direction == "all" else 2
            if n <= SCIPY_MAX_N or direction == "random":
                if ev.can_afford(cost):
                    scipy_figure = _scipy_check_grad(ev, x0, state.analytic[0], direction, seed)
            else:
                state.notes.append(
                    f"scipy.optimize.check_grad skipped: it would cost n + 1 = {n + 1} evaluations"
                )
    summary = _summary(verdict, worst, patterns, state.kinks, records)
    diagnosis = Diagnosis(
        summary=summary,
        patterns=tuple(patterns),
        kinks=tuple(state.kinks),
        noise_floor=state.noise_floor,
        taylor=taylor,
        sweeps=tuple(sweeps),
        scipy_check_grad=scipy_figure,
        notes=tuple(state.notes),
    )
    floor = tol.near_zero_floor(
        np.array([r.analytic for r in records]), np.array([r.numeric for r in records])
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
        mode=mode_used,
        coverage=coverage,
        budget=budget,
    )


def _verdict(
    records: list[EntryRecord], spec: ParamSpec, mode_used: str
) -> Literal["pass", "fail", "inconclusive"]:
    """``fail`` if any comparison failed. Otherwise, checking every entry, ``inconclusive``
    if any entry could not be judged; checking directions, ``inconclusive`` only if some
    array has no direction that could be judged (a sampled entry too imprecise to judge
    is covered by the directions through it)."""
    if any(r.outcome == "fail" for r in records):
        return "fail"
    if mode_used == "full":
        return "pass" if all(r.outcome == "pass" for r in records) else "inconclusive"
    judged_arrays = {r.array for r in records if r.probe == "direction" and r.outcome == "pass"}
    return "pass" if judged_arrays == set(spec.names) else "inconclusive"


def _validate_scale_options(
    args: Any, mode: Any, budget: Any, vectorized: Any, executor: Any
) -> None:
    if not isinstance(args, tuple):
        raise InvalidArgumentError(
            f"args must be a tuple of extra arguments, got {type(args).__name__}: "
            "write args=(X, y) (a one-element tuple needs a comma: args=(X,))"
        )
    if mode not in MODES:
        raise InvalidArgumentError(f"mode must be one of {list(MODES)}, got {mode!r}")
    if budget is not None and (
        isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1
    ):
        raise InvalidArgumentError(f"budget must be None or an int >= 1, got {budget!r}")
    if not isinstance(vectorized, bool):
        raise InvalidArgumentError(f"vectorized must be True or False, got {vectorized!r}")
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise InvalidArgumentError(
            "executor must be a concurrent.futures.Executor (an object with .submit), got "
            f"{type(executor).__name__}"
        )


def _choose_mode(mode: str, n: int, budget: int | None, method: str) -> str:
    full_cost = BASE_COST + 2 * diag.NOISE_POINTS + STENCIL_COST[method] * n
    if mode == "auto":
        fits = budget is None or budget >= full_cost
        return "full" if n <= AUTO_FULL_MAX and fits else "directions"
    if mode == "full" and budget is not None and budget < full_cost:
        raise InvalidArgumentError(
            f"budget={budget} is too small for mode='full': checking every one of the {n} "
            f"entries needs at least {full_cost} evaluations; raise the budget or use "
            "mode='directions'"
        )
    return mode


def _base(
    ev: Evaluator,
    deriv: Callable[..., Any] | Literal[True],
    derivname: str,
    kind: str,
    rng: np.random.Generator,
    mode_used: str,
    rtol: float | None,
    atol: float | None,
    method: str,
    step: float | None,
) -> _State:
    """Values at x (twice), the analytic derivative, structural checks, the noise floor."""
    spec, x0, name = ev.spec, ev.x0, ev.name
    eps = spec.eps
    raw0 = ev.call_at_x(what="x")
    f0 = ev.value(raw0, what="x")
    if not np.all(np.isfinite(f0)):
        raise InvalidArgumentError(f"fun is not finite at x: {name} returned {f0!r:.80}")
    out_shape = f0.shape
    if deriv is True:
        g_raw = raw0[1]
        gname = f"the {'gradient' if kind == 'gradient' else 'Jacobian'} returned by fun"
    else:
        try:
            g_raw = deriv(spec.unflatten(x0), *ev.args)
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
        warnings.warn(msg, UserWarning, stacklevel=4)
        notes.append(msg)
    lines = 2 if mode_used == "full" else 1
    sigma, measured_noise = diag.noise_floor(ev, x0, f0, rng, lines=lines)
    if spread > 0:
        sigma = np.maximum(sigma, spread)
        notes.append(f"two evaluations at x differed by {spread:.2g}; counted as noise")
    state = _State(
        ev=ev,
        spec=spec,
        x0=x0,
        f0=f0,
        out_shape=out_shape,
        analytic=analytic,
        sigma=sigma,
        eps=eps,
        scales=fd.entry_scales(spec, x0),
        rtol=rtol,
        atol=atol,
        method=method,
        step=step,
        notes=notes,
        noise_floor=measured_noise,
    )
    return state


def _judge(
    state: _State,
    a: NDArray[np.float64],
    line: fd.LineEstimate,
    floor: float,
    label: Callable[[int], str],
    extra_tol: NDArray[np.float64] | float = 0.0,
) -> list[tuple[Outcome, float, str]]:
    """Outcome, tolerance and note for each output, from a line estimate with its error."""
    eps = state.eps
    est, err = line.value, line.error
    t = tol.tolerance(a, est, err, eps=eps, rtol=state.rtol, atol=state.atol) + extra_tol
    g = floor / tol.NEAR_ZERO
    trust_floor = float("inf") if g <= tol.SAFETY * float(np.max(err)) else tol.TRUST_FLOOR * g
    if trust_floor == float("inf"):
        _note_zero_gradient(state, float(np.max(err)))
    bad_est = tol.unreliable(est, err, trust_floor, eps=eps, rtol=state.rtol)
    out: list[tuple[Outcome, float, str]] = []
    for k in range(a.shape[0]):
        lo, hi = float(line.lower[k]), float(line.upper[k])
        if line.kinked[k]:
            kink_tol = tol.SAFETY * 2.0 * float(state.sigma[k]) / float(line.step[k])
            kink_tol += 0.1 * (hi - lo) + float(np.max(extra_tol))
            if lo - kink_tol <= a[k] <= hi + kink_tol:
                state.kinks.append(label(k))
                out.append(
                    (
                        "kink",
                        float(t[k]),
                        f"kink: one-sided derivatives {lo:.4g} and {hi:.4g}; the analytic "
                        "value lies between them (a valid one-sided derivative or subgradient)",
                    )
                )
            else:
                out.append(
                    (
                        "fail",
                        kink_tol,
                        "kink, but the analytic value is outside the one-sided derivatives "
                        f"[{lo:.4g}, {hi:.4g}]",
                    )
                )
        elif bad_est[k]:
            out.append(
                (
                    "unreliable",
                    float(t[k]),
                    f"numeric estimate uncertain to {err[k]:.2g}: finite differences cannot "
                    "be trusted here (noise or a nearby kink)",
                )
            )
        elif abs(a[k] - est[k]) > t[k]:
            out.append(("fail", float(t[k]), ""))
        else:
            out.append(("pass", float(t[k]), ""))
    return out


def _note_zero_gradient(state: _State, error: float) -> None:
    note = (
        f"the gradient is zero to within the numeric precision ({error:.1g}) here: "
        "there is no scale to judge relative errors by, so only absolute agreement was checked"
    )
    if note not in state.notes:
        state.notes.append(note)


def _check_entries(state: _State, indices: NDArray[np.intp]) -> list[EntryRecord]:
    """Screen the given entries with the chosen stencil, then verify the ones that disagree."""
    ev, spec, eps = state.ev, state.spec, state.eps
    analytic = state.analytic[:, indices]
    c = state.step if state.step is not None else fd.relative_step(state.method, eps)
    numeric, error, steps, suspicious = _screen(ev, state, indices, c)
    floor = tol.near_zero_floor(analytic, numeric)
    diff = np.abs(analytic - numeric)
    screen_tol = np.maximum(tol.SCREEN_SAFETY * error, tol.FLOOR_ULPS * eps * np.abs(numeric))
    if state.rtol is not None or state.atol is not None:
        screen_tol = np.minimum(
            screen_tol,
            tol.tolerance(analytic, numeric, error, eps=eps, rtol=state.rtol, atol=state.atol),
        )
    trust_floor = tol.trust_floor(analytic, numeric, error)
    if trust_floor == float("inf"):
        _note_zero_gradient(state, float(np.max(error)))
    trusted = ~tol.unreliable(numeric, error, trust_floor, eps=eps, rtol=state.rtol)
    passed_screen = (diff <= screen_tol) & trusted & ~suspicious  # (m, len(indices))
    outcome = np.full(analytic.shape, "pass", dtype=object)
    # the tolerance a screened entry is held to: the user's where given (the screen is tighter)
    tolerance = (
        screen_tol.copy()
        if state.rtol is None and state.atol is None
        else tol.tolerance(analytic, numeric, error, eps=eps, rtol=state.rtol, atol=state.atol)
    )
    notes: dict[tuple[int, int], str] = {}

    rel = tol.relative_error(analytic, numeric, floor)
    flagged = np.flatnonzero(~passed_screen.all(axis=0))
    flagged = flagged[np.argsort(-rel[:, flagged].max(axis=0))]
    for pos, col_ in enumerate(flagged):
        col = int(col_)
        i = int(indices[col])
        if pos >= MAX_VERIFY or not ev.can_afford(2 * VERIFY_STEPS):
            why = (
                f"more than {MAX_VERIFY} entries disagreed at the screen"
                if pos >= MAX_VERIFY
                else "the evaluation budget ran out"
            )
            rest = flagged[pos:]
            for r in rest:
                for kk in np.flatnonzero(~passed_screen[:, r]):
                    outcome[kk, r] = "unreliable"
                    notes[(int(kk), int(r))] = f"not verified: {why}"
            state.notes.append(
                f"{rest.size} entries disagreed at the screen and were not verified: {why}"
            )
            break
        line = _verify(ev, i, float(state.scales[i]), state.x0, state.f0, state.sigma, eps)
        if state.method == "complex":
            line = _reconcile_complex(state, line, numeric[:, col], error[:, col], notes, col)
        numeric[:, col] = line.value
        error[:, col] = line.error
        steps[col] = float(np.max(line.step))
        judged = _judge(
            state,
            analytic[:, col],
            line,
            floor,
            functools.partial(_label_for, spec, i, state.out_shape),
        )
        for k, (o, t, note) in enumerate(judged):
            outcome[k, col] = o
            tolerance[k, col] = t
            if note:
                notes.setdefault((k, col), note)

    floor = tol.near_zero_floor(analytic, numeric)
    rel = tol.relative_error(analytic, numeric, floor)
    records = []
    for k in range(state.m):
        for col, i_ in enumerate(indices):
            i = int(i_)
            blk, index = spec.locate(i)
            records.append(
                EntryRecord(
                    array=spec.names[blk],
                    index=index,
                    label=_entry_label(spec, k, i, state.out_shape),
                    output=state.out_index(k),
                    analytic=float(analytic[k, col]),
                    numeric=float(numeric[k, col]),
                    abs_error=abs(float(analytic[k, col]) - float(numeric[k, col])),
                    rel_error=float(rel[k, col]),
                    error_estimate=float(error[k, col]),
                    step=float(steps[col]),
                    tolerance=float(tolerance[k, col]),
                    outcome=outcome[k, col],
                    note=notes.get((k, col), ""),
                )
            )
    return records


def _reconcile_complex(
    state: _State,
    line: fd.LineEstimate,
    cs_value: NDArray[np.float64],
    cs_error: NDArray[np.float64],
    notes: dict[tuple[int, int], str],
    col: int,
) -> fd.LineEstimate:
    """Keep the complex-step value where central differences agree with it."""
    agrees = np.abs(cs_value - line.value) <= tol.SAFETY * line.error + (
        tol.FLOOR_ULPS * state.eps * np.abs(line.value)
    )
    for k in np.flatnonzero(~agrees):
        notes[(int(k), col)] = (
            "complex step disagrees with central differences: fun is not complex-analytic "
            "here (abs, max, .real?)"
        )
    return fd.LineEstimate(
        value=np.where(agrees, cs_value, line.value),
        error=np.where(agrees, np.minimum(cs_error, line.error), np.inf),
        step=line.step,
        kinked=line.kinked,
        lower=line.lower,
        upper=line.upper,
    )


def _probe(state: _State, v: Float64Array, what: str) -> fd.LineEstimate:
    """Directional derivative of ``fun`` along ``v`` (already scaled to ``x``).

    Central differences at ``PROBE_FACTORS`` times the Richardson step, extrapolated: a
    direction moves every entry at once, so its round-off error is what limits how small a
    wrong entry it can see, and larger steps divide that error (Richardson takes care of
    the truncation). When those steps straddle a kink or give an unreliable estimate, the
    probe is repeated at steps ``RETRY_FACTORS`` (budget permitting) and the better kept.
    """
    c = fd.relative_step("central", state.eps)
    wide = fd.relative_step("richardson", state.eps)
    line, steps = _probe_at(state, v, what, [f * wide for f in PROBE_FACTORS])
    shaky = line.kinked.any() or bool(
        np.any(line.error > tol.trust_limit(state.eps) * np.abs(line.value))
    )
    if shaky and state.ev.can_afford(2 * len(RETRY_FACTORS) + state.reserve):
        near, near_steps = _probe_at(state, v, what, [f * c for f in RETRY_FACTORS])
        if (line.kinked.any() and not near.kinked.any()) or np.all(near.error < line.error):
            line, steps = near, near_steps
    if state.spec.eps > np.finfo(np.float64).eps:
        # x + t v is rounded to the parameter dtype: the step taken is not exactly t v
        moved = fd.realise(state.spec, state.x0, steps[-1] * v) / steps[-1]
        shift = state.analytic @ (v - moved)
        line = fd.LineEstimate(
            line.value + shift, line.error, line.step, line.kinked, line.lower, line.upper
        )
    return line


def _probe_at(
    state: _State, v: Float64Array, what: str, steps: list[float]
) -> tuple[fd.LineEstimate, list[float]]:
    x0, ev = state.x0, state.ev

    def values_at(offsets: list[float]) -> list[NDArray[np.float64]]:
        if ev.vectorized or ev.executor is not None:
            return ev.at_points(
                [x0 + t * v for t in offsets], phase="directions", what=[what] * len(offsets)
            )
        # one point at a time, built in place: a single extra copy of x is alive at once
        out = []
        for t in offsets:
            z = t * v
            z += x0
            out.append(ev.at_point(z, phase="directions", what=what, owned=True))
            del z
        return out

    return fd.line_derivative(values_at, steps, state.f0, state.sigma), steps


def _entry_probe(state: _State, i: int) -> list[EntryRecord]:
    """One entry checked the way a direction is: wide steps, Richardson, retry at a kink.

    Bisection ends at single entries of large gradients, whose loss sums many terms: its
    round-off swamps a coordinate difference at the central step, so the entry gets the
    wide steps of a directional probe along ``e_i``.
    """
    spec = state.spec
    s = float(state.scales[i])
    v = np.zeros(spec.size)
    v[i] = s
    line = _probe(state, v, spec.label(i))
    a = state.analytic[:, i]
    scaled = fd.LineEstimate(
        line.value / s, line.error / s, line.step * s, line.kinked, line.lower / s, line.upper / s
    )
    floor = tol.NEAR_ZERO * float(np.max(np.abs(state.analytic), initial=0)) or float(
        np.finfo(np.float64).tiny
    )
    judged = _judge(
        state, a, scaled, floor, functools.partial(_label_for, spec, i, state.out_shape)
    )
    rel = tol.relative_error(a, scaled.value, floor)
    block, index = spec.locate(i)
    return [
        EntryRecord(
            array=spec.names[block],
            index=index,
            label=_entry_label(spec, k, i, state.out_shape),
            output=state.out_index(k),
            analytic=float(a[k]),
            numeric=float(scaled.value[k]),
            abs_error=abs(float(a[k]) - float(scaled.value[k])),
            rel_error=float(rel[k]),
            error_estimate=float(scaled.error[k]),
            step=float(scaled.step[k]),
            tolerance=o[1],
            outcome=o[0],
            note=o[2],
        )
        for k, o in enumerate(judged)
    ]


def _direction_records(state: _State, v: Float64Array, block: int, label: str) -> list[EntryRecord]:
    """Compare the analytic directional derivative ``A v`` with a numeric one."""
    line = _probe(state, v, label)
    a = state.analytic @ v
    # rounding of the analytic inner product when its terms cancel
    cancel = 10 * state.eps * (np.abs(state.analytic) @ np.abs(v))
    floor = tol.NEAR_ZERO * float(np.max(np.maximum(np.abs(a), np.abs(line.value)), initial=0))
    floor = floor or np.finfo(np.float64).tiny
    judged = _judge(state, a, line, floor, lambda k: label, extra_tol=cancel)
    rel = tol.relative_error(a, line.value, floor)
    return [
        EntryRecord(
            array=state.spec.names[block],
            index=(),
            label=label if state.m == 1 else f"{label} (out[{k}])",
            output=state.out_index(k),
            analytic=float(a[k]),
            numeric=float(line.value[k]),
            abs_error=abs(float(a[k]) - float(line.value[k])),
            rel_error=float(rel[k]),
            error_estimate=float(line.error[k]),
            step=float(line.step[k]),
            tolerance=o[1],
            outcome=o[0],
            note=o[2],
            probe="direction",
        )
        for k, o in enumerate(judged)
    ]


def _check_directions(
    state: _State, rng: np.random.Generator, budget: int | None
) -> tuple[list[EntryRecord], str]:
    """Random directions per array, sampled entries, and localisation of failures."""
    ev, spec = state.ev, state.spec
    probe_cost = 2 * PROBE_STEPS
    detect = (budget if budget is not None else DIRECTION_BUDGET) - ev.n_evals
    n_probes = detect // probe_cost
    if n_probes < spec.n_blocks:
        raise InvalidArgumentError(
            f"budget={budget} is too small: mode='directions' needs {ev.n_evals} evaluations "
            f"for the value and noise floor plus {probe_cost} per direction, with at least one "
            f"direction for each of the {spec.n_blocks} arrays (budget >= "
            f"{ev.n_evals + probe_cost * spec.n_blocks})"
        )
    n_dirs = max(spec.n_blocks, round(DIRECTION_SHARE * n_probes))
    n_first = max(spec.n_blocks, round(FIRST_DIRECTION_SHARE * n_probes))
    per_block = [
        n_first // spec.n_blocks + (k < n_first % spec.n_blocks) for k in range(spec.n_blocks)
    ]
    records: list[EntryRecord] = []
    failing: list[tuple[int, Float64Array, EntryRecord]] = []
    borderline: set[int] = set()

    def direction(k: int, j: int) -> None:
        blk = spec.block(k)
        v = np.zeros(spec.size)
        v[blk] = rng.standard_normal(blk.stop - blk.start)
        v[blk] *= state.scales[blk]
        label = f"{spec.names[k]} · v{j}"
        state.x_dot_v[label] = float(state.x0 @ v)
        recs = _direction_records(state, v, k, label)
        records.extend(recs)
        bad = [r for r in recs if r.outcome == "fail"]
        if bad:
            failing.append((k, v, max(bad, key=lambda r: r.abs_error / r.tolerance)))
        elif any(r.outcome == "pass" and r.abs_error > BORDERLINE * r.tolerance for r in recs):
            borderline.add(k)

    planned = sum(per_block)
    for k in range(spec.n_blocks):
        for j in range(per_block[k]):
            planned -= 1
            state.reserve = probe_cost * planned
            direction(k, j)
    state.reserve = 0
    # adapt: more directions for arrays whose discrepancy came close to its tolerance,
    # then (budget left) for every array in turn
    more = n_dirs - n_first
    k = 0
    while more > 0 and ev.can_afford(probe_cost):
        if borderline:
            k = min(borderline, key=lambda b: per_block[b])
            borderline.discard(k)
        else:
            k = min(range(spec.n_blocks), key=lambda b: per_block[b])
        direction(k, per_block[k])
        per_block[k] += 1
        more -= 1
    # sampled entries: the largest |analytic| and random ones
    remaining_detect = (budget if budget is not None else DIRECTION_BUDGET) - ev.n_evals
    n_coords = max(0, remaining_detect // 2 - 1)
    sampled = np.array([], dtype=np.intp)
    if n_coords:
        size = np.abs(state.analytic[0]) if state.m == 1 else np.abs(state.analytic).max(0)
        n_top = (n_coords + 1) // 2
        top = np.argpartition(-size, n_top - 1)[:n_top] if n_top < spec.size else np.arange(n_top)
        del size
        chosen = set(top.tolist())
        extra: list[int] = []
        while len(extra) < min(n_coords - top.size, spec.size - top.size):
            i = int(rng.integers(spec.size))
            if i not in chosen:
                chosen.add(i)
                extra.append(i)
        sampled = np.sort(np.array(sorted(chosen), dtype=np.intp))
        if budget is None:
            ev.limit = DIRECTION_BUDGET + LOCALISE_BUDGET
        records.extend(_check_entries(state, sampled))
    # localise: bisect the failing direction of each failing array
    if budget is None:
        ev.limit = DIRECTION_BUDGET + LOCALISE_BUDGET
    located = 0
    seen = {
        int(np.ravel_multi_index(r.index, spec.shapes[spec.names.index(r.array)]))
        + spec.offsets[spec.names.index(r.array)]
        for r in records
        if r.probe == "entry" and r.index
    }
    done_blocks: set[int] = set()
    dense = bool(_patterns(state, records, "directions")) and not any(
        p.startswith("a single") for p in _patterns(state, records, "directions")
    )
    if dense:
        state.notes.append(
            "no bisection: one pattern explains every disagreeing direction, so the error "
            "is not confined to a few entries"
        )
    for k, v, rec in sorted(failing, key=lambda t: -t[2].abs_error / t[2].tolerance):
        if k in done_blocks or dense:
            continue
        done_blocks.add(k)
        found = _localise(state, k, v, rec, seen)
        located += len(found)
        records.extend(found)
    counts = ", ".join(f"{per_block[k]} for {spec.names[k]}" for k in range(spec.n_blocks))
    coverage = (
        f"{n_dirs} random directions ({counts}), each moving every entry of its array; "
        f"{sampled.size} sampled entries (largest |gradient| and random)"
    )
    if failing:
        coverage += f"; bisection located {located} entries"
    return records, coverage


def _localise(
    state: _State, block: int, v: Float64Array, rec: EntryRecord, seen: set[int]
) -> list[EntryRecord]:
    """Bisect a failing direction: restrict it to halves until single entries remain.

    The discrepancy ``A v - D_v`` is additive over disjoint parts of ``v``, so one probe of
    a half gives both halves (the other half is the difference); halves whose
    discrepancy exceeds its tolerance are split further, the most significant first.
    """
    spec, ev = state.spec, state.ev
    out = int(np.ravel_multi_index(rec.output, state.out_shape)) if state.out_shape else 0
    blk = spec.block(block)
    idx = np.arange(blk.start, blk.stop)
    d0 = rec.analytic - rec.numeric
    heap: list[tuple[float, int, NDArray[np.intp], float, float]] = [
        (-abs(d0) / rec.tolerance, 0, idx, d0, rec.error_estimate)
    ]
    counter = 1
    found: list[EntryRecord] = []
    while heap:
        if len(heap) > SPREAD_LIMIT:
            state.notes.append(
                f"{spec.names[block]}: the error is spread over many entries (more than "
                f"{SPREAD_LIMIT} parts of the array disagree), so bisection stopped"
            )
            break
        _, _, part, d, e = heapq.heappop(heap)
        if part.size == 1:
            i = int(part[0])
            if i in seen or not ev.can_afford(2 * (PROBE_STEPS + len(RETRY_FACTORS))):
                continue
            seen.add(i)
            found.extend(r for r in _entry_probe(state, i) if r.output == rec.output)
            continue
        if not ev.can_afford(2 * PROBE_STEPS):
            state.notes.append("localisation stopped: the evaluation budget ran out")
            break
        half = part[: part.size // 2]
        v_half = np.zeros(spec.size)
        v_half[half] = v[half]
        line = _probe(state, v_half, f"{spec.names[block]} bisection")
        d1 = float((state.analytic @ v_half)[out] - line.value[out])
        e1 = float(line.error[out])
        for sub, dd, ee in ((half, d1, e1), (part[part.size // 2 :], d - d1, e + e1)):
            cancel = 10 * state.eps * float(np.abs(state.analytic[out, sub]) @ np.abs(v[sub]))
            t = tol.SAFETY * ee + cancel
            if abs(dd) > t:
                heapq.heappush(heap, (-abs(dd) / t, counter, sub, dd, ee))
                counter += 1
    return found


def _flat_index(spec: ParamSpec, r: EntryRecord) -> int:
    k = spec.names.index(r.array)
    local = int(np.ravel_multi_index(r.index, spec.shapes[k])) if r.index else 0
    return spec.offsets[k] + local


def _patterns(state: _State, records: list[EntryRecord], mode_used: str) -> list[str]:
    if not any(r.outcome == "fail" for r in records) or state.m != 1:
        return []
    if mode_used == "full":
        analytic = np.array([r.analytic for r in records])
        numeric = np.array([r.numeric for r in records])
        failed = np.array([r.outcome == "fail" for r in records])
        return diag.bug_patterns(state.spec, state.x0, analytic, numeric, failed)
    probes = [r for r in records if r.outcome in ("pass", "fail")]
    out = diag.factor_pattern(
        np.array([r.analytic for r in probes]),
        np.array([r.numeric for r in probes]),
        "every direction and sampled entry",
    )
    dirs = [r for r in records if r.probe == "direction" and r.label in state.x_dot_v]
    if not out and dirs:
        d = np.array([r.analytic - r.numeric for r in dirs])
        xv = np.array([state.x_dot_v[r.label] for r in dirs])
        if xv @ xv > 0:
            lam = float(d @ xv) / float(xv @ xv)
            if lam and np.linalg.norm(d - lam * xv) <= diag.PATTERN_FIT * np.linalg.norm(d):
                out.append(
                    f"analytic − numeric = {lam:.3g} × x along every direction (missing or "
                    "mis-scaled regularisation term? the gradient of reg·‖W‖² is 2·reg·W)"
                )
    bad_entries = [r for r in records if r.probe == "entry" and r.outcome == "fail"]
    bad_arrays = sorted({r.array for r in records if r.outcome == "fail"})
    if state.spec.n_blocks > 1 and len(bad_arrays) < state.spec.n_blocks:
        out.append("only " + ", ".join(bad_arrays) + " wrong (the other arrays pass)")
    if len(bad_entries) == 1:
        out.append(f"a single wrong entry located: {bad_entries[0].label}")
    return out


def _label_for(spec: ParamSpec, i: int, out_shape: tuple[int, ...], k: int) -> str:
    return _entry_label(spec, k, i, out_shape)


def _entry_label(spec: ParamSpec, k: int, i: int, out_shape: tuple[int, ...]) -> str:
    if not out_shape:
        return spec.label(i)
    out_index = np.unravel_index(k, out_shape)
    return f"d out[{', '.join(str(int(j)) for j in out_index)}] / d {spec.label(i)}"


def _screen(
    ev: Evaluator, state: _State, indices: NDArray[np.intp], c: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], Float64Array, NDArray[np.bool_]]:
    """The chosen stencil on the given entries.

    Returns numeric values (m, k), their modelled errors (m, k), the steps (k,) and a mask
    (m, k) of entries whose one-sided slopes hint at a kink (central differences only).
    """
    spec, x0, f0, sigma, method = ev.spec, state.x0, state.f0, state.sigma, state.method
    scales = state.scales[indices]
    h = c * scales
    if method != "complex":
        h = fd.realise_entries(spec, x0, indices, h)
    if np.any(h == 0):
        tiny = 4 * np.spacing(np.abs(x0[indices]) + scales)
        h = np.where(h == 0, fd.realise_entries(spec, x0, indices, tiny), h)
    m, n = f0.size, indices.size
    numeric = np.empty((m, n))
    error = np.empty((m, n))
    suspicious = np.zeros((m, n), dtype=bool)  # one-sided slopes hint at a kink
    order = fd.ORDER[method]
    if method == "complex":
        vals = ev.at_entries(
            [(int(i), complex(0.0, float(hi))) for i, hi in zip(indices, h, strict=True)],
            phase="screen",
        )
        for col, (val, hi) in enumerate(zip(vals, h, strict=True)):
            d = np.imag(np.ravel(val)) / hi
            numeric[:, col] = d
            error[:, col] = 10 * spec.eps * np.abs(d) + np.finfo(np.float64).tiny
        return numeric, error, h, suspicious
    if method == "richardson":
        for col, (i, hi) in enumerate(zip(indices, h, strict=True)):
            hs = [float(hi), float(hi) / 2, float(hi) / 4]
            vals = ev.at_entries(
                [(int(i), s * hk) for hk in hs for s in (1.0, -1.0)], phase="screen"
            )
            centrals = [
                (np.ravel(vals[2 * j]) - np.ravel(vals[2 * j + 1])) / (2 * hk)
                for j, hk in enumerate(hs)
            ]
            est = fd.richardson(centrals, hs, sigma)
            numeric[:, col] = est.value
            error[:, col] = est.error
        return numeric, error, h, suspicious
    offsets, weights = fd.STENCILS[method]
    moves = [o for o in offsets if o != 0]
    vals = ev.at_entries(
        [(int(i), o * float(hi)) for i, hi in zip(indices, h, strict=True) for o in moves],
        phase="screen",
    )
    for col, hi in enumerate(h):
        it = iter(vals[col * len(moves) : (col + 1) * len(moves)])
        values = [f0 if o == 0 else np.ravel(next(it)).astype(np.float64) for o in offsets]
        d, roundoff = fd.stencil_estimate(values, weights, float(hi), sigma)
        numeric[:, col] = d
        trunc = (hi / scales[col]) ** order * np.abs(d)
        error[:, col] = roundoff + trunc
        if method == "central":
            # one-sided slopes that differ by far more than curvature explains hint at a
            # kink: such an entry goes to verification, where the kink test can run
            fwd, bwd = (values[0] - f0) / hi, (f0 - values[1]) / hi
            jump = np.abs(fwd - bwd)
            hint = jump > KINK_HINT * np.maximum(np.abs(fwd), np.abs(bwd)) + 40 * sigma / hi
            suspicious[:, col] = hint
    return numeric, error, h, suspicious


def _verify(
    ev: Evaluator,
    i: int,
    scale: float,
    x0: Float64Array,
    f0: NDArray[np.float64],
    sigma: NDArray[np.float64],
    eps: float,
) -> fd.LineEstimate:
    """Richardson estimate with its error, and the kink test, for entry ``i``."""
    spec = ev.spec
    base = 4 * fd.relative_step("central", eps) * scale
    steps: list[float] = []
    for k in range(VERIFY_STEPS):
        h = float(fd.realise_entries(spec, x0, np.array([i]), np.array([base / 2**k]))[0])
        if h > 0 and (not steps or h < steps[-1]):
            steps.append(h)
    return fd.line_derivative(
        lambda offsets: ev.at_entries([(i, t) for t in offsets], phase="verify"),
        steps,
        f0,
        sigma,
    )


def _scipy_check_grad(
    ev: Evaluator, x0: Float64Array, analytic: Float64Array, direction: str, seed: int
) -> float:
    from scipy.optimize import check_grad as scipy_check_grad

    def f(z: Float64Array) -> float:
        return float(ev.at_point(z, phase="scipy", what="scipy.optimize.check_grad"))

    def g(z: Float64Array) -> Float64Array:
        return analytic

    return float(
        scipy_check_grad(f, g, x0.copy(), direction=direction, rng=np.random.default_rng(seed))
    )


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
        if worst.probe == "direction":
            return (
                f"along {worst.label}: analytic {worst.analytic:.6g} vs numeric "
                f"{worst.numeric:.6g} (tolerance {worst.tolerance:.2g})"
            )
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
    mode: Mode = "auto",
    budget: int | None = None,
    vectorized: bool = False,
    executor: Executor | None = None,
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
        Also run ``scipy.optimize.check_grad`` (n + 1 evaluations, skipped for n > 10,000;
        with ``mode="directions"`` its ``direction="random"`` variant, 2 evaluations).
    mode : {"auto", "full", "directions"}, optional
        ``"full"`` checks every entry; ``"directions"`` compares directional derivatives
        along random directions (each array gets its own, scaled to it) plus sampled
        entries, and bisects a failing direction down to the wrong entries; ``"auto"``
        (default) is ``"full"`` up to 2,000 entries and ``"directions"`` above.
    budget : int, optional
        The most evaluations of ``fun`` to spend. By default ``"full"`` spends what it
        needs and ``"directions"`` 64 for detection plus up to 512 to localise a failure.
    vectorized : bool, optional
        ``fun`` accepts a stack of inputs (a leading axis on every array) and returns one
        value per input, so the perturbations go in a few calls.
    executor : concurrent.futures.Executor, optional
        Evaluate the perturbations on the executor's workers (a process pool, or a
        ``dask.distributed`` client's ``get_executor()``); ``fun`` must be picklable.

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
    pass. Every other entry is verified: central differences at eight halving steps,
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
        mode=mode,
        budget=budget,
        vectorized=vectorized,
        executor=executor,
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
    mode: Mode = "auto",
    budget: int | None = None,
    vectorized: bool = False,
    executor: Executor | None = None,
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
        mode=mode,
        budget=budget,
        vectorized=vectorized,
        executor=executor,
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
    mode: Mode = "auto",
    budget: int | None = None,
    vectorized: bool = False,
    executor: Executor | None = None,
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
    x, args, rtol, atol, method, step, seed, name, mode, budget, vectorized, executor
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
        mode=mode,
        budget=budget,
        vectorized=vectorized,
        executor=executor,
    )
