"""The frozen result objects of a gradient check."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Verdict = Literal["pass", "fail", "inconclusive"]
Outcome = Literal["pass", "fail", "kink", "unreliable"]

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class EntryRecord:
    """One compared entry of the gradient (or Jacobian).

    ``rel_error`` is ``|analytic - numeric| / max(|analytic|, |numeric|, floor)`` (see
    ``gradtest._tolerance``); ``error_estimate`` is the estimated error of ``numeric``;
    the entry fails when ``abs_error > tolerance``.
    """

    array: str
    index: tuple[int, ...]
    label: str
    output: tuple[int, ...]
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float
    error_estimate: float
    step: float
    tolerance: float
    outcome: Outcome
    note: str = ""
    probe: Literal["entry", "direction"] = "entry"


@dataclass(frozen=True)
class StepSweep:
    """Numeric derivative and relative error of one entry against the step size."""

    label: str
    analytic: float
    steps: tuple[float, ...]
    numeric: tuple[float, ...]
    rel_errors: tuple[float, ...]
    best_step: float
    error_floor: float


@dataclass(frozen=True)
class TaylorTest:
    """Remainders ``|f(x + eps v) - f(x) - eps g.v|`` for halving ``eps`` and their slopes.

    A correct gradient gives slope 2 (the remainder is O(eps**2)), a wrong one slope 1.
    """

    eps: tuple[float, ...]
    remainders: tuple[float, ...]
    slopes: tuple[float, ...]
    verdict: Literal["consistent", "wrong", "uninformative"]
    explanation: str


@dataclass(frozen=True)
class Diagnosis:
    """Why the verdict is what it is."""

    summary: str
    patterns: tuple[str, ...] = ()
    kinks: tuple[str, ...] = ()
    noise_floor: float = 0.0
    taylor: TaylorTest | None = None
    sweeps: tuple[StepSweep, ...] = ()
    scipy_check_grad: float | None = None
    notes: tuple[str, ...] = ()
    #: whether ``noise_floor`` was measured (a passing check does not need it: 0.0 then)
    noise_measured: bool = True


@dataclass(frozen=True)
class GradCheckResult:
    """The outcome of :func:`gradtest.check_grad` or :func:`gradtest.check_jacobian`.

    ``str(result)`` is the human report; ``result.to_dict()`` a JSON-ready dict.
    """

    name: str
    verdict: Verdict
    max_rel_error: float
    worst: EntryRecord | None
    n_evals: int
    entries: tuple[EntryRecord, ...]
    diagnosis: Diagnosis
    method: str
    seed: int
    dtype: str
    kind: Literal["gradient", "jacobian"] = "gradient"
    wrt: tuple[str, ...] = ()
    evals_by_phase: dict[str, int] = field(default_factory=dict)
    relative_error_formula: str = ""
    mode: str = "full"
    coverage: str = ""
    budget: int | None = None

    @property
    def passed(self) -> bool:
        """``True`` when the verdict is ``"pass"``."""
        return self.verdict == "pass"

    def failing(self) -> tuple[EntryRecord, ...]:
        """The entries that failed, worst first."""
        bad = [e for e in self.entries if e.outcome == "fail"]
        return tuple(sorted(bad, key=lambda e: -e.rel_error))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``"schema": 1``) with every field of the result."""
        data = asdict(self)
        data["schema"] = SCHEMA_VERSION
        data["passed"] = self.passed
        return data

    def __str__(self) -> str:
        from gradtest._report import render

        return render(self)
