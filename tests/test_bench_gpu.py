"""``cnnstat bench --device cuda`` on a real GPU: CUDA-event timing, the device's peak memory, the
environment (card, driver, CUDA), reduced precision, per-layer events and out of memory on the
device.  Marked ``gpu`` and skipped without CUDA; ``benchmarks/gpu_check.sh`` runs them
(``pytest -m gpu``).  No test asserts a speed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.torch, pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]

QUICK = ("--device", "cuda", "--iters", "5", "--warmup", "2")


@pytest.fixture(autouse=True)
def _free_the_device() -> Iterator[None]:
    yield
    torch.cuda.empty_cache()


@pytest.fixture
def doc_of(cli: Callable) -> Callable[..., dict[str, Any]]:
    """The JSON document of a ``cnnstat bench`` that must exit 0, through the ``cli`` fixture."""

    def doc(*args: str) -> dict[str, Any]:
        result = cli("bench", *args, "--format", "json")
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    return doc


def test_cuda_run_records_the_card_and_the_device_peak(doc_of: Callable) -> None:
    doc = doc_of("resnet18", *QUICK, "--batch", "2")
    env = doc["environment"]
    assert env["device"].startswith("cuda")
    assert env["device_name"] == torch.cuda.get_device_name()
    assert env["cuda"] == torch.version.cuda and env["device_memory"] > 0
    assert env["compute_capability"] and "tf32" in env
    (b,) = doc["results"][0]["batches"]
    assert b["status"] == "ok" and b["latency_s"]["n"] == 5
    peak = b["memory"]["device_peak_bytes"]
    weights = doc["results"][0]["params"] * 4
    assert peak is not None and peak >= weights  # the weights live on the device throughout
    assert "max_memory_allocated" in b["memory"]["device_peak_note"]
    assert doc["probe"]["matmul"]["flops_per_s"] > 0 and b["fraction_of_peak"] > 0


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_reduced_precision_and_channels_last(doc_of: Callable, dtype: str) -> None:
    if dtype == "bfloat16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bfloat16")
    doc = doc_of("mobilenet-v2", *QUICK, "--dtype", dtype, "--channels-last", "--batch", "4")
    b = doc["results"][0]["batches"][0]
    assert b["status"] == "ok" and doc["probe"]["dtype"] == dtype
    assert b["memory"]["device_peak_bytes"] >= doc["results"][0]["params"] * 2


def test_out_of_memory_on_the_device_continues_the_sweep(doc_of: Callable) -> None:
    free, _ = torch.cuda.mem_get_info()
    # an input alone larger than the free memory: 3 x 224 x 224 float32 per image
    huge = free // (3 * 224 * 224 * 4) + 1
    doc = doc_of("resnet18", *QUICK, "--batch", f"1,{huge},2", "--no-probe")
    batches = doc["results"][0]["batches"]
    assert [b["status"] for b in batches] == ["ok", "out of memory", "ok"]
    assert "OutOfMemoryError" in batches[1]["error"]


def test_per_layer_uses_cuda_events(doc_of: Callable) -> None:
    doc = doc_of("resnet-basic-block", *QUICK, "--per-layer", "--batch", "8")
    pl = doc["results"][0]["batches"][0]["per_layer"]
    assert pl["layers"] and all(x["seconds"]["n"] == 5 for x in pl["layers"])
    assert pl["hook_floor_s"]["median"] >= 0


def test_training_steps_and_fit_on_the_device(doc_of: Callable) -> None:
    doc = doc_of("resnet18", *QUICK, "--train", "--batch", "4", "--no-probe")
    b = doc["results"][0]["batches"][0]
    assert b["status"] == "ok" and b["flops"] == 3 * 2 * doc["results"][0]["macs_per_image"] * 4
    fit = doc_of("conv-example", "--device", "cuda", "--iters", "3", "--fit", "--max-batch", "64",
                 "--no-probe")["results"][0]["fit"]
    assert fit["largest"] == 64 and fit["memory_ceiling"] is None
