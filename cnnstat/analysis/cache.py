"""A content-addressed cache of analysed built-in specs, so a cold ``cnnstat summary vgg16``
skips YAML validation and the engine.

An entry's key is the SHA-256 of everything the result depends on -- the bytes of every Python
file of the installed package (any code change is a new key), the spec file's bytes, the
variant, the input override, the batch and the parameter overrides -- and an entry holds the
result of exactly that computation.

What an entry may decide, and what it may not: entries are data, never code (JSON through
:mod:`cnnstat.analysis.cache_codec`: no pickle, no ``eval``), each file beginning with a line
that names its key and the SHA-256 of its key and content, checked on every read; a missing,
unreadable, corrupt, oversized, foreign or mismatched entry is ignored (the spec is analysed as
usual) and rewritten.  The directory is used only when the user owns it and nobody else can
write it (:mod:`cnnstat.analysis.cache_store`).  The digest detects damage, not forgery: whoever
can write the directory can write a valid entry, so the cache only ever speeds up what a command
prints.  ``check`` and ``verify``, whose exit status others rely on, run under :func:`bypassed`
and compute every figure they judge.

Where: ``$CNNSTAT_CACHE_DIR``, else ``$XDG_CACHE_HOME/cnnstat``, else ``~/.cache/cnnstat``
(created with mode 0700).  ``CNNSTAT_NO_CACHE=1`` turns it off.  Only built-in specs are cached,
with at most one entry per key; ``rm -r`` of the directory is always safe.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from cnnstat import zoo
from cnnstat.analysis import cache_codec, cache_store

if TYPE_CHECKING:
    from cnnstat.core.report import Brief

FORMAT = 2  # bump when the entry layout changes (1: pickles)
PACKAGE = Path(__file__).resolve().parents[1]
MAGIC = "cnnstat-cache"


@dataclass(frozen=True)
class Entry:
    """A cached analysis: the brief (for ``list`` and the diagnostics), and the source map and
    the full report kept encoded (:mod:`cnnstat.analysis.cache_codec`), decoded only when a
    command shows more than the brief."""

    key: str
    brief: Brief
    source: bytes
    report: bytes


def directory() -> Path | None:
    """The cache directory, or None when caching is off."""
    if os.environ.get("CNNSTAT_NO_CACHE"):
        return None
    explicit = os.environ.get("CNNSTAT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cnnstat"


_BYPASSED = 0


@contextmanager
def bypassed() -> Iterator[None]:
    """Inside: the cache is neither read nor written (the gate commands, ``check`` and
    ``verify``, compute every figure they judge)."""
    global _BYPASSED
    _BYPASSED += 1
    try:
        yield
    finally:
        _BYPASSED -= 1


def enabled() -> bool:
    """Whether results may come from the cache here and now (not bypassed, not turned off)."""
    return not _BYPASSED and directory() is not None


def _store() -> cache_store.Store | None:
    where = directory()
    return None if _BYPASSED or where is None else cache_store.open_store(where)


@lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-256 over the package's own Python files (paths and bytes), in a stable order."""
    digest = hashlib.sha256(f"cnnstat-cache-{FORMAT}".encode())
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


_ZOO: dict[str, zoo.ZooEntry] | None = None


def zoo_index() -> dict[str, zoo.ZooEntry]:
    """Every built-in name (``zoo.entries()``), from the cache when the spec files are unchanged:
    listing the variants reads the YAML of every file, which costs more than the list itself.
    Bypassed (a gate command), read from the files."""
    global _ZOO
    if _BYPASSED:
        return {e.name: e for e in zoo.entries()}
    if _ZOO is None:
        base = zoo.specs_dir()
        digest = hashlib.sha256(f"{code_digest()}\0{base}".encode())
        for path in sorted(base.glob("*.yaml")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        key = "zoo-" + digest.hexdigest()
        hit = _read_value(key)
        if isinstance(hit, dict) and all(
                isinstance(e, zoo.ZooEntry) and e.name == name and e.path.parent == base
                for name, e in hit.items()):
            _ZOO = hit
        else:
            _ZOO = {e.name: e for e in zoo.entries()}
            _write_value(key, _ZOO)
    return _ZOO


def key_for(spec: str, input: tuple[int, ...] | None, batch: int,
            set: Mapping[str, object] | None) -> str | None:
    """The key of a built-in ``spec`` with these arguments; None when it is not cacheable (not
    a built-in name, or overrides that have no exact text form)."""
    if zoo.names_a_file(spec):
        return None
    entry = zoo_index().get(zoo.normalise(spec))
    if entry is None:
        return None
    overrides = sorted((str(k), repr(v)) for k, v in (set or {}).items())
    if not all(isinstance(v, (int, float, str, bool, type(None))) for v in (set or {}).values()):
        return None
    digest = hashlib.sha256(code_digest().encode())
    digest.update(entry.path.read_bytes())
    digest.update(repr((entry.name, entry.variant, input, batch, overrides)).encode())
    return digest.hexdigest()


def get(key: str) -> Entry | None:
    """The entry stored under ``key``, or None (missing, unreadable, corrupt or mismatched)."""
    from cnnstat.core.report import Brief

    parts = _read(key)
    if parts is None or len(parts) != 3:
        return None
    try:
        brief = cache_codec.decode(parts[0])
    except ValueError:
        return None
    if not isinstance(brief, Brief):
        return None
    return Entry(key, brief, parts[1], parts[2])


def put(entry: Entry) -> None:
    """Store ``entry``; a cache that cannot be written is silently skipped."""
    try:
        brief = cache_codec.encode(entry.brief)
    except (TypeError, ValueError, RecursionError):
        return
    _write(entry.key, [brief, entry.source, entry.report])


def get_part(key: str, part: str) -> object:
    """A derived result stored beside the entry ``key`` (its receptive-field sizes, say), or
    None; the caller checks what it gets, as :func:`get` does."""
    return _read_value(f"{key}-{part}")


def put_part(key: str, part: str, value: object) -> None:
    """Store a derived result of the entry ``key``: the same key, so never stale."""
    _write_value(f"{key}-{part}", value)


def _read_value(key: str) -> object:
    parts = _read(key)
    if parts is None or len(parts) != 1:
        return None
    try:
        return cache_codec.decode(parts[0])
    except ValueError:
        return None


def _write_value(key: str, value: object) -> None:
    try:
        data = cache_codec.encode(value)
    except (TypeError, ValueError, RecursionError):
        return  # a value the format cannot hold is simply not cached
    _write(key, [data])


def _digest(key: str, body: bytes) -> str:
    """SHA-256 of the format, the key and the content: an entry renamed to another key, cut
    short or altered does not match."""
    return hashlib.sha256(f"{MAGIC}/{FORMAT}\0{key}\0".encode() + body).hexdigest()


def _read(key: str) -> list[bytes] | None:
    """The parts (lines) of the entry ``key``, or None when it is missing or does not verify."""
    store = _store()
    data = store.read(f"{key}.json") if store is not None else None
    if data is None:
        return None
    head, newline, body = data.partition(b"\n")
    try:
        header = json.loads(head)
    except ValueError:
        return None
    if not newline or not isinstance(header, dict) or header.get(MAGIC) != FORMAT \
            or header.get("key") != key or not isinstance(header.get("sha256"), str) \
            or not hmac.compare_digest(header["sha256"], _digest(key, body)):
        return None
    return body.split(b"\n")[:-1] if body.endswith(b"\n") else None


def _write(key: str, parts: Sequence[bytes]) -> None:
    store = _store()
    if store is None:
        return
    body = b"".join(p + b"\n" for p in parts)
    header = json.dumps({MAGIC: FORMAT, "key": key, "sha256": _digest(key, body)})
    try:
        store.write(f"{key}.json", header.encode() + b"\n" + body)
    except OSError:
        return
