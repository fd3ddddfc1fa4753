"""The one configuration table of the decorator, the pytest plugin and the command.

Every setting has one name and three spellings:

- ``[tool.gradtest]`` in ``pyproject.toml``: ``max_examples = 30``;
- the pytest ini twin ``gradcheck_max_examples`` and the option ``--gradcheck-max-examples``;
- the command's option ``--max-examples``.

A value on the command line wins over the configuration file; in the file,
``[tool.gradtest]`` wins over its pytest ini twin; the file's values win over the arguments
given to ``@gradcheck`` (they are project-wide overrides, like the options). The decorated
function, called directly, reads the same file (the nearest ``pyproject.toml`` above the
current directory).

This module imports only the standard library: the plugin and the command read it before
importing numpy or hypothesis.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["OPTIONS", "ConfigError", "Option", "find_pyproject", "read_tool_table"]

#: the values of ``mode``
MODES = ("auto", "full", "directions")


class ConfigError(ValueError):
    """A bad value in the configuration file or on the command line."""


def positive_float(value: Any) -> float:
    """Parse a positive finite number, or raise ``ValueError`` showing the value."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a positive number, got {value!r}") from None
    if isinstance(value, bool) or not (math.isfinite(number) and number > 0):
        raise ValueError(f"expected a positive finite number, got {value!r}")
    return number


def _integer(value: Any) -> int:
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError
    return int(value)


def positive_int(value: Any) -> int:
    """Parse a positive integer, or raise ``ValueError`` showing the value."""
    try:
        number = _integer(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a positive integer, got {value!r}") from None
    if number < 1:
        raise ValueError(f"expected a positive integer, got {value!r}")
    return number


def seed_int(value: Any) -> int:
    """Parse a non-negative integer seed, or raise ``ValueError`` showing the value."""
    try:
        number = _integer(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a non-negative integer, got {value!r}") from None
    if number < 0:
        raise ValueError(f"expected a non-negative integer, got {value!r}")
    return number


def mode_choice(value: Any) -> str:
    """Parse a mode, or raise ``ValueError`` listing the choices."""
    if value not in MODES:
        raise ValueError(f"expected one of {', '.join(MODES)}, got {value!r}")
    return str(value)


def boolean(value: Any) -> bool:
    """Parse ``true``/``false`` (a TOML boolean, or the ini words pytest accepts)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def path_value(value: Any) -> Path:
    """Parse a path (a non-empty string)."""
    if not isinstance(value, str | Path) or not str(value):
        raise ValueError(f"expected a path, got {value!r}")
    return Path(value)


def module_list(value: Any) -> tuple[str, ...]:
    """Parse module names: a list, or a string separated by commas or spaces."""
    items = value if isinstance(value, list | tuple) else str(value).replace(",", " ").split()
    names = tuple(str(v).strip() for v in items if str(v).strip())
    for name in names:
        if not all(part.isidentifier() for part in name.split(".")):
            raise ValueError(f"expected dotted module names, got {name!r}")
    return names


@dataclass(frozen=True)
class Option:
    """One setting: its name in ``[tool.gradtest]`` and how it is parsed and described."""

    name: str
    parse: Callable[[Any], Any]
    metavar: str | None
    help: str
    default: str
    #: where the setting applies: the pytest plugin, the command, or both
    pytest: bool = True
    command: bool = True

    @property
    def ini(self) -> str:
        """The pytest ini twin: ``gradcheck_max_examples``."""
        return f"gradcheck_{self.name}"

    @property
    def pytest_option(self) -> str:
        """The pytest option: ``--gradcheck-max-examples``."""
        return "--gradcheck-" + self.name.replace("_", "-")

    @property
    def command_option(self) -> str:
        """The command's option: ``--max-examples``."""
        return "--" + self.name.replace("_", "-")

    @property
    def is_flag(self) -> bool:
        """A switch without a value on the command line."""
        return self.metavar is None

    def help_text(self) -> str:
        """The help shown by ``--help``, with the default."""
        return f"{self.help} (default: {self.default})"


#: every setting, in the order ``--help`` and the README list them
OPTIONS: tuple[Option, ...] = (
    Option("rtol", positive_float, "FLOAT", "fixed relative tolerance of every entry",
           "per entry, from the error estimate"),
    Option("max_examples", positive_int, "N", "inputs drawn per decorated check",
           "the decorator's max_examples, else hypothesis's profile: 100"),
    Option("mode", mode_choice, "{auto,full,directions}",
           "every entry, random directions, or auto by size", "auto"),
    Option("seed", seed_int, "N", "seed of the drawn inputs and directions",
           "random, printed with each failure"),
    Option("accept_inconclusive", boolean, None,
           "count a check that could judge too few inputs as passed, with a warning, "
           "instead of failing it", "false"),
    Option("report", path_value, "PATH", "also write the versioned JSON report to PATH",
           "no report"),
    Option("plots", path_value, "DIR",
           "write PNG step-sweep plots of failing checks to DIR; needs the plot extra (matplotlib)",
           "no plots"),
    Option("modules", module_list, "MODULE[,MODULE...]",
           "also check the losses of these importable modules (they need not be test "
           "files; the directory holding them must be on sys.path, e.g. pytest's "
           'pythonpath = ["."])', "none", command=False),
)  # fmt: skip

OPTIONS_BY_NAME: Mapping[str, Option] = {o.name: o for o in OPTIONS}

#: the parsers of numeric settings, which TOML spells without quotes
_NUMBERS = (positive_float, positive_int, seed_int)


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` in ``start`` or above it, or ``None``."""
    start = start.resolve()
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _load_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    with path.open("rb") as f:
        return tomllib.load(f)


def read_tool_table(pyproject: Path | None) -> dict[str, Any]:
    """The validated ``[tool.gradtest]`` settings of ``pyproject`` (raw values parsed).

    Raises
    ------
    ConfigError
        The file is not valid TOML, a key is unknown or given twice (``max-examples`` and
        ``max_examples``), or a value is invalid (a string where TOML has a number or a
        boolean); the message names the file, the key and the value.
    """
    if pyproject is None:
        return {}
    try:
        data = _load_toml(pyproject)
    except (OSError, ValueError) as err:
        raise ConfigError(f"{pyproject}: cannot read it: {err}") from None
    table = data.get("tool", {}).get("gradtest", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.gradtest] must be a table")
    settings: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    for key, raw in table.items():
        option = OPTIONS_BY_NAME.get(key.replace("-", "_"))
        if option is None:
            known = ", ".join(o.name for o in OPTIONS)
            raise ConfigError(
                f"{pyproject}: [tool.gradtest] has an unknown setting {key!r}; known: {known}"
            )
        if option.name in spelled:
            # max-examples and max_examples are one setting: which value was meant?
            raise ConfigError(
                f"{pyproject}: [tool.gradtest] sets {option.name} twice, as "
                f"{spelled[option.name]} = {table[spelled[option.name]]!r} and as "
                f"{key} = {raw!r}: keep one"
            )
        spelled[option.name] = key
        try:
            if option.parse is boolean and not isinstance(raw, bool):
                # TOML has booleans: "yes" or 1 is a slip, not true (the ini words are
                # for pytest's ini files)
                raise ValueError(f"expected true or false (a TOML boolean), got {raw!r}")
            if option.parse in _NUMBERS and isinstance(raw, str):
                # TOML has numbers: "30" is a slip (the strings are for pytest's ini files)
                option.parse(raw)  # a string that is no valid number says that first
                raise ValueError(
                    f"expected a TOML number, got the string {raw!r}: write {key} = {raw}"
                )
            value = option.parse(raw)
        except ValueError as err:
            raise ConfigError(f"{pyproject}: [tool.gradtest] {key} = {raw!r}: {err}") from None
        if isinstance(value, Path) and not value.is_absolute():
            value = pyproject.parent / value
        settings[option.name] = value
    return settings


_CACHE: dict[tuple[Path, float], dict[str, Any]] = {}


def project_settings(start: Path | None = None) -> dict[str, Any]:
    """``[tool.gradtest]`` of the nearest ``pyproject.toml`` above ``start`` (default: cwd)."""
    pyproject = find_pyproject(Path.cwd() if start is None else start)
    if pyproject is None:
        return {}
    key = (pyproject, pyproject.stat().st_mtime)
    if key not in _CACHE:
        _CACHE[key] = read_tool_table(pyproject)
    return dict(_CACHE[key])
