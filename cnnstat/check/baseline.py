"""Per-layer snapshots of specs, and what changed between two of them.

A baseline is a JSON document of every checked spec's layers (name, kind, output shape, params,
MACs per image), keyed by spec name.  ``check --baseline`` fails (E606) on any change in shapes,
parameters or MACs; ``diff`` shows the same comparison as a table.  Layers are matched by their
stable hierarchical names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cnnstat.analysis.outputs import write_text
from cnnstat.check.files import FileResult, Target
from cnnstat.core import conventions
from cnnstat.core.report import Report
from cnnstat.errors import Diagnostic, Severity, SpecPath, UsageError
from cnnstat.render import numbers
from cnnstat.render.jsonfmt import header
from cnnstat.spec.reading import read_file, read_stdin

FIELDS = ("kind", "output_shape", "params", "macs")
MAX_CHANGES = 20  # per spec; a resolution change moves every layer
MAX_JSON_BYTES = 64 * 2**20  # a baseline or summary document; refused beyond, before reading


def layer_snapshot(report: Report) -> list[dict[str, Any]]:
    return [{"name": r.name, "kind": r.kind, "output_shape": list(r.output_shape),
             "params": r.params, "macs": r.macs} for r in report.rows]


def snapshot(report: Report) -> dict[str, Any]:
    t = report.totals
    return {"title": report.title, "input_shape": list(report.input_shape),
            "totals": {"params": t.params, "macs": t.macs // report.batch,
                       "activations": t.activations // report.batch},
            "layers": layer_snapshot(report)}


def document(results: list[FileResult]) -> dict[str, Any]:
    """The baseline of every spec that analysed (a spec that failed has nothing to pin)."""
    specs: dict[str, Any] = {}
    for result in results:
        for target in result.targets:
            if target.report is not None:
                specs[_key(specs, target, result)] = {"file": result.path,
                                                      **snapshot(target.report)}
    return {**header("baseline"), "conventions": {"macs": conventions.MACS,
                                                  "params": conventions.PARAMS},
            "specs": specs}


def _key(specs: dict[str, Any], target: Target, result: FileResult) -> str:
    """The spec name, unless two checked files share it (then the file disambiguates)."""
    return target.name if target.name not in specs else f"{target.name} ({result.path})"


def write(path: str, results: list[FileResult]) -> None:
    """Write the baseline (:mod:`cnnstat.analysis.outputs`): a file is replaced atomically, so
    a reader, or the next run after a kill, sees the old baseline or the new one, never an empty
    file; UsageError when it cannot be written."""
    write_text(path, json.dumps(document(results), indent=2) + "\n", option="--write-baseline")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def read_json(path: str) -> Any:
    """A JSON document on disk; UsageError (exit 2) when it cannot be read, is larger than
    :data:`MAX_JSON_BYTES` (refused before it is read whole), does not parse, holds NaN or
    Infinity, or nests deeper than the parser can follow."""
    raw = read_stdin(MAX_JSON_BYTES) if path == "-" else read_file(path, MAX_JSON_BYTES)
    if len(raw) > MAX_JSON_BYTES:
        raise UsageError(f"{path}: larger than {MAX_JSON_BYTES // 2**20} MiB, too large for a "
                         "cnnstat JSON document",
                         "a baseline of a 50,000-layer spec is about 15 MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not a JSON document (not UTF-8: {exc.reason})") from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:
        raise UsageError(f"{path}: not a JSON document ({exc})") from None
    except RecursionError:
        raise UsageError(f"{path}: not a cnnstat JSON document (nested too deeply)") from None


def read(path: str) -> dict[str, Any]:
    """A baseline document; UsageError when it is missing or not one."""
    doc = read_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("specs"), dict):
        raise UsageError(f"{path}: not a cnnstat baseline (no 'specs' mapping)",
                         "write one with 'cnnstat check PATH... --write-baseline FILE'")
    for name, entry in doc["specs"].items():
        layers = entry.get("layers") if isinstance(entry, dict) else None
        if not isinstance(layers, list) or not all(isinstance(x, dict) for x in layers):
            raise UsageError(f"{path}: spec '{name}' has no list of layer records",
                             "write the baseline again with --write-baseline")
        for i, layer in enumerate(layers):
            problem = record_problem(layer)
            if problem:
                raise UsageError(f"{path}: spec '{name}', layer record {i}: {problem}",
                                 "write the baseline again with --write-baseline")
    return doc


MAX_COUNT = 10**30  # far above any figure a spec can reach (sizes stop at 2**31 - 1)


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_COUNT


def record_problem(layer: dict[str, Any]) -> str | None:
    """What is wrong with one layer record of a baseline or summary document, if anything."""
    if not isinstance(layer.get("name"), str):
        return "'name' is not a string"
    if "kind" in layer and not isinstance(layer["kind"], str):
        return "'kind' is not a string"
    shape = layer.get("output_shape")
    if shape is not None and not (isinstance(shape, list) and all(_count(d) for d in shape)):
        return "'output_shape' is not a list of sizes"
    for key in ("params", "macs"):
        if key in layer and not _count(layer[key]):
            return f"'{key}' is not a whole number from 0 to 10**30"
    return None


# -- matching and changes -----------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    """One layer matched by name: ``old`` or ``new`` is None when it was added or removed."""

    name: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None

    @property
    def kind(self) -> str:
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        return "changed" if any(self.old.get(f) != self.new.get(f) for f in FIELDS) else "same"

    def describe(self) -> str:
        if self.old is None or self.new is None:
            layer = self.new or self.old or {}
            what = (f"{layer.get('kind')}, output {_shape(layer.get('output_shape'))}, "
                    f"params {_num(layer.get('params'))}, MACs {_num(layer.get('macs'))}")
            return f"layer '{self.name}' {self.kind} ({what})"
        parts = []
        for f, label in (("kind", "kind"), ("output_shape", "output"), ("params", "params"),
                         ("macs", "MACs")):
            a, b = self.old.get(f), self.new.get(f)
            if a != b:
                show = _shape if f == "output_shape" else _num
                parts.append(f"{label} {show(a)} -> {show(b)}")
        return f"layer '{self.name}' changed: " + ", ".join(parts)


def _shape(v: Any) -> str:
    return numbers.shape(tuple(v)) if isinstance(v, list) else str(v)


def _num(v: Any) -> str:
    return f"{v:,}" if isinstance(v, int) else str(v)


def match(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[Change]:
    """Layers of both lists matched by name, in ``old``'s order with additions where they
    appear in ``new`` (after the nearest preceding layer that both have).

    Linear in the layers: each side's identities are computed in one pass, the rest is
    dictionary look-ups."""
    new_ids = _uids(new)
    new_by = dict(zip(new_ids, new))
    old_ids = _uids(old)
    old_set = set(old_ids)
    added_after: dict[tuple[str, int] | None, list[tuple[str, int]]] = {}
    anchor: tuple[str, int] | None = None
    for uid in new_ids:
        if uid in old_set:
            anchor = uid
        else:
            added_after.setdefault(anchor, []).append(uid)
    out = [Change(u[0], None, new_by[u]) for u in added_after.get(None, [])]
    for layer, uid in zip(old, old_ids):
        out.append(Change(uid[0], layer, new_by.get(uid)))
        out += [Change(u[0], None, new_by[u]) for u in added_after.get(uid, [])]
    return out


def _uids(layers: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """(name, occurrence) of each layer: names are unique in a spec, but a hand-made file may
    repeat one, and the n-th 'conv' of one side matches the n-th of the other."""
    seen: dict[str, int] = {}
    out = []
    for layer in layers:
        name = str(layer.get("name"))
        out.append((name, seen.get(name, 0)))
        seen[name] = seen.get(name, 0) + 1
    return out


def compare(doc: dict[str, Any], results: list[FileResult]) -> list[dict[str, Any]]:
    """Add E606 (changed) and N607 (not in the baseline) to the results; return the changes."""
    specs = doc["specs"]
    report: list[dict[str, Any]] = []
    for result in results:
        names = {t.name for t in result.targets}
        for target in result.targets:
            if target.report is None:
                continue
            old = specs.get(target.name)
            if old is None:
                target.diagnostics.append(Diagnostic(
                    "N607", Severity.NOTE, "not in the baseline", ("name",),
                    hint="write a new baseline with --write-baseline"))
                continue
            changes = [c for c in match(old["layers"], layer_snapshot(target.report))
                       if c.kind != "same"]
            target.diagnostics.extend(_diagnostics(target, changes))
            report.append({"spec": target.name, "file": result.path,
                           "changes": [_change_json(c) for c in changes]})
        if result.selected_all and result.targets:
            for name, old in specs.items():
                if isinstance(old, dict) and old.get("file") == result.path and \
                        name not in names:
                    result.file_diagnostics.append(Diagnostic(
                        "E606", Severity.ERROR, f"spec '{name}' is in the baseline but no "
                        "longer in this file", ("variants",)))
                    report.append({"spec": name, "file": result.path, "changes": "removed"})
    return report


def _diagnostics(target: Target, changes: list[Change]) -> list[Diagnostic]:
    out = []
    rows = {r.name: r.path for r in target.report.rows} if target.report else {}
    for c in changes[:MAX_CHANGES]:
        path: SpecPath = rows.get(c.name, ("layers",))
        out.append(Diagnostic("E606", Severity.ERROR, c.describe(), path, layer=c.name,
                              hint="if the change is intended, write a new baseline"))
    if len(changes) > MAX_CHANGES:
        out.append(Diagnostic("E606", Severity.ERROR, f"... and {len(changes) - MAX_CHANGES} "
                              "more changed layers", ("layers",)))
    return out


def _change_json(c: Change) -> dict[str, Any]:
    return {"layer": c.name, "change": c.kind, "old": c.old, "new": c.new}
