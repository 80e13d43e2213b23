"""What ``cnnstat plot roofline|bench`` draws from a ``cnnstat bench --format json`` document:
per-layer roofline points and the measured roofs, latency and throughput per batch size."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cnnstat.errors import UsageError
from cnnstat.render.timing_charts import BatchPoint, RoofPoint

FLOPS = ("FLOPs = 2 x MACs (conv and linear multiply-accumulates), analytic; bytes moved = "
         "(elements read + written) x batch + parameters, at the dtype's size (a lower bound)")


def _need(doc: Any, path: str, *keys: str) -> Any:
    value = doc
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            raise UsageError(f"{path}: not a 'cnnstat bench --format json' document "
                             f"(no '{'.'.join(keys)}')",
                             "make one with: cnnstat bench SPEC --format json > BENCH.json")
        value = value[key]
    return value


def check_document(doc: Any, path: str) -> list[dict[str, Any]]:
    """The document's results, after checking that it is one from ``cnnstat bench``."""
    if _need(doc, path, "command") != "bench":
        raise UsageError(f"{path}: a 'cnnstat {doc['command']}' document, not 'cnnstat bench'",
                         "make one with: cnnstat bench SPEC --format json > BENCH.json")
    results: list[dict[str, Any]] = _need(doc, path, "results")
    return results


def _setting(doc: dict[str, Any]) -> str:
    s, env = doc.get("settings") or {}, doc.get("environment") or {}
    return (f"{env.get('device', '?')} ({env.get('device_name', '?')}), {s.get('dtype', '?')}, "
            f"{s.get('mode', 'inference')}")


@dataclass(frozen=True)
class Roofline:
    points: list[RoofPoint]
    peak_flops_per_s: float | None
    bytes_per_s: float | None
    title: str
    footnote: str


def roofline(doc: dict[str, Any], path: str, spec: str | None, batch: int | None) -> Roofline:
    """The per-layer points of one spec and batch (the first with per-layer times, unless
    named); operations without FLOPs (intensity 0) cannot sit on a log axis and are counted in
    the footnote."""
    for result in check_document(doc, path):
        if spec is not None and result.get("spec") != spec:
            continue
        for b in result.get("batches") or []:
            if b.get("per_layer") and (batch is None or b.get("batch") == batch):
                return _roofline(doc, result, b)
    raise UsageError(f"{path}: no per-layer times" +
                     (f" for {spec}" if spec else "") + (f" at batch {batch}" if batch else ""),
                     "time them with: cnnstat bench SPEC --per-layer --format json")


def _roofline(doc: dict[str, Any], result: dict[str, Any], b: dict[str, Any]) -> Roofline:
    layers = b["per_layer"]["layers"]
    points = [RoofPoint(lt["name"], lt["intensity"], lt["flops"] / lt["seconds"]["median"])
              for lt in layers if lt["flops"] > 0 and lt["seconds"]["median"] > 0]
    probe = doc.get("probe")
    peak = probe["matmul"]["flops_per_s"] if probe else None
    bandwidth = probe["copy"]["bytes_per_s"] if probe else None
    title = (f"{result['spec']}: per-layer roofline (input {_shape(result)}, batch "
             f"{b['batch']}; {_setting(doc)})")
    roofs = ("roofs: the probe's matmul FLOP/s and copy bandwidth" if probe else
             "no probe in this run (--no-probe): no roofs")
    note = (f"{FLOPS}.  {roofs}.  {len(layers) - len(points)} operations without FLOPs not "
            "shown (intensity 0).")
    return Roofline(points, peak, bandwidth, title, note)


def _shape(result: dict[str, Any]) -> str:
    return "x".join(str(d) for d in result.get("input_shape") or []) or "?"


@dataclass(frozen=True)
class Sweep:
    series: Sequence[tuple[str, Sequence[BatchPoint]]]
    title: str
    footnote: str


def sweep(doc: dict[str, Any], path: str) -> Sweep:
    """Each spec's timed batches (out-of-memory batches left out, and said so)."""
    series, skipped = [], 0
    for result in check_document(doc, path):
        points = [BatchPoint(b["batch"], b["latency_s"]["median"], b["latency_s"]["p10"],
                             b["latency_s"]["p90"], b["images_per_s"])
                  for b in result.get("batches") or [] if b.get("latency_s")]
        skipped += len(result.get("batches") or []) - len(points)
        if points:
            series.append((f"{result['spec']} ({_shape(result)})", points))
    if not series:
        raise UsageError(f"{path}: no timed batch to draw",
                         "time several: cnnstat bench SPEC --batch 1,8,32 --format json")
    names = ", ".join(s for s, _ in series)
    title = f"Latency and throughput against batch size: {names} ({_setting(doc)})"
    note = ("latency: median of the timed calls, one call = one batch; throughput = batch / "
            "median latency" + (f".  {skipped} batches that did not run are not shown"
                                if skipped else "") + ".")
    return Sweep(series, title, note)
