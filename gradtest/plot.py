"""Plots of a check's evidence, written as PNG files (needs matplotlib: the ``plot`` extra).

- :func:`plot_step_sweep`: the relative error of the numeric derivative against the step
  ``h`` for the entries a :func:`gradtest.check_grad` result swept (the V-shaped curve of
  truncation against round-off; a flat curve means the gradient is wrong, not the step).
- :func:`plot_descent`: the loss against the learning rate for a descent check (the
  "effect of step size" figure of the CS231n notes), with the first-order prediction.
- :func:`sparkline`: a one-line text chart, what reports show without matplotlib.

matplotlib is imported only when a plot is drawn, never when this module or gradtest is
imported, and through :class:`matplotlib.figure.Figure` (no ``pyplot``): no global
figure state and no GUI backend are involved.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gradtest._report import sparkline
from gradtest._result import GradCheckResult
from gradtest.errors import InvalidArgumentError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from gradtest._descent import DescentResult

__all__ = ["plot_descent", "plot_step_sweep", "sparkline"]

#: relative errors are drawn no lower than this (an exact numeric derivative has error 0)
_ERROR_FLOOR = 1e-17


def _figure(function: str) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError(
            f"gradtest.plot.{function} needs matplotlib, which is not installed: "
            "pip install matplotlib (or the plot extra, pip install -e '.[plot]' in a clone "
            "of gradtest)"
        ) from err
    return Figure(figsize=(6.4, 4.2), layout="constrained")


def _target(path: Any) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidArgumentError(
            f"path must be a str or os.PathLike naming the PNG file to write, got "
            f"{type(path).__name__} {path!r:.60}"
        )
    target = Path(path)
    if target.suffix.lower() != ".png":
        got = f"the extension {target.suffix!r}" if target.suffix else "no extension"
        raise InvalidArgumentError(
            f"path={str(path)!r} must name a PNG file ending in .png (the plot is written "
            f"as PNG), got {got}"
        )
    if target.is_dir():
        raise InvalidArgumentError(
            f"path={str(path)!r} must name a PNG file ending in .png, got a directory"
        )
    if not target.parent.is_dir():
        raise InvalidArgumentError(
            f"path={str(path)!r}: the directory {str(target.parent)!r} to write the PNG file "
            "into does not exist"
        )
    return target


def _save(fig: Figure, target: Path) -> Path:
    try:
        fig.savefig(target, format="png", dpi=100)
    except OSError as err:
        raise InvalidArgumentError(
            f"path={str(target)!r}: cannot write the PNG file: {err.strerror or err}"
        ) from err
    return target


def plot_step_sweep(result: GradCheckResult, path: str | os.PathLike[str]) -> Path:
    """Plot relative error against step size ``h`` for the entries a gradient check swept.

    Parameters
    ----------
    result : GradCheckResult
        A result of :func:`gradtest.check_grad`; its ``diagnosis.sweeps`` are drawn (the
        worst failing entries, or the worst entry).
    path : str or os.PathLike
        The PNG file to write, ending in ``.png`` (its directory must exist).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ImportError
        matplotlib is not installed (``pip install matplotlib``).
    InvalidArgumentError
        ``result`` is no ``GradCheckResult`` or holds no step sweep; ``path`` does not
        end in ``.png``, or cannot be written.

    Notes
    -----
    For a correct gradient the curve is a V: truncation error falls as ``h**2`` for
    central differences until round-off, growing as ``1/h``, takes over. A wrong gradient
    gives a flat curve: no step brings the numeric derivative to the analytic one.
    Relative errors of exactly 0 are drawn at 1e-17.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import gradtest
    >>> from gradtest.plot import plot_step_sweep
    >>> result = gradtest.check_grad(
    ...     lambda w: float(np.sum(np.sin(w))), np.cos, np.ones(3), diagnose=True
    ... )
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     written = plot_step_sweep(result, os.path.join(tmp, "sweep.png"))
    ...     written.read_bytes()[:4]
    b'\\x89PNG'
    """
    if not isinstance(result, GradCheckResult):
        raise InvalidArgumentError(
            "result must be the GradCheckResult of gradtest.check_grad, got "
            f"{type(result).__name__}"
            + (": use plot_descent for a descent check" if hasattr(result, "losses") else "")
        )
    sweeps = result.diagnosis.sweeps
    if not sweeps or not any(s.steps for s in sweeps):
        raise InvalidArgumentError(
            f"result of {result.name} holds no step sweep (diagnosis.sweeps is empty): "
            "nothing to plot; entries are swept for a failing or inconclusive check, or with "
            "diagnose=True, and only when every entry was checked (mode='full'; this check "
            f"ran mode={result.mode!r})"
        )
    target = _target(path)
    return _save(_step_sweep_figure(result), target)


#: the span of the relative-error axis of a step sweep, so that every plot reads alike: a
#: flat line high up is a wrong gradient, a V reaching down is a correct one
SWEEP_ERROR_SPAN = (1e-17, 1e1)
#: the span of the step axis
SWEEP_STEP_SPAN = (1e-14, 1.0)


def _step_sweep_figure(result: GradCheckResult) -> Figure:
    fig = _figure("plot_step_sweep")
    ax = fig.add_subplot()
    entries = {e.label: e for e in result.entries}
    eps = float(np.finfo(np.float64).eps)
    noise = result.diagnosis.noise_floor
    verdicts: list[str] = []
    low, high = SWEEP_ERROR_SPAN
    xlow, xhigh = SWEEP_STEP_SPAN
    for s in result.diagnosis.sweeps:
        if not s.steps:
            continue
        steps = np.asarray(s.steps, dtype=np.float64)
        errors = np.maximum(np.asarray(s.rel_errors, dtype=np.float64), _ERROR_FLOOR)
        (line,) = ax.loglog(
            steps, errors, marker="o", label=f"{s.label} (analytic {s.analytic:.4g})"
        )
        color = line.get_color()
        if math.isfinite(s.best_step):
            ax.plot(
                [s.best_step],
                [max(s.error_floor, _ERROR_FLOOR)],
                marker="*",
                markersize=14,
                color=color,
                linestyle="none",
            )
        low, high = min(low, float(errors.min())), max(high, float(errors.max()) * 10)
        xlow, xhigh = min(xlow, float(steps.min())), max(xhigh, float(steps.max()))
        entry = entries.get(s.label)
        scale = max(abs(s.analytic), abs(entry.numeric) if entry else 0.0)
        if not (math.isfinite(scale) and scale > 0):
            # an entry whose derivative is 0 both ways has no relative scale: no band and
            # no error model (they would sit near 1e300)
            continue
        rel_tol = entry.tolerance / scale if entry is not None else math.nan
        if math.isfinite(rel_tol) and rel_tol > 0:
            ax.axhspan(_ERROR_FLOOR, rel_tol, color=color, alpha=0.08)
            ax.axhline(rel_tol, color=color, linestyle=":", linewidth=1)
        # the error model of a correct gradient: round-off sigma / h and truncation h**2,
        # balanced at the step gradtest chose for the entry
        h0 = entry.step if entry is not None and entry.step > 0 else float(eps ** (1 / 3))
        r0 = max(noise if math.isfinite(noise) else 0.0, eps * scale * h0) / (h0 * scale)
        grid = np.logspace(math.log10(xlow), math.log10(xhigh), 200)
        model = r0 * (h0 / grid) + r0 * (grid / h0) ** 2
        ax.loglog(grid, np.clip(model, _ERROR_FLOOR, None), color=color, linestyle="--",
                  linewidth=1, alpha=0.7)  # fmt: skip
        if math.isfinite(rel_tol):
            verdicts.append("wrong" if float(np.min(errors)) > 10 * rel_tol else "step")
    ax.set_ylim(low, high)
    ax.set_xlim(xlow, xhigh)
    ax.plot([], [], color="gray", linestyle="--", label="expected for a correct gradient")
    ax.fill_between([], [], color="gray", alpha=0.15, label="within the tolerance (below ⋯)")
    if verdicts:
        text = (
            "flat above the tolerance at every h: the gradient is wrong, not the step"
            if all(v == "wrong" for v in verdicts)
            else "the error reaches the tolerance near the best h: the gradient agrees; "
            "the error elsewhere is the step's"
        )
        ax.text(0.02, 0.97, text, transform=ax.transAxes, va="top", fontsize="small")
    ax.set_xlabel("step h")
    ax.set_ylabel("relative error |a − n| / max(|a|, |n|)")
    ax.set_title(f"{result.verdict.upper()} {result.name}: central differences against h")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(title="entry (★ best h)", fontsize="small", loc="lower right")
    return fig


def plot_descent(result: DescentResult, path: str | os.PathLike[str]) -> Path:
    """Plot the loss against the learning rate ``lr`` along ``x − lr·g``.

    Parameters
    ----------
    result : DescentResult
        A result of :func:`gradtest._descent.check_descent` with a learning-rate sweep.
    path : str or os.PathLike
        The PNG file to write, ending in ``.png`` (its directory must exist).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ImportError
        matplotlib is not installed (``pip install matplotlib``).
    InvalidArgumentError
        ``result`` is no ``DescentResult`` or holds no sweep (the gradient was zero);
        ``path`` does not end in ``.png``, or cannot be written.

    Notes
    -----
    The dashed line is the first-order prediction ``f(x) − lr·‖g‖²``: for small steps a
    correct gradient follows it; the loss then bottoms out and rises once the step
    overshoots. Losses far above ``f(x)`` (a diverging step) are drawn at the top edge
    as ``^``; non-finite ones as ``x``.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from gradtest._descent import check_descent
    >>> from gradtest.plot import plot_descent
    >>> result = check_descent(lambda w: float(w @ w), lambda w: 2 * w, np.ones(3), seed=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     written = plot_descent(result, os.path.join(tmp, "descent.png"))
    ...     written.read_bytes()[:4]
    b'\\x89PNG'
    """
    from gradtest._descent import DescentResult

    if not isinstance(result, DescentResult):
        raise InvalidArgumentError(
            "result must be the DescentResult of check_descent, got "
            f"{type(result).__name__}"
            + (": use plot_step_sweep for a gradient check" if hasattr(result, "entries") else "")
        )
    if not result.losses:
        raise InvalidArgumentError(
            f"result of {result.name} holds no learning-rate sweep (the gradient was zero): "
            "nothing to plot"
        )
    target = _target(path)
    steps = np.asarray(result.steps, dtype=np.float64)
    losses = np.asarray(result.losses, dtype=np.float64)
    f0 = result.loss
    finite = np.isfinite(losses)
    low = float(np.min(losses[finite], initial=f0))
    drop = max(f0 - low, abs(f0) * 1e-12, 1e-300)
    top = f0 + 2 * drop
    fig = _figure("plot_descent")
    ax = fig.add_subplot()
    shown = finite & (losses <= top)
    ax.semilogx(steps[shown], losses[shown], marker="o", label="f(x − lr·g)")
    above = finite & (losses > top)
    if above.any():
        ax.plot(
            steps[above],
            np.full(int(above.sum()), top),
            marker="^",
            linestyle="none",
            color="C3",
            label="above the chart",
        )
    if (~finite).any():
        ax.plot(
            steps[~finite],
            np.full(int((~finite).sum()), top),
            marker="x",
            linestyle="none",
            color="C3",
            label="not finite",
        )
    slope = -(result.gradient_norm**2)
    linear = f0 + steps * slope
    keep = linear >= low - drop
    ax.semilogx(steps[keep], linear[keep], linestyle="--", color="C2", label="f(x) − lr·‖g‖²")
    ax.axhline(f0, color="0.5", linewidth=0.8, label=f"f(x) = {f0:.4g}")
    if result.largest_decreasing_step is not None:
        ax.axvline(
            result.largest_decreasing_step,
            color="C1",
            linestyle=":",
            label=f"largest decreasing lr {result.largest_decreasing_step:.0e}",
        )
    if result.best_step is not None and result.best_loss is not None:
        ax.plot(
            [result.best_step],
            [result.best_loss],
            marker="*",
            markersize=14,
            linestyle="none",
            color="C1",
            label=f"lowest loss at lr {result.best_step:.0e}",
        )
    ax.set_ylim(low - 0.1 * drop, top + 0.1 * drop)
    ax.set_xlabel("learning rate lr")
    ax.set_ylabel("loss")
    ax.set_title(f"{result.verdict.upper()} descent of {result.name}: effect of the step size")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="small")
    return _save(fig, target)
