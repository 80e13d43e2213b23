"""Notice when the user's code changes what measures it.

``verify --module`` imports and runs the user's module in a child process, so nothing it does can
reach cnnstat's own process.  In that child, though, the measurement runs after the user's code:
a module that replaces ``torch.nn.Conv2d.forward``, ``FlopCounterMode.get_flop_counts``,
``nn.Module.parameters`` or one of cnnstat's own functions -- the census of its operations
among them (:class:`~cnnstat.torch_backend.common.census.Census`, set up before the snapshot,
so its dispatch is guarded like the rest) -- would be measured by the code it replaced.  A :class:`Snapshot` records, before the user's code runs, what every name of those
namespaces is bound to -- the modules themselves, their functions and classes, the classes'
attributes -- and :meth:`Snapshot.changes` names what was rebound, deleted or (on a class)
added since.  Data is not compared -- numbers, strings, flags and containers, or a name bound
to None that is given a value (a cache filled on first use): torch itself bumps counters such as
``RemovableHandle.next_id`` as it runs, and cnnstat fills its caches.

This is a guard against a module that patches torch or cnnstat (for tests, for speed, by
accident); it is not a sandbox against code written to deceive.
"""

from __future__ import annotations

import builtins
import sys
from dataclasses import dataclass
from types import ModuleType

# Modules (and their submodules) whose names the measurement relies on.
GUARDED = ("torch", "torch.nn", "torch.functional", "torch._tensor", "torch.overrides",
           "torch.utils.flop_counter", "torch.utils.hooks", "torch.utils._python_dispatch",
           # what the census of operations (cnnstat.torch_backend.common.census) relies on
           "torch.utils._pytree", "torch.utils.weak",
           "cnnstat", "builtins", "json", "os")
_DATA = (int, float, str, bytes, bool, type(None), dict, list, set, frozenset, tuple)
# Attributes filled in lazily as caches: by copyreg when an instance is first copied, by
# inspect.signature, by pydantic when a model is first used (cnnstat's spec models).
_CACHES = ("__slotnames__", "__signature__", "__pydantic_")


def _guarded(name: str) -> bool:
    if name in GUARDED:
        return True
    return name.startswith(("torch.nn.", "cnnstat."))


@dataclass(frozen=True)
class Snapshot:
    """What each guarded name was bound to: ``{(owner, attribute): value}``, and the module
    objects registered in ``sys.modules``.  Values are held (not their ids), so none can be
    freed and its id reused."""

    modules: dict[str, ModuleType]
    bindings: dict[tuple[str, str], object]
    classes: dict[str, frozenset[str]]

    @classmethod
    def take(cls) -> Snapshot:
        modules = {name: mod for name, mod in list(sys.modules.items())
                   if isinstance(mod, ModuleType) and _guarded(name)}
        modules["builtins"] = builtins
        bindings: dict[tuple[str, str], object] = {}
        classes: dict[str, frozenset[str]] = {}
        for name, mod in modules.items():
            for attr, value in list(vars(mod).items()):
                bindings[(name, attr)] = value
                if isinstance(value, type) and getattr(value, "__module__", None) == name:
                    owner = f"{name}.{attr}"
                    members = dict(vars(value))
                    classes[owner] = frozenset(members)
                    bindings.update(((owner, k), v) for k, v in members.items())
        return cls(modules, bindings, classes)

    def changes(self) -> list[str]:
        """The guarded names bound to something else now, in a stable order."""
        changed = [name for name, mod in self.modules.items()
                   if name != "builtins" and sys.modules.get(name) is not mod]
        changed += [f"{owner}.{attr}" for (owner, attr), was in self.bindings.items()
                    if not attr.startswith(_CACHES) and _rebound(was, self._now(owner, attr))]
        for owner, before in self.classes.items():
            cls = self._object(owner)
            if cls is not None:
                added = {a for a in set(vars(cls)) - before if not a.startswith(_CACHES)}
                changed += [f"{owner}.{attr}" for attr in sorted(added)]
        return sorted(set(changed))

    def _object(self, owner: str) -> object | None:
        if owner in self.modules:
            return self.modules[owner]
        mod, _, attr = owner.rpartition(".")
        holder = self.modules.get(mod)
        return self.bindings.get((mod, attr)) if holder is not None else None

    def _now(self, owner: str, attr: str) -> object:
        holder = self._object(owner)
        return vars(holder).get(attr, _MISSING) if holder is not None else _MISSING


_MISSING = object()


def _rebound(was: object, now: object) -> bool:
    if now is was or (was is None and now is not _MISSING) or _dynamo_wrapped(was, now):
        return False
    return not (isinstance(was, _DATA) and isinstance(now, _DATA))


def _dynamo_wrapped(was: object, now: object) -> bool:
    """``now`` is torch's own lazy wrapper around ``was``: importing ``torch._dynamo`` (by
    torch.compile, or by a library using it) rebinds ``torch.manual_seed`` to
    ``torch._disable_dynamo(torch.manual_seed)``, which calls the same function."""
    compile_ = sys.modules.get("torch._compile")
    disable = getattr(compile_, "_disable_dynamo", None)
    if disable is None or getattr(now, "__wrapped__", None) is not was or not callable(was):
        return False
    return getattr(now, "__code__", None) is getattr(disable(was), "__code__", _MISSING)
