"""Honest timing of built networks: the device, its synchronisation, the timing loop, and a run
over batch sizes (or a search for the largest batch that runs).

How a network is timed (stated in docs/bench.md and in every result):

* The spec is built (:class:`~cnnstat.torch_backend.build.net.SpecNet`) on the device, cast to the
  dtype (and to channels-last memory), put in eval mode under ``torch.inference_mode`` -- or, with
  ``train``, in training mode with autograd on, each step a forward, a backward of the sum of the
  outputs and ``zero_grad(set_to_none=True)``; no optimizer step.
* The input is normal noise from a fixed seed.  The first call is timed apart and never enters
  the statistics (it includes torch.compile, cuDNN autotuning and the allocator's growth); then
  ``warmup`` untimed calls; then the timed calls (:func:`time_calls`).
* Out of memory at a batch size (``torch.cuda.OutOfMemoryError``; on the CPU a ``MemoryError``
  or a RuntimeError naming "out of memory" or the DefaultCPUAllocator) is a result for that batch;
  the sweep goes on.  Any other failure stops the run with its cause (exit 2).
"""

from __future__ import annotations

import gc
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import torch
from torch import nn

from cnnstat.core import memory, roofline
from cnnstat.core.report import Report
from cnnstat.errors import UsageError
from cnnstat.torch_backend.bench import host as machine
from cnnstat.torch_backend.bench import probe as probing
from cnnstat.torch_backend.bench.results import (
    OK,
    OOM,
    BatchResult,
    Memory,
    Options,
    Probe,
    SpecResult,
)
from cnnstat.torch_backend.build.net import SpecNet
from cnnstat.torch_backend.common.oom import first_line, is_oom
from cnnstat.torch_backend.bench.timing import (
    DTYPES,
    resolve_device,
    synchronizer,
    time_calls,
)

CPU_RAM_SHARE = 2  # --fit on the CPU: analytic estimate <= available RAM / 2
SEED = 0


def environment(device: torch.device) -> dict[str, Any]:
    """Where the numbers come from: the device, the host, the software and its settings."""
    env: dict[str, Any] = {"device": str(device), "device_name": machine.cpu_model(),
                           **machine.describe(), "threads": torch.get_num_threads(),
                           "torch": torch.__version__, "cuda": torch.version.cuda,
                           "cudnn": None, "driver": None, "device_memory": None}
    if device.type == "cuda":  # GPU-only path
        props = torch.cuda.get_device_properties(device)
        env.update(device_name=props.name, device_memory=props.total_memory,
                   compute_capability=f"{props.major}.{props.minor}",
                   multiprocessors=props.multi_processor_count,
                   cudnn=torch.backends.cudnn.version(),  # type: ignore[no-untyped-call]
                   driver=_nvidia_driver(device),
                   cudnn_benchmark=torch.backends.cudnn.benchmark,
                   tf32={"matmul": torch.backends.cuda.matmul.allow_tf32,
                         "cudnn": torch.backends.cudnn.allow_tf32})
    return env


def _nvidia_driver(device: torch.device) -> str | None:  # GPU-only path
    """The NVIDIA driver version from nvidia-smi (torch does not report it), or None."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--query-gpu=driver_version", "--format=csv,noheader",
                              "-i", str(device.index or 0)], capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def check(opts: Options) -> None:
    """Refuse combinations that cannot be measured honestly (UsageError, exit 2)."""
    if opts.per_layer and opts.train:
        raise UsageError("--per-layer times forward passes only; it cannot be combined with "
                         "--train", "drop --train to see per-layer forward times")
    if opts.per_layer and opts.compile:
        raise UsageError("--per-layer hooks each eager module; a compiled graph does not run "
                         "them one by one", "drop --compile to see per-layer times")
    if opts.fit and opts.max_batch < 1:
        raise UsageError("--max-batch must be at least 1")


class Bencher:
    """Times reports under one set of :class:`Options` on one device."""

    def __init__(self, opts: Options) -> None:
        check(opts)
        self.opts = opts
        self.device = resolve_device(opts.device)
        self.dtype = DTYPES[opts.dtype]
        self.size = torch.empty((), dtype=self.dtype).element_size()
        if opts.threads:
            torch.set_num_threads(opts.threads)
        self.sync = synchronizer(self.device)

    def environment(self) -> dict[str, Any]:
        return environment(self.device)

    def probe(self) -> Probe | None:

        return probing.probe(self.device, self.opts.dtype) if self.opts.probe else None

    def run(self, report: Report, probe: Probe | None = None) -> SpecResult:
        model = self.build(report)
        fit, ceiling, note = None, None, ""
        batches = self.opts.batches
        if self.opts.fit:
            ceiling, note = self.ceiling(report)
            upper = self.opts.max_batch if ceiling is None else min(self.opts.max_batch, ceiling)
            fit = roofline.fit_search(lambda b: self.runs(model, report, b), upper)
            batches = (fit.largest,) if fit.largest else ()
        results = tuple(self.batch(model, report, b) for b in batches)
        t = report.totals
        return SpecResult(report.name, report.title, report.input_shape, t.params,
                          t.macs // report.batch, results, fit, ceiling, note)

    def build(self, report: Report) -> nn.Module:
        """The spec's network on the device, in the dtype and memory format, in the mode."""
        try:
            with torch.device(self.device):
                net = SpecNet(report)
            net.to(dtype=self.dtype)
            if self.opts.channels_last:
                net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        except Exception as exc:  # only out-of-memory is turned into a message
            if not is_oom(exc):
                raise
            raise UsageError(f"{report.name}: out of memory building the network on "
                             f"{self.device}: {first_line(exc)}") from None
        net.train(self.opts.train)
        if not self.opts.compile:
            return net
        try:
            return cast(nn.Module, torch.compile(net))  # a module compiles to an OptimizedModule
        except Exception as exc:  # noqa: BLE001 - any compile failure is reported with its cause
            raise UsageError(f"--compile: torch.compile failed: {first_line(exc)}",
                             "run without --compile") from None

    def sample(self, report: Report, batch: int) -> tuple[torch.Tensor, ...]:
        """Normal noise of ``batch`` x shape for each input, from a fixed seed, made on the
        device (a batch too large for the device fails there, not in host memory)."""
        where = self.device if self.device.type in ("cpu", "cuda") else torch.device("cpu")
        gen = torch.Generator(device=where).manual_seed(SEED)
        out = []
        for _, shape in report.inputs or (("input", report.input_shape),):
            x = torch.randn(batch, *shape, generator=gen, device=where, dtype=self.dtype)
            x = x.to(self.device)
            if self.opts.channels_last and x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            out.append(x)
        return tuple(out)

    def step(self, model: nn.Module, xs: tuple[torch.Tensor, ...]) -> Callable[[], None]:
        if not self.opts.train:
            return lambda: model(*xs)

        def train_step() -> None:
            out = model(*xs)
            outs = out if isinstance(out, tuple) else (out,)
            sum(o.float().sum() for o in outs).backward()
            model.zero_grad(set_to_none=True)

        return train_step

    @contextmanager
    def grad_mode(self) -> Iterator[None]:
        with torch.enable_grad() if self.opts.train else torch.inference_mode():
            yield

    def batch(self, model: nn.Module, report: Report, batch: int) -> BatchResult:
        """Time ``batch``; out of memory is a result, any other failure a UsageError."""
        t = report.totals
        macs = (t.macs + (t.training_macs if self.opts.train else 0)) // report.batch
        flops = roofline.step_flops(macs, batch, self.opts.train)
        acts, total = self.analytic(report, batch)
        try:
            result = self._timed(model, report, batch, flops, acts, total)
        except Exception as exc:  # noqa: BLE001 - classified: OOM is a result, the rest a cause
            if not is_oom(exc):
                raise self.failure(exc, report, batch) from None
            error = first_line(exc)
        else:
            return result
        self.release()
        return BatchResult(batch, OOM, flops, Memory(acts, total, None, self.peak_note()),
                           error=error)

    def _timed(self, model: nn.Module, report: Report, batch: int, flops: int, acts: int,
               total: int) -> BatchResult:
        o = self.opts
        with self.grad_mode():
            xs = self.sample(report, batch)
            step = self.step(model, xs)
            first = time_calls(step, self.device, warmup=0, iters=1)[0]
            self.reset_peak()
            times = time_calls(step, self.device, warmup=o.warmup, iters=o.iters,
                               budget=o.time_budget)
            peak = self.peak()
            per_layer = self.per_layer(model, report, xs) if o.per_layer else None
        return BatchResult(batch, OK, flops, Memory(acts, total, peak, self.peak_note()),
                           roofline.stats(times), first, per_layer=per_layer)

    def per_layer(self, model: nn.Module, report: Report,
                  xs: tuple[torch.Tensor, ...]) -> Any:
        costs = roofline.layer_costs(report, xs[0].shape[0], self.size)
        return probing.per_layer(model, costs, xs, self.device, self.opts.iters)

    def runs(self, model: nn.Module, report: Report, batch: int) -> bool:
        """Whether one step at ``batch`` runs (the fit search's question)."""
        try:
            with self.grad_mode():
                self.step(model, self.sample(report, batch))()
                self.sync()
            return True
        except Exception as exc:  # noqa: BLE001 - classified as in batch()
            if not is_oom(exc):
                raise self.failure(exc, report, batch) from None
        self.release()
        return False

    def failure(self, exc: Exception, report: Report, batch: int) -> Exception:
        """A UsageError naming the cause of a failed step; an unexpected exception as it is."""
        where = f"{report.name} at batch {batch} on {self.device} ({self.opts.dtype})"
        if self.opts.compile:
            return UsageError(f"--compile: torch.compile failed for {where}: {first_line(exc)}",
                              "run without --compile")
        if not isinstance(exc, (RuntimeError, NotImplementedError, ValueError)):
            return exc
        hint = ("in training mode batch norm needs more than one value per channel: use a "
                "larger --batch" if "more than 1 value per channel" in str(exc) else
                "try --dtype float32, or another device")
        return UsageError(f"{where}: the step failed: {first_line(exc)}", hint)

    def release(self) -> None:
        """Give memory back after an out-of-memory failure."""
        gc.collect()
        if self.device.type == "cuda":  # GPU-only path
            torch.cuda.empty_cache()

    def analytic(self, report: Report, batch: int) -> tuple[int, int]:
        """Bytes of the analytic estimate: (activations, total with weights and buffers)."""
        bd = self.breakdown(report, batch)
        return bd.parts[0][1] * self.size, bd.total * self.size

    def breakdown(self, report: Report, batch: int) -> memory.Breakdown:
        sched = memory.schedule(report)
        if self.opts.train:  # no optimizer step is taken, so no optimizer state
            return memory.training(report, sched, batch, "sgd")
        return memory.inference(report, sched, batch)

    def ceiling(self, report: Report) -> tuple[int | None, str]:
        """The fit search's upper bound from memory, with its reason (CPU only)."""
        if self.device.type != "cpu":
            return None, ""
        avail = machine.available_memory()
        if avail is None:
            return None, "available RAM unknown: no memory ceiling"
        one = self.breakdown(report, 1)
        per_image = one.parts[0][1]
        budget = avail // CPU_RAM_SHARE
        n = memory.largest_batch(per_image, one.fixed, self.size, budget)
        note = (f"CPU ceiling: batches whose analytic memory estimate exceeds half the available "
                f"RAM ({budget:,} of {avail:,} bytes) are not tried")
        return n, note

    def reset_peak(self) -> None:
        if self.device.type == "cuda":  # GPU-only path
            torch.cuda.reset_peak_memory_stats(self.device)

    def peak(self) -> int | None:
        if self.device.type == "cuda":  # GPU-only path
            return int(torch.cuda.max_memory_allocated(self.device))
        return None

    def peak_note(self) -> str:
        if self.device.type == "cuda":
            return ("torch.cuda.max_memory_allocated over the timed calls (weights, input, "
                    "activations and workspaces; the allocator's cache not counted)")
        return (f"device peak unavailable on {self.device.type}: torch does not track the peak "
                "of these allocations; the analytic estimate is shown alone")
