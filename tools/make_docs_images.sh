#!/usr/bin/env bash
# Regenerates the images under docs/ that the README and the docs site show, with the commands
# docs/pictures.md documents.
# Needs Graphviz's dot and the graph extra (pip install -e '.[graph]').  The SVG text depends on
# the dot version only (tests/test_docs_images.py compares when the versions agree).
set -euo pipefail
cd "$(dirname "$0")/.."
export CNNSTAT_NO_CACHE=1
cnnstat graph inception-bottleneck -o docs/inception-bottleneck-graph.svg
cnnstat graph resnet18 --depth 2 -o docs/resnet18-graph.svg
# cnnstat plot: needs the plot extra (pip install -e '.[plot]'); the bytes depend on the
# matplotlib version (tests/test_docs_complexity.py compares with the pinned one).
cnnstat plot complexity -o docs/complexity.svg
