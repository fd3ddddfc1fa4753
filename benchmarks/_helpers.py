"""What the benchmarks share: a corpus loaded by path, and a function that counts its calls.

Imported by the benchmark scripts as a sibling module (``python benchmarks/bench_*.py``
puts ``benchmarks/`` first on ``sys.path``).
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def load_package(relative: str, name: str) -> ModuleType:
    """Import the package ``ROOT / relative`` as ``name`` (``tests`` is not a package)."""
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(
        name, path / "__init__.py", submodule_search_locations=[str(path)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class Counted:
    """``fun`` with the same name and signature, counting its calls in ``calls``."""

    def __init__(self, fun: Callable[..., Any]) -> None:
        self.fun = fun
        self.calls = 0
        self.__name__ = getattr(fun, "__name__", "fun")
        self.__qualname__ = getattr(fun, "__qualname__", self.__name__)
        self.__module__ = __name__
        try:
            self.__signature__ = inspect.signature(fun)
        except (TypeError, ValueError):  # a callable without a readable signature
            pass

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.fun(*args, **kwargs)
