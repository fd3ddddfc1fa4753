"""The exception tree of gradtest.

Every exception gradtest raises derives from :class:`GradtestError` and also from the
builtin a caller would expect, so ``except ValueError`` or pytest's failure reporting
keep working:

- :class:`InvalidArgumentError` (``ValueError`` and ``TypeError``): bad input.
- :class:`GradientError` (``AssertionError``): the analytic gradient is wrong.
- :class:`FunctionEvaluationError` (``RuntimeError``): the user's function raised.
- :class:`NondeterminismError` (``RuntimeError``): the function is not repeatable.

Examples
--------
>>> import gradtest
>>> issubclass(gradtest.GradientError, AssertionError)
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gradtest._descent import DescentResult
    from gradtest._result import GradCheckResult

__all__ = [
    "FunctionEvaluationError",
    "GradientError",
    "GradtestError",
    "InconclusiveWarning",
    "InvalidArgumentError",
    "NondeterminismError",
]


class GradtestError(Exception):
    """Base class of every error gradtest raises."""


class InvalidArgumentError(GradtestError, ValueError, TypeError):
    """An argument has the wrong type, shape, dtype or value.

    The message names the argument, what was expected and what arrived.
    """


class GradientError(GradtestError, AssertionError):
    """The analytic gradient disagrees with the numeric one.

    Parameters
    ----------
    message : str
        The rendered report.
    result : GradCheckResult, DescentResult or None
        The full result, for programmatic inspection.
    """

    def __init__(self, message: str, result: GradCheckResult | DescentResult | None = None) -> None:
        super().__init__(message)
        self.result = result


class FunctionEvaluationError(GradtestError, RuntimeError):
    """The user's function (or gradient) raised; the message says at which evaluation."""


class NondeterminismError(GradtestError, RuntimeError):
    """Two evaluations of the function at the same point gave different values."""


class InconclusiveWarning(UserWarning):
    """The numeric derivative could not be trusted, so no verdict on the gradient was reached."""
