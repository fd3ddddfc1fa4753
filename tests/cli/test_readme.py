"""The README's configuration table is the table the code reads."""

from __future__ import annotations

from pathlib import Path

from gradtest._config import OPTIONS

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- configuration table: generated from gradtest/_config.py"


def readme_table() -> list[str]:
    lines = README.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(MARKER)) + 1
    end = lines.index("", start)
    return lines[start:end]


def rendered_table() -> list[str]:
    rows = ["| setting | value | default | meaning |", "|---|---|---|---|"]
    for option in OPTIONS:
        value = "true/false" if option.is_flag else option.metavar
        scope = "" if option.command else "(pytest only) "
        rows.append(f"| `{option.name}` | {value} | {option.default} | {scope}{option.help} |")
    return rows


def test_the_readme_lists_every_setting_as_the_code_defines_it() -> None:
    assert readme_table() == rendered_table()


def test_ci_runs_the_readme_test_command_exactly() -> None:
    text = README.read_text(encoding="utf-8")
    command = next(
        line for line in text.splitlines() if line.startswith('pip install -e ".[test]"')
    )
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command in ci
    assert "-n auto" in command and '-m "not slow"' in command and "-m slow" in command
