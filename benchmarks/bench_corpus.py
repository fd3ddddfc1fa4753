"""gradtest against ``scipy.optimize.check_grad`` on the corpus of ``tests/corpus``.

Run from the project root::

    python benchmarks/bench_corpus.py [--per-case]

Prints, for gradtest and for scipy's ``check_grad`` at two customary thresholds, the
detection rate on the buggy gradients, the false alarms on the correct and on the
kinked-but-correct ones, the evaluations of ``fun`` and the wall time; then, per bug
category, what each one caught; then the median relative error of gradtest's numeric
gradient against the exact analytic gradient per finite-difference method, on the correct
smooth float64 functions.

scipy's ``check_grad`` returns one number, ``‖g − fd‖₂`` with forward differences at
``ε = sqrt(EPS) ≈ 1.5e-8``, and leaves the threshold to the user. Two are customary:

- ``abs``: ``err < 1e-5``, the absolute threshold of the usual recipes (scipy's docstring
  example shows an error of ~3e-8 for a well scaled function);
- ``rel``: ``err / ‖g‖₂ < 1e-6``, the same test made scale-free (forward differences
  are good to about ``sqrt(EPS) ≈ 1e-8`` relative, so 1e-6 leaves a margin of 100).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

import numpy as np
from _helpers import Counted, load_package
from scipy.optimize import check_grad as scipy_check_grad

import gradtest

#: scipy thresholds (see the module docstring)
SCIPY_ABS = 1e-5
SCIPY_REL = 1e-6
Method = Literal["central", "forward", "central4", "richardson", "complex"]
METHODS: tuple[Method, ...] = (
    "central",
    "forward",
    "central4",
    "richardson",
    "complex",
)
#: targets of the issue for the median relative error on smooth float64 gradients
TARGETS = {"central": 1e-10, "richardson": 1e-12}


def load_corpus() -> ModuleType:
    """Import ``tests/corpus`` by path (``tests`` is not a package)."""
    return load_package("tests/corpus", "gradtest_bench_corpus")


@dataclass
class Row:
    """One case: gradtest's verdict and cost, scipy's figure and cost."""

    name: str
    expected: str
    category: str
    verdict: str
    g_evals: int
    g_counted: int
    g_time: float
    s_err: float
    s_rel: float
    s_evals: int
    s_time: float

    @property
    def scipy_abs_flags(self) -> bool:
        return not self.s_err < SCIPY_ABS  # nan counts as flagged

    @property
    def scipy_rel_flags(self) -> bool:
        return not self.s_rel < SCIPY_REL


def _flat(case: Any) -> tuple[np.ndarray, Callable[[np.ndarray], Any], Callable[[Any], Any]]:
    """``x`` flattened to float64, and maps between the flat vector and the structure."""
    arrays = [np.asarray(a) for a in case.leaves_x]
    sizes = [a.size for a in arrays]
    cuts = np.cumsum(sizes)[:-1]

    def unflatten(z: np.ndarray) -> Any:
        parts = [
            p.reshape(a.shape).astype(a.dtype)
            for p, a in zip(np.split(z, cuts), arrays, strict=True)
        ]
        if isinstance(case.x, dict):
            return dict(zip(case.x, parts, strict=True))
        if isinstance(case.x, tuple):
            return tuple(parts)
        return parts[0]

    def flatten(g: Any) -> Any:
        leaves = g.values() if isinstance(g, dict) else g if isinstance(g, tuple) else [g]
        return np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in leaves])

    x0 = np.concatenate([a.astype(np.float64).ravel() for a in arrays])
    return x0, unflatten, flatten


def run_scipy(case: Any) -> tuple[float, float, int, float]:
    """``scipy.optimize.check_grad`` on the case: error, error / ‖g‖, evaluations, seconds."""
    x0, unflatten, flatten = _flat(case)
    counted = Counted(case.fun)

    def func(z: np.ndarray) -> float:
        out = counted(unflatten(z), *case.args)
        return float(out[0] if case.grad is True else out)

    def grad(z: np.ndarray) -> Any:
        g = case.gradient(unflatten(z))
        return flatten(g)

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        err = float(scipy_check_grad(func, grad, x0))
    seconds = time.perf_counter() - start
    norm = float(np.linalg.norm(flatten(case.gradient())))
    return err, err / norm if norm > 0 else math.inf, counted.calls, seconds


def run_gradtest(case: Any) -> tuple[gradtest.GradCheckResult, int, float]:
    """gradtest's check (scipy comparison off, so only gradtest's own cost is counted)."""
    counted = Counted(case.fun)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*float32.*", category=UserWarning)
        result = gradtest.check_grad(
            counted,
            case.grad,
            case.x,
            args=case.args,
            seed=0,
            name=case.name,
            compare_scipy=False,
        )
    return result, counted.calls, time.perf_counter() - start


def accuracy(cases: list[Any]) -> list[tuple[str, int, float, float, float]]:
    """Per method: cases, median of ‖n − a‖/‖a‖ per case, median per-entry error, worst."""
    out: list[tuple[str, int, float, float, float]] = []
    for method in METHODS:
        per_case: list[float] = []
        per_entry: list[float] = []
        for case in cases:
            if method == "complex" and not case.complex_ok:
                continue
            result = gradtest.check_grad(
                case.fun,
                case.grad,
                case.x,
                args=case.args,
                seed=0,
                method=method,
                compare_scipy=False,
            )
            a = np.array([e.analytic for e in result.entries])
            n = np.array([e.numeric for e in result.entries])
            per_case.append(float(np.linalg.norm(n - a) / np.linalg.norm(a)))
            per_entry.extend(
                abs(x - y) / max(abs(x), abs(y)) for x, y in zip(a, n, strict=True) if x or y
            )
        out.append(
            (
                method,
                len(per_case),
                statistics.median(per_case),
                statistics.median(per_entry),
                max(per_case),
            )
        )
    return out


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(header)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += [
        "| " + " | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its tables (markdown); return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-case", action="store_true", help="also print one row per case")
    opts = parser.parse_args(argv)

    corpus = load_corpus()
    cases = corpus.CASES
    for case in cases:  # give the Case the flat view the scipy wrapper needs
        object.__setattr__(case, "leaves_x", corpus.leaves(case.x))
    run_gradtest(cases[0])  # warm-up: imports, caches
    run_scipy(cases[0])

    rows: list[Row] = []
    for case in cases:
        result, counted, g_time = run_gradtest(case)
        s_err, s_rel, s_evals, s_time = run_scipy(case)
        rows.append(
            Row(
                case.name,
                case.expected,
                case.category,
                result.verdict,
                result.n_evals,
                counted,
                g_time,
                s_err,
                s_rel,
                s_evals,
                s_time,
            )
        )
    assert all(r.g_evals == r.g_counted for r in rows), "n_evals disagrees with the call count"

    groups = {
        "buggy": [r for r in rows if r.expected == "buggy"],
        "correct": [r for r in rows if r.expected == "correct"],
        "kinked": [r for r in rows if r.expected == "kinked"],
    }
    print(
        f"Corpus: {len(groups['buggy'])} buggy, {len(groups['correct'])} correct, "
        f"{len(groups['kinked'])} kinked-but-correct cases "
        f"(numpy {np.__version__}, gradtest {gradtest.__version__}, seed 0)\n"
    )

    def rate(rs: list[Row], flag: Callable[[Row], bool]) -> str:
        k = sum(flag(r) for r in rs)
        return f"{k}/{len(rs)} ({k / len(rs):.0%})"

    checkers: list[tuple[str, Callable[[Row], bool], Callable[[Row], int], Callable[[Row], float]]]
    checkers = [
        ("gradtest", lambda r: r.verdict == "fail", lambda r: r.g_evals, lambda r: r.g_time),
        (
            f"scipy abs (err < {SCIPY_ABS:g})",
            lambda r: r.scipy_abs_flags,
            lambda r: r.s_evals,
            lambda r: r.s_time,
        ),
        (
            f"scipy rel (err/‖g‖ < {SCIPY_REL:g})",
            lambda r: r.scipy_rel_flags,
            lambda r: r.s_evals,
            lambda r: r.s_time,
        ),
    ]
    summary = []
    for label, flag, evals, secs in checkers:
        summary.append(
            [
                label,
                rate(groups["buggy"], flag),
                rate(groups["correct"], flag),
                rate(groups["kinked"], flag),
                str(sum(evals(r) for r in rows)),
                str(sum(evals(r) for r in groups["correct"])),
                str(sum(evals(r) for r in groups["buggy"])),
                f"{sum(secs(r) for r in rows):.2f}",
            ]
        )
    print(
        _table(
            [
                "checker",
                "bugs detected",
                "false alarms (correct)",
                "false alarms (kinked)",
                "evals, all",
                "evals, correct",
                "evals, buggy",
                "wall time s",
            ],
            summary,
        )
    )
    print("\nRatios gradtest / scipy:")
    for group in ("all", "correct", "buggy"):
        rs = rows if group == "all" else groups[group]
        g_ev, s_ev = sum(r.g_evals for r in rs), sum(r.s_evals for r in rs)
        g_t, s_t = sum(r.g_time for r in rs), sum(r.s_time for r in rs)
        print(f"- {group} cases: evaluations {g_ev / s_ev:.1f}x, wall time {g_t / s_t:.1f}x")
    print(
        "(scipy's check_grad costs n + 1 evaluations; a passing gradtest check costs 3 "
        "set-up evaluations plus 2 per entry (mode='full', up to 6 entries) or 4 per random "
        "direction (2 or 3 of them); a failing or inconclusive one adds the confirmation of "
        "the disagreeing entries, the noise floor and the diagnosis of its report (and, for "
        "directions at up to 2,000 entries, a check of every entry); here it runs with "
        "compare_scipy=False, which saves the evaluations of the scipy figure it otherwise "
        "shows.)"
    )
    for label, flag, _, _ in checkers[1:]:
        alarms_s = [r.name for r in rows if r.expected == "correct" and flag(r)]
        print(f"{label} false alarms on correct cases: {alarms_s}")
    inconclusive = [r.name for r in rows if r.expected != "buggy" and r.verdict == "inconclusive"]
    print(f"gradtest inconclusive on correct/kinked cases: {len(inconclusive)} {inconclusive}")

    print("\nDetection per bug category:\n")
    by_cat: dict[str, list[Row]] = defaultdict(list)
    for r in groups["buggy"]:
        by_cat[r.category].append(r)
    cat_rows = [
        [cat, str(len(rs))] + [rate(rs, flag).split(" ")[0] for _, flag, _, _ in checkers]
        for cat, rs in sorted(by_cat.items())
    ]
    print(_table(["category", "cases", "gradtest", "scipy abs", "scipy rel"], cat_rows))

    missed = [r for r in groups["buggy"] if r.verdict != "fail"]
    alarms = [r for r in rows if r.expected != "buggy" and r.verdict == "fail"]
    print(f"\ngradtest missed bugs: {[(r.name, r.verdict) for r in missed]}")
    print(f"gradtest false alarms: {[r.name for r in alarms]}")

    if opts.per_case:
        print()
        print(
            _table(
                [
                    "case",
                    "expected",
                    "category",
                    "gradtest",
                    "evals",
                    "scipy err",
                    "err/‖g‖",
                    "scipy evals",
                ],
                [
                    [
                        r.name,
                        r.expected,
                        r.category or "-",
                        r.verdict,
                        str(r.g_evals),
                        f"{r.s_err:.1e}",
                        f"{r.s_rel:.1e}",
                        str(r.s_evals),
                    ]
                    for r in rows
                ],
            )
        )

    smooth = [c for c in cases if c.expected == "correct" and c.smooth and c.is_float64]
    print(
        f"\nNumeric gradient against the exact analytic gradient, {len(smooth)} correct smooth "
        "float64 functions (median over cases of ‖n − a‖₂/‖a‖₂; median over all entries of "
        "|n − a|/max(|a|, |n|)):\n"
    )
    acc_rows = []
    for method, n_cases, med_case, med_entry, worst in accuracy(smooth):
        target = TARGETS.get(method)
        verdict = "" if target is None else ("met" if med_case <= target else "MISSED")
        acc_rows.append(
            [
                method,
                str(n_cases),
                f"{med_case:.1e}",
                f"{med_entry:.1e}",
                f"{worst:.1e}",
                f"≤ {target:g} {verdict}" if target else "-",
            ]
        )
    print(
        _table(
            ["method", "cases", "median ‖n − a‖/‖a‖", "median entry error", "worst case", "target"],
            acc_rows,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
