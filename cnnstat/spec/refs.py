"""Tensor references as written in a spec: ``from:``, ``like:``, the lists of ``add`` / ``concat``
/ ``mul``, block arguments that name tensors, and a block's own input, ``$in``.

A reference is a name template (``"branch$j"``, ``"s${$i + 1}.y0"``: :func:`substitute`) looked
up from the scope where it is written, innermost first (:func:`~cnnstat.core.ir.candidates`).
Written as ``$arg`` where the block argument ``arg`` names a tensor, it is looked up from the
scope of the call that passed it: a block argument that is text is bound, when the block is
called, to a :class:`~cnnstat.spec.expr.TensorRef` holding the candidates of its call site, so
a name passed down through recursive calls still means what it meant where it was written.
``$in`` is the block's input, recorded under ``<block>.$in`` (:func:`entry_name`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from cnnstat.core.ir import Ref, candidates
from cnnstat.errors import SpecPath, spec_error
from cnnstat.spec.expr import INPUT, ExprError, TensorRef, substitute

_WHOLE = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
_IN_USE = re.compile(r"\$in\b")
_IN_SIZE = re.compile(r"\$in\.(?:channels|h|w)\b")


def entry_name(block: str) -> str:
    """The name under which a block call's input is known to its layers (``$in``): the '$' keeps
    it apart from every written name."""
    return f"{block}.$in"


def block_input(block: str, shape: tuple[int, ...] | None = None) -> TensorRef:
    """``$in`` in the call ``block`` (its full name), with its shape where it is known."""
    return TensorRef("$" + INPUT, (entry_name(block),), shape)


def template(raw: object, env: Mapping[str, object], path: SpecPath) -> str:
    """The text of the name template ``raw``; E30x located at ``path``."""
    if not isinstance(raw, str):
        return raw  # type: ignore[return-value]  # check_name refuses it, located
    try:
        return substitute(raw, env)
    except ExprError as exc:
        raise spec_error(exc.code, str(exc), path, hint=exc.hint) from None


def tensor_value(raw: object, env: Mapping[str, object]) -> object | None:
    """The value of ``raw`` when it is exactly ``$name`` and that value is a tensor or a list
    holding one (passed on as it is: arithmetic has no use for it), else None."""
    match = _WHOLE.match(raw) if isinstance(raw, str) else None
    if match is None or match[1] not in env:
        return None
    value = env[match[1]]
    return value if _holds_tensor(value) else None


def _holds_tensor(value: object) -> bool:
    """A tensor, or a list of tensors (an empty list: a list of numbers has 1 to 8)."""
    if isinstance(value, (TensorRef, str)):
        return True
    return isinstance(value, tuple) and (not value or any(_holds_tensor(v) for v in value))


def bind(value: object, scope: str) -> object:
    """A block argument's value as the block sees it: text names a tensor looked up from
    ``scope`` (the call site), in lists too; numbers are unchanged."""
    if isinstance(value, str):
        return TensorRef(value, candidates(scope, value))
    if isinstance(value, tuple):
        return tuple(bind(v, scope) for v in value)
    return value


def reference(raw: object, path: SpecPath, scope: str, env: Mapping[str, object]) -> Ref:
    """The candidates of one tensor written as ``raw`` in ``scope``."""
    refs = _one(raw, path, scope, env)
    if len(refs) != 1:
        raise spec_error("E303", f"'{raw}' is a list of {len(refs)} tensors where one is needed",
                         path, hint="index the tensor you mean, or merge them: "
                         "concat: {from: [...]}")
    return refs[0]


def references(raw: Any, path: SpecPath, scope: str, env: Mapping[str, object],
               count: Callable[[object, Mapping[str, object], SpecPath], int]) -> list[Ref]:
    """The tensors of a ``from:`` list (or one name): names, ``$arg`` lists spliced in place, and
    ``{repeat: N, index: j, from: "p$j"}`` generators; ``count`` evaluates a repeat count."""
    items = raw if isinstance(raw, list) else [raw]
    out: list[Ref] = []
    for i, item in enumerate(items):
        where = (*path, i) if isinstance(raw, list) else path
        if isinstance(item, dict):
            out.extend(_generated(item, where, scope, env, count))
        else:
            out.extend(_one(item, where, scope, env))
    return out


def _generated(item: dict[str, Any], path: SpecPath, scope: str, env: Mapping[str, object],
               count: Callable[[object, Mapping[str, object], SpecPath], int]) -> list[Ref]:
    index = str(item["index"])
    if index in env:
        raise spec_error("E206", f"index '{index}' is already a parameter or argument here",
                         (*path, "index"), hint="choose a name not in use, e.g. 'j'")
    n = count(item["repeat"], env, (*path, "repeat"))
    return [reference(item["from"], (*path, "from"), scope, {**env, index: k}) for k in range(n)]


def _one(raw: object, path: SpecPath, scope: str, env: Mapping[str, object]) -> list[Ref]:
    value = tensor_value(raw, env)
    if value is not None:
        return _flatten(value, scope)
    match = _WHOLE.match(raw) if isinstance(raw, str) else None
    if match is not None and match[1] in env:
        shown = env[match[1]]
        raise spec_error("E303", f"'{raw}' is {shown!r}, not a tensor", path,
                         hint="a tensor is named: a layer, a block, a merge, an input or $in")
    text = template(raw, env, path)
    if not isinstance(text, str) or not text:
        raise spec_error("E202", f"a tensor reference is a name, got {raw!r}", path)
    return [candidates(scope, text)]


def _flatten(value: object, scope: str) -> list[Ref]:
    if isinstance(value, TensorRef):
        return [value.ref]
    if isinstance(value, str):
        return [candidates(scope, value)]
    assert isinstance(value, tuple)  # as tensor_value checked
    return [ref for v in value for ref in _flatten(v, scope)]


def scan(data: Any) -> tuple[bool, bool]:
    """(reads ``$in`` at all, reads its sizes) over a block's written layers and arguments."""
    uses = sizes = False
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and "$" in item:
            uses = uses or _IN_USE.search(item) is not None
            sizes = sizes or _IN_SIZE.search(item) is not None
    return uses, sizes
