"""Every console example of the docs runs, and prints what its page says: the README, the
contributor's guide and every page of the site (the convention: tests/docs_examples.py and
CONTRIBUTING.md, "Docs").  ``pytest --overwrite tests/test_docs_examples.py`` rewrites the
examples that differ from the real output; review the diff as you would a golden file's."""

from __future__ import annotations

import difflib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import pytest

from tests.docs_examples import (ROOT, Block, blocks, console_blocks, documents, in_process,
                                 matches, normalised, refreshed)

LIMIT = 120  # seconds per command: an example that hangs fails, it does not stall the suite
TORCH = {"verify", "import", "bench"}  # the commands that need the torch extra


def _needs_torch(block: Block) -> bool:
    for example in block.examples():
        argv = in_process(example.command) or example.command.split()[1:]
        if argv and (argv[0] in TORCH or "--module" in argv or "--effective" in argv):
            return True
    return False


def _param(doc: Path) -> object:
    torch = any(_needs_torch(b) for b in console_blocks(doc) if b.skip is None)
    return pytest.param(doc, id=doc.relative_to(ROOT).as_posix(),
                        marks=[pytest.mark.torch] if torch else [])


@contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"a docs example ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run(command: str, cli: Callable) -> str:
    """What a terminal shows for ``command`` in the repository root: a plain ``cnnstat`` command
    in-process (stdout and stderr in the order written), anything else through bash."""
    argv = in_process(command)
    if argv is not None:
        with _time_limit(LIMIT):
            return str(cli(*argv).output)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=LIMIT, check=False)
    return done.stdout


@pytest.mark.parametrize("doc", [_param(d) for d in documents()])
def test_console_examples_print_what_the_page_says(doc: Path, cli: Callable,
                                                   request: pytest.FixtureRequest,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    overwrite = bool(request.config.getoption("--overwrite"))
    lines = doc.read_text("utf-8").splitlines()
    failures = []
    for block in reversed(console_blocks(doc)):  # from the end: a rewrite keeps earlier indexes
        if block.skip is not None:
            continue
        body: list[str] = []
        for example in block.examples():
            actual = normalised(run(example.command, cli))
            shown = example.expected
            if not matches(example.expected, actual):
                if overwrite:
                    shown = refreshed(example.expected, actual)
                else:
                    diff = difflib.unified_diff(normalised("\n".join(example.expected)), actual,
                                                "the page", "the real output", lineterm="", n=2)
                    failures.append(f"{doc.relative_to(ROOT)}:{example.line}: $ "
                                    f"{example.command}\n" + "\n".join(diff))
            body += [f"$ {example.command}", *shown]
        lines[block.start:block.end] = [block.indent + ln if ln else ln for ln in body]
    if overwrite:
        doc.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert not failures, ("the docs differ from the program (pytest --overwrite "
                          "tests/test_docs_examples.py rewrites them):\n\n" + "\n\n".join(failures))


def test_the_examples_are_found() -> None:
    """The parser finds the examples (a change of convention cannot make the test vacuous)."""
    found = {doc.name: [e for b in console_blocks(doc) if b.skip is None for e in b.examples()]
             for doc in documents()}
    assert len(found["README.md"]) >= 7
    assert sum(map(len, found.values())) >= 15
    assert all(e.expected for examples in found.values() for e in examples)


def test_every_skipped_block_says_why() -> None:
    for doc in documents():
        for block in console_blocks(doc):
            assert block.skip is None or len(block.skip.split()) >= 3, \
                f"{doc.name}:{block.start}: a skipped block says why, in words"


def test_a_command_shown_with_its_prompt_is_an_example() -> None:
    """``$ cnnstat ...`` only in console blocks: a command with its output elsewhere would be
    an example nobody runs."""
    for doc in documents():
        for block in blocks(doc.read_text("utf-8")):
            if block.language != "console":
                prompts = [ln for ln in block.body if ln.lstrip().startswith("$ ")]
                assert not prompts, f"{doc.name}:{block.start}: {prompts[0]} in a " \
                                    f"'{block.language}' block: make it a console example"


@pytest.mark.parametrize(("expected", "actual", "ok"), [
    (["a", "b"], ["a", "b"], True),
    (["a", "b  "], ["a", "b", ""], True),  # trailing whitespace and blank lines at the end
    (["a"], ["a", "b"], False),
    (["a", "..."], ["a", "b", "c"], True),
    (["a", "...", "c"], ["a", "c"], True),  # '...' stands for no line too
    (["...", "| x |", "| ... |"], ["| h |", "| x |", "| y |"], True),
    (["a", "...", "c"], ["a", "b", "d"], False),
    (["a b"], ["a  b"], False),  # only trailing whitespace is normalised
])
def test_the_matcher(expected: list[str], actual: list[str], ok: bool) -> None:
    assert matches(expected, normalised("\n".join(actual))) is ok


def test_a_refresh_keeps_the_elided_shape() -> None:
    actual = ["title", "| name | n |", "| a | 1 |", "| b | 2 |", "| c | 3 |", "total 6"]
    assert refreshed(["old title", "...", "| b | 9 |", "...", "total 5"], actual) == \
        ["title", "...", "| b | 2 |", "...", "total 6"]
    assert refreshed(["x", "y"], actual) == actual
    with pytest.raises(ValueError, match="edit the example by hand"):
        refreshed(["...", "| zz | 1 |", "..."], actual)


def test_a_plain_command_runs_in_process_anything_else_in_a_shell() -> None:
    assert in_process("cnnstat summary vgg16 --format json   # a comment") == \
        ["summary", "vgg16", "--format", "json"]
    assert in_process("cnnstat explain conv --arg 'size=[6, 4]'") == \
        ["explain", "conv", "--arg", "size=[6, 4]"]
    assert in_process("cnnstat summary vgg16 | head -1") is None
    assert in_process("cnnstat graph r -o - > r.dot") is None
    assert in_process("python -c 'print(1)'") is None
