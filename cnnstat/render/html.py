"""One self-contained HTML page: tables, inline SVG figures and preformatted text, with inline
CSS (and a print style).  No script, no external file, no network request: the page opens from
disk in any browser.  Table cells are formatted as in markdown (exact integers, thousands
separated), so a reader sees the numbers ``--format json`` gives."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from cnnstat.render.escape import escape_controls
from cnnstat.render.table import Table, grid

CSS = """
body { font-family: "DejaVu Sans", Verdana, sans-serif; margin: 1.5em auto; max-width: 1200px;
       padding: 0 1em; color: #222; font-size: 14px; }
h1 { font-size: 1.6em; } h2 { font-size: 1.3em; border-bottom: 2px solid #ccc; }
h3 { font-size: 1.05em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 12px; }
th, td { border: 1px solid #ccc; padding: 2px 6px; vertical-align: top; }
th { background: #f0f0f0; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: bold; background: #fafafa; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
p.note { font-size: 11px; color: #555; margin: 2px 0; }
figure { margin: 0.8em 0; overflow-x: auto; } figure svg { max-width: 100%; height: auto; }
pre { background: #f7f7f7; padding: 0.6em; font-size: 11px; overflow-x: auto; }
nav a { margin-right: 1em; } .missing { color: #a60; }
@media print {
  body { max-width: none; margin: 0; font-size: 10px; }
  section.spec { break-before: page; } figure, table { break-inside: avoid; }
  pre { white-space: pre-wrap; } nav { display: none; }
  figure { overflow: visible; }
}
"""

def text(value: str) -> str:
    """Text from a spec or a message, escaped for HTML, control characters written out."""
    return html.escape(escape_controls(value))


def table(t: Table) -> str:
    """A Table as HTML: the caption is its title, numeric cells right-aligned, the total row
    marked, its notes under it."""
    head = "".join(f"<th>{text(c.header)}</th>" for c in t.columns)
    body = [*t.rows, *([t.total] if t.total else [])]
    rows = []
    for i, cells in enumerate(grid(t.columns, body)):
        total = t.total is not None and i == len(body) - 1
        tds = "".join(f'<td class="n">{text(v)}</td>' if c.numeric else f"<td>{text(v)}</td>"
                      for c, v in zip(t.columns, cells))
        rows.append(f'<tr class="total">{tds}</tr>' if total else f"<tr>{tds}</tr>")
    notes = "".join(f'<p class="note">{text(n)}</p>' for n in t.notes)
    return (f"<table><caption>{text(t.title)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>{notes}")


def svg(data: bytes, label: str, prefix: str) -> str:
    """An SVG file inlined in a <figure>: its XML prologue dropped, its ids made unique in the
    page by ``prefix`` (two figures may both define 'clip1' or a glyph), a role and a label."""
    source = data.decode("utf-8")
    start = source.find("<svg")
    if start < 0:
        raise ValueError("not an SVG document")
    prefix += "-"
    body = re.sub(r'\bid="', f'id="{prefix}', source[start:])
    body = re.sub(r'href="#', f'href="#{prefix}', body)
    body = re.sub(r"url\(#", f"url(#{prefix}", body)
    body = body.replace("<svg", f'<svg role="img" aria-label="{html.escape(label)}"', 1)
    return f"<figure>{body}</figure>"


def pre(lines: Sequence[str]) -> str:
    return f"<pre>{text(chr(10).join(lines))}</pre>"


def note(message: str, cls: str = "note") -> str:
    return f'<p class="{cls}">{text(message)}</p>'


def page(title: str, body: Sequence[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width\"><title>{text(title)}"
            f"</title><style>{CSS}</style></head><body>\n" + "\n".join(body) +
            "\n</body></html>\n")
