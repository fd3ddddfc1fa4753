"""Fuzz test of the engine (issue 11, What to build §4).

"A fuzz test in tests/: hypothesis generates smooth functions (sums, products, exp, log, sin,
tanh, matmul, softmax, logsumexp) with exact gradients and mutated twins, over shapes (0-d to
3-d, size 1 to 5,000), dtypes, scales 1e-8…1e8, tuple/dict inputs and memory layouts: no raw
exception, no float64 false alarm, no pass of a float64 bug above 1e-6·‖g‖."

A generated loss is ``f(x) = c · R(op_k(… op_1(u)))`` where ``u`` concatenates every input
array divided by its own scale, each ``op`` maps a vector to a vector (sin, tanh, exp, a log
of a positive value, a sum, products, a matrix product, softmax) and ``R`` reduces it to a
scalar (a sum, a sum of squares, a dot product, logsumexp, a softmax-weighted sum). Every op
carries its exact reverse-mode derivative, so the gradient is exact up to float64 round-off.
Each function is defined everywhere; ``exp`` is only applied where its argument is at most
30 at ``x`` (so no perturbation can overflow it). A failure of a property is therefore the
engine's fault.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

import gradtest

Vec = np.ndarray
Back = Callable[[Vec], Vec]
Op = Callable[[Vec], tuple[Vec, Back]]

#: the largest exp argument at x; a relative perturbation cannot push it to overflow
EXP_MAX = 30.0
#: a generated gradient agrees with its extended-precision twin to this (relative, 2-norm)
EXACT = 1e-9
#: "no pass of a float64 bug above 1e-6·‖g‖"
BUG_THRESHOLD = 1e-6

UNARY = ("sin", "tanh", "exp", "log1p_square", "u_sin_u", "u_plus_tanh", "roll_product")
UNARY += ("matmul", "affine", "softmax")
REDUCERS = ("sum", "half_sum_squares", "dot", "logsumexp", "softmax_dot")
MUTATIONS = ("sign flip", "factor", "one entry", "transpose")


def _sech2(u: Vec) -> Vec:
    """1 − tanh(u)², without the cancellation of that formula where tanh saturates."""
    e = np.exp(-2 * np.abs(u))
    return 4 * e / (1 + e) ** 2


def _unary(name: str, rng: np.random.Generator, size: int) -> tuple[Op, int]:
    """The op called ``name`` on vectors of ``size`` entries, and its output size."""
    if name == "sin":
        return (lambda u: (np.sin(u), lambda b: b * np.cos(u))), size
    if name == "tanh":

        def tanh(u: Vec) -> tuple[Vec, Back]:
            return np.tanh(u), lambda b: b * _sech2(u)

        return tanh, size
    if name == "exp":

        def exp(u: Vec) -> tuple[Vec, Back]:
            v = np.exp(u)
            return v, lambda b: b * v

        return exp, size
    if name == "log1p_square":  # the log of a positive thing
        return (lambda u: (np.log1p(u * u), lambda b: b * 2 * u / (1 + u * u))), size
    if name == "u_sin_u":  # a product
        return (lambda u: (u * np.sin(u), lambda b: b * (np.sin(u) + u * np.cos(u)))), size
    if name == "u_plus_tanh":  # a sum
        return (lambda u: (u + np.tanh(u), lambda b: b * (1 + _sech2(u)))), size
    if name == "roll_product":  # products of neighbouring entries

        def roll_product(u: Vec) -> tuple[Vec, Back]:
            r = np.roll(u, 1)
            return u * r, lambda b: b * r + np.roll(b * u, -1)

        return roll_product, size
    if name == "matmul":
        m = int(rng.integers(1, 9))
        M = rng.standard_normal((m, size)) / np.sqrt(size)
        return (lambda u: (M @ u, lambda b: M.T @ b)), m
    if name == "affine":
        a = float(rng.uniform(0.5, 2.0) * rng.choice([-1, 1]))
        c = float(rng.uniform(-1, 1))
        return (lambda u: (a * u + c, lambda b: a * b)), size
    assert name == "softmax"

    def softmax(u: Vec) -> tuple[Vec, Back]:
        e = np.exp(u - u.max())
        s = e / e.sum()
        return s, lambda b: s * (b - s @ b)

    return softmax, size


def _reducer(name: str, rng: np.random.Generator, size: int) -> Callable[[Vec], tuple[float, Vec]]:
    """The op reducing a vector of ``size`` entries to a scalar, with its gradient."""
    w = rng.standard_normal(size)
    if name == "sum":
        return lambda u: (float(np.sum(u)), np.ones_like(u))
    if name == "half_sum_squares":
        return lambda u: (float(0.5 * u @ u), u)
    if name == "dot":
        return lambda u: (float(w @ u), w)
    if name == "logsumexp":

        def logsumexp(u: Vec) -> tuple[float, Vec]:
            m = u.max()
            e = np.exp(u - m)
            return float(m + np.log(e.sum())), e / e.sum()

        return logsumexp
    assert name == "softmax_dot"

    def softmax_dot(u: Vec) -> tuple[float, Vec]:
        e = np.exp(u - u.max())
        s = e / e.sum()
        return float(s @ w), s * (w - s @ w)

    return softmax_dot


@dataclass
class Problem:
    """A generated loss: the point in the structure given to gradtest, the loss, its gradient."""

    x: Any
    loss: Callable[[Any], float]
    grad: Callable[[Any], Any]
    dtype: np.dtype[Any]
    description: str


def _layout(a: np.ndarray, how: str) -> np.ndarray:
    """``a`` with the same values in another memory layout."""
    if how == "fortran" or a.ndim == 0:
        return np.asfortranarray(a) if a.ndim else a
    # a non-contiguous view: every other row of a twice-as-tall array
    tall = np.zeros((2 * a.shape[0], *a.shape[1:]), dtype=a.dtype)
    tall[::2] = a
    return tall[::2]


@st.composite
def shapes(draw: st.DrawFn) -> tuple[int, ...]:
    """0-d to 3-d; sizes mostly small, rarely up to 5,000."""
    if draw(st.integers(0, 24)) == 0:  # a big array, rarely
        return draw(st.sampled_from([(5000,), (50, 100), (40, 25, 5), (1500,), (2001,)]))
    ndim = draw(st.integers(0, 3))
    return tuple(draw(st.integers(1, 4)) for _ in range(ndim))


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    dtype = np.dtype(draw(st.sampled_from(["float64"] * 4 + ["float32"])))
    n_arrays = draw(st.integers(1, 3))
    structure = draw(st.sampled_from(["array", "tuple", "dict"])) if n_arrays == 1 else None
    structure = structure or draw(st.sampled_from(["tuple", "dict"]))
    arrays, scales = [], []
    for _ in range(n_arrays):
        shape = draw(shapes())
        scale = float(10.0 ** draw(st.integers(-8, 8)) * rng.uniform(0.5, 2.0))
        z = rng.uniform(-2.0, 2.0, shape)
        layout = draw(st.sampled_from(["c", "fortran", "strided"]))
        arrays.append(_layout(np.asarray(scale * z, dtype=dtype), layout))
        scales.append(scale)
    assume(sum(a.size for a in arrays) <= 6000)
    out_scale = float(10.0 ** draw(st.integers(-8, 8)))
    names = [f"a{k}" for k in range(n_arrays)]
    sizes = [a.size for a in arrays]
    shapes_ = [a.shape for a in arrays]
    splits = np.cumsum(sizes)[:-1]

    size = sum(sizes)
    ops: list[Op] = []
    op_names = draw(st.lists(st.sampled_from(UNARY), max_size=4))
    for name in op_names:
        op, size = _unary(name, rng, size)
        ops.append(op)
    reducer_name = draw(st.sampled_from(REDUCERS))
    reducer = _reducer(reducer_name, rng, size)

    def leaves(x: Any) -> list[np.ndarray]:
        if structure == "array":
            return [x]
        if structure == "tuple":
            return list(x)
        return [x[k] for k in names]

    def forward_backward(x: Any, ftype: type = np.float64) -> tuple[float, Vec]:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            u = np.concatenate(
                [
                    np.asarray(a, dtype=ftype).ravel() / ftype(s)
                    for a, s in zip(leaves(x), scales, strict=True)
                ]
            )
            backs = []
            for op in ops:
                u, back = op(u)
                backs.append(back)
            value, b = reducer(u)
            for back in reversed(backs):
                b = back(b)
            return out_scale * value, out_scale * b / np.repeat(scales, sizes).astype(ftype)

    def loss(x: Any) -> float:
        return forward_backward(x)[0]

    def grad(x: Any) -> Any:
        parts = [
            p.reshape(shape).astype(dtype)
            for p, shape in zip(np.split(forward_backward(x)[1], splits), shapes_, strict=True)
        ]
        if structure == "array":
            return parts[0]
        if structure == "tuple":
            return tuple(parts)
        return dict(zip(names, parts, strict=True))

    x: Any = arrays[0] if structure == "array" else tuple(arrays)
    if structure == "dict":
        x = dict(zip(names, arrays, strict=True))

    # exp only where its argument stays far from overflow at x
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        u = np.concatenate(
            [
                np.asarray(a, dtype=np.float64).ravel() / s
                for a, s in zip(arrays, scales, strict=True)
            ]
        )
        for name, op in zip(op_names, ops, strict=True):
            if name == "exp":
                assume(float(np.max(u)) <= EXP_MAX)
            u, _ = op(u)
    value, g = forward_backward(x)
    assume(np.isfinite(value) and np.all(np.isfinite(g)))
    # the float64 gradient must be exact to round-off: compared with the same formulas in
    # extended precision, so that a gradient that is all round-off (the sum of a softmax
    # is constant) is not generated as a "correct gradient" nor its mutation as a bug
    g_ext = forward_backward(x, np.longdouble)[1]
    assume(np.linalg.norm(g - g_ext) <= EXACT * np.linalg.norm(g_ext))
    description = (
        f"{structure} of {[(a.shape, a.dtype.name) for a in arrays]}, scales {scales}, "
        f"output scale {out_scale:g}, ops {op_names} then {reducer_name}, seed {seed}"
    )
    return Problem(x, loss, grad, dtype, description)


def _mutate(problem: Problem, mutation: str, draw: st.DrawFn) -> Callable[[Any], Any]:
    """The gradient of ``problem`` with a bug: a sign flip, a factor, one entry perturbed
    by a relative 1e-4 or more, or a transposition (a reversal for non-square arrays)."""
    factor = draw(st.sampled_from([2.0, 0.5, 1.1, 10.0]))
    rel = draw(st.sampled_from([1e-4, 1e-3, 1e-2, 1.0]))
    pick = draw(st.integers(0, 2**31))

    def wrong(x: Any) -> Any:
        g = problem.grad(x)
        if isinstance(g, np.ndarray):
            keys: list[Any] = [0]
            parts = [g]
        else:
            keys = list(g) if isinstance(g, dict) else list(range(len(g)))
            parts = [g[k] for k in keys]
        parts = [np.array(p, dtype=p.dtype) for p in parts]
        k = pick % len(parts)
        if mutation == "sign flip":
            parts = [-p for p in parts]
        elif mutation == "factor":
            parts = [factor * p for p in parts]
        elif mutation == "one entry":
            flat = parts[k].reshape(-1)
            flat[pick % flat.size] *= 1 + rel
            parts[k] = flat.reshape(parts[k].shape)
        else:  # transpose
            p = parts[k]
            if p.ndim == 2 and p.shape[0] == p.shape[1]:
                parts[k] = p.T.copy()
            elif p.ndim:
                parts[k] = p[::-1].copy()
        parts = [np.asarray(p, dtype=problem.dtype) for p in parts]
        if isinstance(g, np.ndarray):
            return parts[0]
        if isinstance(g, tuple):
            return tuple(parts)
        return dict(zip(keys, parts, strict=True))

    return wrong


def _flatten(g: Any) -> Vec:
    if isinstance(g, (np.ndarray, np.generic)):
        return np.asarray(g, dtype=np.float64).ravel()
    values = g.values() if isinstance(g, dict) else g
    return np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in values])


def _check(fun: Callable[[Any], float], grad: Callable[[Any], Any], x: Any, seed: int) -> Any:
    """The result, or None when gradtest raised one of its own errors; anything else raises."""
    try:
        with warnings.catch_warnings():
            # gradtest's documented warnings (low precision, InconclusiveWarning) are not
            # failures; numpy's RuntimeWarnings from inside gradtest stay errors
            warnings.simplefilter("ignore", UserWarning)
            result = gradtest.check_grad(fun, grad, x, seed=seed)
            str(result)
    except gradtest.GradtestError as err:
        note(f"gradtest raised {type(err).__name__}: {err}")
        return None
    note(str(result))
    return result


FUZZ = settings(
    max_examples=150,
    deadline=None,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(problem=problems(), seed=st.integers(0, 2**16))
def test_correct_gradient_is_never_failed(problem: Problem, seed: int) -> None:
    """Issue 11: "no raw exception, no float64 false alarm"."""
    note(problem.description)
    result = _check(problem.loss, problem.grad, problem.x, seed)
    if result is not None and problem.dtype == np.float64:
        assert result.verdict != "fail", str(result)


@FUZZ
@given(
    problem=problems(),
    mutation=st.sampled_from(MUTATIONS),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_wrong_gradient_is_never_passed(
    problem: Problem, mutation: str, seed: int, data: st.DataObject
) -> None:
    """Issue 11: "no raw exception ... no pass of a float64 bug above 1e-6·‖g‖"."""
    note(problem.description)
    wrong = _mutate(problem, mutation, data.draw)
    g = _flatten(problem.grad(problem.x))
    error = float(np.linalg.norm(_flatten(wrong(problem.x)) - g))
    note(f"mutation {mutation}: ‖error‖ = {error:.3g}, ‖g‖ = {np.linalg.norm(g):.3g}")
    result = _check(problem.loss, wrong, problem.x, seed)
    if result is None or problem.dtype != np.float64:
        return
    if error > BUG_THRESHOLD * float(np.linalg.norm(g)):
        assert result.verdict != "pass", str(result)
