"""Hunt for counterexamples to the engine's fuzz properties far beyond their CI size.

Run from the project root::

    python benchmarks/hunt.py false-alarm --examples 300000   # a fail of a correct gradient
    python benchmarks/hunt.py false-pass --examples 200000    # a pass of a bug above 1e-6 ‖g‖
    python benchmarks/hunt.py kinks --examples 40000          # the kink fuzz's two properties

``false-alarm`` and ``false-pass`` search the strategies of ``tests/core/test_fuzz_engine.py``
with ``hypothesis.find`` for a float64 problem whose correct gradient fails, or whose
mutated gradient (an error above 1e-6 of the gradient's norm) passes, and print the
problem's description, the check seed and the report; they print "none found" otherwise.
``kinks`` runs the two properties of ``tests/core/test_fuzz_kinks.py`` with
``max_examples`` raised. The CI runs each property at 150 examples; a search at 300,000
takes about an hour here.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import hypothesis
import numpy as np
from hypothesis import strategies as st

import gradtest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str) -> ModuleType:
    path = ROOT / "tests" / "core" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _verdict(fun: Any, grad: Any, x: Any, seed: int) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return gradtest.check_grad(fun, grad, x, seed=seed).verdict
        except gradtest.GradtestError:
            return "error"


def search(kind: str, examples: int) -> None:
    fz = _load("test_fuzz_engine")

    @st.composite
    def cases(draw: st.DrawFn) -> tuple[Any, Any, str, int]:
        problem = draw(fz.problems())
        if kind == "false-alarm":
            return problem, problem.grad, "correct", draw(st.integers(0, 2**16))
        mutation = draw(st.sampled_from(fz.MUTATIONS))
        return problem, fz._mutate(problem, mutation, draw), mutation, draw(st.integers(0, 2**16))

    def found(case: tuple[Any, Any, str, int]) -> bool:
        problem, grad, _, seed = case
        if problem.dtype != np.float64:
            return False
        if kind == "false-alarm":
            return _verdict(problem.loss, grad, problem.x, seed) == "fail"
        g = fz._flatten(problem.grad(problem.x))
        error = float(np.linalg.norm(fz._flatten(grad(problem.x)) - g))
        if not error > fz.BUG_THRESHOLD * float(np.linalg.norm(g)):
            return False
        return _verdict(problem.loss, grad, problem.x, seed) == "pass"

    settings = hypothesis.settings(
        max_examples=examples,
        database=None,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    try:
        problem, grad, what, seed = hypothesis.find(cases(), found, settings=settings)
    except hypothesis.errors.NoSuchExample:
        print(f"{kind}: none found in {examples} examples")
        return
    print(f"{kind}: {problem.description}; gradient {what}; check seed {seed}")
    print(gradtest.check_grad(problem.loss, grad, problem.x, seed=seed))


def kinks(examples: int) -> None:
    fk = _load("test_fuzz_kinks")
    names = ("test_a_valid_subgradient_is_never_failed",)
    names += ("test_a_wrong_smooth_entry_is_never_passed",)
    for name in names:
        test = getattr(fk, name)
        test._hypothesis_internal_use_settings = hypothesis.settings(
            fk.KINK_FUZZ, max_examples=examples, database=None
        )
        start = time.time()
        test()
        print(f"{name}: {examples} examples, no counterexample ({time.time() - start:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["false-alarm", "false-pass", "kinks"])
    parser.add_argument("--examples", type=int, default=20000)
    opts = parser.parse_args()
    if opts.kind == "kinks":
        kinks(opts.examples)
    else:
        search(opts.kind, opts.examples)


if __name__ == "__main__":
    main()
