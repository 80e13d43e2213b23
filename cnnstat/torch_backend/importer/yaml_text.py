"""A spec document as YAML a person would write: one line per layer (``- conv: {out: 64,
kernel: 3}``), composites and blocks as indented blocks, strings quoted only where YAML would
read them as something else.  No torch here."""

from __future__ import annotations

import json
import re
from typing import Any

_PLAIN = re.compile(r"^\$?[A-Za-z_][A-Za-z0-9_\-]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):  # YAML 1.1 reads 1e-05 as text: it wants 1.0e-05
        mantissa, e, exponent = repr(value).partition("e")
        mantissa = mantissa if "." in mantissa or "n" in mantissa else f"{mantissa}.0"
        sign = "" if not e or exponent.startswith(("-", "+")) else "+"
        return f"{mantissa}{e}{sign}{exponent}"
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text)


def flow(value: Any) -> str:
    """One line: scalars, lists and mappings of them."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{" + ", ".join(f"{scalar(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def _nested(value: Any) -> bool:
    """Holds a list of layer items (a composite's body): written as a block."""
    if isinstance(value, dict):
        return any(_nested(v) or (isinstance(v, list) and any(isinstance(x, (dict, list))
                                                              for x in v))
                   for v in value.values())
    return False


def item_lines(item: Any, indent: int) -> list[str]:
    """One list entry ``- ...`` of a layer list."""
    pad = " " * indent
    if isinstance(item, dict) and len(item) == 1:
        (kind, args), = item.items()
        if not args and args is not None and not isinstance(args, list):
            return [f"{pad}- {kind}"]
        if not _nested(args) and not isinstance(args, list):
            return [f"{pad}- {kind}: {flow(args)}"]
        return [f"{pad}- {kind}:", *mapping_lines(args, indent + 4)]
    if isinstance(item, dict):  # repeat: N, layers: [...]
        first, *rest = mapping_lines(item, indent + 2)
        return [f"{pad}- {first.lstrip()}", *rest]
    return [f"{pad}- {flow(item)}"]


def layers_lines(items: list[Any], indent: int) -> list[str]:
    return [line for item in items for line in item_lines(item, indent)]


def mapping_lines(doc: dict[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, value in doc.items():
        if isinstance(value, list) and value and any(isinstance(v, dict) for v in value):
            lines += [f"{pad}{key}:", *layers_lines(value, indent + 2)]
        elif isinstance(value, list) and any(isinstance(v, list) for v in value):
            lines.append(f"{pad}{key}:")  # branches: a list of layer lists
            for branch in value:
                lines += [f"{pad}  -", *layers_lines(branch, indent + 4)] if branch else \
                    [f"{pad}  - null"]
        elif isinstance(value, dict) and _nested(value):
            lines += [f"{pad}{key}:", *mapping_lines(value, indent + 2)]
        else:
            lines.append(f"{pad}{key}: {flow(value)}")
    return lines


def dump(doc: dict[str, Any], schema: str) -> str:
    """The spec file: the schema line (``schema``: a path or URL), then the document."""
    return "\n".join([f"# yaml-language-server: $schema={schema}",
                      *mapping_lines(doc, 0)]) + "\n"
