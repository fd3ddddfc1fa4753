"""Losses written in NumPy, each returning ``(loss, gradient)``, and deliberately wrong twins.

The correct losses are the classic ones of a first machine-learning course (CS231n style,
vectorised): a multiclass SVM (hinge) loss, softmax cross-entropy, and a two-layer ReLU
network. Beside each sits a variant with a typical bug, so that ``check_examples.py``
shows what a pass and a failure look like in gradtest's report:

- :func:`svm_loss_sign_flipped`: the gradient has the wrong sign;
- :func:`softmax_loss_missing_factor`: the gradient of ``reg * sum(W**2)`` lacks its 2;
- :func:`softmax_loss_missing_mean`: the data gradient is not divided by ``N``;
- :func:`two_layer_net_missing_reg`: ``dW1`` lacks the regularisation term.

All losses follow the ``jac=True`` convention of ``scipy.optimize.minimize``, so they are
checked with ``gradtest.check_grad(fun, True, x, args=...)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "softmax_loss",
    "softmax_loss_missing_factor",
    "softmax_loss_missing_mean",
    "svm_loss",
    "svm_loss_sign_flipped",
    "two_layer_net",
    "two_layer_net_missing_reg",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
Params = dict[str, FloatArray]


def _svm_parts(
    W: FloatArray, X: FloatArray, y: IntArray, reg: float
) -> tuple[float, FloatArray, FloatArray]:
    """Loss, data gradient and regularisation gradient of the multiclass SVM."""
    n = X.shape[0]
    rows = np.arange(n)
    scores = X @ W  # (N, C)
    correct = scores[rows, y][:, None]
    margins = np.maximum(0.0, scores - correct + 1.0)
    margins[rows, y] = 0.0
    loss = float(margins.sum() / n + reg * np.sum(W * W))
    # each positive margin adds X[i] to column j and subtracts it from column y[i]
    coeff = (margins > 0).astype(X.dtype)
    coeff[rows, y] = -coeff.sum(axis=1)
    return loss, X.T @ coeff / n, 2.0 * reg * W


def svm_loss(W: FloatArray, X: FloatArray, y: IntArray, reg: float) -> tuple[float, FloatArray]:
    """Multiclass SVM (hinge, margin 1) loss with L2 regularisation.

    Parameters
    ----------
    W : ndarray, shape (D, C)
        Weights.
    X : ndarray, shape (N, D)
        Data, one row per sample.
    y : ndarray of int, shape (N,)
        Labels in ``0 .. C-1``.
    reg : float
        Regularisation strength.

    Returns
    -------
    loss : float
        ``mean_i sum_{j != y_i} max(0, s_ij - s_iy_i + 1) + reg * sum(W * W)`` with
        ``s = X @ W``.
    grad : ndarray, shape (D, C)
        The gradient with respect to ``W`` (a subgradient where a margin is exactly 0).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 2.0], [0.5, -1.0]])
    >>> y = np.array([0, 1])
    >>> loss, grad = svm_loss(np.zeros((2, 3)), X, y, reg=0.1)
    >>> loss  # every wrong class has margin 1 at W = 0
    2.0
    >>> grad.shape
    (2, 3)
    """
    loss, data, regular = _svm_parts(W, X, y, reg)
    return loss, data + regular


def svm_loss_sign_flipped(
    W: FloatArray, X: FloatArray, y: IntArray, reg: float
) -> tuple[float, FloatArray]:
    """Like :func:`svm_loss`, but the gradient has the wrong sign (a bug).

    Parameters
    ----------
    W, X, y, reg
        As in :func:`svm_loss`.

    Returns
    -------
    loss : float
        The correct loss.
    grad : ndarray, shape (D, C)
        Minus the gradient (the gradient of ``-loss``): wrong.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W, X, y = rng.normal(size=(3, 4)), rng.normal(size=(5, 3)), np.arange(5) % 4
    >>> good, bad = svm_loss(W, X, y, 0.1)[1], svm_loss_sign_flipped(W, X, y, 0.1)[1]
    >>> bool(np.allclose(bad, -good))
    True
    """
    loss, data, regular = _svm_parts(W, X, y, reg)
    return loss, -(data + regular)


def _softmax_parts(
    W: FloatArray, X: FloatArray, y: IntArray, reg: float
) -> tuple[float, FloatArray, FloatArray]:
    """Loss, data gradient (already divided by N) and ``reg * W`` of softmax cross-entropy."""
    n = X.shape[0]
    rows = np.arange(n)
    scores = X @ W
    scores = scores - scores.max(axis=1, keepdims=True)  # exp never overflows
    log_probs = scores - np.log(np.sum(np.exp(scores), axis=1, keepdims=True))
    loss = float(-log_probs[rows, y].mean() + reg * np.sum(W * W))
    dscores = np.exp(log_probs)
    dscores[rows, y] -= 1.0
    return loss, X.T @ dscores / n, reg * W


def softmax_loss(W: FloatArray, X: FloatArray, y: IntArray, reg: float) -> tuple[float, FloatArray]:
    """Softmax cross-entropy loss with L2 regularisation, numerically stable.

    Parameters
    ----------
    W : ndarray, shape (D, C)
        Weights.
    X : ndarray, shape (N, D)
        Data, one row per sample.
    y : ndarray of int, shape (N,)
        Labels in ``0 .. C-1``.
    reg : float
        Regularisation strength.

    Returns
    -------
    loss : float
        ``-mean_i log softmax(X @ W)[i, y_i] + reg * sum(W * W)``; the row maximum of the
        scores is subtracted before ``exp``, so large scores do not overflow.
    grad : ndarray, shape (D, C)
        ``X.T @ (P - Y) / N + 2 * reg * W`` with ``P`` the probabilities and ``Y`` one-hot.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1000.0, 0.0], [0.0, 1000.0]])
    >>> loss, grad = softmax_loss(np.eye(2), X, np.array([0, 1]), reg=0.0)
    >>> loss < 1e-300, bool(np.all(np.isfinite(grad)))
    (True, True)
    """
    loss, data, half_reg = _softmax_parts(W, X, y, reg)
    return loss, data + 2.0 * half_reg


def softmax_loss_missing_factor(
    W: FloatArray, X: FloatArray, y: IntArray, reg: float
) -> tuple[float, FloatArray]:
    """Like :func:`softmax_loss`, but the regularisation gradient lacks its factor 2 (a bug).

    Parameters
    ----------
    W, X, y, reg
        As in :func:`softmax_loss`.

    Returns
    -------
    loss : float
        The correct loss.
    grad : ndarray, shape (D, C)
        ``X.T @ (P - Y) / N + reg * W``: wrong whenever ``reg * W`` is not zero.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.ones((2, 2))
    >>> X, y = np.zeros((1, 2)), np.array([0])  # no data gradient: only the regulariser
    >>> softmax_loss_missing_factor(W, X, y, reg=0.5)[1]
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    loss, data, half_reg = _softmax_parts(W, X, y, reg)
    return loss, data + half_reg


def softmax_loss_missing_mean(
    W: FloatArray, X: FloatArray, y: IntArray, reg: float
) -> tuple[float, FloatArray]:
    """Like :func:`softmax_loss`, but the data gradient is summed, not averaged (a bug).

    Parameters
    ----------
    W, X, y, reg
        As in :func:`softmax_loss`.

    Returns
    -------
    loss : float
        The correct loss (a mean over the samples).
    grad : ndarray, shape (D, C)
        ``X.T @ (P - Y) + 2 * reg * W``: the data term is ``N`` times too large.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W, X, y = rng.normal(size=(3, 2)), rng.normal(size=(4, 3)), np.array([0, 1, 1, 0])
    >>> good, bad = softmax_loss(W, X, y, 0.0)[1], softmax_loss_missing_mean(W, X, y, 0.0)[1]
    >>> bool(np.allclose(bad, 4 * good))
    True
    """
    loss, data, half_reg = _softmax_parts(W, X, y, reg)
    return loss, X.shape[0] * data + 2.0 * half_reg


def _two_layer_parts(
    params: Params, X: FloatArray, y: IntArray, reg: float
) -> tuple[float, Params]:
    """Loss and gradients of the two-layer net, without the regularisation gradients."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n = X.shape[0]
    rows = np.arange(n)
    pre = X @ W1 + b1  # (N, H)
    hidden = np.maximum(0.0, pre)
    scores = hidden @ W2 + b2  # (N, C)
    scores = scores - scores.max(axis=1, keepdims=True)
    log_probs = scores - np.log(np.sum(np.exp(scores), axis=1, keepdims=True))
    loss = float(-log_probs[rows, y].mean() + reg * (np.sum(W1 * W1) + np.sum(W2 * W2)))
    dscores = np.exp(log_probs)
    dscores[rows, y] -= 1.0
    dscores /= n
    dhidden = (dscores @ W2.T) * (pre > 0)
    grads = {
        "W1": X.T @ dhidden,
        "b1": dhidden.sum(axis=0),
        "W2": hidden.T @ dscores,
        "b2": dscores.sum(axis=0),
    }
    return loss, grads


def two_layer_net(params: Params, X: FloatArray, y: IntArray, reg: float) -> tuple[float, Params]:
    """A two-layer network: affine, ReLU, affine, softmax cross-entropy, L2 on the weights.

    Parameters
    ----------
    params : dict of ndarray
        ``"W1"`` (D, H), ``"b1"`` (H,), ``"W2"`` (H, C), ``"b2"`` (C,).
    X : ndarray, shape (N, D)
        Data, one row per sample.
    y : ndarray of int, shape (N,)
        Labels in ``0 .. C-1``.
    reg : float
        Regularisation strength on ``W1`` and ``W2`` (not on the biases).

    Returns
    -------
    loss : float
        Mean cross-entropy of ``softmax(relu(X @ W1 + b1) @ W2 + b2)`` plus
        ``reg * (sum(W1**2) + sum(W2**2))``.
    grads : dict of ndarray
        The gradient with the keys and shapes of ``params``.

    Examples
    --------
    >>> import numpy as np
    >>> params = {"W1": np.zeros((3, 4)), "b1": np.zeros(4),
    ...           "W2": np.zeros((4, 2)), "b2": np.zeros(2)}
    >>> loss, grads = two_layer_net(params, np.ones((5, 3)), np.zeros(5, dtype=int), 0.1)
    >>> round(loss, 6), sorted(grads)  # log(2): two equally likely classes
    (0.693147, ['W1', 'W2', 'b1', 'b2'])
    """
    loss, grads = _two_layer_parts(params, X, y, reg)
    grads["W1"] = grads["W1"] + 2.0 * reg * params["W1"]
    grads["W2"] = grads["W2"] + 2.0 * reg * params["W2"]
    return loss, grads


def two_layer_net_missing_reg(
    params: Params, X: FloatArray, y: IntArray, reg: float
) -> tuple[float, Params]:
    """Like :func:`two_layer_net`, but ``dW1`` lacks the regularisation term (a bug).

    Parameters
    ----------
    params, X, y, reg
        As in :func:`two_layer_net`.

    Returns
    -------
    loss : float
        The correct loss (it does include ``reg * sum(W1**2)``).
    grads : dict of ndarray
        Correct except ``grads["W1"]``, which misses ``2 * reg * W1``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> params = {"W1": rng.normal(size=(3, 4)), "b1": np.zeros(4),
    ...           "W2": rng.normal(size=(4, 2)), "b2": np.zeros(2)}
    >>> X, y = rng.normal(size=(5, 3)), np.array([0, 1, 0, 1, 1])
    >>> good = two_layer_net(params, X, y, 0.5)[1]
    >>> bad = two_layer_net_missing_reg(params, X, y, 0.5)[1]
    >>> bool(np.allclose(good["W1"] - bad["W1"], params["W1"]))
    True
    """
    loss, grads = _two_layer_parts(params, X, y, reg)
    grads["W2"] = grads["W2"] + 2.0 * reg * params["W2"]
    return loss, grads
