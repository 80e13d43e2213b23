"""Issue 26, section 1: the analysis cache never executes or trusts what it reads.

Entries are JSON with a digest of their key and content; the directory is used only when the
user owns it and nobody else can write it; only regular files of a bounded size are read; and
the gate commands (``check``, ``verify``) compute every figure they judge, whatever the cache
holds.  Each case drives cnnstat as users do, in a child process bounded in time and memory
(tests/test_bounds.py), against a cache directory under the test's own tmp_path.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import Result

from cnnstat import analysis
from cnnstat.analysis import cache, cache_codec, cache_store
from tests.test_bounds import BOUNDED
from tests.test_bounds import cnnstat as bounded

# vgg16's first conv: 224 x 224 outputs, 64 filters of 3 x 3 x 3 (the issue's planted "7")
CONV1_MACS = 224 * 224 * 64 * 3 * 3 * 3
LENET_PARAMS = 60_000  # LeNet-5 as published (specs/lenet5.yaml pins it)


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A cache directory of this test's own, for this process and its children."""
    where = tmp_path / "cache"
    monkeypatch.setenv("CNNSTAT_CACHE_DIR", str(where))
    monkeypatch.delenv("CNNSTAT_NO_CACHE", raising=False)
    monkeypatch.setattr(cache, "_ZOO", None)
    monkeypatch.setattr(cache_store, "_OPENED", {})
    yield where


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """cnnstat in a child bounded to 1.5 GiB and ``timeout`` s, with this test's cache."""
    return bounded(*args, timeout=timeout)


def summary_macs(proc: subprocess.CompletedProcess[str], layer: str) -> int:
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)["layers"]}
    return int(rows[layer]["macs"])


def entry_files(where: Path) -> list[Path]:
    """The analysed specs' entries (not the zoo index, not the receptive-field parts)."""
    return sorted(p for p in where.glob("*.json")
                  if not p.name.startswith("zoo-") and "-" not in p.stem)


def forge(key: str, macs: int) -> None:
    """Write, as someone who can write the directory could, a *valid* entry for ``key`` whose
    first row has ``macs`` MACs (brief, report and digest all agree)."""
    entry = cache.get(key)
    assert entry is not None
    report = cache_codec.decode(entry.report)
    rows = (replace(report.rows[0], macs=macs), *report.rows[1:])
    forged = replace(report, rows=rows)
    cache.put(cache.Entry(key, forged.brief, entry.source, cache_codec.encode(forged)))


# -- entries are data: nothing in them runs ---------------------------------------------------

class _Payload:
    """Unpickling this creates ``marker``: proof that a pickle was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def test_a_planted_pickle_never_runs(cache_dir: Path, tmp_path: Path) -> None:
    assert summary_macs(run("summary", "vgg16", "--format", "json"), "stage1.conv1") \
        == CONV1_MACS
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Payload(marker))
    planted = list(cache_dir.iterdir())
    assert planted
    for path in planted:  # every entry, under its own name and the old format's
        path.write_bytes(payload)
        path.with_suffix(".pickle").write_bytes(payload)
    proc = run("summary", "vgg16", "--format", "json")
    assert summary_macs(proc, "stage1.conv1") == CONV1_MACS
    assert not marker.exists()
    assert proc.stderr == ""


@pytest.mark.parametrize("text", [
    '{"$": "Popen", "args": ["touch", "x"]}',
    '{"$": "subprocess:Popen", "args": ["touch", "x"]}',
    '{"$": "Row", "__class__": "x"}',
    '{"$": "frac", "v": [1, 0]}',
    '[[[' * 2000 + ']]]' * 2000,
])
def test_the_format_builds_only_the_listed_types(text: str) -> None:
    with pytest.raises(ValueError):
        cache_codec.decode(text.encode())


def test_the_format_cannot_hold_other_types() -> None:
    with pytest.raises(TypeError):
        cache_codec.encode({"a": {1, 2}})
    with pytest.raises(TypeError):
        cache_codec.encode(subprocess.CompletedProcess([], 0))


def test_every_built_in_report_round_trips_exactly() -> None:
    """What a hit gives is what the analysis gave: every field, every type (tuple, list,
    Fraction, enum), for each spec and variant of the zoo."""
    for name in analysis.builtin_names():
        result = analysis.run(name)
        for value in (result.report, result.report.brief):
            back = cache_codec.decode(cache_codec.encode(value))
            assert back == value and repr(back) == repr(value), name


# -- a changed number is never shown, and never judged ---------------------------------------

def test_a_planted_wrong_number_is_not_printed(cache_dir: Path) -> None:
    """The issue's case: stage1.conv1's MACs changed to 7 in the entry (its digest left as it
    was) is a damaged entry: ignored, the real figure printed, the entry rewritten."""
    run("summary", "vgg16", "--format", "json")
    (path,) = entry_files(cache_dir)
    text = path.read_bytes()
    planted = text.replace(f'"macs":{CONV1_MACS}'.encode(), b'"macs":7', 1)
    assert planted != text
    path.write_bytes(planted)
    proc = run("summary", "vgg16", "--format", "json")
    assert summary_macs(proc, "stage1.conv1") == CONV1_MACS
    assert b'"macs":7,' not in path.read_bytes()  # stored again, whole


def test_no_planted_entry_changes_what_check_decides(cache_dir: Path) -> None:
    """Even a forged entry with a valid digest (someone who can write the directory can make
    one; the cache then only changes what summary prints) is never read by check."""
    run("summary", "vgg16", "--format", "json")
    (path,) = entry_files(cache_dir)
    forge(path.stem, 7)
    assert summary_macs(run("summary", "vgg16", "--format", "json"), "stage1.conv1") == 7
    # vgg16's reference MACs (torchvision's 15.470 G, within 500,000) would fail (E601) on the
    # forged total, 86,704,121 lower: check computes them, and agrees
    proc = run("check", "vgg16", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    (spec,) = json.loads(proc.stdout)["files"][0]["specs"]
    with cache.bypassed():
        assert spec["totals"]["macs"] == analysis.analyze("vgg16").totals.macs
    assert "E601" not in proc.stdout


@pytest.mark.torch
def test_no_planted_entry_changes_what_verify_decides(cache_dir: Path) -> None:
    pytest.importorskip("torch")
    run("params", "lenet5", "--format", "json")
    (path,) = entry_files(cache_dir)
    forge(path.stem, 7)
    assert run("params", "lenet5", "--format", "json").returncode == 0  # served: forged
    # the live module's first conv has 28 * 28 * 6 * 5 * 5 MACs, not 7: a verify that read the
    # forged report would find a divergence (exit 1)
    proc = run("verify", "lenet5", "--count", "torch", "--format", "json", timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["ok"] is True


def test_gates_neither_read_nor_write_the_cache(cache_dir: Path,
                                                 cli: Callable[..., Result]) -> None:
    assert cli("check", "lenet5").exit_code == 0
    assert not cache_dir.exists() or entry_files(cache_dir) == []
    with cache.bypassed():
        assert not cache.enabled()
        analysis.run("lenet5")
    assert not cache_dir.exists() or entry_files(cache_dir) == []


# -- only a directory nobody else can write ---------------------------------------------------

NOT_USED = "cnnstat: warning: not using the cache directory"


@pytest.mark.parametrize(("mode", "why"), [
    (0o777, "writable by group and others (mode 0777)"),
    (0o770, "writable by group (mode 0770)"),
    (0o1733, "writable by group and others (mode 1733)"),
])
def test_a_directory_others_can_write_is_not_used(cache_dir: Path, mode: int, why: str) -> None:
    cache_dir.mkdir()
    cache_dir.chmod(mode)
    proc = run("compare", "lenet5", "alexnet", "--format", "json")  # two built-in specs
    assert proc.returncode == 0
    assert proc.stderr.count(NOT_USED) == 1  # one line, once per process, however many specs
    assert why in proc.stderr and "chmod 700" in proc.stderr
    assert list(cache_dir.iterdir()) == []  # nothing read, nothing written


def test_a_private_directory_is_used_silently(cache_dir: Path) -> None:
    cache_dir.mkdir(mode=0o755)
    cache_dir.chmod(0o755)  # others may read and list it: not a risk to what it holds
    proc = run("summary", "lenet5")
    assert proc.returncode == 0 and proc.stderr == ""
    assert entry_files(cache_dir)


def test_a_missing_directory_is_created_private(cache_dir: Path) -> None:
    assert run("summary", "lenet5").returncode == 0
    assert cache_dir.stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in cache_dir.iterdir())


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="chown to another user needs root")
def test_a_directory_owned_by_another_user_is_not_used(cache_dir: Path) -> None:
    cache_dir.mkdir(mode=0o700)
    os.chown(cache_dir, 4242, 4242)
    proc = run("summary", "lenet5", "--format", "json")
    assert proc.returncode == 0
    assert proc.stderr.count(NOT_USED) == 1
    assert "owned by user id 4242, not by you (0)" in proc.stderr
    assert list(cache_dir.iterdir()) == []


def test_a_directory_not_owned_by_the_user_is_not_used_in_process(
        cache_dir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The same without root: the user is someone else than the directory's owner."""
    cache_dir.mkdir(mode=0o700)
    monkeypatch.setattr(os, "getuid", lambda: cache_dir.stat().st_uid + 1)
    for _ in range(3):
        assert analysis.analyze("lenet5").totals.params == LENET_PARAMS
    err = capsys.readouterr().err
    assert err.count(NOT_USED) == 1 and "not by you" in err
    assert list(cache_dir.iterdir()) == []


# -- only regular files of ours, of a bounded size --------------------------------------------

def _replace_entry(kind: str, path: Path, tmp_path: Path) -> Path | None:
    """Put a FIFO, a symbolic link, a 3 GiB sparse file or another user's file where the entry
    was; return a file outside the cache that must not change."""
    good = path.read_bytes()
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink":
        outside = tmp_path / "outside.json"
        outside.write_bytes(good)  # a valid entry, but not a file of the directory
        path.symlink_to(outside)
        return outside
    elif kind == "huge":
        with open(path, "wb") as fh:
            fh.truncate(3 << 30)
    elif kind == "foreign":
        path.write_bytes(good)
        os.chown(path, 4242, 4242)
    return None


@pytest.mark.parametrize("kind", ["fifo", "symlink", "huge", "foreign"])
def test_an_entry_that_is_not_a_regular_file_of_ours_is_ignored(cache_dir: Path, tmp_path: Path,
                                                                kind: str) -> None:
    if kind == "foreign" and (not hasattr(os, "geteuid") or os.geteuid() != 0):
        pytest.skip("chown to another user needs root")
    run("summary", "vgg16", "--format", "json")
    (path,) = entry_files(cache_dir)
    outside = _replace_entry(kind, path, tmp_path)
    before = outside.read_bytes() if outside else None
    start = time.monotonic()
    proc = run("summary", "vgg16", "--format", "json", timeout=60)  # a hang fails here
    assert summary_macs(proc, "stage1.conv1") == CONV1_MACS
    assert time.monotonic() - start < 60
    if outside is not None:
        assert outside.read_bytes() == before  # the link's target is never written
    assert path.is_file() and not path.is_symlink()  # replaced by a whole entry of ours
    assert cache.get(path.stem) is not None


def test_an_entry_over_the_size_bound_is_not_read(cache_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    analysis.run("lenet5")
    (path,) = entry_files(cache_dir)
    assert cache.get(path.stem) is not None
    monkeypatch.setattr(cache_store, "MAX_ENTRY", path.stat().st_size - 1)
    assert cache.get(path.stem) is None


# -- concurrent cold writers ------------------------------------------------------------------

def test_concurrent_cold_writers_leave_one_valid_entry(cache_dir: Path) -> None:
    """Four processes analyse the same spec into an empty cache at once: each prints the same
    figures, and the entry they all wrote is whole and verifies; no temporary file is left."""
    args = [sys.executable, "-c", BOUNDED, "summary", "resnet18", "--format", "json"]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outs.append(out)
    assert len(set(outs)) == 1
    (path,) = entry_files(cache_dir)
    entry = cache.get(path.stem)
    assert entry is not None and entry.brief.name == "resnet18"
    assert [p.name for p in cache_dir.iterdir() if p.name.startswith(".")] == []
    assert json.loads(outs[0])["totals"]["macs"] == analysis.analyze("resnet18").totals.macs
