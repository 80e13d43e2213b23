"""The expanded network: the graph the analytic engine walks and the torch builder builds.

A spec expands to a tree of nodes.  :class:`Layer` is one operation of a registered kind with
concrete arguments; :class:`Seq` runs nodes one after another; :class:`Parallel` feeds its input
to every branch (or, with ``split``, an equal share of the channels to each) and merges the
branch outputs by ``concat``, ``add`` or ``mul``.  Residual blocks, dense layers and
squeeze-and-excitation are all :class:`Parallel` nodes; an empty branch is the identity.

The tree is a DAG once references are followed: every named output (a layer, a merge, a named
block or composite, a network input) is a *tensor* that a later :class:`Layer` (or :class:`Seq`)
may read instead of its predecessor's output (``inputs``, ``source``), and a :class:`Join` merges
any earlier tensors.  A :class:`Seq` may also record its own input under a name (``entry``: a
block's ``$in``), another name of a tensor already written.  A reference
is a :data:`Ref`: the candidate full names of what was written, innermost scope first
(``dec.up1.enc1``, ``dec.enc1``, ``enc1``); the analysis resolves each to the first candidate that
names an earlier tensor, and the resolved graph it returns holds one candidate per reference.
A layer's ``like`` (upsample or crop to match another tensor) is a reference resolved the same
way; the layer reads only that tensor's size, so it is a dependency for memory and for the built
network, not for receptive fields.

A :class:`Deferred` node is a named block whose layers depend on the shape of its input
(``$in.channels``): the expander cannot write them before the shapes are known, so the analysis
expands it when its walk reaches it, and the resolved graph it returns holds the expansion.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from cnnstat.errors import SpecPath

Merge = Literal["concat", "add", "mul", "side"]
JoinMerge = Literal["concat", "add", "mul"]
Ref = tuple[str, ...]
"""The candidate full names of a referenced tensor, innermost scope first."""
ShortcutMode = Literal["projection", "pad", "optional"]


@dataclass(frozen=True)
class Layer:
    """One operation.  ``args`` holds concrete values; sizes are ``(h, w)`` pairs."""

    name: str
    kind: str
    args: dict[str, Any]
    path: SpecPath = ()
    arg_paths: dict[str, SpecPath] = field(default_factory=dict, compare=False)
    inputs: tuple[Ref, ...] = ()  # what it reads instead of its predecessor's output (``from``)
    like: Ref | None = None  # a tensor whose H x W it takes (``like``: upsample, crop)

    def arg_path(self, arg: str) -> SpecPath:
        """Where ``arg`` was written, for located errors (the layer item when not written)."""
        return self.arg_paths.get(arg, self.path)


@dataclass(frozen=True)
class Seq:
    items: tuple[Node, ...]
    name: str = ""  # a named block's body: its output is the tensor of that name
    source: Ref | None = None  # a tensor it reads instead of its predecessor's output (``from``)
    entry: str = ""  # the name its input is also known by (a block's ``$in``), when read
    path: SpecPath = ()  # where ``from`` was written, for located errors


@dataclass(frozen=True)
class Join:
    """A merge of earlier tensors, written ``add: {from: [a, b]}`` (or ``concat``, ``mul``)."""

    name: str
    merge: JoinMerge
    inputs: tuple[Ref, ...]
    path: SpecPath = ()


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
    training: bool = False  # a side output that runs only in training mode


@dataclass(frozen=True, eq=False)
class Deferred:
    """A named block expanded once its input's shape is known (it reads ``$in.channels``).

    ``expand(shape, work)`` returns the block's subtree for an input of ``shape``; ``work`` is a
    dict the walk owns, in which the expander keeps the expansion work done during that walk (so
    its limits hold per analysis).  Only the analysis meets this node: its resolved graph holds
    the expansion instead.
    """

    name: str
    expand: Callable[[tuple[int, ...], dict[str, int]], "Node"]
    path: SpecPath = ()


Node = Union[Layer, Seq, Parallel, AutoShortcut, Join, Deferred]


def iter_layers(node: Node) -> list[Layer]:
    """All leaf layers in execution order (auto shortcuts are skipped: they are not resolved)."""
    if isinstance(node, Layer):
        return [node]
    if isinstance(node, Seq):
        return [leaf for item in node.items for leaf in iter_layers(item)]
    if isinstance(node, Parallel):
        return [leaf for br in node.branches for leaf in iter_layers(br.body)]
    return []


def candidates(scope: str, ref: str) -> Ref:
    """Where ``ref`` written in ``scope`` may point, innermost first: in ``a.b``, ``x`` is
    ``a.b.x``, then ``a.x``, then ``x``."""
    parts = scope.split(".") if scope else []
    return tuple(".".join([*parts[:k], ref]) for k in range(len(parts), -1, -1))
