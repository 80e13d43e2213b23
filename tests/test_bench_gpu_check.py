"""``benchmarks/gpu_check.sh`` cannot run its real steps here (no GPU), so its dry run does: the
same steps on the CPU with tiny settings, the report written where GPU_CHECK_OUT says."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.sh"
BASH = shutil.which("bash")
pytestmark = [pytest.mark.torch, pytest.mark.skipif(BASH is None, reason="needs bash")]


def test_gpu_check_parses() -> None:
    proc = subprocess.run([str(BASH), "-n", str(SCRIPT)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr


def test_gpu_check_dry_run_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "gpu-report.md"
    env = {**os.environ, "GPU_CHECK_DRY_RUN": "1", "GPU_CHECK_OUT": str(out),
           "PYTHON": sys.executable}
    proc = subprocess.run([str(BASH), str(SCRIPT)], capture_output=True, text=True, env=env,
                          check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = out.read_text(encoding="utf-8")
    assert report.startswith("# GPU check: `cnnstat bench` (DRY RUN on the CPU)")
    assert "- torch: " in report and "## GPU tests: `pytest -m gpu`" in report
    assert "\npassed:\n" in report and "deselected" in report
    for dtype in ("float32", "bfloat16"):
        assert f"## conv-example lenet5 at batch 2, {dtype}" in report
        assert f"### cnnstat bench: inference, {dtype}, on" in report
    assert "| conv-example | 2 |" in report and "| lenet5 | 2 |" in report
    assert "All steps passed" in report and "FAILED" not in report
