"""Expand a validated spec into the :mod:`cnnstat.core.ir` graph.

Expansion evaluates every expression, calls named blocks with their arguments, unrolls
``repeat``, turns the composition keywords into :class:`~cnnstat.core.ir.Parallel` nodes and gives
every layer a stable hierarchical name (``stage2.bottleneck1.conv2``): the item's ``name`` when
given (a template: ``"branch$j"``), else its kind (or block name) numbered within its scope.  An
item with ``if:`` is written only where its condition holds.

Calls of named blocks (arguments, ``$in``, recursion, and the blocks expanded only once their
input's shape is known) are :class:`~cnnstat.spec.calls.BlockCalls`, which the expander extends.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any, cast

from cnnstat.core.functional import FUNCTIONALS
from cnnstat.core.ir import (
    AutoShortcut,
    Branch,
    Join,
    JoinMerge,
    Layer,
    Node,
    Parallel,
    Ref,
    Seq,
    ShortcutMode,
)
from cnnstat.errors import SpecError, SpecPath, spec_error
from cnnstat.spec.budget import MAX_LAYERS, MAX_NESTING, MAX_REPEAT, MAX_STEPS, Budget, check_size
from cnnstat.spec.calls import BlockCalls
from cnnstat.spec.expr import TensorRef, is_expression, number_text_hint
from cnnstat.spec.kinds import kind_hint
from cnnstat.spec.memo import Memo
from cnnstat.spec.models import (
    COMPOSITE_ARGS,
    FLAG,
    INT,
    LAYER_ARGS,
    REAL,
    SIDES,
    SIZE,
    Args,
    JoinArgs,
    SpecModel,
)
from cnnstat.spec.names import Scope, check_name
from cnnstat.spec.refs import reference, references
from cnnstat.spec.validate import suggest, validate
from cnnstat.spec.values import as_int, repeat_count, shown_value, tensor_hint, value

COMPOSITES = tuple(COMPOSITE_ARGS)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PADDING_WORDS = ("same", "valid")
PADDING_WORD_KINDS = {"conv"}  # as in PyTorch, where only convolutions take padding='same'
SHORTCUT_MODES: dict[str, ShortcutMode] = {
    "auto": "projection", "projection": "projection", "pad": "pad",
    "identity-if-same": "optional"}  # and "identity": no shortcut layers at all


class Expander(BlockCalls):
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


def expand(spec: SpecModel, env: dict[str, object], budget: Budget | None = None,
           memo: Memo | None = None) -> Seq:
    """The graph of ``spec`` with parameters ``env`` (already evaluated); ``budget``, when
    given, is charged for the work and shared with the file's other configurations; ``memo``
    reuses block expansions across configurations of the same spec (:class:`Memo`)."""
    expander = Expander(spec, env, budget, memo)
    graph = expander.seq(spec.layers, ("layers",), Scope(""), env)
    expander.eager = (expander.count, expander.steps)
    return graph
