"""The options of a check, validated once into a frozen :class:`CheckOptions`.

Every public entry point (``check_grad``, ``check_jacobian``, ``check_descent``) turns its
keyword arguments into a ``CheckOptions`` here; the pipeline never sees raw arguments.
Messages follow one style: the argument, the value that arrived, what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from gradtest import _finite_diff as fd
from gradtest.errors import InvalidArgumentError

Method = Literal["central", "forward", "central4", "richardson", "complex"]
Mode = Literal["auto", "full", "directions"]
Kind = Literal["gradient", "jacobian"]
MODES = ("auto", "full", "directions")


@dataclass(frozen=True)
class CheckOptions:
    """Everything a check was asked to do, validated."""

    kind: Kind
    args: tuple[Any, ...]
    rtol: float | None
    atol: float | None
    method: Method
    step: float | None
    seed: int
    name: str
    compare_scipy: bool
    mode: Mode
    budget: int | None
    vectorized: bool
    executor: Executor | None
    diagnose: bool | None

    @property
    def derivname(self) -> str:
        return "grad" if self.kind == "gradient" else "jac"

    @property
    def user_tolerance(self) -> bool:
        return self.rtol is not None or self.atol is not None


def name_of(fun: Any) -> str:
    """A readable name for a callable."""
    return str(getattr(fun, "__name__", None) or type(fun).__name__)


def check_callables(fun: Any, deriv: Any, derivname: str) -> None:
    if not callable(fun):
        raise InvalidArgumentError(f"fun must be callable, got {type(fun).__name__} {fun!r:.60}")
    if deriv is not True and not callable(deriv):
        raise InvalidArgumentError(
            f"{derivname} must be a callable returning the derivative, or True when fun returns "
            f"(value, derivative); got {type(deriv).__name__} {deriv!r:.60}"
        )


def check_seed(seed: Any) -> int:
    """The seed as an int; a fresh one (reported in the result) when ``None``."""
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2**32))  # type: ignore[operator]
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidArgumentError(f"seed must be None or an int >= 0, got {seed!r}")
    return int(seed)


def _check_tolerance(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.floating, np.integer))
        or not math.isfinite(value)
        or value < 0
    ):
        raise InvalidArgumentError(f"{name} must be None or a finite number >= 0, got {value!r}")
    return float(value)


def make_options(
    fun: Any,
    deriv: Any,
    *,
    kind: Kind,
    args: Any = (),
    rtol: Any = None,
    atol: Any = None,
    method: Any = "central",
    step: Any = None,
    seed: Any = None,
    name: Any = None,
    compare_scipy: Any = True,
    mode: Any = "auto",
    budget: Any = None,
    vectorized: Any = False,
    executor: Any = None,
    diagnose: Any = None,
) -> CheckOptions:
    """Validate the arguments of a check (see :func:`gradtest.check_grad`)."""
    derivname = "grad" if kind == "gradient" else "jac"
    check_callables(fun, deriv, derivname)
    if not isinstance(args, tuple):
        raise InvalidArgumentError(
            f"args must be a tuple of extra arguments, got {type(args).__name__}: "
            "write args=(X, y) (a one-element tuple needs a comma: args=(X,))"
        )
    if method not in fd.METHODS:
        raise InvalidArgumentError(f"method must be one of {list(fd.METHODS)}, got {method!r}")
    if step is not None and (
        isinstance(step, bool)
        or not isinstance(step, (int, float, np.floating))
        or not (0 < step < 1)
    ):
        raise InvalidArgumentError(f"step must be None or a relative step in (0, 1), got {step!r}")
    if mode not in MODES:
        raise InvalidArgumentError(f"mode must be one of {list(MODES)}, got {mode!r}")
    check_method_and_mode(method, mode)
    if budget is not None and (
        isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1
    ):
        raise InvalidArgumentError(f"budget must be None or an int >= 1, got {budget!r}")
    for flag, value in (("vectorized", vectorized), ("compare_scipy", compare_scipy)):
        if not isinstance(value, bool):
            raise InvalidArgumentError(f"{flag} must be True or False, got {value!r}")
    if diagnose is not None and not isinstance(diagnose, bool):
        raise InvalidArgumentError(
            f"diagnose must be None (diagnose a fail or inconclusive verdict), True or False, "
            f"got {diagnose!r}"
        )
    if isinstance(executor, type):
        raise InvalidArgumentError(
            f"executor must be an Executor instance, got the class {executor.__name__}: "
            f"write executor={executor.__name__}()"
        )
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise InvalidArgumentError(
            "executor must be a concurrent.futures.Executor (an object with .submit), got "
            f"{type(executor).__name__}"
        )
    if vectorized and executor is not None:
        raise InvalidArgumentError(
            f"vectorized=True and executor={type(executor).__name__}(...) cannot be combined: "
            "a vectorized fun takes every perturbation of a phase in a few calls of its own, "
            "so the executor would not be used; pass one of them"
        )
    if name is not None and not isinstance(name, str):
        raise InvalidArgumentError(f"name must be None or a str, got {name!r:.60}")
    return CheckOptions(
        kind=kind,
        args=args,
        rtol=_check_tolerance("rtol", rtol),
        atol=_check_tolerance("atol", atol),
        method=method,
        step=None if step is None else float(step),
        seed=check_seed(seed),
        name=name or name_of(fun),
        compare_scipy=compare_scipy,
        mode=mode,
        budget=None if budget is None else int(budget),
        vectorized=vectorized,
        executor=executor,
        diagnose=diagnose,
    )


def check_method_and_mode(method: Any, mode: Any) -> None:
    """Random directions are checked by central differences: another method would do nothing."""
    if mode == "directions" and method != "central":
        raise InvalidArgumentError(
            f"method={method!r} is a stencil for the check of every entry: mode='directions' "
            "compares random directional derivatives by central differences and would not "
            f"use it; pass mode='full' (or 'auto') with method={method!r}, or drop method="
        )


def deriv_name(deriv: Callable[..., Any] | Literal[True]) -> str:
    return "fun" if deriv is True else name_of(deriv)
