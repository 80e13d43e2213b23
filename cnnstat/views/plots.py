"""What ``cnnstat plot`` draws, as data: the points, bars and boxes of each figure and the titles
that name the spec, its input and the convention of every number."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cnnstat.analysis import Analysed
from cnnstat.core import memory
from cnnstat.core.receptive import FieldReport, FieldRow, UnitRegion
from cnnstat.core.report import Report
from cnnstat.render.charts import Bubble, LayerBars
from cnnstat.render.field_chart import FieldBox
from cnnstat.render.numbers import shape

MACS = "MACs = multiply-accumulates of conv and linear, bias excluded (FLOPs = 2 x MACs)"


def _input(report: Report) -> str:
    batch = "" if report.batch == 1 else f", batch {report.batch}"
    return f"input {shape(report.input_shape)}{batch}"


@dataclass(frozen=True)
class Complexity:
    points: tuple[Bubble, ...]
    sources: tuple[str, ...]
    left_out: tuple[str, ...]  # specs without a published top-1

    @property
    def title(self) -> str:
        return (f"Top-1 accuracy against compute: {len(self.points)} networks (ImageNet; each "
                "at its spec's input, batch 1; bubble area = parameters)")

    @property
    def footnote(self) -> str:
        src = "; ".join(self.sources) if len(self.sources) <= 2 else \
            f"{len(self.sources)} sources, each in its spec's reference top1 " \
            f"(e.g. {self.sources[0]})"
        return f"{MACS}.  Accuracy: {src}."


def complexity(items: Sequence[Analysed]) -> Complexity:
    """A bubble per spec with a published top-1; a network given twice (a spec and its
    default variant) is drawn once, under its first name."""
    points: list[Bubble] = []
    sources: dict[str, None] = {}
    seen: set[tuple[float, int, int]] = set()
    left_out = []
    for item in items:  # the brief and the top-1 only: both kept in the cache
        top1 = item.top1
        if top1 is None:
            left_out.append(item.brief.name)
            continue
        value, source = top1
        t, batch = item.brief.totals, item.brief.batch
        key = (value, t.params, t.macs // batch)
        if key in seen:
            continue
        seen.add(key)
        points.append(Bubble(item.brief.name, t.macs // batch, t.params, value))
        sources[_family(source)] = None
    return Complexity(tuple(points), tuple(sources), tuple(left_out))


def _family(source: str) -> str:
    """'torchvision 0.29.1 ResNet50_Weights.IMAGENET1K_V1 acc@1' -> 'torchvision 0.29.1
    <Weights>.IMAGENET1K_V1 acc@1', so one source is named once however many nets it covers."""
    words = [("<Weights>" + w[w.index("."):]) if "_Weights." in w else w
             for w in source.split()]
    return " ".join(words)


LAYER_LABELS = ("MACs (multiply-accumulates)", "parameters (weights + biases)",
                "activations (output elements)")


def layer_bars(report: Report) -> LayerBars:
    rows = report.rows
    return LayerBars([r.name for r in rows], [r.macs for r in rows], [r.params for r in rows],
                     [r.activations for r in rows])


def layers_title(report: Report) -> str:
    return (f"{report.name}: MACs, parameters and activations per operation ({_input(report)}; "
            f"{MACS})")


@dataclass(frozen=True)
class Memory:
    names: list[str]
    live_bytes: list[int]
    peak: int
    title: str
    ylabel: str


def live_memory(report: Report, dtype: str) -> Memory:
    """Bytes alive during each operation of the inference schedule (core.memory's
    convention), for the report's batch."""
    size, b = memory.DTYPE_BYTES[dtype], report.batch
    schedule = memory.schedule(report)
    steps = schedule.steps
    peak = steps.index(schedule.peak)
    title = (f"{report.name}: live activation memory over the execution order ({_input(report)},"
             f" {dtype}; a tensor lives from its producer to its last reader, no in-place ops)")
    return Memory([s.row.name for s in steps], [s.alive * b * size for s in steps], peak, title,
                  f"live activations (bytes at {dtype}, {size} per element)")


def field_box(report: Report, fr: FieldRow, region: UnitRegion) -> FieldBox:
    (r0, r1), (c0, c1) = region.field
    i, j = region.unit
    label = (f"theoretical field of unit ({i}, {j}) of {fr.row.name} "
             f"({shape(fr.row.output_shape)}): rows {r0}..{r1}, columns {c0}..{c1}")
    return FieldBox(region.input_size, region.field, region.seen, label)


def centre_box(report: Report, fields: FieldReport, fr: FieldRow) -> tuple[UnitRegion, FieldBox]:
    """The centre unit of ``fr`` mapped back to the input, and the box that draws it."""
    h, w = fr.units
    region = fr.region((h // 2, w // 2), fields.input_size)
    return region, field_box(report, fr, region)


def field_title(report: Report, fr: FieldRow, effective: bool) -> str:
    what = "theoretical and effective receptive field" if effective else "receptive field"
    return (f"{report.name}: {what} of {fr.row.name}'s centre unit ({_input(report)}; "
            "input pixels, field = every pixel a unit can depend on)")


ERF_LABEL = ("effective field (Luo et al. 2016): |gradient| of the unit w.r.t. the input, summed "
             "over channels, mean of {n} normal inputs, default init (seed {seed})")
