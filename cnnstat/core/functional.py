"""Layers written as functional calls (``functional: true``): the kinds that have a functional
twin in PyTorch, and the call each one is built as.

A functional layer computes exactly what its module does, so no analytic number changes; only
tools that count modules and functions differently see it: a hook on a module does not fire for
``F.relu(x)`` (torchinfo, thop, torchscan count 0), and ptflops counts the patched function once,
where ``nn.ReLU`` is its module hook plus the ``F.relu`` its forward calls (twice).  The presets
of :mod:`cnnstat.core.counters` count a functional row as each tool counts the call.
"""

from __future__ import annotations

#: kind -> the call the builder makes (``F`` is ``torch.nn.functional``), as torchvision writes
#: them (``F.relu`` in GoogLeNet's BasicConv2d, ``F.max_pool2d`` in Inception-v3's blocks,
#: ``F.adaptive_avg_pool2d`` at the end of DenseNet and MobileNetV2).
FUNCTIONALS: dict[str, str] = {
    "relu": "F.relu", "relu6": "F.relu6", "leaky_relu": "F.leaky_relu", "elu": "F.elu",
    "sigmoid": "torch.sigmoid", "tanh": "torch.tanh", "silu": "F.silu", "swish": "F.silu",
    "gelu": "F.gelu", "hardswish": "F.hardswish", "hardsigmoid": "F.hardsigmoid",
    "softmax": "F.softmax",
    "maxpool": "F.max_pool2d", "avgpool": "F.avg_pool2d",
    "adaptive_avgpool": "F.adaptive_avg_pool2d", "global_avgpool": "F.adaptive_avg_pool2d",
    "adaptive_maxpool": "F.adaptive_max_pool2d",
    "flatten": "torch.flatten", "dropout": "F.dropout", "upsample": "F.interpolate",
    # the scale a bare parameter of the enclosing module, applied in its forward (torchvision's
    # SSDFeatureExtractorVGG: ``self.scale_weight.view(1, -1, 1, 1) * F.normalize(x)``)
    "l2norm": "F.normalize",
}
