"""Diagnostics, the errors that carry them, and the one table of exit codes.

Every problem cnnstat reports about a spec is a :class:`Diagnostic`: a stable code, a severity,
a message, an optional hint, and a *spec path* -- the chain of keys and indices that leads to the
offending value (``("layers", 3, "conv", "kernel")``).  The core never knows about files or line
numbers; the CLI maps spec paths to ``file:line:col`` through the source map the YAML loader keeps.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnnstat.spec.positions import SourceMap

SpecPath = tuple[str | int, ...]


class ExitStatus(enum.IntEnum):
    """The process exit codes, in one place (0 ok, 1 the answer is no, 2 could not run; the
    shell's conventions for an interrupt, 128 + SIGINT, and a closed pipe, 128 + SIGPIPE)."""

    OK = 0
    REJECTED = 1
    ERROR = 2
    INTERRUPTED = 130
    BROKEN_PIPE = 141


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


#: what the codes of warnings and notes mean, in a few words (where a count of them is shown
#: without the messages: ``cnnstat receptive-field`` over the zoo, ``cnnstat check``)
MEANINGS = {
    "W501": "a window's floor drops input rows or columns",
    "W502": "paths reach a merge with different receptive-field jumps or centres",
    "W503": "every unit already sees the whole input; the field grows only into padding",
    "W504": "an unused block, or uneven adaptive pooling windows",
    "N602": "a published figure differs for a documented reason",
    "W603": "a published figure agrees although a known difference is noted",
    "N607": "a spec is not in the baseline",
    "W608": "an accept entry matches no warning",
}


def meaning(code: str) -> str:
    """'W503 (every unit already sees the whole input; ...)', or the code alone."""
    return f"{code} ({MEANINGS[code]})" if code in MEANINGS else code


@dataclass(frozen=True)
class Diagnostic:
    """One located finding about a spec."""

    code: str
    severity: Severity
    message: str
    path: SpecPath = ()
    hint: str | None = None
    layer: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "hint": self.hint,
            "layer": self.layer,
            "path": list(self.path),
        }


class SpecError(Exception):
    """A spec was rejected: one or more error diagnostics (exit code 1)."""

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic) -> None:
        diags = diagnostics if isinstance(diagnostics, list) else [diagnostics]
        super().__init__("; ".join(d.message for d in diags))
        self.diagnostics = diags
        self.source: SourceMap | None = None  # the SourceMap of the file, once known


def spec_error(code: str, message: str, path: SpecPath = (), *, hint: str | None = None,
               layer: str | None = None) -> SpecError:
    """Build a one-diagnostic :class:`SpecError` (the common case)."""
    return SpecError(Diagnostic(code, Severity.ERROR, message, path, hint, layer))


class UsageError(Exception):
    """cnnstat could not run: unreadable file, unknown spec name, bad option (exit code 2)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass
class DiagnosticSink:
    """Collects warnings (and notes) while a spec is expanded and analysed."""

    items: list[Diagnostic] = field(default_factory=list)

    def warn(self, code: str, message: str, path: SpecPath = (), *, hint: str | None = None,
             layer: str | None = None) -> None:
        self.items.append(Diagnostic(code, Severity.WARNING, message, path, hint, layer))

    def note(self, code: str, message: str, path: SpecPath = (), *, hint: str | None = None,
             layer: str | None = None) -> None:
        self.items.append(Diagnostic(code, Severity.NOTE, message, path, hint, layer))
