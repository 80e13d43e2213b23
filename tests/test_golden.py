"""Golden outputs per built-in spec and format, with the invariant that totals equal the sum of
the rows.  Regenerate with ``pytest --overwrite`` and review the diff."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import pytest

from cnnstat import zoo

FORMATS = {"json": "json", "csv": "csv", "markdown": "md"}


@pytest.mark.parametrize("name", zoo.names())
@pytest.mark.parametrize("fmt", FORMATS)
def test_summary_golden(name: str, fmt: str, cli: Callable, golden: Callable) -> None:
    result = cli("summary", name, "--format", fmt)
    assert result.exit_code == 0, result.stderr
    golden(f"summary/{name}.{FORMATS[fmt]}", result.stdout)


@pytest.mark.parametrize("name", zoo.names())
def test_params_golden(name: str, cli: Callable, golden: Callable) -> None:
    result = cli("params", name, "--format", "markdown")
    assert result.exit_code == 0, result.stderr
    golden(f"params/{name}.md", result.stdout)


@pytest.mark.parametrize("name", zoo.names())
def test_json_totals_are_the_sum_of_the_layers(name: str, cli: Callable) -> None:
    doc = json.loads(cli("summary", name, "--format", "json", "--batch", "3").stdout)
    layers, totals = doc["layers"], doc["totals"]
    # a training-only part holds parameters, but runs in none of the inference figures
    run = [layer for layer in layers if not layer.get("training_only")]
    for key in ("params", "weights", "bias", "buffers"):
        assert totals[key] == sum(layer[key] for layer in layers), key
    for key in ("macs", "flops", "activations"):
        assert totals[key] == sum(layer[key] for layer in run), key
    assert totals["elementwise"] == sum(sum(layer["elementwise"].values()) for layer in run)
    assert totals["flops"] == 2 * totals["macs"]
    assert all(layer["params"] == layer["weights"] + layer["bias"] for layer in layers)


@pytest.mark.parametrize("name", zoo.names())
def test_csv_total_row_is_the_sum_of_the_rows(name: str, cli: Callable) -> None:
    rows = list(csv.DictReader(io.StringIO(cli("summary", name, "--format", "csv").stdout)))
    *body, total = rows
    assert total["name"] == "total"
    run = [r for r in body if not r["layer"].endswith("(training only)")]
    assert int(total["params"]) == sum(int(r["params"]) for r in body)
    for key in ("macs", "elementwise", "activations"):
        assert int(total[key]) == sum(int(r[key]) for r in run), key


def test_params_json_shares_sum_to_one(cli: Callable) -> None:
    doc = json.loads(cli("params", "vgg16", "--format", "json").stdout)
    assert sum(layer["params"] for layer in doc["layers"]) == doc["totals"]["params"]
    assert sum(k["params"] for k in doc["by_kind"]) == doc["totals"]["params"]
    assert abs(sum(layer["share"] for layer in doc["layers"]) - 1.0) < 1e-9
