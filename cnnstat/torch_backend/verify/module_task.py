"""``verify --module``'s task in the child process (:mod:`cnnstat.torch_backend.isolation.child`):
build the user's module with its factory and measure one forward pass at the report's input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cnnstat.torch_backend.isolation.child import Run
from cnnstat.torch_backend.isolation.loading import as_module
from cnnstat.torch_backend.verify import conformance


def warm_up() -> None:
    conformance.warm_up()


def outcome(run: Run, factory: Callable[..., Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    target = run.request.target
    model = run.step("factory", lambda: as_module(factory(**kwargs), run.attr, target))
    report = run.request.report
    assert report is not None  # a verify request carries its report
    measured = run.step("forward", lambda: conformance.measure(report, model))
    return {"measured": measured.to_json()}
