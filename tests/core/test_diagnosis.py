"""Diagnoses: bug patterns, step sweep, Taylor test, noise floor, scipy's figure, the report."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import gradtest

rng = np.random.default_rng(3)
A = rng.standard_normal((5, 5))
X = rng.standard_normal((5, 5))


def quad(W: np.ndarray) -> float:
    return float(np.sum(A * W * W) + np.sum(np.sin(W)))


def quad_grad(W: np.ndarray) -> np.ndarray:
    return 2 * A * W + np.cos(W)


@pytest.mark.parametrize(
    ("factor", "phrase"),
    [
        (-1.0, "sign flipped?"),
        (2.0, "extra factor 2?"),
        (0.5, "missing factor 2?"),
        (64.0, "extra factor 64: missing 1/N?"),
        (1 / 64, "missing factor 64: extra 1/N, N = 64?"),
        (-3.0, "sign flipped and extra factor 3"),
        (1.37, "constant factor 1.37?"),
    ],
)
def test_constant_factor_patterns(factor: float, phrase: str) -> None:
    result = gradtest.check_grad(quad, lambda W: factor * quad_grad(W), X, seed=0)
    assert result.verdict == "fail"
    assert phrase in result.diagnosis.summary
    assert phrase in str(result).splitlines()[0]


def test_transposed_gradient() -> None:
    result = gradtest.check_grad(quad, lambda W: quad_grad(W).T, X, seed=0)
    assert result.verdict == "fail"
    assert "transposed gradient?" in result.diagnosis.summary


@pytest.mark.parametrize("lam", [-0.2, 0.05])
def test_missing_or_misscaled_regularisation(lam: float) -> None:
    def f(W):  # type: ignore[no-untyped-def]
        return quad(W) + 0.1 * float(np.sum(W * W))

    def g(W):  # type: ignore[no-untyped-def]
        return quad_grad(W) + 0.2 * W + lam * W

    result = gradtest.check_grad(f, g, X, seed=0)
    assert result.verdict == "fail"
    assert f"analytic − numeric = {lam:.3g} × x" in result.diagnosis.summary
    assert "regularisation" in result.diagnosis.summary


def test_errors_confined_to_a_row_and_to_a_column() -> None:
    def row_bug(W):  # type: ignore[no-untyped-def]
        g = quad_grad(W)
        g[2] *= 1.1
        return g

    def col_bug(W):  # type: ignore[no-untyped-def]
        g = quad_grad(W)
        g[:, 4] += 0.3
        return g

    r = gradtest.check_grad(quad, row_bug, X, seed=0)
    assert "x: errors confined to row(s) 2" in r.diagnosis.patterns
    c = gradtest.check_grad(quad, col_bug, X, seed=0)
    assert "x: errors confined to column(s) 4" in c.diagnosis.patterns


def test_step_sweep_shows_a_v_for_a_correct_gradient_and_a_flat_line_for_a_wrong_one() -> None:
    good = gradtest.check_grad(quad, quad_grad, X, seed=0, mode="full", diagnose=True)
    (sweep,) = good.diagnosis.sweeps
    assert len(sweep.steps) == 12
    errors = np.array(sweep.rel_errors)
    best = int(np.argmin(errors))
    assert 0 < best < 11  # too large and too small steps are both worse
    assert errors[0] > 100 * errors[best] and errors[-1] > 100 * errors[best]
    assert sweep.error_floor < 1e-8
    assert "round-off" in str(good)

    bad = gradtest.check_grad(quad, lambda W: 1.5 * quad_grad(W), X, seed=0)
    assert len(bad.diagnosis.sweeps) == 1  # the worst failing entry
    for s in bad.diagnosis.sweeps:
        assert min(s.rel_errors) > 0.3
    assert "the gradient is wrong, not the step" in str(bad)


def test_taylor_slopes_are_two_for_correct_and_one_for_wrong() -> None:
    good = gradtest.check_grad(quad, quad_grad, X, seed=0, diagnose=True).diagnosis.taylor
    assert good is not None and good.verdict == "consistent"
    assert np.median(good.slopes) == pytest.approx(2.0, abs=0.1)
    bad = gradtest.check_grad(quad, lambda W: quad_grad(W) + 0.01, X, seed=0).diagnosis.taylor
    assert bad is not None and bad.verdict == "wrong"
    assert bad.slopes[-1] == pytest.approx(1.0, abs=0.1)


def test_taylor_test_of_a_linear_function_is_uninformative_when_correct() -> None:
    c = rng.standard_normal(6)
    t = gradtest.check_grad(lambda x: float(c @ x), lambda x: c, np.ones(6), seed=0, diagnose=True)
    assert t.diagnosis.taylor is not None and t.diagnosis.taylor.verdict == "uninformative"


def test_scipy_figure_is_reported_beside_ours() -> None:
    result = gradtest.check_grad(quad, lambda W: -quad_grad(W), X, seed=0)
    from scipy.optimize import check_grad as scipy_check_grad

    direct = scipy_check_grad(
        lambda z: quad(z.reshape(5, 5)), lambda z: -quad_grad(z.reshape(5, 5)).ravel(), X.ravel()
    )
    assert result.diagnosis.scipy_check_grad == pytest.approx(direct, rel=1e-6)
    assert "scipy.optimize.check_grad" in str(result)
    assert result.evals_by_phase["scipy"] == X.size + 1
    off = gradtest.check_grad(quad, quad_grad, X, seed=0, compare_scipy=False)
    assert off.diagnosis.scipy_check_grad is None and "scipy" not in off.evals_by_phase


def test_noise_floor_is_measured() -> None:
    def noisy(x):  # type: ignore[no-untyped-def]
        # a deterministic ripple: a value rounded to 1e-9
        return float(np.round(np.sum(x**2), 9))

    result = gradtest.check_grad(noisy, lambda x: 2 * x, np.linspace(1, 2, 4), seed=0)
    assert 1e-11 < result.diagnosis.noise_floor < 1e-8


def test_report_reads_top_down() -> None:
    result = gradtest.check_grad(quad, lambda W: -quad_grad(W), X, seed=0, name="quad_loss")
    lines = str(result).splitlines()
    assert lines[0].startswith("FAIL quad_loss wrt x: max relative error 2.0e+00 at x[")
    assert lines[0].endswith("(sign flipped?)")
    text = "\n".join(lines)
    for part in (
        "worst entries:",
        "step sweep for",
        "Taylor test",
        "noise floor",
        "relative error =",
    ):
        assert part in text
    assert text.index("worst entries:") < text.index("step sweep for") < text.index("Taylor test")


def test_the_report_counts_what_it_checked_in_words_that_fit() -> None:
    def square(w: np.ndarray) -> float:
        return float(w @ w)

    one = str(gradtest.check_grad(square, lambda w: 2 * w, np.ones(1), seed=0)).splitlines()
    assert one[0].endswith("at x[0] over 1 entry")
    assert one[1].startswith("  checked 1 entry (central differences, float64)")
    many = str(gradtest.check_grad(square, lambda w: 2 * w, np.ones(100), seed=0)).splitlines()
    assert many[0].endswith("over 3 directional derivatives")
    assert many[1].startswith("  checked 3 directional derivatives (central differences")
    every = str(gradtest.check_grad(square, lambda w: 3 * w, np.ones(100), seed=0))
    assert "  checked 100 entries (central differences" in every
    jac = gradtest.check_jacobian(lambda w: w**2, lambda w: np.diag(2 * w), np.ones(1), seed=0)
    assert "  checked 1 Jacobian entry (" in str(jac)

    def noisy(w: np.ndarray) -> float:  # a ripple finer than any step: nothing to judge by
        return float(w @ w + 1e-3 * np.sum(np.sin(1e9 * w)))

    unjudged = gradtest.check_grad(noisy, lambda w: 2 * w, np.ones(3), seed=0)
    assert unjudged.diagnosis.summary.startswith(
        "3 entries with an unreliable numeric derivative; e.g. x["
    )  # (it said "3 with an unreliable ...": 3 what?)


@pytest.mark.parametrize(
    ("wrong", "pattern"),
    [
        ("sign", "analytic = -1 × numeric over all Jacobian entries (sign flipped?)"),
        ("factor", "analytic = 2 × numeric over all Jacobian entries (extra factor 2?)"),
        ("transpose", "analytic Jacobian = numeric Jacobian transposed (a backward that "),
    ],
)
@pytest.mark.parametrize("n", [4, 12])
def test_a_wrong_jacobian_names_its_pattern(wrong: str, pattern: str, n: int) -> None:
    """A function with an array output (a custom op's Jacobian) gets the patterns a loss
    gets (none was named); at n = 12 through directions, then every entry."""
    A = np.random.default_rng(n).standard_normal((n, n))

    def jac(x: np.ndarray) -> np.ndarray:
        J = A * (1 - np.tanh(x) ** 2)
        return {"sign": -J, "factor": 2 * J, "transpose": J.T}[wrong]

    x = np.linspace(-1, 1, n)
    result = gradtest.check_jacobian(lambda x: A @ np.tanh(x), jac, x, seed=0)
    assert result.verdict == "fail"
    assert result.diagnosis.summary.startswith(pattern), result.diagnosis.summary


def test_the_step_sweep_of_a_jacobian_names_the_output_it_sweeps() -> None:
    """It read "step sweep for x[2] (analytic 0.1)": x[2] has one derivative per output,
    and the sweep gave no sign of which one its analytic value and errors belong to."""
    A = np.random.default_rng(3).standard_normal((3, 3))
    result = gradtest.check_jacobian(lambda x: A @ x, lambda x: A.T, np.ones(3), seed=0)
    assert result.verdict == "fail"
    sweep = result.diagnosis.sweeps[0]
    assert sweep.label.startswith("d out[")
    entry = next(e for e in result.entries if e.label == sweep.label)
    assert sweep.analytic == entry.analytic
    assert f"  step sweep for {sweep.label} (analytic " in str(result)


def test_a_factor_on_one_array_is_named() -> None:
    """A bias gradient averaged over a batch of 6 where the loss sums: only "only x[1]
    wrong" was said."""
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))

    def loss(p: Any) -> float:
        W, b = p
        r = X @ W + b - Y
        return float(0.5 * np.sum(r * r))

    def grad(p: Any) -> tuple[np.ndarray, np.ndarray]:
        W, b = p
        r = X @ W + b - Y
        return X.T @ r, r.mean(0)

    p = (rng.standard_normal((3, 2)), rng.standard_normal(2))
    patterns = gradtest.check_grad(loss, grad, p, seed=0).diagnosis.patterns
    assert "analytic = 0.166667 × numeric over x[1] (missing factor 6: extra 1/N, N = 6?)" in (
        patterns
    )


def test_factor_on_the_data_term_only_is_named() -> None:
    n_examples = 20
    data = rng.standard_normal((n_examples, 5))

    def loss(W):  # type: ignore[no-untyped-def]
        return float(np.sum(np.sin(data @ W)) / n_examples + 0.1 * np.sum(W * W))

    def grad_missing_mean(W):  # type: ignore[no-untyped-def]
        return data.T @ np.cos(data @ W) + 0.2 * W

    result = gradtest.check_grad(loss, grad_missing_mean, 0.3 * np.ones(5), seed=0)
    assert result.verdict == "fail"
    assert (
        "the data term is scaled by 20 but the regularisation term is not"
        in result.diagnosis.summary
    )
    assert "missing 1/N" in result.diagnosis.summary


def test_a_passing_check_spends_nothing_on_diagnosis() -> None:
    """Diagnosis runs for a fail or an inconclusive verdict, or when asked for (issue 11)."""
    good = gradtest.check_grad(quad, quad_grad, X, seed=0, mode="full")
    assert good.verdict == "pass"
    assert set(good.evals_by_phase) == {"base", "entries"}
    d = good.diagnosis
    assert d.taylor is None and d.sweeps == () and d.scipy_check_grad is None
    asked = gradtest.check_grad(quad, quad_grad, X, seed=0, mode="full", diagnose=True)
    assert asked.diagnosis.taylor is not None and asked.diagnosis.sweeps
    bad = gradtest.check_grad(quad, lambda W: 1.5 * quad_grad(W), X, seed=0, diagnose=False)
    assert bad.verdict == "fail" and bad.diagnosis.taylor is None and not bad.diagnosis.sweeps


def test_the_relative_error_formula_names_the_floor_each_record_was_computed_with() -> None:
    """The report's formula is the one behind the numbers: ``G`` the largest |a| or |n| of
    the entries, and along a direction the size of g·v (not max|g|: sin's gradient is at
    most 1 while a directional derivative of 5,000 entries is about 70)."""

    def loss(z: np.ndarray) -> float:
        return float(np.sum(np.sin(z)))

    x = np.random.default_rng(0).standard_normal(5000)
    result = gradtest.check_grad(loss, lambda z: 1.001 * np.cos(z), x, seed=0)
    assert result.mode == "directions" and result.verdict == "fail"
    formula = result.relative_error_formula
    assert "along a direction v, G = max(|g·v|, ‖g ∘ s‖₂)" in formula and "entries" not in formula
    for r in result.entries:  # the numbers follow that G
        v_size = float(np.linalg.norm(np.cos(x) * np.maximum(np.abs(x), np.sqrt(x @ x / x.size))))
        floor = 1e-6 * max(abs(r.analytic), v_size * 1.001)
        size = max(abs(r.analytic), abs(r.numeric), floor)
        assert r.rel_error == pytest.approx(abs(r.analytic - r.numeric) / size, rel=1e-9)

    cube = gradtest.check_grad(
        lambda w: float(np.sum(w**3)), lambda w: -3 * w**2, np.array([1.0, -2.0, 0.5]), seed=0
    )
    assert cube.relative_error_formula == (
        "|a − n| / max(|a|, |n|, 1e-06·G): for entries, G = 12, the largest |a| or |n|"
    )
    assert f"  relative error = {cube.relative_error_formula}" in str(cube)


def test_a_nan_gradient_is_reported_against_the_numeric_values_it_misses() -> None:
    """Every analytic entry NaN where fun is finite: the report shows the numeric
    derivative that was measured (2, 4, 6), and neither the step sweep nor the Taylor test
    draws a conclusion that needs a finite gradient ("the error falls with h", "g·v agrees
    with it to round-off")."""
    result = gradtest.check_grad(
        lambda x: float(x @ x), lambda x: x * np.nan, np.array([1.0, 2.0, 3.0]), seed=0
    )
    assert result.verdict == "fail"
    assert [r.numeric for r in result.entries] == pytest.approx([2.0, 4.0, 6.0])
    assert result.diagnosis.summary.startswith("analytic nan vs numeric 2 at x[0]")
    text = str(result)
    assert "the analytic value is nan: no step can agree with it" in text
    assert result.diagnosis.taylor is not None
    assert result.diagnosis.taylor.explanation == (
        "g·v = nan: the gradient is not finite, so there is no remainder to measure"
    )
    assert "falls with h" not in text and "agrees with it to round-off" not in text


def test_a_sweep_where_every_step_errs_alike_names_the_largest_step_not_the_noisiest() -> None:
    """A sign flip of a linear loss errs by 2 at every step; the least error was round-off's
    luck at the smallest step (1e-12), whose numeric value was shown as the best."""
    w = np.random.default_rng(0).standard_normal(5)
    x = np.random.default_rng(10).standard_normal(5)
    result = gradtest.check_grad(lambda z: float(w @ z) + 0.1, lambda z: -w, x, seed=0)
    (sweep,) = result.diagnosis.sweeps
    assert max(sweep.rel_errors) < 1.01 * min(sweep.rel_errors)  # all alike
    assert sweep.best_step == sweep.steps[0]
    assert sweep.numeric[0] == pytest.approx(-sweep.analytic, rel=1e-12)


def test_a_sweep_whose_largest_steps_leave_the_domain_still_sees_a_flat_error() -> None:
    """fun not finite at the two largest steps (a naive softmax at the "large" corner
    overflows there) left an error of 2 at every other step read as "the error falls with
    h until round-off takes over", of a sign flip."""
    w = np.random.default_rng(0).standard_normal(5)
    x = np.random.default_rng(10).standard_normal(5)

    def linear_near_x(z: np.ndarray) -> float:
        return float(w @ z) if np.max(np.abs(z - x)) < 5e-3 else math.nan

    result = gradtest.check_grad(linear_near_x, lambda z: -w, x, seed=0)
    assert result.verdict == "fail"
    (sweep,) = result.diagnosis.sweeps
    assert not any(math.isfinite(e) for e in sweep.rel_errors[:2])
    text = str(result)
    assert "the error stays near 2e+00 whatever the step: the gradient is wrong" in text
    assert "falls with h" not in text


def test_a_sweep_against_an_analytic_zero_reads_the_size_of_the_numeric_value() -> None:
    """Against an analytic 0 every nonzero numeric value is a relative error of 1, so the
    sweep of sum(x**3) at x = 0 (numeric value h**2) said "the error stays near 1e+00
    whatever the step: the gradient is wrong", in the report of an inconclusive check of a
    correct gradient; and its Taylor test read "slope 3.00 ≈ 2". A zero gradient where fun
    has slope 1 is still called wrong."""
    flat = gradtest.check_grad(
        lambda x: float(np.sum(x**3)), lambda x: 3 * x**2, np.zeros(3), seed=0, diagnose=True
    )
    assert flat.verdict != "fail"
    (sweep,) = flat.diagnosis.sweeps
    assert sweep.numeric[sweep.steps.index(sweep.best_step)] == min(map(abs, sweep.numeric))
    text = str(flat)
    assert "the numeric value shrinks with h (from 1.0e-02 to " in text
    assert "the gradient is wrong" not in text
    assert "slope 3.00 ≥ 2 (f is flat to second order along v)" in text

    wrong = gradtest.check_grad(
        lambda x: float(np.sum(x**3) + x[0]), lambda x: 3 * x**2, np.zeros(3), seed=0
    )
    assert wrong.verdict == "fail"
    assert (
        "the numeric value stays near 1.0e+00 whatever the step, where the analytic value is "
        "0: the gradient is wrong, not the step"
    ) in str(wrong)


def test_numbers_that_differ_are_shown_with_the_digits_that_tell_them_apart() -> None:
    """Issue 11 ("fails with analytic 0.764842 vs numeric 0.764842"), met again by an
    adapter audit: "analytic 0.12 vs numeric 0.12 (tolerance 1.8e-09)" hid a gap of 4e-08,
    and a factor 1 + 3e-7 on every entry was named "constant factor 1?"."""
    from gradtest._report import distinct

    assert distinct(0.12, 0.12 + 4e-8) == ("0.12", "0.12000004")
    assert distinct(0.764842, 0.764842) == ("0.764842", "0.764842")
    assert distinct(2.0, float("nan")) == ("2", "nan")
    assert distinct(1.0, 1.0 + 2.0**-52) == ("1", "1.0000000000000002")
    x = np.array([0.5, -1.0, 2.0])
    result = gradtest.check_grad(
        lambda x: float(np.sum(x**3)), lambda x: 3 * x**2 * (1 + 3e-7), x, seed=0
    )
    assert result.verdict == "fail"
    assert result.diagnosis.summary == (
        "analytic = 1.0000003 × numeric over all entries (constant factor 1.0000003?)"
    )


def test_a_sweep_against_an_analytic_zero_skips_steps_where_fun_is_not_finite() -> None:
    """The largest steps of the sweep of sum(x**3) at 0 leave fun's domain (NaN beyond
    0.05): the size of the numeric value is read from the finite steps only."""

    def cubes_near_zero(x: np.ndarray) -> float:
        return float(np.sum(x**3)) if np.all(np.abs(x) < 0.05) else float("nan")

    result = gradtest.check_grad(
        cubes_near_zero, lambda x: 3 * x**2, np.zeros(3), seed=0, diagnose=True
    )
    (sweep,) = result.diagnosis.sweeps
    assert math.isnan(sweep.numeric[0])
    assert sweep.best_step == sweep.steps[-1]
    assert "the numeric value shrinks with h (from 1.0e-04 to " in str(result)
