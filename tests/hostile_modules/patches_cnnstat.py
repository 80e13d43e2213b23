import torch.nn as nn

import cnnstat.torch_backend.common.measure as measure

measure.numel = lambda tensors: 760


def make():
    return nn.Sequential(nn.Conv2d(3, 10, 3, padding=1))
