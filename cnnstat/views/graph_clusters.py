"""The blocks of a diagram as nested clusters, from the hierarchical names of its boxes.

A cluster is drawn for every name prefix (``layer3``, ``layer3.2``) that holds at least two
boxes; a prefix with one box adds nothing to read and is left out.  Boxes and clusters keep
execution order: a cluster stands where its first box does.
"""

from __future__ import annotations

from collections.abc import Sequence

from cnnstat.render.diagram import Cluster


def clusters(boxes: Sequence[tuple[str, str]]) -> list[str | Cluster]:
    """``boxes`` (name, box id) in execution order, nested into clusters by name prefix."""
    counts: dict[str, int] = {}
    for name, _ in boxes:
        for prefix in _prefixes(name):
            counts[prefix] = counts.get(prefix, 0) + 1
    kept = {p for p, n in counts.items() if n >= 2}
    numbering: dict[str, str] = {}
    for name, _ in boxes:
        for prefix in _prefixes(name):
            if prefix in kept:
                numbering.setdefault(prefix, f"c{len(numbering)}")
    return _nest([(name, box_id, [p for p in _prefixes(name) if p in kept])
                  for name, box_id in boxes], 0, numbering)


def _prefixes(name: str) -> list[str]:
    """The proper prefixes of a dotted name, outermost first: a.b.c -> a, a.b."""
    parts = name.split(".")
    return [".".join(parts[:k]) for k in range(1, len(parts))]


def _nest(items: list[tuple[str, str, list[str]]], level: int,
          numbering: dict[str, str]) -> list[str | Cluster]:
    """``items`` (name, id, kept prefixes) whose first ``level`` kept prefixes are shared."""
    out: list[str | Cluster] = []
    i = 0
    while i < len(items):
        name, box_id, chain = items[i]
        if len(chain) <= level:
            out.append(box_id)
            i += 1
            continue
        prefix = chain[level]
        j = i
        while j < len(items) and len(items[j][2]) > level and items[j][2][level] == prefix:
            j += 1
        out.append(Cluster(numbering[prefix], prefix, tuple(_nest(items[i:j], level + 1,
                                                                  numbering))))
        i = j
    return out
