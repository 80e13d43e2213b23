"""Bounded expansion: the limits of one expanded network and of all the configurations of one
file, and the budget that charges them, so that no spec -- a deep ``repeat``, blocks calling
blocks, many variants of a large net -- can make cnnstat run without end or exhaust memory.
Each limit is stated in docs/errors.md (a test checks it)."""

from __future__ import annotations

from dataclasses import dataclass

from cnnstat.errors import Diagnostic, Severity, SpecError, SpecPath, spec_error

MAX_LAYERS = 50_000
MAX_REPEAT = 10_000
MAX_BLOCK_DEPTH = 32
MAX_NESTING = 100
MAX_STEPS = 500_000
MAX_FILE_LAYERS = 100_000  # all configurations of one file together (Budget)
MAX_FILE_STEPS = 1_000_000
MAX_SIZE = 2**31 - 1


def check_size(n: int, path: SpecPath, what: str) -> int:
    """Refuse sizes no real network has, so every later product stays small and quick."""
    if n > MAX_SIZE:
        raise spec_error("E407", f"{what} {n:,} exceeds the largest size cnnstat accepts "
                         f"({MAX_SIZE:,} = 2**31 - 1)", path,
                         hint="sizes, channels and counts must fit a 32-bit signed integer")
    return n


class FileBudgetSpent(SpecError):
    """The layers (or expansion steps) shared by all configurations of one file are spent."""


@dataclass
class Budget:
    """Expansion work shared by the defaults and variants of one file (``check`` expands them
    all, so a short file of many variants of a large net would otherwise multiply the work)."""

    layers: int = MAX_FILE_LAYERS
    steps: int = MAX_FILE_STEPS

    @property
    def spent(self) -> bool:
        return self.layers < 0 or self.steps < 0

    def take(self, layers: int, steps: int, path: SpecPath) -> None:
        self.layers -= layers
        self.steps -= steps
        if self.spent:
            raise FileBudgetSpent(Diagnostic(
                "E207", Severity.ERROR, f"the file's defaults and variants expand to more than "
                f"{MAX_FILE_LAYERS:,} layers (or {MAX_FILE_STEPS:,} items) in all", path,
                "check fewer or smaller variants per file"))
