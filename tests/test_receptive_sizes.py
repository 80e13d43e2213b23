"""The receptive-field walk without per-unit boxes (``analytic_fields``, behind ``field_sizes``
and a sweep's ``rf``) against the exact walk (``receptive_fields``).

On every row the two must give the same analytic field (size, jump, start, shared) and the same
number of units, and so the same last spatial layer: for every built-in spec and variant, odd
and non-square inputs of the branching networks (U-Net, FPN, SE, attention, uneven adaptive
pooling, misaligned merges, upsampling, several inputs, side outputs), and random chains and
branches.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from rf_helpers import chain, conv, plain
from test_receptive_props import branching, chains

from cnnstat import zoo
from cnnstat.analysis import analyze as analyze_spec
from cnnstat.analysis.sweep import last_field
from cnnstat.core.analyze import analyze
from cnnstat.core.ir import Seq
from cnnstat.core.receptive import (
    FieldReport,
    analytic_fields,
    field_sizes,
    last_spatial,
    receptive_fields,
    supported,
)
from cnnstat.core.report import Report
from tests.conftest import write

VERIFY_SPECS = Path(__file__).parent / "verify_specs"


def same_fields(report: Report) -> FieldReport:
    """Both walks of ``report`` agree row by row; the exact walk's report is returned."""
    exact = receptive_fields(report)
    sized = analytic_fields(report)
    assert len(sized) == len(exact.rows) == len(report.rows)
    for got, want in zip(sized, exact.rows):
        assert got.row is want.row
        assert (got.fields, got.units, got.main) == (want.fields, want.units, want.main), \
            got.row.name
        assert got.size == want.size
    assert field_sizes(report) == tuple(fr.size for fr in exact.rows)
    last, want_last = last_spatial(sized), exact.last_spatial
    assert (last is None) == (want_last is None)
    if last is not None and want_last is not None:
        assert last.row is want_last.row
        h, w = (int(f.size) for f in want_last.fields)
        assert last_field(report) == (h if h == w else [h, w])
    return exact


@pytest.mark.parametrize("name", zoo.names())
def test_every_zoo_spec_has_the_same_fields_in_both_walks(name: str) -> None:
    report = analyze_spec(name)
    if not supported(report):  # a flat input: no field in either walk
        assert field_sizes(report) == (None,) * len(report.rows)
        assert last_field(report) is None
        return
    same_fields(report)


@pytest.mark.parametrize(("spec", "shape", "shows"), [
    ("resnet50", (3, 97, 131), {"W503"}),  # non-square, odd: the floor drops rows
    ("se-resnet50", (3, 225, 199), set()),  # the gate broadcasts a shared unit over the map
    ("alexnet-torchvision", (3, 250, 300), {"W504"}),  # adaptive pooling 7x8 -> 6x6: uneven
    ("unet", (1, 188, 252), set()),  # crops and concatenations of the skips
    ("unet-padded", (1, 96, 80), set()),
    ("resnet50-fpn", (3, 200, 264), {"W502"}),  # upsampled top-down paths arrive misaligned
    ("googlenet", (3, 161, 193), set()),
    ("inception-v3", (3, 301, 299), {"W503"}),  # a training-only side output
    ("deeplabv3-resnet50", (3, 129, 161), {"W503"}),  # dilation, pooling broadcast back
    ("lraspp-mobilenet-v3-large", (3, 161, 127), set()),
    ("densenet121", (3, 97, 65), {"W503"}),
    ("convnext-tiny", (3, 97, 131), set()),  # permutes and channel-wise linears
    (str(VERIFY_SPECS / "hybrid.yaml"), (3, 30, 34), set()),  # self-attention: everywhere
    (str(VERIFY_SPECS / "resampling.yaml"), (1, 61, 47), {"W502"}),  # transposed, upsample
    (str(VERIFY_SPECS / "composites.yaml"), (3, 35, 29), {"W504"}),
])
def test_odd_inputs_have_the_same_fields_in_both_walks(spec: str, shape: tuple[int, int, int],
                                                       shows: set[str]) -> None:
    exact = same_fields(analyze_spec(spec, input=shape))
    # the case really is what it stands for: the exact walk's diagnostics say so
    assert {d.code for d in exact.diagnostics} == shows


def test_several_inputs_and_from_references(tmp_path: Path) -> None:
    spec = ("name: two\ninputs: {rgb: [3, 17, 23], depth: [1, 17, 23]}\nlayers:\n"
            "  - conv: {out: 8, kernel: 3, stride: 2, padding: 1, name: a}\n"
            "  - conv: {out: 8, kernel: 5, stride: 2, padding: 2, from: depth, name: b}\n"
            "  - concat: {from: [a, b], name: both}\n"
            "  - conv: {out: 2, kernel: 3}\n")
    exact = same_fields(analyze_spec(write(tmp_path, spec)))
    both = exact.find("both")
    assert both is not None and [f.size for f in both.fields] == [5, 5]  # b's 5x5 encloses a's


def test_shared_fields_after_a_global_reduction_agree() -> None:
    report = chain(conv(3), plain("global_avgpool"), size=(9, 12))
    exact = same_fields(report)
    pooled = exact.rows[-1]
    # the union of the 7 x 10 units' 3 x 3 fields: the whole 9 x 12 input, shared
    assert pooled.units == (1, 1) and [f.size for f in pooled.fields] == [7 + 2, 10 + 2]
    assert all(f.shared for f in pooled.fields)


@settings(max_examples=40)
@given(chains())
def test_random_chains_have_the_same_fields_in_both_walks(
        case: tuple[Seq, tuple[int, int]]) -> None:
    graph, size = case
    same_fields(analyze(graph, (2, *size)))


@settings(max_examples=40)
@given(branching())
def test_random_branches_have_the_same_fields_in_both_walks(
        case: tuple[Seq, tuple[int, int]]) -> None:
    graph, size = case
    same_fields(analyze(graph, (2, *size)))


def test_the_sizes_walk_counts_units_instead_of_keeping_boxes() -> None:
    """One unit count per axis, whatever the map: O(1) per layer, not O(units)."""
    report = chain(conv(3, p=1), conv(3, s=2), size=(4000, 3000))
    rows = analytic_fields(report)
    assert not hasattr(rows[0], "boxes")
    assert [ar.units for ar in rows] == [(4000, 3000), ((4000 - 3) // 2 + 1, (3000 - 3) // 2 + 1)]
    assert [ar.fields[0].size for ar in rows] == [3, 3 + 2 * 1]
