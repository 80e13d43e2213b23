"""Each layer's share of the MACs in ``summary`` (issue 17, item 4): the table's ``MACs %``
column and the JSON's ``macs_share``, as ``params`` shows each layer's share of the parameters."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import write

# conv1: 8x32x32 outputs, 3x3x3 window each; conv2: 16x16x16 outputs, 8x3x3 window each
SPEC = """
name: two-convs
input: [3, 32, 32]
layers:
  - conv: {out: 8, kernel: 3, padding: 1}
  - relu
  - conv: {out: 16, kernel: 3, stride: 2, padding: 1}
"""
CONV1 = 8 * 32 * 32 * 3 * 3 * 3
CONV2 = 16 * 16 * 16 * 8 * 3 * 3


def test_json_gives_each_layer_its_share_of_the_macs(cli: Callable, tmp_path: Path) -> None:
    result = cli("summary", write(tmp_path, SPEC), "--format", "json", "--batch", "4")
    assert result.exit_code == 0, result.stderr
    shares = {layer["name"]: layer["macs_share"] for layer in json.loads(result.stdout)["layers"]}
    assert shares == {"conv1": CONV1 / (CONV1 + CONV2), "relu1": 0.0,
                      "conv2": CONV2 / (CONV1 + CONV2)}  # the batch cancels out


def test_table_shows_the_share_as_a_percentage(cli: Callable, tmp_path: Path) -> None:
    result = cli("summary", write(tmp_path, SPEC), "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = {r["name"]: r["macs_share"] for r in csv.DictReader(io.StringIO(result.stdout))}
    assert rows == {"conv1": f"{100 * CONV1 / (CONV1 + CONV2):.2f}%", "relu1": "0.00%",
                    "conv2": f"{100 * CONV2 / (CONV1 + CONV2):.2f}%", "total": "100.00%"}
    table = cli("summary", write(tmp_path, SPEC), "--format", "markdown").stdout
    assert "| MACs | MACs % |" in table


def test_training_only_rows_have_no_share_of_the_inference_total(cli: Callable) -> None:
    doc = json.loads(cli("summary", "inception-v3", "--format", "json").stdout)
    trained = [layer for layer in doc["layers"] if layer.get("training_only")]
    assert trained and all(layer["macs_share"] is None for layer in trained)
    inference = [layer for layer in doc["layers"] if not layer.get("training_only")]
    assert abs(sum(layer["macs_share"] for layer in inference) - 1.0) < 1e-12
