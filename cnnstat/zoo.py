"""The built-in specs: YAML files in ``specs/`` (shipped inside the wheel as ``cnnstat/specs``).

A built-in name is a file stem (``vgg16``) or a file stem plus one of its ``variants``
(``efficientnet-b3`` is ``efficientnet.yaml`` with variant ``b3``).  Underscores and dashes are
interchangeable (``vgg16_bn`` is ``vgg16-bn``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def specs_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "specs", here.parent / "specs"):
        if candidate.is_dir():
            return candidate
    return here / "specs"


@dataclass(frozen=True)
class ZooEntry:
    name: str
    path: Path
    variant: str | None = None


def names_a_file(spec: str) -> bool:
    """Whether a SPEC argument is a file (``-``, a path, ``net.yaml``, ``net.yaml#variant``, an
    existing file) rather than a built-in name: the one rule the loader and the cache share."""
    bare = spec.rpartition("#")[0] or spec
    return (spec == "-" or "/" in spec or bare.endswith((".yaml", ".yml"))
            or Path(spec).exists())


def normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def find(name: str) -> ZooEntry | None:
    """The built-in spec called ``name``, or None."""
    key = normalise(name)
    base = specs_dir()
    direct = base / f"{key}.yaml"
    if direct.is_file():
        return ZooEntry(key, direct)
    stem, _, variant = key.rpartition("-")
    while stem:
        path = base / f"{stem}.yaml"
        if path.is_file() and variant in _variants(path):
            return ZooEntry(key, path, variant)
        stem, _, more = stem.rpartition("-")
        variant = f"{more}-{variant}"
    return None


def _variants(path: Path) -> list[str]:
    import yaml  # only when variants are listed: a plain built-in name needs no YAML reader

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - a safe loader
    return [normalise(v) for v in (data.get("variants") or {})] if isinstance(data, dict) else []


def entries() -> list[ZooEntry]:
    """Every built-in spec (its defaults) and each of its variants, in name order."""
    out = []
    for path in sorted(specs_dir().glob("*.yaml")):
        out.append(ZooEntry(path.stem, path))
        out.extend(ZooEntry(f"{path.stem}-{v}", path, v) for v in _variants(path))
    return sorted(out, key=lambda e: e.name)


def names() -> list[str]:
    return [e.name for e in entries()]
