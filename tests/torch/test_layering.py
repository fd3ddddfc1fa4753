"""Layering: ``import gradtest`` imports no framework; each adapter imports only its own."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

FRAMEWORKS = ("torch", "jax", "autograd")

# One interpreter, imports in sequence: which frameworks each step added to sys.modules.
SCRIPT = """
import importlib, json, sys
frameworks = {frameworks!r}
steps = ["gradtest"] + ["gradtest." + f for f in {installed!r}]
seen, added = set(), {{}}
for module in steps:
    importlib.import_module(module)
    now = {{f for f in frameworks if f in sys.modules}}
    added[module] = sorted(now - seen)
    seen = now
print(json.dumps(added))
"""


def test_gradtest_imports_no_framework_and_each_adapter_only_its_own() -> None:
    installed = [f for f in FRAMEWORKS if importlib.util.find_spec(f) is not None]
    code = SCRIPT.format(frameworks=FRAMEWORKS, installed=installed)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    added = json.loads(out.stdout)
    assert added.pop("gradtest") == []
    assert added == {f"gradtest.{f}": [f] for f in installed}
