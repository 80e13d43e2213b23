"""The console examples of the docs (CONTRIBUTING.md, "Docs"): found, matched and refreshed.

An example is a line ``$ COMMAND`` inside a fenced ``console`` block, followed by the output it
prints, up to the next ``$`` line or the closing fence.  The output is what a terminal shows
(stdout and stderr as they were written) and is compared exactly, but for trailing whitespace
on each line and blank lines at the end; a line that is just ``...`` (or ``| ... |`` in a
Markdown table) stands for any number of lines, none included.  An HTML comment on the line
before the fence, ``<!-- console: skip: REASON -->``, keeps a block from running (a GPU, a
timing, a file the reader has and the repository does not); the reason is required.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ELLIPSIS = ("...", "| ... |")
_FENCE = re.compile(r"^(\s*)(`{3,})\s*([\w+-]*)\s*$")
_SKIP = re.compile(r"^<!-- console: skip: (?P<reason>.*?) -->$")
_SHELL = set("|&;<>()`$")


def documents() -> list[Path]:
    """Every page a reader sees: the README, the contributor's guide and the site's pages."""
    return [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclass
class Example:
    line: int  # 1-based line of the '$' line in its document
    command: str
    expected: list[str]


@dataclass
class Block:
    """A fenced block of a document: its language, where its body starts and ends (0-based
    line indexes, the fences excluded), the skip reason on the line before it."""

    language: str
    start: int
    end: int
    indent: str
    skip: str | None
    body: list[str] = field(default_factory=list)

    def examples(self) -> list[Example]:
        if self.body and not self.body[0].startswith("$ "):
            raise ValueError(f"line {self.start + 1}: a console block starts with '$ COMMAND'")
        out: list[Example] = []
        for i, text in enumerate(self.body):
            if text.startswith("$ "):
                out.append(Example(self.start + i + 1, text[2:].strip(), []))
            else:
                out[-1].expected.append(text)
        return out


def blocks(text: str) -> list[Block]:
    """Every fenced block of a Markdown document, in order."""
    lines = text.splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, ticks, language = opening.groups()
        j = i + 1
        while j < len(lines) and lines[j].strip() != ticks:
            j += 1
        before = next((ln.strip() for ln in reversed(lines[:i]) if ln.strip()), "")
        skip = _SKIP.match(before)
        body = [ln[len(indent):] if ln.startswith(indent) else ln for ln in lines[i + 1:j]]
        found.append(Block(language, i + 1, j, indent, skip.group("reason") if skip else None,
                           body))
        i = j + 1
    return found


def console_blocks(path: Path) -> list[Block]:
    return [b for b in blocks(path.read_text("utf-8")) if b.language == "console"]


def normalised(text: str) -> list[str]:
    """Output lines without trailing whitespace, and no blank lines at the end."""
    lines = [ln.rstrip() for ln in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether ``actual`` is ``expected`` line for line, each ``...`` line standing for any
    run of lines (none included)."""
    pattern = normalised("\n".join(expected))
    reach = {0}  # how many actual lines the pattern read so far can have consumed
    for want in pattern:
        if want in ELLIPSIS:
            reach = set(range(min(reach), len(actual) + 1)) if reach else set()
        else:
            reach = {n + 1 for n in reach if n < len(actual) and actual[n] == want}
    return len(actual) in reach


def in_process(command: str) -> list[str] | None:
    """The arguments of a plain ``cnnstat ...`` command (run in-process), or None for one that
    needs a shell (a pipe, a redirection, another program)."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words = list(lexer)
    if not words or words[0] != "cnnstat" or any(set(w) <= _SHELL for w in words):
        return None
    return words[1:]


def refreshed(expected: list[str], actual: list[str]) -> list[str]:
    """The example's output rewritten from ``actual``: all of it where the example elides
    nothing; else each run of lines between ``...`` keeps its length and its place: the first
    from the top, the last from the bottom, one between at the line equal to its first line (or
    with the same first field: a table row's name, a line's text up to ':'), else ValueError."""
    pattern = normalised("\n".join(expected))
    if not any(ln in ELLIPSIS for ln in pattern):
        return actual
    runs: list[list[str]] = [[]]
    marks: list[str] = []
    for ln in pattern:
        if ln in ELLIPSIS:
            marks.append(ln)
            runs.append([])
        else:
            runs[-1].append(ln)
    out = actual[:len(runs[0])]
    at = len(runs[0])
    for mark, run in zip(marks, runs[1:-1]):
        found = _locate(run[0], actual, at)
        out += [mark, *actual[found:found + len(run)]]
        at = found + len(run)
    last = runs[-1]
    out += [marks[-1], *(actual[len(actual) - len(last):] if last else [])]
    return out


def _key(line: str) -> str:
    """A line's first field: a table row's first cell (Markdown or box drawing), else its text
    up to the first ':'."""
    text = line.strip()
    if text[:1] in ("|", "│", "┃"):
        return text[1:].replace("┃", "|").replace("│", "|").split("|")[0].strip()
    return text.split(":")[0]


def _locate(first: str, actual: list[str], start: int) -> int:
    for same in (lambda a: a == first, lambda a: _key(a) == _key(first)):
        for n in range(start, len(actual)):
            if same(actual[n]):
                return n
    raise ValueError(f"cannot place the elided example's lines starting {first!r} in the new "
                     "output: edit the example by hand")
