"""A content-addressed cache of analysed built-in specs, so a cold ``cnnstat summary vgg16``
skips YAML validation and the engine.

It can never change a number: an entry's key is the SHA-256 of everything the result depends
on -- the bytes of every Python file of the installed package (any code change is a new key),
the spec file's bytes, the variant, the input override, the batch and the parameter overrides
-- and an entry holds the result of exactly that computation.  A missing, unreadable, corrupt or
mismatched entry is ignored (the spec is analysed as usual) and rewritten.  Entries are written
to a temporary file in the cache directory, flushed, then renamed over the old one, so a reader
never sees half an entry.

Where: ``$CNNSTAT_CACHE_DIR``, else ``$XDG_CACHE_HOME/cnnstat``, else ``~/.cache/cnnstat``
(created with mode 0700: only the user's own processes write the entries they load).
``CNNSTAT_NO_CACHE=1`` turns it off.  Only built-in specs are cached, with at most one entry
per key; ``rm -r`` of the directory is always safe.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from cnnstat import zoo
from cnnstat.analysis.atomic import write_bytes

if TYPE_CHECKING:
    from cnnstat.core.report import Brief
    from cnnstat.spec.positions import SourceMap

FORMAT = 1  # bump when the entry layout changes
PACKAGE = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Entry:
    """A cached analysis: the brief (for ``list`` and the diagnostics), the source map, and
    the full report pickled apart, unpickled only when a command shows more than the brief."""

    key: str
    brief: Brief
    source: SourceMap
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
    listing the variants reads the YAML of every file, which costs more than the list itself."""
    global _ZOO
    if _ZOO is None:
        base = zoo.specs_dir()
        digest = hashlib.sha256(f"{code_digest()}\0{base}".encode())
        for path in sorted(base.glob("*.yaml")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        key = "zoo-" + digest.hexdigest()
        hit = _read(key)
        if isinstance(hit, dict):
            _ZOO = hit
        else:
            _ZOO = {e.name: e for e in zoo.entries()}
            _write(key, _ZOO)
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
    entry = _read(key)
    return entry if isinstance(entry, Entry) and entry.key == key else None


def put(entry: Entry) -> None:
    """Store ``entry`` atomically; a cache that cannot be written is silently skipped."""
    _write(entry.key, entry)


def get_part(key: str, part: str) -> object:
    """A derived result stored beside the entry ``key`` (its receptive-field sizes, say), or
    None; the caller checks what it gets, as :func:`get` does."""
    return _read(f"{key}-{part}")


def put_part(key: str, part: str, value: object) -> None:
    """Store a derived result of the entry ``key``: the same key, so never stale."""
    _write(f"{key}-{part}", value)


def _read(key: str) -> object:
    where = directory()
    if where is None:
        return None
    try:
        with open(where / f"{key}.pickle", "rb") as fh:
            return pickle.load(fh)  # noqa: S301 - our own entries, in a 0700 directory
    except Exception:  # noqa: BLE001 - any damage means: compute again
        return None


def _write(key: str, value: object) -> None:
    where = directory()
    if where is None:
        return
    try:
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        write_bytes(where / f"{key}.pickle", data, mode=0o600)
    except (OSError, pickle.PicklingError, RecursionError):
        return
