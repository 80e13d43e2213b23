"""Factories for tests/test_import_speed.py: what ``cnnstat import``'s faster child must still
take -- a factory that imports torch._dynamo (as torch.compile does), and factories that do real
tensor work while they build, which the meta device cannot do."""

from __future__ import annotations

import torch
from torch import nn


def small() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))


def with_dynamo() -> nn.Module:
    """Imports torch._dynamo, which rebinds torch.manual_seed to torch's own wrapper of it."""
    import torch._dynamo  # noqa: F401

    return small()


def item_at_build() -> nn.Module:
    """Reads a tensor's value while it builds: ``.item()`` of a meta tensor raises."""
    width = int(torch.tensor(8).item())
    return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(width * 8 * 8, 4))


def checked_weights() -> nn.Module:
    """Seeds, copies weights from a tensor of its own and checks them (a Python bool of a
    tensor's value: a meta tensor has none)."""
    torch.manual_seed(0)
    model = small()
    with torch.no_grad():
        model[0].weight.copy_(torch.randn(8, 3, 3, 3, device="cpu"))
    if not bool(model[0].weight.abs().sum() > 0):
        raise ValueError("weights not initialised")
    return model
