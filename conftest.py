"""Root conftest: enables pytester for the plugin's tests (pytest allows it only here).

The framework adapters' doctests need their framework; without it they are not collected
(their tests in ``tests/torch``, ``tests/jax`` and ``tests/autograd`` skip themselves).
"""

import importlib.util

pytest_plugins = ["pytester"]

collect_ignore = [
    f"gradtest/{name}.py"
    for name in ("torch", "jax", "autograd")
    if importlib.util.find_spec(name) is None
]
