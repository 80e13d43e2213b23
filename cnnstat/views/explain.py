"""One layer's numbers with the formulas worked out, as the lecture works them.

The numbers come from the core: a layer is analysed by the same rules as any spec (``cnnstat
explain conv ...`` builds a one-layer spec and analyses it), and every worked line here is
checked against the core's figure before it is shown: :func:`worked` evaluates the printed
arithmetic with the spec language's exact evaluator and raises if it differs from the rule's
result, so an explanation cannot drift from the rules.  Shapes are written H x W x C, as the
lecture writes them (32x32x3); arithmetic uses ``*`` as the lecture's "5*5*3 + 1 = 76".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

from cnnstat.core.analyze import analyze
from cnnstat.core.geometry import Window, adaptive_span, dropped, output_size
from cnnstat.core.ir import Layer, Seq
from cnnstat.core.report import Row, Shape
from cnnstat.core.rules.pointwise import ACTIVATIONS

RESIZE_KINDS = ("upsample", "crop", "pad", "pixel_shuffle", "pixel_unshuffle")
from cnnstat.spec.expr import evaluate


@dataclass(frozen=True)
class Step:
    """One worked line: ``label  formula = arithmetic = value  (note)``."""

    label: str
    formula: str = ""
    arithmetic: str = ""
    value: int | str = ""
    note: str = ""


@dataclass(frozen=True)
class Explanation:
    title: str
    input_shape: Shape
    row: Row
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()
    # shapes that may be channels-last (around 'permute') are shown with their axes as held,
    # not as the lecture's H x W x C
    input_as_held: bool = False
    output_as_held: bool = False


class DriftError(RuntimeError):
    """A worked line does not give the core's figure: the explanation has drifted from a rule."""


def hwc(shape: Shape) -> str:
    """(3, 32, 32) -> '32x32x3' (the lecture's H x W x C); a flat shape stays as it is."""
    dims = (*shape[1:], shape[0]) if len(shape) == 3 else shape
    return "x".join(str(d) for d in dims)


def worked(arithmetic: str, expected: int) -> str:
    """``arithmetic``, after checking that it evaluates to the core's ``expected`` figure."""
    got = evaluate("=" + arithmetic, {})
    if got != expected:
        raise DriftError(f"explanation drifted: {arithmetic} = {got}, the rule gives {expected}")
    return arithmetic


def product(*factors: int) -> str:
    return "*".join(str(f) for f in factors)


# -- shared pieces -----------------------------------------------------------------------------

def _axis_steps(row: Row, formula: str) -> tuple[list[Step], list[str]]:
    """Output height and width from the row's windows, with notes for a non-integer division."""
    windows = _windows(row)
    sizes = row.input_shape[1:]
    if windows[0] == windows[1] and sizes[0] == sizes[1]:
        step, notes = _axis_step("height and width", "row and column", formula, sizes[0],
                                 windows[0], row.output_shape[1])
        return [step], notes
    steps, notes = [], []
    for (label, unit), win, size, out in zip((("height", "row"), ("width", "column")), windows,
                                             sizes, row.output_shape[1:]):
        step, note = _axis_step(label, unit, formula, size, win, out)
        steps.append(step)
        notes.extend(note)
    return steps, notes


def _padded(size: int, win: Window) -> str:
    """'32 + 2*2 - 5' (the lecture's order); the padding term is left out when there is none."""
    if win.pad_left == win.pad_right:
        pad = f" + 2*{win.pad_left}" if win.pad_left else ""
    else:
        pad = f" + {win.pad_left} + {win.pad_right}"
    return f"{size}{pad} - {win.extent}"


def _axis_step(label: str, unit: str, formula: str, size: int, win: Window,
               out: int) -> tuple[Step, list[str]]:
    span = size + win.padded_span - win.extent
    text = f"({_padded(size, win)})/{win.stride} + 1"
    if span % win.stride == 0:
        return Step(label, formula, worked(text, out), out), []
    floor = span // win.stride + 1
    rounding = "floor" if out == floor else "ceil"
    worked(f"({_padded(size, win)})//{win.stride} + 1" if rounding == "floor"
           else f"-(-({_padded(size, win)})//{win.stride}) + 1", out)
    value = f"{span}/{win.stride} + 1 = {float(Fraction(span, win.stride) + 1):.4g}"
    step = Step(label, formula, text, value, f"not an integer: the {rounding} gives {out}")
    return step, [_non_integer_note(label, unit, size, win, out, rounding)]


def _non_integer_note(name: str, unit: str, size: int, win: Window, out: int,
                      rounding: str) -> str:
    if rounding == "ceil":
        return (f"{name}: ceil mode rounds ({_padded(size, win)})/{win.stride} + 1 up to {out}: "
                "the last window overhangs the input")
    lost = dropped(size, win)
    if not lost:
        return (f"{name}: ({_padded(size, win)})/{win.stride} + 1 is not an integer; the floor "
                "drops only padding, no input row or column is lost")
    plural = unit.replace("row", "rows").replace("column", "columns") if lost > 1 else unit
    what = f"drops the last {lost} input {plural}"
    fixes = _fixes(size, win)
    return (f"{name}: ({_padded(size, win)})/{win.stride} + 1 is not an integer; the floor "
            f"{what}.  Zero padding handles non-integer cases" + (f": {fixes}" if fixes else ""))


def _fixes(size: int, win: Window) -> str:
    """The nearest padding (at most half the window) or input size at which the windows fit
    exactly, each with the output size the geometry gives for it."""
    out = []
    for pad in range(win.pad_left + 1, win.pad_left + win.stride + 1):
        padded = Window(win.extent, win.stride, pad, pad)
        if (size + 2 * pad - win.extent) % win.stride == 0 and 2 * pad <= win.extent:
            out.append(f"pad {pad} gives ({_padded(size, padded)})/{win.stride} + 1 = "
                       f"{output_size(size, padded)}")
            break
    bigger = next(n for n in range(size + 1, size + win.stride + 1)
                  if (n + win.padded_span - win.extent) % win.stride == 0)
    out.append(f"an input of {bigger} gives ({_padded(bigger, win)})/{win.stride} + 1 = "
               f"{output_size(bigger, win)}")
    return "; ".join(out)


def _flops(row: Row) -> Step:
    return Step("FLOPs", "2 x MACs", worked(f"2*{row.macs}", row.flops), row.flops,
                "PyTorch FlopCounterMode's convention")


def _activations(row: Row) -> Step:
    dims = (*row.output_shape[1:], row.output_shape[0]) if len(row.output_shape) == 3 \
        else row.output_shape
    formula = "H2*W2*D2" if len(dims) == 3 else "N"
    return Step("activations", formula, worked(product(*dims), row.activations),
                row.activations, "output elements per image")


def _ops(row: Row) -> list[Step]:
    return [Step(f"element-wise ({kind})", "", "", n, "counted separately, never in MACs")
            for kind, n in row.ops.items()]


def _windows(row: Row) -> tuple[Window, Window]:
    if row.windows is None:
        raise TypeError(f"{row.kind} '{row.name}' has no sliding window")
    return row.windows


def _window_field(row: Row, channels: str) -> Step:
    h, w = (win.extent for win in _windows(row))
    return Step("receptive field", "kernel extent", "", f"{h}x{w}",
                f"each output value depends on a {h}x{w} region of this layer's input"
                f"{channels}")


def _no_macs(row: Row) -> Step:
    return Step("MACs", "", "", row.macs, "no multiply-accumulates")


# -- per kind ----------------------------------------------------------------------------------

def explain_conv(layer: Layer, row: Row, flat: Shape | None = None) -> Explanation:
    """W2 = (W1 - F + 2P)/S + 1, D2 = K; (F*F*D1 + 1)*K parameters; H2*W2*K*F*F*D1 MACs."""
    d1, k = row.input_shape[0], row.output_shape[0]
    kernel, groups = layer.args["kernel"], layer.args["groups"]
    steps = _dilation(layer)
    axes, notes = _axis_steps(row, "(W1 - F + 2P)/S + 1")
    steps += [*axes, Step("depth", "D2 = K", "", k, "one output channel per filter"),
              Step("output", "H2 x W2 x D2", "", hwc(row.output_shape)),
              *_conv_params(layer, row, d1, k, kernel, groups), _conv_macs(layer, row, d1),
              _flops(row)]
    table = layer.args.get("connections")
    seen = ", across its connected channels" if table is not None else \
        f", across {d1 // groups} input channel{'s' if d1 // groups != 1 else ''}"
    steps += [_window_field(row, seen), _activations(row), *_ops(row)]
    return Explanation(f"conv '{layer.name}': {row.description}", row.input_shape, row,
                       tuple(steps), tuple(notes))


def _dilation(layer: Layer) -> list[Step]:
    """The effective kernel d*(F - 1) + 1 of a dilated conv (F below is this extent)."""
    (kh, kw), (dh, dw) = layer.args["kernel"], layer.args["dilation"]
    if (dh, dw) == (1, 1):
        return []
    axes = [("", dh, kh)] if (dh, kh) == (dw, kw) else [(" (H)", dh, kh), (" (W)", dw, kw)]
    return [Step(f"effective kernel{axis}", "d*(F - 1) + 1", worked(f"{d}*({f} - 1) + 1",
                 d * (f - 1) + 1), d * (f - 1) + 1, "F in the output size is this extent")
            for axis, d, f in axes]


def _conv_macs(layer: Layer, row: Row, d1: int) -> Step:
    h2, w2, k = row.output_shape[1], row.output_shape[2], row.output_shape[0]
    kh, kw = layer.args["kernel"]
    table = layer.args.get("connections")
    note = "multiply-accumulates, bias excluded"
    if table is not None:
        conns = sum(len(r) for r in table)
        return Step("MACs", "H2*W2*connections*F*F", worked(product(h2, w2, conns, kh, kw),
                    row.macs), row.macs, note)
    groups = layer.args["groups"]
    depth = "D1" if groups == 1 else "(D1/g)"
    return Step("MACs", f"H2*W2*K*F*F*{depth}", worked(product(h2, w2, k, kh, kw, d1 // groups),
                row.macs), row.macs, note)


def _conv_params(layer: Layer, row: Row, d1: int, k: int, kernel: tuple[int, int],
                 groups: int) -> list[Step]:
    kh, kw = kernel
    bias = 1 if layer.args["bias"] else 0
    table = layer.args.get("connections")
    if table is not None:
        conns = sum(len(r) for r in table)
        text = f"{conns}*{kh}*{kw}" + (f" + {k}" if bias else "")
        return [Step("parameters", "connections*F*F" + (" + K" if bias else ""),
                     worked(text, row.params), row.params,
                     f"sparse table: {conns} filter-channel connections")]
    depth = "D1" if groups == 1 else "D1/g"
    per = product(kh, kw, d1 // groups)
    steps = []
    if groups != 1:
        steps.append(Step("channels per filter", "D1/g", worked(f"{d1}//{groups}", d1 // groups),
                          d1 // groups, f"{groups} groups"))
    one = f"{per} + 1" if bias else per
    per_filter = kh * kw * (d1 // groups) + bias
    steps.append(Step("each filter", f"F*F*{depth}" + (" + 1" if bias else ""),
                      worked(one, per_filter), per_filter,
                      "+1 for bias" if bias else "no bias"))
    steps.append(Step("parameters", f"(F*F*{depth}" + (" + 1)*K" if bias else ")*K"),
                      worked(f"{per_filter}*{k}", row.params), row.params,
                      f"(F*F*{depth})*K = {row.weights:,} weights and {row.bias:,} biases"))
    return steps


def explain_pool(layer: Layer, row: Row, flat: Shape | None = None) -> Explanation:
    """W2 = (W1 - F)/S + 1 (with padding: (W1 - F + 2P)/S + 1), D2 = D1, zero parameters."""
    padded = any(win.padded_span for win in _windows(row))
    steps, notes = _axis_steps(row, "(W1 - F + 2P)/S + 1" if padded else "(W1 - F)/S + 1")
    steps.append(Step("depth", "D2 = D1", "", row.output_shape[0], "pooling keeps the depth"))
    steps.append(Step("output", "H2 x W2 x D2", "", hwc(row.output_shape)))
    steps.append(Step("parameters", "", "", row.params,
                      "a fixed function of the input: pooling introduces zero parameters"))
    steps.append(_no_macs(row))
    kh, kw = layer.args["kernel"]
    h2, w2 = row.output_shape[1:]
    (kind, ops), = row.ops.items()
    steps.append(Step(f"element-wise ({kind})", "H2*W2*D2*F*F",
                      worked(product(h2, w2, row.output_shape[0], kh, kw), ops), ops,
                      "one op per window element per output value"))
    steps += [_window_field(row, ", in its own channel"), _activations(row)]
    return Explanation(f"{layer.kind} '{layer.name}': {row.description}", row.input_shape, row,
                       tuple(steps), tuple(notes))


def _adaptive_widths(size: int, out: int) -> tuple[int, int]:
    """The narrowest and widest of PyTorch's adaptive windows along one axis, in closed form (a
    huge output size costs nothing): window i is ceil((r + I)/O) wide, r = i*I mod O, which runs
    over the multiples of gcd(I, O) below O."""
    return -(-size // out), -(-(size + out - math.gcd(size, out)) // out)


def _adaptive_axis(label: str, size: int, out: int) -> Step:
    """The summed widths of PyTorch's adaptive windows along one axis, in closed form."""
    narrow, wide = _adaptive_widths(size, out)
    shape = f"all {narrow} wide" if narrow == wide else f"{narrow} to {wide} wide"
    return Step(f"window widths ({label})", "I + O - gcd(I, O)",
                worked(f"{size} + {out} - {math.gcd(size, out)}", adaptive_span(size, out)),
                adaptive_span(size, out), f"window i of O is [floor(i*I/O), ceil((i+1)*I/O)): "
                f"{out} windows, {shape}")


def explain_adaptive(layer: Layer, row: Row, flat: Shape | None = None) -> Explanation:
    """Output H2 x W2 as given, D2 = D1, zero parameters; ops = D2 x the summed window widths
    per axis (one op per window element per output value)."""
    c, h1, w1 = row.input_shape
    h2, w2 = row.output_shape[1:]
    if (h1, h2) == (w1, w2):
        axes = [_adaptive_axis("height and width", h1, h2)]
    else:
        axes = [_adaptive_axis("height", h1, h2), _adaptive_axis("width", w1, w2)]
    spans = adaptive_span(h1, h2), adaptive_span(w1, w2)
    (kind, ops), = row.ops.items()
    widest = [_adaptive_widths(n, o)[1] for n, o in ((h1, h2), (w1, w2))]
    field = (Step("receptive field", "", "", "global", "every output sees its whole channel")
             if row.global_field else
             Step("receptive field", "widest window", "", f"{widest[0]}x{widest[1]}",
                  "each output value depends on its own window of this layer's input, in its "
                  "own channel"))
    return Explanation(f"{layer.kind} '{layer.name}': {row.description}", row.input_shape, row, (
        Step("output", "H2 x W2 x D2 (D2 = D1)", "", hwc(row.output_shape),
             "the output size is given; the windows adapt to the input"), *axes,
        Step("parameters", "", "", row.params,
             "a fixed function of the input: pooling introduces zero parameters"), _no_macs(row),
        Step(f"element-wise ({kind})", "D2*sum(H)*sum(W)",
             worked(product(c, *spans), ops), ops, "one op per window element per output value"),
        field, _activations(row)))


def explain_linear(layer: Layer, row: Row, flat: Shape | None = None) -> Explanation:
    """weights N_in*N_out, biases N_out, MACs N_in*N_out; every output sees every input."""
    if len(row.input_shape) > 1:
        return explain_linear_last(layer, row)
    n_in, out = row.input_shape[0], row.output_shape[0]
    inputs = product(*flat[1:], flat[0]) if flat else str(n_in)
    steps = []
    if flat:
        steps.append(Step("inputs", "H*W*C", worked(inputs, n_in), n_in,
                          f"the {hwc(flat)} volume, flattened"))
    steps.append(Step("output", "N_out", "", out, "neurons"))
    steps.append(Step("weights", "N_in*N_out", worked(f"{inputs}*{out}", row.weights),
                      row.weights, "one per input-output pair"))
    if row.bias:
        steps.append(Step("parameters", "N_in*N_out + N_out",
                          worked(f"{row.weights} + {out}", row.params), row.params,
                          "+1 bias per neuron"))
    steps.append(Step("MACs", "N_in*N_out", worked(f"{inputs}*{out}", row.macs), row.macs,
                      "multiply-accumulates, bias excluded"))
    steps += [_flops(row), Step("receptive field", "", "", "global",
                                "every output depends on every input"), *_ops(row)]
    return Explanation(f"linear '{layer.name}': {row.description}", flat or row.input_shape,
                       row, tuple(steps))


def explain_linear_last(layer: Layer, row: Row) -> Explanation:
    """``over: last``: the same weights applied to each of the prod(leading axes) vectors."""
    *lead, n_in = row.input_shape
    out, vectors = row.output_shape[-1], product(*lead)
    steps = [Step("output", "leading axes x N_out", "", "x".join(map(str, row.output_shape))),
             Step("weights", "N_in*N_out", worked(f"{n_in}*{out}", row.weights), row.weights,
                  "shared by every position")]
    if row.bias:
        steps.append(Step("parameters", "N_in*N_out + N_out",
                          worked(f"{row.weights} + {out}", row.params), row.params))
    steps += [Step("MACs", "positions*N_in*N_out", worked(f"{vectors}*{n_in}*{out}", row.macs),
                   row.macs, f"{vectors} positions, each a {n_in} -> {out} product"),
              _flops(row), Step("receptive field", "", "", "1x1",
                                "point-wise over the positions of a channels-last map"),
              *_ops(row)]
    return Explanation(f"linear '{layer.name}': {row.description}", row.input_shape, row,
                       tuple(steps), input_as_held=True, output_as_held=True)


def explain_activation(layer: Layer, row: Row, flat: Shape | None = None) -> Explanation:
    """Point-wise: the shape is kept; PReLU has one learned slope per channel (or one)."""
    steps = [Step("output", "same as input", "", hwc(row.output_shape))]
    if layer.kind == "prelu":
        shared = layer.args["shared"]
        steps.append(Step("parameters", "1 (shared)" if shared else "C (one a per channel)",
                          "", row.params, "the learned slope a in max(ax, x)"))
    else:
        steps.append(Step("parameters", "", "", row.params, "a fixed function: no parameters"))
    n = row.ops[layer.kind]
    steps += [_no_macs(row), Step(f"element-wise ({layer.kind})", "one per element",
                                  worked(product(*row.output_shape), n), n),
              Step("receptive field", "", "", "1x1", "point-wise")]
    return Explanation(f"{layer.kind} '{layer.name}': {row.description}", row.input_shape, row,
                       tuple(steps))


def explain_maxout(layer: Layer, row: Row, flat: Shape | None = None) -> Explanation:
    """max over k pieces of a conv/linear: k x its parameters and MACs, (k-1) compares."""
    inner: Layer = layer.args["layer"]
    k = layer.args["pieces"]
    inner_row = analyze(Seq((inner,)), row.input_shape).rows[0]
    base = EXPLAINERS[inner.kind](inner, inner_row, flat)
    steps = [Step(f"piece: {s.label}", s.formula, s.arithmetic, s.value, s.note)
             for s in base.steps if s.label not in ("FLOPs",)]
    steps.append(Step("parameters", "k x piece", worked(f"{k}*{inner_row.params}", row.params),
                      row.params, f"{k} pieces, each a full {inner.kind}"))
    steps.append(Step("MACs", "k x piece", worked(f"{k}*{inner_row.macs}", row.macs), row.macs))
    steps.append(_flops(row))
    cmp_ops = row.ops["maxout"]
    steps.append(Step("element-wise (maxout)", "(k - 1) x outputs",
                      worked(f"({k} - 1)*{row.activations}", cmp_ops), cmp_ops, "compares"))
    return Explanation(f"maxout '{layer.name}': {row.description}", row.input_shape, row,
                       tuple(steps), base.notes)


def explain_generic(layer: Layer | None, row: Row, flat: Shape | None = None) -> Explanation:
    """Any other operation: the rule's figures, without a worked formula."""
    steps = [Step("output", "", "", hwc(row.output_shape))]
    if row.params:
        steps.append(Step("parameters", "weights + biases",
                          worked(f"{row.weights} + {row.bias}", row.params), row.params))
    else:
        steps.append(Step("parameters", "", "", 0))
    if row.buffers:
        steps.append(Step("buffers", "", "", row.buffers, "not trainable"))
    steps += [Step("MACs", "", "", row.macs), *_ops(row), _activations(row)]
    if row.global_field:
        steps.append(Step("receptive field", "", "", "global", "every output sees all its input"))
    return Explanation(f"{row.kind} '{row.name}': {row.description}", row.input_shape, row,
                       tuple(steps))


def explain_bn(layer: Layer, row: Row, flat: Shape | None = None) -> Explanation:
    """gamma and beta per channel (trainable), running mean and variance (buffers)."""
    c = row.output_shape[0]
    steps = [Step("output", "same as input", "", hwc(row.output_shape))]
    if row.params:
        steps.append(Step("parameters", "2*C", worked(f"2*{c}", row.params), row.params,
                          "gamma and beta per channel"))
    frozen = "frozen_bn" in row.ops
    op = "frozen_bn" if frozen else "bn"
    steps += [Step("buffers", "4*C", worked(f"4*{c}", row.buffers), row.buffers,
                   "gamma, beta, running mean and variance, all fixed") if frozen else
              Step("buffers", "2*C + 1", worked(f"2*{c} + 1", row.buffers), row.buffers,
                   "running mean and variance, batch counter"), _no_macs(row),
              Step(f"element-wise ({op})", "2 per element",
                   worked(f"2*{product(*row.output_shape)}", row.ops[op]), row.ops[op])]
    return Explanation(f"bn '{layer.name}': {row.description}", row.input_shape, row,
                       tuple(steps))


NORM_STEPS = {"layernorm": "per sample over the normalised features",
              "groupnorm": "per sample and group of channels",
              "instancenorm": "per sample and channel"}


def explain_norm(layer: Layer, row: Row, flat: Shape | None = None) -> Explanation:
    """Layer, group and instance norm: statistics computed per sample (2 per element: mean and
    variance), normalised (2), then gamma (1) and beta (1) when affine; fixed running
    statistics fold into one scale and shift (2), as batch norm."""
    n = product(*row.output_shape)
    gamma, beta = bool(row.weights), bool(row.bias)
    held = layer.kind == "layernorm" and layer.args["over"] == "last"
    steps = [Step("output", "same as input", "", "x".join(map(str, row.output_shape)) if held
                  else hwc(row.output_shape))]
    if row.params:
        steps.append(Step("parameters", "gamma + beta",
                          worked(f"{row.weights} + {row.bias}", row.params), row.params,
                          "one each per normalised feature" if layer.kind == "layernorm"
                          else "one each per channel"))
    else:
        steps.append(Step("parameters", "", "", 0, "no affine part"))
    if row.buffers:
        steps.append(Step("buffers", "2*C + 1", worked(f"2*{row.output_shape[0]} + 1",
                                                       row.buffers), row.buffers,
                          "running mean and variance, batch counter"))
    op = row.ops[layer.kind]
    if row.buffers:
        per, formula = "2", "2 per element (fixed statistics: scale and shift)"
    else:
        per = f"(2 + 2 + {int(gamma)} + {int(beta)})"
        formula = "(statistics 2 + normalise 2 + gamma + beta) per element"
    steps += [_no_macs(row), Step(f"element-wise ({layer.kind})", formula, worked(
        f"{per}*{n}", op), op, "statistics " + NORM_STEPS[layer.kind] if not row.buffers else ""),
        Step("receptive field", "", "", "1x1", "point-wise, as every normalisation is counted: "
             "the statistics are not a spatial window")]
    return Explanation(f"{layer.kind} '{layer.name}': {row.description}", row.input_shape, row,
                       tuple(steps), input_as_held=held, output_as_held=held)


def explain_layer_scale(layer: Layer, row: Row, flat: Shape | None = None) -> Explanation:
    """gamma * x with one learned gamma per channel."""
    worked(str(row.output_shape[0]), row.params)  # C gammas: checked, not shown twice
    return Explanation(f"layer_scale '{layer.name}': {row.description}", row.input_shape, row, (
        Step("output", "same as input", "", hwc(row.output_shape)),
        Step("parameters", "C", "", row.params, "gamma, shape C x 1 x 1"),
        _no_macs(row), Step("element-wise (layer_scale)", "one multiply per element",
                            worked(product(*row.output_shape), row.ops["layer_scale"]),
                            row.ops["layer_scale"])))


def explain_l2norm(layer: Layer, row: Row, flat: Shape | None = None) -> Explanation:
    """``scale.view(1, -1, 1, 1) * F.normalize(x)``: per position C squares, C - 1 adds, a
    square root and the clamp to eps; per element a divide and the scale's multiply."""
    c, h, w = row.input_shape
    op = row.ops["l2norm"]
    return Explanation(f"l2norm '{layer.name}': {row.description}", row.input_shape, row, (
        Step("output", "same as input", "", hwc(row.output_shape)),
        Step("parameters", "C", "", row.params,
             f"the scale per channel, initialised to {layer.args['scale']:g}"),
        _no_macs(row),
        Step("element-wise (l2norm)", "H*W*(C + (C - 1) + 2) + 2*C*H*W",
             worked(f"{h}*{w}*({c} + {c - 1} + 2) + 2*{c}*{h}*{w}", op), op,
             "per position: squares, adds, square root, clamp; per element: divide, scale"),
        Step("receptive field", "", "", "1x1", "point-wise: the norm is over the channels of "
             "one position"), _activations(row)))


def explain_drop_path(layer: Layer, row: Row, flat: Shape | None = None) -> Explanation:
    """Identity at inference; in training the branch it ends is kept with probability 1 - p."""
    p = layer.args["p"]
    return Explanation(f"drop_path '{layer.name}': {row.description}", row.input_shape, row, (
        Step("output", "same as input", "", hwc(row.output_shape)),
        Step("parameters", "", "", 0), _no_macs(row),
        Step("inference", "identity", "", 0, "no ops: stochastic depth only acts in training"),
        Step("training", "(1 - p) x the branch's compute", "", f"{1 - p:g} x",
             "the residual branch it ends runs for a sample with probability 1 - p")), (
        "With the linear decay rule of Huang et al. 2016, p_l = (l / L) * p_L for block l of L, "
        "the expected number of residual branches run in training is L - p_L * (L + 1) / 2 "
        "(ResNet-110, L = 54, p_L = 0.5: 40.25 of 54, about 25% less compute in the blocks); "
        "at inference every block runs.",))


def explain_mean(layer: Layer, row: Row, flat: Shape | None = None) -> Explanation:
    """x.mean([2, 3]): C*H*W adds, output C (or C x 1 x 1)."""
    c, h, w = row.input_shape
    return Explanation(f"mean '{layer.name}': {row.description}", row.input_shape, row, (
        Step("output", "C" if len(row.output_shape) == 1 else "1 x 1 x C", "",
             hwc(row.output_shape)), Step("parameters", "", "", 0), _no_macs(row),
        Step("element-wise (mean)", "C*H*W", worked(product(c, h, w), row.ops["mean"]),
             row.ops["mean"], "one add per input element"),
        Step("receptive field", "", "", "global", "every output sees its whole channel"),
        _activations(row)))


def explain_permute(layer: Layer, row: Row, flat: Shape | None = None) -> Explanation:
    """A reordering of axes: no parameters, no ops."""
    dims = layer.args["dims"]
    shape = "x".join(map(str, row.output_shape))
    return Explanation(f"permute '{layer.name}': {row.description}", row.input_shape, row, (
        Step("output", f"input axes in the order {dims[1:]} (batch 0 kept first)", "", shape),
        Step("parameters", "", "", 0), _no_macs(row),
        Step("element-wise", "", "", 0, "data movement only")), input_as_held=True,
        output_as_held=True)


def explain_conv_transpose(layer: Layer, row: Row, flat: Shape | None = None) -> Explanation:
    """W2 = (W1 - 1)*S - 2P + D*(F - 1) + output_padding + 1; (F*F*(K/g)*D1 weights + K);
    MACs over the input: H1*W1*D1*(K/g)*F*F."""
    a, (d1, h1, w1) = layer.args, row.input_shape
    k, g = row.output_shape[0], a["groups"]
    (kh, kw), steps = a["kernel"], []
    for label, i in (("height", 0), ("width", 1)):
        n, s, p, op, d = (row.input_shape[1 + i], a["stride"][i], a["padding"][i],
                          a["output_padding"][i], a["dilation"][i])
        text = f"({n} - 1)*{s} - 2*{p} + {d}*({a['kernel'][i]} - 1) + {op} + 1"
        steps.append(Step(label, "(W1 - 1)*S - 2P + D*(F - 1) + output_padding + 1",
                          worked(text, row.output_shape[1 + i]), row.output_shape[1 + i]))
    per = product(d1, k // g, kh, kw)
    steps += [Step("depth", "D2 = K", "", k), Step("output", "H2 x W2 x D2", "",
                                                  hwc(row.output_shape)),
              Step("weights", "D1*(K/g)*F*F", worked(per, row.weights), row.weights,
                   "each input channel scatters through K/g filters"),
              Step("parameters", "weights + K" if row.bias else "weights",
                   worked(f"{row.weights} + {row.bias}", row.params), row.params),
              Step("MACs", "H1*W1*D1*(K/g)*F*F", worked(product(h1, w1, d1, k // g, kh, kw),
                                                       row.macs), row.macs,
                   "every input value times the whole kernel, bias excluded"),
              _flops(row), _activations(row), *_ops(row)]
    return Explanation(f"conv_transpose '{layer.name}': {row.description}", row.input_shape,
                       row, tuple(steps))


def explain_resize(layer: Layer, row: Row, flat: Shape | None = None) -> Explanation:
    """Upsample, crop, pad, pixel (un)shuffle: the output size worked out, no parameters or
    MACs; interpolation work as element-wise ops (4 per output for bilinear, 16 for bicubic)."""
    (c1, h1, w1), (c2, h2, w2) = row.input_shape, row.output_shape
    a = layer.args
    steps = []
    if layer.kind == "upsample" and a.get("scale") is not None:
        steps.append(Step("height x width", "H1*s x W1*s", worked(f"{h1}*{a['scale'][0]}", h2) +
                          " x " + worked(f"{w1}*{a['scale'][1]}", w2), f"{h2}x{w2}"))
    elif layer.kind == "pad":
        (t, b), (left, right) = a["padding"]
        steps.append(Step("height x width", "top + H1 + bottom x left + W1 + right",
                          worked(f"{t} + {h1} + {b}", h2) + " x " +
                          worked(f"{left} + {w1} + {right}", w2), f"{h2}x{w2}"))
    elif layer.kind in ("pixel_shuffle", "pixel_unshuffle"):
        r = a["factor"]
        up = layer.kind == "pixel_shuffle"
        steps.append(Step("depth", "D1/r^2" if up else "D1*r^2",
                          worked(f"{c1}//({r}*{r})" if up else f"{c1}*{r}*{r}", c2), c2))
        steps.append(Step("height x width", "H1*r x W1*r" if up else "H1/r x W1/r",
                          worked(f"{h1}*{r}" if up else f"{h1}//{r}", h2) + " x " +
                          worked(f"{w1}*{r}" if up else f"{w1}//{r}", w2), f"{h2}x{w2}"))
    else:
        source = f"the size of '{layer.like[0]}'" if layer.like else "the size given"
        steps.append(Step("height x width", "", "", f"{h2}x{w2}", source))
    steps += [Step("output", "", "", hwc(row.output_shape)),
              Step("parameters", "", "", 0, "no weights"), _no_macs(row)]
    n = row.ops.get("upsample", 0)
    if n:
        taps = n // row.activations
        steps.append(Step("element-wise (upsample)", f"{taps} per output element",
                          worked(f"{taps}*{product(c2, h2, w2)}", n), n,
                          "one multiply-add per interpolation tap"))
    steps.append(_activations(row))
    return Explanation(f"{layer.kind} '{layer.name}': {row.description}", row.input_shape, row,
                       tuple(steps))


def explain_attention(layer: Layer, row: Row, flat: Shape | None = None) -> Explanation:
    """N = H*W tokens of C, h heads of d = C/h: projections 4C² weights and 4NC² MACs; the two
    activation products h*N*N*d each, apart from MACs; softmax 3 per score."""
    c, h, w = row.input_shape
    heads = layer.args["heads"]
    d, n = c // heads, h * w
    qkv_b, out_b = 3 * c if layer.args["qkv_bias"] else 0, c if layer.args["bias"] else 0
    steps = [Step("tokens", "N = H*W", worked(product(h, w), n), n, f"of C = {c} features"),
             Step("head width", "d = C/h", worked(f"{c}//{heads}", d), d, f"{heads} heads"),
             Step("output", "same as input", "", hwc(row.output_shape)),
             Step("weights", "3*C*C + C*C", worked(f"3*{c}*{c} + {c}*{c}", row.weights),
                  row.weights, "QKV projection C -> 3C and output projection C -> C")]
    if row.bias:
        steps.append(Step("biases", "3*C + C" if qkv_b and out_b else ("3*C" if qkv_b else "C"),
                          worked(f"{qkv_b} + {out_b}", row.bias), row.bias,
                          "qkv_bias, bias"))
    steps += [Step("MACs", "N*C*3*C + N*C*C", worked(f"{n}*{c}*3*{c} + {n}*{c}*{c}", row.macs),
                   row.macs, "the two projections: weight MACs"),
              _flops(row)]
    for key, label in (("qk", "Q.K^T"), ("av", "A.V")):
        steps.append(Step(f"product {label}", "h*N*N*d",
                          worked(product(heads, n, n, d), row.products[key]),
                          row.products[key], "activations x activations: not in MACs"))
    steps += [Step("element-wise (softmax)", "3*h*N*N",
                   worked(f"3*{product(heads, n, n)}", row.ops["softmax"]), row.ops["softmax"],
                   "exp, sum, divide per score"),
              Step("element-wise (attention_scale)", "N*C",
                   worked(product(n, c), row.ops["attention_scale"]),
                   row.ops["attention_scale"], "queries times 1/sqrt(d)"),
              Step("receptive field", "", "", "global",
                   "every output position attends to every input position"),
              Step("scratch", "6*N*C + 2*h*N*N",
                   worked(f"6*{n}*{c} + 2*{product(heads, n, n)}", row.scratch), row.scratch,
                   "intermediate elements (Q, K, V, scores, softmax) counted in memory"),
              _activations(row)]
    if "bias" in row.ops:
        steps.append(Step("element-wise (bias)", "N*biases",
                          worked(f"{n}*{row.bias}", row.ops["bias"]), row.ops["bias"],
                          "one add per biased projection output"))
    return Explanation(f"attention '{layer.name}': {row.description}", row.input_shape, row,
                       tuple(steps), ("--count torch counts the products at 2 FLOPs per MAC, "
                                      "--count fvcore at 1; neither counts softmax or scaling",))


Explainer = Callable[[Layer, Row, Optional[Shape]], Explanation]

EXPLAINERS: dict[str, Explainer] = {
    "conv": explain_conv, "maxpool": explain_pool, "avgpool": explain_pool,
    "adaptive_avgpool": explain_adaptive, "adaptive_maxpool": explain_adaptive,
    "linear": explain_linear, "maxout": explain_maxout, "bn": explain_bn, "prelu":
    explain_activation, **{kind: explain_activation for kind in ACTIVATIONS},
    "conv_transpose": explain_conv_transpose,
    **{kind: explain_resize for kind in RESIZE_KINDS},
    **{kind: explain_norm for kind in NORM_STEPS}, "layer_scale": explain_layer_scale,
    "drop_path": explain_drop_path, "mean": explain_mean, "permute": explain_permute,
    "l2norm": explain_l2norm,
    "attention": explain_attention,
}


def explain(layer: Layer | None, row: Row, flat: Shape | None = None) -> Explanation:
    """The worked explanation of ``row`` (``layer`` is None for a merge)."""
    if layer is None:
        return explain_generic(None, row, flat)
    return EXPLAINERS.get(layer.kind, explain_generic)(layer, row, flat)
