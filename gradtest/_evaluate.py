"""Calling the user's function: copies in, errors wrapped, evaluations counted.

Every evaluation goes through :class:`Evaluator`, which

- hands ``fun`` fresh arrays in the user's structure and dtypes (the user's own arrays
  are never passed, so they cannot be modified, not even when ``fun`` raises half-way);
- turns an exception into :class:`~gradtest.errors.FunctionEvaluationError` that names
  the evaluation and the perturbed entry;
- counts the calls, by phase, for ``GradCheckResult.n_evals``.
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradtest._params import Float64Array, ParamSpec, as_output
from gradtest.errors import FunctionEvaluationError, GradtestError, InvalidArgumentError

Fun = Callable[..., Any]

#: with vectorized=True, one call receives at most this many bytes of stacked inputs
VECTOR_BYTES = 64 * 2**20
#: with an executor, the perturbations of one phase go out in this many chunks
EXECUTOR_CHUNKS = 16


def _describe_delta(delta: complex | float) -> str:
    if isinstance(delta, complex):
        return f"{delta.imag:+.3g}i"
    return f"{delta:+.3g}"


#: loss values that need no validation
_PLAIN_FLOATS = (float, np.float64)


class Evaluator:
    """Evaluate ``fun(x, *args)`` at ``x0`` and at perturbations of it.

    Parameters
    ----------
    fun, args
        The user's function and its extra arguments.
    spec, x0
        The parameter structure and the flat float64 point.
    returns_pair
        ``fun`` returns ``(value, gradient)`` (``grad=True``); only the value is kept.
    vectorized
        ``fun`` takes a stack of inputs (a leading axis on every array) and returns one
        value per input; a phase's perturbations go in as few calls as memory allows
        (``VECTOR_BYTES``). ``n_evals`` still counts points, not calls.
    executor
        A ``concurrent.futures.Executor``: a phase's perturbations are split into chunks
        evaluated by its workers, each on its own copy of ``x``.
    scalar
        The value must be a scalar (``check_grad``) or may be an array (``check_jacobian``).
    name
        The function's name, for messages.
    """

    def __init__(
        self,
        fun: Fun,
        args: tuple[Any, ...],
        spec: ParamSpec,
        x0: Float64Array,
        *,
        returns_pair: bool,
        scalar: bool,
        name: str,
        vectorized: bool = False,
        executor: Executor | None = None,
    ) -> None:
        self.fun = fun
        self.args = args
        self.spec = spec
        self.x0 = x0
        self.returns_pair = returns_pair
        self.scalar = scalar
        self.name = name
        self.vectorized = vectorized
        self.executor = executor
        #: the evaluation budget (None: no limit); phases ask can_afford before spending
        self.limit: int | None = None
        self.counts: Counter[str] = Counter()
        self.output_shape: tuple[int, ...] | None = None
        self._work: _WorkingCopy | None = None
        #: the shape a flat float64 point of gradtest's own is handed to fun in, as a view,
        #: when fun takes one float64 array and is called here (None: through at_points)
        self._view_shape: tuple[int, ...] | None = (
            spec.shapes[0]
            if spec.kind == "array"
            and spec.dtypes[0] == np.float64
            and not vectorized
            and executor is None
            else None
        )
        #: a plain float answer needs no validation
        self._float_ok = scalar and not returns_pair

    @property
    def n_evals(self) -> int:
        return sum(self.counts.values())

    def can_afford(self, evaluations: int) -> bool:
        """Whether ``evaluations`` more calls stay within the budget."""
        return self.limit is None or self.n_evals + evaluations <= self.limit

    def call_at_x(self, *, what: str) -> Any:
        """The raw answer of ``fun`` at ``x0`` (a stack of one when vectorized)."""
        xs = self.spec.unflatten(self.x0)
        if not self.vectorized:
            given = list(xs.values()) if isinstance(xs, dict) else []
            raw = self.call(xs, phase="base", what=what)
            for key, arr in zip(self.spec.keys, given, strict=False):
                if xs.get(key) is not arr:
                    raise FunctionEvaluationError(
                        f"{self.name} replaced x[{key!r}] in the dict it was given: a checked "
                        "function must not write to x (build a new dict instead)"
                    )
                if not np.array_equal(
                    arr.reshape(-1), self.x0[self.spec.block(self.spec.keys.index(key))]
                ):
                    raise FunctionEvaluationError(
                        f"{self.name} modified its input in place (x[{key!r}] changed): a "
                        "checked function must not write to x"
                    )
            return raw
        arrays = xs.values() if isinstance(xs, dict) else (xs if isinstance(xs, tuple) else [xs])
        raw = self.call(self.spec.pack([a[None] for a in arrays]), phase="base", what=what)

        def first(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: np.asarray(v)[0] for k, v in value.items()}
            if isinstance(value, (tuple, list)):
                return type(value)(np.asarray(v)[0] for v in value)
            return np.asarray(value)[0]

        value = raw[0] if self.returns_pair and isinstance(raw, (tuple, list)) else raw
        if np.ndim(value) < 1 or np.shape(value)[0] != 1:
            # no numbers at all (None, a str) is said as without vectorized=True
            as_output(value, where=f"{self.name} (at {what})", scalar=False, allow_complex=True)
            raise InvalidArgumentError(
                f"with vectorized=True, {self.name} receives a stack of inputs (a leading axis "
                f"of length 1 here) and must return one value per input; it returned shape "
                f"{np.shape(value)}"
            )
        if self.returns_pair and isinstance(raw, (tuple, list)) and len(raw) == 2:
            return (np.asarray(raw[0])[0], first(raw[1]))
        return np.asarray(raw)[0]

    def call(self, xs: Any, *, phase: str, what: str, count: int = 1) -> Any:
        """Call ``fun`` on structured input ``xs`` and return its raw answer."""
        self.counts[phase] += count
        try:
            return self.fun(xs, *self.args)
        except GradtestError:
            raise
        except Exception as err:
            raise self._raised(err, phase, what) from err

    def _raised(self, err: Exception, phase: str, what: str) -> FunctionEvaluationError:
        return FunctionEvaluationError(
            f"{self.name} raised {type(err).__name__} at evaluation "
            f"{self.n_evals} ({phase}: {what}): {err}"
        )

    def value(self, raw: Any, *, what: str, allow_complex: bool = False) -> NDArray[Any]:
        """The value part of a raw answer, validated."""
        if self.returns_pair:
            if not isinstance(raw, (tuple, list)) or len(raw) != 2:
                raise InvalidArgumentError(
                    f"with grad=True, fun must return (value, gradient); {self.name} returned "
                    f"{type(raw).__name__} at {what}"
                )
            raw = raw[0]
        out = as_output(
            raw, where=f"{self.name} (at {what})", scalar=self.scalar, allow_complex=allow_complex
        )
        if out.size == 0:
            raise InvalidArgumentError(
                f"{self.name} (at {what}) returned an array with no entries (shape {out.shape}): "
                "there is no derivative to check; return at least one output"
            )
        if self.output_shape is None:
            self.output_shape = out.shape
        elif out.shape != self.output_shape:
            raise InvalidArgumentError(
                f"{self.name} returned shape {out.shape} at {what} but shape "
                f"{self.output_shape} at x: the output shape must not depend on x"
            )
        return out

    def at_point(
        self, z: NDArray[Any], *, phase: str, what: str, owned: bool = False
    ) -> NDArray[Any]:
        """Value at a whole flat point ``z``.

        ``fun`` gets a fresh copy of the structure, unless ``owned`` says that ``z`` is a
        temporary of gradtest's own that ``fun`` may receive as it is.
        """
        shape = self._view_shape
        if owned and shape is not None and z.dtype.kind == "f":
            # the common case, without a layer between fun and the point
            self.counts[phase] += 1
            try:
                raw = self.fun(z.reshape(shape), *self.args)
            except GradtestError:
                raise
            except Exception as err:
                raise self._raised(err, phase, what) from err
            if self._float_ok and type(raw) in _PLAIN_FLOATS:
                return np.asarray(raw)
            return self.value(raw, what=what)
        if owned and not self.vectorized and self.executor is None:
            complex_ = z.dtype.kind == "c"
            xs = self.spec.unflatten(z, complex_=complex_, copy=False)
            raw = self.call(xs, phase=phase, what=what)
            if self.scalar and not self.returns_pair and type(raw) in _PLAIN_FLOATS:
                return np.asarray(raw)  # a float loss: nothing to validate
            return self.value(raw, what=what, allow_complex=complex_)
        return self.at_points([z], phase=phase, what=[what])[0]

    def at_points(
        self, points: Sequence[NDArray[Any]], *, phase: str, what: Sequence[str]
    ) -> list[NDArray[Any]]:
        """Values at whole flat points (batched when vectorized or with an executor)."""
        return self._run([("point", z, w) for z, w in zip(points, what, strict=True)], phase=phase)

    def at_entries(
        self,
        perturbations: Sequence[tuple[int, complex | float]],
        *,
        phase: str,
    ) -> list[NDArray[Any]]:
        """Values at ``x0`` with entry ``i`` moved by ``delta``, for each ``(i, delta)``.

        Sequentially, one working copy of the structure is perturbed in place and restored
        after each call, so no copy of ``x`` is made per perturbation.
        """
        tasks = [
            ("entry", (i, d), f"{self.spec.label(i)} {_describe_delta(d)}")
            for i, d in perturbations
        ]
        return self._run(tasks, phase=phase)

    def entry_values(
        self, perturbations: Sequence[tuple[int, float]], *, phase: str
    ) -> NDArray[np.float64]:
        """Values at ``x0`` with entry ``i`` moved by ``delta``: an array (k, m) of float64.

        The fast path of :meth:`at_entries`: one working copy kept for the whole check,
        messages built only when something goes wrong.
        """
        if self.vectorized or self.executor is not None:
            got = self.at_entries(perturbations, phase=phase)
            return np.array([np.asarray(v, dtype=np.float64).reshape(-1) for v in got])
        if self._work is None:
            self._work = _WorkingCopy(self.spec, self.x0, False)
        work = self._work
        spec, fun, args, xs, x0 = self.spec, self.fun, self.args, work.xs, self.x0
        offsets, flats = spec.offsets, work.flats
        single = spec.n_blocks == 1
        is_dict = spec.kind == "dict"
        fast = self.scalar and not self.returns_pair
        rows: list[Any] = []
        done = 0
        try:
            for i, delta in perturbations:
                k = 0 if single else bisect.bisect_right(offsets, i) - 1
                flat = flats[k]
                j = i - offsets[k]
                original = flat[j]
                flat[j] = x0[i] + delta
                done += 1
                try:
                    raw = fun(xs, *args)
                finally:
                    flat[j] = original
                if is_dict:
                    work.check_replaced(self.name)
                if fast and type(raw) is float:
                    rows.append(raw)
                else:
                    self.counts[phase] += done
                    done = 0
                    what = str(_Lazy(spec, i, delta))
                    rows.append(np.asarray(self.value(raw, what=what), dtype=np.float64).ravel())
        except GradtestError:
            self.counts[phase] += done
            raise
        except Exception as err:
            self.counts[phase] += done
            i, delta = perturbations[len(rows)]
            raise FunctionEvaluationError(
                f"{self.name} raised {type(err).__name__} at evaluation "
                f"{self.n_evals} ({phase}: {_Lazy(spec, i, delta)}): {err}"
            ) from err
        self.counts[phase] += done
        if self.output_shape is None and rows and type(rows[0]) is float:
            self.output_shape = ()
        out = np.empty((len(rows), 1 if not rows else np.size(rows[0])))
        for r, row in enumerate(rows):
            out[r] = row
        return out

    def finish(self) -> None:
        """Check, once the probing is over, that fun left its input alone."""
        if self._work is not None:
            self._work.check_unchanged(self.name)

    def _run(self, tasks: list[tuple[str, Any, str]], *, phase: str) -> list[NDArray[Any]]:
        if not tasks:
            return []
        complex_ = any(
            isinstance(p[1], complex) if kind == "entry" else np.iscomplexobj(p)
            for kind, p, _ in tasks
        )
        if self.vectorized:
            raws = self._run_vectorized(tasks, phase, complex_)
        elif self.executor is not None:
            raws = self._run_executor(tasks, phase, complex_)
        else:
            raws = self._run_sequential(tasks, phase, complex_)
        return [
            self.value(raw, what=what, allow_complex=complex_)
            for raw, (_, _, what) in zip(raws, tasks, strict=True)
        ]

    def _run_sequential(
        self, tasks: list[tuple[str, Any, str]], phase: str, complex_: bool
    ) -> list[Any]:
        work = _WorkingCopy(self.spec, self.x0, complex_)
        out = []
        for kind, payload, what in tasks:
            if kind == "point":
                xs = self.spec.unflatten(payload, complex_=complex_)
                out.append(self.call(xs, phase=phase, what=what))
                continue
            i, delta = payload
            with work.moved(i, delta):
                out.append(self.call(work.xs, phase=phase, what=what))
            work.check_replaced(self.name)
        work.check_unchanged(self.name)
        return out

    def _run_vectorized(
        self, tasks: list[tuple[str, Any, str]], phase: str, complex_: bool
    ) -> list[Any]:
        size = max(1, min(len(tasks), VECTOR_BYTES // (8 * self.spec.size)))
        out: list[Any] = []
        for start in range(0, len(tasks), size):
            chunk = tasks[start : start + size]
            stack = np.repeat(self.x0[None, :], len(chunk), axis=0).astype(
                np.complex128 if complex_ else np.float64
            )
            for b, (kind, payload, _) in enumerate(chunk):
                if kind == "point":
                    stack[b] = payload
                else:
                    i, delta = payload
                    stack[b, i] = self.x0[i] + delta
            arrays = []
            for k in range(self.spec.n_blocks):
                dtype: Any = self.spec.dtypes[k]
                if complex_:
                    dtype = np.result_type(dtype, np.complex64)
                block = stack[:, self.spec.block(k)].astype(dtype)
                arrays.append(block.reshape((len(chunk), *self.spec.shapes[k])))
            what = f"a stack of {len(chunk)} points starting at {chunk[0][2]}"
            raw = self.call(self.spec.pack(arrays), phase=phase, what=what, count=len(chunk))
            if self.returns_pair:
                raw = raw[0] if isinstance(raw, (tuple, list)) and len(raw) == 2 else raw
            values = np.asarray(raw)
            if values.shape[:1] != (len(chunk),):
                as_output(raw, where=f"{self.name} (at {what})", scalar=False, allow_complex=True)
                raise InvalidArgumentError(
                    f"with vectorized=True, {self.name} receives a stack of {len(chunk)} inputs "
                    f"and must return {len(chunk)} values (shape ({len(chunk)}, ...)); it "
                    f"returned shape {values.shape}"
                )
            out.extend((v, None) if self.returns_pair else v for v in values)
        return out

    def _run_executor(
        self, tasks: list[tuple[str, Any, str]], phase: str, complex_: bool
    ) -> list[Any]:
        assert self.executor is not None
        n_chunks = max(1, min(len(tasks), EXECUTOR_CHUNKS))
        bounds = np.linspace(0, len(tasks), n_chunks + 1).astype(int)
        futures = []
        for a, b in itertools.pairwise(bounds):
            if b <= a:
                continue
            try:
                futures.append(
                    self.executor.submit(
                        _evaluate_chunk,
                        self.fun,
                        self.args,
                        self.spec,
                        self.x0,
                        [(kind, payload) for kind, payload, _ in tasks[a:b]],
                        complex_,
                        self.returns_pair,
                    )
                )
            except RuntimeError as refused:  # a shut-down (or broken) pool
                for future in futures:
                    future.cancel()
                what = (
                    "is shut down"
                    if "shutdown" in str(refused).lower().replace(" ", "")
                    else "refused work"
                )
                raise InvalidArgumentError(
                    f"executor={type(self.executor).__name__}(...) {what} "
                    f"({type(refused).__name__}: {refused}): pass an executor that is running "
                    "(call gradtest inside its `with` block, not after it)"
                ) from refused
        out: list[Any] = []
        for future, a in zip(futures, bounds[:-1], strict=False):
            try:
                values, failure = future.result()
            except Exception as broken:  # fun's own errors come back as ``failure``
                hint = (
                    ": a process pool sends fun, args and x to its workers by pickle, so fun "
                    "must be a module-level function (not a lambda or a nested function)"
                    if "pickl" in f"{type(broken).__name__} {broken}".lower()
                    else ""
                )
                raise InvalidArgumentError(
                    f"executor={type(self.executor).__name__}(...) could not evaluate "
                    f"{self.name}: {type(broken).__name__}: {broken}{hint}"
                ) from broken
            self.counts[phase] += len(values) + (failure is not None)
            if failure is not None:
                pos, err = failure
                raise FunctionEvaluationError(
                    f"{self.name} raised {type(err).__name__} in a worker "
                    f"({phase}: {tasks[a + pos][2]}): {err}"
                ) from err
            out.extend((v, None) if self.returns_pair else v for v in values)
        return out


class _Lazy:
    """The description of a perturbation, formatted only when a message needs it."""

    __slots__ = ("delta", "i", "spec")

    def __init__(self, spec: ParamSpec, i: int, delta: float) -> None:
        self.spec, self.i, self.delta = spec, i, delta

    def __str__(self) -> str:
        return f"{self.spec.label(self.i)} {_describe_delta(self.delta)}"

    __format__ = lambda self, spec: str(self)  # noqa: E731


class _WorkingCopy:
    """One copy of the parameters in the user's structure, perturbed in place."""

    def __init__(self, spec: ParamSpec, x0: Float64Array, complex_: bool) -> None:
        self.spec = spec
        self.x0 = x0
        self.xs = spec.unflatten(x0, complex_=complex_)
        arrays = (
            list(self.xs.values())
            if isinstance(self.xs, dict)
            else (list(self.xs) if isinstance(self.xs, tuple) else [self.xs])
        )
        self.flats = [a.reshape(-1) for a in arrays]  # views into the working copy
        self.arrays = arrays

    def check_replaced(self, name: str) -> None:
        """fun must not put new arrays into its input (a dict entry replaced)."""
        if self.spec.kind != "dict":
            return
        for key, arr in zip(self.spec.keys, self.arrays, strict=True):
            if self.xs.get(key) is not arr:
                self.xs[key] = arr
                raise FunctionEvaluationError(
                    f"{name} replaced x[{key!r}] in the dict it was given: a checked function "
                    "must not write to x (build a new dict instead)"
                )

    @contextmanager
    def moved(self, i: int, delta: complex | float) -> Iterator[None]:
        k, _ = self.spec.locate(i)
        j = i - self.spec.offsets[k]
        flat = self.flats[k]
        original = flat[j]
        flat[j] = self.x0[i] + delta
        try:
            yield
        finally:
            flat[j] = original

    def check_unchanged(self, name: str) -> None:
        for k, flat in enumerate(self.flats):
            blk = self.spec.block(k)
            same = flat.real == self.x0[blk]
            if not same.all():
                changed = int(np.flatnonzero(~same)[0])
                raise FunctionEvaluationError(
                    f"{name} modified its input in place ({self.spec.label(blk.start + changed)} "
                    f"changed from {float(self.x0[blk.start + changed])!r} to "
                    f"{float(flat[changed].real)!r}): a checked function must not write to x"
                )


def _evaluate_chunk(
    fun: Fun,
    args: tuple[Any, ...],
    spec: ParamSpec,
    x0: Float64Array,
    tasks: list[tuple[str, Any]],
    complex_: bool,
    returns_pair: bool,
) -> tuple[list[Any], tuple[int, BaseException] | None]:
    """Evaluate a chunk of tasks in a worker; returns the values and the first failure."""
    work = _WorkingCopy(spec, x0, complex_)
    values: list[Any] = []
    for pos, (kind, payload) in enumerate(tasks):
        try:
            if kind == "point":
                raw = fun(spec.unflatten(payload, complex_=complex_), *args)
            else:
                with work.moved(*payload):
                    raw = fun(work.xs, *args)
        except Exception as err:
            return values, (pos, err)
        if returns_pair and isinstance(raw, (tuple, list)) and len(raw) == 2:
            raw = raw[0]
        values.append(raw)  # as it came: the caller validates it as without an executor
    return values, None
