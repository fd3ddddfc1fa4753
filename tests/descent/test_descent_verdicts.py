"""check_descent: verdicts, the slope factor, the learning-rate sweep and the report."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

import gradtest
from gradtest._descent import DescentResult, SlopeRecord, assert_descent, check_descent

W = np.array([3.0, -1.0, 0.5])


def quad(w: Any) -> float:
    """f(w) = ||w - 1||^2: gradient 2 (w - 1), the best learning rate is 1/2."""
    return float(np.sum((w - 1.0) ** 2))


def quad_grad(w: Any) -> Any:
    return 2 * (w - 1.0)


def relu_sum(x: Any) -> float:
    return float(np.sum(np.maximum(x, 0.0)))


def relu_sum_grad(x: Any) -> Any:
    """A one-sided derivative at 0 (the convention of most frameworks)."""
    return (x >= 0).astype(float)


# ------------------------------------------------------------------ a correct gradient


def test_correct_gradient_passes_with_the_predicted_slope() -> None:
    result = check_descent(quad, quad_grad, W, seed=0)
    assert result.verdict == "pass"
    assert result.passed
    assert [s.label for s in result.slopes] == ["−g", "random 1", "random 2"]
    down = result.slopes[0]
    g = quad_grad(W)
    assert down.predicted == pytest.approx(-float(g @ g), rel=1e-15)
    assert down.measured == pytest.approx(down.predicted, rel=1e-8)
    assert abs(down.measured - down.predicted) <= down.tolerance
    assert down.ratio == pytest.approx(1.0, rel=1e-8)
    for s in result.slopes:
        assert s.outcome == "pass"
        assert s.predicted < 0, "random directions are descent directions"
    assert result.gradient_norm == pytest.approx(float(np.linalg.norm(g)))
    assert result.loss == quad(W)


def test_sweep_finds_the_largest_decreasing_and_the_best_step() -> None:
    # along -g the loss is f(x) (1 - 2 lr)^2: it falls until lr = 1/2 and is back at f(x)
    # at lr = 1; over decades the best is 0.1 and the loss rises above f(x) at lr = 10
    result = check_descent(quad, quad_grad, W, seed=0)
    assert result.steps == tuple(10.0**k for k in range(-6, 2))
    expected = [quad(W) * (1 - 2 * lr) ** 2 for lr in result.steps]
    assert result.losses == pytest.approx(expected, rel=1e-12)
    assert result.largest_decreasing_step == 0.1
    assert result.best_step == 0.1
    assert result.best_loss == pytest.approx(quad(W) * 0.64)


def test_custom_steps_are_sorted_and_used() -> None:
    result = check_descent(quad, quad_grad, W, seed=0, steps=[0.4, 0.01, 0.3], directions=0)
    assert result.steps == (0.01, 0.3, 0.4)
    assert result.best_step == 0.4
    assert result.largest_decreasing_step == 0.4
    assert [s.label for s in result.slopes] == ["−g"]


def test_fun_returning_the_pair_and_dict_parameters() -> None:
    def loss(p: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        value = float(np.sum(p["W"] ** 2) + np.sum(np.sin(p["b"])))
        return value, {"W": 2 * p["W"], "b": np.cos(p["b"])}

    params = {"W": np.arange(6.0).reshape(2, 3) / 7, "b": np.array([0.1, -0.4])}
    result = check_descent(loss, True, params, seed=1)
    assert result.verdict == "pass"
    assert result.wrt == ("W", "b")


def test_tuple_parameters_with_args() -> None:
    X = np.arange(12.0).reshape(4, 3) / 10
    y = np.array([1.0, 0.0, -1.0, 2.0])

    def loss(p: tuple[Any, Any], X: Any, y: Any) -> float:
        w, b = p
        r = X @ w + b - y
        return float(r @ r / len(y))

    def grad(p: tuple[Any, Any], X: Any, y: Any) -> tuple[Any, Any]:
        w, b = p
        r = X @ w + b - y
        return 2 * X.T @ r / len(y), np.array(2 * r.sum() / len(y))

    result = check_descent(loss, grad, (np.ones(3), np.array(0.5)), args=(X, y), seed=0)
    assert result.verdict == "pass"


def test_float32_parameters_pass_with_a_note() -> None:
    w = np.array([0.3, -1.2, 2.0], dtype=np.float32)
    result = check_descent(lambda x: float(np.sum(x**3)), lambda x: 3 * x**2, w, seed=0)
    assert result.verdict == "pass"
    assert result.dtype == "float32"
    assert any("float32" in n for n in result.notes)


# ------------------------------------------------------------------ wrong gradients


def test_a_loss_computed_in_float32_is_judged_at_float32_precision() -> None:
    """float64 x, a float32 loss inside: its rounding looked like kinks at the float64
    steps (119 of 120 points inconclusive, one a false fail); like check_grad, the descent
    check reads the precision fun computes in and measures slopes at it."""

    def loss32(w: np.ndarray) -> float:
        return float(np.sum(np.tanh(w.astype(np.float32)) ** 2))

    def grad(w: np.ndarray) -> np.ndarray:
        return 2 * np.tanh(w) * (1 - np.tanh(w) ** 2)

    verdicts = [
        check_descent(loss32, grad, np.random.default_rng(s).standard_normal(5), seed=s).verdict
        for s in range(40)
    ]
    assert "fail" not in verdicts
    assert verdicts.count("pass") >= 25
    w = np.random.default_rng(0).standard_normal(5)
    result = check_descent(loss32, grad, w, seed=0)
    assert any("computed in about float32 precision" in n for n in result.notes)
    assert check_descent(loss32, lambda w: -grad(w), w, seed=0).verdict == "fail"
    assert check_descent(loss32, lambda w: 2 * grad(w), w, seed=0).verdict == "fail"


def test_flipped_sign_fails_as_uphill() -> None:
    result = check_descent(quad, lambda w: -quad_grad(w), W, seed=0)
    assert result.verdict == "fail"
    down = result.slopes[0]
    assert down.outcome == "fail"
    assert down.predicted < 0 < down.measured
    assert down.ratio == pytest.approx(-1.0, rel=1e-6)
    first = str(result).splitlines()[0]
    assert first.startswith("FAIL descent of quad: measured slope 3.3e+01 vs predicted -3.3e+01")
    assert "points uphill (sign flipped?)" in first
    # stepping against a flipped gradient raises the loss at every learning rate
    assert all(loss > result.loss for loss in result.losses)
    assert result.largest_decreasing_step is None
    assert result.best_step is None


def test_gradient_ten_times_too_large_predicts_a_wrong_slope() -> None:
    result = check_descent(quad, lambda w: 10 * quad_grad(w), W, seed=0, name="quad")
    assert result.verdict == "fail"
    assert all(s.outcome == "fail" for s in result.slopes)
    assert all(s.ratio == pytest.approx(10.0, rel=1e-6) for s in result.slopes)
    assert str(result).splitlines()[0] == (
        "FAIL descent of quad: measured slope -3.3e+02 vs predicted -3.3e+03 "
        "(gradient 10× too large?)"
    )
    # the loss still goes down for small steps: only the slope gives the bug away
    assert result.largest_decreasing_step is not None


def test_gradient_too_small_is_named() -> None:
    result = check_descent(quad, lambda w: 0.5 * quad_grad(w), W, seed=0)
    assert result.verdict == "fail"
    assert "gradient 2× too small?" in result.summary


def test_a_small_factor_is_caught_and_printed_with_enough_digits() -> None:
    # 0.1 % too large is far above the measured slope's error estimate (about 1e-10)
    result = check_descent(quad, lambda w: 1.001 * quad_grad(w), W, seed=0)
    assert result.verdict == "fail"
    assert result.summary == (
        "measured slope -3.30e+01 vs predicted -3.31e+01 (gradient 1.001× too large?)"
    )


def test_a_factor_within_a_thousandth_of_one_is_not_printed_as_one() -> None:
    # 1.00005 to four digits is "1": "gradient 1× too large?" named no bug at all
    result = check_descent(quad, lambda w: 1.00005 * quad_grad(w), W, seed=0)
    assert result.verdict == "fail"
    assert result.summary.endswith("(gradient 1.00005× too large?)")
    small = check_descent(quad, lambda w: quad_grad(w) / 1.00005, W, seed=0)
    assert small.summary.endswith("(gradient 1.00005× too small?)")


def test_a_missing_block_is_invisible_along_minus_g_but_caught_by_random_directions() -> None:
    # grad returns zeros for b: g = P g_true, so g_true . (-g) = -||g||^2 exactly as predicted
    def loss(p: dict[str, Any]) -> float:
        return float(np.sum(p["W"] ** 2) + np.sum((p["b"] - 1) ** 2))

    def grad(p: dict[str, Any]) -> dict[str, Any]:
        return {"W": 2 * p["W"], "b": np.zeros_like(p["b"])}

    params = {"W": np.array([[0.5, -1.0], [2.0, 0.3]]), "b": np.array([0.2, -0.7])}
    result = check_descent(loss, grad, params, seed=0)
    assert result.slopes[0].outcome == "pass"
    assert result.verdict == "fail"
    assert {s.outcome for s in result.slopes[1:]} == {"fail"}
    assert "along random 1 (right along −g but wrong across it" in result.summary
    assert check_descent(loss, grad, params, seed=0, directions=0).verdict == "pass"


def test_zero_gradient_where_the_loss_slopes_fails_along_random_directions() -> None:
    result = check_descent(quad, lambda w: np.zeros_like(w), W, seed=0)
    assert result.verdict == "fail"
    assert result.gradient_norm == 0
    assert result.losses == ()
    assert "along random 1" in result.summary
    assert "predicts a flat loss" in result.summary


def test_zero_gradient_at_a_minimum_is_inconclusive() -> None:
    result = check_descent(quad, quad_grad, np.ones(3), seed=0)
    assert result.verdict == "inconclusive"
    assert result.summary == "the gradient is zero at x: no descent direction to check"
    assert all(s.outcome != "fail" for s in result.slopes)


# ------------------------------------------------------------------ non-smooth losses


def test_kink_along_minus_g_is_inconclusive_not_a_false_alarm() -> None:
    x = np.array([0.0, 1.0, -1.0])  # relu at its kink in x[0]
    result = check_descent(relu_sum, relu_sum_grad, x, seed=0)
    assert result.verdict == "inconclusive"
    down = result.slopes[0]
    assert down.outcome == "kink"
    assert down.one_sided == pytest.approx((-2.0, -1.0), rel=1e-6)
    assert "kink" in result.summary
    assert "bracket the predicted -2" in result.summary
    assert not any(s.outcome == "fail" for s in result.slopes)


def test_flipped_gradient_at_a_kink_still_fails() -> None:
    x = np.array([0.0, 1.0, -1.0])
    result = check_descent(relu_sum, lambda x: -relu_sum_grad(x), x, seed=0)
    assert result.verdict == "fail"
    assert result.slopes[0].note.startswith("kink, but the predicted slope -2")


def test_hinge_loss_away_from_its_kinks_is_judged() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 5))
    y = rng.integers(0, 3, 32)
    rows = np.arange(32)

    def svm(W: Any) -> tuple[float, Any]:
        s = X @ W
        m = s - s[rows, y][:, None] + 1.0
        m[rows, y] = 0.0
        active = (m > 0).astype(float)
        active[rows, y] = -active.sum(axis=1)
        return float(np.maximum(m, 0).sum() / 32), X.T @ active / 32

    W0 = 0.01 * rng.standard_normal((5, 3))
    good = check_descent(svm, True, W0, seed=0)
    assert good.verdict in ("pass", "inconclusive")
    assert not any(s.outcome == "fail" for s in good.slopes)

    def svm_times_10(W: Any) -> tuple[float, Any]:
        value, grad = svm(W)
        return value, 10 * grad

    assert check_descent(svm_times_10, True, W0, seed=0).verdict == "fail"


def test_noisy_loss_is_inconclusive_and_flipped_noisy_loss_fails() -> None:
    def noisy(x: Any) -> float:
        return float(np.sum(x**2) + 1e-6 * np.sum(np.sin(1e9 * x)))

    w = np.array([0.3, -1.2, 2.0])
    result = check_descent(noisy, lambda x: 2 * x, w, seed=0)
    assert result.verdict == "inconclusive"
    assert result.slopes[0].outcome == "unreliable"
    assert "cannot be measured" in result.summary
    # uphill is visible through the noise
    assert check_descent(noisy, lambda x: -2 * x, w, seed=0).verdict == "fail"


# ------------------------------------------------------------------ sweep edge cases


def test_overflow_at_a_huge_step_is_recorded_not_raised() -> None:
    result = check_descent(
        lambda x: float(np.sum(x**4)), lambda x: 4 * x**3, W, seed=0, steps=[1e-3, 1e100]
    )
    assert result.verdict == "pass"
    assert math.isinf(result.losses[1])
    assert result.to_dict()["losses"][1] is None
    assert "×" in str(result)


def test_a_function_raising_at_a_large_step_gives_nan_and_a_note() -> None:
    def picky(x: Any) -> float:
        if np.max(np.abs(x)) > 100:
            raise ValueError("diverged")
        return quad(x)

    result = check_descent(picky, quad_grad, W, seed=0, steps=[1e-2, 1e3])
    assert result.verdict == "pass"
    assert math.isnan(result.losses[1])
    assert any("ValueError('diverged')" in n for n in result.notes)


def test_users_arrays_are_not_modified() -> None:
    w = W.copy()

    def writes(x: Any) -> float:
        value = quad(x)
        x += 1.0
        return value

    check_descent(writes, quad_grad, w, seed=0)
    assert np.array_equal(w, W)


# ------------------------------------------------------------------ result and report


def test_result_is_frozen_reproducible_and_counts_evaluations() -> None:
    a = check_descent(quad, quad_grad, W, seed=3)
    b = check_descent(quad, quad_grad, W, seed=3)
    assert a == b
    assert a.seed == 3
    assert a.n_evals == sum(a.evals_by_phase.values())
    assert set(a.evals_by_phase) == {"base", "noise", "slope", "sweep"}
    assert a.evals_by_phase["sweep"] == len(a.steps)
    with pytest.raises(AttributeError):
        a.verdict = "fail"  # type: ignore[misc]
    assert isinstance(a.slopes[0], SlopeRecord)
    assert check_descent(quad, quad_grad, W).seed >= 0


def test_to_dict_is_versioned_and_json_ready() -> None:
    result = check_descent(quad, lambda w: -quad_grad(w), W, seed=0)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["schema"] == 1
    assert data["kind"] == "descent"
    assert data["verdict"] == "fail"
    assert data["passed"] is False
    assert data["slopes"][0]["label"] == "−g"
    assert data["slopes"][0]["outcome"] == "fail"
    assert data["steps"] == list(result.steps)
    assert data["largest_decreasing_step"] is None


def test_report_reads_top_down() -> None:
    text = str(check_descent(quad, quad_grad, W, seed=0, name="quad"))
    lines = text.splitlines()
    assert lines[0].startswith("PASS descent of quad: slope along −g -3.3e+01 as predicted")
    assert "checked the slope along d = −g and 2 random descent directions" in lines[1]
    assert "seed=0" in lines[1]
    assert any(line.split()[:1] == ["−g"] and line.endswith("pass") for line in lines)
    assert any(line.strip().startswith("lr ") and "1e-06" in line for line in lines)
    shape = next(line for line in lines if line.strip().startswith("shape"))
    bars = shape.split()[1]
    # f(x) at ▅ for the tiny steps, the lowest loss at lr = 0.1 is ▁, the overshoot █
    assert bars[:4] == "▅▅▅▅"
    assert bars[5] == "▁"
    assert bars[-1] == "█"
    assert "(loss against lr; f(x) is ▅)" in shape
    assert "largest step that still lowers the loss: lr = 1e-01" in text
    assert lines[-1].startswith("  noise floor of quad:")


# ------------------------------------------------------------------ assert_descent


def test_assert_descent_raises_a_gradient_error_holding_the_result() -> None:
    with pytest.raises(gradtest.GradientError) as info:
        assert_descent(quad, lambda w: 10 * quad_grad(w), W, seed=0)
    assert isinstance(info.value, AssertionError)
    assert str(info.value).startswith("FAIL descent of quad: measured slope")
    assert isinstance(info.value.result, DescentResult)


def test_assert_descent_warns_when_inconclusive_and_returns_when_passing() -> None:
    with pytest.warns(gradtest.InconclusiveWarning, match="INCONCLUSIVE descent of relu_sum"):
        result = assert_descent(relu_sum, relu_sum_grad, np.array([0.0, 1.0, -1.0]), seed=0)
    assert result.verdict == "inconclusive"
    assert assert_descent(quad, quad_grad, W, seed=0).passed
