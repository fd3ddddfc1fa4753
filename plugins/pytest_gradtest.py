"""pytest plugin of gradtest: ``pytest --gradcheck`` runs the gradient checks.

Installed as the top-level module ``pytest_gradtest`` through the ``pytest11`` entry point
``gradtest`` (``-p no:gradtest`` turns it off). It collects

- the ``@gradtest.gradcheck`` loss functions defined in test files,
- the ones defined in the modules named by ``--gradcheck-modules`` or the
  ``gradcheck_modules`` ini option (these need not be test files),
- the tests marked ``@pytest.mark.gradcheck``,

and skips all of them, with a reason that says how to run them, unless ``--gradcheck`` (or
the ini option ``gradcheck = true``) is given. The ``gradcheck`` fixture runs ad-hoc checks
inside ordinary tests (always). A failing check shows the gradtest report instead of a
traceback through gradtest; after the run one table lists every check; ``--gradcheck-report``
writes them as versioned JSON (once, by the controller, under pytest-xdist).

The plugin holds no numerics and imports ``gradtest`` only when a check runs: pytest loads
it without importing numpy, scipy or hypothesis.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import gradtest_cli as cli
import pytest

if TYPE_CHECKING:
    from gradtest import GradCheckResult

__all__ = ["GradcheckFixture", "GradcheckItem", "GradcheckModule"]

SKIP_REASON = "gradient check: run pytest with --gradcheck to run it"
MARKER = "gradcheck: a gradient check; skipped unless pytest runs with --gradcheck"
#: the attribute of a test report that carries its checks' records to the controller
REPORT_ATTR = "gradtest_checks"
#: the junitxml property (``record_property``) holding a check's max relative error
PROPERTY = "gradcheck_max_rel_error"


def _config_module() -> ModuleType:
    """``gradtest._config`` (the one table of settings), without importing numpy & co."""
    return cli.light_import("_config")


def _records() -> ModuleType:
    """``gradtest._records`` (records, summary table, JSON report)."""
    return cli.light_import("_records")


# --------------------------------------------------------------------------------------
# options: one group, generated from gradtest's configuration table; every option has an
# ini twin and a [tool.gradtest] name; all are read once into Settings
# --------------------------------------------------------------------------------------


def _dest(option: Any) -> str:
    return str(option.pytest_option).lstrip("-").replace("-", "_")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gradtest", "gradient checks (gradtest)")
    group.addoption(
        "--gradcheck",
        action="store_true",
        default=False,
        help="run the gradient checks (default: skip them; ini: gradcheck)",
    )
    parser.addini(
        "gradcheck", "run the gradient checks (like --gradcheck)", type="bool", default=False
    )
    for option in _config_module().OPTIONS:
        if not option.pytest:
            continue
        where = f"ini: {option.ini}; pyproject.toml: [tool.gradtest] {option.name}"
        text = f"{option.help_text()}; {where}"
        if option.is_flag:
            # --gradcheck-no-accept-inconclusive undoes the setting of a configuration file
            group.addoption(
                option.pytest_option, action=argparse.BooleanOptionalAction, default=None,
                help=text,
            )  # fmt: skip
        elif option.name == "modules":
            group.addoption(
                option.pytest_option, metavar=option.metavar, action="append", default=[],
                help=text,
            )  # fmt: skip
        else:
            group.addoption(option.pytest_option, metavar=option.metavar, default=None, help=text)
        ini_help = f"{option.help} (like {option.pytest_option})"
        if option.name == "modules":
            parser.addini(option.ini, ini_help, type="args", default=[])
        else:
            parser.addini(option.ini, ini_help, type="string", default="")


@dataclass(frozen=True)
class Settings:
    """Every option of the plugin, validated once in ``pytest_configure``.

    Each comes from the command line, else ``[tool.gradtest]`` in ``pyproject.toml``,
    else its pytest ini twin.
    """

    enabled: bool
    rtol: float | None
    max_examples: int | None
    mode: str | None
    seed: int | None
    accept_inconclusive: bool
    report: Path | None
    plots: Path | None
    modules: tuple[str, ...]

    @classmethod
    def from_config(cls, config: pytest.Config) -> Settings:
        cfg = _config_module()
        inipath = config.inipath
        pyproject = (
            inipath
            if inipath is not None and inipath.name == "pyproject.toml"
            else cfg.find_pyproject(config.rootpath)
        )
        try:
            table = cfg.read_tool_table(pyproject)
        except cfg.ConfigError as err:
            raise pytest.UsageError(str(err)) from None
        values: dict[str, Any] = {}
        for option in cfg.OPTIONS:
            if not option.pytest:
                continue
            raw = config.getoption(_dest(option))
            source = option.pytest_option
            # a relative path given on the command line is relative to where pytest ran
            # (as --junitxml's is); one from a configuration file, to its rootdir
            base = config.invocation_params.dir
            if raw is None or raw == []:
                base = config.rootpath
                if option.name in table:
                    values[option.name] = table[option.name]
                    _check_output(option.name, table[option.name], f"{pyproject}: [tool.gradtest]")
                    continue
                raw, source = config.getini(option.ini), _ini_source(config, option.ini)
                if raw in ("", []):
                    values[option.name] = None
                    continue
            try:
                value = option.parse(raw)
            except ValueError as err:
                raise pytest.UsageError(f"{source}: {err}") from None
            if isinstance(value, Path) and not value.is_absolute():
                value = base / value
            _check_output(option.name, value, source)
            values[option.name] = value
        return cls(
            enabled=bool(config.getoption("gradcheck") or config.getini("gradcheck")),
            rtol=values["rtol"],
            max_examples=values["max_examples"],
            mode=values["mode"],
            seed=values["seed"],
            accept_inconclusive=bool(values["accept_inconclusive"]),
            report=values["report"],
            plots=values["plots"],
            modules=values["modules"] or (),
        )

    def describe(self) -> dict[str, Any]:
        """The settings that shape the checks, for the header and the JSON report."""
        return {
            "rtol": self.rtol,
            "max_examples": self.max_examples,
            "mode": self.mode,
            "seed": self.seed,
            "accept_inconclusive": self.accept_inconclusive,
        }

    def replay_options(self) -> str:
        """The options that change what a check draws or how it judges, as typed."""
        parts = [
            f"--gradcheck-{name.replace('_', '-')}={value}"
            for name, value in (("rtol", self.rtol), ("max_examples", self.max_examples),
                                ("mode", self.mode))
            if value is not None
        ]  # fmt: skip
        if self.accept_inconclusive:  # (the verdict it replays counted as passed)
            parts.append("--gradcheck-accept-inconclusive")
        return "".join(f" {p}" for p in parts)


def _ini_source(config: pytest.Config, name: str) -> str:
    """Where the ini option ``name`` was set: ``-o name=...`` or the file (``pytest.ini: the
    ini option name``), for a message that sends the user to the right line."""
    overrides = getattr(config.option, "override_ini", None) or ()
    if any(str(o).split("=", 1)[0].strip() == name for o in overrides):
        return f"-o {name}"
    path = config.inipath
    if path is None:
        return f"the ini option {name}"
    if path.name == "pyproject.toml":
        return f"{path}: [tool.pytest.ini_options] {name}"
    return f"{path}: the ini option {name}"


def _check_output(name: str, value: Any, source: str) -> None:
    """Raise ``pytest.UsageError`` for a report or plots path that cannot be written."""
    if name not in ("report", "plots") or value is None:
        return
    problem = _records().output_path_problem(Path(value), kind=name)
    if problem is not None:
        where = f"{source} {name}" if source.endswith("[tool.gradtest]") else source
        raise pytest.UsageError(f"{where}: {problem}")


@dataclass
class State:
    """The plugin's session state, kept in ``config.stash``."""

    settings: Settings
    records: list[dict[str, Any]] = field(default_factory=list)
    #: why the JSON report could not be written, shown in the terminal summary
    report_error: str | None = None


_STATE = pytest.StashKey[State]()
_ITEM_RECORDS = pytest.StashKey[list[dict[str, Any]]]()


def _state(config: pytest.Config) -> State:
    return config.stash[_STATE]


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    settings = Settings.from_config(config)
    if settings.enabled and settings.plots is not None:
        try:
            cli.require_matplotlib("--gradcheck-plots")
        except cli.UsageError as err:
            raise pytest.UsageError(str(err)) from None
    config.stash[_STATE] = state = State(settings)
    config.pluginmanager.register(_Gatherer(state), "gradtest-gatherer")


def pytest_unconfigure(config: pytest.Config) -> None:
    gatherer = config.pluginmanager.get_plugin("gradtest-gatherer")
    if gatherer is not None:
        config.pluginmanager.unregister(gatherer)


def pytest_report_header(config: pytest.Config) -> str:
    settings = _state(config).settings
    if not settings.enabled:
        return "gradtest: gradient checks skipped (run with --gradcheck)"
    described = settings.describe()
    if described.pop("accept_inconclusive"):  # shown only when set
        described["accept_inconclusive"] = "true"
    shown = ", ".join(f"{k}={'auto' if v is None else v}" for k, v in described.items())
    return f"gradtest: gradient checks on ({shown})"


# --------------------------------------------------------------------------------------
# collection
# --------------------------------------------------------------------------------------


def _is_check(obj: object) -> bool:
    return callable(obj) and hasattr(obj, "__gradtest__") and hasattr(obj, "__code__")


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> list[pytest.Item] | GradcheckItem | None:
    """Collect a decorated loss in the test module that defines it (imported ones: nowhere)."""
    if not _is_check(obj) or not isinstance(collector, pytest.Module):
        return None
    spec: Any = obj.__gradtest__  # type: ignore[attr-defined]
    if spec.module != collector.obj.__name__:
        return []
    return GradcheckItem.from_parent(collector, name=name, target=obj)


class GradcheckItem(pytest.Item):
    """One ``@gradtest.gradcheck`` loss, run through :func:`gradtest.run_gradcheck`."""

    def __init__(self, *, target: Callable[[], Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = target
        self.spec: Any = target.__gradtest__  # type: ignore[attr-defined]
        self.outcome: Any = None
        self.add_marker(pytest.mark.gradcheck)

    def runtest(self) -> None:
        from gradtest import _runner

        settings = _state(self.config).settings
        nodeid = self.nodeid

        def reproduce(spec: Any, seed: int | None) -> str:
            # a derandomized run (hypothesis's CI profile) replays the same inputs without
            # a seed
            return _reproduce_command(self, seed)

        t0 = time.perf_counter()
        try:
            self.outcome = outcome = _runner._run(
                self.spec,
                rtol=settings.rtol,
                max_examples=settings.max_examples,
                mode=settings.mode,
                seed=settings.seed,
                accept_inconclusive=settings.accept_inconclusive,
                reproduce=reproduce,
                # the settings above are resolved: no second look at the current directory
                project={},
            )
        except Exception as err:
            # the user's mistake (a transposed gradient, a loss that raises) or hypothesis's
            # own error: counted as "error" in the table and the JSON report
            seed = getattr(err, "gradtest_seed", None)
            record = _records().record_from_exception(
                self.spec.name, nodeid, err, source="decorator",
                elapsed=time.perf_counter() - t0,
                reproduce=reproduce(self.spec, seed),
            )  # fmt: skip
            _record(self, record, None)
            raise
        record = _records().record_from_outcome(
            outcome, nodeid, source="decorator", reproduce=outcome.reproduce
        )
        _record(self, record, outcome.result)
        if outcome.error is not None and not outcome.accepted:
            raise outcome.error
        if outcome.accepted:
            import gradtest

            warnings.warn_explicit(
                gradtest.InconclusiveWarning(outcome.report.splitlines()[0]),
                category=gradtest.InconclusiveWarning,
                filename=str(self.path),
                lineno=self._lineno() + 1,
            )

    def _lineno(self) -> int:
        code = getattr(self.spec.func, "__code__", None) or getattr(self.target, "__code__", None)
        return 0 if code is None else int(code.co_firstlineno) - 1

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        return self.path, self._lineno(), f"gradcheck {self.spec.qualname}"

    def repr_failure(  # type: ignore[override]
        self, excinfo: pytest.ExceptionInfo[BaseException]
    ) -> str | Any:
        exc = excinfo.value
        if _is_gradtest_error(exc):
            report = str(exc)
            if self.outcome is not None and self.outcome.error is exc:
                report = self.outcome.report
            report += _raised_in_your_code(exc)
            lineno = self._lineno() + 1
            rel = os.path.relpath(self.path, self.config.invocation_params.dir)
            where = f"{rel}:{lineno}: {type(exc).__name__} in @gradcheck {self.spec.qualname}"
            return FailureRepr(report, str(self.path), lineno, where)
        return _short_repr(excinfo)


class GradcheckModule(pytest.Collector):
    """An importable module named by ``gradcheck_modules``; its children are its checks."""

    def __init__(self, *, module_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.module_name = module_name

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        import importlib

        import gradtest

        module = importlib.import_module(self.module_name)
        items: list[pytest.Item | pytest.Collector] = []
        for spec in gradtest.registered_checks():
            target = (
                getattr(module, spec.qualname, None) if spec.module == module.__name__ else None
            )
            # the registry outlives reloads: keep only what the module defines now
            if getattr(target, "__gradtest__", None) is spec:
                items.append(GradcheckItem.from_parent(self, name=spec.qualname, target=target))
        return items

    def repr_failure(  # type: ignore[override]
        self, excinfo: pytest.ExceptionInfo[BaseException]
    ) -> str:
        hint = ""
        if isinstance(excinfo.value, ModuleNotFoundError):
            hint = (
                "\nIs the directory that holds it on sys.path? For a module of the project, "
                'set pythonpath = ["."] (or ["src"]) in [tool.pytest.ini_options].'
            )
        return (
            f"gradtest cannot import {self.module_name!r}, listed in --gradcheck-modules, "
            f"the ini option gradcheck_modules or [tool.gradtest] modules:\n"
            f"{_short_repr(excinfo)}{hint}"
        )


def _module_nodeid(config: pytest.Config, name: str) -> tuple[str, Path | None]:
    """``src/pkg/losses.py`` (relative to the rootdir) for module ``pkg.losses``, or the name."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except Exception:
        return name, None
    if spec is None or not spec.origin or not os.path.isfile(spec.origin):
        return name, None
    path = Path(spec.origin).resolve()
    try:
        return path.relative_to(config.rootpath).as_posix(), path
    except ValueError:
        return name, path


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Add the checks of ``gradcheck_modules`` (before ``-k``/``--lf`` select), skip when off."""
    settings = _state(config).settings
    present = {item.nodeid for item in items}
    added: list[pytest.Item] = []
    for name in settings.modules:
        nodeid, path = _module_nodeid(config, name)
        extra: dict[str, Any] = {} if path is None else {"path": path}
        collector = GradcheckModule.from_parent(
            session, name=name, nodeid=nodeid, module_name=name, **extra
        )
        config.hook.pytest_collectstart(collector=collector)
        report = config.hook.pytest_make_collect_report(collector=collector)
        config.hook.pytest_collectreport(report=report)
        if report.passed:
            added.extend(
                node
                for node in report.result
                if isinstance(node, pytest.Item) and node.nodeid not in present
            )
            present.update(node.nodeid for node in added)
    items[:0] = added
    if not settings.enabled:
        skip = pytest.mark.skip(reason=SKIP_REASON)
        for item in items:
            if item.get_closest_marker("gradcheck") is not None:
                item.add_marker(skip)


# --------------------------------------------------------------------------------------
# the fixture
# --------------------------------------------------------------------------------------


class GradcheckFixture:
    """The ``gradcheck`` fixture: :func:`gradtest.assert_grad` bound to the running test.

    The plugin's ``--gradcheck-rtol`` and ``--gradcheck-seed`` fill in ``rtol`` and
    ``seed`` when the call leaves them out; without ``--gradcheck-seed``, the calls of a
    test share one seed drawn for the test, so the ``reproduce with:`` line of a failure
    (``--gradcheck-seed=`` that seed) replays the whole test. Every check is listed in the
    summary table, the JSON report and the junitxml properties; a check that raises, as
    ``error``.
    """

    def __init__(self, item: pytest.Item) -> None:
        self._item = item
        #: the seed of the calls that leave ``seed`` out, drawn when the first one runs
        self._seed: int | None = None

    def __call__(
        self, fun: Callable[..., Any], grad: Any, x: Any, **options: Any
    ) -> GradCheckResult:
        """Check ``grad`` against ``fun`` at ``x`` like :func:`gradtest.assert_grad`.

        Examples
        --------
        A test using the fixture::

            def test_sine(gradcheck):
                result = gradcheck(lambda w: np.sin(w).sum(), np.cos, np.ones(3))
                assert result.passed
        """
        import gradtest

        return self._check(gradtest.assert_grad, fun, grad, x, options)

    def jacobian(
        self, fun: Callable[..., Any], jac: Any, x: Any, **options: Any
    ) -> GradCheckResult:
        """Check a Jacobian like :func:`gradtest.check_jacobian`, failing on a wrong one."""
        import gradtest

        def assert_jacobian(*args: Any, **kwargs: Any) -> GradCheckResult:
            result = gradtest.check_jacobian(*args, **kwargs)
            if result.verdict == "fail":
                raise gradtest.GradientError(str(result), result)
            return result

        return self._check(assert_jacobian, fun, jac, x, options)

    def _check(
        self,
        run: Callable[..., GradCheckResult],
        fun: Any,
        grad: Any,
        x: Any,
        options: dict[str, Any],
    ) -> GradCheckResult:

        import gradtest

        settings = _state(self._item.config).settings
        if options.get("rtol") is None and settings.rtol is not None:
            options["rtol"] = settings.rtol
        if options.get("seed") is None:
            if self._seed is None:
                # the range of the seeds gradtest draws itself
                self._seed = (
                    settings.seed if settings.seed is not None else secrets.randbelow(2**32)
                )
            options["seed"] = self._seed
        # the line passes the test's seed once a call has used it, so that it replays
        # every call of the test; a seed given in the call is in the test already
        reproduce = _reproduce_command(self._item, self._seed)
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                # an inconclusive check fails below, or warns once when accepted
                warnings.simplefilter("ignore", gradtest.InconclusiveWarning)
                result = run(fun, grad, x, **options)
        except Exception as err:
            # a wrong gradient, or the user's mistake (a transposed gradient, a loss that
            # raises): counted as "fail" or "error"; shown by pytest_runtest_makereport
            elapsed = time.perf_counter() - t0
            failed = getattr(err, "result", None)
            if isinstance(err, gradtest.GradientError) and isinstance(
                failed, gradtest.GradCheckResult
            ):
                self._keep(failed, elapsed, reproduce)
            else:
                name = str(
                    options.get("name") or getattr(fun, "__name__", None) or type(fun).__name__
                )
                record = _records().record_from_exception(
                    name, self._check_id(name), err, source="fixture", elapsed=elapsed,
                    reproduce=reproduce,
                )  # fmt: skip
                record["seed"] = options["seed"]
                _record(self._item, record, None)
            if isinstance(err, gradtest.GradtestError):
                err.gradtest_reproduce = reproduce  # type: ignore[attr-defined]
            raise
        self._keep(result, time.perf_counter() - t0, reproduce)
        if result.verdict == "inconclusive":
            if not settings.accept_inconclusive:
                error = gradtest.InconclusiveGradcheckError(
                    f"{result}\n\nAn inconclusive check verified nothing, so it fails; the "
                    "setting accept_inconclusive (--gradcheck-accept-inconclusive) counts "
                    "it as passed."
                )
                error.gradtest_reproduce = reproduce  # type: ignore[attr-defined]
                raise error
            warnings.warn(gradtest.InconclusiveWarning(str(result).splitlines()[0]), stacklevel=3)
        return result

    def _check_id(self, name: str) -> str:
        """``<node id>::<name>``, numbered ``#2``, ``#3``, ... when the test repeats it."""
        taken = {r["id"] for r in self._item.stash.get(_ITEM_RECORDS, [])}
        check_id = f"{self._item.nodeid}::{name}"
        n = 2
        while check_id in taken:
            check_id, n = f"{self._item.nodeid}::{name}#{n}", n + 1
        return check_id

    def _keep(self, result: GradCheckResult, elapsed: float, reproduce: str) -> None:
        record = _records().record_from_result(
            result, self._check_id(result.name), source="fixture", elapsed=elapsed
        )
        if result.verdict != "pass":
            record["reproduce"] = reproduce
        if result.verdict == "inconclusive":
            record["accepted"] = _state(self._item.config).settings.accept_inconclusive
        _record(self._item, record, result)


@pytest.fixture
def gradcheck(request: pytest.FixtureRequest) -> GradcheckFixture:
    """Check a gradient inside a test: ``gradcheck(fun, grad, x, **assert_grad_options)``."""
    return GradcheckFixture(request.node)


# --------------------------------------------------------------------------------------
# reporting: per-test records, failures, junitxml, the summary table and the JSON report
# --------------------------------------------------------------------------------------


def _record(item: pytest.Item, record: dict[str, Any], result: GradCheckResult | None) -> None:
    """Keep ``record`` for the item's report; plot a failure; set the junitxml property."""
    settings = _state(item.config).settings
    if settings.plots is not None and record["verdict"] == "fail" and result is not None:
        try:
            plot = _records().plot_failure(result, settings.plots, record["id"])
        except Exception as err:  # a broken plot must not hide the report
            item.add_report_section("call", "gradtest", f"plot failed: {type(err).__name__}: {err}")
        else:
            if plot is None:
                item.add_report_section("call", "gradtest", _records().no_plot_reason(result))
            else:
                record["plot"] = str(plot)
    item.stash.setdefault(_ITEM_RECORDS, []).append(record)
    item.user_properties.append((PROPERTY, record["max_rel_error"]))
    item.user_properties.append(("gradcheck_verdict", record["verdict"]))


def _reproduce_command(item: pytest.Item, seed: int | None) -> str:
    """``pytest --gradcheck --gradcheck-seed=N ... path::test``, to paste where pytest ran.

    The node id's path is made relative to the directory pytest was run from (node ids
    are relative to the rootdir, pytest's arguments to the working directory).
    """
    settings = _state(item.config).settings
    chosen = "" if seed is None else f" --gradcheck-seed={seed}"
    # (by hand: Config.cwd_relative_nodeid takes a str in pytest 9.0 and a NodeId in 9.2)
    path, sep, rest = item.nodeid.partition("::")
    full = item.config.rootpath / path
    rel = Path(os.path.relpath(full, item.config.invocation_params.dir)).as_posix()
    nodeid = rel + sep + rest
    return f"pytest --gradcheck{chosen}{settings.replay_options()} {shlex.quote(nodeid)}"


def _is_gradient_error(exc: BaseException) -> bool:
    gradtest = sys.modules.get("gradtest")
    return gradtest is not None and isinstance(exc, gradtest.GradientError)


def _is_gradtest_error(exc: BaseException) -> bool:
    gradtest = sys.modules.get("gradtest")
    return gradtest is not None and isinstance(exc, gradtest.GradtestError)


def _user_traceback(err: BaseException) -> str:
    """``err`` with its traceback cut to the frames outside gradtest and hypothesis."""
    frames = [
        f
        for f in traceback.extract_tb(err.__traceback__)
        if not _is_internal(f.filename) and f"{os.sep}hypothesis{os.sep}" not in f.filename
    ]
    lines = traceback.format_list(frames) + traceback.format_exception_only(type(err), err)
    return "".join(lines).rstrip()


def _raised_in_your_code(exc: BaseException) -> str:
    """The user's exception that caused ``exc``, with the user's frames only (or nothing)."""
    cause = exc.__cause__
    if (
        isinstance(cause, Exception)
        and not _is_gradtest_error(cause)
        and not type(cause).__module__.startswith("hypothesis")
    ):
        return "\n\nraised in your code:\n" + _user_traceback(cause)
    return ""


def _is_internal(path: os.PathLike[str] | str) -> bool:
    """Whether ``path`` is this plugin or part of the ``gradtest`` package."""
    p = Path(path).resolve()
    if p == Path(__file__).resolve():
        return True
    origin = getattr(sys.modules.get("gradtest"), "__file__", None)
    return origin is not None and Path(origin).resolve().parent in p.parents


def _short_repr(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    """The exception with gradtest's own frames left out of its traceback."""
    kept = excinfo.traceback.filter(lambda entry: not _is_internal(entry.path))
    if len(kept):
        excinfo.traceback = kept
    return str(excinfo.getrepr(style="short", chain=True))


class _Crash:
    """The one-line location and message pytest's short summary and junitxml read."""

    def __init__(self, path: str, lineno: int, message: str) -> None:
        self.path, self.lineno, self.message = path, lineno, message


class FailureRepr:
    """A failure shown as the gradtest report (duck-types pytest's ``TerminalRepr``).

    The report comes first, the location last (as in pytest's own tracebacks), so the
    first line, the verdict, is what the short summary and junitxml show.
    """

    def __init__(self, report: str, path: str, lineno: int, where: str) -> None:
        self.report = report
        self.where = where
        self.reprcrash = _Crash(path, lineno, report.splitlines()[0] if report else "")

    def toterminal(self, tw: Any) -> None:
        for i, line in enumerate(self.report.splitlines()):
            tw.line(line, red=i == 0, bold=i == 0)
        tw.line("")
        tw.line(self.where)

    def __str__(self) -> str:
        return f"{self.report}\n\n{self.where}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.when != "call":
        return report
    records = item.stash.get(_ITEM_RECORDS, [])
    if records:
        setattr(report, REPORT_ATTR, list(records))
    if records and report.passed:
        lines = [f"{r['verdict'].upper():<12} {r['id']}" for r in records]
        report.sections.append(("gradtest", "\n".join(lines)))
    exc = None if call.excinfo is None else call.excinfo.value
    if exc is None or isinstance(item, GradcheckItem):
        return report
    # the fixture's checks: their errors carry the line that replays them
    command = getattr(exc, "gradtest_reproduce", None)
    if (_is_gradtest_error(exc) and command is not None) or _is_gradient_error(exc):
        assert call.excinfo is not None
        text = str(exc) if command is None else f"{exc}\n\nreproduce with: {command}"
        text += _raised_in_your_code(exc)
        # the user's line that called gradtest: the last frame before gradtest's own
        caller = None
        for entry in call.excinfo.traceback:
            if _is_internal(entry.path):
                break
            caller = entry
        name = type(exc).__name__
        path, lineno, where = str(item.path), 0, f"{item.nodeid}: {name}"
        if caller is not None:
            path, lineno = str(caller.path), caller.lineno + 1
            rel = os.path.relpath(path, item.config.invocation_params.dir)
            where = f"{rel}:{lineno}: {name} in: {str(caller.statement).strip()}"
        report.longrepr = FailureRepr(text, path, lineno, where)  # type: ignore[assignment]
    return report


class _Gatherer:
    """Gathers the records from the test reports (on the controller under xdist)."""

    def __init__(self, state: State) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.state.records.extend(getattr(report, REPORT_ATTR, None) or [])


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    state = _state(config)
    if _is_worker(config) or state.settings.report is None:
        return
    from importlib.metadata import version

    records = _records()
    document = records.report_document(
        state.records, state.settings.describe(), tool="pytest", version=version("gradtest")
    )
    try:
        records.write_report(state.settings.report, document)
    except OSError as err:
        state.report_error = str(err)
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = _state(config)
    if _is_worker(config):
        return
    if state.report_error is not None:  # (the exit status says it too)
        terminalreporter.write_sep("=", f"gradtest: error: {state.report_error}", red=True)
    if not state.records:
        if state.settings.enabled:
            terminalreporter.write_sep("=", "gradtest: no gradient checks collected")
        return
    records = _records()
    terminalreporter.write_sep("=", f"gradtest: {records.counts_line(state.records)}")
    for line in records.summary_table(state.records):
        terminalreporter.write_line(line)
    plots = [r["plot"] for r in state.records if r["plot"]]
    if plots:
        terminalreporter.write_line(f"step-sweep plots of failing checks: {state.settings.plots}")
    if state.settings.report is not None and state.report_error is None:
        terminalreporter.write_line(f"gradtest JSON report: {state.settings.report}")
