"""``--count`` presets: other tools' compute conventions, reproduced exactly from the rows.

Counters disagree by a factor of two and by what they include.  A preset states one tool's
convention as arithmetic over the analytic rows, so its totals can be reconciled with ours:

- ``macs`` (ours, the default): multiply-accumulates of conv and linear weights, bias excluded.
- ``torch``: ``torch.utils.flop_counter.FlopCounterMode``: 2 FLOPs per MAC, and only
  convolutions and matrix products are counted (no bias, normalisation, pooling or activations).
- ``fvcore``: ``fvcore.nn.FlopCountAnalysis`` with its default handles: 1 "flop" per MAC (one
  fused multiply-add), plus, in eval mode, batch norm at 2 per input element (1 without affine
  parameters), adaptive average pooling at 1 per *input* element, and upsampling at 1 (nearest)
  or 4 (bilinear) per *output* element; layer, group and instance norm (``aten::layer_norm``,
  ``aten::group_norm``, ``aten::instance_norm``: ``norm_flop_counter``) at 5 per input element
  with a gamma, 4 without, in either mode.  Other element-wise operators (ReLU, GELU, max
  pooling, sliding or adaptive (``aten::adaptive_max_pool2d``), sliding average pooling, adds,
  layer scale and other multiplies, ``x.mean([2, 3])`` as ``aten::mean``, bicubic
  upsampling, padding, permutes) are skipped by fvcore and count 0 here; stochastic depth is the
  identity in eval mode.  A linear over the last axis of a channels-last map is
  ``aten::linear``: prod(input) x out features, our MACs.  A transposed conv
  is counted by both tools over its input: its MACs, as ours.

Attention's two activation-by-activation products (Q.K^T and A.V, ``Row.products``) are not
weight MACs, so ``macs`` leaves them out; both tools count them, as matrix products: ``torch`` at
2 per multiply-accumulate (``aten.bmm`` from ``torch.matmul``), ``fvcore`` at 1
(``matmul_flop_jit`` on ``aten::matmul``: prod(first operand's shape) x last dimension of the
second).  Neither counts the softmax or the scaling (fvcore has no handle for them;
FlopCounterMode counts only matrix products and convolutions).

Each preset is proven layer by layer against the live tool by ``cnnstat verify``.  Numbers are
per image, like the rows; :meth:`Preset.total` scales by the batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cnnstat.core.report import Report, Row
from cnnstat.errors import UsageError


def _fvcore_batch_norm(row: Row) -> int:
    """fvcore ``batchnorm_flop_jit``: eval mode numel(input) * (2 if affine else 1); training
    mode (a training-only row) also counts the statistics: numel(input) * (5 if affine else 4).

    An affine batch norm is the one with gamma, i.e. with weights.  A frozen batch norm
    (FrozenBatchNorm2d) runs as aten::mul and aten::add, which fvcore skips: 0."""
    if "frozen_bn" in row.ops:
        return 0
    if row.training:
        return math.prod(row.input_shape) * (5 if row.weights else 4)
    return math.prod(row.input_shape) * (2 if row.weights else 1)


def _fvcore_adaptive_pool(row: Row) -> int:
    """fvcore ``elementwise_flop_counter(1, 0)`` on aten::adaptive_avg_pool2d: numel(input)."""
    return math.prod(row.input_shape)


def _fvcore_norm(row: Row) -> int:
    """fvcore ``norm_flop_counter`` (aten::layer_norm, group_norm, instance_norm): numel(input)
    * (5 if a weight (gamma) is passed else 4), in eval and training mode alike."""
    return math.prod(row.input_shape) * (5 if row.weights else 4)


#: fvcore's handles for resampling: ``aten::upsample_nearest2d`` is ``elementwise_flop_counter(0,
#: 1)`` and ``aten::upsample_bilinear2d`` ``elementwise_flop_counter(0, 4)``: 1 and 4 per output
#: element; bicubic has no handle (0).
FVCORE_UPSAMPLE = {"nearest": 1, "bilinear": 4}


def _fvcore_upsample(row: Row) -> int:
    """fvcore's upsample handles: per output element, 1 (nearest) or 4 (bilinear); bicubic 0."""
    mode = row.maps[0].mode if row.maps else ""
    return FVCORE_UPSAMPLE.get(mode, 0) * math.prod(row.output_shape)


#: One row's count under a preset, as differences from our MACs by cause (per image): the count is
#: ``row.macs + sum(parts.values())``.  Causes: ``factor`` (2 FLOPs per MAC), ``bias``,
#: ``normalisation``, ``activations``, ``pooling``, ``elementwise`` (residual adds, SE scaling),
#: ``resampling``, ``products`` (attention's activation-by-activation products, which our MACs
#: leave out), ``double counting`` (one operation counted twice), ``skipped`` (MACs the tool
#: does not count: negative), ``other`` (named in the rule's docstring).
Parts = dict[str, int]
Rule = Callable[[Row], Parts]
CAUSES = ("factor", "bias", "normalisation", "activations", "pooling", "elementwise",
          "resampling", "products", "double counting", "skipped", "other")


def no_rule(preset: str, kind: str) -> UsageError:
    return UsageError(f"the '{preset}' preset has no rule for layer kind '{kind}' yet",
                      "use --count macs, torch or fvcore (they count every kind), or another preset")


@dataclass(frozen=True)
class Preset:
    """A tool's convention: ``rules`` per layer kind, each giving the row's :data:`Parts`;
    ``default`` for every other kind (a convention that holds whatever the kind: FlopCounterMode
    counts every conv and matmul), or None: a kind without a rule is refused, never counted 0."""

    name: str
    label: str
    convention: str
    rules: Mapping[str, Rule] = field(default_factory=dict)
    default: Rule | None = None
    tool: str = ""  # the distribution and version whose source the rules follow
    per_call: Rule | None = None  # parts a tool adds once per call, whatever the batch
    # rules for a row written as a functional call (``Row.functional``), where the tool counts
    # the call differently from the module (a hook does not fire); other kinds: as the module
    functional: Mapping[str, Rule] = field(default_factory=dict)

    def rule(self, row: Row) -> Rule | None:
        """The rule of the row's kind: its functional rule for a functional row, where one is
        given."""
        if row.functional and row.kind in self.functional:
            return self.functional[row.kind]
        return self.rules.get(row.kind, self.default)

    def parts(self, row: Row) -> Parts:
        """The row's count as differences from its MACs, by cause, per image (zero parts left out)."""
        rule = self.rule(row)
        if rule is None:
            raise no_rule(self.name, row.kind)
        return {k: v for k, v in rule(row).items() if v}

    def count(self, row: Row) -> int:
        """This preset's count for one row, per image (a training-only row as the tool counts
        it in training mode, the only mode it runs in)."""
        return row.macs + sum(self.parts(row).values())

    def batch_parts(self, row: Row, batch: int) -> Parts:
        """:meth:`parts` for a batch: per image times the batch, plus what the tool adds once
        per call (torchscan's batch norm and transposed conv constants)."""
        out = {k: v * batch for k, v in self.parts(row).items()}
        for k, v in (self.per_call(row) if self.per_call else {}).items():
            out[k] = out.get(k, 0) + v
        return {k: v for k, v in out.items() if v}

    def batch_count(self, row: Row, batch: int) -> int:
        """This preset's count for one row at ``batch`` images."""
        return row.macs * batch + sum(self.batch_parts(row, batch).values())

    def total(self, report: Report) -> int:
        """Sum over the rows that run at inference, for the report's batch (eval mode, as
        inference counters measure)."""
        return sum(self.batch_count(r, report.batch) for r in report.rows if not r.training)

    def total_parts(self, report: Report) -> Parts:
        """:meth:`total` as differences from the MACs total by cause, for the report's batch."""
        out: Parts = {}
        for row in (r for r in report.rows if not r.training):
            for cause, n in self.batch_parts(row, report.batch).items():
                out[cause] = out.get(cause, 0) + n
        return {c: out[c] for c in CAUSES if out.get(c)}


def _fvcore(row: Row) -> Parts:
    """fvcore's handles beyond conv and matmul (1 per MAC, as ours)."""
    extra = {"bn": ("normalisation", _fvcore_batch_norm),
             "adaptive_avgpool": ("pooling", _fvcore_adaptive_pool),
             "global_avgpool": ("pooling", _fvcore_adaptive_pool),
             "upsample": ("resampling", _fvcore_upsample),
             "layernorm": ("normalisation", _fvcore_norm),
             "groupnorm": ("normalisation", _fvcore_norm),
             "instancenorm": ("normalisation", _fvcore_norm)}.get(row.kind)
    parts = {extra[0]: extra[1](row)} if extra else {}
    if row.product_macs:  # matmul_flop_jit on aten::matmul: 1 per multiply-accumulate
        parts["products"] = row.product_macs
    return parts


MACS = Preset(
    "macs", "MACs",
    "MACs: multiply-accumulates of conv and linear weights, bias excluded", default=lambda r: {})
TORCH = Preset(
    "torch", "FLOPs (torch)",
    "torch: PyTorch FlopCounterMode, 2 FLOPs per MAC of conv and linear (matmul) only, and of "
    "attention's activation products (bmm)",
    default=lambda r: {"factor": r.macs, "products": 2 * r.product_macs}, tool="torch")
FVCORE = Preset(
    "fvcore", "flops (fvcore)",
    "fvcore: FlopCountAnalysis defaults, 1 per MAC of conv and linear, plus eval-mode batch norm "
    "(2 per input element, 1 without affine, 0 frozen), layer/group/instance norm (5 per input "
    "element, 4 without gamma), adaptive avg pooling (1 per input element) and "
    "upsampling (1 per output element for nearest, 4 for bilinear), and 1 per MAC of attention's "
    "activation products (matmul)", default=_fvcore,
    tool="fvcore 0.1.5.post20221221")
PRESETS: dict[str, Preset] = {p.name: p for p in (MACS, TORCH, FVCORE)}
