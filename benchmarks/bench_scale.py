"""Scale benchmark: gradtest against scipy, numdifftools and torch on large gradients.

Run on demand (not in CI), from the project root::

    python benchmarks/bench_scale.py            # every problem; torch slow mode where n <= 10,000
    python benchmarks/bench_scale.py --quick    # smaller problems, for a smoke run
    python benchmarks/bench_scale.py --problems svm     # one problem (svm, lsq, net)
    python benchmarks/bench_scale.py --tools gradtest   # only some tools (name prefixes)

For each problem (a CIFAR-size multiclass SVM, a 1,000,000-parameter least-squares loss,
a two-layer net) and each seeded bug, every tool checks the same analytic gradient at the
same point. The table shows whether it flagged the gradient, how many times it evaluated
the loss, the wall time, and the peak memory traced by ``tracemalloc`` (NumPy and Python
allocations; torch's own allocator is not traced).

Flags: gradtest flags a gradient when its verdict is ``fail``. scipy's ``check_grad``
returns ``||a - n||``; it flags when that exceeds 1e-6 x ||a|| (its forward differences
are good to about 1e-8 relative, so 1e-6 is the customary margin). numdifftools flags when
the largest relative error of its gradient exceeds 1e-6. torch's ``gradcheck`` flags when
it raises (its defaults: eps 1e-6, atol 1e-5, rtol 1e-3), on a custom autograd.Function
whose backward returns the analytic gradient under test. When torch's fast mode finds a
mismatch it recomputes slow mode (2n evaluations) only to print the Jacobians; above
10,000 parameters that recompute is cut short and the row says so.
"""

from __future__ import annotations

import argparse
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


def svm_problem(n: int, d: int, c: int, rng: np.random.Generator) -> Problem:
    X = rng.standard_normal((n, d))
    y = rng.integers(0, c, n)
    reg = 0.5

    def parts(w: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        W = w.reshape(d, c)
        s = X @ W
        correct = s[np.arange(n), y][:, None]
        m = np.maximum(0, s - correct + 1)
        m[np.arange(n), y] = 0
        b = (m > 0).astype(float)
        b[np.arange(n), y] = -b.sum(1)
        data_grad = (X.T @ b / n).ravel()
        return float(m.sum() / n + reg * np.sum(W * W)), data_grad, 2 * reg * w

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
    run: Callable[[], tuple[bool | None, str]], counter: list[int]
) -> tuple[bool | None, str, float, float]:
    counter[0] = 0
    tracemalloc.start()
    t = time.perf_counter()
    try:
        flagged, note = run()
    finally:
        seconds = time.perf_counter() - t
        _, peak = tracemalloc.get_traced_memory()
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
        import torch
    except ImportError:
        return rows

    class Explaining(Exception):
        """Fast mode found a mismatch and started its slow-mode recompute (2n evaluations)."""

    limit = [0]

    class Wrapped(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, w: torch.Tensor) -> torch.Tensor:
            if limit[0] and counter[0] >= limit[0]:
                raise Explaining
            value, g = counted(w.detach().numpy())
            ctx.save_for_backward(torch.from_numpy(np.asarray(g, dtype=np.float64)))
            return torch.tensor(value, dtype=torch.float64)

        @staticmethod
        def backward(ctx: Any, grad_out: torch.Tensor) -> torch.Tensor:
            (g,) = ctx.saved_tensors
            return grad_out * g

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

        def tc(fast: bool = fast) -> tuple[bool | None, str]:
            w = torch.tensor(x, dtype=torch.float64, requires_grad=True)
            # fast mode needs a handful of evaluations; past that it has found a mismatch
            # and recomputes slow mode only to print the Jacobians: stop it there
            limit[0] = FAST_MODE_EVALS if fast and n > 10_000 else 0
            try:
                torch.autograd.gradcheck(Wrapped.apply, (w,), fast_mode=fast)
            except Explaining:
                return True, "GradcheckError (its 2n slow-mode recompute for the message cut short)"
            except Exception as err:  # GradcheckError
                return True, type(err).__name__
            finally:
                limit[0] = 0
            return False, "passed"

        add(tool, tc)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller problems")
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
        default="gradtest,scipy,numdifftools,torch",
        metavar="LIST",
        help="comma-separated tool name prefixes to run (default: all)",
    )
    opts = parser.parse_args()
    chosen = set(opts.problems.split(","))
    tools = tuple(opts.tools.split(","))
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
    warnings.simplefilter("ignore")
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
