"""A spec's ``accept:`` entries: warnings that are true of the network as published."""

from __future__ import annotations

from dataclasses import replace

from cnnstat.errors import Diagnostic, Severity
from cnnstat.spec.models import Acceptance


def accept_warnings(diagnostics: tuple[Diagnostic, ...],
                    accepted: list[Acceptance]) -> tuple[Diagnostic, ...]:
    """Turn each warning the spec accepts into a note quoting the reason; an ``accept`` entry
    that matches no warning is itself a warning (W608), so stale entries do not linger."""
    used: set[int] = set()
    out: list[Diagnostic] = []
    for diag in diagnostics:
        match = next((i for i, a in enumerate(accepted) if diag.severity is Severity.WARNING
                      and a.code == diag.code and a.layer in (None, diag.layer)), None)
        if match is None:
            out.append(diag)
            continue
        used.add(match)
        out.append(replace(diag, severity=Severity.NOTE, hint=None,
                           message=f"{diag.message} (accepted: {accepted[match].reason})"))
    out += [Diagnostic("W608", Severity.WARNING, f"accept: no {a.code} warning"
                       + (f" for layer '{a.layer}'" if a.layer else "") + " to accept",
                       ("accept", i), hint="remove the stale entry")
            for i, a in enumerate(accepted) if i not in used]
    return tuple(out)
