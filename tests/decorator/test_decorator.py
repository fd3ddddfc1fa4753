"""@gradcheck end to end: verdicts, shrinking, rejection, errors, settings, the registry."""

from __future__ import annotations

import dataclasses
import inspect
import time
from typing import Any

import hypothesis
import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.database import InMemoryExampleDatabase
from hypothesis.errors import DeadlineExceeded, Unsatisfiable

import gradtest
import gradtest.strategies as gs
from gradtest import _runner
from gradtest._runner import InconclusiveGradcheckError

QUIET = hypothesis.settings(database=None, deadline=None)
D = gs.dim("D", max_value=3)
C = gs.dim("C", max_value=3)
N = gs.dim("N", max_value=3)
SVM_INPUTS: dict[str, Any] = {
    "W": gs.weights((D, C)),
    "X": gs.data((N, D)),
    "y": gs.labels(N, classes=C),
    "reg": gs.scalars(nonnegative=True),
}


def svm_loss(
    W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float, bug: str = ""
) -> tuple[float, np.ndarray]:
    """The multiclass SVM loss of CS231n, vectorized, with optional known bugs."""
    n = X.shape[0]
    rows = np.arange(n)
    scores = X @ W
    margins = np.maximum(0.0, scores - scores[rows, y][:, None] + 1.0)
    margins[rows, y] = 0.0
    loss = margins.sum() / n + reg * np.sum(W * W)
    coeff = (margins > 0).astype(float)
    coeff[rows, y] = -coeff.sum(axis=1)
    data_term = X.T @ coeff
    if bug == "no-mean":  # forgot to divide the data term by n: shows only for n >= 2
        return loss, data_term + 2 * reg * W
    if bug == "reg":  # the gradient of reg * |W|^2 is 2 reg W
        return loss, data_term / n + reg * W
    return loss, data_term / n + 2 * reg * W


@gradtest.gradcheck(wrt="W", settings=QUIET, **SVM_INPUTS)
def test_svm_loss_collected_by_pytest(W: Any, X: Any, y: Any, reg: Any) -> Any:
    return svm_loss(W, X, y, reg)


def test_correct_svm_passes_200_examples() -> None:
    outcome = gradtest.run_gradcheck(test_svm_loss_collected_by_pytest, max_examples=200)
    assert outcome.verdict == "pass", outcome.report
    assert outcome.error is None and outcome.example is None
    assert outcome.n_examples >= 200
    assert outcome.n_rejected <= outcome.n_examples / 2
    assert outcome.result is not None and outcome.result.verdict == "pass"
    assert outcome.elapsed > 0
    assert outcome.report.startswith("PASS gradcheck test_svm_loss_collected_by_pytest wrt W")
    assert "W = np.array(" in outcome.report


def test_buggy_svm_fails_with_a_small_shrunk_example() -> None:
    @gradtest.gradcheck(wrt="W", settings=QUIET, **SVM_INPUTS)
    def svm_without_mean(W: Any, X: Any, y: Any, reg: Any) -> Any:
        return svm_loss(W, X, y, reg, bug="no-mean")

    outcome = gradtest.run_gradcheck(svm_without_mean, seed=1)
    assert outcome.verdict == "fail"
    example = outcome.example
    assert example is not None
    # the bug needs two rows of data (with one row the mean is the sum): shrinking
    # reaches exactly two, and the simplest values that show it: zeros and one 0.01
    assert example["X"].shape[0] == 2 and example["y"].shape == (2,)
    assert example["W"].shape[0] == example["X"].shape[1] <= 3
    values = np.concatenate([example["W"].ravel(), example["X"].ravel(), [example["reg"]]])
    assert np.count_nonzero(values) == 1 and np.abs(values).max() == 0.01, values
    error = outcome.error
    assert isinstance(error, gradtest.GradientError) and str(error) == outcome.report
    assert outcome.report.startswith("gradcheck svm_without_mean: wrong gradient wrt W")
    assert "    X = np.array([[" in outcome.report and "    y = np.array([" in outcome.report
    assert "FAIL svm_without_mean wrt W" in outcome.report
    assert "gradtest.run_gradcheck(svm_without_mean, seed=1)" in outcome.report
    assert error.result is outcome.result and error.result is not None
    assert error.result.verdict == "fail"


def test_shrunk_example_reproduces_with_check_grad() -> None:
    @gradtest.gradcheck(wrt="W", settings=QUIET, **SVM_INPUTS)
    def svm_reg_bug(W: Any, X: Any, y: Any, reg: Any) -> Any:
        return svm_loss(W, X, y, reg, bug="reg")

    outcome = gradtest.run_gradcheck(svm_reg_bug, seed=2)
    assert outcome.verdict == "fail" and outcome.example is not None
    ex = outcome.example
    # the regularisation bug shows with a single weight, so shrinking reaches 1 x 1
    assert ex["W"].shape == (1, 1) and ex["X"].shape[0] == 1
    assert ex["reg"] > 0 and ex["W"][0, 0] != 0
    # the example in the report is exact: pasted, it fails again
    namespace: dict[str, Any] = {"np": np}
    exec(_runner.format_example(ex, indent=""), namespace)
    again = gradtest.check_grad(
        lambda W: svm_loss(W, namespace["X"], namespace["y"], namespace["reg"], bug="reg"),
        True,
        namespace["W"],
        seed=0,
    )
    assert again.verdict == "fail"


def test_calling_plainly_raises_the_outcome_error_and_passing_returns_none() -> None:
    @gradtest.gradcheck(wrt="w", settings=QUIET, w=np.array([0.5, -1.25]))
    def quadratic(w: Any) -> Any:
        return float(w @ w), 2 * w

    assert quadratic() is None
    outcome = gradtest.run_gradcheck(quadratic)
    assert (outcome.verdict, outcome.n_examples, outcome.n_rejected) == ("pass", 1, 0)


def test_decorated_object_is_a_plain_test_function() -> None:
    spec = test_svm_loss_collected_by_pytest.__gradtest__
    assert inspect.signature(test_svm_loss_collected_by_pytest).parameters == {}
    assert test_svm_loss_collected_by_pytest.__name__ == "test_svm_loss_collected_by_pytest"
    assert (spec.name, spec.module, spec.wrt) == (
        "test_svm_loss_collected_by_pytest",
        __name__,
        ("W",),
    )
    assert spec.qualname == "test_svm_loss_collected_by_pytest"
    assert spec.args == ("X", "y", "reg")
    assert spec.settings is QUIET and spec.max_examples is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.wrt = ("X",)  # type: ignore[misc]


def test_registry_keeps_definition_order_and_replaces_redefinitions() -> None:
    def define(scale: float) -> Any:
        @gradtest.gradcheck(wrt="w", w=np.ones(2))
        def registered_twice(w: Any) -> Any:
            return float(scale * w @ w), 2 * scale * w

        return registered_twice

    first = define(1.0)
    keys = [s.key for s in gradtest.registered_checks()]
    second = define(2.0)
    specs = gradtest.registered_checks()
    assert [s.key for s in specs] == keys
    assert keys.count(first.__gradtest__.key) == 1
    assert second.__gradtest__ in specs and first.__gradtest__ not in specs
    module_keys = [s.key for s in specs if s.module == __name__]
    assert module_keys[0] == f"{__name__}:test_svm_loss_collected_by_pytest"


def test_separate_gradient_function_and_several_wrt_arguments() -> None:
    def loss(W: Any, b: Any, X: Any) -> float:
        return float(np.sum(np.tanh(X @ W + b)))

    def grad(W: Any, b: Any, X: Any) -> tuple[Any, Any]:
        t = 1 - np.tanh(X @ W + b) ** 2
        return X.T @ t, t.sum(axis=0)

    def wrong_bias(W: Any, b: Any, X: Any) -> dict[str, Any]:
        dW, db = grad(W, b, X)
        return {"W": dW, "b": 2 * db}

    inputs: dict[str, Any] = {"W": gs.weights((D, C)), "b": gs.weights(C), "X": gs.data((N, D))}
    ok = gradtest.gradcheck(("W", "b"), grad=grad, settings=QUIET, **inputs)(loss)
    outcome = gradtest.run_gradcheck(ok, max_examples=30)
    assert outcome.verdict == "pass", outcome.report
    assert outcome.result is not None and outcome.result.wrt == ("W", "b")

    bad = gradtest.gradcheck(("W", "b"), grad=wrong_bias, settings=QUIET, **inputs)(loss)
    failed = gradtest.run_gradcheck(bad, max_examples=30)
    assert failed.verdict == "fail" and failed.result is not None
    assert {e.array for e in failed.result.failing()} == {"b"}


def test_gradient_tuple_of_the_wrong_length_names_wrt() -> None:
    @gradtest.gradcheck(("w", "v"), settings=QUIET, w=np.ones(2), v=np.ones(2))
    def pair(w: Any, v: Any) -> Any:
        return float(w @ v), (v, w, w)

    with pytest.raises(gradtest.InvalidArgumentError, match=r"wrt=\('w', 'v'\) needs one"):
        pair()


def test_function_raising_for_some_inputs_names_that_input() -> None:
    @gradtest.gradcheck(wrt="W", settings=QUIET, W=gs.weights(gs.dim("n")))
    def log_loss(W: Any) -> Any:
        if np.any(W <= 0):
            raise ValueError("log of a non-positive weight")
        return float(np.sum(np.log(W))), 1 / W

    with pytest.raises(gradtest.FunctionEvaluationError) as info:
        log_loss()
    message = str(info.value)
    assert "log_loss raised ValueError" in message
    assert "log of a non-positive weight" in message
    assert "for this input (shrunk by hypothesis):\n    W = np.array([0.0])" in message
    assert isinstance(info.value.__cause__, ValueError)


def test_kinks_are_judged_by_the_other_entries_and_fail_with_strict_kinks() -> None:
    """Issue 13: kinks are no excuse to stop searching. An input with a kink at some entry
    is judged by its other entries and by the one-sided derivatives at the kink."""

    def l1(w: Any) -> Any:
        return float(np.sum(np.abs(w))), np.sign(w)

    # a kink at w = 0 for half of the inputs: judged (w[1] passes, sign(0) = 0 is a
    # subgradient), counted, not failed
    half = st.sampled_from([np.array([0.0, 1.0]), np.array([1.0, 0.5])])
    outcome = gradtest.run_gradcheck(gradtest.gradcheck("w", settings=QUIET, w=half)(l1))
    assert outcome.n_rejected == 0 and outcome.n_examples == 2
    assert outcome.verdict == "pass"
    assert "1 judged input had entries at a kink" in outcome.report

    def l1_wrong_at_zero(w: Any) -> Any:  # 5 at the kink: outside [-1, 1], neither side
        return float(np.sum(np.abs(w))), np.where(w == 0, 5.0, np.sign(w))

    wrong = gradtest.run_gradcheck(
        gradtest.gradcheck("w", settings=QUIET, w=half)(l1_wrong_at_zero)
    )
    assert wrong.verdict == "fail"
    assert "matches neither side" in wrong.report

    strict = gradtest.gradcheck("w", strict_kinks=True, settings=QUIET, w=half)(l1)
    with pytest.raises(gradtest.GradientError) as info:
        strict()
    assert str(info.value).startswith(
        "gradcheck l1: not differentiable at w[0] (strict_kinks=True fails kinks) for this "
        "input (shrunk by hypothesis; 0 inputs judged):"
    )  # (the failing input is not counted as one judged with kinks)
    assert "    w = np.array([0.0, 1.0])" in str(info.value)


def test_mostly_rejected_inputs_make_the_run_inconclusive() -> None:
    def l1(w: Any) -> Any:
        return float(np.sum(np.abs(w))), np.sign(w)

    kinky = st.sampled_from([np.array([0.0]), np.array([0.0, 0.0]), np.array([1.0])])
    test = gradtest.gradcheck("w", settings=QUIET, w=kinky)(l1)
    outcome = gradtest.run_gradcheck(test)
    assert outcome.verdict == "inconclusive"
    assert (outcome.n_rejected, outcome.n_examples) == (2, 1)
    assert isinstance(outcome.error, InconclusiveGradcheckError)
    assert isinstance(outcome.error, Unsatisfiable)
    assert "2 of 3 inputs were rejected" in outcome.report
    assert "kinks at w[0]" in outcome.report
    with pytest.raises(InconclusiveGradcheckError):
        test()

    always = gradtest.gradcheck("w", settings=QUIET, w=np.zeros(2))(l1)
    nothing = gradtest.run_gradcheck(always)
    assert nothing.verdict == "inconclusive" and nothing.n_examples == 0


def test_an_inconclusive_run_says_why_by_kind_and_how_to_replay_it() -> None:
    """The reasons are counted in inputs, one line per kind (not the entry counts of the
    first three inputs' summaries); the fixes follow from the kinds; the replay line is
    there as for a failure."""

    def noisy(w: Any) -> Any:  # a ripple far finer than any step: no information
        return float(w @ w + 1e-3 * np.sum(np.sin(1e9 * w))), 2 * w

    test = gradtest.gradcheck("w", settings=QUIET, w=gs.weights(4))(noisy)
    outcome = gradtest.run_gradcheck(test, max_examples=30, seed=3)
    assert outcome.verdict == "inconclusive"
    lines = outcome.report.splitlines()
    kinds = [line for line in lines if line.startswith("  - ")]
    assert kinds == [
        f"  - {outcome.n_rejected} inputs; the first: " + kinds[0].split("the first: ")[1]
    ]
    assert "with an unreliable numeric derivative" in kinds[0]
    assert "kink_margin" not in outcome.report
    assert "smooth and precise" in outcome.report
    assert lines[-1] == f"reproduce with: {outcome.reproduce}"
    assert outcome.reproduce == gradtest._runner.python_reproduce(test.__gradtest__, 3)  # type: ignore[attr-defined]

    def l1(w: Any) -> Any:
        return float(np.sum(np.abs(w))), np.sign(w)

    kinky = st.sampled_from([np.array([0.0]), np.array([0.0, 0.0]), np.array([1.0])])
    report = gradtest.run_gradcheck(gradtest.gradcheck("w", settings=QUIET, w=kinky)(l1)).report
    assert "  - 2 inputs; the first: " in report
    assert "kink_margin" in report and "smooth and precise" not in report


def test_kink_margin_keeps_a_relu_loss_judgeable() -> None:
    def leaky_relu_loss(w: Any) -> Any:
        return float(np.sum(np.where(w > 0, w, 0.1 * w))), np.where(w > 0, 1.0, 0.1)

    near = gs.weights(gs.dim("n"), digits=1)
    plain = gradtest.run_gradcheck(
        gradtest.gradcheck("w", settings=QUIET, w=near)(leaky_relu_loss), max_examples=40, seed=0
    )
    assert plain.n_rejected > 0  # zeros are common among short decimals
    away = gs.weights(gs.dim("n"), digits=1, kink_margin=0.05)
    outcome = gradtest.run_gradcheck(
        gradtest.gradcheck("w", settings=QUIET, w=away)(leaky_relu_loss), max_examples=40, seed=0
    )
    assert outcome.verdict == "pass" and outcome.n_rejected == 0


def test_slow_function_exceeds_the_hypothesis_deadline() -> None:
    def slow(w: Any) -> Any:
        time.sleep(0.005)
        return float(w @ w), 2 * w

    strict = hypothesis.settings(database=None, deadline=20)
    with pytest.raises(DeadlineExceeded):
        gradtest.gradcheck("w", settings=strict, w=np.ones(2))(slow)()
    relaxed = hypothesis.settings(database=None, deadline=None)
    gradtest.gradcheck("w", settings=relaxed, w=np.ones(2))(slow)()


def test_only_real_discrepancies_steer_hypothesis_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 13: hypothesis.target steers towards larger discrepancies, and round-off of a
    correct gradient (a small fraction of the tolerance) does not steer it."""
    seen: list[tuple[float, str]] = []
    monkeypatch.setattr(hypothesis, "target", lambda value, label="": seen.append((value, label)))
    outcome = gradtest.run_gradcheck(test_svm_loss_collected_by_pytest, max_examples=5, seed=0)
    assert outcome.verdict == "pass"
    assert all(v >= 0.3 and label == "gradtest discrepancy / tolerance" for v, label in seen)

    def off(w: Any) -> Any:
        return float(w @ w), 2.001 * w

    seen.clear()
    wrong = gradtest.run_gradcheck(
        gradtest.gradcheck("w", settings=QUIET, w=np.ones(3))(off), max_examples=5, seed=0
    )
    assert wrong.verdict == "fail"
    assert seen and max(v for v, _ in seen) > 1.0


def test_same_seed_reproduces_the_run() -> None:
    runs = [
        gradtest.run_gradcheck(test_svm_loss_collected_by_pytest, max_examples=10, seed=7)
        for _ in range(2)
    ]
    assert runs[0].seed == runs[1].seed == 7
    assert runs[0].result is not None and runs[1].result is not None
    assert runs[0].result.to_dict() == runs[1].result.to_dict()
    assert runs[0].report == runs[1].report


def test_without_a_seed_the_run_records_the_one_it_used() -> None:
    # random, whatever the loaded profile says (hypothesis's "ci" profile derandomizes)
    randomized = gradtest.gradcheck(
        "w", settings=hypothesis.settings(database=None, derandomize=False), w=gs.weights(2)
    )(lambda w: (float(w @ w), 2 * w))
    outcome = gradtest.run_gradcheck(randomized, max_examples=2)
    assert isinstance(outcome.seed, int)
    derandomized = gradtest.gradcheck(
        "w", settings=hypothesis.settings(database=None, derandomize=True), w=np.ones(1)
    )(lambda w: (float(w @ w), 2 * w))
    assert gradtest.run_gradcheck(derandomized).seed is None


def test_example_database_replays_the_failure() -> None:
    db = InMemoryExampleDatabase()

    @gradtest.gradcheck(
        "w", settings=hypothesis.settings(database=db, deadline=None), w=gs.weights(2)
    )
    def cube(w: Any) -> Any:
        return float(np.sum(w**3)), 2 * w**2

    first = gradtest.run_gradcheck(cube)  # hypothesis.seed would turn the database off
    assert first.verdict == "fail" and db.data
    second = gradtest.run_gradcheck(cube)
    assert second.verdict == "fail" and first.example is not None and second.example is not None
    assert np.array_equal(first.example["w"], second.example["w"])


def test_overrides_of_run_gradcheck(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    real = gradtest.check_grad

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr("gradtest._runner.check_grad", spy)

    @gradtest.gradcheck("w", settings=QUIET, rtol=1e-3, w=gs.weights(2))
    def quadratic(w: Any) -> Any:
        return float(w @ w), 2 * w

    outcome = gradtest.run_gradcheck(
        quadratic, max_examples=3, rtol=1e-5, atol=1e-9, method="central4", mode="full"
    )
    assert outcome.n_examples == 3 and len(calls) == 3 + outcome.n_rejected
    assert all(
        (c["rtol"], c["atol"], c["method"], c["mode"]) == (1e-5, 1e-9, "central4", "full")
        for c in calls
    )
    calls.clear()
    gradtest.run_gradcheck(quadratic, max_examples=2)
    assert calls and all(
        (c["rtol"], c["method"], "mode" in c) == (1e-3, "central", False) for c in calls
    )


def test_max_examples_follows_the_hypothesis_profile() -> None:
    @gradtest.gradcheck("w", w=gs.weights(3))
    def quadratic(w: Any) -> Any:
        return float(w @ w), 2 * w

    hypothesis.settings.register_profile(
        "gradtest-tests-7", database=None, deadline=None, max_examples=7
    )
    previous = hypothesis.settings.get_current_profile_name()
    hypothesis.settings.load_profile("gradtest-tests-7")
    try:
        assert gradtest.run_gradcheck(quadratic).n_examples == 7
        assert gradtest.run_gradcheck(quadratic, max_examples=4).n_examples == 4
    finally:
        hypothesis.settings.load_profile(previous)


def test_descent_check_runs_on_passing_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    @gradtest.gradcheck("w", descent=True, settings=QUIET, w=np.array([0.5, 1.0]))
    def quadratic(w: Any) -> Any:
        return float(w @ w), 2 * w

    assert gradtest.run_gradcheck(quadratic).verdict == "pass"

    class Failed:
        verdict = "fail"

        def __str__(self) -> str:
            return "DESCENT REPORT"

    monkeypatch.setattr(_runner, "_load_check_descent", lambda: lambda *a, **k: Failed())
    outcome = gradtest.run_gradcheck(quadratic)
    assert outcome.verdict == "fail"
    assert "descent check failed" in outcome.report and "DESCENT REPORT" in outcome.report


def test_descent_without_check_descent_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    @gradtest.gradcheck("w", descent=True, settings=QUIET, w=np.ones(2))
    def quadratic(w: Any) -> Any:
        return float(w @ w), 2 * w

    monkeypatch.setitem(__import__("sys").modules, "gradtest._descent", None)
    with pytest.raises(gradtest.InvalidArgumentError, match="descent=True needs"):
        quadratic()


def test_a_dict_of_parameter_arrays_is_checked_entry_by_entry() -> None:
    """``wrt="params"`` with a ``st.fixed_dictionaries`` strategy, as ``check_grad`` allows."""
    params = st.fixed_dictionaries({"W1": gs.weights((2, 3)), "b1": gs.weights(3)})

    def layer(params: Any, X: Any, factor: float) -> Any:
        h = X @ params["W1"] + params["b1"]
        return float(np.sum(h**2)), {"W1": X.T @ (2 * h), "b1": factor * h.sum(axis=0)}

    good = gradtest.gradcheck(wrt="params", params=params, X=gs.data((4, 2)), factor=2.0)(layer)
    bad = gradtest.gradcheck(wrt="params", params=params, X=gs.data((4, 2)), factor=1.0)(layer)
    assert gradtest.run_gradcheck(good, max_examples=10, seed=0).verdict == "pass"
    outcome = gradtest.run_gradcheck(bad, max_examples=10, seed=0)
    assert outcome.verdict == "fail"
    assert outcome.result is not None and outcome.result.worst is not None
    assert outcome.result.worst.label.startswith("params.b1[")
    namespace: dict[str, Any] = {"np": np}
    assert outcome.example_text is not None
    exec(outcome.example_text, namespace)  # the printed input is Python that rebuilds it
    assert set(namespace["params"]) == {"W1", "b1"}
    assert namespace["params"]["W1"].shape == (2, 3)


def test_a_printed_input_with_nan_and_inf_is_python_that_rebuilds_it() -> None:
    """Data with missing entries (NaN) or infinities prints as ``np.nan``/``np.inf``, not as
    ``nan``/``inf``, which are no Python names: the input is still ready to paste."""
    X = np.array([[1.5, np.nan], [-np.inf, 2.0]])

    @gradtest.gradcheck(
        wrt="w", settings=QUIET, w=gs.weights(2), X=X, fill=float("nan"), cap=np.float32(np.inf)
    )
    def masked_loss(w: Any, X: Any, fill: float, cap: Any) -> Any:
        # the observed entries only; the gradient forgets the factor 2 of the square
        Z = np.where(np.isfinite(X), X, 0.0)
        r = Z @ w
        return float(np.sum(r**2)), Z.T @ r

    outcome = gradtest.run_gradcheck(masked_loss, max_examples=20, seed=0)
    assert outcome.verdict == "fail" and outcome.example_text is not None
    assert "X = np.array([[1.5, np.nan], [-np.inf, 2.0]])" in outcome.example_text
    namespace: dict[str, Any] = {"np": np}
    exec(outcome.example_text, namespace)
    np.testing.assert_array_equal(namespace["X"], X)
    assert np.isnan(namespace["fill"]) and type(namespace["fill"]) is float
    assert namespace["cap"] == np.inf and namespace["cap"].dtype == np.float32
