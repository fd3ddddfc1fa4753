"""Correct functions of the corpus: smooth ones, and correct ones sitting on a kink.

Every function returns a NumPy scalar (complex when fed complex input, for the ones marked
``complex_ok``); the data are seeded and small so the whole corpus checks in seconds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._case import Case

F = NDArray[np.float64]
SEED = 20240601


def _sigmoid(z: F) -> F:
    out: F = 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for any z
    return out


# --- smooth, float64 --------------------------------------------------------------------


def quadratic(x: F, A: F, b: F) -> Any:
    """``0.5 x.A.x + b.x``."""
    return 0.5 * x @ A @ x + b @ x


def quadratic_grad(x: F, A: F, b: F) -> F:
    return 0.5 * (A + A.T) @ x + b


def least_squares(w: F, X: F, y: F) -> Any:
    """``0.5 mean((X w - y)**2)``."""
    r = X @ w - y
    return 0.5 * np.mean(r * r)


def least_squares_grad(w: F, X: F, y: F) -> F:
    out: F = X.T @ (X @ w - y) / X.shape[0]
    return out


def ridge(w: F, X: F, y: F, reg: float) -> tuple[Any, F]:
    """Least squares plus ``reg * |w|**2``; returns ``(loss, grad)``."""
    r = X @ w - y
    n = X.shape[0]
    return 0.5 * np.mean(r * r) + reg * (w @ w), X.T @ r / n + 2 * reg * w


def logistic(w: F, X: F, y: F, reg: float) -> tuple[Any, F]:
    """Mean logistic loss (labels +-1) plus ``reg * |w|**2``."""
    m = y * (X @ w)
    loss = np.mean(np.logaddexp(0.0, -m)) + reg * (w @ w)
    return loss, -X.T @ (y * _sigmoid(-m)) / X.shape[0] + 2 * reg * w


def softmax_ce(W: F, X: F, y: NDArray[np.intp], reg: float) -> tuple[Any, F]:
    """Softmax cross-entropy (stable) plus ``reg * |W|**2``."""
    n = X.shape[0]
    rows = np.arange(n)
    s = X @ W
    s = s - s.max(axis=1, keepdims=True)
    logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    d = np.exp(logp)
    d[rows, y] -= 1
    return -logp[rows, y].mean() + reg * np.sum(W * W), X.T @ d / n + 2 * reg * W


def svm_hinge(W: F, X: F, y: NDArray[np.intp], reg: float) -> tuple[Any, F]:
    """Multiclass SVM (hinge, margin 1) plus ``reg * |W|**2`` (CS231n, vectorised)."""
    n = X.shape[0]
    rows = np.arange(n)
    s = X @ W
    margins = np.maximum(0.0, s - s[rows, y][:, None] + 1.0)
    margins[rows, y] = 0.0
    coeff = (margins > 0).astype(float)
    coeff[rows, y] = -coeff.sum(axis=1)
    return margins.sum() / n + reg * np.sum(W * W), X.T @ coeff / n + 2 * reg * W


def huber(w: F, X: F, y: F, delta: float) -> tuple[Any, F]:
    """Mean Huber loss of the residuals ``X w - y``."""
    r = X @ w - y
    small = np.abs(r) <= delta
    loss = np.where(small, 0.5 * r * r, delta * (np.abs(r) - 0.5 * delta))
    dr = np.where(small, r, delta * np.sign(r))
    return np.mean(loss), X.T @ dr / X.shape[0]


def tanh_net(p: dict[str, F], X: F, y: NDArray[np.intp], reg: float) -> tuple[Any, dict[str, F]]:
    """Two-layer net (tanh hidden layer, softmax loss, L2 on W1 and W2), params as a dict."""
    n = X.shape[0]
    rows = np.arange(n)
    h = np.tanh(X @ p["W1"] + p["b1"])
    s = h @ p["W2"] + p["b2"]
    s = s - s.max(axis=1, keepdims=True)
    logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    loss = -logp[rows, y].mean() + reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
    ds = np.exp(logp)
    ds[rows, y] -= 1
    ds /= n
    dpre = (ds @ p["W2"].T) * (1 - h * h)
    return loss, {
        "W1": X.T @ dpre + 2 * reg * p["W1"],
        "b1": dpre.sum(axis=0),
        "W2": h.T @ ds + 2 * reg * p["W2"],
        "b2": ds.sum(axis=0),
    }


def relu_net(
    p: tuple[F, F, F, F], X: F, y: NDArray[np.intp], reg: float
) -> tuple[Any, tuple[F, F, F, F]]:
    """Two-layer ReLU net, params as a tuple ``(W1, b1, W2, b2)``; W2 is square."""
    W1, b1, W2, b2 = p
    n = X.shape[0]
    rows = np.arange(n)
    pre = X @ W1 + b1
    h = np.maximum(pre, 0.0)
    s = h @ W2 + b2
    s = s - s.max(axis=1, keepdims=True)
    logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    loss = -logp[rows, y].mean() + reg * (np.sum(W1**2) + np.sum(W2**2))
    ds = np.exp(logp)
    ds[rows, y] -= 1
    ds /= n
    dpre = (ds @ W2.T) * (pre > 0)
    grads = (X.T @ dpre + 2 * reg * W1, dpre.sum(axis=0), h.T @ ds + 2 * reg * W2, ds.sum(axis=0))
    return loss, grads


def logsumexp(x: F) -> Any:
    """``log(sum(exp(x)))``, shifted by the maximum (entries up to 700)."""
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def logsumexp_grad(x: F) -> F:
    e = np.exp(x - np.max(x))
    out: F = e / e.sum()
    return out


def matrix_factorisation(p: dict[str, F], M: F, mask: F, reg: float) -> tuple[Any, dict[str, F]]:
    """``0.5 |mask * (U V^T - M)|^2 + 0.5 reg (|U|^2 + |V|^2)``, params ``{"U", "V"}``."""
    U, V = p["U"], p["V"]
    R = mask * (U @ V.T - M)
    loss = 0.5 * np.sum(R * R) + 0.5 * reg * (np.sum(U * U) + np.sum(V * V))
    return loss, {"U": R @ V + reg * U, "V": R.T @ U + reg * V}


def scaled_large(x: F) -> Any:
    """Values near 1e8: ``1e8 * (sum(log(1 + x**2)) + x0 * x1)``."""
    return 1e8 * (np.sum(np.log(1 + x * x)) + x[0] * x[1])


def scaled_large_grad(x: F) -> F:
    g = 1e8 * 2 * x / (1 + x * x)
    g[0] += 1e8 * x[1]
    g[1] += 1e8 * x[0]
    return g


def scaled_small(x: F) -> Any:
    """Values near 1e-8: ``1e-8 * (sum(x**4) / 4 + sum(x)**2)``."""
    return 1e-8 * (np.sum(x**4) / 4 + np.sum(x) ** 2)


def scaled_small_grad(x: F) -> F:
    out: F = 1e-8 * (x**3 + 2 * np.sum(x))
    return out


def quadratic32(x: NDArray[np.float32], A: NDArray[np.float32]) -> Any:
    """A float32 quadratic ``0.5 x.A.x + sum(x)`` (A symmetric), computed in float32."""
    return np.float32(0.5) * (x @ A @ x) + np.sum(x)


def quadratic32_grad(x: NDArray[np.float32], A: NDArray[np.float32]) -> NDArray[np.float32]:
    out: NDArray[np.float32] = A @ x + np.float32(1)
    return out


def logistic32(
    w: NDArray[np.float32], X: NDArray[np.float32], y: NDArray[np.float32]
) -> tuple[Any, NDArray[np.float32]]:
    """Mean logistic loss in float32 (labels +-1)."""
    m = y * (X @ w)
    loss = np.mean(np.logaddexp(np.float32(0), -m))
    p: Any = _sigmoid(-m)  # float32 in, float32 out
    return loss, -X.T @ (y * p) / np.float32(X.shape[0])


def polynomial(x: F, c: F) -> Any:
    """``sum_i sum_k c[k] x_i**k`` for k = 0..5."""
    return sum(c[k] * np.sum(x**k) for k in range(6))


def polynomial_grad(x: F, c: F) -> F:
    out: F = np.zeros_like(x)
    for k in range(1, 6):
        out += k * c[k] * x ** (k - 1)
    return out


def sin_exp(x: F) -> Any:
    """``sum(sin(x) exp(x / 2)) + cos(sum(x))``."""
    return np.sum(np.sin(x) * np.exp(0.5 * x)) + np.cos(np.sum(x))


def sin_exp_grad(x: F) -> F:
    out: F = (np.cos(x) + 0.5 * np.sin(x)) * np.exp(0.5 * x) - np.sin(np.sum(x))
    return out


def rosenbrock(x: F) -> Any:
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_grad(x: F) -> F:
    g = np.zeros_like(x)
    t = x[1:] - x[:-1] ** 2
    g[:-1] = -400.0 * x[:-1] * t - 2 * (1 - x[:-1])
    g[1:] += 200.0 * t
    return g


def gaussian_nll(p: tuple[F, F], data: F) -> tuple[Any, tuple[F, F]]:
    """Mean negative log-likelihood of a diagonal Gaussian, params ``(mu, log_sigma)``."""
    mu, log_sigma = p
    z = (data - mu) * np.exp(-log_sigma)
    loss = np.mean(np.sum(0.5 * z * z + log_sigma, axis=1))
    dmu = -np.mean(z, axis=0) * np.exp(-log_sigma)
    dls = np.mean(1 - z * z, axis=0)
    return loss, (dmu, dls)


def poisson(w: F, X: F, counts: F) -> Any:
    """Poisson regression: ``mean(exp(X w) - counts * X w)``."""
    z = X @ w
    return np.mean(np.exp(z) - counts * z)


def poisson_grad(w: F, X: F, counts: F) -> F:
    out: F = X.T @ (np.exp(X @ w) - counts) / X.shape[0]
    return out


def trace_form(W: F, A: F, B: F) -> Any:
    """``trace(W^T A W B)`` with non-symmetric A, B: its gradient is not symmetric."""
    return np.trace(W.T @ A @ W @ B)


def trace_form_grad(W: F, A: F, B: F) -> F:
    out: F = A @ W @ B + A.T @ W @ B.T
    return out


def log_abs_det(A: F) -> Any:
    """``log |det A|`` for a general square A; the gradient is ``inv(A).T``."""
    return np.linalg.slogdet(A)[1]


def log_abs_det_grad(A: F) -> F:
    out: F = np.asarray(np.linalg.inv(A).T, dtype=np.float64)
    return out


def l2_norm(x: F) -> Any:
    """``sqrt(sum(x**2))``, smooth away from 0."""
    return np.sqrt(np.sum(x * x))


def l2_norm_grad(x: F) -> F:
    out: F = x / np.sqrt(np.sum(x * x))
    return out


def bilinear(W: F, a: F, b: F) -> Any:
    """``a.W.b + 0.5 |W|^2`` with a square W."""
    return a @ W @ b + 0.5 * np.sum(W * W)


def bilinear_grad(W: F, a: F, b: F) -> F:
    out: F = np.outer(a, b) + W
    return out


# --- functions with a rarely taken branch (the base of the rare-branch bugs) -----------


def leaky_net_backward(
    p: tuple[F, F, F, F], X: F, y: NDArray[np.intp], reg: float, slope_in_backward: float
) -> tuple[Any, tuple[F, F, F, F]]:
    """Leaky-ReLU net (slope 0.1 below 0); the backward pass uses ``slope_in_backward``."""
    W1, b1, W2, b2 = p
    n = X.shape[0]
    rows = np.arange(n)
    pre = X @ W1 + b1
    h = np.where(pre > 0, pre, 0.1 * pre)
    s = h @ W2 + b2
    s = s - s.max(axis=1, keepdims=True)
    logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    loss = -logp[rows, y].mean() + reg * (np.sum(W1**2) + np.sum(W2**2))
    ds = np.exp(logp)
    ds[rows, y] -= 1
    ds /= n
    dpre = (ds @ W2.T) * np.where(pre > 0, 1.0, slope_in_backward)
    grads = (X.T @ dpre + 2 * reg * W1, dpre.sum(axis=0), h.T @ ds + 2 * reg * W2, ds.sum(axis=0))
    return loss, grads


def leaky_net(
    p: tuple[F, F, F, F], X: F, y: NDArray[np.intp], reg: float
) -> tuple[Any, tuple[F, F, F, F]]:
    """Two-layer leaky-ReLU net, params as a tuple."""
    return leaky_net_backward(p, X, y, reg, 0.1)


def softplus_branch(w: F, X: F, slope_branch: float) -> tuple[Any, F]:
    """``mean(softplus(X w))`` with an overflow guard ``z > 30`` whose derivative is
    ``slope_branch`` (1 is right)."""
    z = X @ w
    big = z > 30
    loss = np.mean(np.where(big, z, np.log1p(np.exp(np.where(big, 0.0, z)))))
    dz = np.where(big, slope_branch, _sigmoid(z))
    return loss, X.T @ dz / X.shape[0]


def softplus_mean(w: F, X: F) -> tuple[Any, F]:
    """``mean(softplus(X w))``, guarded against overflow."""
    return softplus_branch(w, X, 1.0)


def weighted_ls_grad_weights(w: F, X: F, y: F, weights: F, use_weights: bool) -> tuple[Any, F]:
    """Weighted least squares; ``use_weights=False`` ignores the weights in the gradient."""
    r = X @ w - y
    loss = 0.5 * np.mean(weights * r * r)
    return loss, X.T @ ((weights if use_weights else 1.0) * r) / X.shape[0]


def weighted_ls(w: F, X: F, y: F, weights: F) -> tuple[Any, F]:
    """``0.5 mean(weights * (X w - y)**2)``."""
    return weighted_ls_grad_weights(w, X, y, weights, True)


# --- kinked, correct ---------------------------------------------------------------------


def l1_loss(x: F, c: F) -> Any:
    """``sum|x - c|``; its (sub)gradient ``sign(x - c)`` is 0 at the kink."""
    return np.sum(np.abs(x - c))


def l1_loss_grad(x: F, c: F) -> F:
    out: F = np.sign(x - c)
    return out


def relu_sum(x: F, a: F) -> Any:
    return np.sum(a * np.maximum(x, 0.0))


def relu_sum_grad(x: F, a: F) -> F:
    out: F = a * (x > 0)
    return out


def max_entry(x: F) -> Any:
    return np.max(x)


def max_entry_grad(x: F) -> F:
    g = np.zeros_like(x)
    g[np.argmax(x)] = 1.0
    return g


def binary_hinge(w: F, X: F, y: F) -> tuple[Any, F]:
    """``mean(max(0, 1 - y X w))``."""
    m = 1 - y * (X @ w)
    active = (m > 0).astype(float)
    return np.mean(np.maximum(m, 0.0)), -X.T @ (active * y) / X.shape[0]


def lasso(w: F, X: F, y: F, reg: float) -> tuple[Any, F]:
    """Least squares plus ``reg * |w|_1``; the subgradient of ``|w_i|`` at 0 is 0."""
    r = X @ w - y
    return 0.5 * np.mean(r * r) + reg * np.sum(np.abs(w)), X.T @ r / X.shape[0] + reg * np.sign(w)


def clipped_square(x: F) -> Any:
    """``sum(clip(x, -1, 1)**2)``."""
    return np.sum(np.clip(x, -1.0, 1.0) ** 2)


def clipped_square_grad(x: F) -> F:
    out: F = 2 * x * (np.abs(x) < 1)
    return out


def _orthogonal(rng: np.random.Generator, w: F) -> F:
    """A random vector orthogonal to ``w`` (so a data row ``c w + it`` is not parallel to w)."""
    v = rng.standard_normal(w.shape)
    out: F = v - (v @ w) / (w @ w) * w
    return out


def build_correct() -> dict[str, Case]:
    """The correct and kinked cases, by name, at seeded points."""
    rng = np.random.default_rng(SEED)
    cases: list[Case] = []

    def add(case: Case) -> None:
        cases.append(case)

    n = 8
    M = rng.standard_normal((n, n))
    A = M @ M.T / n + np.eye(n)
    add(Case("quadratic", quadratic, quadratic_grad, rng.standard_normal(n),
             (A, rng.standard_normal(n)), complex_ok=True))  # fmt: skip

    N, D = 30, 6
    X = rng.standard_normal((N, D))
    w = rng.standard_normal(D)
    yr = X @ w + 0.5 * rng.standard_normal(N)
    w0 = 0.3 * rng.standard_normal(D)
    add(Case("least_squares", least_squares, least_squares_grad, w0, (X, yr), complex_ok=True))
    add(Case("ridge", ridge, True, w0, (X, yr, 0.3), complex_ok=True))
    ypm = np.where(X @ w + rng.standard_normal(N) > 0, 1.0, -1.0)
    add(Case("logistic", logistic, True, w0, (X, ypm, 0.1)))

    C = 4
    Xc = rng.standard_normal((20, 5))
    yc = rng.integers(0, C, 20)
    Wc = 0.3 * rng.standard_normal((5, C))
    add(Case("softmax_ce", softmax_ce, True, Wc, (Xc, yc, 0.1)))
    add(Case("svm_hinge", svm_hinge, True, Wc, (Xc, yc, 0.1)))
    r_sorted = np.sort(np.abs(X @ w0 - yr))
    delta = float(r_sorted[-4] + r_sorted[-3]) / 2  # three outliers beyond delta
    add(Case("huber", huber, True, w0, (X, yr, delta)))

    Xn = rng.standard_normal((16, 4))
    yn = rng.integers(0, 3, 16)
    params = {
        "W1": rng.standard_normal((4, 5)) / 2,
        "b1": 0.1 * rng.standard_normal(5),
        "W2": rng.standard_normal((5, 3)) / 2,
        "b2": 0.1 * rng.standard_normal(3),
    }
    add(Case("tanh_net_dict", tanh_net, True, params, (Xn, yn, 0.05)))
    Xr = rng.standard_normal((16, 4))
    yr4 = rng.integers(0, 4, 16)
    tup = (
        rng.standard_normal((4, 4)) / 2,
        0.1 * rng.standard_normal(4),
        rng.standard_normal((4, 4)) / 2,
        0.1 * rng.standard_normal(4),
    )
    add(Case("relu_net_tuple", relu_net, True, tup, (Xr, yr4, 0.05)))

    add(Case("logsumexp", logsumexp, logsumexp_grad, 300 + 3 * rng.standard_normal(7)))

    m, k, r = 6, 5, 2
    Mm = rng.standard_normal((m, r)) @ rng.standard_normal((r, k))
    mask = (rng.random((m, k)) < 0.7).astype(float)
    uv = {"U": 0.5 * rng.standard_normal((m, r)), "V": 0.5 * rng.standard_normal((k, r))}
    add(Case("matrix_factorisation", matrix_factorisation, True, uv, (Mm, mask, 0.1),
             complex_ok=True))  # fmt: skip

    add(Case("scaled_large", scaled_large, scaled_large_grad, rng.standard_normal(6),
             complex_ok=True))  # fmt: skip
    add(Case("scaled_small", scaled_small, scaled_small_grad, rng.standard_normal(6),
             complex_ok=True))  # fmt: skip

    M32 = rng.standard_normal((6, 6))
    A32 = ((M32 + M32.T) / 4 + 2 * np.eye(6)).astype(np.float32)
    add(Case("quadratic_float32", quadratic32, quadratic32_grad,
             rng.standard_normal(6).astype(np.float32), (A32,)))  # fmt: skip
    X32 = rng.standard_normal((20, 5)).astype(np.float32)
    y32 = np.where(rng.standard_normal(20) > 0, 1, -1).astype(np.float32)
    add(Case("logistic_float32", logistic32, True, 0.5 * rng.standard_normal(5).astype(np.float32),
             (X32, y32)))  # fmt: skip

    add(Case("polynomial", polynomial, polynomial_grad, rng.uniform(-1.5, 1.5, 7),
             (np.array([0.5, -1.0, 2.0, 0.3, -0.7, 0.2]),), complex_ok=True))  # fmt: skip
    add(Case("sin_exp", sin_exp, sin_exp_grad, rng.uniform(-2, 2, 7), complex_ok=True))
    add(Case("rosenbrock", rosenbrock, rosenbrock_grad, rng.uniform(-1.2, 1.2, 6),
             complex_ok=True))  # fmt: skip
    data = rng.normal(1.0, 2.0, (25, 3))
    add(Case("gaussian_nll", gaussian_nll, True,
             (rng.standard_normal(3), 0.3 * rng.standard_normal(3)), (data,),
             complex_ok=True))  # fmt: skip
    Xp = 0.3 * rng.standard_normal((25, 4))
    counts = rng.poisson(2.0, 25).astype(float)
    add(Case("poisson", poisson, poisson_grad, 0.5 * rng.standard_normal(4), (Xp, counts),
             complex_ok=True))  # fmt: skip
    add(Case("trace_form", trace_form, trace_form_grad, rng.standard_normal((5, 5)),
             (rng.standard_normal((5, 5)), rng.standard_normal((5, 5))), complex_ok=True))  # fmt: skip
    add(Case("log_abs_det", log_abs_det, log_abs_det_grad,
             rng.standard_normal((4, 4)) + 2 * np.eye(4)))  # fmt: skip
    add(Case("l2_norm", l2_norm, l2_norm_grad, rng.standard_normal(9), complex_ok=True))
    add(Case("bilinear", bilinear, bilinear_grad, rng.standard_normal((4, 4)),
             (rng.standard_normal(4), rng.standard_normal(4)), complex_ok=True))  # fmt: skip

    # -- bases of the rare-branch bugs: a branch taken by a few data points only
    X_out = X.copy()
    X_out[7] = -30 * ypm[7] * w0 / (w0 @ w0) + _orthogonal(rng, w0)  # margin -30
    add(Case("logistic_outlier", logistic, True, w0, (X_out, ypm, 0.1)))
    W_conf = 8 * Wc
    y_conf = np.argmax(Xc @ W_conf, axis=1)
    y_conf[[3, 11]] = (y_conf[[3, 11]] + 1) % C  # two mislabelled samples
    add(Case("svm_confident", svm_hinge, True, W_conf, (Xc, y_conf, 0.1)))
    W1, b1, W2, b2 = tup
    add(Case("leaky_net", leaky_net, True, (W1, b1 + 1.5, W2, b2), (Xr, yr4, 0.05)))
    Xs = 0.3 * rng.standard_normal((20, 4))
    ws = rng.standard_normal(4)
    Xs[3] = 40 * ws / (ws @ ws) + _orthogonal(rng, ws)  # z = 40 for sample 3 only
    add(Case("softplus", softplus_mean, True, ws, (Xs,)))
    weights = np.ones(N)
    weights[[4, 17]] = 3.0
    add(Case("weighted_ls", weighted_ls, True, w0, (X, yr, weights)))

    # -- kinked: x sits exactly on a kink; the gradient is a valid subgradient
    c = rng.standard_normal(9)
    x_l1 = rng.standard_normal(9)
    x_l1[::3] = c[::3]
    add(Case("l1_at_kink", l1_loss, l1_loss_grad, x_l1, (c,), expected="kinked", smooth=False))
    x_relu = rng.standard_normal(8)
    x_relu[[1, 4, 6]] = 0.0
    add(Case("relu_at_zero", relu_sum, relu_sum_grad, x_relu, (rng.uniform(0.5, 2, 8),),
             expected="kinked", smooth=False))  # fmt: skip
    x_max = rng.standard_normal(6)
    x_max[[2, 4]] = 3.0
    add(Case("max_tie", max_entry, max_entry_grad, x_max, expected="kinked", smooth=False))
    # SVM with sample 0 exactly on the margin of class 1: s = [2, 1, 0.5, -1], y = 0
    Xs = np.vstack([[1.0, 0.0, 0.0], rng.standard_normal((9, 3))])
    Ws = np.vstack([[2.0, 1.0, 0.5, -1.0], 0.3 * rng.standard_normal((2, 4))])
    ys = np.concatenate([[0], rng.integers(0, 4, 9)])
    add(Case("svm_on_margin", svm_hinge, True, Ws, (Xs, ys, 0.1), expected="kinked",
             smooth=False))  # fmt: skip
    # binary hinge with sample 0 exactly on the margin: x0.w = 2 * 0.5 = 1, y0 = 1
    Xh = np.vstack([[2.0, 0.0, 0.0], rng.standard_normal((11, 3))])
    yh = np.concatenate([[1.0], np.where(rng.standard_normal(11) > 0, 1.0, -1.0)])
    add(Case("binary_hinge_on_margin", binary_hinge, True, np.array([0.5, 0.25, -0.75]),
             (Xh, yh), expected="kinked", smooth=False))  # fmt: skip
    # ReLU net whose unit 2 has pre-activation exactly 0 on sample 0 (x0 = 0, b1[2] = 0)
    Xd = np.vstack([np.zeros(4), rng.standard_normal((9, 4))])
    yd = rng.integers(0, 4, 10)
    b1 = 0.1 * rng.standard_normal(4)
    b1[2] = 0.0
    dead = (rng.standard_normal((4, 4)) / 2, b1, rng.standard_normal((4, 4)) / 2,
            0.1 * rng.standard_normal(4))  # fmt: skip
    add(Case("relu_net_on_kink", relu_net, True, dead, (Xd, yd, 0.05), expected="kinked",
             smooth=False))  # fmt: skip
    w_lasso = 0.3 * rng.standard_normal(D)
    w_lasso[[0, 3]] = 0.0
    add(Case("lasso_at_zero", lasso, True, w_lasso, (X, yr, 0.2), expected="kinked",
             smooth=False))  # fmt: skip
    x_clip = rng.uniform(-0.9, 0.9, 6)
    x_clip[[1, 5]] = [1.0, -1.0]
    add(Case("clip_at_bound", clipped_square, clipped_square_grad, x_clip, expected="kinked",
             smooth=False))  # fmt: skip
    # L1 at a generic point: piecewise linear but smooth near x
    add(Case("l1_generic", l1_loss, l1_loss_grad, rng.standard_normal(9), (c,)))

    return {case.name: case for case in cases}
