"""Named-block calls: arguments, ``$in``, the memo of expansions, recursion, and the blocks
expanded only once their input's shape is known.

A block may call itself: each call goes one level deeper, and past
:data:`~cnnstat.spec.budget.MAX_BLOCK_DEPTH` the call is an error (E205: a recursion needs a base
case, an ``if:`` that stops it).  A block whose layers read its input's sizes (``$in.channels``)
cannot be written before the shapes are known: its call becomes a
:class:`~cnnstat.core.ir.Deferred` node that the analysis expands when its walk reaches it, with
the input's shape bound (:meth:`BlockCalls.later`); every other block is expanded at once.

:class:`BlockCalls` is the part of :class:`~cnnstat.spec.expand.Expander` that calls blocks; it
expands a block's layers through the expander's ``item`` and ``seq``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from cnnstat.core.ir import Deferred, Node, Seq
from cnnstat.errors import SpecError, SpecPath, spec_error
from cnnstat.spec.budget import MAX_BLOCK_DEPTH, MAX_LAYERS, MAX_STEPS, Budget
from cnnstat.spec.expr import INPUT, TensorRef, is_expression, is_template, parameters
from cnnstat.spec.memo import Memo
from cnnstat.spec.models import COMPOSITE_ARGS, BlockModel, SpecModel
from cnnstat.spec.names import Scope, check_unique
from cnnstat.spec.refs import (
    bind,
    block_input,
    entry_name,
    reference,
    scan,
    template,
    tensor_value,
)
from cnnstat.spec.validate import suggest
from cnnstat.spec.values import value

REQUIRED = "required"
CALL_KEYS = ("name", "from", "if")  # what a block call takes besides the block's arguments
RESERVED_ARGS = (*CALL_KEYS, INPUT)


class BlockCalls:
    """Calls of named blocks, for the :class:`~cnnstat.spec.expand.Expander` (its state is
    declared here; its ``item`` and ``seq`` expand the layers)."""

    spec: SpecModel
    globals: dict[str, object]
    budget: Budget | None
    memo: Memo | None
    stack: list[str]
    sites: list[tuple[str, dict[str, SpecPath], Mapping[str, object]]]
    depth: int
    count: int
    steps: int
    inputs: dict[str, tuple[bool, bool]]
    eager: tuple[int, int]

    def item(self, item: Any, path: SpecPath, scope: Scope, env: Mapping[str, object],
             inline: bool = False) -> list[Node]:
        raise NotImplementedError

    def seq(self, items: list[Any], path: SpecPath, scope: Scope,
            env: Mapping[str, object]) -> Seq:
        raise NotImplementedError

    @staticmethod
    def named(raw: object, path: SpecPath, env: Mapping[str, object]) -> object:
        """An item's ``name`` as written, its template filled in (None when absent)."""
        return None if raw is None else template(raw, env, path)

    def sourced(self, node: Node, raw: object, path: SpecPath, scope: Scope,
                env: Mapping[str, object]) -> Seq:
        """``node`` reading the tensor ``raw`` names instead of its predecessor's output."""
        return Seq((node,), source=reference(raw, path, scope.prefix, env), path=path)

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


def _is_composite(item: Any) -> bool:
    return isinstance(item, dict) and len(item) == 1 and next(iter(item)) in COMPOSITE_ARGS
