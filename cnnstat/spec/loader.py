"""From a SPEC argument (built-in name, path or '-') to a validated, expanded spec."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import yaml

from cnnstat import zoo
from cnnstat.core.ir import Seq
from cnnstat.errors import (
    Diagnostic,
    SpecError,
    SpecPath,
    UsageError,
    spec_error,
)
from cnnstat.spec.expand import as_int, check_size, expand, value
from cnnstat.spec.lint import unused_blocks
from cnnstat.spec.models import Figure, Metric, SpecModel, VariantModel
from cnnstat.spec.positions import Position, SourceMap
from cnnstat.spec.source import load_yaml
from cnnstat.spec.validate import suggest, validate


@dataclass(frozen=True)
class Parsed:
    """A spec file read and validated at the top level, before any variant is chosen."""

    model: SpecModel
    source: SourceMap


@dataclass(frozen=True)
class Loaded:
    """A spec ready for analysis (with its variant's title and figures, when one was chosen)."""

    model: SpecModel
    name: str
    graph: Seq
    input_shape: tuple[int, ...]
    env: dict[str, object]
    source: SourceMap
    variant: VariantModel | None = None
    variant_key: str | None = None  # the key under ``variants:``, as written
    lint: tuple[Diagnostic, ...] = ()  # warnings about the file itself (W504 unused block)

    @property
    def title(self) -> str:
        return (self.variant.title if self.variant and self.variant.title else self.model.title)

    @property
    def reference(self) -> list[tuple[str, Figure]]:
        """(metric, figure) pairs: the variant's when a variant was chosen, else the spec's."""
        return [(metric, fig) for metric, fig, _ in self.figures()]

    def figures(self) -> list[tuple[str, Figure, SpecPath]]:
        """(metric, figure, spec path of the figure), so a check can point at its line."""
        base = self._base("reference")
        table = self.variant.reference if self.variant is not None else self.model.reference
        out: list[tuple[str, Figure, SpecPath]] = []
        for metric, figs in table.items():
            if isinstance(figs, list):
                out.extend((metric, fig, (*base, metric, i)) for i, fig in enumerate(figs))
            else:
                out.append((metric, figs, (*base, metric)))
        return out

    @property
    def expect(self) -> dict[Metric, int]:
        return dict(self.variant.expect) if self.variant is not None else dict(self.model.expect)

    def expect_paths(self) -> list[tuple[str, int, SpecPath]]:
        base = self._base("expect")
        return [(metric, pin, (*base, metric)) for metric, pin in self.expect.items()]

    def budget(self) -> list[tuple[str, int, SpecPath]]:
        """(metric, limit, path): the spec's budget, each metric overridden by the variant's."""
        out: dict[str, tuple[int, SpecPath]] = {m: (v, ("budget", m))
                                                for m, v in self.model.budget.items()}
        if self.variant is not None:
            out.update({m: (v, self._base("budget") + (m,)) for m, v in self.variant.budget.items()})
        return [(metric, limit, path) for metric, (limit, path) in out.items()]

    def _base(self, section: str) -> SpecPath:
        return ("variants", self.variant_key, section) if self.variant_key else (section,)


def _stdin() -> BinaryIO:
    """Standard input as bytes; a closed one (``<&-``) is a usage error, not a crash."""
    if sys.stdin is None or sys.stdin.closed:
        raise UsageError("cannot read the spec from standard input: it is closed",
                         "pipe a spec in (cnnstat summary - < net.yaml), or give a path")
    return sys.stdin.buffer


def read_source(spec: str) -> tuple[str, bytes, str | None]:
    """(display name, raw bytes, variant) for a SPEC argument; UsageError if it cannot be read."""
    if spec == "-":
        return "<stdin>", _stdin().read(), None
    path = Path(spec)
    looks_like_path = path.suffix in (".yaml", ".yml") or "/" in spec or path.exists()
    if not looks_like_path:
        entry = zoo.find(spec)
        if entry is None:
            raise UsageError(f"no built-in spec named '{spec}'",
                             suggest(zoo.normalise(spec), zoo.names(), n=3) or
                             "'cnnstat list' shows the built-in specs; give a path for a file")
        return str(entry.path), entry.path.read_bytes(), entry.variant
    if path.is_dir():
        raise UsageError(f"{spec}: is a directory, not a spec file",
                         "give a .yaml file (cnnstat check takes directories)")
    try:
        return spec, path.read_bytes(), None
    except OSError as exc:
        raise UsageError(f"{spec}: cannot read: {exc.strerror or exc}") from None


def decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        smap = SourceMap(name, raw.decode("utf-8", errors="replace"))
        smap.values[("<bytes>",)] = Position(line, col)
        err = spec_error("E103", f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})", ("<bytes>",),
                         hint="save the file as UTF-8")
        err.source = smap
        raise err from None


def parse_set(items: tuple[str, ...] | list[str]) -> dict[str, object]:
    """``--set k=v`` pairs; values are read as YAML scalars (3, 0.75, true, text)."""
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


def parse_input(text: str) -> tuple[int, ...]:
    """'3x224x224' (C x H x W), or '224' / '224x224' keeping the spec's channels."""
    try:
        dims = tuple(int(p) for p in text.lower().replace(",", "x").split("x"))
    except ValueError:
        raise UsageError(f"--input {text!r}: expected CxHxW, e.g. 3x224x224") from None
    if not dims or any(d < 1 for d in dims) or len(dims) > 3:
        raise UsageError(f"--input {text!r}: expected one to three positive sizes, e.g. 3x224x224")
    return dims


def load(spec: str, overrides: dict[str, object] | None = None,
         input_shape: tuple[int, ...] | None = None) -> Loaded:
    """Read, validate and expand ``spec``. SpecError (rejected) or UsageError (could not run)."""
    name, raw, variant = read_source(spec)
    return load_text(decode(raw, name), name, variant, overrides, input_shape)


def load_text(text: str, name: str, variant: str | None = None,
              overrides: dict[str, object] | None = None,
              input_shape: tuple[int, ...] | None = None) -> Loaded:
    """Validate and expand spec text already in memory (``cnnstat explain`` writes one);
    ``variant`` is a normalised variant name as in a built-in name."""
    parsed = parse_text(text, name)
    key = None
    if variant is not None:
        key = {zoo.normalise(k): k for k in parsed.model.variants}[variant]
    return build(parsed, key, overrides, input_shape)


def parse(raw: bytes, name: str) -> Parsed:
    """Decode, read the YAML and validate the top level. Raises SpecError (located)."""
    return parse_text(decode(raw, name), name)


def parse_text(text: str, name: str) -> Parsed:
    """Read the YAML of ``text`` and validate the top level. Raises SpecError (located)."""
    data, smap = load_yaml(text, name)
    try:
        if not isinstance(data, dict):
            raise spec_error("E104", "a spec is a mapping with at least 'name', 'input' and "
                             "'layers'", ())
        model = validate(SpecModel, data, (), "spec")
    except SpecError as exc:
        raise _located(exc, smap) from None
    assert isinstance(model, SpecModel)
    return Parsed(model, smap)


def build(parsed: Parsed, variant: str | None = None,
          overrides: dict[str, object] | None = None,
          input_shape: tuple[int, ...] | None = None) -> Loaded:
    """Expand ``parsed`` with its defaults, or with ``variant`` (a key under ``variants:``)."""
    try:
        return _build(parsed.model, parsed.source, variant, overrides or {}, input_shape)
    except SpecError as exc:
        raise _located(exc, parsed.source) from None
    except RecursionError:
        raise _located(spec_error("E207", "the spec is nested too deeply to expand"),
                       parsed.source) from None


def _located(exc: SpecError, smap: SourceMap) -> SpecError:
    exc.source = smap
    return exc


def _build(model: SpecModel, smap: SourceMap, variant: str | None,
           overrides: dict[str, object], input_override: tuple[int, ...] | None) -> Loaded:
    chosen = model.variants[variant] if variant is not None else None
    env = _environment(model, chosen, variant, overrides)
    shape = tuple(as_int(d, env, ("input", i), "input size") for i, d in enumerate(model.input))
    if input_override:
        shape = input_override if len(input_override) == len(shape) else \
            (*shape[: len(shape) - len(input_override)], *input_override)
    for i, d in enumerate(shape):
        if d < 1:
            raise spec_error("E406", f"input sizes must be positive, got {d}", ("input", i))
        check_size(d, ("input", i), "input size")
    graph = expand(model, env)
    name = f"{model.name}-{zoo.normalise(variant)}" if variant else model.name
    return Loaded(model, name, graph, shape, env, smap, chosen, variant,
                  tuple(unused_blocks(model)))


def _environment(model: SpecModel, variant: VariantModel | None, variant_key: str | None,
                 overrides: dict[str, object]) -> dict[str, object]:
    raw: dict[str, object] = dict(model.params)
    if variant is not None:
        for key in variant.set:
            if key not in raw:
                raise spec_error("E206", f"variant sets '{key}', which is not a parameter",
                                 ("variants", str(variant_key), "set", key),
                                 hint=suggest(key, raw))
        raw.update(variant.set)
    for key in overrides:
        if key not in raw:
            raise UsageError(f"--set {key}: the spec has no parameter '{key}'",
                             suggest(key, raw) or ("parameters: " + ", ".join(raw) if raw
                                                   else "this spec has no parameters"))
    raw.update(overrides)
    env: dict[str, object] = {}
    for key, v in raw.items():
        env[key] = value(v, env, ("params", key))
    return env
