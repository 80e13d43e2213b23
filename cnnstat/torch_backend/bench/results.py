"""What ``cnnstat bench`` measured, as plain data (no torch types): the options of a run, the
device probe, per-batch results with their latency statistics, per-layer timings, and the fit
search.  Derived figures (images/s, achieved FLOP/s, fractions of the probe's peaks) are
properties, so every view computes them the same way.  Times are seconds, memory bytes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from cnnstat.core import roofline
from cnnstat.core.roofline import Fit, LayerCost, Stats

DTYPES = ("float32", "float16", "bfloat16")
DEVICES = ("cpu", "cuda", "mps")
OK, OOM = "ok", "out of memory"


@dataclass(frozen=True)
class Options:
    """How to time: device, dtype, batches (or a fit search), repeats, and what else to measure.
    ``iters`` is the number of timed calls; with ``time_budget`` calls go on until that many
    seconds of wall time are spent (at least 3) and ``iters`` is unused."""

    device: str = "cpu"
    dtype: str = "float32"
    batches: tuple[int, ...] = (1,)
    warmup: int = 3
    iters: int = 20
    time_budget: float | None = None
    train: bool = False
    channels_last: bool = False
    compile: bool = False
    threads: int | None = None
    per_layer: bool = False
    probe: bool = True
    fit: bool = False
    max_batch: int = 4096

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["batches"] = list(self.batches)
        if self.time_budget is not None:
            doc["iters"] = None  # the budget decides how many calls are timed
        doc["mode"] = "training step (forward + backward)" if self.train else "inference"
        return doc


@dataclass(frozen=True)
class Probe:
    """The device's achievable peaks, timed like the networks: an n x n matmul in the run's dtype
    (2 n^3 FLOPs) and a copy of one tensor of ``copy_bytes`` (read once, written once)."""

    dtype: str
    matmul_n: int
    matmul: Stats
    copy_bytes: int
    copy: Stats

    @property
    def flops_per_s(self) -> float:
        return 2 * self.matmul_n ** 3 / self.matmul.median

    @property
    def bytes_per_s(self) -> float:
        return 2 * self.copy_bytes / self.copy.median

    @property
    def ridge(self) -> float:
        return roofline.ridge(self.flops_per_s, self.bytes_per_s)


@dataclass(frozen=True)
class LayerTime:
    """One operation's forward time under hooks, and its analytic work and traffic."""

    cost: LayerCost
    time: Stats


@dataclass(frozen=True)
class PerLayer:
    """Per-layer forward times and what the hooks themselves cost: ``hook_floor`` is what the
    hooks measure around an empty ``nn.Identity`` (the time any layer reads as, doing nothing),
    ``hook_overhead`` the extra seconds a hooked call takes over a plain one, ``hooked_forward``
    the whole forward pass with every hook in place."""

    layers: tuple[LayerTime, ...]
    hook_floor: Stats
    hook_overhead: float
    hooked_forward: Stats

    @property
    def sum_of_medians(self) -> float:
        return sum(lt.time.median for lt in self.layers)


@dataclass(frozen=True)
class Memory:
    """Device peak (None where the device cannot report one) beside the analytic estimate of
    :mod:`cnnstat.core.memory` at the run's dtype (inference peak, or training without optimizer
    state), weights included."""

    analytic_activations: int
    analytic_total: int
    device_peak: int | None
    device_note: str


@dataclass(frozen=True)
class BatchResult:
    batch: int
    status: str  # OK or OOM
    flops: int  # analytic FLOPs of one timed step (the convention of roofline.step_flops)
    memory: Memory
    latency: Stats | None = None
    first_call: float | None = None  # seconds; compile, autotuning, allocator growth included
    error: str | None = None
    per_layer: PerLayer | None = None

    @property
    def images_per_s(self) -> float | None:
        return self.batch / self.latency.median if self.latency else None

    @property
    def flops_per_s(self) -> float | None:
        return self.flops / self.latency.median if self.latency else None

    def fraction_of_peak(self, probe: Probe | None) -> float | None:
        rate = self.flops_per_s
        return rate / probe.flops_per_s if rate is not None and probe is not None else None


@dataclass(frozen=True)
class SpecResult:
    spec: str
    title: str
    input_shape: tuple[int, ...]
    params: int
    macs: int  # per image
    results: tuple[BatchResult, ...]
    fit: Fit | None = None
    ceiling: int | None = None  # the fit search's memory ceiling (CPU), when one applied
    ceiling_note: str = ""


@dataclass(frozen=True)
class BenchRun:
    environment: dict[str, Any]
    options: Options
    probe: Probe | None
    specs: tuple[SpecResult, ...]

    @property
    def measured(self) -> bool:
        """Whether at least one batch of one spec was timed."""
        return any(r.status == OK for s in self.specs for r in s.results)
