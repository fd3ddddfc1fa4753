"""``@gradcheck``: a property-based gradient test that hypothesis drives.

The decorator turns a loss ``f(W, X, y, reg) -> (loss, dW)`` and a strategy per argument
into a test function without arguments, validates every option when decorating, and
registers it. Running it (:mod:`gradtest._runner`) builds a hypothesis test whose body is
one :func:`gradtest.check_grad` call:

- a ``"fail"`` verdict raises, so hypothesis shrinks the input towards the smallest
  shapes and simplest values that still fail;
- an ``"inconclusive"`` verdict (a kink, a noisy estimate) rejects the input as
  ``hypothesis.assume`` does, and is counted; with ``strict_kinks=True`` a kink fails;
- every judged input reports its relative error to ``hypothesis.target``, so the search
  climbs towards the worst inputs.

:func:`registered_checks` lists every decorated function, for the pytest plugin and the
command line tool.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

import hypothesis
import numpy as np
from hypothesis import strategies as st

from gradtest._options import check_method_and_mode
from gradtest.errors import InvalidArgumentError

if TYPE_CHECKING:
    from gradtest._runner import GradcheckOutcome, InconclusiveGradcheckError, run_gradcheck

__all__ = [
    "GradcheckOutcome",
    "GradcheckSpec",
    "GradcheckTest",
    "InconclusiveGradcheckError",
    "gradcheck",
    "registered_checks",
    "run_gradcheck",
]

_METHODS = ("central", "forward", "central4", "richardson", "complex")
_MODES = ("auto", "full", "directions")
_RUNNER_NAMES = ("GradcheckOutcome", "InconclusiveGradcheckError", "run_gradcheck")


def __getattr__(name: str) -> Any:
    """The runner's public names, imported on first use (the runner imports this module)."""
    if name in _RUNNER_NAMES:
        from gradtest import _runner

        return getattr(_runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- the spec and the registry --------- ---------------------------------------------------


@dataclass(frozen=True, eq=False)
class GradcheckSpec:
    """Everything :func:`gradcheck` was given, attached as ``test.__gradtest__``.

    ``max_examples=None`` means the value of the current hypothesis profile.
    """

    name: str
    module: str
    qualname: str
    func: Callable[..., Any]
    wrt: tuple[str, ...]
    grad: Callable[..., Any] | None
    strategies: Mapping[str, Any]
    max_examples: int | None
    strict_kinks: bool
    descent: bool
    rtol: float | None
    atol: float | None
    method: str
    mode: Any
    settings: hypothesis.settings | None
    #: names of the arguments that are not differentiated, in the order of the signature
    args: tuple[str, ...] = ()
    signature: inspect.Signature | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        """``module:qualname``, the registry key."""
        return f"{self.module}:{self.qualname}"


class GradcheckTest(Protocol):
    """A function decorated by :func:`gradcheck`: call it to run the check."""

    __gradtest__: GradcheckSpec
    __name__: str

    def __call__(self) -> None: ...


_REGISTRY: dict[str, GradcheckSpec] = {}
_REGISTRY_LOCK = threading.Lock()


def registered_checks() -> tuple[GradcheckSpec, ...]:
    """Every function decorated with :func:`gradcheck` so far, in definition order.

    A function defined again (a module imported twice, a reload) replaces its entry,
    which keeps its place: entries are keyed by module and qualified name.

    Returns
    -------
    tuple of GradcheckSpec

    Examples
    --------
    >>> import numpy as np
    >>> import gradtest
    >>> @gradtest.gradcheck(wrt="w", w=np.ones(2))
    ... def test_square(w):
    ...     return float(w @ w), 2 * w
    >>> gradtest.registered_checks()[-1] is test_square.__gradtest__
    True
    """
    with _REGISTRY_LOCK:
        return tuple(_REGISTRY.values())


def _register(spec: GradcheckSpec) -> None:
    with _REGISTRY_LOCK:
        _REGISTRY[spec.key] = spec


# -- validation ----------------------------------------------------------------------------


def _check_wrt(wrt: Any) -> tuple[str, ...]:
    if isinstance(wrt, str):
        names: tuple[Any, ...] = (wrt,)
    elif isinstance(wrt, (tuple, list)):
        names = tuple(wrt)
    else:
        if callable(wrt):
            raise InvalidArgumentError(
                f"gradcheck was applied without arguments to {getattr(wrt, '__name__', wrt)!r}: "
                "write @gradtest.gradcheck(wrt='W', W=<strategy>, X=<strategy>, ...)"
            )
        raise InvalidArgumentError(
            f"wrt={wrt!r} must be an argument name or a tuple of names, got {type(wrt).__name__}"
        )
    if not names or not all(isinstance(n, str) and n for n in names):
        raise InvalidArgumentError(f"wrt={wrt!r} must name at least one argument, as strings")
    if len(set(names)) != len(names):
        raise InvalidArgumentError(f"wrt={wrt!r} names an argument twice")
    return names


def _check_tolerance(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < 0
    ):
        raise InvalidArgumentError(f"{name}={value!r} must be None or a finite number >= 0")
    return float(value)


def _check_max_examples(value: Any, name: str = "max_examples") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InvalidArgumentError(f"{name}={value!r} must be None or an int >= 1")
    return int(value)


def _check_seed(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise InvalidArgumentError(f"seed={value!r} must be None or an int >= 0")
    return int(value)


def _check_method(value: Any) -> str:
    if value not in _METHODS:
        raise InvalidArgumentError(f"method={value!r} must be one of {list(_METHODS)}")
    return str(value)


def _check_mode(value: Any) -> str | None:
    if value is None:
        return None
    if value not in _MODES:
        raise InvalidArgumentError(
            f"mode={value!r} must be None or one of {list(_MODES)}: 'auto' (the default) "
            "takes whichever costs less for a passing gradient (every entry up to 6 entries, "
            "random directions above), and checks every entry when directions fail at up "
            "to 2,000 entries"
        )
    return str(value)


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{name}={value!r} must be True or False")
    return value


def _signature(func: Callable[..., Any]) -> inspect.Signature:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(
            f"cannot read the signature of {func!r}: gradcheck passes the strategies' values "
            "by argument name; wrap the function in a def with named arguments"
        ) from err


def _arguments(
    func: Callable[..., Any], sig: inspect.Signature, wrt: tuple[str, ...], strategies: Any
) -> tuple[str, ...]:
    """Validate the strategies against ``func``'s signature; return the non-wrt names."""
    params = sig.parameters
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
    fname = getattr(func, "__qualname__", repr(func))
    named = [n for n, p in params.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    for key in strategies:
        if key not in named and not takes_kwargs:
            raise InvalidArgumentError(
                f"gradcheck got a strategy for {key}=, but {fname} has no argument {key!r} "
                f"(its arguments: {named})"
            )
    for n in wrt:
        if n not in named and not takes_kwargs:
            raise InvalidArgumentError(
                f"wrt={n!r} is not an argument of {fname} (its arguments: {named})"
            )
        if n not in strategies:
            raise InvalidArgumentError(
                f"wrt={n!r} needs a strategy: pass {n}=gradtest.strategies.weights(shape) "
                f"(or a fixed array) to gradcheck"
            )
    missing = [
        n for n in named if params[n].default is inspect.Parameter.empty and n not in strategies
    ]
    if missing:
        raise InvalidArgumentError(
            f"{fname} has arguments without a default and without a strategy: {missing}; "
            f"pass {missing[0]}=<strategy or value> to gradcheck"
        )
    for n in named:
        if params[n].kind is inspect.Parameter.POSITIONAL_ONLY and n not in strategies:
            raise InvalidArgumentError(
                f"{fname} has the positional-only argument {n!r}: give it a strategy too"
            )
    ordered = [n for n in named if n in strategies] + [n for n in strategies if n not in named]
    return tuple(n for n in ordered if n not in wrt)


def _as_strategy(name: str, value: Any) -> st.SearchStrategy[Any]:
    if isinstance(value, st.SearchStrategy):
        return value
    if callable(value) and not isinstance(value, np.ndarray):
        raise InvalidArgumentError(
            f"{name}={value!r} is a function, not a strategy or a value: did you mean "
            f"{name}={getattr(value, '__name__', 'strategy')}(...)?"
        )
    return st.just(value)


def _check_fixed(name: str, value: Any) -> None:
    """A fixed value for a ``wrt`` argument is what the core checks: a float array (or a
    dict of them), validated when decorating rather than when the test runs."""
    from gradtest._params import _check_x_array

    parts = value.items() if isinstance(value, Mapping) else [(None, value)]
    for key, part in parts:
        where = name if key is None else f"{name}[{key!r}]"
        try:
            _check_x_array(part, where)
        except InvalidArgumentError as err:
            raise InvalidArgumentError(f"gradcheck got the fixed value {where}: {err}") from None


# -- the decorator -------------------------------------------------------------------------


def gradcheck(
    wrt: str | Sequence[str] = "W",
    *,
    grad: Callable[..., Any] | None = None,
    max_examples: int | None = None,
    strict_kinks: bool = False,
    descent: bool = False,
    rtol: float | None = None,
    atol: float | None = None,
    method: str = "central",
    mode: Any = None,
    settings: hypothesis.settings | None = None,
    **strategies: Any,
) -> Callable[[Callable[..., Any]], GradcheckTest]:
    """Turn a loss function into a property-based test of its gradient.

    Parameters
    ----------
    wrt : str or tuple of str, optional
        The argument(s) the gradient is taken with respect to (default ``"W"``).
    grad : callable, optional
        A gradient function with the same arguments as the loss. By default the loss
        returns ``(loss, gradient)``. With several ``wrt`` names the gradient is a
        tuple in the order of ``wrt`` (or a dict by name).
    max_examples : int, optional
        Inputs to try; by default ``settings``' or the current hypothesis profile's (100
        unless changed). Given together with ``settings`` that set another count, it is
        an error.
    strict_kinks : bool, optional
        Fail on an input where the loss has a kink, instead of rejecting it.
    descent : bool, optional
        Also run :func:`gradtest.check_descent` on every input that passes, and fail
        when a step against the gradient does not lower the loss at the predicted rate.
    rtol, atol : float, optional
        Fixed tolerances, as in :func:`gradtest.check_grad`.
    method : str, optional
        The stencil, as in :func:`gradtest.check_grad`.
    mode : optional
        Passed to ``check_grad(..., mode=mode)`` when given.
    settings : hypothesis.settings, optional
        Settings for the hypothesis run (deadline, database, derandomize, phases, ...),
        layered over the current profile.
    **strategies
        One per argument of the loss: a hypothesis strategy (see
        :mod:`gradtest.strategies`) or a plain value, used as is.

    Returns
    -------
    callable
        A decorator. The decorated object is a function without arguments: pytest
        collects it when its name starts with ``test_``, and calling it runs the check
        and raises :class:`~gradtest.GradientError` (with the report and the shrunk
        falsifying input) when the gradient is wrong. Its ``__gradtest__`` attribute is
        the :class:`GradcheckSpec`.

    Raises
    ------
    InvalidArgumentError
        At decoration time: an unknown or missing argument, a ``wrt`` without a
        strategy, a bad option.

    See Also
    --------
    run_gradcheck : run with overrides and get a :class:`GradcheckOutcome`.
    gradtest.strategies : weights, data, labels and shapes.

    Notes
    -----
    An input whose check is inconclusive (a kink, an unreliable numeric derivative) is
    rejected like ``hypothesis.assume(False)`` and counted; when more than half of the
    inputs are rejected, the run raises :class:`InconclusiveGradcheckError` (also a
    ``hypothesis.errors.Unsatisfiable``) rather than pass on the few judged ones.
    Hypothesis settings, profiles, the example database and seeds work as usual: under
    pytest, ``--hypothesis-seed=N`` reproduces a run and ``--hypothesis-profile``
    applies. Each input is one hypothesis example, so ``deadline`` limits the time of
    one whole gradient check (tens of evaluations of the loss); where the settings keep
    hypothesis's default of 200 ms, gradtest allows 2 s instead. Raise it, or pass
    ``settings=hypothesis.settings(deadline=None)``, for a slow loss. Hypothesis's
    ``report_multiple_bugs`` is turned off (the first shrunk failure is reported) and its
    ``explain`` phase skipped (it re-runs the failing input many times to annotate a
    printout that gradtest's report replaces).

    Examples
    --------
    >>> import numpy as np
    >>> import gradtest
    >>> import gradtest.strategies as gs
    >>> @gradtest.gradcheck(wrt="w", w=gs.weights(gs.dim("n")), c=gs.scalars(), max_examples=20)
    ... def test_quadratic(w, c):
    ...     return float(c * w @ w), 2 * c * w
    >>> test_quadratic()
    >>> @gradtest.gradcheck(wrt="w", w=gs.weights(gs.dim("n")), max_examples=20)
    ... def test_cube(w):
    ...     return float(np.sum(w**3)), 2 * w**2
    >>> test_cube()
    Traceback (most recent call last):
    ...
    gradtest.errors.GradientError: gradcheck test_cube: wrong gradient wrt w ...
    >>> outcome = gradtest.run_gradcheck(test_cube)
    >>> outcome.verdict, abs(outcome.example["w"])
    ('fail', array([0.01]))
    """
    names = _check_wrt(wrt)
    if grad is not None and not callable(grad):
        raise InvalidArgumentError(
            f"grad={grad!r} must be None (the loss returns (loss, gradient)) or a function "
            "with the same arguments as the loss"
        )
    max_examples = _check_max_examples(max_examples)
    strict_kinks = _check_bool(strict_kinks, "strict_kinks")
    descent = _check_bool(descent, "descent")
    rtol = _check_tolerance(rtol, "rtol")
    atol = _check_tolerance(atol, "atol")
    method = _check_method(method)
    mode = _check_mode(mode)
    check_method_and_mode(method, mode)
    if settings is not None and not isinstance(settings, hypothesis.settings):
        raise InvalidArgumentError(
            f"settings={settings!r} must be a hypothesis.settings object, "
            f"e.g. settings=hypothesis.settings(deadline=None)"
        )
    if (
        settings is not None
        and max_examples is not None
        and settings.max_examples not in (max_examples, hypothesis.settings().max_examples)
    ):
        # settings that set max_examples themselves (it differs from the profile's): one of
        # the two counts would be ignored
        raise InvalidArgumentError(
            f"max_examples={max_examples} disagrees with "
            f"settings=hypothesis.settings(max_examples={settings.max_examples}): pass the "
            "number of inputs once, as max_examples= or in settings"
        )
    for key, value in strategies.items():
        _as_strategy(key, value)
        if key in names and not isinstance(value, st.SearchStrategy):
            _check_fixed(key, value)

    def decorate(func: Callable[..., Any]) -> GradcheckTest:
        if not callable(func):
            raise InvalidArgumentError(f"gradcheck decorates a function, got {func!r}")
        if hasattr(func, "__gradtest__"):
            raise InvalidArgumentError(
                f"{func.__name__} is already decorated with gradcheck: apply it once"
            )
        if getattr(func, "is_hypothesis_test", False):
            raise InvalidArgumentError(
                f"{func.__name__} is already a hypothesis test (@given): gradcheck draws the "
                "inputs itself; pass the strategies to gradcheck instead of @given"
            )
        sig = _signature(func)
        others = _arguments(func, sig, names, strategies)
        spec = GradcheckSpec(
            name=getattr(func, "__name__", type(func).__name__),
            module=getattr(func, "__module__", None) or "__main__",
            qualname=getattr(func, "__qualname__", None) or repr(func),
            func=func,
            wrt=names,
            grad=grad,
            strategies=MappingProxyType(dict(strategies)),
            max_examples=max_examples,
            strict_kinks=strict_kinks,
            descent=descent,
            rtol=rtol,
            atol=atol,
            method=method,
            mode=mode,
            settings=settings,
            args=others,
            signature=sig,
        )

        def test() -> None:
            __tracebackhide__ = True
            from gradtest._runner import run_gradcheck

            outcome = run_gradcheck(spec)
            if outcome.error is not None and not outcome.accepted:
                raise outcome.error

        functools.update_wrapper(test, func)
        # pytest reads the signature to find fixtures: the test takes none. (Keeping
        # __wrapped__ lets pytest point at the user's source line.)
        test.__signature__ = inspect.Signature()  # type: ignore[attr-defined]
        test.__gradtest__ = spec  # type: ignore[attr-defined]
        _register(spec)
        return test  # type: ignore[return-value]

    return decorate
