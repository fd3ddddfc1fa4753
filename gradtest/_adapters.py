"""Framework-neutral pieces shared by the adapters (``gradtest.torch``, ``.jax``, ``.autograd``).

NumPy only: the cotangent the adapters pull derivatives back with, the comparison of the
analytic derivative at the user's precision with the float64 one, and how either turns a
result into a failure. Each adapter computes the derivatives with its own framework.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from gradtest._result import GradCheckResult
from gradtest.errors import FunctionEvaluationError, GradtestError

Arrays = Mapping[str, NDArray[Any]]
F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")

#: The cotangent (and tangent) the adapters seed a backward (and a jvp) with, divided out
#: afterwards. Not 1: a backward that ignores its incoming gradient (``3 * x**2`` instead of
#: ``g * 3 * x**2``) is exact for ``g = 1``, so a scalar output pulled back with 1 would hide
#: it. Not a power of two either, which a forgotten ``g`` and a factor-2 slip could cancel;
#: 0.75 is exact in every floating type down to float16 and bfloat16, and dividing it out
#: costs at most one rounding.
COTANGENT = 0.75

#: Relative gap between the low-precision and the float64 analytic derivatives that the
#: low-precision round-off explains: ``sqrt(eps(float32))`` (about 3.5e-4). Above it the
#: precision note says so; the verdict is unchanged.
LOW_PRECISION_GAP = float(np.finfo(np.float32).eps) ** 0.5

#: Relative gap (``max|low - float64| / max|float64|``) above which the low-precision
#: derivative is wrong, not imprecise, and the check fails: a tenth of the largest entry,
#: i.e. not one correct significant digit left. Round-off in a correct float32 (or float16)
#: forward and backward stays orders of magnitude below: the worst-case bound of an n-term
#: sum is ``n * eps``, and ``eps(float32) = 1.2e-7`` would need a million accumulated terms
#: per entry to reach 0.1, while the bugs this is for give 2 (a sign flip), 1 or 0.5 (a
#: factor 2) or a non-finite value. bfloat16 keeps 8 significant bits (eps 7.8e-3), so its
#: limit is ``32 * eps`` (0.25): a sign flip still fails, a long sum does not.
LOW_PRECISION_FAIL_GAP = 0.1


def described(fn: F, text: str) -> F:
    """``fn``, the derivative an adapter built, named ``text`` in gradtest's messages (a
    backward that raises reads "grad (the backward of Net) raised ...", not "grad (grad)")."""
    fn.__name__ = fn.__qualname__ = text
    return fn


def at_own_precision(evaluate: Callable[[], R], what: str, whose: str, low: Iterable[str]) -> R:
    """``evaluate()``: the derivative at the user's own (low) precisions, taken after the
    float64 check; an exception of the user's code there is a ``FunctionEvaluationError``
    naming ``what`` raised, at ``whose`` own precision, and those precisions."""
    try:
        return evaluate()
    except GradtestError:
        raise
    except Exception as err:
        raise FunctionEvaluationError(
            f"{what} raised {type(err).__name__} at the {whose} own precision "
            f"({', '.join(low)} as given), after the float64 check: {err}"
        ) from err


def fail_gap(eps: float) -> float:
    """The relative gap above which a derivative at precision ``eps`` fails the check."""
    return max(LOW_PRECISION_FAIL_GAP, 32 * eps)


def with_notes(result: GradCheckResult, *notes: str) -> GradCheckResult:
    """``result`` with ``notes`` (empty ones dropped) appended to its diagnosis."""
    diagnosis = dataclasses.replace(
        result.diagnosis, notes=result.diagnosis.notes + tuple(n for n in notes if n)
    )
    return dataclasses.replace(result, diagnosis=diagnosis)


def with_scaling_note(result: GradCheckResult, note: str) -> GradCheckResult:
    """``result`` with the note of :func:`scaling_problem`, which also leads its summary:
    the factor a pattern reports then is ``1 / COTANGENT``, and the note says why."""
    if not note:
        return result
    result = with_notes(result, note)
    head = note.split(":")[0]
    diagnosis = dataclasses.replace(result.diagnosis, summary=f"{head}; {result.diagnosis.summary}")
    return dataclasses.replace(result, diagnosis=diagnosis)


def failed_because(result: GradCheckResult, reason: str) -> GradCheckResult:
    """``result`` as a failure whose summary starts with ``reason`` (the entries unchanged)."""
    summary = result.diagnosis.summary
    if result.verdict != "fail":
        summary = f"{reason}; the float64 check alone: {result.verdict} ({summary})"
    else:
        summary = f"{reason}; and {summary}"
    diagnosis = dataclasses.replace(result.diagnosis, summary=summary)
    return dataclasses.replace(result, verdict="fail", diagnosis=diagnosis)


def precision_gap(
    result: GradCheckResult, low: Arrays, high: Arrays
) -> tuple[float, float, list[str]]:
    """The gap :func:`compare_precision` judges: ``(relative gap, scale, arrays non-finite
    in low where finite in high)``."""
    scale = max((float(np.max(np.abs(h))) if h.size else 0.0 for h in high.values()), default=0.0)
    scale = max(scale, derivative_scale(result))
    gap = max(
        (float(np.max(np.abs(low[n] - high[n]))) if high[n].size else 0.0 for n in high),
        default=0.0,
    )
    rel = gap / scale if scale > 0 else gap
    broken = [n for n in high if np.any(np.isfinite(high[n]) & ~np.isfinite(np.asarray(low[n])))]
    return rel, scale, broken


def compare_precision(
    result: GradCheckResult,
    what: str,
    rule: str,
    low: Arrays,
    high: Arrays,
    kinds: str,
    eps: float,
    resolution: float = 0.0,
) -> GradCheckResult:
    """Compare the analytic derivative at the user's precision with the float64 one.

    Parameters
    ----------
    result : GradCheckResult
        The float64 check.
    what : str
        What is in low precision, for the note ("input x", "the model Net").
    rule : str
        What computed the derivative ("backward", "derivative").
    low, high : dict of arrays
        The derivative at the user's precision (as float64 arrays) and at float64.
    kinds : str
        The low-precision dtypes, e.g. ``"float32"``.
    eps : float
        The largest machine epsilon among them.
    resolution : float, optional
        The smallest derivative that precision resolves for this function
        (:func:`function_resolution`); a gap below it is no evidence either way.

    Returns
    -------
    GradCheckResult
        ``result`` with a precision note; a failure when ``low`` is non-finite where
        ``high`` is finite, or differs from it by more than :func:`fail_gap`.

    Notes
    -----
    The gap is normwise: ``max|low - high|`` over all arrays, relative to the larger of
    ``max|high|`` and the check's numeric scale (:func:`derivative_scale`: a backward that
    returns about zero has a ``max|high|`` of round-off). A gap (absolute) no larger than
    ``resolution`` is consistent too: a function whose derivative is that small compared
    with its values is about flat at that precision (a saturated softmax), and its
    low-precision derivative is round-off of zero.
    """
    rel, scale, broken = precision_gap(result, low, high)
    limit = max(LOW_PRECISION_GAP, math.sqrt(eps))
    head = (
        f"precision: {what} is {kinds}; the check ran on float64 copies. The {kinds} analytic "
        "derivative differs from the float64 one by "
        f"{rel:.1e} relative to max|g| = {scale:.3g} ({kinds} epsilon {eps:.1e})"
    )
    if not broken and rel <= limit:
        return with_notes(
            result,
            head + ": consistent with round-off, so the verdict holds at that precision too",
        )
    if not broken and rel * scale <= resolution:
        return with_notes(
            result,
            head + f", i.e. by {rel * scale:.1e}: below what {kinds} resolves of this "
            f"function's derivative ({resolution:.1e} = {kinds} epsilon × max|f(x)| / rms(x)), "
            "so the verdict holds at that precision too",
        )
    note = (
        head + f": more than round-off explains (> {limit:.1e}); the {kinds} path loses "
        "precision (cancellation, a low-precision accumulation) or computes something else"
    )
    result = with_notes(result, note)
    if broken:
        reason = (
            f"the {kinds} {rule} is not finite ({', '.join(broken)}) where the float64 one is: "
            f"at the user's precision the {rule} overflows or divides by zero (write it "
            "stably, e.g. subtract the max before exp)"
        )
    elif rel > fail_gap(eps):
        reason = (
            f"the {kinds} {rule} differs from the float64 one by {rel:.1e} relative to max|g| "
            f"= {scale:.3g}, far more than {kinds} round-off can explain (> "
            f"{fail_gap(eps):.2g}): the {kinds} path computes something else (a "
            "dtype-dependent branch, a cancellation that loses every digit)"
        )
    else:
        return result
    return failed_because(result, reason)


def function_resolution(eps: float, values: Any, x: Arrays) -> float:
    """The smallest derivative precision ``eps`` resolves for a function with ``values``
    at ``x``: ``eps * max|f(x)| / rms(x)``.

    At that precision ``f`` is known to ``eps * |f|``; moving ``x`` by its own size then
    shows a derivative only when it exceeds ``eps * |f| / |x|``, and a low-precision
    derivative computed as a difference of terms of the size of ``f`` (softmax's backward)
    carries round-off of that size. With ``x = 0``, ``|x|`` is taken as 1.
    """
    f = np.abs(np.asarray(values, dtype=np.float64))
    f = f[np.isfinite(f)]
    if not f.size:
        return 0.0
    parts = [np.asarray(a, dtype=np.float64).ravel() for a in x.values()]
    flat = np.concatenate(parts) if parts else np.zeros(0)
    flat = flat[np.isfinite(flat)]
    rms = float(np.sqrt(np.mean(flat * flat))) if flat.size else 0.0
    return eps * float(np.max(f)) / (rms if rms > 0 else 1.0)


def derivative_scale(result: GradCheckResult) -> float:
    """The largest finite numeric derivative of a check: the scale a gap between two
    analytic derivatives is judged against (a backward's output can be round-off of zero:
    softmax's for a cotangent of ones)."""
    values = [abs(e.numeric) for e in result.entries if math.isfinite(e.numeric)]
    return max(values, default=0.0)


def probe_cotangent(shape: tuple[int, ...]) -> NDArray[np.float64]:
    """A fixed cotangent for :func:`scaling_problem`'s two pullbacks: magnitudes in
    [1/2, 3/2) with random signs, never ones (a normalising function, softmax or a layer
    norm, pulls a constant cotangent back to zero)."""
    rng = np.random.default_rng(20261201)
    values = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    return np.asarray(values, dtype=np.float64)


def scaling_problem(plain: Arrays, scaled: Arrays, rule: str, reference: float) -> str:
    """A note when ``rule(COTANGENT * v) / COTANGENT`` (``scaled``) differs from ``rule(v)``.

    A backward is linear in its incoming gradient; one that ignores it (or squares it)
    returns the same values for both seeds, off by the factor ``COTANGENT``. Gaps are
    judged against ``reference`` (:func:`derivative_scale`) too, so that round-off of a
    backward that returns about zero says nothing.
    """
    scale = max((float(np.max(np.abs(a))) if a.size else 0.0 for a in plain.values()), default=0.0)
    scale = max(scale, reference)
    gap = max(
        (float(np.max(np.abs(scaled[n] - plain[n]))) if plain[n].size else 0.0 for n in plain),
        default=0.0,
    )
    if not scale > 0 or not gap > 1e-6 * scale:
        return ""
    ratios = [
        float(np.sum(np.asarray(scaled[n]) * plain[n]) / np.sum(plain[n] * plain[n]))
        for n in plain
        if np.any(plain[n])
    ]
    ignored = all(abs(r - 1 / COTANGENT) < 1e-6 for r in ratios)
    how = (
        "it returns the same gradient whatever the incoming gradient is: it ignores grad_output"
        if ignored
        else "it is not linear in the incoming gradient"
    )
    return (
        f"the {rule} does not scale with the incoming gradient: seeded with {COTANGENT} "
        f"instead of 1 it must return {COTANGENT} times as much, but {how} (multiply the "
        "local derivative by the incoming gradient, e.g. g * 3 * x**2)"
    )
