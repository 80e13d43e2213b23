import sys

import torch.nn as nn

for i in range(200_000):
    sys.stdout.write(f"line {i} of noise\n")


def make():
    return nn.Sequential(nn.Conv2d(3, 10, 5, padding=2))
