"""Expand a validated spec into the :mod:`cnnstat.core.ir` graph.

Expansion evaluates every expression, calls named blocks with their arguments, unrolls
``repeat``, turns the composition keywords into :class:`~cnnstat.core.ir.Parallel` nodes and gives
every layer a stable hierarchical name (``stage2.bottleneck1.conv2``): the item's ``name`` when
given (a template: ``"branch$j"``), else its kind (or block name) numbered within its scope.  An
item with ``if:`` is written only where its condition holds.

A block may call itself: each call goes one level deeper, and past :data:`MAX_BLOCK_DEPTH` the call
is an error (E205: a recursion needs a base case, an ``if:`` that stops it).  A block whose layers
read its input's sizes (``$in.channels``) cannot be written before the shapes are known: its call
becomes a :class:`~cnnstat.core.ir.Deferred` node that the analysis expands when its walk reaches
it, with the input's shape bound (:meth:`Expander.later`); every other block is expanded here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, cast

from cnnstat.core.functional import FUNCTIONALS
from cnnstat.core.ir import (
    AutoShortcut,
    Branch,
    Deferred,
    Join,
    JoinMerge,
    Layer,
    Node,
    Parallel,
    Ref,
    Seq,
    ShortcutMode,
    candidates,
)
from cnnstat.errors import SpecError, SpecPath, spec_error
from cnnstat.spec.expr import (
    INPUT,
    ExprError,
    TensorRef,
    evaluate,
    is_expression,
    is_template,
    number_text_hint,
    parameters,
)
from cnnstat.spec.budget import (
    MAX_BLOCK_DEPTH,
    MAX_LAYERS,
    MAX_NESTING,
    MAX_REPEAT,
    MAX_STEPS,
    Budget,
    check_size,
)
from cnnstat.spec.kinds import kind_hint
from cnnstat.spec.memo import Memo
from cnnstat.spec.names import check_name, check_unique
from cnnstat.spec.refs import (
    bind,
    block_input,
    entry_name,
    reference,
    references,
    scan,
    template,
    tensor_value,
)
from cnnstat.spec.models import (
    COMPOSITE_ARGS,
    FLAG,
    INT,
    LAYER_ARGS,
    REAL,
    SIDES,
    SIZE,
    Args,
    BlockModel,
    JoinArgs,
    SpecModel,
)
from cnnstat.spec.validate import suggest, validate

COMPOSITES = tuple(COMPOSITE_ARGS)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
REQUIRED = "required"
PADDING_WORDS = ("same", "valid")
PADDING_WORD_KINDS = {"conv"}  # as in PyTorch, where only convolutions take padding='same'
CALL_KEYS = ("name", "from", "if")  # what a block call takes besides the block's arguments
RESERVED_ARGS = (*CALL_KEYS, INPUT)
SHORTCUT_MODES: dict[str, ShortcutMode] = {
    "auto": "projection", "projection": "projection", "pad": "pad",
    "identity-if-same": "optional"}  # and "identity": no shortcut layers at all


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


@dataclass
class Scope:
    prefix: str
    used: set[str] = field(default_factory=set)
    counters: dict[str, int] = field(default_factory=dict)

    def full(self, local: str) -> str:
        return f"{self.prefix}.{local}" if self.prefix else local

    def claim(self, base: str, explicit: object, path: SpecPath) -> str:
        if explicit is not None:
            explicit = check_name(explicit, (*path, "name"))
            if explicit in self.used:
                raise spec_error("E208", f"duplicate layer name '{self.full(explicit)}'",
                                 (*path, "name"),
                                 hint="give each layer in a scope a distinct name")
            self.used.add(explicit)
            return self.full(explicit)
        n = self.counters.get(base, 0)
        while True:
            n += 1
            if f"{base}{n}" not in self.used:
                break
        self.counters[base] = n
        self.used.add(f"{base}{n}")
        return self.full(f"{base}{n}")

    def child(self, local_full: str) -> Scope:
        return Scope(local_full)


class Expander:
    def __init__(self, spec: SpecModel, env: dict[str, object],
                 budget: Budget | None = None, memo: Memo | None = None) -> None:
        self.spec = spec
        self.budget = budget
        self.memo = memo
        self.globals = env
        self.stack: list[str] = []
        self.count = 0
        self.steps = 0
        self.depth = 0
        # repeat and blocks expand the same YAML mapping many times: validate its shape once
        self.validated: dict[tuple[str, int], Args] = memo.validated if memo else {}
        # per block call being expanded: its name and where each argument was passed
        self.sites: list[tuple[str, dict[str, SpecPath], Mapping[str, object]]] = []
        # per block: (its layers read $in, they read its sizes), from the written text
        self.inputs: dict[str, tuple[bool, bool]] = memo.inputs if memo else {}
        self.eager = (0, 0)  # layers and steps when expansion ended (before any deferred block)

    def step(self, path: SpecPath) -> None:
        """Count expansion work, so nested repeats of empty lists cannot run for ever."""
        self.steps += 1
        if self.budget is not None:
            self.budget.take(0, 1, path)
        if self.steps > MAX_STEPS:
            raise spec_error("E207", f"the spec expands to more than {MAX_STEPS:,} items "
                             "(nested repeats?)", path, hint="lower the repeat counts")

    # -- sequences and items ------------------------------------------------------------------
    def seq(self, items: list[Any], path: SpecPath, scope: Scope, env: Mapping[str, object]) -> Seq:
        if not isinstance(items, list):
            raise spec_error("E202", "expected a list of layers", path)
        out: list[Node] = []
        self.step(path)
        for i, item in enumerate(items):
            out.extend(self.item(item, (*path, i), scope, env))
        return Seq(tuple(out))

    def item(self, item: Any, path: SpecPath, scope: Scope, env: Mapping[str, object],
             inline: bool = False) -> list[Node]:
        self.depth += 1
        try:
            if self.depth > MAX_NESTING:
                raise spec_error("E207", f"layers nested more than {MAX_NESTING} deep "
                                 "(through blocks and composition)", path,
                                 hint="flatten the nesting; sequences need no wrapper")
            return self._item(item, path, scope, env, inline)
        finally:
            self.depth -= 1

    def _item(self, item: Any, path: SpecPath, scope: Scope, env: Mapping[str, object],
              inline: bool) -> list[Node]:
        if isinstance(item, str):
            return [self.keyed(item, None, path, scope, env, inline)]
        if isinstance(item, dict) and "repeat" in item:
            if "if" in item and not self.holds(item["if"], (*path, "if"), env):
                return []
            return self.repeat(item, path, scope, env)
        if not isinstance(item, dict) or len(item) != 1:
            raise spec_error("E202", "a layer is a kind name ('relu') or a one-key mapping "
                             "('conv: {out: 64, kernel: 3}')", path,
                             hint="check the indentation of this item's arguments")
        (key, args), = item.items()
        if isinstance(args, dict) and "if" in args and \
                not self.holds(args["if"], (*path, key, "if"), env):
            return []
        return [self.keyed(str(key), args, (*path, key), scope, env, inline)]

    @staticmethod
    def holds(raw: object, path: SpecPath, env: Mapping[str, object]) -> bool:
        """An item's ``if:``: true or false, or a condition that evaluates to one."""
        v = value(raw, env, path)
        if not isinstance(v, bool):
            raise spec_error("E303", f"if must be true or false, got {shown_value(v)}" +
                             (f" (from '{raw}')" if is_expression(raw) else ""), path,
                             hint="a condition compares numbers: $levels > 1, $i == $j, "
                             "$in.channels != $out")
        return v

    @staticmethod
    def named(raw: object, path: SpecPath, env: Mapping[str, object]) -> object:
        """An item's ``name`` as written, its template filled in (None when absent)."""
        return None if raw is None else template(raw, env, path)

    def keyed(self, key: str, args: Any, path: SpecPath, scope: Scope,
              env: Mapping[str, object], inline: bool) -> Node:
        if key in LAYER_ARGS:
            return self.layer(key, args, path, scope, env)
        if key in COMPOSITES:
            composite: Callable[..., Node] = getattr(self, key)
            node = composite(args, path, scope, env, inline)
            if key in JOINS or not isinstance(args, dict) or args.get("from") is None:
                return node  # a join's or a concat's 'from' is its own (see concat)
            return self.sourced(node, args["from"], (*path, "from"), scope, env)
        if key in self.spec.blocks:
            return self.call(key, args, path, scope, env)
        raise spec_error("E204", f"unknown layer kind or block '{key}'", path,
                         hint=kind_hint(key, LAYER_ARGS, [*COMPOSITES, *self.spec.blocks,
                                                          "repeat"]))

    def repeat(self, item: dict[str, Any], path: SpecPath, scope: Scope,
               env: Mapping[str, object]) -> list[Node]:
        extra = set(item) - {"repeat", "layers", "index", "name", "from", "if"}
        if extra or "layers" not in item:
            bad = sorted(extra)[0] if extra else "layers"
            raise spec_error("E201" if extra else "E203",
                             f"repeat: {'unknown key ' + repr(bad) if extra else 'missing layers'}",
                             (*path, bad) if extra else path, hint="write 'repeat: N', "
                             "'layers: [...]' and optionally 'index: i', 'name: ...', "
                             "'from: ...' and 'if: ...' in one mapping")
        n = repeat_count(item["repeat"], env, (*path, "repeat"))
        index = self.index_name(item.get("index"), (*path, "index"), env)
        nodes: list[Node] = []
        for i in range(n):
            inner = env if index is None else {**env, index: i}
            nodes.extend(self.copy(item, path, scope, inner))
        return nodes

    def copy(self, item: dict[str, Any], path: SpecPath, scope: Scope,
             env: Mapping[str, object]) -> list[Node]:
        """One copy of a repeat: inlined, or (with ``name``) a scope of its own whose output is
        the tensor of that name; with ``from``, reading that tensor."""
        source = reference(item["from"], (*path, "from"), scope.prefix, env) \
            if item.get("from") is not None else None
        name = ""
        if item.get("name") is not None:
            name = scope.claim("repeat", self.named(item["name"], (*path, "name"), env), path)
            scope = Scope(name)
        items = self.seq(item["layers"], (*path, "layers"), scope, env).items
        if not name and source is None:
            return list(items)
        return [Seq(items, name, source, path=(*path, "from"))]

    def sourced(self, node: Node, raw: object, path: SpecPath, scope: Scope,
                env: Mapping[str, object]) -> Seq:
        """``node`` reading the tensor ``raw`` names instead of its predecessor's output."""
        return Seq((node,), source=reference(raw, path, scope.prefix, env), path=path)

    @staticmethod
    def index_name(raw: object, path: SpecPath, env: Mapping[str, object]) -> str | None:
        """``repeat``'s ``index``: a new parameter name, bound to 0 .. N - 1 in the copies."""
        if raw is None:
            return None
        if not isinstance(raw, str) or not _IDENTIFIER.match(raw):
            raise spec_error("E202", f"repeat index must be a parameter name, got {raw!r}", path,
                             hint="write 'index: i' and use $i in the layers")
        if raw in env:
            raise spec_error("E206", f"repeat index '{raw}' is already a parameter or argument "
                             "here", path, hint="choose a name not in use, e.g. 'i' or 'stage'")
        return raw

    # -- leaf layers ----------------------------------------------------------------------------
    def layer(self, kind: str, args: Any, path: SpecPath, scope: Scope,
              env: Mapping[str, object]) -> Layer:
        self.count += 1
        if self.budget is not None:
            self.budget.take(1, 0, path)
        if self.count > MAX_LAYERS:
            raise spec_error("E207", f"the spec expands to more than {MAX_LAYERS:,} layers", path)
        model = LAYER_ARGS[kind]
        if isinstance(args, dict) and "functional" in args and kind not in FUNCTIONALS:
            raise spec_error("E209", f"{kind} has no functional form: 'functional' is for "
                             "layers PyTorch also offers as a function", (*path, "functional"),
                             hint="remove 'functional'; it is allowed on " +
                             ", ".join(sorted(FUNCTIONALS)))
        key = (kind, id(args))
        parsed = self.validated.get(key)
        if parsed is None:
            parsed = self.validated[key] = validate(model, {} if args is None else args, path,
                                                    kind)
        concrete: dict[str, Any] = {}
        arg_paths: dict[str, SpecPath] = {}
        for fname, finfo in model.model_fields.items():
            if fname in ("name", "from_", "like", "if_"):
                continue
            raw = getattr(parsed, fname)
            fpath = (*path, fname)
            if isinstance(args, dict) and fname in args:
                arg_paths[fname] = fpath
            try:
                concrete[fname] = self.normalise(kind, fname, raw, finfo.metadata, fpath, env)
            except SpecError as exc:
                raise self.passed_here(exc, kind, fname, raw) from None
        if not concrete.get("functional"):  # the flag is carried only where it is true
            concrete.pop("functional", None)
        name = scope.claim(kind, self.named(parsed.name, (*path, "name"), env), path)
        if kind == "maxout":
            concrete["layer"] = self.wrapped(args["layer"], (*path, "layer"), name, env)
        inputs: tuple[Ref, ...] = ()
        if parsed.from_ is not None:
            arg_paths["from"] = (*path, "from")
            inputs = (reference(parsed.from_, arg_paths["from"], scope.prefix, env),)
        like = getattr(parsed, "like", None)
        if like is not None:
            arg_paths["like"] = (*path, "like")
        return Layer(name, kind, concrete, path, arg_paths, inputs,
                     reference(like, arg_paths["like"], scope.prefix, env)
                     if like is not None else None)

    def wrapped(self, item: Any, path: SpecPath, name: str, env: Mapping[str, object]) -> Layer:
        nodes = self.item(item, path, Scope(name), env)
        if len(nodes) != 1 or not isinstance(nodes[0], Layer):
            raise spec_error("E406", "maxout wraps exactly one conv or linear layer", path)
        return nodes[0]

    def normalise(self, kind: str, fname: str, raw: Any, meta: list[Any], path: SpecPath,
                  env: Mapping[str, object]) -> Any:
        if raw is None:
            return None
        if SIZE in meta:
            return self.size(kind, fname, raw, path, env)
        if SIDES in meta:
            return self.sides(kind, fname, raw, path, env)
        if INT in meta:
            return check_size(as_int(raw, env, path, f"{kind} {fname}"), path, f"{kind} {fname}")
        if REAL in meta:
            v = value(raw, env, path)
            if isinstance(v, bool) or not isinstance(v, (int, float)) and not hasattr(
                    v, "denominator"):
                raise spec_error("E303", f"{kind} {fname} must be a number, got "
                                 f"{shown_value(v)}", path,
                                 hint=number_text_hint(v) or tensor_hint(v))
            return float(cast("float | Fraction", v))  # an int, a float or a Fraction
        if FLAG in meta:
            v = value(raw, env, path)
            if not isinstance(v, bool):
                raise spec_error("E303", f"{kind} {fname} must be true or false, got "
                                 f"{shown_value(v)}", path)
            return v
        return raw

    def size(self, kind: str, fname: str, raw: Any, path: SpecPath,
             env: Mapping[str, object]) -> Any:
        if fname == "padding" and raw in PADDING_WORDS:
            return self.padding_word(kind, raw, path)
        if isinstance(raw, list):
            if len(raw) != 2:
                raise spec_error("E202", f"{kind} {fname}: a size is an int or an [h, w] pair, "
                                 f"got {len(raw)} values", path)
            if fname == "padding" and kind in PADDING_WORD_KINDS and any(
                    isinstance(v, list) for v in raw):
                return tuple(self.before_after(kind, v, (*path, i), env)
                             for i, v in enumerate(raw))
            return tuple(self.whole(kind, fname, v, (*path, i), env) for i, v in enumerate(raw))
        v = value(raw, env, path)
        if isinstance(v, TensorRef):  # text passed to a block: 'same' or 'valid'
            v = v.text
        if isinstance(v, tuple):  # a pair from a parameter or an expression
            if len(v) != 2:
                raise spec_error("E202", f"{kind} {fname}: a size is an int or an [h, w] pair, "
                                 f"got {len(v)} values" + (f" (from '{raw}')"
                                                           if is_expression(raw) else ""), path)
            return tuple(check_size(as_int(x, env, path, f"{kind} {fname}"), path,
                                    f"{kind} {fname}") for x in v)
        if v in PADDING_WORDS and fname == "padding":
            return self.padding_word(kind, v, path)
        n = check_size(as_int(v, env, path, f"{kind} {fname}"), path, f"{kind} {fname}")
        return (n, n)

    def whole(self, kind: str, fname: str, raw: Any, path: SpecPath,
              env: Mapping[str, object]) -> int:
        if isinstance(raw, list):
            raise spec_error("E202", f"{kind} {fname}: expected a number, got a list", path,
                             hint="a size is an int or an [h, w] pair of ints")
        return check_size(as_int(raw, env, path, f"{kind} {fname}"), path, f"{kind} {fname}")

    def before_after(self, kind: str, raw: Any, path: SpecPath,
                     env: Mapping[str, object]) -> tuple[int, int]:
        """One axis of a conv's per-axis padding: P (both sides) or [before, after]."""
        if not isinstance(raw, list):
            n = self.whole(kind, "padding", raw, path, env)
            return n, n
        if len(raw) != 2:
            raise spec_error("E202", f"{kind} padding: one axis is P or [before, after], got "
                             f"{len(raw)} values", path,
                             hint="write [[top, bottom], [left, right]]")
        before, after = (self.whole(kind, "padding", v, (*path, i), env)
                         for i, v in enumerate(raw))
        return before, after

    def sides(self, kind: str, fname: str, raw: Any, path: SpecPath,
              env: Mapping[str, object]) -> tuple[tuple[int, int], tuple[int, int]]:
        """P, [P_h, P_w] or [top, bottom, left, right] as ((top, bottom), (left, right))."""
        if not isinstance(raw, list):
            n = self.whole(kind, fname, raw, path, env)
            return (n, n), (n, n)
        if len(raw) not in (2, 4):
            raise spec_error("E202", f"{kind} {fname}: give P, [P_h, P_w] or [top, bottom, "
                             f"left, right], got {len(raw)} values", path)
        v = [self.whole(kind, fname, x, (*path, i), env) for i, x in enumerate(raw)]
        if len(v) == 2:
            return (v[0], v[0]), (v[1], v[1])
        return (v[0], v[1]), (v[2], v[3])

    def padding_word(self, kind: str, word: Any, path: SpecPath) -> str:
        if kind not in PADDING_WORD_KINDS:
            raise spec_error("E406", f"{kind} padding '{word}' is only understood by "
                             f"{', '.join(sorted(PADDING_WORD_KINDS))}", path,
                             hint="give the padding as a number or an [h, w] pair")
        return str(word)

    # -- named blocks ---------------------------------------------------------------------------
    def call(self, block: str, args: Any, path: SpecPath, scope: Scope,
             env: Mapping[str, object]) -> Node:
        model: BlockModel = self.spec.blocks[block]
        if len(self.stack) >= MAX_BLOCK_DEPTH:
            raise self.too_deep(block, path)
        args = {} if args is None else args
        if not isinstance(args, dict):
            raise spec_error("E202", f"block '{block}': arguments must be a mapping", path)
        passed = self.passed(block, model, args, path, scope, env)
        name = scope.claim(block, self.named(args.get("name"), (*path, "name"), env), path)
        if self.reads_input(block)[1]:
            node: Node = self.deferred(block, model, path, name, passed)
        else:
            node = self.expanded(block, model, path, name, passed, block_input(name))
        if args.get("from") is None:
            return node
        return self.sourced(node, args["from"], (*path, "from"), scope, env)

    def too_deep(self, block: str, path: SpecPath) -> SpecError:
        """E205: blocks nested past the limit -- a recursion without a base case, usually."""
        if block not in self.stack:
            return spec_error("E205", f"blocks nested more than {MAX_BLOCK_DEPTH} deep", path)
        last = len(self.stack) - 1 - self.stack[::-1].index(block)
        cycle = " -> ".join([*self.stack[last:], block])
        return spec_error("E205", f"block '{block}' calls itself ({cycle}) more than "
                          f"{MAX_BLOCK_DEPTH} blocks deep: the recursion has no base case, or "
                          "does not reach it in time",
                          path, hint="a recursive call needs a condition that stops it: "
                          "if: $levels > 1, with levels: $levels - 1 passed on")

    def reads_input(self, block: str) -> tuple[bool, bool]:
        """Whether ``block``'s layers read ``$in``, and whether they read its sizes."""
        found = self.inputs.get(block)
        if found is None:
            model = self.spec.blocks[block]
            found = self.inputs[block] = scan([model.layers, dict(model.args)])
        return found

    def expanded(self, block: str, model: BlockModel, path: SpecPath, name: str,
                 passed: dict[str, object], entry: TensorRef) -> Node:
        """The call's subtree (from the memo when the same call was expanded before)."""
        local = self.block_env(block, model, passed, entry, name)
        key = self.memo_key(block, name, path, local)
        if key is not None:
            return self.remembered(key, path) or self.remember(
                key, lambda: self.expand_call(block, model, path, name, local, passed))
        return self.expand_call(block, model, path, name, local, passed)

    def deferred(self, block: str, model: BlockModel, path: SpecPath, name: str,
                 passed: dict[str, object]) -> Deferred:
        """The call of a block that reads its input's sizes, expanded by the analysis."""
        frame = (tuple(self.stack), tuple(self.sites), self.depth)

        def expand(shape: tuple[int, ...], work: dict[str, int]) -> Node:
            return self.later(block, model, path, name, passed, frame, shape, work)
        return Deferred(name, expand, path)

    def later(self, block: str, model: BlockModel, path: SpecPath, name: str,
              passed: dict[str, object], frame: tuple[tuple[Any, ...], tuple[Any, ...], int],
              shape: tuple[int, ...], work: dict[str, int]) -> Node:
        """A deferred call expanded for an input of ``shape`` (by the analysis): the nesting it
        was called in is restored, and the work of one analysis (``work``) counts towards the
        limits of expansion, as if it had been expanded with the rest."""
        saved = self.stack, self.sites, self.depth
        self.stack, self.sites, self.depth = list(frame[0]), list(frame[1]), frame[2]
        self.count, self.steps = work.get("layers", self.eager[0]), work.get("steps", self.eager[1])
        try:
            node = self.expanded(block, model, path, name, passed, block_input(name, shape))
            check_unique(Seq((node,)), self.memo.names if self.memo is not None else None)
            return node
        finally:
            work["layers"], work["steps"] = self.count, self.steps
            self.stack, self.sites, self.depth = saved

    def memo_key(self, block: str, name: str, path: SpecPath,
                 local: Mapping[str, object]) -> tuple[Any, ...] | None:
        if self.memo is None:
            return None
        read = self.memo.names_read(self.spec, block)
        key = (block, name, path, self.depth, tuple(self.stack),
               tuple(sorted((k, v) for k, v in local.items() if k in read)))
        try:
            hash(key)
        except TypeError:  # an unhashable value: expand as usual
            return None
        return key

    def remembered(self, key: tuple[Any, ...], path: SpecPath) -> Node | None:
        assert self.memo is not None
        hit = self.memo.calls.get(key)
        if hit is None:
            return None
        node, layers, steps = hit
        self.memo.hits += 1
        self.count += layers
        self.steps += steps
        if self.budget is not None:
            self.budget.take(layers, steps, path)
        if self.count > MAX_LAYERS or self.steps > MAX_STEPS:
            raise spec_error("E207", f"the spec expands to more than {MAX_LAYERS:,} layers "
                             f"(or {MAX_STEPS:,} items)", path)
        return node

    def remember(self, key: tuple[Any, ...], expand_: Callable[[], Node]) -> Node:
        assert self.memo is not None
        layers, steps = self.count, self.steps
        node = expand_()
        if len(self.memo.calls) >= self.memo.limit:
            self.memo.calls.clear()
        self.memo.calls[key] = (node, self.count - layers, self.steps - steps)
        return node

    def expand_call(self, block: str, model: BlockModel, path: SpecPath, name: str,
                    local: dict[str, object], passed: Mapping[str, object]) -> Node:
        self.stack.append(block)
        self.sites.append((block, {k: (*path, k) for k in passed}, local))
        try:
            body_path = ("blocks", block, "layers")
            inner = Scope(name)
            body = model.layers
            entry = entry_name(name) if self.reads_input(block)[0] else ""
            if len(body) == 1 and _is_composite(body[0]):
                node = self.item(body[0], (*body_path, 0), inner, local, inline=True)
                if len(node) == 1 and not entry:
                    return node[0]
                return Seq(tuple(node), "" if len(node) == 1 else name, entry=entry)
            return Seq(self.seq(body, body_path, inner, local).items, name, entry=entry)
        finally:
            self.stack.pop()
            self.sites.pop()

    def passed_here(self, exc: SpecError, kind: str, fname: str, raw: object) -> SpecError:
        """A list passed to a block and used where one number is needed: the error names the
        argument and points at the call that passed it (else ``exc`` unchanged)."""
        if not self.sites or exc.diagnostics[0].code != "E303" or not is_expression(raw):
            return exc
        block, passed, local = self.sites[-1]
        for arg in parameters(str(raw)):
            if arg in passed and isinstance(local.get(arg), tuple):
                shown = ", ".join(map(str, cast("tuple[object, ...]", local[arg])))
                return spec_error("E303", f"block '{block}' argument '{arg}' is the list "
                                  f"[{shown}], but {kind} {fname} takes one whole number "
                                  f"(from '{raw}')", passed[arg],
                                  hint="pass a number here, or use the argument only for sizes "
                                  "(kernel, stride, padding, dilation)")
        return exc

    def passed(self, block: str, model: BlockModel, args: dict[str, Any], path: SpecPath,
               scope: Scope, env: Mapping[str, object]) -> dict[str, object]:
        """The arguments written at the call, evaluated where the call is: text names a tensor
        from the call's scope (:func:`~cnnstat.spec.refs.bind`)."""
        for key in args:
            if key not in CALL_KEYS and key not in model.args:
                raise spec_error("E206", f"block '{block}' has no argument '{key}'",
                                 (*path, key), hint=suggest(key, model.args) or
                                 "arguments: " + ", ".join(model.args))
        out: dict[str, object] = {}
        for key, default in model.args.items():
            if key in RESERVED_ARGS:
                raise spec_error("E206", f"block '{block}': '{key}' cannot be an argument name",
                                 ("blocks", block, "args", key), hint="'name', 'from' and 'if' "
                                 "belong to every call, and '$in' is the block's input")
            if key in args:
                out[key] = bind(self.argument(args[key], env, (*path, key)), scope.prefix)
            elif default == REQUIRED:
                raise spec_error("E206", f"block '{block}' needs argument '{key}'", path)
        return out

    def block_env(self, block: str, model: BlockModel, passed: Mapping[str, object],
                  entry: TensorRef, name: str) -> dict[str, object]:
        """The parameters the block's layers see: the spec's, ``$in``, the arguments passed,
        and the defaults of the others (evaluated in order, so a default may use the arguments
        before it, and ``$in``)."""
        local: dict[str, object] = dict(self.globals)
        local[INPUT] = entry
        for key, default in model.args.items():
            if key in passed:
                local[key] = passed[key]
            else:
                local[key] = bind(self.argument(default, local, ("blocks", block, "args", key)),
                                  name)
        return local

    def argument(self, raw: object, env: Mapping[str, object], path: SpecPath) -> object:
        """A block argument's value: a list element-wise, a template's text, a tensor (or list
        of tensors) passed on as it is, else :func:`value`."""
        if isinstance(raw, list):
            return tuple(self.argument(v, env, (*path, i)) for i, v in enumerate(raw))
        if is_template(raw):
            return template(raw, env, path)
        passed_on = tensor_value(raw, env)
        return passed_on if passed_on is not None else value(raw, env, path)

    # -- composition ----------------------------------------------------------------------------
    def composite_scope(self, kind: str, args: Any, path: SpecPath, scope: Scope,
                        env: Mapping[str, object], inline: bool) -> tuple[Scope, dict[str, Any]]:
        if not isinstance(args, dict):
            raise spec_error("E202", f"{kind}: expected a mapping of its parts", path)
        if inline and args.get("name") is None:
            return scope, args
        return Scope(scope.claim(kind, self.named(args.get("name"), (*path, "name"), env),
                                 path)), args

    def check_keys(self, kind: str, args: dict[str, Any], path: SpecPath) -> None:
        """The keys of ``kind``'s arguments model (:data:`COMPOSITE_ARGS`), nothing else."""
        fields = {f.alias or k: f for k, f in COMPOSITE_ARGS[kind].model_fields.items()}
        allowed = set(fields)
        required = {k for k, f in fields.items() if f.is_required()}
        for key in args:
            if key not in allowed:
                raise spec_error("E201", f"{kind}: unknown key '{key}'", (*path, key),
                                 hint=suggest(key, allowed) or "valid keys: " +
                                 ", ".join(sorted(allowed)))
        for key in sorted(required - set(args)):
            raise spec_error("E203", f"{kind}: missing required key '{key}'", path)

    def residual(self, args: Any, path: SpecPath, scope: Scope, env: Mapping[str, object],
                 inline: bool) -> Node:
        inner, args = self.composite_scope("residual", args, path, scope, env, inline)
        self.check_keys("residual", args, path)
        first = value(args.get("shortcut_first", False), env, (*path, "shortcut_first"))
        if not isinstance(first, bool):
            raise spec_error("E303", f"residual shortcut_first must be true or false, got "
                             f"{first!r}", (*path, "shortcut_first"))
        if first and not isinstance(args.get("shortcut", "auto"), list):
            raise spec_error("E202", "residual shortcut_first needs the shortcut written as a "
                             "list of layers: an automatic shortcut is chosen from the body's "
                             "output, so it cannot run first", (*path, "shortcut_first"),
                             hint="write the shortcut's layers, e.g. shortcut: [conv: {out: "
                             "..., kernel: 1, stride: ...}, bn], or drop shortcut_first")
        if first:  # the shortcut's layers are named and run first, as the module runs them
            shortcut = self.shortcut(args["shortcut"], (*path, "shortcut"), inner, env)
        body = self.seq(args["body"], (*path, "body"), inner, env)
        if not first:
            shortcut = self.shortcut(args.get("shortcut", "auto"), (*path, "shortcut"), inner,
                                     env)
        branches = (shortcut, Branch("", body)) if first else (Branch("", body), shortcut)
        par = Parallel(inner.prefix, "add", branches, False, path)
        then = self.seq(args.get("then", []), (*path, "then"), inner, env)
        return Seq((par, *then.items), inner.prefix) if then.items else par

    def shortcut(self, raw: Any, path: SpecPath, scope: Scope,
                 env: Mapping[str, object]) -> Branch:
        name = scope.full("shortcut")
        modes = SHORTCUT_MODES
        if isinstance(raw, str) and raw in modes:
            return Branch("shortcut", Seq((AutoShortcut(name, modes[raw], path),)))
        if raw == "identity":
            return Branch("shortcut", Seq(()))
        if isinstance(raw, list):
            return Branch("shortcut", self.seq(raw, path, Scope(name), env))
        raise spec_error("E202", "residual shortcut must be auto, identity, pad, "
                         f"identity-if-same or a list of layers, got {raw!r}", path)

    def branches(self, kind: str, raw: Any, path: SpecPath, scope: Scope,
                 env: Mapping[str, object]) -> tuple[Branch, ...]:
        if isinstance(raw, dict):
            named = list(raw.items())
        elif isinstance(raw, list):
            named = [(f"branch{i + 1}", b) for i, b in enumerate(raw)]
        else:
            raise spec_error("E202", f"{kind}: branches are a list of layer lists or a mapping "
                             "of named layer lists", path)
        if not named:
            raise spec_error("E202", f"{kind}: needs at least one branch", path)
        out = []
        for i, (bname, items) in enumerate(named):
            bpath = (*path, bname if isinstance(raw, dict) else i)
            check_name(bname, bpath, "branch name")
            sub = Scope(scope.full(str(bname)))
            out.append(Branch(str(bname), self.seq(items if items else [], bpath, sub, env)))
        return tuple(out)

    def concat(self, args: Any, path: SpecPath, scope: Scope, env: Mapping[str, object],
               inline: bool, split: bool = False) -> Node:
        """``branches`` fed the current input (or, with ``from: x``, the tensor x), their outputs
        concatenated; without branches, ``from`` lists earlier tensors, as ``add``'s does."""
        kind = "split" if split else "concat"
        if isinstance(args, list):
            args = {"branches": args}
        if not split and isinstance(args, dict) and args.get("from") is not None:
            if args.get("branches") is None:
                return self.join("concat", args, path, scope, env)
            if not isinstance(args["from"], str):
                raise spec_error("E202", "concat: with 'branches', 'from' names the one tensor "
                                 "fed to them; to concatenate earlier tensors, leave out "
                                 "'branches'", (*path, "from"))
        inner, args = self.composite_scope(kind, args, path, scope, env, inline)
        self.check_keys(kind, args, path)
        if args.get("branches") is None:
            raise spec_error("E203", f"{kind}: missing required key 'branches'", path)
        branches = self.branches(kind, args["branches"], (*path, "branches"), inner, env)
        par = Parallel(inner.prefix, "concat", branches, split, path)
        if split or args.get("from") is None:
            return par
        return self.sourced(par, args["from"], (*path, "from"), scope, env)

    def split(self, args: Any, path: SpecPath, scope: Scope, env: Mapping[str, object],
              inline: bool) -> Node:
        return self.concat(args, path, scope, env, inline, split=True)

    def scale(self, args: Any, path: SpecPath, scope: Scope, env: Mapping[str, object],
              inline: bool) -> Node:
        if isinstance(args, list):
            args = {"body": args}
        inner, args = self.composite_scope("scale", args, path, scope, env, inline)
        self.check_keys("scale", args, path)
        gate = self.seq(args["body"], (*path, "body"), inner, env)
        return Parallel(inner.prefix, "mul", (Branch("input", Seq(())), Branch("", gate)),
                        False, path)

    def side(self, args: Any, path: SpecPath, scope: Scope, env: Mapping[str, object],
             inline: bool) -> Node:
        """A side output (auxiliary classifier): computed from here, not fed to the trunk."""
        if isinstance(args, list):
            args = {"body": args}
        inner, args = self.composite_scope("side", args, path, scope, env, inline)
        self.check_keys("side", args, path)
        training = value(args.get("training", False), env, (*path, "training"))
        if not isinstance(training, bool):
            raise spec_error("E303", f"side training must be true or false, got {training!r}",
                             (*path, "training"))
        body = self.seq(args["body"], (*path, "body"), inner, env)
        return Parallel(inner.prefix, "side", (Branch("input", Seq(())), Branch("", body)),
                        False, path, training)

    def dense(self, args: Any, path: SpecPath, scope: Scope, env: Mapping[str, object],
              inline: bool) -> Node:
        inner, args = self.composite_scope("dense", args, path, scope, env, inline)
        self.check_keys("dense", args, path)
        n = as_int(args["count"], env, (*path, "count"), "dense count")
        if not 1 <= n <= MAX_REPEAT:
            raise spec_error("E207", f"dense count {n} is outside 1..{MAX_REPEAT:,}",
                             (*path, "count"))
        units: list[Node] = []
        for _ in range(n):
            unit = Scope(inner.claim("layer", None, path))
            body = self.seq(args["layers"], (*path, "layers"), unit, env)
            units.append(Parallel(unit.prefix, "concat", (Branch("input", Seq(())),
                                                           Branch("", body)), False, path))
        return Seq(tuple(units), inner.prefix)


    def join(self, kind: JoinMerge, args: Any, path: SpecPath, scope: Scope,
             env: Mapping[str, object]) -> Join:
        """``add`` / ``mul`` / ``concat`` of earlier tensors named in ``from`` (one tensor: that
        tensor, a merge of nothing else)."""
        if not isinstance(args, dict):
            raise spec_error("E202", f"{kind}: expected a mapping with 'from: [a, b, ...]'", path)
        self.step(path)
        parsed = validate(JoinArgs, {k: v for k, v in args.items()}, path, kind)
        name = scope.claim(kind, self.named(parsed.name, (*path, "name"), env), path)
        refs = references(args["from"], (*path, "from"), scope.prefix, env, repeat_count)
        if not refs:
            raise spec_error("E202", f"{kind}: 'from' names no tensor", (*path, "from"),
                             hint="a merge needs at least one tensor (a repeat of 0 names none)")
        return Join(name, kind, tuple(refs), path)

    def add(self, args: Any, path: SpecPath, scope: Scope, env: Mapping[str, object],
            inline: bool) -> Node:
        return self.join("add", args, path, scope, env)

    def mul(self, args: Any, path: SpecPath, scope: Scope, env: Mapping[str, object],
            inline: bool) -> Node:
        return self.join("mul", args, path, scope, env)


JOINS = ("add", "mul", "concat")  # composites whose 'from' is their own (a list, for a join)


def _is_composite(item: Any) -> bool:
    return isinstance(item, dict) and len(item) == 1 and next(iter(item)) in COMPOSITES


def expand(spec: SpecModel, env: dict[str, object], budget: Budget | None = None,
           memo: Memo | None = None) -> Seq:
    """The graph of ``spec`` with parameters ``env`` (already evaluated); ``budget``, when
    given, is charged for the work and shared with the file's other configurations; ``memo``
    reuses block expansions across configurations of the same spec (:class:`Memo`)."""
    expander = Expander(spec, env, budget, memo)
    graph = expander.seq(spec.layers, ("layers",), Scope(""), env)
    expander.eager = (expander.count, expander.steps)
    return graph
