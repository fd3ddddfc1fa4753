"""Losses whose gradient is wrong only on part of the input space, each with a correct twin.

Every :class:`InputCase` holds a buggy loss and its correct twin (the same loss value, a
different gradient), the default :mod:`gradtest.strategies` for their arguments, and a
*typical* random point (well-scaled normal values of middling sizes, where the bug does
not show). The bugs hide where the issue lists them: repeated indices, duplicated rows,
ties, exact zeros, an all-false mask, magnitudes that take a stable branch (30 to 700),
batch size 1, odd batch sizes and labels at the end of the class range.

Each loss ``f(**arguments)`` returns ``(loss, gradient wrt case.wrt)``. The package is
loaded by path (``tests`` is not a package), by ``tests/corpus_inputs/test_search.py``
and ``benchmarks/bench_search.py``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from scipy.special import expit, log_softmax, softmax

import gradtest.strategies as gs

Loss = Callable[..., tuple[float, np.ndarray]]

N, D, C, V = gs.dim("N"), gs.dim("D"), gs.dim("C"), gs.dim("V")
#: sizes of the typical point
TYPICAL = {"N": 8, "D": 4, "C": 3, "V": 5}


@dataclass(frozen=True)
class InputCase:
    """A loss wrong only where ``corner`` holds, and its correct twin."""

    name: str
    corner: str
    wrt: str
    buggy: Loss
    correct: Loss
    strategies: Callable[[], dict[str, st.SearchStrategy[Any]]]
    typical: Callable[[np.random.Generator], dict[str, Any]]


def _normal(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def _onehot(y: np.ndarray, classes: int) -> np.ndarray:
    return np.eye(classes)[y]


# -- repeated indices and duplicated rows --------------------------------------------------


def _embedding(E: np.ndarray, idx: np.ndarray, T: np.ndarray, bug: bool) -> Any:
    G = E[idx] - T
    dE = np.zeros_like(E)
    if bug:
        dE[idx] += G  # buffered: a repeated index keeps one update
    else:
        np.add.at(dE, idx, G)
    return 0.5 * float(np.sum(G**2)), dE


def _center(Cm: np.ndarray, X: np.ndarray, y: np.ndarray, bug: bool) -> Any:
    n = X.shape[0]
    G = (Cm[y] - X) / n
    dC = np.zeros_like(Cm)
    if bug:
        dC[y] = G  # assignment: the last example of a class wins
    else:
        np.add.at(dC, y, G)
    return 0.5 * float(np.sum((Cm[y] - X) ** 2)) / n, dC


def _dedup(w: np.ndarray, X: np.ndarray, t: np.ndarray, bug: bool) -> Any:
    z = X @ w
    loss = float(np.sum(np.logaddexp(0.0, z) - t * z))
    # the log-partition term is computed once per distinct row, for speed
    Xu, counts = np.unique(X, axis=0, return_counts=True)
    weight = np.ones_like(counts) if bug else counts  # the bug forgets the multiplicity
    dw = Xu.T @ (weight * expit(Xu @ w)) - X.T @ t
    return loss, dw


# -- ties ----------------------------------------------------------------------------------


def _teacher(W: np.ndarray, X: np.ndarray, T: np.ndarray, bug: bool) -> Any:
    n, classes = X.shape[0], W.shape[1]
    S = X @ W
    target = _onehot(np.argmax(T, axis=1), classes)  # the teacher's first best class
    loss = -float(np.sum(target * log_softmax(S, axis=1))) / n
    if bug:  # the gradient shares a tie between the tied classes instead
        best = T == T.max(axis=1, keepdims=True)
        target = best / best.sum(axis=1, keepdims=True)
    return loss, X.T @ (softmax(S, axis=1) - target) / n


def _top_complement(x: np.ndarray, y: np.ndarray, bug: bool) -> Any:
    n, classes = x.shape
    loss = -float(np.sum(log_softmax(x, axis=1)[np.arange(n), y])) / n
    P = softmax(x, axis=1)
    if bug:  # "exact" sums: the top class gets 1 - (the other classes); a tie makes two tops
        top = x == x.max(axis=1, keepdims=True)
        P = np.where(top, 1.0 - np.sum(np.where(top, 0.0, P), axis=1, keepdims=True), P)
    return loss, (P - _onehot(y, classes)) / n


# -- exact zeros and empty masks -----------------------------------------------------------


def _masked_mean(w: np.ndarray, X: np.ndarray, t: np.ndarray, m: np.ndarray, bug: bool) -> Any:
    r = X @ w - t
    count = max(int(m.sum()), 1)
    loss = 0.5 * float(np.sum(m * r**2)) / count
    if bug and not m.any():  # the gradient falls back to every example
        m = np.ones_like(m)
        count = m.size
    return loss, X.T @ (m * r) / count


def _weighted_mean(w: np.ndarray, X: np.ndarray, t: np.ndarray, s: np.ndarray, bug: bool) -> Any:
    r = X @ w - t
    count = max(int(np.count_nonzero(s)), 1)  # the mean over the weighted examples
    loss = 0.5 * float(np.sum(s * r**2)) / count
    return loss, X.T @ (s * r) / (len(s) if bug else count)


def _product(x: np.ndarray, c: float, bug: bool) -> Any:
    p = float(np.prod(x))
    if bug:  # p / x, guarded against 0 / 0: 0 where the product of the others is not
        g = p / np.where(x == 0, 1.0, x)
    else:
        left = np.concatenate([[1.0], np.cumprod(x[:-1])])
        right = np.concatenate([np.cumprod(x[::-1][:-1])[::-1], [1.0]])
        g = left * right
    return c * p, c * g


# -- magnitudes that take a stable branch --------------------------------------------------

#: the switch of the stable branches below
BRANCH = 30.0


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.where(z > BRANCH, z, np.log1p(np.exp(np.minimum(z, BRANCH))))


def _softplus_mean(w: np.ndarray, X: np.ndarray, bug: bool) -> Any:
    z = X @ w
    dz = np.where(z > BRANCH, z if bug else 1.0, expit(z))  # the bug copies the forward value
    return float(np.mean(_softplus(z))), X.T @ dz / len(z)


def _logistic(w: np.ndarray, X: np.ndarray, y: np.ndarray, bug: bool) -> Any:
    z = X @ w
    tail = z < -BRANCH  # log(1 + e^z) = e^z there, to full precision
    e_tail = np.exp(np.clip(z, -700.0, -BRANCH))
    loss = np.where(tail, e_tail, np.logaddexp(0.0, z)) - y * z
    dz = expit(z) - y
    if bug:  # the tail branch forgets the label term
        dz = np.where(tail, e_tail, dz)
    return float(np.mean(loss)), X.T @ dz / len(z)


def _huber(w: np.ndarray, X: np.ndarray, t: np.ndarray, bug: bool) -> Any:
    delta = 40.0  # robust regression: only gross outliers are damped
    r = X @ w - t
    big = np.abs(r) > delta
    loss = np.where(big, delta * (np.abs(r) - delta / 2), r**2 / 2)
    dr = np.where(big, np.sign(r) * (1.0 if bug else delta), r)  # the bug drops delta
    return float(np.mean(loss)), X.T @ dr / len(r)


def _clipped(w: np.ndarray, X: np.ndarray, t: np.ndarray, bug: bool) -> Any:
    r = X @ w - t
    g = X.T @ r / len(r)
    if bug:  # a "safety" clip of the gradient, which the loss does not have
        g = np.clip(g, -20.0, 20.0)
    return 0.5 * float(np.mean(r**2)), g


def _guarded_softmax(W: np.ndarray, X: np.ndarray, y: np.ndarray, bug: bool) -> Any:
    n = X.shape[0]
    S = X @ W
    loss = -float(np.sum(log_softmax(S, axis=1)[np.arange(n), y])) / n
    if np.abs(S).max() > 50:  # overflow (and underflow) guard: shift by the row maxima
        E = np.exp(S - S.max(axis=1, keepdims=True))
        P = E / (E.sum() if bug else E.sum(axis=1, keepdims=True))  # bug: the whole batch
    else:
        E = np.exp(S)
        P = E / E.sum(axis=1, keepdims=True)
    return loss, X.T @ (P - _onehot(y, W.shape[1])) / n


# -- sizes and labels ----------------------------------------------------------------------


def _halves(w: np.ndarray, X: np.ndarray, t: np.ndarray, bug: bool) -> Any:
    n = len(t)
    half = n // 2
    r = X @ w - t
    first, second = max(half, 1), max(n - half, 1)
    loss = 0.5 * float(np.sum(r[:half] ** 2)) / first + 0.5 * float(np.sum(r[half:] ** 2)) / second
    scale = np.where(np.arange(n) < half, 1.0 / first, 1.0 / (first if bug else second))
    return loss, X.T @ (scale * r)


def _squeezed(W: np.ndarray, X: np.ndarray, T: np.ndarray, bug: bool) -> Any:
    R = X @ W - T
    loss = 0.5 * float(np.sum(R**2)) / X.shape[0]
    n = len(np.atleast_1d(np.squeeze(R))) if bug else X.shape[0]  # bug: C rows when N = 1
    return loss, X.T @ R / n


def _class_weighted(W: np.ndarray, X: np.ndarray, y: np.ndarray, bug: bool) -> Any:
    n, classes = X.shape[0], W.shape[1]
    weight = np.ones(classes)
    weight[-1] = 0.5  # the last class is "background", weighted down
    S = X @ W
    per = -log_softmax(S, axis=1)[np.arange(n), y]
    loss = float(np.sum(weight[y] * per)) / n
    w_i = np.ones(n) if bug else weight[y]  # the bug forgets the class weight
    return loss, X.T @ (w_i[:, None] * (softmax(S, axis=1) - _onehot(y, classes))) / n


# -- the cases -----------------------------------------------------------------------------


def _twins(impl: Callable[..., Any], names: str) -> tuple[Loss, Loss]:
    """Named-argument losses ``buggy(**a)`` and ``correct(**a)`` from ``impl(..., bug)``."""
    signature = inspect.Signature(
        [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in names.split()]
    )

    def make(bug: bool) -> Loss:
        def loss(**arguments: Any) -> tuple[float, np.ndarray]:
            return impl(**arguments, bug=bug)  # type: ignore[no-any-return]

        loss.__signature__ = signature  # type: ignore[attr-defined]
        loss.__name__ = loss.__qualname__ = f"{impl.__name__[1:]}_{'buggy' if bug else 'correct'}"
        return loss

    return make(True), make(False)


def _case(
    name: str,
    corner: str,
    impl: Callable[..., Any],
    names: str,
    strategies: Callable[[], dict[str, Any]],
    typical: Callable[[np.random.Generator], dict[str, Any]],
) -> InputCase:
    buggy, correct = _twins(impl, names)
    return InputCase(name, corner, names.split()[0], buggy, correct, strategies, typical)


_n, _d, _c, _v = TYPICAL["N"], TYPICAL["D"], TYPICAL["C"], TYPICAL["V"]


def _regression(rng: np.random.Generator) -> dict[str, Any]:
    return {"w": _normal(rng, _d), "X": _normal(rng, _n, _d), "t": _normal(rng, _n)}


def _soft_targets(rng: np.random.Generator) -> dict[str, Any]:
    return {"W": _normal(rng, _d, _c), "X": _normal(rng, _n, _d), "T": _normal(rng, _n, _c)}


def _classification(rng: np.random.Generator) -> dict[str, Any]:
    return {
        "W": _normal(rng, _d, _c),
        "X": _normal(rng, _n, _d),
        "y": rng.integers(0, _c, _n),
    }


CASES: tuple[InputCase, ...] = (
    _case(
        "embedding_scatter",
        "repeated indices",
        _embedding,
        "E idx T",
        lambda: {"E": gs.weights((V, D)), "idx": gs.labels(N, classes=V), "T": gs.data((N, D))},
        lambda rng: {
            "E": _normal(rng, 3 * _n, _d),
            "idx": rng.permutation(3 * _n)[:_n],  # a typical batch of distinct tokens
            "T": _normal(rng, _n, _d),
        },
    ),
    _case(
        "center_loss_assign",
        "repeated labels",
        _center,
        "Cm X y",
        lambda: {"Cm": gs.weights((C, D)), "X": gs.data((N, D)), "y": gs.labels(N, classes=C)},
        lambda rng: {
            "Cm": _normal(rng, _n, _d),
            "X": _normal(rng, _n, _d),
            "y": rng.integers(0, _n, _n),
        },
    ),
    _case(
        "dedup_counts",
        "duplicated rows",
        _dedup,
        "w X t",
        lambda: {"w": gs.weights(D), "X": gs.data((N, D)), "t": gs.data(N, nonnegative=True)},
        lambda rng: {"w": _normal(rng, _d), "X": _normal(rng, _n, _d), "t": rng.random(_n)},
    ),
    _case(
        "teacher_argmax_tie",
        "ties (in the data)",
        _teacher,
        "W X T",
        lambda: {"W": gs.weights((D, C)), "X": gs.data((N, D)), "T": gs.data((N, C))},
        _soft_targets,
    ),
    _case(
        "softmax_top_complement",
        "ties (in x, at a row's maximum)",
        _top_complement,
        "x y",
        lambda: {"x": gs.weights((N, C)), "y": gs.labels(N, classes=C)},
        lambda rng: {"x": _normal(rng, _n, _c), "y": rng.integers(0, _c, _n)},
    ),
    _case(
        "masked_mean_empty",
        "all-false mask",
        _masked_mean,
        "w X t m",
        lambda: {"w": gs.weights(D), "X": gs.data((N, D)), "t": gs.data(N), "m": gs.masks(N)},
        lambda rng: {**_regression(rng), "m": rng.random(_n) < 0.5},
    ),
    _case(
        "zero_weight_count",
        "exact zeros (in the data)",
        _weighted_mean,
        "w X t s",
        lambda: {
            "w": gs.weights(D),
            "X": gs.data((N, D)),
            "t": gs.data(N),
            "s": gs.data(N, nonnegative=True),
        },
        lambda rng: {**_regression(rng), "s": rng.random(_n)},
    ),
    _case(
        "product_zero",
        "exact zeros (in x)",
        _product,
        "x c",
        lambda: {"x": gs.weights(D), "c": gs.scalars()},
        lambda rng: {"x": _normal(rng, _d), "c": float(_normal(rng, 1)[0])},
    ),
    _case(
        "softplus_branch",
        "|z| > 30",
        _softplus_mean,
        "w X",
        lambda: {"w": gs.weights(D), "X": gs.data((N, D))},
        lambda rng: {"w": _normal(rng, _d), "X": _normal(rng, _n, _d)},
    ),
    _case(
        "logistic_tail_branch",
        "|z| > 30",
        _logistic,
        "w X y",
        lambda: {"w": gs.weights(D), "X": gs.data((N, D)), "y": gs.labels(N, classes=2)},
        lambda rng: {"w": _normal(rng, _d), "X": _normal(rng, _n, _d), "y": rng.integers(0, 2, _n)},
    ),
    _case(
        "huber_outlier_branch",
        "|residual| > 40",
        _huber,
        "w X t",
        lambda: {"w": gs.weights(D), "X": gs.data((N, D)), "t": gs.data(N)},
        _regression,
    ),
    _case(
        "gradient_clip",
        "large gradient",
        _clipped,
        "w X t",
        lambda: {"w": gs.weights(D), "X": gs.data((N, D)), "t": gs.data(N)},
        _regression,
    ),
    _case(
        "softmax_guard_branch",
        "scores > 50",
        _guarded_softmax,
        "W X y",
        lambda: {"W": gs.weights((D, C)), "X": gs.data((N, D)), "y": gs.labels(N, classes=C)},
        _classification,
    ),
    _case(
        "odd_batch_halves",
        "odd batch size",
        _halves,
        "w X t",
        lambda: {"w": gs.weights(D), "X": gs.data((N, D)), "t": gs.data(N)},
        _regression,
    ),
    _case(
        "batch_one_squeeze",
        "batch size 1",
        _squeezed,
        "W X T",
        lambda: {"W": gs.weights((D, C)), "X": gs.data((N, D)), "T": gs.data((N, C))},
        _soft_targets,
    ),
    _case(
        "last_class_weight",
        "labels of the last class",
        _class_weighted,
        "W X y",
        lambda: {"W": gs.weights((D, C)), "X": gs.data((N, D)), "y": gs.labels(N, classes=C)},
        lambda rng: {
            "W": _normal(rng, _d, _c),
            "X": _normal(rng, _n, _d),
            "y": rng.integers(0, _c, _n),
        },
    ),
)
