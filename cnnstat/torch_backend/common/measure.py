"""Live measurements of a module, per named submodule: output shapes (forward hooks), parameter
and buffer counts (numel), and FLOPs as PyTorch's FlopCounterMode and fvcore count them.

Every measurement leaves the module as it found it: hooks are removed in ``finally`` blocks,
training flags are restored, nothing is registered on it.  Shapes and FlopCounterMode work on the
meta device (nothing is allocated); fvcore traces with real tensors, so a meta module is copied
to the CPU (uninitialised, then zeroed: only shapes matter to a counter).
"""

from __future__ import annotations

import copy
import itertools
import logging
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from cnnstat.core.report import Shape


def numel(tensors: Iterator[Tensor]) -> int:
    return sum(t.numel() for t in tensors)


@contextmanager
def eval_mode(model: nn.Module, training: Sequence[str] = ()) -> Iterator[None]:
    """Eval mode (BN uses running statistics, dropout is off), with every module's flag restored
    afterwards.  ``training`` names the submodules to run in training mode instead (the rows of
    training-only heads); the model itself is then flagged training too, so that the heads run,
    while the rest stays in eval mode: a trunk's batch norm over a 1x1 map (DeepLab's image
    pooling) cannot run in training mode at batch 1, and the trunk's rows are measured in eval."""
    flags = [(m, m.training) for m in model.modules()]
    model.train(False)
    model.training = bool(training)
    for name in training:
        model.get_submodule(name).train(True)
    try:
        yield
    finally:
        for m, was in flags:
            m.training = was


@contextmanager
def hooked(modules: Sequence[tuple[str, nn.Module]],
           record: Callable[[str, nn.Module, Any], None]) -> Iterator[None]:
    """Forward hooks calling ``record(name, module, output)``, removed on exit."""
    def hook(name: str) -> Callable[[nn.Module, Any, Any], None]:
        def fire(mod: nn.Module, args: Any, out: Any) -> None:
            record(name, mod, out)  # returns None: a hook's return value would replace ``out``

        return fire

    handles = []
    try:
        for name, mod in modules:
            handles.append(mod.register_forward_hook(hook(name)))
        yield
    finally:
        for h in handles:
            h.remove()


def out_shape(out: Any) -> Shape | None:
    """The per-image shape of a module's output (the batch dimension dropped)."""
    # int(): under fvcore's jit trace the sizes are traced 0-d tensors, not ints
    return tuple(int(d) for d in out.shape[1:]) if isinstance(out, Tensor) else None


def first_tensor(model: nn.Module) -> Tensor | None:
    """A parameter or buffer of ``model`` (where it lives), or None for a stateless module."""
    return next(itertools.chain(model.parameters(), model.buffers()), None)


def sample_input(model: nn.Module, shape: Shape, batch: int) -> Tensor:
    """Zeros of ``batch`` x ``shape`` on the device ``model`` lives on."""
    tensor = first_tensor(model)
    return torch.zeros(batch, *shape, device=tensor.device if tensor is not None else "cpu")


def sample_inputs(model: nn.Module, shapes: Sequence[Shape], batch: int) -> tuple[Tensor, ...]:
    """One zero tensor per input of the network (``batch`` x shape), where ``model`` lives."""
    return tuple(sample_input(model, shape, batch) for shape in shapes)


@dataclass(frozen=True)
class Pass:
    """What one forward pass showed: per named module its output shape (absent if it never ran)
    and FlopCounterMode FLOPs; the model's (trunk) output shape and FlopCounterMode's total."""

    shapes: dict[str, Shape | None]
    flops: dict[str, int]
    output: Shape | None
    total_flops: int


def shapes_and_torch_flops(model: nn.Module, names: Sequence[str],
                           xs: tuple[Tensor, ...], training: Sequence[str] = ()) -> Pass:
    """One forward pass with hooks on the named modules, inside FlopCounterMode (in eval mode,
    the submodules named in ``training`` in training mode: see :func:`eval_mode`)."""
    from torch.utils.flop_counter import FlopCounterMode

    shapes = _ShapeLog()
    counter = FlopCounterMode(display=False)
    with eval_mode(model, training), torch.no_grad(), shapes.hooks(model, names), counter:
        model(*xs)
    counts = counter.get_flop_counts()
    root = type(model).__name__
    flops = {n: int(sum(counts.get(f"{root}.{n}", {}).values())) for n in names}
    return Pass(shapes.shapes, flops, shapes.output, int(counter.get_total_flops()))


def fvcore_pass(model: nn.Module, names: Sequence[str], shapes: Sequence[Shape],
                batch: int, training: Sequence[str] = ()) -> Pass:
    """fvcore FlopCountAnalysis with its default handles, per named module and in total, on real
    tensors; the shapes come from hooks that fire while fvcore traces (one forward pass)."""
    with quiet():  # importing fvcore warns that torch.jit.script is deprecated
        from fvcore.nn import FlopCountAnalysis

    target = real_copy(model)
    xs = sample_inputs(target, shapes, batch)
    log = _ShapeLog()
    with eval_mode(target, training), quiet(), log.hooks(target, names):
        analysis = FlopCountAnalysis(target, xs)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        analysis.tracer_warnings("none")
        by_module = analysis.by_module()
        total = analysis.total()
    flops = {n: int(by_module.get(n, 0)) for n in names}
    return Pass(log.shapes, flops, log.output, int(total))


class _ShapeLog:
    """Output shapes of named submodules (the first call of each) and of the model itself."""

    def __init__(self) -> None:
        self.shapes: dict[str, Shape | None] = {}
        self.output: Shape | None = None

    def hooks(self, model: nn.Module, names: Sequence[str]) -> Any:
        mods = [("", model), *((n, model.get_submodule(n)) for n in names)]
        return hooked(mods, self.record)

    def record(self, name: str, mod: nn.Module, out: Any) -> None:
        if name == "":  # the model: a tensor, or (trunk, side outputs...)
            self.output = out_shape(out[0] if isinstance(out, (tuple, list)) else out)
        else:
            self.shapes.setdefault(name, out_shape(out))


def real_copy(model: nn.Module) -> nn.Module:
    """``model`` itself when its tensors are real; a zeroed CPU copy of a meta module."""
    tensor = first_tensor(model)
    if tensor is None or not tensor.is_meta:
        return model
    real = copy.deepcopy(model).to_empty(device="cpu")
    with torch.no_grad():
        for t in (*real.parameters(), *real.buffers()):
            t.zero_()
    return real


@contextmanager
def quiet() -> Iterator[None]:
    """fvcore warns through ``logging`` and ``warnings`` about ops it skips; its skipping is the
    convention the fvcore preset states, so the noise is silenced while it runs."""
    logger = logging.getLogger("fvcore")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
