"""Other tools' counters, run live on a built network: one runner per ``--count`` preset of
:mod:`cnnstat.core.counters` (torchinfo, thop, ptflops), each returning the tool's own total and,
where the tool reports them, its per-layer figures by our layer names.

Each tool is imported inside its runner (they are test dependencies, not cnnstat's); each runs
on a zeroed CPU copy of the network (a meta module cannot be traced by hooks that read tensors),
in eval mode, its output silenced.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from cnnstat.core.report import Shape
from cnnstat.errors import UsageError
from cnnstat.torch_backend.common.measure import quiet, real_copy, eval_mode, sample_inputs


@dataclass(frozen=True)
class Counted:
    """A tool's total for the whole batch, and its figures per layer name where it has them."""

    total: int
    layers: dict[str, int] = field(default_factory=dict)


Runner = Callable[[nn.Module, Sequence[str], Sequence[Shape], int], Counted]


def _names(model: nn.Module, wanted: Sequence[str]) -> dict[int, str]:
    keep = set(wanted)
    return {id(m): n for n, m in model.named_modules() if n in keep}


def torchinfo_count(model: nn.Module, names: Sequence[str], shapes: Sequence[Shape],
                    batch: int) -> Counted:
    """``torchinfo.summary(...).total_mult_adds``; per layer, the leaf modules' ``macs``
    (a layer built of several leaves, a padded conv, sums them)."""
    from torchinfo import summary

    xs = sample_inputs(model, shapes, batch)
    with quiet():
        stats = summary(model, input_data=list(xs), verbose=0, mode="eval")
    by_id, layers = _names(model, names), dict.fromkeys(names, 0)
    owners = {id(m): n for n, mod in model.named_modules() if n in by_id.values()
              for m in mod.modules()}
    for info in stats.summary_list:
        if info.is_leaf_layer and id(info.module) in owners:
            layers[owners[id(info.module)]] += info.macs
    return Counted(int(stats.total_mult_adds), layers)


def thop_count(model: nn.Module, names: Sequence[str], shapes: Sequence[Shape],
               batch: int) -> Counted:
    """``thop.profile(model, inputs)[0]`` (its total; thop keeps no per-layer figures after)."""
    from thop import profile

    xs = sample_inputs(model, shapes, batch)
    with quiet(), contextlib.redirect_stdout(io.StringIO()):
        total, _ = profile(model, inputs=xs, verbose=False, report_missing=False)
    return Counted(int(total))


def _ptflops(backend: str) -> Runner:
    def run(model: nn.Module, names: Sequence[str], shapes: Sequence[Shape],
            batch: int) -> Counted:
        """``ptflops.get_model_complexity_info(..., backend=...)``: it builds its own input of
        one image, so only batch 1 is comparable."""
        if batch != 1 or len(shapes) != 1:
            raise UsageError("ptflops measures one image of one input", "use --batch 1")
        from ptflops import get_model_complexity_info

        with quiet(), contextlib.redirect_stdout(io.StringIO()):
            macs, _ = get_model_complexity_info(model, tuple(shapes[0]), as_strings=False,
                                                print_per_layer_stat=False, backend=backend)
        return Counted(int(macs))
    return run


def torchscan_count(model: nn.Module, names: Sequence[str], shapes: Sequence[Shape],
                    batch: int) -> Counted:
    """``torchscan.crawl_module(...)["totals"]["module_flops"]``: its leaf module formulas
    (``known_value``: unsupported modules count 0); per layer, the leaf calls by module path."""
    from torchscan import crawl_module

    xs = sample_inputs(model, shapes, batch)
    with quiet():
        report = crawl_module(model, args=xs)
    layers = dict.fromkeys(names, 0)
    for layer in report["layers"]:
        flops = layer["metrics"].get("module_flops")
        owner = _owner(layer["path"], layers)
        if flops and owner is not None:
            layers[owner] += int(flops["known_value"] or 0)
    return Counted(int(report["totals"]["module_flops"]["known_value"] or 0), layers)


def _owner(path: str, names: dict[str, int]) -> str | None:
    """The layer a module path belongs to: itself or its nearest named ancestor."""
    while path and path not in names:
        path = path.rpartition(".")[0]
    return path or None


def calflops_count(model: nn.Module, names: Sequence[str], shapes: Sequence[Shape],
                   batch: int) -> Counted:
    """``calflops.calculate_flops(model, input_shape=(N, ...))``: its FLOPs total."""
    if len(shapes) != 1:
        raise UsageError("calflops builds one input tensor", "use a spec with one input")
    from calflops import calculate_flops

    with quiet(), contextlib.redirect_stdout(io.StringIO()):
        flops, _, _ = calculate_flops(model=model, input_shape=(batch, *shapes[0]),
                                      print_results=False, print_detailed=False,
                                      output_as_string=False)
    return Counted(int(flops))


def deepspeed_count(model: nn.Module, names: Sequence[str], shapes: Sequence[Shape],
                    batch: int) -> Counted:
    """DeepSpeed's ``get_model_profile(model, input_shape=(N, ...))``: its flops."""
    if len(shapes) != 1:
        raise UsageError("DeepSpeed's profiler builds one input tensor",
                         "use a spec with one input")
    with quiet(), contextlib.redirect_stdout(io.StringIO()):
        from deepspeed.profiling.flops_profiler import get_model_profile

        flops, _, _ = get_model_profile(model, input_shape=(batch, *shapes[0]),
                                        print_profile=False, detailed=False, as_string=False)
    return Counted(int(flops))


RUNNERS: dict[str, Runner] = {"torchinfo": torchinfo_count, "thop": thop_count,
                              "ptflops": _ptflops("pytorch"), "ptflops-aten": _ptflops("aten"),
                              "torchscan": torchscan_count, "calflops": calflops_count,
                              "deepspeed": deepspeed_count}


def count_live(tool: str, model: nn.Module, names: Sequence[str], shapes: Sequence[Shape],
               batch: int) -> Counted:
    """Run ``tool`` on a zeroed CPU copy of ``model`` in eval mode (``model`` is left as it was)."""
    target = real_copy(model)
    if target is model:
        import copy

        target = copy.deepcopy(model)  # the tools add attributes and hooks to what they count
    with eval_mode(target), torch.no_grad():
        return RUNNERS[tool](target, names, shapes, batch)
