"""``peak_elements`` (the sweep's lean walk) gives what the full schedule gives, for every
built-in network: several inputs, named and side outputs, training-only parts, attention's
scratch."""

from __future__ import annotations

import pytest

from cnnstat.analysis.pipeline import analyze, builtin_names
from cnnstat.core.memory import peak_elements, schedule


@pytest.mark.parametrize("name", builtin_names())
def test_peak_elements_is_the_schedules_peak(name: str) -> None:
    report = analyze(name)
    steps = schedule(report).steps
    assert peak_elements(report) == max((s.alive for s in steps), default=0)
