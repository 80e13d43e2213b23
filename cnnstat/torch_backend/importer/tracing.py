"""``cnnstat import``'s child side: trace the user's module with torch.fx and describe it as
plain data (:func:`describe`), which the parent turns into a spec
(:mod:`cnnstat.torch_backend.importer.writer`).

torch.fx symbolic tracing, not torch.export: fx records each leaf module's call with its module
path as the node's target (``layer1.0.conv1``), which gives the spec its layer names and lets
``verify --module`` align them, and it keeps ``x + y`` and ``torch.cat`` as the calls written.
torch.export lowers everything to aten operators (a conv with its batch norm and relu become
``aten.convolution``, ``aten._native_batch_norm_legit_no_training``, ...) and loses the module
calls.  What fx cannot do -- data-dependent control flow -- is reported as such.

The shapes come from running the traced graph once on the ``meta`` device (:class:`~cnnstat.torch_backend.importer.meta_run.MetaRun`),
which FlopCounterMode counts as it runs: nothing is allocated.  Each node becomes one layer, a merge, an alias (``x.contiguous()``) or a problem
(no spec kind); problems are gathered and reported together, never skipped.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable
from typing import Any, cast

import torch
from torch import fx, nn

from cnnstat.errors import UsageError
from cnnstat.torch_backend.importer import mapping as import_map
from cnnstat.torch_backend.importer import l2norm_pattern
from cnnstat.torch_backend.importer.graph import common_path
from cnnstat.torch_backend.importer.mapping import Alias, Unsupported, Written
from cnnstat.torch_backend.common import operations
from cnnstat.torch_backend.common.operations import Ops
from cnnstat.torch_backend.common.measure import numel
from cnnstat.torch_backend.importer.meta_run import MetaRun
from cnnstat.torch_backend.importer.meta_run import shape as _shape

_MERGES = {operator.add: "add", operator.iadd: "add", torch.add: "add", operator.mul: "mul",
           operator.imul: "mul", torch.mul: "mul", torch.cat: "concat", torch.concat: "concat"}
_METHOD_MERGES = {"add": "add", "add_": "add", "mul": "mul", "mul_": "mul"}


class _Tracer(fx.Tracer):
    """Leaves: every module type the import table knows, and torch.nn's own (the default)."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return import_map.module_writer(m) is not None or super().is_leaf_module(
            m, module_qualified_name)


def warm_up() -> None:
    """Trace a tiny module once (before the guard's snapshot: fx wraps some names on first use),
    FLOPs counted without importing torch._dynamo (:func:`count_without_dynamo`)."""
    count_without_dynamo()
    describe(nn.Sequential(nn.Conv2d(1, 1, 1), nn.ReLU()), ((1, 2, 2),))


def count_without_dynamo() -> None:
    """Count on the meta device and with FlopCounterMode without importing ``torch._dynamo``.

    torch wraps its Python reference kernels (what the meta device runs: ``torch._refs``) and
    every dispatch mode's handler (FlopCounterMode's) in ``torch._disable_dynamo``, whose
    wrapper imports ``torch._dynamo`` on its first call (1.5 to 2 s of CPU, about what ``import
    torch`` costs) only to hide the function from torch.compile, and keeps the result in the
    function's ``__dynamo_disable`` attribute.  The import child compiles nothing, so each
    wrapped function is given itself there: the wrapper then calls it as it is, and it
    computes the same.  A wrapper this misses (torch changed) imports ``torch._dynamo`` as
    before: slower, never different."""
    import gc
    import types

    from torch.utils import flop_counter  # noqa: F401 - its handler is wrapped when imported

    disable = getattr(torch, "_disable_dynamo", None)
    code = getattr(disable(_probe), "__code__", None) if callable(disable) else None
    if not isinstance(code, types.CodeType) or "fn" not in code.co_freevars:
        return
    at = code.co_freevars.index("fn")
    for obj in gc.get_objects():
        if type(obj) is not types.FunctionType or obj.__code__ is not code or \
                obj.__closure__ is None:
            continue
        try:
            fn = obj.__closure__[at].cell_contents
        except (IndexError, ValueError):
            continue
        if getattr(fn, "__dynamo_disable", None) is None:
            setattr(fn, "__dynamo_disable", fn)


def _probe() -> None:
    """A function for :func:`count_without_dynamo` to wrap, to learn the wrapper's code."""


def describe(model: nn.Module, inputs: tuple[tuple[int, ...], ...]) -> dict[str, Any]:
    """The traced network as plain data: ``{"network": {...}}`` or ``{"rejected": [...]}``.
    The network holds the census of the traced run (``ops``: each aten operation of the data,
    the module path where it ran and how many times), which the round trip compares with the
    spec written (:mod:`cnnstat.torch_backend.common.operations`)."""
    model.eval()
    tracer = _Tracer(autowrap_functions=import_map.AUTOWRAP)
    try:
        graph = tracer.trace(model)
    except fx.proxy.TraceError as exc:
        return {"rejected": [{"op": "control flow", "path": _tracing_at(tracer), "count": 1,
                              "code": "E702", "why": "forward() has data-dependent control "
                              "flow, which torch.fx cannot trace: "
                              f"{str(exc).splitlines()[0]}"}]}
    gm = fx.GraphModule(model, graph)
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    if len(placeholders) != len(inputs):
        raise UsageError(f"forward() takes {len(placeholders)} tensor(s) "
                         f"({', '.join(n.name for n in placeholders)}); {len(inputs)} --input "
                         "given", "give one --input per argument of forward(), in order")
    scales = _scales(gm)  # read before the move to meta, where values are unknown
    gm.to("meta")
    flops, by_node = MetaRun(gm).counted(*[torch.zeros(1, *s, device="meta") for s in inputs])
    classes = {name: type(m).__name__ for name, m in model.named_modules() if name}
    describer = _Describer(gm, inputs, scales, by_node)
    sides = _training_sides(model, gm, inputs, classes) if _idle(model, gm) else None
    describer.unused(model, sides.called if sides is not None else set())
    described = describer.run(numel(model.parameters()), classes)
    model.eval()
    if sides is not None and sides.problems and "network" in described:
        described = {"rejected": sides.problems}
    elif sides is not None and sides.problems:
        described["rejected"] += sides.problems
    elif sides is not None and "network" in described:
        described["network"]["sides"] = [_resolved(h, describer) for h in sides.heads]
    if "network" in described:
        described["network"]["flops"] = flops
        described["network"]["ops"] = _by_path(gm, by_node)
    return described


def _tracing_at(tracer: fx.Tracer) -> str:
    """The module path torch.fx was tracing when it gave up ('' at the top): the innermost
    module whose call it had entered and not left."""
    stack = list(getattr(tracer, "module_stack", {}).values())
    return str(stack[-1][0]) if stack and stack[-1] else ""


def _by_path(gm: fx.GraphModule, by_node: Ops) -> list[list[Any]]:
    """The census by module path (a node's, see :func:`_path`) instead of node name."""
    nodes = {n.name: n for n in gm.graph.nodes}
    out: dict[tuple[str, str], int] = {}
    for op, name, n in by_node:
        key = (op, _path(nodes[name]) if name in nodes else "")
        out[key] = out.get(key, 0) + n
    return [[op, path, n] for (op, path), n in out.items()]


def _scales(gm: fx.GraphModule) -> dict[str, float]:
    """The value of each one-dimensional parameter the trace reads directly, where all its
    elements are equal and it is not on the meta device (an L2 norm's scale: SSD's 20)."""
    out: dict[str, float] = {}
    for node in gm.graph.nodes:
        if node.op == "get_attr" and _is_parameter(gm, str(node.target)):
            p = gm.get_parameter(str(node.target)).detach()
            if p.dim() == 1 and p.numel() and not p.is_meta and bool((p == p[0]).all()):
                out[str(node.target)] = float(p[0])
    return out


def _path(node: fx.Node) -> str:
    """The module path where ``node`` happens: a leaf's own path, else the innermost module."""
    if node.op == "call_module":
        return str(node.target)
    stack = node.meta.get("nn_module_stack") or {}
    return str(list(stack)[-1]) if stack else ""


def _op_label(node: fx.Node, gm: fx.GraphModule) -> str:
    if node.op == "call_module":
        t = type(gm.get_submodule(str(node.target)))
        return f"{t.__module__}.{t.__qualname__}"
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    target = node.target
    module = getattr(target, "__module__", None) or ""
    module = "operator" if module == "_operator" else module
    return f"{module}.{getattr(target, '__name__', str(target))}".lstrip(".")


class _Describer:
    def __init__(self, gm: fx.GraphModule, inputs: tuple[tuple[int, ...], ...],
                 scales: dict[str, float] | None = None, census: Ops = ()) -> None:
        self.gm = gm
        self.census: dict[str, Counter[str]] = {}  # node name -> its aten operations
        for op, name, n in census:
            self.census.setdefault(name, Counter())[op] += n
        self.inputs = inputs
        self.scales = scales or {}
        self.l2norms = l2norm_pattern.fused(gm)
        self.absorbed = {n for fused in self.l2norms.values() for n in fused.absorbed}
        self.alias: dict[str, str] = {}  # node name -> the tensor it passes on
        self.nodes: list[dict[str, Any]] = []
        self.problems: Counter[tuple[str, str, str]] = Counter()
        self.calls: Counter[str] = Counter()
        self.held: set[str] = set()  # the weights functions were given (HELD), by target

    def run(self, params: int, classes: dict[str, str],
            only: set[str] | None = None) -> dict[str, Any]:
        """Every node (``only``: those named, a training-only head's)."""
        outputs: list[str] = []
        for node in self.gm.graph.nodes:
            if only is not None and node.name not in only:
                continue
            if node.op == "placeholder":
                self.nodes.append({"name": node.name, "kind": "input", "shape": _shape(node)})
            elif node.op == "output":
                outputs = [self._ref(n) for n in _tensors(node.args[0])]
            elif node.op == "get_attr":
                continue  # judged where it is used
            else:
                self._node(node)
        self._shared_weights()
        if self.problems:
            return {"rejected": [{"op": op, "path": path, "count": count, "why": why}
                                 for (op, path, why), count in self.problems.items()]}
        return {"network": {"nodes": self.nodes, "outputs": outputs, "params": params,
                            "modules": classes}}

    def _ref(self, node: fx.Node) -> str:
        return self.ref_name(node.name)

    def _node(self, node: fx.Node) -> None:
        if node.name in self.absorbed:
            return  # part of an L2 norm, written where its multiply is
        if node.name in self.l2norms:
            fused = self.l2norms[node.name]
            own = self._own_module(fused.param, _path(node))
            # a scale that is not a module of its own is written in its parent's forward:
            # functional, as hook-based counters (torchinfo) see it
            args = fused.args(self.scales) if own else {**fused.args(self.scales),
                                                        "functional": True}
            self.nodes.append({"name": node.name, "path": _path(node), "layers": [
                {"kind": "l2norm", "args": args}],
                "inputs": [self._ref(fused.x)], "like": None,
                "module": own, "shape": _shape(node)})
            return
        shape = _shape(node)
        tensors = [n for n in _tensors((node.args, node.kwargs)) if _shape(n) is not None
                   or n.op == "get_attr"]
        if shape is None and node.op == "call_module" and \
                import_map.module_writer(self.gm.get_submodule(str(node.target))) is None:
            # a module returning a tuple (nn.MultiheadAttention): named here, not only where
            # an element of its output is taken
            self._problem(node, "no spec kind for this module type")
            return
        if shape is None:
            # not a tensor: a size (x.size(0)) read by the calls that use it, or a tuple whose
            # elements (getitem) are judged where they are taken; but a call with a writer is
            # asked first, so it can name why (a pool with return_indices=True)
            self._refused_tuple(node, tensors)
            return
        if any(n.op == "get_attr" for n in tensors):
            if node.op == "call_function" and node.target in import_map.HELD:
                self._held_call(node, tensors, shape)
            elif not self._layer_scale(node, tensors, shape):
                self._problem(node, "uses a parameter or buffer of the module directly")
            return
        part = _part_of(node)
        if part is not None:  # x.chunk(n, 1)[i]: a split, if a concat joins every part
            source, index, parts = part
            self.nodes.append({"name": node.name, "kind": "part", "path": _path(node),
                               "inputs": [self._ref(source)], "part": [index, parts],
                               "shape": shape})
            return
        merge = _merge_of(node)
        if merge == "concat" and _cat_dim(node) not in (1, -3):
            self._problem(node, f"concatenates along dim {_cat_dim(node)}; a spec concatenates "
                          "channels (dim 1)")
            return
        if merge == "concat" and len(tensors) == 1:
            self.alias[node.name] = self._ref(tensors[0])  # torch.cat([x], 1) is x
            return
        if merge is not None and len(tensors) >= 2:
            self.nodes.append({"name": node.name, "kind": merge, "path": _path(node),
                               "inputs": [self._ref(n) for n in tensors], "shape": shape})
            return
        try:
            written = self._write(node, tensors)
        except Unsupported as exc:
            self._problem(node, str(exc))
            return
        if isinstance(written, Alias):
            self.alias[node.name] = self._ref(tensors[0])
            return
        if node.op == "call_module":
            self.calls[str(node.target)] += 1
        self.nodes.append({"name": node.name, "path": _path(node), "layers": [
            {"kind": w.kind, "args": w.args} for w in written],
            "inputs": [self._ref(n) for n in tensors[:1]],
            "like": self._ref(tensors[1]) if len(tensors) > 1 else None,
            "module": node.op == "call_module", "shape": shape,
            **({"ops": dict(self.census.get(node.name, {}))}
               if any(operations.may_run(w.kind) is None for w in written) else {})})

    def _refused_tuple(self, node: fx.Node, tensors: list[fx.Node]) -> None:
        """A call with a writer whose output is no tensor: the writer's refusal, if it has one
        (``nn.AdaptiveMaxPool2d(2, return_indices=True)`` returns values and indices)."""
        known = import_map.module_writer(self.gm.get_submodule(str(node.target))) \
            if node.op == "call_module" else \
            import_map.FUNCTIONS.get(node.target) if node.op == "call_function" \
            and callable(node.target) else None
        if known is None:
            return
        try:
            self._write(node, tensors)
        except Unsupported as exc:
            self._problem(node, str(exc))

    def _held_call(self, node: fx.Node, tensors: list[fx.Node],
                   shape: tuple[int, ...]) -> None:
        """A function given weights (``F.batch_norm``, ``F.conv2d``, ... in a subclass's
        ``forward``): a layer when the data comes first and every weight is a parameter or
        buffer of the module it is called in, read as it is and used once
        (:data:`~cnnstat.torch_backend.importer.mapping.HELD`)."""
        path = _path(node)
        held = [n for n in tensors if n.op == "get_attr"]
        foreign = [str(n.target) for n in held if str(n.target).rpartition(".")[0] != path
                   or str(n.target) in self.held]
        if not node.args or node.args[0] is not tensors[0] or tensors[0].op == "get_attr":
            self._problem(node, "uses a parameter or buffer of the module directly")
            return
        if foreign:
            self._problem(node, f"reads {foreign[0]}, a weight of another module or one used "
                          "twice: a spec layer holds its own")
            return
        self.held |= {str(n.target) for n in held}

        def arg(value: Any) -> Any:
            if isinstance(value, fx.Node) and value.op == "get_attr":
                target = str(value.target)
                return import_map.Held(tuple(_attr(self.gm, target).shape),
                                       _is_parameter(self.gm, target))
            if isinstance(value, fx.Node):
                return import_map.Computed()
            if isinstance(value, (list, tuple)):
                return type(value)(arg(v) for v in value)
            return value

        call = import_map.Call([arg(a) for a in node.args[1:]],
                               {k: arg(v) for k, v in node.kwargs.items()},
                               _shape(tensors[0]), shape)
        try:
            written = import_map.HELD[cast(Callable[..., Any], node.target)](call)
        except Unsupported as exc:
            self._problem(node, str(exc))
            return
        assert not isinstance(written, Alias)  # a held writer writes a layer
        self.nodes.append({"name": node.name, "path": path, "layers": [
            {"kind": w.kind, "args": w.args} for w in written],
            "inputs": [self._ref(tensors[0])], "like": None, "module": False, "shape": shape})

    def _own_module(self, param: str, path: str) -> bool:
        """Whether the module at ``path`` holds the parameter and nothing else runs in it (no
        children): the L2 norm is that module, named by its path alone."""
        owner = param.rpartition(".")[0]
        return bool(path) and owner == path and not any(
            True for _ in self.gm.get_submodule(path).children())

    def _layer_scale(self, node: fx.Node, tensors: list[fx.Node],
                     shape: tuple[int, ...]) -> bool:
        """``gamma * x`` with a parameter gamma of C x 1 x 1 and x of C x H x W: ConvNeXt's
        layer scale (torchvision's CNBlock), the one direct use of a parameter a spec has."""
        params = [n for n in tensors if n.op == "get_attr"]
        others = [n for n in tensors if n.op != "get_attr"]
        if _merge_of(node) != "mul" or len(params) != 1 or len(others) != 1 \
                or not _is_parameter(self.gm, str(params[0].target)):
            return False
        gamma = tuple(self.gm.get_parameter(str(params[0].target)).shape)
        if len(shape) != 3 or gamma != (shape[0], 1, 1) or _shape(others[0]) != shape:
            return False
        self.nodes.append({"name": node.name, "path": _path(node), "layers": [
            {"kind": "layer_scale", "args": {}}], "inputs": [self._ref(others[0])],
            "like": None, "module": False, "shape": shape})
        return True

    def _write(self, node: fx.Node, tensors: list[fx.Node]) -> Alias | list[Written]:
        in_shape = _shape(tensors[0]) if tensors else None
        out_shape = _shape(node)
        if node.op == "call_module":
            module = self.gm.get_submodule(str(node.target))
            writer = import_map.module_writer(module)
            if writer is None:
                raise Unsupported("no spec kind for this module type")
            return writer(module, in_shape, out_shape)
        if node.op == "call_method":
            fn = import_map.METHODS.get(str(node.target))
        else:
            fn = import_map.FUNCTIONS.get(node.target) if callable(node.target) else None
        if fn is None:
            raise Unsupported("no spec kind for this operation")
        args = [_plain(a) for a in node.args[1:]] if tensors and node.args and \
            node.args[0] is tensors[0] else [_plain(a) for a in node.args]
        return import_map.as_functional(fn(import_map.Call(
            args, {k: _plain(v) for k, v in node.kwargs.items()}, in_shape, out_shape)))

    def _problem(self, node: fx.Node, why: str) -> None:
        self.problems[(_op_label(node, self.gm), _path(node), why)] += 1

    def ref_name(self, name: str) -> str:
        while name in self.alias:
            name = self.alias[name]
        return name

    def unused(self, model: nn.Module, also: set[int] | None = None) -> None:
        """Parameters of modules forward() calls neither in eval mode nor in a training-only
        side head (``also``): a spec counts what runs, so they would be missing from its
        total."""
        called: set[int] = set(also or ())
        for node in self.gm.graph.nodes:
            if node.op == "call_module":
                called |= {id(p) for p in self.gm.get_submodule(str(node.target)).parameters()}
            elif node.op == "get_attr":  # used directly: reported where it is used
                if _is_parameter(model, str(node.target)):
                    called.add(id(model.get_parameter(str(node.target))))
        idle: Counter[str] = Counter()
        for name, p in model.named_parameters():
            if id(p) not in called:
                idle[name.split(".")[0]] += p.numel()
        for path, count in idle.items():
            self.problems[("parameters never used", path,
                           f"{count:,} parameters of modules forward() calls neither in eval "
                           "nor in training mode (a spec counts what runs)")] += 1

    def _shared_weights(self) -> None:
        for path, count in self.calls.items():
            if count > 1 and numel(self.gm.get_submodule(path).parameters()):
                t = type(self.gm.get_submodule(path))
                self.problems[(f"{t.__module__}.{t.__qualname__}", path,
                               "a module with parameters called more than once (shared "
                               "weights): a spec layer holds its own")] += count


def _attr(model: nn.Module, target: str) -> torch.Tensor:
    """The parameter or buffer at ``target``."""
    owner, _, name = target.rpartition(".")
    value = getattr(model.get_submodule(owner), name)
    assert isinstance(value, torch.Tensor)  # a get_attr node's target holds a tensor
    return value


def _is_parameter(model: nn.Module, target: str) -> bool:
    try:
        model.get_parameter(target)
    except AttributeError:
        return False
    return True


def _merge_of(node: fx.Node) -> str | None:
    if node.op == "call_function":
        return _MERGES.get(node.target) if callable(node.target) else None
    if node.op == "call_method":
        return _METHOD_MERGES.get(str(node.target))
    return None


def _part_of(node: fx.Node) -> tuple[fx.Node, int, int] | None:
    """``x.chunk(n, 1)[i]`` (or ``torch.chunk``): (x, i, n) when the channels split evenly."""
    if node.op != "call_function" or node.target is not operator.getitem:
        return None
    chunk, index = node.args[0], node.args[1]
    if not isinstance(chunk, fx.Node) or not isinstance(index, int) or not (
            (chunk.op == "call_method" and chunk.target == "chunk")
            or (chunk.op == "call_function" and chunk.target is torch.chunk)):
        return None
    source = chunk.args[0]
    parts = chunk.kwargs.get("chunks", chunk.args[1] if len(chunk.args) > 1 else None)
    dim = chunk.kwargs.get("dim", chunk.args[2] if len(chunk.args) > 2 else 0)
    shape = _shape(source) if isinstance(source, fx.Node) else None
    if not isinstance(source, fx.Node) or not isinstance(parts, int) or dim not in (1, -3) \
            or shape is None or shape[0] % parts:
        return None
    return source, index % parts, parts


def _cat_dim(node: fx.Node) -> object:
    return node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0)


def _tensors(value: Any) -> list[fx.Node]:
    """The nodes in ``value`` (nested tuples, lists and dicts), in order."""
    out: list[fx.Node] = []
    fx.node.map_arg(value, lambda n: out.append(n) or n)  # type: ignore[func-returns-value]
    return out


def _plain(value: Any) -> Any:
    """An argument with nodes replaced by their concrete value where known (sizes), else None."""
    if isinstance(value, fx.Node):
        return None
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _called(gm: fx.GraphModule, model: nn.Module) -> set[int]:
    """The ids of ``model``'s parameters that its trace ``gm`` uses: those of the modules it
    calls (shared with ``model``) and those it reads directly (looked up in ``model``: a
    GraphModule holds copies of the modules above a parameter it reads)."""
    called: set[int] = set()
    for node in gm.graph.nodes:
        if node.op == "call_module":
            called |= {id(p) for p in gm.get_submodule(str(node.target)).parameters()}
        elif node.op == "get_attr" and _is_parameter(model, str(node.target)):
            called.add(id(model.get_parameter(str(node.target))))
    return called


def _idle(model: nn.Module, gm: fx.GraphModule) -> bool:
    """Whether some parameter of ``model`` is never used by the eval trace ``gm``."""
    called = _called(gm, model)
    return any(id(p) not in called for p in model.parameters())


class _Sides:
    """The training-only side heads: ``heads`` (``fork``: the eval trace's tensor they read,
    ``path``, ``nodes``), ``called`` (their parameters' ids), ``eval_name`` (a training trace
    node's name -> the eval trace's), ``problems``."""

    def __init__(self) -> None:
        self.heads: list[dict[str, Any]] = []
        self.called: set[int] = set()
        self.eval_name: dict[str, str] = {}
        self.problems: list[dict[str, Any]] = []


def _signatures(gm: fx.GraphModule) -> dict[tuple[str, str, str, int], str]:
    """Each call node by (op, label, module path, how many alike came before it): the same
    call in two traces of one module (eval and training) has the same signature."""
    seen: Counter[tuple[str, str, str]] = Counter()
    out: dict[tuple[str, str, str, int], str] = {}
    for node in gm.graph.nodes:
        if node.op == "output":
            continue
        key = (node.op, str(node.target) if node.op in ("placeholder", "get_attr")
               else _op_label(node, gm), _path(node))
        out[(*key, seen[key])] = node.name
        seen[key] += 1
    return out


def _training_sides(model: nn.Module, gm: fx.GraphModule, inputs: tuple[tuple[int, ...], ...],
                    classes: dict[str, str]) -> _Sides:
    """A second trace in training mode (GoogLeNet's ``if self.training and self.aux_logits``):
    the calls only in it, grouped by the tensors they share, are the side heads; each reads
    one tensor of the eval trace (its fork).  Shapes at batch 2: a training batch norm refuses
    one value per channel (a 1 x 1 map at batch 1)."""
    sides = _Sides()
    model.train()
    try:
        graph = _Tracer(autowrap_functions=import_map.AUTOWRAP).trace(model)
    except fx.proxy.TraceError:
        model.eval()
        return sides  # the eval trace's unused parameters are reported as such
    train = fx.GraphModule(model, graph).to("meta")  # the eval trace moved only its own calls
    MetaRun(train).run(*[torch.zeros(2, *s, device="meta") for s in inputs])
    model.eval()
    evals = _signatures(gm)
    only: set[str] = set()
    trunk: set[str] = set()
    packing = {n.name for n in train.graph.nodes if _shape(n) is None and n.users
               and all(u.op == "output" for u in n.users)}  # GoogLeNetOutputs(x, aux2, aux1)
    for sig, name in _signatures(train).items():
        if sig in evals:
            sides.eval_name[name] = evals[sig]
        elif sig[0] not in ("placeholder", "get_attr") and name not in packing:
            only.add(name)
    for node in reversed(train.graph.nodes):  # what the trunk reads: how it runs in training
        if node.name in only and any(u.name not in only | packing and u.op != "output" or
                                     u.name in trunk for u in node.users):
            trunk.add(node.name)  # (stochastic depth's x * (rand >= p)), not a head
    only -= trunk
    group: dict[str, str] = {n: n for n in only}  # union-find over shared tensors

    def root(n: str) -> str:
        while group[n] != n:
            n = group[n]
        return n

    forks: dict[str, set[str]] = {}
    order = [n for n in train.graph.nodes if n.name in only]
    for node in order:
        for t in _tensors((node.args, node.kwargs)):
            if t.name in only:
                group[root(node.name)] = root(t.name)
    for node in order:
        for t in _tensors((node.args, node.kwargs)):
            if t.name not in only and t.op != "get_attr":
                forks.setdefault(root(node.name), set()).add(t.name)
    for head in dict.fromkeys(root(n.name) for n in order):
        members = {n.name for n in order if root(n.name) == head}
        path = common_path([_path(n) for n in order if n.name in members])
        reads = forks.get(head, set())
        if len(reads) != 1 or next(iter(reads)) not in sides.eval_name:
            why = f"reads {len(reads)} tensors of the network (a side head reads one)" \
                if len(reads) != 1 else "reads a tensor the trunk computes only in training"
            sides.problems.append({"op": "training-only calls", "path": path, "count": 1,
                                   "why": f"a head that runs only in training and {why}"})
            continue
        described = _Describer(train, inputs).run(0, classes, only=members)
        if "rejected" in described:
            sides.problems += described["rejected"]
            continue
        fork = next(iter(reads))
        names = {**{m: f"train.{m}" for m in members}, fork: sides.eval_name[fork]}
        sides.heads.append({"fork": sides.eval_name[fork], "path": path, "nodes": [
            {**n, "name": names[n["name"]], "inputs": [names.get(t, t) for t in n["inputs"]],
             **({"like": names.get(n["like"], n["like"])} if n.get("like") else {})}
            for n in described["network"]["nodes"]]})
    sides.called = _called(train, model)
    return sides


def _resolved(head: dict[str, Any], describer: _Describer) -> dict[str, Any]:
    """A side head whose fork is named as the eval trace's nodes reference it (aliases
    followed: ``x.contiguous()`` is ``x``)."""
    fork, ref = head["fork"], describer.ref_name(head["fork"])
    return {**head, "fork": ref, "nodes": [
        {**n, "inputs": [ref if t == fork else t for t in n["inputs"]],
         **({"like": ref} if n.get("like") == fork else {})} for n in head["nodes"]]}
