"""load -> analyse -> accept, for every caller (commands, checks, torch backend, public API)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from cnnstat.analysis.acceptance import accept_warnings
from cnnstat.core.analyze import analyze as analyze_graph
from cnnstat.core.report import Report
from cnnstat.errors import SpecError, spec_error
from cnnstat.spec import loader
from cnnstat.spec.loader import Loaded

SpecArg = str | Path | Loaded


@dataclass(frozen=True)
class Analysed:
    """A loaded spec and its report: what a command needs to print the report *and* locate its
    diagnostics in the file (``loaded.source``)."""

    loaded: Loaded
    report: Report


def load(spec: SpecArg, *, input: tuple[int, ...] | None = None,
         set: Mapping[str, object] | None = None) -> Loaded:
    """The validated, expanded spec: ``spec`` is a built-in name, a path, or ``-`` (stdin).
    ``input`` overrides the input shape (C, H, W), or its trailing sizes; ``set`` overrides
    spec parameters.  Raises SpecError (rejected, located) or UsageError (could not run)."""
    if isinstance(spec, Loaded):
        return spec
    return loader.load(str(spec), dict(set) if set else None, input)


def analyze_loaded(loaded: Loaded, batch: int = 1) -> Report:
    """Run the analytic engine over a loaded spec and apply its ``accept:`` entries."""
    try:
        report = analyze_graph(loaded.graph, loaded.input_shape, name=loaded.name,
                               title=loaded.title, source=loaded.model.source, batch=batch)
    except SpecError as exc:
        exc.source = loaded.source
        raise
    except RecursionError:
        err = spec_error("E207", "the network is nested too deeply to analyse")
        err.source = loaded.source
        raise err from None
    diagnostics = accept_warnings((*loaded.lint, *report.diagnostics), loaded.model.accept)
    return replace(report, diagnostics=diagnostics)


def run(spec: SpecArg, *, input: tuple[int, ...] | None = None, batch: int = 1,
        set: Mapping[str, object] | None = None) -> Analysed:
    """Load and analyse ``spec``, keeping both (see :class:`Analysed`)."""
    loaded = load(spec, input=input, set=set)
    return Analysed(loaded, analyze_loaded(loaded, batch))


def analyze(spec: SpecArg, *, input: tuple[int, ...] | None = None, batch: int = 1,
            set: Mapping[str, object] | None = None) -> Report:
    """The report of ``spec``: ``report.totals.params``, ``.macs``, ``.flops``,
    ``report.rows`` (one per layer).  Pure Python: never imports torch."""
    return run(spec, input=input, batch=batch, set=set).report
