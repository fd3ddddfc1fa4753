"""Check HIPS autograd derivatives, including custom ``@primitive`` rules (``defvjp``).

The light adapter: ``f`` is a function of NumPy arrays written with ``autograd.numpy``;
its derivative comes from ``autograd.grad`` (scalar output) or ``autograd.jacobian``
(array output), one argument at a time, and is handed with ``f`` itself to
:func:`gradtest.check_grad` or :func:`gradtest.check_jacobian`. The finite differences,
tolerances, verdicts and report are the core's; the result is the same
:class:`gradtest.GradCheckResult`.

Importing :mod:`gradtest` does not import autograd; importing :mod:`gradtest.autograd` does.

Use it in a test::

    from gradtest.autograd import check_function

    def test_logsumexp_rule():
        result = check_function(logsumexp, np.array([0.5, -1.0, 2.0]), seed=0)
        assert result.passed, result

Examples
--------
>>> import autograd.numpy as anp
>>> import numpy as np
>>> from autograd.extend import primitive, defvjp
>>> from gradtest.autograd import check_function
>>> @primitive
... def cube(x):
...     return x**3
>>> defvjp(cube, lambda ans, x: lambda g: g * 3 * x**2)
>>> check_function(lambda x: anp.sum(cube(x)), np.array([0.5, -1.0, 2.0]), seed=0).verdict
'pass'
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import autograd
import numpy as np
from numpy.typing import NDArray

from gradtest import (
    FunctionEvaluationError,
    GradCheckResult,
    GradtestError,
    InvalidArgumentError,
    check_grad,
    check_jacobian,
)
from gradtest._adapters import (
    COTANGENT,
    at_own_precision,
    compare_precision,
    derivative_scale,
    described,
    function_resolution,
    probe_cotangent,
    scaling_problem,
    with_scaling_note,
)
from gradtest._options import Method

__all__ = ["check_function"]

Arrays = dict[str, NDArray[Any]]


def _argument_names(f: Any, n: int) -> list[str]:
    """``f``'s positional parameter names (an ``@primitive``'s inner function's) or ``args[i]``."""
    target = getattr(f, "fun", f) if callable(getattr(f, "fun", None)) else f
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(names) < n:
        return [f"args[{i}]" for i in range(n)]
    return names[:n]


def _as_float(part: Any) -> NDArray[np.floating[Any]]:
    """A part of the vjp as an array, float64 unless it is floating already: a rule that
    returns float32 keeps its dtype, so the core allows it float32 rounding."""
    a = np.asarray(part)
    return a if a.dtype.kind == "f" else a.astype(np.float64)


def check_function(
    f: Callable[..., Any],
    *args: Any,
    argnums: int | Sequence[int] | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    method: Method = "central",
    step: float | None = None,
    seed: int | None = None,
    name: str | None = None,
) -> GradCheckResult:
    """Check the derivative ``autograd`` computes for ``f`` against finite differences.

    Parameters
    ----------
    f : callable
        ``f(*args)`` returns a scalar (checked with ``autograd.grad``) or an array
        (``autograd.jacobian``), computed with ``autograd.numpy``.
    *args : arrays or floats
        The arguments of ``f``; the checked ones must be floating point (a float, a NumPy
        float scalar such as ``np.float32(0.5)``, or a floating-point array).
    argnums : int or sequence of int, optional
        Which arguments to check (default: every floating-point array or float).
    rtol, atol, method, step, seed, name
        As in :func:`gradtest.check_grad`.

    Returns
    -------
    GradCheckResult
        Entries are named after ``f``'s parameters (``x[2]``).

    Raises
    ------
    InvalidArgumentError
        ``f`` is not callable, no argument is floating point, or ``argnums`` is bad.
    FunctionEvaluationError
        ``f`` or its derivative raised.

    Notes
    -----
    ``autograd.test_util.check_grads`` compares random directional derivatives with a
    fixed step (``EPS = 1e-6``) and fixed tolerances; here every entry is compared with
    tolerances from the core's error model, and the arguments are float64 copies. For a
    float32 argument the derivative is also computed in float32 and the check fails when
    it is not finite or off by more than a tenth of ``max|g|``. The vector-Jacobian
    products are seeded with ``0.75``, not 1, so a ``defvjp`` rule that ignores its ``g``
    fails even for a scalar output.

    Examples
    --------
    A ``defvjp`` rule with a wrong sign:

    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> from autograd.extend import primitive, defvjp
    >>> from gradtest.autograd import check_function
    >>> @primitive
    ... def softplus(x):
    ...     return np.logaddexp(x, 0.0)
    >>> defvjp(softplus, lambda ans, x: lambda g: -g / (1 + np.exp(-x)))
    >>> result = check_function(lambda x: anp.sum(softplus(x)), np.array([0.5, -1.0]), seed=0)
    >>> result.verdict, "sign" in result.diagnosis.summary
    ('fail', True)
    """
    if not callable(f):
        raise InvalidArgumentError(
            f"f must be callable (a function written with autograd.numpy), got "
            f"{type(f).__name__} {f!r:.60}"
        )
    if not args:
        raise InvalidArgumentError("args is empty: pass the arguments f is called with")

    def is_float(a: Any) -> bool:
        if isinstance(a, bool):
            return False
        return isinstance(a, (float, np.floating)) or (
            isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating)
        )

    if argnums is None:
        chosen = [i for i, a in enumerate(args) if is_float(a)]
    else:
        chosen = [argnums] if isinstance(argnums, int) else list(argnums)
        for i in chosen:
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(args):
                raise InvalidArgumentError(
                    f"argnums must hold positions of args in range({len(args)}), got {argnums!r}"
                )
            if not is_float(args[i]):
                raise InvalidArgumentError(
                    f"argnums names argument {i}, which is {type(args[i]).__name__} "
                    f"{args[i]!r:.40}: only floating-point arrays and floats can be checked"
                )
    if not chosen:
        kinds = [
            f"ndarray of {a.dtype}" if isinstance(a, np.ndarray) else type(a).__name__ for a in args
        ]
        raise InvalidArgumentError(
            f"args hold no floating-point array to check, got {kinds}: pass float64 arrays "
            "(an integer array x as x.astype(np.float64))"
        )
    names = [_argument_names(f, len(args))[i] for i in chosen]
    x0 = {n: np.array(args[i], dtype=np.float64) for n, i in zip(names, chosen, strict=True)}
    dtypes = {n: np.asarray(args[i]).dtype for n, i in zip(names, chosen, strict=True)}
    label = name or str(getattr(f, "__name__", None) or type(f).__name__)

    def call_args(x: Arrays) -> list[Any]:
        # copies of the other arrays: f may write to them, the caller's stay as they were
        full = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        for n, i in zip(names, chosen, strict=True):
            full[i] = x[n]
        return full

    def fun(x: Arrays) -> Any:
        return f(*call_args(x))

    try:
        out0 = fun(x0)
    except GradtestError:
        raise
    except Exception as err:
        raise FunctionEvaluationError(
            f"{label} raised {type(err).__name__} on its first call, at the arguments given "
            f"(before any finite difference): {err}"
        ) from err
    if isinstance(out0, (tuple, list, dict)):
        raise InvalidArgumentError(
            f"{label} must return a scalar or an array, got a {type(out0).__name__} "
            f"{out0!r:.60}: check each output as its own function (or stack them with "
            "anp.concatenate)"
        )
    scalar = np.ndim(out0) == 0

    def pullback(x: Arrays) -> tuple[Any, Any]:
        if len(chosen) == 1:
            # as autograd.grad(f) does: a tuple argnum would cast the vjp to x's dtype,
            # hiding the float32 of a rule that computes in float32
            one, ans = autograd.make_vjp(f, argnum=chosen[0])(*call_args(x))
            return (lambda g: (one(g),)), np.asarray(ans)
        vjp, ans = autograd.make_vjp(f, argnum=tuple(chosen))(*call_args(x))
        return vjp, np.asarray(ans)

    def products(vjp: Callable[[Any], Any], g: Any) -> Any:
        """``vjp(g)``, with a part that is None named (it read as a gradient of shape ())."""
        got = vjp(g)
        for n, part in zip(names, got, strict=True):
            if part is None:
                raise InvalidArgumentError(
                    f"the vjp of {label} returned None for {n}: a defvjp rule must return "
                    "the gradient with respect to its argument (g times the derivative, an "
                    f"array of shape {np.shape(x0[n])}), not None"
                )
        return got

    def derivative(x: Arrays) -> Arrays:
        """One forward, then vector-Jacobian products seeded with ``COTANGENT``, not 1."""
        vjp, ans = pullback(x)
        if scalar:
            parts = [_as_float(p) / COTANGENT for p in products(vjp, COTANGENT)]
        else:
            rows = []
            for k in range(ans.size):
                seed_k = np.zeros(ans.size, dtype=ans.dtype)
                seed_k[k] = COTANGENT
                rows.append(products(vjp, seed_k.reshape(ans.shape)))
            parts = [
                np.stack([_as_float(r[a]) for r in rows]).reshape(ans.shape + np.shape(x[n]))
                / COTANGENT
                for a, n in enumerate(names)
            ]
        return dict(zip(names, parts, strict=True))

    check = check_grad if scalar else check_jacobian
    result = check(
        fun,
        described(derivative, f"the vjp of {label}"),
        x0,
        rtol=rtol,
        atol=atol,
        method=method,
        step=step,
        seed=seed,
        name=label,
    )
    if result.verdict == "fail":
        result = with_scaling_note(
            result, _scaling_note(pullback, x0, names, derivative_scale(result))
        )
    low = {n: d for n, d in dtypes.items() if d != np.float64}
    if low:
        own = {n: x0[n].astype(dtypes[n]) for n in names}
        at_user_precision = at_own_precision(
            lambda: derivative(own), f"the derivative of {label}", "arguments'", low
        )
        low_kinds = ", ".join(sorted({str(d) for d in low.values()}))
        eps = max(float(np.finfo(d).eps) for d in low.values())
        result = compare_precision(
            result,
            "argument " + ", ".join(low),
            "backward (vjp)",
            at_user_precision,
            derivative(x0),
            low_kinds,
            eps,
            function_resolution(eps, out0, x0),
        )
    return result


def _scaling_note(
    pullback: Callable[..., Any], x0: Arrays, names: list[str], reference: float
) -> str:
    """Whether the vjp is linear in its cotangent: one seed ``v``, one ``0.75 v``."""
    try:
        vjp, ans = pullback(x0)
        v = probe_cotangent(np.shape(ans))
        plain = vjp(v if np.ndim(ans) else float(v))
        scaled = vjp(v * COTANGENT if np.ndim(ans) else float(v) * COTANGENT)
    except Exception:  # a diagnosis of a failed check must not raise
        return ""
    a = {n: np.asarray(p, dtype=np.float64) for n, p in zip(names, plain, strict=True)}
    b = {n: np.asarray(p, dtype=np.float64) / COTANGENT for n, p in zip(names, scaled, strict=True)}
    return scaling_problem(a, b, "backward (vjp)", reference)
