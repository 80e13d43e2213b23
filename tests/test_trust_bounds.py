"""Bounded work and user errors on the new inputs (issue 26, sections 4 and 5): scale's phi,
step and target; objectives; --kwargs; plot's bench documents and its glyph warnings; report
anchors; DOT strings; a layer too large for PyTorch; and the module's child process -- its
address space limited, nothing it starts left running.  Every case runs the CLI as a user does,
bounded in time and memory, fenced in the test's directory (tests/trust_cli.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from cnnstat.analysis.scaling import MAX_PHI, MAX_STEPS
from cnnstat.cli.options import OBJECTIVE_METRICS
from tests.trust_cli import run, run_many

TORCH_MEMORY = 6 << 30  # the parent's bound when the child imports torch (it inherits it)


@pytest.fixture(scope="module")
def bounded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The scale, objective and --kwargs cases, run in one bounded child process."""
    tmp = tmp_path_factory.mktemp("bounded")
    deep = "{\"a\": " + "[" * 100_000 + "]" * 100_000 + "}"
    cases = {
        **{f"phi {p}": ["scale", "efficientnet-b0", "--phi", p, "--format", "csv"]
           for p in ("1e9", "-1e9", "1-1000000000", "1000000.5", "1e999999999", "1e-300")},
        "step": ["scale", "efficientnet-b0", "--search", "--step", "1e-9"],
        "target": ["scale", "efficientnet-b0", "--target", "macs=999999999999999T"],
        "objective sweep": ["sweep", "lenet5", "--vary", "classes=10,20", "--objective",
                            "bogus"],
        "objective merge": ["merge", str(tmp / "none.jsonl"), "--objective", "max:bogus"],
        "kwargs": ["import", "nets.py:make", "--input", "3x8x8", "--kwargs", deep],
        "memory limit": ["import", "nets.py:make", "--input", "3x8x8", "--memory-limit",
                         "0.1"],
    }
    return dict(zip(cases, run_many(tmp, list(cases.values()))))


@pytest.mark.parametrize("phi", ["1e9", "-1e9", "1-1000000000", "1000000.5"])
def test_phi_is_bounded(bounded: dict[str, dict[str, Any]], phi: str) -> None:
    proc = bounded[f"phi {phi}"]
    assert proc["exit"] == 2 and proc["seconds"] < 5
    assert f"--phi '{phi}': phi runs from -{MAX_PHI} to {MAX_PHI}" in proc["stderr"]


def test_phi_reads_numbers_before_ranges(bounded: dict[str, dict[str, Any]]) -> None:
    tiny = bounded["phi 1e-300"]
    assert tiny["exit"] == 0, tiny["stderr"]
    assert "rule phi=1e-300," in tiny["stdout"]  # a number, not the range 1e..300
    huge = bounded["phi 1e999999999"]
    assert huge["exit"] == 2 and huge["seconds"] < 5
    assert "--phi '1e999999999': expected a number" in huge["stderr"]


def test_the_search_step_count_is_bounded(bounded: dict[str, dict[str, Any]]) -> None:
    proc = bounded["step"]
    assert proc["exit"] == 2 and proc["seconds"] < 5
    assert f"--step 1e-09: {10 ** 9:,} steps from 1 to 2, more than {MAX_STEPS}" \
        in proc["stderr"]
    assert f"give --step {1 / MAX_STEPS:g} or more" in proc["stderr"]


def test_a_target_beyond_the_spec_is_about_the_value(bounded: dict[str, dict[str, Any]]) -> None:
    proc = bounded["target"]
    assert proc["exit"] == 2, proc["stdout"]
    limit = 999_999_999_999_999 * 10 ** 12
    assert f"--target macs<={limit:,}: out of the spec's reach: the spec rejects phi = " \
        in proc["stderr"]
    assert "E207" in proc["stderr"] and "give a smaller limit" in proc["stderr"]
    assert "over the budget" not in proc["stderr"] + proc["stdout"]


@pytest.mark.parametrize("command", ["sweep", "merge"])
def test_an_unknown_objective_is_refused(bounded: dict[str, dict[str, Any]],
                                         command: str) -> None:
    proc = bounded[f"objective {command}"]
    assert proc["exit"] == 2 and proc["stdout"] == ""
    assert "--objective" in proc["stderr"] and "bogus" in proc["stderr"]
    assert ", ".join(OBJECTIVE_METRICS) in proc["stderr"]


def test_deeply_nested_kwargs_and_a_tiny_memory_limit_are_usage_errors(
        bounded: dict[str, dict[str, Any]]) -> None:
    kwargs, limit = bounded["kwargs"], bounded["memory limit"]
    assert kwargs["exit"] == 2 and "Invalid value for '--kwargs': nested too deeply" \
        in kwargs["stderr"]
    assert limit["exit"] == 2 and "'0.1' is less than 256 MiB" in limit["stderr"]


# -- plot: bench documents read with the input guards, every drawn figure checked --------------

def _bench_doc() -> dict[str, Any]:
    layer = {"name": "conv1", "intensity": 2.5, "flops": 1000, "seconds": {"median": 1e-6}}
    batch = {"batch": 1, "latency_s": {"median": 0.01, "p10": 0.009, "p90": 0.011},
             "images_per_s": 100.0, "per_layer": {"layers": [layer]}}
    return {"command": "bench", "results": [{"spec": "net", "input_shape": [3, 8, 8],
                                             "batches": [batch]}], "probe": None}


PLOTS = {
    "deep": ("[" * 100_000 + "]" * 100_000, "not a cnnstat JSON document (nested too deeply)"),
    "flops as text": (lambda d: d["results"][0]["batches"][0]["per_layer"]["layers"][0]
                      .update(flops="lots"), "the FLOPs of conv1 is 'lots', not a number"),
    "nested name": (lambda d: d["results"][0].update(spec=[[[[["x"]]]]] * 3), None),
    "latency as a list": (lambda d: d["results"][0]["batches"][0]["latency_s"]
                          .update(median=[1]), "the median latency at batch 1 is list"),
}


@pytest.fixture(scope="module")
def plotted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    pytest.importorskip("matplotlib")
    tmp = tmp_path_factory.mktemp("plotted")
    runs, keys = [], []
    for name, (change, _) in PLOTS.items():
        path = tmp / f"{name.replace(' ', '-')}.json"
        if isinstance(change, str):
            path.write_text(change)
        else:
            doc = _bench_doc()
            change(doc)
            path.write_text(json.dumps(doc))
        for kind in ("roofline", "bench"):
            runs.append(["plot", kind, str(path), "-o", str(tmp / f"{len(runs)}.svg")])
            keys.append(f"{name} {kind}")
    os.mkfifo(tmp / "fifo.json")
    for name, path in (("device", "/dev/zero"), ("fifo", str(tmp / "fifo.json"))):
        runs.append(["plot", "roofline", path, "-o", str(tmp / "x.svg")])
        keys.append(name)
    (tmp / "glyph.yaml").write_text("name: glyph\ninput: [3, 8, 8]\nlayers:\n"
                                    "  - conv: {out: 4, kernel: 3, name: \"c\\u4e00\"}\n")
    runs.append(["plot", "layers", str(tmp / "glyph.yaml"), "-o", str(tmp / "glyph.svg")])
    keys.append("glyph")
    return dict(zip(keys, run_many(tmp, runs)))


@pytest.mark.parametrize("kind", ["roofline", "bench"])
@pytest.mark.parametrize("case", list(PLOTS))
def test_a_bench_document_is_checked_before_it_is_drawn(plotted: dict[str, dict[str, Any]],
                                                        case: str, kind: str) -> None:
    proc, message = plotted[f"{case} {kind}"], PLOTS[case][1]
    if message is None:  # a name that is not text is drawn as '?', never recursed into
        assert proc["exit"] == 0, proc["stderr"]
        return
    if kind == "roofline" and "latency" in case or kind == "bench" and "flops" in case:
        assert proc["exit"] == 0, proc["stderr"]  # a figure this plot does not draw
        return
    assert proc["exit"] == 2 and message in proc["stderr"], proc["stderr"]


@pytest.mark.parametrize("case, message", [("device", "a character device, not a regular file"),
                                           ("fifo", "a FIFO (named pipe), not a regular file")])
def test_plot_reads_only_regular_files(plotted: dict[str, dict[str, Any]], case: str,
                                       message: str) -> None:
    proc = plotted[case]
    assert proc["exit"] == 2 and message in proc["stderr"] and proc["seconds"] < 5


def test_a_missing_glyph_is_our_warning_not_matplotlibs(plotted: dict[str, dict[str, Any]]
                                                        ) -> None:
    proc = plotted["glyph"]
    assert proc["exit"] == 0, proc["stderr"]
    assert "cnnstat: plot: warning: the font DejaVu Sans has no glyph for CJK UNIFIED " \
        "IDEOGRAPH-4E00; the figure shows an empty box in its place" in proc["stderr"]
    assert "UserWarning" not in proc["stderr"] and "Glyph 19968" not in proc["stderr"]


def test_the_report_says_a_missing_glyph_as_plot_does(tmp_path: Path) -> None:
    """report draws with the same figures as plot, so the same warning is ours there too."""
    pytest.importorskip("matplotlib")
    spec = tmp_path / "glyph.yaml"
    spec.write_text("name: glyph\ninput: [3, 8, 8]\nlayers:\n"
                    "  - conv: {out: 4, kernel: 3, name: \"c\\u4e00\"}\n")
    proc = run(tmp_path, "report", str(spec), "-o", str(tmp_path / "glyph.html"), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("cnnstat: report: warning: the font DejaVu Sans has no glyph for "
                             "CJK UNIFIED IDEOGRAPH-4E00; the figure shows an empty box") == 1
    assert "UserWarning" not in proc.stderr and "Glyph 19968" not in proc.stderr


# -- report anchors and DOT strings ---------------------------------------------------------------

def test_report_anchors_of_a_dot_b_and_a_underscore_b_differ(tmp_path: Path) -> None:
    for name in ("a.b", "a_b"):
        (tmp_path / f"{name}.yaml").write_text(f"name: {name}\ninput: [3, 8, 8]\nlayers:\n"
                                               "  - conv: {out: 4, kernel: 3}\n")
    proc = run(tmp_path, "report", "a.b.yaml", "a_b.yaml", "-o", "r.html", "--no-verify",
               timeout=60)
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "r.html").read_text()
    sections = re.findall(r'<section class="spec" id="([^"]+)"', page)
    assert sections == ["spec-a_2e_b", "spec-a_5f_b"]
    assert all(f'href="#{s}"' in page for s in sections)


def test_dot_strings_escape_ampersands(tmp_path: Path) -> None:
    (tmp_path / "amp.yaml").write_text("name: amp\ninput: [3, 8, 8]\nlayers:\n"
                                       "  - conv: {out: 4, kernel: 3, name: '&#99;onv&#49;'}\n")
    proc = run(tmp_path, "graph", "amp.yaml", "-o", "amp.dot")
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "amp.dot").read_text()
    assert '"&amp;#99;onv&amp;#49;" [label="&amp;#99;onv&amp;#49;\\n' in text
    assert "&#99;" not in text.replace("&amp;#99;", "")
    if shutil.which("dot"):  # Graphviz draws the name as written
        svg = subprocess.run(["dot", "-Tsvg", str(tmp_path / "amp.dot")], capture_output=True,
                             text=True, timeout=30, check=True).stdout
        assert ">&amp;#99;onv&amp;#49;<" in svg and ">conv1<" not in svg


# -- torch: too large to build; the module's child bounded and cleaned up ----------------------

@pytest.fixture(scope="module")
def too_large(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """verify and bench of a 2^31-1 -> 2^31-1 linear, in one bounded child (one torch start)."""
    pytest.importorskip("torch")
    tmp = tmp_path_factory.mktemp("too-large")
    side = 2 ** 31 - 1
    (tmp / "big.yaml").write_text(f"name: big\ninput: [{side}]\nlayers:\n"
                                  f"  - linear: {{out: {side}}}\n")
    commands = ("verify", "bench")
    runs = [[command, str(tmp / "big.yaml")] for command in commands]
    return dict(zip(commands, run_many(tmp, runs, seconds=120, memory=TORCH_MEMORY)))


@pytest.mark.torch
@pytest.mark.parametrize("command", ["verify", "bench"])
def test_a_layer_too_large_for_pytorch_is_a_usage_error(too_large: dict[str, dict[str, Any]],
                                                        command: str) -> None:
    proc = too_large[command]
    assert proc["exit"] == 2
    assert "big: layer 'linear1' is too large to build in PyTorch" in proc["stderr"]
    assert "Storage size calculation overflowed" in proc["stderr"]  # the cause, quoted


MODULE = '''\
import os
import subprocess
import sys

import torch.nn as nn

SLEEP = "import time; time.sleep(3600)  # {marker}"


def make():
    """Leaves a process in a new session and a double-forked daemon, then returns a net."""
    subprocess.Popen([sys.executable, "-c", SLEEP], start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", SLEEP])
        os._exit(0)
    os.waitpid(pid, 0)
    return nn.Sequential(nn.Conv2d(3, 4, 3))


def hog():
    block = bytearray(3 << 30)  # 3 GiB, beyond a 2 GiB limit
    return nn.Sequential(nn.Conv2d(3, 4, 3))
'''


def _marked(marker: str) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                out.append(int(entry.name))
        except OSError:
            continue
    return out


@pytest.mark.torch
@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_the_modules_process_is_bounded_and_leaves_nothing_behind(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    marker = f"cnnstat-trust-{os.getpid()}-{time.monotonic_ns()}"
    (tmp_path / "nets.py").write_text(MODULE.replace("{marker}", marker))
    with ThreadPoolExecutor(2) as pool:  # the two imports side by side: one torch start-up
        made = pool.submit(run, tmp_path, "import", "nets.py:make", "--input", "3x8x8",
                           timeout=180, memory=TORCH_MEMORY)
        hogged = pool.submit(run, tmp_path, "import", "nets.py:hog", "--input", "3x8x8",
                             "--memory-limit", "2", timeout=180, memory=TORCH_MEMORY)
        made_proc, hog_proc = made.result(), hogged.result()
    try:
        assert made_proc.returncode == 0, made_proc.stderr
        assert "conv" in made_proc.stdout
        assert not _marked(marker), "a process the module started outlived the import"
    finally:
        for pid in _marked(marker):  # only ours: the marker is unique to this run
            os.kill(pid, 9)
    assert hog_proc.returncode == 2
    assert "--module 'nets.py:hog': out of memory in hog(): MemoryError" in hog_proc.stderr
    assert "may use 2 GiB of address space; give it more with --memory-limit" in hog_proc.stderr
