"""gradtest.jax.check_function: custom_vjp / custom_jvp rules, pytrees, jit, both modes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402

import gradtest  # noqa: E402
from gradtest.jax import check_function  # noqa: E402

BUGS = ("sign", "factor", "transposed", "missing_term")


def make_softmax(bug: str | None = None) -> Any:
    @jax.custom_vjp
    def softmax(x: Any) -> Any:
        return jax.nn.softmax(x, axis=-1)

    def fwd(x: Any) -> Any:
        y = softmax(x)
        return y, y

    def bwd(y: Any, g: Any) -> Any:
        inner = jnp.sum(g * y, axis=-1, keepdims=True)
        if bug == "missing_term":
            return (y * g,)
        dx = y * (g - inner)
        if bug == "transposed":
            dx = dx.T
        return ({"sign": -dx, "factor": 2 * dx}.get(bug or "", dx),)

    softmax.defvjp(fwd, bwd)
    return softmax


def make_layer_norm(bug: str | None = None) -> Any:
    @jax.custom_vjp
    def layer_norm(x: Any, gamma: Any) -> Any:
        mu = x.mean(-1, keepdims=True)
        sigma = jnp.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + 1e-5)
        return (x - mu) / sigma * gamma

    def fwd(x: Any, gamma: Any) -> Any:
        mu = x.mean(-1, keepdims=True)
        sigma = jnp.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + 1e-5)
        xhat = (x - mu) / sigma
        return xhat * gamma, (xhat, sigma, gamma)

    def bwd(res: Any, g: Any) -> Any:
        xhat, sigma, gamma = res
        gx = g * gamma
        correction = 0 if bug == "missing_term" else xhat * (gx * xhat).mean(-1, keepdims=True)
        dx = (gx - gx.mean(-1, keepdims=True) - correction) / sigma
        dgamma = (g * xhat).sum(0)
        if bug == "sign":
            dx = -dx
        if bug == "factor":
            dgamma = 2 * dgamma
        if bug == "transposed":
            dx = dx.T
        return dx, dgamma

    layer_norm.defvjp(fwd, bwd)
    return layer_norm


def make_attention(bug: str | None = None) -> Any:
    @jax.custom_vjp
    def attention(q: Any, k: Any, v: Any) -> Any:
        p = jax.nn.softmax(q @ k.T / jnp.sqrt(q.shape[-1]), axis=-1)
        return p @ v

    def fwd(q: Any, k: Any, v: Any) -> Any:
        p = jax.nn.softmax(q @ k.T / jnp.sqrt(q.shape[-1]), axis=-1)
        return p @ v, (q, k, v, p)

    def bwd(res: Any, g: Any) -> Any:
        q, k, v, p = res
        scale = 1 / jnp.sqrt(q.shape[-1])
        dv = p @ g if bug == "transposed" else p.T @ g
        dp = g @ v.T
        ds = p * dp if bug == "missing_term" else p * (dp - (dp * p).sum(-1, keepdims=True))
        dq, dk = ds @ k * scale, ds.T @ q * scale
        if bug == "sign":
            dk = -dk
        if bug == "factor":
            dq = 2 * dq
        return dq, dk, dv

    attention.defvjp(fwd, bwd)
    return attention


def arguments(kind: str) -> tuple[Any, ...]:
    rng = np.random.default_rng(0)
    if kind == "softmax":
        return (rng.standard_normal((3, 3)),)
    if kind == "layer_norm":
        return rng.standard_normal((3, 3)), 1 + 0.5 * rng.standard_normal(3)
    return tuple(rng.standard_normal((3, 2)) for _ in range(3))


MAKERS = {"softmax": make_softmax, "layer_norm": make_layer_norm, "attention": make_attention}


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_correct_custom_vjp_passes(kind: str) -> None:
    result = check_function(MAKERS[kind](), *arguments(kind), seed=0)
    assert result.verdict == "pass", str(result)
    assert isinstance(result, gradtest.GradCheckResult)


@pytest.mark.parametrize("bug", BUGS)
@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_custom_vjp_with_a_bug_fails(kind: str, bug: str) -> None:
    result = check_function(MAKERS[kind](bug), *arguments(kind), seed=0)
    assert result.verdict == "fail", str(result)
    assert result.failing()


def test_names_from_signature_and_the_failing_argument() -> None:
    result = check_function(make_attention("sign"), *arguments("attention"), seed=0)
    assert result.wrt == ("q", "k", "v")
    assert {e.array for e in result.failing()} == {"k"}


def test_pytree_parameters_are_keyed_by_path() -> None:
    def loss(params: Any, x: Any) -> Any:
        h = jnp.tanh(x @ params["layers"][0]["w"] + params["layers"][0]["b"])
        return jnp.sum(make_softmax()(h @ params["head"]) ** 2)

    rng = np.random.default_rng(1)
    params = {
        "head": rng.standard_normal((3, 2)),
        "layers": [{"b": rng.standard_normal(3), "w": rng.standard_normal((2, 3))}],
    }
    x = rng.standard_normal((4, 2))
    result = check_function(loss, params, x, argnums=0, seed=0)
    assert result.verdict == "pass", str(result)
    assert result.kind == "gradient"
    assert result.wrt == ("head", "layers.0.b", "layers.0.w")
    assert result.entries[0].array == "head"
    both = check_function(loss, params, x, seed=0)
    assert both.wrt == ("params.head", "params.layers.0.b", "params.layers.0.w", "x")


def test_pytree_with_a_bug_points_at_the_leaf() -> None:
    def loss(params: Any) -> Any:
        return jnp.sum(make_softmax("factor")(params["a"]) * params["c"]) + jnp.sum(
            params["b"] ** 2
        )

    rng = np.random.default_rng(2)
    params = {"a": rng.standard_normal(4), "b": rng.standard_normal(2), "c": rng.standard_normal(4)}
    result = check_function(loss, params, seed=0)
    assert result.verdict == "fail", str(result)
    assert {e.array for e in result.failing()} == {"a"}


def test_jitted_function() -> None:
    fn = jax.jit(make_layer_norm())
    result = check_function(fn, *arguments("layer_norm"), seed=0)
    assert result.verdict == "pass", str(result)
    bad = check_function(jax.jit(make_layer_norm("sign")), *arguments("layer_norm"), seed=0)
    assert bad.verdict == "fail"


def make_softplus_jvp(bug: bool = False) -> Any:
    @jax.custom_jvp
    def softplus(x: Any) -> Any:
        return jnp.logaddexp(x, 0.0)

    @softplus.defjvp
    def rule(primals: Any, tangents: Any) -> Any:
        (x,), (t,) = primals, tangents
        slope = jax.nn.sigmoid(x) * (0.5 if bug else 1.0)
        return softplus(x), slope * t

    return softplus


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_custom_jvp_in_both_modes(mode: str) -> None:
    x = np.array([-1.0, 0.3, 2.0])
    good = check_function(make_softplus_jvp(), x, mode=mode, seed=0)
    assert good.verdict == "pass", str(good)
    bad = check_function(make_softplus_jvp(bug=True), x, mode=mode, seed=0)
    assert bad.verdict == "fail", str(bad)


def test_forward_mode_on_custom_vjp_is_a_clear_error() -> None:
    with pytest.raises(gradtest.InvalidArgumentError, match="custom_vjp"):
        check_function(make_softmax(), *arguments("softmax"), mode="forward", seed=0)


def test_float32_leaves_run_in_float64_and_x64_is_restored() -> None:
    was = bool(jax.config.jax_enable_x64)
    x = np.random.default_rng(3).standard_normal((3, 3)).astype(np.float32)
    seen: list[Any] = []

    def f(x: Any) -> Any:
        seen.append(jnp.asarray(x).dtype)
        return make_softmax()(x)

    result = check_function(f, x, seed=0)
    assert result.verdict == "pass", str(result)
    # the check's evaluations are float64; one derivative at float32 is compared with them
    assert seen.count(jnp.dtype("float32")) == 1
    assert set(seen) == {jnp.dtype("float64"), jnp.dtype("float32")}
    assert result.dtype == "float64"
    (note,) = [n for n in result.diagnosis.notes if n.startswith("precision: leaf")]
    assert "float32" in note and "consistent with round-off" in note
    assert bool(jax.config.jax_enable_x64) == was
    if not was:
        assert any("jax_enable_x64 was off" in n for n in result.diagnosis.notes)


def test_pytree_output_is_flattened() -> None:
    def f(x: Any) -> Any:
        return {"s": jnp.sin(x), "total": jnp.sum(x**2)}

    result = check_function(f, np.array([0.1, 0.7]), seed=0)
    assert result.verdict == "pass", str(result)
    assert len(result.entries) == 3 * 2


def test_non_float_leaves_are_passed_through() -> None:
    def f(params: Any) -> Any:
        return jnp.sum(params["w"] ** params["power"])

    result = check_function(f, {"power": 3, "w": np.array([0.5, 1.5])}, seed=0)
    assert result.verdict == "pass", str(result)
    assert result.wrt == ("w",)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: check_function(3, np.ones(2)), "f must be callable"),
        (lambda: check_function(jnp.sin), "args is empty"),
        (lambda: check_function(jnp.sum, np.ones(2), argnums=2), r"range\(1\)"),
        (lambda: check_function(jnp.sum, {"n": 3}), "no floating-point leaf"),
        (lambda: check_function(jnp.sum, np.ones(2), mode="rev"), "mode must be"),
        (lambda: check_function(lambda x: x * 1j, np.ones(2)), "complex"),
    ],
)
def test_bad_arguments(call: Any, match: str) -> None:
    with pytest.raises(gradtest.InvalidArgumentError, match=match):
        call()


def test_jit_option_compiles_the_check() -> None:
    x = np.array([0.5, -1.0, 2.0])
    result = check_function(make_softplus_jvp(bug=True), x, jit=True, seed=0)
    assert result.verdict == "fail", str(result)
    with pytest.raises(gradtest.InvalidArgumentError, match="jit must be"):
        check_function(jnp.sum, x, jit="yes", seed=0)


# ------------------------------------------- a bwd rule that ignores its cotangent


def make_cube(forget_g: bool, keep: str = "sum") -> Any:
    """``sum(x**3)`` (or ``x**3``, or the sum kept as shape (1,)) as a custom_vjp."""

    @jax.custom_vjp
    def cube(x: Any) -> Any:
        y = x**3
        return {"sum": jnp.sum(y), "one": jnp.sum(y).reshape(1), "elementwise": y}[keep]

    def fwd(x: Any) -> Any:
        return cube(x), x

    def bwd(x: Any, g: Any) -> Any:
        local = 3 * x**2
        if keep != "elementwise":
            g = jnp.sum(g)
        return (local if forget_g else g * local,)

    cube.defvjp(fwd, bwd)
    return cube


@pytest.mark.parametrize("keep", ["sum", "one", "elementwise"])
def test_bwd_ignoring_its_cotangent_fails(keep: str) -> None:
    x = np.array([0.5, -1.0, 2.0, 0.3])
    result = check_function(make_cube(True, keep), x, seed=0)
    assert result.verdict == "fail", str(result)
    notes = [n for n in result.diagnosis.notes if "does not scale with the incoming" in n]
    assert notes and "ignores grad_output" in notes[0]
    good = check_function(make_cube(False, keep), x, seed=0)
    assert good.verdict == "pass", str(good)


def test_custom_jvp_rule_ignoring_its_tangent_fails_on_a_scalar() -> None:
    @jax.custom_jvp
    def cube(x: Any) -> Any:
        return x**3

    @cube.defjvp
    def rule(primals: Any, tangents: Any) -> Any:
        (x,), _ = primals, tangents
        return x**3, 3 * x**2  # forgot "* t"

    for mode in ("forward", "reverse"):
        result = check_function(cube, 0.7, mode=mode, seed=0)
        assert result.verdict == "fail", (mode, str(result))


# -------------------------------------------------- the user's precision decides too


def make_naive_lse() -> Any:
    @jax.custom_vjp
    def lse(x: Any) -> Any:
        return jnp.log(jnp.sum(jnp.exp(x)))

    lse.defvjp(lambda x: (lse(x), x), lambda x, g: (g * jnp.exp(x) / jnp.sum(jnp.exp(x)),))
    return lse


def test_float32_bwd_that_overflows_fails() -> None:
    x = jnp.array([100.0, 90.0, 50.0], dtype=jnp.float32)
    result = check_function(make_naive_lse(), x, seed=0)
    assert result.verdict == "fail", str(result)
    assert "the float32 backward (vjp) is not finite (x) where the float64 one is" in str(result)
    assert check_function(make_naive_lse(), np.asarray(x, dtype=np.float64), seed=0).passed


def test_float32_bwd_with_a_dtype_dependent_sign_fails() -> None:
    @jax.custom_vjp
    def cube(x: Any) -> Any:
        return jnp.sum(x**3)

    def bwd(x: Any, g: Any) -> Any:
        gx = g * 3 * x**2
        return (-gx if x.dtype == jnp.float32 else gx,)

    cube.defvjp(lambda x: (cube(x), x), bwd)
    x = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    result = check_function(cube, x, seed=0)
    assert result.verdict == "fail", str(result)
    assert "the float32 backward (vjp) differs from the float64 one by 2.0e+00" in str(result)


def _dropout_loss(params: Any, x: Any, y: Any, key: Any) -> Any:
    h = jnp.tanh(x @ params["w"])
    keep = jax.random.bernoulli(key, 0.8, h.shape)  # uniform draws of the default dtype
    return jnp.mean((jnp.where(keep, h / 0.8, 0.0) @ params["v"] - y) ** 2)


@pytest.mark.parametrize("jitted", [False, True])
def test_a_correct_float32_loss_drawing_from_a_key_passes(jitted: bool) -> None:
    """With x64 on, ``jax.random`` draws float64 numbers, not the float32 ones of the
    user's call: the dropout mask differed, and a correct loss was failed for a float32
    backward "6.4e-01" away from the float64 one (of another function)."""
    k1, k2, k3, k4, key = jax.random.split(jax.random.PRNGKey(0), 5)
    params = {"v": jax.random.normal(k1, (32, 1)) / 6, "w": jax.random.normal(k2, (8, 32)) / 3}
    x, y = jax.random.normal(k3, (16, 8)), jax.random.normal(k4, (16, 1))
    f = jax.jit(_dropout_loss) if jitted else _dropout_loss
    with jax.enable_x64(False):  # JAX's default, whatever JAX_ENABLE_X64 says
        result = check_function(f, params, x, y, key, argnums=0, seed=0, name="_dropout_loss")
    assert result.verdict == "pass", str(result)
    (note,) = [n for n in result.diagnosis.notes if "itself returns values" in n]
    assert note.startswith("precision: _dropout_loss itself returns values with jax_enable_x64 off")
    assert "its float32 derivative is compared with x64 on" in note
    (note,) = [n for n in result.diagnosis.notes if n.startswith("precision: leaf")]
    assert "consistent with round-off" in note


def test_a_float32_sign_flip_drawing_from_a_key_still_fails() -> None:
    @jax.custom_vjp
    def noisy(x: Any, key: Any) -> Any:
        return jnp.sum(x**3 + jax.random.normal(key, x.shape))

    def bwd(x: Any, g: Any) -> Any:
        gx = g * 3 * x**2
        return (-gx if x.dtype == jnp.float32 else gx, None)

    noisy.defvjp(lambda x, key: (noisy(x, key), x), bwd)
    x = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    assert check_function(noisy, x, jax.random.PRNGKey(0), argnums=0, seed=0).verdict == "fail"


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_leaves_are_checked(dtype: str) -> None:
    """A bfloat16 array was refused: "hold no floating-point leaf to check"."""
    x = jnp.asarray([[0.5, -1.0, 2.0], [0.25, 1.5, -0.75]], dtype=dtype)
    good = check_function(make_softmax(), x, seed=0)
    assert good.verdict == "pass", str(good)
    assert good.wrt == ("x",)
    (note,) = [n for n in good.diagnosis.notes if n.startswith("precision: leaf")]
    assert f"leaf x is {dtype}" in note and "consistent with round-off" in note
    bad = check_function(make_softmax("sign"), x, seed=0)
    assert bad.verdict == "fail", str(bad)
    assert "sign flipped" in bad.diagnosis.summary


def test_a_saturated_float32_softmax_passes_below_float32_resolution() -> None:
    """As in the torch adapter: max|g| = 3.9e-08 where float32 resolves about 2e-08."""
    z = np.array(
        [
            [-8.026381492614746, 1.162428617477417, 11.199350357055664],
            [4.23646879196167, 6.00322151184082, -2.007751703262329],
            [-7.130098342895508, 4.51965856552124, 4.27857780456543],
            [3.4444046020507812, 4.424928665161133, 8.853215217590332],
        ],
        dtype=np.float32,
    )  # 5 * torch.randn(4, 3) of seed 4: softmax(z zᵀ) is saturated
    result = check_function(lambda z: jax.nn.softmax(z @ z.T, -1).sum(0), z, seed=0)
    assert result.verdict == "pass", str(result)
    assert "below what float32 resolves" in " ".join(result.diagnosis.notes)


def _tanh_mlp(params: Any, x: Any, labels: Any) -> Any:
    h = jnp.tanh(x @ params["w1"] + params["b1"])
    logits = h @ params["w2"]
    return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(labels.shape[0]), labels])


@pytest.mark.parametrize("seed", range(3))
def test_correct_float32_functions_pass(seed: int) -> None:
    key = jax.random.PRNGKey(seed)
    k1, k2, k3, k4 = jax.random.split(key, 4)
    x = 10 * jax.random.normal(k1, (4, 7))  # JAX's default float32
    assert x.dtype == jnp.float32
    cases = [
        (make_softmax(), (x,), None),
        (lambda x: jax.nn.logsumexp(100 * x, axis=-1), (x,), None),
        (lambda x: jnp.sum(jax.nn.log_softmax(x)[:, 0]), (x,), None),
        (make_layer_norm(), (x, jnp.ones(7)), None),
        (
            _tanh_mlp,
            (
                {
                    "b1": jnp.zeros(5),
                    "w1": jax.random.normal(k2, (7, 5)),
                    "w2": jax.random.normal(k3, (5, 3)),
                },
                x,
                jax.random.randint(k4, (4,), 0, 3),
            ),
            0,
        ),
    ]
    for f, args, argnums in cases:
        result = check_function(f, *args, argnums=argnums, seed=seed)
        assert result.verdict == "pass", str(result)
        (note,) = [n for n in result.diagnosis.notes if n.startswith("precision: leaf")]
        assert "consistent with round-off" in note


# -------------------------------------------------------------------------- errors


def test_f_failing_on_its_first_call_is_a_function_evaluation_error() -> None:
    def broken(w: Any) -> Any:
        return w.foo()

    with pytest.raises(gradtest.FunctionEvaluationError, match="broken raised AttributeError") as e:
        check_function(broken, np.array([1.0, 2.0]), seed=0)
    assert isinstance(e.value.__cause__, AttributeError)


def test_a_vjp_that_raises_is_named_as_the_vjp_of_f() -> None:
    @jax.custom_vjp
    def cube(x: Any) -> Any:
        return x**3

    def forward(x: Any) -> Any:
        return x**3, x

    def backward(x: Any, g: Any) -> Any:
        raise RuntimeError("vjp exploded")

    cube.defvjp(forward, backward)

    def f(w: Any) -> Any:
        return jnp.sum(cube(w))

    with pytest.raises(gradtest.FunctionEvaluationError) as e:
        check_function(f, np.array([1.0, 2.0]), seed=0)
    assert str(e.value).startswith("grad (the vjp of f) raised RuntimeError at x")
    assert "vjp exploded" in str(e.value)


def test_numpy_arguments_are_copies_for_f() -> None:
    w, order = np.array([0.5, 1.5, -0.2]), np.array([2, 0, 1])
    saved = w.copy(), order.copy()

    def f(w: Any, order: Any) -> Any:
        order.sort()  # writes to its (NumPy) argument
        return jnp.sum(w[order] ** 3)

    assert check_function(f, w, order, argnums=0, seed=0).passed
    assert np.array_equal(w, saved[0]) and np.array_equal(order, saved[1])
