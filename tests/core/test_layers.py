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


def test_plot_and_strategies_are_reached_after_a_bare_import_and_loaded_only_then() -> None:
    # the README's gradtest.plot.plot_descent(...) after `import gradtest` (an AttributeError
    # before); hypothesis and matplotlib stay unimported until the submodule is used
    code = (
        "import sys, gradtest; before = [m in sys.modules for m in ('gradtest.plot', "
        "'gradtest.strategies', 'hypothesis')]; "
        "print(before, gradtest.plot.plot_descent.__name__, gradtest.strategies.weights.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[False, False, False] plot_descent weights"


def test_public_api_is_sorted_and_complete() -> None:
    import gradtest

    assert list(gradtest.__all__) == sorted(gradtest.__all__)
    for name in gradtest.__all__:
        assert hasattr(gradtest, name), name


def test_no_import_cycle_among_the_core_modules() -> None:
    """Module-level imports inside gradtest/ form no cycle (issue 11: the pipeline has one
    direction: options -> setup -> lines -> strategies -> diagnosis -> report)."""
    import ast
    from pathlib import Path

    import gradtest

    package = Path(gradtest.__file__).parent
    modules = {p.stem: p for p in package.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gradtest"):
                parts = (node.module or "").split(".")
                if len(parts) > 1:
                    deps.add(parts[1])
                else:
                    deps |= {a.name for a in node.names if a.name in modules}
        graph[name] = deps

    def path_back(start: str) -> list[str] | None:
        stack = [(start, [start])]
        seen: set[str] = set()
        while stack:
            node, trail = stack.pop()
            for dep in graph.get(node, ()):
                if dep == start:
                    return [*trail, dep]
                if dep not in seen:
                    seen.add(dep)
                    stack.append((dep, [*trail, dep]))
        return None

    cycles = [c for name in graph if (c := path_back(name))]
    assert not cycles, f"import cycles: {cycles[:3]}"
