"""``cnnstat report``: one self-contained HTML page per run.

Per spec: the summary table, the diagram (``cnnstat graph``), the per-layer bars, live memory
with the breakdown, the receptive field of the last spatial layer's centre unit, the findings of
``cnnstat check`` and, with ``--verify`` (PyTorch installed), the ``cnnstat verify`` result.  For several
specs the comparison table and the complexity chart come first.  A part that cannot be drawn
here (no Graphviz, no torch) is a line in the page saying why, never a failed report.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass

from cnnstat import zoo
from cnnstat.analysis import Analysed
from cnnstat.check.figures import check_figures
from cnnstat.errors import UsageError
from cnnstat.render import charts, field_chart, html
from cnnstat.render.jsonfmt import VERSION
from cnnstat.views import compare, plots
from cnnstat.views import memory as memory_view
from cnnstat.views.summary import summary_table


@dataclass(frozen=True)
class Options:
    verify: bool = False  # --verify, when torch is installed (seconds per network: asked for)
    depth: int | None = None  # the diagram's --depth


def _anchor(name: str) -> str:
    """The page's id of a spec: letters, digits and '-' as they are, every other character as
    ``_`` + its code point in hex + ``_``, so two names never share an id (``a.b`` is
    ``spec-a_2e_b``, ``a_b`` is ``spec-a_5f_b``)."""
    return "spec-" + "".join(c if c.isalnum() or c == "-" else f"_{ord(c):x}_" for c in name)


def diagram(item: Analysed, depth: int | None) -> str:
    """The diagram of ``cnnstat graph`` as inline SVG, or a line saying why it is missing
    (Graphviz not installed)."""
    from cnnstat.views.graph import diagram as draw

    try:
        return html.svg(draw(item, "svg", depth=depth), f"{item.report.name}: diagram",
                        _anchor(item.report.name) + "-graph")
    except UsageError as exc:
        return html.note(f"diagram not drawn: {exc}" + (f" ({exc.hint})" if exc.hint else ""),
                         "missing")


def _figures(item: Analysed) -> list[str]:
    report = item.report
    bars = charts.layers(plots.layer_bars(report), plots.layers_title(report),
                         plots.LAYER_LABELS, "svg")
    mem = plots.live_memory(report, "float32")
    live = charts.memory(mem.names, mem.live_bytes, mem.peak, mem.title, mem.ylabel, "svg")
    view = memory_view.MemoryView(report, "float32", "sgd-momentum", None)
    return ["<h3>Per layer</h3>", html.svg(bars, f"{report.name}: per-layer bars",
                                                 _anchor(report.name) + "-bars"),
            "<h3>Memory</h3>", html.svg(live, f"{report.name}: live memory",
                                          _anchor(report.name) + "-memory"),
            html.table(memory_view.breakdown_table(view))]


def field(item: Analysed) -> list[str]:
    report, fields = item.report, item.fields
    out = ["<h3>Receptive field</h3>"]
    if fields is None:
        return out + [html.note("no receptive field: the input is not C x H x W (or a map is "
                                "too large for exact per-unit fields)", "missing")]
    target = fields.last_spatial
    if target is None:
        return out + [html.note("no spatial layer to map a unit of", "missing")]
    _, box = plots.centre_box(report, fields, target)
    data = field_chart.field(box, None, plots.field_title(report, target, False), "", "svg")
    return out + [html.svg(data, f"{report.name}: receptive field",
                           _anchor(report.name) + "-rf")]


def check(spec: str) -> list[str]:
    """``cnnstat check SPEC``'s findings, as it prints them; a built-in spec's file is named as
    the zoo names it (``resnet50.yaml:82:7``), as in ``cnnstat receptive-field``'s overview,
    never by the path it is installed at."""
    from cnnstat.check import files
    from cnnstat.views import check as check_view

    entry = None if zoo.names_a_file(spec) else zoo.find(spec)
    results = ([files.check_builtin(entry)] if entry is not None else
               [files.check_file(path, only) for path, only in files.spec_files([spec])])
    lines = check_view.text(results)
    status = ", ".join(f"{t.name}: {check_view.status(r, False)}" for r in results
                       for t in r.targets) or "could not run"
    return ["<h3>cnnstat check</h3>", html.note(status),
            html.pre(lines) if lines else html.note("no findings")]


def verify(item: Analysed, enabled: bool) -> list[str]:
    """``cnnstat verify``'s per-layer table, when torch (and fvcore) are installed."""
    out = ["<h3>cnnstat verify</h3>"]
    if not enabled:
        return out + [html.note("not run: add --verify to cross-check every layer live with "
                                "PyTorch here (or run cnnstat verify)", "missing")]
    if importlib.util.find_spec("torch") is None:
        return out + [html.note("not run: PyTorch is not installed (pip install "
                                "'cnnstat[torch]')", "missing")]
    from cnnstat.torch_backend.verify import verify_report
    from cnnstat.views import verify as verify_view

    counters = ("torch", "fvcore") if importlib.util.find_spec("fvcore") else ("torch",)
    result = verify_report(item.report, counters)
    return out + [html.table(verify_view.overview_table([result])),
                  html.table(verify_view.layer_table(result))]


def spec_section(spec: str, item: Analysed, options: Options) -> str:
    report = item.report
    parts = [f'<section class="spec" id="{_anchor(report.name)}">',
             f"<h2>{html.text(report.name)}: {html.text(report.title)}</h2>",
             html.note(f"source: {report.source}") if report.source else "",
             "<h3>Summary</h3>", html.table(summary_table(report, item.field_sizes)),
             "<h3>Diagram</h3>", diagram(item, options.depth),
             *_figures(item), *field(item), *check(spec), *verify(item, options.verify),
             "</section>"]
    return "\n".join(p for p in parts if p)


def comparison(items: Sequence[Analysed]) -> str:
    compared = [compare.Compared(i.report, tuple(check_figures(i.report, i.loaded.reference)))
                for i in items]
    parts = ['<section id="comparison"><h2>Comparison</h2>',
             html.table(compare.totals_table(compared)), "<h3>Complexity</h3>"]
    view = plots.complexity(items)
    if view.points:
        chart = charts.complexity(view.points, view.title, view.footnote, "svg")
        parts.append(html.svg(chart, "complexity chart", "complexity"))
    if view.left_out:
        parts.append(html.note("not in the chart (no published top-1 in reference): " +
                               ", ".join(view.left_out), "missing"))
    return "\n".join(parts + ["</section>"])


def page(specs: Sequence[str], items: Sequence[Analysed], options: Options) -> str:
    names = [i.report.name for i in items]
    title = "cnnstat report: " + ", ".join(names)
    nav = "<nav>" + "".join(f'<a href="#{_anchor(n)}">{html.text(n)}</a>' for n in names) + \
        "</nav>"
    head = [f"<h1>{html.text(title)}</h1>",
            html.note(f"cnnstat {VERSION}.  MACs: multiply-accumulates of conv and linear, "
                      "bias excluded; FLOPs = 2 x MACs; numbers exact, per the batch shown."),
            nav]
    body = head + ([comparison(items)] if len(items) > 1 else [])
    body += [spec_section(s, i, options) for s, i in zip(specs, items)]
    return html.page(title, body)
