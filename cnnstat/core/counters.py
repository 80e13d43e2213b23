"""``--count`` presets of other counters, reproduced exactly: torchinfo, thop, ptflops (both
backends), torchscan, calflops and DeepSpeed's flops profiler.

Each rule was read from the tool's own source at the pinned version (named per preset) and is
proven against the live tool by ``tests/test_counters_live.py``.  A rule gives a row's count as
differences from our MACs by cause (:data:`cnnstat.core.presets.Parts`), per image.  Every layer
kind has an explicit rule in every table (``tests/test_counters.py`` asserts it): a kind added
to the spec language without a decision here is refused by these presets, never counted as 0.
"""

from __future__ import annotations

import math

from cnnstat.core.functional import FUNCTIONALS
from cnnstat.core.presets import PRESETS, Parts, Preset, Rule
from cnnstat.core.report import Row
from cnnstat.errors import UsageError


def _outputs(row: Row) -> int:
    return math.prod(row.output_shape)


def _inputs(row: Row) -> int:
    return math.prod(row.input_shape)


def _spatial(row: Row) -> int:
    """Output positions per channel (1 for a flat output)."""
    return math.prod(row.output_shape[1:])


def nothing(row: Row) -> Parts:
    """Counted as our MACs (0 for a kind without MACs)."""
    return {}


def _bias(row: Row) -> Parts:
    """The bias add, one per output element (the bias of each channel at every position; a
    linear's over every leading position, one vector for a flat input)."""
    if row.kind == "linear":
        return {"bias": row.bias * math.prod(row.output_shape[:-1])}
    return {"bias": row.bias * _spatial(row)}


def _tokens(row: Row) -> int:
    """N = H x W, the positions an ``attention`` layer reads as tokens."""
    return math.prod(row.input_shape[1:])


def _attention_biases(row: Row) -> tuple[int, int]:
    """(qkv bias, output bias) of an ``attention`` row: 3C and C, each 0 when absent."""
    c = row.input_shape[0]
    return (3 * c if row.bias >= 3 * c else 0), (c if row.bias in (c, 4 * c) else 0)


def _over_channels(row: Row) -> bool:
    """A layer norm over the channels of a C x H x W map (torchvision's LayerNorm2d, a subclass
    of nn.LayerNorm that tools looking modules up by exact type miss), not over the last axis."""
    return "(channels)" in row.description


def _norm_features(row: Row) -> int:
    """D, the features a layer norm normalises over: the channels (LayerNorm2d) or the last axis."""
    return row.input_shape[0] if _over_channels(row) else row.input_shape[-1]


#: torchinfo, thop and torchscan hook modules: a layer written as a functional call (``F.relu(x)``,
#: ``F.adaptive_avg_pool2d``) is no module they see, so it counts 0, whatever its kind.
UNSEEN: dict[str, Rule] = dict.fromkeys(FUNCTIONALS, nothing)


def refused(preset: str, why: str) -> Rule:
    """A kind the preset cannot reproduce from a row: refused with the reason, never 0."""
    def rule(row: Row) -> Parts:
        raise UsageError(f"the '{preset}' preset cannot count {row.kind} '{row.name}': {why}",
                         "use --count macs, torch or fvcore")
    return rule


# ---- torchinfo 1.8.0: torchinfo/layer_info.py LayerInfo.calculate_macs, summed over leaf
# modules by model_statistics.py ModelStatistics.__init__ ("Total mult-adds").


def _torchinfo_transposed(row: Row) -> Parts:
    """``"Conv" in class_name``: prod(weight + bias) x N x prod(output spatial): a transposed
    conv's weights are multiplied by its *output* positions, where its MACs run over its input."""
    over_output = row.macs * _spatial(row) // math.prod(row.input_shape[1:])
    return {"other": over_output - row.macs, **_bias(row)}


def _torchinfo_params(cause: str) -> Rule:
    """Any other leaf module with ``weight``/``bias`` parameters: N x their count (batch norm's
    gamma and beta, PReLU's slopes, LeNet's trainable subsampling), whatever the input size."""
    def rule(row: Row) -> Parts:
        return {cause: row.params}
    return rule


def _torchinfo_linear(row: Row) -> Parts:
    """``output_size[0] * cur_params`` for a non-Conv leaf: N x (weight + bias), *not* x the
    positions, so a linear over the last axis of an H x W x C map (ConvNeXt's pointwise
    layers) counts its weights once per image: its MACs beyond one position are skipped."""
    return {"skipped": row.weights - row.macs, "bias": row.bias}


def _torchinfo_bn(row: Row) -> Parts:
    """A frozen batch norm holds buffers, not parameters: 0."""
    return {} if "frozen_bn" in row.ops else {"normalisation": row.params}


TORCHINFO_RULES: dict[str, Rule] = {
    "conv": _bias, "linear": _torchinfo_linear, "maxout": _bias,
    # the leaves of SelfAttention2d are its nn.Linear qkv and proj: N x (weight + bias) each;
    # its matmuls, softmax and scaling are no modules
    "attention": _torchinfo_linear,
    "conv_transpose": _torchinfo_transposed,
    "bn": _torchinfo_bn, "prelu": _torchinfo_params("activations"),
    # nn.LayerNorm (and LayerNorm2d), nn.GroupNorm, nn.InstanceNorm2d: N x (weight + bias) when
    # affine; LayerScale's parameter is named ``gamma``, neither weight nor bias: 0; L2Norm's
    # scale is its ``weight``: N x C
    **dict.fromkeys(("layernorm", "groupnorm", "instancenorm", "l2norm"),
                    _torchinfo_params("normalisation")),
    "subsample": _torchinfo_params("pooling"),
    **dict.fromkeys((
        "relu", "relu6", "leaky_relu", "elu", "sigmoid", "tanh", "silu", "swish", "mish", "gelu",
        "hardswish", "hardsigmoid", "softmax", "maxpool", "avgpool", "adaptive_avgpool",
        "adaptive_maxpool", "global_avgpool", "lrn", "dropout", "flatten", "identity", "channel_shuffle",
        "pad_channels", "rbf", "upsample", "crop", "pad", "pixel_shuffle", "pixel_unshuffle",
        "layer_scale", "drop_path", "permute", "mean", "add", "mul", "concat"), nothing),
}

TORCHINFO = Preset(
    "torchinfo", "mult-adds (torchinfo)",
    "torchinfo: 'Total mult-adds' of torchinfo.summary: conv and linear MACs plus their bias "
    "(one per output element), batch norm, layer/group/instance norm, the L2 norm and PReLU at "
    "N x their parameter count; a linear over the last axis once per image (weights + bias), not per "
    "position; transposed conv over its output positions; activations, pooling and merges 0",
    TORCHINFO_RULES, tool="torchinfo 1.8.0", functional=UNSEEN)


# ---- thop (ultralytics-thop 2.2.3): thop/profile.py register_hooks, thop/vision/basic_hooks.py
# and calc_func.py; a module without a rule (our merges, frozen BN, interpolation) counts 0.


def _thop_bn(row: Row) -> Parts:
    """count_normalization: calculate_norm(numel(input)) = 2 x numel, x 2 again when affine;
    frozen batch norm is not a _NormBase: 0."""
    if "frozen_bn" in row.ops:
        return {}
    return {"normalisation": _inputs(row) * (4 if row.weights else 2)}


def _thop_avgpool(row: Row) -> Parts:
    """count_avgpool: N x C x prod over axes of the summed window lengths, each window clipped
    to [-p, W + p) (count_include_pad) or to the input [0, W), plus one divide per output."""
    assert row.windows is not None  # an avgpool row always has its windows
    sums = 1
    for size, out, win in zip(row.input_shape[1:], row.output_shape[1:], row.windows):
        p = win.pad_left
        lower, upper = (-p, size + p) if win.counts_pad else (0, size)
        sums *= sum(max(min(i * win.stride - p + win.extent, upper) - max(i * win.stride - p, lower), 0)
                    for i in range(out))
    return {"pooling": row.input_shape[0] * sums + _outputs(row)}


def _thop_norm(row: Row) -> Parts:
    """count_normalization, registered for nn.LayerNorm (LayerNorm2d through its MRO),
    nn.GroupNorm and _NormBase (nn.InstanceNorm2d): 2 x numel(input), x 2 when ``affine`` or
    ``elementwise_affine`` (a layer norm without beta still has gamma: x 2); fixed statistics
    (an instance norm's running ones) change nothing."""
    return {"normalisation": _inputs(row) * (4 if row.weights else 2)}


def _thop_attention(row: Row) -> Parts:
    """count_linear on the qkv and proj nn.Linear (MACs, no bias); SelfAttention2d has no rule,
    so its two ``Tensor.matmul`` run at depth 0 and _FunctionCounter counts them with
    _count_matmul (numel(output) x the contracted axis): the activation products; the softmax
    (a tensor method) and the query scaling (``q * scale``) are not counted."""
    return {"products": row.product_macs}


def _thop_adaptive(row: Row) -> Parts:
    """count_adap_avgpool: the summed window areas (our ``avgpool`` ops) + one divide per output."""
    return {"pooling": row.ops["avgpool"] + _outputs(row)}


def _thop_softmax(row: Row) -> Parts:
    """count_softmax over dim 1: (numel / C) x (C exp + (C - 1) add + C div)."""
    c = row.input_shape[0]
    return {"activations": _inputs(row) // c * (3 * c - 1)}


def _thop_prelu(row: Row) -> Parts:
    """count_prelu: numel(input) in eval mode."""
    return {"activations": _inputs(row)}


THOP_RULES: dict[str, Rule] = {
    "conv": nothing, "conv_transpose": nothing, "linear": nothing, "maxout": nothing,
    "bn": _thop_bn, "prelu": _thop_prelu, "softmax": _thop_softmax,
    "avgpool": _thop_avgpool, "adaptive_avgpool": _thop_adaptive,
    "global_avgpool": _thop_adaptive,
    "layernorm": _thop_norm, "groupnorm": _thop_norm, "instancenorm": _thop_norm,
    "attention": _thop_attention,
    **dict.fromkeys((
        "relu", "relu6", "leaky_relu", "elu", "sigmoid", "tanh", "silu", "swish", "mish", "gelu",
        # nn.MaxPool2d and nn.AdaptiveMaxPool2d: zero_ops (a max selects, it adds nothing)
        "hardswish", "hardsigmoid", "maxpool", "adaptive_maxpool", "subsample", "lrn", "dropout",
        "flatten",
        "identity", "channel_shuffle", "pad_channels", "rbf", "upsample", "crop", "pad",
        "pixel_shuffle", "pixel_unshuffle", "add", "mul", "concat",
        # no rule: LayerScale (``gamma * x``), StochasticDepth, Permute, Mean (``x.mean``),
        # L2Norm (_FunctionCounter counts only products: not F.normalize, Tensor.__mul__): 0
        "layer_scale", "drop_path", "permute", "mean", "l2norm"), nothing),
}

THOP = Preset(
    "thop", "ops (thop)",
    "thop: ultralytics-thop profile() total: conv and linear MACs without bias, batch norm 4 per "
    "input element (2 without affine), layer/group/instance norm the same, attention's "
    "matmuls, avg pooling its window sums + 1 per output, softmax "
    "3C - 1 per position, PReLU 1 per element; ReLU, max pooling, merges and modules without a "
    "rule 0", THOP_RULES, tool="ultralytics-thop 2.2.3", functional=UNSEEN)



# ---- classic thop (PyPI ``thop`` 0.1.1.post2209072238, Lyken17/pytorch-OpCounter): thop/profile.py
# register_hooks, looked up by *exact* type (no MRO walk, so LayerNorm2d has no rule), no
# functional counting; thop/vision/basic_hooks.py and calc_func.py.  Where it differs from
# ultralytics-thop (tools/thop_classic.md); every other kind as THOP_RULES.


def _classic_transposed(row: Row) -> Parts:
    """count_convNd, registered for nn.ConvTranspose2d too: calculate_conv2d_flops is
    numel(output) x (C_in / g) x prod(kernel), i.e. over the transposed conv's *output*
    positions, where its MACs run over its input."""
    over_output = row.macs * _spatial(row) // math.prod(row.input_shape[1:])
    return {"other": over_output - row.macs}


def _classic_avgpool(row: Row) -> Parts:
    """count_avgpool: calculate_avgpool(numel(output)): 1 per output element, whatever the
    window."""
    return {"pooling": _outputs(row)}


def _classic_adaptive(row: Row) -> Parts:
    """count_adap_avgpool: (prod over axes of I / O + 1) x numel(output), in float64, truncated
    once per call.  Equal to the summed windows + 1 per output where O divides I on every axis;
    otherwise a fraction truncated for the whole batch, which a per-image row cannot carry:
    refused."""
    sizes = list(zip(row.input_shape[1:], row.output_shape[1:]))
    if any(i % o for i, o in sizes):
        return refused("thop-classic", "its float ratio I/O, truncated once for the whole "
                       "batch, is not a per-image count where O does not divide I")(row)
    return {"pooling": (math.prod(i // o for i, o in sizes) + 1) * _outputs(row)}


def _classic_layer_norm(row: Row) -> Parts:
    """count_normalization on nn.LayerNorm (4n, 2n without gamma); LayerNorm2d (over the
    channels) is a subclass, which the exact-type lookup misses: 0."""
    return {} if _over_channels(row) else _thop_norm(row)


THOP_CLASSIC_RULES: dict[str, Rule] = {
    **THOP_RULES,
    "conv_transpose": _classic_transposed,
    "avgpool": _classic_avgpool,
    "adaptive_avgpool": _classic_adaptive, "global_avgpool": _classic_adaptive,
    "layernorm": _classic_layer_norm,
    # nn.GroupNorm is not in register_hooks: 0
    "groupnorm": nothing,
    # no _FunctionCounter: only the qkv and proj nn.Linear (MACs); the matmuls are not counted
    "attention": nothing,
}

THOP_CLASSIC = Preset(
    "thop-classic", "ops (classic thop)",
    "thop-classic: classic thop profile() total: as thop (conv and linear MACs without bias, "
    "batch norm, layer norm over the last axis and instance norm 4 per input element, 2 without "
    "affine, softmax 3C - 1 per position, PReLU 1 per element), but a transposed conv over its "
    "output, avg pooling 1 per output, adaptive avg pooling (I/O + 1) per output, group norm, "
    "LayerNorm2d and attention's matmuls 0; a functional call 0", THOP_CLASSIC_RULES,
    tool="thop 0.1.1.post2209072238", functional=UNSEEN)

# ---- ptflops 0.7.5, pytorch backend: ptflops/pytorch_ops.py MODULES_MAPPING (module hooks) and
# FUNCTIONAL_MAPPING / TENSOR_OPS_MAPPING (patched by pytorch_engine.py patch_functional and
# patch_tensor_ops).  A module whose forward calls a patched functional is counted twice.


def _ptflops_once(cause: str) -> Rule:
    """One hook: numel(output) (relu_flops_counter_hook, or a patched functional alone)."""
    def rule(row: Row) -> Parts:
        return {cause: _outputs(row)}
    return rule


def _ptflops_twice(cause: str, measure: str = "output") -> Rule:
    """The module hook and the patched functional its forward calls (nn.ReLU -> F.relu,
    nn.MaxPool2d -> F.max_pool2d): numel counted twice, once as double counting."""
    def rule(row: Row) -> Parts:
        n = _outputs(row) if measure == "output" else _inputs(row)
        return {cause: n, "double counting": n}
    return rule


def _ptflops_bn(row: Row) -> Parts:
    """bn_flops_counter_hook: numel(input) x 2 when affine; frozen batch norm (x * s + b through
    Tensor.__mul__/__add__, which are not patched): 0."""
    if "frozen_bn" in row.ops:
        return {}
    return {"normalisation": _inputs(row) * (2 if row.weights else 1)}


def _ptflops_lrn(row: Row) -> Parts:
    """nn.LocalResponseNorm has no hook, but F.local_response_norm calls patched operations:
    input.mul(input), avg_pool3d over the channel-padded squares ((C + size - 1) x H x W), then
    .mul(alpha) and .add(k): 3 x numel + the padded volume."""
    c, h, w = row.input_shape
    size = row.ops["lrn"] // _inputs(row)  # our LRN counts `size` ops per element
    return {"normalisation": 3 * _inputs(row) + (c + size - 1) * h * w}


def _ptflops_layer_norm(row: Row) -> Parts:
    """MODULES_MAPPING is looked up by exact type: nn.LayerNorm gets bn_flops_counter_hook,
    numel(input) x 2 only ``if hasattr(module, "affine") and module.affine``, an attribute a
    layer norm lacks (it has ``elementwise_affine``): numel, with or without gamma.  LayerNorm2d
    (over the channels) is a subclass, so no hook, and the ``F.layer_norm`` and ``permute`` it
    calls are not patched: 0."""
    return {} if _over_channels(row) else {"normalisation": _inputs(row)}


def _ptflops_attention(row: Row) -> Parts:
    """linear_flops_counter_hook on qkv and proj: MACs + the bias at every token; the two
    ``Tensor.matmul`` are patched (_matmul_tensor_flops_hook: prod(input) x other's last axis):
    the products; ``Tensor.softmax`` and ``q * scale`` (Tensor.__mul__) are not patched."""
    return {"bias": _tokens(row) * row.bias, "products": row.product_macs}


PTFLOPS_RULES: dict[str, Rule] = {
    "conv": _bias, "conv_transpose": _bias, "linear": _bias, "maxout": _bias,
    "bn": _ptflops_bn, "lrn": _ptflops_lrn, "layernorm": _ptflops_layer_norm,
    "attention": _ptflops_attention,
    # bn_flops_counter_hook on nn.GroupNorm / nn.InstanceNorm2d: numel x 2 when ``affine``
    "groupnorm": _ptflops_bn, "instancenorm": _ptflops_bn,
    "relu": _ptflops_twice("activations"), "elu": _ptflops_twice("activations"),
    "prelu": _ptflops_twice("activations"), "gelu": _ptflops_twice("activations"),
    "relu6": _ptflops_once("activations"), "leaky_relu": _ptflops_once("activations"),
    "silu": _ptflops_once("activations"), "swish": _ptflops_once("activations"),
    "softmax": _ptflops_once("activations"),
    "maxpool": _ptflops_twice("pooling", "input"), "avgpool": _ptflops_twice("pooling", "input"),
    "adaptive_avgpool": _ptflops_twice("pooling", "input"),
    "adaptive_maxpool": _ptflops_twice("pooling", "input"),
    "global_avgpool": _ptflops_twice("pooling", "input"),
    "subsample": lambda row: {"pooling": _inputs(row)},  # its F.avg_pool2d; the scaling is __mul__
    "upsample": _ptflops_once("resampling"),  # F.interpolate to a size: N x C x prod(size)
    **dict.fromkeys((
        "sigmoid", "tanh", "mish", "hardswish", "hardsigmoid", "dropout", "flatten", "identity",
        "channel_shuffle", "pad_channels", "rbf", "crop", "pad", "pixel_shuffle",
        "pixel_unshuffle", "add", "mul", "concat",
        # layer scale is ``gamma * x`` (Tensor.__mul__, not patched); x.mean, permute, stochastic
        # depth (the identity in eval): neither hooked nor patched; L2Norm: no hook, and
        # F.normalize (Tensor.norm, clamp_min, ``/``) and ``*`` are not patched
        "layer_scale", "drop_path", "permute", "mean", "l2norm"), nothing),
}

#: A functional call alone: the patched functional's _numel_functional_flops_hook, numel(input),
#: once (F.relu, F.elu, F.gelu, F.relu6, the pooling functionals); F.leaky_relu is not patched (0).
#: Other kinds count as their module (silu, softmax, interpolation: the patched call alone;
#: sigmoid, tanh, hardswish, dropout, flatten: 0 either way).
PTFLOPS_FUNCTIONAL: dict[str, Rule] = {
    **dict.fromkeys(("relu", "elu", "gelu", "relu6"), _ptflops_once("activations")),
    "leaky_relu": nothing,
    **dict.fromkeys(("maxpool", "avgpool", "adaptive_avgpool", "adaptive_maxpool",
                     "global_avgpool"), lambda row: {"pooling": _inputs(row)}),
}

PTFLOPS = Preset(
    "ptflops", "MACs (ptflops)",
    "ptflops: get_model_complexity_info (pytorch backend): conv and linear MACs plus bias, batch "
    "norm, group and instance norm 2 per input element (1 without affine), nn.LayerNorm 1, "
    "LayerNorm2d 0, ReLU/ELU/PReLU/GELU and pooling counted twice (module hook and "
    "patched functional), ReLU6, LeakyReLU, SiLU, softmax and interpolation once; merges 0; "
    "a functional ReLU/ELU/GELU/ReLU6 or pooling once, a functional LeakyReLU 0",
    PTFLOPS_RULES, tool="ptflops 0.7.5", functional=PTFLOPS_FUNCTIONAL)

# ---- ptflops 0.7.5, aten backend: ptflops/aten_ops.py ATEN_OPS_MAPPING (aten.convolution,
# aten.addmm, aten.mm, aten.bmm, aten.matmul), counted under aten_engine.py FlopCounterMode.

def _ptflops_aten_attention(row: Row) -> Parts:
    """The projections' mm/addmm and the products' bmm (``aten.matmul`` decomposes to them):
    MACs + products.  proj reads a reshaped (copied, contiguous) tensor: one addmm, its bias
    counted at every token.  The qkv projection reads the tokens ``x.flatten(2).transpose(1,
    2)``, contiguous only when the input map is channels-last in memory (the output of an
    earlier attention layer is, and convs and pools keep that layout): then at::linear runs one
    addmm and counts the bias, else mm + ``add`` and not.  The row does not carry the layout:
    an attention with a qkv bias is refused."""
    if _attention_biases(row)[0]:
        return refused("ptflops-aten", "its qkv bias is counted only when the input map is "
                       "channels-last in memory, which the layers before it decide")(row)
    return {"bias": _tokens(row) * _attention_biases(row)[1], "products": row.product_macs}


PTFLOPS_ATEN_RULES: dict[str, Rule] = {
    # conv_flop_count: batch x prod(weight) x prod(output spatial; input spatial when
    # transposed), + the bias; addmm_flop: the matmul + batch x out for the bias.  A linear over
    # the last axis of a contiguous N x H x W x C map is flattened to one aten.addmm by
    # at::linear (_flatten_nd_linear): its bias counted at every position; norms, means,
    # permutes, layer scale (aten.mul), the L2 norm (aten.linalg_vector_norm, clamp_min, div,
    # mul) are not in ATEN_OPS_MAPPING: 0
    "conv": _bias, "conv_transpose": _bias, "linear": _bias, "maxout": _bias,
    "attention": _ptflops_aten_attention,
    **dict.fromkeys(set(PTFLOPS_RULES) - {"conv", "conv_transpose", "linear", "maxout",
                                          "attention"}, nothing),
}

PTFLOPS_ATEN = Preset(
    "ptflops-aten", "MACs (ptflops aten)",
    "ptflops-aten: get_model_complexity_info(backend='aten'): aten convolutions and matrix "
    "products only, MACs plus the bias (one add per output element); everything else 0",
    PTFLOPS_ATEN_RULES, tool="ptflops 0.7.5 (aten)")


# ---- calflops 0.3.2: calflops/pytorch_ops.py, functionals and tensor methods patched by
# _patch_functionals / _patch_tensor_methods (DeepSpeed's flops profiler, forked); the FLOPs
# total of calculate_flops (calculate_pipline.py get_total_flops).  No module hooks: a module
# counts what its forward calls (nn.ReLU6 calls F.hardtanh, not patched: 0).


def _cal_dense(row: Row) -> Parts:
    """_conv_flops_compute: 2 x MACs + Cout x output positions for the bias;
    _linear_flops_compute: 2 x MACs (numel(input) x out features, over every position of a
    channels-last map too), its bias not counted.  maxout: its inner conv or linear."""
    conv = row.kind != "linear" and len(row.input_shape) > 1
    return {"factor": row.macs, "bias": row.bias * _spatial(row) if conv else 0}


def _cal_bn(row: Row) -> Parts:
    """_batch_norm_flops_compute, eval: numel x (2 with weight, else 1); frozen BN (x * s + b
    through Tensor.__mul__, not patched): 0."""
    if "frozen_bn" in row.ops:
        return {}
    return {"normalisation": _inputs(row) * (2 if row.weights else 1)}


def _cal_per_call(row: Row) -> Parts:
    """_upsample_flops_compute with a size: prod(size), once per call (not x N x C)."""
    return {"resampling": math.prod(row.output_shape[1:])} if row.kind == "upsample" else {}


def _cal_norm(row: Row) -> Parts:
    """_layer_norm_flops_compute, _group_norm_flops_compute, _instance_norm_flops_compute on the
    patched F.layer_norm (LayerNorm2d calls it too), F.group_norm, F.instance_norm (called
    whatever the statistics): numel(input) x (5 if a weight is passed else 4)."""
    return {"normalisation": _inputs(row) * (5 if row.weights else 4)}


def _numel(cause: str, measure: str = "input") -> Rule:
    def rule(row: Row) -> Parts:
        return {cause: _inputs(row) if measure == "input" else _outputs(row)}
    return rule


CALFLOPS_RULES: dict[str, Rule] = {
    "conv": _cal_dense, "linear": _cal_dense, "maxout": _cal_dense,
    "conv_transpose": lambda row: {"factor": row.macs} if not row.bias else refused(
        "calflops", "its bias is counted over conv-shaped output dimensions the row does not "
        "carry")(row),
    "bn": _cal_bn, "lrn": _ptflops_lrn,  # the same patched mul, avg_pool3d, mul, add
    "layernorm": _cal_norm, "groupnorm": _cal_norm, "instancenorm": _cal_norm,
    # F.linear (qkv, proj): 2 per MAC, no bias; Tensor.matmul (_matmul_flops_compute): 2 per
    # product MAC; Tensor.softmax and ``q * scale`` (Tensor.__mul__) are not patched
    "attention": lambda row: {"factor": row.macs, "products": 2 * row.product_macs},
    **dict.fromkeys(("relu", "prelu", "elu", "leaky_relu", "silu", "swish", "gelu", "softmax"),
                    _numel("activations")),
    **dict.fromkeys(("maxpool", "avgpool", "adaptive_avgpool", "adaptive_maxpool",
                     "global_avgpool", "subsample"), _numel("pooling")),
    **dict.fromkeys((
        "relu6", "sigmoid", "tanh", "mish", "hardswish", "hardsigmoid", "upsample", "dropout",
        "flatten", "identity", "channel_shuffle", "pad_channels", "rbf", "crop", "pad",
        "pixel_shuffle", "pixel_unshuffle", "add", "mul", "concat",
        # ``gamma * x`` is Tensor.__mul__ (only torch.mul / Tensor.mul are patched); Tensor.mean,
        # torch.permute, the eval-mode identity of stochastic depth and F.normalize (with the
        # Tensor.norm and ``/`` inside it) are not patched
        "layer_scale", "drop_path", "permute", "mean", "l2norm"), nothing),
}

#: nn.ReLU6 calls F.hardtanh (not patched: 0), but F.relu6 itself is patched: numel(input).
#: Every other functional counts as its module, which calls the same patched function.
CALFLOPS_FUNCTIONAL: dict[str, Rule] = {"relu6": _numel("activations")}

CALFLOPS = Preset(
    "calflops", "FLOPs (calflops)",
    "calflops: calculate_flops FLOPs: conv 2 per MAC + bias, linear 2 per MAC without bias, batch "
    "norm 2 per element, layer/group/instance norm 5 (4 without gamma), "
    "ReLU/PReLU/ELU/LeakyReLU/SiLU/GELU/softmax and pooling 1 per input "
    "element, upsampling prod(size) once per call; ReLU6, sigmoid, hardswish, merges 0",
    CALFLOPS_RULES, tool="calflops 0.3.2", per_call=_cal_per_call, functional=CALFLOPS_FUNCTIONAL)


# ---- DeepSpeed 0.19.8: deepspeed/profiling/flops_profiler/profiler.py, the profiler calflops
# forked: the same patched functionals and formulas (get_model_profile's flops), but
# _conv_trans_flops_compute counts the bias over the transposed conv's real output.

DEEPSPEED_RULES: dict[str, Rule] = {
    **CALFLOPS_RULES,
    "conv_transpose": lambda row: {"factor": row.macs, **_bias(row)},
}

DEEPSPEED = Preset(
    "deepspeed", "FLOPs (DeepSpeed)",
    "deepspeed: flops profiler get_model_profile FLOPs: as calflops (2 per MAC, conv bias, no "
    "linear bias, batch norm 2 per element, ReLU-like and pooling 1 per input element, "
    "upsampling prod(size) once per call), the transposed conv's bias over its output",
    DEEPSPEED_RULES, tool="deepspeed 0.19.8", per_call=_cal_per_call,
    functional=CALFLOPS_FUNCTIONAL)


# ---- torchscan 0.2.0: torchscan/modules/flops.py module_flops (FLOPs, 2 per MAC less one add
# per output), summed over leaf module calls by crawler.py crawl_module ("module_flops" total);
# an unsupported leaf (our merges, frozen BN, interpolation, SiLU, softmax, padding) counts 0.


def _scan_dense(row: Row) -> Parts:
    """flops_convnd / flops_linear: out x (2 x terms - 1 + bias): 2 per MAC, less the first add
    of each output, plus its bias."""
    return {"factor": row.macs, "other": -_outputs(row), "bias": _outputs(row) if row.bias else 0}


def _scan_transposed(row: Row) -> Parts:
    """flops_convtransposend: flops_convnd over the *output* (out x (2 x k^2 x C_in/g - 1 +
    bias)) and 8 x len(kernel) = 16 per call (see :func:`_scan_per_call`)."""
    over_output = row.macs * _spatial(row) // math.prod(row.input_shape[1:])
    return {"factor": row.macs, "other": 2 * (over_output - row.macs) - _outputs(row),
            "bias": _outputs(row) if row.bias else 0}


def _scan_bn(row: Row) -> Parts:
    """flops_bn, eval: 2 x numel (normalise) + 2 x numel when affine; + 2C per call."""
    if "frozen_bn" in row.ops:
        return {}
    return {"normalisation": _inputs(row) * (4 if row.weights else 2)}


def _scan_per_call(row: Row) -> Parts:
    """Constants torchscan adds once per module call, not per image: batch norm's
    ``num_features * 2`` and a transposed conv's ``8 * len(kernel_size)``."""
    if row.kind == "bn" and "frozen_bn" not in row.ops:
        return {"normalisation": 2 * row.input_shape[0]}
    if row.kind == "conv_transpose":
        return {"other": 8 * 2}
    return {}


def _scan_elementwise(per: int) -> Rule:
    """flops_relu (1), flops_relu6 (2), flops_sigmoid / flops_leakyrelu (4), flops_elu /
    flops_tanh (6) per input element."""
    def rule(row: Row) -> Parts:
        return {"activations": per * _inputs(row)}
    return rule


def _scan_window(row: Row) -> Parts:
    """flops_maxpool: out x (k_size - 1); flops_avgpool: out x (k_size - 1 + 2) (``ndim - 2``
    divides).  k_size is prod(kernel) for a tuple kernel but the kernel itself for an int: a
    square kernel written as one int (``nn.MaxPool2d(3)``, as torchvision and our builder write
    it) counts k, not k x k."""
    assert row.windows is not None  # pooling rows have their windows
    kh, kw = ((w.extent - 1) // w.dilation + 1 for w in row.windows)
    k = kh if kh == kw else kh * kw
    return {"pooling": _outputs(row) * (k - 1 + (2 if row.kind == "avgpool" else 0))}


def _scan_adaptive(row: Row) -> Parts:
    """flops_adaptive_avgpool: out x (prod(k) - 1 + 2); flops_adaptive_maxpool: out x (prod(k)
    - 1); k = I // O per axis where O divides I, else I % O + 1 (_pooling.adaptive_kernel_size:
    an approximation of the window, not PyTorch's windows)."""
    k = 1
    for i, o in zip(row.input_shape[1:], row.output_shape[1:]):
        k *= i // o if i % o == 0 else i % o + 1
    return {"pooling": _outputs(row) * (k - 1 + (0 if row.kind == "adaptive_maxpool" else 2))}


def _scan_layer_norm(row: Row) -> Parts:
    """flops_layernorm (nn.LayerNorm, and LayerNorm2d by isinstance, on its N x C x H x W
    input): 6 x numel + 2 x rows (numel / D) + numel with a weight + numel with a bias."""
    n = _inputs(row)
    gamma, beta = bool(row.weights), bool(row.bias)
    return {"normalisation": 6 * n + 2 * (n // _norm_features(row)) + n * gamma + n * beta}


def _scan_attention(row: Row) -> Parts:
    """flops_linear on its leaves qkv (3C outputs per token) and proj (C): 2 per MAC less one
    per output (4 x N x C), plus the biases at every token; the matmuls, softmax and scaling run
    in SelfAttention2d's own forward, which is no leaf: 0."""
    n = _tokens(row)
    return {"factor": row.macs, "other": -4 * n * row.input_shape[0], "bias": n * row.bias}


TORCHSCAN_RULES: dict[str, Rule] = {
    "conv": _scan_dense, "linear": _scan_dense, "conv_transpose": _scan_transposed,
    "maxout": refused("torchscan", "its inner layer's outputs (pieces x out) are not in the row"),
    "bn": _scan_bn, "relu": _scan_elementwise(1), "relu6": _scan_elementwise(2),
    "sigmoid": _scan_elementwise(4), "leaky_relu": _scan_elementwise(4),
    "elu": _scan_elementwise(6), "tanh": _scan_elementwise(6),
    "maxpool": _scan_window, "avgpool": _scan_window, "adaptive_avgpool": _scan_adaptive,
    "adaptive_maxpool": _scan_adaptive, "global_avgpool": _scan_adaptive,
    "dropout": lambda row: {"other": _inputs(row)},  # flops_dropout: numel when p > 0, even in eval
    "layernorm": _scan_layer_norm, "attention": _scan_attention,
    **dict.fromkeys((
        # module_flops has no branch for nn.GroupNorm, nn.InstanceNorm2d, LayerScale, Permute,
        # Mean, L2Norm or StochasticDepth (not an nn.Dropout): "Module type not supported", 0
        "groupnorm", "instancenorm", "layer_scale", "drop_path", "permute", "mean", "l2norm",
        "silu", "swish", "mish", "gelu", "hardswish", "hardsigmoid", "prelu", "softmax",
        "subsample", "lrn", "flatten", "identity", "channel_shuffle", "pad_channels", "rbf",
        "upsample", "crop", "pad", "pixel_shuffle", "pixel_unshuffle", "add", "mul", "concat"),
        nothing),
}

TORCHSCAN = Preset(
    "torchscan", "FLOPs (torchscan)",
    "torchscan: crawl_module 'module_flops' total: conv and linear 2 per MAC less one per output, "
    "plus bias; batch norm 2 (4 affine) per element + 2C per call; ReLU 1, ReLU6 2, sigmoid and "
    "LeakyReLU 4, ELU and tanh 6 per element; pooling per window; dropout 1 per element even in "
    "eval; layer norm 6 per element + 2 per row + 1 each for gamma and beta; other modules "
    "(group and instance norm, GELU) 0", TORCHSCAN_RULES, tool="torchscan 0.2.0",
    per_call=_scan_per_call, functional=UNSEEN)


TOOLS: tuple[Preset, ...] = (TORCHINFO, THOP, PTFLOPS, PTFLOPS_ATEN, TORCHSCAN, CALFLOPS,
                              DEEPSPEED)

#: Every ``--count`` preset by name: ours, the live-verified torch and fvcore, the tools above,
#: and classic thop, which is not among TOOLS: it installs as the same import name ``thop`` as
#: ultralytics-thop, so ``verify`` cannot run it beside the test setup (its live check is
#: tools/thop_classic.py, in the venv of tools/thop_classic_env.sh).
ALL_PRESETS: dict[str, Preset] = {**PRESETS, **{p.name: p for p in (
    TORCHINFO, THOP, THOP_CLASSIC, PTFLOPS, PTFLOPS_ATEN, TORCHSCAN, CALFLOPS, DEEPSPEED)}}
