#!/usr/bin/env bash
# Regenerates the images under docs/ that the README shows, with the commands it documents.
set -euo pipefail
cd "$(dirname "$0")/.."
export CNNSTAT_NO_CACHE=1
# cnnstat plot: needs the plot extra (pip install -e '.[plot]'); the bytes depend on the
# matplotlib version (tests/test_docs_complexity.py compares with the pinned one).
cnnstat plot complexity -o docs/complexity.svg
