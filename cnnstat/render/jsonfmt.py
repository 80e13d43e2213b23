"""JSON for data commands: one top-level key per line and one list element per line.

Reports of deep networks hold thousands of layers; ``json.dumps(indent=2)`` goes through the
pure-Python encoder and spends more time than the analysis itself.  Encoding each element with
the C encoder and putting it on its own line keeps the document readable (and diffs of golden
files small) at the C encoder's speed.  The output is ordinary JSON.
"""

from __future__ import annotations

import json
from typing import Any

VERSION = "0.1.0"  # cnnstat's version (``cnnstat.__version__``), stamped in every document
SCHEMA_VERSION = 1


def header(command: str) -> dict[str, Any]:
    """The first keys of every JSON document: schema version, tool, version and command."""
    return {"schema_version": SCHEMA_VERSION, "tool": "cnnstat", "version": VERSION,
            "command": command}


def dumps(doc: dict[str, Any]) -> str:
    """``doc`` as JSON text, ending with a newline."""
    lines = ["{"]
    entries = list(doc.items())
    for i, (key, value) in enumerate(entries):
        comma = "," if i < len(entries) - 1 else ""
        if isinstance(value, list) and value:
            lines.append(f"  {json.dumps(key)}: [")
            lines += [f"    {json.dumps(item)}{',' if j < len(value) - 1 else ''}"
                      for j, item in enumerate(value)]
            lines.append(f"  ]{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"
