"""Minibatch SGD on the SVM and softmax losses, with the gradients checked first.

Run from the project root::

    python examples/sgd_training.py

The training loop of a first machine-learning course (CS231n style): minibatches of 256
samples, a vanilla update ``W -= lr * dW``. Before a single update, each loss's gradient
is checked twice:

1. ``gradtest.check_grad`` compares it entry by entry with finite differences;
2. ``check_descent`` steps against it: along ``-g`` the loss must go down with the slope
   ``-||g||**2`` the gradient predicts, and a sweep over learning rates ``1e-6 ... 1e1``
   shows how far a step can go before it overshoots (the "effect of step size" figure).

A gradient that fails either check stops the script (exit code 1) before training. The
learning rate of the loop is a hundredth of the largest step that still lowered the loss
in the sweep: that step is the edge of overshooting for one full step on one batch, and
SGD takes hundreds of steps on noisy batches. The data are synthetic Gaussian blobs,
seeded, so every run prints the same numbers; it takes a few seconds.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

import gradtest
from gradtest import check_descent

# losses.py sits beside this file: importable when run as a script and when loaded by path
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from losses import softmax_loss, svm_loss  # noqa: E402

#: samples (training, validation), features (the last one is a constant 1: the bias), classes
N_TRAIN, N_VAL, D, C = 4096, 1024, 33, 10
#: minibatch size and number of SGD iterations, as in the course notes' training loop
BATCH, ITERATIONS = 256, 300
#: regularisation strength
REG = 1e-3
#: print the mean minibatch loss of every this many iterations
PRINT_EVERY = 50
#: seed of the data, the batches and gradtest's random directions
SEED = 0

Loss = Callable[..., tuple[float, NDArray[np.float64]]]


def make_data(seed: int = SEED) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Gaussian blobs: one random mean per class, unit noise, and a bias column of ones.

    Parameters
    ----------
    seed : int
        Seed of the means, the labels and the noise.

    Returns
    -------
    X : ndarray, shape (N_TRAIN + N_VAL, D)
        The samples; the last feature is 1.
    y : ndarray of int, shape (N_TRAIN + N_VAL,)
        The labels.

    Examples
    --------
    >>> X, y = make_data()
    >>> X.shape, y.shape, float(X[0, -1])
    ((5120, 33), (5120,), 1.0)
    """
    rng = np.random.default_rng(seed)
    n = N_TRAIN + N_VAL
    means = 0.3 * rng.standard_normal((C, D - 1))
    y = rng.integers(0, C, size=n).astype(np.intp)
    features = means[y] + rng.standard_normal((n, D - 1))
    X = np.hstack([features, np.ones((n, 1))])
    return X, y


def accuracy(W: NDArray[np.float64], X: NDArray[np.float64], y: NDArray[np.intp]) -> float:
    """Share of samples whose highest score is their label's.

    Examples
    --------
    >>> import numpy as np
    >>> accuracy(np.eye(2), np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([0, 0]))
    0.5
    """
    return float(np.mean(np.argmax(X @ W, axis=1) == y))


def check_then_train(loss: Loss, X: NDArray[np.float64], y: NDArray[np.intp], seed: int) -> bool:
    """Check ``loss``'s gradient, then train by minibatch SGD; ``False`` if a check fails.

    Parameters
    ----------
    loss : callable
        ``loss(W, X, y, reg) -> (loss, dW)``.
    X, y : ndarray
        Training and validation data (the first ``N_TRAIN`` rows train).
    seed : int
        Seed of the initial weights, the batches and the checks.

    Returns
    -------
    bool
        Whether both checks let the gradient through (and training ran).
    """
    name = loss.__name__
    rng = np.random.default_rng(seed)
    X_train, y_train = X[:N_TRAIN], y[:N_TRAIN]
    X_val, y_val = X[N_TRAIN:], y[N_TRAIN:]
    W = 0.01 * rng.standard_normal((D, C))
    print(f"=== {name}: W of shape {W.shape}, {N_TRAIN} training samples ===")

    # 1. entry by entry, on a small batch (every entry costs a few evaluations)
    small = rng.choice(N_TRAIN, size=64, replace=False)
    start = time.perf_counter()
    grad_check = gradtest.check_grad(
        loss, True, W, args=(X_train[small], y_train[small], REG), seed=seed
    )
    print(f"[{time.perf_counter() - start:.2f} s] {str(grad_check).splitlines()[0]}")

    # 2. the descent check on one training batch of 256
    batch = rng.choice(N_TRAIN, size=BATCH, replace=True)
    args = (X_train[batch], y_train[batch], REG)
    start = time.perf_counter()
    descent = check_descent(loss, True, W, args=args, seed=seed)
    print(f"[{time.perf_counter() - start:.2f} s] {descent}")
    print()
    if grad_check.verdict == "fail" or descent.verdict == "fail":
        print(f"{name}: the gradient is wrong; not training with it.")
        return False
    if descent.largest_decreasing_step is None:
        print(f"{name}: no learning rate of the sweep lowered the loss; not training.")
        return False

    # 3. minibatch SGD
    lr = descent.largest_decreasing_step / 100
    print(f"training {name} with lr = {lr:.0e} (a hundredth of the largest decreasing step)")
    history = []
    for it in range(1, ITERATIONS + 1):
        batch = rng.choice(N_TRAIN, size=BATCH, replace=True)
        value, dW = loss(W, X_train[batch], y_train[batch], REG)
        history.append(value)
        W -= lr * dW
        if it % PRINT_EVERY == 0:
            window = history[-PRINT_EVERY:]
            print(
                f"  iterations {it - PRINT_EVERY + 1:3d}-{it:3d}: mean minibatch loss "
                f"{np.mean(window):.4f} (last {window[-1]:.4f})"
            )
    first, last = history[0], float(np.mean(history[-PRINT_EVERY:]))
    print(
        f"  loss {first:.4f} -> {last:.4f}; accuracy: train {accuracy(W, X_train, y_train):.3f}, "
        f"validation {accuracy(W, X_val, y_val):.3f}"
    )
    print()
    return True


def main(argv: Any = None) -> int:
    """Check and train both losses; return the exit code (0 when both trained).

    Returns
    -------
    int
        0 when every gradient passed its checks and training ran, 1 otherwise.
    """
    X, y = make_data()
    ok = [check_then_train(loss, X, y, SEED) for loss in (svm_loss, softmax_loss)]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
