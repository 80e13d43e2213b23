"""The figures the counters publish in their own READMEs for models the zoo has, against the
tool at its pinned version on today's torchvision model and cnnstat's preset on the zoo spec
(run with the torchvision venv of tools/torchvision_env.sh; never in CI):

    OPCOUNTER=/path/to/pytorch-OpCounter PYTHONPATH=. \\
        /tmp/cnnstat-tv-venv/bin/python tools/published_figures.py [TOOL|MODEL ...]

(the rows of tools/published_figures.md; arguments keep the rows of those tools, e.g.
``torchscan``, or of those torchvision models, e.g. ``inception_v3``).

Classic thop (PyPI ``thop``) and ultralytics-thop both import as ``thop``, so classic thop runs in
a child process with only its package on PYTHONPATH: a copy of ``thop`` from the venv of
tools/thop_classic_env.sh ($THOP_VENV, default /tmp/cnnstat-thop-venv).  Classic thop's README
table was made in 2019 by the thop of its own commit (1023a53, 2019-09-02; inception_v3 added
by 176c407, 2019-09-23, with the same thop/): with $OPCOUNTER a git clone of
Lyken17/pytorch-OpCounter, that thop is extracted and run the same way (the "2019 thop" column).

Prints a markdown table: tool | source | model (spec) | figure | published | tool now | cnnstat |
published = tool now, rounded as printed | tool now = cnnstat.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

CLASSIC = "thop 0.1.1.post2209072238 README.md"
ULTRA = "ultralytics-thop 2.2.3 README.md"
INFO = "torchinfo 1.8.0 README.md"
CAL = "calflops 0.3.2 README.md"
SCAN = "torch-scan README.md (c849a6e)"


@dataclass(frozen=True)
class Published:
    tool: str  # the --count preset of that tool ("params": the parameter count)
    source: str
    model: str  # torchvision's name
    spec: str
    figure: str  # "MACs" / "FLOPs" / "params" as the README labels it
    printed: str  # as the README prints it
    scale: int  # the unit of the printed figure


def _thop_table() -> list[Published]:
    rows = """alexnet alexnet-torchvision 61.10 0.77|vgg11 vgg11 132.86 7.74|vgg11_bn vgg11-bn 132.87 7.77
    |vgg13 vgg13 133.05 11.44|vgg13_bn vgg13-bn 133.05 11.49|vgg16 vgg16 138.36 15.61
    |vgg16_bn vgg16-bn 138.37 15.66|vgg19 vgg19 143.67 19.77|vgg19_bn vgg19-bn 143.68 19.83
    |resnet18 resnet18 11.69 1.82|resnet34 resnet34 21.80 3.68|resnet50 resnet50 25.56 4.14
    |resnet101 resnet101 44.55 7.87|resnet152 resnet152 60.19 11.61
    |wide_resnet50_2 wide-resnet50-2 68.88 11.46|resnext50_32x4d resnext50-32x4d 25.03 4.29
    |densenet121 densenet121 7.98 2.90|densenet169 densenet169 14.15 3.44
    |densenet201 densenet201 20.01 4.39|squeezenet1_0 squeezenet1-0 1.25 0.82
    |squeezenet1_1 squeezenet1-1 1.24 0.35|mnasnet1_0 mnasnet1-0 4.38 0.34
    |mobilenet_v2 mobilenet-v2 3.50 0.33|shufflenet_v2_x0_5 shufflenet-v2-x0-5 1.37 0.05
    |shufflenet_v2_x1_0 shufflenet-v2-x1-0 2.28 0.15|shufflenet_v2_x1_5 shufflenet-v2-x1-5 3.50 0.31
    |shufflenet_v2_x2_0 shufflenet-v2-x2-0 7.39 0.60|inception_v3 inception-v3 27.16 5.75"""
    out = []
    for line in rows.split("|"):
        model, spec, params, macs = line.split()
        out.append(Published("thop-classic", CLASSIC, model, spec, "MACs(G)", macs, 10**9))
        out.append(Published("params", CLASSIC, model, spec, "Params(M)", params, 10**6))
    return out


def _calflops_table() -> list[Published]:
    rows = """alexnet alexnet-torchvision 61100840 1429740000|vgg11 vgg11 132863000 15239200000
    |vgg13 vgg13 133048000 22647600000|vgg16 vgg16 138358000 30973800000
    |vgg19 vgg19 143667000 39300000000|vgg11_bn vgg11-bn 132869000 15254000000
    |vgg13_bn vgg13-bn 133054000 22672100000|vgg16_bn vgg16-bn 138366000 31000900000
    |vgg19_bn vgg19-bn 143678000 39329700000|resnet18 resnet18 11689500 3636250000
    |resnet34 resnet34 21797700 7339390000|resnet50 resnet50 25557000 8211110000
    |resnet101 resnet101 44549200 15690900000|resnet152 resnet152 60192800 23094300000
    |squeezenet1_0 squeezenet1-0 1248420 1648970000|squeezenet1_1 squeezenet1-1 1235500 705014000
    |densenet121 densenet121 7978860 5716880000|densenet169 densenet169 14195000 6778370000
    |densenet201 densenet201 20013900 8658520000|inception_v3 inception-v3@224 27161300 5692390000"""
    out = []
    for line in rows.split("|"):
        model, spec, params, flops = line.split()
        out.append(Published("calflops", CAL + " Benchmark", model, spec, "FLOPs(Total)", flops, 1))
        out.append(Published("params", CAL + " Benchmark", model, spec, "Params(Total)", params, 1))
    return out


def _torchscan_table() -> list[Published]:
    """torch-scan's README "Benchmark" (scripts/benchmark.py; in every README up to c849a6e,
    dropped by 6be9799, the 0.2.0 rewrite): FLOPs (G) at 224 (inception_v3 at 299)."""
    rows = """alexnet alexnet-torchvision 1.43|googlenet googlenet 3.01|vgg11 vgg11 15.23
    |vgg11_bn vgg11-bn 15.26|vgg13 vgg13 22.63|vgg13_bn vgg13-bn 22.68|vgg16 vgg16 30.96
    |vgg16_bn vgg16-bn 31.01|vgg19 vgg19 39.28|vgg19_bn vgg19-bn 39.34|resnet18 resnet18 3.64
    |resnet34 resnet34 7.34|resnet50 resnet50 8.21|resnet101 resnet101 15.66
    |resnet152 resnet152 23.1|inception_v3 inception-v3 11.45|squeezenet1_0 squeezenet1-0 1.64
    |squeezenet1_1 squeezenet1-1 0.7|wide_resnet50_2 wide-resnet50-2 22.84
    |densenet121 densenet121 5.74|densenet169 densenet169 6.81|densenet201 densenet201 8.7
    |resnext50_32x4d resnext50-32x4d 8.51|mobilenet_v2 mobilenet-v2 0.63
    |shufflenet_v2_x0_5 shufflenet-v2-x0-5 0.09|shufflenet_v2_x1_0 shufflenet-v2-x1-0 0.3
    |shufflenet_v2_x1_5 shufflenet-v2-x1-5 0.6|shufflenet_v2_x2_0 shufflenet-v2-x2-0 1.18
    |mnasnet1_0 mnasnet1-0 0.65"""
    out = []
    for line in rows.split("|"):
        model, spec, flops = line.split()
        out.append(Published("torchscan", SCAN, model, spec, "FLOPs (G)", flops, 10**9))
    return out


PUBLISHED: list[Published] = [
    *_thop_table(),
    Published("thop", ULTRA, "resnet50", "resnet50", "MACs", "4133742592", 1),
    Published("params", ULTRA, "resnet50", "resnet50", "Parameters", "25557032", 1),
    Published("torchinfo", INFO, "resnet152", "resnet152", "Total mult-adds (G)", "11.51", 10**9),
    Published("params", INFO, "resnet152", "resnet152", "Total params", "60192808", 1),
    Published("calflops", CAL + " example", "alexnet", "alexnet-torchvision", "FLOPs (G)",
              "4.2892", 10**9),
    Published("calflops-macs", CAL + " example", "alexnet", "alexnet-torchvision", "MACs (G)",
              "2.1426", 10**9),
    Published("calflops-macs", CAL + " Benchmark", "alexnet", "alexnet-torchvision",
              "Macs(Total)", "7418800000", 1),
    *_calflops_table(),
    *_torchscan_table(),
]


def _model(name: str) -> object:
    import torchvision

    if name == "inception_v3":
        import tv_factories

        return tv_factories.inception_v3()
    return torchvision.models.get_model(name, weights=None)


def _spec(spec: str) -> tuple[str, tuple[int, int] | None]:
    name, _, size = spec.partition("@")
    return name, (int(size), int(size)) if size else None


def _shape(spec: str) -> tuple[int, ...]:
    import cnnstat
    from cnnstat.errors import SpecError

    name, size = _spec(spec)
    try:
        return tuple(cnnstat.analyze(name, input=size).input_shape)
    except SpecError:  # inception-v3 at 224: its training-only aux head does not fit (see _cnnstat)
        assert size is not None
        return (3, *size)


def _calflops(model: object, shape: tuple[int, ...]) -> tuple[int, int]:
    import contextlib
    import io

    from calflops import calculate_flops

    with contextlib.redirect_stdout(io.StringIO()):
        flops, macs, _ = calculate_flops(model=model, input_shape=(1, *shape), print_results=False,
                                         print_detailed=False, output_as_string=False)
    return int(flops), int(macs)


def _thop_runs(package_dir: Path | None, jobs: list[tuple[str, tuple[int, ...]]]) -> dict[
        tuple[str, tuple[int, ...]], int]:
    """``thop.profile`` of the thop package in ``package_dir`` on each (model, input shape), run
    in one child process that sees that package as ``thop``."""
    if package_dir is None or not jobs:
        return {}
    # the 2019 thop imports collections.Iterable (moved to collections.abc in Python 3.10)
    code = ("import sys, torch, collections, collections.abc; "
            "collections.Iterable = collections.abc.Iterable; "
            "sys.path[:0] = [sys.argv[1], sys.argv[2]]; "
            "import published_figures as p; from thop import profile\n"
            "for job in sys.argv[3:]:\n"
            "    name, shape = job.split(':')\n"
            "    x = torch.zeros(1, *map(int, shape.split('x')))\n"
            "    total = profile(p._model(name).eval(), (x,), verbose=False)[0]\n"
            "    print(job, int(total), flush=True)")
    env = {**os.environ, "PYTHONPATH": f"{package_dir}:{ROOT}", "PYTHONWARNINGS": "ignore"}
    args = [f"{m}:{'x'.join(map(str, s))}" for m, s in dict.fromkeys(jobs)]
    done = subprocess.run([sys.executable, "-c", code, str(package_dir), str(ROOT / "tools"),
                           *args], capture_output=True, text=True, env=env)
    if done.returncode:
        print(done.stderr[-2000:], file=sys.stderr)
    out = {}
    for line in done.stdout.splitlines():
        job, total = line.split()
        name, shape = job.split(":")
        out[(name, tuple(int(v) for v in shape.split("x")))] = int(total)
    return out


def _packages(tmp: Path) -> dict[str, Path | None]:
    """A directory with only classic thop in it, and one with the 2019 thop, where available."""
    out: dict[str, Path | None] = {"classic": None, "2019": None}
    venv = Path(os.environ.get("THOP_VENV", "/tmp/cnnstat-thop-venv"))
    found = sorted(venv.glob("lib/python3*/site-packages/thop"))
    if found:
        shutil.copytree(found[0], tmp / "classic" / "thop")
        out["classic"] = tmp / "classic"
    clone = os.environ.get("OPCOUNTER")
    if clone:
        (tmp / "2019").mkdir()
        archive = subprocess.run(["git", "-C", clone, "archive", "1023a53", "thop"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp / "2019")], input=archive, check=True)
        out["2019"] = tmp / "2019"
    return out


def _tool_now(row: Published, model: object, shape: tuple[int, ...],
              thop: dict[tuple[str, str, tuple[int, ...]], int]) -> int | None:
    from cnnstat.torch_backend.live.counters import count_live

    if row.tool == "params":
        return sum(p.numel() for p in model.parameters())  # type: ignore[attr-defined]
    if row.tool == "thop-classic":
        return thop[("classic", row.model, shape)] if ("classic", row.model, shape) in thop else None
    if row.tool in ("calflops", "calflops-macs"):
        flops, macs = _calflops(model, shape)
        return flops if row.tool == "calflops" else macs
    return count_live(row.tool, model, [], [shape], 1).total  # type: ignore[arg-type]


def _cnnstat(row: Published) -> int | None:
    import cnnstat
    from cnnstat.core.counters import ALL_PRESETS
    from cnnstat.errors import SpecError

    name, size = _spec(row.spec)
    try:
        report = cnnstat.analyze(name, input=size)
    except SpecError:  # the spec refuses that input (inception-v3's aux head at 224)
        return None
    if row.tool == "params":
        return report.totals.params
    preset = {"calflops-macs": None}.get(row.tool, row.tool)
    return ALL_PRESETS[preset].total(report) if preset else None


def _rounded(value: int | None, row: Published) -> str:
    if value is None:
        return ""
    digits = len(row.printed.partition(".")[2])
    return f"{value / row.scale:.{digits}f}" if row.scale > 1 else f"{value:,}"


def _significant(value: int, printed: str) -> bool:
    """A 'Total' figure printed to 6 significant digits (calflops' benchmark): equal there."""
    n = len(printed.rstrip("0")) if printed.isdigit() else 0
    return n > 0 and f"{value:.{n}g}" == f"{int(printed):.{n}g}" or str(value) == printed


def main() -> int:
    only = set(sys.argv[1:])  # tools (source packages) or torchvision models to run (default: all)
    rows = [row for row in PUBLISHED
            if not only or only & {row.tool, row.source.split()[0], row.model}]
    print("| tool | source | model (spec) | figure | published | tool now | as printed | "
          "2019 thop | cnnstat | published = tool now | tool now = cnnstat |")
    print("| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    jobs = [(row.model, _shape(row.spec)) for row in rows if row.tool == "thop-classic"]
    with tempfile.TemporaryDirectory() as tmp:
        packages = _packages(Path(tmp))
        thop = {(variant, *key): total for variant in ("classic", "2019")
                for key, total in _thop_runs(packages[variant], jobs).items()}
    built: dict[str, object] = {}
    for row in rows:
        if row.model not in built:
            built.clear()  # one model at a time: the VGGs hold 0.5 GB of weights each
            built[row.model] = _model(row.model)
        shape = _shape(row.spec)
        now = _tool_now(row, built[row.model], shape, thop)
        old = thop.get(("2019", row.model, shape)) if row.tool == "thop-classic" else None
        ours = _cnnstat(row)
        shown = _rounded(now, row)
        same = (shown == row.printed if row.scale > 1 else
                now is not None and _significant(now, row.printed))
        old_shown = f"{old:,} ({_rounded(old, row)})" if old is not None else ""
        print(f"| {row.tool} | {row.source} | {row.model} ({row.spec}) | {row.figure} | "
              f"{row.printed} | {now if now is None else f'{now:,}'} | {shown} | {old_shown} | "
              f"{'' if ours is None else f'{ours:,}'} | {'yes' if same else 'NO'} | "
              f"{'' if ours is None else ('yes' if ours == now else 'NO')} |", flush=True)
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
