"""--depth N: rows summed into blocks at N parts of the layer names.  For every zoo spec at
every depth, the blocks add up to the totals exactly and their members are the layers, each
once; the commands that take --depth show them."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from cnnstat import zoo
from cnnstat.analysis import run
from cnnstat.core.rollup import blocks, max_depth
from cnnstat.views.summary import params_json, summary_json


@pytest.mark.parametrize("name", zoo.names())
def test_blocks_add_up_to_the_totals_at_every_depth(name: str) -> None:
    result = run(name, batch=2)
    report = result.report
    totals = summary_json(report, result.field_sizes)["totals"]
    for depth in range(1, max_depth(report.rows) + 1):
        doc = summary_json(report, result.field_sizes, depth=depth)
        rows = doc["blocks"]
        assert doc["depth"] == depth and doc["totals"] == totals
        assert [m for b in rows for m in b["members"]] == [r.name for r in report.rows]
        for key in ("params", "weights", "bias", "buffers"):
            assert sum(b[key] for b in rows) == totals[key], (depth, key)
        inference = [b for b in rows if not b.get("training_only")]
        for key in ("macs", "flops", "activations"):
            assert sum(b[key] for b in inference) == totals[key], (depth, key)
        assert sum(sum(b["elementwise"].values()) for b in inference) == totals["elementwise"]
        by_name = {r.name: i for i, r in enumerate(report.rows)}
        for b in rows:  # output and receptive field at the block's last operation
            last = report.rows[by_name[b["members"][-1]]]
            assert b["output_shape"] == list(last.output_shape)
        kept = params_json(report, depth)
        assert sum(b["params"] for b in kept["blocks"]) == totals["params"]


def test_summary_resnet50_depth_1_is_one_row_per_stage(cli: Callable) -> None:
    doc = json.loads(cli("summary", "resnet50", "--depth", "1", "--format", "json").stdout)
    names = [b["name"] for b in doc["blocks"]]
    assert names == ["conv1", "bn1", "relu1", "maxpool1", "layer1", "layer2", "layer3",
                     "layer4", "global_avgpool1", "flatten1", "fc"]
    layer1 = doc["blocks"][4]
    assert layer1["description"] == "3 x bottleneck, 32 operations"
    assert len(layer1["members"]) == 32 and layer1["output_shape"] == [256, 56, 56]
    assert doc["blocks"][-1]["rf"] is not None
    table = cli("summary", "resnet50", "--depth", "1").stdout
    body = [line for line in table.splitlines() if line.startswith("│")]
    assert len(body) == 11 + 1  # the blocks and the total
    assert "blocks at depth 1" in table


def test_a_depth_past_the_names_is_every_layer(cli: Callable) -> None:
    deep = json.loads(cli("summary", "vgg16", "--depth", "9", "--format", "json").stdout)
    plain = json.loads(cli("summary", "vgg16", "--format", "json").stdout)
    assert [b["name"] for b in deep["blocks"]] == [la["name"] for la in plain["layers"]]


def test_params_memory_and_compare_take_depth(cli: Callable) -> None:
    params = cli("params", "vgg16", "--depth", "1", "--format", "markdown").stdout
    assert "parameters by block (depth 1)" in params and "| stage1 |" in params
    memory = json.loads(cli("memory", "resnet50", "--depth", "1", "--format", "json").stdout)
    stages = {b["name"]: b for b in memory["blocks"]}
    assert stages["layer1"]["peak"] and not stages["layer2"]["peak"]
    assert max(b["alive"] for b in memory["blocks"]) == memory["peak"]["elements"]
    compared = json.loads(cli("compare", "resnet50", "resnext50-32x4d", "--depth", "1",
                              "--format", "json").stdout)
    assert compared["depth"] == 1
    layer1 = next(s for s in compared["layers"] if s["label"] == "layer1")
    assert [s["macs"] for s in layer1["specs"]] == [667_942_912, 634_224_640]
    assert len(layer1["specs"][0]["members"]) == 32


def test_explain_a_spec_by_block_refers_a_repeated_block_to_the_first(cli: Callable) -> None:
    text = cli("explain", "resnet50").stdout
    assert "== layer1.bottleneck1: 12 operations ==" in text
    assert ("== layer1.bottleneck3: 10 operations ==\n   output 256x56x56 (C x H x W); "
            "params 70,400; MACs 218,365,952\n   the same layers, arguments and shapes as "
            "layer1.bottleneck2") in text
    assert "layer1.bottleneck3.conv1" not in text
    every = cli("explain", "resnet50", "--all").stdout
    assert "conv 'layer1.bottleneck3.conv1'" in every
    assert len(text.splitlines()) < 0.6 * len(every.splitlines())
    doc = json.loads(cli("explain", "resnet50", "--format", "json").stdout)
    assert doc["depth"] == 2
    repeats = {b["name"]: b["same_as"] for b in doc["blocks"]}
    assert repeats["layer1.bottleneck3"] == "layer1.bottleneck2"
    assert repeats["layer1.bottleneck2"] is None


def test_blocks_keep_the_order_of_their_first_row() -> None:
    report = run("googlenet").report
    names = [b.name for b in blocks(report.rows, 1)]
    assert len(names) == len(set(names)) and names[0] == report.rows[0].name.split(".")[0]
