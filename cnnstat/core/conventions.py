"""The counting conventions, stated once and printed wherever a number is shown."""

from __future__ import annotations

MACS = ("MACs: multiply-accumulates of conv and linear weights, bias excluded "
        "(H_out * W_out * C_out * C_in/groups * k_h * k_w per image)")
FLOPS = "FLOPs = 2 x MACs (PyTorch FlopCounterMode's convention)"
ELEMENTWISE = ("element-wise ops (bias adds, normalisation, activations, pooling, merges) are "
               "counted separately by kind, never in MACs")
ACTIVATIONS = "activations: elements of each layer's output"
PARAMS = ("params: trainable weights and biases (BN gamma/beta included); buffers such as BN "
          "running statistics are counted separately")
RECEPTIVE_FIELD = ("receptive field per axis in input pixels (pixel k at index k): r = size, "
                   "j = jump (effective stride), start = centre of unit 0's field (exact, whole "
                   "or half; JSON gives it as a fraction string such as '15/2'), effective "
                   "padding = max(0, (r - 1)/2 - start)")

PRODUCTS = ("attention's activation products (Q.K^T and A.V, heads x N x N x d MACs each over "
            "N = H*W positions) are MACs of activations by activations, not of weights: "
            "reported apart, never in MACs or FLOPs; --count torch counts 2 per MAC, fvcore 1")

ALL = {"macs": MACS, "flops": FLOPS, "elementwise": ELEMENTWISE, "activations": ACTIVATIONS,
       "params": PARAMS, "receptive_field": RECEPTIVE_FIELD}
