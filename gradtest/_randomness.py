"""Randomness of a check: random directions, drawn cheaply and reproducibly.

Everything random in a check comes from its ``seed``: the directions of
``mode="directions"`` (:class:`Direction`, regenerable chunk by chunk from
``(seed, array, chunk)`` through :func:`keyed_generator`), the precision probe, the noise
lines and the Taylor test (:func:`random_direction`).
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from gradtest._params import Float64Array, ParamSpec, rms

#: directions are generated in chunks of this many entries (never a whole n-vector)
CHUNK = 1 << 16
#: arrays up to this size keep their directions while a check runs
CACHED_SIZE = 1 << 17
#: per thread: the scratch generator of keyed_generator (``pair``) and the directions'
#: chunks kept while a check runs (``chunks``); checks in parallel threads share neither
_LOCAL = threading.local()
#: the values of a direction have magnitudes uniform on [1/2, 3/2) (mean square 13/12) and
#: random signs, times this (variance 1): never near zero, so that a single wrong entry
#: moves every directional derivative by at least a third of what it typically does
#: (uniform values near 0 hid a wrong entry twice the size the fuzz test requires gradtest
#: to fail from a direction about once in 40 draws: benchmarks/bench_small_bugs.py)
_UNIT_VARIANCE = math.sqrt(12.0 / 13.0)
#: the largest magnitude of a value of :func:`unit_random`
UNIT_MAX = 1.5 * _UNIT_VARIANCE


def _signed_magnitudes(u: Float64Array) -> Float64Array:
    """``u`` uniform on ``[0, 1)`` to values of magnitude uniform on ``[1/2, 3/2)`` with
    random signs, in place."""
    u -= 0.5
    signs = np.copysign(0.5, u)
    u *= 2.0
    u += signs
    return u


def forget() -> None:
    """Drop the directions kept while a check ran (in this thread)."""
    _kept().clear()


def _kept() -> dict[tuple[int, int, int], Float64Array]:
    kept: dict[tuple[int, int, int], Float64Array] | None = getattr(_LOCAL, "chunks", None)
    if kept is None:
        kept = _LOCAL.chunks = {}
    return kept


def direction(spec: ParamSpec, seed: int, k: int, j: int, rms_k: float) -> Direction:
    """The ``j``-th random direction of a check, moving array ``k`` (of RMS size ``rms_k``)."""
    blk = spec.block(k)
    return Direction(
        seed=seed * 1009 + j,
        block=k,
        lo=blk.start,
        hi=blk.stop,
        rms=rms_k,
        block_start=blk.start,
        hi_block=blk.stop,
    )


def keyed_generator(*key: int) -> np.random.Generator:
    """A generator whose stream is fixed by ``key`` (a seed and indices), made cheaply.

    PCG64 started at a state and increment hashed from ``key`` (BLAKE2b): the thread's own
    scratch generator is set to that state, which costs a microsecond where seeding a new
    generator through ``SeedSequence`` costs ten. The generator returned is valid until
    the next call in the same thread.
    """
    scratch = getattr(_LOCAL, "pair", None)
    if scratch is None:
        bits = np.random.PCG64(0)
        scratch = _LOCAL.pair = (bits, np.random.Generator(bits))
    digest = hashlib.blake2b(repr(key).encode(), digest_size=32).digest()
    scratch[0].state = {
        "bit_generator": "PCG64",
        "state": {
            "state": int.from_bytes(digest[:16], "little"),
            "inc": int.from_bytes(digest[16:], "little") | 1,
        },
        "has_uint32": 0,
        "uinteger": 0,
    }
    return scratch[1]


def unit_random(rng: np.random.Generator, size: int) -> Float64Array:
    """``size`` independent values of mean 0 and variance 1, none near zero: magnitudes
    uniform on ``[1/2, 3/2)`` times ``sqrt(12/13)``, with random signs, drawn about 1.4
    times faster than normal ones (any continuous distribution makes a random direction see
    every error with probability one; one bounded away from zero also sees a single wrong
    entry by a margin)."""
    v = _signed_magnitudes(rng.random(size))
    v *= _UNIT_VARIANCE
    return v


def random_direction(
    spec: ParamSpec, x: Float64Array, rng: np.random.Generator, *, uniform: bool = False
) -> Float64Array:
    """A standard normal direction (or :func:`unit_random` with ``uniform=True``, cheaper),
    each array scaled to its own RMS size (1 if zero)."""
    v = unit_random(rng, spec.size) if uniform else rng.standard_normal(spec.size)
    for k in range(spec.n_blocks):
        blk = spec.block(k)
        v[blk] *= rms(x[blk])
    return v


@dataclass
class Direction:
    """A random direction restricted to entries ``[lo, hi)`` of one array, made in chunks.

    ``v_i = z_i * s_i`` with ``z`` of mean 0 and variance 1
    (:func:`unit_random`, never near zero) from a generator seeded by ``(seed, chunk)``, and
    ``s_i = max(|x_i|, rms of the array)``: any part of it can be regenerated, so no
    n-vector is stored.
    """

    seed: int
    block: int
    lo: int
    hi: int
    rms: float
    block_start: int
    #: the end of the array in the flat vector (chunks are counted from ``block_start``)
    hi_block: int = 0
    #: (buffer, [(buffer part, x part, v part)]) of the last :meth:`add_to`, for reuse
    _views: tuple[Float64Array, list[tuple[Float64Array, ...]]] | None = field(
        default=None, repr=False, compare=False
    )

    @property
    def whole(self) -> bool:
        """Whether the direction moves its whole array (not a part, as bisection does)."""
        return self.lo == self.block_start and self.hi == self.hi_block

    @property
    def key(self) -> tuple[int, int, int, int]:
        """What fixes the direction: seed, array and the entries it moves."""
        return (self.seed, self.block, self.lo, self.hi)

    def chunks(self, x0: Float64Array) -> list[tuple[int, int]]:
        if self.hi - self.block_start <= CHUNK:
            return [(self.lo, self.hi)] if self.lo < self.hi else []
        out = []
        start = self.lo
        while start < self.hi:
            stop = min(
                self.hi, (start - self.block_start) // CHUNK * CHUNK + CHUNK + self.block_start
            )
            out.append((start, stop))
            start = stop
        return out

    def part(self, x0: Float64Array, a: int, b: int) -> Float64Array:
        """``v[a:b]`` (``a, b`` within one chunk), read-only: callers must not write to it."""
        chunk = (a - self.block_start) // CHUNK
        base = self.block_start + chunk * CHUNK
        key = (self.seed, self.block, chunk)
        kept = _kept()
        scaled = kept.get(key)
        if scaled is None:
            keep = self.hi_block - self.block_start <= CACHED_SIZE
            stop = min(base + CHUNK, self.hi_block)
            # s_i times sqrt(12/13), shared by every direction of the array
            widths = kept.get((-1, self.block, chunk)) if keep else None
            if widths is None:
                widths = np.abs(x0[base:stop])
                np.maximum(widths, self.rms, out=widths)
                widths *= _UNIT_VARIANCE
                if keep:
                    kept[(-1, self.block, chunk)] = widths
            # unit_random's values times s_i
            scaled = keyed_generator(self.seed, self.block, chunk).random(stop - base)
            _signed_magnitudes(scaled)
            scaled *= widths
            if keep:
                kept[key] = scaled
        return scaled[a - base : b - base]

    def restrict(self, lo: int, hi: int) -> Direction:
        return Direction(self.seed, self.block, lo, hi, self.rms, self.block_start, self.hi_block)

    def dot(
        self, x0: Float64Array, w: NDArray[np.float64], *, absolute: bool = True
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``w @ v`` for ``w`` of shape (m, n), and ``|w| @ |v|`` (zeros unless asked)."""
        if not absolute and self.hi - self.block_start <= CHUNK and self.lo < self.hi:
            # one chunk (0.0 + y is y, as the sum below makes it, -0.0 included)
            total = w[:, self.lo : self.hi] @ self.part(x0, self.lo, self.hi)
            total += 0.0
            return total, np.zeros(w.shape[0])
        total = np.zeros(w.shape[0])
        sizes = np.zeros(w.shape[0])
        for a, b in self.chunks(x0):
            v = self.part(x0, a, b)
            total += w[:, a:b] @ v
            if absolute:
                sizes += np.abs(w[:, a:b]) @ np.abs(v)
        return total, sizes

    def add_to(self, x0: Float64Array, z: Float64Array, t: float) -> None:
        """``z = x0 + t v`` (z is a full-size buffer)."""
        if self.lo > 0 or self.hi < z.size:
            z[...] = x0
        memo = self._views
        if memo is not None and memo[0] is z:
            views = memo[1]
        else:
            views = [(z[a:b], x0[a:b], self.part(x0, a, b)) for a, b in self.chunks(x0)]
            if self.hi_block - self.block_start <= CACHED_SIZE:
                self._views = (z, views)  # the parts of v are kept while the check runs
        for zs, xs, vs in views:
            np.multiply(vs, t, out=zs)
            zs += xs
