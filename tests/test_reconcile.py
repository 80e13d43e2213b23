"""``cnnstat reconcile`` (issue 17, item 3): every counter's figure, its difference from our
MACs split by cause, the causes adding up exactly to the difference over the whole zoo."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import pytest

import cnnstat
from cnnstat import zoo
from cnnstat.core.counters import ALL_PRESETS
from cnnstat.views.reconcile import reconcile_json


@pytest.mark.parametrize("name", zoo.names())
def test_causes_add_up_to_the_difference(name: str) -> None:
    doc = reconcile_json(cnnstat.analyze(name, batch=2))
    assert [t["preset"] for t in doc["tools"]] == list(ALL_PRESETS)
    for tool in doc["tools"]:
        if tool["total"] is None:  # a preset that cannot count one of the spec's kinds says why
            assert tool["refused"]
            continue
        assert tool["difference"] == tool["total"] - doc["macs"]
        assert sum(tool["causes"].values()) == tool["difference"], tool["preset"]


def test_resnet50_json(cli: Callable) -> None:
    result = cli("reconcile", "resnet50", "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    tools = {t["preset"]: t for t in doc["tools"]}
    macs = doc["macs"]
    assert tools["macs"]["total"] == macs and tools["macs"]["causes"] == {}
    assert tools["torch"]["causes"] == {"factor": macs}  # FlopCounterMode: 2 per MAC
    assert tools["torchinfo"]["causes"]["bias"] == 1000  # the fc bias, once per class
    # ptflops counts every ReLU and pooling window twice: hook + patched functional
    assert tools["ptflops"]["causes"]["double counting"] == (
        tools["ptflops"]["causes"]["activations"] + tools["ptflops"]["causes"]["pooling"])


def test_table_and_csv(cli: Callable) -> None:
    table = cli("reconcile", "vgg11-bn")
    assert table.exit_code == 0, table.stderr
    assert "torchinfo 1.8.0" in table.stdout and "double counting" in table.stdout
    rows = list(csv.DictReader(io.StringIO(cli("reconcile", "vgg11-bn", "--format", "csv").stdout)))
    by = {r["preset"]: r for r in rows}
    assert int(by["fvcore"]["total"]) == 7623967232  # the docs' worked example
    assert int(by["fvcore"]["normalisation"]) + int(by["fvcore"]["pooling"]) == \
        7623967232 - 7609090048


def test_refused_preset_is_named_not_zero(cli: Callable) -> None:
    result = cli("reconcile", "tests/verify_specs/composites.yaml", "--format", "json")
    assert result.exit_code == 0, result.stderr
    scan = next(t for t in json.loads(result.stdout)["tools"] if t["preset"] == "torchscan")
    assert scan["total"] is None and "maxout" in scan["refused"]
