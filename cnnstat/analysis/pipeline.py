"""load -> analyse -> accept, for every caller (commands, checks, torch backend, public API).

The spec layer (YAML, pydantic) and the engine are imported only when a spec is really loaded
or analysed: a built-in spec found in the cache (:mod:`cnnstat.analysis.cache`) needs neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Union

from cnnstat.analysis import cache
from cnnstat.errors import SpecError, spec_error

if TYPE_CHECKING:
    from cnnstat.core.analyze import Memo
    from cnnstat.core.receptive import FieldReport, FieldSize
    from cnnstat.core.report import Brief, Report
    from cnnstat.spec.loader import Loaded
    from cnnstat.spec.positions import SourceMap

SpecArg = Union[str, Path, "Loaded"]


class Analysed:
    """A spec's report, its brief (identity, totals, diagnostics) and the source map that
    locates the diagnostics in the file.  From the cache, the full report and the source map
    are decoded on first use (``list`` needs neither) and the loaded spec itself (parameters,
    published figures) is loaded on first use.  ``key``: the cache key of a built-in spec (None
    otherwise), under which derived results (the receptive-field sizes) are kept too."""

    def __init__(self, brief: Brief, source: SourceMap | None, *,
                 report: Report | None = None, blob: bytes | None = None,
                 source_blob: bytes | None = None, loaded: Loaded | None = None,
                 spec: SpecArg = "", input: tuple[int, ...] | None = None,
                 set: Mapping[str, object] | None = None, key: str | None = None,
                 batch: int = 1) -> None:
        self.brief, self._source, self._source_blob = brief, source, source_blob
        self._report, self._blob, self._loaded = report, blob, loaded
        self._spec, self._input, self._set, self._batch = spec, input, set, batch
        self.key = key

    @property
    def source(self) -> SourceMap:
        if self._source is None:
            from cnnstat.analysis.cache_codec import decode
            from cnnstat.spec.positions import SourceMap as SourceMapType

            try:
                source = decode(self._source_blob or b"")
            except ValueError:
                source = None
            # a map that does not decode is the loaded spec's own (no entry is trusted blindly)
            self._source = source if isinstance(source, SourceMapType) else self.loaded.source
        return self._source

    @cached_property
    def report(self) -> Report:
        if self._report is not None:
            return self._report
        from cnnstat.analysis.cache_codec import decode
        from cnnstat.core.report import Report as ReportType

        try:
            report = decode(self._blob or b"")
        except ValueError:
            report = None
        if not isinstance(report, ReportType) or report.brief != self.brief:
            # an entry whose report does not decode, or is not the report of its own brief:
            # the spec is analysed afresh (what is shown never mixes the two)
            return self._fresh()
        return report

    def _fresh(self) -> Report:
        loaded = self.loaded
        report = analyze_loaded(loaded, self._batch)
        self.brief, self._source = report.brief, loaded.source
        return report

    @cached_property
    def fields(self) -> FieldReport | None:
        """Every row's receptive field (``core.receptive.receptive_fields``), walked once for
        all the views of this result; None where ``supported`` is false (a flat input, or maps
        too large for exact per-unit fields)."""
        from cnnstat.core.receptive import receptive_fields, supported

        return receptive_fields(self.report) if supported(self.report) else None

    @cached_property
    def field_sizes(self) -> tuple[FieldSize | None, ...]:
        """Each row's receptive-field size (``core.receptive.field_sizes``), kept in the cache
        beside a built-in spec's entry: the fields of a deep network cost more than decoding
        its report.  Read from :attr:`fields` when a view has walked them already, else from
        the walk without per-unit boxes (the same sizes, ``tests/test_receptive_sizes.py``)."""
        from cnnstat.core.receptive import FieldReport, FieldSize, field_sizes

        rows = len(self.report.rows)
        if self.key is not None:
            hit = cache.get_part(self.key, "rf")
            if (isinstance(hit, tuple) and len(hit) == rows
                    and all(f is None or isinstance(f, FieldSize) for f in hit)):
                return hit
        walked = self.__dict__.get("fields")  # set by the cached property once computed
        sizes: tuple[FieldSize | None, ...] = (
            tuple(fr.size for fr in walked.rows) if isinstance(walked, FieldReport)
            else field_sizes(self.report))
        if self.key is not None:
            cache.put_part(self.key, "rf", sizes)
        return sizes

    @cached_property
    def top1(self) -> tuple[float, str] | None:
        """The published top-1 accuracy in percent and its source (``reference: {top1: ...}``),
        or None; kept in the cache beside a built-in spec's entry, since reading it means
        loading the spec (``plot complexity`` wants it of 53 networks and nothing else)."""
        if self.key is not None:
            hit = cache.get_part(self.key, "top1")
            if hit == ():
                return None
            if (isinstance(hit, tuple) and len(hit) == 2 and isinstance(hit[1], str)
                    and isinstance(hit[0], (int, float)) and not isinstance(hit[0], bool)):
                return float(hit[0]), hit[1]
        fig = self.loaded.top1
        found = None if fig is None else (float(fig.value), fig.source)
        if self.key is not None:
            cache.put_part(self.key, "top1", found or ())
        return found

    @cached_property
    def loaded(self) -> Loaded:
        if self._loaded is not None:
            return self._loaded
        return load(self._spec, input=self._input, set=self._set)


def load(spec: SpecArg, *, input: tuple[int, ...] | None = None,
         set: Mapping[str, object] | None = None) -> Loaded:
    """The validated, expanded spec: ``spec`` is a built-in name, a path, or ``-`` (stdin).
    ``input`` overrides the input shape (C, H, W), or its trailing sizes; ``set`` overrides
    spec parameters.  Raises SpecError (rejected, located) or UsageError (could not run)."""
    from cnnstat.spec import loader

    if isinstance(spec, loader.Loaded):
        return spec
    return loader.load(str(spec), dict(set) if set else None, input)


def analyze_loaded(loaded: Loaded, batch: int = 1, memo: Memo | None = None) -> Report:
    """Run the analytic engine over a loaded spec and apply its ``accept:`` entries; ``memo``
    reuses the walks of unchanged subtrees across configurations (a sweep)."""
    from cnnstat.analysis.acceptance import accept_warnings
    from cnnstat.core.analyze import analyze as analyze_graph

    try:
        report = analyze_graph(loaded.graph, loaded.input_shape, name=loaded.name,
                               title=loaded.title, source=loaded.model.source, batch=batch,
                               inputs=loaded.inputs, outputs=loaded.outputs, memo=memo)
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
    """Load and analyse ``spec``, keeping both (see :class:`Analysed`); a built-in spec is
    served from the cache when an entry for exactly these arguments exists."""
    key = cache.key_for(spec, input, batch, set) \
        if isinstance(spec, str) and cache.enabled() else None
    hit = cache.get(key) if key is not None else None
    if hit is not None:
        return Analysed(hit.brief, None, blob=hit.report, source_blob=hit.source, spec=spec,
                        input=input, set=set, key=key, batch=batch)
    loaded = load(spec, input=input, set=set)
    report = analyze_loaded(loaded, batch)
    if key is not None:
        _store(key, report, loaded.source)
    return Analysed(report.brief, loaded.source, report=report, loaded=loaded, key=key)


def _store(key: str, report: Report, source: SourceMap) -> None:
    from cnnstat.analysis.cache_codec import encode

    try:
        blobs = encode(source), encode(report)
    except (TypeError, ValueError, RecursionError):
        return  # a report the format cannot hold is not cached
    cache.put(cache.Entry(key, report.brief, *blobs))


def analyze(spec: SpecArg, *, input: tuple[int, ...] | None = None, batch: int = 1,
            set: Mapping[str, object] | None = None) -> Report:
    """The report of ``spec``: ``report.totals.params``, ``.macs``, ``.flops``,
    ``report.rows`` (one per layer).  Pure Python: never imports torch."""
    return run(spec, input=input, batch=batch, set=set).report


def builtin_names() -> list[str]:
    """Every built-in spec name (defaults and variants), in name order."""
    return sorted(cache.zoo_index())
