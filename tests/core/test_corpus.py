"""gradtest on the corpus of correct and deliberately wrong gradients (``tests/corpus``).

Done-when of the core engine: 100% of the bugs flagged ("fail"), no false alarm on the
correct and the kinked-but-correct functions, and every smooth correct function passes.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import gradtest


def load_corpus() -> ModuleType:
    """Import ``tests/corpus`` by path (``tests`` is not a package)."""
    name = "gradtest_test_corpus"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parents[1] / "corpus"
    spec = importlib.util.spec_from_file_location(
        name, path / "__init__.py", submodule_search_locations=[str(path)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


corpus = load_corpus()
CASES: list[Any] = corpus.CASES
BUGGY = [c for c in CASES if c.expected == "buggy"]
SOUND = [c for c in CASES if c.expected != "buggy"]


@cache
def result_of(name: str, seed: int = 0) -> gradtest.GradCheckResult:
    """The check of one case (cached: the fraction test reuses the per-case results)."""
    result: gradtest.GradCheckResult = corpus.by_name(name).check(seed=seed)
    return result


def diagnosis_text(result: gradtest.GradCheckResult) -> str:
    return " | ".join((result.diagnosis.summary, *result.diagnosis.patterns))


def test_corpus_is_as_large_as_the_issue_asks() -> None:
    functions = {c.name for c in SOUND}
    assert len(functions) >= 20
    assert len(BUGGY) >= 60
    assert len({c.name for c in CASES}) == len(CASES)
    categories = Counter(c.category for c in BUGGY)
    assert set(categories) == set(corpus.CATEGORIES), categories
    # every buggy case derives from a correct function of the corpus or names its own base
    assert all(c.base for c in BUGGY)
    # the structures and precisions the issue names are all represented
    structures = {type(c.x).__name__ for c in SOUND}
    assert structures == {"ndarray", "tuple", "dict"}
    assert {c.dtype for c in SOUND} >= {"float64", "float32"}
    assert sum(c.expected == "kinked" for c in SOUND) >= 5


def test_buggy_variants_really_differ_from_the_correct_gradient() -> None:
    """Guard the corpus itself: a "bug" that leaves the gradient unchanged tests nothing."""
    by_name = {c.name: c for c in CASES}
    for case in BUGGY:
        base = by_name.get(case.base)
        if base is None or base.x is not case.x:
            continue
        good = corpus.leaves(base.gradient())
        bad = corpus.leaves(case.gradient())
        assert any(
            not np.array_equal(np.asarray(g), np.asarray(b)) for g, b in zip(good, bad, strict=True)
        ), case.name


@pytest.mark.parametrize("case", BUGGY, ids=lambda c: c.name)
def test_buggy_gradient_fails(case: Any) -> None:
    result = result_of(case.name)
    assert result.verdict == "fail", f"[{case.category}] {case.name} was not flagged:\n{result}"
    if case.pattern:
        assert case.pattern in diagnosis_text(result), str(result)


@pytest.mark.parametrize("case", SOUND, ids=lambda c: c.name)
def test_correct_gradient_never_fails(case: Any) -> None:
    for seed in (0, 1):
        result = result_of(case.name, seed)
        assert result.verdict != "fail", f"false alarm on {case.name} (seed={seed}):\n{result}"


@pytest.mark.parametrize(
    "case", [c for c in SOUND if c.expected == "correct" and c.smooth], ids=lambda c: c.name
)
def test_smooth_correct_gradient_passes(case: Any) -> None:
    result = result_of(case.name)
    assert result.verdict == "pass", str(result)
    # relative to each entry, or to 1e-3 of the largest entry for the much smaller ones
    # (an entry 1e-5 of the gradient is known to the gradient's absolute precision only)
    g = max(max(abs(e.analytic), abs(e.numeric)) for e in result.entries)
    worst = max(
        abs(e.analytic - e.numeric) / max(abs(e.analytic), abs(e.numeric), 1e-3 * g)
        for e in result.entries
    )
    assert worst < (1e-3 if case.dtype == "float32" else 1e-6), str(result)


@pytest.mark.parametrize("case", [c for c in SOUND if c.expected == "kinked"], ids=lambda c: c.name)
def test_kinked_gradient_is_not_blamed(case: Any) -> None:
    result = result_of(case.name)
    assert result.verdict in ("pass", "inconclusive")
    if result.verdict == "inconclusive":
        outcomes = {e.outcome for e in result.entries}
        assert outcomes <= {"pass", "kink", "unreliable"}
        assert "kink" in outcomes or "unreliable" in outcomes


def test_every_bug_is_flagged() -> None:
    missed = [c.name for c in BUGGY if result_of(c.name).verdict != "fail"]
    flagged = 1 - len(missed) / len(BUGGY)
    assert flagged == 1.0, f"flagged {flagged:.1%} of {len(BUGGY)} bugs; missed: {missed}"


def test_no_false_alarm_on_any_correct_function() -> None:
    alarms = [c.name for c in SOUND if result_of(c.name).verdict == "fail"]
    assert alarms == []


def test_float32_cases_warn_about_their_precision() -> None:
    case = corpus.by_name("quadratic_float32")
    with pytest.warns(UserWarning, match="float32"):
        result = gradtest.check_grad(case.fun, case.grad, case.x, args=case.args, seed=0)
    assert result.dtype == "float32"


def test_the_one_entry_bugs_are_located() -> None:
    """A single wrong entry is reported at the entry the corpus perturbed."""
    for name, label in (
        ("quadratic_entry_zero", "x[3]"),
        ("least_squares_entry_rel_1e-3", "x[2]"),
        ("quadratic_entry_1e-6_norm", "x[5]"),
        ("softmax_ce_entry_1e-6_norm", "x[2, 3]"),
        ("tanh_net_dict_b2_entry_rel_1e-3", "b2[1]"),
    ):
        result = result_of(name)
        assert [e.label for e in result.failing()] == [label], str(result)
