"""The figures of ``cnnstat plot`` that draw ``cnnstat bench`` measurements: the per-layer
roofline and latency/throughput against batch size."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cnnstat.render import figure


@dataclass(frozen=True)
class RoofPoint:
    """One operation: its arithmetic intensity (FLOP/byte) and achieved FLOP/s."""

    name: str
    intensity: float
    flops_per_s: float


def roofline(points: Sequence[RoofPoint], peak_flops_per_s: float | None,
             bytes_per_s: float | None, title: str, footnote: str, fmt: str) -> bytes:
    """Achieved FLOP/s against intensity on log-log axes, under the two measured roofs
    min(peak, bandwidth x intensity) when the probe ran."""
    with figure.style():
        fig, (ax,) = figure.new(8.0, 6.0)
        xs = [p.intensity for p in points]
        ax.scatter(xs, [p.flops_per_s for p in points], s=14, color="C0", zorder=3,
                   label="operations (conv, linear)")
        for p in sorted(points, key=lambda p: -p.flops_per_s)[:8]:
            ax.annotate(p.name, (p.intensity, p.flops_per_s), xytext=(3, 3),
                        textcoords="offset points", fontsize=6)
        if peak_flops_per_s and bytes_per_s:
            ridge = peak_flops_per_s / bytes_per_s
            lo = min([*xs, ridge]) / 4
            hi = max([*xs, ridge]) * 4
            ax.plot([lo, ridge, hi], [bytes_per_s * lo, peak_flops_per_s, peak_flops_per_s],
                    color="C3", label=f"measured roofs (ridge {ridge:.3g} FLOP/byte)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("arithmetic intensity (FLOP per byte moved; log scale)")
        ax.set_ylabel("achieved FLOP/s (analytic FLOPs / median time; log scale)")
        ax.set_title(figure.wrap(title, fig.get_figwidth()))
        ax.legend(loc="lower right")
        figure.footnote(fig, footnote)
        return figure.save(fig, fmt)


@dataclass(frozen=True)
class BatchPoint:
    """One timed batch size: latency statistics in seconds and throughput in images/s."""

    batch: int
    median_s: float
    p10_s: float
    p90_s: float
    images_per_s: float


def bench(series: Sequence[tuple[str, Sequence[BatchPoint]]], title: str, footnote: str,
          fmt: str) -> bytes:
    """Two panels against batch size (log 2): median latency with its p10-p90 range, and
    images per second; one line per spec."""
    with figure.style():
        fig, (lat, thr) = figure.new(10.0, 4.8, cols=2)
        for i, (name, points) in enumerate(series):
            b = [p.batch for p in points]
            med = [p.median_s * 1e3 for p in points]
            err = [[m - p.p10_s * 1e3 for m, p in zip(med, points)],
                   [p.p90_s * 1e3 - m for m, p in zip(med, points)]]
            lat.errorbar(b, med, yerr=err, marker="o", capsize=3, color=f"C{i % 10}", label=name)
            thr.plot(b, [p.images_per_s for p in points], marker="o", color=f"C{i % 10}",
                     label=name)
        for ax in (lat, thr):
            ax.set_xscale("log", base=2)
            ax.set_xlabel("batch size (images; log 2 scale)")
            ax.legend()
        lat.set_ylabel("median latency per call (ms; bars: p10 to p90)")
        thr.set_ylabel("throughput (images/s)")
        fig.suptitle(figure.wrap(title, fig.get_figwidth()), fontsize=10)
        figure.footnote(fig, footnote)
        return figure.save(fig, fmt)
