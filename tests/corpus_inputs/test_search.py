"""@gradcheck with default settings finds bugs that hide in corners, and passes their twins.

The fast part of ``benchmarks/bench_search.py``: a few losses of the corpus whose
gradient is wrong only on part of the input space (an all-false mask, an exact zero,
the stable branch of softplus at ``z > 30``, repeated labels), checked with the
default strategies and settings, at fixed seeds.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import gradtest
import gradtest.strategies as gs

FAST_CASES = ("masked_mean_empty", "product_zero", "softplus_branch", "center_loss_assign")


@cache
def corpus() -> ModuleType:
    path = Path(__file__).resolve().parent
    spec = importlib.util.spec_from_file_location(
        "gradtest_corpus_inputs", path / "__init__.py", submodule_search_locations=[str(path)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def case(name: str) -> Any:
    return next(c for c in corpus().CASES if c.name == name)


@pytest.mark.parametrize("name", FAST_CASES)
def test_default_gradcheck_finds_the_bug_and_passes_the_twin(name: str) -> None:
    c = case(name)
    buggy = gradtest.gradcheck(wrt=c.wrt, **c.strategies())(c.buggy)
    outcome = gradtest.run_gradcheck(buggy, seed=0)
    assert outcome.verdict == "fail", outcome.report
    correct = gradtest.gradcheck(wrt=c.wrt, **c.strategies())(c.correct)
    twin = gradtest.run_gradcheck(correct, seed=0)
    assert twin.verdict == "pass", twin.report


def test_the_bugs_hide_from_a_typical_point() -> None:
    # the repeated labels of center_loss_assign are typical (8 labels of 8 classes)
    for name in ("masked_mean_empty", "product_zero", "softplus_branch", "softmax_top_complement"):
        c = case(name)
        example = c.typical(np.random.default_rng(0))
        others = [k for k in example if k != c.wrt]

        def fun(x: Any, *args: Any, c: Any = c, others: list[str] = others) -> Any:
            return c.buggy(**{c.wrt: x, **dict(zip(others, args, strict=True))})

        args = tuple(example[k] for k in others)
        result = gradtest.check_grad(fun, True, example[c.wrt], args=args, seed=0)
        assert result.verdict == "pass", (name, str(result))


def test_a_tie_in_x_shows_the_bug_to_finite_differences() -> None:
    # the loss is smooth at a tie: central differences of it are the true gradient there
    c = case("softmax_top_complement")
    x, y = np.array([[0.5, 0.5, -1.0], [0.2, 0.1, 0.0]]), np.array([2, 0])
    h, numeric = 1e-6, np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        numeric[i] = (c.correct(x=x + step, y=y)[0] - c.correct(x=x - step, y=y)[0]) / (2 * h)
    np.testing.assert_allclose(c.correct(x=x, y=y)[1], numeric, atol=1e-8)
    wrong = ~np.isclose(c.buggy(x=x, y=y)[1], numeric, atol=1e-3)
    assert wrong.tolist() == [[True, True, False], [False, False, False]]
    distinct = x + np.array([[0.01, 0.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(c.buggy(x=distinct, y=y)[1], c.correct(x=distinct, y=y)[1])


def test_without_corners_the_stable_branch_is_never_reached() -> None:
    c = case("softplus_branch")
    plain = gradtest.gradcheck(
        wrt="w",
        w=gs.weights(gs.dim("D"), corners=False),
        X=gs.data((gs.dim("N"), gs.dim("D")), corners=False),
    )(c.buggy)
    assert gradtest.run_gradcheck(plain, seed=0, max_examples=30).verdict == "pass"
    cornered = gradtest.gradcheck(wrt="w", **c.strategies())(c.buggy)
    assert gradtest.run_gradcheck(cornered, seed=0).verdict == "fail"
