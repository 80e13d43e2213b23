"""cnnstat: exact shapes, parameters, MACs, memory and receptive fields of CNN specs."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def build(spec: Any, *, overrides: dict[str, object] | None = None,
          input_shape: tuple[int, ...] | None = None, device: Any = None) -> Any:
    """Build ``spec`` (a built-in name, a path, a loaded spec or a report) as a torch.nn.Module.

    Module names are the spec's layer names (``model.get_submodule("stage2.block1.conv2")``).
    Imports torch only when called; without it, raises UsageError with the install hint.
    """
    from cnnstat.torch_backend import require

    require("torch")
    from cnnstat.torch_backend.net import build as build_net

    return build_net(spec, overrides=overrides, input_shape=input_shape, device=device)
