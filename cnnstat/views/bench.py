"""What ``cnnstat bench`` shows: the timings beside the analytic figures, the device probe, the
environment, per-layer rooflines and the fit search; and the JSON document.  Works on the plain
data of :mod:`cnnstat.torch_backend.bench.results` (no torch import here)."""

from __future__ import annotations

from typing import Any

from cnnstat.core import memory, roofline
from cnnstat.core.roofline import Fit
from cnnstat.render import numbers
from cnnstat.render.jsonfmt import header
from cnnstat.render.table import Column, Table
from cnnstat.torch_backend.bench import (
    BatchResult,
    BenchRun,
    LayerTime,
    PerLayer,
    Probe,
    SpecResult,
)

MS = 1000.0
GIGA = 1e9
MEMORY = ("analytic memory: cnnstat.core.memory's estimate at the dtype, weights included "
          "(inference: peak live activations; --train: saved activations + gradients, no "
          "optimizer state)")


def conventions(run: BenchRun) -> dict[str, str]:
    return {"achieved_flops": roofline.FLOPS_TRAIN if run.options.train else
            roofline.FLOPS_INFERENCE, "latency": roofline.PERCENTILES, "bytes": roofline.BYTES,
            "intensity": roofline.INTENSITY, "fraction_of_peak": roofline.PEAK,
            "memory": MEMORY, "inference_memory": memory.INFERENCE}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * MS


def _mode(run: BenchRun) -> str:
    return "training step" if run.options.train else "inference"


def results_table(run: BenchRun) -> Table:
    cols = [Column("spec", "spec"), Column("batch", "batch", "count"),
            Column("iters", "iters", "count"), Column("median_ms", "median ms", "real"),
            Column("p10_ms", "p10 ms", "real"), Column("p90_ms", "p90 ms", "real"),
            Column("iqr_ms", "IQR ms", "real"), Column("images_per_s", "images/s", "real"),
            Column("gflops_per_s", "GFLOP/s", "real"),
            Column("percent_of_peak", "% of peak", "real"),
            Column("device_peak_bytes", "device peak", "bytes"),
            Column("analytic_bytes", "analytic memory", "bytes"), Column("status", "status")]
    rows = [_result_row(s, r, run.probe) for s in run.specs for r in s.results]
    env = run.environment
    o = run.options
    title = (f"cnnstat bench: {_mode(run)}, {o.dtype}, on {env['device_name']} ({env['device']})")
    notes = [conventions(run)["achieved_flops"],
             "% of peak: achieved FLOP/s / the probe's matmul FLOP/s" if run.probe else
             "% of peak: not measured (--no-probe)", roofline.PERCENTILES, MEMORY,
             "device peak: " + _peak_note(run), _repeats(run)]
    return Table(title, cols, rows, None, notes)


def _peak_note(run: BenchRun) -> str:
    for s in run.specs:
        for r in s.results:
            return r.memory.device_note
    return "none measured"


def _repeats(run: BenchRun) -> str:
    o = run.options
    timed = (f"as many timed calls as fit in {o.time_budget:g} s (at least 3)"
             if o.time_budget is not None else f"{o.iters} timed calls")
    return (f"each batch: one first call timed apart (compile and autotuning included: "
            f"first_call_s in JSON), {o.warmup} warm-up calls, {timed}; "
            + ("CUDA events around each call" if run.environment["device"].startswith("cuda")
               else "time.perf_counter around each call and a device synchronisation"))


def _result_row(spec: SpecResult, r: BatchResult, probe: Probe | None) -> dict[str, Any]:
    row: dict[str, Any] = {"spec": spec.spec, "batch": r.batch, "status": r.status,
                           "device_peak_bytes": r.memory.device_peak,
                           "analytic_bytes": r.memory.analytic_total}
    if r.latency is not None:
        frac = r.fraction_of_peak(probe)
        row.update(iters=r.latency.n, median_ms=_ms(r.latency.median), p10_ms=_ms(r.latency.p10),
                   p90_ms=_ms(r.latency.p90), iqr_ms=_ms(r.latency.iqr),
                   images_per_s=r.images_per_s, gflops_per_s=(r.flops_per_s or 0.0) / GIGA,
                   percent_of_peak=None if frac is None else 100 * frac)
        if r.memory.device_peak is None:
            row["device_peak_bytes"] = "n/a"
    else:
        row["status"] = f"{r.status}: {r.error}" if r.error else r.status
    return row


def probe_table(probe: Probe) -> Table:
    cols = [Column("probe", "probe"), Column("size", "size"),
            Column("median_ms", "median ms", "real"), Column("iters", "iters", "count"),
            Column("rate", "rate", "real"), Column("unit", "unit")]  # rate: GFLOP/s or GB/s
    rows = [{"probe": f"matmul ({probe.dtype})", "size": f"{probe.matmul_n}x{probe.matmul_n}",
             "median_ms": _ms(probe.matmul.median), "iters": probe.matmul.n,
             "rate": probe.flops_per_s / GIGA, "unit": "GFLOP/s (2 n^3 / median)"},
            {"probe": f"copy ({probe.dtype})", "size": numbers.binary(probe.copy_bytes),
             "median_ms": _ms(probe.copy.median), "iters": probe.copy.n,
             "rate": probe.bytes_per_s / GIGA, "unit": "GB/s (read + write / median)"}]
    notes = [f"ridge point: {probe.ridge:.4g} FLOP/byte (peak FLOP/s / bandwidth); below it a "
             "layer is memory-bound"]
    return Table("device probe: achievable peaks, timed like the networks", cols, rows, None, notes)


ENV_LABELS = (("device", "device"), ("device_name", "device name"), ("cpu", "CPU"),
              ("logical_cpus", "logical CPUs"), ("threads", "torch threads"),
              ("device_memory", "device memory (bytes)"),
              ("compute_capability", "compute capability"), ("driver", "driver"),
              ("cuda", "CUDA (torch build)"), ("cudnn", "cuDNN"), ("tf32", "TF32 allowed"),
              ("torch", "torch"), ("python", "Python"), ("platform", "platform"))


def environment_table(run: BenchRun) -> Table:
    env, o = run.environment, run.options
    rows = [{"key": label, "value": _text(env[key])} for key, label in ENV_LABELS
            if env.get(key) is not None]
    timed = f"{o.time_budget:g} s budget" if o.time_budget is not None else f"{o.iters} calls"
    rows += [{"key": "dtype", "value": o.dtype}, {"key": "mode", "value": _mode(run)},
             {"key": "batches", "value": "fit search" if o.fit else
              ",".join(map(str, o.batches))},
             {"key": "repeats", "value": f"{o.warmup} warm-up, {timed}"},
             {"key": "channels last", "value": _text(o.channels_last)},
             {"key": "torch.compile", "value": _text(o.compile)}]
    return Table("environment", [Column("key", "what"), Column("value", "value")], rows)


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, dict):
        return ", ".join(f"{k} {_text(x)}" for k, x in v.items())
    return str(v)


def layer_table(spec: SpecResult, r: BatchResult, pl: PerLayer, probe: Probe | None) -> Table:
    cols = [Column("name", "name"), Column("kind", "kind"),
            Column("median_ms", "median ms", "real"), Column("share", "% of sum", "real"),
            Column("gflops_per_s", "GFLOP/s", "real"), Column("gb_per_s", "GB/s", "real"),
            Column("intensity", "FLOP/byte", "real"), Column("bound", "bound"),
            Column("percent_of_peak", "% of peak", "real")]
    total = pl.sum_of_medians
    rows = [_layer_row(lt, total, probe) for lt in pl.layers]
    title = f"{spec.spec}: per-layer forward times, batch {r.batch}"
    return Table(title, cols, rows, None, _layer_notes(r, pl, probe))


def _layer_row(lt: LayerTime, total: float, probe: Probe | None) -> dict[str, Any]:
    c, t = lt.cost, lt.time.median
    row: dict[str, Any] = {"name": c.name, "kind": c.kind, "median_ms": _ms(t),
                           "share": 100 * t / total if total else None,
                           "gflops_per_s": c.flops / t / GIGA if t else None,
                           "gb_per_s": c.bytes / t / GIGA if t else None,
                           "intensity": c.intensity}
    if probe is not None and t:
        row["bound"] = roofline.bound(c.intensity, probe.ridge)
        row["percent_of_peak"] = 100 * roofline.fraction_of_peak(c, t, probe.flops_per_s,
                                                          probe.bytes_per_s)
    return row


def _layer_notes(r: BatchResult, pl: PerLayer, probe: Probe | None) -> list[str]:
    whole = r.latency.median if r.latency else 0.0
    notes = [f"sum of per-layer medians {pl.sum_of_medians * MS:.4g} ms; whole forward "
             f"{whole * MS:.4g} ms without hooks, {pl.hooked_forward.median * MS:.4g} ms with "
             "them",
             f"hook cost: an empty nn.Identity reads as {pl.hook_floor.median * 1e6:.3g} us "
             f"under the hooks; hooking adds {pl.hook_overhead * 1e6:.3g} us per call",
             roofline.BYTES, roofline.INTENSITY]
    if probe is not None:
        notes += [f"ridge point {probe.ridge:.4g} FLOP/byte; " + roofline.PEAK]
    return notes


def fit_table(spec: SpecResult, fit: Fit) -> Table:
    rows = [{"batch": b, "ran": "ran" if ok else "out of memory"} for b, ok in fit.tried]
    notes = [f"largest batch that ran: {fit.largest} (searched 1..{fit.upper}: "
             "doubling, then bisection)"]
    if spec.ceiling_note:
        notes.append(spec.ceiling_note)
    return Table(f"{spec.spec}: fit search", [Column("batch", "batch", "count"),
                                              Column("ran", "result")], rows, None, notes)


def tables(run: BenchRun) -> list[Table]:
    out = [results_table(run)]
    if run.probe is not None:
        out.append(probe_table(run.probe))
    out.append(environment_table(run))
    for s in run.specs:
        if s.fit is not None:
            out.append(fit_table(s, s.fit))
        out += [layer_table(s, r, r.per_layer, run.probe) for r in s.results
                if r.per_layer is not None]
    return out


def document(run: BenchRun) -> dict[str, Any]:
    return {**header("bench"), "conventions": conventions(run),
            "environment": run.environment, "settings": run.options.to_json(),
            "probe": probe_json(run.probe) if run.probe else None,
            "results": [spec_json(s, run) for s in run.specs]}


def probe_json(p: Probe) -> dict[str, Any]:
    return {"dtype": p.dtype,
            "matmul": {"n": p.matmul_n, "flops": 2 * p.matmul_n ** 3,
                       "seconds": p.matmul.to_json(), "flops_per_s": p.flops_per_s},
            "copy": {"bytes": p.copy_bytes, "bytes_moved": 2 * p.copy_bytes,
                     "seconds": p.copy.to_json(), "bytes_per_s": p.bytes_per_s},
            "ridge_flop_per_byte": p.ridge}


def spec_json(s: SpecResult, run: BenchRun) -> dict[str, Any]:
    fit = None if s.fit is None else {
        "largest": s.fit.largest, "upper": s.fit.upper, "max_batch": run.options.max_batch,
        "memory_ceiling": s.ceiling, "ceiling_note": s.ceiling_note or None,
        "tried": [{"batch": b, "ran": ok} for b, ok in s.fit.tried]}
    return {"spec": s.spec, "title": s.title, "input_shape": list(s.input_shape),
            "params": s.params, "macs_per_image": s.macs, "fit": fit,
            "batches": [batch_json(r, run) for r in s.results]}


def batch_json(r: BatchResult, run: BenchRun) -> dict[str, Any]:
    return {"batch": r.batch, "status": r.status, "error": r.error,
            "latency_s": r.latency.to_json() if r.latency else None,
            "first_call_s": r.first_call, "images_per_s": r.images_per_s,
            "flops": r.flops, "flops_convention": conventions(run)["achieved_flops"],
            "achieved_flops_per_s": r.flops_per_s,
            "fraction_of_peak": r.fraction_of_peak(run.probe),
            "memory": {"device_peak_bytes": r.memory.device_peak,
                       "device_peak_note": r.memory.device_note,
                       "analytic_activation_bytes": r.memory.analytic_activations,
                       "analytic_total_bytes": r.memory.analytic_total},
            "per_layer": per_layer_json(r.per_layer, run.probe) if r.per_layer else None}


def per_layer_json(pl: PerLayer, probe: Probe | None) -> dict[str, Any]:
    layers = []
    for lt in pl.layers:
        c, t = lt.cost, lt.time.median
        layers.append({"name": c.name, "kind": c.kind, "seconds": lt.time.to_json(),
                       "flops": c.flops, "bytes": c.bytes, "intensity": c.intensity,
                       "bound": roofline.bound(c.intensity, probe.ridge) if probe else None,
                       "fraction_of_peak": roofline.fraction_of_peak(
                           c, t, probe.flops_per_s, probe.bytes_per_s) if probe and t else None})
    return {"layers": layers, "sum_of_medians_s": pl.sum_of_medians,
            "hooked_forward_s": pl.hooked_forward.to_json(),
            "hook_floor_s": pl.hook_floor.to_json(), "hook_overhead_s": pl.hook_overhead}
