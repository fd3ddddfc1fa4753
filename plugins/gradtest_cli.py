"""The ``gradtest`` command line tool, and the report format it shares with the pytest plugin.

``gradtest [PATH_OR_MODULE ...]`` imports the given files, directories or modules, runs
every ``@gradtest.gradcheck`` function defined in them, prints the reports and a summary
table, and exits with

- ``0`` when every check passed (or was inconclusive, or nothing was found),
- ``1`` when a check failed or raised,
- ``2`` for usage errors and files or modules that cannot be imported.

Only files whose text mentions ``gradcheck`` are imported, so the pre-commit hook can pass
every changed Python file without running scripts that merely happen to be staged.

This module has no numerics: it calls :func:`gradtest.run_gradcheck` and renders what comes
back. It imports ``gradtest`` lazily, so ``gradtest --help`` is instant.

Examples
--------
>>> from gradtest_cli import main
>>> main(["--list", "no/such/file.py"])
2
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import json
import os
import pkgutil
import re
import shlex
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import IO, Any

__all__ = ["main"]

#: directories never searched for checks
SKIPPED_DIRS = frozenset(
    {"__pycache__", "build", "dist", "node_modules", "site-packages", "venv", "env"}
)
#: a file is imported only when its text matches this
MENTIONS_GRADCHECK = re.compile(r"gradcheck")


class UsageError(Exception):
    """A bad argument, or a file or module that cannot be imported (exit code 2)."""


def light_import(name: str) -> ModuleType:
    """``gradtest.<name>`` for a module of gradtest that imports only the standard library.

    Loaded from its file without running ``gradtest/__init__.py`` (which imports numpy,
    scipy and hypothesis), so ``gradtest --help`` and pytest's start stay instant. It is
    registered under its real name: a later ``import gradtest`` uses the same module.
    """
    full = f"gradtest.{name}"
    if full in sys.modules:
        return sys.modules[full]
    if "gradtest" in sys.modules:
        return importlib.import_module(full)
    package = importlib.util.find_spec("gradtest")
    locations = None if package is None else package.submodule_search_locations
    if not locations:
        raise ImportError("gradtest is not installed")
    spec = importlib.util.spec_from_file_location(full, Path(locations[0]) / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[full] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[full]
        raise
    return module


def _config() -> ModuleType:
    """``gradtest._config``: the one table of settings (standard library only)."""
    return light_import("_config")


def _records() -> ModuleType:
    """``gradtest._records``: records, the summary table and the JSON report."""
    return light_import("_records")


def _argparse_type(parse: Any) -> Any:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    convert.__name__ = parse.__name__
    return convert


def require_matplotlib(option: str) -> None:
    """Raise :class:`UsageError` naming ``option`` when matplotlib is not installed."""
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError(
            f"{option} draws PNG plots with matplotlib, which is not installed: "
            "pip install matplotlib (or the plot extra: pip install -e '.[plot]' in the clone "
            "of gradtest; gradtest is not on the package index)"
        )


# --------------------------------------------------------------------------------------
# finding the checks
# --------------------------------------------------------------------------------------


@dataclass
class Found:
    """The checks found in the command line's targets, with their display ids."""

    checks: list[tuple[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: display id -> the ``FILE::NAME`` target that runs that check again from here
    targets: dict[str, str] = field(default_factory=dict)


def _mentions_gradcheck(path: Path) -> bool:
    try:
        return (
            MENTIONS_GRADCHECK.search(path.read_text(encoding="utf-8", errors="replace"))
            is not None
        )
    except OSError:
        return False


def _walk(directory: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        for name in sorted(files):
            if name.endswith(".py"):
                yield Path(root, name)


def _module_name_for(path: Path) -> tuple[str, Path]:
    """The dotted name of ``path`` and the directory to put on ``sys.path`` to import it."""
    parts = [] if path.name == "__init__.py" else [path.stem]
    base = path.parent
    while (base / "__init__.py").is_file():
        parts.insert(0, base.name)
        base = base.parent
    return ".".join(parts), base


def import_path(path: Path) -> Any:
    """Import the file ``path`` as the module Python would know it by, like ``pytest``."""
    path = path.resolve()
    name, base = _module_name_for(path)
    if not name:
        raise UsageError(f"cannot import {path}: no module name for it")
    if str(base) not in sys.path:
        sys.path.insert(0, str(base))
    module = importlib.import_module(name)
    origin = getattr(module, "__file__", None)
    if origin is None or Path(origin).resolve() != path:
        raise UsageError(
            f"cannot import {path} as module {name!r}: that name is already taken by "
            f"{origin or 'a built-in module'}; rename the file"
        )
    return module


def _display_id(module: Any, qualname: str) -> str:
    origin = getattr(module, "__file__", None)
    if origin is not None:
        try:
            rel = Path(origin).resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            pass
        else:
            return f"{rel.as_posix()}::{qualname}"
    return f"{module.__name__}::{qualname}"


def _replay_target(module: Any, qualname: str, given: Path | None) -> str:
    """The ``FILE::NAME`` target that runs check ``qualname`` of ``module`` again.

    The file's path relative to the current directory when it is under it, else the path
    the command line reached it by (``../q1/losses.py``, an absolute path), else, for a
    module named on the command line, the absolute path of its file: a module name alone
    would not select one check, and ``FILE::NAME`` needs a file.
    """
    origin = getattr(module, "__file__", None)
    if origin is None:
        return _display_id(module, qualname)
    path = Path(origin).resolve()
    try:
        rel = path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        rel = (given if given is not None else path).as_posix()
    return f"{rel}::{qualname}"


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}".splitlines()[0]


def _where_raised(err: BaseException) -> str:
    """Where the user's code raised ``err`` (or the exception a gradtest error wraps): its
    traceback without the frames of gradtest, hypothesis and the import machinery, as
    Python prints it; ``""`` when nothing of the user's is left."""
    import hypothesis

    import gradtest

    while isinstance(err, gradtest.GradtestError) and err.__cause__ is not None:
        err = err.__cause__
    if isinstance(err, gradtest.GradtestError):
        return ""
    hidden = tuple(
        str(Path(m.__file__).resolve().parent) + os.sep
        for m in (gradtest, hypothesis, importlib)
        if m.__file__
    )
    frames = [
        frame
        for frame in traceback.extract_tb(err.__traceback__)
        if not frame.filename.startswith("<frozen importlib")
        and not str(Path(frame.filename).resolve()).startswith(hidden)
        and Path(frame.filename).resolve() != Path(__file__).resolve()
    ]
    if not frames:
        return ""
    lines = ["Where it was raised (most recent call last; gradtest's own frames left out):"]
    lines += [line.rstrip("\n") for line in traceback.format_list(frames)]
    lines += [line.rstrip("\n") for line in traceback.format_exception_only(type(err), err)]
    return "\n".join(lines)


def find_checks(targets: Sequence[str]) -> Found:
    """Import ``targets`` (files, directories or dotted module names) and list their checks."""
    import gradtest

    found = Found()
    # each module with the check wanted from it and the path given for its file, if any
    modules: list[tuple[Any, str | None, Path | None]] = []
    name: str | None = None

    def load(what: str, importer: Any, arg: Any) -> None:
        try:
            modules.append((importer(arg), name, arg if isinstance(arg, Path) else None))
        except UsageError as err:
            found.errors.append(str(err))
        except Exception as err:
            where = _where_raised(err)
            found.errors.append(
                f"cannot import {what}: {_describe(err)}" + (f"\n{where}" if where else "")
            )

    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    for given in targets:
        target, _, selected = given.partition("::")
        name = selected or None
        path = Path(target)
        if name is not None and not path.is_file():
            found.errors.append(f"{given}: FILE::NAME needs a Python file, got {target!r}")
            continue
        if path.is_dir():
            for file in _walk(path):
                if _mentions_gradcheck(file):
                    load(str(file), import_path, file)
        elif path.is_file():
            if path.suffix != ".py":
                found.errors.append(f"{target}: not a Python file (expected a .py file)")
            elif _mentions_gradcheck(path):
                load(target, import_path, path)
        elif target.endswith(".py") or os.sep in target or "/" in target:
            found.errors.append(f"{target}: no such file, directory or module")
        elif re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", target):
            _load_module_tree(target, load, found)
        else:
            found.errors.append(f"{target}: no such file, directory or module")

    specs = gradtest.registered_checks()
    seen: set[str] = set()
    for module, wanted, path_given in modules:  # in the order given, each in definition order
        for spec in specs:
            if wanted is not None and spec.qualname != wanted:
                continue
            # the registry outlives reloads: keep only what the module defines now
            obj = getattr(module, spec.qualname, None) if spec.module == module.__name__ else None
            check_id = _display_id(module, spec.qualname)
            if getattr(obj, "__gradtest__", None) is spec and check_id not in seen:
                seen.add(check_id)
                found.checks.append((check_id, spec))
                found.targets[check_id] = _replay_target(module, spec.qualname, path_given)
        if wanted is not None and not any(
            spec.qualname == wanted and spec.module == module.__name__ for _, spec in found.checks
        ):
            found.errors.append(f"{_display_id(module, wanted)}: no @gradcheck function {wanted!r}")
    return found


def _module_files(name: str) -> list[Path] | None:
    """The source files of module or package ``name``, found without importing it."""
    top, _, rest = name.partition(".")
    try:
        spec = importlib.util.find_spec(top)  # a top-level name: nothing is run
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        base = Path(next(iter(spec.submodule_search_locations)))
    elif spec.origin and not rest:
        return [Path(spec.origin)]
    else:
        return None
    candidate = base.joinpath(*rest.split(".")) if rest else base
    if candidate.with_suffix(".py").is_file():
        return [candidate.with_suffix(".py")]
    if candidate.is_dir():
        return list(_walk(candidate))
    return None


def list_checks(targets: Sequence[str]) -> Found:
    """The checks of ``targets``, found by parsing the source: nothing is imported or run."""
    found = Found()
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # as find_checks: modules of the current directory
    for given in targets:
        target, _, wanted = given.partition("::")
        path = Path(target)
        if path.is_dir():
            files = list(_walk(path))
        elif path.is_file():
            if path.suffix != ".py":
                found.errors.append(f"{target}: not a Python file (expected a .py file)")
                continue
            files = [path]
        elif re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", target) and not wanted:
            module_files = _module_files(target)
            if module_files is None:
                found.errors.append(f"{target}: no such file, directory or module")
                continue
            files = module_files
        else:
            found.errors.append(f"{given}: no such file, directory or module")
            continue
        for file in files:
            try:
                tree = ast.parse(file.read_text(encoding="utf-8", errors="replace"))
            except (OSError, SyntaxError, ValueError) as err:
                found.errors.append(f"cannot parse {file}: {_describe(err)}")
                continue
            for qualname in static_checks(tree):
                if not wanted or qualname == wanted:
                    found.checks.append((f"{_rel(file.resolve())}::{qualname}", None))
    return found


def _load_module_tree(name: str, load: Any, found: Found) -> None:
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError as err:
        if err.name is None or (name + ".").startswith(err.name + "."):
            spec = None  # a parent package of the target does not exist
        else:
            found.errors.append(f"cannot import {name}: {_describe(err)}")
            return
    except Exception as err:
        found.errors.append(f"cannot import {name}: {_describe(err)}")
        return
    if spec is None:
        found.errors.append(f"{name}: no such file, directory or module")
        return
    load(name, importlib.import_module, name)
    for info in pkgutil.walk_packages(spec.submodule_search_locations or [], prefix=name + "."):
        sub = importlib.util.find_spec(info.name)
        origin = None if sub is None else sub.origin
        if origin and (info.ispkg or _mentions_gradcheck(Path(origin))):
            load(info.name, importlib.import_module, info.name)


# --------------------------------------------------------------------------------------
# static import analysis: which checks depend on the changed files (the pre-commit hook)
# --------------------------------------------------------------------------------------


def _module_names(path: Path, root: Path) -> set[str]:
    """The dotted names ``path`` may be imported by.

    The package name (walking up ``__init__.py`` files, as Python and pytest do), and, for
    files outside packages or in namespace packages, every suffix of the path relative to
    ``root`` (``tests/helpers.py`` is ``helpers`` or ``tests.helpers``, depending on
    ``sys.path``). Too many names only make the hook run a check more; too few would let a
    wrong gradient through.
    """
    names = set()
    package_name, _ = _module_name_for(path)
    if package_name:
        names.add(package_name)
    try:
        rel = path.relative_to(root)
    except ValueError:
        return names
    parts = list(rel.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    for i in range(len(parts)):
        if all(p.isidentifier() for p in parts[i:]):
            names.add(".".join(parts[i:]))
    return names


def _imported_names(path: Path, tree: ast.Module) -> set[str]:
    """Every dotted name an ``import`` statement in ``tree`` may load (without running it)."""
    package_name, _ = _module_name_for(path)
    package = package_name if path.name == "__init__.py" else package_name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".") if package else []
                if node.level > 1:
                    base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            if base:
                found.add(base)
            for alias in node.names:
                if alias.name != "*":
                    found.add(f"{base}.{alias.name}" if base else alias.name)
    # importing a.b.c runs a/__init__.py and a/b/__init__.py too
    return {".".join(n.split(".")[: i + 1]) for n in found for i in range(n.count(".") + 1)}


def _is_gradcheck_decorator(node: ast.expr) -> bool:
    """``@gradcheck``, ``@gradtest.gradcheck``, ``@gt.gradcheck(...)``."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr == "gradcheck"
    return isinstance(node, ast.Name) and node.id == "gradcheck"


def static_checks(tree: ast.Module) -> list[str]:
    """The qualified names of the ``@gradcheck`` functions of a parsed module, in order.

    Read from the source: nothing is imported or run.
    """
    found: list[str] = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if any(_is_gradcheck_decorator(d) for d in node.decorator_list):
                    found.append(prefix + node.name)
            elif isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, ast.If | ast.Try):
                visit(node.body, prefix)
                visit(node.orelse, prefix)

    visit(tree.body, "")
    return found


@dataclass
class Affected:
    """The check files to run for a set of changed files, with the reason for each."""

    #: check file -> why it runs ("changed", "imports losses.py through helpers.py")
    reasons: dict[Path, str] = field(default_factory=dict)
    changed: list[Path] = field(default_factory=list)
    n_check_files: int = 0


def affected_checks(changed: Sequence[Path], root: Path) -> Affected:
    """The files with gradient checks that are, or import, one of the ``changed`` files.

    Every Python file under ``root`` is parsed (never imported or run); a file *depends*
    on another when one of its ``import`` statements names one of the other's module
    names, directly or through other files of the repository.
    """
    root = root.resolve()
    changed_set = {p.resolve() for p in changed if p.suffix == ".py" and p.is_file()}
    files = sorted({*(p.resolve() for p in _walk(root)), *changed_set})
    by_name: dict[str, set[Path]] = {}
    for file in files:
        for name in _module_names(file, root):
            by_name.setdefault(name, set()).add(file)
    imports: dict[Path, set[Path]] = {}
    check_files: list[Path] = []
    for file in files:
        try:
            source = file.read_text(encoding="utf-8", errors="replace")
            tree = ast.parse(source, filename=str(file))
        except (OSError, SyntaxError, ValueError):
            imports[file] = set()
            if file in changed_set and _mentions_gradcheck(file):
                # a changed file that may hold checks but does not parse: run it, so that
                # its import error is shown and the commit refused, not waved through
                check_files.append(file)
            continue
        if static_checks(tree):
            check_files.append(file)
        imports[file] = {
            dep for name in _imported_names(file, tree) for dep in by_name.get(name, ())
        } - {file}
    affected = Affected(changed=sorted(changed_set), n_check_files=len(check_files))
    for file in check_files:
        why = _import_chain(file, changed_set, imports)
        if why is not None:
            affected.reasons[file] = why
    return affected


def _import_chain(start: Path, targets: set[Path], imports: dict[Path, set[Path]]) -> str | None:
    """Why ``start`` depends on a changed file: "changed", or the shortest import chain."""
    if start in targets:
        return "changed"
    parent: dict[Path, Path] = {start: start}
    queue = [start]
    while queue:
        file = queue.pop(0)
        for dep in sorted(imports.get(file, ())):
            if dep in parent:
                continue
            parent[dep] = file
            if dep in targets:
                chain = [dep]
                while chain[-1] != start:
                    chain.append(parent[chain[-1]])
                via = [_rel(p) for p in reversed(chain[1:-1])]
                text = f"imports {_rel(dep)}"
                return text + (f" through {' → '.join(via)}" if via else "")
            queue.append(dep)
    return None


def _rel(path: Path) -> str:
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------------------


class Progress:
    """A line per check; on a terminal the line shows the running check until it ends."""

    def __init__(self, stream: IO[str], total: int, *, enabled: bool) -> None:
        self.stream = stream
        self.total = total
        self.enabled = enabled
        self.tty = enabled and stream.isatty()

    def start(self, index: int, check_id: str) -> None:
        if self.tty:
            self.stream.write(f"[{index}/{self.total}] {check_id} …")
            self.stream.flush()

    def done(self, index: int, check_id: str, verdict: str, elapsed: float) -> None:
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\r\x1b[K")
        self.stream.write(
            f"[{index}/{self.total}] {verdict.upper():<12} {check_id} ({elapsed:.2f} s)\n"
        )
        self.stream.flush()


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradtest",
        description=(
            "Run the @gradtest.gradcheck gradient checks defined in Python files, "
            "directories or modules. Exit status: 0 all passed, 1 a check failed, raised or "
            "was inconclusive, 2 usage or import error. Settings not given here come from "
            "[tool.gradtest] in the nearest pyproject.toml."
        ),
        allow_abbrev=False,
    )
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="PATH_OR_MODULE",
        help="files, directories, dotted module names, or FILE::NAME for one check "
        "(default: the current directory)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    for option in _config().OPTIONS:
        if not option.command:
            continue
        if option.is_flag:
            # --no-accept-inconclusive undoes accept_inconclusive = true in the file
            parser.add_argument(
                option.command_option,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=option.help_text(),
            )
        else:
            parser.add_argument(
                option.command_option,
                type=_argparse_type(option.parse),
                metavar=option.metavar,
                help=option.help_text(),
            )
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the JSON report instead of text")
    out.add_argument(
        "-q", "--quiet", action="store_true", help="print only failures and the summary"
    )
    out.add_argument(
        "-v", "--verbose", action="store_true", help="print the full report of passing checks too"
    )
    out.add_argument(
        "--list",
        action="store_true",
        help="list the checks found by reading the source; nothing is imported or run",
    )
    parser.add_argument(
        "--changed",
        action="store_true",
        help="the paths are changed files (the pre-commit hook): run every check whose file "
        "is one of them or imports one, directly or through other modules under the current "
        "directory (found by reading the imports, without running anything)",
    )
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gradtest")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout without install
        return "unknown"


def _settings(ns: argparse.Namespace) -> dict[str, Any]:
    """The command line's settings over ``[tool.gradtest]`` of the nearest pyproject.toml."""
    cfg = _config()
    try:
        merged = cfg.project_settings()
    except cfg.ConfigError as err:
        raise UsageError(str(err)) from None
    for option in cfg.OPTIONS:
        if option.command and getattr(ns, option.name) is not None:
            merged[option.name] = getattr(ns, option.name)
    return {o.name: merged.get(o.name) for o in cfg.OPTIONS if o.command}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line tool and return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 when every check passed, 1 when a check failed or raised, 2 for usage and
        import errors.

    Examples
    --------
    >>> from gradtest_cli import main
    >>> main(["--list", "no/such/file.py"])
    2
    """
    parser = _build_parser()
    try:
        ns = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    out = sys.stdout
    try:
        settings = _settings(ns)
        _check_outputs(ns, settings)
        if settings["plots"] is not None:
            require_matplotlib(_source(ns, "plots"))
        targets = ns.targets or ["."]
        if ns.changed:
            # with --json, stdout holds the JSON document alone: which checks run and why
            # goes to stderr
            targets = _changed_targets(ns.targets, sys.stderr if ns.json else out)
            if not targets:  # nothing to check: the report (if asked for) of no checks
                return _finish_report([], ns, settings, out)
        if ns.list:
            found = list_checks(targets)
        else:
            found = find_checks(targets)
    except UsageError as err:
        print(f"gradtest: error: {err}", file=sys.stderr)
        return 2
    if found.errors:
        for message in found.errors:
            print(f"gradtest: error: {message}", file=sys.stderr)
        return 2
    if ns.list:
        for check_id, _ in found.checks:
            print(check_id, file=out)
        return 0

    records_module = _records()
    records = _run(found.checks, found.targets, ns, settings, out)
    status = _finish_report(records, ns, settings, out)
    if status or ns.json:
        return status
    if records:
        if not ns.quiet:
            print("", file=out)
            print("\n".join(records_module.summary_table(records)), file=out)
        total = sum(r["elapsed"] for r in records)
        print(f"gradtest: {records_module.counts_line(records)} in {total:.2f} s", file=out)
        if any(r["verdict"] == "inconclusive" and not r["accepted"] for r in records):
            print(
                "gradtest: an inconclusive check verified nothing, so it fails the run; "
                "--accept-inconclusive (or accept_inconclusive = true in [tool.gradtest]) "
                "counts it as passed",
                file=out,
            )
    else:
        print("gradtest: no gradient checks found", file=out)
    return 1 if any(records_module.is_failure(r) for r in records) else 0


def _finish_report(
    records: list[dict[str, Any]], ns: argparse.Namespace, settings: dict[str, Any], out: IO[str]
) -> int:
    """Write the JSON report (``--report``), print it (``--json``): 2 if it cannot be
    written, else the exit status of ``records`` when printed, else 0."""
    records_module = _records()
    document = records_module.report_document(
        records, settings, tool="gradtest", version=_version()
    )
    if settings["report"] is not None:
        try:
            records_module.write_report(settings["report"], document)
        except OSError as err:
            print(f"gradtest: error: {_source(ns, 'report')}: {err}", file=sys.stderr)
            return 2
    if ns.json:
        json.dump(document, out, indent=2, allow_nan=False)
        out.write("\n")
        return 1 if any(records_module.is_failure(r) for r in records) else 0
    return 0


def _source(ns: argparse.Namespace, name: str) -> str:
    """Where the setting ``name`` came from: ``--report``, or the pyproject.toml key."""
    if getattr(ns, name, None) is not None:
        return f"--{name.replace('_', '-')}"
    return f"{_config().find_pyproject(Path.cwd())}: [tool.gradtest] {name}"


def _check_outputs(ns: argparse.Namespace, settings: dict[str, Any]) -> None:
    """Raise :class:`UsageError` for a report or plots path that cannot be written."""
    for name in ("report", "plots"):
        if settings[name] is None:
            continue
        problem = _records().output_path_problem(Path(settings[name]), kind=name)
        if problem is not None:
            raise UsageError(f"{_source(ns, name)}: {problem}")


def _changed_targets(paths: Sequence[str], out: IO[str]) -> list[str]:
    """The check files to run for the changed ``paths``; print which and why."""
    affected = affected_checks([Path(p) for p in paths], Path.cwd())
    n = len(affected.changed)
    shown = ", ".join(_rel(p) for p in affected.changed[:5]) + (", ..." if n > 5 else "")
    changed = f"{n} changed Python file{'s' if n != 1 else ''}" + (f" ({shown})" if n else "")
    if not affected.reasons:
        n_checks = affected.n_check_files
        if n_checks == 0:
            why = "no file under the current directory has gradient checks"
        elif n_checks == 1:
            why = (
                "the one file with gradient checks under the current directory neither is "
                "nor imports one of them"
            )
        else:
            why = (
                f"none of the {n_checks} files with gradient checks under the current "
                "directory is or imports one of them"
            )
        print(f"gradtest: {changed}; {why}: nothing to check", file=out)
        return []
    print(f"gradtest: {changed}; running the checks in:", file=out)
    for file, why in affected.reasons.items():
        print(f"  {_rel(file)} ({why})", file=out)
    return [str(p) for p in affected.reasons]


def _replay_command(target: str, seed: int | None, settings: dict[str, Any]) -> str:
    """``gradtest --seed N path.py::test_loss``: the command that replays one check from the
    current directory (without ``--seed`` for a derandomized run, which replays the same
    inputs anyway); ``target`` is the check's ``FILE::NAME``."""
    parts = ["gradtest"] if seed is None else ["gradtest", f"--seed {seed}"]
    for name in ("rtol", "max_examples", "mode"):
        if settings.get(name) is not None:
            parts.append(f"--{name.replace('_', '-')} {settings[name]}")
    if settings.get("accept_inconclusive"):
        parts.append("--accept-inconclusive")  # (the verdict it replays counted as passed)
    parts.append(shlex.quote(target))
    return " ".join(parts)


def _run(
    checks: list[tuple[str, Any]],
    targets: dict[str, str],
    ns: argparse.Namespace,
    settings: dict[str, Any],
    out: IO[str],
) -> list[dict[str, Any]]:
    from gradtest import _runner

    records_module = _records()
    quiet = ns.quiet or ns.json
    progress = Progress(out, len(checks), enabled=not quiet)
    records: list[dict[str, Any]] = []
    for index, (check_id, spec) in enumerate(checks, start=1):
        progress.start(index, check_id)
        t0 = time.perf_counter()

        def reproduce(spec: Any, seed: int | None, target: str = targets[check_id]) -> str:
            return _replay_command(target, seed, settings)

        report: str
        try:
            outcome = _runner._run(
                spec,
                rtol=settings["rtol"],
                max_examples=settings["max_examples"],
                mode=settings["mode"],
                seed=settings["seed"],
                accept_inconclusive=bool(settings["accept_inconclusive"]),
                reproduce=reproduce,
                # the settings above are resolved: no second look at the current directory
                project={},
            )
        except Exception as err:
            seed = getattr(err, "gradtest_seed", None)
            record = records_module.record_from_exception(
                spec.name, check_id, err, source="cli", elapsed=time.perf_counter() - t0,
                reproduce=reproduce(spec, seed),
            )  # fmt: skip
            report = f"ERROR {check_id}: {type(err).__name__}: {err}"
            where = _where_raised(err)
            if where:  # before the line that replays it, which stays last
                head, sep, replay = report.rpartition("\n\nreproduce with:")
                report = f"{head}\n\n{where}{sep}{replay}" if sep else f"{report}\n\n{where}"
        else:
            record = records_module.record_from_outcome(
                outcome, check_id, source="cli", reproduce=outcome.reproduce
            )
            report = outcome.report
            plots = settings["plots"]
            if plots is not None and outcome.verdict == "fail" and outcome.result is not None:
                try:
                    plot = records_module.plot_failure(outcome.result, plots, check_id)
                except Exception as err:  # a broken plot must not hide the report
                    report += f"\n\n  plot failed: {type(err).__name__}: {err}"
                else:
                    if plot is None:
                        report += f"\n\n  {records_module.no_plot_reason(outcome.result)}"
                    else:
                        record["plot"] = str(plot)
        records.append(record)
        progress.done(index, check_id, record["verdict"], record["elapsed"])
        if quiet and not ns.json and records_module.is_failure(record):
            # the verdict and the line that replays it (the seed is random by default)
            print(report.splitlines()[0].rstrip(":"), file=out)
            if record.get("reproduce"):
                print(f"  reproduce with: {record['reproduce']}", file=out)
        elif not quiet and (ns.verbose or record["verdict"] != "pass"):
            print("\n" + report + "\n", file=out)
        if record["plot"] and not quiet:
            print(f"  plot: {record['plot']}", file=out)
    return records


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
