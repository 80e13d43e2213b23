"""Tables for a terminal: box-drawn, in linear time, and never cutting a number.

A number, a shape or an identifier is exact or it is nothing, so those cells are never cut,
elided or wrapped.  When the terminal is narrower than the table's natural width, the prose
columns (descriptions, titles) wrap first, down to a floor; if the table still does not fit, it
is printed as one record per row (``header: value`` lines), with a note saying so.  Titles and
notes wrap at spaces only.  With no width (output to a pipe or a file) nothing wraps.
Control characters in any cell, header, title or note are shown as escapes, never sent raw.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from cnnstat.render.escape import escape_controls
from cnnstat.render.table import Column, Table, grid

MIN_TEXT = 12  # the narrowest a prose column wraps to (a longer word is broken)
BOLD, DIM, RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"


@dataclass(frozen=True)
class Style:
    color: bool = False

    def bold(self, text: str) -> str:
        return f"{BOLD}{text}{RESET}" if self.color and text else text

    def dim(self, text: str) -> str:
        return f"{DIM}{text}{RESET}" if self.color and text else text


def wraps(column: Column) -> bool:
    """Whether a column's cells may wrap: prose only, never numbers, shapes or names."""
    return column.fmt == "text" and column.key != "name"


def render(tables: Sequence[Table], width: int | None, style: Style = Style()) -> str:
    return "".join(render_one(t, width, style) for t in tables)


def render_one(table: Table, width: int | None, style: Style) -> str:
    body = [*table.rows, *([table.total] if table.total else [])]
    columns = [Column(c.key, escape_controls(c.header), c.fmt) for c in table.columns]
    cells = [[escape_controls(x) for x in row] for row in grid(columns, body)]
    widths = fit(columns, cells, width)
    out = _prose(escape_controls(table.title), width) if table.title else []
    if widths is None:
        out += [style.dim(line) for line in _prose(
            f"(one record per row: the table is wider than the terminal's {width} columns, "
            "and numbers are never cut)", width)]
        out += records(columns, cells, width, style)
    else:
        out += boxed(columns, cells, widths, table.total is not None, style)
    for note in table.notes:
        out += [style.dim(line) for line in _prose(escape_controls(note), width)]
    return "\n".join(out) + "\n\n"


def _natural(column: Column, cells: list[list[str]], i: int) -> int:
    lines = [column.header, *(part for row in cells for part in row[i].split("\n"))]
    return max(len(s) for s in lines)


def _floor(column: Column, cells: list[list[str]], i: int) -> int:
    """The narrowest the column may get: its widest cell if it never wraps, else MIN_TEXT (or
    less when nothing in it is wider), and never below its longest header word."""
    header_word = max((len(w) for w in column.header.split()), default=0)
    natural = _natural(column, cells, i)
    floor = min(natural, MIN_TEXT) if wraps(column) else natural
    return max(floor, header_word)


def fit(columns: Sequence[Column], cells: list[list[str]], width: int | None) -> list[int] | None:
    """Column widths that fit ``width`` (None: no limit), shrinking prose columns widest first;
    None when even the floors do not fit."""
    widths = [_natural(c, cells, i) for i, c in enumerate(columns)]
    if width is None:
        return widths
    floors = [_floor(c, cells, i) for i, c in enumerate(columns)]
    excess = sum(widths) + 3 * len(columns) + 1 - width
    while excess > 0:
        shrinkable = [i for i, c in enumerate(columns) if wraps(c) and widths[i] > floors[i]]
        if not shrinkable:
            return None
        widths[max(shrinkable, key=lambda i: widths[i])] -= 1
        excess -= 1
    return widths


def _wrap(text: str, width: int) -> list[str]:
    out: list[str] = []
    for part in text.split("\n"):
        out += textwrap.wrap(part, width, break_on_hyphens=False) or [""]
    return out


def _prose(text: str, width: int | None) -> list[str]:
    """Prose lines at ``width``, broken at spaces only (a long word is never cut)."""
    if width is None:
        return text.split("\n")
    out: list[str] = []
    for part in text.split("\n"):
        out += textwrap.wrap(part, width, break_long_words=False, break_on_hyphens=False) or [""]
    return out


def boxed(columns: Sequence[Column], cells: list[list[str]], widths: list[int], total: bool,
          style: Style) -> list[str]:
    def rule(left: str, fill: str, mid: str, right: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right

    def lines(values: list[str], bold: bool = False) -> list[str]:
        split = [_wrap(v, w) if wraps(c) or "\n" in v else [v]
                 for c, v, w in zip(columns, values, widths)]
        height = max(len(s) for s in split)
        rows = []
        for k in range(height):
            parts = []
            for c, s, w in zip(columns, split, widths):
                text = s[k] if k < len(s) else ""
                text = text.rjust(w) if c.numeric else text.ljust(w)
                parts.append(style.bold(text) if bold else text)
            rows.append("│ " + " │ ".join(parts) + " │")
        return rows

    head_words = [_wrap(c.header, w) for c, w in zip(columns, widths)]
    height = max(len(h) for h in head_words)
    out = [rule("┏", "━", "┳", "┓")]
    for k in range(height):
        parts = [style.bold((h[k] if k < len(h) else "").rjust(w) if c.numeric
                            else (h[k] if k < len(h) else "").ljust(w))
                 for c, h, w in zip(columns, head_words, widths)]
        out.append("┃ " + " ┃ ".join(parts) + " ┃")
    out.append(rule("┡", "━", "╇", "┩"))
    for n, values in enumerate(cells):
        if total and n == len(cells) - 1:
            out.append(rule("├", "─", "┼", "┤"))
            out += lines(values, bold=True)
        else:
            out += lines(values)
    out.append(rule("└", "─", "┴", "┘"))
    return out


def records(columns: Sequence[Column], cells: list[list[str]], width: int | None,
            style: Style) -> list[str]:
    """One block per row: the first column's value as a heading, then ``header: value``."""
    out: list[str] = []
    label = max(len(c.header) for c in columns[1:]) if len(columns) > 1 else 0
    for values in cells:
        out.append(style.bold(f"{columns[0].header}: {values[0]}"))
        for c, v in zip(columns[1:], values[1:]):
            room = None if width is None else max(width - label - 4, MIN_TEXT)
            parts = _wrap(v, room) if room is not None and wraps(c) else v.split("\n")
            out.append(f"  {c.header.rjust(label)}: {parts[0]}")
            out += [" " * (label + 4) + p for p in parts[1:]]
    return out
