"""Every operation a network runs, named as PyTorch runs it (aten), and what a spec implies: the
one table of the operation-level round trip shared by ``verify --module`` and ``cnnstat
import``.  No torch here: the census (:mod:`~cnnstat.torch_backend.common.census`) is measured
where the user's code runs, and judged with this module where it never ran.

An aten operation falls into a *category*: the categories of :data:`CATEGORIES` group the
operations that do one thing (``relu`` and ``relu_``; the convolution and batch-norm entry
points of each backend), an operation that only moves data (:data:`MOVES_DATA`: views,
reshapes, copies, slices, concatenation) falls into none, and any other operation is a category
of its own name -- so an operation no spec kind implies (``cumsum``, ``softplus``, a constant
``x * 0.2``) is counted, never ignored.

:data:`LOWERINGS` says, per spec kind, which operations one row of that kind runs: one table
(a test builds every kind and checks it against its census).  Where PyTorch lowers a kind to
several operations, or where a kind is commonly written in more than one way, the entry says so
and lists each accepted form (``hardswish``: ``F.hardswish``, or ``x * relu6(x + 3) / 6``).
A kind whose lowering depends on how a composite module is written (``attention``, ``maxout``,
LeNet-5's ``subsample`` and ``rbf``, a conv with a connection table) is *opaque*: it runs what
the module paired with it runs (``verify --module``) or what the traced calls it was written from
ran (``cnnstat import``).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cnnstat.core.ir import iter_layers
from cnnstat.core.report import Report, Row

Ops = Sequence[tuple[str, str, int]]
"""A census: (aten operation, module path, how many times), in the order first seen."""

Lowering = tuple[Mapping[str, int], ...]
"""The accepted forms of one row: categories and how many operations of each."""

# aten operation -> category, where several operations do one thing.  An in-place variant
# (``relu_``) is its operation's name with a trailing underscore, folded in by category().
CATEGORIES: dict[str, str] = {
    **dict.fromkeys(("convolution", "_convolution", "conv2d", "cudnn_convolution",
                     "mkldnn_convolution", "convolution_overrideable", "_convolution_mode",
                     "conv_transpose2d", "cudnn_convolution_transpose",
                     "_slow_conv2d_forward", "slow_conv_transpose2d",
                     "_nnpack_spatial_convolution"), "conv"),
    **dict.fromkeys(("mm", "addmm", "bmm", "baddbmm", "matmul", "linear", "_addmm_activation"),
                    "matmul"),
    **dict.fromkeys(("native_batch_norm", "batch_norm", "_native_batch_norm_legit",
                     "_native_batch_norm_legit_no_training", "_batch_norm_impl_index",
                     "_batch_norm_with_update", "_batch_norm_no_update", "cudnn_batch_norm",
                     "miopen_batch_norm"), "batch_norm"),
    "native_layer_norm": "layer_norm", "native_group_norm": "group_norm",
    **dict.fromkeys(("max_pool2d_with_indices", "max_pool2d", "mkldnn_max_pool2d"), "max_pool"),
    "avg_pool2d": "avg_pool", "_adaptive_avg_pool2d": "adaptive_avg_pool",
    "adaptive_avg_pool2d": "adaptive_avg_pool", "adaptive_max_pool2d": "adaptive_max_pool",
    "_softmax": "softmax", "_log_softmax": "log_softmax",
    **dict.fromkeys(("constant_pad_nd", "reflection_pad2d", "replication_pad2d", "_pad_enum",
                     "pad", "_pad_circular"), "pad"),
    **dict.fromkeys(("upsample_nearest2d", "_upsample_nearest_exact2d", "upsample_bilinear2d",
                     "_upsample_bilinear2d_aa", "upsample_bicubic2d", "_upsample_bicubic2d_aa"),
                    "upsample"),
    "_prelu_kernel": "prelu", "native_channel_shuffle": "channel_shuffle",
}

# Operations that only move data: no element is computed.  Concatenation is one of them (a
# dense block may concatenate all its features once per layer or once at its end, and a
# missing concat changes the channels, which the shapes compare); permute and transpose are
# not: they decide which axis the next operation works over (a layer norm over W or over C).
MOVES_DATA: frozenset[str] = frozenset((
    "view", "_unsafe_view", "reshape", "_reshape_alias", "as_strided", "expand", "expand_as",
    "view_as", "squeeze", "unsqueeze", "t", "clone", "contiguous", "slice", "select", "split",
    "split_with_sizes", "chunk", "unbind", "narrow", "alias", "detach", "_to_copy", "to",
    "copy", "flatten", "unflatten", "lift_fresh", "lift_fresh_copy", "empty_like",
    "zeros_like", "ones_like", "new_empty", "new_zeros", "new_ones", "fill", "zero", "cat",
    "concat", "stack", "_local_scalar_dense", "sym_size", "sym_stride", "sym_numel",
    "sym_storage_offset", "dropout", "feature_dropout", "resolve_conj", "resolve_neg"))


def category(op: str) -> str | None:
    """The category of aten operation ``op`` (``relu_`` -> ``relu``); None when it only moves
    data."""
    name = op[:-1] if op.endswith("_") and not op.endswith("__") else op
    if name in MOVES_DATA:
        return None
    return CATEGORIES.get(name, name)


def tally(ops: Iterable[tuple[str, str, int]]) -> Counter[str]:
    """Operations per category (those that only move data left out)."""
    out: Counter[str] = Counter()
    for op, _, n in ops:
        cat = category(op)
        if cat is not None:
            out[cat] += n
    return out


# -- what each spec kind runs ----------------------------------------------------------------

def _one(**ops: int) -> Lowering:
    return (dict(ops),)


@dataclass(frozen=True)
class Rule:
    """A kind whose operations depend on the row (``forms``), and every category a row of it
    may run (``may``: where an operation is looked for when the counts differ)."""

    forms: Callable[[Mapping[str, Any], Row], Lowering | None]
    may: frozenset[str]


def _conv(args: Mapping[str, Any], row: Row) -> Lowering | None:
    """One convolution; a padding that differs between the two sides of an axis (TensorFlow's
    'same' at an odd total, ``[[0, 1], [0, 1]]``) is a pad before it, as PyTorch runs
    ``nn.Conv2d(padding='same')`` and as ports write ``F.pad``.  A LeNet-5 connection table is
    opaque (one convolution per group of inputs, however the module groups them)."""
    if args.get("connections") is not None:
        return None
    uneven = row.windows is not None and any(w.pad_left != w.pad_right for w in row.windows)
    return _one(conv=1, pad=1) if uneven else _one(conv=1)


def _adaptive(args: Mapping[str, Any], row: Row) -> Lowering:
    """PyTorch runs an adaptive average pooling to 1 x 1 as a mean over H and W."""
    return _one(mean=1) if tuple(row.output_shape[1:]) == (1, 1) else _one(adaptive_avg_pool=1)


def _bn(args: Mapping[str, Any], row: Row) -> Lowering:
    """A frozen batch norm is ``x * scale + shift``, the scale and shift folded from its
    buffers (torchvision's FrozenBatchNorm2d), or ``F.batch_norm`` on its buffers."""
    return ({"mul": 1, "add": 1}, {"batch_norm": 1}) if args.get("frozen") else \
        _one(batch_norm=1)


def _layernorm(args: Mapping[str, Any], row: Row) -> Lowering:
    """Over the channels of a C x H x W map: permute to channels-last, a layer norm over the
    last axis, permute back (torchvision's and timm's LayerNorm2d)."""
    return _one(permute=2, layer_norm=1) if args.get("over") == "channels" else \
        _one(layer_norm=1)


def _merge(cat: str) -> Rule:
    """``add`` and ``mul`` of n tensors: n - 1 operations (a row counts n - 1 per element)."""
    def forms(args: Mapping[str, Any], row: Row) -> Lowering:
        size = 1
        for d in row.output_shape:
            size *= d
        return ({cat: row.ops.get(cat, 0) // size},)

    return Rule(forms, frozenset((cat,)))


Entry = Lowering | Rule | None

# spec kind (and merge) -> what one row runs, each accepted form; None: opaque (see above).
LOWERINGS: dict[str, Entry] = {
    "conv": Rule(_conv, frozenset(("conv", "pad"))), "conv_transpose": _one(conv=1),
    "linear": _one(matmul=1),
    "upsample": _one(upsample=1), "pad": _one(pad=1), "crop": _one(),
    "pixel_shuffle": _one(pixel_shuffle=1), "pixel_unshuffle": _one(pixel_unshuffle=1),
    "maxpool": _one(max_pool=1), "avgpool": _one(avg_pool=1),
    "adaptive_maxpool": _one(adaptive_max_pool=1),
    "adaptive_avgpool": Rule(_adaptive, frozenset(("mean", "adaptive_avg_pool"))),
    "global_avgpool": _one(mean=1), "mean": _one(mean=1), "flatten": _one(),
    "bn": Rule(_bn, frozenset(("batch_norm", "mul", "add"))),
    "layernorm": Rule(_layernorm, frozenset(("layer_norm", "permute"))),
    "groupnorm": _one(group_norm=1),
    # PyTorch runs an instance norm as a batch norm over a (1, N*C, H, W) view
    "instancenorm": _one(batch_norm=1),
    "layer_scale": _one(mul=1),
    # F.normalize times the scale (torchvision's SSD), or the paper's x / (||x|| + eps) * scale
    "l2norm": ({"linalg_vector_norm": 1, "clamp_min": 1, "div": 1, "mul": 1},
               {"pow": 1, "sum": 1, "sqrt": 1, "add": 1, "div": 1, "mul": 1}),
    "drop_path": _one(), "dropout": _one(), "identity": _one(), "permute": _one(permute=1),
    # PyTorch's F.local_response_norm: square, pad the channels, average, scale, power, divide
    "lrn": _one(mul=2, pad=1, avg_pool3d=1, add=1, pow=1, div=1),
    "softmax": _one(softmax=1),
    # nn.ChannelShuffle, or view-transpose-view (torchvision's ShuffleNetV2)
    "channel_shuffle": ({"channel_shuffle": 1}, {"transpose": 1}),
    # ResNet's option A: a strided slice (moves data) and a pad of the channels
    "pad_channels": _one(pad=1),
    "subsample": None, "rbf": None, "maxout": None, "attention": None,
    "relu": _one(relu=1), "relu6": _one(hardtanh=1), "leaky_relu": _one(leaky_relu=1),
    "prelu": _one(prelu=1), "elu": _one(elu=1), "sigmoid": _one(sigmoid=1),
    "tanh": _one(tanh=1), "gelu": _one(gelu=1),
    # F.silu, or x * sigmoid(x)
    "silu": ({"silu": 1}, {"sigmoid": 1, "mul": 1}),
    "swish": ({"silu": 1}, {"sigmoid": 1, "mul": 1}),
    # F.mish, or x * tanh(softplus(x))
    "mish": ({"mish": 1}, {"softplus": 1, "tanh": 1, "mul": 1}),
    # F.hardswish, or x * relu6(x + 3) / 6 (relu6 is aten's hardtanh)
    "hardswish": ({"hardswish": 1}, {"add": 1, "hardtanh": 1, "mul": 1, "div": 1}),
    # F.hardsigmoid, or relu6(x + 3) / 6
    "hardsigmoid": ({"hardsigmoid": 1}, {"add": 1, "hardtanh": 1, "div": 1}),
    # merges: n - 1 adds or multiplies of n tensors (SE's scale is a mul); a concat moves data
    "add": _merge("add"), "mul": _merge("mul"), "concat": _one(),
}


def lowering(row: Row, args: Mapping[str, Any]) -> Lowering | None:
    """What ``row`` (of a layer with ``args``) runs, each accepted form; None when opaque."""
    entry = LOWERINGS[row.kind]
    return entry.forms(args, row) if isinstance(entry, Rule) else entry


def may_run(kind: str) -> frozenset[str] | None:
    """Every category a row of ``kind`` may run; None when opaque (anything)."""
    entry = LOWERINGS.get(kind, ())
    if entry is None:
        return None
    if isinstance(entry, Rule):
        return entry.may
    return frozenset(cat for form in entry for cat in form)


Key = tuple[tuple[tuple[str, int], ...], ...]  # a Lowering made hashable


@dataclass(frozen=True)
class Expected:
    """What the rows of a report run: ``fixed`` (rows with one form, and opaque rows' measured
    operations once added), ``choices`` (rows with several forms: how many, and the forms),
    ``rows`` (each row that runs in eval mode and its forms; None: opaque)."""

    fixed: Counter[str]
    choices: tuple[tuple[int, Key], ...]
    rows: tuple[tuple[Row, Lowering | None], ...]

    def plus(self, ops: Mapping[str, int]) -> Expected:
        """With ``ops`` added (what opaque rows ran)."""
        return Expected(self.fixed + Counter(ops), self.choices, self.rows)


def expected(report: Report) -> Expected:
    """The operations that the rows of ``report`` running in eval mode imply."""
    layers = {layer.name: layer.args for layer in iter_layers(report.graph)}
    fixed: Counter[str] = Counter()
    choices: Counter[Key] = Counter()
    rows: list[tuple[Row, Lowering | None]] = []
    for row in report.rows:
        if row.training:
            continue
        forms = lowering(row, layers.get(row.name, {}))
        rows.append((row, forms))
        if forms is not None and len(forms) == 1:
            fixed.update(forms[0])
        elif forms is not None:
            choices[tuple(tuple(sorted(f.items())) for f in forms)] += 1
    return Expected(fixed, tuple((n, forms) for forms, n in choices.items()), tuple(rows))


def closest(e: Expected, measured: Mapping[str, int]) -> Counter[str]:
    """The spec's operations per category under the choice of forms that makes them the
    module's (``measured``), or, where none does, comes closest (fewest operations apart)."""
    best: Counter[str] = Counter(e.fixed)
    best_gap: int | None = None
    for total in _totals(e):
        gap = sum(abs(total[c] - measured.get(c, 0)) for c in set(total) | set(measured))
        if best_gap is None or gap < best_gap:
            best, best_gap = total, gap
        if gap == 0:
            break
    return +best


_SEARCH = 4096  # the most combinations of forms tried; beyond, one group at a time


def _totals(e: Expected) -> Iterable[Counter[str]]:
    """The spec's counts under each way of choosing the forms of its rows."""
    splits = [list(_splits(n, len(forms))) for n, forms in e.choices]
    size = 1
    for s in splits:
        size *= len(s)
    if size <= _SEARCH:
        for combo in itertools.product(*splits):
            yield _sum(e, combo)
        return
    first = [(n, *[0] * (len(forms) - 1)) for n, forms in e.choices]
    for i, (n, forms) in enumerate(e.choices):  # one group in each of its forms at a time,
        for split in splits[i]:                 # the others in their first
            yield _sum(e, [*first[:i], split, *first[i + 1:]])


def _splits(n: int, parts: int) -> Iterable[tuple[int, ...]]:
    """Every way of writing n as an ordered sum of ``parts`` counts."""
    if parts == 1:
        yield (n,)
        return
    for head in range(n + 1):
        for rest in _splits(n - head, parts - 1):
            yield (head, *rest)


def _sum(e: Expected, combo: Sequence[tuple[int, ...]]) -> Counter[str]:
    total = Counter(e.fixed)
    for counts, (_, forms) in zip(combo, e.choices):
        for k, form in zip(counts, forms):
            for cat, n in form:
                total[cat] += k * n
    return total


def where_ran(ops: Ops, cat: str, *prefer: Callable[[str], bool]) -> str | None:
    """The module path of the first operation of category ``cat`` in ``ops`` at a path the
    first of the ``prefer`` tests accepts (else the next test's; else the first of all)."""
    paths = [path for op, path, _ in ops if category(op) == cat]
    for test in prefer:
        found = next((p for p in paths if test(p)), None)
        if found is not None:
            return found
    return paths[0] if paths else None
