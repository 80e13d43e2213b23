"""The timing primitives every measurement shares: devices, their synchronisation and the
timing loop (bench times networks with them, the probe times a matmul and a copy)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch

from cnnstat.errors import UsageError

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
MIN_ITERS = 3  # a time budget never yields fewer timed calls than this
MAX_ITERS = 100_000


def resolve_device(name: str) -> torch.device:
    """The torch device for ``cpu``, ``cuda`` or ``mps``; a UsageError (exit 2) naming why the
    device is not there."""
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            why = ("this torch build has no CUDA support" if torch.version.cuda is None else
                   f"torch {torch.__version__} was built for CUDA {torch.version.cuda} but finds "
                   "no usable GPU (no device, or no driver)")
            raise UsageError(f"--device cuda: no CUDA device is available: {why}",
                             "use --device cpu, or run on a machine with an NVIDIA GPU and a CUDA "
                             "build of torch")
        return torch.device("cuda", torch.cuda.current_device())
    if name == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise UsageError("--device mps: the Metal (MPS) backend is not available here",
                             "MPS needs macOS 12.3+ on Apple silicon; use --device cpu")
        return torch.device("mps")
    raise UsageError(f"unknown device {name!r}", "use cpu, cuda or mps")


def synchronizer(device: torch.device) -> Callable[[], None]:
    """A function that waits until the device has finished all queued work."""
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    if device.type == "mps":
        return torch.mps.synchronize  # GPU-only path
    return lambda: None  # CPU ops run synchronously


def time_calls(fn: Callable[[], Any], device: torch.device, *, warmup: int, iters: int = 20,
               budget: float | None = None) -> list[float]:
    """Seconds taken by each timed call of ``fn`` on ``device``.

    ``warmup`` untimed calls first, then a synchronisation.  Without ``budget``, exactly ``iters``
    timed calls; with it, calls until ``budget`` seconds of wall time have passed (at least
    MIN_ITERS).  On CUDA each call sits between two CUDA events and the end event is waited for
    before the next call, so every sample is one call's latency on the GPU; elsewhere
    ``time.perf_counter`` is read before the call and after it and a device synchronisation
    (``torch.mps.synchronize`` on MPS; none is needed on the CPU).
    """
    sync = synchronizer(device)
    for _ in range(warmup):
        fn()
    sync()
    one = _cuda_call if device.type == "cuda" else _host_call
    cap = MAX_ITERS if budget is not None else iters
    deadline = time.perf_counter() + (budget or 0.0)
    times: list[float] = []
    while len(times) < cap:
        times.append(one(fn, sync))
        if budget is not None and len(times) >= MIN_ITERS and time.perf_counter() >= deadline:
            break
    return times


def _host_call(fn: Callable[[], Any], sync: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def _cuda_call(fn: Callable[[], Any], sync: Callable[[], None]) -> float:  # GPU-only path
    start = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
    end = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
    start.record()
    fn()
    end.record()
    end.synchronize()
    return float(start.elapsed_time(end)) / 1000.0  # elapsed_time is in milliseconds
