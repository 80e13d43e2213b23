"""The receptive-field figure of ``cnnstat plot rf``: one unit's theoretical field on the input
grid and, beside it, the effective field (Luo et al. 2016) as a heat map."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cnnstat.render import figure

Span = tuple[int, int]


@dataclass(frozen=True)
class FieldBox:
    """A unit's field in input pixels: ``field`` unclipped (may reach into padding), ``seen``
    the rows and columns it depends on (None: only padding)."""

    input_size: tuple[int, int]
    field: tuple[Span, Span]
    seen: tuple[Span | None, Span | None]
    label: str


def _draw_box(ax: Any, box: FieldBox) -> None:
    from matplotlib.patches import Rectangle

    h, w = box.input_size
    ax.add_patch(Rectangle((-0.5, -0.5), w, h, facecolor="#f2f2f2", edgecolor="black",
                           label=f"input {h}x{w}"))
    (r0, r1), (c0, c1) = box.field
    ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1, fill=False,
                           edgecolor="C3", linewidth=1.5, linestyle="--",
                           label=f"field {r1 - r0 + 1}x{c1 - c0 + 1} (padding included)"))
    rows, cols = box.seen
    if rows is not None and cols is not None:
        ax.add_patch(Rectangle((cols[0] - 0.5, rows[0] - 0.5), cols[1] - cols[0] + 1,
                               rows[1] - rows[0] + 1, facecolor="C0", alpha=0.35,
                               label="input pixels it depends on"))


def _frame(ax: Any, box: FieldBox) -> None:
    h, w = box.input_size
    (r0, r1), (c0, c1) = box.field
    ax.set_xlim(min(-0.5, c0 - 1.5), max(w - 0.5, c1 + 1.5))
    ax.set_ylim(max(h - 0.5, r1 + 1.5), min(-0.5, r0 - 1.5))
    ax.set_aspect("equal")
    ax.set_xlabel("input column (pixels)")
    ax.set_ylabel("input row (pixels)")


def field(box: FieldBox, erf: Sequence[Sequence[float]] | None, title: str, erf_label: str,
          fmt: str) -> bytes:
    """The theoretical field; with ``erf`` (an H x W grid scaled to a maximum of 1) the
    effective field's heat map beside it, with the theoretical box drawn over it."""
    with figure.style():
        fig, axes = figure.new(12.0 if erf is not None else 6.5, 6.0,
                               cols=2 if erf is not None else 1)
        _draw_box(axes[0], box)
        _frame(axes[0], box)
        axes[0].set_title(figure.wrap(box.label, 5.5, 9), fontsize=9)
        axes[0].legend(loc="upper right", fontsize=7)
        if erf is not None:
            image = axes[1].imshow(erf, cmap="viridis", vmin=0.0, vmax=1.0,
                                   interpolation="nearest")
            fig.colorbar(image, ax=axes[1], label="|d unit / d input|, scaled to max 1")
            (r0, r1), (c0, c1) = box.field
            from matplotlib.patches import Rectangle

            axes[1].add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1,
                                        fill=False, edgecolor="C3", linestyle="--"))
            _frame(axes[1], box)
            axes[1].set_title(figure.wrap(erf_label, 5.5, 9), fontsize=9)
        fig.suptitle(figure.wrap(title, fig.get_figwidth()), fontsize=10)
        return figure.save(fig, fmt)
