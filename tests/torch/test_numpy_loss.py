"""gradtest.torch.numpy_loss: PyTorch losses under @gradcheck (and so the plugin and CLI)."""

from __future__ import annotations

from typing import Any

import hypothesis
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import gradtest  # noqa: E402
import gradtest.strategies as gs  # noqa: E402
from gradtest.torch import numpy_loss  # noqa: E402


class Softmax(torch.autograd.Function):
    """Row softmax with a hand-written backward; ``bug`` seeds a wrong rule."""

    bug = ""

    @staticmethod
    def forward(ctx: Any, z: Any) -> Any:
        p = torch.softmax(z, dim=1)
        ctx.save_for_backward(p)
        return p

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (p,) = ctx.saved_tensors
        dot = (g * p).sum(dim=1, keepdim=True)
        if Softmax.bug == "missing-term":
            return g * p
        return p * (g - dot)


def cross_entropy(W: Any, X: Any, y: Any, reg: float) -> Any:
    p = Softmax.apply(X @ W)
    return -torch.log(p[torch.arange(X.shape[0]), y]).mean() + reg * (W * W).sum()


D, C, N = gs.dim("D"), gs.dim("C"), gs.dim("N")
INPUTS = {
    "W": gs.weights((D, C), scale=1.0),
    "X": gs.data((N, D)),
    "y": gs.labels(N, classes=C),
    "reg": gs.scalars(nonnegative=True),
}
loss = numpy_loss(cross_entropy, wrt="W")


@gradtest.gradcheck(wrt="W", max_examples=30, settings=hypothesis.settings(deadline=None), **INPUTS)
def check_cross_entropy(W: Any, X: Any, y: Any, reg: float) -> Any:
    return loss(W, X, y, reg)


def test_correct_rule_passes_under_the_decorator() -> None:
    Softmax.bug = ""
    outcome = gradtest.run_gradcheck(check_cross_entropy, seed=0)
    assert outcome.verdict == "pass", outcome.report


def test_wrong_rule_fails_with_a_shrunk_example() -> None:
    Softmax.bug = "missing-term"
    try:
        outcome = gradtest.run_gradcheck(check_cross_entropy, seed=0)
    finally:
        Softmax.bug = ""
    assert outcome.verdict == "fail"
    assert outcome.example is not None and outcome.example["W"].size <= 2  # shrunk
    assert "FAIL check_cross_entropy wrt W" in outcome.report


def test_value_and_gradient_match_torch() -> None:
    W = np.array([[0.1, -0.2], [0.3, 0.4]])
    X = np.array([[1.0, 2.0]])
    value, grad = loss(W, X, np.array([1]), 0.0)
    Wt = torch.tensor(W, requires_grad=True)
    ref = -torch.log_softmax(torch.tensor(X) @ Wt, dim=1)[0, 1]
    ref.backward()
    assert value == pytest.approx(float(ref.detach()))
    assert np.allclose(grad, Wt.grad.numpy())
    assert isinstance(grad, np.ndarray) and grad.dtype == np.float64


def test_several_wrt_names_give_a_tuple() -> None:
    two = numpy_loss(lambda a, b: (a * b).sum(), wrt=("a", "b"))
    _, (ga, gb) = two(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    assert ga.tolist() == [3.0, 4.0] and gb.tolist() == [1.0, 2.0]


def test_bad_wrt_and_outputs_are_named() -> None:
    with pytest.raises(gradtest.InvalidArgumentError, match="no argument 'V'"):
        numpy_loss(cross_entropy, wrt="V")
    vector = numpy_loss(lambda w: w * 2, wrt="w")
    with pytest.raises(
        gradtest.InvalidArgumentError, match=r"scalar tensor, got a tensor of shape \(2,\)"
    ):
        vector(np.ones(2))
    with pytest.raises(gradtest.InvalidArgumentError, match="must be a floating-point NumPy array"):
        numpy_loss(lambda w: w.sum(), wrt="w")(np.arange(3))


def test_an_integer_array_for_wrt_is_named_by_its_dtype() -> None:
    """The message said "got Tensor": the integer array had already been converted."""
    with pytest.raises(
        gradtest.InvalidArgumentError,
        match=r"w \(a wrt argument of <lambda>\) must be a floating-point NumPy array, got an "
        r"int64 array: pass w.astype\(np.float64\)",
    ):
        numpy_loss(lambda w: w.sum(), wrt="w")(np.arange(3))


def test_a_loss_that_does_not_depend_on_wrt_has_a_zero_gradient() -> None:
    """A loss without a graph (an early exit on an empty mask, say) raised torch's
    "element 0 of tensors does not require grad"; the gradient is zero, as check_function
    says of such an output."""

    def masked(w: Any, mask: Any) -> Any:
        if not mask.any():
            return torch.zeros((), dtype=torch.float64)  # nothing selected: no graph
        return (w[mask] ** 2).sum()

    loss = numpy_loss(masked, wrt="w")
    value, grad = loss(np.array([1.0, 2.0]), np.array([False, False]))
    assert value == 0.0 and grad.tolist() == [0.0, 0.0]
    value, grad = loss(np.array([1.0, 2.0]), np.array([False, True]))
    assert value == 4.0 and grad.tolist() == [0.0, 4.0]


def test_fn_that_is_not_callable_is_named() -> None:
    with pytest.raises(gradtest.InvalidArgumentError, match=r"fn must be callable.*got int 3"):
        numpy_loss(3, wrt="w")  # type: ignore[arg-type]
