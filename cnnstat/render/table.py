"""A format-neutral table and its three text renderings: rich (terminal), markdown and CSV.

Views (summary, params, list, ...) build a :class:`Table`; the renderers never know which view
they print.  Cells hold exact values; ``Column.fmt`` decides how a cell reads in the terminal and
markdown, while CSV always gets the raw value.  Control characters are escapes in every
rendering (:func:`cnnstat.render.escape.escape_controls`); a markdown cell also escapes ``|``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cnnstat.render import numbers
from cnnstat.render.escape import escape_controls


def _plain(v: Any) -> str:
    return "" if v is None else str(v)


def _count(v: Any) -> str:
    return numbers.exact(v) if isinstance(v, int) else _plain(v)


def _shape(v: Any) -> str:
    return numbers.shape(v) if isinstance(v, tuple) else _plain(v)


def _checked(v: Any) -> str:
    """A measured value and whether it matched: (value, ok) -> '1,728 ✓' / '1,700 ✗'."""
    if not isinstance(v, tuple):
        return _plain(v)
    value, ok = v
    shown = "(did not run)" if value is None else _shape(value) if isinstance(value, tuple) \
        else _count(value)
    return f"{shown} {'✓' if ok else '✗'}"


def _raw(v: Any, fmt: str) -> str:
    """A cell for CSV: the exact value (a checked cell gives its measured value)."""
    if fmt == "check" and isinstance(v, tuple):
        v = v[0]
    return _shape(v) if fmt in ("shape", "check") else _plain(v)


def _real(v: Any) -> str:
    return numbers.real(v) if isinstance(v, (int, float)) else _plain(v)


def _bytes(v: Any) -> str:
    return numbers.binary(v) if isinstance(v, int) else _plain(v)


FORMATTERS: dict[str, Callable[[Any], str]] = {"text": _plain, "count": _count, "shape": _shape,
                                               "check": _checked, "real": _real,
                                               "bytes": _bytes, "percent": _plain}


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    # text | count | shape | check (a (measured value, matched) pair) | real (a measured
    # quantity, 4 significant digits, one column sharing its decimals) | bytes (an int shown in
    # binary units) | percent (a share already written, '12.34%', right-aligned); CSV gets raw
    # values
    fmt: str = "text"
    # how much the column matters on a narrow terminal: 0 is always shown (the row's name, an
    # essential figure); 1, 2, ... may be left out to fit, the highest first; a prose column
    # that may be left out may also be shortened (elided), one with priority 0 wraps instead
    priority: int = 0

    @property
    def numeric(self) -> bool:
        return self.fmt in ("count", "check", "real", "bytes", "percent")

    def cell(self, value: Any) -> str:
        return FORMATTERS[self.fmt](value)

    def cells(self, values: Sequence[Any]) -> list[str]:
        """The column's cells; a ``real`` column's numbers share their decimals (41.00 beside
        39.86, not 41), so they align on the point."""
        if self.fmt != "real":
            return [self.cell(v) for v in values]
        shown = iter(numbers.reals([v for v in values if _is_real(v)]))
        return [next(shown) if _is_real(v) else _plain(v) for v in values]


def grid(columns: Sequence[Column], body: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Every row's cells, formatted column by column."""
    by_column = [c.cells([row.get(c.key) for row in body]) for c in columns]
    return [list(row) for row in zip(*by_column)] if columns else [[] for _ in body]


@dataclass
class Table:
    title: str
    columns: Sequence[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    # what a column's header means, by key: shown for the columns the table shows (on a
    # terminal right under the title, so it is on the screen with the header)
    legend: dict[str, str] = field(default_factory=dict)
    # a note that explains one column (note text -> column key): left out with its column
    note_columns: dict[str, str] = field(default_factory=dict)

    def notes_for(self, keys: Sequence[str]) -> list[str]:
        """The notes that apply when the columns ``keys`` are shown."""
        return [n for n in self.notes if self.note_columns.get(n, keys[0] if keys else "")
                in keys]

    def legend_line(self, keys: Sequence[str]) -> str | None:
        """The legend of the columns ``keys``, in their order: 'r: field size; j: jump'."""
        parts = [self.legend[k] for k in keys if k in self.legend]
        return "; ".join(parts) if parts else None


def column_keys(tables: Sequence[Table]) -> dict[str, str]:
    """Every column key of ``tables`` with its header, in order (what ``--columns`` accepts)."""
    out: dict[str, str] = {}
    for t in tables:
        for c in t.columns:
            out.setdefault(c.key, c.header)
    return out


def select_columns(tables: Sequence[Table], keys: Sequence[str]) -> list[Table]:
    """``--columns``: each table shows the chosen columns it has, in the order given, after its
    priority-0 identity column (the row's name) when that is not chosen; a chosen column is never
    left out to fit.  A table that has none of them is unchanged.  A key no table has is a
    ValueError naming the valid ones."""
    known = column_keys(tables)
    unknown = [k for k in keys if k not in known]
    if unknown:
        valid = ", ".join(k if h in (k, "") else f"{k} ({h})" for k, h in known.items())
        raise ValueError(f"no column {', '.join(repr(k) for k in unknown)} here; the columns "
                         f"are: {valid}")
    out = []
    for t in tables:
        by_key = {c.key: c for c in t.columns}
        chosen = [replace(by_key[k], priority=0) for k in dict.fromkeys(keys) if k in by_key]
        if not chosen:
            out.append(t)
            continue
        lead = [] if t.columns[0].key in keys else [t.columns[0]]
        out.append(replace(t, columns=[*lead, *chosen]))
    return out


def _md(text: str) -> str:
    """A markdown table cell: one line (control characters escaped), ``|`` escaped."""
    return escape_controls(text).replace("|", "\\|")


def to_markdown(tables: Sequence[Table]) -> str:
    out: list[str] = []
    for t in tables:
        out.append(f"### {escape_controls(t.title)}\n")
        out.append("| " + " | ".join(_md(c.header) for c in t.columns) + " |")
        out.append("|" + "|".join("---:" if c.numeric else "---" for c in t.columns) + "|")
        body = [*t.rows, *([t.total] if t.total else [])]
        for i, shown in enumerate(grid(t.columns, body)):
            cells = [_md(x) for x in shown]
            if t.total is not None and i == len(body) - 1:
                cells = [f"**{x}**" if x else x for x in cells]
            out.append("| " + " | ".join(cells) + " |")
        keys = [c.key for c in t.columns]
        legend = t.legend_line(keys)
        notes = [*([legend] if legend else []), *t.notes_for(keys)]
        out.extend(["", *(f"{escape_controls(n)}  " for n in notes), ""] if notes else [""])
    return "\n".join(out).rstrip() + "\n"


def to_csv(tables: Sequence[Table]) -> str:
    """One CSV block per table (a blank line between); raw values, shapes as 'CxHxW', control
    characters escaped (a CSV shown on a terminal must not drive it)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for i, t in enumerate(tables):
        if i:
            buf.write("\n")
        writer.writerow([c.key for c in t.columns])
        for row in [*t.rows, *([t.total] if t.total else [])]:
            writer.writerow([escape_controls(_raw(row.get(c.key), c.fmt)) for c in t.columns])
    return buf.getvalue()
