"""``cnnstat import``'s one fused pattern of several calls: SSD's L2 normalisation,
``scale.view(1, -1, 1, 1) * F.normalize(x)`` (torchvision's SSDFeatureExtractorVGG after conv4_3),
a parameter used directly, found in the traced graph and written as one ``l2norm`` layer.

Only the exact form is fused: ``F.normalize`` with p = 2 over the channels (dim 1) of a
C x H x W map, times a one-dimensional parameter of C elements viewed as 1 x C x 1 x 1, each
call used by the multiply alone.  Any other use of ``F.normalize`` or of the parameter stays
what it was: an operation with no spec kind (E701), named.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx

from cnnstat.torch_backend.importer.meta_run import shape as _shape

DEFAULT_SCALE, DEFAULT_EPS = 20.0, 1e-12


@dataclass(frozen=True)
class Fused:
    """One L2 norm: ``x`` normalised, the parameter (its target), the normalize's eps, and the
    names of the view and normalize nodes it absorbs."""

    x: fx.Node
    param: str
    eps: float
    absorbed: tuple[str, str]

    def args(self, scales: dict[str, float]) -> dict[str, Any]:
        """The spec arguments that differ from the defaults.  ``scale`` is the parameter's value
        where all its elements are equal and it was read on a real device (``scales``); on the
        meta device, or once trained, the value is unknown and the default (20) is written:
        it changes no count."""
        out: dict[str, Any] = {}
        scale = scales.get(self.param, DEFAULT_SCALE)
        if scale != DEFAULT_SCALE:
            out["scale"] = scale
        if self.eps != DEFAULT_EPS:
            out["eps"] = self.eps
        return out


def fused(gm: fx.GraphModule) -> dict[str, Fused]:
    """Every multiply of the traced graph that is an L2 norm, by the multiply's node name."""
    out: dict[str, Fused] = {}
    for node in gm.graph.nodes:
        found = _match(gm, node)
        if found is not None:
            out[node.name] = found
    return out


def _is_mul(node: fx.Node) -> bool:
    return (node.op == "call_function" and node.target in (operator.mul, torch.mul)) or (
        node.op == "call_method" and node.target == "mul")


def _match(gm: fx.GraphModule, node: fx.Node) -> Fused | None:
    if not _is_mul(node) or len(node.args) != 2 or node.kwargs:
        return None
    a, b = node.args
    for view, norm in ((a, b), (b, a)):
        if isinstance(view, fx.Node) and isinstance(norm, fx.Node):
            found = _parts(gm, node, view, norm)
            if found is not None:
                return found
    return None


def _parts(gm: fx.GraphModule, mul: fx.Node, view: fx.Node, norm: fx.Node) -> Fused | None:
    x = norm.args[0] if norm.args else norm.kwargs.get("input")
    if not (norm.op == "call_function" and norm.target is F.normalize and isinstance(x, fx.Node)
            and view.op == "call_method" and view.target == "view" and view.args
            and isinstance(view.args[0], fx.Node) and view.args[0].op == "get_attr"):
        return None
    shape = _shape(x)
    param = _parameter(gm, str(view.args[0].target))
    if shape is None or len(shape) != 3 or param is None or tuple(param.shape) != shape[:1] \
            or _shape(mul) != shape or len(view.users) != 1 or len(norm.users) != 1:
        return None
    sizes = tuple(_flat(view.args[1:]))
    if sizes not in ((1, -1, 1, 1), (1, shape[0], 1, 1)):
        return None
    p = _arg(norm, 1, "p", 2.0)
    dim = _arg(norm, 2, "dim", 1)
    eps = _arg(norm, 3, "eps", DEFAULT_EPS)
    if p != 2 or dim not in (1, -3) or not isinstance(eps, (int, float)):
        return None
    return Fused(x, str(view.args[0].target), float(eps), (view.name, norm.name))


def _arg(node: fx.Node, i: int, name: str, default: Any) -> Any:
    if name in node.kwargs:
        return node.kwargs[name]
    return node.args[i] if i < len(node.args) else default


def _flat(args: tuple[Any, ...]) -> list[Any]:
    """``x.view((1, -1, 1, 1))``: the sizes given as one tuple."""
    return list(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else list(args)


def _parameter(gm: fx.GraphModule, target: str) -> torch.Tensor | None:
    try:
        return gm.get_parameter(target)
    except AttributeError:
        return None
