"""Checking random directions (``mode="directions"``), and localising a failure by bisection.

Each parameter array gets random directions ``v`` (unit variance, scaled entrywise to
the array: ``s_i = max(|x_i|, rms)``), at least ``DIRECTIONS`` in all; the analytic
``g . v`` is compared with the derivative of ``t -> f(x + t v)`` by the rules every line
follows (:func:`gradtest._lines.resolve`): a pair of steps, 4 evaluations a direction.
A wrong gradient entry shows in every direction with probability one; a correct gradient
passes in ``3 + 4 * DIRECTIONS`` evaluations whatever ``n``.

A failing direction is bisected: the discrepancy ``g . v - D_v`` is additive over disjoint
parts of ``v``, so one probe of a half (2 evaluations) gives both halves; halves that still
disagree are split until single entries remain, which are checked as entries. Directions
are regenerated from their seed in chunks, so no n-vector but one point buffer is held.
"""

from __future__ import annotations

import dataclasses
import heapq
import math

import numpy as np

from gradtest import _finite_diff as fd
from gradtest import _lines
from gradtest import _tolerance as tol
from gradtest._params import rms, weighted_sizes
from gradtest._randomness import UNIT_MAX, Direction, direction
from gradtest._result import EntryRecord
from gradtest._setup import Context
from gradtest.errors import InvalidArgumentError

#: random directions of a check (at least one per array): MIN_DIRECTIONS always, up to
#: DIRECTIONS while the check stays within PASS_BUDGET evaluations (a direction whose steps
#: crossed a kink costs a further pair)
MIN_DIRECTIONS = 2
DIRECTIONS = 3
PASS_BUDGET = 16
#: evaluations of a direction's first pair of steps
DIRECTION_COST = 4
#: bisection stops when more than this many parts of an array disagree at once
SPREAD_LIMIT = 8
#: a pattern over fewer directional derivatives than this decides against bisection only
#: after one more direction confirms it
PATTERN_PROBES = 3


def n_directions(ctx: Context) -> int:
    n = max(DIRECTIONS, ctx.spec.n_blocks)
    budget = ctx.opts.budget
    if budget is not None:
        afford = (budget - ctx.ev.n_evals) // DIRECTION_COST
        if afford < ctx.spec.n_blocks:
            mode = "mode='directions'"
            if ctx.opts.mode == "auto":
                mode += f" (what mode='auto' takes for {ctx.spec.size} entries)"
            arrays = ctx.spec.n_blocks
            raise InvalidArgumentError(
                f"budget={budget} is too small: {mode} needs {ctx.ev.n_evals} evaluations to "
                f"set up plus {DIRECTION_COST} per direction, with at least one direction for "
                f"{'the array' if arrays == 1 else f'each of the {arrays} arrays'} (budget >= "
                f"{ctx.ev.n_evals + DIRECTION_COST * arrays})"
            )
        n = min(n, afford)
    return n


class Probe:
    """Directions of one check, sharing one point buffer."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.buffer = np.empty(ctx.n)
        spec = ctx.spec
        self.rms = []
        self.scale = []
        #: a bound on the rounding of g . v for a direction of each array:
        #: 10 EPS_x sum_i |g_i v_i| with |v_i| <= UNIT_MAX s_i (unit_random's range)
        self.rounding = []
        for k in range(spec.n_blocks):
            blk = spec.block(k)
            r = rms(ctx.x0[blk])
            self.rms.append(r)
            norms, sizes = weighted_sizes(ctx.analytic[:, blk], ctx.x0[blk], r)
            self.scale.append(float(norms.max()))
            self.rounding.append(10 * ctx.precision.eps_x * UNIT_MAX * sizes)
        #: the directions, by label
        self.directions: dict[str, Direction] = {}

    @property
    def x_dot_v(self) -> dict[str, float]:
        """``x . v`` of each direction (for the regularisation pattern of a failure)."""
        x0 = self.ctx.x0
        return {
            label: float(d.dot(x0, x0[None, :], absolute=False)[0][0])
            for label, d in self.directions.items()
        }

    def direction(self, k: int, j: int) -> Direction:
        return direction(self.ctx.spec, self.ctx.opts.seed, k, j, self.rms[k])

    def line(self, d: Direction, label: str) -> _lines.DirectionLine:
        line = _lines.DirectionLine(self.ctx, d, label, self.buffer)
        line.scale = self.scale[d.block]
        if d.whole:
            line.rounding = self.rounding[d.block]
        return line


def check_directions(
    ctx: Context, *, localise: bool = True
) -> tuple[list[EntryRecord], str, Probe]:
    """Random directions for every array; bisection of failing ones (``localise=False``:
    none, for a caller that checks every entry after a failing direction anyway)."""
    spec = ctx.spec
    n_dirs = n_directions(ctx)
    probe = Probe(ctx)
    records: list[EntryRecord] = []
    failing: list[tuple[Direction, EntryRecord]] = []
    per_block = [0] * spec.n_blocks
    #: the first step of the next direction of each array, when smaller than the default
    start: dict[int, float] = {}
    #: per array, the larger step and the round-off of the pair where a direction ran out
    #: of precision (and no direction passed since)
    exhausted: dict[int, tuple[float, list[float]]] = {}
    least = max(MIN_DIRECTIONS, spec.n_blocks)
    #: each direction's line, judgements, and how often the noise had been raised when
    #: they were made
    done: list[tuple[_lines.DirectionLine, list[tol.Judgement], int]] = []
    for j in range(n_dirs):
        if j >= least and (
            ctx.ev.n_evals + DIRECTION_COST > max(PASS_BUDGET, ctx.opts.budget or 0)
            or not ctx.ev.can_afford(DIRECTION_COST)
        ):
            break
        ctx.reserve = DIRECTION_COST * max(0, least - j - 1)
        k = j % spec.n_blocks
        per_block[k] += 1
        d = probe.direction(k, j)
        label = f"{spec.names[k]} · v{j}"
        line = probe.line(d, label)
        if k in start:
            # smaller steps were needed before: start there, and do not climb (larger
            # steps cross the kinks that made them necessary)
            line.h0 = line.hmax = start[k]
            if k in exhausted and _roundoff_fits(ctx, line, exhausted[k][1]):
                # a direction before ran out of precision at its smallest pair; this one's
                # derivative is large enough for that pair's round-off: start there (and
                # climb back to the pair above if it is not)
                line.h0 = exhausted[k][0]
        first = [_lines.first_pair(ctx, line)]
        peek = None
        if j >= least:
            # an extra direction, beyond what the verdict needs: when its first pair does
            # not settle it (a kink crossed), it is dropped rather than paid for, unless it
            # hints at a wrong gradient
            peek = _lines.judge_all(ctx, line, first)
            if not all(x.settled for x in peek) and not any(x.want == "noise" for x in peek):
                ctx.note(f"{label} crossed a kink or met noise at its first steps: dropped")
                per_block[k] -= 1
                break
        judged = _lines.resolve(ctx, line, first, defer_noise=True, judged=peek)
        settled_at = [fd.PAIR_RATIO * x.step for x in judged if x.outcome == "pass"]
        if not settled_at and line.exhausted_at is not None and line.exhausted_roundoff:
            # the steps shrank past kinks until round-off alone kept the smallest pair from
            # passing: the next direction starts one pair above it (a quarter of the
            # round-off), where kinks at another distance may leave it smooth; or at that
            # pair, when its own derivative makes the round-off there small enough
            settled_at = [fd.PAIR_RATIO * line.exhausted_at]
            exhausted[k] = (line.exhausted_at, line.exhausted_roundoff)
        elif settled_at:
            exhausted.pop(k, None)
        if settled_at and max(settled_at) < line.h0:
            # the steps had to shrink (kinks close by, crossed by larger steps): the next
            # directions of this array start where this one settled
            start[k] = max(settled_at)
        done.append((line, judged, ctx.noise_raised))
        probe.directions[label] = d
    ctx.reserve = 0
    passed = {line.block for line, judged, _ in done if any(x.outcome == "pass" for x in judged)}
    for i, (line, judged, raised) in enumerate(done):
        again = (line.block not in passed and not all(x.settled for x in judged)) or (
            raised != ctx.noise_raised and any(x.outcome == "fail" for x in judged)
        )
        if again:
            # no direction of this array passed, so what noise may have hidden (a kink
            # flagged by noise) decides the verdict; or a later line showed fun to be
            # quantized, and a fail must hold with that noise. The line is judged again
            # with the noise as it is now, from its cached values (unless it asks for new
            # steps): its first pair is estimated afresh, not reused
            fresh = [_lines.first_pair(ctx, line)]
            done[i] = (line, _lines.resolve(ctx, line, fresh), ctx.noise_raised)
    for line, judged, _ in done:
        recs = _records(ctx, line, judged)
        records.extend(recs)
        bad = [r for r in recs if r.outcome == "fail"]
        if bad:
            failing.append((line.d, max(bad, key=_excess)))
    dense = False
    if failing and localise:
        dense = _rules_out_bisection(ctx, records, probe)
        probes = sum(r.outcome in ("pass", "fail") for r in records)
        if dense and probes < PATTERN_PROBES and ctx.ev.can_afford(DIRECTION_COST):
            # two numbers fit a pattern by chance (a single wrong entry of a 3,000-weight
            # SVM passed for a constant factor at 6 seeds in 300): one more direction
            # confirms the pattern before it decides against bisection
            k = failing[0][0].block
            j = len(probe.directions)
            d = probe.direction(k, j)
            line = probe.line(d, f"{spec.names[k]} · v{j}")
            recs = _records(ctx, line, _lines.resolve(ctx, line, [_lines.first_pair(ctx, line)]))
            probe.directions[line.label] = d
            per_block[k] += 1
            records.extend(recs)
            bad = [r for r in recs if r.outcome == "fail"]
            if bad:
                failing.append((d, max(bad, key=_excess)))
            dense = _rules_out_bisection(ctx, records, probe)
    n_dirs = sum(per_block)
    counts = ", ".join(f"{per_block[k]} for {spec.names[k]}" for k in range(spec.n_blocks))
    coverage = f"{n_dirs} random directions ({counts}), each moving every entry of its array"
    if failing and localise:
        if dense:
            ctx.note(
                "no bisection: one pattern explains every disagreeing direction, so the error "
                "is not confined to a few entries"
            )
        else:
            located = 0
            bisected: set[int] = set()
            for d, rec in sorted(failing, key=lambda t: -_excess(t[1])):
                if d.block in bisected:
                    continue
                bisected.add(d.block)
                found = _localise(ctx, probe, d, rec)
                located += len(found)
                records.extend(found)
            coverage += f"; bisection located {located} entries"
            records = demote_kinked_directions(ctx, records)
    return records, coverage, probe


def _roundoff_fits(ctx: Context, line: _lines.DirectionLine, roundoff: list[float]) -> bool:
    """Whether estimates with the round-off ``roundoff`` (``sigma / h2`` of another
    direction of the array at the pair where it ran out of precision) would be precise
    enough to pass ``line``'s analytic values by the trust rule: the round-off at a pair
    of steps is about the same along every direction of an array, while the rule holds
    it to a fraction of the derivative judged."""
    a, _ = line.analytic(ctx)
    r2 = fd.PAIR_RATIO * fd.PAIR_RATIO
    limit = tol.trust_limit(ctx.precision.eps_f)
    floor = tol.TRUST_FLOOR * (line.scale or 0.0)
    return all(
        math.isfinite(e) and e * r2 / (r2 - 1) <= limit * max(abs(ak), floor)
        for ak, e in zip(a.tolist(), roundoff, strict=True)
    )


def _rules_out_bisection(ctx: Context, records: list[EntryRecord], probe: Probe) -> bool:
    """Whether one pattern other than a single entry explains every disagreeing direction."""
    from gradtest._diagnosis import direction_patterns

    patterns = direction_patterns(ctx, records, probe.x_dot_v)
    return bool(patterns) and not any(p.startswith("a single") for p in patterns)


def _excess(r: EntryRecord) -> float:
    """How many tolerances a record's discrepancy spans."""
    return r.abs_error / max(r.tolerance, 1e-300)


def demote_kinked_directions(ctx: Context, records: list[EntryRecord]) -> list[EntryRecord]:
    """Direction fails of an array whose entries, as checked, show kinks at x and no fail
    are not confirmed: made *unreliable*.

    Along a direction through several kinks at x, a valid subgradient's ``g . v`` need not
    lie between the one-sided derivatives, and the kinks' jumps can cancel so that the
    direction shows no kink at all: its central difference then disagrees with a correct
    subgradient at every step. The entries the disagreement was traced to tell.
    """
    entries = [r for r in records if r.probe == "entry"]
    explained = {r.array for r in entries if r.outcome == "kink"} - {
        r.array for r in entries if r.outcome == "fail"
    }
    if not explained:
        return records
    out = []
    for r in records:
        if r.probe == "direction" and r.outcome == "fail" and r.array in explained:
            kinks = [e.label for e in entries if e.outcome == "kink" and e.array == r.array]
            shown = ", ".join(kinks[:3]) + (", ..." if len(kinks) > 3 else "")
            r = dataclasses.replace(
                r,
                outcome="unreliable",
                note=(
                    f"disagrees along the direction, but the entries of {r.array} "
                    f"it was traced to are kinks at x ({shown}) and none fails: through "
                    "kinks at x a valid subgradient need not match a directional derivative"
                ),
            )
        out.append(r)
    return out


def pass_within_resolution(
    ctx: Context, records: list[EntryRecord], probe: Probe
) -> list[EntryRecord]:
    """Direction fails of an array whose every entry passed, by a discrepancy within the
    entries' resolution floor summed along the direction, are *pass*.

    An entry's discrepancy below ``resolution_floor`` of its value is not a bug
    (:func:`gradtest._tolerance.tolerance`); a direction sums such discrepancies and can
    show them precisely, by at most the floor times ``sum_i |a_i v_i|``. A wrong entry
    above its floor fails as an entry, so only sub-floor ones are forgiven here.
    """
    entries = [r for r in records if r.probe == "entry"]
    clean = {r.array for r in entries if r.outcome == "pass"} - {
        r.array for r in entries if r.outcome != "pass"
    }
    floor = tol.resolution_floor(ctx.precision)
    out = []
    for r in records:
        d = probe.directions.get(r.label.split(" (out[")[0])
        if r.probe == "direction" and r.outcome == "fail" and r.array in clean and d:
            _, sizes = d.dot(ctx.x0, ctx.analytic)
            k = next(k for k in range(ctx.m) if ctx.out_index(k) == r.output)
            if r.abs_error <= floor * float(sizes[k]) + r.tolerance:
                r = dataclasses.replace(
                    r,
                    outcome="pass",
                    note=(
                        f"disagrees along the direction by {r.abs_error:.2g}, within "
                        f"{floor:.1g} of sum |a_i v_i| = {float(sizes[k]):.3g}: what entries "
                        "each within their resolution add up to, and every entry of "
                        f"{r.array} passed"
                    ),
                )
        out.append(r)
    return out


def _records(
    ctx: Context, line: _lines.DirectionLine, judged: list[tol.Judgement]
) -> list[EntryRecord]:
    values = line.analytic(ctx)[0].tolist()
    size = max((abs(v) for v in values if math.isfinite(v)), default=0.0)
    floor = tol.NEAR_ZERO * max(size, line.scale or 0.0) or 1e-300
    out = []
    array, label, one = ctx.spec.names[line.block], line.label, len(values) == 1
    for k, (a, j) in enumerate(zip(values, judged, strict=True)):
        if j.outcome == "kink":
            ctx.kinks.append(label)
        out.append(
            EntryRecord(
                array=array,
                index=(),
                label=label if one else f"{label} (out[{k}])",
                output=ctx.out_index(k) if ctx.out_shape else (),
                analytic=a,
                numeric=j.numeric,
                abs_error=abs(a - j.numeric),
                rel_error=tol.relative_error(a, j.numeric, floor),
                error_estimate=j.error,
                step=j.step,
                tolerance=j.tolerance,
                outcome=j.outcome,
                note=j.note,
                probe="direction",
            )
        )
    return out


def _localise(ctx: Context, probe: Probe, d: Direction, rec: EntryRecord) -> list[EntryRecord]:
    """Bisect a failing direction down to single entries (see the module notes)."""
    out = int(np.ravel_multi_index(rec.output, ctx.out_shape)) if ctx.out_shape else 0
    h = rec.step
    d0 = rec.analytic - rec.numeric
    err = max(rec.error_estimate, float(ctx.sigma[out]) / h)
    heap: list[tuple[float, int, Direction, float, float]] = [(-abs(d0), 0, d, d0, err)]
    counter = 1
    found: list[EntryRecord] = []
    while heap:
        if len(heap) > SPREAD_LIMIT:
            ctx.note(
                f"{ctx.spec.names[d.block]}: the error is spread over many entries (more than "
                f"{SPREAD_LIMIT} parts of the array disagree), so bisection stopped"
            )
            break
        _, _, part, dd, ee = heapq.heappop(heap)
        if part.hi - part.lo == 1:
            i = part.lo
            if not ctx.ev.can_afford(4):
                break
            scale = float(fd.entry_scales(ctx.spec, ctx.x0, np.array([i]))[0])
            line = _lines.EntryLine(ctx, i, scale)
            judged = _lines.resolve(ctx, line, [_lines.first_pair(ctx, line)])
            found.extend(r for r in _entry_records(ctx, i, judged) if r.output == rec.output)
            continue
        if not ctx.ev.can_afford(2):
            ctx.note("localisation stopped: the evaluation budget ran out")
            break
        mid = (part.lo + part.hi) // 2
        half = part.restrict(part.lo, mid)
        probe_line = probe.line(half, f"{ctx.spec.names[d.block]} bisection")
        fp, fm = probe_line.values(ctx, h)
        numeric = float(((fp - fm) / (2 * h))[out])
        a_half, cancel = probe_line.analytic(ctx)
        d1 = float(a_half[out]) - numeric
        e1 = float(ctx.sigma[out]) / h + float(cancel[out])
        halves = [(half, d1, e1), (part.restrict(mid, part.hi), dd - d1, ee + e1)]
        clear = [t for t in halves if abs(t[1]) > tol.SAFETY * t[2]]
        if not clear:
            # the part was confirmed to disagree, so one half holds the error even when
            # neither shows it clearly (the error estimate of the derived half grows with
            # the depth): follow the likelier; its entries are judged by the entry rules
            clear = [max(halves, key=lambda t: abs(t[1]) / max(t[2], 1e-300))]
        for sub, dsub, esub in clear:
            heapq.heappush(heap, (-abs(dsub), counter, sub, dsub, esub))
            counter += 1
    return found


def _entry_records(ctx: Context, i: int, judged: list[tol.Judgement]) -> list[EntryRecord]:
    blk, index = ctx.spec.locate(i)
    a = ctx.analytic[:, i]
    floor = tol.NEAR_ZERO * max(ctx.g_scale, 1e-300)
    out = []
    for k, j in enumerate(judged):
        if j.outcome == "kink":
            ctx.kinks.append(ctx.label(i, k))
        out.append(
            EntryRecord(
                array=ctx.spec.names[blk],
                index=index,
                label=ctx.label(i, k),
                output=ctx.out_index(k),
                analytic=float(a[k]),
                numeric=j.numeric,
                abs_error=abs(float(a[k]) - j.numeric),
                rel_error=float(tol.relative_error(float(a[k]), j.numeric, floor)),
                error_estimate=j.error,
                step=j.step,
                tolerance=j.tolerance,
                outcome=j.outcome,
                note=j.note,
            )
        )
    return out
