"""Tables on a terminal never cut a number: they fit by choosing columns (the least important
left out first, a description shortened), and only a very narrow terminal gets one record per
row.  Checked on the renderer directly and in a real pseudo-terminal at 60, 80, 120 and 200
columns (and 40) against the exact figures of the JSON output."""

from __future__ import annotations

import fcntl
import json
import os
import re
import struct
import subprocess
import sys
import termios
from collections.abc import Callable
from pathlib import Path

import pytest

from cnnstat.render.table import Column, Table, select_columns, to_markdown
from cnnstat.render.text_table import MIN_TEXT, Style, fit, fitted, left_out_line, render

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = [Column("name", "name"), Column("layer", "layer"), Column("macs", "MACs", "count"),
           Column("output", "output", "shape")]
ROWS = [{"name": "stage1.conv1", "layer": "64 3x3 filters at stride 1, pad 1",
         "macs": 1_849_688_064, "output": (64, 224, 224)},
        {"name": "fc", "layer": "fully connected", "macs": 4_096_000, "output": (1000,)}]
TABLE = Table("vgg-ish", COLUMNS, ROWS, {"name": "total", "macs": 1_853_784_064}, ["a note"])
WHOLE = ["1,849,688,064", "64x224x224", "4,096,000", "1,853,784,064", "stage1.conv1"]


def tokens(text: str) -> set[str]:
    return set(re.findall(r"[\w.,]+", text))


@pytest.mark.parametrize("width", [None, 200, 80, 60, 50, 40, 30, 20])
def test_numbers_shapes_and_names_are_never_cut(width: int | None) -> None:
    text = render([TABLE], width)
    assert set(WHOLE) <= tokens(text), text
    assert "…" not in text and "..." not in text


def test_prose_wraps_before_the_layout_changes() -> None:
    natural = len(render([TABLE], None).splitlines()[1])  # the top rule
    text = render([TABLE], natural - 10)
    assert "┏" in text and all(len(line) <= natural - 10 for line in text.splitlines()[1:-3])
    assert "64 3x3 filters at" in text  # the description wrapped at a space


def test_too_narrow_gives_one_record_per_row_with_a_note() -> None:
    text = render([TABLE], 30)
    assert "┏" not in text and "one record per row" in text
    assert "name: stage1.conv1" in text and "MACs: 1,849,688,064" in text


def test_fit_shrinks_only_prose_and_not_below_its_floor() -> None:
    cells = [[c.cell(r.get(c.key)) for c in COLUMNS] for r in ROWS]
    natural = fit(COLUMNS, cells, None)
    assert natural is not None
    narrower = fit(COLUMNS, cells, sum(natural) + 3 * len(COLUMNS) + 1 - 5)
    assert narrower is not None
    assert [n - w for n, w in zip(natural, narrower)] == [0, 5, 0, 0]
    floors_only = sum(natural) - natural[1] + MIN_TEXT + 3 * len(COLUMNS) + 1
    assert fit(COLUMNS, cells, floors_only) is not None
    assert fit(COLUMNS, cells, floors_only - 1) is None


PRIORITISED = [Column("name", "name"), Column("layer", "layer", priority=3),
               Column("macs", "MACs", "count", 1), Column("output", "output", "shape", 2)]


def test_the_least_important_column_is_left_out_first_and_said() -> None:
    table = Table("t", PRIORITISED, ROWS)
    natural = len(render([table], None).splitlines()[1])
    cost = fitted([table], natural - 1)
    assert cost.shortened == ["layer"] and not cost.left_out  # a description is cut first
    assert "…" in cost.text and set(WHOLE[:2]) <= tokens(cost.text)
    cost = fitted([table], natural - 25)
    assert cost.left_out == ["layer"] and "64x224x224" in cost.text
    cost = fitted([table], 44)  # name 12 + MACs 13 + output 10 + rules 10 = 45
    assert cost.left_out == ["layer", "output"] and "1,849,688,064" in cost.text
    line = left_out_line(cost, 44)
    assert line is not None and "layer, output" in line and "--columns" in line


def test_records_when_only_names_would_be_left_or_a_figure_goes_below_fifty() -> None:
    table = Table("t", PRIORITISED, ROWS)
    assert fitted([table], 24).records  # only the names would be left
    wide = Table("t", [*PRIORITISED, Column("params", "parameters", "count", 1)], ROWS)
    assert fitted([wide], 40).records  # a priority-1 figure would go below 50 columns
    assert not fitted([wide], 60).records


def test_select_columns_keeps_the_names_and_refuses_unknown_keys() -> None:
    table = Table("t", PRIORITISED, ROWS)
    (chosen,) = select_columns([table], ["output", "layer"])
    assert [c.key for c in chosen.columns] == ["name", "output", "layer"]
    assert all(c.priority == 0 for c in chosen.columns)
    with pytest.raises(ValueError, match="macs.*MACs"):
        select_columns([table], ["nope"])


def test_colour_only_when_asked() -> None:
    assert "\x1b[" not in render([TABLE], None)
    assert "\x1b[1m" in render([TABLE], None, Style(color=True))


def in_terminal(width: int, *args: str) -> tuple[str, str]:
    """Run cnnstat with stdout on a pseudo-terminal ``width`` columns wide: (stdout, stderr)."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, width, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen([sys.executable, "-m", "cnnstat", *args, "--color", "never"],
                            stdout=follower, stderr=subprocess.PIPE, cwd=ROOT, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.stderr is not None
    err = proc.stderr.read().decode("utf-8")
    assert proc.wait(timeout=120) == 0, err
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n"), err


def headers(text: str) -> list[set[str]]:
    """Each boxed table's header cells (a header wrapped over lines joined again)."""
    out = []
    for block in text.split("┏")[1:]:
        lines = [line for line in block.splitlines()[1:] if line.startswith("┃")]
        cells = [" ".join(parts).split() for parts in zip(*(line.split("┃")[1:-1]
                                                            for line in lines))]
        out.append({" ".join(words) for words in cells})
    return out


def widest_table_line(text: str) -> int:
    return max((len(line) for line in text.splitlines() if line[:1] in "┃│┏┡└├"), default=0)


WIDTHS = [60, 80, 120, 200]
FIGURES = {"params": "params", "MACs": "macs", "elem. ops": "elementwise",
           "activations": "activations"}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("spec", ["vgg16", "googlenet", "resnet50"])
def test_every_figure_shown_is_whole_on_a_real_terminal(width: int, spec: str) -> None:
    doc = json.loads(subprocess.run(
        [sys.executable, "-m", "cnnstat", "summary", spec, "--format", "json"], cwd=ROOT,
        capture_output=True, text=True, check=True).stdout)
    text, err = in_terminal(width, "summary", spec)
    assert "one record per row" not in text and widest_table_line(text) <= width
    shown = headers(text)[0]
    seen = tokens(text)
    for layer in doc["layers"]:
        for header, key in FIGURES.items():
            if header in shown:
                value = layer[key] if key != "elementwise" else sum(layer[key].values())
                assert f"{value:,}" in seen, (layer["name"], key, value)
        if "output" in shown:
            assert "x".join(map(str, layer["output_shape"])) in seen, layer["name"]
        assert layer["name"] in seen
    everything = {"name", "layer", "output", "params", "MACs", "MACs %", "elem. ops",
                  "activations", "RF"}
    if width >= 80:
        assert {"name", "output", "params", "MACs"} <= shown
        assert {f"{doc['totals']['params']:,}", f"{doc['totals']['macs']:,}"} <= seen
    if width == 120 and spec == "vgg16":
        assert shown == everything - {"layer"}
    if width == 200 and spec == "vgg16":
        assert shown == everything
    # a footnote goes with its column: none explains a column the table does not show
    assert ("RF: receptive field size" in text) == ("RF" in shown)
    assert ("element-wise ops (bias adds" in text) == ("elem. ops" in shown)
    if shown != everything:  # one line on stderr says what was left out, and how to get it
        left_out = [line for line in err.splitlines() if "left out" in line]
        assert len(left_out) == 1 and "--columns" in left_out[0] and "json" in left_out[0]
        assert "layer" in left_out[0]
    else:
        assert "left out" not in err


# every default table of the table commands: (arguments, the headers it keeps at 80 columns)
COMMANDS = {
    "params": (("params", "resnet50"), {"name", "params"}),
    "compare": (("compare", "inception-naive", "inception-bottleneck"),
                {"spec", "output", "params", "MACs"}),
    "memory": (("memory", "vgg16"), {"name", "output", "live elements", "live bytes", "peak"}),
    "list": (("list",), {"name", "input", "params", "MACs"}),
    "receptive-field": (("receptive-field",), {"name", "output", "r", "j"}),
    "receptive-field SPEC": (("receptive-field", "resnet50"), {"name", "output", "r", "j"}),
}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("command", COMMANDS)
def test_every_table_command_fits_by_choosing_columns(width: int, command: str) -> None:
    args, kept = COMMANDS[command]
    text, err = in_terminal(width, *args)
    assert "one record per row" not in text
    assert widest_table_line(text) <= width, text
    if width >= 80:
        assert kept <= headers(text)[0], headers(text)[0]
    assert "…" not in "".join(line for line in text.splitlines() if line.startswith("┃"))


@pytest.mark.torch
@pytest.mark.parametrize("width", WIDTHS)
def test_verify_fits_by_choosing_columns(width: int) -> None:
    pytest.importorskip("torch")
    text, err = in_terminal(width, "verify", "lenet5")
    assert "one record per row" not in text and widest_table_line(text) <= width
    if width >= 80:
        assert {"name", "output", "params", "FLOPs (torch)", "ok"} <= headers(text)[0]
    for figure in ("60,000", "651,360", "48,120"):  # params, FLOPs, c5's params: whole
        assert figure in tokens(text) or width < 80


def test_columns_chooses_and_a_chosen_column_is_never_left_out() -> None:
    text, err = in_terminal(60, "summary", "vgg16", "--columns", "macs,layer")
    assert headers(text)[0] == {"name", "MACs", "layer"}
    assert "64 3x3 filters at" in text  # a chosen description wraps, it is not cut
    assert widest_table_line(text) <= 60 and "left out" not in err


def test_a_description_is_shortened_before_it_is_left_out() -> None:
    text, err = in_terminal(140, "summary", "vgg16")
    assert "layer" in headers(text)[0] and "…" in text
    assert "shortened layer" in err
    assert {"elem. ops", "activations", "MACs %", "RF"} <= headers(text)[0]


def test_below_fifty_columns_a_table_that_loses_a_figure_is_records() -> None:
    text, err = in_terminal(40, "summary", "vgg16")
    assert "one record per row" in text and "MACs: 1,849,688,064" in text


def test_a_column_of_measured_reals_shares_its_decimals() -> None:
    # bench once printed '41' beside '39.86'; the largest keeps four significant digits, the
    # smallest at least two, and every cell of the column gets the same decimals.
    cols = [Column("name", "name"), Column("ms", "median ms", "real"),
            Column("rate", "images/s", "real")]
    rows = [{"name": "a", "ms": 41.0, "rate": 2345.2}, {"name": "b", "ms": 39.86, "rate": 120.4},
            {"name": "c", "ms": None, "rate": 0.5}]
    lines = render([Table("t", cols, rows)], None).splitlines()
    body = [line for line in lines if line.startswith("│")]
    assert body == ["│ a    │     41.00 │ 2,345.20 │",
                    "│ b    │     39.86 │   120.40 │",
                    "│ c    │           │     0.50 │"]


def test_markdown_shares_the_decimals_too() -> None:
    md = to_markdown([Table("t", [Column("ms", "ms", "real")], [{"ms": 41.0}, {"ms": 39.86}])])
    assert "| 41.00 |" in md and "| 39.86 |" in md and "|---:|" in md


def test_every_header_is_padded_and_percentages_right_aligned(cli: Callable) -> None:
    out = cli("params", "lenet5", "--color", "never").stdout
    headers = [line for line in out.splitlines() if line.startswith("┃")]
    assert headers and all(line.startswith("┃ ") and " ┃ " in line for line in headers)
    first = out[:out.index("\n\n")]  # the by-layer table
    rows = [line.split("│")[1:-1] for line in first.splitlines() if line.startswith("│")]
    shares = [cells[-1] for cells in rows]
    assert shares and all(s.endswith("% ") and s.startswith(" ") for s in shares)
    assert len({len(s) for s in shares}) == 1
    assert any(s.startswith("  ") for s in shares)  # a short share is padded on the left
