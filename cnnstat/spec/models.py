"""The pydantic models of a spec file.

The top level (:class:`SpecModel`) and the arguments of every layer kind (:data:`LAYER_ARGS`) are
pydantic models with ``extra="forbid"``; the same models produce the published JSON Schema.  A
value written as an expression (``$width * 4``) is accepted as a string here and evaluated during
expansion, where its range is checked.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AllowInfNan,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    WithJsonSchema,
    field_validator,
)

FiniteFloat = Annotated[StrictFloat, AllowInfNan(False)]
"""A float that is a number (YAML's .nan and .inf are not: no figure or size is infinite)."""

# Markers in Annotated[...] tell the expander how to evaluate and normalise a field.
INT, SIZE, REAL, FLAG = "int", "size", "real", "flag"
SIDES = "sides"

Int = Annotated[StrictInt | str, INT]
"""An integer, or an expression that evaluates to one."""
Size = Annotated[StrictInt | str | list[StrictInt | str], SIZE]
"""An int (both axes) or an [h, w] pair; either may be expressions."""
ConvPadding = Annotated[StrictInt | str | list[StrictInt | str | list[StrictInt | str]], SIZE]
"""A size, 'same' / 'valid', or per axis [before, after]: [[top, bottom], [left, right]]."""
Sides = Annotated[StrictInt | str | list[StrictInt | str], SIDES]
"""Padding per side: P (all four), [P_h, P_w], or [top, bottom, left, right]."""
Real = Annotated[FiniteFloat | StrictInt | str, REAL]
Flag = Annotated[StrictBool | str, FLAG]
ParamValue = Annotated[
    StrictInt | FiniteFloat | StrictBool | str | list[StrictInt | FiniteFloat | str],
    Field(description="a number, a flag, an expression, or a short list such as a pair [h, w]")]
"""A parameter, block-argument or variant value; a list is a pair (or short list) value."""

LAYER_ITEM_REF = "#/$defs/LayerItem"
Layers = Annotated[list[Any], WithJsonSchema({"type": "array", "items": {"$ref": LAYER_ITEM_REF}})]
"""A list of layer items; validated item by item during expansion (the schema says what an item
is: see :mod:`cnnstat.spec.schema`)."""


Ref = Annotated[str, Field(min_length=1)]


NAME = Field(None, description="the name (generated when absent); a template: '$i' and "
             "'${expr}' are replaced by their values ('branch$j')")
IF = Field(None, alias="if", description="a condition ('$levels > 1'): the item is written only "
           "where it holds (a recursive block's base case)")
FROM = Field(None, alias="from", description="the tensor read instead of the previous layer's "
             "output: any earlier layer, block, merge or input, by name (looked up in the "
             "enclosing scopes, innermost first, then as a full name), '$in' (the block's input) "
             "or a block argument naming a tensor ('$src'); a template ('b$j')")


class Args(BaseModel):
    """Arguments common to every layer kind."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    name: str | None = NAME
    from_: Ref | None = FROM
    if_: Flag | None = IF


class FunctionalArgs(Args):
    """A kind with a functional twin (``cnnstat.core.functional.FUNCTIONALS``)."""

    functional: Flag = Field(
        False, description="written as a functional call (F.relu(x), F.max_pool2d(x, ...)) "
        "rather than a module: no number changes, only what the counter presets of hook-based "
        "tools see")


class ConvArgs(Args):
    out: Int = Field(description="number of filters (output channels)")
    kernel: Size = Field(description="filter size F, or [F_h, F_w]")
    stride: Size = 1
    padding: ConvPadding = Field(
        0, description="zero padding P, [P_h, P_w], per axis [[top, bottom], [left, right]], "
        "'same' (as TensorFlow: output ceil(W/S), the odd pixel after) or 'valid'")
    dilation: Size = 1
    groups: Int = 1
    bias: Flag = True
    connections: list[list[StrictInt]] | None = Field(
        None, description="sparse connection table: for each filter, the input channels it sees "
        "(LeNet-5's C3)")


class ConvTransposeArgs(Args):
    """A transposed convolution (nn.ConvTranspose2d): H_out = (H - 1)*S - 2P + D*(K - 1) +
    output_padding + 1."""

    out: Int = Field(description="number of filters (output channels)")
    kernel: Size = Field(description="filter size F, or [F_h, F_w]")
    stride: Size = 1
    padding: Size = Field(0, description="P: removed from each side of the output")
    output_padding: Size = Field(0, description="extra rows/columns after (less than the stride "
                                 "or the dilation)")
    dilation: Size = 1
    groups: Int = 1
    bias: Flag = True


LikeRef = Ref | None
LIKE = Field(None, description="an earlier tensor whose H x W to produce, by name (looked up as "
             "'from' is)")


class UpsampleArgs(FunctionalArgs):
    """Resampling to a larger (or any) size: by ``scale``, to a ``size``, or ``like`` a tensor."""

    mode: Literal["nearest", "bilinear", "bicubic"] = "nearest"
    scale: Size = Field(None, description="whole scale factor s or [s_h, s_w]: H*s x W*s")  # type: ignore[assignment]
    size: Size = Field(None, description="output size, int or [h, w]")  # type: ignore[assignment]
    like: LikeRef = LIKE
    align_corners: Flag = Field(None, description="bilinear and bicubic only: sample corners "  # type: ignore[assignment]
                                "to corners")


class CropArgs(Args):
    """A centre crop to ``size`` or to the size of the tensor named in ``like``."""

    size: Size = Field(None, description="output size, int or [h, w]")  # type: ignore[assignment]
    like: LikeRef = LIKE


class PadArgs(Args):
    """Spatial padding, per side."""

    padding: Sides = Field(description="P (all sides), [P_h, P_w], or [top, bottom, left, right]")
    mode: Literal["constant", "reflect", "replicate"] = "constant"
    value: Real = Field(0, description="the fill value of 'constant'")


class PixelShuffleArgs(Args):
    factor: Int = Field(description="r: C x H x W <-> C/r^2 x rH x rW")


class LinearArgs(Args):
    out: Int = Field(description="number of output features (neurons)")
    bias: Flag = True
    over: Literal["features", "last"] = Field(
        "features", description="features: a flat input (after 'flatten'); last: the last axis "
        "of any input, as nn.Linear does (the channels of a channels-last map after 'permute')")


class MaxPoolArgs(FunctionalArgs):
    kernel: Size
    stride: Size = Field(None, description="defaults to the kernel size")  # type: ignore[assignment]
    padding: Size = 0
    dilation: Size = 1
    ceil_mode: Flag = False


class AvgPoolArgs(FunctionalArgs):
    kernel: Size
    stride: Size = Field(None, description="defaults to the kernel size")  # type: ignore[assignment]
    padding: Size = 0
    ceil_mode: Flag = False
    count_include_pad: Flag = True


class AdaptiveAvgPoolArgs(FunctionalArgs):
    size: Size = Field(description="output size, int or [h, w]")


class AdaptiveMaxPoolArgs(FunctionalArgs):
    """nn.AdaptiveMaxPool2d(size): the max over each of PyTorch's adaptive windows (one tensor
    out: return_indices=False)."""

    size: Size = Field(description="output size, int or [h, w]")


class BatchNormArgs(Args):
    affine: Flag = True
    frozen: Flag = Field(False, description="frozen (torchvision's FrozenBatchNorm2d): gamma, beta "
                         "and the running statistics are all fixed buffers, no parameters")


class LayerNormArgs(Args):
    """nn.LayerNorm over the last axis, or torchvision's LayerNorm2d over the channels of a
    C x H x W map (ConvNeXt)."""

    over: Literal["last", "channels"] = Field(
        "last", description="last: the last axis (nn.LayerNorm(C)); channels: the C of a C x H x W "
        "map (torchvision's LayerNorm2d)")
    elementwise_affine: Flag = Field(True, description="a learned gamma (and beta) per feature")
    bias: Flag = Field(True, description="beta, with elementwise_affine")
    eps: Real = Field(1e-5, description="added to the variance; does not change any count")


class GroupNormArgs(Args):
    groups: Int = Field(description="number of channel groups (must divide C)")
    affine: Flag = True
    eps: Real = Field(1e-5, description="added to the variance; does not change any count")


class InstanceNormArgs(Args):
    affine: Flag = False
    track_running_stats: Flag = Field(
        False, description="keep running mean and variance (buffers), used at inference")
    eps: Real = Field(1e-5, description="added to the variance; does not change any count")


class LayerScaleArgs(Args):
    """ConvNeXt's layer scale: a learned gamma per channel multiplies the input."""

    init: Real = Field(1e-6, description="gamma's initial value; does not change any count")


class L2NormArgs(FunctionalArgs):
    """SSD's L2Norm (ParseNet): each position's channel vector divided by its L2 norm, times a
    learned scale per channel."""

    scale: Real = Field(20.0, description="the learned per-channel scale's initial value (SSD: "
                        "20); does not change any count")
    eps: Real = Field(1e-12, description="the norm's lower bound (F.normalize's eps); does not "
                      "change any count")


class GELUArgs(FunctionalArgs):
    approximate: Literal["none", "tanh"] = "none"


class DropPathArgs(Args):
    """Stochastic depth (torchvision.ops.StochasticDepth): identity at inference."""

    p: Real = Field(description="probability of dropping the residual branch in training")
    mode: Literal["row", "batch"] = Field(
        "row", description="row: per sample; batch: the whole batch at once")


class PermuteArgs(Args):
    dims: list[StrictInt] = Field(
        description="the new order of the axes, batch included, as torch.permute: [0, 2, 3, 1] "
        "to channels-last, [0, 3, 1, 2] back")


class MeanArgs(Args):
    """x.mean([2, 3]): the global mean over H and W (fvcore has no handle for aten::mean)."""

    keepdim: Flag = Field(False, description="keep H and W as 1 x 1 (C x 1 x 1, else C)")


class LRNArgs(Args):
    size: Int = 5
    alpha: Real = 0.0001
    beta: Real = 0.75
    k: Real = 2.0


class DropoutArgs(FunctionalArgs):
    p: Real = 0.5


class LeakyReLUArgs(FunctionalArgs):
    slope: Real = 0.01


class PReLUArgs(Args):
    shared: Flag = Field(False, description="one alpha for all channels instead of one per channel")


class ELUArgs(FunctionalArgs):
    alpha: Real = 1.0


class ChannelShuffleArgs(Args):
    groups: Int


class PadChannelsArgs(Args):
    """ResNet option-A shortcut: subsample by ``stride`` and zero-pad channels up to ``out``."""

    out: Int
    stride: Int = 1


class SubsampleArgs(Args):
    """LeNet-5's S-layers: average pool times a trainable coefficient plus a bias, per channel."""

    kernel: Size = 2
    stride: Size = None  # type: ignore[assignment]


class RBFArgs(Args):
    """LeNet-5's output layer: Euclidean radial basis units with fixed (non-trainable) centres."""

    out: Int


class MaxoutArgs(Args):
    pieces: Int = Field(description="k: the wrapped layer is computed k times and the max taken")
    layer: Annotated[dict[str, Any], WithJsonSchema({"allOf": [{"$ref": LAYER_ITEM_REF}]})] = Field(
        description="the wrapped layer: a single conv or linear")


class AttentionArgs(Args):
    """Multi-head self-attention over the H·W positions of a C x H x W map (BoTNet's MHSA)."""

    heads: Int = Field(description="number of heads h (C / h features each; h must divide C)")
    qkv_bias: Flag = Field(True, description="biases of the query, key and value projections")
    bias: Flag = Field(True, description="bias of the output projection")


NO_ARGS = Args

LAYER_ARGS: dict[str, type[Args]] = {
    "conv": ConvArgs,
    "conv_transpose": ConvTransposeArgs,
    "upsample": UpsampleArgs,
    "crop": CropArgs,
    "pad": PadArgs,
    "pixel_shuffle": PixelShuffleArgs,
    "pixel_unshuffle": PixelShuffleArgs,
    "linear": LinearArgs,
    "maxpool": MaxPoolArgs,
    "avgpool": AvgPoolArgs,
    "adaptive_avgpool": AdaptiveAvgPoolArgs,
    "adaptive_maxpool": AdaptiveMaxPoolArgs,
    "global_avgpool": FunctionalArgs,
    "flatten": FunctionalArgs,
    "bn": BatchNormArgs,
    "layernorm": LayerNormArgs,
    "groupnorm": GroupNormArgs,
    "instancenorm": InstanceNormArgs,
    "layer_scale": LayerScaleArgs,
    "l2norm": L2NormArgs,
    "drop_path": DropPathArgs,
    "permute": PermuteArgs,
    "mean": MeanArgs,
    "lrn": LRNArgs,
    "dropout": DropoutArgs,
    "softmax": FunctionalArgs,
    "identity": NO_ARGS,
    "channel_shuffle": ChannelShuffleArgs,
    "pad_channels": PadChannelsArgs,
    "subsample": SubsampleArgs,
    "rbf": RBFArgs,
    "relu": FunctionalArgs,
    "relu6": FunctionalArgs,
    "leaky_relu": LeakyReLUArgs,
    "prelu": PReLUArgs,
    "elu": ELUArgs,
    "sigmoid": FunctionalArgs,
    "tanh": FunctionalArgs,
    "silu": FunctionalArgs,
    "swish": FunctionalArgs,
    "mish": NO_ARGS,
    "gelu": GELUArgs,
    "hardswish": FunctionalArgs,
    "hardsigmoid": FunctionalArgs,
    "maxout": MaxoutArgs,
    "attention": AttentionArgs,
}


class CompositeArgs(BaseModel):
    """Arguments common to the composition keywords."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    name: str | None = NAME
    from_: Ref | None = FROM
    if_: Flag | None = IF


class RefRepeat(BaseModel):
    """In a ``from:`` list, ``N`` names at once: the template ``from`` with ``$index`` bound to 0,
    1, ..., N - 1 (``{repeat: $n, index: j, from: "p$j"}`` is p0, p1, ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    repeat: Int
    index: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                       description="the parameter bound to each name's number, from 0")
    from_: Ref = Field(alias="from", description="the name template, e.g. 'p$j'")


FromList = list[Ref | RefRepeat] | Ref | RefRepeat
FROM_LIST = ("the tensors, by name: a list of names (each a template, '$in', or '$arg' naming "
             "one tensor or a list of them) and {repeat, index, from} generators; one name is a "
             "merge of one tensor, that tensor")


class ResidualArgs(CompositeArgs):
    """body + shortcut, added element-wise; ``then`` runs after the add."""

    body: Layers
    shortcut: Literal["auto", "projection", "identity", "pad", "identity-if-same"] | Layers = Field(
        "auto", description="auto (identity, or 1x1 conv + bn when the shape changes), identity, "
        "pad (ResNet option A), identity-if-same (no shortcut when the shape changes), or layers")
    then: Layers = Field([], description="layers after the add (e.g. [relu])")
    shortcut_first: Flag = Field(False, description="run the shortcut before the body "
                                 "(torchvision's RegNet: proj(x) + f(x)); the same sum")


class BranchesArgs(CompositeArgs):
    """Parallel branches whose outputs are concatenated on channels (``split``: each gets an
    equal share of the input channels)."""

    branches: list[Layers | None] | dict[str, Layers | None] = Field(
        description="a list of layer lists, or a mapping of named layer lists (one or more)")


class JoinArgs(CompositeArgs):
    """A merge of earlier tensors named in ``from`` (``add``: element-wise sum of equal shapes;
    ``mul``: element-wise product, broadcasting size-1 axes; ``concat``: channels)."""

    from_: FromList = Field(alias="from", description=FROM_LIST)  # type: ignore[assignment]


class ConcatArgs(CompositeArgs):
    """Channel concatenation: of parallel ``branches`` fed the current input, or of earlier
    tensors named in ``from``."""

    branches: list[Layers | None] | dict[str, Layers | None] | None = Field(
        None, description="a list of layer lists, or a mapping of named layer lists (one or "
        "more)")
    from_: FromList | None = Field(  # type: ignore[assignment]
        None, alias="from", description="without branches, " + FROM_LIST + "; with branches, "
        "the one tensor fed to them")


class BodyArgs(CompositeArgs):
    """A body computed from the current input (``scale``: multiplies it; ``side``: a side
    output that the trunk does not consume)."""

    body: Layers


class SideArgs(BodyArgs):
    """A side output (auxiliary head): computed from the current input, not fed to the trunk;
    with ``training: true`` it runs only in training (GoogLeNet's and Inception-v3's auxiliary
    classifiers): its parameters count, its compute and activations count in training only."""

    training: Flag = Field(False, description="the head runs only in training mode")


class DenseArgs(CompositeArgs):
    """DenseNet: ``count`` times, the layers' output is concatenated to their input."""

    count: Int
    layers: Layers


class RepeatItem(BaseModel):
    """``repeat: N`` with ``layers: [...]``: the layers N times, inlined (N may be 0); with
    ``index: i``, ``$i`` is 0, 1, ..., N - 1 in the copies (a stage's entry in a list); with
    ``name``, each copy is a scope of that name (a template: ``"branch$i"``) whose output is the
    tensor of that name; with ``from``, each copy reads that tensor."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    repeat: Int
    layers: Layers
    index: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                              description="a parameter name bound to the copy's number, from 0")
    name: str | None = Field(None, description="each copy's scope, a template ('branch$i'): "
                             "its layers are named inside it and its output is that tensor")
    from_: Ref | None = FROM
    if_: Flag | None = IF


COMPOSITE_ARGS: dict[str, type[CompositeArgs]] = {
    "residual": ResidualArgs,
    "concat": ConcatArgs,
    "split": BranchesArgs,
    "add": JoinArgs,
    "mul": JoinArgs,
    "scale": BodyArgs,
    "side": SideArgs,
    "dense": DenseArgs,
}
LIST_FORM = {"concat": "branches", "split": "branches", "scale": "body", "side": "body"}
"""Composites that may be written as a bare list: the list is this argument."""


Tolerance = Annotated[FiniteFloat | StrictInt, Field(ge=0),
                      WithJsonSchema({"type": "number", "minimum": 0})]
"""A tolerance: a finite number, never negative (a negative one would fail every figure)."""


class Figure(BaseModel):
    """A published figure, with its source and the tolerance its rounding implies."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    value: StrictInt | FiniteFloat
    source: str = Field(description="where the figure was published")
    rel_tol: Tolerance = 0
    abs_tol: Tolerance = 0
    known_difference: str | None = Field(
        None, description="why our exact figure differs from the published one (explained, "
        "reported as a note rather than a failure)")


Metric = Literal["params", "macs", "flops", "activations"]

Reported = Literal["params", "macs", "flops", "activations", "top1"]
"""What ``reference:`` may publish: the computed metrics, and ``top1``, the published ImageNet
top-1 accuracy in percent (drawn by ``cnnstat plot complexity``; never computed, so never
checked against a count)."""

References = dict[Reported, Figure | list[Figure]]


def check_top1(table: References) -> References:
    """``top1`` is one figure, a percentage in (0, 100], without tolerances."""
    fig = table.get("top1")
    if fig is None:
        return table
    if isinstance(fig, list) or not 0 < fig.value <= 100 or fig.rel_tol or fig.abs_tol:
        raise ValueError("reference top1 is one figure: an accuracy in percent, above 0 and "
                         "at most 100, with its source and no tolerance")
    return table


class BlockModel(BaseModel):
    """A named, reusable block: arguments with defaults ("required" for none) and a body."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    args: dict[str, ParamValue] = {}
    layers: Layers = Field(description="the block's body, a list of layer items")


class VariantModel(BaseModel):
    """A named parameter set (``efficientnet-b3``), with its own title and published figures."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    set: dict[str, ParamValue] = Field(
        description="parameter values that differ from the spec's defaults")
    title: str = ""
    reference: References = {}
    expect: dict[Metric, StrictInt] = Field(
        {}, description="exact figures pinned for regression ('cnnstat check' fails on a change)")
    budget: dict[Metric, StrictInt] = Field(
        {}, description="limits for this variant, overriding the spec's budget metric by metric")

    @field_validator("reference")
    @classmethod
    def _top1(cls, table: References) -> References:
        return check_top1(table)


class Acceptance(BaseModel):
    """A warning the spec accepts: it is true of the published architecture and cannot be fixed
    without changing it (e.g. torchvision's SqueezeNet conv1 drops a row at 224)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    code: str = Field(pattern=r"^W[0-9]{3}$", description="the warning's code, e.g. W501")
    layer: str | None = Field(None, description="the layer it concerns (any layer when absent)")
    reason: str = Field(min_length=1, description="why the warning is accepted")


class ScalingModel(BaseModel):
    """The spec's compound-scaling knobs (``cnnstat scale``): which parameters multiply the width,
    the depth and the resolution.  The network's own rounding (``make_divisible(c * w, 8)``,
    ``ceil(n * d)``) stays in its expressions; the resolution is set to the integer
    ``base * r`` rounded half up to a multiple of ``resolution_multiple``."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    width: str | None = Field(None, description="the parameter that multiplies every channel count")
    depth: str | None = Field(None, description="the parameter that multiplies every stage's "
                              "number of blocks")
    resolution: str | None = Field(None, description="the parameter that is the input's H and W "
                                   "(an integer, in pixels)")
    resolution_multiple: StrictInt = Field(1, ge=1, description="a scaled resolution is rounded "
                                           "half up to a multiple of this")
    variants: list[str] = Field([], description="the published scaled variants in order of phi "
                                "(the first is phi = 0, the base), compared with the rule by "
                                "'cnnstat scale --table'")


class SpecModel(BaseModel):
    """The top level of a spec file."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    title: str = ""
    source: str = ""
    notes: str = ""
    input: list[Int] | None = Field(None, min_length=1, max_length=3,
                                    description="[C, H, W] or [features]: the one input, named "
                                    "'input'")
    inputs: dict[Ref, list[Int]] | None = Field(
        None, description="several named inputs, each [C, H, W] or [features]; the network "
        "starts from the first (instead of 'input')")
    outputs: list[Ref] | None = Field(
        None, min_length=1, description="the network's outputs (heads), by tensor name, each "
        "reported with its shape and the part of the network it depends on; default: the last "
        "layer (and any side outputs)")
    params: dict[str, ParamValue] = {}
    variants: dict[str, VariantModel] = {}
    blocks: dict[str, BlockModel] = {}
    layers: Layers = Field(min_length=1, description="the network, a list of layer items",
                           json_schema_extra={"minItems": 1})
    reference: References = Field(
        {}, description="published figures (one or a list per metric), checked against ours; "
        "top1: the published ImageNet top-1 accuracy in percent")
    expect: dict[Metric, StrictInt] = Field(
        {}, description="exact figures pinned for regression ('cnnstat check' fails on a change)")
    budget: dict[Metric, StrictInt] = Field(
        {}, description="upper limits ('cnnstat check' fails when a figure exceeds one)")
    scaling: ScalingModel | None = Field(
        None, description="the compound-scaling knobs: which parameters are the width, depth "
        "and resolution multipliers (for 'cnnstat scale')")
    accept: list[Acceptance] = Field(
        [], description="warnings that are true of the architecture as published, each with "
        "its reason: reported as notes, so 'cnnstat check --strict' passes")

    @field_validator("reference")
    @classmethod
    def _top1(cls, table: References) -> References:
        return check_top1(table)
