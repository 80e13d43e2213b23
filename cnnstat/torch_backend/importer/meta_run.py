"""One run of a traced graph on the ``meta`` device, for ``cnnstat import``: every node's output
shape, FlopCounterMode's count of the run and the census of its aten operations per node, with
nothing allocated; and the reader of those shapes that the import's passes share (tracing, the
fused L2 norm pattern)."""

from __future__ import annotations

from typing import Any

import torch
from torch import fx

from cnnstat.torch_backend.common.census import Census
from cnnstat.torch_backend.common.operations import Ops


class MetaRun(fx.Interpreter):
    """Each node's output shape (batch included) in ``node.meta["shape"]`` -- None for a
    non-tensor (a size, a tuple) -- and the FLOPs of the whole run as FlopCounterMode counts
    them (the module's own forward, call by call, as the trace recorded it)."""

    node = ""  # the name of the node running now

    def run_node(self, n: fx.Node) -> Any:
        self.node = n.name
        result = super().run_node(n)
        n.meta["shape"] = tuple(result.shape) if isinstance(result, torch.Tensor) else None
        return result

    def counted(self, *args: torch.Tensor) -> tuple[int, Ops]:
        """FlopCounterMode's total of one run, and its census: each aten operation of the data
        by the name of the node that ran it (one pass: the census counts as FLOPs are)."""
        from torch.utils.flop_counter import FlopCounterMode

        counter = FlopCounterMode(display=False)
        census = Census(args, lambda: self.node)
        with counter, census, torch.no_grad():
            self.run(*args)
        return int(counter.get_total_flops()), census.ops()


def shape(node: fx.Node) -> tuple[int, ...] | None:
    """The node's output shape without the batch, as :class:`MetaRun` recorded it."""
    recorded = node.meta.get("shape")
    return tuple(int(d) for d in recorded[1:]) if recorded is not None else None
