"""The lecture's own table formats, computed from a report.

``lecture``: one line per layer as the lecture lists AlexNet -- ``[55x55x96] CONV1: 96 11x11
filters at stride 4, pad 0`` -- shapes H x W x C, names upper-cased from the spec's names, and
point-wise layers without parameters (activations, dropout, flatten, identity, softmax) left out
as the lecture leaves them out, and so is an adaptive pool to the size it is given (torchvision's
7x7 pool before VGG's classifier at a 224 input), which computes nothing.  ``memory``: the per-layer memory/params table with the
arithmetic shown (activations H*W*C = value, parameters (F*F*D)*K + K = value), totals and bytes
at a dtype.  Every worked figure is checked against the core's with :func:`worked`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cnnstat.core.ir import Layer, iter_layers
from cnnstat.core.memory import DTYPE_BYTES
from cnnstat.core.report import Report, Row, Shape
from cnnstat.core.rules.pointwise import ACTIVATIONS
from cnnstat.render.jsonfmt import header
from cnnstat.render.numbers import binary
from cnnstat.render.table import Column, Table
from cnnstat.views.common import spec_info
from cnnstat.views.explain import hwc, product, worked

_SIZES = re.compile(r"(\d)X(\d)")
HIDDEN = {*ACTIVATIONS, "dropout", "flatten", "identity", "softmax"}
POOL_WORDS = {"maxpool": "MAX POOL", "avgpool": "AVG POOL"}
#: Adaptive pools: each is the identity when its output size is its input's.
ADAPTIVE = ("adaptive_avgpool", "adaptive_maxpool")


@dataclass(frozen=True)
class LectureRow:
    row: Row
    layer: Layer | None  # None for a merge
    name: str
    description: str
    flat_from: Shape | None  # the volume a linear layer's input was flattened from
    held: bool = False  # its output is channels-last (between ConvNeXt's permutes): H x W x C

    @property
    def shape(self) -> str:
        """The output as the lecture writes it, H x W x C."""
        return "x".join(map(str, self.row.output_shape)) if self.held \
            else hwc(self.row.output_shape)


def lecture_name(row: Row) -> str:
    """'pool1' -> 'POOL1', and a max pool's 'POOL1' / 'MAXPOOL1' -> 'MAX POOL1' (the lecture's)."""
    head, dot, last = _SIZES.sub(r"\1x\2", row.name.upper()).rpartition(".")
    word = POOL_WORDS.get(row.kind)
    if word:
        for prefix in (word.replace(" ", ""), "POOL"):
            if last.startswith(prefix):
                last = word + last[len(prefix):]
                break
    return head + dot + last


def describe(row: Row, classes: int | None, last: bool) -> str:
    """The lecture's wording: 'N FxF filters at stride S, pad P', '3x3 filters at stride 2',
    'Normalization layer', 'N neurons' ('(class scores)' for the final classifier)."""
    if row.kind in POOL_WORDS and row.windows is not None:
        h, w = row.windows
        pad = "" if not (h.padded_span or w.padded_span) else f", pad {h.pad_left}"
        stride = str(h.stride) if h.stride == w.stride else f"{h.stride}x{w.stride}"
        return f"{h.extent}x{w.extent} filters at stride {stride}{pad}"
    if row.kind == "lrn":
        return "Normalization layer"
    if row.kind == "linear":
        scores = last and classes is not None and row.output_shape == (classes,)
        return f"{row.output_shape[-1]} neurons" + (" (class scores)" if scores else "")
    return row.description


def no_op(row: Row) -> bool:
    """An adaptive pool whose output is its input's size: the identity (the lecture has no row
    for it)."""
    return row.kind in ADAPTIVE and row.output_shape == row.input_shape


def hidden(row: Row) -> bool:
    """Whether the lecture's tables leave ``row`` out."""
    return row.kind in HIDDEN or no_op(row)


def lecture_rows(report: Report, classes: int | None = None) -> list[LectureRow]:
    shown = [(i, r) for i, r in enumerate(report.rows) if not hidden(r)]
    layers = {layer.name: layer for layer in iter_layers(report.graph)}
    out, flat, held = [], None, False
    for i, row in enumerate(report.rows):
        if row.kind == "flatten":
            flat = row.input_shape
        layer = layers.get(row.name)
        if row.kind == "permute" and layer is not None:  # to channels-last, or back
            held = list(layer.args["dims"]) == [0, 2, 3, 1]
        if hidden(row):
            continue
        src = flat if row.kind == "linear" and flat and row.input_shape == (_numel(flat),) \
            and _numel(flat[1:]) > 1 else None
        out.append(LectureRow(row, layer, lecture_name(row),
                              describe(row, classes, i == shown[-1][0]), src,
                              held and len(row.output_shape) == 3))
    return out


def _numel(shape: Shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def lines(report: Report, classes: int | None = None) -> list[str]:
    """``[227x227x3] INPUT`` then one ``[HxWxC] NAME: description`` line per shown layer."""
    rows = lecture_rows(report, classes)
    return [f"[{hwc(report.input_shape)}] INPUT",
            *(f"[{r.shape}] {r.name}: {r.description}" for r in rows)]


def lecture_table(report: Report, classes: int | None = None) -> Table:
    cols = [Column("shape", "shape (HxWxC)"), Column("name", "layer"),
            Column("description", "description")]
    rows = [{"shape": hwc(report.input_shape), "name": "INPUT", "description": ""}]
    rows += [{"shape": r.shape, "name": r.name, "description": r.description}
             for r in lecture_rows(report, classes)]
    return Table(f"{report.name}: the lecture's layer table", cols, rows, None,
                 ["shapes H x W x C; activations, dropout and flatten are not listed",
                  *_no_op_notes(report)])


def _no_op_notes(report: Report) -> list[str]:
    """One note per adaptive pool left out because it is the identity at this input."""
    return [f"{lecture_name(r)} ({r.description} on a {hwc(r.input_shape)} map: the identity) "
            "is not listed, as the lecture lists no such row" for r in report.rows if no_op(r)]


def lecture_json(report: Report, classes: int | None = None) -> dict[str, Any]:
    return {**header("summary"), "style": "lecture", "spec": spec_info(report),
            "input_hwc": hwc(report.input_shape),
            "layers": [{"name": r.name, "layer": r.row.name, "kind": r.row.kind,
                        "output_hwc": r.shape, "description": r.description}
                       for r in lecture_rows(report, classes)]}


# -- the memory / params table -------------------------------------------------------------

def memory_arithmetic(shape: Shape, value: int, held: bool = False) -> str:
    """'224*224*64' (H*W*C) for a volume (a channels-last one as held), the count for
    features."""
    dims = (*shape[1:], shape[0]) if len(shape) == 3 and not held else shape
    return worked(product(*dims), value) if len(dims) > 1 else str(value)


def params_arithmetic(lr: LectureRow) -> str:
    """(F*F*D)*K + K for a conv, N_in*N_out + N_out for a linear, 2*C for BN, else the sum."""
    row = lr.row
    if row.params == 0:
        return "0"
    by_kind = {"conv": _conv_params, "linear": _linear_params, "bn": _bn_params}
    return worked(by_kind.get(row.kind, _sum_params)(lr), row.params)


def _bn_params(lr: LectureRow) -> str:
    """gamma and beta per channel (none when frozen: they are buffers)."""
    return f"2*{lr.row.output_shape[0]}" if lr.row.params else "0"


def _sum_params(lr: LectureRow) -> str:
    return f"{lr.row.weights} + {lr.row.bias}" if lr.row.bias else str(lr.row.weights)


def _conv_params(lr: LectureRow) -> str:
    row, layer = lr.row, lr.layer
    k, bias = row.output_shape[0], (f" + {row.bias}" if row.bias else "")
    if layer is None:
        return f"{row.weights}{bias}"
    kh, kw = layer.args["kernel"]
    table = layer.args.get("connections")
    if table is not None:
        return f"{sum(len(r) for r in table)}*{kh}*{kw}{bias}"
    return f"({kh}*{kw}*{row.input_shape[0] // layer.args['groups']})*{k}{bias}"


def _linear_params(lr: LectureRow) -> str:
    row = lr.row
    n_in = f"({product(*lr.flat_from[1:], lr.flat_from[0])})" if lr.flat_from \
        else str(row.input_shape[-1])
    return f"{n_in}*{row.output_shape[-1]}" + (f" + {row.bias}" if row.bias else "")


def memory_table(report: Report, dtype: str, classes: int | None = None) -> list[Table]:
    """Per layer: H*W*C activations and (F*F*D)*K + K parameters, worked; totals; bytes."""
    rows = [_memory_row("INPUT", report.input_shape, None)]
    rows += [_memory_row(r.name, r.row.output_shape, r, r.held)
             for r in lecture_rows(report, classes)]
    acts = sum(r["memory"] for r in rows)
    params = report.totals.params
    cols = [Column("name", "layer"), Column("output", "output (HxWxC)"),
            Column("memory_worked", "memory"), Column("memory", "activations", "count"),
            Column("params_worked", "params"), Column("params", "parameters", "count")]
    total = {"name": "TOTAL", "memory": acts, "params": params}
    notes = ["memory: activations H*W*C per image; params: (F*F*D)*K weights + K biases",
             "the lecture's convention: activations, dropout and flatten are not listed and are "
             "taken as in place (cnnstat memory counts every operation's output)",
             *_no_op_notes(report)]
    printed = printed_total(report)
    if printed is not None:
        notes.append(printed.note(acts))
    return [Table(f"{report.name}: memory and parameters per layer", cols, rows, total, notes),
            bytes_table(report, dtype, acts, params)]


@dataclass(frozen=True)
class PrintedTotal:
    """A total memory that a lecture's notes print beside their per-layer rows."""

    source: str
    printed: str  # the notes' words, quoted
    value: int  # what the printed figure stands for
    why: str  # why it is not the sum of the rows

    def note(self, rows_sum: int) -> str:
        return (f"{self.source} print '{self.printed}', but the rows above, which are the "
                f"notes' rows, add up to {rows_sum:,} (~{rows_sum / 1e6:.1f}M): {self.why}")

    def to_json(self, rows_sum: int) -> dict[str, Any]:
        return {"source": self.source, "printed": self.printed, "value": self.value,
                "rows_sum": rows_sum, "why": self.why}


#: Totals the lecture's notes print for a built-in spec at its default input (name, C x H x W).
PRINTED_TOTALS: dict[tuple[str, Shape], PrintedTotal] = {
    ("vgg16", (3, 224, 224)): PrintedTotal(
        "the cs231n notes (Convolutional Networks, Case studies: VGGNet)",
        "TOTAL memory: 24M * 4 bytes ~= 93MB / image (only forward! ~*2 for bwd)", 24_000_000,
        "24M does not follow from the rows (an arithmetic slip in the notes); cnnstat prints "
        "the rows' sum"),
}


def printed_total(report: Report) -> PrintedTotal | None:
    """What the lecture's notes print as ``report``'s total memory, if they print one."""
    return PRINTED_TOTALS.get((report.name, report.input_shape))


def _memory_row(name: str, shape: Shape, lr: LectureRow | None,
                held: bool = False) -> dict[str, Any]:
    value = _numel(shape)
    out = "x".join(map(str, shape)) if held else hwc(shape)
    return {"name": name, "output": out, "memory_worked": memory_arithmetic(shape, value, held),
            "memory": value, "params_worked": params_arithmetic(lr) if lr else "0",
            "params": lr.row.params if lr else 0}


def bytes_table(report: Report, dtype: str, acts: int, params: int) -> Table:
    size = DTYPE_BYTES[dtype]
    b = report.batch
    rows = [{"quantity": f"activations, forward ({'per image' if b == 1 else f'batch {b}'})",
             "elements": acts * b, "worked": f"{acts * b:,} x {size}", "bytes": acts * b * size,
             "readable": binary(acts * b * size)},
            {"quantity": "parameters", "elements": params, "worked": f"{params:,} x {size}",
             "bytes": params * size, "readable": binary(params * size)}]
    cols = [Column("quantity", "quantity"), Column("elements", "elements", "count"),
            Column("worked", f"x bytes ({dtype})"), Column("bytes", "bytes", "count"),
            Column("readable", "")]
    return Table(f"{report.name}: bytes at {dtype} ({size} byte{'s' if size > 1 else ''} each)",
                 cols, rows, None, ["forward pass only; cnnstat memory gives the inference peak "
                                    "and training memory"])


def memory_json(report: Report, dtype: str, classes: int | None = None) -> dict[str, Any]:
    table, sizes = memory_table(report, dtype, classes)
    return {**header("summary"), "style": "memory", "spec": spec_info(report), "dtype": dtype,
            "bytes_per_element": DTYPE_BYTES[dtype],
            "layers": [{"name": r["name"], "output_hwc": r["output"], "activations": r["memory"],
                        "activations_worked": r["memory_worked"], "params": r["params"],
                        "params_worked": r["params_worked"]} for r in table.rows],
            "totals": {"activations": table.total["memory"] if table.total else 0,
                       "params": table.total["params"] if table.total else 0,
                       "bytes": {r["quantity"]: r["bytes"] for r in sizes.rows}},
            "printed_total": _printed_json(report, table)}


def _printed_json(report: Report, table: Table) -> dict[str, Any] | None:
    printed = printed_total(report)
    return printed.to_json(table.total["memory"]) if printed and table.total else None
