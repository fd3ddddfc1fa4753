"""Setting up a check: the value at x (twice), the analytic derivative, precision and noise.

Everything the probing strategies (``_entrywise``, ``_directions``) share is gathered into a
:class:`Context` here, once:

1. ``fun`` at ``x``, and the analytic derivative; structure, shapes and dtypes are checked
   (a non-finite analytic entry is let through: it is a wrong gradient, judged as such).
2. ``fun`` at ``x`` again: a nondeterministic function is an error.
3. ``fun`` at one nearby point, for the **precision** of ``fun``: a function computed in
   float32 or float16 inside returns values that float32 (float16) represents exactly (or
   values of that dtype). The check then works at that precision and says so. The
   gradient's dtype is read too.
4. The **noise** of ``fun``: modelled as ``2 EPS_f |f(x)|`` (plus the rounding of x to
   ``EPS_f`` when ``fun`` is less precise than ``x``), or half the grid its values lie on
   when that is far coarser (:func:`granularity`: ``fun`` cancels large terms), until a
   verdict needs it measured:
   :meth:`Context.measure_noise` (Moré–Wild differences on a line, 9 evaluations) runs
   before any *fail* is final and whenever a line cannot be settled.
"""

from __future__ import annotations

import functools
import math
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from gradtest import _finite_diff as fd
from gradtest._evaluate import Evaluator
from gradtest._options import CheckOptions, name_of
from gradtest._params import (
    Float64Array,
    ParamSpec,
    _describe,
    dtype_eps,
    finite_abs_max,
    flatten_params,
    rms,
)
from gradtest._randomness import direction, random_direction
from gradtest._tolerance import NONDET_RTOL, Precision
from gradtest.errors import (
    FunctionEvaluationError,
    GradtestError,
    InvalidArgumentError,
    NondeterminismError,
)

#: relative size of the line used to measure the noise floor (max(1e-6, 1e3 EPS))
NOISE_SPAN = 1e-6
#: points on the noise line
NOISE_POINTS = 9
#: the noise line passes at this relative distance from x (see measure_noise)
NOISE_OFFSET = 1e-3
#: evaluations of fun before any probing: value, repeated value, precision probe
SETUP_COST = 3
#: measured noise above ROUGH x the round-off model makes fun "rough" (see _lines.resolve)
ROUGH = 1e3
#: values of fun that are all multiples of a power of two q with q / 2 above GRANULAR x
#: the round-off model are quantized at q (see granularity): a genuine float64 value has
#: its lowest set bit k places above its last with probability 2**-k, so two values seen
#: raise the noise by chance once in about 2**(2 log2(4 GRANULAR)) = 1,000 checks
GRANULAR = 8.0
#: ... and from a single nonzero value (fun is 0 at x), q / 2 above GRANULAR_LONE x that
#: value's round-off: q at least 2**12 of its ulps, which a genuine float64 value shows
#: once in about 4,000 (at GRANULAR, sum(w**3) at w = 0 showed a grid at every seed; at
#: 256, 2 seeds in 300; at 1024, none in 1,000)
GRANULAR_LONE = 1024.0

_LOW_PRECISIONS = (np.float16, np.float32)

#: arrays among ``args`` up to this many bytes in all are copied before fun first runs, so
#: that a fun whose values drift because it writes to its data is told so
ARGS_SNAPSHOT_BYTES = 16 * 2**20


def noise_floor(
    ev: Evaluator,
    x0: Float64Array,
    f0: NDArray[np.float64],
    rng: np.random.Generator,
    lines: int = 1,
) -> tuple[NDArray[np.float64], float]:
    """Noise level ``sigma`` of each output of ``fun`` near ``x0`` (9 evaluations a line).

    Values at 9 points about ``max(NOISE_SPAN, 1e3 EPS)`` apart relative to the scale of
    ``x`` (each moved off the equal spacing by up to 0.4 of it), feed
    :func:`~gradtest._finite_diff.estimate_noise`. The lines run through ``x0 + u`` with
    ``u`` a random offset of relative size ``NOISE_OFFSET``, not through ``x0``: a kink
    sitting exactly at ``x0`` (ReLU at 0) would pass for noise. Of several lines the
    quietest counts. ``sigma`` is never below ``EPS |f(x0)| / 2``. Returns ``sigma`` and
    the measured level (0 when a line met a non-finite value).
    """
    spec = ev.spec
    eps = spec.eps
    delta = max(NOISE_SPAN, 1e3 * eps)
    flat_f0 = np.atleast_1d(f0).astype(np.float64).ravel()
    estimates = []
    z = np.empty(spec.size)
    for line in range(lines):
        v = _spanning(spec, x0, random_direction(spec, x0, rng))
        centre = _spanning(spec, x0, random_direction(spec, x0, rng))
        centre *= NOISE_OFFSET
        centre += x0
        values = []
        # positions jittered off the equal spacing: a quantized fun (a saturated softmax)
        # gives exactly equal steps at equal spacing, and so looks free of noise
        positions = (
            np.arange(NOISE_POINTS) - NOISE_POINTS // 2 + rng.uniform(-0.4, 0.4, NOISE_POINTS)
        )
        for t in positions.tolist():
            np.multiply(v, t * delta, out=z)
            z += centre
            value = ev.at_point(z, phase="noise", what=f"noise line {line}", owned=True)
            values.append(np.atleast_1d(np.asarray(value, dtype=np.float64)).ravel())
        table = np.array(values)  # (9, m)
        estimates.append([fd.estimate_noise(table[:, k], positions) for k in range(table.shape[1])])
    measured = np.min(np.array(estimates), axis=0)
    measured = np.where(np.isfinite(measured), measured, 0.0)
    sigma = np.maximum(measured, 0.5 * eps * np.abs(flat_f0))
    sigma = np.maximum(sigma, np.finfo(np.float64).tiny)
    return sigma, float(np.max(measured))


def granularity(values: list[NDArray[np.float64]]) -> list[float]:
    """Per output of fun (values: a list of arrays of one value per output, one array per
    point), the largest power of two that every nonzero finite value of that output is a
    multiple of (``inf`` when there is none).

    A float64 value has 53 significant bits; one computed as a small difference of large
    terms (``sum(tanh(z))`` with the ``z`` saturated at both signs: ``-3 + 3 + 3e-13``)
    keeps only the bits of the large terms' grid, so every value fun returns near x is a
    multiple of their ulp, however small the value. That grid, not ``EPS |f|``, is the
    round-off of fun.
    """
    if values[0].size == 1:  # a scalar loss: a few numbers, cheaper in Python than NumPy
        q = math.inf
        for value in (float(v[0]) for v in values):
            if value != 0.0 and math.isfinite(value):
                mantissa, exponent = math.frexp(value)
                bits = int(abs(mantissa) * 2.0**53)  # exact: the significand
                q = min(q, math.ldexp(bits & -bits, exponent - 53))
        return [q]
    v = np.stack(values, axis=1)
    used = np.isfinite(v) & (v != 0.0)
    fractions, exponents = np.frexp(np.where(used, v, 1.0))
    significands = (np.abs(fractions) * 2.0**53).astype(np.int64)
    lowest = np.ldexp((significands & -significands).astype(np.float64), exponents - 53)
    return list(np.min(np.where(used, lowest, np.inf), axis=1).tolist())


def lone_values(values: list[NDArray[np.float64]]) -> list[float | None]:
    """Per output (values as for :func:`granularity`), ``|v|`` when ``v`` is its only
    nonzero finite value, else ``None``."""
    if values[0].size == 1:
        seen = [abs(v) for v in (float(p[0]) for p in values) if v != 0.0 and math.isfinite(v)]
        return [seen[0] if len(seen) == 1 else None]
    v = np.stack(values, axis=1)
    used = np.isfinite(v) & (v != 0.0)
    top = np.max(np.where(used, np.abs(v), 0.0), axis=1).tolist()
    return [t if c == 1 else None for t, c in zip(top, used.sum(axis=1).tolist(), strict=True)]


def on_grid(q: float, roundoff: float, lone: float | None, eps: float) -> bool:
    """Whether values on the grid ``q`` are quantized far more coarsely than the round-off
    model ``roundoff`` says: ``q / 2`` above ``GRANULAR`` times it. From a single nonzero
    value (``lone``, a loss that is 0 at x) the evidence is weaker, and the grid must be
    ``GRANULAR_LONE`` times coarser than that value's own round-off."""
    if not math.isfinite(q):
        return False
    if lone is not None:
        return q / 2 > GRANULAR_LONE * 2 * eps * lone
    return q / 2 > GRANULAR * roundoff


def _spanning(spec: ParamSpec, x0: Float64Array, v: Float64Array) -> Float64Array:
    """``v`` rescaled so that each array's part has the RMS of that array (1 if zero): a
    noise line spans what ``NOISE_SPAN`` says whatever the draw (in one dimension a normal
    draw of 0.01 would shrink it a hundredfold, below the scale where round-off shows)."""
    for k in range(spec.n_blocks):
        blk = spec.block(k)
        v[blk] *= rms(x0[blk]) / rms(v[blk])
    return v


@dataclass
class Context:
    """What every stage of a check needs, set up once."""

    opts: CheckOptions
    ev: Evaluator
    spec: ParamSpec
    x0: Float64Array
    f0: NDArray[np.float64]  # (m,)
    out_shape: tuple[int, ...]
    analytic: NDArray[np.float64]  # (m, n)
    precision: Precision
    sigma: NDArray[np.float64]  # (m,) noise of fun: modelled, then measured
    #: scale of the gradient: the largest |analytic| (finite) entry
    g_scale: float
    notes: list[str] = field(default_factory=list)
    kinks: list[str] = field(default_factory=list)
    noise_measured: bool = False
    measured_noise: float = math.nan
    #: evaluations the noise measurement must leave for probes still planned
    reserve: int = 0
    #: how many times the noise was raised by what the lines saw (a quantum)
    noise_raised: int = 0
    #: values of fun already taken at points of a direction: (direction key, step) -> value
    known: dict[tuple[int, int, int, int, float], NDArray[np.float64]] = field(default_factory=dict)
    rough: bool = False
    #: per output, the smallest nonzero change ``|f(p) - f(x)|`` seen at any point so far
    #: (``inf``: none): fun resolves changes at least that fine
    finest: list[float] = field(default_factory=list)

    @functools.cached_property
    def rng(self) -> np.random.Generator:
        """The generator of the noise lines and the diagnosis (made when first needed)."""
        return np.random.default_rng(self.opts.seed)

    @property
    def m(self) -> int:
        return int(self.analytic.shape[0])

    @property
    def n(self) -> int:
        return self.spec.size

    @property
    def c(self) -> float:
        """The central-difference step relative to an entry's scale, or the user's."""
        if self.opts.step is not None:
            return self.opts.step
        return fd.relative_step("central", self.precision.eps_f)

    def out_index(self, k: int) -> tuple[int, ...]:
        if not self.out_shape:
            return ()
        return tuple(int(j) for j in np.unravel_index(k, self.out_shape))

    def label(self, i: int, k: int = 0) -> str:
        if not self.out_shape:
            return self.spec.label(i)
        return f"d out[{', '.join(map(str, self.out_index(k)))}] / d {self.spec.label(i)}"

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def raise_noise(self, sigma: NDArray[np.float64], why: str) -> None:
        """Raise the noise of ``fun`` to ``sigma`` where that is larger, saying why."""
        self.sigma = np.maximum(self.sigma, sigma)
        self.noise_raised += 1
        self.note(why)

    def measure_noise(self) -> None:
        """Measure the noise of ``fun`` (once), raising ``sigma`` where it is larger.

        Values at 9 points about ``max(NOISE_SPAN, 1e3 EPS)`` apart relative to the scale of
        ``x`` (off the equal spacing: see :func:`noise_floor`) feed
        :func:`~gradtest._finite_diff.estimate_noise`. The line runs
        through ``x + u`` with ``u`` a random offset of relative size ``NOISE_OFFSET``, not
        through ``x``: a kink sitting exactly at ``x`` (ReLU at 0) would pass for noise.
        """
        if self.noise_measured:
            return
        self.noise_measured = True
        if not self.ev.can_afford(NOISE_POINTS + self.reserve):
            return
        modelled = self.sigma
        sigma, measured = noise_floor(self.ev, self.x0, self.f0, self.rng)
        self.measured_noise = measured
        self.sigma = np.maximum(self.sigma, sigma)
        #: fun varies far more than round-off at the noise line's spacing: noise, or
        #: structure finer than the steps (an oscillation), which finite differences
        #: average out while the analytic gradient does not
        self.rough = bool(np.any(sigma > ROUGH * modelled))


def analytic_matrix(
    raw: Any, spec: ParamSpec, out_shape: tuple[int, ...], argname: str
) -> NDArray[np.float64]:
    """The analytic derivative as an (m, n) matrix: m outputs, n parameter entries."""
    if not out_shape:
        return spec.flatten_gradient(raw, argname=argname, finite=False)[None, :]
    m = int(np.prod(out_shape))
    blocks = spec._split_like(raw, argname)
    cols = []
    for k, b in enumerate(blocks):
        arr = np.asarray(b)
        want = out_shape + spec.shapes[k]
        if arr.dtype.kind not in "fiu" or arr.shape != want:
            numbers = arr.dtype.kind in "fiucb"
            got = f"{arr.dtype} shape {arr.shape}" if numbers else _describe(b)
            raise InvalidArgumentError(
                f"{argname} returned {got} for {spec.names[k]}{'' if numbers else ' (not numbers)'}"
                f", expected a real array of shape {want} (output shape {out_shape} followed by "
                f"the shape of {spec.names[k]})"
            )
        cols.append(arr.astype(np.float64).reshape(m, -1))
    return np.concatenate(cols, axis=1)


def _gradient_eps(raw: Any, spec: ParamSpec, argname: str) -> float:
    eps = 0.0
    for b in spec._split_like(raw, argname):
        dt = b.dtype if isinstance(b, np.ndarray) else np.asarray(b).dtype
        if dt.kind == "f":
            eps = max(eps, dtype_eps(dt))
    return eps or _EPS64


_EPS64 = float(np.finfo(np.float64).eps)
_TINY = float(np.finfo(np.float64).tiny)
_F32 = struct.Struct("f")


def _as_float32(v: float) -> float:
    """``v`` rounded to float32 (to inf where float32 overflows)."""
    try:
        return float(_F32.unpack(_F32.pack(v))[0])
    except OverflowError:
        return math.copysign(math.inf, v)


def _plain_float(v: Any) -> float | None:
    """``v`` as a Python float when it is a float64 number (or 0-d array), else None."""
    if type(v) is float:
        return v
    if isinstance(v, (np.ndarray, np.generic)) and v.dtype == np.float64 and v.size == 1:
        return float(v.reshape(-1)[0])
    return None


def _snapshot_args(args: tuple[Any, ...]) -> list[tuple[int, NDArray[Any], NDArray[Any]]]:
    """Copies of the arrays among ``args`` (none when they hold more than
    ``ARGS_SNAPSHOT_BYTES`` in all)."""
    arrays = [(k, a) for k, a in enumerate(args) if isinstance(a, np.ndarray)]
    if sum(a.nbytes for _, a in arrays) > ARGS_SNAPSHOT_BYTES:
        return []
    return [(k, a, a.copy()) for k, a in arrays]


def _raise_if_args_written(
    name: str,
    snapshots: list[tuple[int, NDArray[Any], NDArray[Any]]],
    f0: NDArray[np.float64],
    f0_again: NDArray[np.float64],
) -> None:
    """Two values at x differ: when fun wrote to an array of ``args``, say so (it is not
    randomness, and the user's data has changed)."""
    for k, now, before in snapshots:
        try:
            same = np.array_equal(now, before, equal_nan=now.dtype.kind in "fc")
        except TypeError:  # (an object array whose entries do not compare)
            continue
        if not same:
            raise NondeterminismError(
                f"{name} writes to its argument args[{k}] (an array of shape {now.shape}, "
                f"{now.dtype}): two evaluations at the same x gave {f0.ravel()[:3].tolist()} "
                f"and {f0_again.ravel()[:3].tolist()} because each call changed that data "
                "(gradtest passes args as they are, and your array has changed). Let fun "
                "work on a copy (X = X - m, not X -= m)."
            )


def precision_of(values: list[Any]) -> tuple[float, str]:
    """Machine epsilon of what ``fun`` computes in, judged from values it returned.

    A value of dtype float16/float32 says so directly; float64 values that float32
    (float16) represents exactly, at two different points, say so too: a genuine float64
    result is exactly representable in float32 with probability 2**-29.
    """
    plain = [_plain_float(v) for v in values]
    if all(v is not None for v in plain):
        # float64 numbers (the common loss): float32 representability without NumPy
        numbers = [v for v in plain if v is not None and math.isfinite(v)]
        if all(v == _as_float32(v) for v in numbers) and not all(v == round(v) for v in numbers):
            pass  # possibly low precision: the general path below tells which
        else:
            return _EPS64, ""
    arrays = [np.asarray(v) for v in values]
    for dt in _LOW_PRECISIONS:
        if any(a.dtype == dt for a in arrays):
            return float(np.finfo(dt).eps), f"fun returns {np.dtype(dt).name} values"
    flat = np.concatenate([a.astype(np.float64).ravel() for a in arrays])
    flat = flat[np.isfinite(flat)]
    with np.errstate(all="ignore"):
        # float16 numbers are float32 numbers: a value float32 cannot hold ends the search
        if not np.all(flat.astype(np.float32) == flat) or np.all(flat == np.round(flat)):
            return float(np.finfo(np.float64).eps), ""
    # the same value at x and at a point moved by ~1e-5: a float64 function hardly ever
    # does that, a function that rounds to a coarser precision does
    same = bool(np.all(flat == flat[0]))
    for dt in _LOW_PRECISIONS:
        with np.errstate(all="ignore"):
            exact = bool(np.all(flat.astype(dt).astype(np.float64) == flat))
        if exact:
            name = np.dtype(dt).name
            return float(np.finfo(dt).eps), (
                f"it returned the same {name} number at x and at a nearby point"
                if same
                else f"every value fun returned is exactly a {name} number"
            )
    return float(np.finfo(np.float64).eps), ""


def setup(
    fun: Callable[..., Any],
    deriv: Callable[..., Any] | Literal[True],
    x: Any,
    opts: CheckOptions,
) -> Context:
    """Validate ``x``, evaluate ``fun`` and the derivative at it, read precision and noise."""
    spec, x0 = flatten_params(x)
    name = opts.name
    ev = Evaluator(
        fun,
        opts.args,
        spec,
        x0,
        returns_pair=deriv is True,
        scalar=opts.kind == "gradient",
        name=name,
        vectorized=opts.vectorized,
        executor=opts.executor,
    )
    ev.limit = opts.budget
    snapshots = _snapshot_args(opts.args)
    raw0 = ev.call_at_x(what="x")
    f0 = ev.value(raw0, what="x")
    if not (math.isfinite(f0) if f0.ndim == 0 else np.isfinite(f0).all()):
        raise InvalidArgumentError(f"fun is not finite at x: {name} returned {f0.tolist()!r:.80}")
    out_shape = f0.shape
    kind = opts.kind
    if deriv is True:
        g_raw = raw0[1]
        gname = f"the {'gradient' if kind == 'gradient' else 'Jacobian'} returned by fun"
    else:
        try:
            g_raw = deriv(spec.unflatten(x0), *opts.args)
        except GradtestError:
            raise
        except Exception as err:
            raise FunctionEvaluationError(
                f"{opts.derivname} ({name_of(deriv)}) raised {type(err).__name__} at x: {err}"
            ) from err
        gname = opts.derivname
    analytic = analytic_matrix(g_raw, spec, out_shape, gname)  # (m, n)
    eps_g = _gradient_eps(g_raw, spec, gname)
    del g_raw, raw0
    f0 = np.asarray(f0, dtype=np.float64).reshape(-1)  # (m,)
    again_raw = ev.at_point(np.array(x0), phase="base", what="x (repeated)", owned=True)
    f0_again = np.asarray(again_raw, dtype=np.float64).reshape(-1)
    if f0.size == 1:
        spread, size = abs(float(f0[0]) - float(f0_again[0])), abs(float(f0[0]))
    else:
        spread, size = float(np.max(np.abs(f0 - f0_again))), float(np.max(np.abs(f0)))
    if spread > NONDET_RTOL * max(size, 1e-300):
        _raise_if_args_written(name, snapshots, f0, f0_again)
        raise NondeterminismError(
            f"{name} is not deterministic: two evaluations at the same x gave "
            f"{f0.ravel()[:3].tolist()} and {f0_again.ravel()[:3].tolist()} (spread "
            f"{spread:.3g}). Finite differences cannot see through that: fix the random seed "
            "(dropout, data sampling) or make the function deterministic before checking."
        )
    eps_x = spec.eps
    notes: list[str] = []
    # the precision probe: fun at a nearby point. With one float64 array it is the point
    # the first random direction takes as its smaller step (step c): mode="directions"
    # reuses its value
    c64 = fd.relative_step("central", eps_x)
    known: dict[tuple[int, int, int, int, float], NDArray[np.float64]] = {}
    if spec.n_blocks == 1 and spec.dtypes[0] == np.float64:
        first = direction(spec, opts.seed, 0, 0, rms(x0))
        z = np.empty(spec.size)
        first.add_to(x0, z, c64)
        probe = ev.at_point(z, phase="base", what="a point near x (precision probe)", owned=True)
        known[(*first.key, c64)] = np.asarray(probe, dtype=np.float64).reshape(-1)
    else:
        z = random_direction(spec, x0, np.random.default_rng(opts.seed), uniform=True)
        z *= c64
        z += x0
        probe = ev.at_point(z, phase="base", what="a point near x (precision probe)", owned=True)
    del z
    change = np.abs(np.asarray(probe, dtype=np.float64).reshape(-1) - f0)
    eps_fun, why = precision_of([again_raw, probe])
    eps_f = max(eps_x, eps_fun)
    # the grid fun's values lie on: coarser than their precision when fun cancels large terms
    # (values at two points; the repeated value at x is a third only when it differs)
    points = [f0, np.asarray(probe, dtype=np.float64).reshape(-1)]
    if spread > 0:
        points.append(f0_again)
    grid = granularity(points)
    lone = lone_values(points)
    sizes = np.abs(f0).tolist()
    # (no nonzero value, grid inf: no evidence of a grid)
    coarse = [
        on_grid(q, 2 * eps_f * a, v, eps_f) for q, a, v in zip(grid, sizes, lone, strict=True)
    ]
    # (a value's dtype says float32 outright; otherwise the values were float32 numbers)
    by_grid = any(coarse) and not why.startswith("fun returns")
    if eps_fun > eps_x and not by_grid:
        dtype = "float16" if eps_fun >= float(np.finfo(np.float16).eps) else "float32"
        notes.append(
            f"{name} is computed in about {dtype} precision ({why}): the numeric derivative "
            f"is good to about {eps_f ** (2 / 3):.0e} and the tolerances follow from that"
        )
    elif eps_fun > eps_x:
        # values on a grid coarser than float32's: float32 numbers by the grid, not by a
        # float32 computation (the check still works at that precision)
        notes.append(
            f"{name} returned float32 numbers, all multiples of "
            f"{max(q for q, c in zip(grid, coarse, strict=True) if c):.2g}: the numeric "
            "derivative is taken with steps "
            f"for about float32 precision (good to about {eps_f ** (2 / 3):.0e})"
        )
    if any(spec.dtypes[k] != np.float64 for k in range(spec.n_blocks)):
        low = sorted({str(d) for d in spec.dtypes if d != np.float64})
        msg = (
            f"x has {', '.join(low)} entries: fun is evaluated at those precisions, so the "
            f"numeric derivative is only good to about {eps_x ** (2 / 3):.1e} and the "
            "tolerances follow from that; check in float64 where you can"
        )
        warnings.warn(msg, UserWarning, stacklevel=5)
        notes.append(msg)
    if eps_g > eps_f:
        gdt = "float16" if eps_g >= float(np.finfo(np.float16).eps) else "float32"
        notes.append(
            f"the gradient is {gdt}: it carries only {gdt} precision, and the tolerances "
            "allow for its rounding"
        )
    # (overflow is ignored here: a check runs under np.errstate(all="ignore"))
    g_scale = finite_abs_max(analytic)
    sigma = 2 * eps_f * np.abs(f0)
    if eps_fun > eps_x:
        # fun rounds x to its own precision: f moves by up to EPS_f sum |g_i x_i|
        finite_a = np.where(np.isfinite(analytic), analytic, 0.0)
        sigma = sigma + eps_f * (np.abs(finite_a) @ np.abs(x0))
    sigma = np.maximum(sigma, _TINY)
    coarse = [on_grid(q, r, v, eps_f) for q, r, v in zip(grid, sigma.tolist(), lone, strict=True)]
    if any(coarse):
        sigma = np.where(coarse, np.array(grid) / 2, sigma)
        step = max(q for q, c in zip(grid, coarse, strict=True) if c)
        size = max(max(a, v or 0.0) for a, v, c in zip(sizes, lone, coarse, strict=True) if c)
        notes.append(
            f"{name} returns multiples of {step:.2g} near x, far coarser than values of "
            f"{size:.2g} resolve: it cancels larger terms (or rounds to a grid), and the "
            "error estimates count with that rounding"
        )
    if spread > 0:
        sigma = np.maximum(sigma, spread)
        notes.append(f"two evaluations at x differed by {spread:.2g}; counted as noise")
    return Context(
        opts=opts,
        ev=ev,
        spec=spec,
        x0=x0,
        f0=f0,
        out_shape=out_shape,
        analytic=analytic,
        precision=Precision(eps_x=eps_x, eps_f=eps_f, eps_g=eps_g, rtol=opts.rtol, atol=opts.atol),
        sigma=sigma,
        g_scale=g_scale,
        notes=notes,
        known=known,
        finest=[d if d > 0 and math.isfinite(d) else math.inf for d in change.tolist()],
    )
