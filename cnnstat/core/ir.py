"""The expanded network: the graph the analytic engine walks and the torch builder builds.

A spec expands to a tree of three node types.  :class:`Layer` is one operation of a registered
kind with concrete arguments; :class:`Seq` runs nodes one after another; :class:`Parallel` feeds
its input to every branch (or, with ``split``, an equal share of the channels to each) and merges
the branch outputs by ``concat``, ``add`` or ``mul``.  Residual blocks, dense layers and
squeeze-and-excitation are all :class:`Parallel` nodes; an empty branch is the identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Union

from cnnstat.errors import SpecPath

Merge = Literal["concat", "add", "mul", "side"]
ShortcutMode = Literal["projection", "pad", "optional"]


@dataclass(frozen=True)
class Layer:
    """One operation.  ``args`` holds concrete values; sizes are ``(h, w)`` pairs."""

    name: str
    kind: str
    args: dict[str, Any]
    path: SpecPath = ()
    arg_paths: dict[str, SpecPath] = field(default_factory=dict, compare=False)

    def arg_path(self, arg: str) -> SpecPath:
        """Where ``arg`` was written, for located errors (the layer item when not written)."""
        return self.arg_paths.get(arg, self.path)


@dataclass(frozen=True)
class Seq:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Branch:
    """One input-to-merge path of a :class:`Parallel`; ``name`` is '' when inlined."""

    name: str
    body: Seq


@dataclass(frozen=True)
class AutoShortcut:
    """A residual shortcut resolved once shapes are known.

    ``projection``: identity when the body keeps the shape, else a strided 1x1 conv + bn.
    ``pad``: identity, else subsample and zero-pad channels (ResNet option A, no parameters).
    ``optional``: identity, else no shortcut at all (MobileNetV2's inverted residuals).
    """

    name: str
    mode: ShortcutMode
    path: SpecPath = ()


@dataclass(frozen=True)
class Parallel:
    name: str
    merge: Merge
    branches: tuple[Branch, ...]
    split: bool = False
    path: SpecPath = ()


Node = Union[Layer, Seq, Parallel, AutoShortcut]


def iter_layers(node: Node) -> list[Layer]:
    """All leaf layers in execution order (auto shortcuts are skipped: they are not resolved)."""
    if isinstance(node, Layer):
        return [node]
    if isinstance(node, Seq):
        return [leaf for item in node.items for leaf in iter_layers(item)]
    if isinstance(node, Parallel):
        return [leaf for br in node.branches for leaf in iter_layers(br.body)]
    return []
