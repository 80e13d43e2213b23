"""From a SPEC argument to an analysed report: load (spec/), analyse (core/), then apply the
spec's own ``accept:`` policy to the warnings.  The one place the three steps are joined; the
commands, the checks, the torch backend and the public API all go through it."""

from cnnstat.analysis.pipeline import (
                                       Analysed,
                                       analyze,
                                       analyze_loaded,
                                       builtin_names,
                                       load,
                                       run,
)

__all__ = ["Analysed", "analyze", "analyze_loaded", "builtin_names", "load", "run"]
