"""One test per diagnostic code, pinning the exact stderr: path:line:col, message, caret, hint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

HEAD = "name: bad\ninput: [3, 32, 32]\n"

# (code, spec text, expected stderr after the file name)
CASES = [
    ("E101", "name: bad\ninput: [3, 32, 32]\nlayers:\n\t- relu\n",
     ":4:1: error[E101]: YAML syntax error: found character '\\t' that cannot start any token\n"
     "     - relu\n    ^\n    hint: indent with spaces, not tabs\n"),
    ("E102", HEAD + "layers: [relu]\nlayers: [tanh]\n",
     ":4:1: error[E102]: duplicate key 'layers' (first defined at line 3)\n"
     "    layers: [tanh]\n    ^\n    hint: remove one of the two entries\n"),
    ("E104", "",
     ":1:1: error[E104]: the spec is empty\n"
     "    hint: a spec needs at least 'input' and 'layers'\n"),
    ("E201", HEAD + "layers:\n  - conv: {out: 8, kernel: 3, strid: 2}\n",
     ":4:31: error[E201]: conv: unknown key 'strid'\n"
     "      - conv: {out: 8, kernel: 3, strid: 2}\n                                  ^\n"
     "    hint: did you mean 'stride'?\n"),
    ("E202", HEAD + "layers:\n  - conv: {out: 3.5, kernel: 3}\n",
     ":4:17: error[E202]: conv: 'out': expected an integer or an expression (got 3.5)\n"
     "      - conv: {out: 3.5, kernel: 3}\n                    ^\n"),
    ("E203", HEAD + "layers:\n  - conv: {kernel: 3}\n",
     ":4:11: error[E203]: conv: missing required key 'out'\n"
     "      - conv: {kernel: 3}\n              ^\n"),
    ("E204", HEAD + "layers:\n  - rleu\n",
     ":4:5: error[E204]: unknown layer kind or block 'rleu'\n"
     "      - rleu\n        ^\n    hint: did you mean 'relu'?\n"),
    ("E205", HEAD + "blocks:\n  a: {layers: [b]}\n  b: {layers: [a]}\nlayers: [a]\n",
     ":5:16: error[E205]: block 'a' calls itself (a -> b -> a) more than 32 blocks deep: the "
     "recursion has no base case, or does not reach it in time\n"
     "      b: {layers: [a]}\n                   ^\n"
     "    hint: a recursive call needs a condition that stops it: if: $levels > 1, with levels: "
     "$levels - 1 passed on\n"),
    ("E206", HEAD + "blocks:\n  unit: {args: {width: required}, layers: [conv: {out: $width, kernel: 1}]}\n"
     "layers:\n  - unit: {widht: 4}\n",
     ":6:12: error[E206]: block 'unit' has no argument 'widht'\n"
     "      - unit: {widht: 4}\n               ^\n    hint: did you mean 'width'?\n"),
    ("E207", HEAD + "layers:\n  - repeat: 100000\n    layers: [relu]\n",
     ":4:13: error[E207]: repeat count 100000 is outside 0..10,000\n"
     "      - repeat: 100000\n                ^\n"),
    ("E208", HEAD + "layers:\n  - relu: {name: a}\n  - tanh: {name: a}\n",
     ":5:18: error[E208]: duplicate layer name 'a'\n      - tanh: {name: a}\n"
     "                     ^\n"
     "    hint: give each layer in a scope a distinct name\n"),
    ("E301", HEAD + "layers:\n  - conv: {out: '=__import__(\"os\")', kernel: 3}\n",
     ":4:17: error[E301]: unknown function in '__import__('os')'\n"
     "      - conv: {out: '=__import__(\"os\")', kernel: 3}\n                    ^\n"
     "    hint: functions: ceil, floor, int, len, make_divisible, max, min, prepend, "
     "regnet_depths, regnet_widths, round, round_log\n"),
    ("E302", HEAD + "layers:\n  - conv: {out: $width, kernel: 3}\n",
     ":4:17: error[E302]: unknown parameter '$width'\n"
     "      - conv: {out: $width, kernel: 3}\n                    ^\n    hint: known: none\n"),
    ("E303", HEAD + "params: {c: 10}\nlayers:\n  - conv: {out: $c / 4, kernel: 3}\n",
     ":5:17: error[E303]: conv out must be a whole number, got 5/2 (from '$c / 4')\n"
     "      - conv: {out: $c / 4, kernel: 3}\n                    ^\n"
     "    hint: round explicitly: ceil(...), floor(...), round(...) or make_divisible(...)\n"),
    ("E304", HEAD + "params: {c: 0}\nlayers:\n  - conv: {out: 8 // $c, kernel: 3}\n",
     ":5:17: error[E304]: division by zero in '8 // c'\n"
     "      - conv: {out: 8 // $c, kernel: 3}\n                    ^\n"),
    ("E401", "name: bad\ninput: [3, 4, 4]\nlayers:\n  - conv: {out: 8, kernel: 7, padding: 1}\n",
     ":4:28: error[E401]: conv 'conv1': kernel 7 exceeds padded input 6 (H=4, pad=1)\n"
     "      - conv: {out: 8, kernel: 7, padding: 1}\n                               ^\n"
     "    hint: use a smaller kernel or stride, more padding, or a larger input\n"),
    ("E402", HEAD + "layers:\n  - conv: {out: 8, kernel: 3, groups: 2}\n",
     ":4:39: error[E402]: conv 'conv1': groups=2 must divide both input channels (3) and "
     "filters (8)\n      - conv: {out: 8, kernel: 3, groups: 2}\n"
     "                                          ^\n"),
    ("E403", HEAD + "layers:\n  - linear: {out: 10}\n",
     ":4:13: error[E403]: linear 'linear1' needs a flat input, got 3x32x32\n"
     "      - linear: {out: 10}\n                ^\n"
     "    hint: add 'flatten' (or 'global_avgpool' then 'flatten') before it; or, over the "
     "channels of a map, 'permute' to channels-last and 'over: last'\n"),
    ("E404", HEAD + "layers:\n  - residual: {body: [conv: {out: 8, kernel: 1}], shortcut: identity}\n",
     ":4:15: error[E404]: add 'residual1': shapes differ: body 8x32x32 vs shortcut 3x32x32\n"
     "      - residual: {body: [conv: {out: 8, kernel: 1}], shortcut: identity}\n"
     "                  ^\n    hint: use a projection shortcut (shortcut: auto)\n"),
    ("E405", HEAD + "layers:\n  - concat: [[conv: {out: 4, kernel: 3}], [conv: {out: 4, kernel: 1}]]\n",
     ":4:13: error[E405]: concat 'concat1': branch outputs differ in spatial size: "
     "branch1 4x30x30, branch2 4x32x32\n"
     "      - concat: [[conv: {out: 4, kernel: 3}], [conv: {out: 4, kernel: 1}]]\n"
     "                ^\n    hint: give every branch the same stride and padding\n"),
    ("E406", HEAD + "layers:\n  - conv_transpose: {out: 8, kernel: 3, stride: 2, "
     "output_padding: 2}\n",
     ":4:68: error[E406]: conv_transpose 'conv_transpose1': output_padding 2 along H must be "
     "smaller than the stride (2) or the dilation (1)\n"
     "      - conv_transpose: {out: 8, kernel: 3, stride: 2, output_padding: 2}\n"
     "                                                                       ^\n"
     "    hint: output_padding only picks among the sizes a stride allows\n"),
]


@pytest.mark.parametrize(("code", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_error_message(code: str, text: str, expected: str, tmp_path: Path,
                       cli: Callable) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(text, encoding="utf-8")
    result = cli("summary", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == str(path) + expected


def test_non_utf8_bytes(tmp_path: Path, cli: Callable) -> None:
    path = tmp_path / "net.yaml"
    path.write_bytes(b"name: x\ninput: [3, 4, 4]\nlayers: [re\xfflu]\n")
    result = cli("summary", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}:3:12: error[E103]: not valid UTF-8 (byte 0xff)\n")


def test_billion_laughs_is_rejected_quickly(tmp_path: Path, cli: Callable) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    path = tmp_path / "lol.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("summary", str(path))
    assert result.exit_code == 1 and "error[E105]" in result.stderr


def test_every_problem_in_a_layer_is_reported(tmp_path: Path, cli: Callable) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(HEAD + "layers:\n  - conv: {kernal: 3, strid: 1}\n", encoding="utf-8")
    result = cli("summary", str(path))
    codes = [line.split("error[")[1][:4] for line in result.stderr.splitlines() if "error[" in line]
    assert sorted(codes) == ["E201", "E201", "E203", "E203"]


def test_explicit_shortcut_layer_list(tmp_path: Path, cli: Callable) -> None:
    """A residual shortcut written as a layer list (WRN's bare 1x1 projection)."""
    path = tmp_path / "net.yaml"
    path.write_text(HEAD + "layers:\n  - residual:\n      body: [conv: {out: 8, kernel: 3, "
                    "stride: 2, padding: 1}]\n      shortcut: [conv: {out: 8, kernel: 1, "
                    "stride: 2}]\n", encoding="utf-8")
    result = cli("summary", str(path), "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert "residual1.shortcut.conv1" in result.stdout


def test_shortcut_mapping_is_a_located_error(tmp_path: Path, cli: Callable) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(HEAD + "layers:\n  - residual: {body: [relu], shortcut: {conv: 1}}\n",
                    encoding="utf-8")
    result = cli("summary", str(path))
    assert result.exit_code == 1 and "error[E202]: residual shortcut must be" in result.stderr
