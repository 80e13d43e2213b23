"""Which entry of a table keyed by module type a module is: the one rule of ``cnnstat import``'s
table (:mod:`cnnstat.torch_backend.importer.mapping`), its tracer's leaves and ``verify
--module``'s kinds (:mod:`cnnstat.torch_backend.verify.conformance`).

A subclass is not its base class.  timm's ``BatchNormAct2d(nn.BatchNorm2d)`` runs a batch norm
*and* an activation, ``Conv2dSame(nn.Conv2d)`` pads first: a module is its base's kind only when
it computes as its base does, that is when it runs the base's own ``forward`` -- and the methods
that forward runs through (``__call__``, ``_conv_forward``) -- unchanged.  A subclass that only
changes ``__init__`` (or adds a ``__repr__``) is its base; any other is traced into.  No class
names are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")

# The methods a module's call runs through: replacing one changes what it computes.
# (``_conv_forward``: what nn.Conv2d's forward calls with its weight and bias.)
BEHAVIOUR = ("forward", "__call__", "_call_impl", "_wrapped_call_impl", "_conv_forward")


def computes_as(cls: type, base: type) -> bool:
    """Whether ``cls`` runs every method of :data:`BEHAVIOUR` as ``base`` does."""
    return all(getattr(cls, name, None) is getattr(base, name, None) for name in BEHAVIOUR)


def entry(table: Mapping[type, T], cls: type) -> T | None:
    """The entry of ``cls`` in ``table``: its own, or its nearest tabled base's when ``cls``
    computes as that base does; None otherwise (a subclass with its own ``forward``)."""
    for base in cls.__mro__:
        if base in table:
            return table[base] if computes_as(cls, base) else None
    return None
