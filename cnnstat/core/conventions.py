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

ALL = {"macs": MACS, "flops": FLOPS, "elementwise": ELEMENTWISE, "activations": ACTIVATIONS,
       "params": PARAMS}
