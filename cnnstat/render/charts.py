"""The figures of ``cnnstat plot`` that draw a spec's analysis: the complexity chart, per-layer
bars and live memory.  Each takes plain data (prepared by ``cnnstat.views.plots``) and returns
the file's bytes; :mod:`cnnstat.render.figure` makes them reproducible."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cnnstat.render import figure
from cnnstat.render.numbers import binary, human

MAX_TICKS = 32  # layer names written under a bar chart; past this every k-th name


@dataclass(frozen=True)
class Bubble:
    """One network of the complexity chart: MACs per image, params, published top-1 (%)."""

    name: str
    macs: int
    params: int
    top1: float


def _human_axis(axis: Any) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: human(int(v)) if v >= 0 else ""))


def _binary_axis(axis: Any) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: binary(int(v)) if v >= 0 else ""))


def complexity(points: Sequence[Bubble], title: str, footnote: str, fmt: str) -> bytes:
    """Canziani et al. 2017's chart: top-1 accuracy against G-MACs (log axis); bubble area
    proportional to the parameters; every point labelled with its network."""
    with figure.style():
        fig, (ax,) = figure.new(9.0, 6.5)
        biggest = max((p.params for p in points), default=1)
        for i, p in enumerate(points):
            ax.scatter(p.macs / 1e9, p.top1, s=2000 * p.params / biggest, alpha=0.45,
                       color=f"C{i % 10}", edgecolors="black", linewidths=0.5, zorder=2)
            ax.annotate(p.name, (p.macs / 1e9, p.top1), xytext=(4, 4),
                        textcoords="offset points", fontsize=7, zorder=3)
        ax.set_xscale("log")
        if points:  # room for the bubbles: autoscaling sees their centres, not their size
            xs, ys = [p.macs / 1e9 for p in points], [p.top1 for p in points]
            pad = 0.15 * (max(ys) - min(ys)) + 1.5
            ax.set_xlim(min(xs) / 1.8, max(xs) * 1.8)
            ax.set_ylim(min(ys) - pad, max(ys) + pad)
        ax.set_xlabel("G-MACs per image (10^9 multiply-accumulates, conv + linear; log scale)")
        ax.set_ylabel("published top-1 accuracy on ImageNet (%)")
        ax.set_title(figure.wrap(title, fig.get_figwidth()))
        if points:
            ax.scatter([], [], s=2000 * 0.25, color="grey", alpha=0.45,
                       label=f"area = parameters ({human(biggest // 4)} shown)")
            ax.legend(loc="lower right")
        figure.footnote(fig, footnote)
        return figure.save(fig, fmt)


@dataclass(frozen=True)
class LayerBars:
    """Per-layer figures along the network (execution order)."""

    names: Sequence[str]
    macs: Sequence[int]
    params: Sequence[int]
    activations: Sequence[int]


def _name_ticks(ax: Any, names: Sequence[str]) -> None:
    step = max(1, math.ceil(len(names) / MAX_TICKS))
    ticks = list(range(0, len(names), step))
    ax.set_xticks(ticks, [names[i] for i in ticks], rotation=90, fontsize=6)


def _bars(ax: Any, values: Sequence[int], colour: str) -> None:
    """Bars 0.8 wide at 0, 1, 2, ... as one collection: what ``ax.bar`` draws (its limits,
    the bottom stuck at 0), without an artist per bar (a 175-operation network drew 525 of
    them, the slowest part of ``cnnstat report``)."""
    from matplotlib.collections import PolyCollection

    bars = PolyCollection([[(i - 0.4, 0), (i - 0.4, v), (i + 0.4, v), (i + 0.4, 0)]
                           for i, v in enumerate(values)], facecolors=colour, edgecolors="none")
    bars.sticky_edges.y.append(0)
    ax.add_collection(bars, autolim=True)
    ax.autoscale_view()


def layers(bars: LayerBars, title: str, labels: Sequence[str], fmt: str) -> bytes:
    """Three bar panels sharing the layer axis: MACs, parameters, activations (``labels``:
    the y-axis label of each, with its unit)."""
    with figure.style():
        fig, axes = figure.new(max(8.0, min(24.0, 0.12 * len(bars.names) + 4)), 8.0, rows=3,
                               sharex=True)
        for ax, values, label, colour in zip(axes, (bars.macs, bars.params, bars.activations),
                                             labels, ("C0", "C1", "C2")):
            _bars(ax, values, colour)
            ax.set_ylabel(label)
            _human_axis(ax.yaxis)
        axes[0].set_title(figure.wrap(title, fig.get_figwidth()))
        axes[-1].set_xlabel("operation, in execution order")
        _name_ticks(axes[-1], bars.names)
        return figure.save(fig, fmt)


def memory(names: Sequence[str], live_bytes: Sequence[int], peak: int, title: str,
           ylabel: str, fmt: str) -> bytes:
    """Live activation bytes during each operation, as steps; the peak (index ``peak``) marked."""
    with figure.style():
        fig, (ax,) = figure.new(max(8.0, min(24.0, 0.12 * len(names) + 4)), 5.0)
        x = list(range(len(names)))
        ax.step(x, live_bytes, where="mid", color="C0")
        ax.fill_between(x, live_bytes, step="mid", alpha=0.25, color="C0")
        ax.plot([peak], [live_bytes[peak]], "v", color="C3", markersize=9)
        ax.annotate(f"peak {binary(live_bytes[peak])} ({live_bytes[peak]:,} bytes) during "
                    f"{names[peak]}", (peak, live_bytes[peak]), xytext=(6, 6),
                    textcoords="offset points", color="C3", fontsize=8,
                    ha="left" if peak < len(names) / 2 else "right")
        ax.set_ylim(0, live_bytes[peak] * 1.15 or 1)
        ax.set_ylabel(ylabel)
        _binary_axis(ax.yaxis)
        ax.set_xlabel("operation, in execution order")
        ax.set_title(figure.wrap(title, fig.get_figwidth()))
        _name_ticks(ax, names)
        return figure.save(fig, fmt)
