"""The JSON Schema of spec files, generated from the pydantic models of :mod:`.models`.

The top level is :class:`~cnnstat.spec.models.SpecModel`.  A layer item (``LayerItem``) is one of:
a bare kind that needs no arguments (``- relu``), a bare block name, ``{kind: args}`` for every
kind in :data:`~cnnstat.spec.models.LAYER_ARGS` (one ``$defs`` entry per kind, named after it),
a composition keyword (``residual``, ``concat``, ...), ``repeat``, or a call of a named block.
The alternatives exclude each other, so ``oneOf`` holds.  The schema ships inside the package
(``cnnstat/schema/spec.schema.json``); a test keeps the committed file equal to this output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from cnnstat.spec.models import (
    COMPOSITE_ARGS,
    LAYER_ARGS,
    LAYER_ITEM_REF,
    LIST_FORM,
    NO_ARGS,
    RepeatItem,
    SpecModel,
)

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema" / "spec.schema.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
RESERVED = (*LAYER_ARGS, *COMPOSITE_ARGS, "repeat")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _doc(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").split()).replace("``", "'")


def _needs_args(model: type[BaseModel]) -> bool:
    return any(f.is_required() for f in model.model_fields.values())


def _keyed(key: str, value: dict[str, Any], description: str) -> dict[str, Any]:
    """``{key: value}``: a one-key mapping."""
    return {"type": "object", "description": description, "properties": {key: value},
            "required": [key], "additionalProperties": False}


def _layer_defs(names: dict[type[BaseModel], str], models: dict[str, Any]) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    model: type[BaseModel]
    args: dict[str, Any]
    for kind, model in LAYER_ARGS.items():
        args = _ref(names[model])
        value = args if _needs_args(model) else {"anyOf": [args, {"type": "null"}]}
        doc = _doc(model) if model is not NO_ARGS else ""
        defs[kind] = _keyed(kind, value, f"layer '{kind}'" + (f": {doc}" if doc else ""))
    for kind, model in COMPOSITE_ARGS.items():
        args = _ref(names[model])
        if kind in LIST_FORM:
            listed = models[names[model]]["properties"][LIST_FORM[kind]]
            args = {"anyOf": [args, {k: v for k, v in listed.items() if k != "title"}]}
        defs[kind] = _keyed(kind, args, _doc(model))
    defs["repeat"] = _ref(names[RepeatItem])
    return defs


def _item_defs() -> dict[str, Any]:
    bare = [k for k, m in LAYER_ARGS.items() if not _needs_args(m)]
    return {
        "LayerItem": {
            "description": "a layer: a bare kind ('relu'), {kind: {args}}, a composition "
                           "keyword, repeat, or a named block (bare or with arguments)",
            "oneOf": [_ref("BareLayer"), _ref("BareBlock"), *(_ref(k) for k in RESERVED),
                      _ref("BlockCall")]},
        "BareLayer": {"description": "a layer kind that needs no arguments", "enum": bare},
        "BareBlock": {"description": "a named block, called with its defaults",
                      "type": "string", "not": {"enum": list(RESERVED)}},
        "BlockCall": {"description": "a named block with arguments: {block: {arg: value}}",
                      "type": "object", "minProperties": 1, "maxProperties": 1,
                      "propertyNames": {"not": {"enum": list(RESERVED)}},
                      "additionalProperties": {"type": ["object", "null"]}},
    }


def build_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file (a plain, JSON-serialisable dict)."""
    models: list[type[BaseModel]] = [SpecModel, RepeatItem, *dict.fromkeys(COMPOSITE_ARGS.values()),
                                      *dict.fromkeys(LAYER_ARGS.values())]
    keys, top = models_json_schema([(m, "validation") for m in models],
                                   ref_template="#/$defs/{model}")
    defs: dict[str, Any] = dict(top["$defs"])
    names = {m: keys[(m, "validation")]["$ref"].rsplit("/", 1)[1] for m in models}
    root = defs.pop(names[SpecModel])
    defs.update(_layer_defs(names, defs))
    defs.update(_item_defs())
    assert LAYER_ITEM_REF == "#/$defs/LayerItem"
    return {"$schema": DIALECT, "$id": "https://cnnstat.dev/spec.schema.json",
            "title": "cnnstat spec",
            "description": "A convolutional network for cnnstat: input, layers, blocks, "
                           "parameters, variants and published figures (see 'cnnstat schema').",
            **{k: v for k, v in root.items() if k not in ("title", "description")},
            "oneOf": [{"required": ["input"]}, {"required": ["inputs"]}],
            "$defs": dict(sorted(defs.items()))}


def schema_text() -> str:
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"
