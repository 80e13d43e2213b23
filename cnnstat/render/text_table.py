"""Tables for a terminal: box-drawn, in linear time, fitted by choosing columns, and never
cutting a number.

A number, a shape or an identifier is exact or it is nothing, so those cells are never cut,
elided or wrapped.  A table wider than the terminal is fitted in this order:

1. headers wider than their cells wrap at spaces;
2. prose columns shrink: a description that may be left out (``priority`` > 0) is shortened
   with '…' to no less than :data:`ELIDE_MIN` characters; an essential one (priority 0) wraps,
   down to :data:`MIN_TEXT`;
3. if that is not enough, the least important column (the highest priority number, the
   rightmost among equals) is left out, and 1 and 2 are tried again;
4. one record per row (``header: value`` lines) is the last resort: when even the priority-0
   columns do not fit, when only they would be left, or below :data:`RECORDS_BELOW` columns
   when a priority-1 figure would have to go.

What was left out or shortened is returned (:class:`Fitted`), for the command to say so on
stderr.  Titles and notes wrap at spaces only.  With no width (output to a pipe or a file)
nothing is left out and nothing wraps.  Control characters in any cell, header, title or note
are shown as escapes, never sent raw.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

from cnnstat.render.escape import escape_controls
from cnnstat.render.table import Column, Table, grid

MIN_TEXT = 12  # the narrowest an essential prose column wraps to (a longer word is broken)
ELIDE_MIN = 20  # the shortest a description is cut to before its column is left out instead
RECORDS_BELOW = 50  # narrower than this, a table that loses a main figure becomes records
ELLIPSIS = "…"
BOLD, DIM, RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"


@dataclass(frozen=True)
class Style:
    color: bool = False

    def bold(self, text: str) -> str:
        return f"{BOLD}{text}{RESET}" if self.color and text else text

    def dim(self, text: str) -> str:
        return f"{DIM}{text}{RESET}" if self.color and text else text


@dataclass
class Fitted:
    """Tables as text, and what fitting them to the terminal cost: the keys of the columns left
    out and of the prose columns shortened (each once, in order), and whether a table had to be
    printed as records."""

    text: str
    left_out: list[str] = field(default_factory=list)
    shortened: list[str] = field(default_factory=list)
    records: bool = False


def wraps(column: Column) -> bool:
    """Whether a column's cells may wrap or be shortened: prose only, never numbers, shapes or
    names."""
    return column.fmt == "text" and column.key != "name"


def elides(column: Column) -> bool:
    """A description that may be left out may as well be shortened; an essential one wraps."""
    return wraps(column) and column.priority > 0


def render(tables: Sequence[Table], width: int | None, style: Style = Style()) -> str:
    return fitted(tables, width, style).text


def fitted(tables: Sequence[Table], width: int | None, style: Style = Style()) -> Fitted:
    """The tables fitted to ``width`` columns (None: no limit), with what that cost."""
    out = Fitted("")
    parts = []
    for table in tables:
        parts.append(render_one(table, width, style, out))
    out.text = "".join(parts)
    return out


def render_one(table: Table, width: int | None, style: Style, cost: Fitted | None = None) -> str:
    body = [*table.rows, *([table.total] if table.total else [])]
    columns = [Column(c.key, escape_controls(c.header), c.fmt, c.priority)
               for c in table.columns]
    cells = [[escape_controls(x) for x in row] for row in grid(columns, body)]
    chosen = layout(columns, cells, width)
    out = _prose(escape_controls(table.title), width) if table.title else []
    keys = [c.key for c in columns] if chosen is None else [columns[i].key for i in chosen[0]]
    legend = table.legend_line(keys)
    if legend:
        out += [style.dim(line) for line in _prose(escape_controls(legend), width)]
    if chosen is None:
        out += [style.dim(line) for line in _prose(
            f"(one record per row: the table is wider than the terminal's {width} columns, "
            "and numbers are never cut)", width)]
        out += records(columns, cells, width, style)
        if cost is not None:
            cost.records = True
    else:
        keep, widths = chosen
        kept = [columns[i] for i in keep]
        shown = [[row[i] for i in keep] for row in cells]
        out += boxed(kept, shown, widths, table.total is not None, style)
        if cost is not None:
            _account(cost, columns, keep, kept, shown, widths)
    for note in table.notes_for(keys):
        out += [style.dim(line) for line in _prose(escape_controls(note), width)]
    return "\n".join(out) + "\n\n"


def _account(cost: Fitted, columns: Sequence[Column], keep: list[int], kept: Sequence[Column],
             cells: list[list[str]], widths: list[int]) -> None:
    for i, c in enumerate(columns):
        if i not in keep and c.key not in cost.left_out:
            cost.left_out.append(c.key)
    for j, (c, w) in enumerate(zip(kept, widths)):
        if elides(c) and any(len(line) > w for row in cells for line in row[j].split("\n")) \
                and c.key not in cost.shortened:
            cost.shortened.append(c.key)


@dataclass(frozen=True)
class _Measure:
    """A column's widths: natural (widest of header and cells), cells (widest cell) and the
    floor it may shrink to."""

    natural: int
    cells: int
    header_floor: int
    floor: int


def _measure(column: Column, cells: list[list[str]], i: int) -> _Measure:
    widest = max((len(part) for row in cells for part in row[i].split("\n")), default=0)
    header_word = max((len(w) for w in column.header.split()), default=0)
    natural = max(widest, len(column.header))
    if wraps(column):
        floor = min(widest, ELIDE_MIN if elides(column) else MIN_TEXT)
    else:
        floor = widest
    return _Measure(natural, widest, max(widest, header_word), max(floor, header_word))


def layout(columns: Sequence[Column], cells: list[list[str]],
           width: int | None) -> tuple[list[int], list[int]] | None:
    """The columns to show (indices) and their widths at ``width``; None: one record per row
    (see the module docstring)."""
    measures = [_measure(c, cells, i) for i, c in enumerate(columns)]
    keep = list(range(len(columns)))
    if width is None:
        return keep, [m.natural for m in measures]
    while (widths := _fit([columns[i] for i in keep], [measures[i] for i in keep],
                          width)) is None:
        droppable = [i for i in keep if columns[i].priority > 0]
        if not droppable:
            return None
        keep.remove(max(droppable, key=lambda i: (columns[i].priority, i)))
    dropped = [columns[i] for i in range(len(columns)) if i not in keep]
    if dropped and all(columns[i].priority == 0 for i in keep) and \
            any(c.priority == 1 for c in dropped):
        return None  # a table of names alone says less than its records
    if width < RECORDS_BELOW and any(c.priority == 1 for c in dropped):
        return None
    return keep, widths


def fit(columns: Sequence[Column], cells: list[list[str]], width: int | None) -> list[int] | None:
    """Column widths that fit ``width`` (None: no limit) with every column kept: headers wrap
    first, then prose shrinks, widest first; None when even the floors do not fit."""
    measures = [_measure(c, cells, i) for i, c in enumerate(columns)]
    if width is None:
        return [m.natural for m in measures]
    return _fit(columns, measures, width)


def _fit(columns: Sequence[Column], measures: Sequence[_Measure], width: int) -> list[int] | None:
    widths = [m.natural for m in measures]
    excess = sum(widths) + 3 * len(columns) + 1 - width
    if excess <= 0:
        return widths
    if sum(m.floor for m in measures) + 3 * len(columns) + 1 > width:
        return None
    for floors in ([m.header_floor for m in measures], [m.floor for m in measures]):
        while excess > 0:
            shrinkable = [i for i in range(len(widths)) if widths[i] > floors[i]]
            if not shrinkable:
                break
            widths[max(shrinkable, key=lambda i: widths[i])] -= 1
            excess -= 1
    return widths if excess <= 0 else None


def _wrap(text: str, width: int) -> list[str]:
    out: list[str] = []
    for part in text.split("\n"):
        out += textwrap.wrap(part, width, break_on_hyphens=False) or [""]
    return out


def _elide(text: str, width: int) -> list[str]:
    """Each line of ``text`` cut to ``width`` with '…' (a description, never a figure)."""
    return [part if len(part) <= width else part[:width - 1].rstrip() + ELLIPSIS
            for part in text.split("\n")]


def _prose(text: str, width: int | None) -> list[str]:
    """Prose lines at ``width``, broken at spaces only (a long word is never cut)."""
    if width is None:
        return text.split("\n")
    out: list[str] = []
    for part in text.split("\n"):
        out += textwrap.wrap(part, width, break_long_words=False, break_on_hyphens=False) or [""]
    return out


def _cell_lines(column: Column, value: str, width: int) -> list[str]:
    if elides(column):
        return _elide(value, width)
    return _wrap(value, width) if wraps(column) or "\n" in value else [value]


def boxed(columns: Sequence[Column], cells: list[list[str]], widths: list[int], total: bool,
          style: Style) -> list[str]:
    def rule(left: str, fill: str, mid: str, right: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right

    def lines(values: list[str], bold: bool = False) -> list[str]:
        split = [_cell_lines(c, v, w) for c, v, w in zip(columns, values, widths)]
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


def left_out_line(cost: Fitted, width: int) -> str | None:
    """The one line that says what fitting ``width`` columns left out or shortened (by the keys
    ``--columns`` takes), and how to see it; None when nothing was."""
    parts = []
    if cost.left_out:
        parts.append("left out " + ", ".join(cost.left_out))
    if cost.shortened:
        parts.append("shortened " + ", ".join(cost.shortened))
    if not parts:
        return None
    return (f"cnnstat: to fit {width} columns: {'; '.join(parts)} (--columns KEY,... chooses "
            "columns; --format json has every figure)")
