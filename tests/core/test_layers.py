"""The core stays framework-free: importing gradtest imports no test runner or framework."""

from __future__ import annotations

import subprocess
import sys


def test_importing_gradtest_imports_no_pytest_or_framework() -> None:
    code = (
        "import sys, gradtest; "
        "bad = sorted(m for m in ('pytest', '_pytest', 'torch', 'jax', 'autograd', 'matplotlib') "
        "if m in sys.modules); print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_public_api_is_sorted_and_complete() -> None:
    import gradtest

    assert list(gradtest.__all__) == sorted(gradtest.__all__)
    for name in gradtest.__all__:
        assert hasattr(gradtest, name), name
