"""Every built-in spec against its published figures (shared/reference/published.md), and the
first principles behind a few of them."""

from __future__ import annotations

import pytest

from cnnstat import zoo
from cnnstat.analysis import analyze
from cnnstat.check.figures import check_figures
from cnnstat.spec.loader import load


@pytest.mark.parametrize("name", zoo.names())
def test_published_figures_agree_or_the_difference_is_explained(name: str) -> None:
    loaded = load(name)
    checks = check_figures(analyze(loaded), loaded.reference)
    bad = [(c.metric, c.computed, c.figure.value, c.figure.source, c.status) for c in checks
           if c.status not in ("agrees", "known")]
    assert bad == []


# Built-ins for which shared/reference/published.md has no parameter count; each is tested
# from first principles below instead.
NO_PUBLISHED_PARAMS = {"plain34", "resnet18-a", "resnet34-a", "inception-naive", "inception-bottleneck", "vgg13-bn", "vgg19-bn", "zfnet", "zfnet-wide", "googlenet-paper-aux",
                       "mobilenet-v1-0-75", "mobilenet-v1-0-5", "mobilenet-v1-0-25",
                       "shufflenet-v2-x1-5", "shufflenet-v2-x2-0",
                       # the lecture's comparisons give formulas, not figures (test_compare.py)
                       "stack-3x3", "conv-7x7", "conv3x3-standard", "conv3x3-separable",
                       "resnet-basic-block", "resnet-bottleneck-block",
                       # Ronneberger et al. 2015 state no count (test_zoo_unet.py: Figure 1)
                       "unet", "unet-padded"}


@pytest.mark.parametrize("name", zoo.names())
def test_every_spec_states_its_source_and_a_parameter_figure(name: str) -> None:
    loaded = load(name)
    assert loaded.model.source and loaded.title
    metrics = {metric for metric, _ in loaded.reference}
    assert ("params" in metrics) != (name in NO_PUBLISHED_PARAMS)


@pytest.mark.parametrize(("name", "published", "conv_channels"), [
    # torchvision vgg13 / vgg19 num_params (published.md) + BN's gamma and beta per conv channel
    ("vgg13-bn", 133047848, [64, 64, 128, 128, 256, 256, 512, 512, 512, 512]),
    ("vgg19-bn", 143667240, [64, 64, 128, 128] + [256] * 4 + [512] * 8),
])
def test_bn_variants_add_two_parameters_per_conv_channel(name: str, published: int,
                                                         conv_channels: list[int]) -> None:
    assert analyze(load(name)).totals.params == published + 2 * sum(conv_channels)


def test_zfnet_from_first_principles() -> None:
    """Zeiler & Fergus 2013 Fig. 3: 110 -> 55 -> 26 -> 13 -> 13 -> 13 -> 6, then 4096-4096-1000."""
    report = analyze(load("zfnet"))
    shapes = {r.name: r.output_shape for r in report.rows}
    assert shapes["conv1"] == (96, (224 - 7 + 2 * 1) // 2 + 1, 110)
    assert shapes["pool1"][1:] == (55, 55) and shapes["conv2"][1:] == (26, 26)
    assert shapes["pool2"][1:] == (13, 13) and shapes["pool3"] == (256, 6, 6)
    params = (7 * 7 * 3 * 96 + 96) + (5 * 5 * 96 * 256 + 256) + (3 * 3 * 256 * 384 + 384) + \
        (3 * 3 * 384 * 384 + 384) + (3 * 3 * 384 * 256 + 256) + (6 * 6 * 256 * 4096 + 4096) + \
        (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
    assert report.totals.params == params
    wide = analyze(load("zfnet-wide")).totals.params
    assert wide == params - (3 * 3 * 256 * 384 + 384) - (3 * 3 * 384 * 384 + 384) - \
        (3 * 3 * 384 * 256 + 256) - (6 * 6 * 256 * 4096) + (3 * 3 * 256 * 512 + 512) + \
        (3 * 3 * 512 * 1024 + 1024) + (3 * 3 * 1024 * 512 + 512) + (6 * 6 * 512 * 4096)


def test_vgg16_parameters_from_first_principles() -> None:
    convs = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
             (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
    conv_params = sum(3 * 3 * c_in * c_out + c_out for c_in, c_out in convs)
    fc_params = (7 * 7 * 512 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
    assert analyze(load("vgg16")).totals.params == conv_params + fc_params == 138357544


def test_vgg16_macs_from_first_principles() -> None:
    sizes = [224, 224, 112, 112, 56, 56, 56, 28, 28, 28, 14, 14, 14]
    convs = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
             (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
    conv_macs = sum(s * s * c_out * c_in * 3 * 3 for s, (c_in, c_out) in zip(sizes, convs))
    fc_macs = 7 * 7 * 512 * 4096 + 4096 * 4096 + 4096 * 1000
    assert analyze(load("vgg16")).totals.macs == conv_macs + fc_macs


def test_explained_differences_are_real_disagreements() -> None:
    """A known_difference must sit on a figure that really disagrees (else it is a stale note)."""
    loaded = load("alexnet")
    (check,) = check_figures(analyze(loaded), loaded.reference)
    assert check.status == "known"
    # one tower: conv1..5 + fc6..8, each (F*F*D)*K + K
    one_tower = ((11 * 11 * 3) * 96 + 96) + ((5 * 5 * 96) * 256 + 256) + \
        ((3 * 3 * 256) * 384 + 384) + ((3 * 3 * 384) * 384 + 384) + ((3 * 3 * 384) * 256 + 256) + \
        (6 * 6 * 256 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
    assert check.computed == one_tower
    # the paper's two towers: conv2, conv4, conv5 see half their input channels
    two_towers = one_tower - (5 * 5 * 48 * 256) - (3 * 3 * 192 * 384) - (3 * 3 * 192 * 256)
    assert abs(two_towers - 60_000_000) < abs(one_tower - 60_000_000)
