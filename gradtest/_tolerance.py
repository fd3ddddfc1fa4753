"""Error metrics and tolerances: the one place where "how close is close enough" is set.

Relative error
--------------
For an entry with analytic value ``a`` and numeric value ``n``::

    rel = |a - n| / max(|a|, |n|, NEAR_ZERO * G)

where ``G`` is the largest ``max(|a_j|, |n_j|)`` over all entries of the check: the
formula of the CS231n notes with a floor, so that an entry whose true value is zero is
judged against the size of the gradient, not against itself.

Verdict of an entry
-------------------
Without ``rtol``/``atol`` the tolerance of an entry is derived from the error estimate
``e`` of its numeric value::

    tol = max(SAFETY * e, FLOOR_ULPS * EPS * max(|a|, |n|))

and the entry fails when ``|a - n| > tol``. With ``rtol``/``atol`` given,
``tol = atol + rtol * max(|a|, |n|)`` (``atol`` defaults to 0, ``rtol`` to 0). In both
cases a numeric value whose own relative error estimate ``e / max(|n|, floor)`` exceeds
``TRUST[dtype]`` (or ``rtol``) cannot support a verdict: the entry is *unreliable*, and
no gradient is blamed on it. Here ``floor = TRUST_FLOOR * G``: an entry a thousand times
smaller than the largest needs its precision on the scale of the gradient, not of itself.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

#: tolerance = SAFETY x the error estimate of the numeric value
SAFETY = 10.0
#: the tolerance never goes below this many units of roundoff of the values compared
FLOOR_ULPS = 100.0
#: entries smaller than NEAR_ZERO x the largest entry are compared against that floor
NEAR_ZERO = 1e-6
#: quick screen: an entry agreeing to SCREEN_SAFETY x its modelled error passes at once
SCREEN_SAFETY = 10.0
#: an entry smaller than TRUST_FLOOR x the largest entry needs its precision on that scale
TRUST_FLOOR = 1e-3
#: the largest relative error estimate a numeric value may have and still support a verdict
TRUST = {"float64": 1e-4, "float32": 1e-2, "float16": 1e-1}


def trust_limit(eps: float) -> float:
    """``TRUST`` for the dtype whose machine epsilon is ``eps``."""
    for dtype, limit in TRUST.items():
        if eps <= float(np.finfo(np.dtype(dtype)).eps):
            return limit
    return max(TRUST.values())


def near_zero_floor(analytic: NDArray[np.float64], numeric: NDArray[np.float64]) -> float:
    """``NEAR_ZERO * G``: the floor of the relative-error denominator."""
    g = float(np.max(np.maximum(np.abs(analytic), np.abs(numeric)), initial=0.0))
    return NEAR_ZERO * g if g > 0 else np.finfo(np.float64).tiny


def relative_error(
    analytic: NDArray[np.float64], numeric: NDArray[np.float64], floor: float
) -> NDArray[np.float64]:
    """``|a - n| / max(|a|, |n|, floor)``, elementwise."""
    denom = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
    return np.asarray(np.abs(analytic - numeric) / denom, dtype=np.float64)


def tolerance(
    analytic: NDArray[np.float64],
    numeric: NDArray[np.float64],
    error: NDArray[np.float64],
    *,
    eps: float,
    rtol: float | None,
    atol: float | None,
) -> NDArray[np.float64]:
    """Per-entry tolerance on ``|a - n|`` (see the module notes)."""
    size = np.maximum(np.abs(analytic), np.abs(numeric))
    if rtol is None and atol is None:
        return np.maximum(SAFETY * error, FLOOR_ULPS * eps * size)
    return np.asarray((atol or 0.0) + (rtol or 0.0) * size, dtype=np.float64)


def trust_floor(
    analytic: NDArray[np.float64], numeric: NDArray[np.float64], error: NDArray[np.float64]
) -> float:
    """``TRUST_FLOOR * G``: entries smaller than this are judged on the scale of ``G``.

    When the whole gradient is zero to within ``SAFETY`` times the numeric error (``G``
    itself is noise), there is no scale to be relative to: the floor is infinite and the
    entries are judged by their absolute tolerance alone.
    """
    g = float(np.max(np.maximum(np.abs(analytic), np.abs(numeric)), initial=0.0))
    if g <= SAFETY * float(np.max(error, initial=0.0)):
        return float("inf")
    return TRUST_FLOOR * g


def unreliable(
    numeric: NDArray[np.float64],
    error: NDArray[np.float64],
    floor: float,
    *,
    eps: float,
    rtol: float | None,
) -> NDArray[np.bool_]:
    """Entries whose numeric value is too uncertain to judge the gradient by."""
    limit = trust_limit(eps) if rtol is None else max(rtol, 0.0)
    rel_err = error / np.maximum(np.abs(numeric), floor)
    return np.asarray(rel_err > limit)
