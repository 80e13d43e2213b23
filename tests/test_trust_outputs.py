"""Issue 26, section 2 and the output items of section 5: never destroy a file the user did not
ask to replace.

Devices and FIFOs are written to, never renamed over; a symbolic link is never replaced or
followed to a file; an output that is one of the command's inputs is refused; the path is
checked before any work; write failures and a closed or full standard output are user errors
(exit 2, one clear message, no traceback, no "Exception ignored").  Every case runs in the
test's tmp_path: the device nodes are made there (``mknod``), never the machine's /dev/null or
/dev/full; the child processes are bounded in time and memory (tests/test_bounds.py).
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from cnnstat import zoo
from cnnstat.analysis import outputs
from cnnstat.cli.output import spec_files
from cnnstat.errors import UsageError
from tests.test_bounds import BOUNDED

SPEC = "name: tiny\ninput: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 3}\n  - relu\n"
SCALABLE = zoo.find("efficientnet-b0")
MODULE = ("import pathlib, torch.nn as nn\n"
          "pathlib.Path(__file__).with_name('ran').write_text('the module ran')\n"
          "def f():\n    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())\n")
CALLS_THAT_WRITE = {  # command line with OUT for the output path, and whether it needs torch
    "graph": (["graph", "s.yaml", "-o", "OUT", "--format", "dot"], False),
    "scale": (["scale", "e.yaml", "--phi", "1", "-o", "OUT", "--no-rf"], False),
    "sweep": (["sweep", "s.yaml", "--out", "OUT", "--jobs", "1"], False),
    "check": (["check", "s.yaml", "--write-baseline", "OUT"], False),
    "report": (["report", "s.yaml", "--no-verify", "-o", "OUT"], False),
    "plot": (["plot", "layers", "s.yaml", "-o", "OUT"], False),
    "import": (["import", "m.py:f", "--input", "3x8x8", "-o", "OUT"], True),
}
SUFFIX = {"report": ".html", "plot": ".svg", "sweep": ".jsonl", "check": ".json",
          "import": ".yaml", "scale": ".yaml", "graph": ".dot"}


def cnnstat(*args: str, cwd: Path, timeout: float = 60, stdout: Any = subprocess.PIPE,
            close_stdout: bool = False) -> subprocess.CompletedProcess[str]:
    """cnnstat as a user runs it, in ``cwd``, bounded to 1.5 GiB and ``timeout`` seconds."""
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", BOUNDED, *args], cwd=cwd, stdout=stdout,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                          timeout=timeout, check=False,
                          preexec_fn=(lambda: os.close(1)) if close_stdout else None)
    assert time.monotonic() - start < timeout
    for noise in ("Traceback", "internal error", "Exception ignored"):
        assert noise not in proc.stderr, proc.stderr
    return proc


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's directory, its working directory, holding the inputs every call reads."""
    (tmp_path / "s.yaml").write_text(SPEC, encoding="utf-8")
    assert SCALABLE is not None
    (tmp_path / "e.yaml").write_bytes(SCALABLE.path.read_bytes())
    (tmp_path / "m.py").write_text(MODULE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(autouse=True)
def machine_devices_untouched() -> Iterator[None]:
    """Whatever a case does, the machine's own device nodes stay as they were."""
    paths = [p for p in ("/dev/null", "/dev/full", "/dev/stdout") if os.path.lexists(p)]
    before = [(os.lstat(p).st_mode, os.lstat(p).st_rdev) for p in paths]
    yield
    assert [(os.lstat(p).st_mode, os.lstat(p).st_rdev) for p in paths] == before


def device(where: Path, name: str, minor: int) -> Path:
    """A character device node in the test's directory: 1,3 is null, 1,7 is full."""
    path = where / name
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
        with open(path, "wb") as fh:  # a file system mounted nodev refuses to open it
            fh.write(b"")
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot make a device node here: {exc}")
    return path


def same_tree(where: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every entry of ``where``: its type and its content (a link's target)."""
    out: dict[str, tuple[int, bytes | str]] = {}
    for p in sorted(where.rglob("*")):
        mode = os.lstat(p).st_mode
        content: bytes | str = os.readlink(p) if stat.S_ISLNK(mode) else \
            p.read_bytes() if stat.S_ISREG(mode) else b""
        out[str(p.relative_to(where))] = (stat.S_IFMT(mode), content)
    return out


def call(name: str, out: str) -> list[str]:
    args, needs_torch = CALLS_THAT_WRITE[name]
    if needs_torch:
        pytest.importorskip("torch")
    if name in ("report", "plot"):
        pytest.importorskip("matplotlib")
    return [out if a == "OUT" else a for a in args]


# -- devices, FIFOs and standard streams are written to, never replaced ------------------------

def test_o_dev_stdout_writes_to_standard_output(work: Path) -> None:
    proc = cnnstat("graph", "s.yaml", "-o", "/dev/stdout", "--format", "dot", cwd=work)
    assert proc.returncode == 0 and proc.stdout.startswith("digraph cnnstat {")
    with open(work / "redirected.dot", "w") as fh:  # stdout a regular file: written, as `>` does
        proc = cnnstat("graph", "s.yaml", "-o", "/dev/stdout", "--format", "dot", cwd=work,
                       stdout=fh)
    assert proc.returncode == 0
    assert (work / "redirected.dot").read_text().startswith("digraph cnnstat {")
    assert os.path.islink("/dev/stdout")


@pytest.mark.parametrize("name", ["graph", "check", "sweep", "scale"])
def test_a_null_device_stays_a_device(work: Path, name: str, cli: Callable[..., Result]) -> None:
    null = device(work, "null" + SUFFIX[name], 3)
    result = cli(*call(name, str(null)))
    if name == "sweep":  # a results file is appended to and read back: a regular file only
        assert result.exit_code == 2 and "is a character device, not a regular file" in \
            result.stderr
    else:
        assert result.exit_code == 0, result.stderr
    mode = os.lstat(null)
    assert stat.S_ISCHR(mode.st_mode) and mode.st_rdev == os.makedev(1, 3)


@pytest.mark.parametrize("name", ["graph", "check", "scale", "import", "report"])
def test_a_full_device_is_a_user_error_and_stays_a_device(work: Path, name: str) -> None:
    full = device(work, "full" + SUFFIX[name], 7)
    proc = cnnstat(*call(name, str(full)), cwd=work, timeout=240)
    assert proc.returncode == 2
    assert f"{full}: cannot write: No space left on device" in proc.stderr
    mode = os.lstat(full)
    assert stat.S_ISCHR(mode.st_mode) and mode.st_rdev == os.makedev(1, 7)


def test_a_fifo_with_a_reader_receives_the_output(work: Path, cli: Callable[..., Result]) -> None:
    fifo = work / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    time.sleep(0.2)  # the reader is waiting in open() before the writer opens
    result = cli("graph", "s.yaml", "-o", str(fifo), "--format", "dot")
    reader.join(timeout=30)
    assert result.exit_code == 0, result.stderr
    assert got and got[0].startswith(b"digraph cnnstat {")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_fifo_nobody_reads_is_refused_not_waited_on(work: Path) -> None:
    fifo = work / "pipe"
    os.mkfifo(fifo)
    proc = cnnstat("graph", "s.yaml", "-o", str(fifo), "--format", "dot", cwd=work, timeout=30)
    assert proc.returncode == 2 and "a FIFO (named pipe) that no process is reading" in \
        proc.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


# -- symbolic links: never renamed over, never followed to a file ------------------------------

@pytest.mark.parametrize("name", ["graph", "check", "sweep", "scale", "import"])
def test_a_link_to_a_file_is_refused_and_neither_changes(work: Path, name: str,
                                                         cli: Callable[..., Result]) -> None:
    target = work / "elsewhere" / f"real{SUFFIX[name]}"
    target.parent.mkdir()
    target.write_text("keep me\n")
    (work / f"link{SUFFIX[name]}").symlink_to(target)
    before = same_tree(work)
    result = cli(*call(name, f"link{SUFFIX[name]}"))
    assert result.exit_code == 2
    assert "is a symbolic link" in result.stderr and str(target) in result.stderr
    assert same_tree(work) == before


def test_a_dangling_link_is_refused_and_nothing_is_created(work: Path,
                                                           cli: Callable[..., Result]) -> None:
    (work / "out.dot").symlink_to(work / "nowhere" / "x.dot")
    before = same_tree(work)
    result = cli("graph", "s.yaml", "-o", "out.dot", "--format", "dot")
    assert result.exit_code == 2 and "is a symbolic link to nothing" in result.stderr
    assert same_tree(work) == before


def test_a_link_to_a_device_is_written_through(work: Path, cli: Callable[..., Result]) -> None:
    null = device(work, "null", 3)
    (work / "out.dot").symlink_to(null)
    result = cli("graph", "s.yaml", "-o", "out.dot", "--format", "dot")
    assert result.exit_code == 0, result.stderr
    assert os.path.islink(work / "out.dot") and stat.S_ISCHR(os.lstat(null).st_mode)


# -- an output is never one of the command's inputs --------------------------------------------

@pytest.mark.parametrize(("name", "output"), [
    ("graph", "s.yaml"), ("sweep", "s.yaml"), ("check", "s.yaml"), ("scale", "e.yaml"),
    ("import", "m.py"), ("report", "s.html"), ("plot", "s.svg"),
])
def test_an_output_that_is_an_input_is_refused(work: Path, name: str, output: str,
                                               cli: Callable[..., Result]) -> None:
    args = call(name, output)
    if output.endswith((".html", ".svg")):  # the same file under the name the format needs
        os.link(work / "s.yaml", work / output)
    before = same_tree(work)
    result = cli(*args)
    assert result.exit_code == 2, result.stderr
    assert f"{output}: is also an input of this command" in result.stderr
    assert "writing it would destroy what is being read" in result.stderr
    assert same_tree(work) == before
    assert not (work / "ran").exists()  # refused before the module was imported


def test_the_same_file_by_another_name_is_an_input(work: Path,
                                                   cli: Callable[..., Result]) -> None:
    """A link to the spec, the spec's hard link, ./s.yaml, the baseline read: all the input."""
    (work / "link.yaml").symlink_to("s.yaml")
    os.link(work / "s.yaml", work / "hard.yaml")
    (work / "base.json").write_text("{}")
    before = same_tree(work)
    for args in (["graph", "link.yaml", "-o", "s.yaml", "--format", "dot"],
                 ["graph", "s.yaml", "-o", "hard.yaml", "--format", "dot"],
                 ["graph", "./s.yaml", "-o", str(work / "s.yaml"), "--format", "dot"],
                 ["check", "s.yaml", "--baseline", "base.json", "--write-baseline",
                  "base.json"]):
        result = cli(*args)
        assert result.exit_code == 2 and "is also an input of this command" in result.stderr
    assert same_tree(work) == before


def test_a_built_in_name_reads_its_file() -> None:
    entry = zoo.find("efficientnet-b3")
    assert entry is not None
    assert spec_files(["efficientnet-b3", "-", "net.yaml#b1", "no-such-net"]) == \
        [str(entry.path), "net.yaml"]


def test_sweep_out_equal_to_its_spec_never_starts_a_worker(work: Path) -> None:
    """The issue's case: the spec truncated, then worker after worker for 10 minutes."""
    proc = cnnstat("sweep", "s.yaml", "--vary", "x=1,2", "--out", "s.yaml", cwd=work, timeout=30)
    assert proc.returncode == 2 and "is also an input" in proc.stderr
    assert (work / "s.yaml").read_text() == SPEC


# -- checked before the work starts -------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(CALLS_THAT_WRITE))
@pytest.mark.parametrize(("output", "message"), [
    ("newdir/", "names a directory (it ends in '/'), not a file"),
    ("nodir/out", "no such directory: nodir"),
    ("existing", "is a directory"),
    ("s.yaml/out", "Not a directory"),
])
def test_an_output_path_that_cannot_be_written_is_refused_first(
        work: Path, name: str, output: str, message: str, cli: Callable[..., Result]) -> None:
    path = output if output.endswith("/") else output + SUFFIX[name]
    if output == "existing":
        (work / path).mkdir()
    if output == "newdir/" and name in ("report", "plot"):  # a suffix names their format
        message = "html" if name == "report" else "cannot tell the figure format"
    before = same_tree(work)
    result = cli(*call(name, path))
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr, result.stderr
    assert same_tree(work) == before
    assert not (work / "ran").exists()  # import: the module never ran


@pytest.mark.parametrize("name", ["graph", "check", "scale", "sweep", "import"])
def test_a_read_only_file_is_not_replaced(work: Path, name: str,
                                          cli: Callable[..., Result]) -> None:
    target = work / f"kept{SUFFIX[name]}"
    target.write_text("read only\n")
    target.chmod(0o444)
    before = same_tree(work)
    result = cli(*call(name, target.name))
    assert result.exit_code == 2 and "is read-only (mode 0444)" in result.stderr
    assert same_tree(work) == before and stat.S_IMODE(target.stat().st_mode) == 0o444


def test_a_write_that_fails_is_a_user_error_with_the_reason(
        work: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", denied)
    for args, where in ((["graph", "s.yaml", "-o", "g.dot", "--format", "dot"], "-o g.dot"),
                        (["check", "s.yaml", "--write-baseline", "b.json"],
                         "--write-baseline b.json")):
        result = cli(*args)
        assert result.exit_code == 2
        assert f"{where}: cannot write: Permission denied" in result.stderr
    assert sorted(p.name for p in work.iterdir()) == ["e.yaml", "m.py", "s.yaml"]


# -- sweep --out: a lock, and no link followed -------------------------------------------------

def test_sweep_out_held_by_another_run_is_refused(work: Path) -> None:
    results = work / "run.jsonl"
    results.write_text("another sweep's rows\n")
    fd = os.open(results, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        proc = cnnstat("sweep", "s.yaml", "--out", "run.jsonl", cwd=work, timeout=30)
    finally:
        os.close(fd)
    assert proc.returncode == 2
    assert "--out run.jsonl: another process is writing it (the file is locked)" in proc.stderr
    assert results.read_text() == "another sweep's rows\n"


def test_sweep_out_is_written_and_resumed_under_the_lock(work: Path,
                                                         cli: Callable[..., Result]) -> None:
    args = ("sweep", "s.yaml", "--vary", "x=1,2", "--out", "run.jsonl", "--jobs", "1")
    spec = SPEC.replace("out: 4", 'out: "$x * 2"').replace("name: tiny",
                                                           "name: tiny\nparams: {x: 1}")
    (work / "s.yaml").write_text(spec)
    first = cli(*args, "--format", "json")
    assert first.exit_code == 0, first.stderr
    lines = (work / "run.jsonl").read_text().splitlines()
    assert len(lines) == 1 + 2  # the header, then a row per configuration
    with open(work / "run.jsonl", "a") as fh:
        fh.write('{"cut short')  # a run killed mid-line
    again = cli(*args, "--resume", "--format", "json")
    assert again.exit_code == 0 and json.loads(again.stdout) == json.loads(first.stdout)
    assert (work / "run.jsonl").read_text().splitlines() == lines


# -- standard output closed or full; a baseline that is a directory ----------------------------

@pytest.mark.parametrize("args", [("summary", "vgg16"), ("summary", "s.yaml", "--format", "csv"),
                                  ("params", "vgg16", "--format", "json")])
def test_a_closed_standard_output_is_one_clear_error(work: Path, args: tuple[str, ...]) -> None:
    proc = cnnstat(*args, cwd=work, close_stdout=True, stdout=None)
    assert proc.returncode == 2
    assert proc.stderr == "cnnstat: error: cannot write to standard output: it is closed\n"


@pytest.mark.parametrize("args", [("summary", "vgg16"), ("summary", "s.yaml", "--format", "csv"),
                                  ("check", "s.yaml", "--format", "json")])
def test_a_full_standard_output_is_one_clear_error(work: Path, args: tuple[str, ...]) -> None:
    full = device(work, "full", 7)
    with open(full, "w") as fh:
        proc = cnnstat(*args, cwd=work, stdout=fh)
    assert proc.returncode == 2
    assert proc.stderr.endswith("cnnstat: error: cannot write to standard output: No space left "
                                "on device\n    hint: redirect it to a file system that has "
                                "room\n")


def test_a_baseline_that_is_a_directory_is_a_clear_error(work: Path,
                                                         cli: Callable[..., Result]) -> None:
    result = cli("check", "s.yaml", "--baseline", str(work))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"cnnstat: error: {work}: is a directory, not a file")


# -- the module, directly ---------------------------------------------------------------------

def test_stream_names_are_never_checked_as_files(tmp_path: Path) -> None:
    for name in ("/dev/stdout", "/dev/stderr", "/dev/fd/1", "/proc/self/fd/2"):
        outputs.check(name, [tmp_path])
    outputs.check("-", dash=True)
    with pytest.raises(UsageError, match="is a directory"):
        outputs.check(str(tmp_path))


def test_same_file_compares_inodes_and_resolved_paths(tmp_path: Path) -> None:
    a = tmp_path / "a"
    a.write_text("x")
    (tmp_path / "b").symlink_to(a)
    os.link(a, tmp_path / "c")
    (tmp_path / "d").write_text("x")
    assert outputs.same_file(a, tmp_path / "b") and outputs.same_file(a, tmp_path / "c")
    assert not outputs.same_file(a, tmp_path / "d")
