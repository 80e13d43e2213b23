"""Activation memory from first principles: chains, residual blocks, concatenations, training,
the largest batch, and (with torch) the activation count against hooked module outputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cnnstat.analysis import analyze
from cnnstat.cli import options
from cnnstat.core import memory
from cnnstat.spec.loader import load
from tests.conftest import write

CHAIN = """\
name: chain
input: [3, 16, 16]
layers:
  - conv: {out: 8, kernel: 3, padding: 1}
  - relu
  - maxpool: {kernel: 2}
  - conv: {out: 16, kernel: 3}
  - relu
  - flatten
  - linear: {out: 10}
"""


def test_chain_peak_is_the_largest_input_plus_output(tmp_path: Path) -> None:
    report = analyze(load(write(tmp_path, CHAIN)))
    sched = memory.schedule(report)
    sizes = [3 * 16 * 16, 8 * 16 * 16, 8 * 16 * 16, 8 * 8 * 8, 16 * 6 * 6, 16 * 6 * 6,
             16 * 6 * 6, 10]  # the input, then each operation's output
    assert [s.alive for s in sched.steps] == [a + b for a, b in zip(sizes, sizes[1:])]
    assert sched.peak.alive == max(a + b for a, b in zip(sizes, sizes[1:])) == 2 * 8 * 16 * 16
    assert sched.peak.row.name == "relu1"
    assert sched.saved == sum(sizes)


def test_residual_block_keeps_its_input_alive_until_the_add() -> None:
    report = analyze(load("resnet-basic-block"))
    x = 64 * 56 * 56  # every tensor of the block has this size
    alive = {s.row.name: s.alive for s in memory.schedule(report).steps}
    assert alive["block.conv1"] == 2 * x  # x is read: in + out
    assert alive["block.bn1"] == 3 * x  # x (kept for the shortcut) + conv1 out + bn1 out
    assert alive["block.conv2"] == 3 * x
    assert alive["block.add"] == 3 * x  # x + bn2 out + add out
    assert alive["block.relu_out"] == 2 * x  # x is gone after the add


def test_concat_keeps_every_branch_output_until_the_merge() -> None:
    report = analyze(load("inception-naive"))
    outs = {"1x1": 128 * 28 * 28, "3x3": 192 * 28 * 28, "5x5": 96 * 28 * 28,
            "pool": 256 * 28 * 28}
    x = 256 * 28 * 28
    alive = {s.row.name: s.alive for s in memory.schedule(report).steps}
    assert alive["inception.1x1.conv_128"] == x + outs["1x1"]
    assert alive["inception.3x3.conv_192"] == x + outs["1x1"] + outs["3x3"]
    assert alive["inception.pool.maxpool_3x3"] == x + sum(outs.values())
    concat = sum(outs.values())
    assert alive["inception.concat"] == sum(outs.values()) + concat  # x freed after the pool
    assert memory.schedule(report).peak.alive == 2 * concat


@pytest.mark.parametrize("name", ["vgg16", "resnet18", "googlenet", "densenet121",
                                  "mobilenet-v2", "se-resnet50", "googlenet-paper-aux"])
def test_schedule_covers_every_operation(name: str) -> None:
    report = analyze(load(name))
    sched = memory.schedule(report)
    assert [s.row.name for s in sched.steps] == [r.name for r in report.rows]
    assert sched.saved == math_prod(report.input_shape) + report.totals.activations
    assert all(s.alive >= s.row.activations for s in sched.steps)
    assert sched.peak.alive <= sched.saved


def math_prod(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


@pytest.mark.parametrize(("optimizer", "states"), [("sgd", 0), ("sgd-momentum", 1),
                                                   ("adam", 2)])
def test_training_breakdown(optimizer: str, states: int) -> None:
    report = analyze(load("alexnet"))
    sched = memory.schedule(report)
    params = report.totals.params
    bd = memory.training(report, sched, 8, optimizer)
    parts = dict(bd.parts)
    assert parts["saved activations"] == 8 * (3 * 227 * 227 + report.totals.activations)
    assert parts["weights"] == parts["gradients"] == params
    assert parts["optimizer state"] == states * params
    assert bd.total == 8 * sched.saved + (2 + states) * params
    assert bd.fixed == bd.total - parts["saved activations"]


def test_inference_breakdown_scales_only_the_activations() -> None:
    report = analyze(load("resnet18"))
    sched = memory.schedule(report)
    one, four = memory.inference(report, sched, 1), memory.inference(report, sched, 4)
    assert four.total - one.total == 3 * sched.peak.alive
    assert dict(one.parts)["buffers"] == report.totals.buffers


@pytest.mark.parametrize(("per", "fixed", "size", "budget"), [
    (1000, 500, 4, 10**6), (7, 0, 2, 100), (3, 10, 1, 12), (5, 100, 4, 100)])
def test_largest_batch_is_the_exact_boundary(per: int, fixed: int, size: int,
                                             budget: int) -> None:
    n = memory.largest_batch(per, fixed, size, budget)
    assert n is not None
    if n > 0:
        assert (fixed + n * per) * size <= budget
    assert (fixed + (n + 1) * per) * size > budget or fixed * size > budget


def test_largest_batch_without_activations_is_unbounded() -> None:
    assert memory.largest_batch(0, 10, 4, 100) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("16GiB", 16 * 2**30), ("16 GiB", 16 * 2**30), ("512MB", 512 * 10**6), ("1.5KiB", 1536),
    ("1024", 1024), ("2gb", 2 * 10**9), ("3TiB", 3 * 2**40), ("10B", 10), ("0.5kb", 500)])
def test_parse_size(text: str, expected: int) -> None:
    assert options.parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "GiB", "16 GiBs", "-1GB", "1e9", "16 Gb x"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        options.parse_size(text)


def test_cli_fit_and_dtype(cli: Callable) -> None:
    result = cli("memory", "vgg16", "--fit", "16GiB", "--dtype", "float16", "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    report = analyze(load("vgg16"))
    sched = memory.schedule(report)
    params = report.totals.params
    budget = 16 * 2**30
    assert doc["fit"]["budget_bytes"] == budget
    assert doc["fit"]["training_batch"] == (budget - 2 * 3 * params) // (2 * sched.saved)
    assert doc["fit"]["inference_batch"] == (budget - 2 * params) // (2 * sched.peak.alive)
    assert doc["peak"] == {"name": "stage1.relu1", "elements": 2 * 64 * 224 * 224,
                           "bytes": 2 * 2 * 64 * 224 * 224}
    assert doc["training"]["total_bytes"] == 2 * (sched.saved + 3 * params)


def test_cli_batch_scales_activations(cli: Callable) -> None:
    one = json.loads(cli("memory", "alexnet", "--format", "json").stdout)
    many = json.loads(cli("memory", "alexnet", "--batch", "16", "--format", "json").stdout)
    assert many["peak"]["elements"] == 16 * one["peak"]["elements"]
    assert many["inference"]["elements"]["weights"] == one["inference"]["elements"]["weights"]


def test_cli_bad_size_is_a_usage_error(cli: Callable) -> None:
    result = cli("memory", "vgg16", "--fit", "lots")
    assert result.exit_code == 2 and "--fit" in result.stderr


@pytest.mark.parametrize(("name", "args"), [
    ("vgg16.md", ("memory", "vgg16", "--fit", "16GiB", "--format", "markdown")),
    ("inception-bottleneck.md", ("memory", "inception-bottleneck", "--format", "markdown")),
    ("resnet-basic-block.csv", ("memory", "resnet-basic-block", "--optimizer", "adam",
                                "--format", "csv")),
])
def test_memory_golden(name: str, args: tuple[str, ...], cli: Callable,
                       golden: Callable) -> None:
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    golden(f"memory/{name}", result.stdout)


@pytest.mark.torch
def test_activations_match_hooked_torch_outputs(tmp_path: Path) -> None:
    """The chain spec built by hand in torch: hooked output sizes are our activations, and the
    largest input + output of a module is our inference peak."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(8, 16, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 6 * 6, 10))
    seen: list[tuple[int, int]] = []
    for module in net:
        module.register_forward_hook(
            lambda m, inp, out: seen.append((inp[0][0].numel(), out[0].numel())))
    with torch.no_grad():
        net(torch.zeros(1, 3, 16, 16))
    report = analyze(load(write(tmp_path, CHAIN)))
    sched = memory.schedule(report)
    assert [o for _, o in seen] == [r.activations for r in report.rows]
    assert sum(o for _, o in seen) == report.totals.activations
    assert max(i + o for i, o in seen) == sched.peak.alive
    assert seen[0][0] + sum(o for _, o in seen) == sched.saved
