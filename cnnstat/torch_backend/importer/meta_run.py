"""One run of a traced graph on the ``meta`` device, for ``cnnstat import``: every node's output
shape and FlopCounterMode's count of the run, with nothing allocated; and the reader of those
shapes that the import's passes share (tracing, the fused L2 norm pattern)."""

from __future__ import annotations

from typing import Any

import torch
from torch import fx


class MetaRun(fx.Interpreter):
    """Each node's output shape (batch included) in ``node.meta["shape"]`` -- None for a
    non-tensor (a size, a tuple) -- and the FLOPs of the whole run as FlopCounterMode counts
    them (the module's own forward, call by call, as the trace recorded it)."""

    def run_node(self, n: fx.Node) -> Any:
        result = super().run_node(n)
        n.meta["shape"] = tuple(result.shape) if isinstance(result, torch.Tensor) else None
        return result

    def counted(self, *args: torch.Tensor) -> int:
        from torch.utils.flop_counter import FlopCounterMode

        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            self.run(*args)
        return int(counter.get_total_flops())


def shape(node: fx.Node) -> tuple[int, ...] | None:
    """The node's output shape without the batch, as :class:`MetaRun` recorded it."""
    recorded = node.meta.get("shape")
    return tuple(int(d) for d in recorded[1:]) if recorded is not None else None
