"""executor= with a dask.distributed local cluster (the optional ``gradtest[dask]`` extra)."""

from __future__ import annotations

import numpy as np
import pytest

import gradtest

distributed = pytest.importorskip("distributed")


def rosenbrock(x: np.ndarray) -> float:
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def rosenbrock_grad(x: np.ndarray) -> np.ndarray:
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def test_dask_local_cluster_executor_gives_the_same_verdicts() -> None:
    x = np.linspace(-1.2, 1.1, 12)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        executor = client.get_executor()
        good = gradtest.check_grad(rosenbrock, rosenbrock_grad, x, executor=executor, seed=0)
        bad = gradtest.check_grad(
            rosenbrock, lambda x: rosenbrock_grad(x) * 1.01, x, executor=executor, seed=0
        )
    plain = gradtest.check_grad(rosenbrock, rosenbrock_grad, x, seed=0)
    assert good.verdict == "pass" and bad.verdict == "fail"
    assert good.n_evals == plain.n_evals
    assert [e.numeric for e in good.entries] == [e.numeric for e in plain.entries]
