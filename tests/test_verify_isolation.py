"""``verify --module`` at arm's length (the hostile corpus is tests/test_hostile_modules.py): the
``--timeout`` option, the guard against a module that patches torch, Ctrl-C while the module
runs, output captured from the module, and ``verify`` running out of memory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from cnnstat.render.escape import captured

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

from cnnstat.analysis import analyze  # noqa: E402
from cnnstat.torch_backend.common import measure  # noqa: E402
from cnnstat.torch_backend.verify.conformance import conform, warm_up  # noqa: E402
from cnnstat.torch_backend.isolation.guard import Snapshot  # noqa: E402

HOSTILE = Path(__file__).parent / "hostile_modules"
ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "-inf", "soon", "86401"])
def test_timeout_must_be_a_finite_number_of_seconds_above_0(value: str, cli: Callable) -> None:
    result: Result = cli("verify", "conv-example", "--module", f"{HOSTILE}/conforming.py:make",
                         "--timeout", value)
    assert result.exit_code == 2 and result.stdout == ""
    assert "Invalid value for '--timeout'" in result.stderr and "seconds" in result.stderr


def test_timeout_without_module_is_a_usage_error(cli: Callable) -> None:
    result = cli("verify", "conv-example", "--timeout", "5")
    assert result.exit_code == 2 and "--timeout applies to --module" in result.stderr


def test_module_without_torch_exits_2_with_the_install_hint() -> None:
    code = ("import sys; sys.modules['torch'] = None; from cnnstat.cli.main import main; "
            f"main(['verify', 'conv-example', '--module', '{HOSTILE}/conforming.py:make'])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "pip install 'cnnstat[torch]'" in proc.stderr and "Traceback" not in proc.stderr


def test_the_forging_module_would_fool_a_measurement_in_its_own_process() -> None:
    """Why the guard exists: measured where it ran, the corpus's forging module (a 3x3 conv,
    280 parameters) passes as the spec's 5x5 conv (760).  ``verify`` refuses it (corpus)."""
    code = ("import runpy, cnnstat; from cnnstat.torch_backend.verify.conformance import conform; "
            f"make = runpy.run_path({str(HOSTILE / 'patches_flop_counter_and_parameters.py')!r})"
            "['make']; print(conform(cnnstat.analyze('conv-example'), make(), 'x').ok)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.stdout.strip() == "True", proc.stderr


def test_the_guard_names_what_was_patched(monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = Snapshot.take()
    assert snapshot.changes() == []
    monkeypatch.setattr(torch.nn.Conv2d, "forward", lambda self, x: x)
    monkeypatch.setattr(measure, "numel", lambda tensors: 0)
    monkeypatch.setattr(torch.nn.Linear, "__call__", lambda self, x: x, raising=False)
    assert snapshot.changes() == ["cnnstat.torch_backend.common.measure.numel",
                                  "torch.nn.modules.conv.Conv2d.forward",
                                  "torch.nn.modules.linear.Linear.__call__"]
    monkeypatch.undo()
    assert snapshot.changes() == []


def test_the_guard_sees_nothing_when_networks_are_built_and_measured(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """No false alarm: loading (no cache: pydantic builds its validators on first use),
    building and measuring real networks changes no guarded name."""
    import cnnstat
    import cnnstat.spec.models  # noqa: F401 - guarded from the start, as in the child

    monkeypatch.setenv("CNNSTAT_NO_CACHE", "1")
    warm_up()
    snapshot = Snapshot.take()

    for name in ("mobilenet-v3-small", "googlenet", "lenet5"):
        report = analyze(name)
        assert conform(report, cnnstat.build(name), name).ok
    assert snapshot.changes() == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_ctrl_c_while_the_module_runs_ends_its_process() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cnnstat", "verify", "conv-example", "--module",
         f"{HOSTILE}/hang_in_forward.py:make"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        child = _wait_for_child(proc.pid, seconds=60)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode != 0 and b"Traceback" not in err
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(child)


def _wait_for_child(pid: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == pid:  # the child's parent is cnnstat
                time.sleep(3)  # let it get into the module
                return int(stat.parent.name)
        time.sleep(0.2)
    raise AssertionError("cnnstat started no child process")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_captured_output_escapes_control_characters_and_keeps_head_and_tail() -> None:
    assert captured(b"one\n\x1b[2J", b"\xff end\n", 1234) == \
        "one\n\\x1b[2J\n... 1,234 bytes left out ...\n\\xff end\n"
    assert captured(b"tab\tkept\n") == "tab\tkept\n"


def test_verify_out_of_memory_is_a_plain_message(cli: Callable,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def no_memory(model: object) -> object:
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't "
                           "allocate memory: you tried to allocate 1073741824 bytes.")

    monkeypatch.setattr(measure, "real_copy", no_memory)
    result = cli("verify", "conv-example", "--format", "json")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("cnnstat: error: verify conv-example (input 3x32x32, batch "
                                    "1, device meta): out of memory: RuntimeError: ")
    assert "--count torch" in result.stderr and "internal error" not in result.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="an address-space limit (RLIMIT_AS)")
def test_verify_of_a_network_too_large_for_memory_says_out_of_memory() -> None:
    """A real allocation failure: VGG-11 at 2048x2048 under a 3 GB address-space limit (its
    first activation alone is 64 x 2048 x 2048 x 4 bytes = 1 GiB, fvcore needs several)."""
    import resource

    limit = 3 * 10**9

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    probe = subprocess.run([sys.executable, "-c", "import torch, fvcore"], preexec_fn=limited,
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip("torch does not import under a 3 GB address-space limit here")
    proc = subprocess.run(
        [sys.executable, "-m", "cnnstat", "verify", "vgg11", "--input", "3x2048x2048",
         "--format", "json"], preexec_fn=limited, capture_output=True, text=True, timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 2 and proc.stdout == ""
    assert "out of memory" in proc.stderr and "internal error" not in proc.stderr
    assert "Traceback" not in proc.stderr
