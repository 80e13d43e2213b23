"""``cnnstat graph``: a network as a diagram, drawn from its analysed report.

The diagram follows the real dataflow (:func:`cnnstat.core.memory.dataflow`): every operation
is a box (name, kind, output shape, parameters, MACs for the batch, optionally its receptive
field) and every edge carries the shape of the tensor it moves, so branches, shortcuts, dense
concatenations, ``from:`` references and U-Net skips appear as they are.  Blocks (the prefixes of
the hierarchical names: ``layer3`` and ``layer3.2`` of ``layer3.2.conv1``) are clusters;
``depth`` collapses everything below that many name parts into one box with the block's
totals.  Past :data:`MAX_OPEN` operations the diagram is collapsed by default, to the deepest
depth that draws at most :data:`MAX_OPEN` boxes.  Each box is filled by its share of the
network's inference MACs (the legend says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cnnstat.analysis.pipeline import Analysed
from cnnstat.core.ir import iter_layers
from cnnstat.core.memory import dataflow
from cnnstat.core.receptive import FieldSize, field_sizes
from cnnstat.core.report import Report, Row, Shape, fmt_shape
from cnnstat.errors import UsageError
from cnnstat.render import numbers
from cnnstat.render.diagram import Box, Cluster, Diagram, Edge, Swatch
from cnnstat.views.common import rf_text
from cnnstat.views.graph_clusters import clusters

FORMATS = ("svg", "png", "pdf", "dot", "mmd")
MAX_OPEN = 150
"""Operations drawn one by one at most when no depth is given."""
MAX_LAID_OUT = 5000
"""Boxes Graphviz is asked to lay out at most (4,208 took dot 30 s of CPU here; it grows
faster than linearly); DOT and Mermaid text has no limit."""

NO_MACS = Swatch("#ffffff", "#000000", "no MACs")
TRAINING = Swatch("#e8e8e8", "#000000", "training only (not in the inference MACs)")
# Upper bounds in percent of the network's MACs (ColorBrewer Oranges).
SHARES = ((1, Swatch("#feedde", "#000000", "under 1%")),
          (2, Swatch("#fdd0a2", "#000000", "1% to under 2%")),
          (5, Swatch("#fdae6b", "#000000", "2% to under 5%")),
          (10, Swatch("#fd8d3c", "#000000", "5% to under 10%")),
          (20, Swatch("#e6550d", "#ffffff", "10% to under 20%")))
MOST = Swatch("#a63603", "#ffffff", "20% or more")
LEGEND_TITLE = "fill: share of the network's MACs"


def diagram(analysed: Analysed, fmt: str, *, depth: int | None = None,
            rf: bool = False) -> bytes:
    """The diagram of ``analysed`` as ``fmt`` (svg, png, pdf, dot or mmd).  svg, png and pdf are
    laid out by Graphviz (UsageError naming the install step when it is missing); dot and mmd
    are text and need nothing."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown diagram format {fmt!r}")
    model = build(analysed.report, depth=depth, rf=analysed.field_sizes if rf else False)
    if fmt == "mmd":
        from cnnstat.render.mermaid import to_mermaid

        return to_mermaid(model).encode("utf-8")
    from cnnstat.render.dot import to_dot

    text = to_dot(model)
    if fmt == "dot":
        return text.encode("utf-8")
    if len(model.boxes) > MAX_LAID_OUT:
        raise UsageError(f"{len(model.boxes):,} boxes are too many to lay out as .{fmt} (at most "
                         f"{MAX_LAID_OUT:,})", "collapse blocks with --depth N, or write .dot or "
                         ".mmd, which have no limit")
    from cnnstat.render.layout import lay_out

    return lay_out(text, fmt)


def auto_depth(report: Report) -> int | None:
    """None (every operation) up to :data:`MAX_OPEN` operations, else the deepest depth that
    draws at most :data:`MAX_OPEN` boxes (1 when none does)."""
    if len(report.rows) <= MAX_OPEN:
        return None
    deepest = max(r.name.count(".") + 1 for r in report.rows)
    fits = [d for d in range(1, deepest) if len(_groups(report.rows, d)) <= MAX_OPEN]
    return max(fits, default=1)


@dataclass(frozen=True)
class _Group:
    key: str
    rows: tuple[Row, ...]

    @property
    def collapsed(self) -> bool:
        return len(self.rows) > 1 or self.rows[0].name != self.key


def _key(name: str, depth: int | None) -> str:
    return name if depth is None else ".".join(name.split(".")[:depth])


def _groups(rows: Sequence[Row], depth: int | None) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for row in rows:
        out.setdefault(_key(row.name, depth), []).append(row)
    return out


def swatch(macs: int, total: int) -> Swatch:
    """The fill for ``macs`` of a network's ``total``, by exact comparison."""
    if macs == 0:
        return NO_MACS
    for bound, chosen in SHARES:
        if macs * 100 < total * bound:
            return chosen
    return MOST


def build(report: Report, *, depth: int | None = None,
          rf: Sequence[FieldSize | None] | bool = False) -> Diagram:
    """The diagram model of ``report``; ``depth`` None: :func:`auto_depth`; ``rf``: the rows'
    receptive-field sizes (``Analysed.field_sizes``), or True to compute them."""
    chosen = auto_depth(report) if depth is None else depth
    groups = [_Group(k, tuple(v)) for k, v in _groups(report.rows, chosen).items()]
    fields = _fields(report, field_sizes(report) if rf is True else rf or ())
    inputs = report.inputs or ((report.input_names[0], report.input_shape),)
    ids = {name: f"n{i}" for i, (name, _) in enumerate(inputs)}
    ids.update({g.key: f"n{len(inputs) + i}" for i, g in enumerate(groups)})
    heads = _heads(report)
    boxes = [Box(ids[name], (name, "input", fmt_shape(shape)), NO_MACS) for name, shape in inputs]
    boxes += [_box(g, ids[g.key], report, fields, heads) for g in groups]
    top: list[str | Cluster] = [ids[name] for name, _ in inputs]
    top += clusters([(g.key, ids[g.key]) for g in groups])
    return Diagram(_title(report, chosen), tuple(boxes), _edges(report, chosen, ids, inputs),
                   tuple(top), LEGEND_TITLE, _legend(boxes))


def _title(report: Report, depth: int | None) -> tuple[str, ...]:
    t = report.totals
    lines = [f"{report.name}: {report.title}",
             f"input {fmt_shape(report.input_shape)}, batch {report.batch}: "
             f"{numbers.exact(t.params)} params, {numbers.exact(t.macs)} MACs",
             "MACs: multiply-accumulates of conv and linear, bias excluded, for the batch "
             "(FLOPs = 2 x MACs); shapes per image"]
    if depth is not None and any(r.name.count(".") >= depth for r in report.rows):
        lines.append(f"blocks collapsed below depth {depth} ({len(report.rows)} operations; "
                     f"--depth sets it)")
    return tuple(lines)


def _fields(report: Report, sizes: Sequence[FieldSize | None]) -> dict[str, str]:
    """Each row's receptive-field size as ``cnnstat summary`` shows it ('11', '7x5', '*')."""
    return {r.name: rf_text(size) for r, size in zip(report.rows, sizes) if size}


def _heads(report: Report) -> set[str]:
    """The operations that write the network's outputs."""
    if not report.outputs:
        run = [r for r in report.rows if not r.training]
        return {run[-1].name} if run else set()
    writers = dataflow(report).writers
    return {writers.get(name, name) for name, _ in report.outputs}


def _box(group: _Group, box_id: str, report: Report, fields: dict[str, str],
         heads: set[str]) -> Box:
    rows, batch = group.rows, report.batch
    last = rows[-1]
    training = all(r.training for r in rows)
    macs = batch * sum(r.macs for r in rows if not r.training)
    params = sum(r.params for r in rows)
    if group.collapsed:
        lines = [group.key, f"block of {len(rows)} operations"]
    else:
        lines = [group.key, last.kind]
    lines.append(fmt_shape(last.output_shape))
    if params:
        lines.append(f"params {numbers.exact(params)}")
    if macs:
        lines.append(f"MACs {numbers.exact(macs)}")
    extra = batch * sum(r.macs for r in rows if r.training)
    if extra:
        lines.append(f"training MACs {numbers.exact(extra)}")
    if last.name in fields:
        lines.append(f"RF {fields[last.name]}")
    fill = TRAINING if training else swatch(macs, report.totals.macs)
    return Box(box_id, tuple(lines), fill, dashed=training,
               output=any(r.name in heads for r in rows), block=group.collapsed)


def _edges(report: Report, depth: int | None, ids: dict[str, str],
           inputs: Sequence[tuple[str, Shape]]) -> tuple[Edge, ...]:
    flow = dataflow(report, training=True)
    shapes = {r.name: r.output_shape for r in report.rows}
    shapes.update(inputs)
    likes = {layer.name for layer in iter_layers(report.graph) if layer.like}
    names = {name for name, _ in inputs}
    labels: dict[tuple[str, str, bool], list[str]] = {}
    for row in report.rows:
        reads = flow.reads.get(row.name, ())
        dst = ids[_key(row.name, depth)]
        for i, producer in enumerate(reads):
            src = ids[producer] if producer in names else ids[_key(producer, depth)]
            if src == dst:
                continue
            size_only = row.name in likes and i == len(reads) - 1 and i > 0
            shown = labels.setdefault((src, dst, size_only), [])
            text = fmt_shape(shapes[producer])
            if text not in shown:
                shown.append(text)
    return tuple(Edge(src, dst, ", ".join(texts), size_only)
                 for (src, dst, size_only), texts in labels.items())


def _legend(boxes: Sequence[Box]) -> tuple[Swatch, ...]:
    used = [NO_MACS, *(s for _, s in SHARES), MOST]
    if any(b.dashed for b in boxes):
        used.append(TRAINING)
    return tuple(used)
