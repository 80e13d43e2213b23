"""Layer kinds by family, and the hint for a kind that does not exist.

A misspelt kind is matched against kinds of its own family first, so ``upsampel`` or ``deconv``
is never offered LeNet's ``subsample`` (trainable pooling, nearly the opposite of upsampling).
A word's family is guessed from the stems that name it (``up``, ``pool``, ``norm``, ...); the
names other frameworks use (``ConvTranspose2d``, ``BatchNorm2d``) map straight to our kind.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# Every kind of ``models.LAYER_ARGS`` belongs to one family (tests/test_kinds.py checks it).
FAMILIES: dict[str, tuple[str, ...]] = {
    "convolution": ("conv", "linear", "maxout", "rbf"),
    "resampling": ("conv_transpose", "upsample", "crop", "pad", "pixel_shuffle",
                   "pixel_unshuffle"),
    "pooling": ("maxpool", "avgpool", "adaptive_avgpool", "adaptive_maxpool", "global_avgpool",
                "subsample", "mean"),
    "normalisation": ("bn", "lrn", "dropout", "layernorm", "groupnorm", "instancenorm",
                      "layer_scale", "drop_path", "l2norm"),
    "activation": ("relu", "relu6", "leaky_relu", "prelu", "elu", "sigmoid", "tanh", "silu",
                   "swish", "mish", "gelu", "hardswish", "hardsigmoid", "softmax"),
    "reshaping": ("flatten", "identity", "channel_shuffle", "pad_channels", "permute"),
    "attention": ("attention",),
}

# Stems that place a word in a family, tried in this order ("deconv" is resampling, not conv).
_STEMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("resampling", ("deconv", "transpose", "up", "interp", "resiz", "shuffle", "crop", "pad")),
    ("pooling", ("pool", "subsamp", "down")),
    ("normalisation", ("norm", "bn", "drop", "lrn")),
    ("activation", ("lu", "sigm", "tanh", "swish", "mish", "act", "softmax")),
    ("convolution", ("conv", "fc", "linear", "dense")),
    ("reshaping", ("flat", "reshape", "view")),
    ("attention", ("attn", "attention", "mhsa", "transformer")),
)

# Other frameworks' names for our kinds, written without '_', '-' and case.
ALIASES: dict[str, str] = {
    "deconv": "conv_transpose", "deconvolution": "conv_transpose",
    "convtranspose": "conv_transpose", "convtranspose2d": "conv_transpose",
    "conv2dtranspose": "conv_transpose", "transposedconv": "conv_transpose",
    "conv2d": "conv", "convolution": "conv",
    "upsampling": "upsample", "upsampling2d": "upsample", "interpolate": "upsample",
    "resize": "upsample",
    "batchnorm": "bn", "batchnorm2d": "bn", "batchnormalization": "bn",
    "maxpool2d": "maxpool", "maxpooling2d": "maxpool", "avgpool2d": "avgpool",
    "averagepooling2d": "avgpool", "adaptiveavgpool2d": "adaptive_avgpool",
    "adaptivemaxpool2d": "adaptive_maxpool",
    "globalaveragepooling2d": "global_avgpool", "globalavgpool": "global_avgpool",
    "fc": "linear", "fullyconnected": "linear",
    "pixelshuffle": "pixel_shuffle", "pixelunshuffle": "pixel_unshuffle",
    "layernorm2d": "layernorm", "groupnorm2d": "groupnorm",
    "instancenorm2d": "instancenorm", "stochasticdepth": "drop_path", "droppath": "drop_path",
    "l2normalization": "l2norm", "normalize": "l2norm",
    "multiheadattention": "attention", "mhsa": "attention", "selfattention": "attention",
    "zeropad": "pad", "zeropadding2d": "pad", "cropping2d": "crop",
}

LAYER_TABLE = ("the layer kinds are listed in the manual's layer table "
               "(docs/spec-language.md, Layers)")


def family_of(word: str) -> str | None:
    """The family a (possibly misspelt) kind's name points at, from its stems; None if none."""
    low = word.lower()
    for family, stems in _STEMS:
        if any(stem in low for stem in stems):
            return family
    return None


def kind_hint(word: str, kinds: Iterable[str], other: Iterable[str]) -> str:
    """The hint for an unknown layer kind ``word``: another framework's name, else the closest
    kinds of its family or of ``other`` (composites, the spec's blocks), else a kind of another
    family only when the typo is near-certain; with no match, the family's kinds (if the word
    names one) and the manual's layer table."""
    known = list(kinds)
    alias = ALIASES.get(word.lower().replace("_", "").replace("-", ""))
    if alias in known:
        return f"did you mean '{alias}'?"
    family = family_of(word)
    kin = [k for k in FAMILIES.get(family or "", ()) if k in known]
    if family:  # its family first; a block or composite, or another family's kind, if close
        close = (difflib.get_close_matches(word, kin, n=1, cutoff=0.6)
                 or difflib.get_close_matches(word, list(other), n=1, cutoff=0.75)
                 # across families only a near-certain typo ('pad_chanels'): 'upsample' is 0.82
                 # like 'subsample', and means nearly the opposite
                 or difflib.get_close_matches(word, known, n=1, cutoff=0.85))
    else:
        close = difflib.get_close_matches(word, [*known, *other], n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if family:
        return f"the {family} kinds are {', '.join(kin)}; {LAYER_TABLE}"
    return LAYER_TABLE[0].upper() + LAYER_TABLE[1:]
