import subprocess
import sys

import torch.nn as nn

# A process that inherits stdout and stderr and would outlive the module by an hour.
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)  # cnnstat-hostile-grandchild"])


def make():
    return nn.Sequential(nn.Conv2d(3, 10, 5, padding=2))
