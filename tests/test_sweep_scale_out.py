"""Sweeps at scale: worker processes, an interrupted sweep resumed, shards merged (issue 18,
item 4).  The interruption is real: a child process killed with SIGINT or SIGTERM mid-way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

GRID = ["resnet50", "--vary", "width=0.25,0.5,0.75,1,1.25", "--vary", "depth=0.5,1,1.5",
        "--input", "3x64x64", "--input", "3x96x96", "--no-rf"]
TOTAL = 5 * 3 * 2
# the interrupted sweep: receptive fields on and larger inputs, so that it runs for seconds
# even on a fast idle machine and the signal lands mid-way
LONG = ["resnet50", "--vary", "width=0.25,0.5,0.75,1,1.25,1.5,1.75,2", "--vary",
        "depth=0.5,1,1.5,2,2.5", "--input", "3x224x224", "--input", "3x320x320"]
LONG_TOTAL = 8 * 5 * 2


def rows_of(stdout: str) -> list[dict[str, object]]:
    return list(json.loads(stdout)["rows"])


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture(scope="module")
def one_run(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, object]]:
    from click.testing import CliRunner

    from cnnstat.cli.main import main

    result = CliRunner().invoke(main, ["sweep", *GRID, "--format", "json", "-j", "1",
                                       "--objective", "macs", "--objective", "max:params"])
    assert result.exit_code == 0, result.output
    return rows_of(result.stdout)


def test_processes_give_the_same_rows_in_the_same_order(cli, one_run) -> None:
    result = cli("sweep", *GRID, "--format", "json", "-j", "2",
                 "--objective", "macs", "--objective", "max:params")
    assert result.exit_code == 0, result.stderr
    assert rows_of(result.stdout) == one_run
    assert len(one_run) == TOTAL


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_sweep_resumes_without_redoing_rows(cli, tmp_path: Path,
                                                           sig: signal.Signals) -> None:
    out = tmp_path / "run.jsonl"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen([sys.executable, "-m", "cnnstat", "sweep", *LONG, "-j", "2",
                              "--out", str(out), "--format", "json"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(lines(out)) < 4 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert child.poll() is None, "the sweep ended before it could be interrupted"
    child.send_signal(sig)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    before = lines(out)
    finished = len(before) - 1  # the header
    assert 3 <= finished < LONG_TOTAL
    result = cli("sweep", *LONG, "-j", "1", "--out", str(out), "--resume", "--format", "json",
                 "--objective", "macs", "--objective", "max:params")
    assert result.exit_code == 0, result.stderr
    after = lines(out)
    assert after[: len(before)] == before  # the finished rows kept as they were
    assert len(after) == 1 + LONG_TOTAL  # and none written twice: each configuration once
    assert len({json.loads(x)["key"] for x in after[1:]}) == LONG_TOTAL
    one_run = cli("sweep", *LONG, "-j", "1", "--format", "json", "--objective", "macs",
                  "--objective", "max:params")
    assert rows_of(result.stdout) == rows_of(one_run.stdout)


def test_a_line_cut_short_is_dropped_on_resume(cli, tmp_path: Path) -> None:
    out = tmp_path / "run.jsonl"
    small = ["resnet50", "--vary", "width=0.25,0.5", "--input", "3x64x64", "--no-rf", "-j", "1"]
    assert cli("sweep", *small, "--out", str(out)).exit_code == 0
    whole = lines(out)
    out.write_text("\n".join(whole[:2]) + "\n" + whole[2][:40])  # killed mid-write
    result = cli("sweep", *small, "--out", str(out), "--resume", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert lines(out) == whole


def test_resume_refuses_a_different_sweep(cli, tmp_path: Path) -> None:
    out = tmp_path / "run.jsonl"
    assert cli("sweep", "resnet50", "--vary", "width=0.25", "--input", "3x64x64", "--no-rf",
               "-j", "1", "--out", str(out)).exit_code == 0
    result = cli("sweep", "resnet50", "--vary", "width=0.5", "--input", "3x64x64", "--no-rf",
                 "-j", "1", "--out", str(out), "--resume")
    assert result.exit_code == 2 and "different sweep" in result.stderr


def test_shards_merge_to_the_one_run(cli, one_run, tmp_path: Path) -> None:
    files = []
    for i in range(3):
        path = tmp_path / f"shard-{i}.jsonl"
        result = cli("sweep", *GRID, "-j", "1", "--shard", f"{i}/3", "--out", str(path),
                     "--format", "json")
        assert result.exit_code == 0, result.stderr
        assert len(rows_of(result.stdout)) in (TOTAL // 3, TOTAL // 3 + 1)
        files.append(str(path))
    merged = cli("merge", *reversed(files), "--format", "json",
                 "--objective", "macs", "--objective", "max:params")
    assert merged.exit_code == 0, merged.stderr
    assert rows_of(merged.stdout) == one_run
    partial = cli("merge", *files[:2], "--format", "json")
    assert partial.exit_code == 0
    assert f"of {TOTAL} configurations are in no file" in partial.stderr
    other = tmp_path / "other.jsonl"
    assert cli("sweep", "resnet50", "--vary", "width=1", "--no-rf", "-j", "1", "--out",
               str(other)).exit_code == 0
    mixed = cli("merge", files[0], str(other))
    assert mixed.exit_code == 2 and "different sweep" in mixed.stderr
