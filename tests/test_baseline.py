"""Baselines (`check --write-baseline` / `--baseline`, E606) and `cnnstat diff`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

from cnnstat.check.baseline import match
from tests.conftest import write

NET = """\
name: net
input: [3, 8, 8]
params: {width: 4}
variants:
  wide: {set: {width: 8}}
layers:
  - conv: {out: $width, kernel: 3, padding: 1, name: conv1}
  - relu
  - conv: {out: 2, kernel: 1, name: conv2}
"""


def test_baseline_round_trip_and_changes(cli: Callable, tmp_path: Path) -> None:
    spec = write(tmp_path, NET, "net.yaml")
    base = str(tmp_path / "base.json")
    assert cli("check", spec, "--write-baseline", base).exit_code == 0
    doc = json.loads(Path(base).read_text(encoding="utf-8"))
    assert set(doc["specs"]) == {"net", "net-wide"}
    conv1 = doc["specs"]["net"]["layers"][0]
    assert conv1 == {"name": "conv1", "kind": "conv", "output_shape": [4, 8, 8],
                     "params": 3 * 3 * 3 * 4 + 4, "macs": 8 * 8 * 4 * 3 * 3 * 3}
    assert cli("check", spec, "--baseline", base).exit_code == 0  # nothing changed

    Path(spec).write_text(NET.replace("kernel: 1, name: conv2", "kernel: 1, stride: 2, "
                                      "name: conv2").replace("  - relu\n", "  - tanh\n"),
                          encoding="utf-8")
    result = cli("check", spec, "--baseline", base)
    assert result.exit_code == 1
    err = result.stderr
    assert f"{spec}:8:5: error[E606]: net: layer 'tanh1' added (tanh, output 4x8x8, params 0, " \
        "MACs 0)" in err
    assert "error[E606]: net-wide: layer 'relu1' removed (relu, output 8x8x8, params 0, MACs 0)" \
        in err
    assert f"{spec}:9:11: error[E606]: net: layer 'conv2' changed: output 2x8x8 -> 2x4x4, MACs " \
        f"{8 * 8 * 2 * 4:,} -> {4 * 4 * 2 * 4:,}" in err
    assert f"error[E606]: net-wide: layer 'conv2' changed: output 2x8x8 -> 2x4x4, MACs " \
        f"{8 * 8 * 2 * 8:,} -> {4 * 4 * 2 * 8:,}" in err


def test_baseline_notices_a_removed_variant_and_a_new_spec(cli: Callable, tmp_path: Path) -> None:
    spec = write(tmp_path, NET, "net.yaml")
    base = str(tmp_path / "base.json")
    cli("check", spec, "--write-baseline", base)
    Path(spec).write_text(NET.replace("variants:\n  wide: {set: {width: 8}}\n",
                                      "variants:\n  narrow: {set: {width: 2}}\n"),
                          encoding="utf-8")
    result = cli("check", spec, "--baseline", base, "--format", "json")
    assert result.exit_code == 1
    diags = json.loads(result.stdout)["files"][0]["diagnostics"]
    assert {(d["code"], d["message"]) for d in diags} == {
        ("E606", "spec 'net-wide' is in the baseline but no longer in this file"),
        ("N607", "not in the baseline")}


def test_a_broken_baseline_is_exit_2(cli: Callable, tmp_path: Path) -> None:
    spec = write(tmp_path, NET)
    for text in ("not json", "[]", '{"specs": {"net": {"layers": [1]}}}'):
        base = write(tmp_path, text, "base.json")
        result = cli("check", spec, "--baseline", base)
        assert result.exit_code == 2 and "cnnstat: error:" in result.stderr
    assert cli("check", spec, "--baseline", str(tmp_path / "none.json")).exit_code == 2


def test_match_keeps_order_and_places_additions() -> None:
    old = [{"name": n} for n in ("a", "b", "c")]
    new = [{"name": n} for n in ("x", "a", "c", "y", "b")]
    assert [(c.name, c.kind) for c in match(old, new)] == [
        ("x", "added"), ("a", "same"), ("b", "same"), ("c", "same"), ("y", "added")]
    assert [(c.name, c.kind) for c in match(old, old[:1])] == [
        ("a", "same"), ("b", "removed"), ("c", "removed")]


def test_diff_two_specs(cli: Callable) -> None:
    result = cli("diff", "resnet50", "resnet50-v1", "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    changed = {row["name"] for row in doc["layers"] if row["change"] == "changed"}
    assert changed == {f"layer{i}.bottleneck1.{op}1" for i in (2, 3, 4)
                       for op in ("conv", "bn", "relu")}
    # v1 moves the stride to the first 1x1 conv of layer2-4: the 3x3 convs keep their size
    assert doc["totals"]["params"]["ratio"] == 1.0
    assert doc["totals"]["macs"]["difference"] == -231211008


def test_diff_formats(cli: Callable) -> None:
    rows = list(csv.DictReader(io.StringIO(cli("diff", "vgg16", "vgg16-bn", "--format",
                                               "csv").stdout)))
    added = [r for r in rows if r["change"] == "added"]
    assert len(added) == 13 and all(r["name"].endswith(("bn1", "bn2", "bn3")) for r in added)
    assert rows[-1]["name"] == "total"
    assert int(rows[-1]["params_d"]) == 2 * sum(
        [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512])
    md = cli("diff", "vgg16", "vgg16-bn", "--format", "markdown").stdout
    assert "| layer | change |" in md and "params B/A = 1.000x" in md
    table = cli("diff", "vgg16", "vgg16-bn", "--all", "--color", "never").stdout
    assert "fc8" in table and "unchanged layers not shown" not in table


def test_diff_against_a_baseline_and_a_summary_document(cli: Callable, tmp_path: Path) -> None:
    base = str(tmp_path / "base.json")
    cli("check", "vgg16", "--write-baseline", base)
    same = json.loads(cli("diff", "vgg16", base, "--format", "json").stdout)
    assert same["counts"]["changed"] == 0 and same["b"] == "vgg16"
    other = json.loads(cli("diff", f"{base}#vgg16", "vgg11", "--format", "json").stdout)
    assert other["counts"]["removed"] > 0
    summary = write(tmp_path, cli("summary", "vgg16", "--input", "3x32x32", "--format",
                                  "json").stdout, "summary.json")
    doc = json.loads(cli("diff", "vgg16", summary, "--format", "json").stdout)
    # the adaptive pool keeps the classifier's 7x7x512 input: same params, fewer MACs
    assert doc["totals"]["params"]["difference"] == 0
    assert doc["totals"]["macs"]["ratio"] < 0.03 and doc["counts"]["changed"] > 30
    missing = cli("diff", "vgg16", f"{base}#nope")
    assert missing.exit_code == 2 and "no spec 'nope'" in missing.stderr
