"""Laying a diagram out with Graphviz: DOT text to SVG, PNG or PDF bytes.

Needs the ``graphviz`` Python package (the ``cnnstat[graph]`` extra) and Graphviz's ``dot``
program; either missing is a :class:`~cnnstat.errors.UsageError` that names the install step.
The output is what ``dot`` makes of the text: the same text and the same ``dot`` give the same
SVG and PNG, byte for byte; a PDF is made with ``SOURCE_DATE_EPOCH`` fixed, so the dates
written in it do not change between runs either.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from cnnstat.errors import UsageError

LAID_OUT = ("svg", "png", "pdf")
INSTALL_DOT = ("install Graphviz's dot program (Debian/Ubuntu: apt-get install graphviz; "
               "macOS: brew install graphviz; conda: conda install graphviz), or write .dot or "
               ".mmd, which need neither")
INSTALL_PACKAGE = ("pip install 'cnnstat[graph]' (the graphviz Python package), or write .dot or "
                   ".mmd, which need neither")


def lay_out(dot_text: str, fmt: str) -> bytes:
    """``dot -T<fmt>`` of ``dot_text``."""
    if fmt not in LAID_OUT:
        raise ValueError(f"not a laid-out format: {fmt}")
    try:
        import graphviz
    except ImportError:
        raise UsageError(f"drawing .{fmt} needs the graphviz Python package",
                         INSTALL_PACKAGE) from None
    try:
        with _fixed_dates():
            data = graphviz.Source(dot_text).pipe(format=fmt, engine="dot")
    except graphviz.ExecutableNotFound:
        raise UsageError(f"drawing .{fmt} needs Graphviz's dot program, which is not on PATH",
                         INSTALL_DOT) from None
    except graphviz.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode("utf-8", "replace").strip()
        raise UsageError(f"Graphviz's dot failed ({detail or exc.returncode})") from None
    if not isinstance(data, bytes):
        raise TypeError("graphviz returned text, not bytes")
    return data


@contextmanager
def _fixed_dates() -> Iterator[None]:
    """SOURCE_DATE_EPOCH=0 while dot runs (cairo writes it as the PDF's dates)."""
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = "0"
    try:
        yield
    finally:
        if old is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old
