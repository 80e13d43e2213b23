"""cnnstat: exact shapes, parameters, MACs, memory and receptive fields of CNN specs.

The public API, for scripts (``analyze`` and ``load`` never import torch)::

    import cnnstat
    report = cnnstat.analyze("vgg16", input=(3, 224, 224), batch=8)
    print(report.totals.params, report.totals.macs, report.totals.flops)
    for layer in report.layers: ...
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnstat.render.jsonfmt import VERSION as __version__

if TYPE_CHECKING:
    from cnnstat.core.report import Report
    from cnnstat.spec.loader import Loaded

__all__ = ["__version__", "analyze", "build", "load"]


def load(spec: str | Path | Loaded, *, input: tuple[int, ...] | None = None,
         set: Mapping[str, object] | None = None) -> Loaded:
    """The validated, expanded spec: a built-in name (``"vgg16"``), a path, or ``"-"``.

    ``input`` overrides the input shape (C, H, W), or only its trailing sizes (H, W); ``set``
    overrides spec parameters (``{"classes": 10}``).  Raises :class:`cnnstat.errors.SpecError`
    for a rejected spec and :class:`cnnstat.errors.UsageError` when it cannot be read."""
    from cnnstat import analysis

    return analysis.load(spec, input=input, set=set)


def analyze(spec: str | Path | Loaded, *, input: tuple[int, ...] | None = None, batch: int = 1,
            set: Mapping[str, object] | None = None) -> Report:
    """The exact analytic report of ``spec`` (a name, a path, or what :func:`load` returned):
    ``report.totals.params``, ``.macs`` (multiply-accumulates, bias excluded), ``.flops``
    (2 x MACs), ``.activations``; ``report.layers``, one row per operation.  MACs, FLOPs and
    activations are for the whole ``batch``; parameters are not.  Never imports torch."""
    from cnnstat import analysis

    return analysis.analyze(spec, input=input, batch=batch, set=set)


def build(spec: Any, *, overrides: dict[str, object] | None = None,
          input_shape: tuple[int, ...] | None = None, device: Any = None) -> Any:
    """Build ``spec`` (a built-in name, a path, a loaded spec or a report) as a torch.nn.Module.

    Module names are the spec's layer names (``model.get_submodule("stage2.block1.conv2")``).
    Imports torch only when called; without it, raises UsageError with the install hint.
    """
    from cnnstat.torch_backend import require

    require("torch")
    from cnnstat.torch_backend.build import build as build_net

    return build_net(spec, overrides=overrides, input_shape=input_shape, device=device)
