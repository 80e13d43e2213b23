"""Branching architectures in the zoo: Inception modules, GoogLeNet, DenseNet, SqueezeNet.

Expected figures are written as arithmetic from the architecture (the lecture's per-branch conv
products, channel sums), or taken from /work/shared/reference/published.md with the source named.
"""

from __future__ import annotations

import pytest

from cnnstat import analysis
from cnnstat.check.figures import check_figures
from cnnstat.errors import SpecError
from cnnstat.spec.loader import load


def analyze(name: str):
    return analysis.analyze(load(name))


def rows_by_name(report) -> dict:
    return {row.name: row for row in report.rows}


def statuses(name: str) -> dict[str, str]:
    loaded = load(name)
    return {f"{c.metric}:{c.figure.source}": c.status
            for c in check_figures(analysis.analyze(loaded), loaded.reference)}


# -- the lecture's Inception module on 28x28x256 ------------------------------------------------

# Lecture 6 (CNNs I), Inception slides: "Conv Ops" of the naive module.
NAIVE_PRODUCTS = {
    "inception.1x1.conv_128": 28 * 28 * 128 * 1 * 1 * 256,
    "inception.3x3.conv_192": 28 * 28 * 192 * 3 * 3 * 256,
    "inception.5x5.conv_96": 28 * 28 * 96 * 5 * 5 * 256,
}
# ... and of the module "with dimension reduction".
BOTTLENECK_PRODUCTS = {
    "inception.3x3.reduce_64": 28 * 28 * 64 * 1 * 1 * 256,
    "inception.5x5.reduce_64": 28 * 28 * 64 * 1 * 1 * 256,
    "inception.1x1.conv_128": 28 * 28 * 128 * 1 * 1 * 256,
    "inception.3x3.conv_192": 28 * 28 * 192 * 3 * 3 * 64,
    "inception.5x5.conv_96": 28 * 28 * 96 * 5 * 5 * 64,
    "inception.pool.proj_64": 28 * 28 * 64 * 1 * 1 * 256,
}


@pytest.mark.parametrize("name, products", [("inception-naive", NAIVE_PRODUCTS),
                                            ("inception-bottleneck", BOTTLENECK_PRODUCTS)])
def test_inception_conv_ops_are_the_lectures_products(name, products):
    report = analyze(name)
    rows = rows_by_name(report)
    for layer, macs in products.items():
        assert rows[layer].macs == macs, layer
    assert report.totals.macs == sum(products.values())


def test_naive_inception_shapes_and_depth():
    rows = rows_by_name(analyze("inception-naive"))
    assert rows["inception.1x1.conv_128"].output_shape == (128, 28, 28)
    assert rows["inception.3x3.conv_192"].output_shape == (192, 28, 28)
    assert rows["inception.5x5.conv_96"].output_shape == (96, 28, 28)
    assert rows["inception.pool.maxpool_3x3"].output_shape == (256, 28, 28)
    # the pooling branch keeps all 256 input channels, so the depth can only grow
    assert rows["inception.concat"].output_shape == (128 + 192 + 96 + 256, 28, 28)


def test_bottleneck_inception_shapes_and_depth():
    rows = rows_by_name(analyze("inception-bottleneck"))
    assert rows["inception.3x3.reduce_64"].output_shape == (64, 28, 28)
    assert rows["inception.5x5.reduce_64"].output_shape == (64, 28, 28)
    assert rows["inception.pool.proj_64"].output_shape == (64, 28, 28)
    assert rows["inception.concat"].output_shape == (128 + 192 + 96 + 64, 28, 28)


def test_naive_total_is_the_lectures_854m():
    # Lecture 6 (CNNs I), Inception slides: "Total: 854M ops"
    assert round(analyze("inception-naive").totals.macs / 1e6) == 854
    assert set(statuses("inception-naive").values()) == {"agrees"}


def test_bottleneck_total_358m_double_counts_the_3x3_product():
    listed = analyze("inception-bottleneck").totals.macs   # = the sum of the listed products
    assert listed == 271_351_808
    # Lecture 6 (CNNs I), Inception slides: "Total: 358M ops" -- not the sum of its products...
    assert round(listed / 1e6) != 358
    # ... but the sum with the [3x3 conv, 192] product counted twice
    assert round((listed + 28 * 28 * 192 * 3 * 3 * 64) / 1e6) == 358
    assert set(statuses("inception-bottleneck").values()) == {"known"}


def test_bottleneck_saves_compute_over_naive():
    naive = analyze("inception-naive").totals
    reduced = analyze("inception-bottleneck").totals
    assert reduced.macs * 3 < naive.macs        # 271M vs 854M
    assert reduced.params * 3 < naive.params


# -- published totals ---------------------------------------------------------------------------

# torchvision model metadata (published.md): num_params exact, _ops GMACs to 3 decimals.
TORCHVISION = {
    "googlenet": (6_624_904, 1.498),
    "densenet121": (7_978_856, 2.834),
    "densenet169": (14_149_480, 3.36),
    "densenet201": (20_013_928, 4.291),
    "squeezenet1-0": (1_248_424, 0.819),
    "squeezenet1-1": (1_235_496, 0.349),
}


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_params_exact_and_macs_within_rounding(name):
    params, gmacs = TORCHVISION[name]
    totals = analyze(name).totals
    assert totals.params == params
    assert abs(totals.macs - gmacs * 1e9) <= 500_000
    assert set(statuses(name).values()) == {"agrees"}


def test_googlenet_paper_differences_are_explained():
    # Szegedy et al. 2015 (published.md): "≈ 6.8M (Table 1 column sum)", "1.5 billion
    # multiply-adds budget"; both differ from the exact count of Table 1's layers
    assert set(statuses("googlenet-paper").values()) == {"known"}


def test_googlenet_paper_minus_torchvision_macs_is_the_5x5_branches():
    # the only MAC-relevant change: k x k conv in the "5x5" branch, r5 -> c5 channels, per module
    modules = [  # (map size, r5, c5) from Table 1
        (28, 16, 32), (28, 32, 96),
        (14, 16, 48), (14, 24, 64), (14, 24, 64), (14, 32, 64), (14, 32, 128),
        (7, 32, 128), (7, 48, 128),
    ]
    extra = sum(hw * hw * c5 * r5 * (5 * 5 - 3 * 3) for hw, r5, c5 in modules)
    assert analyze("googlenet-paper").totals.macs - analyze("googlenet").totals.macs == extra


def test_googlenet_paper_aux_heads_are_side_outputs():
    plain, aux = analyze("googlenet-paper"), analyze("googlenet-paper-aux")
    head = lambda c_in: (c_in * 128 + 128) + (128 * 4 * 4 * 1024 + 1024) + (1024 * 1000 + 1000)
    # on (4a): 192 + 208 + 48 + 64 channels; on (4d): 112 + 288 + 64 + 64
    assert aux.totals.params - plain.totals.params == head(192 + 208 + 48 + 64) + \
        head(112 + 288 + 64 + 64)
    rows = rows_by_name(aux)
    assert rows["aux1.avgpool"].output_shape == (512, 4, 4)   # (14 - 5) / 3 + 1 = 4
    assert rows["aux2.avgpool"].output_shape == (528, 4, 4)
    assert aux.output_shape == plain.output_shape == (1000,)   # the trunk's output


# -- DenseNet channel arithmetic ----------------------------------------------------------------

def test_densenet121_first_block_and_transition_channels():
    rows = rows_by_name(analyze("densenet121"))
    block1 = 64 + 6 * 32                                   # stem + 6 layers of growth 32
    assert rows["denseblock1.layer1.conv1"].output_shape == (4 * 32, 56, 56)  # bn_size * k
    assert rows["denseblock1.layer1.concat"].output_shape == (64 + 32, 56, 56)
    assert rows["denseblock1.layer6.concat"].output_shape == (block1, 56, 56)
    conv = rows["transition1.conv"]
    assert conv.input_shape == (block1, 56, 56)
    assert conv.output_shape == (block1 // 2, 56, 56)      # compression 0.5
    assert conv.params == block1 * (block1 // 2)           # 1x1, no bias
    assert rows["transition1.pool"].output_shape == (block1 // 2, 28, 28)


@pytest.mark.parametrize("name, blocks", [("densenet121", (6, 12, 24, 16)),
                                          ("densenet169", (6, 12, 32, 32)),
                                          ("densenet201", (6, 12, 48, 32))])
def test_densenet_final_width(name, blocks):
    c = 64
    for i, n in enumerate(blocks):
        c += n * 32
        if i < 3:
            c //= 2
    rows = rows_by_name(analyze(name))
    assert rows["norm5"].output_shape == (c, 7, 7)
    assert rows["classifier"].params == c * 1000 + 1000


# -- SqueezeNet fire module ---------------------------------------------------------------------

def test_squeezenet_fire_concat_depth():
    rows = rows_by_name(analyze("squeezenet1-0"))
    assert rows["fire2.squeeze"].output_shape == (16, 54, 54)
    assert rows["fire2.expand.concat"].output_shape == (64 + 64, 54, 54)
    assert rows["fire9.expand.concat"].output_shape == (256 + 256, 13, 13)
    assert rows["fire2.expand.3x3.conv"].params == 64 * 16 * 3 * 3 + 64


# -- errors -------------------------------------------------------------------------------------

def test_concat_of_different_spatial_sizes_is_rejected(tmp_path):
    path = tmp_path / "bad-concat.yaml"
    path.write_text(
        "name: bad-concat\n"
        "input: [16, 28, 28]\n"
        "layers:\n"
        "  - concat:\n"
        "      branches:\n"
        "        same: [{conv: {out: 8, kernel: 3, padding: 1}}]\n"
        "        halved: [{conv: {out: 8, kernel: 3, stride: 2, padding: 1}}]\n",
        encoding="utf-8")
    with pytest.raises(SpecError) as info:
        analysis.analyze(load(str(path)))
    assert info.value.diagnostics[0].code == "E405"
