"""Helpers for the plugin's tests: run real pytest sessions with the plugin loaded."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

# the example project is run by test_wheel.py in its own virtual environment
collect_ignore = ["example_project"]


def plugin_args() -> list[str]:
    """``-p pytest_gradtest`` unless the ``pytest11`` entry point already loads the plugin."""
    if entry_points(group="pytest11", name="gradtest"):
        return []
    return ["-p", "pytest_gradtest"]


@pytest.fixture(scope="session", autouse=True)
def _import_lazy_modules_once() -> None:
    """Import what gradtest imports lazily before any inline session runs.

    ``pytester.runpytest`` unloads the modules a session imported; compiled extensions
    (numpy, scipy) cannot be loaded twice in one process, so they are loaded here, first.
    """
    import numpy as np

    import gradtest

    gradtest.check_grad(lambda w: float(w @ w), lambda w: 2 * w, np.ones(2))
    # a failing check runs the diagnosis, which imports scipy.optimize (and numpy.fft)
    gradtest.check_grad(lambda w: float(w @ w), lambda w: -2 * w, np.ones(2))
    gradtest.check_jacobian(lambda w: w**2, lambda w: np.diag(2 * w), np.ones(2))
    # the decorator's machinery and hypothesis, which gradtest imports only when used (a
    # second copy of hypothesis, imported inside an inline session, breaks its sentinels)
    import hypothesis  # noqa: F401

    import gradtest._runner
    import gradtest.strategies

    try:
        import matplotlib.pyplot  # noqa: F401

        import gradtest.plot
    except ImportError:
        pass


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: builds a wheel or a virtual environment")


LOSSES = """
import numpy as np
import gradtest


@gradtest.gradcheck(wrt="w", w=np.array([1.0, 2.0, 0.5]))
def test_sine(w):
    return float(np.sum(np.sin(w))), np.cos(w)


@gradtest.gradcheck(wrt="w", w=np.array([1.0, 2.0, 0.5]))
def test_cube(w):
    return float(np.sum(w**3)), 2 * w**2  # wrong: the derivative of w**3 is 3 w**2
"""
