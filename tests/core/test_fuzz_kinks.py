"""Fuzz test of the engine at kinks: a valid subgradient is never failed.

The smooth fuzz test (``test_fuzz_engine.py``) never puts x at a kink. Hypothesis does,
when it checks a user's loss: it favours 0, 1 and exact ties, and so it found a margin of
the CS231n SVM exactly at its hinge, with a regulariser whose curvature hid the kink from
the kink test (``test_verdicts.py::test_a_kink_hidden_by_curvature_is_a_kink_not_a_failure``).

A generated loss is ``f(x) = w . x + reg |x|**2 + sum_k c_k kink_k(x)``, each kink a ReLU
or an absolute value of ``s (x_i - t)``, or a hinge ``max(0, x_i - x_j + m)``, with its
kink at x, near it or away from it. Its gradient takes, at a kink exactly at x, either
one-sided derivative (a valid subgradient; each entry is in one kink at most, so that the
one-sided derivatives of the sum are those of its terms). Scales of x, of the kinks and of
the curvature span six orders of magnitude.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import gradtest

KINDS = ("relu", "abs", "hinge")


@dataclass
class Kinked:
    loss: Callable[[np.ndarray], float]
    grad: Callable[[np.ndarray], np.ndarray]
    x: np.ndarray
    smooth_entries: list[int]
    description: str


@st.composite
def kinked_problems(draw: st.DrawFn) -> Kinked:
    n = draw(st.integers(1, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = 10.0 ** draw(st.integers(-3, 3))
    x = rng.standard_normal(n) * scale
    for i in draw(st.lists(st.integers(0, n - 1), max_size=n)):
        x[i] = draw(st.sampled_from([0.0, 1.0, -1.0, 100.0]))
    w = rng.standard_normal(n) * 10.0 ** draw(st.integers(-3, 3))
    reg = 10.0 ** draw(st.integers(-3, 3))
    terms = []
    kinked_entries: set[int] = set()
    # each entry in one kink at most: two kinks at x on one axis can cancel (relu(u) -
    # relu(-u) = u), and a side chosen for each is then no subgradient of their sum
    free = list(range(n))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(KINDS))
        if len(free) < (2 if kind == "hinge" else 1):
            break
        i = free.pop(draw(st.integers(0, len(free) - 1)))
        j = free.pop(draw(st.integers(0, len(free) - 1))) if kind == "hinge" else i
        c = 10.0 ** draw(st.integers(-3, 3)) * draw(st.sampled_from([1.0, -1.0]))
        s = draw(st.sampled_from([1.0, -1.0, 0.5, 3.0]))
        offset = draw(st.sampled_from([0.0, 0.0, 1e-9, -1e-6, 1e-3, 1.0])) * max(abs(x[i]), 1.0)
        side = draw(st.booleans())
        if kind == "hinge":
            t = x[j] - x[i] + offset  # the margin x_i - x_j + t is ~offset at x
        else:
            t = x[i] + offset  # s (x_i - t) is exactly -s offset at x
        terms.append((kind, i, j, c, s, t, side))
        kinked_entries.update((i, j) if kind == "hinge" else (i,))

    def arg(term: tuple, z: np.ndarray) -> float:  # type: ignore[type-arg]
        kind, i, j, _, s, t, _ = term
        return float(z[i] - z[j] + t) if kind == "hinge" else float(s * (z[i] - t))

    def loss(z: np.ndarray) -> float:
        total = float(w @ z + reg * (z @ z))
        for term in terms:
            a = arg(term, z)
            total += term[3] * (abs(a) if term[0] == "abs" else max(a, 0.0))
        return total

    def grad(z: np.ndarray) -> np.ndarray:
        g = w + 2 * reg * z
        for term in terms:
            kind, i, j, c, s, _, side = term
            a = arg(term, z)
            if kind == "abs":
                slope = float(np.sign(a)) if a != 0 else (1.0 if side else -1.0)
            else:  # relu and hinge: 1 above the kink, 0 below, either at it
                slope = 1.0 if a > 0 or (a == 0 and side) else 0.0
            if kind == "hinge":
                g[i] += c * slope
                g[j] -= c * slope
            else:
                g[i] += c * s * slope
        return g

    smooth = [k for k in range(n) if k not in kinked_entries]
    description = f"n={n}, scale={scale:g}, reg={reg:g}, terms=" + ", ".join(
        f"{k}(i={i}, j={j}, c={c:g}, s={s:g}, side={sd})" for k, i, j, c, s, _, sd in terms
    )
    return Kinked(loss, grad, x, smooth, description)


KINK_FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@KINK_FUZZ
@given(problem=kinked_problems(), seed=st.integers(0, 2**16))
def test_a_valid_subgradient_is_never_failed(problem: Kinked, seed: int) -> None:
    note(problem.description)
    result = gradtest.check_grad(problem.loss, problem.grad, problem.x, seed=seed)
    assert result.verdict != "fail", f"{problem.description}\n{result}"


@KINK_FUZZ
@given(problem=kinked_problems(), seed=st.integers(0, 2**16), data=st.data())
def test_a_wrong_smooth_entry_is_never_passed(
    problem: Kinked, seed: int, data: st.DataObject
) -> None:
    if not problem.smooth_entries:
        return
    k = data.draw(st.sampled_from(problem.smooth_entries))
    g0 = problem.grad(problem.x)
    # wrong by far more than the engine's tolerance: 1e-3 of the gradient's largest entry
    delta = 1e-3 * max(float(np.max(np.abs(g0))), 1.0)

    def wrong(z: np.ndarray) -> np.ndarray:
        g = problem.grad(z)
        g[k] += delta
        return g

    note(problem.description)
    result = gradtest.check_grad(problem.loss, wrong, problem.x, seed=seed)
    assert result.verdict != "pass", f"{problem.description}, entry {k} off by {delta:g}\n{result}"
