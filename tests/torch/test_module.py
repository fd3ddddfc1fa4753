"""gradtest.torch.check_module: gradients of a loss with respect to named parameters."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")

import gradtest  # noqa: E402
from gradtest.torch import check_module  # noqa: E402


class ScaledTanh(torch.autograd.Function):
    """``tanh(x) * 3``; ``ScaledTanh.bug = True`` drops the factor 3 from the backward."""

    bug = False

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        y = torch.tanh(x)
        ctx.save_for_backward(y)
        return 3 * y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (y,) = ctx.saved_tensors
        factor = 1 if ScaledTanh.bug else 3
        return g * factor * (1 - y**2)


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.hidden = torch.nn.Linear(3, 4)
        self.out = torch.nn.Linear(4, 2)

    def forward(self, x: Any) -> Any:
        return self.out(ScaledTanh.apply(self.hidden(x)))


def data(dtype: Any = torch.float32) -> tuple[Any, Any, Any]:
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = Net().to(dtype)
    x = torch.randn(6, 3, generator=gen, dtype=dtype)
    y = torch.randn(6, 2, generator=gen, dtype=dtype)
    return model, x, y


@pytest.fixture(autouse=True)
def _no_bug() -> Any:
    ScaledTanh.bug = False
    yield
    ScaledTanh.bug = False


def test_float32_model_passes_thanks_to_float64_numerics() -> None:
    model, x, y = data(torch.float32)
    result = check_module(model, torch.nn.MSELoss(), x, y, seed=0)
    assert result.verdict == "pass", str(result)
    assert result.wrt == ("hidden.weight", "hidden.bias", "out.weight", "out.bias")
    assert result.dtype == "float64"
    (note,) = [n for n in result.diagnosis.notes if n.startswith("precision")]
    assert "float32" in note and "consistent with round-off" in note


def test_float32_checked_in_float32_by_gradcheck_is_the_problem_we_avoid() -> None:
    """Contrast: torch's own gradcheck on the same float32 layer reports a mismatch."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, generator=gen, requires_grad=True)
    with pytest.warns(UserWarning, match="not a double precision"):
        ok = torch.autograd.gradcheck(ScaledTanh.apply, (x,), raise_exception=False)
    assert ok is False  # float32: torch's fixed eps=1e-6 drowns in round-off
    model, xb, yb = data(torch.float32)
    assert check_module(model, torch.nn.MSELoss(), xb, yb, seed=0).passed


def test_bug_in_a_custom_layer_fails_and_names_the_parameters() -> None:
    ScaledTanh.bug = True
    model, x, y = data()
    result = check_module(model, torch.nn.MSELoss(), x, y, seed=0)
    assert result.verdict == "fail", str(result)
    failing = {e.array for e in result.failing()}
    assert failing == {"hidden.weight", "hidden.bias"}  # out.* sits after the layer
    assert result.worst is not None and result.worst.label.startswith("hidden.")


def test_params_selects_a_subset() -> None:
    ScaledTanh.bug = True
    model, x, y = data()
    result = check_module(model, torch.nn.MSELoss(), x, y, params=["out.bias"], seed=0)
    assert result.passed, str(result)  # the bug sits below out.bias
    assert result.wrt == ("out.bias",)
    assert [e.label for e in result.entries] == ["out.bias[0]", "out.bias[1]"]


def test_sequential_names_and_loss_fn_none() -> None:
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 1))
    x = torch.randn(4, 2, dtype=torch.float32)

    class WithLoss(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = model

        def forward(self, x: Any) -> Any:
            return (self.net(x) ** 2).mean()

    result = check_module(WithLoss(), None, x, seed=0)
    assert result.passed, str(result)
    assert result.wrt[0] == "net.0.weight"


def test_module_and_data_are_untouched() -> None:
    model, x, y = data()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    check_module(model, torch.nn.MSELoss(), x, y, seed=0)
    for n, p in model.named_parameters():
        assert torch.equal(p.detach(), before[n]), n
        assert p.grad is None
        assert p.dtype == torch.float32
    assert x.dtype == torch.float32


def test_dropout_in_training_mode_is_reported_as_nondeterminism() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 1))
    x, y = torch.randn(5, 3), torch.randn(5, 1)
    with pytest.raises(gradtest.NondeterminismError, match="not deterministic"):
        check_module(model, torch.nn.MSELoss(), x, y, seed=0)
    assert check_module(model.eval(), torch.nn.MSELoss(), x, y, seed=0).passed


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"module": "model"}, "module must be a torch.nn.Module"),
        ({"loss_fn": 3}, "loss_fn must be callable"),
        ({"params": ["hidden.weights"]}, r"does not have.*hidden\.weight"),
        ({"params": "out.bias"}, r"params=\['out.bias'\]"),
        ({"params": []}, "no parameter to check"),
        ({"loss_fn": lambda out, y: out - y}, "must be a scalar tensor"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    model, x, y = data()
    call = {"module": model, "loss_fn": torch.nn.MSELoss(), **kwargs}
    module, loss_fn = call.pop("module"), call.pop("loss_fn")
    with pytest.raises(gradtest.InvalidArgumentError, match=match):
        check_module(module, loss_fn, x, y, seed=0, **call)


class Centring(torch.nn.Module):
    """Centres its batch in place before a linear layer (a forward that writes to x)."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(3, 1)

    def forward(self, x: Any) -> Any:
        x.sub_(x.mean(0))
        return self.lin(x)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_forward_writing_to_the_batch_leaves_it_untouched(dtype: Any) -> None:
    torch.manual_seed(0)
    model = Centring().to(dtype)
    x = torch.randn(5, 3, dtype=dtype) + torch.arange(3, dtype=dtype)
    y = torch.randn(5, 1, dtype=dtype)
    saved = x.clone(), y.clone()
    result = check_module(model, torch.nn.MSELoss(), x, y, seed=0)
    assert result.passed, str(result)
    assert torch.equal(x, saved[0]) and torch.equal(y, saved[1])


class ForgetfulMSE(torch.autograd.Function):
    """A custom loss whose backward forgets to multiply by its grad_output."""

    @staticmethod
    def forward(ctx: Any, out: Any, y: Any) -> Any:
        ctx.save_for_backward(out, y)
        return ((out - y) ** 2).mean()

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        out, y = ctx.saved_tensors
        return 2 * (out - y) / out.numel(), None


def test_a_loss_whose_backward_ignores_grad_output_fails() -> None:
    model, x, y = data(torch.float64)
    result = check_module(model, ForgetfulMSE.apply, x, y, seed=0)
    assert result.verdict == "fail", str(result)
    assert any("ignores grad_output" in n for n in result.diagnosis.notes)


def test_float32_model_with_a_sign_flipped_float32_backward_fails() -> None:
    class Flip(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            return x * 1.0

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return -g if g.dtype == torch.float32 else g

    class Net32(Net):
        def forward(self, x: Any) -> Any:
            return Flip.apply(super().forward(x))

    _, x, y = data(torch.float32)
    torch.manual_seed(0)
    result = check_module(Net32(), torch.nn.MSELoss(), x, y, seed=0)
    assert result.verdict == "fail", str(result)
    assert "the float32 backward differs from the float64 one" in str(result)


@pytest.mark.parametrize("seed", range(3))
def test_float32_tanh_mlps_pass(seed: int) -> None:
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 3),
    )
    x, labels = 3 * torch.randn(32, 4), torch.randint(0, 3, (32,))
    result = check_module(model, torch.nn.CrossEntropyLoss(), x, labels, seed=seed)
    assert result.verdict == "pass", str(result)


def test_a_meta_parameter_is_rejected_by_name() -> None:
    model = torch.nn.Linear(3, 1, device="meta")
    with pytest.raises(gradtest.InvalidArgumentError, match=r"parameter 'weight' of Linear.*meta"):
        check_module(model, torch.nn.MSELoss(), torch.randn(4, 3), torch.randn(4, 1), seed=0)


def test_a_backward_that_raises_is_named_as_the_backward_of_the_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(ctx: Any, g: Any) -> Any:
        raise RuntimeError("backward exploded")

    monkeypatch.setattr(ScaledTanh, "backward", staticmethod(explode))
    model, x, y = data(torch.float64)
    with pytest.raises(gradtest.FunctionEvaluationError) as e:
        check_module(model, torch.nn.MSELoss(), x, y, seed=0)
    assert str(e.value).startswith(
        "grad (the backward of Net) raised RuntimeError at x: backward exploded"
    )


def test_a_batch_of_another_dtype_than_the_model_is_a_function_evaluation_error() -> None:
    """A float32 model with float64 data passed the float64 check, then a bare torch
    RuntimeError ("mat1 and mat2 must have the same dtype") escaped from the comparison
    at the model's own precision."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    X, y = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 1, dtype=torch.float64)
    with pytest.raises(gradtest.FunctionEvaluationError) as e:
        check_module(model, torch.nn.MSELoss(), X, y, seed=0)
    message = str(e.value)
    assert message.startswith("Linear (or its backward) raised RuntimeError at the model's own")
    assert "float32 parameters, the batch as given" in message
    assert "batch[0] (float64)" in message and "batch[1] (float64)" in message
    assert isinstance(e.value.__cause__, RuntimeError)
    assert check_module(model, torch.nn.MSELoss(), X.float(), y.float(), seed=0).passed


def test_loss_fn_none_with_a_tensor_output_says_what_to_return() -> None:
    """The message said "reduce it (mean or sum) in loss_fn" to a user who passed none."""
    model = torch.nn.Linear(3, 2)
    with pytest.raises(
        gradtest.InvalidArgumentError,
        match=r"with loss_fn=None, Linear\(\*batch\) must return the scalar loss, got a tensor "
        r"of shape \(4, 2\): pass a loss_fn \(torch.nn.MSELoss\(\), say\)",
    ):
        check_module(model, None, torch.randn(4, 3), seed=0)
    with pytest.raises(
        gradtest.InvalidArgumentError,
        match=r"the loss of Linear must be a scalar tensor, got a tensor of shape \(4, 2\): "
        r"reduce it \(mean or sum\) in loss_fn",
    ):
        check_module(model, lambda out, y: out - y, torch.randn(4, 3), torch.randn(4, 2), seed=0)
