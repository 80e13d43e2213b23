"""What ``cnnstat plot roofline|bench`` draws from a ``cnnstat bench --format json`` document:
per-layer roofline points and the measured roofs, latency and throughput per batch size."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cnnstat.errors import UsageError
from cnnstat.render.timing_charts import BatchPoint, RoofPoint

FLOPS = ("FLOPs = 2 x MACs (conv and linear multiply-accumulates), analytic; bytes moved = "
         "(elements read + written) x batch + parameters, at the dtype's size (a lower bound)")


HINT = "make one with: cnnstat bench SPEC --format json > BENCH.json"


def _need(doc: Any, path: str, *keys: str) -> Any:
    value = doc
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            raise UsageError(f"{path}: not a 'cnnstat bench --format json' document "
                             f"(no '{'.'.join(keys)}')", HINT)
        value = value[key]
    return value


def _real(value: Any, path: str, what: str) -> float:
    """A measured or counted figure of the document: a finite number, never text or a list
    (a document that is not cnnstat's is refused, not drawn)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value):
        raise UsageError(f"{path}: not a 'cnnstat bench --format json' document ({what} is "
                         f"{_kind(value)}, not a number)", HINT)
    return float(value)


def _kind(value: Any) -> str:
    return repr(value)[:40] if isinstance(value, (str, int, float)) else type(value).__name__


def _text(value: Any) -> str:
    """A name of the document as shown in a title (anything that is not text shows as '?')."""
    return value if isinstance(value, str) else "?"


def _items(value: Any) -> list[dict[str, Any]]:
    """The mappings of a list of them (anything else in it is not drawn)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def check_document(doc: Any, path: str) -> list[dict[str, Any]]:
    """The document's results, after checking that it is one from ``cnnstat bench``."""
    command = _need(doc, path, "command")
    if command != "bench":
        raise UsageError(f"{path}: a 'cnnstat {_text(command)}' document, not 'cnnstat bench'",
                         HINT)
    results = _need(doc, path, "results")
    if not isinstance(results, list):
        raise UsageError(f"{path}: not a 'cnnstat bench --format json' document ('results' is "
                         "not a list)", HINT)
    return _items(results)


def _setting(doc: dict[str, Any]) -> str:
    s, env = doc.get("settings"), doc.get("environment")
    s, env = (s if isinstance(s, dict) else {}), (env if isinstance(env, dict) else {})
    return (f"{_text(env.get('device', '?'))} ({_text(env.get('device_name', '?'))}), "
            f"{_text(s.get('dtype', '?'))}, {_text(s.get('mode', 'inference'))}")


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
        for b in _items(result.get("batches")):
            if b.get("per_layer") and (batch is None or b.get("batch") == batch):
                return _roofline(doc, result, b, path)
    raise UsageError(f"{path}: no per-layer times" +
                     (f" for {spec}" if spec else "") + (f" at batch {batch}" if batch else ""),
                     "time them with: cnnstat bench SPEC --per-layer --format json")


def _roofline(doc: dict[str, Any], result: dict[str, Any], b: dict[str, Any],
              path: str) -> Roofline:
    layers = _items(_need(b, path, "per_layer", "layers"))
    points = []
    for lt in layers:
        name = _text(lt.get("name"))
        flops = _real(lt.get("flops"), path, f"the FLOPs of {name}")
        median = _real(_need(lt, path, "seconds", "median"), path, f"the time of {name}")
        intensity = _real(lt.get("intensity"), path, f"the intensity of {name}")
        if flops > 0 and median > 0:
            points.append(RoofPoint(name, intensity, flops / median))
    probe = doc.get("probe")
    probe = probe if isinstance(probe, dict) else None
    peak = _real(_need(probe, path, "matmul", "flops_per_s"), path, "the matmul peak") \
        if probe else None
    bandwidth = _real(_need(probe, path, "copy", "bytes_per_s"), path, "the copy bandwidth") \
        if probe else None
    title = (f"{_text(result.get('spec'))}: per-layer roofline (input {_shape(result)}, batch "
             f"{_real(b.get('batch'), path, 'the batch'):g}; {_setting(doc)})")
    roofs = ("roofs: the probe's matmul FLOP/s and copy bandwidth" if probe else
             "no probe in this run (--no-probe): no roofs")
    note = (f"{FLOPS}.  {roofs}.  {len(layers) - len(points)} operations without FLOPs not "
            "shown (intensity 0).")
    return Roofline(points, peak, bandwidth, title, note)


def _shape(result: dict[str, Any]) -> str:
    shape = result.get("input_shape")
    if not isinstance(shape, list) or not all(isinstance(d, int) for d in shape):
        return "?"
    return "x".join(str(d) for d in shape) or "?"


@dataclass(frozen=True)
class Sweep:
    series: Sequence[tuple[str, Sequence[BatchPoint]]]
    title: str
    footnote: str


def sweep(doc: dict[str, Any], path: str) -> Sweep:
    """Each spec's timed batches (out-of-memory batches left out, and said so)."""
    series, skipped = [], 0
    for result in check_document(doc, path):
        batches = _items(result.get("batches"))
        points = [_batch_point(b, path) for b in batches if b.get("latency_s")]
        skipped += len(batches) - len(points)
        if points:
            series.append((f"{_text(result.get('spec'))} ({_shape(result)})", points))
    if not series:
        raise UsageError(f"{path}: no timed batch to draw",
                         "time several: cnnstat bench SPEC --batch 1,8,32 --format json")
    names = ", ".join(s for s, _ in series)
    title = f"Latency and throughput against batch size: {names} ({_setting(doc)})"
    note = ("latency: median of the timed calls, one call = one batch; throughput = batch / "
            "median latency" + (f".  {skipped} batches that did not run are not shown"
                                if skipped else "") + ".")
    return Sweep(series, title, note)


def _batch_point(b: dict[str, Any], path: str) -> BatchPoint:
    size = b.get("batch")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise UsageError(f"{path}: not a 'cnnstat bench --format json' document (a batch size "
                         f"is {_kind(size)})", HINT)
    median, p10, p90 = (_real(_need(b, path, "latency_s", k), path,
                              f"the {k} latency at batch {size}") for k in ("median", "p10", "p90"))
    return BatchPoint(size, median, p10, p90, _real(b.get("images_per_s"), path,
                                                    f"the throughput at batch {size}"))
