"""A sweep's results file: JSON lines, a header then one row per finished configuration.

The header names everything a row's numbers depend on besides the row's own configuration (its
``key``): the digest of the spec as read (:func:`cnnstat.analysis.sweep.spec_digest`),
cnnstat's version, and the sweep's options.  ``sweep --resume`` and ``merge`` use rows only
under a header equal to theirs in all of these, so a row computed before an edit of the spec
or an upgrade is never shown beside, or instead of, one computed after.

Reading is bounded and strict: a regular file only, its size checked before it is read
(:data:`MAX_BYTES`), one line at a time; every line must be a JSON object of the expected
fields and types -- a malformed line is an error located ``file:line``, never the silent end of
the file -- except a last line without its newline, which is what an interrupted write leaves
and is dropped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cnnstat.analysis.sweep import MAX_CONFIGS, Row
from cnnstat.core.memory import DTYPE_BYTES
from cnnstat.errors import UsageError
from cnnstat.spec.reading import open_file, read_lines

FORMAT = "cnnstat-sweep/2"
MAX_BYTES = 2**30  # a row is a few hundred bytes: a million rows fit
LONGEST_LINE = 2**20
NUMBERS = ("params", "buffers", "macs", "flops", "activations", "peak", "memory")
REALS = ("accuracy", "latency_ms")  # joined or measured figures, not analysed ones
ROW_FIELDS = frozenset(("index", "key", "set", "input", "rf", "error", *NUMBERS, *REALS))
HINT = "give a file written by 'cnnstat sweep --out'"

# What each header field is, as a difference between two headers is told.
COMPARED = {"digest": "the spec", "cnnstat": "cnnstat's version", "vary": "--vary",
            "set": "--set", "inputs": "--input", "random": "--random", "seed": "--seed",
            "batch": "--batch", "dtype": "--dtype", "rf": "receptive fields (--no-rf)",
            "total": "the number of configurations"}


def differences(old: dict[str, Any], new: dict[str, Any],
                where: tuple[str, str] = ("then", "now")) -> list[str]:
    """What differs between two headers, in words ([] for the same sweep; the shard and the
    spec's path aside: the digest says whether the spec is the same); ``where`` names the two
    (resume: "then" and "now"; merge: the two files)."""
    out = []
    for key, what in COMPARED.items():
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        values = f"{_short(a) if key == 'digest' else _shown(a)} {where[0]}, " \
            f"{_short(b) if key == 'digest' else _shown(b)} {where[1]}"
        if key == "digest":
            out.append(f"the spec is not the same (digest {values})")
        else:
            out.append(f"{what} ({values})")
    return out


def _short(digest: object) -> str:
    return f"{digest[:19]}..." if isinstance(digest, str) else repr(digest)


def _shown(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read(path: Path) -> tuple[dict[str, Any], list[Row], int]:
    """(header, rows, length of the good part in bytes) of a results file; a last line cut
    short by an interruption is left out.  UsageError, located, for anything else that is not
    a header or a row of one."""
    header: dict[str, Any] | None = None
    rows: dict[str, Row] = {}
    good = 0
    with open_file(str(path), MAX_BYTES, "a sweep's results") as stream:
        for number, line in read_lines(stream, str(path), LONGEST_LINE):
            if not line.endswith(b"\n"):
                break  # the last line, cut short: dropped (resume writes it again)
            where = f"{path}:{number}"
            item = _json(line, where)
            if header is None:
                header = _header(item, where)
            else:
                _add(rows, _row(item, where, header["total"]), where)
            good += len(line)
    if header is None:
        raise UsageError(f"{path}: no header line (an empty file)", HINT)
    return header, list(rows.values()), good


def _add(rows: dict[str, Row], row: Row, where: str) -> None:
    """One row more, by its configuration: the same one twice is kept once, two that disagree
    are refused, and a file holds no more than one run may."""
    if rows.setdefault(row["key"], row) != row:
        raise UsageError(f"{where}: configuration {row['key']} again, with other figures", HINT)
    if len(rows) > MAX_CONFIGS:
        raise UsageError(f"{where}: more than {MAX_CONFIGS:,} rows", HINT)


def _reject(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _json(line: bytes, where: str) -> Any:
    try:
        return json.loads(line, parse_constant=_reject)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{where}: not a JSON line ({_first(exc)})", HINT) from None
    except RecursionError:
        raise UsageError(f"{where}: not a sweep row (nested too deeply)", HINT) from None


def _first(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _header(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict) or not str(item.get("format", "")).startswith("cnnstat-sweep"):
        raise UsageError(f"{where}: not a cnnstat sweep results file", HINT)
    if item["format"] != FORMAT:
        raise UsageError(f"{where}: written by another version of cnnstat ({item['format']!r}, "
                         f"this one reads {FORMAT!r}): its rows cannot be checked against the "
                         "spec", "run the sweep again into a new --out file")
    for key, ok in _HEADER.items():
        if key not in item or not ok(item[key]):
            got = f"{_shown(item[key])}" if key in item else "missing"
            raise UsageError(f"{where}: not a sweep results header: '{key}' is {got}", HINT)
    return dict(item)


def _row(item: Any, where: str, total: int) -> Row:
    """A row, its every field checked: the numbers exact non-negative integers, the others of
    their kind; nothing unknown (a row's fields are shown as they are)."""
    if not isinstance(item, dict):
        raise UsageError(f"{where}: not a sweep row (a JSON object)", HINT)
    for problem in _row_problems(item, total):
        raise UsageError(f"{where}: not a sweep row: {problem}", HINT)
    return item


def _row_problems(item: dict[str, Any], total: int) -> Iterator[str]:
    unknown = sorted(str(k) for k in set(item) - ROW_FIELDS)
    if unknown:
        yield f"unknown field '{unknown[0]}'"
    for key, ok, expected in (
            ("index", lambda v: _is_count(v) and v < total, f"a whole number below {total}"),
            ("key", _is_text, "text"),
            ("set", lambda v: isinstance(v, dict) and _shallow(v), "a mapping of values"),
            ("input", lambda v: v is None or _is_shape(v), "a shape such as [3, 224, 224]")):
        if key not in item:
            yield f"'{key}' is missing"
        elif not ok(item[key]):
            yield f"'{key}' is {_shown(item[key])}, expected {expected}"
    if "error" in item:
        if not _is_text(item["error"]):
            yield f"'error' is {_shown(item['error'])}, expected text"
        return
    for key in NUMBERS:
        if not _is_count(item.get(key)):
            yield (f"'{key}' is {_shown(item[key])}, expected a whole number" if key in item
                   else f"'{key}' is missing")
    rf = item.get("rf")
    if not (rf is None or _is_count(rf) or (isinstance(rf, list) and len(rf) == 2
                                            and all(_is_count(x) for x in rf))):
        yield f"'rf' is {_shown(rf)}, expected a whole number, [h, w] or null"
    for key in REALS:
        if key in item and not _is_real(item[key]):
            yield f"'{key}' is {_shown(item[key])}, expected a number"


def _is_text(value: object) -> bool:
    return isinstance(value, str)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_positive(value: object) -> bool:
    return _is_count(value) and value != 0


def _is_real(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def _is_shape(value: object) -> bool:
    return isinstance(value, list) and 0 < len(value) <= 4 and all(_is_positive(d)
                                                                   for d in value)


def _is_vary(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, list) and len(v) == 2 and _is_text(v[0]) and isinstance(v[1], list)
        and all(_is_plain(x) for x in v[1]) for v in value)


def _is_plain(value: object, depth: int = 0) -> bool:
    """A value --set or --vary gives: a number, true/false, null or text, or a list or mapping
    of them, a few levels deep at most."""
    if value is None or isinstance(value, (str, int, bool)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) \
        else None
    return items is not None and depth < 4 and all(_is_plain(v, depth + 1) for v in items)


def _shallow(mapping: dict[str, Any]) -> bool:
    """A parameter mapping: names to plain values."""
    return all(_is_plain(v) for v in mapping.values())


# What a header holds: a field of each kind (read back by resume and merge).
_HEADER: dict[str, Callable[[Any], bool]] = {
    "digest": lambda v: _is_text(v) and v.startswith("sha256:"), "cnnstat": _is_text,
    "spec": _is_text, "total": _is_count, "batch": _is_positive,
    "dtype": lambda v: _is_text(v) and v in DTYPE_BYTES, "vary": _is_vary,
    "set": lambda v: isinstance(v, dict) and _shallow(v),
    "inputs": lambda v: isinstance(v, list) and all(s is None or _is_shape(s) for s in v),
    "rf": lambda v: isinstance(v, bool), "random": lambda v: v is None or _is_positive(v),
    "seed": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
    "shard": lambda v: v is None or _is_text(v)}
