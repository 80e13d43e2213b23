"""Fuzzing the loader: mutated spec files (byte and line mutations of the zoo and of the bad-spec
corpus) go through everything ``check`` does -- decode, YAML, validation, expansion of the
defaults and every variant, analysis, figures -- and every rendering of the result.  Only
cnnstat's own errors may come out, each example within a time limit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnstat.analysis import analyze
from cnnstat.check import baseline
from cnnstat.check.files import check_bytes, summarise
from cnnstat.errors import SpecError, UsageError
from cnnstat.spec import loader
from cnnstat.spec.budget import Budget, FileBudgetSpent
from cnnstat.spec.models import FLAG, LAYER_ARGS, REAL
from cnnstat.views import check as check_report
from cnnstat.zoo import specs_dir
from tests.limits import time_limit

CORPUS = Path(__file__).parent / "bad_specs"
SOURCES = [p.read_bytes() for p in sorted(specs_dir().glob("*.yaml"))] + \
    [p.read_bytes() for p in sorted(CORPUS.glob("*.yaml")) if p.is_file()]
SPECIAL = b":-[]{}&*!|>'\"#%@`,?$=\t \x00\x7f\xff\xc3"
VALUES = [b"0", b"-1", b"1", b"2147483648", b"1000000000000000", b"3.5", b"1e309", b".nan",
          b"$x", b"=1/0", b"~", b"''", b"[]", b"{}", b"*a", b"&a x", b"!!python/object:os.system",
          b"same", b"true", b"required", b"10**100"]
# extreme numbers: beyond any float, beyond Python's int-to-str limit, the float edges
EXTREME = [b"1" + b"0" * 400, b"-1" + b"0" * 400, b"9" * 5000, b"1.0e-324", b"5.0e-324",
           b"1.7976931348623157e+308", b"-.inf", b".inf", b".nan", b"2147483647", b"-2147483648",
           b"9223372036854775808", b"0x7fffffff", b"0o777", b"1_000_000", b"=10**400",
           b"=2**31", b"1.2e9", b"-0"]
WORDS = [b"conv", b"relu", b"repeat", b"residual", b"concat", b"split", b"dense", b"scale",
         b"side", b"blocks", b"variants", b"layers", b"body", b"branches", b"shortcut",
         b"maxout", b"layer", b"reference", b"expect", b"budget", b"input", b"params", b"name"]


@st.composite
def line_index(draw: st.DrawFn, lines: list[bytes]) -> int:
    return draw(st.integers(0, max(0, len(lines) - 1)))


@st.composite
def mutate(draw: st.DrawFn, lines: list[bytes]) -> list[bytes]:
    """One mutation of a file's lines."""
    if not lines:
        return [draw(st.binary(max_size=40))]
    i, j = draw(line_index(lines)), draw(line_index(lines))
    line = lines[i]
    op = draw(st.sampled_from(["delete", "duplicate", "swap", "byte", "insert", "value", "word",
                               "indent", "truncate", "repeat", "extreme"]))
    out = list(lines)
    if op == "delete":
        del out[i]
    elif op == "duplicate":
        out.insert(j, line)
    elif op == "swap":
        out[i], out[j] = out[j], out[i]
    elif op in ("byte", "insert"):
        k = draw(st.integers(0, len(line)))
        new = bytes([draw(st.sampled_from(SPECIAL))]) if draw(st.booleans()) else \
            draw(st.binary(min_size=1, max_size=4))
        out[i] = line[:k] + new + line[k + (op == "byte"):]
    elif op in ("value", "word", "extreme"):
        tokens = line.replace(b",", b" ").replace(b"}", b" ").replace(b"]", b" ").split()
        if op == "extreme":
            tokens = [t for t in tokens if t.lstrip(b"-").replace(b".", b"").isdigit()] or tokens
        pool = {"value": VALUES, "word": WORDS, "extreme": EXTREME}[op]
        if tokens:
            old = draw(st.sampled_from(tokens))
            out[i] = line.replace(old, draw(st.sampled_from(pool)), 1)
    elif op == "indent":
        out[i] = line[2:] if line.startswith(b"  ") and draw(st.booleans()) else b"  " + line
    elif op == "truncate":
        out = out[:i] + [line[: draw(st.integers(0, len(line)))]]
    else:  # a block of lines repeated: deeper structures, more of everything
        out[i:i] = out[i:j + 1] * draw(st.integers(2, 4))
    return out


@st.composite
def mutated_spec(draw: st.DrawFn) -> bytes:
    lines = draw(st.sampled_from(SOURCES)).split(b"\n")
    for _ in range(draw(st.integers(1, 4))):
        lines = draw(mutate(lines))
    return b"\n".join(lines)


def load_every_configuration(raw: bytes) -> None:
    """What every command does with a file: its defaults and each variant, analysed, under one
    expansion budget for the file as ``check`` uses (one command expands one configuration; the
    budget keeps this loop over all of them as bounded as ``check`` is)."""
    parsed = loader.parse(raw, "fuzz.yaml")
    work = Budget()
    for variant in [None, *parsed.model.variants]:
        try:
            analyze(loader.build(parsed, variant, budget=work))
        except FileBudgetSpent:
            return  # the file's work is spent (check reports the rest as E207)
        except SpecError:
            pass  # one configuration rejected; the others are still tried


@settings(max_examples=200)
@given(mutated_spec())
def test_mutated_specs_raise_only_cnnstat_errors(raw: bytes) -> None:
    with time_limit(15):
        try:
            load_every_configuration(raw)
        except (SpecError, UsageError):
            pass
        result = check_bytes(raw, "fuzz.yaml")  # check never raises: errors become findings
        summary = summarise([result], strict=True)
        check_report.text([result])
        json.loads(check_report.to_json([result], summary, True))
        check_report.github([result])
        check_report.junit([result], True)
        json.dumps(baseline.document([result]))
    assert summary.files == 1 and (result.targets or result.file_diagnostics)


def test_fuzz_sources_include_the_zoo_and_the_corpus() -> None:
    assert len(SOURCES) > len(list(specs_dir().glob("*.yaml"))) + 40


# -- structure-aware: random specs from a small grammar of what a spec can say ---------------

ODD = st.sampled_from([0, -1, 2**31, 10**15, 0.5, float("nan"), float("inf"), True, None, "",
                       "$w", "$w * 2", "$w / 3", "=1/0", "same", "valid", "auto", "identity",
                       "pad", "identity-if-same", "relu", "conv", "b1", "required", [2, 3], [1],
                       []])
SMALL = st.integers(1, 9)
LEAVES = st.one_of(SMALL, SMALL, SMALL, SMALL, ODD)  # mostly sensible, so analysis is reached
def _arg(meta: list[object]) -> st.SearchStrategy:
    if FLAG in meta:
        return st.one_of(st.booleans(), st.booleans(), ODD)
    if REAL in meta:
        return st.one_of(st.floats(0, 2), ODD)
    return LEAVES


def kind_items(kind: str) -> st.SearchStrategy:
    """``kind``, or ``{kind: args}`` with its required arguments and some optional ones."""
    fields = {f: i for f, i in LAYER_ARGS[kind].model_fields.items()
              if f not in ("name", "connections", "layer")}
    required = {f: _arg(i.metadata) for f, i in fields.items() if i.is_required()}
    optional = {f: _arg(i.metadata) for f, i in fields.items() if not i.is_required()}
    if kind == "maxout":
        required["layer"] = st.sampled_from([{"conv": {"out": 4, "kernel": 1}},
                                             {"linear": {"out": 3}}, "relu"])
    args = st.fixed_dictionaries(required, optional=optional)
    items = st.builds(lambda a: {kind: a}, args)
    return items if required else st.one_of(st.just(kind), items)


def layer_items(children: st.SearchStrategy) -> st.SearchStrategy:
    layers = st.lists(children, max_size=3)
    return st.one_of(
        st.fixed_dictionaries({"residual": st.fixed_dictionaries(
            {"body": layers}, optional={"shortcut": st.one_of(LEAVES, layers), "then": layers})}),
        st.builds(lambda k, bs: {k: bs}, st.sampled_from(["concat", "split"]),
                  st.lists(layers, max_size=3)),
        st.builds(lambda k, b: {k: b}, st.sampled_from(["scale", "side"]), layers),
        st.fixed_dictionaries({"repeat": LEAVES, "layers": layers}),
        st.fixed_dictionaries({"dense": st.fixed_dictionaries({"count": LEAVES,
                                                               "layers": layers})}),
        st.fixed_dictionaries({"maxout": st.fixed_dictionaries({"pieces": LEAVES,
                                                                "layer": children})}),
    )


BASE_ITEMS = st.one_of(*(kind_items(k) for k in LAYER_ARGS),
                       st.sampled_from(["b1", "b2", "nope", {"b1": {"w": 2}}, {"b2": None}]))
ITEMS = st.recursive(BASE_ITEMS, layer_items, max_leaves=12)
# Odd values go into the layers only: one at the top level rejects the whole file before any
# layer is analysed (the mutation fuzzer above covers the top level).
FIGURE = st.fixed_dictionaries({"value": st.integers(0, 10**6), "source": st.just("s")},
                               optional={"rel_tol": st.sampled_from([0, 0.1, 1, -1]),
                                         "known_difference": st.just("k")})
COUNT = st.integers(0, 10**6)
SPECS = st.fixed_dictionaries(
    {"name": st.just("fuzz"), "input": st.sampled_from([[3, 16, 16], [3, 1, 1], [8], [4, 7, 5],
                                                         ["$w", 9, 9], [3, 2**31 - 1, 4]]),
     "params": st.fixed_dictionaries({"w": SMALL}),
     "layers": st.lists(ITEMS, min_size=1, max_size=6)},
    optional={"blocks": st.dictionaries(st.sampled_from(["b1", "b2"]), st.fixed_dictionaries(
        {"layers": st.lists(ITEMS, max_size=3)}, optional={"args": st.dictionaries(
            st.sampled_from(["w", "x"]), SMALL, max_size=2)}), max_size=2),
        "variants": st.dictionaries(st.sampled_from(["v1", "v2"]), st.fixed_dictionaries(
            {"set": st.fixed_dictionaries({"w": SMALL})}, optional={
                "reference": st.fixed_dictionaries({"params": FIGURE})}), max_size=2),
        "reference": st.fixed_dictionaries({"macs": st.one_of(FIGURE, st.lists(FIGURE,
                                                                               max_size=2))}),
        "budget": st.fixed_dictionaries({"params": COUNT}),
        "expect": st.fixed_dictionaries({"activations": COUNT})})


@settings(max_examples=150)
@given(SPECS)
def test_generated_specs_raise_only_cnnstat_errors(spec: dict[str, object]) -> None:
    raw = yaml.safe_dump(spec, sort_keys=False).encode()
    with time_limit(15):
        try:
            load_every_configuration(raw)
        except (SpecError, UsageError):
            pass
        result = check_bytes(raw, "fuzz.yaml")
        check_report.text([result])
        check_report.junit([result], False)
    assert result.targets or result.file_diagnostics


# -- the command line, in a child process under time and memory bounds -------------------------

# CNNSTAT_FUZZ_EXAMPLES raises the number of batches for a longer run on demand
# (CONTRIBUTING.md, Tests)
CLI_BATCHES = int(os.environ.get("CNNSTAT_FUZZ_EXAMPLES", "4"))
CLI_BATCH = 12  # mutated files per child process; four commands each
MEMORY = 3 << 29  # 1.5 GiB of address space for the child (RLIMIT_AS)
SECONDS = 10.0  # per command


@settings(max_examples=CLI_BATCHES)
@given(st.lists(mutated_spec(), min_size=CLI_BATCH, max_size=CLI_BATCH))
def test_mutated_specs_through_the_command_line(raws: list[bytes]) -> None:
    """Byte flips, YAML structure mutations and extreme numbers, through ``check`` (json and
    junit) and ``summary`` (json and table): every run exits 0, 1 or 2, within its time bound,
    with no traceback and no 'internal error', in a process limited to 1.5 GiB."""
    with tempfile.TemporaryDirectory() as tmp:
        for i, raw in enumerate(raws):
            Path(tmp, f"case{i:03d}.yaml").write_bytes(raw)
        proc = subprocess.run(
            [sys.executable, "-m", "tests.fuzz_cli_child", tmp, str(MEMORY), str(SECONDS)],
            capture_output=True, text=True, timeout=60 + CLI_BATCH * 4 * SECONDS, check=False,
            cwd=Path(__file__).parent.parent, env={**os.environ, "CNNSTAT_NO_CACHE": "1"})
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs = [json.loads(line) for line in proc.stdout.splitlines()]
        assert len(runs) == CLI_BATCH * 4
        for run in runs:
            case = Path(tmp, run["file"]).read_bytes()[:2000]
            assert run["exit"] in (0, 1, 2), (run, case)
            assert not run["traceback"] and not run["internal_error"], (run, case)


# -- sweep, merge and scale arguments, in a child process under the same bounds ----------------

SCALABLE = """\
name: scalable
input: [3, $r, $r]
params: {w: 1.0, d: 1.0, r: 16}
scaling: {width: w, depth: d, resolution: r}
layers:
  - conv: {out: "make_divisible(8 * $w, 4)", kernel: 3, padding: 1}
  - repeat: "ceil(2 * $d)"
    layers: [conv: {out: "make_divisible(8 * $w, 4)", kernel: 3, padding: 1}, relu]
  - global_avgpool
"""
NUMBERS = ["0", "1", "2", "-1", "0.5", "1e9", "-1e9", "1e-300", "1e999999999", "1000000.5",
           "99999999999999999999", "nan", "inf", "abc", "", "1/3", "1_0", "0x10", "=1/0"]
VALUE_LIST = st.lists(st.sampled_from(NUMBERS + ["true", "[1", "{a: 1}", "!!python/object"]),
                      min_size=1, max_size=4).map(",".join)
OPTIONS = {
    "--vary": st.tuples(st.sampled_from(["w", "d", "r", "nope", "", "w=w"]), VALUE_LIST)
    .map("=".join),
    "--input": st.sampled_from(["3x8x8", "3x16x16", "0x0", "3x8", "a", "3x8x8x8x8",
                                "3x99999999999x1"]),
    "--random": st.sampled_from(["1", "3", "1000000000", "99999999999999999999", "0", "-1"]),
    "--seed": st.sampled_from(["0", "7", "-1", "x"]),
    "--shard": st.sampled_from(["0/1", "1/2", "2/2", "0/0", "x", "-1/3", "0/1000000000000"]),
    "--budget": st.sampled_from(["macs<=1K", "memory<=1GiB@batch0", "x<=1", "rf<=",
                                 "macs<=999999999999999T", "params<=1.5"]),
    "--objective": st.sampled_from(["macs", "max:rf", "bogus", "max:", "min:params", ""]),
    "--batch": st.sampled_from(["1", "0", "1000000000000"]),
    "--jobs": st.sampled_from(["1", "2", "64", "0"]),
    "--dtype": st.sampled_from(["float32", "int4", "float16"]),
}
SCALE = {
    "--phi": st.lists(st.one_of(st.sampled_from(NUMBERS), st.sampled_from(
        ["1-3", "-2--1", "3-1", "1--2", "0.5-2", "1-1000000000", "-", "--1"])),
        min_size=1, max_size=3).map(",".join),
    "--target": st.sampled_from(["macs=10K", "macs=999999999999999T", "params=1", "x=1",
                                 "memory=1GiB@batch4", "macs", "macs=1,params=1G", ""]),
    "--search": st.just(None),
    "--table": st.just(None),
}
COEFFICIENTS = {k: st.sampled_from(NUMBERS) for k in ("--alpha", "--beta", "--gamma", "--step",
                                                      "--tolerance")}


@st.composite
def sweep_argv(draw: st.DrawFn, where: Path) -> list[str]:
    argv = ["sweep", str(where / "scalable.yaml"), "--format",
            draw(st.sampled_from(["json", "csv", "table"]))]
    for name in draw(st.lists(st.sampled_from(sorted(OPTIONS)), max_size=5)):
        argv += [name, draw(OPTIONS[name])]
    if draw(st.booleans()):
        argv += ["--out", str(where / draw(st.sampled_from(["new.jsonl", "good.jsonl",
                                                            "mutated.jsonl"])))]
        argv += ["--resume"] if draw(st.booleans()) else []
    return argv


@st.composite
def merge_argv(draw: st.DrawFn, where: Path) -> list[str]:
    files = draw(st.lists(st.sampled_from(["good.jsonl", "mutated.jsonl", "missing.jsonl",
                                           "scalable.yaml", "."]), min_size=1, max_size=3))
    argv = ["merge", *(str(where / f) for f in files)]
    for name in draw(st.lists(st.sampled_from(["--budget", "--objective"]), max_size=2)):
        argv += [name, draw(OPTIONS[name])]
    return argv


@st.composite
def scale_argv(draw: st.DrawFn, where: Path) -> list[str]:
    argv = ["scale", str(where / "scalable.yaml"), "--no-rf"]
    for mode in draw(st.lists(st.sampled_from(sorted(SCALE)), min_size=1, max_size=2)):
        value = draw(SCALE[mode])
        argv += [mode] if value is None else [mode, value]
    for name in draw(st.lists(st.sampled_from(sorted(COEFFICIENTS)), max_size=2)):
        argv += [name, draw(COEFFICIENTS[name])]
    if draw(st.booleans()):
        argv += ["-o", str(where / "scaled.yaml")]
    return argv


@st.composite
def mutated_results(draw: st.DrawFn, good: bytes) -> bytes:
    lines = good.split(b"\n")
    for _ in range(draw(st.integers(1, 3))):
        lines = draw(mutate(lines))
    return b"\n".join(lines)


def _good_results(where: Path) -> bytes:
    from click.testing import CliRunner

    from cnnstat.cli.main import main

    out = where / "good.jsonl"
    result = CliRunner().invoke(main, ["sweep", str(where / "scalable.yaml"), "--vary",
                                       "w=0.5,1,2", "--vary", "d=1,2", "-j", "1", "--out",
                                       str(out), "--format", "csv"])
    assert result.exit_code == 0, result.output
    return out.read_bytes()


@settings(max_examples=CLI_BATCHES)
@given(st.data())
def test_sweep_merge_and_scale_arguments_through_the_command_line(data: st.DataObject) -> None:
    """Fuzzed option values for sweep, merge and scale (numbers at and past every bound,
    malformed text, mutated results files) in a child process limited to 1.5 GiB: every run
    exits 0, 1 or 2 within its time bound, with no traceback and no 'internal error'."""
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        (where / "scalable.yaml").write_text(SCALABLE)
        good = _good_results(where)
        (where / "mutated.jsonl").write_bytes(data.draw(mutated_results(good)))
        runs = data.draw(st.lists(st.one_of(sweep_argv(where), merge_argv(where),
                                            scale_argv(where)),
                                  min_size=CLI_BATCH, max_size=CLI_BATCH))
        (where / "runs.json").write_text(json.dumps(runs))
        proc = subprocess.run(
            [sys.executable, "-m", "tests.fuzz_cli_child", "--argv", str(where / "runs.json"),
             str(MEMORY), str(SECONDS)],
            capture_output=True, text=True, timeout=60 + CLI_BATCH * SECONDS, check=False,
            cwd=Path(__file__).parent.parent, env={**os.environ, "CNNSTAT_NO_CACHE": "1"})
        assert proc.returncode == 0, proc.stderr[-3000:]
        results = [json.loads(line) for line in proc.stdout.splitlines()]
        assert len(results) == CLI_BATCH
        for run in results:
            assert run["exit"] in (0, 1, 2), run
            assert not run["traceback"] and not run["internal_error"], run
