"""Pair values: parameters, block arguments and expressions take [h, w] pairs (and short lists)
with element-wise arithmetic; a pair where one number is needed names the argument and the
call that passed it."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from cnnstat import analysis
from cnnstat.errors import SpecError
from cnnstat.spec.expr import ExprError, evaluate
from tests.conftest import write


@pytest.mark.parametrize(("text", "env", "expected"), [
    ("$k * 2", {"k": [1, 7]}, (2, 14)),
    ("$k // 2", {"k": [1, 7]}, (0, 3)),
    ("$k + $k", {"k": [1, 7]}, (2, 14)),
    ("=[$n, 1]", {"n": 7}, (7, 1)),
    ("$k / 2", {"k": [3, 4]}, (Fraction(3, 2), 2)),
    ("ceil($k / 2)", {"k": [3, 7]}, (2, 4)),
    ("make_divisible($k * 3, 8)", {"k": [10, 20]}, (32, 64)),
    ("-$k", {"k": [1, 7]}, (-1, -7)),
])
def test_pairs_compute_element_wise(text: str, env: dict[str, object],
                                    expected: tuple[object, ...]) -> None:
    assert evaluate(text, env) == expected


@pytest.mark.parametrize(("text", "env"), [
    ("max($k, 1)", {"k": [1, 7]}),            # min and max take numbers
    ("$k + [1, 2, 3]", {"k": [1, 7]}),        # lists of different lengths
    ("=[1, 2, 3, 4, 5, 6, 7, 8, 9]", {}),     # longer than any size needs
])
def test_pairs_refuse_what_has_no_meaning(text: str, env: dict[str, object]) -> None:
    with pytest.raises(ExprError) as info:
        evaluate(text, env)
    assert info.value.code == "E303"


FACTORIZED = """\
name: factorized
input: [8, 17, 17]
params: {n: 7}
blocks:
  factor:
    args: {kernel: required, c: 8}
    layers:
      - conv: {out: $c, kernel: $kernel, padding: $kernel // 2}
layers:
  - factor: {kernel: [1, $n]}
  - factor: {kernel: "=[$n, 1]", c: 16}
  - factor: {kernel: 3}
"""


def test_block_arguments_take_pairs(tmp_path: Path) -> None:
    rows = analysis.analyze(write(tmp_path, FACTORIZED)).rows
    one_by_seven, seven_by_one, square = rows
    assert one_by_seven.output_shape == (8, 17, 17)           # padding [0, 3] keeps 17x17
    assert one_by_seven.params == 8 * 8 * 1 * 7 + 8
    assert one_by_seven.macs == 17 * 17 * 8 * 8 * 1 * 7
    assert seven_by_one.params == 16 * 8 * 7 * 1 + 16
    assert square.params == 8 * 16 * 3 * 3 + 8


def test_a_pair_where_one_number_is_needed_points_at_the_call(tmp_path: Path) -> None:
    text = ("name: bad\ninput: [8, 9, 9]\nblocks:\n  b:\n    args: {c: 8}\n    layers:\n"
            "      - conv: {out: $c, kernel: 3}\nlayers:\n  - b: {c: [1, 7]}\n")
    with pytest.raises(SpecError) as info:
        analysis.analyze(write(tmp_path, text))
    diag = info.value.diagnostics[0]
    assert diag.code == "E303" and diag.path == ("layers", 0, "b", "c")
    assert "argument 'c' is the list [1, 7]" in diag.message and "conv out" in diag.message


def test_a_pair_of_three_is_not_a_size(tmp_path: Path) -> None:
    text = "name: t\ninput: [1, 9, 9]\nparams: {k: [1, 2, 3]}\nlayers:\n  - conv: {out: 2, kernel: $k}\n"
    with pytest.raises(SpecError) as info:
        analysis.analyze(write(tmp_path, text))
    assert info.value.diagnostics[0].code == "E202"
    assert "got 3 values" in info.value.diagnostics[0].message


def test_set_takes_a_pair(tmp_path: Path) -> None:
    text = "name: t\ninput: [1, 9, 9]\nparams: {k: 3}\nlayers:\n  - conv: {out: 2, kernel: $k}\n"
    report = analysis.analyze(write(tmp_path, text), set={"k": [1, 3]})
    assert report.rows[0].output_shape == (2, 9, 7)
