"""Bad input: a clear error naming the argument, what was expected and what arrived."""

from __future__ import annotations

import re
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

import gradtest


def f_sq(x: Any) -> float:
    return float(np.sum(x**2))


def g_sq(x: Any) -> Any:
    return 2 * x


W = np.arange(12.0).reshape(3, 4) / 10

#: np.longdouble is more precise than float64 here (on some platforms it is float64 itself)
EXTENDED = pytest.mark.skipif(
    np.finfo(np.longdouble).eps >= np.finfo(np.float64).eps, reason="np.longdouble is float64"
)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"x": np.arange(3)}, r"x has integer dtype int64.*astype\(np.float64\)"),
        ({"x": np.array([1.0, np.nan])}, r"x is not finite: x\[1\] = nan"),
        ({"x": np.array([1.0, np.inf, 2.0])}, r"x is not finite: x\[1\] = inf"),
        ({"x": np.array([1 + 2j])}, r"x must have a real floating dtype .* got complex128"),
        ({"x": np.array([], dtype=float)}, r"x has no entries"),
        ({"x": "abc"}, r"x must be a floating-point ndarray, got str"),
        # (both raised from inside gradtest: a truth value of an array, a conversion to float)
        (
            {"x": np.ma.array([1.0, 2.0, 3.0], mask=[0, 1, 0])},
            r"x is a masked array: .* pass x.filled\(value\) or np.asarray\(x\)",
        ),
        (
            {"x": np.array([[1.0, 2.0]]).view(np.matrix)},
            r"x is an np.matrix .* pass np.asarray\(x\)",
        ),
        ({"x": {"W": np.ma.ones(2)}}, r"x\['W'\] is a masked array"),
        ({"x": {}}, r"x is an empty dict"),
        ({"x": {"W": np.arange(2)}}, r"x\['W'\] has integer dtype"),
        # a bool was 'integer dtype bool ... pass floats (3.0, not 3)'
        (
            {"x": [True, False]},
            r"^x holds booleans \(dtype bool\): True and False .* \(1\.0 and 0\.0\)",
        ),
        ({"x": np.array([True])}, r"^x holds booleans \(dtype bool\)"),
        ({"x": {"m": np.array([True])}}, r"^x\['m'\] holds booleans \(dtype bool\)"),
        # was accepted, rounded to float64, and warned 'only good to about 2.3e-13'
        pytest.param(
            {"x": np.ones(3, dtype=np.longdouble)},
            r"x has dtype float\d+ \(np.longdouble\), but gradtest checks float16, float32 or "
            r"float64 .* pass np.asarray\(x, dtype=np.float64\)$",
            marks=EXTENDED,
        ),
        pytest.param({"x": np.longdouble(2.0)}, r"x has dtype float\d+ ", marks=EXTENDED),
        pytest.param(
            {"x": {"W": np.ones(2, dtype=np.longdouble)}},
            r"x\['W'\] has dtype float\d+ .* pass np.asarray\(x\['W'\], dtype=np.float64\)$",
            marks=EXTENDED,
        ),
        pytest.param(
            {"x": (np.ones(2), np.ones(2, dtype=np.longdouble))},
            r"x\[1\] has dtype float\d+ ",
            marks=EXTENDED,
        ),
        (
            {"grad": lambda x: 2 * x.T, "x": W},
            r"has shape \(4, 3\) but x has shape \(3, 4\).*transpose",
        ),
        ({"grad": lambda x: (2 * x).ravel(), "x": W}, r"shape \(12,\) .* reshape it to \(3, 4\)"),
        ({"grad": lambda x: (2 * x).astype(complex), "x": np.ones(2)}, r"grad has complex dtype"),
        (
            {"grad": lambda x: [2 * x], "x": np.ones(2)},
            r"list of one array but x is a single array",
        ),
        # read only "grad has shape (2, 3) but x has shape (3,)"
        (
            {"grad": lambda x: (2 * x, 2 * x)},
            r"^grad returned a tuple of 2 arrays \(shapes \(3,\), \(3,\)\) where one array was "
            r"expected: x is a single array of shape \(3,\)",
        ),
        (
            {"grad": lambda x: [2 * x[:2], 2 * x[2:]]},
            r"^grad returned a list of 2 arrays \(shapes \(2,\), \(1,\)\) where one array",
        ),
        (
            {"fun": lambda x: x**2, "x": np.ones(3)},
            r"must return a scalar loss, got an array of shape \(3,\).*check_jacobian",
        ),
        (
            {"fun": lambda x: (f_sq(x), g_sq(x)), "x": np.ones(3)},
            r"tuple of length 2 .* pass grad=True",
        ),
        (
            {"fun": lambda x: float("nan"), "x": np.ones(3)},
            r"fun is not finite at x: .* returned nan$",
        ),
        ({"fun": lambda x: "loss", "x": np.ones(3)}, r"must return a real number, got str"),
        ({"fun": 3.0, "x": np.ones(3)}, r"fun must be callable, got float"),
        ({"grad": "2x", "x": np.ones(3)}, r"grad must be a callable .* or True .* got str"),
        ({"rtol": -1.0}, r"rtol must be None or a finite number >= 0, got -1.0"),
        ({"atol": float("nan")}, r"atol must be None or a finite number >= 0, got nan"),
        ({"method": "backward"}, r"method must be one of .*'central'.* got 'backward'"),
        ({"step": 2.0}, r"step must be None or a relative step in \(0, 1\), got 2.0"),
        ({"seed": -3}, r"seed must be None or an int >= 0, got -3"),
        ({"args": [1, 2]}, r"args must be a tuple .* got list"),
        # the class itself raised AttributeError '_shutdown_lock' from inside submit
        (
            {"executor": ThreadPoolExecutor},
            r"executor must be an Executor instance, got the class ThreadPoolExecutor: "
            r"write executor=ThreadPoolExecutor\(\)",
        ),
    ],
)
def test_bad_input_is_named(kwargs: dict[str, Any], match: str) -> None:
    call = {"fun": f_sq, "grad": g_sq, "x": np.ones(3)}
    call.update(kwargs)
    fun, grad, x = call.pop("fun"), call.pop("grad"), call.pop("x")
    with pytest.raises(gradtest.InvalidArgumentError, match=match) as info:
        gradtest.check_grad(fun, grad, x, **call)
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)


@pytest.mark.parametrize("method", ["forward", "central4", "richardson", "complex"])
def test_a_method_that_random_directions_do_not_use_is_refused(method: str) -> None:
    """mode="directions" checked central differences along random directions while the
    report said "(forward differences, float64)": method= did nothing."""
    with pytest.raises(
        gradtest.InvalidArgumentError,
        match=rf"method='{method}' is a stencil for the check of every entry: mode='directions'",
    ):
        gradtest.check_grad(f_sq, g_sq, np.ones(20), method=method, mode="directions")
    # mode="auto" switched to random directions when the budget was too small for them all
    with pytest.raises(
        gradtest.InvalidArgumentError,
        match=rf"budget=10 is too small for method='{method}': checking every one of the 20 ",
    ):
        gradtest.check_grad(f_sq, g_sq, np.ones(20), method=method, budget=10)
    with pytest.raises(gradtest.InvalidArgumentError, match=r"mode='directions'"):
        gradtest.gradcheck(wrt="w", w=np.ones(2), method=method, mode="directions")


@pytest.mark.parametrize("scalar", [2.0, np.float64(2.0), np.float32(2.0), np.float16(2.0)])
def test_a_numpy_float_scalar_is_a_point_like_a_python_float(scalar: Any) -> None:
    """np.float64(2.0) was accepted (a float subclass), np.float32(2.0) refused as "x must
    be a floating-point ndarray, got float32"."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # (float32, float16: lower precision)
        result = gradtest.check_grad(f_sq, g_sq, scalar, seed=0)
    assert result.verdict == "pass" and result.dtype == np.asarray(scalar).dtype.name
    with pytest.raises(gradtest.InvalidArgumentError, match=r"x has integer dtype int64"):
        gradtest.check_grad(f_sq, g_sq, np.int64(2), seed=0)


def test_vectorized_and_an_executor_are_not_combined() -> None:
    """The executor was ignored (vectorized won): a silent no-op option is an error."""
    with (
        ThreadPoolExecutor(1) as pool,
        pytest.raises(
            gradtest.InvalidArgumentError,
            match=r"vectorized=True and executor=ThreadPoolExecutor\(\.\.\.\) cannot be combined",
        ),
    ):
        gradtest.check_grad(
            lambda x: np.sum(x**2, axis=-1), g_sq, np.ones(3), vectorized=True, executor=pool
        )


@pytest.mark.parametrize("pool", [ThreadPoolExecutor, ProcessPoolExecutor])
def test_an_executor_that_is_shut_down_is_named(pool: Any) -> None:
    """A pool used after its `with` block raised RuntimeError 'cannot schedule new futures
    after shutdown' from inside gradtest."""
    executor = pool(1)
    executor.shutdown()
    with pytest.raises(
        gradtest.InvalidArgumentError,
        match=rf"executor={pool.__name__}\(\.\.\.\) is shut down \(RuntimeError: cannot "
        r"schedule new futures after shutdown\): pass an executor that is running",
    ) as info:
        gradtest.check_grad(f_sq, g_sq, np.ones(3), executor=executor, mode="full")
    assert isinstance(info.value.__cause__, RuntimeError)


def none_away_from_ones(x: Any) -> Any:
    """The loss at x = ones, None elsewhere (a function with a missing return)."""
    return np.sum(x**2, axis=-1) if np.all(x == 1.0) else None


@pytest.mark.parametrize(
    ("fun", "options", "where"),
    [
        # read "got an array of shape () and dtype object"
        (none_away_from_ones, {"executor": "threads"}, "a point near x"),
        # read "with vectorized=True, ... it returned shape ()"
        (lambda x: None, {"vectorized": True}, "x"),
        (none_away_from_ones, {"vectorized": True}, "a stack of 1 points starting at a point near"),
        # as the plain path says it
        (none_away_from_ones, {}, "a point near x"),
    ],
)
def test_none_from_fun_is_said_to_be_none(fun: Any, options: dict[str, Any], where: str) -> None:
    with ThreadPoolExecutor(1) as pool:
        if options.get("executor") == "threads":
            options = {"executor": pool}
        with pytest.raises(
            gradtest.InvalidArgumentError,
            match=rf" \(at {where}.*\) must return a real number, got NoneType None$",
        ):
            gradtest.check_grad(fun, g_sq, np.ones(3), mode="full", **options)


@pytest.mark.parametrize(
    ("grad_out", "match"),
    [
        ((np.ones(2),), r"x is a dict with keys \['W', 'b'\]"),
        ({"W": np.ones(2)}, r"missing: \['b'\]"),
        ({"W": np.ones(2), "b": np.ones(1), "c": np.ones(1)}, r"unexpected: \['c'\]"),
        ({"W": np.ones(3), "b": np.ones(1)}, r"grad for W has shape \(3,\) but W has shape \(2,\)"),
    ],
)
def test_gradient_structure_must_match_a_dict(grad_out: Any, match: str) -> None:
    x = {"W": np.ones(2), "b": np.ones(1)}
    with pytest.raises(gradtest.InvalidArgumentError, match=match):
        gradtest.check_grad(lambda p: float(np.sum(p["W"]) + p["b"][0]), lambda p: grad_out, x)


def test_dict_keys_that_print_alike_are_told_apart() -> None:
    """With keys 1 and '1' the message read "x has keys ['1', '1'] (missing: ['1'])"."""
    x = {1: np.ones(2), "1": np.ones(2)}
    with pytest.raises(
        gradtest.InvalidArgumentError,
        match=r"^grad returned a dict with keys \[1\] but x has keys \[1, '1'\] "
        r"\(missing: \['1'\], unexpected: \[\]\)$",
    ):
        gradtest.check_grad(lambda p: 1.0, lambda p: {1: np.ones(2)}, x)
    with pytest.raises(
        gradtest.InvalidArgumentError,
        match=r"^grad returned a dict with keys \['1', 1\] but x is a single array$",
    ):
        gradtest.check_grad(f_sq, lambda x: {1: x, "1": x}, np.ones(2))


def test_gradient_structure_must_match_a_tuple() -> None:
    with pytest.raises(gradtest.InvalidArgumentError, match=r"tuple of 2 arrays"):
        gradtest.check_grad(lambda t: 1.0, lambda t: (np.ones(2),), (np.ones(2), np.ones(2)))


def test_jacobian_shape_is_checked() -> None:
    with pytest.raises(
        gradtest.InvalidArgumentError, match=r"expected a real array of shape \(2, 3\)"
    ):
        gradtest.check_jacobian(lambda x: x[:2] * 2, lambda x: np.ones((3, 2)), np.ones(3))


@pytest.mark.parametrize("shape", [(0,), (2, 0)])
def test_a_jacobian_of_a_function_without_outputs_is_refused(shape: tuple[int, ...]) -> None:
    # it raised numpy's "cannot reshape array of size 0 into shape (0,newaxis)"
    with pytest.raises(
        gradtest.InvalidArgumentError,
        match=re.escape(
            f"<lambda> (at x) returned an array with no entries (shape {shape}): there is "
            "no derivative to check"
        ),
    ):
        gradtest.check_jacobian(
            lambda x: np.zeros(shape), lambda x: np.zeros((*shape, 3)), np.ones(3), seed=0
        )


def test_a_raising_function_names_the_evaluation_and_the_entry() -> None:
    x = np.array([1.0, 2.0, 3.0])
    original = x.copy()
    calls = []

    def fragile(v):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) > 3:  # after the set-up's calls at x
            v[0] = 99.0  # scribbles on its input: must never reach the user's array
        if len(calls) > 22:
            raise ZeroDivisionError("boom")
        return float(np.sum(v**2))

    with pytest.raises(gradtest.FunctionEvaluationError) as info:
        gradtest.check_grad(fragile, lambda v: 2 * v, x, seed=0)
    message = str(info.value)
    assert "fragile raised ZeroDivisionError at evaluation 23" in message
    assert "(entries: x[" in message or "(noise: " in message
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert isinstance(info.value, RuntimeError)
    assert np.array_equal(x, original) and x.tobytes() == original.tobytes()


def test_user_arrays_are_never_modified_even_by_a_writing_function() -> None:
    params = {"W": np.linspace(0.1, 1, 6).reshape(2, 3), "b": np.array([0.5, -0.5])}
    before = {k: v.copy() for k, v in params.items()}

    def writer(p):  # type: ignore[no-untyped-def]
        p["W"] *= 1.0  # in place, but harmless
        return float(np.sum(p["W"] ** 2) + np.sum(p["b"]))

    result = gradtest.check_grad(
        writer, lambda p: {"W": 2 * p["W"], "b": np.ones(2)}, params, seed=0
    )
    assert result.verdict == "pass"
    for k in params:
        assert params[k].tobytes() == before[k].tobytes()


def test_a_function_that_changes_its_input_is_reported() -> None:
    def mutating(v):  # type: ignore[no-untyped-def]
        v += 1.0
        return float(np.sum(v))

    with pytest.raises(
        gradtest.FunctionEvaluationError,
        match=r"modified its input in place \(x\[0\] changed from 1\.0 to \d+\.0\)",
    ):
        gradtest.check_grad(mutating, lambda v: np.ones_like(v), np.ones(3), seed=0)


def test_a_raising_gradient_is_wrapped() -> None:
    def bad_grad(x):  # type: ignore[no-untyped-def]
        raise KeyError("W")

    with pytest.raises(
        gradtest.FunctionEvaluationError, match=r"grad \(bad_grad\) raised KeyError"
    ):
        gradtest.check_grad(f_sq, bad_grad, np.ones(2))


def test_nondeterministic_function_is_an_error_naming_the_spread() -> None:
    rng = np.random.default_rng(0)

    def dropout_loss(x):  # type: ignore[no-untyped-def]
        mask = rng.random(x.shape) > 0.5
        return float(np.sum((x * mask) ** 2))

    with pytest.raises(gradtest.NondeterminismError, match=r"not deterministic.*spread"):
        gradtest.check_grad(dropout_loss, lambda x: 2 * x, np.ones(5))


def test_a_fun_that_writes_to_its_data_is_told_so_not_called_random() -> None:
    """A loss that centres its data in place (X -= 1) changed the user's X at every call;
    the check said "fix the random seed (dropout, data sampling)"."""
    X = np.ones(3)
    data = np.arange(4.0)

    def centring_loss(w, X, data):  # type: ignore[no-untyped-def]
        X += 1.0  # the bug: a write to the user's array
        return float(w @ X)

    with pytest.raises(
        gradtest.NondeterminismError,
        match=r"centring_loss writes to its argument args\[0\] \(an array of shape \(3,\), "
        r"float64\).*Let fun work on a copy",
    ):
        gradtest.check_grad(centring_loss, lambda w, X, data: X, np.ones(3), args=(X, data))
    np.testing.assert_array_equal(data, np.arange(4.0))  # (the other argument: untouched)


def test_output_shape_must_not_change() -> None:
    def shifty(x):  # type: ignore[no-untyped-def]
        return x[: 2 if x[0] == 1.0 else 1] * 1.0

    with pytest.raises(gradtest.InvalidArgumentError, match="output shape must not depend on x"):
        gradtest.check_jacobian(shifty, lambda x: np.eye(2, 3), np.array([1.0, 2.0, 3.0]))


def test_grad_true_requires_a_pair() -> None:
    with pytest.raises(
        gradtest.InvalidArgumentError, match=r"tuple of length 3|\(value, gradient\)"
    ):
        gradtest.check_grad(lambda x: (1.0, x, x), True, np.ones(2))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("mode", ["full", "directions"])
def test_a_nan_in_the_gradient_is_a_wrong_gradient_not_bad_input(bad: float, mode: str) -> None:
    """A NaN (or an infinity: its step sweep raised IndexError) in the analytic gradient
    where fun is finite fails the check (issue 11)."""
    result = gradtest.check_grad(
        lambda x: float(x @ x), lambda x: np.array([2.0, bad, 2.0]), np.ones(3), seed=0, mode=mode
    )
    assert result.verdict == "fail"
    assert result.worst is not None and result.worst.label in ("x[1]", "x · v0")
    assert "not finite" in str(result) or f"analytic {bad}" in str(result)


def test_an_infinite_jacobian_entry_is_a_wrong_jacobian() -> None:
    result = gradtest.check_jacobian(
        lambda x: 2 * x[:2], lambda x: np.array([[np.inf, 0, 0], [0, 2.0, 0]]), np.ones(3), seed=0
    )
    assert result.verdict == "fail"
    assert result.worst is not None and result.worst.label == "d out[0] / d x[0]"


@pytest.mark.parametrize(
    ("jac", "got"),
    [(lambda x: None, "NoneType None for x (not numbers)"), (lambda x: "abc", "str 'abc' for x")],
)
def test_a_jacobian_that_is_no_numbers_is_described_by_what_arrived(jac: Any, got: str) -> None:
    with pytest.raises(gradtest.InvalidArgumentError) as e:
        gradtest.check_jacobian(lambda x: x**2, jac, np.ones(3))
    assert str(e.value).startswith(f"jac returned {got}")
    assert "expected a real array of shape (3, 3)" in str(e.value)
