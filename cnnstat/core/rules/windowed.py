"""Shared checks for sliding-window layers (conv, pooling): output size, impossible geometry,
and the warning when the floor in (W - F + 2P)/S + 1 leaves input rows or columns unused."""

from __future__ import annotations

from cnnstat.core.geometry import Window, dropped, output_size
from cnnstat.core.ir import Layer
from cnnstat.errors import DiagnosticSink, spec_error

AXES = ("H", "W")


def slide(layer: Layer, size: tuple[int, int], wins: tuple[Window, Window], sink: DiagnosticSink,
          ceil_mode: bool = False) -> tuple[int, int]:
    """Output (H, W) of ``wins`` over ``size``; errors when a window does not fit."""
    out = []
    for axis, n, win in zip(AXES, size, wins):
        o = output_size(n, win, ceil_mode)
        if o < 1:
            raise spec_error(
                "E401", f"{layer.kind} '{layer.name}': kernel {win.extent} exceeds padded input "
                f"{n + win.padded_span} ({axis}={n}, pad={_pad(win)})", layer.arg_path("kernel"),
                layer=layer.name, hint="use a smaller kernel or stride, more padding, or a larger "
                "input")
        out.append(o)
    _warn_dropped(layer, size, wins, sink, ceil_mode)
    return out[0], out[1]


def _pad(win: Window) -> str:
    return str(win.pad_left) if win.pad_left == win.pad_right else f"{win.pad_left}+{win.pad_right}"


def _warn_dropped(layer: Layer, size: tuple[int, int], wins: tuple[Window, Window],
                  sink: DiagnosticSink, ceil_mode: bool) -> None:
    if ceil_mode:
        return
    lost = [(axis, n, win, dropped(n, win)) for axis, n, win in zip(AXES, size, wins)]
    lost = [item for item in lost if item[3]]
    if not lost:
        return
    parts = [f"{axis}: ({n} - {w.extent} + {w.padded_span})/{w.stride} + 1 is not an integer; "
             f"the floor drops the last {d} input {'row' if axis == 'H' else 'column'}"
             f"{'s' if d > 1 else ''}" for axis, n, w, d in lost]
    sink.warn("W501", f"{layer.kind} '{layer.name}': " + "; ".join(parts), layer.path,
              layer=layer.name, hint="zero-pad (or resize the input) so the windows fit exactly")
