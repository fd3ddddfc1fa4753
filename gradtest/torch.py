"""Check PyTorch gradients: custom ``autograd.Function``s, functions of tensors, modules.

This adapter turns a PyTorch function into NumPy ``fun``/``grad`` callables on float64
arrays and hands them to :func:`gradtest.check_grad` or :func:`gradtest.check_jacobian`,
so the finite differences, tolerances, verdicts and report are the core's, and every
function here returns the same :class:`gradtest.GradCheckResult`.

- :func:`check_function`: a function of tensors, e.g. ``MyFunction.apply``. A scalar
  output is checked with ``check_grad`` (one backward pass); a tensor output with
  ``check_jacobian``, the Jacobian built from one vector-Jacobian product per output entry
  (``mode="reverse"``, the custom ``backward``) or one Jacobian-vector product per input
  entry (``mode="forward"``, the custom ``jvp``, through ``torch.autograd.forward_ad``).
- :func:`check_module`: an ``nn.Module`` and a loss; the gradient with respect to its
  named parameters (``"0.weight"``), as a dict of arrays.
- :func:`check_gradgrad`: the gradient of the gradient (double backward), as
  ``torch.autograd.gradgradcheck`` does.
- :func:`numpy_loss`: a loss written in PyTorch as the NumPy ``(loss, gradient)`` function
  that ``@gradtest.gradcheck`` (and so the pytest plugin and the ``gradtest`` command)
  checks over hypothesis-generated inputs.

The numerics always run in float64 on copies: a float32 model is converted (a deep copy,
the user's module and tensors are never touched), and the float32 analytic gradient is
compared with the float64 one in a precision note of the diagnosis; the check fails when
the float32 one is not finite or off by far more than float32 round-off explains. Every
backward is seeded with a cotangent of 0.75, not 1, so one that ignores its
``grad_output`` fails even for a scalar output.

Importing :mod:`gradtest` does not import torch; importing :mod:`gradtest.torch` does.

Use it in a test like any other gradtest check::

    from gradtest.torch import check_function

    def test_softmax_backward():
        x = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
        result = check_function(MySoftmax.apply, x, seed=0)
        assert result.passed, result

Examples
--------
>>> import torch
>>> from gradtest.torch import check_function
>>> class Cube(torch.autograd.Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x**3
...     @staticmethod
...     def backward(ctx, grad_out):
...         (x,) = ctx.saved_tensors
...         return grad_out * 3 * x**2
>>> x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
>>> check_function(Cube.apply, x, seed=0).verdict
'pass'
"""

from __future__ import annotations

import copy
import inspect
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import torch
import torch.autograd.forward_ad as fwad
from numpy.typing import NDArray

from gradtest import (
    FunctionEvaluationError,
    GradCheckResult,
    GradtestError,
    InvalidArgumentError,
    check_grad,
    check_jacobian,
)
from gradtest._adapters import (
    COTANGENT,
    at_own_precision,
    compare_precision,
    derivative_scale,
    described,
    function_resolution,
    probe_cotangent,
    scaling_problem,
    with_notes,
    with_scaling_note,
)
from gradtest._adapters import LOW_PRECISION_GAP as LOW_PRECISION_GAP  # importable here, as before
from gradtest._options import Method

__all__ = ["check_function", "check_gradgrad", "check_module", "numpy_loss"]

Mode = Literal["reverse", "forward"]
Arrays = dict[str, NDArray[Any]]
Tensors = dict[str, torch.Tensor]


# ----------------------------------------------------------------------------- helpers


def _name_of(fn: Any) -> str:
    owner = getattr(fn, "__self__", None)
    if inspect.isclass(owner) and issubclass(owner, torch.autograd.Function):
        return f"{owner.__name__}.apply"
    return str(getattr(fn, "__name__", None) or type(fn).__name__)


def _argument_names(fn: Any, n: int) -> list[str]:
    """``fn``'s positional parameter names (``forward``'s for an ``apply``) or ``inputs[i]``."""
    target = fn
    owner = getattr(fn, "__self__", None)
    drop_ctx = False
    if inspect.isclass(owner) and issubclass(owner, torch.autograd.Function):
        target = owner.forward
        drop_ctx = True
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        params = []
    if drop_ctx and params and params[0].name == "ctx":
        params = params[1:]
    names: list[str] = []
    for p in params:
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            break
        names.append(p.name)
    if len(names) < n or len(set(names)) != len(names):
        return [f"inputs[{i}]" for i in range(n)]
    return names[:n]


def _is_float_tensor(t: Any) -> bool:
    return isinstance(t, torch.Tensor) and t.is_floating_point()


def _to_numpy(t: torch.Tensor) -> NDArray[np.float64]:
    return np.array(t.detach().to(torch.float64).cpu().numpy(), dtype=np.float64)


def _flat_output(raw: Any, name: str) -> torch.Tensor:
    """The function's output as one tensor: a tensor as is, a tuple of tensors concatenated."""
    if isinstance(raw, torch.Tensor):
        out = raw
    elif isinstance(raw, (tuple, list)) and raw and all(isinstance(o, torch.Tensor) for o in raw):
        floats = [o for o in raw if o.is_floating_point() or o.is_complex()]
        if not floats:
            raise InvalidArgumentError(
                f"{name} returned a {type(raw).__name__} of tensors without a floating-point one"
            )
        out = torch.cat([o.reshape(-1) for o in floats])
    else:
        raise InvalidArgumentError(
            f"{name} must return a tensor or a tuple of tensors, got {type(raw).__name__} "
            f"{raw!r:.60}"
        )
    if out.is_complex():
        raise InvalidArgumentError(
            f"{name} returned a complex tensor: gradtest checks real-valued outputs (check "
            "out.real and out.imag as two functions)"
        )
    if not out.is_floating_point():
        raise InvalidArgumentError(
            f"{name} returned a {out.dtype} tensor: nothing to differentiate"
        )
    return out


def _value(out: torch.Tensor) -> float | NDArray[np.float64]:
    """What the core's ``fun`` returns: a float for a 0-d output, else an array."""
    if out.dim() == 0:
        return float(out.detach().to(torch.float64))
    return _to_numpy(out)


def _vjp_jacobian(out: torch.Tensor, leaves: Tensors) -> Arrays:
    """``d out / d leaf`` for every leaf, one vector-Jacobian product per output entry.

    Row ``k`` is the backward seeded with ``COTANGENT`` at entry ``k`` (not 1, so that a
    backward ignoring its ``grad_output`` shows), divided by ``COTANGENT``. Each array has
    shape ``out.shape + leaf.shape``; an unused leaf gives zeros.
    """
    m = out.numel()
    rows = {n: np.zeros((m, *t.shape)) for n, t in leaves.items()}
    if out.requires_grad:
        flat = out.reshape(-1)
        tensors = list(leaves.values())
        seed = torch.tensor(COTANGENT, dtype=out.dtype, device=out.device)
        for k in range(m):
            grads = torch.autograd.grad(
                flat[k], tensors, seed, retain_graph=True, allow_unused=True
            )
            for n, g in zip(leaves, grads, strict=True):
                if g is not None:
                    rows[n][k] = _to_numpy(g) / COTANGENT
    return {n: r.reshape(tuple(out.shape) + r.shape[1:]) for n, r in rows.items()}


def _load_forward_ad() -> None:
    """Load torch's forward-AD decompositions once, silencing torch's own deprecation notice.

    The first ``make_dual`` imports ``torch._decomp.decompositions_for_jvp``, which calls the
    deprecated ``torch.jit.script`` internally (torch 2.13): a warning about torch, not
    about the user's code, that ``-W error`` would turn into a failed check.
    """
    load = getattr(fwad, "_maybe_load_decompositions", None)
    if load is not None:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", "`torch.jit.script` is deprecated", DeprecationWarning
            )
            load()


def _jvp_jacobian(call: Callable[[Tensors], torch.Tensor], leaves: Tensors, name: str) -> Arrays:
    """``d out / d leaf`` for every leaf, one Jacobian-vector product per input entry."""
    _load_forward_ad()
    columns: Arrays = {}
    for n, t in leaves.items():
        cols = []
        for j in range(t.numel()):
            tangent = torch.zeros(t.numel(), dtype=t.dtype)
            tangent[j] = COTANGENT  # not 1: a jvp ignoring its tangent shows
            with fwad.dual_level():
                duals = dict(leaves)
                dual = fwad.make_dual(t.detach(), tangent.reshape(t.shape))  # type: ignore[no-untyped-call]
                duals[n] = dual
                try:
                    out = call(duals)
                except (NotImplementedError, RuntimeError) as err:
                    raise InvalidArgumentError(
                        f"mode='forward' needs forward-mode AD, but {name} raised "
                        f"{type(err).__name__}: {err}. For a custom autograd.Function, define "
                        "a jvp staticmethod (and save what it needs with ctx.save_for_forward)"
                    ) from err
                tan = fwad.unpack_dual(out).tangent  # type: ignore[no-untyped-call]
                col = np.zeros(tuple(out.shape)) if tan is None else _to_numpy(tan) / COTANGENT
            cols.append(col)
        stacked = np.stack(cols, axis=-1)  # out.shape + (numel,)
        columns[n] = stacked.reshape(stacked.shape[:-1] + tuple(t.shape))
    return columns


def _precision(
    result: GradCheckResult,
    what: str,
    rule: str,
    low: Arrays,
    high: Arrays,
    dtypes: Mapping[str, torch.dtype],
    values: Any,
    x: Arrays,
) -> GradCheckResult:
    """Compare the analytic derivative at the user's precision with the float64 one;
    ``values`` are the function's at ``x`` (float64)."""
    kinds = ", ".join(sorted({str(d).replace("torch.", "") for d in dtypes.values()}))
    eps = max(float(torch.finfo(d).eps) for d in dtypes.values())
    floor = function_resolution(eps, values, x)
    return compare_precision(result, what, rule, low, high, kinds, eps, floor)


def _scaling_note(out: torch.Tensor, leaves: Tensors, reference: float) -> str:
    """Whether the backward is linear in ``grad_output``: one seed ``v``, one ``0.75 v``."""
    if not out.requires_grad:
        return ""
    tensors = list(leaves.values())
    v = torch.as_tensor(probe_cotangent(tuple(out.shape)), dtype=out.dtype)
    try:
        plain = torch.autograd.grad(out, tensors, v, retain_graph=True, allow_unused=True)
        scaled = torch.autograd.grad(out, tensors, v * COTANGENT, allow_unused=True)
    except Exception:  # a diagnosis of a failed check must not raise
        return ""
    zeros = {n: np.zeros(tuple(t.shape)) for n, t in leaves.items()}
    a = {n: zeros[n] if g is None else _to_numpy(g) for n, g in zip(leaves, plain, strict=True)}
    b = {
        n: zeros[n] if g is None else _to_numpy(g) / COTANGENT
        for n, g in zip(leaves, scaled, strict=True)
    }
    return scaling_problem(a, b, "backward", reference)


#: words of a dtype mismatch in torch's error messages
_DTYPE_CLASH = re.compile(r"dtype|Double|Float|Half|BFloat16")


def _first_call_error(
    label: str, err: Exception, converted: Mapping[str, torch.dtype]
) -> FunctionEvaluationError:
    """``fn`` raised on its first call, at the given inputs: say so (and why, if a dtype)."""
    message = (
        f"{label} raised {type(err).__name__} on its first call, at the inputs given "
        f"(before any finite difference): {err}"
    )
    if converted and _DTYPE_CLASH.search(str(err)):
        kinds = ", ".join(f"{n} ({str(d).replace('torch.', '')})" for n, d in converted.items())
        message += (
            f". gradtest evaluates {label} at float64 copies of the checked inputs ({kinds}), "
            "while tensors captured in a closure (a float32 nn.Module's weights, say) keep "
            "their dtype: pass those tensors to check_function as arguments (floating-point "
            "arguments are converted to float64 too), or check a model's parameters with "
            "check_module"
        )
    return FunctionEvaluationError(message)


def _no_meta(value: Any, name: str) -> None:
    """A tensor on the meta device has no values to differentiate numerically."""
    if isinstance(value, torch.Tensor) and value.device.type == "meta":
        raise InvalidArgumentError(
            f"{name} is a tensor on device {str(value.device)!r}, which holds no values: "
            "gradtest evaluates the function numerically, so create it on 'cpu' (or a GPU)"
        )


def _copy(value: Any, double: bool) -> Any:
    """A detached copy of the tensors in ``value`` (float64 if ``double``), for one call.

    ``fn`` may write to what it gets (a batch norm's running statistics, an in-place
    ``sub_``): a fresh copy per call keeps the user's tensors untouched and every
    evaluation starting from the same values.
    """
    if isinstance(value, torch.Tensor):
        value = value.detach()
        if double and value.is_floating_point() and value.dtype != torch.float64:
            return value.to(torch.float64)
        return value.clone()
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a namedtuple
        return type(value)(*(_copy(v, double) for v in value))
    if isinstance(value, (tuple, list)):
        return type(value)(_copy(v, double) for v in value)
    if isinstance(value, dict):
        return {k: _copy(v, double) for k, v in value.items()}
    return value


def _check_mode(mode: Any) -> None:
    if mode not in ("reverse", "forward"):
        raise InvalidArgumentError(
            f"mode must be 'reverse' (the backward rule) or 'forward' (the jvp rule), got {mode!r}"
        )


class _Inputs:
    """The positional inputs of a function: which are checked, their names and dtypes."""

    def __init__(self, fn: Any, inputs: Sequence[Any], wrt: int | Sequence[int] | None) -> None:
        if not callable(fn):
            raise InvalidArgumentError(
                f"fn must be callable (a function of tensors or MyFunction.apply), got "
                f"{type(fn).__name__} {fn!r:.60}"
            )
        if not inputs:
            raise InvalidArgumentError("inputs is empty: pass the tensors fn is called with")
        self.inputs = list(inputs)
        names = _argument_names(fn, len(self.inputs))
        for i, t in enumerate(self.inputs):
            _no_meta(t, names[i])
        floats = [i for i, t in enumerate(self.inputs) if _is_float_tensor(t)]
        if wrt is None:
            chosen = [i for i in floats if self.inputs[i].requires_grad] or floats
        else:
            if isinstance(wrt, int) and not isinstance(wrt, bool):
                chosen = [wrt]
            elif isinstance(wrt, (str, bytes)) or not isinstance(wrt, Sequence):
                raise InvalidArgumentError(
                    f"wrt must be a position of an input or a sequence of positions in "
                    f"range({len(inputs)}), got {type(wrt).__name__} {wrt!r:.40}"
                )
            else:
                chosen = list(wrt)
            for i in chosen:
                if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(inputs):
                    raise InvalidArgumentError(
                        f"wrt must hold positions of inputs in range({len(inputs)}), got {wrt!r}"
                    )
                if not _is_float_tensor(self.inputs[i]):
                    got = self.inputs[i]
                    desc = got.dtype if isinstance(got, torch.Tensor) else type(got).__name__
                    raise InvalidArgumentError(
                        f"wrt={wrt!r} names input {i}, which is {desc}: only "
                        "floating-point tensors can be checked"
                    )
        if not chosen:
            kinds = [
                str(t.dtype) if isinstance(t, torch.Tensor) else type(t).__name__
                for t in self.inputs
            ]
            raise InvalidArgumentError(
                f"inputs hold no floating-point tensor to check, got {kinds}: pass "
                "torch.float64 (or float32) tensors"
            )
        self.positions = chosen
        self.names = [names[i] for i in chosen]
        self.dtypes = {n: self.inputs[i].dtype for n, i in zip(self.names, chosen, strict=True)}
        self.x0: Arrays = {
            n: _to_numpy(self.inputs[i]) for n, i in zip(self.names, chosen, strict=True)
        }

    def low_precision(self) -> dict[str, torch.dtype]:
        return {n: d for n, d in self.dtypes.items() if d != torch.float64}

    def leaves(self, values: Mapping[str, NDArray[Any]], *, double: bool, grad: bool) -> Tensors:
        out = {}
        for n in self.names:
            dtype = self.dtypes[n]
            if double:
                arr = np.asarray(values[n])
                dtype = torch.complex128 if np.iscomplexobj(arr) else torch.float64
            t = torch.as_tensor(np.array(values[n]), dtype=dtype)
            out[n] = t.requires_grad_(grad)
        return out

    def arguments(self, leaves: Mapping[str, torch.Tensor], *, double: bool) -> list[Any]:
        """``fn``'s arguments: ``leaves`` at the checked positions, copies elsewhere."""
        args = [
            None if i in self.positions else _copy(t, double) for i, t in enumerate(self.inputs)
        ]
        for n, i in zip(self.names, self.positions, strict=True):
            args[i] = leaves[n]
        return args


# ----------------------------------------------------------------------------- public API


def check_function(
    fn: Callable[..., Any],
    *inputs: Any,
    wrt: int | Sequence[int] | None = None,
    mode: Mode = "reverse",
    rtol: float | None = None,
    atol: float | None = None,
    method: Method = "central",
    step: float | None = None,
    seed: int | None = None,
    name: str | None = None,
) -> GradCheckResult:
    """Check the backward (or jvp) rule of a function of tensors against finite differences.

    Parameters
    ----------
    fn : callable
        ``fn(*inputs)`` returns a tensor or a tuple of tensors (concatenated, flattened);
        typically ``MyFunction.apply`` of a custom ``torch.autograd.Function``. Pass keyword
        arguments with ``functools.partial``.
    *inputs : tensors and other values
        The inputs of ``fn``. Floating-point tensors are evaluated as float64 copies, and
        every call of ``fn`` gets fresh copies of the tensors, so ``fn`` may write to them
        (a batch norm's running statistics) without touching yours.
    wrt : int or sequence of int, optional
        Positions of the inputs to check. Default: the floating-point tensors with
        ``requires_grad=True``, or every floating-point tensor when none requires grad.
    mode : {"reverse", "forward"}, optional
        ``"reverse"`` checks the backward pass (one vector-Jacobian product per output
        entry); ``"forward"`` checks forward-mode AD, i.e. a custom ``jvp`` (one
        Jacobian-vector product per input entry, with ``torch.autograd.forward_ad``).
    rtol, atol, method, step, seed, name
        As in :func:`gradtest.check_grad`.

    Returns
    -------
    GradCheckResult
        Entries are named after ``fn``'s parameters (``forward``'s for ``apply``): ``x[2]``
        for a scalar output, ``d out[1, 0] / d x[2]`` for a tensor output.

    Raises
    ------
    InvalidArgumentError
        No floating-point tensor to check, a bad ``wrt`` or ``mode``, a non-tensor or
        complex output, a tensor on the ``meta`` device, or ``mode="forward"`` for a
        function without forward-mode AD.
    FunctionEvaluationError
        ``fn`` or its backward raised (on its first call too: a float32 tensor captured
        in a closure, say, meeting the float64 copies of the inputs).

    Notes
    -----
    Like ``torch.autograd.gradcheck`` (slow mode), the full Jacobian is compared entry by
    entry, but the tolerances follow from the core's error model rather than a fixed
    ``eps``/``atol``, and float32 inputs are checked in float64. When an input is not
    float64, the analytic derivative is also computed at its own precision and the gap
    between the two is reported in ``result.diagnosis.notes``; the verdict is ``"fail"``
    when that derivative is not finite where the float64 one is, or differs from it by
    more than a tenth of ``max|g|`` (a quarter for bfloat16). Each
    vector-Jacobian product is seeded with ``0.75`` at one output entry (and divided by
    it), so a backward that ignores its ``grad_output`` fails, with a note saying so.

    Examples
    --------
    >>> import torch
    >>> from gradtest.torch import check_function
    >>> class Square(torch.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, grad_out):
    ...         (x,) = ctx.saved_tensors
    ...         return grad_out * x  # wrong: the factor 2 is missing
    >>> x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    >>> result = check_function(Square.apply, x, seed=0)
    >>> result.verdict
    'fail'
    >>> sorted(e.label for e in result.failing())
    ['d out[0] / d x[0]', 'd out[1] / d x[1]', 'd out[2] / d x[2]']
    """
    _check_mode(mode)
    spec = _Inputs(fn, inputs, wrt)
    label = name or _name_of(fn)

    def output(leaves: Tensors, double: bool) -> torch.Tensor:
        return _flat_output(fn(*spec.arguments(leaves, double=double)), label)

    def fun(x: Arrays) -> float | NDArray[np.float64]:
        with torch.no_grad():
            return _value(output(spec.leaves(x, double=True, grad=False), True))

    def derivative(x: Mapping[str, NDArray[Any]], double: bool) -> Arrays:
        if mode == "forward":
            leaves = spec.leaves(x, double=double, grad=False)
            return _jvp_jacobian(lambda d: output(d, double), leaves, label)
        leaves = spec.leaves(x, double=double, grad=True)
        return _vjp_jacobian(output(leaves, double), leaves)

    def jac(x: Arrays) -> Arrays:
        return derivative(x, True)

    low = spec.low_precision()
    try:
        with torch.no_grad():
            scalar = output(spec.leaves(spec.x0, double=True, grad=False), True).dim() == 0
    except GradtestError:
        raise
    except Exception as err:
        raise _first_call_error(label, err, low) from err
    check = check_grad if scalar else check_jacobian
    rule_of = "the jvp" if mode == "forward" else "the backward"
    result = check(
        fun, described(jac, f"{rule_of} of {label}"), spec.x0,
        rtol=rtol, atol=atol, method=method, step=step, seed=seed, name=label,
    )  # fmt: skip
    if result.verdict == "fail" and mode == "reverse":
        leaves = spec.leaves(spec.x0, double=True, grad=True)
        result = with_scaling_note(
            result, _scaling_note(output(leaves, True), leaves, derivative_scale(result))
        )
    if low:
        rule = "jvp" if mode == "forward" else "backward"
        at_user_precision = at_own_precision(
            lambda: derivative(spec.x0, False), f"{label} (or its {rule})", "inputs'", low
        )
        what = "input " + ", ".join(low)
        result = _precision(
            result, what, rule, at_user_precision, jac(spec.x0), low, fun(spec.x0), spec.x0
        )
    return result


def _module_output(module: torch.nn.Module, params: Tensors, batch: Sequence[Any]) -> Any:
    head = batch[0] if batch else ()
    inputs = tuple(head) if isinstance(head, (tuple, list)) else (head,)
    return torch.func.functional_call(module, params, inputs)


def check_module(
    module: torch.nn.Module,
    loss_fn: Callable[..., Any] | None,
    *batch: Any,
    params: Sequence[str] | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    method: Method = "central",
    step: float | None = None,
    seed: int | None = None,
    name: str | None = None,
) -> GradCheckResult:
    """Check the gradient of a module's loss with respect to its named parameters.

    Parameters
    ----------
    module : torch.nn.Module
        The model. It is deep-copied and converted to float64 for the numerics; the module,
        its ``.grad`` fields and buffers are left untouched.
    loss_fn : callable or None
        The loss is ``loss_fn(module(batch[0]), *batch[1:])`` (``module(*batch[0])`` when
        ``batch[0]`` is a tuple), e.g. ``torch.nn.MSELoss()`` with ``batch = (X, y)``. With
        ``None``, ``module(*batch)`` must return the scalar loss itself.
    *batch : tensors
        The data; floating-point tensors are converted to float64. Every evaluation gets
        fresh copies, so a forward that writes to its input leaves yours untouched.
    params : sequence of str, optional
        Names of the parameters to check (as in ``module.named_parameters()``, e.g.
        ``"0.weight"``). Default: every parameter with ``requires_grad``.
    rtol, atol, method, step, seed, name
        As in :func:`gradtest.check_grad`.

    Returns
    -------
    GradCheckResult
        A gradient check with ``x`` a dict of parameter arrays; entries are labelled
        ``0.weight[1, 2]``, random directions ``0.weight · v0``. For a model that is not
        float64, its analytic gradient at its own precision is compared with the float64
        one (in ``diagnosis.notes``; a non-finite or far-off one fails the check).

    Raises
    ------
    InvalidArgumentError
        ``module`` is not a module, ``params`` names an unknown parameter, or the loss is
        not a scalar.
    FunctionEvaluationError
        The model, the loss or a backward raised: on the float64 copies, or at the model's
        own precision afterwards (a float32 model given float64 data, say).

    Notes
    -----
    The forward runs through ``torch.func.functional_call`` on a float64 deep copy, so
    float32 models get float64 finite differences: a float32 model with a correct backward
    passes, where ``torch.autograd.gradcheck`` asks for double precision. A module with
    dropout (or another random layer) in training mode is not deterministic: call
    ``module.eval()`` or fix the seed, and gradtest says so if you forget.

    Examples
    --------
    >>> import torch
    >>> from gradtest.torch import check_module
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> X, y = torch.randn(5, 3), torch.randn(5, 1)
    >>> result = check_module(model, torch.nn.MSELoss(), X, y, seed=0)
    >>> result.verdict, result.wrt
    ('pass', ('0.weight', '0.bias', '2.weight', '2.bias'))
    """
    if not isinstance(module, torch.nn.Module):
        raise InvalidArgumentError(
            f"module must be a torch.nn.Module, got {type(module).__name__} {module!r:.60}"
        )
    if loss_fn is not None and not callable(loss_fn):
        raise InvalidArgumentError(
            f"loss_fn must be callable or None, got {type(loss_fn).__name__} {loss_fn!r:.60}"
        )
    named = dict(module.named_parameters())
    if params is None:
        chosen = [n for n, p in named.items() if p.requires_grad]
    else:
        if isinstance(params, str):
            raise InvalidArgumentError(
                f"params must be a sequence of parameter names, got the string {params!r}: "
                f"write params=[{params!r}]"
            )
        chosen = list(params)
        unknown = [n for n in chosen if n not in named]
        if unknown:
            raise InvalidArgumentError(
                f"params names {unknown} that the module does not have; its parameters are "
                f"{list(named)}"
            )
    if not chosen:
        raise InvalidArgumentError(
            f"module has no parameter to check (parameters: {list(named)}, none selected)"
        )
    label = name or type(module).__name__
    for n in chosen:
        _no_meta(named[n], f"parameter {n!r} of {label}")
    for i, b in enumerate(batch):
        _no_meta(b, f"batch[{i}]")
    dtypes = {n: named[n].dtype for n in chosen}
    x0 = {n: _to_numpy(named[n]) for n in chosen}

    copies = {
        True: copy.deepcopy(module).to(torch.float64),
        False: copy.deepcopy(module),
    }

    def loss(values: Mapping[str, NDArray[Any]], double: bool, grad: bool) -> tuple[Tensors, Any]:
        leaves = {
            n: torch.as_tensor(
                np.array(values[n]), dtype=torch.float64 if double else dtypes[n]
            ).requires_grad_(grad)
            for n in chosen
        }
        b = [_copy(v, double) for v in batch]  # fresh per call: the forward may write to it
        if loss_fn is None:
            raw = torch.func.functional_call(copies[double], leaves, tuple(b))
        else:
            raw = loss_fn(_module_output(copies[double], leaves, b), *b[1:])
        if not isinstance(raw, torch.Tensor) or raw.numel() != 1:
            got = (
                f"a tensor of shape {tuple(raw.shape)}"
                if isinstance(raw, torch.Tensor)
                else type(raw).__name__
            )
            if loss_fn is None:
                raise InvalidArgumentError(
                    f"with loss_fn=None, {label}(*batch) must return the scalar loss, got "
                    f"{got}: pass a loss_fn (torch.nn.MSELoss(), say)"
                )
            raise InvalidArgumentError(
                f"the loss of {label} must be a scalar tensor, got {got}: reduce it (mean or "
                "sum) in loss_fn"
            )
        return leaves, raw.reshape(())

    def fun(x: Arrays) -> float:
        with torch.no_grad():
            return float(loss(x, True, False)[1])

    def gradient(x: Mapping[str, NDArray[Any]], double: bool) -> Arrays:
        leaves, value = loss(x, double, True)
        return _vjp_jacobian(value, leaves)

    def grad(x: Arrays) -> Arrays:
        return gradient(x, True)

    result = check_grad(
        fun, described(grad, f"the backward of {label}"), x0,
        rtol=rtol, atol=atol, method=method, step=step, seed=seed, name=label,
    )  # fmt: skip
    if result.verdict == "fail":
        leaves, value = loss(x0, True, True)
        result = with_scaling_note(result, _scaling_note(value, leaves, derivative_scale(result)))
    low = {n: d for n, d in dtypes.items() if d != torch.float64}
    if low:
        try:
            at_user_precision = gradient(x0, False)
        except GradtestError:
            raise
        except Exception as err:
            raise _own_precision_error(label, err, low, batch) from err
        what = f"the model {label}"
        result = _precision(result, what, "backward", at_user_precision, grad(x0), low, fun(x0), x0)
    return result


def _own_precision_error(
    label: str, err: Exception, low: Mapping[str, torch.dtype], batch: Sequence[Any]
) -> FunctionEvaluationError:
    """The model raised at its own precision, after the float64 check passed through."""
    kinds = ", ".join(sorted({str(d).replace("torch.", "") for d in low.values()}))
    message = (
        f"{label} (or its backward) raised {type(err).__name__} at the model's own precision "
        f"({kinds} parameters, the batch as given), after the float64 check: {err}"
    )
    others = [
        f"batch[{i}] ({str(b.dtype).replace('torch.', '')})"
        for i, b in enumerate(batch)
        if _is_float_tensor(b) and b.dtype not in low.values()
    ]
    if others and _DTYPE_CLASH.search(str(err)):
        message += (
            f". The batch holds {', '.join(others)}: your own call of {label} on it fails "
            "the same way, so pass the batch in the model's dtype (X.to(model_dtype))"
        )
    return FunctionEvaluationError(message)


def _graphless(g: torch.Tensor | None) -> bool:
    """A nonzero first derivative that cannot be differentiated again.

    ``@once_differentiable`` marks its result with an ``Error`` node (whose edges lead
    nowhere, so ``allow_unused`` would silently give ``None``); a backward computed outside
    autograd returns a tensor without ``grad_fn``.
    """
    if g is None or not bool(g.detach().any()):
        return False
    return g.grad_fn is None or type(g.grad_fn).__name__ == "Error"


def check_gradgrad(
    fn: Callable[..., Any],
    *inputs: Any,
    wrt: int | Sequence[int] | None = None,
    grad_outputs: torch.Tensor | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    method: Method = "central",
    step: float | None = None,
    seed: int | None = None,
    name: str | None = None,
) -> GradCheckResult:
    """Check the second derivative: the backward of the backward (double backward).

    The checked function is ``g(inputs, v) = vᵀ J(inputs)``, the vector-Jacobian product
    that the first backward computes, as a flat vector of all the input gradients; its
    analytic Jacobian comes from differentiating that backward again
    (``create_graph=True``). This is what ``torch.autograd.gradgradcheck`` checks.

    Parameters
    ----------
    fn, *inputs, wrt
        As in :func:`check_function`. A custom ``autograd.Function`` must have a backward
        written with differentiable torch operations (not ``@once_differentiable``).
    grad_outputs : tensor, optional
        The vector ``v`` (shape of the output). Default: standard normal drawn from
        ``seed``. For a tensor output, ``v`` is checked too, as the input ``grad_output``
        (a backward must be linear in it); for a scalar output ``v = 1``.
    rtol, atol, method, step, seed, name
        As in :func:`gradtest.check_grad`.

    Returns
    -------
    GradCheckResult
        A Jacobian check; output entry ``j`` is entry ``j`` of the concatenated, flattened
        input gradients.

    Examples
    --------
    >>> import torch
    >>> from gradtest.torch import check_gradgrad
    >>> x = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    >>> check_gradgrad(lambda x: torch.sin(x).sum() * x.sum(), x, seed=0).verdict
    'pass'
    """
    spec = _Inputs(fn, inputs, wrt)
    label = name or _name_of(fn)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise InvalidArgumentError(f"seed must be None or an int >= 0, got {seed!r}")
    seed = int(np.random.SeedSequence().entropy % (2**32)) if seed is None else seed  # type: ignore[operator]

    try:
        with torch.no_grad():
            out0 = _flat_output(
                fn(*spec.arguments(spec.leaves(spec.x0, double=True, grad=False), double=True)),
                label,
            )
    except GradtestError:
        raise
    except Exception as err:
        raise _first_call_error(label, err, spec.low_precision()) from err
    scalar = out0.dim() == 0
    x0 = dict(spec.x0)
    if scalar:
        v0 = np.ones(())
    elif grad_outputs is None:
        v0 = np.random.default_rng(seed).standard_normal(tuple(out0.shape))
    else:
        if not isinstance(grad_outputs, torch.Tensor) or tuple(grad_outputs.shape) != tuple(
            out0.shape
        ):
            got = (
                tuple(grad_outputs.shape)
                if isinstance(grad_outputs, torch.Tensor)
                else type(grad_outputs).__name__
            )
            raise InvalidArgumentError(
                f"grad_outputs must be a tensor of the output's shape {tuple(out0.shape)}, "
                f"got {got}"
            )
        v0 = _to_numpy(grad_outputs)
    if not scalar:
        if "grad_output" in x0:
            raise InvalidArgumentError(
                "an input of fn is called 'grad_output', which gradgrad uses for v: rename it"
            )
        x0["grad_output"] = v0

    def first(x: Mapping[str, NDArray[Any]], create_graph: bool) -> tuple[Tensors, torch.Tensor]:
        leaves = spec.leaves(x, double=True, grad=True)
        v = torch.as_tensor(np.array(x.get("grad_output", v0)), dtype=torch.float64)
        v.requires_grad_(create_graph and not scalar)
        out = _flat_output(fn(*spec.arguments(leaves, double=True)), label)
        tensors = list(leaves.values())
        if not out.requires_grad:
            flat = torch.zeros(sum(t.numel() for t in tensors), dtype=torch.float64)
        else:
            grads = torch.autograd.grad(
                out, tensors, v.reshape(out.shape), create_graph=create_graph, allow_unused=True
            )
            flat = torch.cat(
                [
                    (torch.zeros_like(t) if g is None else g).reshape(-1)
                    for g, t in zip(grads, tensors, strict=True)
                ]
            )
            if create_graph and any(_graphless(g) for g in grads):
                graphless.append(True)
        if not scalar:
            leaves = {**leaves, "grad_output": v}
        return leaves, flat

    graphless: list[bool] = []

    def fun(x: Arrays) -> NDArray[np.float64]:
        return _to_numpy(first(x, False)[1])

    def jac(x: Arrays) -> Arrays:
        leaves, flat = first(x, True)
        return _vjp_jacobian(flat, leaves)

    result = check_jacobian(
        fun,
        described(jac, f"the double backward of {label}"),
        x0,
        rtol=rtol,
        atol=atol,
        method=method,
        step=step,
        seed=seed,
        name=f"{label} (gradient of the gradient)",
    )
    if graphless and result.verdict == "fail":
        result = with_notes(
            result,
            "the first backward returned a nonzero gradient without a graph (no grad_fn): a "
            "backward marked @once_differentiable, or computed outside autograd (.detach(), "
            "NumPy), cannot be differentiated again, so its analytic second derivative is zero",
        )
    return result


def numpy_loss(fn: Callable[..., Any], wrt: str | Sequence[str]) -> Callable[..., Any]:
    """A PyTorch loss as the NumPy ``(loss, gradient)`` function ``@gradcheck`` expects.

    The wrapper takes NumPy arrays (as hypothesis strategies draw them), hands ``fn``
    float64 tensors (integer arrays become integer tensors, other arguments pass as they
    are), and returns ``(float(loss), gradient)`` with the gradient of the ``wrt``
    arguments from ``torch.autograd.grad``: the backward rules under test are whatever
    ``fn`` calls (a custom ``autograd.Function``, say).

    Parameters
    ----------
    fn : callable
        ``fn(...)`` returns a scalar tensor; one that does not depend on the ``wrt``
        arguments (no graph, e.g. an early ``return torch.zeros(())``) has a zero gradient.
    wrt : str or sequence of str
        The argument (or arguments) to differentiate; with several, the gradient is a tuple
        in that order, as ``@gradcheck(wrt=(...))`` expects.

    Returns
    -------
    callable
        ``loss(*args, **kwargs) -> (float, ndarray or tuple of ndarrays)``, with ``fn``'s
        signature.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> import gradtest
    >>> import gradtest.strategies as gs
    >>> from gradtest.torch import numpy_loss
    >>> def softplus_sum(w):
    ...     return torch.nn.functional.softplus(w).sum()
    >>> loss = numpy_loss(softplus_sum, wrt="w")
    >>> value, grad = loss(np.zeros(2))
    >>> round(value, 4), grad.tolist()
    (1.3863, [0.5, 0.5])
    >>> import hypothesis
    >>> @gradtest.gradcheck(
    ...     wrt="w", w=gs.weights(3), max_examples=5, settings=hypothesis.settings(deadline=None)
    ... )
    ... def check_softplus(w):
    ...     return loss(w)
    >>> gradtest.run_gradcheck(check_softplus).verdict
    'pass'
    """
    if not callable(fn):
        raise InvalidArgumentError(
            f"fn must be callable (a loss of tensors), got {type(fn).__name__} {fn!r:.60}"
        )
    names = (wrt,) if isinstance(wrt, str) else tuple(wrt)
    sig = inspect.signature(fn)
    missing = [n for n in names if n not in sig.parameters]
    if not names or missing:
        raise InvalidArgumentError(
            f"wrt must name arguments of {_name_of(fn)}{sig}, got {wrt!r}"
            + (f" (no argument {missing[0]!r})" if missing else "")
        )

    def loss(*args: Any, **kwargs: Any) -> tuple[float, Any]:
        bound = sig.bind(*args, **kwargs)
        for n in names:
            given = bound.arguments.get(n)
            if not isinstance(given, np.ndarray) or given.dtype.kind != "f":
                got = (
                    f"an {given.dtype} array: pass {n}.astype(np.float64)"
                    if isinstance(given, np.ndarray)
                    else type(given).__name__
                )
                raise InvalidArgumentError(
                    f"{n} (a wrt argument of {_name_of(fn)}) must be a floating-point NumPy "
                    f"array, got {got}"
                )
        for key, value in bound.arguments.items():
            if isinstance(value, np.ndarray):
                if value.dtype.kind == "f":
                    tensor = torch.from_numpy(np.array(value, dtype=np.float64))
                    bound.arguments[key] = tensor.requires_grad_(key in names)
                else:
                    bound.arguments[key] = torch.from_numpy(np.array(value))
        leaves = [bound.arguments[n] for n in names]
        out = fn(*bound.args, **bound.kwargs)
        if not isinstance(out, torch.Tensor) or out.numel() != 1:
            raise InvalidArgumentError(
                f"{_name_of(fn)} must return a scalar tensor, got "
                + (
                    f"a tensor of shape {tuple(out.shape)}"
                    if isinstance(out, torch.Tensor)
                    else type(out).__name__
                )
            )
        grads: Sequence[torch.Tensor | None] = [None] * len(leaves)  # no graph: zero
        if out.requires_grad:
            grads = torch.autograd.grad(out.reshape(()), leaves, allow_unused=True)
        arrays = [
            np.zeros(leaf.shape) if g is None else g.detach().numpy().astype(np.float64)
            for g, leaf in zip(grads, leaves, strict=True)
        ]
        return float(out.detach()), arrays[0] if len(arrays) == 1 else tuple(arrays)

    loss.__name__ = _name_of(fn)
    loss.__doc__ = fn.__doc__
    loss.__signature__ = sig  # type: ignore[attr-defined]
    return loss
