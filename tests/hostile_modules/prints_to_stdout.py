import sys

import torch.nn as nn

print("importing: hello on stdout")
print("importing: and on stderr", file=sys.stderr)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 10, 5, padding=2)

    def forward(self, x):
        print("{not json", flush=True)
        return self.conv(x)


def make():
    print("factory: \x1b]0;retitled\x07\x1b[2J\rcleared")
    return Net()
