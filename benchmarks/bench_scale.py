"""Scale benchmark: gradtest against scipy, numdifftools, torch and jax on large gradients.

Run on demand (not in CI), from the project root::

    python benchmarks/bench_scale.py            # all four parts below (well over an hour)
    python benchmarks/bench_scale.py --quick    # smaller problems, for a smoke run
    python benchmarks/bench_scale.py --parts false-alarms,scaling   # some parts only
    python benchmarks/bench_scale.py --problems svm     # one problem (svm, lsq, net)
    python benchmarks/bench_scale.py --tools gradtest   # only some tools (name prefixes)
    python benchmarks/bench_scale.py --parts false-alarms --seeds 200
    python benchmarks/bench_scale.py --parts scaling --max-n 10000

Four parts (``--parts``):

``false-alarms``
    The correct CS231n SVM at kink-dense points (W 3073x10 ~ N(0, 0.05²), 500 examples,
    X standard normal with a bias column of ones, reg 0.5; fresh data and W for each of
    ``--seeds`` seeds), checked by gradtest with its defaults (``grad=True``,
    ``mode="auto"``, ``seed=`` the seed so that a seed's verdict can be reproduced), by
    scipy's ``check_grad(direction="random")`` and by torch's fast ``gradcheck`` (on the
    first ``--torch-seeds``). The target is no false alarm: every seed's ``fail`` report
    is printed in full.
``scaling``
    A least-squares loss with a coupling term at n = 10, 100, ..., 1,000,000 (up to
    ``--max-n``), correct, sign flipped and with one entry x(1 + 1e-3): verdict,
    evaluations and wall time of gradtest (``mode="auto"``, and ``mode="full"`` up to
    ``--full-max``), scipy's ``check_grad`` (random direction; all n + 1 evaluations up
    to ``--scipy-max``), torch's ``gradcheck`` (fast; slow up to ``--torch-slow-max``) and
    ``jax.test_util.check_grads(order=1, modes=["rev"])``, with ratios against gradtest's
    default. Nothing is traced here, so times are not inflated by ``tracemalloc``.
``overhead``
    gradtest's own time per evaluation (a check's time less its evaluations' time, per
    evaluation) on a cheap loss at n = 100, 1,000 and 10,000, beside scipy's
    ``check_grad`` and two reference rows, run whatever ``--tools`` says: the bare
    arithmetic of a passing check (``_bare_pass``), and that arithmetic with gradtest's
    own estimates and judgements (``_judged_pass``).
``problems``
    For each problem (a CIFAR-size multiclass SVM, a 1,000,000-parameter least-squares
    loss, a two-layer net) and each seeded bug, every tool checks the same analytic
    gradient at the same point. The table shows whether it flagged the gradient, how many
    times it evaluated the loss, the wall time, and the peak memory traced by
    ``tracemalloc`` (NumPy and Python allocations; torch's own allocator is not traced).

Flags: gradtest flags a gradient when its verdict is ``fail``. scipy's ``check_grad``
returns ``||a - n||``; it flags when that exceeds 1e-6 x ||a|| (its forward differences
are good to about 1e-8 relative, so 1e-6 is the customary margin). numdifftools flags when
the largest relative error of its gradient exceeds 1e-6. torch's ``gradcheck`` flags when
it raises (its defaults: eps 1e-6, atol 1e-5, rtol 1e-3), on a custom autograd.Function
whose backward returns the analytic gradient under test. When torch's fast mode finds a
mismatch it recomputes slow mode (2n evaluations) only to print the Jacobians; above
10,000 parameters that recompute is cut short and the row says so. jax's ``check_grads``
flags when it raises ``AssertionError`` (its defaults in float64: eps 1e-4, atol = rtol =
1e-5 on one random projection); the loss is a ``jax.custom_vjp`` that calls the numpy
loss through ``jax.pure_callback``, so its evaluations are counted like everyone else's.
Evaluations are calls of the numpy loss (value and gradient together) for every tool.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import check_grad as scipy_check_grad

import gradtest

Loss = Callable[[np.ndarray], tuple[float, np.ndarray]]

#: torch's fast mode evaluates the loss a few times; more means its failure path started
FAST_MODE_EVALS = 16

#: issue 11: a correct gradient passes in at most this many evaluations with mode="auto"
PASS_TARGET = 16


@dataclass
class Problem:
    name: str
    x: np.ndarray
    variants: dict[str, Loss]  # "correct" and seeded bugs


def _single_entry(loss: Loss, index: int) -> Loss:
    def f(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, g = loss(x)
        g = g.copy()
        g[index] *= 1 + 1e-3  # off by 1e-3 of its own value
        return value, g

    return f


def svm_parts(
    X: np.ndarray, y: np.ndarray, c: int, reg: float
) -> Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]:
    """The CS231n multiclass SVM: value, data gradient and regularisation gradient of W."""
    n, d = X.shape
    rows = np.arange(n)

    def parts(w: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        W = w.reshape(d, c)
        s = X @ W
        correct = s[rows, y][:, None]
        m = np.maximum(0, s - correct + 1)
        m[rows, y] = 0
        b = (m > 0).astype(float)
        b[rows, y] = -b.sum(1)
        data_grad = (X.T @ b / n).ravel()
        return float(m.sum() / n + reg * np.sum(W * W)), data_grad, 2 * reg * w

    return parts


def svm_problem(n: int, d: int, c: int, rng: np.random.Generator) -> Problem:
    X = rng.standard_normal((n, d))
    y = rng.integers(0, c, n)
    parts = svm_parts(X, y, c, reg=0.5)

    def correct(w: np.ndarray) -> tuple[float, np.ndarray]:
        value, dg, rg = parts(w)
        return value, dg + rg

    def sign(w: np.ndarray) -> tuple[float, np.ndarray]:
        value, dg, rg = parts(w)
        return value, -(dg + rg)

    def no_reg(w: np.ndarray) -> tuple[float, np.ndarray]:
        value, dg, _ = parts(w)
        return value, dg

    def missing_mean(w: np.ndarray) -> tuple[float, np.ndarray]:
        value, dg, rg = parts(w)
        return value, n * dg + rg

    w0 = 0.01 * rng.standard_normal(d * c)
    # the entry with the largest data gradient, so that 1e-3 of it is a real change
    big = int(np.argmax(np.abs(parts(w0)[1])))
    return Problem(
        f"svm W {d}x{c}, {n} examples",
        w0,
        {
            "correct": correct,
            "one entry x(1+1e-3)": _single_entry(correct, big),
            "sign flipped": sign,
            "missing regularisation": no_reg,
            "missing 1/N": missing_mean,
        },
    )


def least_squares_problem(n: int, rng: np.random.Generator) -> Problem:
    a = rng.uniform(0.5, 2.0, n)
    b = rng.standard_normal(n)

    def correct(x: np.ndarray) -> tuple[float, np.ndarray]:
        r = a * x - b
        dx = np.diff(x)
        g = a * r
        g[:-1] -= dx
        g[1:] += dx
        return 0.5 * float(r @ r) + 0.5 * float(dx @ dx), g

    def sign(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, g = correct(x)
        return value, -g

    def no_coupling(x: np.ndarray) -> tuple[float, np.ndarray]:
        r = a * x - b
        dx = np.diff(x)
        return 0.5 * float(r @ r) + 0.5 * float(dx @ dx), a * r

    x0 = rng.standard_normal(n)
    return Problem(
        f"least squares, n = {n:,}",
        x0,
        {
            "correct": correct,
            "one entry x(1+1e-3)": _single_entry(correct, n // 3),
            "sign flipped": sign,
            "missing coupling term": no_coupling,
        },
    )


def net_problem(n: int, d: int, h: int, c: int, rng: np.random.Generator) -> Problem:
    X = rng.standard_normal((n, d))
    y = rng.integers(0, c, n)
    reg = 0.1
    shapes = {"W1": (d, h), "b1": (h,), "W2": (h, c), "b2": (c,)}
    sizes = [int(np.prod(s)) for s in shapes.values()]
    offsets = np.concatenate([[0], np.cumsum(sizes)])

    def unpack(w: np.ndarray) -> dict[str, np.ndarray]:
        return {
            k: w[offsets[i] : offsets[i + 1]].reshape(s) for i, (k, s) in enumerate(shapes.items())
        }

    def loss(w: np.ndarray, bug: str = "") -> tuple[float, np.ndarray]:
        p = unpack(w)
        z = X @ p["W1"] + p["b1"]
        a = np.maximum(z, 0)
        s = a @ p["W2"] + p["b2"]
        s = s - s.max(1, keepdims=True)
        e = np.exp(s)
        prob = e / e.sum(1, keepdims=True)
        value = -np.log(prob[np.arange(n), y]).mean()
        value += reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        ds = prob.copy()
        ds[np.arange(n), y] -= 1
        ds /= n
        g = {"W2": a.T @ ds + 2 * reg * p["W2"], "b2": ds.sum(0)}
        da = ds @ p["W2"].T
        dz = da * (z > 0)
        g["W1"] = X.T @ dz + (0 if bug == "no_reg_W1" else 2 * reg * p["W1"])
        g["b1"] = dz.sum(0)
        if bug == "b2_factor":
            g["b2"] = 2 * g["b2"]
        flat = np.concatenate([g[k].ravel() for k in shapes])
        return float(value), flat

    w0 = np.concatenate(
        [
            0.1 * rng.standard_normal(sizes[0]),
            np.zeros(h),
            0.1 * rng.standard_normal(sizes[2]),
            np.zeros(c),
        ]
    )
    return Problem(
        f"two-layer net {d}-{h}-{c}, {n} examples ({w0.size:,} parameters)",
        w0,
        {
            "correct": loss,
            "one entry x(1+1e-3)": _single_entry(loss, 7),
            "missing reg in W1": lambda w: loss(w, "no_reg_W1"),
            "b2 gradient x2": lambda w: loss(w, "b2_factor"),
        },
    )


@dataclass
class Row:
    tool: str
    flagged: bool | None
    evals: int
    seconds: float
    peak_mb: float
    note: str = ""


def _measure(
    run: Callable[[], tuple[bool | None, str]], counter: list[int], *, trace: bool = True
) -> tuple[bool | None, str, float, float]:
    counter[0] = 0
    if trace:
        tracemalloc.start()
    t = time.perf_counter()
    try:
        flagged, note = run()
    finally:
        seconds = time.perf_counter() - t
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        if trace:
            tracemalloc.stop()
    return flagged, note, seconds, peak / 2**20


def run_tools(
    problem: Problem, variant: str, loss: Loss, torch_slow_max: int, tools: tuple[str, ...]
) -> list[Row]:
    x = problem.x
    n = x.size
    counter = [0]

    def counted(z: np.ndarray) -> tuple[float, np.ndarray]:
        counter[0] += 1
        return loss(z)

    def value_only(z: np.ndarray) -> float:
        return counted(z)[0]

    g0 = loss(x)[1]
    gnorm = float(np.linalg.norm(g0))
    rows: list[Row] = []

    def add(tool: str, run: Callable[[], tuple[bool | None, str]]) -> None:
        if not tool.startswith(tools):
            return
        flagged, note, seconds, peak = _measure(run, counter)
        rows.append(Row(tool, flagged, counter[0], seconds, peak, note))

    def gt(budget: int | None) -> Callable[[], tuple[bool | None, str]]:
        def run() -> tuple[bool | None, str]:
            r = gradtest.check_grad(counted, True, x, seed=0, budget=budget)
            return r.verdict == "fail", f"{r.verdict}: {r.diagnosis.summary[:70]}"

        return run

    add("gradtest budget=64", gt(64))
    add("gradtest (localise)", gt(None))
    for direction in ("random", "all"):
        if direction == "all" and n > 40_000:
            rows.append(
                Row(
                    "scipy check_grad all",
                    None,
                    n + 1,
                    float("nan"),
                    float("nan"),
                    f"skipped: n + 1 = {n + 1:,} evaluations",
                )
            )
            continue

        def sc(direction: str = direction) -> tuple[bool | None, str]:
            err = scipy_check_grad(
                value_only,
                lambda z: g0,
                x.copy(),
                direction=direction,
                rng=np.random.default_rng(0),
            )
            return err > 1e-6 * gnorm, f"||a-n|| = {err:.2e} ({err / gnorm:.1e} of ||a||)"

        add(f"scipy check_grad {direction}", sc)
    if n <= 6_000:
        import numdifftools as nd

        def ndt() -> tuple[bool | None, str]:
            num = nd.Gradient(value_only)(x)
            rel = np.abs(g0 - num) / np.maximum(np.maximum(np.abs(g0), np.abs(num)), 1e-8)
            return bool(rel.max() > 1e-6), f"max rel err {rel.max():.1e}"

        add("numdifftools Gradient", ndt)
    else:
        rows.append(
            Row(
                "numdifftools Gradient",
                None,
                0,
                float("nan"),
                float("nan"),
                "skipped: tens of evaluations per entry",
            )
        )
    try:
        import torch  # noqa: F401
    except ImportError:
        return rows
    for fast in (True, False):
        tool = f"torch gradcheck {'fast' if fast else 'slow'}"
        if not fast and n > torch_slow_max:
            rows.append(
                Row(
                    tool,
                    None,
                    2 * n,
                    float("nan"),
                    float("nan"),
                    f"skipped: slow mode costs 2n = {2 * n:,} evaluations",
                )
            )
            continue
        add(tool, lambda fast=fast: torch_gradcheck(counted, counter, x, fast=fast))
    return rows


class _Explaining(Exception):
    """torch's fast mode found a mismatch and started its slow-mode recompute (2n evaluations)."""


def torch_gradcheck(
    counted: Loss, counter: list[int], x: np.ndarray, *, fast: bool
) -> tuple[bool, str]:
    """``torch.autograd.gradcheck`` with its defaults on a custom autograd.Function.

    The Function's forward calls the numpy loss (``counted``, which counts into
    ``counter``) and its backward returns the analytic gradient under test.
    """
    import torch

    limit = FAST_MODE_EVALS if fast and x.size > 10_000 else 0

    class Wrapped(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, w: torch.Tensor) -> torch.Tensor:
            if limit and counter[0] >= limit:
                raise _Explaining
            value, g = counted(w.detach().numpy())
            ctx.save_for_backward(torch.from_numpy(np.asarray(g, dtype=np.float64)))
            return torch.tensor(value, dtype=torch.float64)

        @staticmethod
        def backward(ctx: Any, grad_out: torch.Tensor) -> torch.Tensor:
            (g,) = ctx.saved_tensors
            return grad_out * g

    w = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    # fast mode needs a handful of evaluations; past that it has found a mismatch
    # and recomputes slow mode only to print the Jacobians: stop it there
    try:
        torch.autograd.gradcheck(Wrapped.apply, (w,), fast_mode=fast)
    except _Explaining:
        return True, "GradcheckError (its 2n slow-mode recompute for the message cut short)"
    except Exception as err:  # GradcheckError
        if fast and counter[0] > FAST_MODE_EVALS:
            return True, f"{type(err).__name__} (after its 2n slow-mode recompute for the message)"
        return True, type(err).__name__
    return False, "passed"


def jax_check_grads(counted: Loss, x: np.ndarray) -> tuple[bool, str]:
    """``jax.test_util.check_grads(f, (x,), order=1, modes=["rev"])`` with its defaults.

    ``f`` is a ``jax.custom_vjp`` whose primal and forward call the numpy loss through
    ``jax.pure_callback`` (so every call of the loss is counted) and whose backward
    returns the analytic gradient under test. JAX runs in float64 (``jax_enable_x64``).
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    from jax.test_util import check_grads

    shapes = (
        jax.ShapeDtypeStruct((), np.float64),
        jax.ShapeDtypeStruct(x.shape, np.float64),
    )

    def both(w: Any) -> tuple[np.ndarray, np.ndarray]:
        value, g = counted(np.asarray(w, dtype=np.float64))
        return np.asarray(value, dtype=np.float64), np.asarray(g, dtype=np.float64)

    @jax.custom_vjp
    def f(w: Any) -> Any:
        return jax.pure_callback(both, shapes, w)[0]

    def f_fwd(w: Any) -> tuple[Any, Any]:
        value, g = jax.pure_callback(both, shapes, w)
        return value, g

    def f_bwd(g: Any, cotangent: Any) -> tuple[Any]:
        return (cotangent * g,)

    f.defvjp(f_fwd, f_bwd)
    try:
        check_grads(f, (jax.numpy.asarray(x),), order=1, modes=["rev"])
    except AssertionError as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        return True, f"AssertionError: {' '.join(lines[:2])[:70]}"
    return False, "passed"


def _stats(values: list[int]) -> str:
    if not values:
        return "-"
    return f"{min(values):,} / {int(np.median(values)):,} / {max(values):,}"


def kink_dense_svm(
    seed: int, n: int, d: int, c: int
) -> tuple[Loss, np.ndarray, tuple[float, float]]:
    """The correct CS231n SVM at a kink-dense point: fresh data and W for each seed.

    X is standard normal with a bias column of ones (d columns in all), labels 0..c-1,
    W ~ N(0, 0.05²) entry by entry, so that many of the n·(c-1) hinge margins sit
    near zero, and reg = 0.5. Returns the loss, W (flat) and the shares of hinge
    margins within 1e-3 and within 1e-2 of their kink.
    """
    rng = np.random.default_rng(seed)
    X = np.hstack([rng.standard_normal((n, d - 1)), np.ones((n, 1))])
    y = rng.integers(0, c, n)
    parts = svm_parts(X, y, c, reg=0.5)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        value, dg, rg = parts(w)
        return value, dg + rg

    w0 = 0.05 * rng.standard_normal(d * c)
    s = X @ w0.reshape(d, c)
    margins = s - s[np.arange(n), y][:, None] + 1
    margins[np.arange(n), y] = np.inf  # the correct class has no hinge
    share = [float(np.mean(np.abs(margins) < t) * c / (c - 1)) for t in (1e-3, 1e-2)]
    return loss, w0, (share[0], share[1])


def false_alarms(
    seeds: int, n: int, d: int, c: int, torch_seeds: int, tools: tuple[str, ...]
) -> None:
    """Check the correct kink-dense SVM once per seed and count what each tool says."""
    print(
        f"\n## False alarms: correct SVM, W {d}x{c}, {n} examples, W ~ N(0, 0.05²), {seeds} seeds\n"
    )
    verdicts: dict[str, list[int]] = {"pass": [], "inconclusive": [], "fail": []}
    seconds: list[float] = []
    phases: dict[str, list[int]] = {}
    reasons: dict[str, int] = {}
    reports: list[tuple[int, str]] = []
    near_kink: list[tuple[float, float]] = []
    scipy_flags: list[int] = []
    scipy_rel: list[float] = []
    torch_flags: list[int] = []
    torch_evals: list[int] = []
    torch_seconds: list[float] = []
    try:
        import torch  # noqa: F401
    except ImportError:
        torch_seeds = 0
    counter = [0]
    evals_by_seed: list[tuple[int, int]] = []
    for seed in range(seeds):
        loss, w0, near = kink_dense_svm(seed, n, d, c)

        def counted(z: np.ndarray, loss: Loss = loss) -> tuple[float, np.ndarray]:
            counter[0] += 1
            return loss(z)

        g0 = loss(w0)[1]
        gnorm = float(np.linalg.norm(g0))
        if "gradtest (defaults)".startswith(tools):
            counter[0] = 0
            t = time.perf_counter()
            r = gradtest.check_grad(counted, True, w0, seed=seed)
            seconds.append(time.perf_counter() - t)
            verdicts[r.verdict].append(counter[0])
            evals_by_seed.append((seed, counter[0]))
            for phase, k in r.evals_by_phase.items():
                phases.setdefault(phase, []).append(k)
            if r.verdict != "pass":
                key = f"{r.verdict}: {r.diagnosis.summary[:90]}"
                reasons[key] = reasons.get(key, 0) + 1
            if r.verdict == "fail":
                reports.append((seed, str(r)))
            if r.n_evals != counter[0]:
                reasons[f"n_evals {r.n_evals} != counted {counter[0]}"] = 1
        if "scipy check_grad random".startswith(tools):
            err = scipy_check_grad(
                lambda z, loss=loss: loss(z)[0],
                lambda z, g0=g0: g0,
                w0.copy(),
                direction="random",
                rng=np.random.default_rng(seed),
            )
            scipy_rel.append(err / gnorm)
            scipy_flags.append(int(err > 1e-6 * gnorm))
        if seed < torch_seeds and "torch gradcheck fast".startswith(tools):
            counter[0] = 0
            t = time.perf_counter()
            flagged, _ = torch_gradcheck(counted, counter, w0, fast=True)
            torch_seconds.append(time.perf_counter() - t)
            torch_flags.append(int(flagged))
            torch_evals.append(counter[0])
        near_kink.append(near)
    all_evals = [k for v in verdicts.values() for k in v]
    print(
        "| tool | seeds | false alarms (flagged) | inconclusive | passed "
        "| evaluations min / median / max | median time (s) |"
    )
    print("|---|---|---|---|---|---|---|")
    if all_evals:
        print(
            f"| gradtest (defaults) | {len(all_evals)} | {len(verdicts['fail'])} "
            f"| {len(verdicts['inconclusive'])} | {len(verdicts['pass'])} | {_stats(all_evals)} "
            f"| {np.median(seconds):.2f} |"
        )
    if scipy_flags:
        print(
            f"| scipy check_grad random, err > 1e-6 ‖g‖ | {len(scipy_flags)} | {sum(scipy_flags)} "
            f"| - | {len(scipy_flags) - sum(scipy_flags)} | 2 / 2 / 2 | - |"
        )
    if torch_flags:
        print(
            f"| torch gradcheck fast | {len(torch_flags)} | {sum(torch_flags)} | - "
            f"| {len(torch_flags) - sum(torch_flags)} | {_stats(torch_evals)} "
            f"| {np.median(torch_seconds):.2f} |"
        )
    print()
    for verdict, evals in verdicts.items():
        if evals:
            print(f"gradtest {verdict}: {len(evals)} seeds, evaluations {_stats(evals)}")
    over = [seed for seed, k in evals_by_seed if k > PASS_TARGET]
    print(
        f"gradtest seeds above the issue's target of {PASS_TARGET} evaluations: {len(over)}"
        + (f" (seeds {', '.join(map(str, over[:20]))})" if over else "")
    )
    for phase, counts in phases.items():
        print(
            f"gradtest evaluations in phase {phase!r}: {len(counts)} seeds ran it, {_stats(counts)}"
        )
    if scipy_rel:
        print(
            "scipy err / ‖g‖ (min / median / max): "
            f"{min(scipy_rel):.1e} / {np.median(scipy_rel):.1e} / {max(scipy_rel):.1e}"
        )
    for k, t in enumerate(("1e-3", "1e-2")):
        share = [near[k] for near in near_kink]
        print(
            f"share of the {n * (c - 1):,} hinge margins within {t} of their kink "
            f"(min / median / max over seeds): "
            f"{min(share):.2%} / {np.median(share):.2%} / {max(share):.2%}"
        )
    for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
        print(f"  {count} x {reason}")
    for seed, report in reports:
        print(f"\n### FALSE ALARM at seed {seed}\n\n```text\n{report}\n```")


SCALING_VARIANTS = ("correct", "sign flipped", "one entry x(1+1e-3)")


def scaling_tools(
    x: np.ndarray,
    loss: Loss,
    *,
    full_max: int,
    scipy_max: int,
    torch_slow_max: int,
    tools: tuple[str, ...],
    frameworks: set[str],
) -> list[Row]:
    """Every tool on one loss at one point: what it says, its evaluations and wall time."""
    n = x.size
    counter = [0]
    rows: list[Row] = []

    def counted(z: np.ndarray) -> tuple[float, np.ndarray]:
        counter[0] += 1
        return loss(z)

    g0 = loss(x)[1]
    gnorm = float(np.linalg.norm(g0))

    def add(tool: str, run: Callable[[], tuple[bool | None, str]]) -> None:
        if tool.startswith(tools):
            flagged, note, seconds, _ = _measure(run, counter, trace=False)
            rows.append(Row(tool, flagged, counter[0], seconds, 0.0, note))

    def skip(tool: str, evals: int, why: str) -> None:
        if tool.startswith(tools):
            rows.append(Row(tool, None, evals, float("nan"), float("nan"), why))

    def gt(mode: Any) -> Callable[[], tuple[bool | None, str]]:
        def run() -> tuple[bool | None, str]:
            r = gradtest.check_grad(counted, True, x, seed=0, mode=mode)
            phases = ", ".join(f"{k} {v}" for k, v in r.evals_by_phase.items())
            summary = "" if r.verdict == "pass" else f": {r.diagnosis.summary[:60]}"
            return r.verdict == "fail", f"{r.verdict} ({phases}){summary}"

        return run

    add("gradtest auto", gt("auto"))
    if n <= full_max:
        add("gradtest full", gt("full"))
    else:
        skip("gradtest full", 2 * n, f"skipped above n = {full_max:,}")
    for direction in ("random", "all"):
        tool = f"scipy check_grad {direction}"
        if direction == "all" and n > scipy_max:
            skip(tool, n + 1, f"skipped: n + 1 = {n + 1:,} evaluations")
            continue

        def sc(direction: str = direction) -> tuple[bool | None, str]:
            err = scipy_check_grad(
                lambda z: counted(z)[0],
                lambda z: g0,
                x.copy(),
                direction=direction,
                rng=np.random.default_rng(0),
            )
            return err > 1e-6 * gnorm, f"err/‖g‖ = {err / gnorm:.1e}"

        add(tool, sc)
    if "torch" in frameworks:
        add("torch gradcheck fast", lambda: torch_gradcheck(counted, counter, x, fast=True))
        if n <= torch_slow_max:
            add("torch gradcheck slow", lambda: torch_gradcheck(counted, counter, x, fast=False))
        else:
            skip("torch gradcheck slow", 2 * n, f"skipped: 2n = {2 * n:,} evaluations")
    if "jax" in frameworks:
        add("jax check_grads rev", lambda: jax_check_grads(counted, x))
    return rows


def scaling(
    sizes: list[int],
    full_max: int,
    scipy_max: int,
    torch_slow_max: int,
    tools: tuple[str, ...],
) -> None:
    """Evaluations and wall time of every tool on the least-squares loss at each size."""
    print("\n## Evaluations against n: least squares with a coupling term\n")
    frameworks = set()
    for name in ("torch", "jax"):
        try:
            __import__(name)
        except ImportError:
            print(f"{name} is not importable: its rows are left out")
        else:
            frameworks.add(name)
    rows: list[tuple[int, str, Row]] = []
    for n in sizes:
        problem = least_squares_problem(n, np.random.default_rng(n))
        for variant in SCALING_VARIANTS:
            for row in scaling_tools(
                problem.x,
                problem.variants[variant],
                full_max=full_max,
                scipy_max=scipy_max,
                torch_slow_max=torch_slow_max,
                tools=tools,
                frameworks=frameworks,
            ):
                rows.append((n, variant, row))
    base = {(n, v): row for n, v, row in rows if row.tool == "gradtest auto"}
    print(
        "| n | variant | tool | flagged | evaluations | time (s) "
        "| evals ÷ gradtest | time ÷ gradtest | note |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for n, variant, row in rows:
        expected = variant != "correct"
        mark = "-" if row.flagged is None else ("yes" if row.flagged else "no")
        wrong = row.flagged is not None and row.flagged != expected
        ref = base.get((n, variant))
        if ref is None or row.flagged is None:
            ratios = "- | -"
        else:
            ratios = f"{row.evals / ref.evals:.3g} | {row.seconds / ref.seconds:.3g}"
        print(
            f"| {n:,} | {variant} | {row.tool} | {mark}{' ✗' if wrong else ''} | {row.evals:,} "
            f"| {row.seconds:.3f} | {ratios} | {row.note} |"
        )
    print("\nEvaluations (✗ marks a wrong verdict: a false alarm or a missed bug; - not run)\n")
    tools_seen = list(dict.fromkeys(row.tool for _, _, row in rows))
    print("| tool | variant | " + " | ".join(f"n = {n:,}" for n in sizes) + " |")
    print("|---|---|" + "---|" * len(sizes))
    cells = {(n, v, row.tool): row for n, v, row in rows}
    for tool in tools_seen:
        for variant in SCALING_VARIANTS:
            out = []
            for n in sizes:
                row = cells.get((n, variant, tool))
                if row is None or row.flagged is None:
                    out.append("-")
                else:
                    wrong = row.flagged != (variant != "correct")
                    out.append(f"{row.evals:,}{' ✗' if wrong else ''}")
            print(f"| {tool} | {variant} | " + " | ".join(out) + " |")


def _bare_pass(
    f: Callable[[np.ndarray], float], g: Callable[[np.ndarray], np.ndarray], x: np.ndarray
) -> bool:
    """Only the arithmetic of a passing ``mode="auto"`` check, as a reference for the
    overhead: f twice at x, three keyed random directions scaled to x, a pair of steps on
    each, Richardson and a tolerance; no validation, precision probe, ladder or report."""
    n = x.size
    f0 = f(x)
    f(np.array(x))
    a = np.asarray(g(x), dtype=np.float64).reshape(-1)
    widths = np.maximum(np.abs(x), np.sqrt(x @ x / n)) * np.sqrt(12.0 / 13.0)
    z = np.empty(n)
    ok = True
    for j in range(3):
        v = gradtest._randomness.keyed_generator(j, 0, 0).random(n)
        gradtest._randomness._signed_magnitudes(v)  # magnitudes [1/2, 3/2), random signs
        v *= widths
        av = float(a @ v)
        h = 4e-6
        values = []
        for t in (4 * h, -4 * h, h, -h):
            np.multiply(v, t, out=z)
            z += x
            values.append(f(z))
        d1 = (values[0] - values[1]) / (8 * h)
        d2 = (values[2] - values[3]) / (2 * h)
        error = abs(d2 - d1) / 15 + 2.2e-16 * abs(f0) / h
        ok = ok and abs(av - (d2 + (d2 - d1) / 15)) <= 3 * error + 1e-14 * abs(av)
    return ok


def _judged_pass(
    f: Callable[[np.ndarray], float], g: Callable[[np.ndarray], np.ndarray], x: np.ndarray
) -> bool:
    """:func:`_bare_pass` with gradtest's own estimates and judgements: the same points,
    each direction's pair turned into a ``PairEstimate`` (``_finite_diff.pair_estimates``)
    and judged by ``_tolerance.judge``, as a check does; still no validation, precision
    probe, noise model, records or report. What a check with nothing around its
    arithmetic and its verdict rules would cost."""
    from gradtest import _finite_diff as fd
    from gradtest import _tolerance as tol

    n = x.size
    eps = float(np.finfo(np.float64).eps)
    f0 = np.array([f(x)])
    f(np.array(x))
    a = np.asarray(g(x), dtype=np.float64).reshape(-1)
    widths = np.maximum(np.abs(x), np.sqrt(x @ x / n)) * np.sqrt(12.0 / 13.0)
    sigma = 2 * eps * np.abs(f0)
    p = tol.Precision(eps_x=eps, eps_f=eps, eps_g=eps, rtol=None, atol=None)
    h2 = fd.relative_step("central", eps)
    h1 = fd.PAIR_RATIO * h2
    rounding = 10 * eps * 1.5 * float(np.abs(a) @ widths)
    z = np.empty(n)
    ok = True
    for j in range(3):
        v = gradtest._randomness.keyed_generator(j, 0, 0).random(n)
        gradtest._randomness._signed_magnitudes(v)
        v *= widths
        values = []
        for t in (h1, -h1, h2, -h2):
            np.multiply(v, t, out=z)
            z += x
            values.append(np.array([f(z)]))
        estimates = fd.pair_estimates(
            (values[0], values[1]), (values[2], values[3]), f0, h1, h2, sigma
        )
        judged = tol.judge(
            float(a @ v),
            estimates,
            scale=1.0,
            p=p,
            noise_measured=False,
            extra=rounding,
            axis=False,
        )
        ok = ok and judged.outcome == "pass"
    return ok


def overhead(sizes: list[int], repeats: int, tools: tuple[str, ...]) -> None:
    """Each tool's own time per evaluation of a cheap loss (``x @ x``): the time of a
    check less the time of its evaluations, divided by their number (best of 5 rounds of
    ``repeats`` checks each)."""
    print(
        "\n## Own time per evaluation: correct gradient of f(x) = x @ x, "
        f"best of 5 rounds of {repeats} checks\n"
    )
    print(
        "| n | tool | evaluations | time per check (µs) | f per call (µs) "
        "| own time per evaluation (µs) | own time ÷ gradtest auto |"
    )
    print("|---|---|---|---|---|---|---|")
    for n in sizes:
        _overhead_at(n, repeats, tools)


def _overhead_at(n: int, repeats: int, tools: tuple[str, ...]) -> None:
    x = np.random.default_rng(n).standard_normal(n)
    calls = [0]

    def f(z: np.ndarray) -> float:
        calls[0] += 1
        return float(z @ z)

    def g(z: np.ndarray) -> np.ndarray:
        return 2 * z

    def best(run: Callable[[], object]) -> tuple[float, int]:
        calls[0] = 0
        run()
        evals = calls[0]
        times = []
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(repeats):
                run()
            times.append((time.perf_counter() - t) / repeats)
        return min(times), evals

    t_f, _ = best(lambda: f(x))
    runs: dict[str, Callable[[], object]] = {
        "bare arithmetic of auto's pass (reference)": lambda: _bare_pass(f, g, x),
        "arithmetic and judgements of auto's pass (reference)": lambda: _judged_pass(f, g, x),
        "gradtest auto": lambda: gradtest.check_grad(f, g, x, seed=0),
        "gradtest full": lambda: gradtest.check_grad(f, g, x, seed=0, mode="full"),
        "scipy check_grad random": lambda: scipy_check_grad(
            f, g, x, direction="random", rng=np.random.default_rng(0)
        ),
        "scipy check_grad all": lambda: scipy_check_grad(f, g, x),
    }
    base = None
    for tool, run in runs.items():
        if not tool.startswith(tools) and "reference" not in tool:
            continue
        t, evals = best(run)
        own = (t - evals * t_f) / evals
        if tool == "gradtest auto":
            base = own
        ratio = f"{own / base:.2g}" if base else "-"
        print(
            f"| {n:,} | {tool} | {evals:,} | {t * 1e6:,.0f} | {t_f * 1e6:.2f} "
            f"| {own * 1e6:.1f} | {ratio} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smaller problems, fewer sizes (n <= 1000)"
    )
    parser.add_argument(
        "--torch-slow-max",
        type=int,
        default=10_000,
        metavar="N",
        help="run torch's slow mode only up to N parameters (default 10000)",
    )
    parser.add_argument(
        "--problems",
        default="svm,lsq,net",
        metavar="LIST",
        help="comma-separated subset of svm, lsq, net (default: all)",
    )
    parser.add_argument(
        "--tools",
        default="gradtest,scipy,numdifftools,torch,jax",
        metavar="LIST",
        help="comma-separated tool name prefixes to run (default: all)",
    )
    parser.add_argument(
        "--parts",
        default="problems,false-alarms,scaling,overhead",
        metavar="LIST",
        help="comma-separated subset of problems, false-alarms, scaling, overhead (default: all)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=100,
        metavar="N",
        help="false-alarms: correct SVMs checked, one per seed (default 100)",
    )
    parser.add_argument(
        "--torch-seeds",
        type=int,
        default=None,
        metavar="N",
        help="false-alarms: run torch's fast mode on the first N seeds (default: all)",
    )
    parser.add_argument(
        "--max-n",
        type=int,
        default=1_000_000,
        metavar="N",
        help="scaling: largest n, from 10, 100, ..., 1000000 (default 1000000)",
    )
    parser.add_argument(
        "--full-max",
        type=int,
        default=10_000,
        metavar="N",
        help='scaling: run gradtest mode="full" only up to N parameters (default 10000)',
    )
    parser.add_argument(
        "--scipy-max",
        type=int,
        default=10_000,
        metavar="N",
        help="scaling: run scipy's check_grad over all n entries only up to N (default 10000)",
    )
    opts = parser.parse_args()
    chosen = set(opts.problems.split(","))
    parts = set(opts.parts.split(","))
    tools = tuple(opts.tools.split(","))
    warnings.simplefilter("ignore")
    print(
        f"numpy {np.__version__}, gradtest {gradtest.__version__}; flags: "
        f"{' '.join(sys.argv[1:]) or '(none)'}"
    )
    if "false-alarms" in parts:
        seeds = opts.seeds
        torch_seeds = seeds if opts.torch_seeds is None else opts.torch_seeds
        if opts.quick:
            false_alarms(seeds, 100, 301, 10, torch_seeds, tools)
        else:
            false_alarms(seeds, 500, 3073, 10, torch_seeds, tools)
    if "scaling" in parts:
        top = 1_000 if opts.quick else 1_000_000
        sizes = [10**k for k in range(1, 7) if 10**k <= min(top, opts.max_n)]
        scaling(sizes, opts.full_max, opts.scipy_max, opts.torch_slow_max, tools)
    if "problems" in parts:
        run_problems(opts, chosen, tools)
    if "overhead" in parts:
        overhead([100, 1_000, 10_000], 20 if opts.quick else 200, tools)


def run_problems(opts: argparse.Namespace, chosen: set[str], tools: tuple[str, ...]) -> None:
    """The three problems of issue 3, each correct and with seeded bugs."""
    rng = np.random.default_rng(2026)
    if opts.quick:
        problems = [
            svm_problem(100, 301, 10, rng),
            least_squares_problem(10_000, rng),
            net_problem(100, 30, 20, 5, rng),
        ]
    else:
        problems = [
            svm_problem(500, 3073, 10, rng),
            least_squares_problem(1_000_000, rng),
            net_problem(200, 100, 50, 10, rng),
        ]
    # every problem is built (the random stream stays the same); only the chosen ones run
    problems = [p for p, key in zip(problems, ("svm", "lsq", "net"), strict=True) if key in chosen]
    summary: dict[str, list[int]] = {}
    for problem in problems:
        print(f"\n## {problem.name}\n")
        print("| variant | tool | flagged | evaluations | time (s) | peak MB | note |")
        print("|---|---|---|---|---|---|---|")
        for variant, loss in problem.variants.items():
            rows = run_tools(problem, variant, loss, opts.torch_slow_max, tools)
            for row in (r for r in rows if r.tool.startswith(tools)):
                expected = variant != "correct"
                mark = "-" if row.flagged is None else ("yes" if row.flagged else "no")
                ok = row.flagged is not None and row.flagged == expected
                if row.flagged is not None:
                    stats = summary.setdefault(row.tool, [0, 0, 0, 0])
                    stats[0 if expected else 2] += int(row.flagged)
                    stats[1 if expected else 3] += 1
                print(
                    f"| {variant} | {row.tool} | {mark}{'' if ok or row.flagged is None else ' ✗'} "
                    f"| {row.evals:,} | {row.seconds:.2f} | {row.peak_mb:.0f} | {row.note} |"
                )
    print("\n## Summary over all problems\n")
    print("| tool | bugs found | false alarms |")
    print("|---|---|---|")
    for tool, (found, bugs, fa, correct) in summary.items():
        print(f"| {tool} | {found}/{bugs} | {fa}/{correct} |")


if __name__ == "__main__":
    main()
