"""Tables on a terminal never cut a number: prose columns wrap first, then the table becomes one
record per row.  Checked on the renderer directly and in a real pseudo-terminal at 40, 60, 80
and 120 columns against the exact figures of the JSON output."""

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

from cnnstat.render.table import Column, Table, to_markdown
from cnnstat.render.text_table import MIN_TEXT, Style, fit, render

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


def test_colour_only_when_asked() -> None:
    assert "\x1b[" not in render([TABLE], None)
    assert "\x1b[1m" in render([TABLE], None, Style(color=True))


def in_terminal(width: int, *args: str) -> str:
    """Run cnnstat with stdout on a pseudo-terminal ``width`` columns wide."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, width, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen([sys.executable, "-m", "cnnstat", *args, "--color", "never"],
                            stdout=follower, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
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
    assert proc.wait(timeout=60) == 0
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


@pytest.mark.parametrize("width", [40, 60, 80, 120])
@pytest.mark.parametrize("spec", ["vgg16", "googlenet"])
def test_every_figure_is_whole_on_a_real_terminal(width: int, spec: str) -> None:
    doc = json.loads(subprocess.run(
        [sys.executable, "-m", "cnnstat", "summary", spec, "--format", "json"], cwd=ROOT,
        capture_output=True, text=True, check=True).stdout)
    text = in_terminal(width, "summary", spec)
    seen = tokens(text)
    for layer in doc["layers"]:
        for key in ("params", "macs", "elementwise", "activations"):
            value = layer[key] if key != "elementwise" else sum(layer[key].values())
            assert f"{value:,}" in seen, (layer["name"], key, value)
        assert "x".join(map(str, layer["output_shape"])) in seen, layer["name"]
        assert layer["name"] in seen
    totals = doc["totals"]
    assert {f"{totals['params']:,}", f"{totals['macs']:,}"} <= seen
    longest = max(len(line) for line in text.splitlines() if line.startswith(("┃", "│", "┏")))\
        if "┏" in text else 0
    assert longest <= width


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
