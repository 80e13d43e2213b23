"""Receptive fields: the recurrences as arithmetic, the lecture's examples, merges, diagnostics."""

from __future__ import annotations

from fractions import Fraction

import pytest
from rf_helpers import branch, chain, conv, maxpool, parallel, plain

from cnnstat import zoo
from cnnstat.analysis import analyze as analyze_spec
from cnnstat.core.analyze import analyze
from cnnstat.core.ir import Seq
from cnnstat.core.receptive import (
    AxisField,
    FieldReport,
    FieldRow,
    fmt_start,
    receptive_fields,
)
from tests.conftest import fresh_imports

HALF = Fraction(1, 2)


def fields_of(report: object) -> FieldReport:
    return receptive_fields(report)  # type: ignore[arg-type]


def last(report: object) -> FieldRow:
    return fields_of(report).rows[-1]


def codes(fields: FieldReport) -> list[str]:
    return [d.code for d in fields.diagnostics]


def field_at(name: str, spec: str) -> FieldRow:
    fields = receptive_fields(analyze_spec(spec))
    found = fields.find(name)
    assert found is not None
    return found


# -- the recurrences -----------------------------------------------------------------------------

def test_one_conv_follows_the_recurrences() -> None:
    h, w = last(chain(conv(5, s=2, p=1))).fields
    # r = 1 + (5 - 1)*1; j = 1*2; start = 0 + ((5 - 1)/2 - 1)*1
    assert (h.size, h.jump, h.start) == (1 + (5 - 1) * 1, 1 * 2, 0 + (Fraction(5 - 1, 2) - 1) * 1)
    assert h == w


def test_dilation_enters_through_the_effective_extent() -> None:
    h, _ = last(chain(conv(3, s=2, p=1), conv(3, p=2, d=2))).fields
    k_eff = 2 * (3 - 1) + 1
    assert h.size == 3 + (k_eff - 1) * 2
    assert h.jump == 2 * 1
    assert h.start == 0 + (Fraction(k_eff - 1, 2) - 2) * 2


def test_three_3x3_convs_see_what_one_7x7_sees() -> None:
    """The lecture: three stacked 3x3 convs (stride 1) have the field of one 7x7 conv."""
    stacked = last(chain(conv(3), conv(3), conv(3), size=(32, 32))).fields
    single = last(chain(conv(7), size=(32, 32))).fields
    assert stacked == single
    assert stacked[0].size == 1 + 3 * (3 - 1) == 7
    padded = last(chain(conv(3, p=1), conv(3, p=1), conv(3, p=1), size=(32, 32))).fields
    assert padded == last(chain(conv(7, p=3), size=(32, 32))).fields


def test_asymmetric_padding_moves_the_start_by_half_a_step() -> None:
    """padding='same' with an even kernel pads 0 left, 1 right (PyTorch): the centre moves."""
    h, w = last(chain(conv((2, 3), p="same"))).fields
    assert h.start == 0 + (Fraction(2 - 1, 2) - 0) * 1 == HALF
    assert w.start == 0 + (Fraction(3 - 1, 2) - 1) * 1 == 0
    assert (h.lo, h.hi) == (0, 1)


def test_ceil_mode_adds_a_unit_not_a_different_field() -> None:
    floor = chain(maxpool(3, s=2), size=(8, 8))
    ceil = chain(maxpool(3, s=2, ceil=True), size=(8, 8))
    assert ceil.rows[-1].output_shape[1] == floor.rows[-1].output_shape[1] + 1
    f_ceil = last(ceil)
    assert f_ceil.fields == last(floor).fields
    unit = f_ceil.units[0] - 1
    # the extra window covers rows 6..8 of which row 8 lies beyond the input
    assert f_ceil.fields[0].span(unit) == (unit * 2, unit * 2 + 2) == (6, 8)
    assert f_ceil.boxes[0][unit] == (6, 7)


def test_global_pooling_and_flatten_see_the_whole_input() -> None:
    report = chain(conv(3), plain("global_avgpool"), plain("flatten"),
                   plain("linear", out=3, bias=True), size=(5, 5))
    fields = fields_of(report)
    pooled = fields.rows[1].fields[0]
    # three units of a 3-wide field at jump 1: 3 + (3 - 1)*1 rows
    assert pooled.size == 3 + (3 - 1) * 1 and pooled.shared
    assert all(fr.covers((5, 5)) == (True, True) for fr in fields.rows[1:])
    assert fields.rows[-1].fields == fields.rows[1].fields
    assert fields.last_spatial is fields.rows[0]


def test_effective_padding_sums_padding_times_jump() -> None:
    """pad_eff = max(0, (r - 1)/2 - start) = sum of p_l * j_(l-1) along a chain."""
    h, _ = last(chain(conv(7, s=2, p=3), maxpool(3, s=2, p=1), conv(3, p=1),
                      size=(64, 64))).fields
    assert h.padding == 3 * 1 + 1 * 2 + 1 * 4
    assert h.padding == Fraction(h.size - 1, 2) - h.start


def test_no_padding_no_effective_padding() -> None:
    assert last(chain(conv(5, s=2), maxpool(2))).fields[0].padding == 0


def test_dilated_boxes_skip_the_holes() -> None:
    """Unit 0 of a dilated 3-tap window at pad 1 reads rows -1, 1, 3: it depends on 1..3."""
    fr = last(chain(conv(3, p=1, d=2), size=(6, 6)))
    assert fr.fields[0].span(0) == (-1, 3)
    assert fr.boxes[0][0] == (1, 3)


# -- the lecture's networks ------------------------------------------------------------------

def test_alexnet_field_at_pool3() -> None:
    fr = field_at("pool3", "alexnet")
    j1, j2, j3 = 4, 4 * 2, 4 * 2 * 2  # jumps after conv1, pool1, pool2
    r = (11 + (3 - 1) * j1          # conv1, pool1
         + (5 - 1) * j2 + (3 - 1) * j2  # conv2, pool2
         + 3 * (3 - 1) * j3 + (3 - 1) * j3)  # conv3-5, pool3
    assert r == 195
    h, w = fr.fields
    assert (h.size, h.jump) == (r, j3 * 2)
    assert h.padding == 2 * j2 + 1 * j3 + 1 * j3 + 1 * j3
    assert h == w
    assert field_at("conv5", "alexnet").fields[0].size == 163


def test_vgg16_field_at_its_last_pool() -> None:
    fr = field_at("stage5.maxpool1", "vgg16")
    convs_by_jump = {1: 2, 2: 2, 4: 3, 8: 3, 16: 3}  # 3x3 convs at each jump
    r = 1 + sum(n * (3 - 1) * j for j, n in convs_by_jump.items()) + sum((2 - 1) * j for j in
                                                                          convs_by_jump)
    h, _ = fr.fields
    assert (h.size, h.jump) == (r, 32) == (212, 32)
    assert h.start == sum(Fraction(2 - 1, 2) * j for j in convs_by_jump) == Fraction(31, 2)
    assert h.padding == sum(n * 1 * j for j, n in convs_by_jump.items())


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_fields_are_exact_and_consistent(name: str) -> None:
    report = analyze_spec(name)
    fields = receptive_fields(report)
    assert [fr.row for fr in fields.rows] == list(report.rows)
    for fr in fields.rows:
        for f, boxes in zip(fr.fields, fr.boxes):
            assert type(f.start) is Fraction and f.start.denominator in (1, 2)
            for unit, box in enumerate(boxes):
                lo, hi = f.span(unit)
                assert box is None or lo <= box[0] <= box[1] <= hi


# -- merges ------------------------------------------------------------------------------------

def test_aligned_residual_takes_the_largest_field() -> None:
    res = parallel("res", "add", branch("body", conv(3, p=1), conv(3, p=1)), branch("shortcut"))
    fields = fields_of(analyze(Seq((conv(3, p=1, name="stem"), res)), (2, 12, 12)))
    merged = fields.find("res.add")
    assert merged is not None
    assert merged.fields[0] == AxisField(3 + 2 + 2, 1, Fraction(0))
    assert codes(fields) == []


def test_misaligned_concat_warns_and_takes_the_union() -> None:
    mix = parallel("mix", "concat", branch("a", conv(3, p=1)), branch("b", conv(2, p="same")))
    fields = fields_of(analyze(Seq((mix,)), (2, 8, 8)))
    merged = fields.find("mix.concat")
    assert merged is not None
    # a: rows [-1, 1]; b: rows [0, 1] -> the union [-1, 1]
    assert (merged.fields[0].lo, merged.fields[0].hi) == (-1, 1)
    (diag,) = fields.diagnostics
    assert diag.code == "W502" and diag.layer == "mix.concat"
    assert "H and W: 'a' (via 'a.l0') (j 1, start 0, r 3) vs 'b' (via 'b.l0') (j 1, start 0.5, " \
        "r 2)" in diag.message


def test_different_jumps_are_enclosed() -> None:
    """Paths of jump 1 and 2 that reach the same size: the field encloses both for every unit."""
    mix = parallel("mix", "concat", branch("a", conv(5)), branch("b", conv(1, s=2)))
    fields = fields_of(analyze(Seq((mix,)), (2, 8, 8)))
    merged = fields.find("mix.concat")
    assert merged is not None
    assert "W502" in codes(fields)
    for unit in range(4):
        lo, hi = merged.fields[0].span(unit)
        assert lo <= min(unit, 2 * unit) and hi >= max(unit + 4, 2 * unit)


def test_split_branches_see_the_same_field() -> None:
    par = parallel("sp", "concat", branch("a", conv(3, p=1)), branch("b", conv(3, p=1)),
                   split=True)
    fields = fields_of(analyze(Seq((conv(3, p=1, name="stem", out=4), par)), (4, 8, 8)))
    a, b = fields.find("a.l0"), fields.find("b.l0")
    assert a is not None and b is not None and a.fields == b.fields
    assert codes(fields) == []


def test_squeeze_excitation_makes_the_field_shared_without_warning() -> None:
    gate = parallel("se", "mul", branch("input"),
                    branch("gate", plain("global_avgpool"), conv(1), plain("sigmoid")))
    fields = fields_of(analyze(Seq((conv(3, p=1, name="stem"), gate, conv(3, p=1, name="after"))),
                               (2, 6, 6)))
    merged, after = fields.find("se.mul"), fields.find("after")
    assert merged is not None and after is not None
    assert merged.fields[0].shared and merged.covers((6, 6)) == (True, True)
    assert after.fields == merged.fields
    assert codes(fields) == []


def test_a_gated_map_keeps_its_spatial_jump() -> None:
    """After squeeze-and-excitation the jump is the map's stride, not stride x global window."""
    gate = parallel("se", "mul", branch("input"),
                    branch("gate", plain("global_avgpool"), conv(1), plain("sigmoid")))
    fields = fields_of(analyze(Seq((conv(3, s=2, p=1, name="stem"), gate,
                                    conv(3, s=2, p=1, name="after"))), (2, 16, 16)))
    merged, after = fields.find("se.mul"), fields.find("after")
    assert merged is not None and after is not None
    # stem: stride 2 on 16 rows -> 8 units; the gate's one unit spans them all (8 x 2), yet the
    # gated map keeps the stem's jump, and the next stride-2 conv doubles it
    assert merged.fields[0].shared and merged.fields[0].jump == 1 * 2
    assert after.fields[0].jump == 1 * 2 * 2
    assert all(after.covers((16, 16)))


def test_se_resnet50_ends_at_stride_32_like_resnet50() -> None:
    se, plain_ = (receptive_fields(analyze_spec(n)).last_spatial for n in ("se-resnet50",
                                                                            "resnet50"))
    assert se is not None and plain_ is not None
    assert se.fields[0].shared and se.fields[0].jump == plain_.fields[0].jump == 2 ** 5


def test_last_spatial_is_the_last_map_larger_than_one_unit() -> None:
    """A 1x1 output (here a 3x3 conv on a 3x3 map) reads its whole map: the last spatial layer
    is the one before it, as it is before a global pool."""
    fields = fields_of(chain(conv(3), conv(3), size=(5, 5)))
    assert fields.rows[-1].units == (5 - 2 - 2, 5 - 2 - 2) == (1, 1)
    assert fields.last_spatial is fields.rows[0]
    paper, torchvision = (receptive_fields(analyze_spec(n)).last_spatial
                          for n in ("googlenet-paper", "googlenet"))
    assert paper is not None and torchvision is not None
    assert paper.row.name == torchvision.row.name == "inception5b.concat"


def test_side_outputs_are_off_the_main_line() -> None:
    head = branch("head", conv(3), plain("global_avgpool"))
    side = parallel("aux", "side", branch("input"), head)
    fields = fields_of(analyze(Seq((conv(3, name="stem"), side, conv(3, name="tail"))), (2, 9, 9)))
    head = fields.find("head.l0")
    assert head is not None and not head.main
    tail = fields.last_spatial
    assert tail is not None and tail.row.name == "tail" and tail.fields[0].size == 3 + 2


def test_option_a_shortcut_is_a_strided_sample() -> None:
    res = parallel("res", "add", branch("body", conv(3, s=2, p=1, out=4)),
                   branch("shortcut", plain("pad_channels", out=4, stride=2)))
    fields = fields_of(analyze(Seq((res,)), (2, 8, 8)))
    short = fields.find("shortcut.l0")
    assert short is not None and short.fields[0] == AxisField(1, 2, Fraction(0))
    assert codes(fields) == []


# -- notes and warnings ----------------------------------------------------------------------

def test_field_that_only_grows_into_padding_gets_a_note() -> None:
    report = chain(conv(3, p=1), conv(3, p=1), conv(3, p=1), conv(3, p=1), size=(4, 4))
    fields = fields_of(report)
    # unit 0 of the third conv: rows -3..3 of a 4-row input; the last unit 0..6: both all of it
    assert [fr.covers((4, 4)) for fr in fields.rows] == [(False, False)] * 2 + [(True, True)] * 2
    (note,) = fields.diagnostics
    assert note.code == "W503" and note.severity.value == "note" and note.layer == "l2"
    assert "7 -> 9" in note.message


@pytest.mark.parametrize("kind", ["adaptive_avgpool", "adaptive_maxpool"])
def test_uneven_adaptive_pooling_is_enclosed_and_flagged(kind: str) -> None:
    fields = fields_of(chain(plain(kind, size=(3, 3)), size=(5, 5)))
    fr = fields.rows[0]
    # PyTorch's windows: [floor(i*5/3), ceil((i+1)*5/3)) = [0, 2), [1, 4), [3, 5)
    assert fr.boxes[0] == ((0, 1), (1, 3), (3, 4))
    for unit, box in enumerate(fr.boxes[0]):
        lo, hi = fr.fields[0].span(unit)
        assert box is not None and lo <= box[0] and box[1] <= hi
    assert codes(fields) == ["W504", "W504"]


@pytest.mark.parametrize("kind", ["adaptive_avgpool", "adaptive_maxpool"])
def test_even_adaptive_pooling_is_a_plain_window(kind: str) -> None:
    fields = fields_of(chain(plain(kind, size=(3, 3)), size=(6, 6)))
    assert fields.rows[0].fields[0] == AxisField(2, 2, HALF)
    assert codes(fields) == []


# -- units, formatting, layering -------------------------------------------------------------

def test_unit_region_of_alexnet_pool3() -> None:
    fields = receptive_fields(analyze_spec("alexnet"))
    fr = fields.find("pool3")
    assert fr is not None
    region = fr.region((0, 5), fields.input_size)
    start, half = 33, (195 - 1) // 2
    assert region.field == ((start - half, start + half), (start + 5 * 32 - half,
                                                           start + 5 * 32 + half))
    assert region.seen == ((0, start + half), (start + 5 * 32 - half, 227 - 1))
    assert region.padding(0) == (half - start, 0)
    assert region.padding(1) == (0, start + 5 * 32 + half - (227 - 1))
    with pytest.raises(IndexError):
        fr.region((6, 0), fields.input_size)


def test_start_renders_exactly() -> None:
    assert fmt_start(Fraction(15, 2)) == "7.5"
    assert fmt_start(Fraction(-1, 2)) == "-0.5"
    assert fmt_start(Fraction(7)) == "7"


def test_flat_inputs_have_no_receptive_field() -> None:
    report = analyze(Seq((plain("linear", name="fc", out=3, bias=True),)), (10,))
    with pytest.raises(ValueError, match="C x H x W"):
        receptive_fields(report)


def test_core_and_summary_do_not_import_heavy_packages() -> None:
    _, loaded = fresh_imports(("cnnstat.core.receptive",))
    assert loaded & {"torch", "rich", "click"} == set()
    proc, loaded = fresh_imports(argv=["summary", "vgg16", "--format", "json"])
    assert proc.returncode == 0, proc.stderr
    assert "torch" not in loaded
    assert '"rf": [' in proc.stdout