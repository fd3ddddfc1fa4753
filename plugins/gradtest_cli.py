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
import datetime as _dt
import importlib
import importlib.util
import json
import math
import os
import pkgutil
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gradtest import GradCheckResult

__all__ = ["main"]

#: version of the JSON report written by ``--json``, ``--report`` and ``--gradcheck-report``
REPORT_SCHEMA = 1
#: the values of ``--mode`` / ``--gradcheck-mode``
MODES = ("auto", "full", "directions")
#: verdicts in the order the summary table lists them
VERDICT_ORDER = ("fail", "error", "inconclusive", "pass")
#: directories never searched for checks
SKIPPED_DIRS = frozenset(
    {"__pycache__", "build", "dist", "node_modules", "site-packages", "venv", "env"}
)
#: a file is imported only when its text matches this
MENTIONS_GRADCHECK = re.compile(r"gradcheck")


class UsageError(Exception):
    """A bad argument, or a file or module that cannot be imported (exit code 2)."""


# --------------------------------------------------------------------------------------
# option values (shared with the pytest plugin, which names the option in its error)
# --------------------------------------------------------------------------------------


def positive_float(text: str) -> float:
    """Parse a positive finite number, or raise ``ValueError`` showing the value."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"expected a positive finite number, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """Parse a positive integer, or raise ``ValueError`` showing the value."""
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise ValueError(f"expected a positive integer, got {text!r}")
    return value


def seed_int(text: str) -> int:
    """Parse a non-negative integer seed, or raise ``ValueError`` showing the value."""
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise ValueError(f"expected a non-negative integer, got {text!r}")
    return value


def mode_choice(text: str) -> str:
    """Parse a mode, or raise ``ValueError`` listing the choices."""
    if text not in MODES:
        raise ValueError(f"expected one of {', '.join(MODES)}, got {text!r}")
    return text


def _argparse_type(parse: Any) -> Any:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    convert.__name__ = parse.__name__
    return convert


# --------------------------------------------------------------------------------------
# records: one JSON-ready dict per check, the unit of the report and the summary table
# --------------------------------------------------------------------------------------


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None`` (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def result_fields(result: GradCheckResult | None) -> dict[str, Any]:
    """The report fields taken from a core result (all ``None`` without one)."""
    if result is None:
        return {
            "max_rel_error": None,
            "worst": None,
            "n_evals": None,
            "method": None,
            "diagnosis": None,
        }
    data = result.to_dict()
    return {
        "max_rel_error": result.max_rel_error,
        "worst": data["worst"],
        "n_evals": result.n_evals,
        "method": result.method,
        "diagnosis": data["diagnosis"],
    }


def record_from_outcome(outcome: Any, check_id: str, *, source: str) -> dict[str, Any]:
    """The record of a :func:`gradtest.run_gradcheck` outcome."""
    record: dict[str, Any] = {
        "id": check_id,
        "name": outcome.name,
        "source": source,
        "verdict": outcome.verdict,
        **result_fields(outcome.result),
        "seed": outcome.seed,
        "n_examples": outcome.n_examples,
        "n_rejected": outcome.n_rejected,
        "elapsed": outcome.elapsed,
        "error": None if outcome.error is None else str(outcome.error).splitlines()[0],
        "plot": None,
    }
    return _finite(record)  # type: ignore[no-any-return]


def record_from_result(
    result: GradCheckResult, check_id: str, *, source: str, elapsed: float
) -> dict[str, Any]:
    """The record of a core :class:`gradtest.GradCheckResult` (the pytest fixture)."""
    record: dict[str, Any] = {
        "id": check_id,
        "name": result.name,
        "source": source,
        "verdict": result.verdict,
        **result_fields(result),
        "seed": result.seed,
        "n_examples": 1,
        "n_rejected": 0,
        "elapsed": elapsed,
        "error": None,
        "plot": None,
    }
    return _finite(record)  # type: ignore[no-any-return]


def record_from_exception(
    name: str, check_id: str, err: BaseException, *, source: str, elapsed: float
) -> dict[str, Any]:
    """The record of a check that raised instead of reaching a verdict."""
    return {
        "id": check_id,
        "name": name,
        "source": source,
        "verdict": "error",
        **result_fields(None),
        "seed": None,
        "n_examples": 0,
        "n_rejected": 0,
        "elapsed": elapsed,
        "error": f"{type(err).__name__}: {err}".splitlines()[0],
        "plot": None,
    }


def _verdict_rank(record: dict[str, Any]) -> int:
    verdict = record["verdict"]
    return VERDICT_ORDER.index(verdict) if verdict in VERDICT_ORDER else 0


def count_verdicts(records: Sequence[dict[str, Any]]) -> dict[str, int]:
    """``{"total": n, "fail": ..., "error": ..., "inconclusive": ..., "pass": ...}``."""
    counts = {"total": len(records)} | {v: 0 for v in VERDICT_ORDER}
    for record in records:
        counts[record["verdict"]] = counts.get(record["verdict"], 0) + 1
    return counts


def report_document(
    records: Sequence[dict[str, Any]], settings: dict[str, Any], *, tool: str
) -> dict[str, Any]:
    """The versioned JSON report: settings, verdict counts and one record per check."""
    import gradtest

    return {
        "schema": REPORT_SCHEMA,
        "tool": tool,
        "gradtest_version": gradtest.__version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "settings": settings,
        "summary": count_verdicts(records),
        "checks": sorted(records, key=lambda r: (_verdict_rank(r), r["id"])),
    }


def write_report(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` as JSON to ``path`` (atomically: readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def _fmt_error(value: float | None) -> str:
    return "-" if value is None else f"{value:.1e}"


def summary_table(records: Sequence[dict[str, Any]]) -> list[str]:
    """The summary table, failures first: check, verdict, max rel. error, evaluations, time."""
    rows = sorted(records, key=lambda r: (_verdict_rank(r), r["id"]))
    width = max([len(r["id"]) for r in rows] + [5])
    lines = [f"{'check':<{width}}  {'verdict':<12}  {'max rel.err':>11}  {'evals':>6}  {'time':>7}"]
    for r in rows:
        evals = "-" if r["n_evals"] is None else str(r["n_evals"])
        lines.append(
            f"{r['id']:<{width}}  {r['verdict']:<12}  {_fmt_error(r['max_rel_error']):>11}  "
            f"{evals:>6}  {r['elapsed']:6.2f}s"
        )
    return lines


def counts_line(records: Sequence[dict[str, Any]]) -> str:
    """``"1 fail, 2 pass"`` (non-zero verdicts only, failures first)."""
    counts = count_verdicts(records)
    parts = [f"{counts[v]} {v}" for v in VERDICT_ORDER if counts[v]]
    return ", ".join(parts) if parts else "no checks"


# --------------------------------------------------------------------------------------
# plots (optional extra ``gradtest[plot]``)
# --------------------------------------------------------------------------------------


def require_matplotlib(option: str) -> None:
    """Raise :class:`UsageError` naming ``option`` when matplotlib is not installed."""
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError(
            f"{option} draws PNG plots with matplotlib, which is not installed: "
            "pip install 'gradtest[plot]'"
        )


def plot_path(directory: Path, check_id: str) -> Path:
    """``directory / "<check id with unsafe characters replaced>.png"``."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", check_id).strip("_") or "check"
    return directory / f"{stem}.png"


def plot_failure(result: GradCheckResult, directory: Path, check_id: str) -> Path:
    """Plot the step sweeps of a failing check into ``directory``; return the file."""
    from gradtest.plot import plot_step_sweep

    directory.mkdir(parents=True, exist_ok=True)
    path = plot_path(directory, check_id)
    plot_step_sweep(result, path)
    return path


# --------------------------------------------------------------------------------------
# finding the checks
# --------------------------------------------------------------------------------------


@dataclass
class Found:
    """The checks found in the command line's targets, with their display ids."""

    checks: list[tuple[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


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


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}".splitlines()[0]


def find_checks(targets: Sequence[str]) -> Found:
    """Import ``targets`` (files, directories or dotted module names) and list their checks."""
    import gradtest

    found = Found()
    modules: list[Any] = []

    def load(what: str, importer: Any, arg: Any) -> None:
        try:
            modules.append(importer(arg))
        except UsageError as err:
            found.errors.append(str(err))
        except Exception as err:
            found.errors.append(f"cannot import {what}: {_describe(err)}")

    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    for target in targets:
        path = Path(target)
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
    for module in modules:  # in the order given, each in definition order
        for spec in specs:
            # the registry outlives reloads: keep only what the module defines now
            obj = getattr(module, spec.qualname, None) if spec.module == module.__name__ else None
            check_id = _display_id(module, spec.qualname)
            if getattr(obj, "__gradtest__", None) is spec and check_id not in seen:
                seen.add(check_id)
                found.checks.append((check_id, spec))
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
            "directories or modules. Exit status: 0 all passed, 1 a check failed, "
            "2 usage or import error."
        ),
    )
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="PATH_OR_MODULE",
        help="files, directories or dotted module names (default: the current directory)",
    )
    parser.add_argument(
        "--rtol",
        type=_argparse_type(positive_float),
        metavar="FLOAT",
        help="fixed relative tolerance (default: per entry, from the error estimate)",
    )
    parser.add_argument(
        "--max-examples",
        type=_argparse_type(positive_int),
        metavar="N",
        help="inputs drawn per check (default: the decorator's setting)",
    )
    parser.add_argument(
        "--mode",
        type=_argparse_type(mode_choice),
        metavar="{auto,full,directions}",
        help="full Jacobian, random directions, or auto by size (default: auto)",
    )
    parser.add_argument(
        "--seed",
        type=_argparse_type(seed_int),
        metavar="N",
        help="seed for the drawn inputs and directions (default: random, printed)",
    )
    parser.add_argument(
        "--report", type=Path, metavar="PATH", help="also write the JSON report to PATH"
    )
    parser.add_argument(
        "--plots",
        type=Path,
        metavar="DIR",
        help="write PNG step-sweep plots of failing checks to DIR (needs gradtest[plot])",
    )
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the JSON report instead of text")
    out.add_argument(
        "-q", "--quiet", action="store_true", help="print only failures and the summary"
    )
    out.add_argument(
        "-v", "--verbose", action="store_true", help="print the full report of passing checks too"
    )
    out.add_argument("--list", action="store_true", help="list the checks found, do not run them")
    parser.add_argument(
        "--changed",
        action="store_true",
        help="the paths are changed files (the pre-commit hook): run every check whose file "
        "is one of them or imports one, directly or through other modules under the current "
        "directory (found by reading the imports, without running anything)",
    )
    return parser


def _settings(ns: argparse.Namespace) -> dict[str, Any]:
    return {"rtol": ns.rtol, "max_examples": ns.max_examples, "mode": ns.mode, "seed": ns.seed}


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
        if ns.plots is not None:
            require_matplotlib("--plots")
        targets = ns.targets or ["."]
        if ns.changed:
            targets = _changed_targets(ns.targets, out)
            if not targets:
                return 0
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

    records = _run(found.checks, ns, out)
    document = report_document(records, _settings(ns), tool="gradtest")
    if ns.report is not None:
        write_report(ns.report, document)
    if ns.json:
        json.dump(document, out, indent=2, allow_nan=False)
        out.write("\n")
    elif records:
        if not ns.quiet:
            print("", file=out)
            print("\n".join(summary_table(records)), file=out)
        total = sum(r["elapsed"] for r in records)
        print(f"gradtest: {counts_line(records)} in {total:.2f} s", file=out)
    else:
        print("gradtest: no gradient checks found", file=out)
    failed = any(r["verdict"] in ("fail", "error") for r in records)
    return 1 if failed else 0


def _changed_targets(paths: Sequence[str], out: IO[str]) -> list[str]:
    """The check files to run for the changed ``paths``; print which and why."""
    affected = affected_checks([Path(p) for p in paths], Path.cwd())
    n = len(affected.changed)
    shown = ", ".join(_rel(p) for p in affected.changed[:5]) + (", ..." if n > 5 else "")
    changed = f"{n} changed Python file{'s' if n != 1 else ''}" + (f" ({shown})" if n else "")
    if not affected.reasons:
        print(
            f"gradtest: {changed}; none of the {affected.n_check_files} files with gradient "
            "checks under the current directory is or imports one of them: nothing to check",
            file=out,
        )
        return []
    print(f"gradtest: {changed}; running the checks in:", file=out)
    for file, why in affected.reasons.items():
        print(f"  {_rel(file)} ({why})", file=out)
    return [str(p) for p in affected.reasons]


def _run(
    checks: list[tuple[str, Any]], ns: argparse.Namespace, out: IO[str]
) -> list[dict[str, Any]]:
    import gradtest

    quiet = ns.quiet or ns.json
    progress = Progress(out, len(checks), enabled=not quiet)
    records: list[dict[str, Any]] = []
    for index, (check_id, spec) in enumerate(checks, start=1):
        progress.start(index, check_id)
        t0 = time.perf_counter()
        report: str
        try:
            outcome = gradtest.run_gradcheck(
                spec, rtol=ns.rtol, max_examples=ns.max_examples, mode=ns.mode, seed=ns.seed
            )
        except Exception as err:
            record = record_from_exception(
                spec.name, check_id, err, source="cli", elapsed=time.perf_counter() - t0
            )
            report = f"ERROR {check_id}: {record['error']}"
        else:
            record = record_from_outcome(outcome, check_id, source="cli")
            report = outcome.report
            if ns.plots is not None and outcome.verdict == "fail" and outcome.result is not None:
                record["plot"] = str(plot_failure(outcome.result, ns.plots, check_id))
        records.append(record)
        progress.done(index, check_id, record["verdict"], record["elapsed"])
        if quiet and not ns.json and record["verdict"] in ("fail", "error"):
            print(report.splitlines()[0], file=out)
        elif not quiet and (ns.verbose or record["verdict"] != "pass"):
            print("\n" + report + "\n", file=out)
        if record["plot"] and not quiet:
            print(f"  plot: {record['plot']}", file=out)
    return records


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
