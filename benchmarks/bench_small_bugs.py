"""Single wrong entries just above the fuzz test's threshold, checked along random directions.

Run from the project root::

    python benchmarks/bench_small_bugs.py [--seeds 400] [--size 2001] [--error 2e-6]

Each seed draws a loss ``logsumexp`` over a scalar, a 1-entry array and a ``--size``-entry
array (entries ``s * U(-2, 2)`` with a scale ``s ~ U(0.5, 2)`` per array, as the engine's
fuzz test draws them), picks one entry of the big array at random and makes its gradient
wrong by ``--error`` times the gradient's 2-norm: the smallest bug the fuzz test requires
gradtest to fail ("no pass of a float64 bug above 1e-6 ‖g‖"), times 2 by default. Each
array gets one random direction (``mode="auto"``, 2,003 entries), so the bug shows only
through the direction's value at that entry. Prints how many checks failed, passed or were
inconclusive, and the evaluations they took.
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

import gradtest


def problem(seed: int, size: int, error: float) -> tuple[object, tuple[np.ndarray, ...]]:
    """The wrong gradient's loss (``grad=True`` form) and the point, for one seed."""
    rng = np.random.default_rng(1000 + seed)
    scales = [float(rng.uniform(0.5, 2.0)) for _ in range(3)]
    x = (
        scales[0] * rng.uniform(-2.0, 2.0, (1,)),
        scales[1] * rng.uniform(-2.0, 2.0, (size,)),
        np.asarray(scales[2] * rng.uniform(-2.0, 2.0)),
    )

    def parts(x: tuple[np.ndarray, ...]) -> tuple[float, list[np.ndarray]]:
        u = np.concatenate([np.ravel(a) / s for a, s in zip(x, scales, strict=True)])
        f = float(u.max() + np.log(np.sum(np.exp(u - u.max()))))
        w = np.exp(u - f)
        cuts = np.cumsum([np.size(a) for a in x])[:-1]
        pieces = zip(np.split(w, cuts), scales, x, strict=True)
        return f, [(p / s).reshape(np.shape(a)) for p, s, a in pieces]

    g = parts(x)[1]
    norm = float(np.sqrt(sum(float(np.sum(a * a)) for a in g)))
    entry = int(rng.integers(0, size))
    rel = error * norm / abs(float(g[1][entry]))

    def wrong(x: tuple[np.ndarray, ...]) -> tuple[float, tuple[np.ndarray, ...]]:
        f, gg = parts(x)
        gg[1] = gg[1].copy()
        gg[1][entry] *= 1 + rel
        return f, tuple(gg)

    return wrong, x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=400)
    parser.add_argument("--size", type=int, default=2001)
    parser.add_argument("--error", type=float, default=2e-6, help="times the gradient's norm")
    opts = parser.parse_args()
    verdicts: Counter[str] = Counter()
    evals: list[int] = []
    for seed in range(opts.seeds):
        wrong, x = problem(seed, opts.size, opts.error)
        result = gradtest.check_grad(wrong, True, x, seed=seed)
        verdicts[result.verdict] += 1
        evals.append(result.n_evals)
    print(
        f"one entry of {opts.size} wrong by {opts.error:g} x ‖g‖, {opts.seeds} seeds, "
        f"gradtest {gradtest.__version__}: "
        + ", ".join(f"{k} {verdicts[k]}" for k in ("fail", "inconclusive", "pass"))
        + f"; evaluations min / median / max {min(evals)} / {int(np.median(evals))} / {max(evals)}"
    )


if __name__ == "__main__":
    main()
