"""Roofline arithmetic and timing statistics for ``cnnstat bench``: plain Python, no torch.

Conventions (stated where the numbers are made, and printed with every result):

* **FLOPs of a forward pass** = 2 x MACs x batch, from the analytic MACs (conv and linear
  weights only; element-wise work is not in them).  A training step (forward + backward) counts
  3 x the forward FLOPs: the backward pass is taken to cost about twice the forward (one product
  for the input gradient, one for the weight gradient).  That factor is a convention, not a count.
* **Bytes moved by an operation** = (elements it reads + elements it writes) x batch + its
  parameters, times the dtype's size: every input and output activation and every weight touched
  once.  A lower bound: re-reads, caches, workspaces and the buffers of batch norm are not modelled.
* **Arithmetic intensity** = FLOPs / bytes moved (FLOP per byte).  An operation with no MACs has
  intensity 0.
* **Ridge point** = peak FLOP/s / bandwidth, both measured on the device by the probe.  Below the
  ridge an operation is memory-bound (the bandwidth limits it), at or above it compute-bound.
* **Fraction of peak**: achieved FLOP/s over the probe's matmul FLOP/s for a compute-bound
  operation (and for a whole network); achieved bytes/s over the probe's copy bandwidth for a
  memory-bound operation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cnnstat.core import memory
from cnnstat.core.report import Report

TRAIN_FACTOR = 3  # forward + backward ~ 3 x forward (backward ~ 2 x forward): a convention

FLOPS_INFERENCE = ("achieved FLOP/s = analytic FLOPs (2 x MACs x batch; conv and linear only) / "
                   "median latency")
FLOPS_TRAIN = ("achieved FLOP/s = 3 x analytic forward FLOPs (2 x MACs x batch) / median step "
               "time; the 3 is a convention (backward ~ 2 x forward), not a count")
BYTES = ("bytes moved = (input + output activations) x batch + weights, at the dtype's size; "
         "each touched once (a lower bound)")
INTENSITY = "arithmetic intensity = FLOPs / bytes moved; ridge point = peak FLOP/s / bandwidth"
PEAK = ("fraction of peak: achieved FLOP/s / probe matmul FLOP/s (compute-bound layers and whole "
        "networks), achieved bytes/s / probe copy bandwidth (memory-bound layers)")
PERCENTILES = ("latency: median of the timed iterations; p10/p90 and the interquartile range "
               "(p75 - p25) by linear interpolation between order statistics; seconds")


@dataclass(frozen=True)
class Stats:
    """Summary of timed samples, in seconds."""

    n: int
    median: float
    p10: float
    p25: float
    p75: float
    p90: float
    minimum: float
    maximum: float

    @property
    def iqr(self) -> float:
        return self.p75 - self.p25

    def to_json(self) -> dict[str, float | int]:
        return {"n": self.n, "median": self.median, "p10": self.p10, "p25": self.p25,
                "p75": self.p75, "p90": self.p90, "iqr": self.iqr, "min": self.minimum,
                "max": self.maximum}


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of sorted samples, interpolating linearly between order
    statistics at position q * (n - 1) (numpy's default 'linear' method)."""
    if not ordered:
        raise ValueError("no samples")
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def stats(samples: Sequence[float]) -> Stats:
    s = sorted(samples)
    return Stats(len(s), percentile(s, 0.5), percentile(s, 0.1), percentile(s, 0.25),
                 percentile(s, 0.75), percentile(s, 0.9), s[0], s[-1])


def step_flops(macs_per_image: int, batch: int, train: bool) -> int:
    """Analytic FLOPs of one timed step: 2 x MACs x batch, x 3 for forward + backward."""
    return 2 * macs_per_image * batch * (TRAIN_FACTOR if train else 1)


@dataclass(frozen=True)
class LayerCost:
    """One operation's analytic work and traffic for a batch (see the module docstring)."""

    name: str
    kind: str
    flops: int
    bytes: int

    @property
    def intensity(self) -> float:
        return self.flops / self.bytes if self.bytes else 0.0


def layer_costs(report: Report, batch: int, dtype_bytes: int) -> list[LayerCost]:
    """Forward FLOPs and bytes moved by every operation of ``report`` for ``batch`` images."""
    read = memory.reads(report)
    return [LayerCost(r.name, r.kind, 2 * r.macs * batch,
                      ((read[r.name] + r.activations) * batch + r.params) * dtype_bytes)
            for r in report.rows]


def ridge(peak_flops_per_s: float, bytes_per_s: float) -> float:
    """The ridge point in FLOP per byte: the intensity at which both roofs meet."""
    return peak_flops_per_s / bytes_per_s


def bound(intensity: float, ridge_point: float) -> str:
    """'compute' at or above the ridge point, 'memory' below it."""
    return "compute" if intensity >= ridge_point else "memory"


def fraction_of_peak(cost: LayerCost, seconds: float, peak_flops_per_s: float,
                     bytes_per_s: float) -> float:
    """Achieved FLOP/s over the peak for a compute-bound operation, achieved bytes/s over the
    bandwidth for a memory-bound one."""
    if bound(cost.intensity, ridge(peak_flops_per_s, bytes_per_s)) == "compute":
        return cost.flops / seconds / peak_flops_per_s
    return cost.bytes / seconds / bytes_per_s


@dataclass(frozen=True)
class Fit:
    """The largest batch that ran (0: none did) and every batch tried, in order, with whether it
    ran; ``upper`` is the bound searched up to (min of the maximum and the memory ceiling)."""

    largest: int
    upper: int
    tried: tuple[tuple[int, bool], ...]


def fit_search(runs: Callable[[int], bool], upper: int) -> Fit:
    """The largest batch in 1..upper for which ``runs`` is true, assuming that running is
    monotone in the batch: doubling from 1 until a batch fails or ``upper`` is reached, then
    bisection between the last batch that ran and the first that did not."""
    tried: list[tuple[int, bool]] = []

    def attempt(b: int) -> bool:
        ok = runs(b)
        tried.append((b, ok))
        return ok

    good, bad, b = 0, None, 1
    while b <= upper:
        if not attempt(b):
            bad = b
            break
        good = b
        if b == upper:
            break
        b = min(2 * b, upper)
    while bad is not None and bad - good > 1:
        mid = (good + bad) // 2
        if attempt(mid):
            good = mid
        else:
            bad = mid
    return Fit(good, upper, tuple(tried))
