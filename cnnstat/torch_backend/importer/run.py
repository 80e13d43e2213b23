"""``cnnstat import``: a PyTorch module as a readable spec, proven against the module.

The user's module is imported, built and traced in a child process
(:mod:`cnnstat.torch_backend.isolation.parent`, the same one ``verify --module`` uses); what comes back
is plain data.  Here, in cnnstat's own process, it is reduced to composites
(:mod:`~cnnstat.torch_backend.importer.graph`), named and folded into blocks
(:mod:`~cnnstat.torch_backend.importer.writer`, :mod:`~cnnstat.torch_backend.importer.blocks`),
written as YAML (:mod:`~cnnstat.torch_backend.importer.yaml_text`), loaded and analysed like any spec,
and compared with the module: parameters with ``numel``, FLOPs with ``FlopCounterMode``, and
every operation -- the aten operations of the traced run per category (activations by kind,
norms, pools, adds, ...) against what the spec's rows imply, as ``verify --module`` compares
them (:mod:`cnnstat.torch_backend.common.operations`) -- all measured in the child.  A
difference is an error, never a spec that counts something else or leaves an operation out.
This module imports no torch.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnstat.core.presets import TORCH
from cnnstat.core.report import Report
from cnnstat.errors import Diagnostic, Severity, SpecError, UsageError
from cnnstat.render.escape import escape_controls
from cnnstat.spec.kinds import kind_hint
from cnnstat.torch_backend.common import operations
from cnnstat.torch_backend.importer import blocks as import_blocks
from cnnstat.torch_backend.importer import graph as import_graph
from cnnstat.torch_backend.importer import yaml_text as import_yaml
from cnnstat.torch_backend.isolation import parent as isolation
from cnnstat.torch_backend.isolation.parent import Captured
from cnnstat.torch_backend.importer.graph import Unwritable
from cnnstat.torch_backend.importer.writer import Writer

if TYPE_CHECKING:
    from cnnstat.spec.loader import Loaded

UNSUPPORTED = "E701"  # a traced operation has no spec kind
UNTRACEABLE = "E702"  # forward() cannot be traced (data-dependent control flow)
DIFFERENT = "E703"  # the imported spec's totals or operations differ from the module's


TASK = "cnnstat.torch_backend.importer.module_task"  # what the child runs (module_task.py)


@dataclass(frozen=True)
class Imported:
    """The spec written (``text``), loaded and analysed, and what the module printed."""

    text: str
    loaded: Loaded
    report: Report
    stdout: Captured
    stderr: Captured
    note: str | None = None  # how the module was built, where not on the meta device


class Failed(Exception):
    """The import failed (``error``: a SpecError or UsageError) after the module ran: what it
    printed is shown all the same."""

    def __init__(self, error: SpecError | UsageError, stdout: Captured,
                 stderr: Captured) -> None:
        super().__init__(str(error))
        self.error, self.stdout, self.stderr = error, stdout, stderr


def schema_ref(output: str | None) -> str:
    """The schema line's target: relative to the written file, else the installed schema."""
    schema = Path(__file__).resolve().parents[2] / "schema" / "spec.schema.json"
    if output is None:
        return schema.as_posix()
    return Path(os.path.relpath(schema, Path(output).resolve().parent)).as_posix()


def run_import(target: str, inputs: tuple[tuple[int, ...], ...], kwargs: str = "{}",
               timeout: float = isolation.DEFAULT_TIMEOUT, output: str | None = None,
               batch: int = 1, memory: int | None = isolation.DEFAULT_MEMORY) -> Imported:
    """Import ``target`` (``pkg.mod:factory`` or ``file.py:factory``) traced at ``inputs``, in a
    child process of at most ``memory`` bytes of address space (None: no limit)."""
    if not inputs:
        raise UsageError("import needs the input shape: --input CxHxW (one per input of "
                         "forward())", "e.g. --input 3x224x224")
    ready = threading.Thread(target=_preload, daemon=True)
    ready.start()  # the parent's own start-up overlaps the child's run
    doc, error, out, err = isolation.run_child(target, timeout, TASK, kwargs=kwargs,
                                               inputs=inputs, memory=memory)
    ready.join()
    try:
        if doc is None:
            raise error or UsageError(f"--module {target!r}: no result")
        rejected = doc.get("rejected")
        if isinstance(rejected, list):
            raise _rejected(target, rejected)
        network = doc.get("network")
        if not isinstance(network, dict):
            raise UsageError(f"--module {target!r}: the child process wrote a result cnnstat "
                             "cannot read")
        text = write(network, target, inputs, schema_ref(output))
        note = doc.get("note")
        return Imported(*proven(text, target, network, batch), out, err,
                        escape_controls(note)[:isolation.MESSAGE_LIMIT]
                        if isinstance(note, str) else None)
    except (SpecError, UsageError) as exc:
        raise Failed(exc, out, err) from None


def _preload() -> None:
    """Import the loader and the analysis and build the spec models' validators (pydantic
    builds them on first use) on a spec of one layer, while the child runs: the parent would
    otherwise wait for the child, then do this.  Nothing is kept; a failure here is met again,
    and reported, by the real load."""
    try:
        from cnnstat.analysis.pipeline import analyze_loaded
        from cnnstat.spec.loader import load_text

        analyze_loaded(load_text(_ONE_LAYER, "<preload>"), 1)
    except Exception:  # noqa: BLE001 - see above
        pass


_ONE_LAYER = "name: preload\ninput: [1, 2, 2]\nlayers:\n  - conv: {out: 1, kernel: 1}\n"


def write(network: dict[str, Any], target: str, inputs: tuple[tuple[int, ...], ...],
          schema: str) -> str:
    """The spec text of a traced ``network`` (plain data, see tracing.describe)."""
    names, items = import_graph.items_of(network)
    outputs = list(network["outputs"])
    items = import_graph.reduce(items, outputs)
    try:
        items = import_graph.with_sides(items, names, network.get("sides", []))
    except Unwritable as exc:
        raise _rejected(target, [{"op": "training-only calls", "path": exc.path, "count": 1,
                                  "why": exc.why}]) from None
    parts = import_graph.leftover_parts(items)
    if parts:
        raise _rejected(target, [{"op": "Tensor.chunk", "path": p.path, "count": 1,
                                  "why": "a part of a channel split that no concat of all the "
                                  "parts joins in order (a spec's split)"} for p in parts])
    single = len(names) == 1
    writer = Writer({n: "input" if single else n for n in names})
    try:
        layers = writer.sequence(items, "", names[0] if names else None)
    except Unwritable as exc:
        raise _rejected(target, [{"op": "Tensor.chunk", "path": exc.path, "count": 1,
                                  "why": exc.why}]) from None
    last = items[-1].out if items else None
    heads = [writer.names[t] for t in outputs] if outputs != [last] else []  # named: kept
    blocks, layers = import_blocks.fold(layers, writer.paths, network.get("modules", {}),
                                        heads, writer.top_paths)
    doc: dict[str, Any] = {"name": _slug(target), "title": f"{target}, imported",
                           "source": f"cnnstat import {target} (torch.fx trace)"}
    if single:
        doc["input"] = list(inputs[0])
    else:
        doc["inputs"] = {n: list(s) for n, s in zip(names, inputs)}
    if blocks:
        doc["blocks"] = blocks
    doc["layers"] = layers
    if heads:
        doc["outputs"] = heads
    return import_yaml.dump(doc, schema)


def proven(text: str, target: str, network: dict[str, Any],
           batch: int = 1) -> tuple[str, Loaded, Report]:
    """Load and analyse the spec; its totals must be the module's.  Warnings that are true of
    the module (a floor that drops a row) are accepted in the spec, with the reason."""
    from cnnstat.analysis.pipeline import analyze_loaded
    from cnnstat.spec.loader import load_text

    name = f"<import {target}>"
    loaded = load_text(text, name)
    report = analyze_loaded(loaded, 1)  # the module's totals are at batch 1
    _same_totals(report, network, target)
    warned = [d for d in report.diagnostics if d.severity is Severity.WARNING]
    if not warned and batch == 1:
        return text, loaded, report  # the text is final: no second load and analysis
    if warned:
        reason = import_yaml.scalar(f"true of the module imported ({target})")
        text += "accept:\n" + "".join(
            f"  - {{code: {d.code}, " +
            (f"layer: {import_yaml.scalar(d.layer)}, " if d.layer else "") +
            f"reason: {reason}}}\n" for d in warned)
    loaded = load_text(text, name)
    return text, loaded, analyze_loaded(loaded, batch)


def _same_totals(report: Report, network: dict[str, Any], target: str) -> None:
    found = _same_operations(report, network)
    if report.totals.params != network["params"]:
        found.append(f"parameters: the spec {report.totals.params:,}, the module (numel) "
                     f"{network['params']:,}")
    flops = TORCH.total(report)
    if "flops" in network and flops != network["flops"]:
        found.append(f"FLOPs: the spec {flops:,}, FlopCounterMode {network['flops']:,}")
    if found:
        raise SpecError([Diagnostic(
            DIFFERENT, Severity.ERROR, f"import {target}: the spec written counts differently "
            f"from the module ({'; '.join(found)})", (),
            "a module that holds parameters forward() never uses, or an operation the "
            "importer maps wrongly: please report it")])


def _same_operations(report: Report, network: dict[str, Any]) -> list[str]:
    """The first category of operations whose count differs between the spec written and the
    module's traced run (an opaque layer runs what its traced call ran), located."""
    ops = [(str(op), str(path), int(n)) for op, path, n in network.get("ops", [])]
    expected = operations.expected(report)
    for node in network["nodes"]:
        if isinstance(node.get("ops"), dict):
            expected = expected.plus(operations.tally(
                (str(op), "", int(n)) for op, n in node["ops"].items()))
    measured = operations.tally(ops)
    spec = operations.closest(expected, measured)
    if spec == measured:
        return []
    cat = next(c for c in dict.fromkeys([*(operations.category(op) for op, _, _ in ops),
                                         *sorted(spec)])
               if c is not None and spec[c] != measured[c])
    where = ""
    if measured[cat] > spec[cat]:
        written = {node["path"] for node in network["nodes"] if any(
            cat in (operations.may_run(kind) or {cat}) for kind in _kinds_of(node))}
        path = operations.where_ran(ops, cat, lambda p: p not in written)
        where = f"; first at '{path or 'the top level'}'" if path is not None else ""
    return [f"{cat} operations: the spec {spec[cat]:,}, the module {measured[cat]:,}{where}"]


def _kinds_of(node: dict[str, Any]) -> list[str]:
    """The spec kinds a traced node was written as (a merge's is its merge)."""
    kinds = [str(layer["kind"]) for layer in node.get("layers", [])]
    return kinds + ([str(node["kind"])] if node.get("kind") in operations.LOWERINGS else [])


def _rejected(target: str, problems: list[dict[str, Any]]) -> SpecError:
    diags = []
    for p in problems:
        op, where, count = str(p.get("op")), str(p.get("path") or "the top level"), p.get("count")
        if p.get("code") == UNTRACEABLE:
            at = f"at '{p['path']}': " if p.get("path") else ""
            diags.append(Diagnostic(UNTRACEABLE, Severity.ERROR, f"import {target}: {at}"
                                    f"{p.get('why')}", (), _CONTROL_FLOW_HINT))
            continue
        short = re.split(r"[.]", op)[-1]
        nearest = kind_hint(short, _kinds(), ())
        hint = nearest if nearest.startswith("did you mean") else None
        times = "once" if count == 1 else f"{count} times"
        diags.append(Diagnostic(UNSUPPORTED, Severity.ERROR,
                                f"import {target}: {op} at '{where}' ({times}): "
                                f"{p.get('why')}", (),
                                f"nearest spec kind: {hint[len('did you mean '):-1]}"
                                if hint else None))
    return SpecError(diags)


_CONTROL_FLOW_HINT = ("a spec is one fixed network: make the branch depend on the factory's "
                      "arguments (--kwargs), not on tensor values, then import each setting")


def _kinds() -> list[str]:
    from cnnstat.spec.models import LAYER_ARGS

    return list(LAYER_ARGS)


def _slug(target: str) -> str:
    where, attr = isolation.split_target(target)
    where = Path(where).stem if isolation.is_path(where) else where.rpartition(".")[2]
    slug = re.sub(r"[^A-Za-z0-9_.\-]+", "-", f"{where}-{attr}").strip("-.")
    return slug if slug and slug[0].isalnum() else f"imported-{slug}"
