#!/usr/bin/env bash
# A separate environment with the classic `thop` (PyPI `thop` 0.1.1.post2209072238,
# Lyken17/pytorch-OpCounter), to compare it with the maintained ultralytics-thop that the `thop`
# preset follows (never used by CI: both packages install as the import name `thop`, so they
# cannot share the test venv).
#
#   bash tools/thop_classic_env.sh           # builds $THOP_VENV (default /tmp/cnnstat-thop-venv)
#   $THOP_VENV/bin/python tools/thop_classic.py   # classic thop vs the presets, per spec
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${THOP_VENV:-/tmp/cnnstat-thop-venv}"
python3 -m venv "$venv"
# the CPU torch of the test setup (tests/constraints.txt), then the classic thop, which imports
# numpy (thop/vision/calc_func.py) without declaring it
"$venv/bin/pip" install -q "torch==2.13.0" numpy
"$venv/bin/pip" install -q --no-deps "thop==0.1.1.post2209072238"
"$venv/bin/pip" install -q -e .
"$venv/bin/python" -c "import importlib.metadata as m, thop; print('torch', m.version('torch'), 'thop', m.version('thop'), thop.__file__)"
