"""``cnnstat import``: repeated composites folded into named blocks with arguments, and runs of
identical calls into ``repeat``.  No torch here.

Two top-level composites are the same block when they have the same structure: the same kinds,
nesting, flags and strings, whatever their numbers.  The block is named after the module class
at the composite's path (``Bottleneck`` -> ``bottleneck``); a number that differs between the
calls becomes an argument named after its key (``out``, ``stride``; ``conv2_stride`` where two
keys share a name), a number that is always the same stays a literal, and an argument that is
always equal to an earlier one is that one, and always a whole multiple of an earlier one, over
three calls or more, is written as that multiple (``$out * 4``).  A run of
calls with the same arguments whose outputs nothing refers to by name becomes ``repeat: N``.
"""

from __future__ import annotations

import json
import re
from typing import Any

Leaf = tuple[tuple[Any, ...], Any]  # where (a path into the document) and the number
_ARGS_OF = "__args__"


def _numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, list) and bool(value) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value)


def _skeleton(doc: Any) -> Any:
    """``doc`` without its numbers."""
    if isinstance(doc, dict):
        return {k: _skeleton(v) for k, v in doc.items() if not _numeric(v)}
    if isinstance(doc, list):
        return [_skeleton(v) for v in doc]
    return doc


def _leaves(doc: Any, where: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], tuple[str, Any]]:
    """Every number: its place -> (the kind of the layer it belongs to, the value)."""
    out: dict[tuple[Any, ...], tuple[str, Any]] = {}
    if isinstance(doc, dict):
        for k, v in doc.items():
            if isinstance(v, dict) and all(not isinstance(x, (dict, list)) or _numeric(x)
                                           for x in v.values()):
                out.update({(*where, k, a): (k, x) for a, x in v.items() if _numeric(x)})
            else:
                out.update(_leaves(v, (*where, k)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.update(_leaves(v, (*where, i)))
    return out


def _default(kind: str, key: str) -> Any:
    from cnnstat.spec.models import LAYER_ARGS

    model = LAYER_ARGS.get(kind)
    field = model.model_fields.get(key) if model is not None else None
    return None if field is None else field.default


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower() or "block"


_RUN = "__run__"  # a run of top-level entries inside one module, while it is being folded
_CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")


def _runs(layers: list[Any], top_paths: list[str], modules: dict[str, str],
          referenced: set[str]) -> tuple[list[Any], dict[str, str]]:
    """Consecutive plain entries inside one module (its outermost ancestor that is not a
    container: an ``MBConv``) wrapped as one ``__run__`` entry each, their names relative to
    the module; runs that anything refers to into, or that read by ``from``, stay as they are."""
    def owner(path: str) -> str:
        parts = path.split(".") if path else []
        for k in range(1, len(parts) + 1):
            if modules.get(".".join(parts[:k]), "Sequential") not in _CONTAINERS:
                return ".".join(parts[:k])
        return ""

    out: list[Any] = []
    paths: dict[str, str] = {}
    i = 0
    while i < len(layers):
        p = owner(top_paths[i]) if i < len(top_paths) else ""
        j = i
        while j < len(layers) and j < len(top_paths) and p and owner(top_paths[j]) == p:
            j += 1
        run = layers[i:j]
        prefix = re.sub(r"[^A-Za-z0-9_\-]", "_", p) + "_"
        names = [next(iter(e.values())).get("name", "") if isinstance(next(iter(e.values())),
                                                                        dict) else ""
                 for e in run]
        if len(run) >= 2 and all(n.startswith(prefix) and n not in referenced for n in names) \
                and not any(k in json.dumps(run) for k in ('"from"', '"like"')):
            inner = [{k: {**v, "name": v["name"][len(prefix):]} for k, v in e.items()}
                     for e in run]
            out.append({_RUN: {"name": prefix[:-1], "layers": inner}})
            paths[prefix[:-1]] = p
            i = j
            continue
        out.append(layers[i])
        i += 1
    return out, paths


def fold(layers: list[Any], paths: dict[str, str], modules: dict[str, str],
         outputs: list[str], top_paths: list[str] | None = None) -> tuple[dict[str, Any],
                                                                         list[Any]]:
    """The blocks and the layer list that calls them (``paths``: a composite's name -> its
    module path; ``modules``: a module path -> its class name; ``top_paths``: each entry's
    module path, to fold runs of plain layers inside one module too)."""
    if top_paths is not None:
        layers, run_paths = _runs(layers, top_paths, modules, _referenced(layers, outputs))
        paths = {**paths, **run_paths}
    groups: dict[str, list[int]] = {}
    for i, entry in enumerate(layers):
        (kind, args), = entry.items()
        if kind in ("residual", "concat", "scale", _RUN) and isinstance(args, dict):
            unnamed = {k: v for k, v in args.items() if k != "name"}
            groups.setdefault(json.dumps(_skeleton(unnamed), sort_keys=True), []).append(i)
    blocks: dict[str, Any] = {}
    calls: dict[int, tuple[str, dict[str, Any]]] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        made = _block([layers[i] for i in members])
        if made is None:
            continue
        body, args = made
        if _RUN in body["layers"][0]:  # a run's block is its layers
            body["layers"] = body["layers"][0][_RUN]["layers"]
        first_name = next(iter(layers[members[0]].values()))["name"]
        name = _unique(_snake(modules.get(paths.get(first_name, ""), "")), blocks)
        blocks[name] = body
        for i, values in zip(members, args):
            calls[i] = (name, {"name": next(iter(layers[i].values()))["name"], **values})
    written: list[Any] = []
    for i, entry in enumerate(layers):
        if i in calls:
            written.append({calls[i][0]: calls[i][1]})
        elif _RUN in entry:  # a run met once: its layers as they were
            prefix = entry[_RUN]["name"] + "_"
            written += [{k: {**v, "name": prefix + v["name"]} for k, v in e.items()}
                        for e in entry[_RUN]["layers"]]
        else:
            written.append(entry)
    return blocks, _repeats(written, set(blocks), _referenced(written, outputs))


def _block(entries: list[Any]) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The block (args and body) of same-structure composites, and each call's arguments."""
    leaves = [_leaves(e) for e in entries]
    places = sorted({p for lv in leaves for p in lv}, key=_order(entries[0]))
    values: dict[tuple[Any, ...], list[Any]] = {}
    for place in places:
        column = []
        for lv in leaves:
            if place in lv:
                column.append(lv[place][1])
                continue
            kind = next(lv2[place][0] for lv2 in leaves if place in lv2)
            default = _default(kind, place[-1])
            if default is None:
                return None
            column.append(default)
        values[place] = column
    body = json.loads(json.dumps(entries[0]))
    (kind, inner), = body.items()
    inner.pop("name", None)
    names: dict[tuple[Any, ...], str] = {}
    used: set[str] = set()
    args: dict[str, Any] = {}
    for place, column in values.items():
        if all(v == column[0] for v in column):
            _fill(body, place, column[0])
            continue
        multiple = _multiple_of(column, values, names)
        if multiple is not None:
            _fill(body, place, multiple)
            continue
        arg = _arg_name(place, used, body)
        names[place] = arg
        args[arg] = column
        _fill(body, place, f"${arg}")
    block = {"args": {a: "required" for a in args}, "layers": [body]}
    calls = [{a: column[i] for a, column in args.items()} for i in range(len(entries))]
    return block, calls


def _fill(body: Any, place: tuple[Any, ...], value: Any) -> None:
    holder = body
    for step in place[:-1]:
        holder = holder[step]
    if isinstance(holder, dict):
        key = place[-1]
        if key not in holder and "name" in holder:  # the name stays last
            name = holder.pop("name")
            holder[key] = value
            holder["name"] = name
        else:
            holder[key] = value


def _multiple_of(column: list[Any], values: dict[tuple[Any, ...], list[Any]],
                 names: dict[tuple[Any, ...], str]) -> str | None:
    """``$a * k`` when ``column`` is always k times an argument already made."""
    for place, arg in names.items():
        if values[place] == column:
            return f"${arg}"
    if len(column) < 3 or not all(isinstance(v, int) and not isinstance(v, bool)
                                  for v in column):
        return None  # two calls are too little evidence of a multiple: literals then
    for place, arg in names.items():
        base = values[place]
        if all(isinstance(b, int) and b > 0 for b in base) and column[0] % base[0] == 0:
            k = column[0] // base[0]
            if all(c == b * k for c, b in zip(column, base)):
                return f"${arg}" if k == 1 else f"${arg} * {k}"
    return None


def _arg_name(place: tuple[Any, ...], used: set[str], body: Any) -> str:
    key = str(place[-1])
    holder = body
    for step in place[:-1]:
        holder = holder[step]
    layer = holder.get("name") if isinstance(holder, dict) else None
    candidates = [key]
    if isinstance(layer, str):
        candidates.append(f"{layer}_{key}")
    name = next((c for c in candidates if c not in used), f"{key}_{len(used) + 1}")
    name = re.sub(r"\W", "_", name)
    name = name if re.match(r"[A-Za-z_]", name) else f"a_{name}"
    used.add(name)
    return name


def _order(entry: Any) -> Any:
    order = list(_leaves(entry))
    return lambda p: order.index(p) if p in order else len(order)


def _unique(name: str, taken: dict[str, Any]) -> str:
    out, n = name, 2
    while out in taken:
        out, n = f"{name}_{n}", n + 1
    return out


def _referenced(layers: list[Any], outputs: list[str]) -> set[str]:
    text = json.dumps(layers)
    refs = set(outputs)
    refs.update(re.findall(r'"(?:from|like)": "([^"]+)"', text))
    for group in re.findall(r'"from": \[([^\]]*)\]', text):
        refs.update(re.findall(r'"([^"]+)"', group))
    return {r.split(".")[0] for r in refs}


def _repeats(layers: list[Any], blocks: set[str], referenced: set[str]) -> list[Any]:
    out: list[Any] = []
    i = 0
    while i < len(layers):
        entry = layers[i]
        (kind, args), = entry.items()
        j = i + 1
        if kind in blocks:
            same = {k: v for k, v in args.items() if k != "name"}
            while j < len(layers) and kind in layers[j] and \
                    {k: v for k, v in layers[j][kind].items() if k != "name"} == same:
                j += 1
            run = layers[i:j]
            if j - i >= 2 and not any(next(iter(e.values()))["name"] in referenced
                                      for e in run):
                out.append({"repeat": j - i, "layers": [{kind: same} if same else kind]})
                i = j
                continue
        out.append(entry)
        i += 1
    return out
