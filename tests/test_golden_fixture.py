"""The golden-file fixture itself: a missing golden file fails (naming the file and
``--overwrite``) unless the suite runs in update mode, which writes it; a differing one fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import check_golden

CONFTEST = Path(__file__).with_name("conftest.py")


def test_missing_golden_fails_naming_the_file_and_the_option(tmp_path: Path) -> None:
    path = tmp_path / "golden" / "summary" / "net.md"
    with pytest.raises(pytest.fail.Exception) as failure:
        check_golden(path, "| table |\n", overwrite=False)
    assert str(path) in str(failure.value) and "--overwrite" in str(failure.value)
    assert not path.exists() and not path.parent.exists()


def test_overwrite_creates_a_missing_golden_and_then_it_passes(tmp_path: Path) -> None:
    path = tmp_path / "golden" / "summary" / "net.md"
    check_golden(path, "| table |\n", overwrite=True)
    assert path.read_text(encoding="utf-8") == "| table |\n"
    check_golden(path, "| table |\n", overwrite=False)


def test_a_differing_golden_fails_and_overwrite_replaces_it(tmp_path: Path) -> None:
    path = tmp_path / "net.csv"
    path.write_text("old\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="net.csv differs from its golden file"):
        check_golden(path, "new\n", overwrite=False)
    assert path.read_text(encoding="utf-8") == "old\n"
    check_golden(path, "new\n", overwrite=True)
    assert path.read_text(encoding="utf-8") == "new\n"


def test_the_fixture_fails_without_overwrite_and_creates_with_it(pytester: pytest.Pytester) -> None:
    """End to end through pytest: the project's conftest in a fresh directory, whose golden/
    folder starts empty."""
    pytester.makeconftest(CONFTEST.read_text(encoding="utf-8"))
    pytester.makepyfile(test_uses_golden="""
        def test_output(golden):
            golden("out/net.txt", "hello\\n")
    """)
    missing = pytester.runpytest("-p", "no:cacheprovider")
    missing.assert_outcomes(failed=1)
    missing.stdout.fnmatch_lines(["*golden file *out/net.txt is missing*pytest --overwrite*"])
    assert not (pytester.path / "golden").exists()
    pytester.runpytest("-p", "no:cacheprovider", "--overwrite").assert_outcomes(passed=1)
    assert (pytester.path / "golden" / "out" / "net.txt").read_text(encoding="utf-8") == "hello\n"
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
