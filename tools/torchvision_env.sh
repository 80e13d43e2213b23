#!/usr/bin/env bash
# A separate environment with torchvision, to check zoo specs against torchvision's own models
# (never used by CI: torchvision does not import beside the pinned CPU torch 2.13.0 of the test
# setup, so it gets a matching torch/torchvision pair of its own).
#
#   bash tools/torchvision_env.sh            # builds $TV_VENV (default /tmp/cnnstat-tv-venv)
#   $TV_VENV/bin/python tools/verify_torchvision.py   # verifies every pair, writes the table
#   PYTHONPATH=. $TV_VENV/bin/python tools/verify_counters.py   # the --count presets vs the tools
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${TV_VENV:-/tmp/cnnstat-tv-venv}"
python3 -m venv "$venv"
"$venv/bin/pip" install -q "torch==2.14.1" "torchvision==0.29.1" "fvcore>=0.1.5.post20221221"
"$venv/bin/pip" install -q -e .
# the counters of the --count presets, for tools/verify_counters.py (pins: tests/constraints.txt)
DS_BUILD_OPS=0 "$venv/bin/pip" install -q torchinfo==1.8.0 ultralytics-thop==2.2.3 ptflops==0.7.5 \
    torchscan==0.2.0 calflops==0.3.2 transformers==5.24.0 deepspeed==0.19.8
"$venv/bin/python" -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"
