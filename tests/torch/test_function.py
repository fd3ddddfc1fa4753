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
    # the float64 path is right, but the float32 one the user runs returns 0 for 2
    assert result.verdict == "fail", str(result)
    assert not result.failing()  # every float64 entry passed
    assert "the float32 backward differs from the float64 one by 1.0e+00" in str(result)
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

    with pytest.raises(gradtest.FunctionEvaluationError, match="backward exploded") as e:
        check_function(Broken.apply, torch.ones(2, dtype=torch.float64), seed=0, name="broken")
    # the message says whose backward raised, not "jac (jac)"
    assert str(e.value).startswith("jac (the backward of broken) raised ValueError at x")


# ------------------------------------------- a backward that ignores its grad_output


class CubeSum(torch.autograd.Function):
    """``sum(x**3)``; ``CubeSum.forget_g = True`` returns ``3 x**2`` without ``g *``."""

    forget_g = False

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return (x**3).sum()

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return 3 * x**2 if CubeSum.forget_g else g * 3 * x**2


def make_cube(forget_g: bool, keep: str = "elementwise") -> Any:
    """``x**3`` elementwise (or its sum kept as shape (1,)); ``forget_g`` drops ``g *``."""

    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return (x**3).sum().reshape(1) if keep == "one" else x**3

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            (x,) = ctx.saved_tensors
            return 3 * x**2 if forget_g else g * 3 * x**2

    return Cube


@pytest.fixture
def _cube_sum_bug() -> Any:
    CubeSum.forget_g = True
    yield
    CubeSum.forget_g = False


def _scaling_notes(result: Any) -> list[str]:
    return [n for n in result.diagnosis.notes if "does not scale with the incoming" in n]


def test_backward_ignoring_grad_output_fails_for_a_scalar_output(_cube_sum_bug: Any) -> None:
    x = torch.randn(5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    result = check_function(CubeSum.apply, x, seed=0)
    assert result.verdict == "fail", str(result)
    (note,) = _scaling_notes(result)
    assert "ignores grad_output" in note
    # the headline says why the entries are off by 1 / 0.75
    assert str(result).splitlines()[0].split("; ")[1] == (
        "the backward does not scale with the incoming gradient"
    )


def _softmax(kind: str) -> Any:
    class Softmax(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return torch.softmax(x, -1)

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            (x,) = ctx.saved_tensors
            s = torch.softmax(x, -1)
            if kind == "ignore":
                g = torch.ones_like(g)
            out = s * (g - (g * s).sum(-1, keepdim=True))
            return -out if kind == "sign" else out

    return Softmax


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(
    ("kind", "summary"),
    [
        ("sign", "analytic = -1 × numeric over all Jacobian entries (sign flipped?)"),
        ("ignore", "analytic ≈ 0 where numeric is not, over all Jacobian entries"),
    ],
)
def test_a_softmax_backward_is_not_blamed_for_ignoring_its_gradient_by_round_off(
    kind: str, summary: str, dtype: torch.dtype
) -> None:
    """softmax pulls a cotangent of ones back to zero: seeded with ones, the linearity
    probe compared round-off with round-off and headlined "does not scale with the
    incoming gradient" over a plain sign flip; a float32 backward that returns about zero
    was failed for a gap of 5e8 relative to max|g| = 1e-16."""
    x = torch.randn(2, 3, dtype=dtype, generator=torch.Generator().manual_seed(1))
    result = check_function(_softmax(kind).apply, x, seed=0)
    assert result.verdict == "fail"
    assert result.diagnosis.summary.startswith(summary), result.diagnosis.summary
    assert check_function(_softmax("ok").apply, x, seed=0).verdict == "pass"


@pytest.mark.parametrize("keep", ["elementwise", "one"])
def test_backward_ignoring_grad_output_fails_for_a_tensor_output(keep: str) -> None:
    x = torch.randn(4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    result = check_function(make_cube(True, keep).apply, x, seed=0)
    assert result.verdict == "fail", str(result)
    assert result.kind == "jacobian"
    assert _scaling_notes(result)
    good = check_function(make_cube(False, keep).apply, x, seed=0)
    assert good.verdict == "pass", str(good)
    assert not _scaling_notes(good)


def test_correct_backward_costs_no_more_evaluations_than_a_plain_function() -> None:
    x = torch.randn(5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    custom = check_function(CubeSum.apply, x, seed=0)
    plain = check_function(lambda x: (x**3).sum(), x, seed=0)
    assert custom.passed and plain.passed
    assert custom.n_evals == plain.n_evals
    np.testing.assert_allclose([e.analytic for e in custom.entries], 3 * x.numpy() ** 2)


def test_jvp_ignoring_its_tangent_fails_in_forward_mode() -> None:
    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_forward(x)
            return x**3

        @staticmethod
        def jvp(ctx: Any, t: Any) -> Any:
            (x,) = ctx.saved_tensors
            return 3 * x**2  # forgot "t *"

    x = torch.tensor([0.7], dtype=torch.float64)  # one entry: a tangent of 1 hides it
    result = check_function(Cube.apply, x, mode="forward", seed=0)
    assert result.verdict == "fail", str(result)


# ------------------------------------------------- the user's precision decides too


class NaiveLogSumExp(torch.autograd.Function):
    """``log(sum(exp(x)))`` without subtracting the max: overflows in float32 above 88."""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        e = torch.exp(x)
        s = e.sum()
        ctx.save_for_backward(e, s)
        return torch.log(s)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        e, s = ctx.saved_tensors
        return g * e / s


class StableLogSumExp(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        m = x.max(-1, keepdim=True).values
        y = m + torch.log(torch.exp(x - m).sum(-1, keepdim=True))
        ctx.save_for_backward(x, y)
        return y.squeeze(-1)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        return g.unsqueeze(-1) * torch.exp(x - y)


class SignFlipInFloat32(torch.autograd.Function):
    """Right in float64; its float32 path (a "fused kernel", say) flips the sign."""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return (x**3).sum()

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        gx = g * 3 * x**2
        return -gx if x.dtype == torch.float32 else gx


def test_float32_backward_that_overflows_fails() -> None:
    x = torch.tensor([100.0, 90.0, 50.0], requires_grad=True)
    result = check_function(NaiveLogSumExp.apply, x, seed=0)
    assert result.verdict == "fail", str(result)
    assert "the float32 backward is not finite (x) where the float64 one is" in str(result)


def test_float32_backward_with_a_dtype_dependent_sign_fails() -> None:
    x = torch.randn(5, generator=torch.Generator().manual_seed(0))
    result = check_function(SignFlipInFloat32.apply, x, seed=0)
    assert result.verdict == "fail", str(result)
    assert not result.failing()  # the float64 path is right
    assert "the float32 backward differs from the float64 one by 2.0e+00" in str(result)
    x64 = x.to(torch.float64)
    assert check_function(SignFlipInFloat32.apply, x64, seed=0).passed


def _log_softmax(x: Any) -> Any:
    return x - StableLogSumExp.apply(x).unsqueeze(-1)


FLOAT32_CASES = {
    "softmax": lambda seed: (make_softmax().apply, 5 * torch.randn(4, 6)),
    "layer_norm": lambda seed: (
        make_layer_norm().apply,
        *inputs("layer_norm", seed, torch.float32),
    ),
    "attention": lambda seed: (make_attention().apply, *inputs("attention", seed, torch.float32)),
    "logsumexp_big": lambda seed: (StableLogSumExp.apply, 100 * torch.randn(3, 20)),
    "log_softmax": lambda seed: (_log_softmax, 10 * torch.randn(3, 7)),
    "naive_logsumexp_small": lambda seed: (NaiveLogSumExp.apply, torch.randn(30)),
    "torch_log_softmax_loss": lambda seed: (
        lambda z: torch.log_softmax(z, -1)[:, 0].sum(),
        30 * torch.randn(5, 9),
    ),
}


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("case", sorted(FLOAT32_CASES))
def test_correct_float32_functions_pass(case: str, seed: int) -> None:
    torch.manual_seed(seed)
    fn, *args = FLOAT32_CASES[case](seed)
    assert all(a.dtype == torch.float32 for a in args)
    result = check_function(fn, *args, seed=seed)
    assert result.verdict == "pass", str(result)
    (note,) = [n for n in result.diagnosis.notes if n.startswith("precision")]
    assert "consistent with round-off" in note


def test_a_saturated_float32_softmax_passes_below_float32_resolution() -> None:
    """The float64 derivative is about 4e-08 where the outputs are about 1 and the inputs
    about 5: float32 resolves derivatives down to about eps * 1 / 5 = 2e-08 only, and a
    correct float32 backward was failed for being "2.6e-01 relative to max|g| = 3.94e-08"
    away from the float64 one."""
    z = 5 * torch.randn(4, 3, generator=torch.Generator().manual_seed(4))

    def attention_weights(z: Any) -> Any:
        return torch.softmax(z @ z.T, -1).sum(0)

    result = check_function(attention_weights, z, seed=0)
    assert result.verdict == "pass", str(result)
    (note,) = [n for n in result.diagnosis.notes if n.startswith("precision")]
    assert "below what float32 resolves" in note
    assert check_function(_softmax("sign").apply, z @ z.T, seed=0).verdict == "fail"


# ------------------------------------------------------- the user's tensors stay put


def test_unchecked_inputs_are_copies_for_fn() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(6, 3, dtype=torch.float64, requires_grad=True, generator=gen)
    w = torch.randn(6, 3, dtype=torch.float64, generator=gen)
    rm, rv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    rm32, rv32 = torch.zeros(3), torch.ones(3)
    before = [t.clone() for t in (rm, rv, rm32, rv32, w)]

    def bn(x: Any, rm: Any, rv: Any) -> Any:
        return (torch.nn.functional.batch_norm(x, rm, rv, training=True) * w).sum()

    assert check_function(bn, x, rm, rv, seed=0).passed
    assert check_function(bn, x, rm32, rv32, seed=0).passed
    for t, b in zip((rm, rv, rm32, rv32, w), before, strict=True):
        assert torch.equal(t, b)


def test_inputs_are_untouched_when_fn_writes_to_them_and_raises_half_way() -> None:
    x = torch.tensor([0.5, 1.5], dtype=torch.float64)
    index = torch.tensor([0, 1])
    pair = [torch.ones(2, dtype=torch.float64), torch.zeros(2)]
    calls: list[int] = []

    def scribble(x: Any, index: Any, pair: Any) -> Any:
        calls.append(1)
        index.add_(0)
        pair[0].mul_(3.0)
        pair[1].add_(1.0)
        if len(calls) > 5:
            raise RuntimeError("gave up half-way")
        return (x[index] ** 2 * pair[0][0]).sum()

    saved = [x.clone(), index.clone(), pair[0].clone(), pair[1].clone()]
    with pytest.raises(gradtest.FunctionEvaluationError, match="gave up half-way"):
        check_function(scribble, x, index, pair, wrt=0, seed=0)
    for t, b in zip((x, index, *pair), saved, strict=True):
        assert torch.equal(t, b) and t.dtype == b.dtype


# ------------------------------------------------ errors of gradtest's own kinds


def test_fn_failing_on_its_first_call_is_a_function_evaluation_error() -> None:
    def broken(x: Any) -> Any:
        return x.foo()

    x = torch.randn(3, dtype=torch.float64)
    with pytest.raises(gradtest.FunctionEvaluationError, match="broken raised AttributeError") as e:
        check_function(broken, x, seed=0)
    assert isinstance(e.value.__cause__, AttributeError)
    assert "first call" in str(e.value)


def test_float32_weights_in_a_closure_get_an_explanation() -> None:
    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 1)
    with pytest.raises(gradtest.FunctionEvaluationError) as e:
        check_function(lambda x: lin(x).sum(), torch.randn(4, 3), seed=0)
    message = str(e.value)
    assert "float64 copies of the checked inputs" in message
    assert "closure" in message and "check_module" in message
    assert isinstance(e.value.__cause__, RuntimeError)
    w, b = lin.weight.detach(), lin.bias.detach()  # as arguments, they are converted too
    passed = check_function(
        lambda x, w, b: torch.nn.functional.linear(x, w, b).sum(), torch.randn(4, 3), w, b, seed=0
    )
    assert passed.passed, str(passed)


def test_wrt_accepts_an_int() -> None:
    x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    y = torch.tensor([0.5, -1.5], dtype=torch.float64)
    one = check_function(lambda x, y: (x * y**3).sum(), x, y, wrt=1, seed=0)
    assert one.passed and one.wrt == ("y",)
    with pytest.raises(gradtest.InvalidArgumentError, match=r"wrt must be .*got str 'y'"):
        check_function(lambda x, y: (x * y).sum(), x, y, wrt="y")
    with pytest.raises(gradtest.InvalidArgumentError, match=r"range\(2\), got 2"):
        check_function(lambda x, y: (x * y).sum(), x, y, wrt=2)


def test_meta_tensors_are_rejected_by_name() -> None:
    x = torch.randn(3, dtype=torch.float64, device="meta")
    with pytest.raises(gradtest.InvalidArgumentError, match=r"x is a tensor on device 'meta'"):
        check_function(lambda x: (x**2).sum(), x, seed=0)
    ok = torch.ones(3, dtype=torch.float64)
    with pytest.raises(gradtest.InvalidArgumentError, match=r"scale is .*'meta'"):
        check_function(lambda x, scale: (x * scale).sum(), ok, x, wrt=0, seed=0)
