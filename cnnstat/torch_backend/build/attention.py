"""Multi-head self-attention over a feature map (the ``attention`` kind), written so that both
counters see each matrix product unambiguously.

``nn.MultiheadAttention`` is not used: in eval mode it may take a fused fast path
(``aten::_native_multi_head_attention``) that neither FlopCounterMode nor fvcore 0.1.5 counts
as the products it performs, and ``F.scaled_dot_product_attention`` has no fvcore handle.  Here
the projections are ``nn.Linear`` over the tokens (``aten::linear``: fvcore's
``linear_flop_jit``; FlopCounterMode's ``addmm``/``mm``) and the two products are
``torch.matmul`` on 4-d tensors (``aten::matmul``: fvcore's ``matmul_flop_jit``;
FlopCounterMode's ``bmm``).  The softmax and the query scaling are counted by neither tool.
"""

from __future__ import annotations

from torch import Tensor, nn


class SelfAttention2d(nn.Module):
    """C x H x W -> H·W tokens of C -> h heads of d = C/h -> C x H x W; the parameters are
    exactly the rule's: ``qkv`` (3C x C, bias 3C) and ``proj`` (C x C, bias C)."""

    def __init__(self, channels: int, heads: int, qkv_bias: bool, bias: bool) -> None:
        super().__init__()
        self.heads = heads
        self.scale = (channels // heads) ** -0.5
        self.qkv = nn.Linear(channels, 3 * channels, bias=qkv_bias)
        self.proj = nn.Linear(channels, channels, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)                       # B x N x C
        qkv = self.qkv(tokens).reshape(b, h * w, 3, self.heads, c // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)              # each B x heads x N x d
        scores = (q * self.scale).matmul(k.transpose(-2, -1))       # B x heads x N x N
        context = scores.softmax(dim=-1).matmul(v)                  # B x heads x N x d
        out: Tensor = self.proj(context.transpose(1, 2).reshape(b, h * w, c))
        return out.transpose(1, 2).reshape(b, c, h, w)

    def extra_repr(self) -> str:
        return f"heads={self.heads}"
