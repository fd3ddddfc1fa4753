"""Running a ``@gradcheck`` test: :func:`run_gradcheck` and its :class:`GradcheckOutcome`.

:func:`run_gradcheck` runs a decorated function and returns a :class:`GradcheckOutcome`
instead of raising for a wrong gradient; calling the decorated function runs it and
raises the outcome's error. The project's configuration (``[tool.gradtest]``, see
:mod:`gradtest._config`) fills in every option that is not given.
"""

from __future__ import annotations

import copy
import datetime
import inspect
import math
import re
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import hypothesis
import hypothesis.reporting
import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import FailedHealthCheck, Unsatisfiable

from gradtest._check import check_grad
from gradtest._config import project_settings
from gradtest._decorator import (
    GradcheckSpec,
    _as_strategy,
    _check_max_examples,
    _check_method,
    _check_mode,
    _check_seed,
    _check_tolerance,
)
from gradtest._options import check_method_and_mode, name_of
from gradtest._params import _check_x_array, _describe
from gradtest._result import GradCheckResult
from gradtest.errors import (
    FunctionEvaluationError,
    GradientError,
    GradtestError,
    InvalidArgumentError,
    NondeterminismError,
)

__all__ = ["GradcheckOutcome", "InconclusiveGradcheckError", "format_example", "run_gradcheck"]

Verdict = Literal["pass", "fail", "inconclusive"]

#: a run where more than this fraction of the inputs was rejected as inconclusive is
#: itself inconclusive: passing on the few judged inputs would be misleading
MAX_REJECTED_FRACTION = 0.5
#: the seed of check_grad's random directions; fixed, so a replayed example gives the
#: same verdict (hypothesis reports a flaky test otherwise)
CHECK_SEED = 0
#: the label of the relative error passed to hypothesis.target
TARGET_LABEL = "gradtest discrepancy / tolerance"
#: hypothesis.target is told only discrepancies of at least this fraction of the tolerance
TARGET_FLOOR = 0.3
_NUMBER = re.compile(r"[-+]?\d+(\.\d+)?(e[-+]?\d+)?")


class InconclusiveGradcheckError(GradtestError, Unsatisfiable):
    """Most inputs were rejected as inconclusive, so a pass would mean little.

    It is also a :class:`hypothesis.errors.Unsatisfiable`, the error hypothesis raises
    when ``assume`` rejects (nearly) every input.
    """


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
    ``str(outcome)`` is ``report``. ``accepted`` is ``True`` when the verdict is
    ``"inconclusive"`` and the ``accept_inconclusive`` setting counts that as a pass.
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
    #: calls of the loss over every input of the run (judged, rejected and shrinking)
    n_evals: int = 0
    #: an inconclusive run counted as passed (the ``accept_inconclusive`` setting)
    accepted: bool = False
    #: the core's notes, each once per run (e.g. the precision ``fun`` is computed in)
    notes: tuple[str, ...] = ()
    #: the failing input as Python lines (``W = np.array(...)``), or ``None``
    example_text: str | None = None
    #: the command or call that replays the run with its seed
    reproduce: str | None = None

    @property
    def passed(self) -> bool:
        """``True`` when the verdict is ``"pass"``."""
        return self.verdict == "pass"

    def __str__(self) -> str:
        return self.report


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
    entries ``W[3, 7]``) and ``args`` are the other arguments in ``spec.args`` order. A
    ``wrt`` argument that is itself a dict of arrays (a net's parameters) is flattened
    into entries ``params.W1``, ``params.b1`` and rebuilt for the user's function; its
    gradient is a dict with the same keys.
    """

    def __init__(self, spec: GradcheckSpec) -> None:
        self.spec = spec
        sig = spec.signature or inspect.signature(spec.func)
        self.positional = tuple(n for n, p in sig.parameters.items() if p.kind is p.POSITIONAL_ONLY)
        #: the keys of the wrt arguments that are dicts, for the current input
        self.nested: dict[str, tuple[Any, ...]] = {}

    def flatten(self, x: Mapping[str, Any]) -> dict[str, Any]:
        """The core's ``x`` for the wrt values of one input; remembers the dict layout."""
        self.nested = {n: tuple(v) for n, v in x.items() if isinstance(v, Mapping)}
        flat: dict[str, Any] = {}
        for n, v in x.items():
            if n in self.nested:
                flat.update({f"{n}.{k}": v[k] for k in self.nested[n]})
            else:
                flat[n] = v
        return flat

    def _unflatten(self, x: Mapping[str, Any]) -> dict[str, Any]:
        return {
            n: {k: x[f"{n}.{k}"] for k in self.nested[n]} if n in self.nested else x[n]
            for n in self.spec.wrt
        }

    def _flat_gradient(self, g: Any, where: str) -> dict[str, Any]:
        wrt = self.spec.wrt
        by_name = {wrt[0]: g} if len(wrt) == 1 and wrt[0] in self.nested else None
        if by_name is None:
            by_name = _gradient_dict(g, wrt, where)
        flat: dict[str, Any] = {}
        for n, value in by_name.items():
            if n not in self.nested:
                flat[n] = value
                continue
            keys = self.nested[n]
            if not isinstance(value, Mapping) or set(value) != set(keys):
                got = sorted(value) if isinstance(value, Mapping) else type(value).__name__
                raise InvalidArgumentError(
                    f"{where} returned {got} as the gradient for {n}, but {n} is a dict with "
                    f"the keys {sorted(keys)}: return a dict with the same keys"
                )
            flat.update({f"{n}.{k}": value[k] for k in keys})
        return flat

    def _call(self, f: Callable[..., Any], x: Mapping[str, Any], args: tuple[Any, ...]) -> Any:
        kwargs = dict(zip(self.spec.args, args, strict=True))
        kwargs.update(self._unflatten(x))
        pos = [kwargs.pop(n) for n in self.positional]
        return f(*pos, **kwargs)

    def _label(self, key: str) -> str:
        """The user's name of a flat entry: ``W``, or ``params['W1']`` for a dict argument."""
        for n, keys in self.nested.items():
            for k in keys:
                if key == f"{n}.{k}":
                    return f"{n}[{k!r}]"
        return key

    def _check_shapes(
        self, flat: dict[str, Any], x: Mapping[str, Any], where: str
    ) -> dict[str, Any]:
        """Each gradient has the shape of its argument, said in the decorator's words (the
        core would name the loss ``fun``)."""
        for key, g in flat.items():
            if key not in x:
                continue  # an unknown key: the core names it
            try:
                arr = np.asarray(g)
                got, want = arr.shape, np.shape(x[key])
            except (TypeError, ValueError):
                continue  # a ragged list: the core describes it
            if arr.dtype.kind not in "biufc":
                continue  # not numbers (a str, None): the core says what arrived
            if got != want:
                label = self._label(key)
                hint = ""
                if len(want) == 2 and got == want[::-1]:
                    hint = ": did you return the transpose?"
                elif math.prod(got) == math.prod(want):
                    hint = f": reshape it to {want}"
                raise InvalidArgumentError(
                    f"{where} returned a gradient for {label} of shape {got}, but {label} has "
                    f"shape {want}{hint}"
                )
        return flat

    def fun(self, x: Mapping[str, Any], *args: Any) -> Any:
        out = self._call(self.spec.func, x, args)
        if self.spec.grad is not None:
            if isinstance(out, tuple):
                # the core's advice ("pass grad=True") is not the decorator's spelling
                raise InvalidArgumentError(
                    f"{self.spec.name} returned a tuple of length {len(out)}, but gradcheck "
                    f"was given grad={name_of(self.spec.grad)}, so the loss must return the "
                    "loss alone: return only the loss, or drop grad= and return "
                    "(loss, gradient)"
                )
            return out
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise InvalidArgumentError(
                f"{self.spec.name} must return (loss, gradient) when gradcheck has no grad=; "
                f"it returned {type(out).__name__}: return the pair, or pass grad=<function>"
            )
        flat = self._flat_gradient(out[1], self.spec.name)
        return out[0], self._check_shapes(flat, x, self.spec.name)

    def grad(self, x: Mapping[str, Any], *args: Any) -> Any:
        assert self.spec.grad is not None
        out = self._call(self.spec.grad, x, args)
        where = f"grad ({name_of(self.spec.grad)})"
        return self._check_shapes(self._flat_gradient(out, where), x, where)


def _check_drawn(spec: GradcheckSpec, example: Mapping[str, Any]) -> None:
    """Each ``wrt`` value of an input is a float array (or a dict of them), said with the
    argument's name and where the value came from (the core would call it ``x['W']``)."""
    for n in spec.wrt:
        value = example[n]
        source = spec.strategies.get(n)
        origin = (
            f"the strategy for {n} drew"
            if isinstance(source, st.SearchStrategy)
            else f"the fixed value of {n} is"
        )
        parts = list(value.items()) if isinstance(value, Mapping) else [(None, value)]
        for key, part in parts:
            where = n if key is None else f"{n}[{key!r}]"
            try:
                _check_x_array(part, where)
            except InvalidArgumentError as err:
                raise InvalidArgumentError(
                    f"{origin} {_describe(part)}: {err}. An argument in wrt needs float "
                    f"arrays, e.g. {n}=gradtest.strategies.weights(shape)"
                ) from None


def _copy_example(example: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in example.items():
        try:
            out[k] = copy.deepcopy(v)
        except Exception:  # an uncopyable object: keep the reference
            out[k] = v
    return out


def _float_text(v: float) -> str:
    """``repr`` of a float, but ``np.nan``, ``np.inf``, ``-np.inf`` (``nan`` is no name)."""
    if math.isnan(v):
        return "np.nan"
    if math.isinf(v):
        return "np.inf" if v > 0 else "-np.inf"
    return repr(v)


def _list_text(v: Any) -> str:
    """``repr`` of ``ndarray.tolist()``, with the non-finite floats spelled as in numpy."""
    if isinstance(v, list):
        return "[" + ", ".join(_list_text(x) for x in v) + "]"
    if isinstance(v, float):
        return _float_text(v)
    return repr(v)


def _python_text(v: Any) -> str:
    """Python source that rebuilds ``v``: ``np.array([[0.5, 1.0]])``, dicts of those, ..."""
    if isinstance(v, np.ndarray):
        if v.size == 0:
            return f"np.empty({v.shape!r}, dtype=np.{v.dtype})"
        text = f"np.array({_list_text(v.tolist())}"
        if v.dtype != np.array(v.tolist()).dtype:
            text += f", dtype=np.{v.dtype}"
        return text + ")"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{k!r}: {_python_text(x)}" for k, x in v.items()) + "}"
    if isinstance(v, tuple):
        items = [_python_text(x) for x in v]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(v, list):
        return "[" + ", ".join(_python_text(x) for x in v) + "]"
    if isinstance(v, (float, np.floating)) and not math.isfinite(v):
        # repr gives nan or inf (np.float32(nan) from numpy), which are no Python names
        text = _float_text(float(v))
        return text if type(v) is float else f"np.{type(v).__name__}({text})"
    return repr(v)


def format_example(example: Mapping[str, Any], indent: str = "    ") -> str:
    """Lines ``W = np.array([[0.5, 1.0]])`` that can be pasted into a unit test."""
    return "\n".join(f"{indent}{k} = {_python_text(v)}" for k, v in example.items())


@dataclass
class _RunState:
    n_examples: int = 0
    n_rejected: int = 0
    #: judged inputs with kinks at some entries (the other entries passed)
    n_kinks_judged: int = 0
    n_evals: int = 0
    #: the warnings of the core, each kept once (message -> category)
    warned: dict[str, type[Warning]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: why inputs were rejected, by kind (the core's summary with its numbers blanked):
    #: how many inputs, and the summary of the first
    reject_reasons: dict[str, tuple[int, str]] = field(default_factory=dict)
    n_kinks: int = 0
    kink_labels: list[str] = field(default_factory=list)
    last_example: dict[str, Any] | None = None
    last_result: GradCheckResult | None = None
    last_descent: Any = None
    worst: tuple[GradCheckResult, dict[str, Any]] | None = None
    #: why the last input failed: "wrong gradient wrt W", "not differentiable at W[0, 1] (...)"
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


def _check_grad(
    spec: GradcheckSpec,
    opts: _Options,
    adapter: _Adapter,
    grad: Any,
    x: dict[str, Any],
    args: tuple[Any, ...],
    extra: dict[str, Any],
) -> GradCheckResult:
    # cheap while hypothesis searches and shrinks (the verdict alone); the whole report,
    # diagnosis and scipy's figure included, for the final replay of the minimal failure
    final = _final_replay()
    return check_grad(
        adapter.fun,
        grad,
        x,
        args=args,
        rtol=opts.rtol,
        atol=opts.atol,
        method=opts.method,  # type: ignore[arg-type]
        seed=CHECK_SEED,
        name=spec.name,
        compare_scipy=final,
        diagnose=None if final else False,
        **extra,
    )


def _final_replay() -> bool:
    """Whether hypothesis is replaying the minimal failing example (its report is shown)."""
    try:
        from hypothesis.control import current_build_context

        return bool(current_build_context().is_final)
    except Exception:  # outside a hypothesis test (a direct call), or another version
        return True


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
    state.reason = f"wrong gradient wrt {', '.join(spec.wrt)}"
    _check_drawn(spec, example)
    x = adapter.flatten({n: example[n] for n in spec.wrt})
    args = tuple(example[n] for n in spec.args)
    grad: Any = True if spec.grad is None else adapter.grad
    extra: dict[str, Any] = {} if opts.mode is None else {"mode": opts.mode}
    with warnings.catch_warnings(record=True) as caught:
        # the core warns once per input (e.g. float32 precision): re-emitted once per run
        warnings.simplefilter("always")
        result = _check_grad(spec, opts, adapter, grad, x, args, extra)
    for w in caught:
        state.warned.setdefault(str(w.message), w.category)
    state.n_evals += result.n_evals
    for note in result.diagnosis.notes:
        # the same note for another input differs only in its numbers: keep the first
        if _NUMBER.sub("#", note) not in {_NUMBER.sub("#", n) for n in state.notes}:
            state.notes.append(note)
    state.last_result = result
    kinks = result.diagnosis.kinks
    if result.verdict == "inconclusive" and spec.strict_kinks and kinks:
        where = ", ".join(kinks[:3])
        state.reason = f"not differentiable at {where} (strict_kinks=True fails kinks)"
        raise GradientError(f"{state.reason}\n{result}", result)
    if result.verdict == "inconclusive" and _only_kinks_besides_passes(result):
        # kinks are no excuse to stop: every other entry was judged and passed, and an
        # analytic value outside both one-sided derivatives would have failed
        state.n_kinks_judged += 1
        for label in kinks:
            if label not in state.kink_labels and len(state.kink_labels) < 5:
                state.kink_labels.append(label)
    elif result.verdict == "inconclusive":
        state.n_rejected += 1
        summary = result.diagnosis.summary
        kind = _NUMBER.sub("#", summary.split(";")[0]).replace("entries", "entry")
        count, first = state.reject_reasons.get(kind, (0, summary))
        state.reject_reasons[kind] = (count + 1, first)
        if kinks:
            state.n_kinks += 1
            for label in kinks:
                if label not in state.kink_labels and len(state.kink_labels) < 5:
                    state.kink_labels.append(label)
        hypothesis.event("gradtest: rejected (kink)" if kinks else "gradtest: rejected (noisy)")
        hypothesis.assume(False)
    state.n_examples += 1
    signal = _discrepancy(result)
    if signal >= TARGET_FLOOR:
        # steer towards larger discrepancies, but only real ones: below a fraction of the
        # tolerance the relative error is round-off, and chasing it wastes the budget
        hypothesis.target(signal, label=TARGET_LABEL)
    if result.verdict == "fail":
        raise GradientError(str(result), result)
    if state.worst is None or result.max_rel_error > state.worst[0].max_rel_error:
        state.worst = (result, state.last_example)
    if opts.check_descent is not None:
        descent = opts.check_descent(adapter.fun, grad, x, args=args, seed=CHECK_SEED)
        state.last_descent = descent
        if descent.verdict == "fail":
            state.reason = f"descent check failed wrt {', '.join(spec.wrt)}"
            raise GradientError(f"{state.reason}\n{descent}", result)


def _only_kinks_besides_passes(result: GradCheckResult) -> bool:
    """Every entry either passed or sits at a kink with the analytic value between the
    one-sided derivatives (and at least one entry passed)."""
    outcomes = {e.outcome for e in result.entries if e.probe == "entry"}
    return "pass" in outcomes and outcomes <= {"pass", "kink"}


def _discrepancy(result: GradCheckResult) -> float:
    """The largest ``|a - n| / tolerance`` over the judged entries (>= 1 means a failure)."""
    ratios = [
        e.abs_error / e.tolerance
        for e in result.entries
        if e.outcome in ("pass", "fail") and e.tolerance > 0 and math.isfinite(e.abs_error)
    ]
    return max(ratios, default=0.0)


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
    return _run(
        _spec_of(target),
        rtol=rtol,
        atol=atol,
        max_examples=max_examples,
        mode=mode,
        seed=seed,
        method=method,
    )


def _warn_once(spec: GradcheckSpec, state: _RunState) -> None:
    """The core's warnings of the run, each once, pointing at the decorated function."""
    code = getattr(spec.func, "__code__", None)
    for message, category in state.warned.items():
        if code is None:
            warnings.warn(message, category, stacklevel=4)
        else:
            warnings.warn_explicit(
                message, category, filename=code.co_filename, lineno=code.co_firstlineno
            )


def _silent(text: object) -> None:
    """A hypothesis reporter that prints nothing."""


def python_reproduce(spec: GradcheckSpec, seed: int | None) -> str:
    """``gradtest.run_gradcheck(test_loss, seed=N)``: the call that replays a run."""
    return f"gradtest.run_gradcheck({spec.name}, seed={seed})"


def _run(
    spec: GradcheckSpec,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    max_examples: int | None = None,
    mode: Any = None,
    seed: int | None = None,
    method: str | None = None,
    accept_inconclusive: bool | None = None,
    reproduce: Callable[[GradcheckSpec, int | None], str] = python_reproduce,
    project: Mapping[str, Any] | None = None,
) -> GradcheckOutcome:
    """:func:`run_gradcheck` for the plugin and the command, which say how to replay it.

    Every option left ``None`` comes from ``project``, then from the decorator.
    ``project=None`` (a direct call) reads ``[tool.gradtest]`` of the nearest
    ``pyproject.toml`` above the current directory; the plugin and the command pass the
    settings they resolved themselves (``{}``), so that a check never uses a file other
    than the one their header and report name (pytest's rootdir need not be the current
    directory).
    """
    __tracebackhide__ = True
    if project is None:
        project = project_settings()
    seed = _check_seed(seed if seed is not None else project.get("seed"))
    rtol = rtol if rtol is not None else project.get("rtol")
    mode = mode if mode is not None else project.get("mode")
    if max_examples is None:
        max_examples = project.get("max_examples")
    if accept_inconclusive is None:
        accept_inconclusive = bool(project.get("accept_inconclusive", False))
    opts = _Options(
        rtol=_check_tolerance(rtol, "rtol") if rtol is not None else spec.rtol,
        atol=_check_tolerance(atol, "atol") if atol is not None else spec.atol,
        method=_check_method(method) if method is not None else spec.method,
        mode=_check_mode(mode) if mode is not None else spec.mode,
        check_descent=_load_check_descent() if spec.descent else None,
    )
    try:
        # an override (or the project's mode) can clash with the decorator's options: say
        # so before any input is drawn, not as a fault of a "shrunk" input
        check_method_and_mode(opts.method, opts.mode)
    except InvalidArgumentError as err:
        raise InvalidArgumentError(f"gradcheck {spec.name}: {err}") from None
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
            # hypothesis's printout (falsifying example, "add @seed(...)") names its own
            # test function; gradtest's report and reproduce line replace it
            with hypothesis.reporting.with_reporter(_silent):
                test()
        finally:
            if seed is None:
                seed = _used_seed(test)
            _warn_once(spec, state)
    except GradientError:
        verdict = "fail"
        assert state.last_result is not None and state.last_example is not None
        error = GradientError(
            _failure_message(spec, state, _reproduce_line(reproduce(spec, seed), seed)),
            state.last_result,
        )
    except (FunctionEvaluationError, InvalidArgumentError, NondeterminismError) as err:
        _reraise_with_example(err, spec, state, seed, reproduce(spec, seed))
    except (Unsatisfiable, FailedHealthCheck) as err:
        if state.n_rejected == 0:
            raise
        verdict = "inconclusive"
        error = InconclusiveGradcheckError(
            _inconclusive_message(spec, state, reproduce(spec, seed))
        )
        error.__cause__ = err
    elapsed = time.perf_counter() - start
    if verdict == "pass" and (
        state.n_examples == 0
        or state.n_rejected > MAX_REJECTED_FRACTION * (state.n_examples + state.n_rejected)
    ):
        verdict = "inconclusive"
        error = InconclusiveGradcheckError(
            _inconclusive_message(spec, state, reproduce(spec, seed))
        )
    example_text = None
    if verdict == "fail":
        result, example = state.last_result, state.last_example
        assert error is not None and example is not None
        report = str(error)
        example_text = format_example(example, indent="")
    else:
        result, example = state.worst if state.worst is not None else (None, None)
        example = None
        report = str(error) if error is not None else _pass_message(spec, state, seed)
    accepted = verdict == "inconclusive" and accept_inconclusive
    if accepted:
        report += "\n(accepted: the accept_inconclusive setting counts this as a pass)"
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
        n_evals=state.n_evals,
        accepted=accepted,
        notes=tuple(state.notes),
        example_text=example_text,
        reproduce=None if verdict == "pass" else reproduce(spec, seed),
    )


def _counts(state: _RunState) -> str:
    text = f"{state.n_examples} input{'s' if state.n_examples != 1 else ''} judged"
    if state.n_rejected:
        text += (
            f", {state.n_rejected} rejected as inconclusive ({state.n_kinks} at a kink, "
            f"{state.n_rejected - state.n_kinks} with an unreliable numeric derivative)"
        )
    if state.n_kinks_judged:
        text += (
            f"; {state.n_kinks_judged} judged input{'s' if state.n_kinks_judged != 1 else ''} "
            "had entries at a kink, judged by their one-sided derivatives"
        )
    return text


def _reproduce_line(command: str, seed: int | None) -> str:
    """The line that replays a run; a derandomized run (no seed) replays without one."""
    return f"reproduce with: {command}"


def _failure_message(spec: GradcheckSpec, state: _RunState, reproduce: str) -> str:
    assert state.last_example is not None and state.last_result is not None
    parts = [
        f"gradcheck {spec.name}: {state.reason} for this input "
        f"(shrunk by hypothesis; {_counts(state)}):",
        "",
        format_example(state.last_example),
        "",
        str(state.last_result),
    ]
    if state.last_descent is not None:
        parts += ["", str(state.last_descent)]
    parts += ["", reproduce]
    return "\n".join(parts)


def _inconclusive_message(spec: GradcheckSpec, state: _RunState, reproduce: str) -> str:
    total = state.n_examples + state.n_rejected
    share = f"{state.n_rejected} of {total}" if total else "every one"
    kinks = f" (kinks at {', '.join(state.kink_labels)}, ...)" if state.kink_labels else ""
    kinds = sorted(state.reject_reasons.values(), key=lambda kind: -kind[0])
    reasons = "".join(
        f"\n  - {_plural(count, 'input')}; the first: {first}" for count, first in kinds[:3]
    )
    if len(kinds) > 3:
        others = sum(count for count, _ in kinds[3:])
        reasons += f"\n  - {_plural(others, 'input')} for {len(kinds) - 3} other reasons"
    fixes = []
    if state.n_kinks:
        fixes.append(
            "keep the inputs away from the kinks of the loss (strategies with "
            "kink_margin=..., or data that avoids ties), check a smooth variant of the loss, "
            "or pass strict_kinks=True to fail on kinks"
        )
    if state.n_rejected > state.n_kinks:
        fixes.append(
            "make the loss smooth and precise at the scale of the finite-difference steps "
            "(float64 arithmetic, no rounding, sampling or quantization inside), or draw the "
            "inputs where it is"
        )
    return (
        f"gradcheck {spec.name}: INCONCLUSIVE: {share} inputs were rejected because the "
        f"gradient check could not judge them{kinks}; only {state.n_examples} "
        f"{'was' if state.n_examples == 1 else 'were'} judged, too few for a pass to mean much."
        + (f"\nWhy the check could not judge them (by kind of reason):{reasons}" if reasons else "")
        + ("\nFixes: " + "; or ".join(fixes) + "." if fixes else "")
        + f"\n{_reproduce_line(reproduce, None)}"
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


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


def _reraise_with_example(
    err: GradtestError, spec: GradcheckSpec, state: _RunState, seed: int | None, command: str
) -> None:
    """Raise ``err`` again with the input that raised and the line that replays it.

    The new error carries ``gradtest_example`` (the input as Python lines) and
    ``gradtest_seed`` for the reports of the plugin and the command.
    """
    __tracebackhide__ = True
    example = format_example(state.last_example or {})
    new = type(err)(
        f"gradcheck {spec.name}: {err}\nfor this input (shrunk by hypothesis):\n{example}"
        f"\n\n{_reproduce_line(command, seed)}"
    )
    new.gradtest_example = format_example(state.last_example or {}, indent="")  # type: ignore[attr-defined]
    new.gradtest_seed = seed  # type: ignore[attr-defined]
    raise new from (err.__cause__ or err)
