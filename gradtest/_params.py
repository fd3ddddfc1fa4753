"""Parameters: validation of ``x`` and of gradients, flattening and entry labels.

gradtest works on one flat float64 vector ``z`` of all parameter entries. ``ParamSpec``
remembers the structure the user passed (one array, a tuple or a dict of arrays) so that
every call of the user's function receives that structure again, and so that every entry
of ``z`` has a readable label such as ``W[3, 7]``.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from gradtest.errors import InvalidArgumentError

Float64Array = NDArray[np.float64]
Kind = Literal["array", "tuple", "dict"]


_EPS_OF = {np.dtype(d): float(np.finfo(d).eps) for d in (np.float16, np.float32, np.float64)}


def dtype_eps(dtype: Any) -> float:
    """Machine epsilon of a floating dtype (a lookup for the common ones)."""
    eps = _EPS_OF.get(dtype)
    return eps if eps is not None else float(np.finfo(dtype).eps)


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, Mapping):
        return f"a dict with keys {_keys(sorted(value, key=repr))}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"{type(value).__name__} {value!r:.60}"


def _keys(keys: Any) -> str:
    """Dict keys as a list of their reprs, so that ``1`` and ``'1'`` can be told apart."""
    return "[" + ", ".join(map(repr, keys)) + "]"


def _format_index(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in index) + "]" if index else ""


@dataclass(frozen=True)
class ParamSpec:
    """The structure of the parameters ``x``: names, shapes, dtypes and flat offsets."""

    kind: Kind
    names: tuple[str, ...]
    keys: tuple[Any, ...]
    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[np.dtype[Any], ...]
    offsets: tuple[int, ...]

    @property
    def size(self) -> int:
        return self.offsets[-1]

    @property
    def n_blocks(self) -> int:
        return len(self.names)

    def block(self, k: int) -> slice:
        return slice(self.offsets[k], self.offsets[k + 1])

    def block_of(self, i: int) -> int:
        """Block number of flat entry ``i`` (a bisection of the offsets, no NumPy call)."""
        return bisect.bisect_right(self.offsets, i) - 1 if self.n_blocks > 1 else 0

    def locate(self, i: int) -> tuple[int, tuple[int, ...]]:
        """Block number and multi-index of flat entry ``i``."""
        k = self.block_of(i)
        local = i - self.offsets[k]
        shape = self.shapes[k]
        index = tuple(int(j) for j in np.unravel_index(local, shape)) if shape else ()
        return k, index

    def label(self, i: int) -> str:
        k, index = self.locate(i)
        return self.names[k] + _format_index(index)

    def blocks_of(self, indices: NDArray[np.intp]) -> NDArray[np.intp]:
        """:meth:`block_of` for many entries at once."""
        return np.searchsorted(np.asarray(self.offsets), indices, side="right") - 1

    def labels(self, indices: NDArray[np.intp]) -> list[str]:
        """:meth:`label` of many entries at once (one unravel per array)."""
        out = [""] * len(indices)
        blocks = self.blocks_of(indices)
        for kk in np.unique(blocks).tolist():
            k = int(kk)
            where = np.flatnonzero(blocks == k)
            shape = self.shapes[k]
            if not shape:
                for pos in where.tolist():
                    out[pos] = self.names[k]
                continue
            local = indices[where] - self.offsets[k]
            coords = np.stack(np.unravel_index(local, shape), axis=1).tolist()
            for w, c in zip(where.tolist(), coords, strict=True):
                out[w] = f"{self.names[k]}[{', '.join(map(str, c))}]"
        return out

    @functools.cached_property
    def eps(self) -> float:
        """Machine epsilon of the least precise parameter dtype."""
        return max(dtype_eps(d) for d in self.dtypes)

    def unflatten(self, z: NDArray[Any], *, complex_: bool = False, copy: bool = True) -> Any:
        """Arrays in the user's structure and dtypes from the flat vector ``z``.

        Fresh copies, unless ``copy=False`` allows views of ``z`` where the dtype matches.
        """
        if not copy and not complex_ and self.kind == "array" and self.dtypes[0] == np.float64:
            return z.reshape(self.shapes[0])
        arrays = []
        for k in range(self.n_blocks):
            dtype: Any = self.dtypes[k]
            if complex_:
                dtype = np.result_type(dtype, np.complex64)
            block = z[self.block(k)]
            arr = np.array(block, dtype=dtype) if copy else np.asarray(block, dtype=dtype)
            arrays.append(arr.reshape(self.shapes[k]))
        return self.pack(arrays)

    def pack(self, arrays: list[NDArray[Any]]) -> Any:
        if self.kind == "array":
            return arrays[0]
        if self.kind == "tuple":
            return tuple(arrays)
        return dict(zip(self.keys, arrays, strict=True))

    def flatten_gradient(self, g: Any, *, argname: str, finite: bool = True) -> Float64Array:
        """Validate a gradient against this structure and return it as flat float64.

        ``finite=False`` lets non-finite entries through (a check judges them as wrong).
        """
        blocks = self._split_like(g, argname)
        out = np.empty(self.size, dtype=np.float64)
        for k, b in enumerate(blocks):
            where = f"{argname}" + ("" if self.kind == "array" else f" for {self.names[k]}")
            if self.kind == "array" and _is_sequence_of_arrays(b, self.shapes[k]):
                shapes = ", ".join(str(np.shape(part)) for part in b)
                raise InvalidArgumentError(
                    f"{argname} returned a {type(b).__name__} of {len(b)} arrays (shapes "
                    f"{shapes}) where one array was expected: x is a single array of shape "
                    f"{self.shapes[k]}; return its gradient as one array of that shape"
                )
            arr = _as_real_array(b, where)
            if arr.shape != self.shapes[k]:
                out_shape = self.shapes[k]
                hint = ""
                if arr.shape == out_shape[::-1] and len(out_shape) == 2:
                    hint = ": did you return the transpose?"
                elif arr.size == int(np.prod(out_shape)):
                    hint = f": reshape it to {out_shape}"
                raise InvalidArgumentError(
                    f"{where} has shape {arr.shape} but {self.names[k]} has shape {out_shape}{hint}"
                )
            if finite:
                _require_finite(arr, where, self.names[k])
            out[self.block(k)] = arr.ravel()
        return out

    def _split_like(self, g: Any, argname: str) -> list[Any]:
        if self.kind == "array":
            if isinstance(g, (Mapping, tuple, list)) and not np.isscalar(g):
                if isinstance(g, (tuple, list)) and len(g) == 1:
                    raise InvalidArgumentError(
                        f"{argname} returned a {type(g).__name__} of one array but x is a "
                        "single array: return the array itself"
                    )
                if isinstance(g, Mapping):
                    raise InvalidArgumentError(
                        f"{argname} returned {_describe(g)} but x is a single array"
                    )
            return [g]
        if self.kind == "tuple":
            if not isinstance(g, (tuple, list)) or len(g) != self.n_blocks:
                raise InvalidArgumentError(
                    f"{argname} returned {_describe(g)} but x is a tuple of "
                    f"{self.n_blocks} arrays: return one gradient per array, in the same order"
                )
            return list(g)
        if not isinstance(g, Mapping):
            raise InvalidArgumentError(
                f"{argname} returned {_describe(g)} but x is a dict with keys "
                f"{_keys(self.keys)}: return a dict with the same keys"
            )
        missing = [key for key in self.keys if key not in g]
        extra = [key for key in g if key not in self.keys]
        if missing or extra:
            raise InvalidArgumentError(
                f"{argname} returned a dict with keys {_keys(sorted(g, key=repr))} but x has keys "
                f"{_keys(self.keys)} (missing: {_keys(missing)}, unexpected: {_keys(extra)})"
            )
        return [g[key] for key in self.keys]


def _is_sequence_of_arrays(value: Any, shape: tuple[int, ...]) -> bool:
    """A tuple or list holding arrays (not a nested list of numbers) that do not stack
    to ``shape``."""
    if not isinstance(value, (tuple, list)) or not any(
        not isinstance(part, (tuple, list)) and np.ndim(part) > 0 for part in value
    ):
        return False
    try:
        return np.shape(value) != shape
    except ValueError:  # arrays of different shapes
        return True


def _as_real_array(value: Any, where: str) -> NDArray[Any]:
    try:
        arr = np.asarray(value)
    except Exception as err:  # pragma: no cover - exotic array-likes
        raise InvalidArgumentError(f"{where} is not array-like: got {_describe(value)}") from err
    if arr.dtype.kind == "c":
        raise InvalidArgumentError(
            f"{where} has complex dtype {arr.dtype}: gradtest checks real gradients"
        )
    if arr.dtype.kind not in "fiub":
        raise InvalidArgumentError(
            f"{where} must hold real numbers, got dtype {arr.dtype} ({_describe(value)})"
        )
    return arr


def _require_finite(arr: NDArray[Any], where: str, name: str) -> None:
    with np.errstate(all="ignore"):
        if math.isfinite(float(np.add.reduce(arr, axis=None, dtype=np.float64))):
            return  # a sum is finite only if every entry is (one pass, no temporary)
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(j) for j in np.argwhere(bad)[0]) if arr.ndim else ()
        raise InvalidArgumentError(
            f"{where} is not finite: {name}{_format_index(first)} = {arr[first]} "
            f"({int(bad.sum())} non-finite entr{'y' if bad.sum() == 1 else 'ies'})"
        )


def _check_x_array(value: Any, name: str) -> NDArray[Any]:
    if isinstance(value, np.ma.MaskedArray):
        raise InvalidArgumentError(
            f"{name} is a masked array: gradtest moves every entry and cannot leave the masked "
            f"ones out; pass {name}.filled(value) or np.asarray({name}) (the values under the "
            "mask)"
        )
    if isinstance(value, np.matrix):
        raise InvalidArgumentError(
            f"{name} is an np.matrix of shape {value.shape}, where * and ** are matrix "
            f"products and every result stays 2-D; pass np.asarray({name})"
        )
    if isinstance(value, np.ndarray):
        arr = value
    elif isinstance(value, (float, int, list, np.number)) and not isinstance(value, bool):
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError) as err:
            raise InvalidArgumentError(
                f"{name} must be a floating-point ndarray; the list given cannot be made into "
                f"one ({err}): are its rows of different lengths?"
            ) from err
        if arr.dtype == object:
            raise InvalidArgumentError(
                f"{name} must be a floating-point ndarray; the list given holds "
                "objects or rows of different lengths"
            )
    else:
        raise InvalidArgumentError(
            f"{name} must be a floating-point ndarray, got {_describe(value)}"
        )
    if arr.dtype.kind == "b":
        raise InvalidArgumentError(
            f"{name} holds booleans (dtype bool): True and False cannot be moved by a small "
            "step, so they have no derivative; pass floating-point values (1.0 and 0.0), or "
            "a mask as one of args"
        )
    if arr.dtype.kind in "iu":
        raise InvalidArgumentError(
            f"{name} has integer dtype {arr.dtype}: finite differences need floating point; "
            + (
                f"pass {name}.astype(np.float64)"
                if isinstance(value, np.ndarray)
                else "pass floats (3.0, not 3)"
            )
        )
    if arr.dtype.kind != "f":
        raise InvalidArgumentError(
            f"{name} must have a real floating dtype (float16, float32 or float64), got {arr.dtype}"
        )
    if arr.dtype not in _EPS_OF and dtype_eps(arr.dtype) < _EPS_OF[np.dtype(np.float64)]:
        raise InvalidArgumentError(
            f"{name} has dtype {arr.dtype} (np.longdouble), but gradtest checks float16, float32 "
            f"or float64 and would round it to float64 silently; pass "
            f"np.asarray({name}, dtype=np.float64)"
        )
    if arr.size == 0:
        raise InvalidArgumentError(f"{name} has no entries (shape {arr.shape}): nothing to check")
    _require_finite(arr, name, name)
    return arr


def flatten_params(x: Any, argname: str = "x") -> tuple[ParamSpec, Float64Array]:
    """Validate ``x`` and return its structure and a flat float64 copy of its entries."""
    if isinstance(x, Mapping):
        if not x:
            raise InvalidArgumentError(f"{argname} is an empty dict: nothing to check")
        keys = tuple(x)
        names = tuple(str(k) for k in keys)
        arrays = [_check_x_array(x[k], f"{argname}[{k!r}]") for k in keys]
        kind: Kind = "dict"
    elif isinstance(x, tuple):
        if not x:
            raise InvalidArgumentError(f"{argname} is an empty tuple: nothing to check")
        keys = tuple(range(len(x)))
        names = tuple(f"{argname}[{i}]" for i in keys)
        arrays = [_check_x_array(a, n) for a, n in zip(x, names, strict=True)]
        kind = "tuple"
    else:
        keys = (None,)
        names = (argname,)
        arrays = [_check_x_array(x, argname)]
        kind = "array"
    offsets = (0, *itertools.accumulate(int(a.size) for a in arrays))
    spec = ParamSpec(
        kind=kind,
        names=names,
        keys=keys,
        shapes=tuple(a.shape for a in arrays),
        dtypes=tuple(a.dtype for a in arrays),
        offsets=offsets,
    )
    if len(arrays) == 1 and arrays[0].dtype == np.float64 and arrays[0].flags.c_contiguous:
        # a read-only view: no copy of a large x (gradtest never writes to it)
        flat = arrays[0].reshape(-1).view()
        flat.flags.writeable = False
    else:
        flat = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])
    return spec, flat


def as_output(value: Any, *, where: str, scalar: bool, allow_complex: bool) -> NDArray[Any]:
    """Validate the type and shape of a function value: a scalar (``scalar=True``) or array."""
    if isinstance(value, tuple) and scalar:
        raise InvalidArgumentError(
            f"{where} returned a tuple of length {len(value)} where a scalar loss was expected: "
            "if fun returns (loss, gradient), pass grad=True"
        )
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as err:
        raise InvalidArgumentError(
            f"{where} must return a real number, got {_describe(value)}"
        ) from err
    if arr.dtype.kind == "b":
        raise InvalidArgumentError(
            f"fun must return a real number: {where} returned a boolean ({_describe(value)}) "
            "where a real-valued loss was expected: a bool has no derivative; return the loss "
            "as a float"
        )
    if arr.dtype.kind == "c" and not allow_complex:
        raise InvalidArgumentError(f"{where} returned a complex value {value!r:.60}")
    if arr.dtype.kind not in "fiuc":
        raise InvalidArgumentError(f"{where} must return a real number, got {_describe(value)}")
    if scalar:
        if arr.size != 1:
            raise InvalidArgumentError(
                f"{where} must return a scalar loss, got an array of shape {arr.shape}: "
                "reduce it (sum or mean), or use check_jacobian for vector-valued functions"
            )
        arr = arr.reshape(())
    return arr


#: chunk size of the memory-frugal reductions below
_CHUNK = 1 << 16


def rms(x: Float64Array) -> float:
    """Root mean square of ``x`` without a temporary copy (1 for an all-zero array)."""
    r = float(np.sqrt(np.dot(x, x) / x.size)) if x.size else 0.0
    return r if r > 0 else 1.0


def finite_abs_max(a: NDArray[np.float64]) -> float:
    """The largest finite ``|a_i|``, computed in chunks (no copy of ``a``)."""
    flat = a.reshape(-1)
    if 0 < flat.size <= _CHUNK:
        best = float(np.maximum.reduce(np.abs(flat)))
        if math.isfinite(best):
            return best  # (one pass when every entry is finite, the common case)
    best = 0.0
    for start in range(0, flat.size, _CHUNK):
        part = np.abs(flat[start : start + _CHUNK])
        part = part[np.isfinite(part)]
        if part.size:
            best = max(best, float(part.max()))
    return best


def weighted_sizes(
    a: NDArray[np.float64], x: Float64Array, floor: float
) -> tuple[Float64Array, Float64Array]:
    """For each row ``k`` of ``a`` (m, n), over finite ``a_ki`` and with
    ``s_i = max(|x_i|, floor)``: ``sqrt(sum_i (a_ki s_i)**2)`` and ``sum_i |a_ki| s_i``,
    in chunks."""
    if x.size <= _CHUNK:
        part = np.abs(a)
        if math.isfinite(float(np.add.reduce(part, axis=None))):
            s = np.abs(x)
            np.maximum(s, floor, out=s)
            part *= s
            return np.sqrt(np.einsum("ij,ij->i", part, part)), np.add.reduce(part, axis=1)
    squares = np.zeros(a.shape[0])
    sums = np.zeros(a.shape[0])
    for start in range(0, x.size, _CHUNK):
        stop = start + _CHUNK
        part = np.abs(a[:, start:stop])
        if not math.isfinite(float(part.sum())):
            part[~np.isfinite(part)] = 0.0
        part *= np.maximum(np.abs(x[start:stop]), floor)
        squares += np.einsum("ij,ij->i", part, part)
        sums += part.sum(axis=1)
    return np.sqrt(squares), sums
