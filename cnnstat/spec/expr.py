"""A small, safe arithmetic evaluator for spec values such as ``$width * 4``.

A string value is an expression when it mentions a parameter (``$name``) or starts with ``=``.
It is parsed with :mod:`ast` (parsing executes nothing) and evaluated by walking a whitelist of
node types: numbers, parameters, ``+ - * / // % **``, unary minus, parentheses, and calls to the
functions in :data:`FUNCTIONS`.  Arithmetic is exact: ``/`` yields a
:class:`~fractions.Fraction`, never a float.  Conditions (an item's ``if:``) compare numbers
(``== != < <= > >=``, chained as in Python) and combine flags (``and``, ``or``, ``not``); ``a if
c else b`` evaluates only the branch chosen.  Inside a block, ``$in`` is the block's input:
``$in.channels``, ``$in.h`` and ``$in.w`` are its sizes where they are known
(:class:`TensorRef`).

A *name template* (a ``name:`` or a tensor reference) is text in which ``$name`` and ``${expr}``
are replaced by their values (:func:`substitute`): ``"branch$j"``, ``"s${$i + 1}"``.

A value may also be a *pair* (or a short list): a parameter given as ``[1, 7]``, or a list
written in the expression (``=[$k, 1]``).  Arithmetic is element-wise: pair op pair of the same
length, pair op number (the number applies to each element), and the one-argument functions
(``ceil``, ``floor``, ``round``, ``int``, and ``make_divisible``'s value) apply to each element;
``min`` and ``max`` take numbers only.  ``$list[i]`` is one element (from 0), ``len(list)`` the
number of elements, ``prepend(x, list)`` the list with ``x`` in front; ``round_log``,
``regnet_widths`` and ``regnet_depths`` (exact: :mod:`cnnstat.spec.rounding`,
:mod:`cnnstat.spec.regnet`) derive RegNet's stages from its published parameters.
"""

from __future__ import annotations

import ast
import functools
import keyword
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import cast

from cnnstat.spec.regnet import regnet_depths, regnet_widths
from cnnstat.spec.rounding import make_divisible, round_half_away, round_log

Number = int | Fraction
Value = Number | tuple[Number, ...]
MAX_ITEMS = 8  # elements of a list value (sizes are pairs; a short list is plenty)
ELEMENTWISE = {"make_divisible", "ceil", "floor", "round", "int"}

MAX_EXPR_CHARS = 500
MAX_MAGNITUDE = 10**15
MAX_BITS = 256  # of a value's numerator and of its denominator: bounds the work of every step
MAX_DEPTH = 100  # nested operations; the evaluator recurses once per level
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_JOINED = re.compile(r"[A-Za-z0-9_]\$[A-Za-z_]")  # 'b$j': a name template, not arithmetic
_KEYWORD = "_kw_"  # a parameter named like a Python keyword ($in) is parsed as _kw_in
INPUT = "in"  # $in: the input of the block being expanded
SIZES = {"channels": 0, "h": 1, "w": 2}  # $in.channels, $in.h, $in.w: axes of C x H x W


@dataclass(frozen=True)
class TensorRef:
    """A tensor named in a block: a block argument that names one (``src: enc1``, resolved in the
    scope of the call that passed it) or the block's own input, ``$in``.  ``ref`` holds the
    candidate full names, innermost scope first; ``shape`` is known only for ``$in`` in a block
    expanded once its input's shape is known (it reads ``$in.channels``)."""

    text: str
    ref: tuple[str, ...]
    shape: tuple[int, ...] | None = None

    def __str__(self) -> str:
        return self.text


class ExprError(Exception):
    """An expression could not be evaluated; ``code`` is the diagnostic code (E301-E304)."""

    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.hint = hint


def _ceil(x: Number) -> int:
    return math.ceil(x)


def _floor(x: Number) -> int:
    return math.floor(x)


def _int(x: Number) -> int:
    return int(x)


def _len(items: Value) -> int:
    return len(items) if isinstance(items, tuple) else 1


def _prepend(first: Number, items: Value) -> tuple[Number, ...]:
    """``first`` followed by the list (each stage's input width: the stem, then the widths)."""
    return (first, *(items if isinstance(items, tuple) else (items,)))


FUNCTIONS: dict[str, Callable[..., Value]] = {
    "make_divisible": make_divisible,
    "ceil": _ceil,
    "floor": _floor,
    "round": round_half_away,
    "int": _int,
    "min": min,
    "max": max,
    "round_log": round_log,
    "regnet_widths": regnet_widths,
    "regnet_depths": regnet_depths,
    "len": _len,
    "prepend": _prepend,
}
LIST_ARGS = {"len": 0, "prepend": 1}  # the function's argument that may be a list
USAGE = {
    "round_log": "round_log(x, base): x > 0, base > 1, the result within -64..64",
    "regnet_widths": "regnet_widths(depth, w0, wa, wm, group_width[, bottleneck]): depth "
                     "1..1,000, w0 a positive multiple of 8, wa >= 0, wm > 1",
    "regnet_depths": "regnet_depths(depth, w0, wa, wm): depth 1..1,000, w0 a positive multiple "
                     "of 8, wa >= 0, wm > 1",
}

_COMPARE: dict[type[ast.cmpop], Callable[[Number, Number], bool]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}

_BINOPS: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: Fraction(a) / Fraction(b),
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: _pow(a, b),
}


def _pow(a: Number, b: Number) -> Number:
    if not isinstance(b, int) or abs(b) > 64:
        raise ExprError("E304", "exponent must be a whole number between -64 and 64")
    return Fraction(a) ** b if b < 0 else a**b


_TEXT_NUMBER = re.compile(r"^([-+]?(?:\d[\d_]*)?\.?\d*)[eE]([-+]?\d+)$")


def number_text_hint(value: object) -> str | None:
    """A hint for a number YAML 1.1 reads as text: PyYAML wants a '.' in the mantissa and a
    sign in the exponent, so ``1.2e9`` and ``1e9`` are strings while ``1.2e+9`` is a float."""
    match = _TEXT_NUMBER.match(value.strip()) if isinstance(value, str) else None
    if match is None or not any(c.isdigit() for c in match[1]):
        return None
    mantissa, exponent = match[1].replace("_", ""), match[2]
    if "." in mantissa and exponent[0] in "+-":
        return None  # YAML reads this as a number: the text was quoted on purpose
    plain = ""
    if len(exponent) <= 3 and abs(int(exponent)) <= 30:  # never a power of 10 of hostile size
        exact = Fraction(mantissa or "0") * Fraction(10) ** int(exponent)
        plain = f" or {exact.numerator}" if exact.denominator == 1 else ""
    if "." not in mantissa:
        mantissa += ".0"
    signed = f"{mantissa}e{exponent if exponent[0] in '+-' else '+' + exponent}"
    return f"YAML reads {match[0]} as text, not a number: write {signed}{plain}"


def parameters(text: str) -> list[str]:
    """The parameter names an expression mentions (``$width * $k`` -> width, k)."""
    return _PARAM.findall(text)


def is_expression(value: object) -> bool:
    return isinstance(value, str) and (value.startswith("=") or "$" in value)


def _normalise(x: Number) -> Number:
    if isinstance(x, Fraction) and x.denominator == 1:
        return int(x)
    return x


def evaluate(text: str, env: Mapping[str, object]) -> object:
    """Evaluate ``text`` (an expression string) with parameters from ``env``."""
    if len(text) > MAX_EXPR_CHARS:
        raise ExprError("E301", f"expression longer than {MAX_EXPR_CHARS} characters")
    return _Evaluator(env).visit(_parse(text))


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> ast.expr:
    """The checked syntax tree of an expression, parsed once per text (a spec evaluates the
    same expressions for every repeat and every configuration; the tree is only read)."""
    body = text[1:] if text.startswith("=") else text
    joined = _JOINED.search(body)
    if joined is not None:
        raise ExprError("E301", f"'{_short(text)}' joins text and a parameter: an expression "
                        "is arithmetic", "write 2 * $k for a product; a name made of text and "
                        "numbers ('b$j') belongs in name:, from: or a block argument")
    source = _PARAM.sub(lambda m: _mangle(m.group(1)), body)
    if "$" in source:
        raise ExprError("E301", "'$' must be followed by a parameter name", "write $name")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, RecursionError, MemoryError):  # the parser's own nesting limits
        raise ExprError("E301", f"cannot parse expression '{_short(text)}'",
                        "use numbers, $parameters, + - * / // % ** and functions "
                        + ", ".join(sorted(FUNCTIONS))) from None
    if _depth(tree.body) > MAX_DEPTH:
        raise ExprError("E301", f"expression nested more than {MAX_DEPTH} levels deep",
                        "simplify it: a chain of signs or parentheses this long is a typo")
    return tree.body


def _mangle(name: str) -> str:
    """A parameter's name as Python parses it: $in (a keyword) becomes _kw_in."""
    return _KEYWORD + name if keyword.iskeyword(name) or name.startswith(_KEYWORD) else name


def _unmangle(name: str) -> str:
    return name[len(_KEYWORD):] if name.startswith(_KEYWORD) else name


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _depth(root: ast.AST) -> int:
    """How deeply ``root`` nests, walked without recursion (so any depth is measured)."""
    deepest, todo = 0, [(root, 1)]
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:  # past the limit the answer is known
            todo.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _bounded(value: Number, node: ast.AST) -> None:
    """Refuse a value too large, or an exact fraction too long, to compute with cheaply.

    The magnitude bound alone lets ``(1/2)**64`` shrink towards zero while its denominator
    grows 64-fold per power; bounding the bits of numerator and denominator keeps every step
    of every expression a small-number operation."""
    if not -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:
        raise ExprError("E304", f"value of '{_short(ast.unparse(node))}' is too large")
    if isinstance(value, Fraction) and max(value.numerator.bit_length(),
                                           value.denominator.bit_length()) > MAX_BITS:
        raise ExprError("E304", f"value of '{_short(ast.unparse(node))}' is a fraction too "
                        f"precise to compute with (more than {MAX_BITS} bits)",
                        "round it: ceil(...), floor(...) or round(...)")


def _exact(value: object, what: str) -> object:
    """A float as the exact fraction of its decimal text (0.1 is 1/10); inf and nan refused."""
    if not isinstance(value, float):
        return value
    if not math.isfinite(value):
        raise ExprError("E303", f"{what} is {value}, not a finite number")
    return Fraction(str(value))


class _Evaluator:
    def __init__(self, env: Mapping[str, object]) -> None:
        self.env = env

    def visit(self, node: ast.AST) -> object:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise ExprError("E301", f"'{ast.unparse(node)}' is not allowed in an expression",
                            "use numbers, $parameters, arithmetic and "
                            + ", ".join(sorted(FUNCTIONS)))
        result = method(node)
        for item in result if isinstance(result, tuple) else (result,):
            if isinstance(item, (int, Fraction)) and not isinstance(item, bool):
                _bounded(item, node)
        return result

    def visit_Constant(self, node: ast.Constant) -> object:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ExprError("E301", f"constant {value!r} is not a number")
        return _exact(value, f"'{ast.unparse(node)}'")

    def visit_Name(self, node: ast.Name) -> object:
        name = _unmangle(node.id)
        if name not in self.env:
            if name == INPUT:
                raise ExprError("E302", "'$in' is the input of a block: it is known only in a "
                                "block's layers and arguments", "inside a block write "
                                "$in.channels (or $in.h, $in.w); here, give the number")
            known = ", ".join("$" + k for k in sorted(self.env)
                              if not isinstance(self.env[k], TensorRef)) or "none"
            raise ExprError("E302", f"unknown parameter '${name}'", f"known: {known}")
        raw = self.env[name]
        if isinstance(raw, (list, tuple)):
            return self._items([_exact(v, f"${name}") for v in raw], f"${name}")
        return _exact(raw, f"${name}")

    def visit_Attribute(self, node: ast.Attribute) -> object:
        """``$in.channels``, ``$in.h``, ``$in.w``: a size of the block's input."""
        if not isinstance(node.value, ast.Name) or node.attr not in SIZES:
            raise ExprError("E301", f"'{_short(ast.unparse(node))}' is not allowed in an "
                            "expression", "only the block's input has sizes: $in.channels, "
                            "$in.h, $in.w")
        tensor = self.visit(node.value)
        what = "$" + _unmangle(node.value.id)
        if not isinstance(tensor, TensorRef):
            raise ExprError("E303", f"'{what}' is not a tensor: '{what}.{node.attr}' has no "
                            "value", "sizes are read from the block's input: $in.channels")
        if tensor.shape is None:
            raise ExprError("E303", f"the shape of '{what}' is not known here",
                            "only the block's own input has known sizes: $in.channels")
        axis = SIZES[node.attr]
        if axis >= len(tensor.shape):
            raise ExprError("E303", f"'{what}' is a flat tensor of {tensor.shape[0]} features: "
                            f"it has no '{node.attr}'", "use $in.channels (its features)")
        return tensor.shape[axis]

    def visit_Compare(self, node: ast.Compare) -> object:
        """``a < b <= c``: numbers compared, chained as in Python; the result is a flag."""
        left = self._number(node.left)
        for op, right_node in zip(node.ops, node.comparators):
            fn = _COMPARE.get(type(op))
            if fn is None:
                raise ExprError("E301", f"operator in '{_short(ast.unparse(node))}' is not "
                                "allowed", "compare with == != < <= > >=")
            right = self._number(right_node)
            if not fn(left, right):
                return False
            left = right
        return True

    def visit_BoolOp(self, node: ast.BoolOp) -> object:
        """``a and b``, ``a or b`` of flags, evaluated left to right as far as needed."""
        want = isinstance(node.op, ast.Or)  # the value that decides the result
        for operand in node.values:
            if self._flag(operand) is want:
                return want
        return not want

    def visit_IfExp(self, node: ast.IfExp) -> object:
        """``a if c else b``: only the branch chosen is evaluated."""
        return self.visit(node.body if self._flag(node.test) else node.orelse)

    def _flag(self, node: ast.AST) -> bool:
        value = self.visit(node)
        if not isinstance(value, bool):
            raise ExprError("E303", f"'{_short(ast.unparse(node))}' is {value}, not true or "
                            "false", "a condition compares numbers: $levels > 1, $i == $j")
        return value

    def visit_List(self, node: ast.List) -> object:
        return self._items([self._number(e) for e in node.elts], ast.unparse(node))

    def visit_Tuple(self, node: ast.Tuple) -> object:
        return self._items([self._number(e) for e in node.elts], ast.unparse(node))

    def _items(self, values: list[object], what: str) -> tuple[Number, ...]:
        if not 1 <= len(values) <= MAX_ITEMS:
            raise ExprError("E303", f"{what} has {len(values)} elements: a list value has "
                            f"1 to {MAX_ITEMS}")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, Fraction)):
                raise ExprError("E303", f"{what}: element {v!r} is not a number",
                                number_text_hint(v))
        return tuple(cast(Number, v) for v in values)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> object:
        if isinstance(node.op, ast.Not):
            return not self._flag(node.operand)
        operand = self._value(node.operand)
        if isinstance(node.op, ast.USub):
            return _each(operand, lambda a: -a)
        if isinstance(node.op, ast.UAdd):
            return operand
        raise ExprError("E301", f"operator in '{ast.unparse(node)}' is not allowed")

    def visit_BinOp(self, node: ast.BinOp) -> object:
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise ExprError("E301", f"operator in '{ast.unparse(node)}' is not allowed")
        left, right = self._value(node.left), self._value(node.right)
        try:
            return _pairwise(left, right, lambda a, b: _normalise(op(a, b)), node)
        except ZeroDivisionError:
            raise ExprError("E304", f"division by zero in '{ast.unparse(node)}'") from None

    def visit_Call(self, node: ast.Call) -> object:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
            raise ExprError("E301", f"unknown function in '{ast.unparse(node)}'",
                            "functions: " + ", ".join(sorted(FUNCTIONS)))
        name = node.func.id
        if name in ELEMENTWISE and node.args:
            first = self._value(node.args[0])
            rest: list[Value] = [self._number(a) for a in node.args[1:]]
            return _each(first, lambda a: _normalise(cast(Number, self._call(name, [a, *rest],
                                                                              node))))
        args = [self._value(a) if LIST_ARGS.get(name) == i else self._number(a)
                for i, a in enumerate(node.args)]
        result = self._call(name, args, node)
        if isinstance(result, tuple):
            return self._items([_normalise(v) for v in result], ast.unparse(node))
        return _normalise(result)

    def _call(self, name: str, args: list[Value], node: ast.Call) -> Value:
        try:
            return FUNCTIONS[name](*args)
        except (TypeError, ValueError, ZeroDivisionError) as exc:
            raise ExprError("E304", f"bad call '{_short(ast.unparse(node))}': {exc}",
                            USAGE.get(name)) from None

    def visit_Subscript(self, node: ast.Subscript) -> object:
        """``$widths[$i]``: one element of a list, counted from 0."""
        items = self._value(node.value)
        if isinstance(node.slice, ast.Slice):
            raise ExprError("E301", f"'{_short(ast.unparse(node))}': slices are not allowed",
                            "index one element: $list[$i]")
        index = self._number(node.slice)
        if not isinstance(items, tuple):
            raise ExprError("E303", f"'{_short(ast.unparse(node.value))}' is the number "
                            f"{items}, not a list", "index only lists: $widths[$i]")
        if not isinstance(index, int) or not 0 <= index < len(items):
            raise ExprError("E304", f"index {index} of '{_short(ast.unparse(node))}' is outside "
                            f"0..{len(items) - 1}",
                            "a list of n elements is indexed 0 to n - 1 (repeat's index counts "
                            "from 0)")
        return items[index]

    def _value(self, node: ast.AST) -> Value:
        """A number or a pair (list) of numbers."""
        value = self.visit(node)
        if isinstance(value, tuple):
            return value
        return self._checked(value, node)

    def _number(self, node: ast.AST) -> Number:
        value = self.visit(node)
        if isinstance(value, tuple):
            raise ExprError("E303", f"'{ast.unparse(node)}' is a list "
                            f"[{', '.join(map(str, value))}] where a number is needed",
                            "min, max and exponents take numbers; index the pair's axes with "
                            "separate parameters")
        return self._checked(value, node)

    def _checked(self, value: object, node: ast.AST) -> Number:
        if isinstance(value, bool) or not isinstance(value, (int, Fraction)):
            raise ExprError("E303", f"'{ast.unparse(node)}' is not a number",
                            number_text_hint(value))
        return value


def _each(value: Value, fn: Callable[[Number], Number]) -> Value:
    """``fn`` of a number, or of each element of a pair."""
    return tuple(fn(v) for v in value) if isinstance(value, tuple) else fn(value)


def _pairwise(left: Value, right: Value, fn: Callable[[Number, Number], Number],
              node: ast.AST) -> Value:
    """Element-wise ``fn``: pair with pair of the same length, or a number with each element."""
    if isinstance(left, tuple) and isinstance(right, tuple):
        if len(left) != len(right):
            raise ExprError("E303", f"'{_short(ast.unparse(node))}' combines lists of "
                            f"{len(left)} and {len(right)} elements")
        return tuple(fn(a, b) for a, b in zip(left, right))
    if isinstance(left, tuple):
        scalar = right
        assert not isinstance(scalar, tuple)
        return tuple(fn(a, scalar) for a in left)
    if isinstance(right, tuple):
        return tuple(fn(left, b) for b in right)
    return fn(left, right)


_TEMPLATE = re.compile(r"\$\{([^{}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def is_template(value: object) -> bool:
    """A string holding ``${...}``, or text joined to a parameter (``b$j``): a name template
    wherever it is written, never arithmetic."""
    return isinstance(value, str) and ("${" in value or _JOINED.search(value) is not None)


def substitute(text: str, env: Mapping[str, object]) -> str:
    """The name template ``text`` with each ``${expr}`` and ``$name`` replaced by its value: a
    whole number, or text (a parameter or block argument that is a name)."""
    def one(match: re.Match[str]) -> str:
        expr = match[1] if match[1] is not None else "$" + match[2]
        if not expr.strip():
            raise ExprError("E301", f"empty '${{}}' in name '{_short(text)}'",
                            "write ${$i + 1} or $i")
        v = env[match[2]] if match[2] is not None and match[2] in env else evaluate(expr, env)
        if isinstance(v, Fraction) and v.denominator == 1:
            v = int(v)
        if isinstance(v, (str, TensorRef)):
            return str(v)
        if isinstance(v, int) and not isinstance(v, bool):
            return str(v)
        raise ExprError("E303", f"'{match[0]}' in name '{_short(text)}' is {v!r}: a name "
                        "takes whole numbers and names", "round it: ${floor($x)}")
    if "$" not in text:
        return text
    if "$" in _TEMPLATE.sub("", text):
        raise ExprError("E301", f"'$' in name '{_short(text)}' must be followed by a parameter "
                        "name or '{...}'", "write b$i or b${$i + 1}")
    return _TEMPLATE.sub(one, text)
