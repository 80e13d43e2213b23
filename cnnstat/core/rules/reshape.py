"""Layers that move data without arithmetic: flatten, channel shuffle, option-A shortcut."""

from __future__ import annotations

from cnnstat.core.geometry import Window
from cnnstat.core.ir import Layer
from cnnstat.core.report import Shape
from cnnstat.core.rules.base import Cost, numel, positive, rule, spatial
from cnnstat.errors import DiagnosticSink, spec_error


@rule("flatten")
def flatten(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """C x H x W -> C*H*W features."""
    return Cost(output=(numel(x),), description="flatten", global_field=len(x) == 3)


@rule("channel_shuffle")
def channel_shuffle(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """ShuffleNet's channel shuffle: a permutation of channels; C must divide by groups."""
    c, _, _ = spatial(layer, x)
    groups = layer.args["groups"]
    positive(layer, "groups", groups)
    if c % groups:
        raise spec_error("E402", f"channel_shuffle '{layer.name}': groups={groups} must divide the "
                         f"{c} input channels", layer.arg_path("groups"), layer=layer.name)
    return Cost(output=x, description=f"channel shuffle, {groups} groups")


@rule("pad_channels")
def pad_channels(layer: Layer, x: Shape, sink: DiagnosticSink) -> Cost:
    """ResNet option A: x[:, :, ::s, ::s] zero-padded to ``out`` channels; no parameters.

    The subsampling is a 1x1 window at stride s (its receptive-field window)."""
    c, h, w = spatial(layer, x)
    out, stride = layer.args["out"], layer.args["stride"]
    positive(layer, "stride", stride)
    if out < c:
        raise spec_error("E406", f"pad_channels '{layer.name}': out={out} is fewer than the {c} "
                         "input channels", layer.arg_path("out"), layer=layer.name)
    sample = Window(1, stride, 0, 0)
    return Cost(output=(out, -(-h // stride), -(-w // stride)),
                description=f"subsample by {stride}, zero-pad to {out} channels",
                windows=(sample, sample))
