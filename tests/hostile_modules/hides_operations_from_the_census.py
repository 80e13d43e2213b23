import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    """Replaces the census's dispatch in forward(), so that its ReLU would not be counted."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 10, 5, padding=2)

    def forward(self, x):
        from cnnstat.torch_backend.common import census

        census.Census.__torch_dispatch__ = \
            lambda self, func, types, args=(), kwargs=None: func(*args, **(kwargs or {}))
        return F.relu(self.conv(x))


def make():
    return Net()
