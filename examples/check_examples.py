"""Check the bundled example losses with gradtest and print every report.

Run from the project root::

    python examples/check_examples.py

Each loss in ``examples/losses.py`` is checked at a small seeded random point; the report of
each check is printed, then a summary table. The exit code is 0 when every correct loss
passes (or is inconclusive, never "fail") and every deliberately wrong one fails, 1 otherwise.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import gradtest

# losses.py sits beside this file: importable when run as a script and when loaded by path
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from losses import (  # noqa: E402
    softmax_loss,
    softmax_loss_missing_factor,
    softmax_loss_missing_mean,
    svm_loss,
    svm_loss_sign_flipped,
    two_layer_net,
    two_layer_net_missing_reg,
)

#: sizes of the example problem: samples, features, hidden units, classes
N, D, H, C = 20, 5, 6, 3
#: regularisation strength used by every example
REG = 0.1
#: seed of the data and of gradtest's random directions
SEED = 0


@dataclass(frozen=True)
class Example:
    """One example loss, the point to check it at, and what gradtest should say."""

    fun: Callable[..., Any]
    x: Any
    args: tuple[Any, ...]
    wrong: bool
    bug: str


def make_examples(seed: int = SEED) -> list[Example]:
    """The correct and wrong examples at one seeded point.

    Parameters
    ----------
    seed : int
        Seed of the data and the weights.

    Returns
    -------
    list of Example
        Every loss of ``losses.py``, correct ones first within each family.

    Examples
    --------
    >>> [e.fun.__name__ for e in make_examples()][:2]
    ['svm_loss', 'svm_loss_sign_flipped']
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, size=N)
    W = 0.1 * rng.standard_normal((D, C))
    params = {
        "W1": rng.standard_normal((D, H)) / np.sqrt(D),
        "b1": 0.1 * rng.standard_normal(H),
        "W2": rng.standard_normal((H, C)) / np.sqrt(H),
        "b2": 0.1 * rng.standard_normal(C),
    }
    args = (X, y, REG)
    return [
        Example(svm_loss, W, args, wrong=False, bug=""),
        Example(svm_loss_sign_flipped, W, args, wrong=True, bug="sign flipped"),
        Example(softmax_loss, W, args, wrong=False, bug=""),
        Example(softmax_loss_missing_factor, W, args, wrong=True, bug="reg. gradient lacks 2"),
        Example(softmax_loss_missing_mean, W, args, wrong=True, bug="missing 1/N"),
        Example(two_layer_net, params, args, wrong=False, bug=""),
        Example(two_layer_net_missing_reg, params, args, wrong=True, bug="dW1 lacks reg. term"),
    ]


def main() -> int:
    """Check every example, print the reports and a summary; return the exit code.

    Returns
    -------
    int
        0 when every verdict is as expected, 1 otherwise.
    """
    rows = []
    all_ok = True
    for ex in make_examples():
        start = time.perf_counter()
        result = gradtest.check_grad(ex.fun, True, ex.x, args=ex.args, seed=SEED)
        seconds = time.perf_counter() - start
        ok = result.verdict == "fail" if ex.wrong else result.verdict != "fail"
        all_ok &= ok
        print(result)
        print()
        rows.append(
            (
                ex.fun.__name__,
                "wrong" if ex.wrong else "correct",
                result.verdict,
                f"{result.max_rel_error:.1e}",
                str(result.n_evals),
                f"{seconds:.2f}",
                "yes" if ok else "NO",
                result.diagnosis.summary if result.verdict == "fail" else ex.bug,
            )
        )
    header = ("example", "gradient", "verdict", "max rel", "evals", "time s", "as expected")
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(header)]
    print("Summary")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + "  diagnosis")
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=False)) + "  " + r[-1])
    n_bad = sum(r[6] == "NO" for r in rows)
    if all_ok:
        print(f"\nAll {len(rows)} examples gave the expected verdict.")
        return 0
    print(f"\n{n_bad} of {len(rows)} examples did NOT give the expected verdict.")
    return 1


if __name__ == "__main__":
    sys.exit(main())
