"""The roofline side of ``cnnstat bench``: the device's achievable peaks (a matmul and a copy,
timed like the networks) and per-layer forward times under hooks, with the hooks' own cost
measured on an empty module.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from cnnstat.core.roofline import LayerCost, stats
from cnnstat.torch_backend.bench.results import LayerTime, PerLayer, Probe
from cnnstat.torch_backend.bench.timing import DTYPES, synchronizer, time_calls

PROBE_SECONDS = 0.5  # wall time for each probe's timed calls (at least 3 calls)
MATMUL_TARGET = 0.02  # grow the matmul until one call takes this long (seconds) ...
MATMUL_CAP = {"cuda": 16384, "mps": 8192, "cpu": 4096}  # ... or reaches this size
COPY_BYTES = {"cuda": 512 * 2**20, "mps": 256 * 2**20, "cpu": 64 * 2**20}  # beyond the caches
HOOK_CALLS = 200


def probe(device: torch.device, dtype: str) -> Probe:
    """Achievable matmul FLOP/s in ``dtype`` and copy bandwidth on ``device``.

    The matmul size doubles from 256 until one call takes MATMUL_TARGET seconds (so a dtype the
    device emulates slowly stays quick to probe), then it is timed with :func:`time_calls`.
    """
    dt = DTYPES[dtype]
    n = _matmul_size(device, dt)
    mm = _time_matmul(device, dt, n, warmup=2, budget=PROBE_SECONDS)
    copy_bytes, cp = _time_copy(device, dt)
    return Probe(dtype, n, stats(mm), copy_bytes, stats(cp))


def _time_matmul(device: torch.device, dt: torch.dtype, n: int, **timing: Any) -> list[float]:
    """Seconds per n x n matmul into a preallocated output (operands freed on return)."""
    a, b = (torch.randn(n, n, device=device).to(dt) for _ in range(2))
    c = torch.empty(n, n, device=device, dtype=dt)
    return time_calls(lambda: torch.mm(a, b, out=c), device, **timing)


def _time_copy(device: torch.device, dt: torch.dtype) -> tuple[int, list[float]]:
    """Bytes of the copied tensor and seconds per copy (read once, written once)."""
    elements = COPY_BYTES[device.type] // torch.empty((), dtype=dt).element_size()
    src = torch.ones(elements, device=device, dtype=dt)
    dst = torch.empty_like(src)
    times = time_calls(lambda: dst.copy_(src), device, warmup=2, budget=PROBE_SECONDS)
    return src.numel() * src.element_size(), times


def _matmul_size(device: torch.device, dt: torch.dtype) -> int:
    n, cap = 256, MATMUL_CAP.get(device.type, 4096)
    while n < cap and min(_time_matmul(device, dt, n, warmup=1, iters=2)) < MATMUL_TARGET:
        n *= 2
    return n


class Stopwatch:
    """Forward pre- and post-hooks that time each module: on CUDA a pair of CUDA events around
    the module (read after the pass), elsewhere ``time.perf_counter`` after a device
    synchronisation in each hook."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self.sync = synchronizer(device)
        self.open: dict[str, Any] = {}
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.pending: list[tuple[str, Any, Any]] = []

    def pre(self, name: str) -> Callable[..., None]:
        def hook(mod: nn.Module, args: Any) -> None:
            if self.cuda:  # GPU-only path
                event = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
                event.record()
                self.open[name] = event
            else:
                self.sync()
                self.open[name] = time.perf_counter()

        return hook

    def post(self, name: str) -> Callable[..., None]:
        def hook(mod: nn.Module, args: Any, out: Any) -> None:  # returns None: out is kept
            if self.cuda:  # GPU-only path
                event = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
                event.record()
                self.pending.append((name, self.open.pop(name), event))
            else:
                self.sync()
                self.samples[name].append(time.perf_counter() - self.open.pop(name))

        return hook

    def collect(self) -> dict[str, list[float]]:
        """Every module's samples so far, in seconds (CUDA events are waited for here)."""
        for name, start, end in self.pending:  # GPU-only path
            end.synchronize()
            self.samples[name].append(float(start.elapsed_time(end)) / 1000.0)
        self.pending.clear()
        return self.samples

    def reset(self) -> None:
        self.collect()
        self.samples.clear()

    @contextmanager
    def attached(self, modules: Sequence[tuple[str, nn.Module]]) -> Iterator[None]:
        handles = []
        try:
            for name, mod in modules:
                handles.append(mod.register_forward_pre_hook(self.pre(name)))
                handles.append(mod.register_forward_hook(self.post(name)))
            yield
        finally:
            for h in handles:
                h.remove()


def hook_cost(device: torch.device, dtype: torch.dtype) -> tuple[list[float], float]:
    """What the hooks measure around an ``nn.Identity`` on a one-element tensor (the time a layer
    that does nothing reads as), and the extra seconds per call that hooking adds (the median
    hooked call minus the median plain call)."""
    ident, t = nn.Identity(), torch.zeros(1, device=device, dtype=dtype)
    plain = stats(time_calls(lambda: ident(t), device, warmup=20, iters=HOOK_CALLS)).median
    watch = Stopwatch(device)
    with watch.attached([("identity", ident)]):
        hooked = time_calls(lambda: ident(t), device, warmup=20, iters=HOOK_CALLS)
    floor = watch.collect()["identity"][20:]
    return floor, stats(hooked).median - plain


def per_layer(model: nn.Module, costs: Sequence[LayerCost], xs: tuple[torch.Tensor, ...],
              device: torch.device, iters: int) -> PerLayer:
    """Forward time of every operation of ``costs`` over ``iters`` hooked passes of ``model``
    (the caller chooses eval mode and inference_mode), with the hooks' own cost."""
    watch = Stopwatch(device)
    mods = [(c.name, model.get_submodule(c.name)) for c in costs]
    with watch.attached(mods):
        model(*xs)  # one untimed pass, then the samples start clean
        watch.reset()
        whole = time_calls(lambda: model(*xs), device, warmup=0, iters=max(iters, 1))
        samples = watch.collect()
    layers = tuple(LayerTime(c, stats(samples[c.name])) for c in costs if samples.get(c.name))
    floor, overhead = hook_cost(device, xs[0].dtype)
    return PerLayer(layers, stats(floor), overhead, stats(whole))
