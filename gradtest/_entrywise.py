"""Checking every entry (``mode="full"``): a screen with the chosen method, then confirmation.

1. **screen**: the method's stencil on every entry (central differences: 2 evaluations an
   entry). An entry passes here when it agrees with the analytic value within the modelled
   error of its stencil (round-off ``sigma * sum|w| / h`` plus truncation
   ``(h / s)**order * |n|``), that error carries information, and (central differences) its
   one-sided slopes show no hint of a kink.
2. **confirm**: every other entry (worst first, at most ``MAX_CONFIRM``) gets central
   differences at a second step ``h / 4`` and is judged by the rules of
   ``gradtest._tolerance`` (:func:`gradtest._lines.resolve`: a *fail* needs both steps to
   agree; unsettled entries get more steps).

A passing check costs ``2 n`` evaluations after the set-up; each entry confirmed costs 2 more.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from gradtest import _finite_diff as fd
from gradtest import _lines
from gradtest import _tolerance as tol
from gradtest._result import EntryRecord, Outcome
from gradtest._setup import Context

#: at most this many entries get confirmed (worst first); the rest are not judged
MAX_CONFIRM = 256


def screen_cost(method: str, n: int) -> int:
    return fd.METHOD_TABLE[method].cost * n


def check_entries(ctx: Context, indices: NDArray[np.intp]) -> list[EntryRecord]:
    """Screen the given entries, confirm the ones that disagree; one record per output."""
    method = ctx.opts.method
    scales = fd.entry_scales(ctx.spec, ctx.x0, indices)
    numeric, error, steps, hint, lines = _screen(ctx, indices, scales, method)
    analytic = ctx.analytic[:, indices]
    finite_n = np.isfinite(numeric)
    ctx.g_scale = max(ctx.g_scale, float(np.max(np.abs(numeric[finite_n]), initial=0.0)))
    p = ctx.precision
    m, n = analytic.shape
    tolerance = np.asarray(tol.tolerance(analytic, numeric, error, p), dtype=np.float64)
    with np.errstate(all="ignore"):
        ok = (
            np.isfinite(analytic)
            & finite_n
            & (np.abs(analytic - numeric) <= tolerance)
            & tol.informative(analytic, numeric, error, ctx.g_scale, p)
            & ~hint
        )
    outcome = np.full((m, n), "pass", dtype=object)
    notes: dict[tuple[int, int], str] = {}
    rel = tol.relative_error(analytic, numeric, tol.near_zero_floor(analytic, numeric))
    worst_rel = np.where(np.isnan(rel), np.inf, rel).max(axis=0)
    flagged = np.flatnonzero(~ok.all(axis=0))
    flagged = flagged[np.argsort(-worst_rel[flagged], kind="stable")].tolist()

    def store(col: int, judged: list[tol.Judgement]) -> None:
        for k, j in enumerate(judged):
            outcome[k, col] = j.outcome
            numeric[k, col] = j.numeric
            error[k, col] = j.error
            steps[col] = j.step
            tolerance[k, col] = j.tolerance
            if j.note:
                notes[(k, col)] = j.note
            if j.outcome == "kink":
                ctx.kinks.append(ctx.label(int(indices[col]), k))

    #: the line of each confirmed entry, and how often the noise had been raised then
    judged_at: dict[int, tuple[_lines.EntryLine, int]] = {}
    # a line's first pair of central differences: the screen's values are its smaller
    # step when the screen was central differences, so 2 evaluations; else all 4
    first_cost = 2 if method == "central" else 4
    for pos, col in enumerate(flagged):
        if pos >= MAX_CONFIRM or not ctx.ev.can_afford(first_cost):
            why = (
                f"more than {MAX_CONFIRM} entries disagreed at the screen"
                if pos >= MAX_CONFIRM
                else "the evaluation budget ran out"
            )
            for c in flagged[pos:]:
                for k in range(m):
                    outcome[k, c] = "unreliable"
                    notes[(k, c)] = f"not confirmed: {why}"
            ctx.note(
                f"{len(flagged) - pos} entries disagreed at the screen and were not "
                f"confirmed: {why}"
            )
            break
        line = lines(col)
        judged = _lines.resolve(ctx, line, [_lines.first_pair(ctx, line)])
        if method == "complex":
            _note_complex(notes, col, numeric[:, col], judged)
        judged_at[col] = (line, ctx.noise_raised)
        store(col, judged)
    for col, (line, raised) in judged_at.items():
        if raised != ctx.noise_raised and any(outcome[k, col] == "fail" for k in range(m)):
            # a later line showed fun to be quantized: a fail judged before must hold with
            # that noise (the values are cached: only new steps cost evaluations)
            store(col, _lines.resolve(ctx, line, [_lines.first_pair(ctx, line)]))
    floor = tol.near_zero_floor(analytic, numeric)
    rel = tol.relative_error(analytic, numeric, floor)
    spec = ctx.spec
    names = spec.labels(indices)
    blocks = spec.blocks_of(indices)
    shapes = spec.shapes
    index_of = [
        tuple(int(j) for j in np.unravel_index(int(i) - spec.offsets[b], shapes[b]))
        if shapes[b]
        else ()
        for i, b in zip(indices.tolist(), blocks.tolist(), strict=True)
    ]
    a_list, n_list = analytic.tolist(), numeric.tolist()
    e_list, t_list, r_list = error.tolist(), tolerance.tolist(), rel.tolist()
    step_list = steps.tolist()
    records = []
    for k in range(m):
        out = ctx.out_index(k)
        prefix = "" if not ctx.out_shape else f"d out[{', '.join(map(str, out))}] / d "
        for col in range(n):
            a, d = a_list[k][col], n_list[k][col]
            b = int(blocks[col])
            records.append(
                EntryRecord(
                    array=spec.names[b],
                    index=index_of[col],
                    label=prefix + names[col],
                    output=out,
                    analytic=a,
                    numeric=d,
                    abs_error=abs(a - d),
                    rel_error=r_list[k][col],
                    error_estimate=e_list[k][col],
                    step=step_list[col],
                    tolerance=t_list[k][col],
                    outcome=outcome[k, col],
                    note=notes.get((k, col), ""),
                )
            )
    return records


def _outcome(o: object) -> Outcome:
    assert o in ("pass", "fail", "kink", "unreliable")
    return o  # type: ignore[return-value,unused-ignore]


def _note_complex(
    notes: dict[tuple[int, int], str],
    col: int,
    cs: NDArray[np.float64],
    judged: list[tol.Judgement],
) -> None:
    for k, j in enumerate(judged):
        if j.outcome == "pass" and abs(cs[k] - j.numeric) > j.tolerance:
            notes[(k, col)] = (
                "the complex step disagrees with central differences: fun is not "
                "complex-analytic here (abs, max, float(), .real?); judged by central differences"
            )


def _screen(
    ctx: Context,
    indices: NDArray[np.intp],
    scales: NDArray[np.float64],
    method: str,
) -> tuple[
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.bool_],
    Callable[[int], _lines.EntryLine],
]:
    """The method's stencil on every entry: values (m, n), modelled errors, steps, kink
    hints, and a maker of the entry's line (its screen values kept) for confirmation."""
    m, n = ctx.m, indices.size
    sigma, f0 = ctx.sigma[:, None], ctx.f0[:, None]
    eps_f = ctx.precision.eps_f
    user_c = ctx.opts.step
    hint = np.zeros((m, n), dtype=bool)
    if method == "central":
        t, hp, hm = _lines.screen_steps(ctx, indices, scales)
        pert = np.empty(2 * n)
        pert[0::2], pert[1::2] = hp, -hm
        idx = np.repeat(indices, 2)
        vals = ctx.ev.entry_values(
            list(zip(idx.tolist(), pert.tolist(), strict=True)), phase="entries"
        ).T  # (m, 2n)
        fp, fm = vals[:, 0::2], vals[:, 1::2]
        with np.errstate(all="ignore"):
            slope = (fp - fm) / (hp + hm)
            fp = fp + slope * (t - hp)  # as if the step were t on both sides
            fm = fm - slope * (t - hm)
            d = (fp - fm) / (2 * t)
            fwd, bwd = (fp - f0) / t, (f0 - fm) / t
            jump = np.abs(fwd - bwd)
            hint = jump > tol.KINK_HINT * np.maximum(np.abs(fwd), np.abs(bwd)) + 40 * sigma / t
            err = sigma / t + (t / scales) ** 2 * np.abs(d)

        def line(col: int) -> _lines.EntryLine:
            made = _lines.EntryLine(ctx, int(indices[col]), float(scales[col]), float(t[col]))
            made._cache[float(t[col])] = (fp[:, col], fm[:, col])
            return made

        return d, err, t.copy(), hint, line

    def plain_line(col: int) -> _lines.EntryLine:
        return _lines.EntryLine(ctx, int(indices[col]), float(scales[col]))

    numeric = np.empty((m, n))
    error = np.empty((m, n))
    steps = np.empty(n)
    spec = fd.METHOD_TABLE[method]
    for col in range(n):
        i, s = int(indices[col]), float(scales[col])
        if method == "complex":
            h = (user_c or 1e-20) * s
            (val,) = ctx.ev.at_entries([(i, complex(0.0, h))], phase="entries")
            d1 = np.imag(np.ravel(val)) / h
            err1 = 10 * eps_f * (np.abs(d1) + tol.TRUST_FLOOR * ctx.g_scale)
        elif method == "richardson":
            h = (user_c or fd.relative_step("richardson", eps_f)) * s
            hs = [h, h / 2, h / 4]
            centrals = []
            for hk in hs:
                vp, vm = ctx.ev.entry_values([(i, hk), (i, -hk)], phase="entries")
                centrals.append((vp - vm) / (2 * hk))
            est = fd.richardson(centrals, hs, ctx.sigma)
            d1, err1 = est.value, est.error
        else:
            h = (user_c or fd.relative_step(method, eps_f)) * s
            moves = [o for o in spec.offsets if o != 0]
            got = ctx.ev.entry_values([(i, o * h) for o in moves], phase="entries")
            it = iter(got)
            values = [ctx.f0 if o == 0 else next(it) for o in spec.offsets]
            with np.errstate(all="ignore"):
                d1, roundoff = fd.stencil_estimate(values, spec.weights, h, ctx.sigma)
                err1 = roundoff + (h / s) ** spec.order * np.abs(d1)
        numeric[:, col] = d1
        error[:, col] = err1
        steps[col] = h
    return numeric, error, steps, hint, plain_line
