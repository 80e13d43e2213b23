"""Cross-check a report against its own network built live: per layer and in total, output shapes,
parameters, buffers, and FLOPs under the ``torch`` and ``fvcore`` presets against
FlopCounterMode and fvcore themselves."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from cnnstat.core.counters import ALL_PRESETS
from cnnstat.core.report import Report, Row
from cnnstat.torch_backend.live.counters import RUNNERS, count_live
from cnnstat.torch_backend.common.measure import (
    Pass,
    fvcore_pass,
    numel,
    sample_inputs,
    shapes_and_torch_flops,
)
from cnnstat.torch_backend.build.net import SpecNet
from cnnstat.torch_backend.common.oom import oom_is_usage_error
from cnnstat.torch_backend.verify.results import COUNTERS, Check, LayerCheck, VerifyResult


OOM_HINT = ("the meta device allocates nothing, but fvcore counts on a real CPU copy: "
            "--count torch --device meta needs no memory for the network; or use a smaller "
            "--input or --batch")


def verify_report(report: Report, counters: Sequence[str] = COUNTERS, device: str = "meta",
                  model: SpecNet | None = None) -> VerifyResult:
    """Build ``report``'s network on ``device`` (or take ``model``, left unmodified) and compare.
    Running out of memory (building on the CPU, fvcore's real copy) is a UsageError that says so."""
    with oom_is_usage_error(f"verify {report.name} (input {_shape(report)}, batch "
                            f"{report.batch}, device {device})", OOM_HINT):
        return _verify(report, counters, device, model)


def _shape(report: Report) -> str:
    return "x".join(str(d) for d in report.input_shape)


def _verify(report: Report, counters: Sequence[str], device: str,
            model: SpecNet | None) -> VerifyResult:
    if model is None:
        with torch.device(device):
            model = SpecNet(report)
    names = [row.name for row in report.rows]
    passes: dict[str, Pass] = {}
    if "fvcore" in counters:
        passes["fvcore"] = fvcore_pass(model, names, model.input_shapes, report.batch)
    if "torch" in counters or "fvcore" not in counters:
        xs = sample_inputs(model, model.input_shapes, report.batch)
        passes["torch"] = shapes_and_torch_flops(model, names, xs)
        device = str(xs[0].device)
    else:
        device = "cpu"  # fvcore alone: the shapes come from its own pass on real tensors
    for tool in (c for c in counters if c in RUNNERS):
        counted = count_live(tool, model, names, model.input_shapes, report.batch)
        passes[tool] = Pass({n: None for n in counted.layers}, counted.layers, None, counted.total)
    main = passes["torch"] if "torch" in passes else passes["fvcore"]
    trained = [row.name for row in report.rows if row.training]
    train_batch = _training_batch(report)
    train_passes = (_training_passes(model, trained, model.input_shapes, train_batch, counters)
                    if trained else {})
    train_main = next(iter(train_passes.values()), main)
    layers = tuple(_layer(row, train_batch, model, train_main.shapes, train_passes, counters)
                   if row.training else
                   _layer(row, report.batch, model, main.shapes, passes, counters)
                   for row in report.rows)
    totals = _totals(report, model, main.output, passes, counters)
    return VerifyResult(report.name, report.title, report.input_shape, report.batch,
                        device, tuple(counters), layers, totals,
                        {"torch": torch.__version__, **_fvcore_version(counters)},
                        train_batch if trained else 0)


def _training_batch(report: Report) -> int:
    """The batch the training-only rows are measured at: the report's, or 2 where a batch norm
    among them would see one value per channel (an aux head's 1x1 map at batch 1, Inception-v3's),
    which training mode refuses."""
    lone = any(row.training and row.kind == "bn"
               and report.batch * math.prod(row.input_shape[1:]) == 1 for row in report.rows)
    return 2 if lone else report.batch


def _training_passes(model: SpecNet, names: list[str], shapes: Sequence[tuple[int, ...]],
                     batch: int, counters: Sequence[str]) -> dict[str, Pass]:
    """The passes of the training-only rows, measured in the mode they run in: those rows'
    modules in training mode, the trunk in eval (its rows come from the eval passes; a trunk's
    batch norm over a 1x1 map, DeepLab's image pooling, could not run in training mode)."""
    passes: dict[str, Pass] = {}
    if "fvcore" in counters:
        passes["fvcore"] = fvcore_pass(model, names, shapes, batch, training=names)
    if "torch" in counters or "fvcore" not in counters:  # the shapes, as the eval passes
        xs = sample_inputs(model, shapes, batch)
        passes["torch"] = shapes_and_torch_flops(model, names, xs, training=names)
    return passes


def _layer(row: Row, batch: int, model: SpecNet, shapes: dict[str, Any],
           passes: dict[str, Pass], counters: Sequence[str]) -> LayerCheck:
    mod = model.get_submodule(row.name)
    checks = {"shape": Check(row.output_shape, shapes.get(row.name)),
              "params": Check(row.params, numel(mod.parameters())),
              "buffers": Check(row.buffers, numel(mod.buffers()))}
    for c in counters:
        if c in RUNNERS and (c not in passes or not passes[c].flops):
            # a tool that reports no per-layer figures (thop, ptflops): totals only; nor for a
            # training-only row: the tools count in eval mode, where it does not run
            continue
        ran = row.name in passes[c].shapes  # a module that never ran measured nothing
        checks[c] = Check(ALL_PRESETS[c].batch_count(row, batch), passes[c].flops[row.name]
                          if ran else None)
    return LayerCheck(row.name, row.kind, row.description, checks)


def _totals(report: Report, model: SpecNet, output: tuple[int, ...] | None,
            passes: dict[str, Pass], counters: Sequence[str]) -> dict[str, Check]:
    """Whole-model figures: catches anything the per-layer view could miss (a parameter held by
    no layer, FLOPs spent outside every layer)."""
    t = report.totals
    totals = {"shape": Check(report.output_shape, output),
              "params": Check(t.params, numel(model.parameters())),
              "buffers": Check(t.buffers, numel(model.buffers()))}
    for c in counters:
        totals[c] = Check(ALL_PRESETS[c].total(report), passes[c].total_flops)
    return totals


def _fvcore_version(counters: Sequence[str]) -> dict[str, str]:
    if "fvcore" not in counters:
        return {}
    from importlib.metadata import PackageNotFoundError, version

    try:
        return {"fvcore": version("fvcore")}
    except PackageNotFoundError:
        return {"fvcore": "unknown"}
