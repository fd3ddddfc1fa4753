"""``check_grad``, ``assert_grad`` and ``check_jacobian``: the public API of a check.

A check is a pipeline, each stage in a module of its own:

1. ``_options``: the arguments, validated into a frozen ``CheckOptions``;
2. ``_setup``: ``fun`` at ``x`` twice, the analytic derivative, the precision of ``fun``
   and of the gradient, the noise model (``Context``);
3. ``_entrywise`` (``mode="full"``) or ``_directions``: probing, every line judged by the
   rules of ``_tolerance`` through ``_lines.resolve``;
4. the verdict; then, for a *fail* or an *inconclusive* verdict (or ``diagnose=True``),
   ``_diagnosis``: bug patterns, a step sweep, the Taylor test and scipy's figure;
5. ``_result``/``_report``: the frozen result and its report.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, Literal

import numpy as np

from gradtest import _diagnosis as diag
from gradtest import _directions, _entrywise, _randomness
from gradtest import _finite_diff as fd
from gradtest import _tolerance as tol
from gradtest._options import CheckOptions, Method, Mode, make_options
from gradtest._report import distinct
from gradtest._result import Diagnosis, EntryRecord, GradCheckResult, StepSweep, TaylorTest
from gradtest._setup import SETUP_COST, Context, setup
from gradtest.errors import GradientError, InconclusiveWarning, InvalidArgumentError

#: scipy's check_grad over every entry (n + 1 evaluations) up to this n; above, its
#: direction="random" variant (2 evaluations)
SCIPY_ALL_MAX = 30
#: above this n scipy's check_grad is not run: it holds several copies of x
SCIPY_MAX_N = 100_000
#: a directions-mode check without a budget spends at most this much in all on a report
REPORT_BUDGET = 64
#: mode="auto": when directions fail or cannot decide and n is at most this, every entry is
#: checked too, for a report that names the entries and patterns
DIAGNOSE_ENTRIES_MAX = 2000


def choose_mode(opts: CheckOptions, n: int, n_blocks: int) -> str:
    """``auto``: whichever of full and directions costs fewer evaluations for a passing
    gradient (directions need ``DIRECTION_COST`` per direction); another stencil than
    central differences means full."""
    full_cost = _entrywise.screen_cost(opts.method, n)
    directions_cost = _directions.DIRECTION_COST * max(_directions.DIRECTIONS, n_blocks)
    if opts.mode == "auto":
        if opts.method != "central":
            mode = "full"
        else:
            mode = "full" if full_cost <= directions_cost else "directions"
        if mode == "full" and opts.budget is not None and opts.budget < SETUP_COST + full_cost:
            if opts.method != "central":  # (random directions would not use the method)
                raise InvalidArgumentError(
                    f"budget={opts.budget} is too small for method={opts.method!r}: checking "
                    f"every one of the {n} entries needs at least {SETUP_COST + full_cost} "
                    "evaluations; raise the budget, or drop method= to check random "
                    "directions by central differences"
                )
            mode = "directions"
        return mode
    if opts.mode == "full" and opts.budget is not None and opts.budget < SETUP_COST + full_cost:
        raise InvalidArgumentError(
            f"budget={opts.budget} is too small for mode='full': checking every one of the {n} "
            f"entries needs at least {SETUP_COST + full_cost} evaluations; raise the budget or "
            "use mode='directions'"
        )
    return opts.mode


def run_check(
    fun: Callable[..., Any],
    deriv: Callable[..., Any] | Literal[True],
    x: Any,
    **options: Any,
) -> GradCheckResult:
    """Shared implementation of :func:`check_grad` and :func:`check_jacobian`."""
    opts = make_options(fun, deriv, **options)
    # floating-point warnings at perturbed points (log of a negative, overflow) are what
    # finite differences meet; the verdict reports non-finite values itself
    with np.errstate(all="ignore"):
        try:
            return _run(fun, deriv, x, opts)
        finally:
            _randomness.forget()


def _run(
    fun: Callable[..., Any],
    deriv: Callable[..., Any] | Literal[True],
    x: Any,
    opts: CheckOptions,
) -> GradCheckResult:
    ctx = setup(fun, deriv, x, opts)
    spec = ctx.spec
    mode_used = choose_mode(opts, spec.size, spec.n_blocks)
    probe: _directions.Probe | None = None
    # with few entries, every entry is checked after a failing direction (below), so the
    # directions are not bisected first
    every_entry_next = (
        opts.mode == "auto" and opts.budget is None and spec.size <= DIAGNOSE_ENTRIES_MAX
    )
    if mode_used == "full":
        records = _entrywise.check_entries(ctx, np.arange(spec.size))
        coverage = f"every entry ({spec.size}) by {fd.METHOD_NAMES[opts.method]}"
    else:
        records, coverage, probe = _directions.check_directions(ctx, localise=not every_entry_next)
    verdict = _verdict(records, ctx, mode_used)
    if mode_used == "directions" and every_entry_next and verdict != "pass":
        # a report names entries: with few of them, check every one (diagnosis is for failures)
        entries = _entrywise.check_entries(ctx, np.arange(spec.size))
        if any(r.outcome == "fail" for r in entries) or verdict == "inconclusive":
            records = entries
        else:  # the directions saw what no single entry shows: keep them (unless kinks
            # at x explain it, or entries each within their resolution add up to it)
            records = [*entries, *(r for r in records if r.probe == "direction")]
            records = _directions.demote_kinked_directions(ctx, records)
            if probe is not None:
                records = _directions.pass_within_resolution(ctx, records, probe)
        coverage = (
            f"{coverage}; they disagreed, so then every entry ({spec.size}) by central differences"
        )
        mode_used = "full"
        verdict = _verdict(records, ctx, "full" if verdict == "inconclusive" else "directions")
    ctx.ev.finish()
    judged = [r for r in records if r.outcome in ("pass", "fail")] or records
    pool = [r for r in records if r.outcome == "fail"] if verdict == "fail" else judged
    pool = [r for r in pool if r.probe == "entry"] or pool
    worst = max(pool, key=lambda r: _rank(r.rel_error))
    finite_rel = [r.rel_error for r in judged if math.isfinite(r.rel_error)]
    max_rel = max(finite_rel) if finite_rel else float("inf")

    diagnose = opts.diagnose if opts.diagnose is not None else verdict != "pass"
    patterns: list[str] = []
    sweeps: list[StepSweep] = []
    taylor: TaylorTest | None = None
    scipy_figure: float | None = None
    if verdict == "fail" and ctx.m == 1:
        if mode_used == "full":
            entries = [r for r in records if r.probe == "entry"]
            patterns = diag.bug_patterns(
                spec,
                ctx.x0,
                np.array([r.analytic for r in entries]),
                np.array([r.numeric for r in entries]),
                np.array([r.outcome == "fail" for r in entries]),
            )
        else:
            patterns = diag.direction_patterns(ctx, records, probe.x_dot_v if probe else {})
    elif verdict == "fail" and mode_used == "full":
        patterns = diag.jacobian_patterns(ctx, records)
    if diagnose:
        if mode_used == "directions" and opts.budget is None:
            ctx.ev.limit = max(ctx.ev.n_evals, REPORT_BUDGET)
        sweeps, taylor, scipy_figure = _diagnose(ctx, records, worst, mode_used, verdict)
    summary = _summary(verdict, worst, patterns, ctx.kinks, records)
    diagnosis = Diagnosis(
        summary=summary,
        patterns=tuple(patterns),
        kinks=tuple(dict.fromkeys(ctx.kinks)),
        noise_floor=ctx.measured_noise if ctx.noise_measured else 0.0,
        noise_measured=ctx.noise_measured,
        taylor=taylor,
        sweeps=tuple(sweeps),
        scipy_check_grad=scipy_figure,
        notes=tuple(ctx.notes),
    )
    return GradCheckResult(
        name=opts.name,
        verdict=verdict,
        max_rel_error=float(max_rel),
        worst=worst,
        n_evals=ctx.ev.n_evals,
        entries=tuple(records),
        diagnosis=diagnosis,
        method=opts.method,
        seed=opts.seed,
        dtype=", ".join(sorted({d.type.__name__ for d in spec.dtypes})),
        kind=opts.kind,
        wrt=spec.names,
        evals_by_phase=dict(ctx.ev.counts),
        relative_error_formula=_relative_error_formula(records, mode_used, ctx.g_scale),
        mode=mode_used,
        coverage=coverage,
        budget=opts.budget,
    )


def _relative_error_formula(records: list[EntryRecord], mode_used: str, g_scale: float) -> str:
    """The relative error of the records, as each was computed: the floor's ``G`` is the
    largest ``|a|`` or ``|n|`` of the entries checked one by one, ``max|g|`` for entries
    that bisection located, and a size of its own along each direction
    (``_directions._records``)."""
    parts = []
    entries = [r for r in records if r.probe == "entry"]
    if entries and mode_used == "directions":
        parts.append(f"for entries, G = max|g| = {g_scale:.3g}")
    elif entries:
        floor = tol.near_zero_floor([r.analytic for r in entries], [r.numeric for r in entries])
        # every value zero (or not finite): the floor is the smallest float, not a scale
        size = 0.0 if floor == np.finfo(np.float64).tiny else floor / tol.NEAR_ZERO
        parts.append(f"for entries, G = {size:.3g}, the largest |a| or |n|")
    if any(r.probe == "direction" for r in records):
        parts.append(
            "along a direction v, G = max(|g·v|, ‖g ∘ s‖₂) with s_i = max(|x_i|, rms of its "
            "array), the size g·v typically has"
        )
    return f"|a − n| / max(|a|, |n|, {tol.NEAR_ZERO:g}·G): {'; '.join(parts)}"


def _rank(rel: float) -> float:
    return float("inf") if np.isnan(rel) else rel


def _verdict(
    records: list[EntryRecord], ctx: Context, mode_used: str
) -> Literal["pass", "fail", "inconclusive"]:
    """``fail`` if any comparison failed (each fail is confirmed). Checking every entry,
    ``inconclusive`` if any entry could not be judged; checking directions,
    ``inconclusive`` unless every array has a passing direction, or when an entry checked
    (bisection or the check of every entry after a disagreement) is a kink."""
    if any(r.outcome == "fail" for r in records):
        return "fail"
    if mode_used == "full":
        return "pass" if all(r.outcome == "pass" for r in records) else "inconclusive"
    if any(r.probe == "entry" and r.outcome == "kink" for r in records):
        return "inconclusive"  # entries a disagreement was traced to are kinks at x
    judged = {r.array for r in records if r.probe == "direction" and r.outcome == "pass"}
    return "pass" if judged == set(ctx.spec.names) else "inconclusive"


def _diagnose(
    ctx: Context,
    records: list[EntryRecord],
    worst: EntryRecord,
    mode_used: str,
    verdict: str,
) -> tuple[list[StepSweep], TaylorTest | None, float | None]:
    """The evidence shown in the report, within the budget: Taylor test, scipy, a sweep."""
    ev, opts, spec = ctx.ev, ctx.opts, ctx.spec
    taylor = None
    scipy_figure = None
    sweeps: list[StepSweep] = []
    sweep_target = _sweep_target(records, worst)
    if sweep_target is not None:
        sweeps.append(_sweep(ctx, sweep_target, reserve=diag.TAYLOR_POINTS + 2))
    if opts.kind == "gradient" and ev.can_afford(diag.TAYLOR_POINTS):
        taylor = diag.taylor_test(
            ev, ctx.x0, float(ctx.f0[0]), ctx.analytic[0], float(ctx.sigma[0]), ctx.rng
        )
        if taylor.verdict == "wrong" and ctx.kinks:
            # a random line through x crosses the kinks at x: a remainder O(ε) is expected
            taylor = dataclasses.replace(
                taylor,
                verdict="uninformative",
                explanation=f"{taylor.explanation.split(':')[0]}, but the line crosses the kinks "
                "at x, where the remainder is O(ε) for any gradient",
            )
        if taylor.verdict == "wrong" and verdict == "pass":
            ctx.note(
                "the Taylor test suggests a wrong gradient although every entry passed: "
                "the disagreement is below the finite-difference tolerances"
            )
    if opts.kind == "gradient" and opts.compare_scipy and spec.size > SCIPY_MAX_N:
        ctx.note(
            f"scipy.optimize.check_grad skipped: at n = {spec.size} it would hold several "
            "copies of x"
        )
    elif opts.kind == "gradient" and opts.compare_scipy:
        direction = "all" if mode_used == "full" and spec.size <= SCIPY_ALL_MAX else "random"
        cost = spec.size + 1 if direction == "all" else 2
        if ev.can_afford(cost) and np.all(np.isfinite(ctx.analytic)):
            scipy_figure = _scipy_check_grad(ctx, direction)
            if direction == "random":
                ctx.note(
                    "scipy.optimize.check_grad was run with direction='random' (2 evaluations) "
                    f"since n = {spec.size} > {SCIPY_ALL_MAX}"
                )
    return sweeps, taylor, scipy_figure


def _sweep_target(records: list[EntryRecord], worst: EntryRecord) -> EntryRecord | None:
    entries = [r for r in records if r.probe == "entry"]
    failed = sorted((r for r in entries if r.outcome == "fail"), key=lambda r: -_rank(r.rel_error))
    return failed[0] if failed else (worst if worst.probe == "entry" else None)


def _sweep(ctx: Context, target: EntryRecord, reserve: int) -> StepSweep:
    """The step sweep of one entry, leaving ``reserve`` evaluations for the rest."""
    spec, ev = ctx.spec, ctx.ev
    block = spec.names.index(target.array)
    local = int(np.ravel_multi_index(target.index, spec.shapes[block])) if target.index else 0
    i = spec.offsets[block] + local
    k = int(np.ravel_multi_index(target.output, ctx.out_shape)) if ctx.out_shape else 0
    scale = float(fd.entry_scales(spec, ctx.x0, np.array([i]))[0])
    floor = tol.near_zero_floor(ctx.analytic, ctx.analytic)
    limit = ev.limit
    if limit is not None:
        ev.limit = max(ev.n_evals, limit - reserve)
    try:
        sweep = diag.step_sweep(ev, i, k, target.analytic, ctx.x0, scale, floor)
        # the entry's own label: of a Jacobian, "d out[1] / d x[2]", not only "x[2]"
        return dataclasses.replace(sweep, label=target.label)
    finally:
        ev.limit = limit


def _scipy_check_grad(ctx: Context, direction: str) -> float:
    from scipy.optimize import check_grad as scipy_check_grad

    ev = ctx.ev
    analytic = ctx.analytic[0]

    def f(z: np.ndarray) -> float:
        return float(ev.at_point(z, phase="scipy", what="scipy.optimize.check_grad"))

    def g(z: np.ndarray) -> np.ndarray:
        return np.asarray(analytic)

    with np.errstate(all="ignore"):
        return float(
            scipy_check_grad(
                f, g, np.array(ctx.x0), direction=direction,
                rng=np.random.default_rng(ctx.opts.seed),
            )
        )  # fmt: skip


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
        if worst.note and "neither" in worst.note:
            return f"{worst.label}: {worst.note}"
        a, n = distinct(worst.analytic, worst.numeric)
        if worst.probe == "direction":
            return (
                f"along {worst.label}: analytic {a} vs numeric {n} "
                f"(tolerance {worst.tolerance:.2g})"
            )
        return f"analytic {a} vs numeric {n} at {worst.label} (tolerance {worst.tolerance:.2g})"
    if verdict == "inconclusive":
        unreliable = [r for r in records if r.outcome == "unreliable"]
        parts = []
        if kinks:
            k = len(set(kinks))
            parts.append(f"{k} entr{'y' if k == 1 else 'ies'} at a kink (not differentiable here)")
        if unreliable:
            reasons = Counter(r.note.split(":")[0] for r in unreliable if r.note)
            u = len(unreliable)
            what = "entr" + ("y" if u == 1 else "ies")
            if all(r.probe == "direction" for r in unreliable):
                what = "directional derivative" + ("" if u == 1 else "s")
            parts.append(f"{u} {what} with an unreliable numeric derivative")
            if reasons:
                example = next(r for r in unreliable if r.note)
                parts.append(f"e.g. {example.label}: {example.note}")
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
    diagnose: bool | None = None,
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
        own precision with tolerances to match (and a warning); ``np.longdouble`` is
        refused (pass it as float64).
    args : tuple, optional
        Extra arguments for ``fun`` and ``grad``, passed as they are (not copied): a
        ``fun`` that writes to an array among them changes it, and is named when that
        makes its values drift.
    rtol, atol : float, optional
        Fixed tolerances: an entry fails when ``|a - n| > atol + rtol * max(|a|, |n|)``.
        By default the tolerance of each entry follows from the error estimate of its
        numeric derivative (see Notes).
    method : {"central", "forward", "central4", "richardson", "complex"}, optional
        The stencil of the first pass over every entry. ``"complex"`` needs a ``fun`` that
        accepts complex input and is complex-analytic.
    step : float, optional
        The step relative to the scale of each entry; by default a formula of the machine
        epsilon ``EPS`` of the precision ``fun`` is computed in (``(8 EPS)**(1/3)`` for
        ``"central"``). A fixed step is never searched around: where it gives no
        information the verdict is ``"inconclusive"``.
    seed : int, optional
        Seed of the random directions (noise floor, Taylor test); recorded in the result.
    name : str, optional
        The name shown in the report (default: ``fun.__name__``).
    compare_scipy : bool, optional
        When a diagnosis is made, also run ``scipy.optimize.check_grad`` (over every
        entry, n + 1 evaluations, for n <= 30; its ``direction="random"`` variant, 2
        evaluations, up to n = 100,000) and show its figure beside gradtest's.
    mode : {"auto", "full", "directions"}, optional
        ``"full"`` checks every entry (2 evaluations each); ``"directions"`` compares
        directional derivatives along 2 or 3 random directions (each array gets its own,
        scaled to it; 4 evaluations each) and bisects a failing direction down to the
        wrong entries; ``"auto"`` (default) takes whichever costs less for a passing
        gradient (``"full"`` up to 6 entries), and when directions fail or cannot decide
        at up to 2,000 entries it also checks every entry, for a report that names them.
    budget : int, optional
        The most evaluations of ``fun`` to spend (diagnosis included). Without one, a
        directions check spends at most 64 evaluations on a failure and its report.
    vectorized : bool, optional
        ``fun`` accepts a stack of inputs (a leading axis on every array) and returns one
        value per input, so the perturbations go in a few calls.
    executor : concurrent.futures.Executor, optional
        Evaluate the perturbations on the executor's workers (a process pool, or a
        ``dask.distributed`` client's ``get_executor()``); ``fun`` must be picklable.
        Not with ``vectorized=True``.
    diagnose : bool, optional
        Build the diagnosis (bug patterns, a step sweep, the Taylor test, scipy's figure):
        ``None`` (default) for a fail or an inconclusive verdict only, ``True`` always,
        ``False`` never (the cheapest verdict, as the property-based runner uses).

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
    A check first evaluates ``fun`` at ``x`` twice (a nondeterministic function is an
    error) and once nearby, which tells the precision ``fun`` is computed in (values that
    float32 or float16 represents exactly); tolerances follow that precision and the
    gradient's dtype, and the report says so. Every entry (or direction) is then judged
    along its line ``x + t u`` by central differences at a pair of steps ``4h, h`` with
    ``h = c * max(|x_i|, rms(x_array))``: their Richardson extrapolation ``n`` and its
    error estimate ``e`` (the step dependence, plus round-off ``sigma / h``). The rules:

    - *pass*: ``|a - n| <= max(10 e, 100 EPS |n|)`` (plus 10 ulps of the gradient's dtype),
      and ``e`` is at most ``TRUST`` (1e-7 in float64) of the gradient's scale;
    - *fail*, only when confirmed: both steps agree with each other to a quarter of the
      discrepancy, both disagree with ``a``, no kink lies inside the stencil, and the noise
      of ``fun`` has been measured;
    - *kink*: the one-sided slopes jump apart at both steps; ``a`` between them is not
      judged, ``a`` outside both fails (confirmed at a second pair of steps);
    - otherwise more steps are tried (smaller when the value changes with the step, larger
      when it drowns in round-off); when none settles the entry it is *unreliable*.

    The verdict is ``fail`` if any entry fails, ``inconclusive`` if some entry could not be
    judged, and ``pass`` otherwise. The relative error reported is
    ``|a - n| / max(|a|, |n|, 1e-6 * max_j |g_j|)``. In full mode the screen spends 2
    evaluations an entry (a single step ``h``) and only the entries that disagree get the
    second step.

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
    >>> bad.verdict, bad.worst.probe
    ('fail', 'entry')
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
        diagnose=diagnose,
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
    diagnose: bool | None = None,
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
        diagnose=diagnose,
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
    diagnose: bool | None = None,
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
        diagnose=diagnose,
    )
