"""How much of torchvision ``cnnstat import`` covers: every classification and segmentation
model, and every detection model's backbone (body + FPN), built with ``weights=None`` (no
network), traced as ``cnnstat import`` traces it, and either imported exactly -- the spec's
parameters equal ``numel`` and its FLOPs equal FlopCounterMode's -- or stopped by an operation
with no spec kind, named.  Run with the torchvision venv of tools/torchvision_env.sh and this
checkout's cnnstat, never in CI:

    PYTHONPATH=. /tmp/cnnstat-tv-venv/bin/python tools/import_coverage.py [NAME ...] > table.md

The models are torchvision's own, so they are built (on the meta device: no weights are
initialised) and traced in this process, not in the child process ``cnnstat import`` uses for
code it does not know.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Any

import torch
import torchvision
from torch import nn
from torchvision import models

from cnnstat.errors import SpecError
from cnnstat.torch_backend.importer import run as importer

# torchvision's documented input sizes where not 224
from cnnstat.torch_backend.importer import tracing

# torchvision's documented input sizes where not 224
SIZES = {"inception_v3": 299, "ssd300_vgg16": 300, "ssdlite320_mobilenet_v3_large": 320}


def _factories() -> list[tuple[str, str, Any]]:
    """(family, name, factory) for every model in the three families."""
    out: list[tuple[str, str, Any]] = []
    for name in models.list_models(module=models):
        out.append(("classification", name, lambda n=name: models.get_model(n, weights=None)))
    for name in models.list_models(module=models.segmentation):
        out.append(("segmentation", name, lambda n=name: models.get_model(
            n, weights=None, weights_backbone=None)))
    for name in models.list_models(module=models.detection):
        out.append(("detection backbone", name, lambda n=name: models.get_model(
            n, weights=None, weights_backbone=None).backbone))
    return out


def _reason(problems: list[dict[str, Any]]) -> str:
    """The operation that stops it (the most frequent), and how many others there are."""
    counts: Counter[str] = Counter()
    for p in problems:
        counts[str(p["op"]).replace("torch.nn.modules.", "nn.")] += int(p["count"])
    (op, n), *rest = counts.most_common()
    more = f" (+{len(rest)} more)" if rest else ""
    return f"`{op}` ×{n}{more}"


def one(name: str, factory: Any) -> tuple[str, str]:
    """('exact' | 'fails', detail)."""
    size = SIZES.get(name, 224)
    try:
        with torch.device("meta"):  # nothing allocated, no weight initialisation to wait for
            model: nn.Module = factory()
    except NotImplementedError:  # an initialisation that reads values (RegNet): on the CPU
        model = factory()
    try:
        described = tracing.describe(model, ((3, size, size),))
    except Exception as exc:  # noqa: BLE001 - the table says what stopped the trace
        return "fails", f"trace: {type(exc).__name__}: {str(exc).splitlines()[0][:90]}"
    if "rejected" in described:
        return "fails", _reason(described["rejected"])
    network = described["network"]
    try:
        text = importer.write(network, f"torchvision:{name}", ((3, size, size),), "schema")
        _, _, report = importer.proven(text, f"torchvision:{name}", network)
    except SpecError as exc:
        d = exc.diagnostics[0]
        return "fails", f"spec: {d.code} {d.message[:100]}"
    return "exact", f"{report.totals.params:,} params, {report.totals.macs:,} MACs at " \
        f"{size}x{size}; {len(text.splitlines())} lines"


def main(argv: list[str]) -> int:
    wanted = set(argv)
    rows = []
    for family, name, factory in _factories():
        if wanted and name not in wanted:
            continue
        start = time.perf_counter()
        status, detail = one(name, factory)
        rows.append((family, name, status, detail, time.perf_counter() - start))
        print(f"{family:20} {name:32} {status:8} {detail}", file=sys.stderr, flush=True)
    exact = sum(r[2] == "exact" for r in rows)
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}: {exact} of "
          f"{len(rows)} import exactly\n")
    print("| family | model | import | detail |\n| --- | --- | --- | --- |")
    for family, name, status, detail, _ in rows:
        print(f"| {family} | `{name}` | {status} | {detail} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
