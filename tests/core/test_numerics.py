"""Every numeric method against known derivatives, and the pieces of the error model."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradtest
from gradtest import _finite_diff as fd

METHODS = ["central", "forward", "central4", "richardson", "complex"]
#: the accuracy each method must reach on a smooth, well-scaled float64 function
ACCURACY = {
    "forward": 1e-6,
    "central": 1e-9,
    "central4": 1e-11,
    "richardson": 1e-11,
    "complex": 1e-14,
}


def smooth(x: np.ndarray) -> float:
    return np.sum(np.exp(np.sin(x)) + x**3 / 3)


def smooth_grad(x: np.ndarray) -> np.ndarray:
    return np.exp(np.sin(x)) * np.cos(x) + x**2


@pytest.mark.parametrize("method", METHODS)
def test_each_method_matches_the_known_derivative(method: str) -> None:
    x = np.linspace(-1.5, 2.0, 9)
    result = gradtest.check_grad(smooth, smooth_grad, x, method=method, seed=0)
    assert result.verdict == "pass"
    errors = [e.rel_error for e in result.entries]
    assert max(errors) < ACCURACY[method], (method, max(errors))


@pytest.mark.parametrize("method", METHODS)
def test_each_method_flags_a_small_factor_error(method: str) -> None:
    x = np.linspace(-1.5, 2.0, 9)
    result = gradtest.check_grad(
        smooth, lambda x: smooth_grad(x) * (1 + 1e-4), x, method=method, seed=0
    )
    assert result.verdict == "fail"
    assert "1 × numeric" in result.diagnosis.summary or "factor" in result.diagnosis.summary


def test_richardson_reaches_higher_accuracy_than_central() -> None:
    x = np.linspace(-1.0, 1.0, 7)
    central = gradtest.check_grad(smooth, smooth_grad, x, method="central", seed=1)
    rich = gradtest.check_grad(smooth, smooth_grad, x, method="richardson", seed=1)
    med_c = float(np.median([e.rel_error for e in central.entries]))
    med_r = float(np.median([e.rel_error for e in rich.entries]))
    assert med_r < 1e-12
    assert med_r < med_c


def test_richardson_tableau_removes_the_h2_term_and_estimates_its_error() -> None:
    # f(x) = exp(x) at x = 0: central differences carry an h^2/6 error
    steps = [0.1, 0.05, 0.025, 0.0125]
    centrals = [np.array([(math.exp(h) - math.exp(-h)) / (2 * h)]) for h in steps]
    est = fd.richardson(centrals, steps, sigma=np.array([1e-16]))
    assert abs(est.value[0] - 1.0) < 1e-11
    assert abs(centrals[-1][0] - 1.0) > 1e-5
    assert est.error[0] >= abs(est.value[0] - 1.0)


def test_relative_steps_follow_the_formulas() -> None:
    eps = float(np.finfo(np.float64).eps)
    assert fd.relative_step("forward", eps) == pytest.approx(eps**0.5)
    assert fd.relative_step("central", eps) == pytest.approx((8 * eps) ** (1 / 3))
    assert fd.relative_step("central4", eps) == pytest.approx(eps ** (1 / 5))
    eps32 = float(np.finfo(np.float32).eps)
    assert fd.relative_step("central", eps32) == pytest.approx((8 * eps32) ** (1 / 3))


def test_steps_scale_with_the_entry_and_its_array() -> None:
    x = np.array([1e-8, 2e-8, 0.0, -3e-8])
    result = gradtest.check_grad(
        lambda x: float(np.sum(np.sin(x * 1e8))), lambda x: 1e8 * np.cos(x * 1e8), x, seed=0
    )
    assert result.verdict == "pass"
    steps = [e.step for e in result.entries]
    assert max(steps) < 1e-12  # relative to the entries' 1e-8 scale, not to 1


def test_float32_steps_are_realised_in_float32() -> None:
    spec_x = np.array([1.0, 3.0], dtype=np.float32)
    from gradtest._params import flatten_params

    spec, flat = flatten_params(spec_x)
    h = fd.realise(spec, flat, np.array([1e-3, 1e-3]))
    moved = (spec_x + h.astype(np.float32)).astype(np.float64)
    assert np.all((flat + h) == moved)
    assert np.all(h != 1e-3)  # 1e-3 is not representable as a float32 increment of 3.0


def test_noise_estimate_recovers_the_level_of_added_noise() -> None:
    rng = np.random.default_rng(0)
    smooth_part = np.linspace(0, 1e-6, 40) ** 2
    noisy = smooth_part + 1e-9 * rng.standard_normal(40)
    level = fd.estimate_noise(noisy)
    assert 3e-10 < level < 3e-9


def test_noise_estimate_of_a_smooth_sequence_is_tiny() -> None:
    values = np.cos(np.linspace(0, 1e-6, 7))
    assert fd.estimate_noise(values) < 1e-15


def test_entry_scales_use_the_array_rms_for_zero_and_tiny_entries() -> None:
    from gradtest._params import flatten_params

    spec, flat = flatten_params({"W": np.array([0.0, 3.0, 4.0]), "b": np.zeros(2)})
    scales = fd.entry_scales(spec, flat)
    rms = math.sqrt(25 / 3)
    assert scales[0] == pytest.approx(rms)
    assert scales[2] == pytest.approx(4.0)
    assert list(scales[3:]) == [1.0, 1.0]


def test_noise_of_a_quantized_staircase_needs_jittered_positions() -> None:
    # values on a grid of 2**-46 that advance by exactly 6 grid steps a point: at equal
    # spacing the differences vanish; at jittered positions the rounding shows
    q = 2.0**-46
    t_equal = np.arange(9.0) - 4
    staircase = 1e-11 + 6 * q * t_equal
    assert fd.estimate_noise(staircase) == 0.0
    jitter = np.random.default_rng(0).uniform(-0.4, 0.4, 9)
    t = t_equal + jitter
    values = 1e-11 + np.round(6.0 * t) * q
    level = fd.estimate_noise(values, t)
    assert 0.1 * q < level < q


def test_direction_values_have_magnitudes_in_half_to_three_halves_with_random_signs() -> None:
    """The values of a random direction: ``2 (u - 1/2) + copysign(1/2, u - 1/2)`` of ``u``
    uniform on [0, 1), bit for bit (the directions, and so every verdict, are fixed by the
    seed), whatever arithmetic computes them."""
    from gradtest._randomness import _signed_magnitudes

    u = np.concatenate(
        [
            np.random.default_rng(0).random(10_000),
            [0.0, 2.0**-53, 0.25, 0.5 - 2.0**-53, 0.5, 0.5 + 2.0**-53, 1.0 - 2.0**-53],
        ]
    )
    expected = 2.0 * (u - 0.5) + np.copysign(0.5, u - 0.5)
    got = _signed_magnitudes(u.copy())
    assert np.array_equal(got.view(np.int64), expected.view(np.int64))
    assert np.all((np.abs(got) >= 0.5) & (np.abs(got) <= 1.5))
    assert 0.45 < np.mean(got[:10_000] > 0) < 0.55
