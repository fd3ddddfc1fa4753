"""The test suite itself: an import failure of gradtest must fail, not skip, the tests."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_no_test_skips_when_gradtest_cannot_be_imported() -> None:
    offenders = [
        str(path.relative_to(TESTS))
        for path in TESTS.rglob("*.py")
        if 'importorskip("gradtest")' in path.read_text(encoding="utf-8")
        and path != Path(__file__).resolve()
    ]
    assert offenders == []
