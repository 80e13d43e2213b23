"""The receptive field, proven live: the support of one unit's input gradient in the built network.

For the last spatial layer of a spec, a few output units (the corners and the centre) are traced
back through :func:`~cnnstat.torch_backend.live.receptive.positive_surrogate` of the built network
(positive weights, identity activations, max pooling as average pooling, float64), so no
gradient cancels or vanishes: the input pixels with a non-zero gradient are exactly those the unit
depends on.  Their bounding rows and columns must equal the exact per-unit rows of
:mod:`cnnstat.core.receptive` and lie inside the unit's analytic (unclipped) field.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnstat.core.receptive import FieldRow, Span, receptive_fields, supported
from cnnstat.core.report import Report
from cnnstat.torch_backend.build.net import build
from cnnstat.torch_backend.common.oom import oom_is_usage_error
from cnnstat.torch_backend.live.receptive import (
    gradient_supports,
    positive_surrogate,
    support_box,
)

Box = tuple["Span | None", "Span | None"]


@dataclass(frozen=True)
class UnitCheck:
    unit: tuple[int, int]
    analytic: Box   # the rows and columns the analysis says the unit depends on
    field: tuple[Span, Span]  # its analytic field, unclipped
    live: Box       # the bounding rows and columns of the live gradient's support

    @property
    def ok(self) -> bool:
        inside = all(box is None or (f[0] <= box[0] and box[1] <= f[1])
                     for box, f in zip(self.live, self.field))
        return self.live == self.analytic and inside


@dataclass(frozen=True)
class FieldCheck:
    spec: str
    layer: str
    units: tuple[UnitCheck, ...]

    @property
    def ok(self) -> bool:
        return all(u.ok for u in self.units)


def probe_units(fr: FieldRow) -> list[tuple[int, int]]:
    """The corners and the centre of the layer's output (each once)."""
    h, w = fr.units
    picks = [(0, 0), (h - 1, w - 1), (0, w - 1), (h - 1, 0), (h // 2, w // 2)]
    return list(dict.fromkeys(picks))


def check_receptive_field(report: Report) -> FieldCheck | None:
    """Gradient support against the analytic rows at the last spatial layer; None when the
    spec has no spatial layer (or maps too large for exact per-unit fields), or several inputs
    (the live trace follows one input's gradient)."""
    if not supported(report) or len(report.inputs) > 1:
        return None
    fields = receptive_fields(report)
    fr = fields.last_spatial
    if fr is None:
        return None
    with oom_is_usage_error(f"verify --receptive-field {report.name}",
                            "the live receptive field runs real float64 tensors on the CPU: "
                            "use a smaller --input"):
        model = positive_surrogate(build(report, device="cpu"))
        units = probe_units(fr)
        masks = gradient_supports(model, report.input_shape, units, layer=fr.row.name)
    checks = [UnitCheck(unit, fr.seen(unit), fr.region(unit, fields.input_size).field,
                        support_box(mask)) for unit, mask in zip(units, masks)]
    return FieldCheck(report.name, fr.row.name, tuple(checks))
