"""``cnnstat bench`` on the CPU, end to end on tiny specs with few iterations: the JSON document
(units, conventions, derived figures), batch sweeps, CSV and markdown, per-layer timing, the fit
search, and every clean failure (exit 2, no traceback; out of memory continues the sweep).
No test asserts a speed: figures are checked against each other and against the analytic side."""

from __future__ import annotations

import csv
import functools
import io
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from cnnstat.core import memory
from cnnstat.spec import loader
from tests.conftest import write

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

from cnnstat.analysis import analyze  # noqa: E402
from cnnstat.torch_backend.bench import runner as tbench  # noqa: E402
from cnnstat.torch_backend.bench import probe as tprobe  # noqa: E402
from cnnstat.torch_backend.bench import timing  # noqa: E402
from cnnstat.torch_backend.build.net import SpecNet  # noqa: E402

QUICK = ("--iters", "3", "--warmup", "1", "--threads", "1")
CONV_MACS = 32 * 32 * 10 * 5 * 5 * 3  # conv-example: H_out W_out C_out k k C_in


@pytest.fixture(autouse=True)
def quick_probe_and_threads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A small probe (the figures stay real, just quicker); torch's thread count restored."""
    monkeypatch.setattr(tprobe, "PROBE_SECONDS", 0.02)
    monkeypatch.setattr(tprobe, "MATMUL_CAP", {"cpu": 256, "cuda": 256, "mps": 256})
    monkeypatch.setattr(tprobe, "COPY_BYTES", {"cpu": 2**20, "cuda": 2**20, "mps": 2**20})
    monkeypatch.setattr(tprobe, "HOOK_CALLS", 20)
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def run(cli: Callable[..., Result]) -> Callable[..., Result]:
    """``cnnstat bench ARGS`` through the shared ``cli`` fixture."""
    return functools.partial(cli, "bench")


@pytest.fixture
def doc_of(run: Callable[..., Result]) -> Callable[..., dict[str, Any]]:
    """The JSON document of a ``cnnstat bench`` that must exit 0."""

    def doc(*args: str) -> dict[str, Any]:
        result = run(*args, "--format", "json")
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    return doc


def test_json_document_has_units_conventions_and_consistent_figures(doc_of: Callable) -> None:
    doc = doc_of("conv-example", *QUICK)
    assert (doc["schema_version"], doc["command"]) == (1, "bench")
    env = doc["environment"]
    assert env["device"] == "cpu" and env["threads"] == 1 and env["cuda"] == torch.version.cuda
    assert env["torch"] == torch.__version__ and env["cpu"] and env["device_name"]
    assert doc["settings"]["dtype"] == "float32" and doc["settings"]["batches"] == [1]
    probe = doc["probe"]
    assert probe["matmul"]["flops_per_s"] == pytest.approx(
        probe["matmul"]["flops"] / probe["matmul"]["seconds"]["median"])
    assert probe["ridge_flop_per_byte"] == pytest.approx(
        probe["matmul"]["flops_per_s"] / probe["copy"]["bytes_per_s"])
    (spec,) = doc["results"]
    assert (spec["spec"], spec["macs_per_image"], spec["params"]) == ("conv-example", CONV_MACS,
                                                                       10 * 5 * 5 * 3 + 10)
    (b,) = spec["batches"]
    lat = b["latency_s"]
    assert b["status"] == "ok" and lat["n"] == 3
    assert lat["min"] <= lat["p10"] <= lat["median"] <= lat["p90"] <= lat["max"]
    assert lat["iqr"] == pytest.approx(lat["p75"] - lat["p25"])
    assert b["flops"] == 2 * CONV_MACS * 1
    assert "2 x MACs x batch" in b["flops_convention"]
    assert b["images_per_s"] == pytest.approx(1 / lat["median"])
    assert b["achieved_flops_per_s"] == pytest.approx(b["flops"] / lat["median"])
    assert b["fraction_of_peak"] == pytest.approx(b["achieved_flops_per_s"]
                                                  / probe["matmul"]["flops_per_s"])
    assert b["first_call_s"] > 0
    mem = b["memory"]
    assert mem["device_peak_bytes"] is None and "unavailable" in mem["device_peak_note"]
    # inference peak: the input and the conv's output alive together, plus the weights
    assert mem["analytic_activation_bytes"] == (3 * 32 * 32 + 10 * 32 * 32) * 4
    assert mem["analytic_total_bytes"] == (3 * 32 * 32 + 10 * 32 * 32 + 760) * 4
    assert set(doc["conventions"]) >= {"achieved_flops", "latency", "fraction_of_peak",
                                       "memory", "bytes", "intensity"}


def test_batch_sweep_times_each_batch_in_order(run: Callable, doc_of: Callable) -> None:
    doc = doc_of("conv-example", *QUICK, "--batch", "1,4", "--no-probe")
    batches = doc["results"][0]["batches"]
    assert [b["batch"] for b in batches] == [1, 4]
    assert [b["flops"] for b in batches] == [2 * CONV_MACS * 1, 2 * CONV_MACS * 4]
    assert batches[1]["images_per_s"] == pytest.approx(4 / batches[1]["latency_s"]["median"])
    assert doc["probe"] is None and batches[0]["fraction_of_peak"] is None
    table = run("conv-example", *QUICK, "--batch", "1,4", "--no-probe").stdout
    assert "conv-example" in table and "% of peak: not measured" in table


def test_csv_has_raw_values_and_markdown_has_the_tables(run: Callable) -> None:
    text = run("conv-example", "lenet5", *QUICK, "--format", "csv").stdout
    block = text.split("\n\n")[0]
    rows = list(csv.DictReader(io.StringIO(block)))
    assert [r["spec"] for r in rows] == ["conv-example", "lenet5"]
    for r in rows:
        median_ms = float(r["median_ms"])
        assert float(r["images_per_s"]) == pytest.approx(1000 / median_ms)
        assert int(r["analytic_bytes"]) > 0 and r["status"] == "ok"
    md = run("conv-example", *QUICK, "--format", "markdown").stdout
    assert md.startswith("### cnnstat bench: inference, float32")
    assert "| conv-example | 1 | 3 |" in md
    assert "### device probe" in md and "### environment" in md and "| torch threads | 1 |" in md


def test_training_steps_count_three_forwards(doc_of: Callable) -> None:
    doc = doc_of("conv-example", *QUICK, "--train", "--no-probe")
    (b,) = doc["results"][0]["batches"]
    assert b["flops"] == 3 * 2 * CONV_MACS
    assert "backward ~ 2 x forward" in b["flops_convention"]
    report = analyze(loader.load("conv-example"))
    saved = memory.training(report, memory.schedule(report), 1, "sgd")
    assert b["memory"]["analytic_total_bytes"] == saved.total * 4
    assert doc["settings"]["mode"].startswith("training step")


def test_time_budget_gives_at_least_three_calls(doc_of: Callable) -> None:
    doc = doc_of("conv-example", "--time-budget", "0.01", "--warmup", "0", "--no-probe")
    assert doc["results"][0]["batches"][0]["latency_s"]["n"] >= 3
    assert doc["settings"]["time_budget"] == 0.01 and doc["settings"]["iters"] is None


def test_per_layer_times_every_operation_with_its_intensity(run: Callable,
                                                            doc_of: Callable) -> None:
    doc = doc_of("resnet-basic-block", *QUICK, "--per-layer", "--input", "64x16x16")
    pl = doc["results"][0]["batches"][0]["per_layer"]
    report = analyze(loader.load("resnet-basic-block", input_shape=(64, 16, 16)))
    assert [x["name"] for x in pl["layers"]] == [r.name for r in report.rows]
    ridge = doc["probe"]["ridge_flop_per_byte"]
    for x in pl["layers"]:
        assert x["intensity"] == pytest.approx(x["flops"] / x["bytes"])
        assert x["bound"] == ("compute" if x["intensity"] >= ridge else "memory")
        assert x["seconds"]["n"] == 3 and x["fraction_of_peak"] > 0
    conv = next(x for x in pl["layers"] if x["kind"] == "conv")
    assert conv["flops"] == 2 * 16 * 16 * 64 * 3 * 3 * 64
    assert pl["sum_of_medians_s"] == pytest.approx(sum(x["seconds"]["median"]
                                                       for x in pl["layers"]))
    assert isinstance(pl["hook_overhead_s"], float) and pl["hook_floor_s"]["n"] > 0
    md = run("conv-example", *QUICK, "--per-layer", "--format", "markdown").stdout
    assert "per-layer forward times" in md and "hook cost: an empty nn.Identity" in md


def _oom_at(monkeypatch: pytest.MonkeyPatch, failing: Callable[[int], bool],
            exc: BaseException) -> None:
    """Make the input of the batches where ``failing`` holds run out of memory."""
    real = tbench.Bencher.sample

    def sample(self: tbench.Bencher, report: Any, batch: int) -> Any:
        if failing(batch):
            raise exc
        return real(self, report, batch)

    monkeypatch.setattr(tbench.Bencher, "sample", sample)


@pytest.mark.parametrize("exc", [
    RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough "
                 "memory: you tried to allocate 1099511627776 bytes."),
    MemoryError(),
    RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB"),
])
def test_out_of_memory_at_one_batch_is_reported_and_the_sweep_continues(run: Callable, 
        monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    _oom_at(monkeypatch, lambda b: b == 4, exc)
    result = run("conv-example", *QUICK, "--batch", "1,4,2", "--no-probe", "--format", "json")
    assert result.exit_code == 0, result.stderr
    batches = json.loads(result.stdout)["results"][0]["batches"]
    assert [(b["batch"], b["status"]) for b in batches] == [(1, "ok"), (4, "out of memory"),
                                                            (2, "ok")]
    assert batches[1]["latency_s"] is None and batches[1]["error"].startswith(type(exc).__name__)
    assert batches[1]["memory"]["analytic_total_bytes"] > 0
    assert "conv-example: batch 4: out of memory" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_batch_out_of_memory_exits_2(run: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    _oom_at(monkeypatch, lambda b: True, MemoryError())
    result = run("conv-example", *QUICK, "--batch", "1,2", "--no-probe")
    assert result.exit_code == 2
    assert "nothing could be timed" in result.stderr and "out of memory" in result.stdout


def test_fit_finds_the_largest_batch_that_runs(doc_of: Callable,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    doc = doc_of("conv-example", *QUICK, "--fit", "--max-batch", "16", "--no-probe")
    spec = doc["results"][0]
    assert spec["fit"]["largest"] == 16 and spec["fit"]["upper"] == 16
    assert [t["batch"] for t in spec["fit"]["tried"]] == [1, 2, 4, 8, 16]
    assert "half the available RAM" in spec["fit"]["ceiling_note"]
    assert [b["batch"] for b in spec["batches"]] == [16]
    _oom_at(monkeypatch, lambda b: b > 5, MemoryError())
    spec = doc_of("conv-example", *QUICK, "--fit", "--max-batch", "64", "--no-probe")["results"][0]
    assert spec["fit"]["largest"] == 5
    assert [(t["batch"], t["ran"]) for t in spec["fit"]["tried"]] == [
        (1, True), (2, True), (4, True), (8, False), (6, False), (5, True)]
    assert [b["batch"] for b in spec["batches"]] == [5]


def test_fit_table_lists_the_search(run: Callable) -> None:
    out = run("conv-example", *QUICK, "--fit", "--max-batch", "2", "--no-probe",
              "--format", "markdown").stdout
    assert "### conv-example: fit search" in out and "largest batch that ran: 2" in out


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_exits_2_with_the_reason(run: Callable) -> None:
    result = run("conv-example", "--device", "cuda")
    assert result.exit_code == 2 and result.stdout == ""
    assert "--device cuda: no CUDA device is available" in result.stderr
    assert "hint: use --device cpu" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("batch", ["1,x", "0", "2,2", "", "-4"])
def test_bad_batch_list_exits_2(run: Callable, batch: str) -> None:
    result = run("conv-example", "--batch", batch)
    assert result.exit_code == 2 and "--batch" in result.stderr and result.stdout == ""


@pytest.mark.parametrize(("args", "message"), [
    (("--iters", "3", "--time-budget", "1"), "--iters and --time-budget"),
    (("--fit", "--batch", "4"), "--fit searches for the batch size"),
    (("--per-layer", "--train"), "--per-layer times forward passes only"),
    (("--per-layer", "--compile"), "--per-layer hooks each eager module"),
])
def test_conflicting_options_exit_2(run: Callable, args: tuple[str, ...], message: str) -> None:
    result = run("conv-example", *args)
    assert result.exit_code == 2 and message in result.stderr


def test_compile_failure_names_the_cause(run: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(model: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Dynamo is not supported on this Python")

    monkeypatch.setattr(torch, "compile", broken)
    result = run("conv-example", *QUICK, "--compile", "--no-probe")
    assert result.exit_code == 2
    assert "torch.compile failed: RuntimeError: Dynamo is not supported" in result.stderr

    def fails_when_called(model: Any, **kwargs: Any) -> Any:
        def call(x: Any) -> Any:
            raise AssertionError("inductor: no working C++ compiler found")
        return call

    monkeypatch.setattr(torch, "compile", fails_when_called)
    result = run("conv-example", *QUICK, "--compile", "--no-probe")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert ("torch.compile failed for conv-example at batch 1 on cpu (float32): "
            "AssertionError: inductor: no working C++ compiler") in result.stderr


def test_a_failing_step_names_its_cause(run: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    def forward(self: SpecNet, x: Any) -> Any:
        raise NotImplementedError("\"slow_conv2d_cpu\" not implemented for 'Half'")

    monkeypatch.setattr(SpecNet, "forward", forward)
    result = run("conv-example", *QUICK, "--no-probe")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "conv-example at batch 1 on cpu (float32): the step failed: NotImplementedError" \
        in result.stderr


def test_training_at_batch_1_through_batch_norm_on_1x1_maps_is_a_usage_error(run: Callable, 
        tmp_path: Path) -> None:
    spec = write(tmp_path, """
name: bn-after-pool
input: [3, 8, 8]
layers:
  - conv: {out: 4, kernel: 3}
  - global_avgpool
  - bn
""")
    result = run(spec, *QUICK, "--train", "--no-probe")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "the step failed: ValueError: Expected more than 1 value per channel" in result.stderr
    assert "use a larger --batch" in result.stderr
    assert run(spec, *QUICK, "--train", "--no-probe", "--batch", "2").exit_code == 0


def test_float16_on_cpu_runs_with_a_warning_and_channels_last_is_recorded(run: Callable) -> None:
    result = run("conv-example", *QUICK, "--dtype", "float16", "--channels-last", "--no-probe",
                 "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert "warning: float16 on cpu" in result.stderr
    doc = json.loads(result.stdout)
    assert doc["settings"]["channels_last"] is True
    # weights and activations at 2 bytes each
    assert doc["results"][0]["batches"][0]["memory"]["analytic_total_bytes"] == \
        (3 * 32 * 32 + 10 * 32 * 32 + 760) * 2


def test_no_spec_runs_the_zoo(doc_of: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    from cnnstat import zoo

    monkeypatch.setattr(zoo, "names", lambda: ["conv-example", "lenet5"])
    doc = doc_of(*QUICK, "--no-probe")
    assert [s["spec"] for s in doc["results"]] == ["conv-example", "lenet5"]


def test_time_calls_counts_warmup_and_timed_calls_apart() -> None:
    calls: list[int] = []
    times = timing.time_calls(lambda: calls.append(1), torch.device("cpu"), warmup=4, iters=7)
    assert len(times) == 7 and len(calls) == 4 + 7 and all(t >= 0 for t in times)
    calls.clear()
    times = timing.time_calls(lambda: calls.append(1), torch.device("cpu"), warmup=0,
                              budget=1e-9)
    assert len(times) == timing.MIN_ITERS == len(calls)


@pytest.mark.parametrize(("exc", "oom"), [
    (MemoryError(), True),
    (RuntimeError("DefaultCPUAllocator: can't allocate memory"), True),
    (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), True),
    (RuntimeError("MPS backend out of memory"), True),
    (RuntimeError("Expected more than 1 value per channel when training"), False),
    (ValueError("out of memory"), False),
])
def test_out_of_memory_is_recognised(exc: BaseException, oom: bool) -> None:
    assert tbench.is_oom(exc) is oom


def test_bench_without_torch_exits_2_with_the_install_hint() -> None:
    code = ("import sys; sys.modules['torch'] = None; from cnnstat.cli.main import main; "
            "main(['bench', 'conv-example'])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 2
    assert "pip install 'cnnstat[torch]'" in proc.stderr and "Traceback" not in proc.stderr
