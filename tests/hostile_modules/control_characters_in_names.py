import torch.nn as nn


def make():
    net = nn.Sequential()
    net.add_module("\x1b[2Jconv\r::error file=x::forged", nn.Conv2d(3, 10, 3, padding=1))
    return net
