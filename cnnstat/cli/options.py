"""Every shared option and every command-line parser, declared once.

The vocabulary: ``--format``, ``--color``, ``--input``, ``--set`` and ``--batch`` are built
from the enums below and reused by every command; their callbacks turn the text into typed
values (a shape tuple, a parameter mapping), so commands receive data, not strings to parse.
Parse errors are :class:`~cnnstat.errors.UsageError` (exit 2 at the boundary).
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any, TypeVar

import click

from cnnstat.core.report import Shape
from cnnstat.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])


class Format(str, enum.Enum):
    """Output formats of the data commands (data goes to stdout)."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


class CheckFormat(str, enum.Enum):
    """Report formats of ``cnnstat check``."""

    TEXT = "text"
    JSON = "json"
    GITHUB = "github"
    JUNIT = "junit"


class GraphFormat(str, enum.Enum):
    """File formats of ``cnnstat graph``: laid out by Graphviz, or text that needs nothing."""

    SVG = "svg"
    PNG = "png"
    PDF = "pdf"
    DOT = "dot"
    MMD = "mmd"


GRAPH_SUFFIXES = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot",
                  ".mmd": "mmd", ".mermaid": "mmd"}


class Color(str, enum.Enum):
    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


def _values(choices: type[enum.Enum]) -> list[str]:
    return [str(c.value) for c in choices]


# --- parsers -------------------------------------------------------------------------------

def parse_input(text: str) -> Shape:
    """'3x224x224' (C x H x W), '224x224' keeping the spec's channels, or '4096' (the features
    of an input of [N]; the loader refuses one number for an image)."""
    try:
        dims = tuple(int(p) for p in text.lower().replace(",", "x").split("x"))
    except ValueError:
        raise UsageError(f"--input {text!r}: expected CxHxW, e.g. 3x224x224") from None
    if not dims or any(d < 1 for d in dims) or len(dims) > 3:
        raise UsageError(f"--input {text!r}: expected one to three positive sizes, e.g. 3x224x224")
    return dims


def ambiguous_input(dims: Shape) -> str | None:
    """A warning when C x H x W reads like an image written H x W x C (a last size of 1 to 4,
    smaller than the other two: 32x32x3, 224x224x3), else None."""
    if len(dims) != 3:
        return None
    c, h, w = dims
    if w <= 4 and w < min(c, h):
        return (f"--input {c}x{h}x{w} reads as C x H x W: {c} channels of {h} x {w}; an image "
                f"of {c} x {h} with {w} channel{'s' if w > 1 else ''} is --input {w}x{c}x{h}")
    return None


MAX_DIGITS = 100  # the longest integer an option value may spell out


def parse_value(option: str, item: str, text: str) -> object:
    """A ``KEY=VALUE`` option's value read as a YAML scalar (3, 0.75, true, text); text that is
    not YAML stays text.  A YAML tag (``!!python/object``) and an integer of more than
    :data:`MAX_DIGITS` digits are usage errors, not values."""
    import yaml  # only when there is something to read

    bare = text.strip()
    if bare.startswith("!"):
        raise UsageError(f"{option} {item!r}: YAML tags are not allowed in a value",
                         "write the plain value, e.g. KEY=10 or KEY=relu")
    digits = len(re.sub(r"[^0-9]", "", bare))
    if digits > MAX_DIGITS and re.fullmatch(r"[-+]?[0-9_,]+", bare):
        raise UsageError(f"{option} {item.partition('=')[0].strip()}=...: an integer of "
                         f"{digits:,} digits is too large (at most {MAX_DIGITS} digits)")
    if not bare:
        return ""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    except ValueError as exc:  # a number YAML reads but Python cannot convert
        raise UsageError(f"{option} {item!r}: cannot read the value ({exc})") from None


def parse_set(items: Sequence[str]) -> dict[str, object]:
    """``--set k=v`` pairs; values are read by :func:`parse_value`."""
    out: dict[str, object] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set {item!r}: expected name=value", "e.g. --set classes=10")
        out[key.strip()] = parse_value("--set", item, text)
    return out


def parse_batches(text: str) -> list[int]:
    """'1,8,32' -> [1, 8, 32]: positive integers, no duplicates, in the order given."""
    parts = [p.strip() for p in text.split(",")]
    if not all(p.isdigit() and int(p) > 0 for p in parts):
        raise ValueError(f"cannot read {text!r} as batch sizes; write one positive integer or a "
                         "comma-separated list such as 1,8,32,128")
    values = [int(p) for p in parts]
    if len(set(values)) != len(values):
        raise ValueError(f"batch size listed twice in {text!r}")
    return values


def graph_format(path: str, fmt: str | None) -> str:
    """The format of ``cnnstat graph -o PATH``: ``--format`` when given, else PATH's suffix
    (case-insensitive); standard output (``-``) needs ``--format``."""
    if fmt is not None:
        return fmt
    known = ", ".join(GRAPH_SUFFIXES)
    if path == "-":
        raise UsageError("-o -: standard output has no suffix to tell the format by",
                         f"add --format ({', '.join(_values(GraphFormat))})")
    suffix = "." + path.rpartition(".")[2].lower() if "." in path.rpartition("/")[2] else ""
    if suffix not in GRAPH_SUFFIXES:
        raise UsageError(f"-o {path!r}: cannot tell the format from "
                         f"{'the suffix ' + repr(suffix) if suffix else 'a name with no suffix'}",
                         f"name the file with one of {known}, or add --format")
    return GRAPH_SUFFIXES[suffix]


def parse_unit(text: str) -> tuple[int, int]:
    """'3,4' -> (3, 4): an output unit's row and column (``receptive-field --unit``)."""
    try:
        i, j = (int(p) for p in text.split(","))
    except ValueError:
        raise UsageError(f"--unit {text!r}: expected ROW,COL, e.g. --unit 0,0") from None
    return i, j


_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """'16GiB' -> 17179869184 bytes.  KiB/MiB/GiB/TiB are powers of 1024, KB/MB/GB/TB powers of
    1000, B or no unit bytes; case-insensitive; a fractional size is rounded down to a byte."""
    match = _SIZE.match(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise ValueError(f"cannot read {text!r} as a memory size; write e.g. 16GiB, 512MB or 1024")
    size = int(Fraction(match.group(1)) * _UNITS[unit])
    if size < 1:
        raise ValueError(f"{text!r} is less than one byte; give a positive size, e.g. 16GiB")
    return size


MAX_SECONDS = 86_400.0  # a day: the longest --time-budget
MAX_THREADS = 1024  # more CPU threads than any machine has is a typo, not a setting


def parse_seconds(text: str) -> float:
    """'2.5' -> 2.5: a finite, positive number of seconds, at most :data:`MAX_SECONDS` (nan,
    inf, 0 and negative times are refused: nan compares false with every bound)."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"cannot read {text!r} as seconds; write e.g. 3 or 0.5") from None
    if not math.isfinite(value) or not 0 < value <= MAX_SECONDS:
        raise ValueError(f"{text!r} is not a time in seconds from 0 (excluded) to "
                         f"{MAX_SECONDS:,.0f}")
    return value


def _seconds_callback(ctx: click.Context, param: click.Parameter,
                      value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_seconds(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def seconds_option(*names: str, help: str) -> Callable[[F], F]:
    """A duration in seconds (``--time-budget``): finite, positive, at most a day."""
    return click.option(*names, metavar="SECONDS", callback=_seconds_callback, help=help)


def threads_option(fn: F) -> F:
    return click.option("--threads", type=click.IntRange(1, MAX_THREADS),
                        help="torch.set_num_threads(N).")(fn)


# --- options -------------------------------------------------------------------------------

def _input_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> Shape | None:
    if value is None:
        return None
    shape = parse_input(value)
    warning = ambiguous_input(shape)
    if warning is not None:  # a callback of the command line: stderr, never stdout
        click.echo(f"cnnstat: warning: {warning}", err=True)
    return shape


def _set_callback(ctx: click.Context, param: click.Parameter,
                  value: Sequence[str]) -> dict[str, object]:
    return parse_set(value)


def format_option(choices: type[enum.Enum] = Format, default: str = "table",
                  help: str = "Output format (data goes to stdout).") -> Callable[[F], F]:
    return click.option("--format", "fmt", type=click.Choice(_values(choices)),
                        default=default, show_default=True, help=help)


def graph_format_option(fn: F) -> F:
    return click.option("--format", "fmt", type=click.Choice(_values(GraphFormat)), default=None,
                        help="File format (default: from the output file's suffix).")(fn)


def color_option(fn: F) -> F:
    """--color and --columns: how a command's tables are drawn (every command that prints
    tables takes both)."""
    fn = columns_option(fn)
    return click.option("--color", type=click.Choice(_values(Color)), default="auto",
                        show_default=True, help="Colour in table output (honours NO_COLOR).")(fn)


def input_option(fn: F) -> F:
    return click.option("--input", "input_shape", metavar="CxHxW", callback=_input_callback,
                        help="Override the input shape: CxHxW (3x227x227), HxW keeping the "
                        "channels (227x227), or N for an input of [N] features.")(fn)


def set_option(fn: F) -> F:
    return click.option("--set", "overrides", multiple=True, metavar="NAME=VALUE",
                        callback=_set_callback,
                        help="Override a spec parameter (repeatable).")(fn)


def batch_option(fn: F) -> F:
    return click.option("--batch", type=click.IntRange(1), default=1, show_default=True,
                        help="Batch size for MACs, FLOPs and activations.")(fn)


def parse_columns(text: str) -> list[str]:
    """'name,output,macs' -> ['name', 'output', 'macs']: column keys, checked against the
    tables when they are drawn (each table's keys differ)."""
    keys = [k.strip() for k in text.split(",") if k.strip()]
    if not keys:
        raise UsageError(f"--columns {text!r}: expected column keys, e.g. name,output,params,macs")
    return keys


COLUMNS_META = "cnnstat.columns"  # where --columns leaves its keys (click's context meta)


def _columns_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta[COLUMNS_META] = parse_columns(value)


def columns_option(fn: F) -> F:
    """--columns KEY,...: the columns of every table a command prints (table, csv and markdown
    output), kept in ``ctx.meta`` for :func:`cnnstat.cli.output.emit`, so that commands need no
    parameter of their own for it."""
    return click.option("--columns", metavar="KEY,...", callback=_columns_callback,
                        expose_value=False, is_eager=False,
                        help="Show these columns (keys as in --format csv's header; the row "
                        "names always come first); a chosen column is never left out to fit "
                        "the terminal.")(fn)


def data_options(fn: F) -> F:
    """--format, --input, --batch, --set, --color and --columns, shared by every data command."""
    for option in (color_option, set_option, batch_option, input_option, format_option()):
        fn = option(fn)
    return fn


def depth_option(help: str) -> Callable[[F], F]:
    """--depth N: blocks at N parts of the hierarchical layer names (``layer1.bottleneck2``
    is depth 2): the roll-ups of the table commands, the boxes of the diagrams."""
    return click.option("--depth", type=click.IntRange(1), default=None, metavar="N", help=help)


ROLLUP_HELP = ("One row per block at N parts of the layer names (resnet50 --depth 1: conv1, "
               "..., layer1, ..., fc), its figures summed; output and RF at its last operation.")


def dtype_option(help: str) -> Callable[[F], F]:
    """--dtype: bytes per element of the memory figures (``core.memory.DTYPE_BYTES``)."""
    from cnnstat.core.memory import DTYPE_BYTES

    return click.option("--dtype", type=click.Choice(list(DTYPE_BYTES)), default="float32",
                        show_default=True, help=help)


def output_option(help: str) -> Callable[[F], F]:
    """-o/--output FILE: where a command writes the file it makes (a figure, a report)."""
    return click.option("-o", "--output", "output", metavar="FILE", required=True, help=help)


# --- a PyTorch module instead of a spec (cnnstat import, --module) --------------------------

def parse_kwargs(text: str) -> str:
    """``--kwargs`` JSON: an object of keyword arguments for the factory, as canonical JSON."""
    import json

    deep = "nested too deeply to read (a factory's arguments are a few levels deep)"
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(deep) from None
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object of keyword arguments, e.g. "
                         '\'{"num_classes": 10}\'')
    try:
        return json.dumps(value, sort_keys=True)
    except RecursionError:
        raise ValueError(deep) from None


def _kwargs_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    try:
        return parse_kwargs(value) if value is not None else "{}"
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def kwargs_option(fn: F) -> F:
    return click.option("--kwargs", "factory_kwargs", metavar="JSON", callback=_kwargs_callback,
                        help="Keyword arguments for the factory, a JSON object "
                        "('{\"num_classes\": 10}').")(fn)


def module_timeout_option(fn: F) -> F:
    return seconds_option("--timeout", "timeout",
                          help="Seconds the module may take in its child process, from "
                          "starting Python and torch to the end of the trace [default: 300].")(fn)


MEMORY_DEFAULT_GIB = 16
MEMORY_LEAST = 256 * 2**20  # less cannot even load torch
_MEMORY_KEY = "cnnstat.memory_limit"


def parse_memory_limit(text: str) -> int | None:
    """'16' (GiB), '1.5', '512MiB', '8GB' -> bytes; 'none' -> None (no limit)."""
    bare = text.strip().lower()
    if bare in ("none", "0"):
        return None
    try:
        size = int(Fraction(bare) * 2**30) if re.fullmatch(r"\d+(\.\d+)?", bare) else \
            parse_size(bare)
    except ValueError:
        raise ValueError(f"cannot read {text!r} as a memory limit; write GiB (16), a size "
                         "(512MiB, 8GB) or none") from None
    if size < MEMORY_LEAST:
        raise ValueError(f"{text!r} is less than {MEMORY_LEAST // 2**20} MiB, too little to "
                         "load torch")
    return size


def _memory_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    try:
        ctx.meta[_MEMORY_KEY] = parse_memory_limit(value) if value is not None else \
            MEMORY_DEFAULT_GIB * 2**30
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def memory_limit_option(fn: F) -> F:
    """--memory-limit: the address space of the child process that runs a user's module
    (``import``, ``--module``); read by :func:`memory_limit` (click's per-run ``meta``, so the
    commands that take a module need no parameter for it)."""
    return click.option("--memory-limit", metavar="GIB", callback=_memory_callback,
                        expose_value=False,
                        help="Address space the module's process may use: GiB (16), a size "
                        f"(512MiB) or 'none'; beyond it the module is out of memory (exit 2) "
                        f"[default: {MEMORY_DEFAULT_GIB}].")(fn)


def memory_limit() -> int | None:
    """This run's --memory-limit in bytes (None: no limit)."""
    ctx = click.get_current_context(silent=True)
    default = MEMORY_DEFAULT_GIB * 2**30
    value = ctx.meta.get(_MEMORY_KEY, default) if ctx is not None else default
    return value if isinstance(value, int) else None


def module_options(fn: F) -> F:
    """--module TARGET (analyse a PyTorch module, imported in memory, instead of a SPEC),
    --kwargs, --timeout and --memory-limit."""
    fn = memory_limit_option(module_timeout_option(kwargs_option(fn)))
    return click.option("--module", "module", metavar="MODULE:FACTORY",
                        help="Analyse a PyTorch module instead of a SPEC: pkg.mod:factory or "
                        "path/to/file.py:factory, imported in memory as 'cnnstat import' "
                        "does (needs --input).")(fn)


# --- design-space exploration: sweep, scale, merge -------------------------------------------

def parse_vary(text: str) -> tuple[str, list[object]]:
    """'width=0.5,0.75,1' -> ('width', [0.5, 0.75, 1]): a parameter and its values, each read
    as :func:`parse_value` reads ``--set``; no value twice."""
    name, sep, values = text.partition("=")
    parts = [p.strip() for p in values.split(",")]
    if not sep or not name.strip() or not all(parts):
        raise UsageError(f"--vary {text!r}: expected NAME=V1,V2,...", "e.g. --vary width=0.5,1,2")
    read = [parse_value("--vary", text, p) for p in parts]
    if len({repr(v) for v in read}) != len(read):
        raise UsageError(f"--vary {text!r}: a value is listed twice")
    return name.strip(), read


_COUNT_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12,
                "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}


def parse_count(text: str) -> int:
    """'2G' -> 2000000000, '10M', '1.5K', '4Gi' (binary), '4GiB' / '512MB' (a size in bytes, as
    :func:`parse_size`): exact, so a value that is not a whole number is refused."""
    bare = text.strip()
    if bare.lower().endswith("b"):
        return parse_size(bare)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]*)", bare)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _COUNT_UNITS:
        raise ValueError(f"cannot read {text!r} as a number; write e.g. 2G, 10M, 350K or 4GiB "
                         "(K/M/G/T decimal, Ki/Mi/Gi/Ti binary)")
    value = Fraction(match.group(1)) * _COUNT_UNITS[unit]
    if value.denominator != 1:
        raise ValueError(f"{text!r} is not a whole number")
    return int(value)


_BUDGET = re.compile(r"^\s*([a-z_]+)\s*<=\s*([^@]+?)\s*(?:@\s*batch\s*(\d+))?\s*$", re.IGNORECASE)
BUDGET_METRICS = ("params", "macs", "flops", "activations", "peak", "memory", "rf")


def parse_budget(text: str) -> tuple[str, int, int | None]:
    """'macs<=2G' -> ('macs', 2000000000, None); 'memory<=4GiB@batch32' -> ('memory', 4 GiB,
    32): the metric, its limit, and the batch a memory budget is checked at."""
    match = _BUDGET.match(text)
    if match is None or match.group(1).lower() not in BUDGET_METRICS:
        raise UsageError(f"--budget {text!r}: expected METRIC<=LIMIT with METRIC one of "
                         f"{', '.join(BUDGET_METRICS)}",
                         "e.g. --budget macs<=2G --budget memory<=4GiB@batch32")
    metric = match.group(1).lower()
    if match.group(3) and metric != "memory":
        raise UsageError(f"--budget {text!r}: only a memory budget takes @batchN")
    try:
        limit = parse_count(match.group(2))
    except ValueError as exc:
        raise UsageError(f"--budget {text!r}: {exc}") from None
    batch = int(match.group(3)) if match.group(3) else None
    if batch is not None and batch < 1:
        raise UsageError(f"--budget {text!r}: the batch must be positive")
    return metric, limit, batch


OBJECTIVE_METRICS = (*BUDGET_METRICS, "buffers", "accuracy", "latency_ms")


def parse_objective(text: str) -> tuple[str, bool]:
    """'macs' (minimised) or 'max:rf' (maximised) -> (metric, maximise); the metric one of
    :data:`OBJECTIVE_METRICS` (a row's figures; ``accuracy`` joined into a results file,
    ``latency_ms`` measured by ``sweep --bench``)."""
    maximize = text.startswith("max:")
    name = text[4:] if maximize else text.removeprefix("min:")
    if name not in OBJECTIVE_METRICS:
        raise UsageError(f"--objective {text!r}: expected [max:]METRIC with METRIC one of "
                         f"{', '.join(OBJECTIVE_METRICS)}", "e.g. --objective macs "
                         "--objective max:rf")
    return name, maximize


def parse_shard(text: str) -> tuple[int, int]:
    """'3/8' -> (3, 8): shard I of N, 0 <= I < N (SLURM_ARRAY_TASK_ID/N)."""
    try:
        i, n = (int(p) for p in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard {text!r}: expected I/N, e.g. 0/8") from None
    if not 0 <= i < n:
        raise UsageError(f"--shard {text!r}: I counts from 0 to N - 1",
                         "e.g. --shard $SLURM_ARRAY_TASK_ID/8 with --array=0-7")
    return i, n


def parse_target(text: str) -> list[tuple[str, int, int | None]]:
    """'macs=2G,memory=4GiB@batch32' -> budgets, as :func:`parse_budget` reads 'macs<=2G'."""
    out = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, sep, limit = part.partition("=")
        if not sep:
            raise UsageError(f"--target {text!r}: expected METRIC=LIMIT[,...]",
                             "e.g. --target macs=2G or --target params=10M,memory=4GiB@batch32")
        try:
            out.append(parse_budget(f"{name}<={limit}"))
        except UsageError as exc:
            raise UsageError(str(exc).replace("--budget", "--target"), exc.hint) from None
    if not out:
        raise UsageError("--target: give at least one METRIC=LIMIT", "e.g. --target macs=2G")
    return out


def no_rf_option(fn: F) -> F:
    """``--no-rf`` of the commands that analyse many configurations (scale, sweep)."""
    return click.option("--no-rf", is_flag=True, help="Skip receptive fields.")(fn)


def jobs_option(fn: F) -> F:
    return click.option("--jobs", "-j", type=click.IntRange(1, MAX_THREADS),
                        help="Worker processes at most: none are started for less than 2 s "
                        "of work, nor more than the configurations or the idle cores  "
                        "[default: all cores]")(fn)
