"""Published figures against computed ones.

A figure agrees when |computed - published| <= max(abs_tol, rel_tol * published).  A figure that
disagrees and carries a ``known_difference`` is a known, documented disagreement (reported with
its note, not a failure; the note says what is explained and what is not); one that agrees
although it claims a known difference is a stale note.

The comparison is exact (fractions, never floats): a figure of 10**400 is far off, not an
overflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from cnnstat.core.report import Report
from cnnstat.spec.models import Figure

Status = Literal["agrees", "known", "disagrees", "stale-note"]


@dataclass(frozen=True)
class FigureCheck:
    metric: str
    computed: int
    figure: Figure

    @property
    def tolerance(self) -> Fraction:
        """max(abs_tol, rel_tol * |published|), exactly."""
        fig = self.figure
        return max(Fraction(fig.abs_tol), Fraction(fig.rel_tol) * abs(Fraction(fig.value)))

    @property
    def tolerance_value(self) -> int | float:
        """The tolerance as a JSON number: a float, as always, or an int (rounded down) when
        too large for one (a figure of 10**400)."""
        t = self.tolerance
        return float(t) if abs(t) < 10**300 else int(t)

    @property
    def difference(self) -> Fraction:
        """computed - published, exactly."""
        return self.computed - Fraction(self.figure.value)

    @property
    def within(self) -> bool:
        return abs(self.difference) <= self.tolerance

    @property
    def status(self) -> Status:
        known = self.figure.known_difference is not None
        if self.within:
            return "stale-note" if known else "agrees"
        return "known" if known else "disagrees"


def metric_value(report: Report, metric: str) -> int:
    """The computed value of a metric at batch 1 (figures are published per image)."""
    t = report.totals
    per_image = {"params": t.params, "macs": t.macs // report.batch,
                 "flops": t.flops // report.batch,
                 "activations": t.activations // report.batch}
    return per_image[metric]


def check_figures(report: Report, figures: list[tuple[str, Figure]]) -> list[FigureCheck]:
    return [FigureCheck(metric, metric_value(report, metric), fig) for metric, fig in figures]
