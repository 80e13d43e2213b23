"""The four renderings of a ``check`` run: text (the compiler-style lines), JSON, GitHub workflow
annotations and JUnit XML.  Every location comes from :func:`render.diagnostics.locate`, every
text from :func:`render.diagnostics.format_diagnostic`; control characters from a spec are
escapes in every rendering (JSON escapes them itself)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from typing import Any

from cnnstat.check.files import FileResult, Finding, Summary, Target
from cnnstat.errors import Diagnostic, Severity
from cnnstat.render.diagnostics import format_diagnostic, locate
from cnnstat.render.escape import escape_controls
from cnnstat.render.jsonfmt import header

CHECK_SCHEMA_VERSION = 1


def labelled(result: FileResult, finding: Finding) -> Diagnostic:
    """The diagnostic, its message prefixed by the spec names when not every target has it."""
    names = [t.name for t in result.targets]
    diag = finding.diagnostic
    if len(names) > 1 and finding.targets and set(finding.targets) != set(names):
        return replace(diag, message=f"{', '.join(finding.targets)}: {diag.message}")
    return diag


def could_not_run(result: FileResult) -> str:
    return f"cnnstat: error: {escape_controls(result.error or '')}"


def text(results: list[FileResult], notes: bool = True) -> list[str]:
    """One block per finding (location, message, source line, caret, hint), file by file;
    without ``notes``, errors and warnings only (the notes are counted in the summary line)."""
    out: list[str] = []
    for result in results:
        if result.error is not None:
            out.append(could_not_run(result))
        out.extend(format_diagnostic(labelled(result, f), result.source)
                   for f in result.findings()
                   if notes or f.diagnostic.severity is not Severity.NOTE)
    return out


# -- JSON -------------------------------------------------------------------------------------

def to_json(results: list[FileResult], summary: Summary, strict: bool,
            extra: dict[str, Any] | None = None) -> str:
    doc = {**header("check"), "check_schema_version": CHECK_SCHEMA_VERSION, "strict": strict,
           "files": [_file_json(r, strict) for r in results], **(extra or {}),
           "summary": {"files": summary.files, "specs": summary.targets,
                       "failed": summary.failed, "could_not_run": summary.could_not_run,
                       "errors": summary.errors, "warnings": summary.warnings,
                       "notes": summary.notes}}
    return json.dumps(doc, indent=2) + "\n"


def status(result: FileResult, strict: bool) -> str:
    if result.error is not None:
        return "error"
    return "failed" if result.failed(strict) else "ok"


def _file_json(result: FileResult, strict: bool) -> dict[str, Any]:
    return {"path": result.path, "status": status(result, strict), "error": result.error,
            "diagnostics": [_diag_json(result, f) for f in result.findings()],
            "specs": [_target_json(result, t, strict) for t in result.targets]}


def _diag_json(result: FileResult, finding: Finding) -> dict[str, Any]:
    where = locate(finding.diagnostic, result.source)
    return {**finding.diagnostic.to_json(), "line": where[1] if where else None,
            "column": where[2] if where else None, "specs": list(finding.targets)}


def _target_json(result: FileResult, target: Target, strict: bool) -> dict[str, Any]:
    report = target.report
    totals = None
    if report is not None:
        t = report.totals
        totals = {"params": t.params, "macs": t.macs, "flops": t.flops,
                  "activations": t.activations}
    figures = []
    for check, path in target.figures:
        fig = check.figure
        where = result.source.locate(path) if result.source else None
        figures.append({"metric": check.metric, "computed": check.computed,
                        "published": fig.value, "source": fig.source, "abs_tol": fig.abs_tol,
                        "rel_tol": fig.rel_tol, "status": check.status,
                        "known_difference": fig.known_difference,
                        "line": where.line if where else None, "path": list(path)})
    return {"name": target.name, "variant": target.variant,
            "status": "failed" if target.failed(strict) else "ok", "totals": totals,
            "figures": figures}


# -- GitHub workflow annotations ----------------------------------------------------------------

_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def _escape_data(s: str) -> str:
    """A workflow command's data: control characters made visible, then the runner's own
    escapes (``%``, CR, LF; only the structural newline before a hint survives as %0A)."""
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def github(results: list[FileResult]) -> str:
    """``::error file=F,line=L,col=C,title=CODE::message`` lines (hints on a second line)."""
    lines = []
    for result in results:
        if result.error is not None:
            lines.append(f"::error file={_escape_property(escape_controls(result.path))},"
                         f"title=cnnstat::{_escape_data(escape_controls(result.error))}")
        for finding in result.findings():
            diag = labelled(result, finding)
            where = locate(diag, result.source) or (result.path, 1, 1)
            props = (f"file={_escape_property(escape_controls(where[0]))},line={where[1]},"
                     f"col={where[2]},title={_escape_property(escape_controls(diag.code))}")
            message = escape_controls(diag.message) + \
                (f"\nhint: {escape_controls(diag.hint)}" if diag.hint else "")
            lines.append(f"::{_LEVELS[diag.severity]} {props}::{_escape_data(message)}")
    return "".join(line + "\n" for line in lines)


# -- JUnit XML ------------------------------------------------------------------------------

_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(s: str) -> str:
    """XML 1.0 cannot hold most control characters, which a broken spec may contain: they are
    written as escapes (newlines between diagnostics kept); anything else XML cannot hold
    (a lone surrogate) becomes U+FFFD."""
    return _NOT_XML.sub("\ufffd", escape_controls(s, keep="\n"))


def _attr(s: str) -> str:
    """An XML attribute: one line, every control character an escape."""
    return _xml(escape_controls(s))


def junit(results: list[FileResult], strict: bool) -> str:
    """One testsuite; one testcase per file and, for files with variants, per spec."""
    suite = ET.Element("testsuite", name="cnnstat check")
    counts = {"tests": 0, "failures": 0, "errors": 0}
    for result in results:
        for case_name, diags in _cases(result):
            counts["tests"] += 1
            case = ET.SubElement(suite, "testcase", classname=_attr(result.path),
                                 name=_attr(case_name), file=_attr(result.path))
            if result.error is not None:
                counts["errors"] += 1
                ET.SubElement(case, "error", type="could-not-run",
                              message=_attr(result.error)).text = _attr(result.error)
                continue
            failing = [d for d in diags if d.severity is Severity.ERROR or
                       (strict and d.severity is Severity.WARNING)]
            other = [d for d in diags if d not in failing]
            if failing:
                counts["failures"] += 1
                ET.SubElement(case, "failure", type=failing[0].code,
                              message=_attr(failing[0].message)).text = \
                    _xml("\n".join(format_diagnostic(d, result.source) for d in failing))
            if other:
                ET.SubElement(case, "system-out").text = \
                    _xml("\n".join(format_diagnostic(d, result.source) for d in other))
    for key, value in counts.items():
        suite.set(key, str(value))
    root = ET.Element("testsuites", {"name": "cnnstat", **{k: str(v) for k, v in counts.items()}})
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _cases(result: FileResult) -> list[tuple[str, list[Diagnostic]]]:
    """(testcase name, its diagnostics): file-level problems, then one case per spec."""
    if result.error is not None or not result.targets:
        return [(result.path, [labelled(result, f) for f in result.findings()])]
    cases = []
    file_level = [f.diagnostic for f in result.findings() if not f.targets]
    if file_level:
        cases.append((result.path, file_level))
    cases += [(t.name, t.diagnostics) for t in result.targets]
    return cases
