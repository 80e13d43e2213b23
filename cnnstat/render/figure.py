"""Figures with matplotlib (the ``cnnstat[plot]`` extra), reproducible byte for byte.

matplotlib is imported inside these functions, never at import time, and without pyplot: every
figure is its own :class:`matplotlib.figure.Figure` on an Agg canvas, so no global state and no
display.  What makes two renderings identical: one font (DejaVu Sans, shipped with matplotlib),
a fixed SVG hash salt (the ids of clip paths and glyphs), text drawn as paths, and metadata with
no date and a fixed creator.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from cnnstat.errors import UsageError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PLOT_HINT = "pip install 'cnnstat[plot]'"
FORMATS = ("svg", "png", "pdf")
CREATOR = "cnnstat"
DPI = 100

STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "svg.hashsalt": "cnnstat",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titlesize": 10,
}


def require() -> None:
    """Import matplotlib; a UsageError with the install hint when it is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError("matplotlib is not installed; it is needed to draw figures",
                         PLOT_HINT) from None


@contextmanager
def style() -> Iterator[None]:
    """Draw (and save) inside this: the fixed style is read when text is made, not at saving."""
    require()
    import matplotlib

    with matplotlib.rc_context(cast(Any, STYLE)):
        yield


def new(width: float, height: float, rows: int = 1, cols: int = 1,
        sharex: bool = False) -> tuple[Figure, list[Any]]:
    """A figure of ``width`` x ``height`` inches and its axes, in reading order (call it
    inside :func:`style`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, sharex=sharex, squeeze=False)
    return fig, [ax for row in axes for ax in row]


def wrap(text: str, width_in: float, size: float = 10) -> str:
    """``text`` broken into lines that fit ``width_in`` inches at ``size`` points."""
    return textwrap.fill(text, max(20, int(width_in * 72 / (size * 0.62))),
                         break_on_hyphens=False)


def footnote(fig: Figure, text: str) -> None:
    """Small print under the axes, with room kept for it by the layout."""
    width = fig.get_figwidth()
    lines = wrap(text, width, 6.5)
    height = (lines.count("\n") + 1) * 9.5 / 72 / fig.get_figheight()
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.set(rect=(0, height + 0.005, 1, 1 - height - 0.005))  # type: ignore[call-arg]
    fig.text(0.005, 0.003, lines, fontsize=6.5, va="bottom", ha="left")


def _metadata(fmt: str) -> dict[str, Any]:
    if fmt == "svg":
        return {"Date": None, "Creator": CREATOR}
    if fmt == "pdf":
        return {"CreationDate": None, "ModDate": None, "Creator": CREATOR, "Producer": CREATOR}
    return {"Software": CREATOR}


def save(fig: Figure, fmt: str) -> bytes:
    """The figure as ``fmt`` (svg, png or pdf) bytes, identical for identical figures (call it
    inside :func:`style`)."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=DPI, metadata=_metadata(fmt))
    return buf.getvalue()


def format_of(path: str) -> str:
    """svg, png or pdf from a file name's suffix; a UsageError for any other."""
    suffix = path.rpartition(".")[2].lower() if "." in path else ""
    if suffix not in FORMATS:
        raise UsageError(f"-o {path!r}: cannot tell the figure format from the file name",
                         "end it in .svg, .png or .pdf")
    return suffix
