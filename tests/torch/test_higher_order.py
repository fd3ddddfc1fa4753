"""Forward mode (custom jvp rules) and second order (gradient of the gradient)."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")

import gradtest  # noqa: E402
from gradtest.torch import check_function, check_gradgrad  # noqa: E402


def make_exp_sin(jvp_bug: bool = False) -> Any:
    """``exp(x) * sin(y)`` with a backward and a forward-mode ``jvp`` rule."""

    class ExpSin(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, y: Any) -> Any:
            ctx.save_for_backward(x, y)
            ctx.save_for_forward(x, y)
            return torch.exp(x) * torch.sin(y)

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            x, y = ctx.saved_tensors
            return g * torch.exp(x) * torch.sin(y), g * torch.exp(x) * torch.cos(y)

        @staticmethod
        def jvp(ctx: Any, tx: Any, ty: Any) -> Any:
            x, y = ctx.saved_tensors
            dy = torch.exp(x) * torch.cos(y) * ty
            if jvp_bug:
                dy = -dy
            return torch.exp(x) * torch.sin(y) * tx + dy

    return ExpSin


def args() -> tuple[Any, Any]:
    gen = torch.Generator().manual_seed(0)
    return (
        torch.randn(2, 3, generator=gen, dtype=torch.float64),
        torch.randn(2, 3, generator=gen, dtype=torch.float64),
    )


def test_correct_jvp_passes() -> None:
    result = check_function(make_exp_sin().apply, *args(), mode="forward", seed=0)
    assert result.verdict == "pass", str(result)
    assert result.wrt == ("x", "y")


def test_wrong_jvp_fails_while_the_backward_passes() -> None:
    fn = make_exp_sin(jvp_bug=True).apply
    forward = check_function(fn, *args(), mode="forward", seed=0)
    assert forward.verdict == "fail", str(forward)
    assert {e.array for e in forward.failing()} == {"y"}
    reverse = check_function(fn, *args(), mode="reverse", seed=0)
    assert reverse.verdict == "pass", str(reverse)


def test_forward_mode_without_jvp_is_a_clear_error() -> None:
    class NoJvp(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            return x * 2

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return g * 2

    with pytest.raises(gradtest.InvalidArgumentError, match="define a jvp"):
        check_function(NoJvp.apply, torch.ones(2, dtype=torch.float64), mode="forward", seed=0)


def test_forward_mode_on_plain_torch_operations() -> None:
    x = torch.tensor([0.3, 1.2], dtype=torch.float64)
    result = check_function(lambda x: torch.tanh(x).prod(), x, mode="forward", seed=0)
    assert result.passed, str(result)
    assert result.kind == "gradient"


def make_cube(second_order_bug: bool = False) -> Any:
    """``x**3`` whose backward calls ``Square3``, a Function for ``3 x**2``.

    The first derivative is right either way; with the bug, the backward of ``Square3``
    returns ``3 x`` instead of ``6 x``, so only the second derivative is wrong.
    """

    class Square3(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return 3 * x**2

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            (x,) = ctx.saved_tensors
            return g * (3 if second_order_bug else 6) * x

    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            (x,) = ctx.saved_tensors
            return g * Square3.apply(x)

    return Cube


def test_gradgrad_passes_for_a_correct_double_backward() -> None:
    x = torch.tensor([0.5, -1.5, 2.0], dtype=torch.float64)
    result = check_gradgrad(make_cube().apply, x, seed=0)
    assert result.verdict == "pass", str(result)
    assert result.wrt == ("x", "grad_output")  # tensor output: v is checked as well
    assert "gradient of the gradient" in result.name


def test_gradgrad_catches_a_second_order_bug_the_first_order_check_misses() -> None:
    fn = make_cube(second_order_bug=True).apply
    x = torch.tensor([0.5, -1.5, 2.0], dtype=torch.float64)
    assert check_function(fn, x, seed=0).passed
    result = check_gradgrad(fn, x, seed=0)
    assert result.verdict == "fail", str(result)
    assert {e.array for e in result.failing()} == {"x"}


def test_gradgrad_of_a_scalar_loss_checks_the_hessian() -> None:
    w = torch.tensor([0.3, -0.7], dtype=torch.float64)
    result = check_gradgrad(lambda w: torch.exp(w[0] * w[1]) + w.pow(4).sum(), w, seed=0)
    assert result.passed, str(result)
    assert result.wrt == ("w",)  # v = 1 for a scalar output, nothing more to check
    assert len(result.entries) == 4


def test_gradgrad_with_given_grad_outputs() -> None:
    x = torch.tensor([0.5, -1.5], dtype=torch.float64)
    v = torch.tensor([1.0, 2.0], dtype=torch.float64)
    result = check_gradgrad(make_cube().apply, x, grad_outputs=v, seed=0)
    assert result.passed, str(result)
    with pytest.raises(gradtest.InvalidArgumentError, match="output's shape"):
        check_gradgrad(make_cube().apply, x, grad_outputs=torch.ones(3), seed=0)


def test_once_differentiable_backward_cannot_be_differentiated_twice() -> None:
    class Once(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return x**2

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx: Any, g: Any) -> Any:
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    result = check_gradgrad(Once.apply, x, seed=0)
    assert result.verdict == "fail"
    assert any("@once_differentiable" in n for n in result.diagnosis.notes)
    assert "@once_differentiable" in str(result)
