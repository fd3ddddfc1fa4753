"""A softmax cross-entropy loss with its analytic gradient, checked by gradtest."""

import numpy as np

import gradtest


def softmax_loss(W, X, y):
    """Mean cross-entropy of ``softmax(X @ W)`` and its gradient with respect to ``W``."""
    scores = X @ W
    scores = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(scores)
    p /= p.sum(axis=1, keepdims=True)
    n = X.shape[0]
    loss = -np.log(p[np.arange(n), y]).mean()
    p[np.arange(n), y] -= 1
    return float(loss), X.T @ p / n


_rng = np.random.default_rng(0)


@gradtest.gradcheck(
    wrt="W", W=_rng.normal(size=(4, 3)), X=_rng.normal(size=(5, 4)), y=np.array([0, 1, 2, 1, 0])
)
def test_softmax_loss(W, X, y):
    return softmax_loss(W, X, y)
