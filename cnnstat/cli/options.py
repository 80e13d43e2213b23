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


class Color(str, enum.Enum):
    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


def _values(choices: type[enum.Enum]) -> list[str]:
    return [str(c.value) for c in choices]


# --- parsers -------------------------------------------------------------------------------

def parse_input(text: str) -> Shape:
    """'3x224x224' (C x H x W), or '224' / '224x224' keeping the spec's channels."""
    try:
        dims = tuple(int(p) for p in text.lower().replace(",", "x").split("x"))
    except ValueError:
        raise UsageError(f"--input {text!r}: expected CxHxW, e.g. 3x224x224") from None
    if not dims or any(d < 1 for d in dims) or len(dims) > 3:
        raise UsageError(f"--input {text!r}: expected one to three positive sizes, e.g. 3x224x224")
    return dims


def parse_hwc(text: str) -> Shape:
    """'32x32x3' -> (3, 32, 32); '32x32' -> (32, 32), keeping the spec's channels; '4096' ->
    (4096,) features (``cnnstat explain`` writes volumes as the lecture does, H x W x C)."""
    try:
        dims = tuple(int(p) for p in text.lower().replace(",", "x").split("x"))
    except ValueError:
        raise UsageError(f"--input {text!r}: expected HxWxC, e.g. 32x32x3") from None
    if not dims or len(dims) > 3 or any(d < 1 for d in dims):
        raise UsageError(f"--input {text!r}: expected HxWxC (e.g. 32x32x3) or N features")
    return (dims[2], dims[0], dims[1]) if len(dims) == 3 else dims


def parse_set(items: Sequence[str]) -> dict[str, object]:
    """``--set k=v`` pairs; values are read as YAML scalars (3, 0.75, true, text)."""
    if not items:
        return {}
    import yaml  # only when there is something to read

    out: dict[str, object] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set {item!r}: expected name=value", "e.g. --set classes=10")
        try:
            out[key.strip()] = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            out[key.strip()] = text
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
    return int(Fraction(match.group(1)) * _UNITS[unit])


def parse_seconds(text: str, option: str) -> float:
    """'300', '2.5' -> seconds: a finite number greater than zero (nan, inf, 0, -1 refused)."""
    try:
        seconds = float(text)
    except ValueError:
        raise UsageError(f"{option} {text!r}: expected a number of seconds, e.g. {option} 300") \
            from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise UsageError(f"{option} {text!r}: expected a finite number of seconds greater "
                         f"than 0, e.g. {option} 300")
    return seconds


# --- options -------------------------------------------------------------------------------

def _input_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> Shape | None:
    return parse_input(value) if value is not None else None


def _set_callback(ctx: click.Context, param: click.Parameter,
                  value: Sequence[str]) -> dict[str, object]:
    return parse_set(value)


def timeout_option(help: str) -> Callable[[F], F]:
    """``--timeout SECONDS`` (None when not given, so a command can tell)."""
    def parse(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
        return parse_seconds(value, "--timeout") if value is not None else None

    return click.option("--timeout", "timeout", metavar="SECONDS", callback=parse, help=help)


def format_option(choices: type[enum.Enum] = Format, default: str = "table",
                  help: str = "Output format (data goes to stdout).") -> Callable[[F], F]:
    return click.option("--format", "fmt", type=click.Choice(_values(choices)),
                        default=default, show_default=True, help=help)


def color_option(fn: F) -> F:
    return click.option("--color", type=click.Choice(_values(Color)), default="auto",
                        show_default=True, help="Colour in table output (honours NO_COLOR).")(fn)


def input_option(fn: F) -> F:
    return click.option("--input", "input_shape", metavar="CxHxW", callback=_input_callback,
                        help="Override the input shape, e.g. 3x227x227.")(fn)


def set_option(fn: F) -> F:
    return click.option("--set", "overrides", multiple=True, metavar="NAME=VALUE",
                        callback=_set_callback,
                        help="Override a spec parameter (repeatable).")(fn)


def batch_option(fn: F) -> F:
    return click.option("--batch", type=click.IntRange(1), default=1, show_default=True,
                        help="Batch size for MACs, FLOPs and activations.")(fn)


def data_options(fn: F) -> F:
    """--format, --input, --batch, --set and --color, shared by every data command."""
    for option in (color_option, set_option, batch_option, input_option, format_option()):
        fn = option(fn)
    return fn
