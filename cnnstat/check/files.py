"""``cnnstat check``: every spec file, its defaults and every variant, against everything it claims.

A file is read and validated once; then its defaults and each of its variants are expanded and
analysed.  Each configuration (a *target*) is checked for geometry errors and warnings, its
published ``reference`` figures (E601 disagrees, N602 a known difference, W603 a stale note),
its ``expect`` pins (E604) and its ``budget`` (E605).  Problems that every target shares (a YAML
error, an unused block) are reported once per file.  Nothing here prints: renderers turn a
:class:`FileResult` into text, JSON, GitHub annotations or JUnit XML.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

from cnnstat import zoo
from cnnstat.analysis import analyze
from cnnstat.check.figures import FigureCheck, metric_value
from cnnstat.core.report import Report
from cnnstat.errors import Diagnostic, Severity, SpecError, SpecPath, UsageError
from cnnstat.spec import loader
from cnnstat.spec.budget import MAX_FILE_LAYERS, MAX_FILE_STEPS, Budget, FileBudgetSpent
from cnnstat.spec.positions import SourceMap
from cnnstat.spec.reading import read_file
from cnnstat.spec.source import MAX_BYTES
from cnnstat.spec.validate import suggest

SPEC_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Finding:
    """A diagnostic of one file, with the targets (spec names) it was found in."""

    diagnostic: Diagnostic
    targets: tuple[str, ...] = ()


@dataclass
class Target:
    """One configuration of a file: its defaults, or one variant."""

    name: str
    variant: str | None
    report: Report | None = None
    figures: list[tuple[FigureCheck, SpecPath]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def failed(self, strict: bool) -> bool:
        return any(_fails(d, strict) for d in self.diagnostics)


@dataclass
class FileResult:
    """Everything ``check`` found in one file; ``error`` is set when it could not be read."""

    path: str
    source: SourceMap | None = None
    targets: list[Target] = field(default_factory=list)
    file_diagnostics: list[Diagnostic] = field(default_factory=list)
    error: str | None = None
    selected_all: bool = True  # False when a built-in name picked one spec of the file

    def findings(self) -> list[Finding]:
        """File-level diagnostics, then each target's, each distinct problem once."""
        seen: dict[tuple[object, ...], list[str]] = {}
        order: list[Diagnostic] = []
        for diag, target in [*((d, None) for d in self.file_diagnostics),
                             *((d, t.name) for t in self.targets for d in t.diagnostics)]:
            key = (diag.code, diag.severity, diag.message, diag.path)
            if key not in seen:
                seen[key] = []
                order.append(diag)
            if target is not None:
                seen[key].append(target)
        return [Finding(d, tuple(seen[(d.code, d.severity, d.message, d.path)])) for d in order]

    def count(self, severity: Severity) -> int:
        return sum(f.diagnostic.severity is severity for f in self.findings())

    def failed(self, strict: bool) -> bool:
        return self.error is None and any(_fails(f.diagnostic, strict) for f in self.findings())


def _fails(diag: Diagnostic, strict: bool) -> bool:
    return diag.severity is Severity.ERROR or (strict and diag.severity is Severity.WARNING)


def spec_files(paths: Iterable[str]) -> list[tuple[str, str | None]]:
    """(path, only) for every file to check; ``only`` selects one target of a built-in name
    (its variant, normalised, or '' for the defaults).

    A directory is searched recursively for ``*.yaml`` / ``*.yml`` (a symbolic link to nothing
    is listed too, to be reported, not skipped in silence); a built-in name (``vgg16``,
    ``efficientnet-b3``) is its file, restricted to that spec.  A path that does not exist stays
    in the list, so that it is reported (as "could not run") with the others.
    """
    out: list[tuple[str, str | None]] = []
    for arg in paths:
        path = Path(arg)
        if arg == "-" or path.is_file():
            out.append((arg, None))
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in SPEC_SUFFIXES
                           and (p.is_file() or _dangling(p)))
            out.extend((_display(arg, p), None) for p in found)
        elif (entry := zoo.find(arg)) is not None and path.suffix not in SPEC_SUFFIXES:
            out.append((_display_builtin(entry.path), entry.variant or ""))
        else:
            out.append((arg, None))
    return out


def _dangling(p: Path) -> bool:
    return p.is_symlink() and not p.exists()


def _display(arg: str, found: Path) -> str:
    return os.path.join(arg, str(found.relative_to(arg)))


def check_builtin(entry: zoo.ZooEntry) -> FileResult:
    """A built-in spec's findings, its file named as the zoo names it (``resnet50.yaml``), never
    by where the package is installed (``.venv/lib/.../cnnstat/specs/resnet50.yaml``)."""
    return check_file(str(entry.path), entry.variant or "", shown=entry.path.name)


def _display_builtin(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)


def default_paths() -> list[str]:
    """The built-in specs directory, shown relative to the working directory when inside it."""
    base = zoo.specs_dir()
    rel = _display_builtin(base)
    return [rel if not rel.startswith("..") else str(base)]


def check_file(path: str, only: str | None = None, shown: str | None = None) -> FileResult:
    """Everything found in one file.  Nothing one file holds can end the run: a file that
    cannot be read, or whose checking fails in a way no diagnostic covers, is that file's
    error (exit 2), and every other file is still checked and reported.  ``shown`` names the
    file in the result and its diagnostics instead of ``path``."""
    try:
        name, raw, _ = loader.read_source(path) if path == "-" else (shown or path, _read(path),
                                                                      None)
        return check_bytes(raw, name, only)
    except UsageError as exc:
        return FileResult(shown or path, error=str(exc) + (f" ({exc.hint})" if exc.hint else ""))
    except MemoryError:
        return FileResult(path, error=f"{path}: out of memory while checking this file")
    except RecursionError:
        return FileResult(path, error=f"{path}: nested too deeply to check")
    except Exception as exc:  # noqa: BLE001 - one file's bug must not lose the others' report
        return FileResult(path, error=f"{path}: internal error while checking this file: "
                          f"{type(exc).__name__}: {exc} (run 'cnnstat --traceback check "
                          f"{path}' and report it)")


def _read(path: str) -> bytes:
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{path}: is a directory, not a spec file")
    if _dangling(p):
        raise UsageError(f"{path}: a symbolic link to {os.readlink(p)!r}, which leads to no "
                         "file", "fix or remove the link")
    if not p.exists():
        builtin = p.suffix not in SPEC_SUFFIXES and "/" not in path and os.sep not in path
        raise UsageError(f"{path}: no such file or directory" +
                         (" and no built-in spec of that name" if builtin else ""),
                         suggest(zoo.normalise(path), zoo.names(), n=3) if builtin else None)
    return read_file(path, MAX_BYTES)


def check_bytes(raw: bytes, name: str, only: str | None = None) -> FileResult:
    """Check one spec file's contents; never raises SpecError (it becomes a finding)."""
    result = FileResult(name, selected_all=only is None)
    try:
        parsed = loader.parse(raw, name)
    except SpecError as exc:
        result.source = exc.source if isinstance(exc.source, SourceMap) else None
        result.file_diagnostics.extend(exc.diagnostics)
        return result
    result.source = parsed.source
    keys: list[str | None] = [None, *parsed.model.variants]
    budget = Budget()  # the file's configurations share one bound on expansion work
    for key in keys:
        if only is None or (zoo.normalise(key) if key is not None else "") == only:
            result.targets.append(check_target(parsed, key, budget))
    return result


def target_name(parsed: loader.Parsed, variant: str | None) -> str:
    """The spec name of a configuration, as the zoo names it (``efficientnet-b3``)."""
    name = parsed.model.name
    return name if variant is None else f"{name}-{zoo.normalise(variant)}"


def check_target(parsed: loader.Parsed, variant: str | None,
                 work: Budget | None = None) -> Target:
    """Expand and analyse one configuration; check its figures, pins and budget.  ``work`` is
    the expansion budget shared by the file's configurations: once it is spent, the remaining
    variants are not expanded, each with an E207 at its key."""
    target = Target(target_name(parsed, variant), variant)
    where: SpecPath = ("variants", variant) if variant is not None else ("layers",)
    try:
        if work is not None and work.spent:
            raise FileBudgetSpent(Diagnostic(
                "E207", Severity.ERROR, f"not checked: the file's defaults and earlier variants "
                f"already expand to more than {MAX_FILE_LAYERS:,} layers (or "
                f"{MAX_FILE_STEPS:,} items) in all", where,
                "check fewer or smaller variants per file"))
        loaded = loader.build(parsed, variant, budget=work)
        report = analyze(loaded)
    except FileBudgetSpent as exc:  # a file's limit: located at the variant, not a layer
        target.diagnostics.extend(replace(d, path=where) for d in exc.diagnostics)
        return target
    except SpecError as exc:
        target.diagnostics.extend(exc.diagnostics)
        return target
    target.report = report
    target.diagnostics.extend(report.diagnostics)
    for metric, fig, path in loaded.figures():
        check = FigureCheck(metric, metric_value(report, metric), fig)
        target.figures.append((check, path))
        diag = figure_diagnostic(check, path)
        if diag is not None:
            target.diagnostics.append(diag)
    for metric, pin, path in loaded.expect_paths():
        computed = metric_value(report, metric)
        if computed != pin:
            target.diagnostics.append(Diagnostic(
                "E604", Severity.ERROR, f"expect {metric}: computed {computed:,}, pinned "
                f"{pin:,} ({computed - pin:+,})", path,
                hint="the architecture's figures changed; update the pin if that was intended"))
    for metric, limit, path in loaded.budget():
        computed = metric_value(report, metric)
        if computed > limit:
            target.diagnostics.append(Diagnostic(
                "E605", Severity.ERROR, f"budget {metric}: {computed:,} exceeds the limit "
                f"{limit:,} by {computed - limit:,} ({(computed - limit) / limit:.1%})"
                if limit else f"budget {metric}: {computed:,} exceeds the limit 0", path))
    return target


def published(value: int | float | Fraction) -> str:
    """A published figure (or a difference or tolerance) as written: 4.089e9 ->
    '4,089,000,000'; 0.5 stays 0.5; a figure too long to spell out is shown in E notation."""
    if isinstance(value, Fraction):
        value = value.numerator if value.denominator == 1 else float(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e18:
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) < 10**30 else f"{value:.6e}" if abs(value) < 10**300 \
            else f"about 10**{len(str(abs(value))) - 1}" if abs(value) < 10**4000 \
            else "an integer of over 4,000 digits"
    return repr(value)


def _relative(diff: Fraction, value: int | float) -> str:
    """', +3.96%': the difference relative to the published figure (none for 0)."""
    if not value:
        return ""
    ratio = diff / abs(Fraction(value))
    return f", {float(ratio):+.2%}" if abs(ratio) < 10**12 else ", far off"


def figure_diagnostic(check: FigureCheck, path: SpecPath) -> Diagnostic | None:
    """E601 (disagrees), N602 (known difference) or W603 (stale note); None when it agrees."""
    fig = check.figure
    diff = check.difference
    rel = _relative(diff, fig.value)
    versus = (f"{check.metric}: computed {check.computed:,}, published {published(fig.value)} "
              f"by {fig.source}")
    status = check.status
    if status == "disagrees":
        return Diagnostic("E601", Severity.ERROR, f"{versus} (off by {published(diff)}{rel}; "
                          f"tolerance {published(check.tolerance)})", path,
                          hint="fix the spec, or the figure; if the difference is understood, "
                          "explain it with known_difference")
    if status == "known":
        note = " ".join((fig.known_difference or "").split())
        return Diagnostic("N602", Severity.NOTE, f"{versus} (off by {published(diff)}{rel}): "
                          f"known difference: {note}", path)
    if status == "stale-note":
        return Diagnostic("W603", Severity.WARNING, f"{versus} agree within the tolerance, but the "
                          "figure still carries a known_difference note", path,
                          hint="remove the stale known_difference")
    return None


@dataclass
class Summary:
    files: int
    targets: int
    failed: int
    could_not_run: int
    errors: int
    warnings: int
    notes: int

    def line(self) -> str:
        parts = [f"{self.failed} failed"]
        if self.could_not_run:
            parts.append(f"{self.could_not_run} could not be read")
        parts += [_plural(self.errors, "error"), _plural(self.warnings, "warning"),
                  _plural(self.notes, "note")]
        return (f"checked {_plural(self.files, 'file')} ({_plural(self.targets, 'spec')}): "
                + ", ".join(parts))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summarise(results: list[FileResult], strict: bool) -> Summary:
    return Summary(
        files=len(results), targets=sum(len(r.targets) for r in results),
        failed=sum(r.failed(strict) for r in results),
        could_not_run=sum(r.error is not None for r in results),
        errors=sum(r.count(Severity.ERROR) for r in results),
        warnings=sum(r.count(Severity.WARNING) for r in results),
        notes=sum(r.count(Severity.NOTE) for r in results))
