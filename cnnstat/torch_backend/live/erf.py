"""The effective receptive field (Luo et al. 2016, "Understanding the Effective Receptive Field
in Deep Convolutional Neural Networks"): how strongly each input pixel moves one output unit.

The network is built with PyTorch's default initialisation from a fixed seed, in eval mode; for
each of ``samples`` inputs drawn from N(0, 1) (same seed), the gradient of the unit (summed over
its channels) with respect to the input is taken, its absolute value summed over the input
channels, and the mean over the inputs is returned scaled to a maximum of 1.  Plain lists of
floats come back, so callers need no torch.
"""

from __future__ import annotations

import torch

from cnnstat.core.report import Report
from cnnstat.torch_backend.build.net import build


def effective_field(report: Report, layer: str, unit: tuple[int, int], samples: int = 20,
                    seed: int = 0) -> list[list[float]]:
    """The H x W map of mean |d unit / d input| over ``samples`` random inputs, max 1."""
    torch.manual_seed(seed)
    model = build(report, device="cpu").eval()
    gen = torch.Generator().manual_seed(seed)
    captured: list[torch.Tensor] = []
    hook = model.get_submodule(layer).register_forward_hook(
        lambda _m, _i, out: captured.append(out))
    total = torch.zeros(report.input_shape[1:], dtype=torch.float64)
    try:
        for _ in range(samples):
            x = torch.randn(1, *report.input_shape, generator=gen, requires_grad=True)
            captured.clear()
            model(x)
            i, j = unit
            (grad,) = torch.autograd.grad(captured[-1][0, :, i, j].sum(), x)
            total += grad[0].abs().sum(dim=0).double()
    finally:
        hook.remove()
    peak = float(total.max())
    scaled = total / peak if peak > 0 else total
    return [[float(v) for v in row] for row in scaled.tolist()]
