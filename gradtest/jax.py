"""Check JAX derivative rules: ``custom_vjp``, ``custom_jvp``, jitted functions, pytrees.

This adapter turns a JAX function into NumPy ``fun``/``grad`` callables on float64 arrays
and hands them to :func:`gradtest.check_grad` (scalar output) or
:func:`gradtest.check_jacobian` (array or pytree output), so the finite differences,
tolerances, verdicts and report are the core's and the result is the same
:class:`gradtest.GradCheckResult`.

- ``mode="reverse"`` (default) builds the derivative with ``jax.grad`` / ``jax.jacrev``:
  it runs a ``custom_vjp``'s ``bwd`` rule (and the transpose of a ``custom_jvp`` rule).
- ``mode="forward"`` uses ``jax.jacfwd``: it runs a ``custom_jvp`` rule directly.
- Parameters may be pytrees (dicts, lists, tuples, registered nodes): every floating-point
  leaf becomes one array of ``x``, named by its path (``"layers.0.w"``).

Precision: the check runs with 64-bit types enabled (``jax.enable_x64(True)`` around its own
evaluations, the scoped form of ``jax.config.update("jax_enable_x64", True)``), so float32
parameters get float64 finite differences; your global setting is left as it was, and the
result's ``diagnosis.notes`` says when the adapter had to switch it on. For float32 leaves
the derivative is also computed as your own call computes it (your dtypes, your setting)
and compared: the check fails when it is not finite or far off the float64 one. A function
whose own values change with the setting (``jax.random`` draws float64 numbers under x64:
another dropout mask) has that derivative computed with x64 on instead, and a note says so.

Importing :mod:`gradtest` does not import JAX; importing :mod:`gradtest.jax` does.

Use it in a test::

    from gradtest.jax import check_function

    def test_my_rule():
        result = check_function(my_custom_vjp_fn, params, x, seed=0)
        assert result.passed, result

Examples
--------
>>> import jax
>>> import jax.numpy as jnp
>>> import numpy as np
>>> from gradtest.jax import check_function
>>> @jax.custom_vjp
... def square(x):
...     return x**2
>>> square.defvjp(lambda x: (x**2, x), lambda x, g: (2 * x * g,))
>>> check_function(lambda x: jnp.sum(square(x)), np.array([0.5, -1.0]), seed=0).verdict
'pass'
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

import jax
import jax.numpy as jnp
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
    LOW_PRECISION_GAP,
    at_own_precision,
    compare_precision,
    derivative_scale,
    described,
    fail_gap,
    function_resolution,
    precision_gap,
    probe_cotangent,
    scaling_problem,
    with_notes,
    with_scaling_note,
)
from gradtest._options import Method

__all__ = ["check_function"]

Mode = Literal["reverse", "forward"]
Arrays = dict[str, NDArray[Any]]


@contextlib.contextmanager
def _x64() -> Iterator[bool]:
    """Enable 64-bit types for the block; yield whether they were off before."""
    was_on = bool(jax.config.read("jax_enable_x64"))  # type: ignore[no-untyped-call]
    with jax.enable_x64(True):
        yield not was_on


def _name_of(f: Any) -> str:
    return str(getattr(f, "__name__", None) or type(f).__name__)


def _argument_names(f: Any, n: int) -> list[str]:
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(names) < n:
        return [f"args[{i}]" for i in range(n)]
    return names[:n]


def _is_float_leaf(leaf: Any) -> bool:
    if isinstance(leaf, bool):
        return False
    if isinstance(leaf, float):
        return True
    dtype = getattr(leaf, "dtype", None)
    # (jnp's issubdtype knows bfloat16 is floating; NumPy's does not)
    return dtype is not None and bool(jnp.issubdtype(dtype, jnp.floating))


def _flat_output(raw: Any, name: str) -> Any:
    """The output as one array: an array as is, a pytree's leaves flattened and joined."""
    leaves = jax.tree_util.tree_leaves(raw)
    if not leaves:
        raise InvalidArgumentError(f"{name} returned {raw!r:.60}, which holds no array")
    arrays = [jnp.asarray(leaf) for leaf in leaves]
    for a in arrays:
        if jnp.iscomplexobj(a):
            raise InvalidArgumentError(
                f"{name} returned a complex value: gradtest checks real-valued outputs"
            )
    if len(arrays) == 1 and not isinstance(raw, (tuple, list, dict)):
        return arrays[0]
    return jnp.concatenate([jnp.ravel(a) for a in arrays])


class _Args:
    """The positional arguments: the checked pytrees flattened to named float64 leaves."""

    def __init__(self, f: Any, args: Sequence[Any], argnums: int | Sequence[int] | None) -> None:
        if not callable(f):
            raise InvalidArgumentError(
                f"f must be callable (a JAX function, possibly jitted or custom_vjp), got "
                f"{type(f).__name__} {f!r:.60}"
            )
        if not args:
            raise InvalidArgumentError("args is empty: pass the arguments f is called with")
        self.args = list(args)
        if argnums is None:
            chosen = list(range(len(args)))
        else:
            chosen = [argnums] if isinstance(argnums, int) else list(argnums)
            for i in chosen:
                if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(args):
                    raise InvalidArgumentError(
                        f"argnums must hold positions of args in range({len(args)}), got "
                        f"{argnums!r}"
                    )
        argnames = _argument_names(f, len(args))
        self.treedefs: dict[int, Any] = {}
        self.leaves: dict[int, list[Any]] = {}
        self.slots: list[tuple[int, int, str]] = []  # (argument, leaf position, name)
        self.dtypes: dict[str, np.dtype[Any]] = {}
        self.x0: Arrays = {}
        for i in chosen:
            with_path, treedef = jax.tree_util.tree_flatten_with_path(args[i])
            self.treedefs[i] = treedef
            self.leaves[i] = [leaf for _, leaf in with_path]
            for j, (path, leaf) in enumerate(with_path):
                if not _is_float_leaf(leaf):
                    continue
                key = jax.tree_util.keystr(path, simple=True, separator=".")
                if len(chosen) == 1:
                    name = key or argnames[i]
                else:
                    name = f"{argnames[i]}.{key}" if key else argnames[i]
                self.slots.append((i, j, name))
                arr = np.asarray(leaf)
                self.dtypes[name] = arr.dtype
                self.x0[name] = np.array(arr, dtype=np.float64)
        if not self.slots:
            raise InvalidArgumentError(
                f"args (positions {chosen}) hold no floating-point leaf to check: pass float "
                "arrays (or pytrees of them)"
            )

    def call(self, values: Sequence[Any]) -> list[Any]:
        """``f``'s arguments with the checked leaves replaced by ``values`` (slot order).

        NumPy arrays elsewhere are copies, so an ``f`` that writes to them leaves the
        caller's arrays as they were.
        """
        leaves = {i: [_copy(leaf) for leaf in v] for i, v in self.leaves.items()}
        for (i, j, _), value in zip(self.slots, values, strict=True):
            leaves[i][j] = value
        args = [jax.tree_util.tree_map(_copy, a) for a in self.args]
        for i, treedef in self.treedefs.items():
            args[i] = jax.tree_util.tree_unflatten(treedef, leaves[i])
        return args


def _copy(leaf: Any) -> Any:
    return leaf.copy() if isinstance(leaf, np.ndarray) else leaf


def _reverse(g: Callable[..., Any]) -> Callable[..., tuple[Any, ...]]:
    """``g``'s Jacobian (gradient for a scalar) by vector-Jacobian products, as ``jacrev``.

    Each product is seeded with ``COTANGENT`` rather than 1 and divided by it afterwards,
    so a ``bwd`` rule that ignores its incoming gradient shows even for a scalar output.
    """

    def jacobian(*values: Any) -> tuple[Any, ...]:
        out, pullback = jax.vjp(g, *values)
        if out.ndim == 0:
            parts = pullback(jnp.asarray(COTANGENT, dtype=out.dtype))
            return tuple(p / COTANGENT for p in parts)
        basis = COTANGENT * jnp.eye(out.size, dtype=out.dtype).reshape((out.size, *out.shape))
        rows = jax.vmap(pullback)(basis)
        return tuple(
            (r / COTANGENT).reshape(out.shape + jnp.shape(v))
            for r, v in zip(rows, values, strict=True)
        )

    return jacobian


def _forward(g: Callable[..., Any]) -> Callable[..., tuple[Any, ...]]:
    """``g``'s Jacobian by Jacobian-vector products, as ``jacfwd``, tangents ``COTANGENT``."""

    def jacobian(*values: Any) -> tuple[Any, ...]:
        sizes = [int(np.size(v)) for v in values]
        n = sum(sizes)
        eye = COTANGENT * jnp.eye(n, dtype=jnp.result_type(*values))
        offsets = np.cumsum([0, *sizes])
        tangents = tuple(
            eye[:, offsets[k] : offsets[k + 1]].reshape((n, *jnp.shape(v))).astype(v.dtype)
            for k, v in enumerate(values)
        )
        columns = jax.vmap(lambda *t: jax.jvp(g, values, t)[1])(*tangents) / COTANGENT
        out_shape = columns.shape[1:]
        return tuple(
            jnp.moveaxis(columns[offsets[k] : offsets[k + 1]], 0, -1).reshape(
                out_shape + jnp.shape(v)
            )
            for k, v in enumerate(values)
        )

    return jacobian


def check_function(
    f: Callable[..., Any],
    *args: Any,
    argnums: int | Sequence[int] | None = None,
    mode: Mode = "reverse",
    jit: bool = False,
    rtol: float | None = None,
    atol: float | None = None,
    method: Method = "central",
    step: float | None = None,
    seed: int | None = None,
    name: str | None = None,
) -> GradCheckResult:
    """Check the derivative JAX computes for ``f`` (its custom rules) against finite differences.

    Parameters
    ----------
    f : callable
        ``f(*args)`` returns a scalar, an array or a pytree of arrays (flattened and joined).
        A ``custom_vjp`` / ``custom_jvp`` function, a ``jax.jit``-ted one, or any function
        that calls them.
    *args : arrays or pytrees
        The arguments of ``f``. Non-floating leaves are passed unchanged and not checked.
    argnums : int or sequence of int, optional
        Which arguments to check (default: all).
    mode : {"reverse", "forward"}, optional
        ``"reverse"``: ``jax.grad`` / ``jax.jacrev`` (the ``bwd`` of a ``custom_vjp``);
        ``"forward"``: ``jax.jacfwd`` (the rule of a ``custom_jvp``).
    jit : bool, optional
        Compile the check's own wrappers of ``f`` and of its derivative with ``jax.jit``.
        Off by default: compiling costs more than the few hundred evaluations of a small
        check, and JAX caches eager operations across checks. Turn it on for a large
        function evaluated eagerly (``f`` must then be traceable). An ``f`` that is
        already ``jax.jit``-ted stays compiled either way.
    rtol, atol, method, step, seed, name
        As in :func:`gradtest.check_grad`.

    Returns
    -------
    GradCheckResult
        ``x`` is a dict of the checked leaves keyed by their pytree path (``"w"``,
        ``"layers.0.b"``; prefixed by the argument name when several arguments are
        checked, e.g. ``"params.w"``).

    Raises
    ------
    InvalidArgumentError
        No floating-point leaf, a bad ``argnums`` or ``mode``, a complex output, or
        ``mode="forward"`` on a ``custom_vjp`` function (JAX cannot run it forward).
    FunctionEvaluationError
        ``f`` or its derivative raised.

    Notes
    -----
    ``jax.test_util.check_grads`` compares one random directional derivative with a fixed
    ``eps = 1e-4``; here every entry of the derivative is compared and the tolerances
    follow from the core's error model. The evaluations run under
    ``jax.enable_x64(True)``: inputs are float64 whatever their dtype; a derivative at
    the leaves' own precision that is not finite, or off by more than a tenth of
    ``max|g|``, fails the check. Vector-Jacobian (and Jacobian-vector) products are
    seeded with ``0.75``, not 1, so a rule that ignores its incoming cotangent (tangent)
    fails even for a scalar output.

    Examples
    --------
    A ``custom_vjp`` whose backward forgets the factor 2, on a pytree of parameters:

    >>> import jax
    >>> import jax.numpy as jnp
    >>> import numpy as np
    >>> from gradtest.jax import check_function
    >>> @jax.custom_vjp
    ... def square(x):
    ...     return x**2
    >>> square.defvjp(lambda x: (x**2, x), lambda x, g: (x * g,))
    >>> def loss(params):
    ...     return jnp.sum(square(params["w"])) + jnp.sum(params["b"] ** 2)
    >>> params = {"b": np.array([0.1, 0.2]), "w": np.array([1.0, -2.0])}
    >>> result = check_function(loss, params, seed=0)
    >>> result.verdict, result.wrt, sorted(e.label for e in result.failing())
    ('fail', ('b', 'w'), ['w[0]', 'w[1]'])
    """
    if mode not in ("reverse", "forward"):
        raise InvalidArgumentError(
            f"mode must be 'reverse' (jax.grad/jacrev) or 'forward' (jax.jacfwd), got {mode!r}"
        )
    if not isinstance(jit, bool):
        raise InvalidArgumentError(f"jit must be True or False, got {jit!r}")
    spec = _Args(f, args, argnums)
    label = name or _name_of(f)
    names = [s[2] for s in spec.slots]

    def g(*values: Any) -> Any:
        return _flat_output(f(*spec.call(values)), label)

    def run(fn: Callable[..., Any], compiled: Callable[..., Any], values: list[Any]) -> Any:
        return compiled(*values) if jit else fn(*values)

    def inputs(x: Arrays) -> list[Any]:
        return [jnp.asarray(np.asarray(x[n]), dtype=jnp.float64) for n in names]

    g_jit = jax.jit(g)

    def fun(x: Arrays) -> Any:
        with _x64():
            out = run(g, g_jit, inputs(x))
            return float(out) if out.ndim == 0 else np.asarray(out, dtype=np.float64)

    try:
        with _x64() as switched:
            scalar = run(g, g_jit, inputs(spec.x0)).ndim == 0
    except GradtestError:
        raise
    except Exception as err:
        raise FunctionEvaluationError(
            f"{label} raised {type(err).__name__} on its first call, at the arguments given "
            f"(before any finite difference): {err}"
        ) from err
    deriv = (_forward if mode == "forward" else _reverse)(g)
    deriv_jit = jax.jit(deriv)

    def evaluate(values: list[Any]) -> Arrays:
        try:
            parts = run(deriv, deriv_jit, values)
        except TypeError as err:
            if mode == "forward" and "custom_vjp" in str(err):
                raise InvalidArgumentError(
                    f"mode='forward' cannot run {label}: it uses a custom_vjp, which JAX "
                    "differentiates in reverse mode only; use mode='reverse' (or define "
                    f"a custom_jvp). JAX said: {err}"
                ) from err
            raise
        return {n: np.asarray(p, dtype=np.float64) for n, p in zip(names, parts, strict=True)}

    def derivative(x: Arrays) -> Arrays:
        with _x64():
            return evaluate(inputs(x))

    check = check_grad if scalar else check_jacobian
    result = check(
        fun,
        described(derivative, f"the {'jvp' if mode == 'forward' else 'vjp'} of {label}"),
        spec.x0,
        rtol=rtol,
        atol=atol,
        method=method,
        step=step,
        seed=seed,
        name=label,
    )
    if result.verdict == "fail" and mode == "reverse":
        with _x64():
            result = with_scaling_note(
                result, _scaling_note(g, inputs(spec.x0), names, derivative_scale(result))
            )
    if switched:
        result = with_notes(
            result,
            "precision: jax_enable_x64 was off; the check enabled it for its own evaluations "
            "(jax.enable_x64(True)), so they ran in float64; your setting is unchanged",
        )
    low = {n: d for n, d in spec.dtypes.items() if d != np.float64}
    if low:
        # the derivative as the user's own call computes it: their dtypes, their x64 setting
        own = [jnp.asarray(spec.x0[n].astype(spec.dtypes[n])) for n in names]
        kinds = ", ".join(sorted({str(d) for d in low.values()}))
        eps = max(float(np.finfo(d).eps) for d in low.values())
        rule = "jvp rule" if mode == "forward" else "backward (vjp)"
        at_user_precision = _own_derivative(evaluate, own, label, low, x64=False)
        with _x64():
            high = derivative(spec.x0)
        rel, scale, broken = precision_gap(result, at_user_precision, high)
        floor = function_resolution(eps, fun(spec.x0), spec.x0)
        if switched and not broken and rel > fail_gap(eps) and rel * scale > floor:
            # f may compute another function with x64 off: jax.random draws (and arrays of
            # the default dtype) are float32 there and float64 under x64, so they take other
            # values (another dropout mask), and the two derivatives belong to two functions
            limit = max(LOW_PRECISION_GAP, eps**0.5)
            gap = _relative_gap(run(g, g_jit, own), fun(spec.x0))
            if math.isfinite(gap) and gap > limit:  # (an overflow is no other function)
                at_user_precision = _own_derivative(evaluate, own, label, low, x64=True)
                result = with_notes(
                    result,
                    f"precision: {label} itself returns values with jax_enable_x64 off that "
                    f"differ from those with it on by {gap:.1e} relative, more than {kinds} "
                    f"round-off explains (> {limit:.1e}): it draws random numbers or builds "
                    "arrays of the default dtype, float64 under x64, so its "
                    f"{kinds} derivative is compared with x64 on ({kinds} leaves as given)",
                )
        result = compare_precision(
            result, "leaf " + ", ".join(low), rule, at_user_precision, high, kinds, eps, floor
        )
    return result


def _own_derivative(
    evaluate: Callable[[list[Any]], Arrays],
    own: list[Any],
    label: str,
    low: dict[str, Any],
    *,
    x64: bool,
) -> Arrays:
    """The derivative at the leaves' own dtypes, under the user's x64 setting or with x64 on."""

    def run() -> Arrays:
        if x64:
            with _x64():
                return evaluate(own)
        return evaluate(own)

    return at_own_precision(run, f"the derivative of {label}", "arguments'", low)


def _relative_gap(low: Any, high: Any) -> float:
    """``max|low - high| / max|high|``: how far ``f``'s values at two precisions are apart."""
    a, b = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    with np.errstate(all="ignore"):
        scale = float(np.max(np.abs(b))) if b.size else 0.0
        gap = float(np.max(np.abs(a - b))) if b.size else 0.0
    return gap / scale if scale > 0 else gap


def _scaling_note(
    g: Callable[..., Any], values: list[Any], names: list[str], reference: float
) -> str:
    """Whether the vjp is linear in its cotangent: one seed ``v``, one ``0.75 v``."""
    try:
        out, pullback = jax.vjp(g, *values)
        v = jnp.asarray(probe_cotangent(tuple(jnp.shape(out))), dtype=jnp.result_type(out))
        plain = pullback(v)
        scaled = pullback(v * COTANGENT)
    except Exception:  # a diagnosis of a failed check must not raise
        return ""
    a = {n: np.asarray(p, dtype=np.float64) for n, p in zip(names, plain, strict=True)}
    b = {n: np.asarray(p, dtype=np.float64) / COTANGENT for n, p in zip(names, scaled, strict=True)}
    return scaling_problem(a, b, "backward (bwd rule)", reference)
