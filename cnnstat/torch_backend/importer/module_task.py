"""``cnnstat import``'s task in the child process (:mod:`cnnstat.torch_backend.isolation.child`):
build the user's module (on the meta device where it can be) and trace it as plain data
(:func:`~cnnstat.torch_backend.importer.tracing.describe`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cnnstat.errors import UsageError
from cnnstat.torch_backend.importer import tracing
from cnnstat.torch_backend.isolation.child import Run, first_line
from cnnstat.torch_backend.isolation.loading import as_module


def warm_up() -> None:
    """Its warm-up counts FLOPs too, without torch._dynamo."""
    tracing.warm_up()


def outcome(run: Run, factory: Callable[..., Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    model, note = run.step("factory", lambda: _on_meta(run, factory, kwargs))
    described = run.step("trace", lambda: tracing.describe(model, run.request.inputs))
    return {**described, "note": note} if note else described


def _on_meta(run: Run, factory: Callable[..., Any], kwargs: dict[str, Any]) -> tuple[Any, str]:
    """The module built on the meta device, for the import (which needs its shapes, not
    its weights: initialising ResNet-152's 60 M weights is most of its build); a factory
    that cannot build there (it reads a tensor's value: ``.item()``, an ``if`` on a
    tensor) is built again on the CPU, with a note saying so."""
    import torch

    target = run.request.target
    try:
        with torch.device("meta"):
            return as_module(factory(**kwargs), run.attr, target), ""
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure on meta: build as the user does
        note = (f"{run.attr}() cannot be built on the meta device ({first_line(exc)}); "
                "built on the CPU")
    return as_module(factory(**kwargs), run.attr, target), note
