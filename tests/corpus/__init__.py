"""A corpus of correct and deliberately wrong gradients, to measure gradtest against.

``CASES`` lists every :class:`Case`: correct functions (smooth, float64 and float32, values
near 1e8 and 1e-8, ndarray, tuple and dict parameters), correct functions evaluated exactly
on a kink (``expected="kinked"``), and buggy variants (``expected="buggy"``) in the
categories of :data:`CATEGORIES`. Everything is seeded and small.

The package is loaded by path (``tests`` is not a package), e.g. by
``tests/core/test_corpus.py`` and ``benchmarks/bench_corpus.py``.

Examples
--------
>>> from collections import Counter
>>> counts = Counter(case.expected for case in CASES)
>>> counts["correct"] + counts["kinked"] >= 20, counts["buggy"] >= 60
(True, True)
"""

from __future__ import annotations

from ._case import CATEGORIES, Case, leaves, tree_map
from .bugs import build_buggy
from .functions import build_correct

__all__ = ["CASES", "CATEGORIES", "Case", "by_name", "leaves", "tree_map"]


def _build() -> list[Case]:
    correct = build_correct()
    cases = [*correct.values(), *build_buggy(correct)]
    names = [c.name for c in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise RuntimeError(f"corpus case names must be unique, these repeat: {duplicates}")
    return cases


#: every case of the corpus: correct ones first, then the buggy variants
CASES: list[Case] = _build()


def by_name(name: str) -> Case:
    """The case called ``name``.

    Examples
    --------
    >>> by_name("quadratic").expected
    'correct'
    """
    for case in CASES:
        if case.name == name:
            return case
    raise KeyError(f"no corpus case named {name!r}; names are e.g. {CASES[0].name!r}")
