"""``cnnstat bench``: honest timing of built networks (:mod:`.runner`), the timing primitives
(:mod:`.timing`), the device's peaks and per-layer times (:mod:`.probe`), the host
(:mod:`.host`), and what was measured as plain data (:mod:`.results`).

Public entry: :func:`bencher` and the result types.  Importing the package imports no torch
(:func:`bencher` imports it when called).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnnstat.torch_backend.bench.results import (
    DEVICES,
    DTYPES,
    OOM,
    BatchResult,
    BenchRun,
    LayerTime,
    PerLayer,
    Probe,
    Options,
    SpecResult,
)

if TYPE_CHECKING:
    from cnnstat.torch_backend.bench.runner import Bencher


def bencher(opts: Options) -> Bencher:
    """A :class:`~.runner.Bencher` for ``opts`` (imports torch)."""
    from cnnstat.torch_backend.bench.runner import Bencher

    return Bencher(opts)


__all__ = ["DEVICES", "DTYPES", "OOM", "BatchResult", "BenchRun", "LayerTime", "Options",
           "PerLayer", "Probe", "SpecResult", "bencher"]
