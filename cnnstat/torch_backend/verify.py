"""Cross-check a report against its own network built live: per layer and in total, output shapes,
parameters, buffers, and FLOPs under the ``torch`` and ``fvcore`` presets against
FlopCounterMode and fvcore themselves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from cnnstat.core.presets import PRESETS
from cnnstat.core.report import Report, Row
from cnnstat.torch_backend.measure import fvcore_flops, numel, sample_input, shapes_and_torch_flops
from cnnstat.torch_backend.net import SpecNet
from cnnstat.torch_backend.results import Check, LayerCheck, VerifyResult

COUNTERS = ("torch", "fvcore")


def verify_report(report: Report, counters: Sequence[str] = COUNTERS, device: str = "meta",
                  model: SpecNet | None = None) -> VerifyResult:
    """Build ``report``'s network on ``device`` (or take ``model``, left unmodified) and compare."""
    if model is None:
        with torch.device(device):
            model = SpecNet(report)
    names = [row.name for row in report.rows]
    x = sample_input(model, report.input_shape, report.batch)
    run = shapes_and_torch_flops(model, names, x)
    live: dict[str, dict[str, int]] = {"torch": run.flops}
    totals_live: dict[str, int] = {"torch": run.total_flops}
    if "fvcore" in counters:
        live["fvcore"], totals_live["fvcore"] = fvcore_flops(model, names, report.input_shape,
                                                             report.batch)
    layers = tuple(_layer(row, report.batch, model, run.shapes, live, counters)
                   for row in report.rows)
    totals = _totals(report, model, run.output, totals_live, counters)
    return VerifyResult(report.name, report.title, report.input_shape, report.batch,
                        str(x.device), tuple(counters), layers, totals,
                        {"torch": torch.__version__, **_fvcore_version(counters)})


def _layer(row: Row, batch: int, model: SpecNet, shapes: dict[str, Any],
           live: dict[str, dict[str, int]], counters: Sequence[str]) -> LayerCheck:
    mod = model.get_submodule(row.name)
    checks = {"shape": Check(row.output_shape, shapes.get(row.name)),
              "params": Check(row.params, numel(mod.parameters())),
              "buffers": Check(row.buffers, numel(mod.buffers()))}
    for c in counters:
        ran = row.name in shapes
        checks[c] = Check(batch * PRESETS[c].count(row), live[c][row.name] if ran else None)
    return LayerCheck(row.name, row.kind, row.description, checks)


def _totals(report: Report, model: SpecNet, output: tuple[int, ...] | None,
            live: dict[str, int], counters: Sequence[str]) -> dict[str, Check]:
    """Whole-model figures: catches anything the per-layer view could miss (a parameter held by
    no layer, FLOPs spent outside every layer)."""
    t = report.totals()
    totals = {"shape": Check(report.output_shape, output),
              "params": Check(t.params, numel(model.parameters())),
              "buffers": Check(t.buffers, numel(model.buffers()))}
    for c in counters:
        totals[c] = Check(PRESETS[c].total(report), live[c])
    return totals


def _fvcore_version(counters: Sequence[str]) -> dict[str, str]:
    if "fvcore" not in counters:
        return {}
    from importlib.metadata import PackageNotFoundError, version

    try:
        return {"fvcore": version("fvcore")}
    except PackageNotFoundError:
        return {"fvcore": "unknown"}
