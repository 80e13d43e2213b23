import os

import torch.nn as nn

os.close(1)
os.close(2)


def make():
    return nn.Sequential(nn.Conv2d(3, 10, 5, padding=2))
