"""The benchmark commands the documentation cites exist and take the flags it names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMAND = re.compile(r"python (benchmarks/[\w]+\.py)([^`#\n]*)")
NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5}


def _commands() -> list[tuple[str, str, str]]:
    found = []
    for doc in DOCS:
        for match in COMMAND.finditer(doc.read_text(encoding="utf-8")):
            found.append((doc.name, match.group(1), match.group(2)))
    return found


def _flags(script: Path) -> set[str]:
    """The options the script's argparse parser defines (read, not run: some import torch)."""
    return set(re.findall(r"add_argument\(\s*\"(--[\w-]+)\"", script.read_text(encoding="utf-8")))


def _parts() -> list[str]:
    source = (ROOT / "benchmarks" / "bench_scale.py").read_text(encoding="utf-8")
    match = re.search(r"\"--parts\",\s*default=\"([\w,-]+)\"", source)
    assert match, "bench_scale.py no longer defines --parts with a default"
    return match.group(1).split(",")


def test_the_documents_cite_benchmark_commands() -> None:
    assert len(_commands()) > 20


@pytest.mark.parametrize(("doc", "script", "args"), _commands())
def test_a_cited_benchmark_command_exists_with_its_flags(doc: str, script: str, args: str) -> None:
    path = ROOT / script
    assert path.is_file(), f"{doc} cites {script}, which does not exist"
    flags = _flags(path)
    for flag in re.findall(r"(?<![\w-])--[\w-]+", args):
        assert flag in flags, f"{doc}: {script} has no option {flag} (it has {sorted(flags)})"
    parts = re.search(r"--parts[ =]([\w,-]+)", args)
    if script.endswith("bench_scale.py") and parts:
        unknown = set(parts.group(1).split(",")) - set(_parts())
        assert not unknown, f"{doc}: bench_scale.py has no parts {sorted(unknown)}"


def test_the_count_of_bench_scales_default_parts_is_the_documented_one() -> None:
    text = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    text = " ".join(text.split())
    claims = re.findall(r"runs all (\w+)(?: parts)? by default|with no `--parts` the script "
                        r"runs all (\w+) parts", text)  # fmt: skip
    assert claims, "benchmarks.md no longer says what bench_scale.py runs by default"
    for claim in claims:
        word = next(w for w in claim if w)
        assert NUMBERS.get(word) == len(_parts()), (
            f"benchmarks.md says bench_scale.py runs all {word} parts; its default is {_parts()}"
        )


# -- the README's Python examples run as written and print what their comments say ----------


def _python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def _block(starting: str) -> str:
    (block,) = [b for b in _python_blocks() if starting in b]
    return block


def _run_block(block: str, capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, object], str]:
    namespace: dict[str, object] = {"__name__": "readme"}
    exec(compile(block, "README.md", "exec"), namespace)
    return namespace, capsys.readouterr().out


def test_the_readme_first_example_prints_what_its_comments_say(
    capsys: pytest.CaptureFixture[str],
) -> None:
    block = _block("result = gradtest.check_grad(loss")
    _, out = _run_block(block, capsys)
    lines = out.splitlines()
    comments = re.findall(r"print\(result\.\w+(?:\.\w+)?\)\s+# '(.*)'", block)
    assert comments and lines[: len(comments)] == comments
    assert lines[len(comments)].startswith("FAIL loss wrt x: max relative error 2.0e+00")


def test_the_readme_descent_example_prints_what_its_comments_say(
    capsys: pytest.CaptureFixture[str],
) -> None:
    block = _block("result = check_descent(loss")
    _, out = _run_block(block, capsys)
    shown = [line.strip() for line in out.splitlines()]
    comments = [c.strip() for c in re.findall(r"^# (.*)$", block, flags=re.MULTILINE)]
    comments = [c for c in comments if c != "..."]
    assert len(comments) >= 5
    for comment in comments:
        assert comment in shown, f"the README shows {comment!r}, the example prints:\n{out}"


def test_the_readme_strategies_and_decorator_examples_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import gradtest

    _run_block(_block("W = gs.weights((D, C), corners=False)"), capsys)
    decorated = _block("def test_svm_loss(W, X, y, reg):")
    namespace, _ = _run_block(decorated, capsys)
    assert gradtest.run_gradcheck(namespace["test_svm_loss"], max_examples=20, seed=0).passed
    # "Forget the / n in dW and the test fails"
    forgotten = decorated.replace("dW = X.T @ coeff / n", "dW = X.T @ coeff")
    assert forgotten != decorated
    namespace, _ = _run_block(forgotten, capsys)
    outcome = gradtest.run_gradcheck(namespace["test_svm_loss"], seed=0)
    assert outcome.verdict == "fail"
    assert "FAIL test_svm_loss wrt W: max relative error" in outcome.report
