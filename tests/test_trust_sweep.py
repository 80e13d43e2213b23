"""Sweep results are never reused after their inputs changed, and are read as bounded,
validated input (issue 26, sections 3, 4 and 5): resume and merge refuse a results file of
another spec, cnnstat or options; a malformed line is located, never the silent end of the
file; grids are lazy and absurd ones refused up front; workers never outnumber the work and
never outlive a killed sweep.  Every case runs the CLI as a user does, fenced and bounded
(tests/trust_cli.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cnnstat.analysis import sweep_run
from cnnstat.analysis.sweep import MAX_CONFIGS, grid, sample, shard, shard_size, size_of
from cnnstat.analysis.sweep_file import FORMAT, MAX_BYTES
from tests.trust_cli import REPO, run, run_many

SPEC = """\
name: edited
input: [3, 16, 16]
params: {c: 8}
layers:
  - conv: {out: $c, kernel: KERNEL, bias: false}
  - relu
"""


def spec(tmp_path: Path, kernel: int, comment: str = "") -> str:
    path = tmp_path / "net.yaml"
    path.write_text(comment + SPEC.replace("KERNEL", str(kernel)))
    return path.name


def macs(c: int, kernel: int) -> int:
    """One conv, 3 -> c channels, no padding, on 16 x 16."""
    side = 16 - kernel + 1
    return side * side * c * 3 * kernel * kernel


def printed(proc: subprocess.CompletedProcess[str], number: int) -> bool:
    return any(f"{number:{f}}" in proc.stdout + proc.stderr for f in ("", ","))


SWEEP = ("--vary", "c=8,16", "-j", "1", "--format", "json")


# -- section 3: a result is never reused after its inputs changed ------------------------------

def test_resume_after_editing_the_spec_refuses_and_prints_no_old_number(tmp_path: Path) -> None:
    name = spec(tmp_path, kernel=3)
    first = run(tmp_path, "sweep", name, *SWEEP, "--out", "run.jsonl")
    assert first.returncode == 0, first.stderr
    assert [r["macs"] for r in json.loads(first.stdout)["rows"]] == [macs(8, 3), macs(16, 3)]
    written = (tmp_path / "run.jsonl").read_bytes()
    spec(tmp_path, kernel=5)
    again = run(tmp_path, "sweep", name, *SWEEP, "--out", "run.jsonl", "--resume")
    assert again.returncode == 2
    assert "run.jsonl: holds a different sweep" in again.stderr
    assert "the spec is not the same (digest sha256:" in again.stderr
    assert again.stdout == ""
    assert not printed(again, macs(8, 3)) and not printed(again, macs(16, 3))
    assert (tmp_path / "run.jsonl").read_bytes() == written  # refused before writing


def test_resume_after_a_comment_or_layout_edit_reuses_the_rows(tmp_path: Path) -> None:
    name = spec(tmp_path, kernel=3)
    assert run(tmp_path, "sweep", name, *SWEEP, "--out", "run.jsonl").returncode == 0
    spec(tmp_path, kernel=3, comment="# the same network, a comment added\n\n")
    again = run(tmp_path, "sweep", name, *SWEEP, "--out", "run.jsonl", "--resume")
    assert again.returncode == 0, again.stderr
    assert [r["macs"] for r in json.loads(again.stdout)["rows"]] == [macs(8, 3), macs(16, 3)]


def test_resume_names_every_option_that_differs(tmp_path: Path) -> None:
    name = spec(tmp_path, kernel=3)
    assert run(tmp_path, "sweep", name, *SWEEP, "--out", "run.jsonl").returncode == 0
    again = run(tmp_path, "sweep", name, *SWEEP, "--out", "run.jsonl", "--resume",
                "--batch", "4", "--dtype", "float16")
    assert again.returncode == 2
    assert "--batch (1 then, 4 now)" in again.stderr
    assert '--dtype ("float32" then, "float16" now)' in again.stderr
    assert "the spec is not the same" not in again.stderr


def test_merge_of_shards_from_before_and_after_an_edit_refuses(tmp_path: Path) -> None:
    name = spec(tmp_path, kernel=3)
    assert run(tmp_path, "sweep", name, *SWEEP, "--shard", "0/2",
               "--out", "before.jsonl").returncode == 0
    spec(tmp_path, kernel=5)
    assert run(tmp_path, "sweep", name, *SWEEP, "--shard", "1/2",
               "--out", "after.jsonl").returncode == 0
    merged = run(tmp_path, "merge", "before.jsonl", "after.jsonl", "--format", "json")
    assert merged.returncode == 2 and merged.stdout == ""
    assert "after.jsonl: a different sweep from before.jsonl: the spec is not the same " \
        "(digest sha256:" in merged.stderr
    assert "in before.jsonl" in merged.stderr and "in after.jsonl" in merged.stderr
    assert not printed(merged, macs(8, 3)) and not printed(merged, macs(16, 5))


def test_a_results_file_of_another_cnnstat_version_is_refused(tmp_path: Path) -> None:
    name = spec(tmp_path, kernel=3)
    assert run(tmp_path, "sweep", name, *SWEEP, "--out", "run.jsonl").returncode == 0
    lines = (tmp_path / "run.jsonl").read_text().splitlines()
    old = {**json.loads(lines[0]), "format": "cnnstat-sweep/1"}
    (tmp_path / "old.jsonl").write_text("\n".join([json.dumps(old), *lines[1:]]) + "\n")
    merged = run(tmp_path, "merge", "old.jsonl")
    assert merged.returncode == 2
    assert f"old.jsonl:1: written by another version of cnnstat ('cnnstat-sweep/1', this one " \
        f"reads '{FORMAT}')" in merged.stderr
    newer = {**json.loads(lines[0]), "cnnstat": "99.0"}
    (tmp_path / "newer.jsonl").write_text("\n".join([json.dumps(newer), *lines[1:]]) + "\n")
    mixed = run(tmp_path, "merge", "run.jsonl", "newer.jsonl")
    assert mixed.returncode == 2 and "cnnstat's version" in mixed.stderr


# -- section 5: malformed results are located user errors; nothing after them is dropped -------

def _results(tmp_path: Path) -> list[str]:
    name = spec(tmp_path, kernel=3)
    proc = run(tmp_path, "sweep", name, "--vary", "c=1,2,3,4", "-j", "1", "--out", "run.jsonl")
    assert proc.returncode == 0, proc.stderr
    return (tmp_path / "run.jsonl").read_text().splitlines()


def _row(lines: list[str], i: int, **changes: object) -> str:
    row = {**json.loads(lines[i]), **changes}
    return json.dumps({k: v for k, v in row.items() if v is not _DROP})


_DROP = object()
DEEP = "[" * 100_000 + "]" * 100_000

# (what is done to the file, the line it is on, the message)
CORRUPT = [
    ("garbage line", lambda ls: [*ls[:2], "{not json", *ls[2:]], 3, "not a JSON line"),
    ("row without its key", lambda ls: [*ls[:2], _row(ls, 2, key=_DROP), *ls[3:]], 3,
     "not a sweep row: 'key' is missing"),
    ("macs as text", lambda ls: [*ls[:2], _row(ls, 2, macs="abc"), *ls[3:]], 3,
     "not a sweep row: 'macs' is \"abc\", expected a whole number"),
    ("macs as a fraction", lambda ls: [*ls[:3], _row(ls, 3, macs=1.5), *ls[4:]], 4,
     "'macs' is 1.5, expected a whole number"),
    ("a planted field", lambda ls: [*ls[:2], _row(ls, 2, note="<b>trust me</b>"), *ls[3:]], 3,
     "not a sweep row: unknown field 'note'"),
    ("an index past the total", lambda ls: [*ls[:2], _row(ls, 2, index=99), *ls[3:]], 3,
     "'index' is 99, expected a whole number below 4"),
    ("header total: 'lots'", lambda ls: [json.dumps({**json.loads(ls[0]), "total": "lots"}),
                                         *ls[1:]], 1,
     "not a sweep results header: 'total' is \"lots\""),
    ("deeply nested row", lambda ls: [*ls[:2], '{"set": ' + DEEP + "}", *ls[2:]], 3,
     "nested too deeply"),
    ("NaN", lambda ls: [*ls[:2], ls[2].replace('"macs": ', '"macs": NaN, "x": '), *ls[3:]], 3,
     "NaN is not a number JSON allows"),
    ("a row again, other figures", lambda ls: [*ls, _row(ls, 2, macs=7)], 6,
     "again, with other figures"),
]


@pytest.fixture(scope="module")
def corrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, Any], Path,
                                                                              str]]:
    """Every corruption, read by merge and by sweep --resume, in one bounded child process:
    (the run, the file, its text before) by case."""
    tmp = tmp_path_factory.mktemp("corrupted")
    lines = _results(tmp)
    runs, cases = [], []
    for what, corrupt, _, _ in CORRUPT:
        for command in ("merge", "resume"):
            where = tmp / f"{len(cases)}"
            where.mkdir()
            (where / "net.yaml").write_text((tmp / "net.yaml").read_text())
            bad = "\n".join(corrupt(lines)) + "\n"
            (where / "run.jsonl").write_text(bad)
            results = str(where / "run.jsonl")
            runs.append(["merge", results, "--format", "csv"] if command == "merge" else
                        ["sweep", str(where / "net.yaml"), "--vary", "c=1,2,3,4", "-j", "1",
                         "--out", results, "--resume", "--format", "csv"])
            cases.append((f"{what}-{command}", where / "run.jsonl", bad))
    return {key: (result, path, bad)
            for (key, path, bad), result in zip(cases, run_many(tmp, runs))}


@pytest.mark.parametrize("command", ["merge", "resume"])
@pytest.mark.parametrize("what, line, message", [(c[0], c[2], c[3]) for c in CORRUPT],
                         ids=[c[0] for c in CORRUPT])
def test_a_malformed_results_line_is_a_located_user_error(corrupted: dict[str, Any],
                                                          command: str, what: str, line: int,
                                                          message: str) -> None:
    proc, path, bad = corrupted[f"{what}-{command}"]
    assert proc["exit"] == 2, proc["stdout"]
    assert f"run.jsonl:{line}: " in proc["stderr"] and message in proc["stderr"], proc["stderr"]
    assert proc["stdout"] == "" and "trust me" not in proc["stderr"]
    assert path.read_text() == bad  # resume refused before writing


def test_only_a_last_line_cut_short_is_dropped(tmp_path: Path) -> None:
    lines = _results(tmp_path)
    (tmp_path / "run.jsonl").write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:30])
    merged = run(tmp_path, "merge", "run.jsonl", "--format", "json")
    assert merged.returncode == 0, merged.stderr
    assert len(json.loads(merged.stdout)["rows"]) == 4 - 1
    assert "1 of 4 configurations are in no file" in merged.stderr


# -- section 4: results files are read with the input guards -----------------------------------

@pytest.mark.parametrize("kind", ["device", "fifo", "sparse", "directory"])
def test_merge_and_resume_read_only_bounded_regular_files(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "in.jsonl"
    message = {"device": "a character device, not a regular file",
               "fifo": "a FIFO (named pipe), not a regular file",
               "sparse": f"{3 << 30:,} bytes, larger than {MAX_BYTES // 2**20:,} MiB",
               "directory": "is a directory"}[kind]
    if kind == "device":
        if not Path("/dev/zero").exists():
            pytest.skip("needs /dev/zero")
        target = Path("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "sparse":
        with open(target, "wb") as f:
            f.truncate(3 << 30)  # 3 GiB of nothing: its size alone refuses it
    else:
        target.mkdir()
    merged = run(tmp_path, "merge", str(target), timeout=20)
    assert merged.returncode == 2 and message in merged.stderr, merged.stderr
    if kind == "sparse":
        spec(tmp_path, kernel=3)
        resumed = run(tmp_path, "sweep", "net.yaml", "--vary", "c=1", "--out", str(target),
                      "--resume", timeout=20)
        assert resumed.returncode == 2 and message in resumed.stderr, resumed.stderr
        assert target.stat().st_size == 3 << 30


# -- section 4: lazy grids, absurd ones refused up front --------------------------------------

THOUSAND = ",".join(str(i) for i in range(1, 1001))


def test_three_vary_of_a_thousand_values_are_refused_up_front(tmp_path: Path) -> None:
    name = spec(tmp_path, kernel=3)
    vary = ("--vary", f"c={THOUSAND}", "--vary", f"a={THOUSAND}", "--vary", f"b={THOUSAND}")
    proc = run(tmp_path, "sweep", name, *vary, timeout=20)
    assert proc.returncode == 2
    assert f"the sweep has {1000 ** 3:,} configurations, more than {MAX_CONFIGS:,} in one run" \
        in proc.stderr
    assert "--random N" in proc.stderr and f"--shard I/N for N of {1000 ** 3 // MAX_CONFIGS:,}" \
        in proc.stderr
    drawn = run(tmp_path, "sweep", name, *vary, "--random", "1000000000", timeout=20)
    assert drawn.returncode == 2
    assert f"--random 1,000,000,000: more than {MAX_CONFIGS:,} configurations" in drawn.stderr
    ten = [a for n in "abcdefghij" for a in ("--vary", f"{n}={THOUSAND}")]  # past sys.maxsize
    proc = run(tmp_path, "sweep", name, *ten, timeout=20)
    assert proc.returncode == 2
    assert f"the sweep has {1000 ** 10:,} configurations" in proc.stderr


def test_random_beyond_a_small_grid_draws_the_grid(tmp_path: Path) -> None:
    name = spec(tmp_path, kernel=3)
    proc = run(tmp_path, name and "sweep", name, "--vary", "c=1,2,3", "--random", "1000000000",
               "-j", "1", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert sorted(r["set"]["c"] for r in json.loads(proc.stdout)["rows"]) == [1, 2, 3]


def test_a_grid_is_lazy_and_a_shard_of_it_is_taken_by_index() -> None:
    values = list(range(1000))
    big = grid([("a", values), ("b", values), ("c", values)], [None, (3, 8, 8)])
    assert len(big) == 1000 ** 3 * 2
    index = (1 * 1000 + 234) * 1000 ** 2 + 567 * 1000 + 890  # input 1, a=234, b=567, c=890
    config = big[index]
    assert config.index == index and dict(config.set) == {"a": 234, "b": 567, "c": 890}
    assert config.input == (3, 8, 8)
    assert list(grid([("a", [1, 2]), ("b", [3, 4])]))[1:3] == list(
        grid([("a", [1, 2]), ("b", [3, 4])])[1:3])
    start = time.perf_counter()
    part = shard(big, 7, 1000 ** 3 // 4)  # 8 configurations, never the whole grid
    assert time.perf_counter() - start < 1
    assert [c.index for c in part] == [7 + k * (1000 ** 3 // 4) for k in range(8)]
    huge = grid([(name, values) for name in "abcdefghij"])  # 10^30: more than len() can say
    assert huge.size == 1000 ** 10 and size_of(huge) == 1000 ** 10
    assert [c.index for c in shard(huge, 1, 1000 ** 10 // 3)] == [1 + k * (1000 ** 10 // 3)
                                                                   for k in range(3)]
    drawn = sample([(name, values) for name in "abcdefghij"], [None], 5, seed=3)
    assert len({c.key() for c in drawn}) == 5
    assert shard_size(1000 ** 10, 1, 1000 ** 10 // 3) == 3


# -- section 4: --jobs never starts more workers than pay ---------------------------------------

def test_workers_never_outnumber_configurations_cores_or_the_work() -> None:
    parallel, each, idle = sweep_run.PARALLEL_S, sweep_run.WORKER_S, 64.0
    assert sweep_run.workers_for(2, 1000.0, 64, idle) == 2  # never more than the configurations
    assert sweep_run.workers_for(1, 1000.0, 64, idle) == 1
    assert sweep_run.workers_for(200, parallel / 2, 2, idle) == 1  # too little work to pay
    assert sweep_run.workers_for(10_000, parallel * 2, 64, idle) == int(parallel * 2 / each)
    assert sweep_run.workers_for(10_000, 1000.0, 3, idle) == 3  # never more than --jobs
    assert sweep_run.workers_for(10_000, 1000.0, 64, 2.6) == 3  # nor than the idle cores
    assert sweep_run.workers_for(10_000, 1000.0, 64, -3.0) == 1  # a busy machine: one


def test_a_small_sweep_with_many_jobs_starts_no_process(cli, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing.pool

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a worker pool was started for two configurations")

    monkeypatch.setattr(multiprocessing.pool, "Pool", refuse)
    name = tmp_path / spec(tmp_path, kernel=3)
    result = cli("sweep", str(name), "--vary", "c=8,16", "--jobs", "64", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert [r["macs"] for r in json.loads(result.stdout)["rows"]] == [macs(8, 3), macs(16, 3)]


# -- section 5: a killed sweep leaves no worker behind, and no traceback -----------------------

def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        if entry.name.isdigit() and int(stat[stat.rfind(b")") + 2:].split()[1]) == pid:
            out.append(int(entry.name))
    return out


# The sweep with workers from its start, whatever the machine's load (the rule is tested above).
WORKERS_NOW = ("import sys\n"
               "from cnnstat.analysis import sweep_run\n"
               "sweep_run.PROBE_S, sweep_run.PARALLEL_S, sweep_run.WORKER_S = 0.0, 0.0, 1e-9\n"
               "sweep_run.idle_cores = lambda: 2.0\n"
               "from cnnstat.cli.main import main\n"
               "main(sys.argv[1:])\n")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_workers_of_a_killed_sweep_end_quietly(tmp_path: Path) -> None:
    widths = ",".join(str(0.25 + 0.125 * i) for i in range(20))
    depths = ",".join(str(round(0.5 + 0.1 * i, 1)) for i in range(25))
    errors = tmp_path / "stderr"
    with open(errors, "w") as err:
        sweep = subprocess.Popen(
            [sys.executable, "-c", WORKERS_NOW, "sweep", "resnet50", "--vary", f"width={widths}",
             "--vary", f"depth={depths}", "--input", "3x224x224", "-j", "2",
             "--out", str(tmp_path / "run.jsonl")],
            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err,
            env={**os.environ, "CNNSTAT_NO_CACHE": "1", "PYTHONPATH": str(REPO)})
    try:
        deadline = time.monotonic() + 60
        while len(workers := _children(sweep.pid)) < 2 and sweep.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(workers) == 2, "the sweep started no workers"
        time.sleep(0.3)  # the workers mid-task
    finally:
        sweep.send_signal(signal.SIGKILL)
        sweep.wait()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{w}").exists() for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(Path(f"/proc/{w}").exists() for w in workers), "workers outlived the sweep"
    time.sleep(0.2)
    text = errors.read_text()
    assert "BrokenPipeError" not in text and "Traceback" not in text, text
