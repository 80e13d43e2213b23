"""The census of a forward pass: every aten operation that computes with the data, and the
module path where it ran, for the operation-level round trip of ``verify --module`` and
``cnnstat import`` (judged torch-free by :mod:`~cnnstat.torch_backend.common.operations`).

A :class:`Census` is a ``TorchDispatchMode``: it sees each operation after PyTorch has lowered
the Python call (``F.relu``, ``nn.BatchNorm2d``, ``x + y``) to aten, whether a module, a
function or a tensor method ran it, so an operation cannot hide in a ``forward()``.  An
operation is *of the data* when one of its tensor arguments was computed from the network's
input; arithmetic on parameters alone (a frozen batch norm folding its running statistics
into a scale, a weight transposed for a matmul) runs once whatever the input, and is not the
network's work.  Only the operation's name and where it ran are kept: plain data, in the order
first seen.

It runs inside the pass that counts FLOPs, so the census costs no second forward pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.weak import WeakIdKeyDictionary

from cnnstat.torch_backend.common.operations import Ops


class Census(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Counts the aten operations of the data (see the module docstring) by (name, path);
    ``where()`` names the module path of the operation running now."""

    def __init__(self, inputs: Sequence[Tensor], where: Callable[[], str]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.where = where
        self._data: WeakIdKeyDictionary = WeakIdKeyDictionary()
        for x in inputs:
            self._data[x] = True
        self._counts: dict[tuple[str, str], int] = {}

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (),
                           kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        if any(isinstance(t, Tensor) and t in self._data for t in tree_leaves((args, kwargs))):
            key = (str(func.overloadpacket.__name__), self.where())
            self._counts[key] = self._counts.get(key, 0) + 1
            for t in tree_leaves(out):
                if isinstance(t, Tensor):
                    self._data[t] = True
        return out

    def ops(self) -> Ops:
        """(aten operation, module path, how many times), in the order first seen."""
        return [(op, path, n) for (op, path), n in self._counts.items()]


@contextmanager
def module_paths(model: nn.Module) -> Iterator[Callable[[], str]]:
    """The path (``layer1.0.conv1``; '' for ``model`` itself) of the innermost module of
    ``model`` running now, kept by global forward hooks that are removed on exit.  A module
    that is not one of ``model``'s (made inside ``forward()``) runs at its caller's path."""
    from torch.nn.modules import module as module_hooks

    names: dict[int, str] = {}
    for name, m in model.named_modules(remove_duplicate=False):
        names.setdefault(id(m), name)  # a module used in two places: its first name
    stack: list[str] = []

    def enter(mod: nn.Module, args: Any) -> None:
        stack.append(names.get(id(mod), stack[-1] if stack else ""))

    def leave(mod: nn.Module, args: Any, out: Any) -> None:
        if stack:
            stack.pop()

    handles = [module_hooks.register_module_forward_pre_hook(enter),
               module_hooks.register_module_forward_hook(leave, always_call=True)]
    try:
        yield lambda: stack[-1] if stack else ""
    finally:
        for h in handles:
            h.remove()


def counted(model: nn.Module, x: Tensor) -> Ops:
    """The census of one forward pass of ``model`` on ``x`` (for tests and probes)."""
    census = Census([x], lambda: "")
    with module_paths(model) as where, torch.no_grad(), census:
        census.where = where
        model(x)
    return census.ops()
