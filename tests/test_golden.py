"""Golden outputs per built-in spec and format, with the invariant that totals equal the sum of
the rows.  Regenerate with ``pytest --overwrite`` and review the diff."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

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
    for key in ("params", "weights", "bias", "buffers"):
        assert totals[key] == sum(layer[key] for layer in layers), key
    # training-only rows (side: {training: true}) count in params, not in the inference figures
    inference = [layer for layer in layers if not layer.get("training_only")]
    for key in ("macs", "flops", "activations"):
        assert totals[key] == sum(layer[key] for layer in inference), key
    assert totals["elementwise"] == sum(sum(layer["elementwise"].values()) for layer in inference)
    trained = [layer for layer in layers if layer.get("training_only")]
    assert totals.get("training_only", {"params": 0, "macs": 0}) == {
        "params": sum(layer["params"] for layer in trained),
        "macs": sum(layer["macs"] for layer in trained)}
    assert totals["flops"] == 2 * totals["macs"]
    assert all(layer["params"] == layer["weights"] + layer["bias"] for layer in layers)


@pytest.mark.parametrize("name", zoo.names())
def test_csv_total_row_is_the_sum_of_the_rows(name: str, cli: Callable) -> None:
    rows = list(csv.DictReader(io.StringIO(cli("summary", name, "--format", "csv").stdout)))
    *body, total = rows
    assert total["name"] == "total"
    assert int(total["params"]) == sum(int(r["params"]) for r in body)
    inference = [r for r in body if not r["layer"].endswith("(training only)")]
    for key in ("macs", "elementwise", "activations"):
        assert int(total[key]) == sum(int(r[key]) for r in inference), key


def test_params_json_shares_sum_to_one(cli: Callable) -> None:
    doc = json.loads(cli("params", "vgg16", "--format", "json").stdout)
    assert sum(layer["params"] for layer in doc["layers"]) == doc["totals"]["params"]
    assert sum(k["params"] for k in doc["by_kind"]) == doc["totals"]["params"]
    assert abs(sum(layer["share"] for layer in doc["layers"]) - 1.0) < 1e-9


# Every layer kind of the spec language appears in a golden output: the zoo's goldens above, and
# the fixture that exercises the resampling kinds (conv_transpose, upsample, crop, pad,
# pixel_shuffle, pixel_unshuffle, like:) that no zoo network uses all of.
KINDS_FIXTURE = Path(__file__).parent / "verify_specs" / "resampling.yaml"


@pytest.mark.parametrize(("args", "name"), [
    (("summary", "--format", "json"), "summary/fixture-resampling.json"),
    (("summary", "--format", "markdown"), "summary/fixture-resampling.md"),
    (("receptive-field", "--format", "json"), "receptive/fixture-resampling.json"),
])
def test_fixture_golden(args: tuple[str, ...], name: str, cli: Callable, golden: Callable) -> None:
    result = cli(args[0], str(KINDS_FIXTURE), *args[1:])
    assert result.exit_code == 0, result.stderr
    golden(name, result.stdout.replace(str(KINDS_FIXTURE), "tests/verify_specs/resampling.yaml"))


# The fixture that uses every normalisation and channels-last kind of issue 14 (layernorm both
# ways, groupnorm, instancenorm, layer_scale, gelu approximate, drop_path, permute, linear over
# the last axis, mean), ConvNeXt's block at a small size.
MODERN_FIXTURE = Path(__file__).parent / "verify_specs" / "modern.yaml"


@pytest.mark.parametrize(("args", "name"), [
    (("summary", "--format", "json"), "summary/fixture-modern.json"),
    (("summary", "--format", "markdown"), "summary/fixture-modern.md"),
    (("summary", "--format", "json", "--count", "fvcore"), "summary/fixture-modern-fvcore.json"),
    (("receptive-field", "--format", "json"), "receptive/fixture-modern.json"),
])
def test_modern_fixture_golden(args: tuple[str, ...], name: str, cli: Callable,
                               golden: Callable) -> None:
    result = cli(args[0], str(MODERN_FIXTURE), *args[1:])
    assert result.exit_code == 0, result.stderr
    golden(name, result.stdout.replace(str(MODERN_FIXTURE), "tests/verify_specs/modern.yaml"))


# The fixture that uses the attention kind (a BoTNet-style hybrid), which no zoo network uses.
HYBRID_FIXTURE = Path(__file__).parent / "verify_specs" / "hybrid.yaml"


@pytest.mark.parametrize(("args", "name"), [
    (("summary", "--format", "json"), "summary/fixture-hybrid.json"),
    (("summary", "--format", "markdown"), "summary/fixture-hybrid.md"),
    (("summary", "--count", "torch", "--format", "markdown"), "summary/fixture-hybrid-torch.md"),
    (("receptive-field", "--format", "json"), "receptive/fixture-hybrid.json"),
    (("memory", "--format", "markdown"), "memory/fixture-hybrid.md"),
])
def test_hybrid_fixture_golden(args: tuple[str, ...], name: str, cli: Callable,
                               golden: Callable) -> None:
    result = cli(args[0], str(HYBRID_FIXTURE), *args[1:])
    assert result.exit_code == 0, result.stderr
    golden(name, result.stdout.replace(str(HYBRID_FIXTURE), "tests/verify_specs/hybrid.yaml"))
