"""The cache's data format: JSON that can only ever become data.

An analysed spec is a tree of frozen dataclasses (the report, its rows, the expanded graph, the
source map) holding ints, floats, strings, tuples, dicts and Fractions.  :func:`encode` writes
it as one line of JSON in which every JSON array is a tuple, a JSON object without a ``"$"`` key
is a dict of strings, and every other value is tagged: ``{"$": "Row", "name": ..., ...}`` (a
dataclass by its field names; fields at their default are left out), ``{"$": "map", "v":
[[key, value], ...]}`` (a dict whose keys are not all strings), ``{"$": "list", "v": [...]}``,
``{"$": "frac", "v": [n, d]}``, ``{"$": "path", "v": "..."}`` and ``{"$": "Severity", "v":
"error"}``.

Decoding builds only the types named in :data:`TYPES` and :data:`ENUMS`, by calling their
constructors with the stored fields: no class is looked up by a name the file chooses, nothing
is imported that is not listed here, and nothing is executed (no pickle, no ``eval``).  A value
of any other type cannot be encoded (TypeError: that result is simply not cached); an unknown
tag, a field a constructor does not take, or malformed JSON is a ValueError (the entry is
ignored).  Objects are decoded by ``json.loads``'s object hook, in C-driven order, so reading
the 1,202-layer CIFAR ResNet's report costs little more than parsing it.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from fractions import Fraction
from pathlib import Path, PurePath
from typing import Any

#: tag -> "module:class" of every type an entry may hold (imported when first met)
TYPES = {
    "Brief": "cnnstat.core.report:Brief",
    "Report": "cnnstat.core.report:Report",
    "Row": "cnnstat.core.report:Row",
    "Totals": "cnnstat.core.report:Totals",
    "Layer": "cnnstat.core.ir:Layer",
    "Seq": "cnnstat.core.ir:Seq",
    "Join": "cnnstat.core.ir:Join",
    "Branch": "cnnstat.core.ir:Branch",
    "AutoShortcut": "cnnstat.core.ir:AutoShortcut",
    "Parallel": "cnnstat.core.ir:Parallel",
    "Window": "cnnstat.core.geometry:Window",
    "Transposed": "cnnstat.core.resample:Transposed",
    "Nearest": "cnnstat.core.resample:Nearest",
    "Interpolated": "cnnstat.core.resample:Interpolated",
    "Shift": "cnnstat.core.resample:Shift",
    "FieldSize": "cnnstat.core.receptive:FieldSize",
    "Diagnostic": "cnnstat.errors:Diagnostic",
    "Position": "cnnstat.spec.positions:Position",
    "SourceMap": "cnnstat.spec.positions:SourceMap",
    "ZooEntry": "cnnstat.zoo:ZooEntry",
}
ENUMS = {"Severity": "cnnstat.errors:Severity"}

_LOADED: dict[str, type] = {}


def _type(tag: str) -> type:
    """The class a tag names; ValueError for a tag that is not in the lists above."""
    cls = _LOADED.get(tag)
    if cls is None:
        target = TYPES.get(tag) or ENUMS.get(tag)
        if target is None:
            raise ValueError(f"unknown type {tag!r} in a cache entry")
        module, _, name = target.partition(":")
        cls = getattr(importlib.import_module(module), name)
        assert isinstance(cls, type)
        _LOADED[tag] = cls
    return cls


def encode(value: object) -> bytes:
    """One line of JSON (UTF-8) for ``value``; TypeError for a value of a type not listed."""
    return json.dumps(_to(value), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode(data: bytes) -> Any:
    """The value :func:`encode` wrote; ValueError when ``data`` is not such a value."""
    lists: list[bool] = []
    try:
        value = _tuples(json.loads(data, object_hook=lambda obj: _from(obj, lists)))
    except (TypeError, KeyError, AttributeError, ArithmeticError, RecursionError) as exc:
        raise ValueError(f"not a cache value: {type(exc).__name__}: {exc}") from None
    return _plain_lists(value) if lists else value


def _to(value: object) -> Any:
    if value is None or type(value) in (bool, int, float, str):  # not a str or int enum
        return value
    if type(value) is tuple:  # not a named tuple
        return [_to(v) for v in value]
    if type(value) is list:
        return {"$": "list", "v": [_to(v) for v in value]}
    if type(value) is dict:
        if "$" not in value and all(type(k) is str for k in value):
            return {k: _to(v) for k, v in value.items()}
        return {"$": "map", "v": [[_to(k), _to(v)] for k, v in value.items()]}
    if type(value) is Fraction:
        return {"$": "frac", "v": [value.numerator, value.denominator]}
    if isinstance(value, PurePath):
        return {"$": "path", "v": str(value)}
    return _to_typed(value)


def _to_typed(value: object) -> Any:
    tag = type(value).__name__
    if (tag not in TYPES and tag not in ENUMS) or _type(tag) is not type(value):
        raise TypeError(f"a {type(value).__qualname__} cannot be stored in the cache")
    if tag in ENUMS:
        return {"$": tag, "v": _to(value.value)}  # type: ignore[attr-defined]
    out: dict[str, Any] = {"$": tag}
    for name, default in _fields(type(value)):
        item = getattr(value, name)
        if default is _NO_DEFAULT or type(item) is not type(default) or item != default:
            out[name] = _to(item)
    return out


_NO_DEFAULT = object()
_FIELDS: dict[type, list[tuple[str, object]]] = {}


def _fields(cls: type) -> list[tuple[str, object]]:
    """(name, default) of each field the constructor takes (``_NO_DEFAULT``: required)."""
    out = _FIELDS.get(cls)
    if out is None:
        out = []
        for f in dataclasses.fields(cls):
            if f.init:
                default: object = _NO_DEFAULT
                if f.default is not dataclasses.MISSING:
                    default = f.default
                elif f.default_factory is not dataclasses.MISSING:
                    default = f.default_factory()
                out.append((f.name, default))
        _FIELDS[cls] = out
    return out


class _List(list):  # type: ignore[type-arg]
    """A decoded list (a tagged one), kept apart from the JSON arrays that are tuples."""


def _tuples(value: Any) -> Any:
    """A JSON array is a tuple (shapes, names, rows); a decoded value is left as it is."""
    if type(value) is not list:
        return value
    if list in map(type, value):  # nested arrays (a window pair, a path in a map): rarer
        return tuple(map(_tuples, value))
    return tuple(value)


def _from(obj: dict[str, Any], lists: list[bool]) -> Any:
    """``json.loads``'s object hook: called innermost first, so nested objects are decoded."""
    tag = obj.get("$")
    if tag is None:
        return {k: _tuples(x) if type(x) is list else x for k, x in obj.items()}
    v = obj.get("v")
    if tag == "map" and type(v) is list:
        return {_tuples(k): _tuples(x) for k, x in v}
    if tag == "list" and type(v) is list:
        lists.append(True)
        return _List(_tuples(x) for x in v)
    if tag == "frac" and type(v) is list and len(v) == 2:
        num, den = v
        if type(num) is int and type(den) is int:
            return Fraction(num) if den == 1 else Fraction(num, den)  # the fast path: whole
    elif tag == "path" and type(v) is str:
        return Path(v)
    elif type(tag) is str and tag in ENUMS:
        return _type(tag)(v)
    elif type(tag) is str and tag in TYPES:
        del obj["$"]
        return _type(tag)(**{k: _tuples(x) if type(x) is list else x for k, x in obj.items()})
    raise ValueError(f"a malformed value in a cache entry (tag {tag!r})")


def _plain_lists(value: Any) -> Any:
    """The decoded value with every :class:`_List` a plain list again (only where an entry held
    a list at all: rare, e.g. a permute's ``dims``), so a hit holds exactly the types a fresh
    analysis gives."""
    if type(value) is _List:
        return [_plain_lists(v) for v in value]
    if type(value) is tuple:
        return tuple(_plain_lists(v) for v in value)
    if type(value) is dict:
        return {_plain_lists(k): _plain_lists(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {n: _plain_lists(getattr(value, n)) for n, _ in _fields(type(value))}
        return dataclasses.replace(value, **changes)
    return value
