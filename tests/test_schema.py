"""The JSON Schema of spec files: shipped equal to what the models generate, complete over the
layer kinds, accepted by every built-in spec, and not vacuous (it rejects broken specs)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import pytest

from cnnstat.core.rules import RULES
from cnnstat.spec.expand import COMPOSITES, SHORTCUT_MODES
from cnnstat.spec.models import COMPOSITE_ARGS, LAYER_ARGS, ResidualArgs
from cnnstat.spec.schema import SCHEMA_FILE, build_schema, schema_text
from cnnstat.spec.source import load_yaml
from cnnstat.zoo import specs_dir
from tests.minischema import Validator

SPECS = sorted(specs_dir().glob("*.yaml"))
SCHEMA_LINE = "# yaml-language-server: $schema=../cnnstat/schema/spec.schema.json"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def test_shipped_schema_is_the_generated_one() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), \
        "regenerate: cnnstat schema > cnnstat/schema/spec.schema.json"


def test_schema_check_command(cli: Callable) -> None:
    result = cli("schema", "--check")
    assert result.exit_code == 0 and "up to date" in result.stderr


def test_schema_command_prints_json(cli: Callable) -> None:
    result = cli("schema")
    assert result.exit_code == 0 and json.loads(result.stdout) == build_schema()


def test_schema_check_fails_when_stale(cli: Callable, monkeypatch: pytest.MonkeyPatch,
                                       tmp_path: Path) -> None:
    stale = tmp_path / "spec.schema.json"
    stale.write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr("cnnstat.spec.schema.SCHEMA_FILE", stale)
    result = cli("schema", "--check")
    assert result.exit_code == 1 and "out of date" in result.stderr


def test_every_layer_kind_has_a_definition(schema: dict[str, Any]) -> None:
    defs = schema["$defs"]
    assert set(LAYER_ARGS) <= set(defs)
    assert set(LAYER_ARGS) == set(RULES)  # the schema's kinds are the rules' kinds
    for kind in LAYER_ARGS:
        assert defs[kind]["required"] == [kind]
        assert {"$ref": f"#/$defs/{kind}"} in defs["LayerItem"]["oneOf"]
    for kind in (*COMPOSITE_ARGS, "repeat"):
        assert {"$ref": f"#/$defs/{kind}"} in defs["LayerItem"]["oneOf"]


def test_blocks_and_layers_share_the_layer_item(schema: dict[str, Any]) -> None:
    item = {"$ref": "#/$defs/LayerItem"}
    assert schema["properties"]["layers"]["items"] == item
    assert schema["$defs"]["BlockModel"]["properties"]["layers"]["items"] == item
    assert schema["$defs"]["ResidualArgs"]["properties"]["body"]["items"] == item


def test_composites_and_shortcuts_agree_with_the_expander() -> None:
    assert set(COMPOSITES) == set(COMPOSITE_ARGS)
    literal = get_args(ResidualArgs.model_fields["shortcut"].annotation)[0]
    assert set(get_args(literal)) == {*SHORTCUT_MODES, "identity"}


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_builtin_spec_validates_against_the_schema(path: Path, schema: dict[str, Any]) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == SCHEMA_LINE
    assert (path.parent / SCHEMA_LINE.split("$schema=")[1]).resolve() == SCHEMA_FILE
    data, _ = load_yaml(text, str(path))
    assert Validator(schema).errors(data) == []


HEAD = {"name": "x", "input": [3, 8, 8]}

# A misspelt kind ('rleu') reads as a call of a named block, which JSON Schema cannot tell from
# one (the block names live in the same file); the loader rejects it (E204, "did you mean").
REJECTED = {
    "bare composite": ["residual"],
    "unknown conv key": [{"conv": {"out": 8, "kernel": 3, "strid": 2}}],
    "bare kind that needs arguments": ["conv"],
    "conv without out": [{"conv": {"kernel": 3}}],
    "float channel count": [{"conv": {"out": 3.5, "kernel": 3}}],
    "two keys in one item": [{"conv": {"out": 8, "kernel": 3}, "relu": None}],
    "repeat without layers": [{"repeat": 2}],
    "repeat with an extra key": [{"repeat": 2, "layers": ["relu"], "times": 3}],
    "residual without body": [{"residual": {"shortcut": "auto"}}],
    "unknown shortcut mode": [{"residual": {"body": ["relu"], "shortcut": "sideways"}}],
    "block call with a scalar": [{"stage": 3}],
    "nested unknown key": [{"concat": [["relu"], [{"conv": {"out": 1, "kernel": 1,
                                                             "paddin": 1}}]]}],
}


@pytest.mark.parametrize("layers", REJECTED.values(), ids=list(REJECTED))
def test_schema_rejects_broken_layers(layers: list[Any], schema: dict[str, Any]) -> None:
    assert Validator(schema).errors({**HEAD, "layers": layers}) != []


def test_schema_accepts_every_item_form(schema: dict[str, Any]) -> None:
    spec = {**HEAD, "blocks": {"unit": {"args": {"w": "required"}, "layers": ["relu"]}},
            "layers": ["relu", "unit", {"unit": {"w": 4}}, {"bn": None},
                       {"conv": {"out": "$c * 2", "kernel": [3, 1], "padding": "same"}},
                       {"repeat": "$n", "layers": [{"maxout": {"pieces": 2, "layer": {
                           "linear": {"out": 4}}}}]},
                       {"residual": {"body": ["relu"], "shortcut": [{"conv": {"out": 1,
                                                                              "kernel": 1}}]}},
                       {"concat": {"branches": {"a": ["relu"], "b": None}}},
                       {"split": [["relu"], ["tanh"]]}, {"scale": ["sigmoid"]},
                       {"dense": {"count": 2, "layers": ["relu"]}}, {"side": {"body": ["relu"]}}],
            "reference": {"params": [{"value": 1, "source": "s"}]}, "budget": {"macs": 10}}
    assert Validator(schema).errors(spec) == []


def test_schema_rejects_top_level_typos(schema: dict[str, Any]) -> None:
    errors = Validator(schema).errors({**HEAD, "layers": ["relu"], "refrence": {}})
    assert errors and "refrence" in errors[0]
