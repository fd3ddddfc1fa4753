"""gradtest.torch.check_function on custom autograd.Functions: correct rules pass, bugs fail."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import gradtest  # noqa: E402
from gradtest.torch import check_function  # noqa: E402

BUGS = ("sign", "factor", "transposed", "missing_term")


def make_softmax(bug: str | None = None) -> Any:
    """Row-wise softmax; ``bug`` seeds one mistake into the backward."""

    class Softmax(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            y = torch.softmax(x, dim=-1)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            (y,) = ctx.saved_tensors
            inner = (g * y).sum(-1, keepdim=True)
            if bug == "missing_term":
                return y * g
            if bug == "transposed":
                return (y * (g - inner)).T
            dx = y * (g - inner)
            return {"sign": -dx, "factor": 2 * dx}.get(bug or "", dx)

    return Softmax


def make_layer_norm(bug: str | None = None) -> Any:
    """Layer norm over the last axis, with a scale ``gamma``."""

    class LayerNorm(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, gamma: Any) -> Any:
            mu = x.mean(-1, keepdim=True)
            sigma = torch.sqrt(((x - mu) ** 2).mean(-1, keepdim=True) + 1e-5)
            xhat = (x - mu) / sigma
            ctx.save_for_backward(xhat, sigma, gamma)
            return xhat * gamma

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            xhat, sigma, gamma = ctx.saved_tensors
            gx = g * gamma
            dgamma = (g * xhat).sum(0)
            if bug == "missing_term":
                dx = (gx - gx.mean(-1, keepdim=True)) / sigma
            else:
                dx = (
                    gx - gx.mean(-1, keepdim=True) - xhat * (gx * xhat).mean(-1, keepdim=True)
                ) / sigma
            if bug == "sign":
                dx = -dx
            if bug == "factor":
                dgamma = 2 * dgamma
            if bug == "transposed":
                dx = dx.T.reshape(dx.shape)
            return dx, dgamma

    return LayerNorm


def make_attention(bug: str | None = None) -> Any:
    """Single-head attention ``softmax(q kᵀ / sqrt(d)) v``."""

    class Attention(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, q: Any, k: Any, v: Any) -> Any:
            scale = 1 / math.sqrt(q.shape[-1])
            p = torch.softmax(q @ k.T * scale, dim=-1)
            ctx.save_for_backward(q, k, v, p)
            ctx.scale = scale
            return p @ v

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            q, k, v, p = ctx.saved_tensors
            scale = ctx.scale
            dv = p @ g if bug == "transposed" else p.T @ g
            dp = g @ v.T
            if bug == "missing_term":
                ds = p * dp
            else:
                ds = p * (dp - (dp * p).sum(-1, keepdim=True))
            dq = ds @ k * scale
            dk = ds.T @ q * scale
            if bug == "sign":
                dk = -dk
            if bug == "factor":
                dq = dq * 2
            return dq, dk, dv

    return Attention


def inputs(kind: str, seed: int = 0, dtype: Any = torch.float64) -> tuple[Any, ...]:
    gen = torch.Generator().manual_seed(seed)
    if kind == "softmax":
        return (torch.randn(3, 3, generator=gen, dtype=dtype),)
    if kind == "layer_norm":
        x = torch.randn(3, 3, generator=gen, dtype=dtype)
        return x, 1 + 0.5 * torch.randn(3, generator=gen, dtype=dtype)
    return tuple(torch.randn(3, 2, generator=gen, dtype=dtype) for _ in range(3))


MAKERS = {"softmax": make_softmax, "layer_norm": make_layer_norm, "attention": make_attention}


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_correct_custom_function_passes(kind: str) -> None:
    fn = MAKERS[kind]().apply
    result = check_function(fn, *inputs(kind), seed=1)
    assert result.verdict == "pass", str(result)
    assert result.kind == "jacobian"
    assert isinstance(result, gradtest.GradCheckResult)
    assert result.max_rel_error < 1e-6


@pytest.mark.parametrize("bug", BUGS)
@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_seeded_bug_fails(kind: str, bug: str) -> None:
    fn = MAKERS[kind](bug).apply
    result = check_function(fn, *inputs(kind), seed=1)
    assert result.verdict == "fail", str(result)
    assert result.failing()
    assert result.worst is not None and result.worst.outcome == "fail"


def test_names_come_from_forward_signature() -> None:
    result = check_function(make_attention().apply, *inputs("attention"), seed=0)
    assert result.wrt == ("q", "k", "v")
    assert result.entries[0].array == "q"
    assert result.entries[0].label.startswith("q · v0")
    assert result.name == "Attention.apply"


def test_the_report_points_at_the_wrong_input() -> None:
    result = check_function(make_attention("sign").apply, *inputs("attention"), seed=0)
    assert {e.array for e in result.failing()} == {"k"}
    report = str(result)
    assert report.startswith("FAIL Attention.apply wrt q, k, v")
    assert "d k[" in report


def test_scalar_output_uses_check_grad() -> None:
    def loss(x: Any, w: Any) -> Any:
        return (torch.tanh(x @ w) ** 2).sum()

    x = torch.randn(4, 3, dtype=torch.float64)
    w = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    result = check_function(loss, x, w, seed=0)
    assert result.passed, str(result)
    assert result.kind == "gradient"
    assert result.wrt == ("w",)  # only w requires grad
    assert result.entries[0].label == "w[0, 0]"


def test_wrt_selects_inputs_and_non_tensor_arguments_pass_through() -> None:
    def scaled(x: Any, y: Any, power: int) -> Any:
        return (x * y**power).sum()

    x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    y = torch.tensor([0.5, -1.5], dtype=torch.float64)
    result = check_function(scaled, x, y, 3, wrt=[1], seed=0)
    assert result.passed, str(result)
    assert result.wrt == ("y",)
    analytic = [e.analytic for e in result.entries]
    np.testing.assert_allclose(analytic, (3 * x * y**2).numpy())


def test_tuple_output_is_concatenated() -> None:
    def two(x: Any) -> Any:
        return torch.sin(x), x.sum(0, keepdim=True) * 2

    x = torch.randn(2, 2, dtype=torch.float64)
    result = check_function(two, x, seed=0)
    assert result.passed, str(result)
    assert len(result.entries) == (4 + 2) * 4


def test_partial_passes_keyword_arguments() -> None:
    fn = functools.partial(torch.nn.functional.softmax, dim=0)
    result = check_function(fn, torch.randn(3, dtype=torch.float64), seed=0)
    assert result.passed, str(result)
    assert result.wrt == ("input",)  # the name in softmax's signature


def test_float32_inputs_run_in_float64_with_a_precision_note() -> None:
    args = inputs("layer_norm", dtype=torch.float32)
    result = check_function(make_layer_norm().apply, *args, seed=0)
    assert result.passed, str(result)
    assert result.dtype == "float64"
    (note,) = [n for n in result.diagnosis.notes if n.startswith("precision")]
    assert "float32" in note and "consistent with round-off" in note
    assert "precision" in str(result)


def test_float32_bug_only_in_low_precision_path_is_flagged() -> None:
    class Cancel(torch.autograd.Function):
        """Correct in float64; its float32 backward takes a catastrophic cancellation."""

        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return x * 2

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            (x,) = ctx.saved_tensors
            big = torch.full_like(x, 1e8)
            return g * ((big + 2) - big)  # exact in float64; 0 in float32 (ulp(1e8) = 8)

    x = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float32)
    result = check_function(Cancel.apply, x, seed=0)
    assert result.passed, str(result)  # the float64 path is right
    (note,) = [n for n in result.diagnosis.notes if n.startswith("precision")]
    assert "more than round-off explains" in note


def test_inputs_are_not_modified() -> None:
    x = torch.randn(3, 3, dtype=torch.float64, requires_grad=True)
    before = x.detach().clone()
    check_function(make_softmax("sign").apply, x, seed=0)
    assert torch.equal(x.detach(), before)
    assert x.grad is None


def test_result_serialises_like_a_core_result() -> None:
    result = check_function(make_softmax().apply, *inputs("softmax"), seed=3)
    data = result.to_dict()
    assert data["schema"] == 1 and data["verdict"] == "pass" and data["seed"] == 3


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: check_function(42, torch.ones(2)), "fn must be callable"),
        (lambda: check_function(torch.sin), "inputs is empty"),
        (lambda: check_function(torch.sin, torch.ones(2, dtype=torch.int64)), "no floating"),
        (lambda: check_function(torch.sin, torch.ones(2), wrt=[3]), r"range\(1\)"),
        (lambda: check_function(lambda x, n: x * n, torch.ones(2), 2, wrt=[1]), "int"),
        (lambda: check_function(torch.sin, torch.ones(2), mode="backward"), "mode must be"),
        (lambda: check_function(lambda x: 3.0, torch.ones(2)), "must return a tensor"),
        (lambda: check_function(lambda x: x * 1j, torch.ones(2)), "complex"),
    ],
)
def test_bad_arguments_name_the_argument(call: Any, match: str) -> None:
    with pytest.raises(gradtest.InvalidArgumentError, match=match):
        call()


def test_backward_raising_is_a_function_evaluation_error() -> None:
    class Broken(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            return x * 2

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            raise ValueError("backward exploded")

    with pytest.raises(gradtest.FunctionEvaluationError, match="backward exploded"):
        check_function(Broken.apply, torch.ones(2, dtype=torch.float64), seed=0)
