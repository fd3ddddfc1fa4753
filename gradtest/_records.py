"""Check records: the unit of the summary table and of the versioned JSON report.

The pytest plugin and the ``gradtest`` command both turn every check into one record (a
JSON-ready dict), print the same summary table and write the same JSON document. The
fields of a record:

==============  =========================================================================
``id``          the check: a pytest node id, or ``path::name`` for the command
``name``        the loss function's name
``source``      ``"decorator"``, ``"fixture"`` or ``"cli"``
``verdict``     ``"pass"``, ``"fail"``, ``"inconclusive"`` or ``"error"``
``accepted``    ``true`` for an inconclusive check counted as passed (``accept_inconclusive``)
``max_rel_error``, ``worst``, ``method``, ``diagnosis``  from the core result
``summary``     one line: why it failed, why it was inconclusive, what raised
``notes``       the core's notes (precision of ``fun``, ...)
``n_evals``     calls of the loss over all inputs of the check
``n_examples``  inputs judged; ``n_rejected``: inputs rejected as inconclusive
``example``     the shrunk failing input, as Python lines (``W = np.array(...)``)
``reproduce``   the command that replays the check with its seed
``seed``, ``elapsed``, ``error``, ``plot``
==============  =========================================================================

Only the standard library is imported at module level.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "REPORT_SCHEMA",
    "VERDICT_ORDER",
    "count_verdicts",
    "counts_line",
    "no_plot_reason",
    "output_path_problem",
    "plot_failure",
    "record_from_exception",
    "record_from_outcome",
    "record_from_result",
    "report_document",
    "summary_table",
    "write_report",
]

#: version of the JSON report; 2 added accepted, summary, notes, n_evals over all inputs,
#: example and reproduce
REPORT_SCHEMA = 2
#: the settings a report records: those that change what a check draws or how it judges
#: (the same keys, whichever entry point wrote the report)
REPORT_SETTINGS = ("rtol", "max_examples", "mode", "seed", "accept_inconclusive")
#: verdicts in the order the summary table lists them
VERDICT_ORDER = ("fail", "error", "inconclusive", "pass")


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None`` (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _result_fields(result: Any) -> dict[str, Any]:
    """The fields taken from a core ``GradCheckResult`` (all ``None`` without one)."""
    if result is None:
        return {"max_rel_error": None, "worst": None, "method": None, "diagnosis": None}
    data = result.to_dict()
    return {
        "max_rel_error": result.max_rel_error,
        "worst": data["worst"],
        "method": result.method,
        "diagnosis": data["diagnosis"],
    }


def _notes(result: Any) -> list[str]:
    diagnosis = getattr(result, "diagnosis", None)
    return [str(n) for n in getattr(diagnosis, "notes", ()) or ()]


def _base(check_id: str, name: str, source: str) -> dict[str, Any]:
    return {
        "id": check_id,
        "name": name,
        "source": source,
        "verdict": "error",
        "accepted": False,
        "max_rel_error": None,
        "worst": None,
        "method": None,
        "diagnosis": None,
        "summary": "",
        "notes": [],
        "n_evals": None,
        "n_examples": 0,
        "n_rejected": 0,
        "example": None,
        "reproduce": None,
        "seed": None,
        "elapsed": 0.0,
        "error": None,
        "plot": None,
    }


def record_from_outcome(
    outcome: Any, check_id: str, *, source: str, reproduce: str | None = None
) -> dict[str, Any]:
    """The record of a :func:`gradtest.run_gradcheck` outcome."""
    record = _base(check_id, outcome.name, source)
    lines = outcome.report.splitlines()
    if outcome.verdict == "fail" and outcome.result is not None:
        lines = str(outcome.result).splitlines()  # the verdict line of the failing input
    record.update(
        verdict=outcome.verdict,
        accepted=bool(getattr(outcome, "accepted", False)),
        **_result_fields(outcome.result),
        summary=lines[0] if lines else "",
        notes=list(getattr(outcome, "notes", ()) or _notes(outcome.result)),
        n_evals=getattr(outcome, "n_evals", None),
        n_examples=outcome.n_examples,
        n_rejected=outcome.n_rejected,
        example=getattr(outcome, "example_text", None),
        reproduce=reproduce if outcome.verdict != "pass" else None,
        seed=outcome.seed,
        elapsed=outcome.elapsed,
        error=None if outcome.error is None else str(outcome.error).splitlines()[0],
    )
    return _finite(record)  # type: ignore[no-any-return]


def record_from_result(
    result: Any, check_id: str, *, source: str, elapsed: float
) -> dict[str, Any]:
    """The record of a core ``GradCheckResult`` (the pytest fixture)."""
    record = _base(check_id, result.name, source)
    record.update(
        verdict=result.verdict,
        **_result_fields(result),
        summary=str(result).splitlines()[0],
        notes=_notes(result),
        n_evals=result.n_evals,
        n_examples=1,
        seed=result.seed,
        elapsed=elapsed,
    )
    return _finite(record)  # type: ignore[no-any-return]


def record_from_exception(
    name: str,
    check_id: str,
    err: BaseException,
    *,
    source: str,
    elapsed: float,
    reproduce: str | None = None,
) -> dict[str, Any]:
    """The record of a check that raised instead of reaching a verdict (verdict ``error``).

    The message of a gradtest error made by the decorator ends with the input that
    raised; it is kept as ``example``.
    """
    record = _base(check_id, name, source)
    text = f"{type(err).__name__}: {err}"
    example = getattr(err, "gradtest_example", None)
    record.update(
        summary=text.splitlines()[0],
        error=text.splitlines()[0],
        example=example,
        reproduce=reproduce,
        seed=getattr(err, "gradtest_seed", None),
        elapsed=elapsed,
    )
    return record


def _verdict_rank(record: dict[str, Any]) -> int:
    verdict = record["verdict"]
    return VERDICT_ORDER.index(verdict) if verdict in VERDICT_ORDER else 0


def count_verdicts(records: Sequence[dict[str, Any]]) -> dict[str, int]:
    """``{"total": n, "fail": ..., "error": ..., "inconclusive": ..., "pass": ...}``."""
    counts = {"total": len(records)} | {v: 0 for v in VERDICT_ORDER}
    for record in records:
        counts[record["verdict"]] = counts.get(record["verdict"], 0) + 1
    return counts


def is_failure(record: dict[str, Any]) -> bool:
    """Whether the record makes the run fail: fail, error, or an unaccepted inconclusive."""
    verdict = record["verdict"]
    return verdict in ("fail", "error") or (verdict == "inconclusive" and not record["accepted"])


def report_document(
    records: Sequence[dict[str, Any]], settings: dict[str, Any], *, tool: str, version: str
) -> dict[str, Any]:
    """The versioned JSON report: settings, verdict counts and one record per check.

    ``settings`` holds the :data:`REPORT_SETTINGS` (others, such as where the report
    goes, are left out), ``accept_inconclusive`` as a bool, so that the report of the
    pytest plugin and that of the command have the same fields.
    """
    shown = {key: settings.get(key) for key in REPORT_SETTINGS}
    shown["accept_inconclusive"] = bool(shown["accept_inconclusive"])
    return {
        "schema": REPORT_SCHEMA,
        "tool": tool,
        "gradtest_version": version,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "settings": _finite(shown),
        "summary": count_verdicts(records),
        "checks": sorted(records, key=lambda r: (_verdict_rank(r), r["id"])),
    }


def _blocked(directory: Path) -> str | None:
    """Why files cannot be written in ``directory`` (made with its parents if missing)."""
    existing = directory
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        return f"{existing} is a file, not a directory"
    if existing.exists() and not os.access(existing, os.W_OK | os.X_OK):
        return f"the directory {existing} is not writable"
    return None


def output_path_problem(path: Path, *, kind: str) -> str | None:
    """What is wrong with ``path`` as where to write, or ``None`` when it will do.

    ``kind`` is ``"report"`` (a JSON file: it must end in ``.json``) or ``"plots"`` (a
    directory, made if missing). Checked before any check runs, so that a typo does not
    cost a whole run; the message reads after the option's name
    (``--report out/r.md: expected ...``).
    """
    if kind == "plots":
        if path.exists() and not path.is_dir():
            return f"expected a directory for the PNG plots, got the file {path}"
        blocked = _blocked(path)
        return None if blocked is None else f"cannot write the PNG plots into {path}: {blocked}"
    if path.is_dir():
        return f"expected a file name ending in .json, got the directory {path}"
    if path.suffix.lower() != ".json":
        got = f"the extension {path.suffix!r}" if path.suffix else "no extension"
        return (
            f"expected a file name ending in .json (the report is a JSON document), got "
            f"{got} in {path}"
        )
    if path.exists() and not os.access(path, os.W_OK):
        return f"cannot write the JSON report to {path}: the file is not writable"
    blocked = _blocked(path.parent)
    return None if blocked is None else f"cannot write the JSON report to {path}: {blocked}"


def write_report(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` as JSON to ``path`` (atomically: readers never see half a file).

    Raises
    ------
    OSError
        ``path`` cannot be written; its message names ``path`` and the reason. No
        temporary file is left behind.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        reason = err.strerror or str(err)
        raise OSError(f"cannot write the JSON report to {path}: {reason}") from err


def _fmt_error(value: float | None) -> str:
    return "-" if value is None else f"{value:.1e}"


def _fmt_count(value: int | None) -> str:
    return "-" if value is None else str(value)


def summary_table(records: Sequence[dict[str, Any]]) -> list[str]:
    """The summary table, failures first.

    Columns: check, verdict, largest relative error, calls of the loss over the whole
    check, inputs judged, inputs rejected as inconclusive, time. Below a row, the reason
    of a verdict other than pass and the core's notes.
    """
    rows = sorted(records, key=lambda r: (_verdict_rank(r), r["id"]))
    width = max([len(r["id"]) for r in rows] + [5])
    lines = [
        f"{'check':<{width}}  {'verdict':<12}  {'max rel.err':>11}  {'evals':>7}  "
        f"{'judged':>6}  {'rejected':>8}  {'time':>7}"
    ]
    for r in rows:
        verdict = r["verdict"] + (" (ok)" if r.get("accepted") else "")
        lines.append(
            f"{r['id']:<{width}}  {verdict:<12}  {_fmt_error(r['max_rel_error']):>11}  "
            f"{_fmt_count(r['n_evals']):>7}  {r['n_examples']:>6}  {r['n_rejected']:>8}  "
            f"{r['elapsed']:6.2f}s"
        )
        if r["verdict"] != "pass" and r.get("summary"):
            lines.append(f"  {r['summary']}")
        lines.extend(f"  note: {note}" for note in r.get("notes") or ())
    return lines


def counts_line(records: Sequence[dict[str, Any]]) -> str:
    """``"1 fail, 2 pass"`` (non-zero verdicts only, failures first)."""
    counts = count_verdicts(records)
    parts = [f"{counts[v]} {v}" for v in VERDICT_ORDER if counts[v]]
    return ", ".join(parts) if parts else "no checks"


def plot_path(directory: Path, check_id: str) -> Path:
    """``directory / "<check id with unsafe characters replaced>.png"``."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", check_id).strip("_") or "check"
    return directory / f"{stem}.png"


def plot_failure(result: Any, directory: Path, check_id: str) -> Path | None:
    """Plot the step sweeps of a failing check into ``directory``; return the file.

    ``None`` when the result holds no step sweep to plot (a check by random directions
    sweeps no entry: ``mode="full"`` does); :func:`no_plot_reason` says so.
    """
    from gradtest.plot import plot_step_sweep

    sweeps = getattr(getattr(result, "diagnosis", None), "sweeps", ())
    if not any(s.steps for s in sweeps):
        return None
    directory.mkdir(parents=True, exist_ok=True)
    path = plot_path(directory, check_id)
    plot_step_sweep(result, path)
    return path


def no_plot_reason(result: Any) -> str:
    """Why a failing check has no step-sweep plot (``plot_failure`` returned ``None``)."""
    return (
        f"no step-sweep plot: the failing check swept no entry (it ran mode={result.mode}: "
        "random directions, not entries); mode full sweeps the worst entries"
    )
