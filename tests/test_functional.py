"""Layers written as functional calls (issue 17): ``functional: true`` changes no analytic number,
only what the counter presets count: torchinfo, thop and torchscan hook modules and never see a
call (0); ptflops counts the patched functional once where a module is its hook plus the
functional its forward calls (twice); calflops and DeepSpeed count the patched call either way.
``tests/test_functional_live.py`` runs the tools themselves."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest

import cnnstat
from cnnstat.core.counters import (
    CALFLOPS,
    DEEPSPEED,
    PTFLOPS,
    PTFLOPS_ATEN,
    THOP,
    TOOLS,
    TORCHINFO,
    TORCHSCAN,
)
from cnnstat.core.functional import FUNCTIONALS
from cnnstat.core.presets import FVCORE, TORCH
from cnnstat.spec.models import LAYER_ARGS
from tests.conftest import write

FIXTURE = Path(__file__).parent / "verify_specs" / "functional.yaml"


def test_the_flag_is_allowed_on_exactly_the_kinds_with_a_functional_twin() -> None:
    assert {k for k, m in LAYER_ARGS.items() if "functional" in m.model_fields} == set(FUNCTIONALS)


def test_the_flag_changes_no_analytic_number(tmp_path: Path) -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    modules = write(tmp_path, text.replace(", functional: true}", "}")
                    .replace("{functional: true}", "{}"))
    calls, plain = cnnstat.analyze(str(FIXTURE)), cnnstat.analyze(modules)
    assert [r.functional for r in calls.rows] == [r.kind in FUNCTIONALS for r in calls.rows]
    assert not any(r.functional for r in plain.rows)
    assert [dataclasses.replace(r, functional=False) for r in calls.rows] == list(plain.rows)
    assert calls.totals == plain.totals
    for preset in (TORCH, FVCORE, PTFLOPS_ATEN):  # aten sees a module and its call alike
        assert preset.total(calls) == preset.total(plain)


def _rows(tmp_path: Path) -> list[cnnstat.core.report.Row]:
    spec = write(tmp_path, "name: t\ninput: [4, 8, 8]\nlayers: [{relu: {functional: true}}, relu, "
                           "{relu6: {functional: true}}, relu6, {leaky_relu: {functional: true}}, "
                           "{maxpool: {kernel: 2, functional: true}}, "
                           "{avgpool: {kernel: 2, functional: true}}, "
                           "{global_avgpool: {functional: true}}, {dropout: {functional: true}}]\n")
    return list(cnnstat.analyze(spec).rows)


def test_hook_based_tools_count_a_functional_call_0(tmp_path: Path) -> None:
    f_relu, relu, f_relu6, relu6, f_leaky, f_max, f_avg, f_gap, f_drop = _rows(tmp_path)
    n = 4 * 8 * 8
    for preset in (TORCHINFO, THOP, TORCHSCAN):
        assert [preset.count(r) for r in (f_relu, f_relu6, f_leaky, f_max, f_avg, f_gap,
                                          f_drop)] == [0] * 7, preset.name
    assert TORCHSCAN.count(relu) == n  # the module: flops_relu, 1 per element
    assert TORCHSCAN.count(relu6) == 2 * n
    assert THOP.count(dataclasses.replace(f_avg, functional=False)) == 4 * (2 + 2) * (2 + 2) + 4 * 2 * 2
    assert THOP.count(dataclasses.replace(f_gap, functional=False)) == 4 * 2 * 2 + 4


def test_ptflops_counts_a_functional_call_once(tmp_path: Path) -> None:
    f_relu, relu, f_relu6, relu6, f_leaky, f_max, f_avg, f_gap, f_drop = _rows(tmp_path)
    n = 4 * 8 * 8
    assert PTFLOPS.parts(relu) == {"activations": n, "double counting": n}  # hook + F.relu
    assert PTFLOPS.parts(f_relu) == {"activations": n}  # the patched F.relu alone
    assert PTFLOPS.parts(f_relu6) == PTFLOPS.parts(relu6) == {"activations": n}  # F.relu6 patched
    assert PTFLOPS.parts(f_leaky) == {}  # F.leaky_relu is not in FUNCTIONAL_MAPPING
    assert PTFLOPS.parts(f_max) == {"pooling": n}  # numel(input), once
    assert PTFLOPS.parts(f_avg) == {"pooling": 4 * 4 * 4}
    assert PTFLOPS.parts(f_gap) == {"pooling": 4 * 2 * 2}
    assert PTFLOPS.parts(f_drop) == {}


def test_calflops_and_deepspeed_count_the_patched_call(tmp_path: Path) -> None:
    f_relu, relu, f_relu6, relu6, f_leaky, f_max, f_avg, f_gap, f_drop = _rows(tmp_path)
    n = 4 * 8 * 8
    for preset in (CALFLOPS, DEEPSPEED):
        assert preset.parts(f_relu) == preset.parts(relu) == {"activations": n}
        assert preset.parts(relu6) == {}  # nn.ReLU6 calls F.hardtanh, not patched
        assert preset.parts(f_relu6) == {"activations": n}  # F.relu6 is patched
        assert preset.parts(f_leaky) == {"activations": n}
        assert preset.parts(f_max) == {"pooling": n}


def test_a_functional_adaptive_max_pool_per_tool(tmp_path: Path) -> None:
    """F.adaptive_max_pool2d (4x9x9 -> 4x6x4): no module for torchinfo, thop or torchscan to
    hook (0); ptflops, calflops and DeepSpeed count the patched call alone, numel(input) once
    (the module is ptflops' hook plus the call its forward makes: twice)."""
    spec = write(tmp_path, "name: t\ninput: [4, 9, 9]\nlayers: [{adaptive_maxpool: {size: [6, 4], "
                           "functional: true}}]\n")
    (call,) = cnnstat.analyze(spec).rows
    module = dataclasses.replace(call, functional=False)
    n = 4 * 9 * 9
    assert [p.count(call) for p in (TORCHINFO, THOP, TORCHSCAN)] == [0, 0, 0]
    assert TORCHSCAN.count(module) == 4 * 6 * 4 * ((9 % 6 + 1) * (9 % 4 + 1) - 1)
    assert PTFLOPS.parts(call) == {"pooling": n}
    assert PTFLOPS.parts(module) == {"pooling": n, "double counting": n}
    assert CALFLOPS.parts(call) == DEEPSPEED.parts(call) == CALFLOPS.parts(module) == {"pooling": n}


# the figures tools/verify_counters.py measured on torchvision's own models
# (docs/counting-and-verification.md, "--count presets of other counters"): these networks
# write some layers as functional calls
MEASURED = {
    ("googlenet", "ptflops"): 1_513_907_448, ("googlenet", "torchscan"): 3_009_291_824,
    ("inception-v3", "thop"): 5_749_219_168, ("inception-v3", "ptflops"): 5_747_660_552,
    ("inception-v3", "torchscan"): 11_454_656_768,
    ("densenet121", "thop"): 2_897_709_568, ("densenet121", "ptflops"): 2_899_843_048,
    ("densenet121", "torchscan"): 5_740_723_136,
    ("mobilenet-v2", "thop"): 327_486_720, ("mobilenet-v2", "ptflops"): 320_300_008,
    ("mobilenet-v2", "torchscan"): 633_829_856,
}


@pytest.mark.parametrize(("name", "tool"), sorted(MEASURED))
def test_zoo_presets_equal_the_tools_on_torchvision(name: str, tool: str, cli: Callable) -> None:
    result = cli("summary", name, "--count", tool, "--format", "json")
    assert result.exit_code == 0, result.stderr
    preset = {p.name: p for p in TOOLS}[tool]
    assert preset.total(cnnstat.analyze(name)) == MEASURED[(name, tool)]
    assert str(MEASURED[(name, tool)]) in result.stdout


def test_the_flag_is_refused_on_a_kind_without_a_functional_twin(tmp_path: Path,
                                                                 cli: Callable) -> None:
    spec = write(tmp_path, "name: t\ninput: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 3, "
                           "functional: true}\n")
    result = cli("check", spec, "--format", "json")
    assert result.exit_code == 1
    assert "E209" in result.stdout
    result = cli("summary", spec)
    assert result.exit_code == 1
    assert "E209" in result.stderr and "conv has no functional form" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_schema_offers_the_flag_only_where_it_is_allowed() -> None:
    schema = json.loads((Path(cnnstat.__file__).parent / "schema" / "spec.schema.json")
                        .read_text(encoding="utf-8"))
    text = json.dumps(schema)
    assert text.count('"functional"') >= 1
    defs = schema["$defs"]
    assert "functional" in defs["MaxPoolArgs"]["properties"]
    assert "functional" not in defs["ConvArgs"]["properties"]
