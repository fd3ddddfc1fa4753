"""Checks running in parallel threads do not share random directions or their cache."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import gradtest


def _problem(scale: float) -> tuple[object, object, np.ndarray]:
    target = np.linspace(-1.0, 1.0, 500) * scale

    def loss(x: np.ndarray) -> float:
        time.sleep(0.0002)  # let the other threads run in between evaluations
        r = x - target
        return 0.5 * float(r @ r) + float(np.sum(np.sin(x)))

    def grad(x: np.ndarray) -> np.ndarray:
        return x - target + np.cos(x)

    x = np.random.default_rng(int(scale)).standard_normal(500) * scale
    return loss, grad, x


def _summary(scale: float) -> tuple[str, int, list[float]]:
    loss, grad, x = _problem(scale)
    r = gradtest.check_grad(loss, grad, x, seed=3, mode="directions")
    return r.verdict, r.n_evals, [e.numeric for e in r.entries]


def test_checks_in_parallel_threads_match_the_same_checks_run_one_by_one() -> None:
    # the same seed for every check, at points of very different scales: the directions'
    # chunks (scaled to x) must not leak from one thread's check into another's
    scales = [1.0, 1000.0] * 8
    alone = {s: _summary(s) for s in set(scales)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(_summary, scales))
    for s, got in zip(scales, together, strict=True):
        assert got == alone[s]
        assert got[0] == "pass"
