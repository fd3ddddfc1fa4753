"""Diagnosis: noise, kinks, the Taylor test, step sweeps and recognisable bug patterns.

These explain a verdict: *why* an entry failed, or why the numeric derivative cannot be
trusted at this point.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from gradtest._evaluate import Evaluator
from gradtest._finite_diff import realise_entries
from gradtest._params import Float64Array, ParamSpec
from gradtest._randomness import random_direction
from gradtest._report import distinct
from gradtest._result import EntryRecord, StepSweep, TaylorTest
from gradtest._setup import Context
from gradtest._tolerance import relative_error

__all__ = ["bug_patterns", "direction_patterns", "step_sweep", "taylor_test"]

#: decades of the step sweep, relative to the entry's scale
SWEEP_STEPS = tuple(10.0**-d for d in range(1, 13))
#: first step of the Taylor test, relative to the scale of x; halved TAYLOR_POINTS - 1 times
TAYLOR_EPS0 = 1e-3
TAYLOR_POINTS = 6
#: a pattern is reported when it explains all but this fraction of ``analytic - numeric``
PATTERN_FIT = 1e-2


def step_sweep(
    ev: Evaluator,
    i: int,
    out: int,
    analytic: float,
    x0: Float64Array,
    scale: float,
    floor: float,
) -> StepSweep:
    """Central differences of entry ``i`` (output ``out``) over decades of the step."""
    spec = ev.spec
    steps, numeric = [], []
    for c in SWEEP_STEPS:
        if not ev.can_afford(2):
            break
        h = float(realise_entries(spec, x0, np.array([i]), np.array([c * scale]))[0])
        if h == 0.0:
            continue
        fp, fm = ev.at_entries([(i, h), (i, -h)], phase="sweep")
        d = (np.ravel(fp)[out] - np.ravel(fm)[out]) / (2 * h)
        steps.append(h)
        numeric.append(float(d))
    a = np.full(len(numeric), analytic)
    rel = relative_error(a, np.array(numeric), floor)
    sizes = np.abs(np.array(numeric))
    known = rel[~np.isnan(rel)]
    if analytic == 0.0 and np.isfinite(sizes).any():
        # every nonzero numeric value is a relative error of 1: the best step is the one
        # where the numeric value comes closest to 0
        best = int(np.argmin(np.where(np.isfinite(sizes), sizes, np.inf)))
    elif len(known):
        # the largest step within 1% of the least error: where every step errs alike (a
        # wrong gradient), the least error is round-off's luck at the noisiest step
        best = int(np.flatnonzero(rel <= 1.01 * np.min(known))[0])
    else:  # (an infinite analytic value has no finite error at any step: the first)
        best = 0
    return StepSweep(
        label=spec.label(i),
        analytic=analytic,
        steps=tuple(steps),
        numeric=tuple(numeric),
        rel_errors=tuple(float(r) for r in rel),
        best_step=steps[best] if steps else math.nan,
        error_floor=float(rel[best]) if len(rel) else math.nan,
    )


def taylor_test(
    ev: Evaluator,
    x0: Float64Array,
    f0: float,
    analytic: Float64Array,
    sigma: float,
    rng: np.random.Generator,
) -> TaylorTest:
    """Remainders ``|f(x + e v) - f(x) - e g.v|`` for ``e = TAYLOR_EPS0 / 2**k``.

    A correct gradient leaves an O(e**2) remainder (slope 2 on a log2 scale), a wrong
    one an O(e) remainder (slope 1). Only remainders above ``100 sigma`` count.
    """
    v = random_direction(ev.spec, x0, rng)
    gv = float(analytic @ v)
    eps, rem = [], []
    for k in range(TAYLOR_POINTS):
        e = TAYLOR_EPS0 / 2.0**k
        z = v * e
        z += x0
        fe = float(ev.at_point(z, phase="taylor", what=f"x + {e:.3g}·v", owned=True))
        del z
        eps.append(e)
        rem.append(abs(fe - f0 - e * gv))
    slopes = [
        math.log2(rem[k] / rem[k + 1]) if rem[k + 1] > 0 and rem[k] > 0 else math.nan
        for k in range(len(rem) - 1)
    ]
    usable = [s for k, s in enumerate(slopes) if rem[k + 1] > 100 * sigma and math.isfinite(s)]
    if not all(math.isfinite(r) for r in rem):
        verdict, why = (
            "uninformative",
            f"g·v = {gv}: the gradient is not finite, so there is no remainder to measure"
            if not math.isfinite(gv)
            else "f is not finite at a point along v: no remainder to measure",
        )
    elif len(usable) < 2:
        verdict, why = (
            "uninformative",
            "the remainders sink to the noise floor: f is (nearly) linear along v, and g·v "
            "agrees with it to round-off",
        )
    else:
        s = float(np.median(usable[-3:]))
        if s >= 1.8:
            shape = "≈ 2" if s < 2.5 else "≥ 2 (f is flat to second order along v)"
            verdict, why = (
                "consistent",
                f"slope {s:.2f} {shape}: consistent with a correct gradient",
            )
        elif s <= 1.2:
            verdict, why = "wrong", f"slope {s:.2f} ≈ 1: the gradient is wrong along v"
        else:
            verdict, why = "uninformative", f"slope {s:.2f} lies between 1 and 2"
    return TaylorTest(
        eps=tuple(eps),
        remainders=tuple(rem),
        slopes=tuple(slopes),
        verdict=verdict,  # type: ignore[arg-type]
        explanation=why,
    )


#: a fitted factor below this is a gradient of zero (round-off of it), not a factor
ZERO_FACTOR = 1e-6


def _factor(c: float) -> str:
    """``c`` to 6 significant digits, or, near 1, as many more as it takes to tell it
    from 1 (a failing factor 1.0000003 read "1"; near -1 the sign flip is the news, and
    more digits would show only the fit's round-off)."""
    return distinct(c, 1.0)[0] if c > 0 else f"{c:.6g}"


def _nice_factor(c: float) -> str:
    """Name a constant factor: sign, 2, 1/2, N or 1/N."""
    sign = "sign flipped" if c < 0 else ""
    m = abs(c)
    if abs(m - 1) <= 1e-3:
        return "sign flipped?" if c < 0 else f"constant factor {_factor(c)}?"
    k, inv = round(m), round(1 / m) if m > 0 else 0
    if 2 <= k <= 10**6 and abs(m - k) <= 1e-3 * k:
        part = f"extra factor {k}" + (": missing 1/N?" if k > 2 else "?")
    elif 2 <= inv <= 10**6 and abs(1 / m - inv) <= 1e-3 * inv:
        part = f"missing factor {inv}" + ("?" if inv <= 4 else f": extra 1/N, N = {inv}?")
    else:
        part = f"constant factor {m if sign else c:.6g}?"
    return (sign + " and " if sign else "") + part


def factor_pattern(analytic: Float64Array, numeric: Float64Array, where: str) -> list[str]:
    """``analytic = c x numeric`` when that explains the error (sign, factor 2, 1/N)."""
    diff = analytic - numeric
    if not (np.all(np.isfinite(analytic)) and np.all(np.isfinite(numeric))):
        return []
    scale = float(np.max(np.abs(numeric), initial=0.0)) or 1.0
    analytic, numeric, diff = analytic / scale, numeric / scale, diff / scale
    nn = float(numeric @ numeric)
    if nn == 0 or not diff.any():
        return []
    c = float(analytic @ numeric) / nn
    resid = float(np.linalg.norm(analytic - c * numeric))
    if resid <= PATTERN_FIT * float(np.linalg.norm(diff)):
        if abs(c) < ZERO_FACTOR:
            return [f"analytic ≈ 0 where numeric is not, over {where} (a zero gradient?)"]
        return [f"analytic = {_factor(c)} × numeric over {where} ({_nice_factor(c)})"]
    return []


def bug_patterns(
    spec: ParamSpec,
    x0: Float64Array,
    analytic: Float64Array,
    numeric: Float64Array,
    failed: NDArray[np.bool_],
) -> list[str]:
    """Recognisable shapes of the error ``analytic - numeric`` (all arrays flat, length n).

    - ``analytic = c x numeric`` over all entries (sign, factor 2, 1/N);
    - a transposed gradient (square 2-D arrays);
    - ``analytic - numeric = lam x x``: a missing or mis-scaled regularisation term;
    - errors confined to one array, to some rows or columns, or to a single entry.
    """
    out = factor_pattern(analytic, numeric, "all entries")
    if not (np.all(np.isfinite(analytic)) and np.all(np.isfinite(numeric))):
        return out
    diff = analytic - numeric
    bad_blocks = [k for k in range(spec.n_blocks) if failed[spec.block(k)].any()]
    if spec.n_blocks > 1 and 0 < len(bad_blocks) < spec.n_blocks:
        good = [spec.names[k] for k in range(spec.n_blocks) if k not in bad_blocks]
        out.append(
            "only "
            + ", ".join(spec.names[k] for k in bad_blocks)
            + " wrong ("
            + ", ".join(good)
            + " pass)"
        )
    for k in bad_blocks:
        blk = spec.block(k)
        name, shape = spec.names[k], spec.shapes[k]
        a, n, d, x = analytic[blk], numeric[blk], diff[blk], x0[blk]
        scale = max(float(np.linalg.norm(d)), 1e-300)
        # a factor on this array alone (a bias gradient averaged where it is summed)
        own = factor_pattern(a, n, name) if spec.n_blocks > 1 and a.size > 1 else []
        if own and not any("over all entries" in p for p in out):
            out.append(own[0])
            continue
        if len(shape) == 2 and shape[0] == shape[1] and shape[0] > 1:
            nt = n.reshape(shape).T.ravel()
            if float(np.linalg.norm(a - nt)) <= PATTERN_FIT * scale:
                out.append(f"{name}: analytic = numeric transposed (transposed gradient?)")
                continue
        xx = float(x @ x)
        if xx > 0 and x.size >= 3:
            lam = float(d @ x) / xx
            if float(np.linalg.norm(d - lam * x)) <= PATTERN_FIT * scale and lam != 0:
                out.append(
                    f"{name}: analytic − numeric = {lam:.3g} × {name} (missing or mis-scaled "
                    f"regularisation term? the gradient of reg·‖{name}‖² is 2·reg·{name})"
                )
                continue
        if xx > 0 and x.size >= 4 and not out:
            # a factor on the data term only: d = alpha n + lam x, the regularisation right
            (alpha, lam), *_ = np.linalg.lstsq(np.stack([n, x], axis=1), d, rcond=None)
            fit = float(np.linalg.norm(d - alpha * n - lam * x))
            if fit <= PATTERN_FIT * scale and abs(alpha) > 1e-3 and abs(lam) > 1e-3 * abs(alpha):
                factor = 1 + alpha
                out.append(
                    f"{name}: the data term is scaled by {factor:.4g} but the regularisation "
                    f"term is not: {_nice_factor(factor)} (analytic − numeric = {alpha:.3g} × "
                    f"numeric {lam:+.3g} × {name})"
                )
                continue
        bad = failed[blk]
        n_bad = int(bad.sum())
        if n_bad == 1:
            i = int(np.flatnonzero(bad)[0]) + spec.offsets[k]
            out.append(f"a single wrong entry: {spec.label(i)}")
        elif len(shape) == 2 and n_bad > 1:
            rows, cols = np.nonzero(bad.reshape(shape))
            urows, ucols = sorted(set(rows.tolist())), sorted(set(cols.tolist()))
            if len(urows) <= 2 and shape[0] > len(urows):
                out.append(f"{name}: errors confined to row(s) {', '.join(map(str, urows))}")
            elif len(ucols) <= 2 and shape[1] > len(ucols):
                out.append(f"{name}: errors confined to column(s) {', '.join(map(str, ucols))}")
    return out


def direction_patterns(
    ctx: Context, records: list[EntryRecord], x_dot_v: dict[str, float]
) -> list[str]:
    """Patterns over directional derivatives: a constant factor, ``λ x`` (regularisation),
    one array wrong, a single located entry."""
    if not any(r.outcome == "fail" for r in records) or ctx.m != 1:
        return []
    # (over the directions only: entries checked here are the ones bisection traced the
    # error to, which a factor fitted to them and a few directions would "explain")
    probes = [
        r
        for r in records
        if r.probe == "direction" and r.outcome in ("pass", "fail") and np.isfinite(r.numeric)
    ]
    out = factor_pattern(
        np.array([r.analytic for r in probes]),
        np.array([r.numeric for r in probes]),
        "every direction checked",
    ) if len(probes) >= 2 else []  # fmt: skip
    dirs = [r for r in records if r.probe == "direction" and r.label in x_dot_v]
    if not out and len(dirs) >= 2:
        d = np.array([r.analytic - r.numeric for r in dirs])
        xv = np.array([x_dot_v[r.label] for r in dirs])
        if np.all(np.isfinite(d)) and xv @ xv > 0:
            lam = float(d @ xv) / float(xv @ xv)
            if lam and np.linalg.norm(d - lam * xv) <= PATTERN_FIT * np.linalg.norm(d):
                out.append(
                    f"analytic − numeric = {lam:.3g} × x along every direction (missing or "
                    "mis-scaled regularisation term? the gradient of reg·‖W‖² is 2·reg·W)"
                )
    bad_entries = [r for r in records if r.probe == "entry" and r.outcome == "fail"]
    bad_arrays = sorted({r.array for r in records if r.outcome == "fail"})
    if ctx.spec.n_blocks > 1 and len(bad_arrays) < ctx.spec.n_blocks:
        out.append("only " + ", ".join(bad_arrays) + " wrong (the other arrays pass)")
    if len(bad_entries) == 1:
        out.append(f"a single wrong entry located: {bad_entries[0].label}")
    return out


def jacobian_patterns(ctx: Context, records: list[EntryRecord]) -> list[str]:
    """Patterns of a wrong Jacobian (``fun`` returns an array), when every entry was
    checked: ``analytic = c x numeric`` over all of it (sign, a factor), and for a square
    Jacobian, the numeric one transposed (a backward that applies ``J`` instead of
    ``J^T``, or the reverse)."""
    spec = ctx.spec
    analytic = np.full((ctx.m, spec.size), np.nan)
    numeric = np.full((ctx.m, spec.size), np.nan)
    for r in records:
        if r.probe != "entry":
            continue
        k = int(np.ravel_multi_index(r.output, ctx.out_shape)) if ctx.out_shape else 0
        b = spec.names.index(r.array)
        i = spec.offsets[b]
        if spec.shapes[b]:
            i += int(np.ravel_multi_index(r.index, spec.shapes[b]))
        analytic[k, i], numeric[k, i] = r.analytic, r.numeric
    if not (np.all(np.isfinite(analytic)) and np.all(np.isfinite(numeric))):
        return []  # not every entry was checked, or some are not finite
    out = factor_pattern(analytic.ravel(), numeric.ravel(), "all Jacobian entries")
    if not out and ctx.m == spec.size > 1:
        diff = float(np.linalg.norm(analytic - numeric))
        if float(np.linalg.norm(analytic - numeric.T)) <= PATTERN_FIT * diff:
            out.append(
                "analytic Jacobian = numeric Jacobian transposed (a backward that applies the "
                "transpose?)"
            )
    return out
