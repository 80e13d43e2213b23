"""Values written in a spec, evaluated where they are used: an expression through the safe
evaluator (:mod:`cnnstat.spec.expr`), a whole number where one is needed, a repeat count; every
error located at the value's spec path."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import cast

from cnnstat.errors import SpecPath, spec_error
from cnnstat.spec.budget import MAX_REPEAT
from cnnstat.spec.expr import ExprError, TensorRef, evaluate, is_expression, number_text_hint


def value(raw: object, env: Mapping[str, object], path: SpecPath) -> object:
    """Evaluate ``raw`` if it is an expression (each element of a list: a pair value is a
    tuple); errors are located at ``path``."""
    if isinstance(raw, list):
        return tuple(value(v, env, (*path, i)) for i, v in enumerate(raw))
    if not is_expression(raw):
        return raw
    try:
        return evaluate(str(raw), env)
    except ExprError as exc:
        raise spec_error(exc.code, str(exc), path, hint=exc.hint) from None


def as_int(raw: object, env: Mapping[str, object], path: SpecPath, what: str) -> int:
    v = value(raw, env, path)
    if isinstance(v, tuple):
        raise spec_error("E303", f"{what} takes one whole number, got the list "
                         f"[{', '.join(map(str, v))}]" +
                         (f" (from '{raw}')" if is_expression(raw) else ""), path,
                         hint="pairs [h, w] go to sizes: kernel, stride, padding, dilation")
    if isinstance(v, bool) or not isinstance(v, int):
        if hasattr(v, "denominator") and getattr(v, "denominator") == 1:
            return int(cast("bool | Fraction", v))  # what value() yields with a denominator
        raise spec_error("E303", f"{what} must be a whole number, got {shown_value(v)}" +
                         (f" (from '{raw}')" if is_expression(raw) else ""), path,
                         hint=number_text_hint(v) or tensor_hint(v) or "round explicitly: "
                         "ceil(...), floor(...), round(...) or make_divisible(...)")
    return v


def shown_value(v: object) -> str:
    """A value as an error shows it: a tensor by its name, a fraction as a/b, else repr."""
    if isinstance(v, TensorRef):
        return f"the tensor '{v.text}'"
    return str(v) if hasattr(v, "denominator") else repr(v)


def tensor_hint(v: object) -> str | None:
    if isinstance(v, TensorRef):
        return "a tensor is not a number: its sizes are $in.channels, $in.h and $in.w (of a " \
               "block's input)"
    return None


def repeat_count(raw: object, env: Mapping[str, object], path: SpecPath) -> int:
    """A ``repeat`` count: a whole number in 0..MAX_REPEAT (E207 outside)."""
    n = as_int(raw, env, path, "repeat")
    if not 0 <= n <= MAX_REPEAT:
        raise spec_error("E207", f"repeat count {n} is outside 0..{MAX_REPEAT:,}", path)
    return n
