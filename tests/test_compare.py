"""cnnstat compare: the lecture's comparisons, computed, with published figures kept apart."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import pytest

from cnnstat.analysis import analyze
from cnnstat.core.report import Row
from cnnstat.spec.loader import load
from cnnstat.views.compare import fmt_ratio
from cnnstat.views.compare_align import align, blocks, receptive_field

COMPARISONS = {
    "inception": ("inception-naive", "inception-bottleneck"),
    "stack-3x3-vs-7x7": ("stack-3x3", "conv-7x7"),
    "fc-vs-conv-200x200": ("fc-200x200", "conv-200x200"),
    "standard-vs-separable": ("conv3x3-standard", "conv3x3-separable"),
    "resnet-blocks": ("resnet-basic-block", "resnet-bottleneck-block"),
    "vgg16-vs-vgg19": ("vgg16", "vgg19"),
}


def compare_json(cli: Callable, *args: str) -> dict:
    result = cli("compare", *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def totals(doc: dict) -> dict[str, dict]:
    return {s["name"]: s["totals"] for s in doc["specs"]}


@pytest.mark.parametrize("name", COMPARISONS)
@pytest.mark.parametrize("fmt", ["markdown", "json"])
def test_comparison_golden(name: str, fmt: str, cli: Callable, golden: Callable) -> None:
    result = cli("compare", *COMPARISONS[name], "--format", fmt)
    assert result.exit_code == 0, result.stderr
    golden(f"compare/{name}.{'md' if fmt == 'markdown' else fmt}", result.stdout)


@pytest.mark.parametrize("name", COMPARISONS)
def test_comparison_totals_are_the_sum_of_the_layers(name: str, cli: Callable) -> None:
    doc = compare_json(cli, *COMPARISONS[name])
    for i, spec in enumerate(doc["specs"]):
        rows = [slot["specs"][i] for slot in doc["layers"] if slot["specs"][i] is not None]
        assert sum(r["macs"] for r in rows) == spec["totals"]["macs"]
        assert sum(r["params"] for r in rows) == spec["totals"]["params"]
        assert len(rows) == len(analyze(load(spec["name"])).rows)  # every layer shown once


def test_inception_operations_as_the_lecture_writes_them(cli: Callable) -> None:
    out = cli("compare", "inception-naive", "inception-bottleneck").stdout
    for op in ("[1x1 conv, 128] 28x28x128x1x1x256", "[3x3 conv, 192] 28x28x192x3x3x256",
               "[5x5 conv, 96] 28x28x96x5x5x256", "[1x1 conv, 64] 28x28x64x1x1x256",
               "[3x3 conv, 192] 28x28x192x3x3x64", "[5x5 conv, 96] 28x28x96x5x5x64"):
        assert op in out
    doc = compare_json(cli, "inception-naive", "inception-bottleneck")
    naive = 28 * 28 * 128 * 1 * 1 * 256 + 28 * 28 * 192 * 3 * 3 * 256 + 28 * 28 * 96 * 5 * 5 * 256
    bottleneck = (28 * 28 * 64 * 1 * 1 * 256 + 28 * 28 * 64 * 1 * 1 * 256
                  + 28 * 28 * 128 * 1 * 1 * 256 + 28 * 28 * 192 * 3 * 3 * 64
                  + 28 * 28 * 96 * 5 * 5 * 64 + 28 * 28 * 64 * 1 * 1 * 256)
    t = totals(doc)
    assert t["inception-naive"]["macs"] == naive  # the lecture's "854M ops"
    assert t["inception-bottleneck"]["macs"] == bottleneck  # 271M; the slide prints 358M
    ops = {slot["label"]: [s and s["operation"] for s in slot["specs"]] for slot in doc["layers"]}
    assert ops["inception.3x3.conv_192"] == ["[3x3 conv, 192] 28x28x192x3x3x256",
                                             "[3x3 conv, 192] 28x28x192x3x3x64"]


def test_published_figure_is_never_shown_as_computed(cli: Callable) -> None:
    out = cli("compare", "inception-naive", "inception-bottleneck", "--format",
              "markdown").stdout
    assert (f"inception-bottleneck macs: computed {271351808:,}; published 358M") in out
    assert "known difference: the six conv products" in out
    assert "358,000,000" not in out  # a published figure is shown as quoted, never exact
    doc = compare_json(cli, "inception-naive", "inception-bottleneck")
    (fig,) = doc["specs"][1]["published"]
    assert fig["published"] == 358000000 and fig["computed"] == 271351808
    assert fig["status"] == "known"
    assert doc["specs"][0]["published"][0]["status"] == "agrees"


@pytest.mark.parametrize("c", [64, 128])
def test_three_3x3_convs_vs_one_7x7(c: int, cli: Callable) -> None:
    doc = compare_json(cli, "stack-3x3", "conv-7x7", "--set", f"C={c}")
    t = totals(doc)
    assert t["stack-3x3"]["weights"] == 3 * (3**2 * c**2)  # the lecture's 3 * (3^2 C^2)
    assert t["conv-7x7"]["weights"] == 7**2 * c**2  # the lecture's 7^2 C^2
    assert t["stack-3x3"]["bias"] == 3 * c and t["conv-7x7"]["bias"] == c  # not in the lecture
    assert t["stack-3x3"]["macs"] == 56 * 56 * 3 * (3**2 * c**2)
    assert [s["receptive_field"] for s in doc["specs"]] == ["7x7", "7x7"]


def test_fully_connected_vs_conv_on_200x200(cli: Callable) -> None:
    doc = compare_json(cli, "fc-200x200", "conv-200x200")
    t = totals(doc)
    assert t["fc-200x200"]["weights"] == 200 * 200 * 3 * 1000  # "120 million"
    assert t["fc-200x200"]["params"] == 200 * 200 * 3 * 1000 + 1000
    assert t["conv-200x200"]["params"] == (5 * 5 * 3 + 1) * 10  # the lecture's 760
    assert t["conv-200x200"]["macs"] == 200 * 200 * 10 * 5 * 5 * 3
    assert [s["receptive_field"] for s in doc["specs"]] == ["global", "5x5"]


def test_standard_vs_depthwise_separable(cli: Callable) -> None:
    c, h, w = 64, 56, 56
    t = totals(compare_json(cli, "conv3x3-standard", "conv3x3-separable"))
    assert t["conv3x3-standard"]["macs"] == 9 * c**2 * h * w  # the lecture's 9C^2HW
    assert t["conv3x3-separable"]["macs"] == 9 * c * h * w + c**2 * h * w
    bn = 2 * c  # gamma and beta per channel
    assert t["conv3x3-standard"]["params"] == 9 * c**2 + bn  # no conv bias: BN follows
    assert t["conv3x3-separable"]["params"] == 9 * c + c**2 + 2 * bn


def test_resnet_basic_vs_bottleneck_block(cli: Callable) -> None:
    t = totals(compare_json(cli, "resnet-basic-block", "resnet-bottleneck-block"))
    bn = 2  # gamma and beta per channel
    assert t["resnet-basic-block"]["params"] == 2 * (3 * 3 * 64 * 64) + bn * (64 + 64)
    assert t["resnet-bottleneck-block"]["params"] == \
        1 * 1 * 256 * 64 + 3 * 3 * 64 * 64 + 1 * 1 * 64 * 256 + bn * (64 + 64 + 256)
    assert t["resnet-basic-block"]["macs"] == 56 * 56 * 2 * (3 * 3 * 64 * 64)
    assert t["resnet-bottleneck-block"]["macs"] == \
        56 * 56 * (1 * 1 * 256 * 64 + 3 * 3 * 64 * 64 + 1 * 1 * 64 * 256)


def test_vgg16_vs_vgg19_differ_by_three_convs(cli: Callable) -> None:
    doc = compare_json(cli, "vgg16", "vgg19")
    t = totals(doc)
    extra = (3 * 3 * 256 * 256 + 256) + 2 * (3 * 3 * 512 * 512 + 512)
    assert t["vgg19"]["params"] - t["vgg16"]["params"] == extra
    extra_macs = 56 * 56 * 256 * 3 * 3 * 256 + 28 * 28 * 512 * 3 * 3 * 512 + \
        14 * 14 * 512 * 3 * 3 * 512
    assert t["vgg19"]["macs"] - t["vgg16"]["macs"] == extra_macs
    only_vgg19 = [slot["label"] for slot in doc["layers"] if slot["specs"][0] is None]
    assert only_vgg19 == ["stage3.conv4", "stage3.relu4", "stage4.conv4", "stage4.relu4",
                          "stage5.conv4", "stage5.relu4"]
    ratio = doc["specs"][1]["ratios"]["macs"]
    assert ratio == t["vgg19"]["macs"] / t["vgg16"]["macs"]


def test_three_specs_and_csv(cli: Callable) -> None:
    result = cli("compare", "vgg11", "vgg13", "vgg16", "--format", "csv")
    assert result.exit_code == 0
    first_block = result.stdout.split("\n\n")[0]
    rows = list(csv.DictReader(io.StringIO(first_block)))
    assert [r["spec"] for r in rows] == ["vgg11", "vgg13", "vgg16"]
    assert rows[0]["macs_ratio"] == "1x"


def test_compare_needs_two_specs(cli: Callable) -> None:
    result = cli("compare", "vgg16")
    assert result.exit_code == 2 and "at least two" in result.stderr


def _row(name: str, kind: str = "conv") -> Row:
    return Row(name, kind, "", (1,), (1,))


def test_align_matches_names_in_order_then_kinds_by_position() -> None:
    a = [_row("conv1"), _row("relu1", "relu"), _row("conv2"), _row("fc", "linear")]
    b = [_row("conv1"), _row("x", "relu"), _row("extra"), _row("conv2"), _row("fc", "linear")]
    slots = align([a, b])
    pairs = [tuple(r.name if r else None for r in s.rows) for s in slots]
    assert pairs == [("conv1", "conv1"), ("relu1", "x"), (None, "extra"), ("conv2", "conv2"),
                     ("fc", "fc")]


def test_align_keeps_order_when_a_name_repeats_out_of_place() -> None:
    a = [_row("a"), _row("b"), _row("c")]
    b = [_row("c"), _row("a"), _row("b")]
    pairs = [tuple(r.name if r else None for r in s.rows) for s in align([a, b])]
    assert ("a", "a") in pairs and ("b", "b") in pairs
    assert pairs.index(("a", "a")) < pairs.index(("b", "b"))


def test_blocks_sum_their_layers() -> None:
    report = analyze(load("inception-bottleneck"))
    by_name = {b.name: b for b in blocks(report)}
    assert by_name["inception.3x3"].macs == 28 * 28 * 64 * 256 + 28 * 28 * 192 * 3 * 3 * 64
    assert sum(b.macs for b in by_name.values()) == report.totals.macs


def test_receptive_field_of_chains() -> None:
    assert receptive_field(analyze(load("stack-3x3"))) == f"{1 + 3 * (3 - 1)}x{1 + 3 * 2}"
    # branches: the largest field over the paths, the 5x5 conv's
    assert receptive_field(analyze(load("inception-naive"))) == "5x5"


@pytest.mark.parametrize(("value", "text"), [(1.0, "1x"), (0.3177, "0.318x"), (2.5, "2.5x"),
                                             (1 / 157896, "1/157,896x"), (None, "-")])
def test_ratio_format(value: float | None, text: str) -> None:
    assert fmt_ratio(value) == text
