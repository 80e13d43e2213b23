"""Turn pydantic validation errors into located diagnostics, with "did you mean" for typos."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from cnnstat.errors import Diagnostic, Severity, SpecError, SpecPath
from cnnstat.spec.expr import number_text_hint

ModelT = TypeVar("ModelT", bound=BaseModel)


def suggest(word: str, choices: Iterable[str], n: int = 1) -> str | None:
    """'did you mean ...?' for the closest (up to ``n``) of ``choices``, or None."""
    match = difflib.get_close_matches(str(word), list(choices), n=n, cutoff=0.6)
    if not match:
        return None
    quoted = [f"'{m}'" for m in match]
    listing = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f"did you mean {listing}?"


def _model_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The nested model that owns the key at the end of ``loc`` (for suggestions)."""
    current: type[BaseModel] | None = model
    for part in loc[:-1]:
        if current is None or not isinstance(part, str) or part not in current.model_fields:
            return current if isinstance(part, str) and current and part not in \
                current.model_fields else None
        ann = current.model_fields[part].annotation
        current = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    return current


def validate(model: type[ModelT], data: object, path: SpecPath, what: str) -> ModelT:
    """``model.model_validate(data)``; on failure a SpecError with one diagnostic per problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        groups: dict[SpecPath, list[ErrorDetails]] = {}
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
            groups.setdefault(loc, []).append(err)
        _drop_other_union_members(groups)
        raise SpecError([_diagnostic(model, errs, path, what) for errs in groups.values()]) \
            from None


_TYPE_WORDS = {"int": "an integer", "str": "an expression", "float": "a number",
               "bool": "true or false"}


def _diagnostic(model: type[BaseModel], errs: list[ErrorDetails], path: SpecPath,
                what: str) -> Diagnostic:
    err = errs[0]
    loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
    full = (*path, *loc)
    key = loc[-1] if loc else what
    kind = err["type"]
    if kind == "extra_forbidden":
        owner = _model_at(model, loc)
        fields = {f.alias or k: f for k, f in owner.model_fields.items()} if owner else {}
        return Diagnostic("E201", Severity.ERROR, f"{what}: unknown key '{key}'", full,
                          suggest(str(key), fields) or _valid_keys(fields))
    if kind == "missing":
        return Diagnostic("E203", Severity.ERROR, f"{what}: missing required key '{key}'", full[:-1])
    value = err.get("input")
    if len(errs) > 1:
        tags = [str(e["loc"][-1]) for e in errs if _is_union_tag(e["loc"][-1])]
        words = [_TYPE_WORDS.get(t, "an [h, w] pair" if t.startswith("list") else t) for t in tags]
        return Diagnostic("E202", Severity.ERROR, f"{what}: '{key}': expected "
                          f"{' or '.join(dict.fromkeys(words))} (got {_show(value)})", full,
                          number_text_hint(value))
    return Diagnostic("E202", Severity.ERROR, f"{what}: '{key}': {_message(err)} "
                      f"(got {_show(value)})", full, number_text_hint(value))


_SHAPE_ERRORS = {"list_type", "dict_type", "model_type", "model_attributes_type"}


def _drop_other_union_members(groups: dict[SpecPath, list[ErrorDetails]]) -> None:
    """For ``Figure | list[Figure]`` given a bad mapping, pydantic also says "should be a valid
    list"; when some error went deeper into the value, that one is the useful one."""
    for loc in list(groups):
        deeper = any(len(other) > len(loc) and other[:len(loc)] == loc for other in groups)
        if deeper and all(e["type"] in _SHAPE_ERRORS for e in groups[loc]):
            del groups[loc]


def _model_names() -> set[str]:
    names, todo = set(), [BaseModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            names.add(sub.__name__)
            todo.append(sub)
    return names


def _is_union_tag(part: object) -> bool:
    """pydantic puts the union member's type name in ``loc`` (``int``, ``list[...]``, a model's
    class name such as ``Figure``)."""
    return isinstance(part, str) and (part in {"int", "str", "float", "bool", "function-after"}
                                      or "[" in part or part.startswith("constrained-")
                                      or (part[:1].isupper() and part in _model_names()))


def _valid_keys(fields: Iterable[str]) -> str | None:
    names = sorted(fields)
    return "valid keys: " + ", ".join(names) if names else None


def _message(err: ErrorDetails) -> str:
    msg = str(err.get("msg", "invalid value"))
    return msg[0].lower() + msg[1:]


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
