"""Bounded work and memory on any input (issue 12, item 3), names checked where they are
written (item 7) and the spec-side small ones (item 9), as users see them: exit codes, the
located diagnostic, the message.  The corpus cases are in tests/bad_specs/; these are the cases
a file cannot hold (devices, FIFOs, standard input, sparse files, command-line options)."""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cnnstat.check.baseline import match
from cnnstat.spec.source import MAX_BYTES
from tests.conftest import write
from tests.limits import time_limit

SPEC = "name: tiny\ninput: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 3}\n  - relu\n"
DIAG = re.compile(r"^(\S+):(\d+):(\d+): error\[([A-Z]\d{3})\]: (.*)$", re.M)
BOUNDED = ("import resource, runpy, sys\n"
           "resource.setrlimit(resource.RLIMIT_AS, (3 << 29, 3 << 29))\n"
           "sys.argv = ['cnnstat', *sys.argv[1:]]\n"
           "runpy.run_module('cnnstat', run_name='__main__')\n")


def cnnstat(*args: str, stdin: object = subprocess.DEVNULL, timeout: float = 30,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """cnnstat in a child process limited to 1.5 GiB of address space and ``timeout`` seconds:
    reading a device or an endless pipe whole would die of MemoryError or time out."""
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", BOUNDED, *args], stdin=stdin,
                          capture_output=True, text=True, timeout=timeout, check=False,
                          env={**os.environ, **(env or {})})
    assert time.monotonic() - start < timeout
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return proc


def located(stderr: str) -> list[str]:
    return [f"{m[4]}@{m[2]}:{m[3]}" for m in DIAG.finditer(stderr)]


# -- inputs read with a size limit before being read whole -----------------------------------

@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
@pytest.mark.parametrize("command", [("summary",), ("check",)])
def test_a_device_by_name_is_refused_at_once(device: str, command: tuple[str, ...]) -> None:
    proc = cnnstat(*command, device, timeout=20)
    assert proc.returncode == 2
    assert f"{device}: a character device, not a regular file" in proc.stderr
    assert "- < " in proc.stderr  # the hint: standard input reads it, bounded


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("command", ["summary", "check", "diff"])
def test_a_fifo_without_a_writer_is_refused_not_waited_on(tmp_path: Path, command: str) -> None:
    fifo = tmp_path / "net.yaml"
    os.mkfifo(fifo)
    args = (command, str(fifo), "alexnet") if command == "diff" else (command, str(fifo))
    proc = cnnstat(*args, timeout=20)
    assert proc.returncode == 2
    assert "a FIFO (named pipe), not a regular file" in proc.stderr


def test_a_fifo_baseline_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "base.json"
    os.mkfifo(fifo)
    proc = cnnstat("check", "lenet5", "--baseline", str(fifo), timeout=20)
    assert proc.returncode == 2 and "a FIFO (named pipe)" in proc.stderr


@pytest.mark.parametrize("source", ["/dev/zero", "/dev/urandom"])
def test_a_device_on_standard_input_is_read_only_up_to_the_limit(source: str) -> None:
    with open(source, "rb") as stdin:
        proc = cnnstat("summary", "-", stdin=stdin, timeout=20)
    assert proc.returncode == 1
    assert located(proc.stderr) == ["E105@1:1"]
    assert f"larger than {MAX_BYTES // 2**20} MiB" in proc.stderr


def test_an_endless_pipe_is_refused_after_the_limit() -> None:
    writer = subprocess.Popen([sys.executable, "-c", "import sys\nwhile True: "
                               "sys.stdout.write('- relu\\n' * 1000)"], stdout=subprocess.PIPE)
    try:
        proc = cnnstat("check", "-", stdin=writer.stdout, timeout=20)
    finally:
        writer.kill()
        writer.wait()
    assert proc.returncode == 1 and located(proc.stderr) == ["E105@1:1"]


def test_a_silent_pipe_times_out_instead_of_blocking() -> None:
    read_end, write_end = os.pipe()  # we hold the write end open and never write
    try:
        proc = cnnstat("summary", "-", stdin=read_end, timeout=20,
                       env={"CNNSTAT_STDIN_TIMEOUT": "1"})
    finally:
        os.close(read_end)
        os.close(write_end)
    assert proc.returncode == 2
    assert "standard input sent nothing for 1 s" in proc.stderr


def test_a_3_gib_sparse_file_is_refused_quickly(tmp_path: Path) -> None:
    sparse = tmp_path / "big.yaml"
    with open(sparse, "wb") as f:
        f.truncate(3 * 2**30)
    for command in ("summary", "check"):
        proc = cnnstat(command, str(sparse), timeout=20)
        assert proc.returncode == 1 and located(proc.stderr) == ["E105@1:1"], proc.stderr
    big_json = tmp_path / "big.json"
    with open(big_json, "wb") as f:
        f.truncate(3 * 2**30)
    proc = cnnstat("diff", f"{big_json}#x", "lenet5", timeout=20)
    assert proc.returncode == 2 and "larger than 64 MiB" in proc.stderr


def test_a_spec_on_standard_input_still_works(cli: Callable) -> None:
    result = cli("summary", "-", "--format", "json", input=SPEC)
    assert result.exit_code == 0 and '"name": "tiny"' in result.stdout


def test_a_spec_piped_through_a_real_pipe_is_read(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "cnnstat", "check", "-"], input=SPEC,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.rstrip().endswith("0 failed, 0 errors, 0 warnings, 0 notes")


# -- bounded expressions ---------------------------------------------------------------------

@pytest.mark.parametrize("expr", [
    "((1/2)**64)**64",
    "(((1/2)**64)**64)**64",
    "((((1/2)**64)**64)**64)**64",  # one more level used to hang
    "((((1/3)**64)**64)**64)**64 * 0",
])
def test_nested_fractional_powers_fail_fast_with_e304(expr: str, tmp_path: Path,
                                                      cli: Callable) -> None:
    path = write(tmp_path, f'name: p\ninput: [3, 8, 8]\nlayers:\n'
                           f'  - conv: {{out: "=int({expr}) + 8", kernel: 1}}\n')
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with time_limit(10):
        result = cli("summary", path)
    assert time.perf_counter() - start < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024  # KiB
    assert result.exit_code == 1
    assert [d for d in located(result.stderr)] == ["E304@4:17"]
    assert "too precise" in result.stderr


def test_a_fraction_that_stays_small_is_still_exact(tmp_path: Path, cli: Callable) -> None:
    # (2/3)**20 * 3**20 / 2**20 = 1: exact arithmetic, 32-bit numerator and denominator
    path = write(tmp_path, 'name: p\ninput: [3, 8, 8]\nlayers:\n'
                           '  - conv: {out: "=(2/3)**20 * 3**20 / 2**20 * 8", kernel: 1}\n')
    result = cli("summary", path, "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["layers"][0]["output_shape"] == [8, 8, 8]


def test_a_long_chain_of_unary_minus_is_e301_at_the_expression(tmp_path: Path,
                                                                cli: Callable) -> None:
    """Not E207 at 1:1 (the evaluator's recursion limit reported as a nesting error)."""
    path = write(tmp_path, 'name: p\ninput: [3, 8, 8]\nlayers:\n'
                           '  - conv: {out: "=' + "-" * 490 + '8", kernel: 1}\n')
    result = cli("check", path)
    assert result.exit_code == 1
    assert located(result.stderr) == ["E301@4:17"]
    assert "nested more than 100 levels" in result.stderr


# -- total work across the variants of one file ----------------------------------------------

def test_twenty_variants_of_a_large_net_are_capped(tmp_path: Path) -> None:
    """A short file of 20 variants, each ~12,000 layers: the file's budget (100,000 layers)
    stops the work at the ninth, with an E207 at each variant left unchecked."""
    variants = "".join(f"  v{i}: {{set: {{n: {40 + i}}}}}\n" for i in range(20))
    path = write(tmp_path, "name: many\ninput: [8, 8, 8]\nparams: {n: 1}\nvariants:\n"
                 + variants + "layers:\n  - repeat: $n\n    layers:\n      - repeat: 100\n"
                 "        layers: [relu, relu, relu]\n")
    proc = cnnstat("check", path, timeout=60)
    assert proc.returncode == 1
    found = located(proc.stderr)
    # 1 + 3*100*(40 + 41 + ... + 47) = 104,401 layers: v7 crosses 100,000; v8..v19 not checked
    crossing = 1 + 3 * 100 * sum(range(40, 48))
    assert crossing > 100_000 > crossing - 3 * 100 * 47
    assert found == [f"E207@{5 + i}:{7 if i < 10 else 8}" for i in range(7, 20)]
    assert "not checked" in proc.stderr


# -- linear matching ---------------------------------------------------------------------------

def test_matching_is_by_name_and_occurrence_and_keeps_order() -> None:
    def layers(*names: str) -> list[dict[str, object]]:
        return [{"name": n, "params": i} for i, n in enumerate(names)]

    changes = match(layers("a", "x", "b", "x"), layers("new", "a", "x", "b", "c", "x", "x"))
    assert [(c.name, c.kind) for c in changes] == [
        ("new", "added"), ("a", "changed"), ("x", "changed"), ("b", "changed"),
        ("c", "added"), ("x", "changed"), ("x", "added")]


def test_matching_scales_linearly() -> None:
    """50,000 layers with one repeated name each way: the old quadratic match took minutes."""
    n = 50_000
    old = [{"name": f"l{i}", "params": 1} for i in range(n)] + [{"name": "dup"}] * 100
    new = [{"name": f"l{i}", "params": 1 + (i == n - 1)} for i in range(n)]
    new += [{"name": "dup"}] * 100
    start = time.perf_counter()
    changes = match(old, new)
    assert time.perf_counter() - start < 2
    assert [c.name for c in changes if c.kind != "same"] == [f"l{n - 1}"]


# -- names checked where they are written -----------------------------------------------------

@pytest.mark.parametrize(("name", "what"), [
    ("basic1.relu1", "contains '.'"),
    ("", "cannot be empty"),
    ("a/b", "contains '/'"),
    ("\x1b[2J", "U+001B"),
    ("a\rb", "U+000D"),
])
@pytest.mark.parametrize("command", ["summary", "check", "verify", "bench"])
def test_a_bad_name_is_a_located_error_in_every_command(name: str, what: str, command: str,
                                                       tmp_path: Path, cli: Callable) -> None:
    escaped = name.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    path = write(tmp_path, 'name: n\ninput: [3, 8, 8]\nblocks:\n  basic:\n    layers: [relu]\n'
                           f'layers:\n  - basic\n  - relu: {{name: "{escaped}"}}\n')
    result = cli(command, path)
    assert result.exit_code == 1, result.stderr
    assert located(result.stderr)[0] == "E208@8:18"
    assert what in result.stderr
    assert "\x1b" not in result.stderr and "\r" not in result.stderr


def test_a_layer_named_like_a_shortcut_is_refused_before_verify(tmp_path: Path,
                                                                 cli: Callable) -> None:
    path = write(tmp_path, "name: n\ninput: [3, 8, 8]\nlayers:\n  - residual:\n      body:\n"
                           "        - conv: {out: 4, kernel: 1}\n"
                           "        - relu: {name: shortcut}\n")
    for command in ("check", "verify"):
        result = cli(command, "--strict", path) if command == "check" else cli(command, path)
        assert result.exit_code == 1
        assert located(result.stderr) == ["E208@7:24"]
        assert "both a layer and the scope" in result.stderr


# -- the small ones ----------------------------------------------------------------------------

def test_an_input_without_channels_is_rejected(tmp_path: Path, cli: Callable) -> None:
    path = write(tmp_path, "name: hw\ninput: [32, 32]\nlayers: [relu]\n")
    result = cli("summary", path)
    assert result.exit_code == 1 and located(result.stderr) == ["E202@2:8"]
    assert "[3, H, W]" in result.stderr


@pytest.mark.parametrize("args", [
    ("summary", "alexnet", "--input", ""),
    ("explain", "alexnet", "--input", ""),
    ("explain", "conv", "--input", "", "--filters", "2", "--kernel", "1"),
    ("memory", "alexnet", "--fit", "0"),
    ("memory", "alexnet", "--fit", "0.5"),
    ("summary", "lenet5-fc", "--input", "32x32"),
])
def test_empty_or_zero_options_are_usage_errors(args: tuple[str, ...], cli: Callable,
                                                tmp_path: Path) -> None:
    if "lenet5-fc" in args:  # a spec whose input is features, given H x W
        fc = write(tmp_path, "name: fc\ninput: [10]\nlayers:\n  - linear: {out: 2}\n")
        args = tuple(fc if a == "lenet5-fc" else a for a in args)
    result = cli(*args)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert result.stderr.startswith("cnnstat: error: ") and result.stdout == ""


def test_the_api_refuses_an_empty_input_override() -> None:
    import cnnstat
    from cnnstat.errors import UsageError

    with pytest.raises(UsageError, match="expected one to three positive sizes"):
        cnnstat.analyze("alexnet", input=())


def test_a_negative_tolerance_is_rejected(tmp_path: Path, cli: Callable) -> None:
    path = write(tmp_path, "name: t\ninput: [3, 8, 8]\nlayers: [relu]\nreference:\n"
                           "  params: {value: 0, source: x, abs_tol: -5}\n")
    result = cli("check", path)
    assert result.exit_code == 1 and located(result.stderr) == ["E202@5:42"]
    assert "'abs_tol': input should be greater than or equal to 0" in result.stderr


@pytest.mark.parametrize(("written", "hint"), [
    ("1.2e9", "write 1.2e+9 or 1200000000"),
    ("1e9", "write 1.0e+9 or 1000000000"),
    ("5e-1", "write 5.0e-1"),
])
def test_a_number_yaml_reads_as_text_gets_a_hint(written: str, hint: str, tmp_path: Path,
                                                 cli: Callable) -> None:
    path = write(tmp_path, "name: t\ninput: [3, 8, 8]\nlayers: [relu]\nreference:\n"
                           f"  macs: {{value: {written}, source: x}}\n")
    result = cli("check", path)
    assert result.exit_code == 1 and located(result.stderr) == ["E202@5:17"]
    assert f"hint: YAML reads {written} as text, not a number: {hint}" in result.stderr


def test_the_e207_limits_in_messages_match_the_docs() -> None:
    readme = " ".join((Path(__file__).parent.parent / "docs" / "errors.md").read_text("utf-8")
                      .split())
    from cnnstat.spec import budget

    for limit in (budget.MAX_LAYERS, budget.MAX_STEPS, budget.MAX_FILE_LAYERS,
                  budget.MAX_REPEAT):
        assert f"{limit:,}" in readme, limit
    assert f"nested more than {budget.MAX_NESTING} deep" in readme
    assert f"outside 0..{budget.MAX_REPEAT:,}" in readme


@pytest.mark.parametrize(("tolerance", "valid"),
                         [(-5, False), (-0.5, False), (0, True), (0.01, True)])
def test_the_schema_says_tolerances_are_never_negative(tolerance: float, valid: bool) -> None:
    from cnnstat.spec.schema import build_schema
    from tests.minischema import Validator

    spec = {"name": "t", "input": [3, 8, 8], "layers": ["relu"],
            "reference": {"params": {"value": 0, "source": "x", "abs_tol": tolerance,
                                     "rel_tol": abs(tolerance)}}}
    assert Validator(build_schema()).valid(spec, None) is valid
