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

from gradtest._check import assert_grad, check_grad, check_jacobian
from gradtest._decorator import (
    GradcheckOutcome,
    GradcheckSpec,
    InconclusiveGradcheckError,
    gradcheck,
    registered_checks,
    run_gradcheck,
)
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
