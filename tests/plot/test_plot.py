"""gradtest.plot: PNG files of the step sweep and the descent sweep; the text sparkline."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from inspect import signature
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradtest
from gradtest._descent import check_descent
from gradtest.plot import plot_descent, plot_step_sweep, sparkline

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: the tests that draw need the optional extra gradtest[plot]; without it they skip
needs_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None,
    reason="draws with matplotlib: pip install matplotlib",
)
W = np.array([3.0, -1.0, 0.5])


def quad(w: Any) -> float:
    return float(np.sum((w - 1.0) ** 2))


def quad_grad(w: Any) -> Any:
    return 2 * (w - 1.0)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


# ------------------------------------------------------------------ files written


@needs_matplotlib
def test_plot_step_sweep_writes_a_png_for_a_failing_check(tmp_path: Path) -> None:
    result = gradtest.check_grad(quad, lambda w: -quad_grad(w), W, seed=0)
    assert result.verdict == "fail"
    assert len(result.diagnosis.sweeps) >= 1
    written = plot_step_sweep(result, tmp_path / "sweep.png")
    assert written == tmp_path / "sweep.png"
    assert _png_size(written) == (640, 420)


@needs_matplotlib
def test_plot_step_sweep_accepts_a_str_path_and_a_passing_check(tmp_path: Path) -> None:
    result = gradtest.check_grad(
        lambda w: float(np.sum(np.sin(w))), np.cos, W, seed=0, mode="full", diagnose=True
    )
    target = str(tmp_path / "ok.png")
    assert plot_step_sweep(result, target) == Path(target)
    assert Path(target).read_bytes()[:8] == PNG_MAGIC


@needs_matplotlib
def test_plot_descent_writes_a_png(tmp_path: Path) -> None:
    result = check_descent(quad, quad_grad, W, seed=0)
    written = plot_descent(result, tmp_path / "descent.png")
    assert _png_size(written) == (640, 420)


@needs_matplotlib
def test_plot_descent_draws_diverged_and_failing_sweeps(tmp_path: Path) -> None:
    result = check_descent(
        lambda x: float(np.sum(x**4)), lambda x: -4 * x**3, W, seed=0, steps=[1e-3, 1, 1e100]
    )
    assert result.verdict == "fail"
    assert not np.isfinite(result.losses[-1])
    written = plot_descent(result, tmp_path / "diverged.png")
    assert written.stat().st_size > 1000


# ------------------------------------------------------------------ bad input


def test_plots_reject_the_other_result_type(tmp_path: Path) -> None:
    grad_result = gradtest.check_grad(quad, quad_grad, W, seed=0, mode="full", diagnose=True)
    descent_result = check_descent(quad, quad_grad, W, seed=0)
    with pytest.raises(gradtest.InvalidArgumentError, match="use plot_step_sweep"):
        plot_descent(grad_result, tmp_path / "a.png")  # type: ignore[arg-type]
    with pytest.raises(gradtest.InvalidArgumentError, match="use plot_descent"):
        plot_step_sweep(descent_result, tmp_path / "b.png")  # type: ignore[arg-type]
    with pytest.raises(
        gradtest.InvalidArgumentError, match=r"path must be a str or os\.PathLike .*, got int 42"
    ):
        plot_descent(descent_result, 42)  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())


def test_plot_descent_without_a_sweep_is_an_error(tmp_path: Path) -> None:
    result = check_descent(quad, quad_grad, np.ones(3), seed=0)  # zero gradient
    with pytest.raises(gradtest.InvalidArgumentError, match="holds no learning-rate sweep"):
        plot_descent(result, tmp_path / "none.png")


def test_missing_matplotlib_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    result = check_descent(quad, quad_grad, W, seed=0)
    with pytest.raises(ImportError, match=r"plot_descent needs matplotlib.*pip install matplotlib"):
        plot_descent(result, tmp_path / "x.png")
    grad_result = gradtest.check_grad(quad, quad_grad, W, seed=0, mode="full", diagnose=True)
    with pytest.raises(ImportError, match=r"plot_step_sweep needs matplotlib"):
        plot_step_sweep(grad_result, tmp_path / "y.png")
    # the text report does not need matplotlib
    assert "shape" in str(result)


def test_importing_gradtest_plot_does_not_import_matplotlib() -> None:
    code = "import sys, gradtest.plot, gradtest._descent; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------ sparkline


@pytest.mark.parametrize(
    ("values", "kwargs", "expected"),
    [
        ([1, 2, 3, 4, 5, 6, 7, 8], {}, "▁▂▃▄▅▆▇█"),
        ([8, 1], {}, "█▁"),
        ([2.0, 2.0, 2.0], {}, "▁▁▁"),
        ([], {}, ""),
        ([np.nan, np.inf], {}, "××"),
        ([0.0, np.nan, 1.0, -np.inf], {}, "▁×█×"),
        (np.array([0.0, 0.5, 1.0, 10.0]), {"hi": 1.0}, "▁▅██"),
        ([0.0, 0.5, 1.0], {"lo": 0.5}, "▁▁█"),
        ([1.0, 2.0], {"lo": 5.0, "hi": 5.0}, "▁▁"),
    ],
)
def test_sparkline(values: Any, kwargs: dict[str, float], expected: str) -> None:
    assert sparkline(values, **kwargs) == expected


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ("abc", r"values must be a sequence of numbers, got 'abc'"),
        ([[1.0, 2.0]], r"values must be a 1-D sequence of numbers, got an array of shape \(1, 2\)"),
        ([object()], r"values must be a sequence of numbers"),
    ],
)
def test_sparkline_bad_input(values: Any, match: str) -> None:
    with pytest.raises(gradtest.InvalidArgumentError, match=match):
        sparkline(values)


@needs_matplotlib
def test_the_step_sweep_of_a_wrong_gradient_reads_as_wrong_at_a_glance(tmp_path: Path) -> None:
    """A fixed span of decades, the tolerance band and the V expected of a correct gradient."""
    from gradtest.plot import SWEEP_ERROR_SPAN, _step_sweep_figure

    def f(w: Any) -> float:
        return float(np.sum(np.sin(w) * w))

    def g(w: Any) -> Any:
        return np.cos(w) * w + np.sin(w)

    w = np.array([0.3, -1.2, 0.8])
    wrong = gradtest.check_grad(f, lambda w: 1.1 * g(w), w, seed=0)
    assert wrong.verdict == "fail"
    ax = _step_sweep_figure(wrong).axes[0]
    low, high = ax.get_ylim()
    assert low <= SWEEP_ERROR_SPAN[0] and high >= SWEEP_ERROR_SPAN[1]  # not zoomed to 9e-2..9.2e-2
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "expected for a correct gradient" in labels
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["flat above the tolerance at every h: the gradient is wrong, not the step"]
    # the engine builds the diagnosis of a pass only when asked (diagnose=True)
    always = {"diagnose": True} if "diagnose" in signature(gradtest.check_grad).parameters else {}
    right = gradtest.check_grad(f, g, w, seed=0, **always)
    assert right.diagnosis.sweeps  # the worst entry is swept even when passing
    texts = [t.get_text() for t in _step_sweep_figure(right).axes[0].texts]
    assert texts[0].startswith("the error reaches the tolerance near the best h")


# ------------------------------------------------------------------ paths and corner results


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("sweep.pdf", r"path='.*sweep\.pdf' must name a PNG file ending in \.png .*, got the "
         r"extension '\.pdf'"),
        ("sweep", r"path='.*sweep' must name a PNG file ending in \.png .*, got no extension"),
        ("missing/sweep.png", r"path='.*sweep\.png': the directory '.*missing' to write the PNG "
         r"file into does not exist"),
        ("adir.png", r"path='.*adir\.png' must name a PNG file ending in \.png, got a directory"),
    ],
)  # fmt: skip
def test_a_path_that_is_no_png_file_is_an_argument_error(
    tmp_path: Path, name: str, message: str
) -> None:
    """Not a PNG written under a .pdf name, nor a raw FileNotFoundError from matplotlib."""
    (tmp_path / "adir.png").mkdir()
    grad_result = gradtest.check_grad(quad, lambda w: -quad_grad(w), W, seed=0)
    descent_result = check_descent(quad, quad_grad, W, seed=0)
    with pytest.raises(gradtest.InvalidArgumentError, match=message):
        plot_step_sweep(grad_result, tmp_path / name)
    with pytest.raises(gradtest.InvalidArgumentError, match=message):
        plot_descent(descent_result, tmp_path / name)
    assert [p.name for p in tmp_path.iterdir()] == ["adir.png"]


@needs_matplotlib
def test_an_unwritable_png_file_is_an_argument_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.figure import Figure

    def refuse(self: Any, *args: Any, **kwargs: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Figure, "savefig", refuse)
    result = gradtest.check_grad(quad, lambda w: -quad_grad(w), W, seed=0)
    with pytest.raises(
        gradtest.InvalidArgumentError,
        match=r"path='.*x\.png': cannot write the PNG file: Permission denied",
    ):
        plot_step_sweep(result, tmp_path / "x.png")


@needs_matplotlib
def test_the_step_sweep_of_an_entry_at_a_kink_with_zero_derivative_draws_without_overflow(
    tmp_path: Path,
) -> None:
    """|w| at 0: analytic and numeric are 0, so no relative scale; the tolerance band sat
    near 1e292 and matplotlib overflowed (a RuntimeWarning: an error under -W error)."""
    result = gradtest.check_grad(lambda w: float(np.sum(np.abs(w))), np.sign, np.zeros(3), seed=0)
    assert result.verdict == "inconclusive" and result.diagnosis.sweeps
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        written = plot_step_sweep(result, tmp_path / "kink.png")
    assert _png_size(written) == (640, 420)


@needs_matplotlib
def test_results_of_every_kind_are_plotted_or_refused_with_the_reason(tmp_path: Path) -> None:
    """Full and directions mode, check_jacobian, inconclusive, and the records' helper."""
    from gradtest import _records

    cube = lambda w: float(np.sum(w**3))  # noqa: E731
    wide = np.linspace(0.1, 1.0, 40)
    by_directions = gradtest.check_grad(cube, lambda w: 2 * w**2, wide, seed=0, mode="directions")
    assert by_directions.verdict == "fail" and not by_directions.diagnosis.sweeps
    with pytest.raises(
        gradtest.InvalidArgumentError,
        match=r"holds no step sweep .* only when every entry was checked \(mode='full'; this "
        r"check ran mode='directions'\)",
    ):
        plot_step_sweep(by_directions, tmp_path / "d.png")
    assert _records.plot_failure(by_directions, tmp_path / "plots", "t::d") is None
    assert "mode=directions" in _records.no_plot_reason(by_directions)
    assert not (tmp_path / "plots").exists()

    jacobian = gradtest.check_jacobian(
        lambda x: x**2, lambda x: np.diag(3 * x), np.array([1.0, 2.0]), seed=0
    )
    assert jacobian.verdict == "fail"
    full = gradtest.check_grad(cube, lambda w: 2 * w**2, W, seed=0, mode="full")
    for i, result in enumerate((jacobian, full)):
        written = _records.plot_failure(result, tmp_path / "plots", f"t::{i}")
        assert written is not None and _png_size(written) == (640, 420)
