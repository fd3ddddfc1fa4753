"""gradtest against torch.autograd.gradcheck and jax.test_util.check_grads on custom rules.

Three hand-written backward rules (a row softmax, a layer norm with a scale, single-head
attention), each correct and with four seeded bugs (a flipped sign, a factor of 2, a
transposed term, a missing term), at several random points. For each tool the script
counts bugs detected, false alarms on the correct rules (in float64 and in float32),
calls of the rule's forward and backward, and wall time.

Run::

    python benchmarks/bench_frameworks.py            # 3 points per case, markdown tables
    python benchmarks/bench_frameworks.py --points 1 # quicker

A tool "detects" a case when it reports a failure (gradtest: verdict ``fail``;
``gradcheck``: ``GradcheckError``; ``check_grads``: ``AssertionError``). gradtest may
also answer ``inconclusive``, counted separately.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import torch
from jax.test_util import check_grads

from gradtest.jax import check_function as gt_jax
from gradtest.torch import check_function as gt_torch

BUGS = ("sign", "factor", "transposed", "missing_term")
RULES = ("softmax", "layer_norm", "attention")


@dataclass
class Calls:
    forward: int = 0
    backward: int = 0


# ----------------------------------------------------------------------------- torch rules


def torch_rule(kind: str, bug: str | None, calls: Calls) -> Callable[..., Any]:
    """``Function.apply`` of one custom rule; ``calls`` counts its forward and backward."""

    class Softmax(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            calls.forward += 1
            y = torch.softmax(x, dim=-1)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            calls.backward += 1
            (y,) = ctx.saved_tensors
            if bug == "missing_term":
                return y * g
            dx = y * (g - (g * y).sum(-1, keepdim=True))
            if bug == "transposed":
                return dx.T
            return {"sign": -dx, "factor": 2 * dx}.get(bug or "", dx)

    class LayerNorm(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, gamma: Any) -> Any:
            calls.forward += 1
            mu = x.mean(-1, keepdim=True)
            sigma = torch.sqrt(((x - mu) ** 2).mean(-1, keepdim=True) + 1e-5)
            xhat = (x - mu) / sigma
            ctx.save_for_backward(xhat, sigma, gamma)
            return xhat * gamma

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            calls.backward += 1
            xhat, sigma, gamma = ctx.saved_tensors
            gx = g * gamma
            corr = 0 if bug == "missing_term" else xhat * (gx * xhat).mean(-1, keepdim=True)
            dx = (gx - gx.mean(-1, keepdim=True) - corr) / sigma
            dgamma = (g * xhat).sum(0)
            if bug == "sign":
                dx = -dx
            if bug == "factor":
                dgamma = 2 * dgamma
            if bug == "transposed":
                dx = dx.T
            return dx, dgamma

    class Attention(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, q: Any, k: Any, v: Any) -> Any:
            calls.forward += 1
            scale = 1 / math.sqrt(q.shape[-1])
            p = torch.softmax(q @ k.T * scale, dim=-1)
            ctx.save_for_backward(q, k, v, p)
            return p @ v

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            calls.backward += 1
            q, k, v, p = ctx.saved_tensors
            scale = 1 / math.sqrt(q.shape[-1])
            dv = p @ g if bug == "transposed" else p.T @ g
            dp = g @ v.T
            ds = p * dp if bug == "missing_term" else p * (dp - (dp * p).sum(-1, keepdim=True))
            dq, dk = ds @ k * scale, ds.T @ q * scale
            if bug == "sign":
                dk = -dk
            if bug == "factor":
                dq = 2 * dq
            return dq, dk, dv

    cls = {"softmax": Softmax, "layer_norm": LayerNorm, "attention": Attention}[kind]
    return cls.apply


# ----------------------------------------------------------------------------- jax rules


def jax_rule(kind: str, bug: str | None, calls: Calls) -> Callable[..., Any]:
    """A ``custom_vjp`` function of one rule; ``calls`` counts forward and backward calls."""

    def softmax_primal(x: Any) -> Any:
        calls.forward += 1
        return jax.nn.softmax(x, axis=-1)

    def softmax_bwd(y: Any, g: Any) -> Any:
        calls.backward += 1
        if bug == "missing_term":
            return (y * g,)
        dx = y * (g - jnp.sum(g * y, axis=-1, keepdims=True))
        if bug == "transposed":
            dx = dx.T
        return ({"sign": -dx, "factor": 2 * dx}.get(bug or "", dx),)

    def ln_primal(x: Any, gamma: Any) -> Any:
        calls.forward += 1
        mu = x.mean(-1, keepdims=True)
        sigma = jnp.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + 1e-5)
        return (x - mu) / sigma * gamma

    def ln_fwd(x: Any, gamma: Any) -> Any:
        out = ln_primal(x, gamma)
        mu = x.mean(-1, keepdims=True)
        sigma = jnp.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + 1e-5)
        return out, ((x - mu) / sigma, sigma, gamma)

    def ln_bwd(res: Any, g: Any) -> Any:
        calls.backward += 1
        xhat, sigma, gamma = res
        gx = g * gamma
        corr = 0 if bug == "missing_term" else xhat * (gx * xhat).mean(-1, keepdims=True)
        dx = (gx - gx.mean(-1, keepdims=True) - corr) / sigma
        dgamma = (g * xhat).sum(0)
        if bug == "sign":
            dx = -dx
        if bug == "factor":
            dgamma = 2 * dgamma
        if bug == "transposed":
            dx = dx.T
        return dx, dgamma

    def att_probs(q: Any, k: Any) -> Any:
        return jax.nn.softmax(q @ k.T / jnp.sqrt(q.shape[-1]), axis=-1)

    def att_primal(q: Any, k: Any, v: Any) -> Any:
        calls.forward += 1
        return att_probs(q, k) @ v

    def att_fwd(q: Any, k: Any, v: Any) -> Any:
        return att_primal(q, k, v), (q, k, v, att_probs(q, k))

    def att_bwd(res: Any, g: Any) -> Any:
        calls.backward += 1
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

    if kind == "softmax":
        f = jax.custom_vjp(softmax_primal)
        f.defvjp(lambda x: (softmax_primal(x),) * 2, softmax_bwd)
    elif kind == "layer_norm":
        f = jax.custom_vjp(ln_primal)
        f.defvjp(ln_fwd, ln_bwd)
    else:
        f = jax.custom_vjp(att_primal)
        f.defvjp(att_fwd, att_bwd)
    return f


def point(kind: str, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "softmax":
        return [rng.standard_normal((4, 4))]
    if kind == "layer_norm":
        return [rng.standard_normal((4, 4)), 1 + 0.5 * rng.standard_normal(4)]
    return [rng.standard_normal((4, 3)) for _ in range(3)]


# ----------------------------------------------------------------------------- tools


def run_gradtest_torch(fn: Any, arrays: list[np.ndarray], dtype: Any, seed: int) -> str:
    tensors = [torch.tensor(a, dtype=dtype) for a in arrays]
    return gt_torch(fn, *tensors, seed=seed).verdict


def run_gradcheck(fast: bool) -> Callable[[Any, list[np.ndarray], Any, int], str]:
    def run(fn: Any, arrays: list[np.ndarray], dtype: Any, seed: int) -> str:
        tensors = tuple(torch.tensor(a, dtype=dtype, requires_grad=True) for a in arrays)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "not double precision" for float32
            ok = torch.autograd.gradcheck(fn, tensors, fast_mode=fast, raise_exception=False)
        return "pass" if ok else "fail"

    return run


def run_gradtest_jax(fn: Any, arrays: list[np.ndarray], dtype: Any, seed: int) -> str:
    return gt_jax(fn, *[a.astype(dtype) for a in arrays], seed=seed).verdict


def run_check_grads(fn: Any, arrays: list[np.ndarray], dtype: Any, seed: int) -> str:
    x64 = dtype == np.float64
    with jax.enable_x64(x64):
        args = tuple(jnp.asarray(a.astype(dtype)) for a in arrays)
        try:
            check_grads(fn, args, order=1, modes=("rev",))
        except AssertionError:
            return "fail"
    return "pass"


TOOLS: dict[str, tuple[str, Callable[..., Any], Any]] = {
    # name: (framework, runner, float32 dtype)
    "gradtest.torch": ("torch", run_gradtest_torch, torch.float32),
    "gradcheck (slow)": ("torch", run_gradcheck(False), torch.float32),
    "gradcheck (fast)": ("torch", run_gradcheck(True), torch.float32),
    "gradtest.jax": ("jax", run_gradtest_jax, np.float32),
    "jax check_grads": ("jax", run_check_grads, np.float32),
}
FLOAT64 = {"torch": torch.float64, "jax": np.float64}


@dataclass
class Tally:
    outcomes: Counter[str] = field(default_factory=Counter)
    forward: int = 0
    backward: int = 0
    seconds: float = 0.0
    runs: int = 0
    missed: list[str] = field(default_factory=list)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=3, metavar="N", help="points per case (3)")
    opts = parser.parse_args()
    torch.set_num_threads(1)
    bugs: dict[str, Tally] = defaultdict(Tally)
    clean64: dict[str, Tally] = defaultdict(Tally)
    clean32: dict[str, Tally] = defaultdict(Tally)
    for tool, (framework, runner, low) in TOOLS.items():
        make = torch_rule if framework == "torch" else jax_rule
        for kind in RULES:
            for seed in range(opts.points):
                arrays = point(kind, seed)
                for bug in (None, *BUGS):
                    cases = [(FLOAT64[framework], clean64 if bug is None else bugs)]
                    if bug is None:
                        cases.append((low, clean32))
                    for dtype, table in cases:
                        calls = Calls()
                        fn = make(kind, bug, calls)
                        start = time.perf_counter()
                        verdict = runner(fn, arrays, dtype, seed)
                        tally = table[tool]
                        tally.seconds += time.perf_counter() - start
                        tally.outcomes[verdict] += 1
                        tally.forward += calls.forward
                        tally.backward += calls.backward
                        tally.runs += 1
                        if bug is not None and verdict != "fail":
                            tally.missed.append(f"{kind}/{bug}/{seed}")

    def mean(t: Tally, attr: str) -> float:
        return float(getattr(t, attr)) / max(t.runs, 1)

    print(f"points per case: {opts.points}; torch {torch.__version__}, jax {jax.__version__}")
    print()
    print(
        "| tool | bugs detected | missed | false alarms f64 | false alarms f32 "
        "| inconclusive | forward calls | backward calls | ms per check |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for tool in TOOLS:
        b, c64, c32 = bugs[tool], clean64[tool], clean32[tool]
        inconclusive = sum(t.outcomes["inconclusive"] for t in (b, c64, c32))
        every = Tally(runs=b.runs + c64.runs)
        every.forward, every.backward = b.forward + c64.forward, b.backward + c64.backward
        every.seconds = b.seconds + c64.seconds
        print(
            f"| {tool} | {b.outcomes['fail']}/{b.runs} | {', '.join(b.missed) or '-'} "
            f"| {c64.outcomes['fail']}/{c64.runs} | {c32.outcomes['fail']}/{c32.runs} "
            f"| {inconclusive} | {mean(every, 'forward'):.0f} | {mean(every, 'backward'):.0f} "
            f"| {1000 * mean(every, 'seconds'):.0f} |"
        )
    print()
    print("time ratio (gradtest / other tool, float64 runs, same cases):")
    for ours, theirs in (
        ("gradtest.torch", "gradcheck (slow)"),
        ("gradtest.torch", "gradcheck (fast)"),
        ("gradtest.jax", "jax check_grads"),
    ):
        a = bugs[ours].seconds + clean64[ours].seconds
        b_ = bugs[theirs].seconds + clean64[theirs].seconds
        print(f"- {ours} / {theirs}: {a / b_:.1f}x")


if __name__ == "__main__":
    main()
