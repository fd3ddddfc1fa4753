"""gradtest: tell, with evidence, whether the analytic gradient of a loss is right.

Examples
--------
>>> import numpy as np
>>> import gradtest
>>> result = gradtest.check_grad(lambda w: float(np.sum(np.sin(w))), np.cos, np.ones(3))
>>> result.passed
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gradtest._check import assert_grad, check_grad, check_jacobian
from gradtest._descent import DescentResult, SlopeRecord, assert_descent, check_descent
from gradtest._result import Diagnosis, EntryRecord, GradCheckResult, StepSweep, TaylorTest
from gradtest.errors import (
    FunctionEvaluationError,
    GradientError,
    GradtestError,
    InconclusiveWarning,
    InvalidArgumentError,
    NondeterminismError,
)

__version__ = "0.1.0"

#: the property-based half of the API needs hypothesis: imported on first use, so that
#: ``import gradtest`` (and a plain check_grad) does not pay for it
_LAZY = {
    "GradcheckOutcome",
    "GradcheckSpec",
    "InconclusiveGradcheckError",
    "gradcheck",
    "registered_checks",
    "run_gradcheck",
}


#: submodules reachable as attributes once ``gradtest`` is imported, loaded on first use
#: (``gradtest.plot.plot_descent(...)`` after ``import gradtest``): hypothesis and matplotlib
#: stay unimported until then
_SUBMODULES = frozenset({"plot", "strategies"})


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"gradtest.{name}")
    if name in _LAZY:
        from gradtest import _decorator

        value = getattr(_decorator, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gradtest' has no attribute {name!r}")


if TYPE_CHECKING:
    from gradtest._decorator import (
        GradcheckOutcome,
        GradcheckSpec,
        InconclusiveGradcheckError,
        gradcheck,
        registered_checks,
        run_gradcheck,
    )

__all__ = [
    "DescentResult",
    "Diagnosis",
    "EntryRecord",
    "FunctionEvaluationError",
    "GradCheckResult",
    "GradcheckOutcome",
    "GradcheckSpec",
    "GradientError",
    "GradtestError",
    "InconclusiveGradcheckError",
    "InconclusiveWarning",
    "InvalidArgumentError",
    "NondeterminismError",
    "SlopeRecord",
    "StepSweep",
    "TaylorTest",
    "__version__",
    "assert_descent",
    "assert_grad",
    "check_descent",
    "check_grad",
    "check_jacobian",
    "gradcheck",
    "registered_checks",
    "run_gradcheck",
]
