"""examples/sgd_training.py: gradients checked first, then the loss goes down."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=EXAMPLES, timeout=120
    )


def test_the_example_checks_then_trains_both_losses() -> None:
    out = run("sgd_training.py")
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    for name in ("svm_loss", "softmax_loss"):
        assert re.search(rf"PASS {name} wrt x: max relative error", text), name
        assert f"PASS descent of {name}: slope along −g" in text
        assert f"training {name} with lr = " in text
    windows = [float(v) for v in re.findall(r"mean minibatch loss (\d+\.\d+)", text)]
    assert len(windows) == 12
    for losses in (windows[:6], windows[6:]):
        assert losses[-1] < losses[0]
        assert sum(b < a for a, b in itertools.pairwise(losses)) >= 4
    final = re.findall(r"loss (\d+\.\d+) -> (\d+\.\d+); accuracy: train (\d\.\d+)", text)
    assert len(final) == 2
    for first, last, acc in final:
        assert float(last) < 0.6 * float(first)
        assert float(acc) > 0.3  # ten classes: chance is 0.1


def test_the_example_refuses_to_train_with_a_wrong_gradient() -> None:
    code = (
        "import sgd_training as s, losses as l; "
        "X, y = s.make_data(); "
        "print('TRAINED' if s.check_then_train(l.svm_loss_sign_flipped, X, y, 0) else 'REFUSED')"
    )
    out = run("-c", code)
    assert out.returncode == 0, out.stderr
    assert "FAIL descent of svm_loss_sign_flipped" in out.stdout
    assert "points uphill (sign flipped?)" in out.stdout
    assert out.stdout.rstrip().endswith("REFUSED")
    assert "iterations" not in out.stdout
