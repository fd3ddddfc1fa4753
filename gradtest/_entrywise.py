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

import numpy as np
from numpy.typing import NDArray

from gradtest import _finite_diff as fd
from gradtest import _lines
from gradtest import _tolerance as tol
from gradtest._result import EntryRecord, Outcome
from gradtest._setup import Context

#: at most this many entries get confirmed (worst first); the rest are not judged
MAX_CONFIRM = 256
#: at the screen, one-sided slopes differing by this fraction send an entry to confirmation
KINK_HINT = 0.1


def entry_scales(ctx: Context, indices: NDArray[np.intp]) -> NDArray[np.float64]:
    """``s_i = max(|x_i|, rms(x_block))`` for the given entries (1 for an all-zero array)."""
    spec = ctx.spec
    rms = np.empty(spec.n_blocks)
    for k in range(spec.n_blocks):
        r = float(np.sqrt(np.mean(np.square(ctx.x0[spec.block(k)]))))
        rms[k] = r if r > 0 else 1.0
    blocks = np.searchsorted(np.asarray(spec.offsets), indices, side="right") - 1
    return np.maximum(np.abs(ctx.x0[indices]), rms[blocks])


def screen_cost(method: str, n: int) -> int:
    return fd.METHOD_TABLE[method].cost * n


def check_entries(ctx: Context, indices: NDArray[np.intp]) -> list[EntryRecord]:
    """Screen the given entries, confirm the ones that disagree; one record per output."""
    method = ctx.opts.method
    scales = entry_scales(ctx, indices)
    lines = [_lines.EntryLine(ctx, int(i), float(s)) for i, s in zip(indices, scales, strict=True)]
    numeric, error, steps, hint = _screen(ctx, lines, scales, method)
    analytic = ctx.analytic[:, indices]
    with np.errstate(all="ignore"):
        size = np.where(np.isfinite(numeric), np.abs(numeric), 0.0)
    ctx.g_scale = max(ctx.g_scale, float(np.max(size, initial=0.0)))
    p = ctx.precision
    m, n = analytic.shape
    outcome = np.full((m, n), "pass", dtype=object)
    tolerance = np.zeros((m, n))
    notes: dict[tuple[int, int], str] = {}
    flagged_cols = []
    for col in range(n):
        for k in range(m):
            a, d, e = float(analytic[k, col]), float(numeric[k, col]), float(error[k, col])
            t = tol.tolerance(a, d, e, p)
            tolerance[k, col] = t
            ok = (
                np.isfinite(a)
                and np.isfinite(d)
                and abs(a - d) <= t
                and tol._informative(a, d, e, ctx.g_scale, p)
                and not hint[k, col]
            )
            if not ok:
                flagged_cols.append(col)
                break
    rel = tol.relative_error(analytic, numeric, tol.near_zero_floor(analytic, numeric))
    worst_rel = np.where(np.isnan(rel), np.inf, rel).max(axis=0)
    flagged = sorted(set(flagged_cols), key=lambda c: -float(worst_rel[c]))
    for pos, col in enumerate(flagged):
        line = lines[col]
        if pos >= MAX_CONFIRM or not ctx.ev.can_afford(2):
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
        judged = _lines.resolve(ctx, line, [_lines.first_pair(ctx, line)])
        if method == "complex":
            _note_complex(notes, col, numeric[:, col], judged)
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
    floor = tol.near_zero_floor(analytic, numeric)
    rel = tol.relative_error(analytic, numeric, floor)
    records = []
    spec = ctx.spec
    for k in range(m):
        out = ctx.out_index(k)
        for col, i_ in enumerate(indices):
            i = int(i_)
            blk, index = spec.locate(i)
            a, d = float(analytic[k, col]), float(numeric[k, col])
            records.append(
                EntryRecord(
                    array=spec.names[blk],
                    index=index,
                    label=ctx.label(i, k),
                    output=out,
                    analytic=a,
                    numeric=d,
                    abs_error=abs(a - d),
                    rel_error=float(rel[k, col]),
                    error_estimate=float(error[k, col]),
                    step=float(steps[col]),
                    tolerance=float(tolerance[k, col]),
                    outcome=_outcome(outcome[k, col]),
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
    lines: list[_lines.EntryLine],
    scales: NDArray[np.float64],
    method: str,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """The method's stencil on every line: values (m, n), modelled errors, steps, kink hints."""
    m, n = ctx.m, len(lines)
    numeric = np.empty((m, n))
    error = np.empty((m, n))
    steps = np.empty(n)
    hint = np.zeros((m, n), dtype=bool)
    sigma, f0 = ctx.sigma, ctx.f0
    spec = fd.METHOD_TABLE[method]
    eps_f = ctx.precision.eps_f
    user_c = ctx.opts.step
    if method == "central":
        # one batch for the whole screen (vectorized and executor evaluation split it up)
        flat = ctx.ev.entry_values(
            [p for line in lines for p in line.plan(line.h0 / fd.PAIR_RATIO)], phase="entries"
        )
        for col, line in enumerate(lines):
            line.prime(line.h0 / fd.PAIR_RATIO, flat[2 * col], flat[2 * col + 1])
    for col, line in enumerate(lines):
        s = float(scales[col])
        if method == "central":
            h = line.h0 / fd.PAIR_RATIO
            fp, fm = line.values(ctx, h)
            with np.errstate(all="ignore"):
                d = (fp - fm) / (2 * h)
                fwd, bwd = (fp - f0) / h, (f0 - fm) / h
                jump = np.abs(fwd - bwd)
                hint[:, col] = (
                    jump > KINK_HINT * np.maximum(np.abs(fwd), np.abs(bwd)) + 40 * sigma / h
                )
                err = sigma / h + (h / s) ** 2 * np.abs(d)
        elif method == "complex":
            h = (user_c or 1e-20) * s
            (val,) = ctx.ev.at_entries([(line.i, complex(0.0, h))], phase="entries")
            d = np.imag(np.ravel(val)) / h
            err = 10 * eps_f * (np.abs(d) + tol.TRUST_FLOOR * ctx.g_scale)
        elif method == "richardson":
            h = (user_c or fd.relative_step("richardson", eps_f)) * s
            hs = [h, h / 2, h / 4]
            centrals = []
            for hk in hs:
                fp, fm = ctx.ev.entry_values([(line.i, hk), (line.i, -hk)], phase="entries")
                centrals.append((fp - fm) / (2 * hk))
            est = fd.richardson(centrals, hs, sigma)
            d, err = est.value, est.error
        else:
            h = (user_c or fd.relative_step(method, eps_f)) * s
            moves = [o for o in spec.offsets if o != 0]
            vals = ctx.ev.entry_values([(line.i, o * h) for o in moves], phase="entries")
            it = iter(vals)
            values = [f0 if o == 0 else next(it) for o in spec.offsets]
            with np.errstate(all="ignore"):
                d, roundoff = fd.stencil_estimate(values, spec.weights, h, sigma)
                err = roundoff + (h / s) ** spec.order * np.abs(d)
        numeric[:, col] = d
        error[:, col] = err
        steps[col] = h
    return numeric, error, steps, hint
