"""How often do the default strategies of a corpus case draw the input where its bug shows?

Run from the project root::

    python benchmarks/corner_rates.py [--seeds 20] [--without scaled]

For the cases of ``tests/corpus_inputs`` whose bug needs a derived quantity past a
threshold (``z = X @ w`` past 30, a residual past 40, ...) or a tie, draws 100 inputs per
seed from the case's strategies with hypothesis's generate phase only (no shrinking, no
target) and prints the share of inputs where the bug's condition holds, and how many
seeds drew none. ``--without NAME`` leaves an array corner out of the default strategies
(to compare with and without it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import hypothesis
import numpy as np
from _helpers import load_package
from hypothesis import given

import gradtest.strategies as gs


def _z(e: dict[str, Any]) -> Any:
    return e["X"] @ e["w"]


def _row_max_tie(x: np.ndarray) -> bool:
    return x.shape[1] >= 2 and bool(((x == x.max(axis=1, keepdims=True)).sum(axis=1) >= 2).any())


#: where each bug shows, as a predicate of one drawn input
SHOWS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "logistic_tail_branch": lambda e: bool(np.any((_z(e) < -30) & (e["y"] == 1))),
    "softplus_branch": lambda e: bool(np.any(_z(e) > 30)),
    "huber_outlier_branch": lambda e: bool(np.any(np.abs(_z(e) - e["t"]) > 40)),
    "gradient_clip": lambda e: bool(np.abs(e["X"].T @ (_z(e) - e["t"]) / len(e["t"])).max() > 20),
    "softmax_guard_branch": lambda e: bool(np.abs(e["X"] @ e["W"]).max() > 50),
    "softmax_top_complement": lambda e: _row_max_tie(e["x"]),
}


def share(case: Any, shows: Callable[[dict[str, Any]], bool], seed: int) -> float:
    """The share of 100 generated inputs for which ``shows`` holds."""
    hits, draws = [0], [0]

    @hypothesis.settings(
        max_examples=100, database=None, deadline=None, phases=[hypothesis.Phase.generate]
    )
    @hypothesis.seed(seed)
    @given(**case.strategies())
    def draw(**example: Any) -> None:
        draws[0] += 1
        hits[0] += shows(example)

    draw()
    return hits[0] / draws[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20, metavar="N", help="seeds 0..N-1 (20)")
    parser.add_argument(
        "--without", action="append", default=[], choices=sorted(gs.ARRAY_CORNERS), help="drop"
    )
    opts = parser.parse_args(argv)
    # the builders read the module's ARRAY_CORNERS when corners=True
    gs.ARRAY_CORNERS = gs.ARRAY_CORNERS - set(opts.without)
    corpus = load_package("tests/corpus_inputs", "gradtest_bench_corpus_inputs")
    print(f"array corners: {sorted(gs.ARRAY_CORNERS)}; 100 inputs x {opts.seeds} seeds each")
    print("| case | inputs where the bug shows | seeds with none |")
    print("|---|---|---|")
    for case in corpus.CASES:
        if case.name in SHOWS:
            per_seed = [share(case, SHOWS[case.name], s) for s in range(opts.seeds)]
            none = sum(s == 0 for s in per_seed)
            print(f"| {case.name} | {np.mean(per_seed):.1%} | {none} / {opts.seeds} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
