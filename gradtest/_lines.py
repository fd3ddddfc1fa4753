"""Lines through x: an entry's axis or a random direction, probed at pairs of steps.

Both probing strategies judge a derivative along a line ``t -> f(x + t u)`` the same way
(:func:`resolve`): central differences at a pair of steps ``h, h / PAIR_RATIO`` give a value,
an error estimate and a kink test (:func:`gradtest._finite_diff.pair_estimates`), and the
rules of ``gradtest._tolerance`` judge it. A line they cannot settle gets more steps: the
noise of ``fun`` is measured, then smaller steps (a value that changes with the step:
truncation or a kink crossed) or larger ones (a value drowned in round-off), up to
``LADDER_DOWN`` (``LADDER_DOWN_DIRECTION`` along a direction) and ``LADDER_UP`` more
pairs; when none settles it, it is *unreliable*.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
from numpy.typing import NDArray

from gradtest import _finite_diff as fd
from gradtest import _tolerance as tol
from gradtest._params import Float64Array
from gradtest._randomness import Direction
from gradtest._setup import Context

#: further step pairs tried below / above the first when a line is unsettled
LADDER_DOWN = 2
#: ... below, along a direction: a kink there decides nothing, so it is worth a further
#: pair to pass under one that sits near x (the kink-dense SVM of bench_scale.py)
LADDER_DOWN_DIRECTION = 3
LADDER_UP = 12
#: the ladder climbs by this factor a rung
CLIMB = 16.0
#: the largest step, relative to max(scale of the line, 1)
HMAX = 0.1


class Line(ABC):
    """A line ``x + t u``; subclasses say what ``u`` is and how ``fun`` is evaluated on it."""

    label: str
    h0: float
    hmax: float
    #: the size the trust floor is relative to (None: the gradient's largest entry)
    scale: float | None = None
    #: how many pairs of smaller steps an unsettled line may try
    ladder_down: int = LADDER_DOWN
    #: the step that moves x by HMAX of its own size along the line: beyond it, fun is
    #: not assumed linear when only a linear extrapolation would convict the gradient
    natural: float
    #: the larger step of the smallest pair, when :func:`resolve` stopped shrinking the
    #: steps because round-off alone kept that pair from passing (None otherwise)
    exhausted_at: float | None = None
    #: the round-off of each output's estimate at that pair (set with ``exhausted_at``)
    exhausted_roundoff: list[float] | None = None
    #: the line is an entry's axis (the rules that hold only there apply: see tol.judge)
    axis: bool = False

    @abstractmethod
    def values(self, ctx: Context, t: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``f(x + t u)`` and ``f(x - t u)``, one value per output."""

    @abstractmethod
    def analytic(self, ctx: Context) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The analytic derivative along ``u`` (m,) and its rounding (m,)."""


class EntryLine(Line):
    """The axis of flat entry ``i``, ``u = e_i``; steps are realised in the entry's dtype."""

    axis = True

    def __init__(self, ctx: Context, i: int, scale: float, small: float | None = None) -> None:
        self.i = i
        self._xi = ctx.x0[i]
        self.block = ctx.spec.block_of(i)
        self.dtype = ctx.spec.dtypes[self.block]
        if small is None:
            small = float(screen_steps(ctx, np.array([i]), np.array([scale]))[0][0])
        # the first pair is (PAIR_RATIO c s, c s): the screen's step c s is its smaller step
        self.h0 = fd.PAIR_RATIO * small
        self.hmax = max(HMAX * max(scale, 1.0), self.h0)
        self.natural = HMAX * scale
        self._cache: dict[float, tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
        self._label: str | None = None
        self._spec = ctx.spec

    @property
    def label(self) -> str:  # type: ignore[override]
        if self._label is None:
            self._label = self._spec.label(self.i)
        return self._label

    def values(self, ctx: Context, t: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        if t not in self._cache:
            out = ctx.ev.entry_values(self.plan(t), phase="entries")
            self.prime(t, out[0], out[1])
        return self._cache[t]

    def plan(self, t: float) -> list[tuple[int, float]]:
        """The perturbations ``x_i ± t`` as realised in the entry's dtype."""
        hp, hm = self.realised(float(self._xi), t)
        return [(self.i, hp), (self.i, -hm)]

    def prime(self, t: float, fp: NDArray[np.float64], fm: NDArray[np.float64]) -> None:
        """Store the values at the perturbations of :meth:`plan`, as if the step were ``t``
        on both sides (a linear correction of the realised steps)."""
        hp, hm = self.realised(float(self._xi), t)
        if hp != t or hm != t:
            slope = (fp - fm) / (hp + hm)
            fp = fp + slope * (t - hp)
            fm = fm - slope * (t - hm)
        self._cache[t] = (fp, fm)

    def realised(self, xi: float, t: float) -> tuple[float, float]:
        if self.dtype == np.float64:
            return (xi + t) - xi, xi - (xi - t)
        d = self.dtype.type
        return float(d(xi + t)) - xi, xi - float(d(xi - t))

    def analytic(self, ctx: Context) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return ctx.analytic[:, self.i], np.zeros(ctx.m)


def screen_steps(
    ctx: Context, indices: NDArray[np.intp], scales: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The screen's step ``t = max(c s, 4 ulp)`` of each entry, and the steps ``x + t`` and
    ``x - t`` realise in the entry's dtype (the vectorised :meth:`EntryLine.realised`)."""
    spec = ctx.spec
    x = ctx.x0[indices]
    # a power of two: x ± t is then exact in the common case, so both sides are equal
    t = np.asarray(2.0 ** np.round(np.log2(ctx.c * scales)), dtype=np.float64)
    hp = np.empty_like(t)
    hm = np.empty_like(t)
    blocks = spec.blocks_of(indices)
    for k in np.unique(blocks):
        w = blocks == k
        dt = spec.dtypes[k]
        xk = x[w].astype(dt)
        t[w] = np.maximum(t[w], 4 * np.spacing(np.abs(xk) + dt.type(0)).astype(np.float64))
        if dt == np.float64:
            hp[w] = (x[w] + t[w]) - x[w]
            hm[w] = x[w] - (x[w] - t[w])
        else:
            hp[w] = (x[w] + t[w]).astype(dt).astype(np.float64) - x[w]
            hm[w] = x[w] - (x[w] - t[w]).astype(dt).astype(np.float64)
    return t, hp, hm


class DirectionLine(Line):
    """A directional derivative along a :class:`Direction` (one buffer of x reused)."""

    ladder_down = LADDER_DOWN_DIRECTION

    def __init__(self, ctx: Context, d: Direction, label: str, buffer: Float64Array) -> None:
        self.d = d
        self.label = label
        self.block = d.block
        self.h0 = fd.PAIR_RATIO * ctx.c
        self.hmax = max(HMAX * max(1.0, 1.0 / max(d.rms, 1e-300)), self.h0)
        self.natural = HMAX  # v is scaled to the entries of x
        self.buffer = buffer
        #: the array is float16/32: points are rounded to its dtype
        self._low = ctx.spec.dtypes[d.block] != np.float64
        self._cache: dict[float, tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
        self._analytic: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
        #: a bound on the rounding of the analytic g . v, when known in advance
        self.rounding: NDArray[np.float64] | None = None

    def values(self, ctx: Context, t: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        cached = self._cache.get(t)
        if cached is not None:
            return cached
        out = []
        d, buffer, at_point, label = self.d, self.buffer, ctx.ev.at_point, self.label
        for s in (t, -t):
            if ctx.known:
                known = ctx.known.pop((*d.key, s), None)
                if known is not None:  # the precision probe's point, used once
                    out.append(known)
                    continue
            d.add_to(ctx.x0, buffer, s)
            if self._low:
                _round_block(ctx, self.block, buffer)
            value = at_point(buffer, phase="directions", what=label, owned=True)
            out.append(np.asarray(value, dtype=np.float64).reshape(-1))
        fp, fm = out
        if self._low:
            # x + t v was rounded to the array's dtype: correct by the analytic
            # derivative along the rounding (small: EPS_x / t of the value)
            fp, fm = self._unround(ctx, t, fp, fm)
        self._cache[t] = cached = (fp, fm)
        return cached

    def _unround(
        self, ctx: Context, t: float, fp: NDArray[np.float64], fm: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        blk = ctx.spec.block(self.block)
        shifts = []
        for s in (t, -t):
            self.d.add_to(ctx.x0, self.buffer, s)
            exact = self.buffer[blk].copy()
            _round_block(ctx, self.block, self.buffer)
            shifts.append(ctx.analytic[:, blk] @ (self.buffer[blk] - exact))
        return fp - shifts[0], fm - shifts[1]

    def analytic(self, ctx: Context) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        if self._analytic is None:
            if self.rounding is not None:
                total, _ = self.d.dot(ctx.x0, ctx.analytic, absolute=False)
                self._analytic = (total, self.rounding)
            else:
                total, absolute = self.d.dot(ctx.x0, ctx.analytic)
                self._analytic = (total, 10 * ctx.precision.eps_x * absolute)
        return self._analytic


def _round_block(ctx: Context, k: int, z: Float64Array) -> None:
    blk = ctx.spec.block(k)
    z[blk] = z[blk].astype(ctx.spec.dtypes[k]).astype(np.float64)


#: the estimates of a line at one pair of steps, one per output of ``fun``
Pair = list[fd.PairEstimate]


def pair(ctx: Context, line: Line, h1: float, h2: float) -> Pair:
    estimates = fd.pair_estimates(
        line.values(ctx, h1), line.values(ctx, h2), ctx.f0, h1, h2, ctx.sigma,
        ctx.precision.eps_f,
    )  # fmt: skip
    # fun resolves changes no finer than a quantum: that is its noise, for every line
    # (these estimates already count with it: pair_estimates raised their round-off).
    # Unless fun was seen to resolve a change below half the quantum at another point:
    # then it is not quantized near x, only flat along this line up to the smaller step
    # (a term that takes over further away), and the other lines keep their noise
    finest = ctx.finest
    raised = [
        e.quantum / 2 if s < e.quantum / 2 <= finest[k] else 0.0
        for k, (e, s) in enumerate(zip(estimates, ctx.sigma.tolist(), strict=True))
    ]
    if any(raised):
        ctx.raise_noise(
            np.array(raised),
            f"{ctx.opts.name} resolves changes no finer than about "
            f"{max(e.quantum for e in estimates):.2g} near x (it returned exactly f(x) at "
            f"some points of {line.label} and values that far off at others): its values "
            "are quantized, far more coarsely than their own precision, and the error "
            "estimates count with that",
        )
    for k, e in enumerate(estimates):
        if e.fine < finest[k]:
            finest[k] = e.fine
    return estimates


def first_pair(ctx: Context, line: Line) -> Pair:
    return pair(ctx, line, line.h0, line.h0 / fd.PAIR_RATIO)


def judge_all(ctx: Context, line: Line, estimates: list[Pair]) -> list[tol.Judgement]:
    a, extra = line.analytic(ctx)
    scale = line.scale if line.scale is not None else ctx.g_scale
    p, measured, where, axis = ctx.precision, ctx.noise_measured, f" along {line.label}", line.axis
    judge = tol.judge
    return [
        judge(
            ak,
            [e[k] for e in estimates],
            scale=scale,
            p=p,
            noise_measured=measured,
            extra=ek,
            where=where,
            axis=axis,
        )
        for k, (ak, ek) in enumerate(zip(a.tolist(), extra.tolist(), strict=True))
    ]


def resolve(
    ctx: Context,
    line: Line,
    estimates: list[Pair],
    *,
    defer_noise: bool = False,
    judged: list[tol.Judgement] | None = None,
) -> list[tol.Judgement]:
    """Judge a line, trying more steps while it is unsettled and the budget allows.

    ``defer_noise``: a line the ladder cannot settle is left unsettled instead of having
    the noise measured (a fail still gets it measured); the caller measures it and judges
    the line again if the verdict turns on that line. ``judged``: the judgements of
    ``estimates``, when the caller has made them already.
    """
    if judged is None:
        judged = judge_all(ctx, line, estimates)
    if all(j.settled and j.outcome != "fail" for j in judged):
        return judged  # (a fail, even settled at once, goes through the checks below)
    fixed_step = ctx.opts.step is not None
    down = 0
    up = 0
    while not all(j.settled for j in judged):
        wants = {j.want for j in judged if not j.settled}
        if not ctx.noise_measured and (
            "noise" in wants
            or fixed_step
            or (
                not defer_noise
                and wants != {"up"}
                and _exhausted(ctx, line, estimates, wants, down, up)
            )
        ):
            # a fail or a kink is final only with the noise measured; a line the ladder
            # cannot settle gets it measured before giving up (unless it only wants larger
            # steps: a measured noise can only raise its error)
            ctx.measure_noise()
            estimates = [pair(ctx, line, e[0].h1, e[0].h2) for e in estimates]  # cached values
            judged = judge_all(ctx, line, estimates)
            continue
        if fixed_step:
            break
        if "down" in wants and _can_go_down(ctx, line, estimates, down):
            h1 = min(e[0].h2 for e in estimates)
            h2 = h1 / fd.PAIR_RATIO
            if not ctx.ev.can_afford(2) or h2 < line.h0 * 1e-6:
                break
            down += 1
        elif "up" in wants and up < LADDER_UP and not down:
            # (after the ladder went down, larger steps were step-dependent: kinks or
            # truncation there; climbing above them again cannot settle the line)
            top = max(e[0].h1 for e in estimates)
            if top >= line.hmax or not ctx.ev.can_afford(4):
                break
            h1 = min(top * CLIMB, line.hmax)
            h2 = h1 / fd.PAIR_RATIO
            up += 1
        else:
            break
        raised = ctx.noise_raised
        estimates = [*estimates, pair(ctx, line, h1, h2)]
        if ctx.noise_raised != raised:  # the new steps showed a quantum: judge all again
            estimates = [pair(ctx, line, e[0].h1, e[0].h2) for e in estimates]
        judged = judge_all(ctx, line, estimates)
    if down and "down" in {j.want for j in judged if not j.settled}:
        if _precision_exhausted(ctx, line, estimates):
            smallest = min(estimates, key=lambda e: e[0].h1)
            line.exhausted_at = smallest[0].h1
            line.exhausted_roundoff = [e.roundoff for e in smallest]
    if not fixed_step:
        judged = _constant_along(ctx, line, estimates, judged)
    if up:
        judged = [_unresolved_after_climbing(j) for j in judged]
        judged = _flat_below_climbed_steps(ctx, line, estimates, judged)
    if len(estimates) > 1:
        judged = _contradicted_by_smaller_steps(ctx, line, estimates, judged)
    if fixed_step:
        judged = [_fixed_step_note(ctx, j) for j in judged]
    elif ctx.rough and any(j.outcome == "fail" for j in judged):
        judged = _deep_check(ctx, line, estimates, judged)
    elif len(estimates) > 1 and any(j.outcome == "fail" and not j.note for j in judged):
        judged = _second_pair(ctx, line, estimates, judged)
    return judged


def _contradicted_by_smaller_steps(
    ctx: Context, line: Line, estimates: list[Pair], judged: list[tol.Judgement]
) -> list[tol.Judgement]:
    """A fail is not confirmed when an estimate at smaller steps agreed with the analytic
    value within its own tolerance and told it apart from the failing value: the numeric
    derivative then changes with the step between the two (truncation, or fun far from
    linear at the larger steps the ladder climbed to), which no wrong gradient explains."""
    a, extra = line.analytic(ctx)
    out = []
    for k, j in enumerate(judged):
        if j.outcome != "fail" or j.note:
            out.append(j)
            continue
        ak = float(a[k])
        for pair_ in estimates:
            e = pair_[k]
            # (a flat estimate counts: f(x) at every point says the derivative is 0 to
            # within round-off, which agrees with a tiny analytic value)
            if not e.finite or e.kinked or e.h2 >= j.step:
                continue
            t = tol.tolerance(
                ak, e.value, e.error, ctx.precision, float(extra[k]),
                axis=line.axis,
            )  # fmt: skip
            if abs(ak - e.value) <= t and abs(e.value - j.numeric) > t + j.tolerance:
                j = j.demoted(
                    f"the numeric derivative {j.numeric:.6g} (h = {j.step:.2g}) disagrees "
                    f"with the analytic value, but at h = {e.h2:.2g} it was {e.value:.6g} ± "
                    f"{e.error:.2g}, in agreement: it changes with the step (truncation, or "
                    "fun far from linear at the larger steps), which no wrong gradient explains"
                )
                break
        out.append(j)
    return out


def _unresolved_after_climbing(j: tol.Judgement) -> tol.Judgement:
    """A fail found at steps the ladder climbed to, with a numeric value that is zero
    within its error, is not trusted: fun did not resolve the analytic value at the
    error-model step, and at steps far larger fun need not be linear (a loss whose whole
    variation sits below the ulp of its value shows no change there at all)."""
    if j.outcome != "fail" or j.note or abs(j.numeric) > tol.SAFETY * j.error:
        return j
    return j.demoted(
        f"fun shows no change along this line (numeric derivative {j.numeric:.3g} ± "
        f"{j.error:.2g}) at the steps up to {fd.PAIR_RATIO * j.step:.2g} it took to rise "
        "above round-off, where the analytic value predicts one: at steps that large fun "
        "need not be linear, so no step gives a value to judge by"
    )


def _flat_below_climbed_steps(
    ctx: Context, line: Line, estimates: list[Pair], judged: list[tol.Judgement]
) -> list[tol.Judgement]:
    """A fail at steps the ladder climbed to, above steps where fun returned exactly f(x),
    holds only if fun's resolution there cannot explain it.

    At a flat step ``h`` the analytic value ``a`` predicted a change of ``|a| h`` and fun
    showed none: it resolves no change below that (quantized, or piecewise constant), so
    its values carry an error of about ``|a| h / 2``. Two steps a power of two apart can
    meet a decimal grid alike: a loss rounded to 1e-3 gave 1.024 times its slope at both
    2^-9 and 2^-7, a discrepancy the two steps "confirmed"."""
    a, _ = line.analytic(ctx)
    out = []
    for k, j in enumerate(judged):
        flat = max((e[k].h1 for e in estimates if e[k].flat), default=0.0)
        if j.outcome != "fail" or j.note or not 0.0 < flat < j.step:
            out.append(j)
            continue
        ak = float(a[k])
        explained = tol.SAFETY * abs(ak) * flat / 2 / j.step
        if abs(ak - j.numeric) <= explained:
            j = j.demoted(
                f"fun returned exactly f(x) at steps up to {flat:.2g}, where the analytic "
                f"value {ak:.6g} predicts a change of {abs(ak) * flat:.2g}: it resolves no "
                "change that small (its values are quantized or piecewise constant), and at "
                f"h = {j.step:.2g} that alone explains a discrepancy of up to {explained:.2g}"
            )
        out.append(j)
    return out


def _second_pair(
    ctx: Context, line: Line, estimates: list[Pair], judged: list[tol.Judgement]
) -> list[tol.Judgement]:
    """A fail found only after the first steps failed to settle the line (the ladder moved)
    must hold at the next pair of steps too: away from the error-model step, an agreement
    of two steps can be a coincidence of rounding (a value quantized far above its ulp)."""
    last = estimates[-1][0]
    going_up = last.h1 > estimates[0][0].h1
    h2 = last.h2 * CLIMB if going_up else last.h2 / fd.PAIR_RATIO
    if (going_up and fd.PAIR_RATIO * h2 > line.hmax) or not ctx.ev.can_afford(4):
        return judged
    extra = pair(ctx, line, fd.PAIR_RATIO * h2, h2)
    again = judge_all(ctx, line, [extra])
    out = []
    for k, (j, j2) in enumerate(zip(judged, again, strict=True)):
        if j.outcome != "fail" or j.note:
            out.append(j)
            continue
        a = float(line.analytic(ctx)[0][k])
        agree = abs(j2.numeric - j.numeric) <= tol.CONFIRM * abs(a - j.numeric)
        if j2.outcome == "fail" and agree:
            out.append(j)
        else:
            out.append(
                j.demoted(
                    f"the numeric derivative {j.numeric:.6g} (h = {j.step:.2g}) disagrees with "
                    f"the analytic value but not consistently: {j2.numeric:.6g} at "
                    f"h = {h2:.2g}"
                )
            )
    return out


def _constant_along(
    ctx: Context, line: Line, estimates: list[Pair], judged: list[tol.Judgement]
) -> list[tol.Judgement]:
    """A fun that takes exactly the same value at every step up to the largest one, where
    the analytic value predicts a change far above what fun resolves, is constant along
    the line: a nonzero analytic value there is wrong."""
    top = max((e[0] for e in estimates), key=lambda e: e.h1)
    if top.h1 < line.hmax:
        return judged
    a, _ = line.analytic(ctx)
    out = []
    for k, j in enumerate(judged):
        flat_everywhere = all(e[k].flat for e in estimates if e[k].finite)
        # the change the analytic value predicts over a step that moves x by HMAX of its
        # own size (larger steps reach the top of the ladder, but a function whose whole
        # variation sits below its ulp is flat there too)
        predicted = abs(float(a[k])) * min(top.h1, line.natural)
        # what fun resolves near f(x): its own ulps, and at least those of 1 (a loss of 0
        # may still be computed from terms of size 1, whose rounding hides smaller changes)
        resolution = tol.FLOOR_ULPS * ctx.precision.eps_f * max(abs(float(ctx.f0[k])), 1.0)
        if j.outcome == "unreliable" and flat_everywhere and predicted > resolution:
            out.append(
                tol.Judgement(
                    "fail",
                    0.0,
                    0.0,
                    top.h2,
                    resolution / top.h1,
                    f"fun does not change at all along {line.label} at steps up to "
                    f"{top.h1:.2g}, where the analytic value {float(a[k]):.6g} predicts a "
                    f"change of {predicted:.2g} already at {min(top.h1, line.natural):.2g}: "
                    "fun is constant here, the gradient is not",
                )
            )
        else:
            out.append(j)
    return out


def _deep_check(
    ctx: Context, line: Line, estimates: list[Pair], judged: list[tol.Judgement]
) -> list[tol.Judgement]:
    """Confirm a fail of a rough ``fun`` at the smallest step its noise allows.

    A function that varies far above round-off at small scales (an oscillation finer than
    the steps) is averaged by finite differences while its analytic gradient is not: a
    fail must hold where the step is as small as the noise allows (``SAFETY sigma`` below
    the discrepancy), or it is not trusted.
    """
    a, _ = line.analytic(ctx)
    out = []
    for k, j in enumerate(judged):
        if j.outcome != "fail":
            out.append(j)
            continue
        diff = abs(float(a[k]) - j.numeric)
        h2 = tol.SAFETY * float(ctx.sigma[k]) / max(diff, 1e-300)
        h2 = min(max(h2, line.h0 * 1e-6), min(e[0].h2 for e in estimates) / fd.PAIR_RATIO)
        if not ctx.ev.can_afford(4):
            deep = None
        else:
            deep = tol.judge(
                float(a[k]),
                [pair(ctx, line, fd.PAIR_RATIO * h2, h2)[k]],
                scale=line.scale if line.scale is not None else ctx.g_scale,
                p=ctx.precision,
                noise_measured=True,
                where=f" along {line.label}",
                axis=line.axis,
            )
        if deep is not None and deep.outcome == "fail":
            out.append(j)
            continue
        out.append(
            j.demoted(
                f"fun is rough at the scale of the steps (noise {float(ctx.sigma[k]):.2g}, "
                "far above round-off): finite differences measure a smoothed slope, and "
                f"at the smallest step the noise allows ({h2:.2g}) the disagreement did not "
                "hold"
            )
        )
    return out


def _exhausted(
    ctx: Context,
    line: Line,
    estimates: list[Pair],
    wants: set[tol.Want],
    down: int,
    up: int,
) -> bool:
    """Whether the ladder has no step left to try for these wants."""
    if "down" in wants and _can_go_down(ctx, line, estimates, down) and ctx.ev.can_afford(2):
        return False
    top = max(e[0].h1 for e in estimates)
    return not ("up" in wants and up < LADDER_UP and not down and top < line.hmax)


def _can_go_down(ctx: Context, line: Line, estimates: list[Pair], down: int) -> bool:
    """Whether the ladder may still take smaller steps (budget aside)."""
    return down < line.ladder_down and not _precision_exhausted(ctx, line, estimates)


def _precision_exhausted(ctx: Context, line: Line, estimates: list[Pair]) -> bool:
    """Whether smaller steps are futile: at the smallest steps tried, every output's
    estimate is smooth and agrees with the analytic value, but its round-off alone at the
    next smaller steps (it grows as the step shrinks) would be more than a pass may carry.
    A kink crossed by the larger steps is then behind, and no smaller step can give a value
    precise enough to pass."""
    smallest = min(estimates, key=lambda e: e[0].h2)
    a, extra = line.analytic(ctx)
    limit = tol.trust_limit(ctx.precision.eps_f)
    scale = line.scale if line.scale is not None else ctx.g_scale
    for k, e in enumerate(smallest):
        ak = float(a[k])
        if not e.finite or e.kinked or e.flat or e.jump0:
            return False
        t = tol.tolerance(ak, e.value, e.error, ctx.precision, float(extra[k]), axis=line.axis)
        size = max(abs(ak), abs(e.value), tol.TRUST_FLOOR * max(scale, e.upper - e.lower))
        if abs(ak - e.value) > t or fd.PAIR_RATIO * e.roundoff <= limit * size:
            return False
    return True


def _fixed_step_note(ctx: Context, j: tol.Judgement) -> tol.Judgement:
    if j.settled or j.outcome != "unreliable":
        return j
    return j.demoted(
        f"{j.note} (step={ctx.opts.step:g} was fixed; leave step=None to let gradtest search "
        "for a step that works)"
    )
