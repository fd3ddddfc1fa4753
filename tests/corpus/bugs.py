"""Buggy variants of the corpus functions: the mistakes people make when deriving gradients.

Some are derived generically from a correct case (``flip_sign``, ``scale``,
``perturb_entry``, ``stale``); the others are written out, as a person would get them wrong.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import functions as fn
from ._case import Case, derive, flip_sign, perturb_entry, scale, stale

F = NDArray[np.float64]


def _bug(case: Case, suffix: str, category: str, grad: Any, pattern: str = "", **kw: Any) -> Case:
    """A handwritten buggy variant: same function, point and data as ``case``."""
    return replace(
        case,
        name=f"{case.name}_{suffix}",
        grad=grad,
        fun=kw.pop("fun", case.fun),
        expected="buggy",
        category=category,
        pattern=pattern,
        base=case.name,
        **kw,
    )


# --- 1/N missing -----------------------------------------------------------------------


def least_squares_grad_sum(w: F, X: F, y: F) -> F:
    out: F = X.T @ (X @ w - y)
    return out


def logistic_sum(w: F, X: F, y: F, reg: float) -> tuple[Any, F]:
    loss, _ = fn.logistic(w, X, y, reg)
    return loss, -X.T @ (y * fn._sigmoid(-y * (X @ w))) + 2 * reg * w


def softmax_ce_sum(W: F, X: F, y: NDArray[np.intp], reg: float) -> tuple[Any, F]:
    loss, g = fn.softmax_ce(W, X, y, reg)
    return loss, (g - 2 * reg * W) * X.shape[0] + 2 * reg * W


def poisson_grad_sum(w: F, X: F, counts: F) -> F:
    out: F = X.T @ (np.exp(X @ w) - counts)
    return out


def huber_sum(w: F, X: F, y: F, delta: float) -> tuple[Any, F]:
    loss, g = fn.huber(w, X, y, delta)
    return loss, g * X.shape[0]


def gaussian_nll_mu_sum(p: tuple[F, F], data: F) -> tuple[Any, tuple[F, F]]:
    loss, (dmu, dls) = fn.gaussian_nll(p, data)
    return loss, (dmu * data.shape[0], dls)


# --- regularisation --------------------------------------------------------------------


def ridge_missing_reg(w: F, X: F, y: F, reg: float) -> tuple[Any, F]:
    loss, g = fn.ridge(w, X, y, reg)
    return loss, g - 2 * reg * w


def ridge_reg_half(w: F, X: F, y: F, reg: float) -> tuple[Any, F]:
    loss, g = fn.ridge(w, X, y, reg)
    return loss, g - reg * w  # reg * w instead of 2 * reg * w


def ridge_reg_double(w: F, X: F, y: F, reg: float) -> tuple[Any, F]:
    loss, g = fn.ridge(w, X, y, reg)
    return loss, g + 2 * reg * w


def logistic_missing_reg(w: F, X: F, y: F, reg: float) -> tuple[Any, F]:
    loss, g = fn.logistic(w, X, y, reg)
    return loss, g - 2 * reg * w


def softmax_ce_reg_half(W: F, X: F, y: NDArray[np.intp], reg: float) -> tuple[Any, F]:
    loss, g = fn.softmax_ce(W, X, y, reg)
    return loss, g - reg * W


def svm_missing_reg(W: F, X: F, y: NDArray[np.intp], reg: float) -> tuple[Any, F]:
    loss, g = fn.svm_hinge(W, X, y, reg)
    return loss, g - 2 * reg * W


def tanh_net_missing_reg_w1(
    p: dict[str, F], X: F, y: NDArray[np.intp], reg: float
) -> tuple[Any, dict[str, F]]:
    loss, g = fn.tanh_net(p, X, y, reg)
    return loss, {**g, "W1": g["W1"] - 2 * reg * p["W1"]}


def relu_net_reg_w2_half(
    p: tuple[F, F, F, F], X: F, y: NDArray[np.intp], reg: float
) -> tuple[Any, tuple[F, F, F, F]]:
    loss, (g1, gb1, g2, gb2) = fn.relu_net(p, X, y, reg)
    return loss, (g1, gb1, g2 - reg * p[2], gb2)


def mf_missing_reg_v(p: dict[str, F], M: F, mask: F, reg: float) -> tuple[Any, dict[str, F]]:
    loss, g = fn.matrix_factorisation(p, M, mask, reg)
    return loss, {"U": g["U"], "V": g["V"] - reg * p["V"]}


# --- transposed ------------------------------------------------------------------------


def trace_form_grad_t(W: F, A: F, B: F) -> F:
    out: F = fn.trace_form_grad(W, A, B).T
    return out


def bilinear_grad_t(W: F, a: F, b: F) -> F:
    out: F = np.outer(b, a) + W
    return out


def log_abs_det_grad_no_t(A: F) -> F:
    out: F = np.asarray(np.linalg.inv(A), dtype=np.float64)  # forgot the transpose
    return out


def relu_net_w2_t(
    p: tuple[F, F, F, F], X: F, y: NDArray[np.intp], reg: float
) -> tuple[Any, tuple[F, F, F, F]]:
    loss, (g1, gb1, g2, gb2) = fn.relu_net(p, X, y, reg)
    return loss, (g1, gb1, g2.T, gb2)


def softmax_ce_square_t(W: F, X: F, y: NDArray[np.intp], reg: float) -> tuple[Any, F]:
    loss, g = fn.softmax_ce(W, X, y, reg)
    return loss, g.T


# --- rare branches ---------------------------------------------------------------------


def huber_outlier_branch(w: F, X: F, y: F, delta: float) -> tuple[Any, F]:
    """The outlier branch (|r| > delta, a few samples) forgets to clip: uses r."""
    loss, _ = fn.huber(w, X, y, delta)
    r = X @ w - y
    dr = r  # should be np.where(np.abs(r) <= delta, r, delta * np.sign(r))
    return loss, X.T @ dr / X.shape[0]


def logistic_stable_branch(w: F, X: F, y: F, reg: float) -> tuple[Any, F]:
    """A "numerically stable" branch for margins below -10 (one sample) drops the label."""
    loss, _ = fn.logistic(w, X, y, reg)
    m = y * (X @ w)
    coeff = np.where(m < -10, 1.0, y * fn._sigmoid(-m))  # should be y * 1.0 there
    return loss, -X.T @ coeff / X.shape[0] + 2 * reg * w


def svm_few_violators(W: F, X: F, y: NDArray[np.intp], reg: float) -> tuple[Any, F]:
    """Forgets the correct-class column update (only samples with a positive margin)."""
    loss, _ = fn.svm_hinge(W, X, y, reg)
    n = X.shape[0]
    rows = np.arange(n)
    s = X @ W
    margins = np.maximum(0.0, s - s[rows, y][:, None] + 1.0)
    margins[rows, y] = 0.0
    coeff = (margins > 0).astype(float)
    return loss, X.T @ coeff / n + 2 * reg * W


def leaky_net_zero_slope(
    p: tuple[F, F, F, F], X: F, y: NDArray[np.intp], reg: float
) -> tuple[Any, tuple[F, F, F, F]]:
    """The backward pass treats the leaky ReLU as a ReLU (slope 0 below 0)."""
    return fn.leaky_net_backward(p, X, y, reg, 0.0)


def softplus_guard_zero(w: F, X: F) -> tuple[Any, F]:
    """The overflow guard (one sample) returns derivative 0 instead of 1."""
    return fn.softplus_branch(w, X, 0.0)


def weighted_ls_ignores_weights(w: F, X: F, y: F, weights: F) -> tuple[Any, F]:
    """The gradient ignores the sample weights (only two samples have weight != 1)."""
    return fn.weighted_ls_grad_weights(w, X, y, weights, False)


# --- wrong terms -----------------------------------------------------------------------


def sin_exp_grad_no_product_rule(x: F) -> F:
    out: F = np.cos(x) * np.exp(0.5 * x) - np.sin(np.sum(x))
    return out


def polynomial_grad_wrong_power(x: F, c: F) -> F:
    g = fn.polynomial_grad(x, c)
    out: F = g - 4 * c[4] * x**3 + 4 * c[4] * x**4  # d/dx x**4 written as 4 x**4
    return out


def logsumexp_grad_unshifted_max(x: F) -> F:
    e = np.exp(x - np.max(x))
    out: F = e / e.sum()
    out[np.argmax(x)] = 1.0  # "the max term dominates": wrong
    return out


def gaussian_nll_missing_log_term(p: tuple[F, F], data: F) -> tuple[Any, tuple[F, F]]:
    loss, (dmu, dls) = fn.gaussian_nll(p, data)
    return loss, (dmu, dls - 1)  # forgot d/d log_sigma of log_sigma


def l2_norm_grad_squared(x: F) -> F:
    out: F = 2 * x  # the gradient of |x|**2, not of |x|
    return out


def rosenbrock_grad_missing_2(x: F) -> F:
    g = np.zeros_like(x)
    t = x[1:] - x[:-1] ** 2
    g[:-1] = -400.0 * x[:-1] * t - (1 - x[:-1])  # d/dx (1 - x)**2 missing its 2
    g[1:] += 200.0 * t
    return g


def l1_subgradient_out_of_range(x: F, c: F) -> F:
    g = np.sign(x - c)
    g[g == 0] = 2.0  # outside the subdifferential [-1, 1] at the kink
    return g


def build_buggy(c: dict[str, Case]) -> list[Case]:
    """The buggy cases, derived from the correct cases ``c`` (by name)."""
    rng = np.random.default_rng(fn.SEED + 1)
    bugs: list[Case] = []
    add = bugs.append
    factor = "factor"
    reg_pat, t_pat = "regularisation", "transposed"

    # sign (8)
    for name in ("quadratic", "least_squares", "softmax_ce", "poisson", "tanh_net_dict",
                 "sin_exp", "scaled_small", "l1_generic"):  # fmt: skip
        add(flip_sign(c[name]))
    add(derive(c["matrix_factorisation"], "sign_V", "sign",
               lambda g, x: {"U": g["U"], "V": -g["V"]}))  # fmt: skip

    # constant factor (8)
    add(scale(c["quadratic"], 2.0, factor))
    add(scale(c["polynomial"], 0.5, factor))
    add(scale(c["scaled_large"], 2.0, factor))
    add(scale(c["scaled_small"], 0.5, factor))
    add(scale(c["quadratic_float32"], 2.0, factor))
    add(scale(c["logistic_float32"], 0.5, factor))
    add(scale(c["gaussian_nll"], 3.0, factor))
    add(_bug(c["rosenbrock"], "missing_2", "factor", rosenbrock_grad_missing_2))

    # 1/N (6)
    add(_bug(c["least_squares"], "missing_mean", "1/N", least_squares_grad_sum, "1/N"))
    add(_bug(c["logistic"], "missing_mean", "1/N", True, fun=logistic_sum))
    add(_bug(c["softmax_ce"], "missing_mean", "1/N", True, fun=softmax_ce_sum))
    add(_bug(c["poisson"], "missing_mean", "1/N", poisson_grad_sum, "1/N"))
    add(_bug(c["huber"], "missing_mean", "1/N", True, "1/N", fun=huber_sum))
    add(_bug(c["gaussian_nll"], "mu_missing_mean", "1/N", True, fun=gaussian_nll_mu_sum))

    # regularisation (9)
    for base, suffix, f, pat in (
        ("ridge", "missing_reg", ridge_missing_reg, reg_pat),
        ("ridge", "reg_half", ridge_reg_half, reg_pat),
        ("ridge", "reg_double", ridge_reg_double, reg_pat),
        ("logistic", "missing_reg", logistic_missing_reg, reg_pat),
        ("softmax_ce", "reg_missing_2", softmax_ce_reg_half, reg_pat),
        ("svm_hinge", "missing_reg", svm_missing_reg, reg_pat),
        ("tanh_net_dict", "missing_reg_W1", tanh_net_missing_reg_w1, reg_pat),
        ("relu_net_tuple", "reg_W2_half", relu_net_reg_w2_half, reg_pat),
        ("matrix_factorisation", "missing_reg_V", mf_missing_reg_v, reg_pat),
    ):
        add(_bug(c[base], suffix, "regularisation", True, pat, fun=f))

    # transposed (5), square matrices
    add(_bug(c["trace_form"], "transposed", "transposed", trace_form_grad_t, t_pat))
    # only the outer-product term is transposed: no "transposed" pattern can fit
    add(_bug(c["bilinear"], "transposed_term", "transposed", bilinear_grad_t))
    add(_bug(c["log_abs_det"], "no_transpose", "transposed", log_abs_det_grad_no_t, t_pat))
    add(_bug(c["relu_net_tuple"], "W2_transposed", "transposed", True, fun=relu_net_w2_t))
    sq = c["softmax_ce"]
    Xq = rng.standard_normal((20, 4))
    square = replace(sq, name="softmax_ce_square", x=0.3 * rng.standard_normal((4, 4)),
                     args=(Xq, sq.args[1], 0.1))  # fmt: skip
    add(_bug(square, "transposed", "transposed", True, t_pat, fun=softmax_ce_square_t))

    # one wrong entry (12): big, 1e-3 relative, 1e-6 of the gradient's norm
    add(perturb_entry(c["quadratic"], "entry_zero", index=(3,), value=0.0))
    add(perturb_entry(c["least_squares"], "entry_rel_1e-3", index=(2,), rel=1e-3))
    add(perturb_entry(c["tanh_net_dict"], "b2_entry_rel_1e-3", key="b2", index=(1,), rel=1e-3))
    add(perturb_entry(c["rosenbrock"], "entry_rel_1e-3", index=(4,), rel=1e-3))
    add(perturb_entry(c["scaled_large"], "entry_rel_1e-3", index=(0,), rel=1e-3))
    add(perturb_entry(c["scaled_small"], "entry_rel_1e-3", index=(5,), rel=1e-3))
    add(perturb_entry(c["quadratic"], "entry_1e-6_norm", index=(5,), of_norm=1e-6))
    add(perturb_entry(c["logistic"], "entry_1e-6_norm", index=(1,), of_norm=1e-6))
    add(perturb_entry(c["softmax_ce"], "entry_1e-6_norm", index=(2, 3), of_norm=1e-6))
    add(perturb_entry(c["polynomial"], "entry_1e-6_norm", index=(6,), of_norm=1e-6))
    add(perturb_entry(c["gaussian_nll"], "log_sigma_entry_1e-6_norm", key=1, index=(0,),
                      of_norm=1e-6))  # fmt: skip
    add(perturb_entry(c["quadratic_float32"], "entry_rel_1e-2", index=(2,), rel=1e-2))

    # stale x (6)
    for name in ("quadratic", "logistic", "softmax_ce", "relu_net_tuple", "rosenbrock",
                 "sin_exp"):  # fmt: skip
        add(stale(c[name], lr=0.05 if name != "rosenbrock" else 0.002))

    # rare branches (6): a term wrong only where a few data points go
    rare = "rare-branch"
    add(_bug(c["huber"], "outlier_branch", rare, True, fun=huber_outlier_branch))
    add(_bug(c["logistic_outlier"], "stable_branch", rare, True, fun=logistic_stable_branch))
    add(_bug(c["svm_confident"], "few_violators", rare, True, fun=svm_few_violators))
    add(_bug(c["leaky_net"], "zero_slope", rare, True, fun=leaky_net_zero_slope))
    add(_bug(c["softplus"], "guard_zero", rare, True, fun=softplus_guard_zero))
    add(_bug(c["weighted_ls"], "ignores_weights", rare, True, fun=weighted_ls_ignores_weights))

    # wrong terms (7)
    add(_bug(c["sin_exp"], "no_product_rule", "wrong-term", sin_exp_grad_no_product_rule))
    add(_bug(c["polynomial"], "wrong_power", "wrong-term", polynomial_grad_wrong_power))
    add(_bug(c["logsumexp"], "max_term_one", "wrong-term", logsumexp_grad_unshifted_max))
    add(_bug(c["gaussian_nll"], "missing_log_term", "wrong-term", True,
             fun=gaussian_nll_missing_log_term))  # fmt: skip
    add(_bug(c["l2_norm"], "grad_of_square", "wrong-term", l2_norm_grad_squared))
    add(_bug(c["l1_at_kink"], "subgradient_out_of_range", "wrong-term",
             l1_subgradient_out_of_range, smooth=False))  # fmt: skip
    add(_bug(c["relu_at_zero"], "sign", "sign",
             lambda x, a: -fn.relu_sum_grad(x, a), smooth=False))  # fmt: skip
    return bugs
