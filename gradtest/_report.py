"""Rendering the human report of a gradient check.

The report reads top-down in two seconds: the verdict line, one line of context, the
worst entries, then the evidence (step sweep, Taylor test, noise floor, scipy's figure).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from gradtest import _finite_diff as fd
from gradtest.errors import InvalidArgumentError

if TYPE_CHECKING:
    from gradtest._result import EntryRecord, GradCheckResult, StepSweep, TaylorTest

#: how many entries the table of worst entries shows
WORST_SHOWN = 5
#: sparkline glyphs, lowest to highest
_BARS = "▁▂▃▄▅▆▇█"


def _g(v: float) -> str:
    return f"{v: .6e}" if math.isfinite(v) else f"{v!s:>13}"


def distinct(a: float, b: float, digits: int = 6) -> tuple[str, str]:
    """``a`` and ``b`` to ``digits`` significant digits, or as many more as it takes to
    show that they differ (up to 17, where every float64 is told apart): "analytic 0.12 vs
    numeric 0.12" hid a gap of 4e-08.

    Examples
    --------
    >>> distinct(0.12, 0.12 + 4e-8)
    ('0.12', '0.12000004')
    """
    for d in range(digits, 18):
        sa, sb = f"{a:.{d}g}", f"{b:.{d}g}"
        if sa != sb or a == b or not (math.isfinite(a) and math.isfinite(b)):
            return sa, sb
    return sa, sb


def verdict_line(result: GradCheckResult) -> str:
    """``FAIL name wrt W: max relative error 1.0e+00 at W[3, 7]; <summary>``."""
    wrt = ", ".join(result.wrt)
    head = f"{result.verdict.upper()} {result.name} wrt {wrt}"
    worst = result.worst
    if worst is None:
        return head
    if result.verdict == "pass":
        return (
            f"{head}: max relative error {result.max_rel_error:.1e} at {worst.label} "
            f"over {_checked(result)}"
        )
    if result.verdict == "fail":
        return (
            f"{head}: max relative error {worst.rel_error:.1e} at {worst.label}; "
            f"{result.diagnosis.summary}"
        )
    return f"{head}: {result.diagnosis.summary}"


def _entries_table(entries: list[EntryRecord]) -> list[str]:
    width = max([len(e.label) for e in entries] + [5])
    lines = [
        f"  {'entry':<{width}}  {'analytic':>13}  {'numeric':>13}  {'rel.err':>7}  "
        f"{'err.est':>7}  {'tol':>7}  {'step':>7}  outcome"
    ]
    for e in entries:
        lines.append(
            f"  {e.label:<{width}}  {_g(e.analytic)}  {_g(e.numeric)}  {e.rel_error:7.1e}  "
            f"{e.error_estimate:7.1e}  {e.tolerance:7.1e}  {e.step:7.1e}  {e.outcome}"
        )
        if e.note:
            lines.append(f"  {'':<{width}}  ↳ {e.note}")
    return lines


def _sweep_lines(s: StepSweep) -> list[str]:
    lines = [f"  step sweep for {s.label} (analytic {s.analytic:.6g}), central differences:"]
    lines.append("    h       " + " ".join(f"{h:8.0e}" for h in s.steps))
    lines.append("    rel.err " + " ".join(f"{r:8.1e}" for r in s.rel_errors))
    if s.rel_errors:
        best = s.steps.index(s.best_step)
        # steps where fun is not finite (the largest, past an overflow) tell nothing
        errs = [e for e in s.rel_errors if math.isfinite(e)]
        flat = bool(errs) and max(errs[:4]) < 10 * min(errs[:8])
        sizes = [abs(n) for n in s.numeric if math.isfinite(n)]
        if not math.isfinite(s.analytic):
            verdict = f"the analytic value is {s.analytic}: no step can agree with it"
        elif s.analytic == 0.0 and sizes and max(sizes[:4]) >= 10 * min(sizes[:8]):
            # (a relative error against 0 is 1 at every step where the numeric value is
            # not exactly 0: its size says more)
            verdict = (
                f"the numeric value shrinks with h (from {sizes[0]:.1e} to "
                f"{min(sizes):.1e}), as that of a zero derivative does: a relative error of "
                "1 against an analytic 0 is no evidence here"
            )
        elif s.analytic == 0.0 and sizes and min(sizes) > 0:
            verdict = (
                f"the numeric value stays near {s.numeric[best]:.1e} whatever the step, "
                "where the analytic value is 0: the gradient is wrong, not the step"
            )
        elif s.error_floor > 1e-6 and flat:
            verdict = (
                f"the error stays near {s.error_floor:.0e} whatever the step: the gradient is "
                "wrong, not the step"
            )
        else:
            verdict = "the error falls with h until round-off takes over"
        lines.append(
            f"    best h {s.best_step:.1e} (numeric {s.numeric[best]:.10g}), "
            f"error floor {s.error_floor:.1e}: {verdict}"
        )
    return lines


def _taylor_line(t: TaylorTest) -> list[str]:
    slopes = " ".join("  nan" if math.isnan(s) else f"{s:5.2f}" for s in t.slopes)
    rems = " ".join(f"{r:.1e}" for r in t.remainders)
    return [
        f"  Taylor test along a random direction v (ε = {t.eps[0]:.0e} … {t.eps[-1]:.1e}):",
        f"    remainders |f(x+εv) − f(x) − ε g·v|: {rems}",
        f"    slopes: {slopes} → {t.verdict}: {t.explanation}",
    ]


def _checked(result: GradCheckResult) -> str:
    """What the records of ``result`` are: "2 directional derivatives and 5 entries"."""
    n_dirs = sum(e.probe == "direction" for e in result.entries)
    n_entries = len(result.entries) - n_dirs
    entry = "entry" if result.kind == "gradient" else "Jacobian entry"
    parts = []
    if n_dirs:
        parts.append(f"{n_dirs} directional derivative{'' if n_dirs == 1 else 's'}")
    if n_entries or not n_dirs:
        plural = entry[:-1] + "ies"
        parts.append(f"{n_entries} {entry if n_entries == 1 else plural}")
    return " and ".join(parts)


def render(result: GradCheckResult) -> str:
    """The full human report of ``result``."""
    d = result.diagnosis
    counts: dict[str, int] = {}
    for e in result.entries:
        counts[e.outcome] = counts.get(e.outcome, 0) + 1
    lines = [verdict_line(result)]
    lines.append(
        f"  checked {_checked(result)} ({fd.METHOD_NAMES[result.method]}, {result.dtype}) "
        f"in {result.n_evals} evaluations of {result.name}: "
        + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        + f"; seed={result.seed}"
    )
    if result.coverage:
        budget = "" if result.budget is None else f" (budget {result.budget})"
        lines.append(f"  coverage, mode={result.mode}{budget}: {result.coverage}")
    lines.append(f"  relative error = {result.relative_error_formula}")
    shown = sorted(result.entries, key=lambda e: (e.outcome == "pass", -e.rel_error))
    lines.append("")
    lines.append("  worst entries:")
    lines.extend(_entries_table(list(shown[:WORST_SHOWN])))
    if d.patterns or d.kinks or d.notes:
        lines.append("")
        lines.append("  diagnosis:")
        lines.extend(f"    - {p}" for p in d.patterns)
        if d.kinks:
            more = f" and {len(d.kinks) - 5} more" if len(d.kinks) > 5 else ""
            lines.append(f"    - kinks (not differentiable here): {', '.join(d.kinks[:5])}{more}")
        lines.extend(f"    - {n}" for n in d.notes)
    for s in d.sweeps:
        lines.append("")
        lines.extend(_sweep_lines(s))
    if d.taylor is not None:
        lines.append("")
        lines.extend(_taylor_line(d.taylor))
    lines.append("")
    if not d.noise_measured:
        lines.append(
            f"  noise floor of {result.name}: not measured (modelled as 2·EPS·|f(x)|; it is "
            "measured when a verdict needs it)"
        )
    else:
        lines.append(f"  noise floor of {result.name}: {d.noise_floor:.1e}")
    if d.scipy_check_grad is not None:
        finite = [e.analytic for e in result.entries if math.isfinite(e.analytic)]
        norm = math.hypot(*finite) if result.mode == "full" else math.nan
        rel = d.scipy_check_grad / norm if norm > 0 else math.nan
        every = result.mode == "full" and len(result.entries) <= 30
        how = (
            "n + 1 evaluations"
            if every
            else "direction='random', 2 evaluations: a figure along one random direction"
        )
        relative = f" (relative to ‖a‖₂: {rel:.1e})" if every and math.isfinite(rel) else ""
        lines.append(
            f"  scipy.optimize.check_grad (forward differences, ε = 1.5e-08, {how}): "
            f"‖a − n‖₂ = {d.scipy_check_grad:.2e}{relative}"
        )
    return "\n".join(lines)


def sparkline(
    values: Sequence[float] | NDArray[Any], *, lo: float | None = None, hi: float | None = None
) -> str:
    """A one-line bar chart of ``values`` (one glyph per value), for text reports.

    Parameters
    ----------
    values : sequence of float
        The values, in order.
    lo, hi : float, optional
        The values drawn as the lowest and the highest bar; by default the smallest and the
        largest finite value. Values outside are clipped.

    Returns
    -------
    str
        One of ``▁▂▃▄▅▆▇█`` per value, ``×`` for a non-finite value (a diverged loss).

    Examples
    --------
    >>> from gradtest.plot import sparkline
    >>> sparkline([1, 2, 3, 4, 5, 6, 7, 8])
    '▁▂▃▄▅▆▇█'
    >>> sparkline([3.0, 1.0, float("inf"), 2.0])
    '█▁×▅'
    >>> sparkline([1.0, 5.0, 100.0], hi=5.0)
    '▁██'
    """
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(
            f"values must be a sequence of numbers, got {values!r:.80}"
        ) from err
    if arr.ndim != 1:
        raise InvalidArgumentError(
            f"values must be a 1-D sequence of numbers, got an array of shape {arr.shape}"
        )
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return "×" * arr.size
    low = float(np.min(finite)) if lo is None else float(lo)
    high = float(np.max(finite)) if hi is None else float(hi)
    span = high - low
    top = len(_BARS) - 1
    out = []
    for v in arr.tolist():
        if not math.isfinite(v):
            out.append("×")
        elif span <= 0:
            out.append(_BARS[0] if v <= low else _BARS[top])
        else:
            out.append(_BARS[min(int((min(max(v, low), high) - low) / span * len(_BARS)), top)])
    return "".join(out)
