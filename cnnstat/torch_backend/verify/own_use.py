"""Where the parameters a container module holds itself do their work, for ``verify --module``.

torchvision's CNBlock holds its layer scale and SSDFeatureExtractorVGG its L2 norm's scale as bare
``nn.Parameter``s used in their own ``forward()``.  Such a holder's own row is its forward hook,
which fires after everything it runs: SSD's scale, used right after conv4_3, would be measured
after the extra layers and the walk would meet it out of order.  :class:`OwnUse` watches the
tensors computed from those parameters, so the row is placed where a parameter was first used,
with the shape of what it computes with the data (the rescaled map), not the holder's output.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor
from torch.overrides import TorchFunctionMode


def _tensors(value: Any) -> list[Tensor]:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


class OwnUse(TorchFunctionMode):
    """For each holder (by name): ``first``, how many leaf calls had fired (``len(fired)``) when
    one of its parameters was first used; ``shape``, the per-image shape of the first tensor
    computed from one of them and the data (a parameter reshaped alone is followed on)."""

    def __init__(self, owned: dict[int, str], fired: list[Any]) -> None:
        super().__init__()
        self.owned = dict(owned)  # id(tensor) -> holder: its parameters, then what they compute
        self.fired = fired
        self.first: dict[str, int] = {}
        self.shape: dict[str, tuple[int, ...]] = {}
        self._alive: list[Tensor] = []  # computed tensors kept, so that no id is reused

    def __torch_function__(self, func: Any, types: Any, args: Any = (),
                           kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        tensors = _tensors((args, kwargs or {}))
        holder = next((self.owned[id(t)] for t in tensors if id(t) in self.owned), None)
        if holder is None or not isinstance(out, Tensor):
            return out
        self.first.setdefault(holder, len(self.fired))
        if all(id(t) in self.owned for t in tensors):  # the parameter reshaped: followed on
            self.owned[id(out)] = holder
            self._alive.append(out)
        else:  # the parameter meets the data (``scale * x``): this is what it computes
            self.shape.setdefault(holder, tuple(int(d) for d in out.shape[1:]))
        return out


def placed(fired: list[tuple[str, Any, Any]], use: OwnUse) -> list[tuple[str, Any, Any]]:
    """``fired`` (name, module, shape) with each watched holder's row moved to where its
    parameters were first used, and given the shape of what they computed with the data."""
    keyed = []
    for i, (name, mod, shape) in enumerate(fired):
        if name in use.first:
            keyed.append(((use.first[name], 0), (name, mod, use.shape.get(name, shape))))
        else:
            keyed.append(((i, 1), (name, mod, shape)))
    return [entry for _, entry in sorted(keyed, key=lambda k: k[0])]
