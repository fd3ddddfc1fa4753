"""Calling the user's function: copies in, errors wrapped, evaluations counted.

Every evaluation goes through :class:`Evaluator`, which

- hands ``fun`` fresh arrays in the user's structure and dtypes (the user's own arrays
  are never passed, so they cannot be modified, not even when ``fun`` raises half-way);
- turns an exception into :class:`~gradtest.errors.FunctionEvaluationError` that names
  the evaluation and the perturbed entry;
- counts the calls, by phase, for ``GradCheckResult.n_evals``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradtest._params import Float64Array, ParamSpec, as_output
from gradtest.errors import FunctionEvaluationError, GradtestError

Fun = Callable[..., Any]


def _describe_delta(delta: complex | float) -> str:
    if isinstance(delta, complex):
        return f"{delta.imag:+.3g}i"
    return f"{delta:+.3g}"


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
    ) -> None:
        self.fun = fun
        self.args = args
        self.spec = spec
        self.x0 = x0
        self.returns_pair = returns_pair
        self.scalar = scalar
        self.name = name
        self.counts: Counter[str] = Counter()
        self.output_shape: tuple[int, ...] | None = None

    @property
    def n_evals(self) -> int:
        return sum(self.counts.values())

    def call(self, xs: Any, *, phase: str, what: str) -> Any:
        """Call ``fun`` on structured input ``xs`` and return its raw answer."""
        self.counts[phase] += 1
        try:
            return self.fun(xs, *self.args)
        except GradtestError:
            raise
        except Exception as err:
            raise FunctionEvaluationError(
                f"{self.name} raised {type(err).__name__} at evaluation "
                f"{self.n_evals} ({phase}: {what}): {err}"
            ) from err

    def value(self, raw: Any, *, what: str, allow_complex: bool = False) -> NDArray[Any]:
        """The value part of a raw answer, validated."""
        if self.returns_pair:
            if not isinstance(raw, (tuple, list)) or len(raw) != 2:
                from gradtest.errors import InvalidArgumentError

                raise InvalidArgumentError(
                    f"with grad=True, fun must return (value, gradient); {self.name} returned "
                    f"{type(raw).__name__} at {what}"
                )
            raw = raw[0]
        out = as_output(
            raw, where=f"{self.name} (at {what})", scalar=self.scalar, allow_complex=allow_complex
        )
        if self.output_shape is None:
            self.output_shape = out.shape
        elif out.shape != self.output_shape:
            from gradtest.errors import InvalidArgumentError

            raise InvalidArgumentError(
                f"{self.name} returned shape {out.shape} at {what} but shape "
                f"{self.output_shape} at x: the output shape must not depend on x"
            )
        return out

    def at_point(self, z: NDArray[Any], *, phase: str, what: str) -> NDArray[Any]:
        """Value at a whole flat point ``z`` (one fresh copy of the structure)."""
        complex_ = np.iscomplexobj(z)
        xs = self.spec.unflatten(z, complex_=complex_)
        raw = self.call(xs, phase=phase, what=what)
        return self.value(raw, what=what, allow_complex=complex_)

    def at_entries(
        self,
        perturbations: Sequence[tuple[int, complex | float]],
        *,
        phase: str,
    ) -> list[NDArray[Any]]:
        """Values at ``x0`` with entry ``i`` moved by ``delta``, for each ``(i, delta)``.

        One working copy of the structure is perturbed in place and restored after each
        call, so no copy of ``x`` is made per perturbation.
        """
        if not perturbations:
            return []
        complex_ = any(isinstance(d, complex) for _, d in perturbations)
        xs = self.spec.unflatten(self.x0, complex_=complex_)
        arrays = (
            list(xs.values())
            if isinstance(xs, dict)
            else (list(xs) if isinstance(xs, tuple) else [xs])
        )
        flats = [a.reshape(-1) for a in arrays]  # views into the working copy
        out = []
        for i, delta in perturbations:
            k, _ = self.spec.locate(i)
            j = i - self.spec.offsets[k]
            flat = flats[k]
            original = flat[j]
            what = f"{self.spec.label(i)} {_describe_delta(delta)}"
            flat[j] = self.x0[i] + delta
            try:
                raw = self.call(xs, phase=phase, what=what)
            finally:
                flat[j] = original
            out.append(self.value(raw, what=what, allow_complex=complex_))
        base = np.concatenate([f.real.astype(np.float64) for f in flats])
        if not np.array_equal(base, self.x0):
            changed = int(np.flatnonzero(base != self.x0)[0])
            raise FunctionEvaluationError(
                f"{self.name} modified its input in place ({self.spec.label(changed)} changed "
                f"from {self.x0[changed]!r} to {base[changed]!r}): a checked function must not "
                "write to x"
            )
        return out
