"""``@gradcheck``: a property-based gradient test that hypothesis drives.

The decorator turns a loss ``f(W, X, y, reg) -> (loss, dW)`` and a strategy per argument
into a test function without arguments. Running it builds a hypothesis test whose body
is one :func:`gradtest.check_grad` call:

- a ``"fail"`` verdict raises, so hypothesis shrinks the input towards the smallest
  shapes and simplest values that still fail;
- an ``"inconclusive"`` verdict (a kink, a noisy estimate) rejects the input as
  ``hypothesis.assume`` does, and is counted; with ``strict_kinks=True`` a kink fails;
- every judged input reports its relative error to ``hypothesis.target``, so the search
  climbs towards the worst inputs.

:func:`run_gradcheck` runs a decorated function and returns a :class:`GradcheckOutcome`
instead of raising for a wrong gradient; calling the decorated function runs it and
raises the outcome's error. :func:`registered_checks` lists every decorated function,
for the pytest plugin and the command line tool.
"""

from __future__ import annotations

import copy
import datetime
import functools
import inspect
import math
import numbers
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Protocol

import hypothesis
import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import FailedHealthCheck, Unsatisfiable

from gradtest._check import check_grad
from gradtest._result import GradCheckResult
from gradtest.errors import (
    FunctionEvaluationError,
    GradientError,
    GradtestError,
    InvalidArgumentError,
    NondeterminismError,
)

__all__ = [
    "GradcheckOutcome",
    "GradcheckSpec",
    "GradcheckTest",
    "InconclusiveGradcheckError",
    "gradcheck",
    "registered_checks",
    "run_gradcheck",
]

Verdict = Literal["pass", "fail", "inconclusive"]

#: a run where more than this fraction of the inputs was rejected as inconclusive is
#: itself inconclusive: passing on the few judged inputs would be misleading
MAX_REJECTED_FRACTION = 0.5
#: the seed of check_grad's random directions; fixed, so a replayed example gives the
#: same verdict (hypothesis reports a flaky test otherwise)
CHECK_SEED = 0
#: the label of the relative error passed to hypothesis.target
TARGET_LABEL = "gradtest relative error"
_METHODS = ("central", "forward", "central4", "richardson", "complex")


class InconclusiveGradcheckError(GradtestError, Unsatisfiable):
    """Most inputs were rejected as inconclusive, so a pass would mean little.

    It is also a :class:`hypothesis.errors.Unsatisfiable`, the error hypothesis raises
    when ``assume`` rejects (nearly) every input.
    """


# -- the spec, the outcome, the registry ---------------------------------------------------


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


@dataclass(frozen=True)
class GradcheckOutcome:
    """The result of :func:`run_gradcheck`.

    ``result`` is the :class:`~gradtest.GradCheckResult` of the falsifying input (when
    failing) or of the worst judged input (when passing); ``example`` the falsifying
    input by argument name. ``n_examples`` counts the inputs that were judged (including
    those hypothesis ran while shrinking), ``n_rejected`` those rejected as
    inconclusive. ``error`` is the error calling the test raises: a
    :class:`~gradtest.GradientError` for ``"fail"``, an
    :class:`InconclusiveGradcheckError` for ``"inconclusive"``, ``None`` for ``"pass"``.
    ``str(outcome)`` is ``report``.
    """

    name: str
    verdict: Verdict
    result: GradCheckResult | None
    example: dict[str, Any] | None
    n_examples: int
    n_rejected: int
    seed: int | None
    elapsed: float
    error: Exception | None
    report: str

    @property
    def passed(self) -> bool:
        """``True`` when the verdict is ``"pass"``."""
        return self.verdict == "pass"

    def __str__(self) -> str:
        return self.report


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
        Inputs to try; by default the current hypothesis profile's (100 unless changed).
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
    if settings is not None and not isinstance(settings, hypothesis.settings):
        raise InvalidArgumentError(
            f"settings={settings!r} must be a hypothesis.settings object, "
            f"e.g. settings=hypothesis.settings(deadline=None)"
        )
    for key, value in strategies.items():
        _as_strategy(key, value)

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
            outcome = run_gradcheck(spec)
            if outcome.error is not None:
                raise outcome.error

        functools.update_wrapper(test, func)
        # pytest reads the signature to find fixtures: the test takes none. (Keeping
        # __wrapped__ lets pytest point at the user's source line.)
        test.__signature__ = inspect.Signature()  # type: ignore[attr-defined]
        test.__gradtest__ = spec  # type: ignore[attr-defined]
        _register(spec)
        return test  # type: ignore[return-value]

    return decorate


# -- running -------------------------------------------------------------------------------


def _spec_of(target: Any) -> GradcheckSpec:
    if isinstance(target, GradcheckSpec):
        return target
    spec = getattr(target, "__gradtest__", None)
    if isinstance(spec, GradcheckSpec):
        return spec
    raise InvalidArgumentError(
        f"target={target!r} must be a function decorated with @gradtest.gradcheck or its "
        f"GradcheckSpec (its __gradtest__ attribute), got {type(target).__name__}"
    )


def _gradient_dict(g: Any, wrt: tuple[str, ...], where: str) -> dict[str, Any]:
    """The user's gradient output as a dict keyed by the ``wrt`` names."""
    if isinstance(g, Mapping):
        return dict(g)
    if len(wrt) == 1:
        if isinstance(g, (tuple, list)) and len(g) == 1:
            return {wrt[0]: g[0]}
        return {wrt[0]: g}
    if isinstance(g, (tuple, list)) and len(g) == len(wrt):
        return dict(zip(wrt, g, strict=True))
    got = (
        f"a {type(g).__name__} of length {len(g)}"
        if isinstance(g, (tuple, list))
        else (f"{type(g).__name__}")
    )
    raise InvalidArgumentError(
        f"{where} returned {got}, but wrt={wrt!r} needs one gradient per name: a tuple of "
        f"{len(wrt)} arrays in the order of wrt, or a dict keyed by name"
    )


class _Adapter:
    """Calls the user's loss ``f(W, X, y, reg)`` in the core's form ``fun(x, *args)``.

    ``x`` is a dict ``{name: array}`` of the ``wrt`` arguments (so the report labels
    entries ``W[3, 7]``) and ``args`` are the other arguments in ``spec.args`` order.
    """

    def __init__(self, spec: GradcheckSpec) -> None:
        self.spec = spec
        sig = spec.signature or inspect.signature(spec.func)
        self.positional = tuple(n for n, p in sig.parameters.items() if p.kind is p.POSITIONAL_ONLY)

    def _call(self, f: Callable[..., Any], x: Mapping[str, Any], args: tuple[Any, ...]) -> Any:
        kwargs = dict(zip(self.spec.args, args, strict=True))
        kwargs.update(x)
        pos = [kwargs.pop(n) for n in self.positional]
        return f(*pos, **kwargs)

    def fun(self, x: Mapping[str, Any], *args: Any) -> Any:
        out = self._call(self.spec.func, x, args)
        if self.spec.grad is not None:
            return out
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise InvalidArgumentError(
                f"{self.spec.name} must return (loss, gradient) when gradcheck has no grad=; "
                f"it returned {type(out).__name__}: return the pair, or pass grad=<function>"
            )
        return out[0], _gradient_dict(out[1], self.spec.wrt, self.spec.name)

    def grad(self, x: Mapping[str, Any], *args: Any) -> Any:
        assert self.spec.grad is not None
        out = self._call(self.spec.grad, x, args)
        return _gradient_dict(out, self.spec.wrt, f"grad ({self.spec.grad.__name__})")


def _copy_example(example: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in example.items():
        try:
            out[k] = copy.deepcopy(v)
        except Exception:  # an uncopyable object: keep the reference
            out[k] = v
    return out


def format_example(example: Mapping[str, Any], indent: str = "    ") -> str:
    """Lines ``W = np.array([[0.5, 1.0]])`` that can be pasted into a unit test."""
    lines = []
    for k, v in example.items():
        if isinstance(v, np.ndarray):
            text = f"np.array({v.tolist()!r}"
            default = np.array(v.tolist()).dtype if v.size else np.dtype(np.float64)
            if v.dtype != default:
                text += f", dtype=np.{v.dtype}"
            text += ")"
            if v.size == 0:
                text = f"np.empty({v.shape!r}, dtype=np.{v.dtype})"
        else:
            text = repr(v)
        lines.append(f"{indent}{k} = {text}")
    return "\n".join(lines)


@dataclass
class _RunState:
    n_examples: int = 0
    n_rejected: int = 0
    n_kinks: int = 0
    kink_labels: list[str] = field(default_factory=list)
    last_example: dict[str, Any] | None = None
    last_result: GradCheckResult | None = None
    last_descent: Any = None
    worst: tuple[GradCheckResult, dict[str, Any]] | None = None
    #: why the last input failed: "wrong gradient", "kink at W[0, 1] (strict_kinks=True)"
    reason: str = "wrong gradient"


@dataclass(frozen=True)
class _Options:
    rtol: float | None
    atol: float | None
    method: str
    mode: Any
    check_descent: Callable[..., Any] | None


def _load_check_descent() -> Callable[..., Any]:
    try:
        from gradtest._descent import check_descent
    except ImportError as err:
        raise InvalidArgumentError(
            "descent=True needs gradtest.check_descent, which this installation of gradtest "
            f"does not provide ({err}); drop descent=True or upgrade gradtest"
        ) from err
    return check_descent


def _check_one(
    spec: GradcheckSpec,
    opts: _Options,
    state: _RunState,
    adapter: _Adapter,
    example: dict[str, Any],
) -> None:
    """The body of the hypothesis test: one gradient check of one input."""
    state.last_example = _copy_example(example)
    state.last_result = None
    state.last_descent = None
    state.reason = "wrong gradient"
    x = {n: example[n] for n in spec.wrt}
    args = tuple(example[n] for n in spec.args)
    grad: Any = True if spec.grad is None else adapter.grad
    extra: dict[str, Any] = {} if opts.mode is None else {"mode": opts.mode}
    result = check_grad(
        adapter.fun,
        grad,
        x,
        args=args,
        rtol=opts.rtol,
        atol=opts.atol,
        method=opts.method,  # type: ignore[arg-type]
        seed=CHECK_SEED,
        name=spec.name,
        compare_scipy=False,
        **extra,
    )
    state.last_result = result
    if result.verdict == "inconclusive":
        kinks = result.diagnosis.kinks
        if spec.strict_kinks and kinks:
            state.reason = f"kink at {', '.join(kinks[:3])} (strict_kinks=True)"
            raise GradientError(f"{state.reason}\n{result}", result)
        state.n_rejected += 1
        if kinks:
            state.n_kinks += 1
            for label in kinks:
                if label not in state.kink_labels and len(state.kink_labels) < 5:
                    state.kink_labels.append(label)
        hypothesis.event("gradtest: rejected (kink)" if kinks else "gradtest: rejected (noisy)")
        hypothesis.assume(False)
    state.n_examples += 1
    if math.isfinite(result.max_rel_error):
        hypothesis.target(result.max_rel_error, label=TARGET_LABEL)
    if result.verdict == "fail":
        raise GradientError(str(result), result)
    if state.worst is None or result.max_rel_error > state.worst[0].max_rel_error:
        state.worst = (result, state.last_example)
    if opts.check_descent is not None:
        descent = opts.check_descent(adapter.fun, grad, x, args=args, seed=CHECK_SEED)
        state.last_descent = descent
        if descent.verdict == "fail":
            state.reason = "descent check failed"
            raise GradientError(f"{state.reason}\n{descent}", result)


def _used_seed(test: Callable[[], None]) -> int | None:
    """The seed hypothesis used: ``--hypothesis-seed``'s, or the one it generated.

    Hypothesis has no public getter; both are read where hypothesis keeps them (the
    same places its own "add @seed(...) to reproduce" hint reads).
    """
    from hypothesis import core

    forced = getattr(core, "global_force_seed", None)
    if isinstance(forced, int):
        return forced
    generated = getattr(test, "_hypothesis_internal_use_generated_seed", None)
    return generated if isinstance(generated, int) else None


def _hypothesis_test(
    spec: GradcheckSpec,
    opts: _Options,
    state: _RunState,
    settings: hypothesis.settings,
    seed: int | None,
) -> Callable[[], None]:
    adapter = _Adapter(spec)
    names = list(spec.wrt) + list(spec.args)

    def inner(**example: Any) -> None:
        _check_one(spec, opts, state, adapter, example)

    inner.__name__ = spec.name
    inner.__qualname__ = spec.qualname
    inner.__module__ = spec.module
    inner.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in names]
    )
    # hypothesis keys its example database by the test function's source, which is this
    # module's for every decorated loss; add the loss's identity, as hypothesis's own
    # pytest plugin does for parametrized tests
    inner._hypothesis_internal_add_digest = spec.key.encode()  # type: ignore[attr-defined]
    strategies = {n: _as_strategy(n, spec.strategies[n]) for n in names}
    test = hypothesis.given(**strategies)(inner)
    test = settings(test)
    if seed is not None:
        test = hypothesis.seed(seed)(test)
    return test


#: hypothesis's own default deadline, meant for one call of a test
HYPOTHESIS_DEFAULT_DEADLINE = datetime.timedelta(milliseconds=200)
#: the deadline of one gradient check when the settings keep hypothesis's default
DEFAULT_DEADLINE = datetime.timedelta(seconds=2)


def _settings_for(spec: GradcheckSpec, max_examples: int | None) -> hypothesis.settings:
    parent = spec.settings if spec.settings is not None else hypothesis.settings()
    n = max_examples if max_examples is not None else spec.max_examples
    deadline = parent.deadline
    if deadline == HYPOTHESIS_DEFAULT_DEADLINE:
        # one example is a whole gradient check (tens of evaluations), not one call
        deadline = DEFAULT_DEADLINE
    return hypothesis.settings(
        parent,
        deadline=deadline,
        max_examples=n if n is not None else parent.max_examples,
        report_multiple_bugs=False,
        # the explain phase re-runs the (shrunk) failing input many times to annotate
        # hypothesis's own printout, which gradtest's report replaces: skip it
        phases=[p for p in parent.phases if p is not hypothesis.Phase.explain],
    )


def run_gradcheck(
    target: Any,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    max_examples: int | None = None,
    mode: Any = None,
    seed: int | None = None,
    method: str | None = None,
) -> GradcheckOutcome:
    """Run a :func:`gradcheck` test and return its outcome; never raise for a wrong gradient.

    Parameters
    ----------
    target : decorated function or GradcheckSpec
        What :func:`gradcheck` returned, or its ``__gradtest__``.
    rtol, atol, max_examples, mode, method : optional
        Override the decorator's values when given.
    seed : int, optional
        Seed the run with ``hypothesis.seed(seed)`` (which, as in hypothesis, also skips
        the example database). By default hypothesis seeds it: from
        ``pytest --hypothesis-seed`` if given, else at random (none under
        ``derandomize=True``). The seed used is recorded in the outcome; passing it
        again reproduces the generated inputs.

    Returns
    -------
    GradcheckOutcome

    Raises
    ------
    FunctionEvaluationError
        The loss (or gradient) raised; the message shows the (shrunk) input.
    InvalidArgumentError
        A bad override, or the loss returned something the core cannot check (the
        message shows the input).
    hypothesis.errors.HypothesisException
        Hypothesis's own errors other than rejection (``DeadlineExceeded`` for a slow
        loss, a failed health check, a flaky test) propagate as hypothesis raises them.

    Examples
    --------
    >>> import numpy as np
    >>> import gradtest
    >>> import gradtest.strategies as gs
    >>> @gradtest.gradcheck(wrt="w", w=gs.weights(3))
    ... def test_sine(w):
    ...     return float(np.sum(np.sin(w))), np.cos(w)
    >>> outcome = gradtest.run_gradcheck(test_sine, max_examples=10, seed=1)
    >>> outcome.verdict, outcome.n_examples, outcome.seed
    ('pass', 10, 1)
    """
    __tracebackhide__ = True
    spec = _spec_of(target)
    seed = _check_seed(seed)
    opts = _Options(
        rtol=_check_tolerance(rtol, "rtol") if rtol is not None else spec.rtol,
        atol=_check_tolerance(atol, "atol") if atol is not None else spec.atol,
        method=_check_method(method) if method is not None else spec.method,
        mode=mode if mode is not None else spec.mode,
        check_descent=_load_check_descent() if spec.descent else None,
    )
    settings = _settings_for(spec, _check_max_examples(max_examples))
    state = _RunState()
    # an explicit seed is applied with hypothesis.seed, which (as in hypothesis) also
    # turns the example database off; otherwise hypothesis seeds the run itself
    test = _hypothesis_test(spec, opts, state, settings, seed)
    start = time.perf_counter()
    error: Exception | None = None
    verdict: Verdict = "pass"
    try:
        try:
            test()
        finally:
            if seed is None:
                seed = _used_seed(test)
    except GradientError:
        verdict = "fail"
        assert state.last_result is not None and state.last_example is not None
        error = GradientError(_failure_message(spec, state, seed, settings), state.last_result)
    except (FunctionEvaluationError, InvalidArgumentError, NondeterminismError) as err:
        _reraise_with_example(err, spec, state)
    except (Unsatisfiable, FailedHealthCheck) as err:
        if state.n_rejected == 0:
            raise
        verdict = "inconclusive"
        error = InconclusiveGradcheckError(_inconclusive_message(spec, state))
        error.__cause__ = err
    elapsed = time.perf_counter() - start
    if verdict == "pass" and (
        state.n_examples == 0
        or state.n_rejected > MAX_REJECTED_FRACTION * (state.n_examples + state.n_rejected)
    ):
        verdict = "inconclusive"
        error = InconclusiveGradcheckError(_inconclusive_message(spec, state))
    if verdict == "fail":
        result, example = state.last_result, state.last_example
        assert error is not None
        report = str(error)
    else:
        result, example = state.worst if state.worst is not None else (None, None)
        example = None
        report = str(error) if error is not None else _pass_message(spec, state, seed)
    return GradcheckOutcome(
        name=spec.name,
        verdict=verdict,
        result=result,
        example=example,
        n_examples=state.n_examples,
        n_rejected=state.n_rejected,
        seed=seed,
        elapsed=elapsed,
        error=error,
        report=report,
    )


def _counts(state: _RunState) -> str:
    text = f"{state.n_examples} input{'s' if state.n_examples != 1 else ''} judged"
    if state.n_rejected:
        text += (
            f", {state.n_rejected} rejected as inconclusive ({state.n_kinks} at a kink, "
            f"{state.n_rejected - state.n_kinks} with an unreliable numeric derivative)"
        )
    return text


def _reproduce(spec: GradcheckSpec, seed: int | None) -> str:
    if seed is None:
        return "the run is derandomized: running it again reproduces it"
    return (
        f"reproduce with pytest --hypothesis-seed={seed}, or "
        f"gradtest.run_gradcheck({spec.name}, seed={seed})"
    )


def _failure_message(
    spec: GradcheckSpec, state: _RunState, seed: int | None, settings: hypothesis.settings
) -> str:
    assert state.last_example is not None and state.last_result is not None
    parts = [
        f"gradcheck {spec.name}: {state.reason} wrt {', '.join(spec.wrt)} for this input "
        f"(shrunk by hypothesis; {_counts(state)}):",
        "",
        format_example(state.last_example),
        "",
        str(state.last_result),
    ]
    if state.last_descent is not None:
        parts += ["", str(state.last_descent)]
    parts += ["", _reproduce(spec, seed)]
    return "\n".join(parts)


def _inconclusive_message(spec: GradcheckSpec, state: _RunState) -> str:
    total = state.n_examples + state.n_rejected
    share = f"{state.n_rejected} of {total}" if total else "every one"
    kinks = f" (kinks at {', '.join(state.kink_labels)}, ...)" if state.kink_labels else ""
    return (
        f"gradcheck {spec.name}: INCONCLUSIVE: {share} inputs were rejected because the "
        f"gradient check could not judge them{kinks}; only {state.n_examples} were judged, "
        "too few for a pass to mean much.\n"
        "Fixes: keep the inputs away from the kinks of the loss (strategies with "
        "kink_margin=..., or data that avoids ties), check a smooth variant of the loss, "
        "or pass strict_kinks=True to fail on kinks."
    )


def _pass_message(spec: GradcheckSpec, state: _RunState, seed: int | None) -> str:
    head = f"PASS gradcheck {spec.name} wrt {', '.join(spec.wrt)}: {_counts(state)}"
    if state.worst is None:
        return head
    result, example = state.worst
    return "\n".join(
        [
            head + f"; the worst input (max relative error {result.max_rel_error:.1e}):",
            format_example(example),
            f"seed: {seed}",
        ]
    )


def _reraise_with_example(err: GradtestError, spec: GradcheckSpec, state: _RunState) -> None:
    __tracebackhide__ = True
    example = format_example(state.last_example or {})
    new = type(err)(
        f"gradcheck {spec.name}: {err}\nfor this input (shrunk by hypothesis):\n{example}"
    )
    raise new from (err.__cause__ or err)
