"""What users see: exit codes, stdout/stderr separation, options, and the JSON contract."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from cnnstat import zoo
from tests.conftest import write

WARNS = """\
name: warns
input: [3, 224, 224]
layers:
  - conv: {out: 96, kernel: 11, stride: 4}
"""


def test_summary_table_names_the_conventions(cli: Callable) -> None:
    result = cli("summary", "conv-example", "--color", "never")
    assert result.exit_code == 0
    assert "10 5x5 filters at stride 1, pad 2" in result.stdout
    assert "760" in result.stdout and "768,000" in result.stdout
    assert "FLOPs = 2 x MACs" in result.stdout or "(= 2 x MACs)" in result.stdout
    assert "multiply-accumulates" in result.stdout
    assert result.stderr == ""


def test_json_parses_even_with_warnings(cli: Callable, tmp_path: Path) -> None:
    result = cli("summary", write(tmp_path, WARNS), "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)  # warnings went to stderr, not into the JSON
    assert "warning[W501]" in result.stderr and "spec.yaml:4:" in result.stderr
    assert doc["diagnostics"][0]["code"] == "W501"
    assert doc["schema_version"] == 1
    assert set(doc["conventions"]) >= {"macs", "flops"}
    layer = doc["layers"][0]
    assert {"name", "kind", "output_shape", "params", "macs", "flops"} <= set(layer)
    assert layer["output_shape"] == [96, (224 - 11) // 4 + 1, 54]
    assert {"params", "macs", "flops"} <= set(doc["totals"])


def test_json_numbers_are_exact_integers(cli: Callable) -> None:
    doc = json.loads(cli("summary", "vgg16", "--format", "json").stdout)
    assert doc["totals"]["params"] == 138357544  # torchvision vgg16 num_params (published.md)
    assert isinstance(doc["totals"]["macs"], int)


def test_batch_input_and_set_overrides(cli: Callable) -> None:
    doc = json.loads(cli("summary", "alexnet", "--format", "json", "--batch", "4",
                         "--input", "3x227x227", "--set", "classes=10").stdout)
    assert doc["spec"]["batch"] == 4
    fc8 = doc["layers"][-1]
    assert fc8["output_shape"] == [10] and fc8["params"] == 4096 * 10 + 10
    assert fc8["macs"] == 4 * 4096 * 10


def test_input_override_keeps_channels_when_given_hw(cli: Callable) -> None:
    doc = json.loads(cli("summary", "vgg11", "--input", "32x32", "--format", "json").stdout)
    assert doc["spec"]["input_shape"] == [3, 32, 32]


def test_stdin_spec(cli: Callable) -> None:
    result = cli("summary", "-", "--format", "csv", input=WARNS)
    assert result.exit_code == 0 and result.stdout.startswith("name,layer,output")
    assert "<stdin>:4:" in result.stderr


def test_list_shows_the_zoo(cli: Callable) -> None:
    doc = json.loads(cli("list", "--format", "json").stdout)
    names = [s["name"] for s in doc["specs"]]
    assert names == zoo.names()
    assert {"vgg16", "alexnet", "lenet5", "conv-example"} <= set(names)


def test_rejected_spec_exits_1_without_traceback(cli: Callable, tmp_path: Path) -> None:
    result = cli("summary", write(tmp_path, "name: x\ninput: [3, 4, 4]\nlayers: [conv: {out: 1, kernel: 9}]\n"))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "error[E401]" in result.stderr and "Traceback" not in result.stderr


def test_could_not_run_exits_2(cli: Callable, tmp_path: Path) -> None:
    for args in (["summary", "no-such-net"], ["summary", str(tmp_path / "missing.yaml")],
                 ["summary", str(tmp_path)], ["summary", "vgg16", "--set", "nope=1"],
                 ["summary", "vgg16", "--input", "banana"], ["summary", "vgg16", "--batch", "0"],
                 ["summary", "vgg16", "--format", "xml"]):
        result = cli(*args)
        assert result.exit_code == 2, args
        assert "Traceback" not in result.stderr and result.stdout == ""


def test_unknown_name_suggests(cli: Callable) -> None:
    result = cli("summary", "vgg61")
    assert "no built-in spec named 'vgg61'" in result.stderr and "vgg16" in result.stderr


def test_markdown_and_csv_are_never_styled(cli: Callable) -> None:
    for fmt in ("markdown", "csv"):
        out = cli("summary", "vgg11", "--format", fmt, "--color", "always").stdout
        assert "\x1b[" not in out


def test_color_always_styles_the_table(cli: Callable) -> None:
    assert "\x1b[" in cli("summary", "conv-example", "--color", "always").stdout


def test_console_script_entry_point_runs() -> None:
    proc = subprocess.run([sys.executable, "-m", "cnnstat", "summary", "conv-example",
                           "--format", "csv"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "conv1" in proc.stdout


def test_internal_errors_are_reported_not_raised(cli: Callable, monkeypatch) -> None:
    from cnnstat.cli.commands import analysis

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(analysis, "analysed_source", boom)  # summary's loader (SPEC or --module)
    result = cli("summary", "vgg16")
    assert result.exit_code == 2
    assert "internal error: RuntimeError: kaboom" in result.stderr
    assert "Traceback" not in result.stderr
    with_tb = cli("--traceback", "summary", "vgg16")
    assert with_tb.exit_code == 2 and "Traceback" in with_tb.stderr


def test_json_has_one_layer_per_line_and_parses(cli: Callable) -> None:
    out = cli("summary", "alexnet", "--format", "json").stdout
    doc = json.loads(out)
    layer_lines = [line for line in out.splitlines() if line.startswith('    {"name": ')]
    assert len(layer_lines) == len(doc["layers"]) == 23
    assert json.loads(layer_lines[0].rstrip(","))["name"] == "conv1"


def test_count_with_a_style_is_a_usage_error(cli: Callable) -> None:
    result = cli("summary", "vgg11", "--style", "lecture", "--count", "torch")
    assert result.exit_code == 2 and result.stdout == ""
    assert "--count torch applies to the default summary, not --style lecture" in result.stderr


def test_one_number_input_on_an_image_spec_is_refused_not_guessed(cli: Callable) -> None:
    # vgg16's input is 3x224x224: '--input 224' once set only the width (3x224x224 from a
    # 3x384x384 spec); now it asks for H x W or C x H x W.
    result = cli("summary", "vgg16", "--input", "224")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("cnnstat: error: input 224: the spec's input is 3x224x224")
    assert "224x224" in result.stderr and "3x224x224" in result.stderr


def test_one_number_input_sets_the_features_of_a_flat_spec(cli: Callable, tmp_path: Path) -> None:
    spec = write(tmp_path, "name: mlp\ninput: [784]\nlayers: [linear: {out: 10}]\n")
    doc = json.loads(cli("summary", spec, "--input", "100", "--format", "json").stdout)
    assert doc["spec"]["input_shape"] == [100]
    assert doc["totals"]["params"] == 100 * 10 + 10


VARIANTS = ("name: net\ninput: [3, 32, 32]\nparams: {width: 8}\n"
            "variants:\n  small: {set: {width: 4}}\n  wide_net: {set: {width: 16}}\n"
            "layers: [conv: {out: $width, kernel: 3}]\n")


def test_a_file_spec_variant_is_named_after_a_hash(cli: Callable, tmp_path: Path) -> None:
    spec = write(tmp_path, VARIANTS)
    for name, width in (("small", 4), ("wide_net", 16), ("wide-net", 16)):
        doc = json.loads(cli("params", f"{spec}#{name}", "--format", "json").stdout)
        assert doc["totals"]["params"] == width * 3 * 3 * 3 + width, name
    plain = json.loads(cli("params", spec, "--format", "json").stdout)
    assert plain["totals"]["params"] == 8 * 3 * 3 * 3 + 8


def test_an_unknown_file_variant_names_the_variants(cli: Callable, tmp_path: Path) -> None:
    spec = write(tmp_path, VARIANTS)
    result = cli("params", f"{spec}#smal")
    assert result.exit_code == 2 and result.stdout == ""
    assert "no variant 'smal'" in result.stderr and "did you mean 'small'?" in result.stderr
    result = cli("params", f"{spec}#tiny")
    assert result.exit_code == 2 and "its variants: small, wide_net" in result.stderr
    result = cli("params", f"{spec}#")
    assert result.exit_code == 2 and "no variant after '#'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_file_whose_name_holds_a_hash_is_read_as_named(cli: Callable, tmp_path: Path) -> None:
    spec = write(tmp_path, VARIANTS, name="net#small.yaml")
    doc = json.loads(cli("params", spec, "--format", "json").stdout)
    assert doc["totals"]["params"] == 8 * 3 * 3 * 3 + 8
