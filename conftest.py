"""Root conftest: enables pytester for the plugin's tests (pytest allows it only here)."""

pytest_plugins = ["pytester"]
