"""The case object of the corpus and the generic bug makers that derive buggy variants."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

import gradtest

Expected = Literal["correct", "kinked", "buggy"]

#: bug categories of the issue's "done when" list, plus "wrong-term" (a wrong formula)
CATEGORIES = (
    "sign",
    "factor",
    "1/N",
    "regularisation",
    "transposed",
    "one-entry",
    "stale-x",
    "rare-branch",
    "wrong-term",
)


@dataclass(frozen=True)
class Case:
    """One function of the corpus: what to check, and what gradtest should say.

    Attributes
    ----------
    name : str
        Unique name, used as the pytest id and in the benchmark table.
    fun : callable
        ``fun(x, *args)``: the loss, or ``(loss, gradient)`` when ``grad is True``.
    grad : callable or True
        ``grad(x, *args)``, the analytic gradient under test.
    x : ndarray, tuple or dict of ndarrays
        The point.
    args : tuple
        Extra arguments of ``fun`` and ``grad``.
    expected : {"correct", "kinked", "buggy"}
        ``"kinked"``: correct, but ``x`` sits exactly on a kink of the function.
    category : str
        For buggy cases, one of :data:`CATEGORIES`; ``""`` otherwise.
    smooth : bool
        The function is differentiable in a neighbourhood of ``x`` (so finite differences
        converge at the usual rate); false for kinked cases.
    complex_ok : bool
        ``fun`` accepts complex input and is complex-analytic (``method="complex"`` works).
    pattern : str
        For buggy cases, a substring the diagnosis (summary and patterns) should contain;
        ``""`` when no pattern is expected.
    base : str
        For buggy cases, the name of the correct case it was derived from.
    """

    name: str
    fun: Callable[..., Any]
    grad: Callable[..., Any] | Literal[True]
    x: Any
    args: tuple[Any, ...] = ()
    expected: Expected = "correct"
    category: str = ""
    smooth: bool = True
    complex_ok: bool = False
    pattern: str = ""
    base: str = ""
    notes: str = field(default="", compare=False)

    @property
    def dtype(self) -> str:
        """The dtype(s) of ``x``, e.g. ``"float64"``."""
        return ", ".join(sorted({str(np.asarray(a).dtype) for a in leaves(self.x)}))

    @property
    def is_float64(self) -> bool:
        """Every array of ``x`` is float64."""
        return self.dtype == "float64"

    def gradient(self, x: Any | None = None) -> Any:
        """The gradient this case returns at ``x`` (default: its own point)."""
        x = self.x if x is None else x
        if self.grad is True:
            return self.fun(x, *self.args)[1]
        return self.grad(x, *self.args)

    def value(self, x: Any) -> float:
        """The loss alone at ``x``."""
        out = self.fun(x, *self.args)
        return float(np.real(out[0] if self.grad is True else out))

    def check(self, **options: Any) -> gradtest.GradCheckResult:
        """``gradtest.check_grad`` on this case; the float32 warning is silenced.

        Examples
        --------
        >>> import numpy as np
        >>> case = Case("square", lambda x: float(x @ x), lambda x: 2 * x, np.ones(3))
        >>> case.check(seed=0).verdict
        'pass'
        """
        options.setdefault("seed", 0)
        options.setdefault("name", self.name)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*float32.*", category=UserWarning)
            return gradtest.check_grad(self.fun, self.grad, self.x, args=self.args, **options)


def leaves(x: Any) -> list[Any]:
    """The arrays of a parameter structure, in order (dict keys in insertion order)."""
    if isinstance(x, dict):
        return list(x.values())
    if isinstance(x, tuple):
        return list(x)
    return [x]


def tree_map(f: Callable[[Any], Any], x: Any) -> Any:
    """Apply ``f`` to every array of a parameter structure."""
    if isinstance(x, dict):
        return {k: f(v) for k, v in x.items()}
    if isinstance(x, tuple):
        return tuple(f(v) for v in x)
    return f(x)


def _with_grad(case: Case, transform: Callable[[Any, Any], Any]) -> tuple[Any, Any]:
    """``(fun, grad)`` of ``case`` with ``transform(gradient, x)`` applied to the gradient."""
    if case.grad is True:
        inner = case.fun

        def fun_pair(x: Any, *args: Any) -> tuple[Any, Any]:
            loss, g = inner(x, *args)
            return loss, transform(g, x)

        return fun_pair, True
    grad = case.grad

    def bad_grad(x: Any, *args: Any) -> Any:
        return transform(grad(x, *args), x)

    return case.fun, bad_grad


def derive(
    case: Case,
    suffix: str,
    category: str,
    transform: Callable[[Any, Any], Any],
    pattern: str = "",
) -> Case:
    """A buggy variant of ``case`` whose gradient is ``transform(gradient, x)``."""
    assert category in CATEGORIES, category
    fun, grad = _with_grad(case, transform)
    return replace(
        case,
        name=f"{case.name}_{suffix}",
        fun=fun,
        grad=grad,
        expected="buggy",
        category=category,
        pattern=pattern,
        base=case.name,
    )


def flip_sign(case: Case) -> Case:
    """The whole gradient negated."""
    return derive(case, "sign", "sign", lambda g, x: tree_map(lambda a: -a, g), "sign flipped")


def scale(case: Case, c: float, pattern: str = "") -> Case:
    """The whole gradient multiplied by a constant ``c``."""
    return derive(
        case,
        f"times_{c:g}".replace(".", "p"),
        "factor",
        lambda g, x: tree_map(lambda a: a * np.asarray(c, dtype=a.dtype), g),
        pattern,
    )


def perturb_entry(
    case: Case,
    suffix: str,
    *,
    key: Any = None,
    index: tuple[int, ...],
    rel: float | None = None,
    of_norm: float | None = None,
    value: float | None = None,
) -> Case:
    """One entry of the gradient wrong: relative change ``rel``, an absolute change of
    ``of_norm`` times the gradient's norm, or replaced by ``value``."""

    def transform(g: Any, x: Any) -> Any:
        g = tree_map(np.array, g)  # copies
        arr = g[key] if key is not None else g
        if rel is not None:
            arr[index] *= 1 + rel
        elif of_norm is not None:
            norm = np.sqrt(sum(float(np.sum(np.asarray(a, float) ** 2)) for a in leaves(g)))
            arr[index] += of_norm * norm
        else:
            arr[index] = value
        return g

    return derive(case, suffix, "one-entry", transform)


def stale(case: Case, lr: float = 0.05) -> Case:
    """The gradient evaluated at the previous iterate ``x_prev = x + lr * g(x)`` (a cached
    gradient that was not refreshed after a gradient-descent step ``x = x_prev - lr * g``)."""
    g0 = case.gradient()
    x_prev: Any
    if isinstance(case.x, dict):
        x_prev = {k: case.x[k] + lr * np.asarray(g0[k]) for k in case.x}
    elif isinstance(case.x, tuple):
        x_prev = tuple(a + lr * np.asarray(b) for a, b in zip(case.x, g0, strict=True))
    else:
        x_prev = case.x + lr * np.asarray(g0)

    def transform(g: Any, x: Any) -> Any:
        return case.gradient(x_prev)

    return derive(case, "stale_x", "stale-x", transform)
