"""A small JSON Schema (2020-12) validator for the keywords our spec schema uses.

No jsonschema package is a dependency; this covers exactly the vocabulary that
``cnnstat schema`` emits and refuses any other keyword, so a schema change that needs more is
noticed rather than silently accepted.
"""

from __future__ import annotations

import re
from typing import Any

ANNOTATIONS = {"$schema", "$id", "title", "description", "default", "$defs", "examples"}
KEYWORDS = {"$ref", "type", "enum", "const", "properties", "required", "additionalProperties",
            "propertyNames", "minProperties", "maxProperties", "items", "minItems", "maxItems",
            "pattern", "minLength", "minimum", "anyOf", "oneOf", "allOf", "not"}

_TYPES = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


class Validator:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root

    def errors(self, value: Any, schema: Any = None, at: str = "") -> list[str]:
        """Every violation, as 'path: reason' (an empty list when ``value`` is valid)."""
        schema = self.root if schema is None else schema
        if schema is True or schema == {}:
            return []
        if schema is False:
            return [f"{at or '/'}: not allowed"]
        unknown = set(schema) - KEYWORDS - ANNOTATIONS
        if unknown:
            raise ValueError(f"unsupported schema keywords {sorted(unknown)} at {at or '/'}")
        out: list[str] = []
        for key in schema:
            if key in KEYWORDS:
                out += getattr(self, "_" + key.lstrip("$"))(value, schema[key], schema, at)
        return out

    def valid(self, value: Any, schema: Any) -> bool:
        return not self.errors(value, schema)

    def _ref(self, value: Any, ref: str, _s: dict, at: str) -> list[str]:
        if not ref.startswith("#/"):
            raise ValueError(f"only local references are supported, got {ref}")
        target: Any = self.root
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        return self.errors(value, target, at)

    def _type(self, value: Any, types: Any, _s: dict, at: str) -> list[str]:
        names = types if isinstance(types, list) else [types]
        return [] if any(_TYPES[t](value) for t in names) else [f"{at}: expected {types}"]

    def _enum(self, value: Any, options: list[Any], _s: dict, at: str) -> list[str]:
        ok = any(value == o and type(value) is type(o) for o in options)
        return [] if ok else [f"{at}: {value!r} is not one of {options}"]

    def _const(self, value: Any, const: Any, _s: dict, at: str) -> list[str]:
        return self._enum(value, [const], _s, at)

    def _properties(self, value: Any, props: dict, _s: dict, at: str) -> list[str]:
        if not isinstance(value, dict):
            return []
        return [e for k, sub in props.items() if k in value
                for e in self.errors(value[k], sub, f"{at}/{k}")]

    def _required(self, value: Any, keys: list[str], _s: dict, at: str) -> list[str]:
        if not isinstance(value, dict):
            return []
        return [f"{at}: missing {k!r}" for k in keys if k not in value]

    def _additionalProperties(self, value: Any, sub: Any, schema: dict, at: str) -> list[str]:
        if not isinstance(value, dict):
            return []
        extra = [k for k in value if k not in schema.get("properties", {})]
        return [e for k in extra for e in self.errors(value[k], sub, f"{at}/{k}")]

    def _propertyNames(self, value: Any, sub: Any, _s: dict, at: str) -> list[str]:
        if not isinstance(value, dict):
            return []
        return [e for k in value for e in self.errors(k, sub, f"{at}/<key {k}>")]

    def _minProperties(self, value: Any, n: int, _s: dict, at: str) -> list[str]:
        return [f"{at}: fewer than {n} keys"] if isinstance(value, dict) and len(value) < n else []

    def _maxProperties(self, value: Any, n: int, _s: dict, at: str) -> list[str]:
        return [f"{at}: more than {n} keys"] if isinstance(value, dict) and len(value) > n else []

    def _items(self, value: Any, sub: Any, _s: dict, at: str) -> list[str]:
        if not isinstance(value, list):
            return []
        return [e for i, v in enumerate(value) for e in self.errors(v, sub, f"{at}/{i}")]

    def _minItems(self, value: Any, n: int, _s: dict, at: str) -> list[str]:
        return [f"{at}: fewer than {n} items"] if isinstance(value, list) and len(value) < n else []

    def _maxItems(self, value: Any, n: int, _s: dict, at: str) -> list[str]:
        return [f"{at}: more than {n} items"] if isinstance(value, list) and len(value) > n else []

    def _minLength(self, value: Any, n: int, _s: dict, at: str) -> list[str]:
        return [f"{at}: shorter than {n}"] if isinstance(value, str) and len(value) < n else []

    def _minimum(self, value: Any, n: float, _s: dict, at: str) -> list[str]:
        small = _TYPES["number"](value) and value < n
        return [f"{at}: {value!r} is less than {n}"] if small else []

    def _pattern(self, value: Any, pattern: str, _s: dict, at: str) -> list[str]:
        if isinstance(value, str) and not re.search(pattern, value):
            return [f"{at}: {value!r} does not match {pattern}"]
        return []

    def _anyOf(self, value: Any, subs: list[Any], _s: dict, at: str) -> list[str]:
        return [] if any(self.valid(value, s) for s in subs) else [f"{at}: matches no anyOf"]

    def _allOf(self, value: Any, subs: list[Any], _s: dict, at: str) -> list[str]:
        return [e for s in subs for e in self.errors(value, s, at)]

    def _oneOf(self, value: Any, subs: list[Any], _s: dict, at: str) -> list[str]:
        n = sum(self.valid(value, s) for s in subs)
        return [] if n == 1 else [f"{at}: matches {n} of the oneOf alternatives, not exactly 1"]

    def _not(self, value: Any, sub: Any, _s: dict, at: str) -> list[str]:
        return [f"{at}: matches a 'not' schema"] if self.valid(value, sub) else []
