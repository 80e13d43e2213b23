"""`cnnstat receptive-field` and the RF column of `cnnstat summary`, through click's runner."""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import Result

from cnnstat import zoo

MISALIGNED = """\
name: shifted
input: [3, 8, 8]
layers:
  - concat:
      name: mix
      branches:
        odd: [conv: {out: 4, kernel: 3, padding: 1}]
        even: [conv: {out: 4, kernel: 2, padding: same}]
"""

SATURATED = """\
name: small
input: [1, 4, 4]
layers:
  - repeat: 4
    layers: [conv: {out: 2, kernel: 3, padding: 1}]
"""

FLAT = """\
name: mlp
input: [10]
layers:
  - linear: {out: 3}
"""


@pytest.fixture
def run(cli: Callable[..., Result]) -> Callable[..., Result]:
    """``cnnstat receptive-field ARGS`` through the shared ``cli`` fixture."""
    return functools.partial(cli, "receptive-field")


@pytest.fixture(scope="module")
def overview(cli: Callable[..., Result]) -> Callable[..., Result]:
    """The zoo overview (``receptive-field`` without a spec) for ARGS, run once per distinct ARGS
    in this module: each run analyses the whole zoo, and its output depends on ARGS alone."""
    return functools.lru_cache(maxsize=None)(functools.partial(cli, "receptive-field"))


def spec_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "net.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_table_lists_every_layer_and_the_last_spatial_field(run: Callable) -> None:
    result = run("alexnet", "--color", "never")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert "pool3" in result.stdout and "fc8" in result.stdout
    assert "last spatial layer 'pool3': field 195, jump 32, effective padding 64" in \
        result.stdout


def test_json_is_exact_and_parses(run: Callable) -> None:
    result = run("vgg16", "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["command"] == "receptive-field" and doc["input_size"] == [224, 224]
    last = doc["last_spatial"]
    assert (last["h"]["r"], last["h"]["j"], Fraction(last["h"]["start"])) == \
        (212, 32, Fraction(31, 2))
    assert last["h"]["padding"] == 90 and last["covers"] == [False, False]
    names = [layer["name"] for layer in doc["layers"]]
    assert names[:2] == ["stage1.conv1", "stage1.relu1"]
    assert all(isinstance(layer["h"]["start"], str) for layer in doc["layers"])


def test_csv_and_markdown(run: Callable) -> None:
    rows = list(csv.reader(io.StringIO(run("alexnet", "--format", "csv").stdout)))
    assert rows[0] == ["name", "layer", "output", "rf", "jump", "start", "pad", "whole"]
    assert rows[1][:7] == ["conv1", "96 11x11 filters at stride 4, pad 0", "96x55x55", "11", "4",
                           "5", "0"]
    markdown = run("alexnet", "--format", "markdown").stdout
    assert "| pool3 | 3x3 max pool at stride 2 | 256x6x6 | 195 | 32 | 33 | 64 | no |" in markdown


def test_unit_maps_back_to_its_input_region(run: Callable) -> None:
    result = run("alexnet", "--unit", "0,5", "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    half = (195 - 1) // 2
    centre = 33 + 5 * 32
    assert doc["layer"] == "pool3" and doc["unit"] == [0, 5]
    assert doc["field"] == {"rows": [33 - half, 33 + half], "cols": [centre - half, centre + half]}
    assert doc["seen"] == {"rows": [0, 33 + half], "cols": [centre - half, 226]}
    assert doc["padding"] == {"top": half - 33, "bottom": 0, "left": 0,
                              "right": centre + half - 226}
    table = run("alexnet", "--unit", "0,5", "--layer", "conv2", "--color", "never").stdout
    assert "unit (0, 5) of 'conv2' reads input rows 0..34" in table


@pytest.mark.parametrize(("args", "message"), [
    (("alexnet", "--unit", "6,0"), "unit index 6 outside 0..5 along H"),
    (("alexnet", "--unit", "0"), "expected ROW,COL"),
    (("alexnet", "--unit", "0,0", "--layer", "pool4"), "did you mean 'pool3'?"),
    (("alexnet", "--unit", "0,0", "--layer", "fc6"), "has no spatial output"),
    (("alexnet", "--layer", "conv2"), "give --unit ROW,COL too"),
    (("--unit", "0,0"), "need a SPEC"),
    (("no-such-net",), "no built-in spec named 'no-such-net'"),
])
def test_bad_usage_exits_2_without_traceback(run: Callable, args: tuple[str, ...],
                                             message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_flat_input_is_refused(run: Callable, tmp_path: Path) -> None:
    result = run(spec_file(tmp_path, FLAT))
    assert result.exit_code == 2
    assert "receptive fields need a C x H x W input" in result.stderr


def test_misaligned_paths_warn_on_stderr_and_json_still_parses(run: Callable,
                                                               tmp_path: Path) -> None:
    result = run(spec_file(tmp_path, MISALIGNED), "--format", "json")
    assert result.exit_code == 0
    assert "warning[W502]: concat 'mix.concat': paths arrive misaligned" in result.stderr
    assert "'odd' (via 'mix.odd.conv1')" in result.stderr
    assert "net.yaml:5:7: warning[W502]" in result.stderr  # located at the concat
    doc = json.loads(result.stdout)
    assert [d["code"] for d in doc["diagnostics"]] == ["W502"]


def test_saturation_note(run: Callable, tmp_path: Path) -> None:
    result = run(spec_file(tmp_path, SATURATED), "--format", "csv")
    assert result.exit_code == 0
    assert "note[W503]: every unit of 'conv3' already sees the whole 4x4 input" in result.stderr
    assert [row[-1] for row in csv.reader(io.StringIO(result.stdout))][1:] == \
        ["no", "no", "yes", "yes"]


def test_input_override_changes_the_fields(run: Callable) -> None:
    result = run("alexnet", "--input", "3x224x224", "--format", "json")
    assert result.exit_code == 0
    assert "warning[W501]" in result.stderr  # (224 - 11)/4 + 1 is not an integer
    doc = json.loads(result.stdout)
    assert doc["last_spatial"]["h"]["r"] == 195 and doc["input_size"] == [224, 224]


def test_zoo_overview_covers_every_spec(overview: Callable) -> None:
    result = overview("--format", "json")
    assert result.exit_code == 0
    specs = {s["name"]: s for s in json.loads(result.stdout)["specs"]}
    assert list(specs) == zoo.names()
    assert (specs["vgg16"]["h"]["r"], specs["vgg16"]["h"]["j"]) == (212, 32)
    assert specs["alexnet"]["layer"] == "pool3"
    table = overview("--color", "never").stdout
    assert "receptive field at the last spatial layer" in table and "vgg19" in table


def test_zoo_notes_are_counted_by_code_on_a_line_or_two(overview: Callable) -> None:
    result = overview("--color", "never")
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert 1 <= len(lines) <= 2
    assert lines[-1].startswith("notes from the built-in specs: ")
    # each code spelt out in words (issue 29)
    assert "W503 (every unit already sees the whole input; the field grows only into padding) " \
        "in " in lines[-1]
    assert "--verbose" in lines[-1] and ".yaml" not in result.stderr


def test_zoo_verbose_lists_each_note_once_by_spec_name(overview: Callable) -> None:
    result = overview("--verbose", "--format", "json")
    assert result.exit_code == 0, result.stderr
    heads = [line for line in result.stderr.splitlines() if not line.startswith("    ")]
    assert len(heads) == len(set(heads)) > 2
    # resnet34 and its two variants share one file and so one note: said once, naming all three
    shared = [h for h in heads if h.startswith("resnet34, resnet34-a, resnet34-v1 (resnet34.yaml:")]
    assert len(shared) == 1 and "note[W503]" in shared[0]
    assert "/" not in "".join(h.split(": ", 1)[0] for h in heads)  # names, never paths
    specs = {s["name"]: s for s in json.loads(result.stdout)["specs"]}
    assert [d["code"] for d in specs["resnet34"]["diagnostics"]] == ["W503"]


def test_zoo_table_explains_the_star_and_the_last_spatial_layer(overview: Callable) -> None:
    table = overview("--color", "never", "--format", "markdown").stdout
    starred = [line for line in table.splitlines() if line.startswith("| se-resnet50 |")]
    assert len(starred) == 1 and "*" in starred[0]
    assert "* a shared field" in table and "whole input through it" in table
    # the legend names only the columns the table has (it has no 'start' column)
    assert "start:" not in table and "j: jump" in table
    assert "last spatial layer, the last main-line layer whose output map is larger than 1x1" \
        in table
    doc = json.loads(overview("--format", "json").stdout)
    specs = {s["name"]: s for s in doc["specs"]}
    # the gated maps end at the same spatial stride as the ungated ones: 2^5
    for name in ("se-resnet50", "efficientnet-b0", "mobilenet-v3-small", "mobilenet-v3-large"):
        assert specs[name]["h"]["j"] == specs["resnet50"]["h"]["j"] == 2 ** 5, name
        assert specs[name]["h"]["shared"] and specs[name]["covers"] == [True, True]
    assert specs["googlenet-paper"]["layer"] == specs["googlenet"]["layer"]
    assert doc["last_spatial"].startswith("the last main-line layer")


def test_summary_gains_an_rf_column(cli: Callable) -> None:
    doc = json.loads(cli("summary", "alexnet", "--format", "json").stdout)
    rf = {layer["name"]: layer["rf"] for layer in doc["layers"]}
    assert rf["conv1"] == [11, 11] and rf["pool3"] == [195, 195]
    assert doc["conventions"]["receptive_field"].startswith("receptive field per axis")
    rows = list(csv.reader(io.StringIO(
        cli("summary", "alexnet", "--format", "csv").stdout)))
    assert rows[0][-1] == "rf" and rows[1][-1] == "11" and rows[-1][-1] == ""


def test_zoo_overview_is_kept_in_the_cache_and_the_same_from_it(cli: Callable) -> None:
    first = cli("receptive-field", "--format", "json")
    second = cli("receptive-field", "--format", "json")  # every row read back from the cache
    assert first.exit_code == second.exit_code == 0
    assert first.stdout == second.stdout and first.stderr == second.stderr


def test_the_legend_is_on_the_screen_with_the_header(cli: Callable) -> None:
    from cnnstat.render.text_table import render
    from cnnstat.views.receptive import zoo_table

    rows = [{"name": "a", "input": (3, 8, 8), "layer": "c", "output": (1, 4, 4), "rf": "3*",
             "jump": "2", "pad": "1", "whole": "no"}]
    lines = render([zoo_table(rows)], 80).splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("┃"))
    assert any("* a shared field" in line for line in lines[:header])
