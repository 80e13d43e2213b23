"""The lecture's own tables: AlexNet's layer list and the memory/params table, computed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cnnstat.analysis import analyze
from cnnstat.spec.expr import evaluate
from cnnstat.spec.loader import load

# Lecture 6 (CNNs I), AlexNet slide, quoted line by line (blank lines of the slide dropped).
LECTURE_ALEXNET = """\
[227x227x3] INPUT
[55x55x96] CONV1: 96 11x11 filters at stride 4, pad 0
[27x27x96] MAX POOL1: 3x3 filters at stride 2
[27x27x96] NORM1: Normalization layer
[27x27x256] CONV2: 256 5x5 filters at stride 1, pad 2
[13x13x256] MAX POOL2: 3x3 filters at stride 2
[13x13x256] NORM2: Normalization layer
[13x13x384] CONV3: 384 3x3 filters at stride 1, pad 1
[13x13x384] CONV4: 384 3x3 filters at stride 1, pad 1
[13x13x256] CONV5: 256 3x3 filters at stride 1, pad 1
[6x6x256] MAX POOL3: 3x3 filters at stride 2
[4096] FC6: 4096 neurons
[4096] FC7: 4096 neurons
[1000] FC8: 1000 neurons (class scores)
"""


def test_alexnet_lecture_table_is_reproduced_exactly(cli: Callable) -> None:
    result = cli("summary", "alexnet", "--style", "lecture")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == LECTURE_ALEXNET


def test_lecture_shapes_follow_from_the_formula() -> None:
    """(W - F + 2P)/S + 1 for the slide's sizes: 227 -> 55 -> 27 -> 27 -> 13 -> 13 -> 6."""
    assert (227 - 11 + 2 * 0) // 4 + 1 == 55 and (227 - 11) % 4 == 0
    assert (55 - 3) // 2 + 1 == 27 and (27 - 5 + 2 * 2) // 1 + 1 == 27
    assert (27 - 3) // 2 + 1 == 13 and (13 - 3) // 2 + 1 == 6
    shapes = {r.name: r.output_shape for r in analyze(load("alexnet")).rows}
    assert shapes["conv1"] == (96, 55, 55) and shapes["pool3"] == (256, 6, 6)


@pytest.mark.parametrize("name", ["alexnet", "zfnet", "vgg16", "lenet5", "inception-naive",
                                  "resnet-basic-block"])
def test_lecture_style_golden(name: str, cli: Callable, golden: Callable) -> None:
    result = cli("summary", name, "--style", "lecture")
    assert result.exit_code == 0, result.stderr
    golden(f"lecture/{name}.txt", result.stdout)


def test_lecture_style_leaves_out_activations_dropout_and_flatten(cli: Callable) -> None:
    out = cli("summary", "vgg16", "--style", "lecture").stdout
    assert "RELU" not in out and "DROPOUT" not in out and "FLATTEN" not in out
    assert "[224x224x64] STAGE1.CONV1: 64 3x3 filters at stride 1, pad 1" in out
    assert "[112x112x64] STAGE1.MAX POOL1: 2x2 filters at stride 2" in out


def test_class_scores_only_for_the_classifier(cli: Callable) -> None:
    assert "(class scores)" not in cli("summary", "fc-200x200", "--style", "lecture").stdout
    assert "[10] FC8: 10 neurons (class scores)" in cli(
        "summary", "alexnet", "--style", "lecture", "--set", "classes=10").stdout


def test_lecture_style_json_and_csv(cli: Callable) -> None:
    doc = json.loads(cli("summary", "alexnet", "--style", "lecture", "--format", "json").stdout)
    assert doc["style"] == "lecture" and doc["input_hwc"] == "227x227x3"
    assert [la["name"] for la in doc["layers"]][:3] == ["CONV1", "MAX POOL1", "NORM1"]
    rows = list(csv.DictReader(io.StringIO(cli("summary", "alexnet", "--style", "lecture",
                                               "--format", "csv").stdout)))
    assert rows[0]["name"] == "INPUT" and rows[-1]["shape"] == "1000"


def test_memory_table_arithmetic_and_totals(cli: Callable) -> None:
    doc = json.loads(cli("summary", "vgg16", "--style", "memory", "--format", "json").stdout)
    layers = {la["name"]: la for la in doc["layers"]}
    assert layers["INPUT"]["activations_worked"] == "224*224*3"
    assert layers["STAGE1.CONV1"]["activations"] == 224 * 224 * 64
    assert layers["STAGE1.CONV1"]["params_worked"] == "(3*3*3)*64 + 64"
    assert layers["STAGE1.CONV1"]["params"] == (3 * 3 * 3) * 64 + 64
    assert layers["FC6"]["params_worked"] == "(7*7*512)*4096 + 4096"
    for la in doc["layers"]:
        assert evaluate("=" + la["activations_worked"], {}) == la["activations"]
        assert evaluate("=" + la["params_worked"], {}) == la["params"]
    totals = doc["totals"]
    assert totals["activations"] == sum(la["activations"] for la in doc["layers"])
    assert totals["params"] == sum(la["params"] for la in doc["layers"]) == 138357544
    per_image = totals["bytes"]["activations, forward (per image)"]
    assert per_image == 4 * totals["activations"]
    assert totals["bytes"]["parameters"] == 4 * 138357544


def test_lecture_tables_leave_out_a_no_op_adaptive_pool(cli: Callable) -> None:
    """torchvision's adaptive 7x7 pool on VGG's 7x7 map computes nothing; the lecture has no
    row for it, so the rows (and their sum) are the cs231n notes' rows."""
    doc = json.loads(cli("summary", "vgg16", "--style", "memory", "--format", "json").stdout)
    names = [la["name"] for la in doc["layers"]]
    assert "ADAPTIVE_AVGPOOL1" not in names and names[-4:] == ["STAGE5.MAX POOL1", "FC6", "FC7",
                                                              "FC8"]
    convs = 224 * 224 * 64 * 2 + 112 * 112 * 128 * 2 + 56 * 56 * 256 * 3 + 28 * 28 * 512 * 3 \
        + 14 * 14 * 512 * 3
    pools = 112 * 112 * 64 + 56 * 56 * 128 + 28 * 28 * 256 + 14 * 14 * 512 + 7 * 7 * 512
    rows_sum = 224 * 224 * 3 + convs + pools + 4096 + 4096 + 1000
    assert doc["totals"]["activations"] == rows_sum == 15_237_608
    assert doc["printed_total"] == {
        "source": "the cs231n notes (Convolutional Networks, Case studies: VGGNet)",
        "printed": "TOTAL memory: 24M * 4 bytes ~= 93MB / image (only forward! ~*2 for bwd)",
        "value": 24_000_000, "rows_sum": rows_sum, "why": doc["printed_total"]["why"]}
    lecture = cli("summary", "vgg16", "--style", "lecture").stdout
    assert "ADAPTIVE_AVGPOOL1" not in lecture and "[7x7x512] STAGE5.MAX POOL1" in lecture


def test_an_adaptive_max_pool_to_its_input_size_is_a_no_op_too(cli: Callable,
                                                                tmp_path: Path) -> None:
    spec = tmp_path / "t.yaml"
    spec.write_text("name: t\ninput: [3, 14, 14]\nlayers:\n  - conv: {out: 8, kernel: 3, "
                    "padding: 1}\n  - adaptive_maxpool: {size: 14}\n  - adaptive_maxpool: "
                    "{size: 7}\n", encoding="utf-8")
    text = cli("summary", str(spec), "--style", "lecture", "--format", "markdown").stdout
    assert "| ADAPTIVE_MAXPOOL1 |" not in text and "| ADAPTIVE_MAXPOOL2 |" in text
    assert "ADAPTIVE_MAXPOOL1 (adaptive max pool to 14x14 on a 14x14x8 map: the identity) is " \
        "not listed" in text


def test_memory_table_says_what_the_notes_print(cli: Callable) -> None:
    text = cli("summary", "vgg16", "--style", "memory", "--format", "markdown").stdout
    assert "'TOTAL memory: 24M * 4 bytes" in text and "add up to 15,237,608 (~15.2M)" in text
    assert "ADAPTIVE_AVGPOOL1 (adaptive avg pool to 7x7 on a 7x7x512 map: the identity)" in text
    # only the spec and input the notes tabulate carry the notes' total
    other = json.loads(cli("summary", "vgg16", "--style", "memory", "--input", "3x256x256",
                           "--format", "json").stdout)
    assert other["printed_total"] is None
    assert "ADAPTIVE_AVGPOOL1" in [la["name"] for la in other["layers"]]  # 8x8 -> 7x7: real


@pytest.mark.parametrize(("dtype", "size"), [("float32", 4), ("float16", 2), ("bfloat16", 2),
                                             ("int8", 1)])
def test_memory_table_bytes_by_dtype(dtype: str, size: int, cli: Callable) -> None:
    doc = json.loads(cli("summary", "alexnet", "--style", "memory", "--dtype", dtype,
                         "--format", "json").stdout)
    assert doc["bytes_per_element"] == size
    assert doc["totals"]["bytes"]["parameters"] == size * doc["totals"]["params"]


def test_memory_table_with_batch(cli: Callable) -> None:
    doc = json.loads(cli("summary", "alexnet", "--style", "memory", "--batch", "8", "--format",
                         "json").stdout)
    assert doc["totals"]["bytes"]["activations, forward (batch 8)"] == \
        8 * 4 * doc["totals"]["activations"]


@pytest.mark.parametrize("name", ["vgg16", "alexnet", "lenet5", "mobilenet-v1"])
def test_memory_style_golden(name: str, cli: Callable, golden: Callable) -> None:
    result = cli("summary", name, "--style", "memory", "--format", "markdown")
    assert result.exit_code == 0, result.stderr
    golden(f"lecture/{name}-memory.md", result.stdout)


def test_default_summary_is_unchanged_by_the_style_option(cli: Callable) -> None:
    assert cli("summary", "alexnet", "--format", "csv").stdout == \
        cli("summary", "alexnet", "--format", "csv", "--style", "default").stdout


def test_the_lecture_examples_are_run_by_the_docs_test() -> None:
    """The lecture's examples are console examples of docs/lecture.md, none skipped:
    tests/test_docs_examples.py runs each and compares its whole output (CONTRIBUTING.md,
    "Docs")."""
    from tests.docs_examples import ROOT, console_blocks

    blocks = console_blocks(ROOT / "docs" / "lecture.md")
    assert all(b.skip is None for b in blocks)
    commands = [e.command.split()[:2] for b in blocks for e in b.examples()]
    assert commands == [["cnnstat", "explain"], ["cnnstat", "summary"], ["cnnstat", "compare"],
                        ["cnnstat", "memory"]]
