"""Does the search reach the inputs where gradient bugs hide? (``tests/corpus_inputs``)

Run from the project root::

    python benchmarks/bench_search.py [--seeds 5] [--case NAME ...] [--per-case]

For every loss of the corpus (wrong only on part of the input space) and its correct
twin, and for each seed, three approaches:

- **gradcheck**: ``@gradtest.gradcheck`` with default settings (the default
  :mod:`gradtest.strategies` of the case, the hypothesis profile's 100 examples), run by
  ``gradtest.run_gradcheck(test, seed=seed)``; a bug is found when the verdict is
  ``"fail"``. ``--no-target`` passes ``settings=`` without hypothesis's target phase
  (which hill-climbs on the relative error, round-off noise while the gradient agrees).
- **point**: one ``gradtest.check_grad`` at a typical random point (normal values,
  ``N = 8`` examples, ``D = 4`` features, ``C = 3`` classes), drawn with ``seed``.
- **hyp+scipy**: a plain hypothesis test (``@given`` with the same strategies,
  ``max_examples=100``, ``hypothesis.seed(seed)``, no database, no deadline) whose body
  calls ``scipy.optimize.check_grad`` and fails when ``err > 1e-6 · ‖g‖₂``.

A false alarm is a ``"fail"`` (or an exception) on a correct twin; gradcheck's
``"inconclusive"`` (most inputs sat on a kink) is counted apart. Evaluations are calls
of the loss, counted by a wrapper (each returns the loss and its gradient), including
hypothesis's shrinking; times are wall-clock seconds per run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import hypothesis
import numpy as np
from _helpers import Counted, load_package
from hypothesis import given
from scipy.optimize import check_grad as scipy_check_grad

import gradtest

#: hyp+scipy flags a gradient when ‖g − fd‖₂ > SCIPY_REL · ‖g‖₂
SCIPY_REL = 1e-6
APPROACHES = ("gradcheck", "point", "hyp+scipy")
#: the issue's targets for gradcheck
TARGET_SEEDS, TARGET_EVALS = 4, 1500


def load_corpus() -> ModuleType:
    """Import ``tests/corpus_inputs`` by path (``tests`` is not a package)."""
    return load_package("tests/corpus_inputs", "gradtest_bench_corpus_inputs")


@dataclass(frozen=True)
class Run:
    case: str
    twin: str  # "buggy" or "correct"
    approach: str
    seed: int
    outcome: str  # "fail", "pass", "inconclusive", "error: ..."
    evals: int
    seconds: float

    @property
    def flagged(self) -> bool:
        return self.outcome == "fail" or self.outcome.startswith("error")


def _split(case: Any, example: dict[str, Any]) -> tuple[Any, list[str]]:
    return example[case.wrt], [k for k in example if k != case.wrt]


#: ``--no-target``: the decorator's settings without hypothesis's target phase
NO_TARGET = hypothesis.settings(
    phases=[
        p for p in hypothesis.Phase if p not in (hypothesis.Phase.target, hypothesis.Phase.explain)
    ]
)
GRADCHECK_SETTINGS: hypothesis.settings | None = None


def run_gradcheck(case: Any, loss: Counted, seed: int) -> str:
    test = gradtest.gradcheck(wrt=case.wrt, settings=GRADCHECK_SETTINGS, **case.strategies())(loss)
    return gradtest.run_gradcheck(test, seed=seed).verdict


def run_point(case: Any, loss: Counted, seed: int) -> str:
    example = case.typical(np.random.default_rng(seed))
    x, others = _split(case, example)

    def fun(x: Any, *args: Any) -> Any:
        return loss(**{case.wrt: x, **dict(zip(others, args, strict=True))})

    args = tuple(example[k] for k in others)
    return gradtest.check_grad(fun, True, x, args=args, seed=seed, compare_scipy=False).verdict


def run_hyp_scipy(case: Any, loss: Counted, seed: int) -> str:
    settings = hypothesis.settings(max_examples=100, database=None, deadline=None)

    @settings
    @hypothesis.seed(seed)
    @given(**case.strategies())
    def test(**example: Any) -> None:
        x, others = _split(case, example)
        shape, rest = x.shape, {k: example[k] for k in others}

        def func(v: np.ndarray) -> float:
            return float(loss(**{case.wrt: v.reshape(shape), **rest})[0])

        def grad(v: np.ndarray) -> np.ndarray:
            return np.asarray(loss(**{case.wrt: v.reshape(shape), **rest})[1]).ravel()

        x0 = np.asarray(x, dtype=np.float64).ravel()
        err = scipy_check_grad(func, grad, x0)
        assert err <= SCIPY_REL * np.linalg.norm(grad(x0)), err

    try:
        test()
    except AssertionError:
        return "fail"
    return "pass"


RUNNERS: dict[str, Callable[[Any, Counted, int], str]] = {
    "gradcheck": run_gradcheck,
    "point": run_point,
    "hyp+scipy": run_hyp_scipy,
}


def measure(case: Any, twin: str, approach: str, seed: int) -> Run:
    loss = Counted(case.buggy if twin == "buggy" else case.correct)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # overflow in a scipy-side evaluation, etc.
            outcome = RUNNERS[approach](case, loss, seed)
    except Exception as err:  # the run raised instead of giving a verdict
        outcome = f"error: {type(err).__name__}"
    return Run(case.name, twin, approach, seed, outcome, loss.calls, time.perf_counter() - start)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summary(runs: list[Run], cases: list[Any], seeds: list[int]) -> str:
    n_seeds = len(seeds)
    lines = [
        f"Input-dependent bugs: {len(cases)} losses with correct twins, seeds {seeds} "
        f"(numpy {np.__version__}, hypothesis {hypothesis.__version__}, "
        f"gradtest {getattr(gradtest, '__version__', '?')})",
        "",
        f"| approach | bugs found in >= {min(TARGET_SEEDS, n_seeds)} of {n_seeds} seeds "
        "| bug runs flagged "
        "| false alarms on twins (runs) | twin runs inconclusive | median evals per run "
        "| median evals, buggy / twin | median s per run | total s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for approach in APPROACHES:
        mine = [r for r in runs if r.approach == approach]
        if not mine:
            continue
        bug = [r for r in mine if r.twin == "buggy"]
        twin = [r for r in mine if r.twin == "correct"]
        found = sum(
            sum(r.flagged for r in bug if r.case == c.name) >= min(TARGET_SEEDS, n_seeds)
            for c in cases
        )
        lines.append(
            f"| {approach} | {found} / {len(cases)} | {sum(r.flagged for r in bug)} / {len(bug)} "
            f"| {sum(r.flagged for r in twin)} / {len(twin)} "
            f"| {sum(r.outcome == 'inconclusive' for r in twin)} / {len(twin)} "
            f"| {_median([r.evals for r in mine]):,.0f} "
            f"| {_median([r.evals for r in bug]):,.0f} / {_median([r.evals for r in twin]):,.0f} "
            f"| {_median([r.seconds for r in mine]):.2f} | {sum(r.seconds for r in mine):.0f} |"
        )
    lines += ["", "Bugs found per seed:", ""]
    lines.append("| approach | " + " | ".join(f"seed {s}" for s in seeds) + " |")
    lines.append("|---|" + "---|" * n_seeds)
    for approach in APPROACHES:
        bug = [r for r in runs if r.approach == approach and r.twin == "buggy"]
        if bug:
            per = [sum(r.flagged for r in bug if r.seed == s) for s in seeds]
            lines.append(f"| {approach} | " + " | ".join(f"{k} / {len(cases)}" for k in per) + " |")
    return "\n".join(lines)


def per_case(runs: list[Run], cases: list[Any], seeds: list[int]) -> str:
    present = [a for a in APPROACHES if any(r.approach == a for r in runs)]
    # gradcheck's evaluations and twin outcomes, when it ran
    extra = (
        ["gradcheck evals (bug, twin)", "twin outcomes (gradcheck)"]
        if "gradcheck" in present
        else []
    )
    head = [f"{a}: bug / twin alarms" for a in present] + extra
    lines = ["| case | corner | " + " | ".join(head) + " |", "|---|---|" + "---|" * len(head)]
    for c in cases:
        cells = []
        for a in present:
            bug = [r for r in runs if r.case == c.name and r.approach == a and r.twin == "buggy"]
            twin = [r for r in runs if r.case == c.name and r.approach == a and r.twin == "correct"]
            cells.append(
                f"{sum(r.flagged for r in bug)}/{len(bug)} / {sum(r.flagged for r in twin)}"
            )
        if extra:
            gc = [r for r in runs if r.case == c.name and r.approach == "gradcheck"]
            cells.append(
                f"{_median([r.evals for r in gc if r.twin == 'buggy']):,.0f}, "
                f"{_median([r.evals for r in gc if r.twin == 'correct']):,.0f}"
            )
            cells.append(", ".join(sorted({r.outcome for r in gc if r.twin == "correct"})))
        lines.append(f"| {c.name} | {c.corner} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, metavar="N", help="seeds 0..N-1 (5)")
    parser.add_argument("--case", action="append", default=[], metavar="NAME", help="only NAME")
    parser.add_argument(
        "--approach", action="append", choices=APPROACHES, default=[], help="only this one"
    )
    parser.add_argument("--per-case", action="store_true", help="also one row per case")
    parser.add_argument(
        "--no-target",
        action="store_true",
        help="run gradcheck with settings=hypothesis.settings(phases=...) without the target phase",
    )
    opts = parser.parse_args(argv)
    global GRADCHECK_SETTINGS
    GRADCHECK_SETTINGS = NO_TARGET if opts.no_target else None
    corpus = load_corpus()
    cases = [c for c in corpus.CASES if not opts.case or c.name in opts.case]
    if not cases:
        parser.error(f"--case {opts.case} matches none of {[c.name for c in corpus.CASES]}")
    approaches = opts.approach or list(APPROACHES)
    seeds = list(range(opts.seeds))
    runs = []
    for case in cases:
        for approach in approaches:
            for twin in ("buggy", "correct"):
                for seed in seeds:
                    run = measure(case, twin, approach, seed)
                    runs.append(run)
                    print(
                        f"  {case.name:22s} {twin:7s} {approach:9s} seed {seed}: "
                        f"{run.outcome:12s} {run.evals:6d} evals {run.seconds:6.2f} s",
                        file=sys.stderr,
                        flush=True,
                    )
    print(summary(runs, cases, seeds))
    if opts.per_case:
        print()
        print(per_case(runs, cases, seeds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
