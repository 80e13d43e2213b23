"""From a SPEC argument (built-in name, path or '-') to a validated, expanded spec."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


from cnnstat import zoo
from cnnstat.core.ir import Seq
from cnnstat.errors import (
    Diagnostic,
    SpecError,
    SpecPath,
    UsageError,
    spec_error,
)
from cnnstat.spec.budget import Budget, check_size
from cnnstat.spec.expand import expand
from cnnstat.spec.values import as_int, value
from cnnstat.spec.memo import Memo
from cnnstat.spec.lint import unused_blocks
from cnnstat.spec.models import Figure, Metric, SpecModel, VariantModel
from cnnstat.spec.names import check_unique
from cnnstat.spec.positions import Position, SourceMap
from cnnstat.spec.reading import read_file, read_stdin
from cnnstat.spec.source import MAX_BYTES, load_yaml
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
    inputs: tuple[tuple[str, tuple[int, ...]], ...] = ()  # (name, shape), the first is input_shape
    outputs: tuple[str, ...] = ()  # the named outputs (empty: the last layer)

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
            if metric == "top1":  # published, never computed: see top1
                continue
            if isinstance(figs, list):
                out.extend((metric, fig, (*base, metric, i)) for i, fig in enumerate(figs))
            else:
                out.append((metric, figs, (*base, metric)))
        return out

    @property
    def top1(self) -> Figure | None:
        """The published top-1 accuracy in percent (``reference: {top1: ...}``), or None."""
        table = self.variant.reference if self.variant is not None else self.model.reference
        fig = table.get("top1")
        return fig if isinstance(fig, Figure) else None

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


def read_source(spec: str) -> tuple[str, bytes, str | None]:
    """(display name, raw bytes, variant) for a SPEC argument; UsageError if it cannot be read."""
    if spec == "-":
        return "<stdin>", read_stdin(MAX_BYTES), None
    path = Path(spec)
    if not zoo.names_a_file(spec):
        entry = zoo.find(spec)
        if entry is None:
            raise UsageError(f"no built-in spec named '{spec}'",
                             suggest(zoo.normalise(spec), zoo.names(), n=3) or
                             "'cnnstat list' shows the built-in specs; give a path for a file")
        return str(entry.path), entry.path.read_bytes(), entry.variant
    file, hash_, variant = spec.rpartition("#")
    if hash_ and file and not path.exists():  # 'net.yaml#small': a variant, as 'resnet50-v1'
        if not variant:
            raise UsageError(f"{spec}: no variant after '#'", "write FILE#VARIANT, e.g. "
                             f"{file}#small, or FILE alone for its defaults")
        return file, _read_path(file), zoo.normalise(variant)
    return spec, _read_path(spec), None


def _read_path(spec: str) -> bytes:
    if Path(spec).is_dir():
        raise UsageError(f"{spec}: is a directory, not a spec file",
                         "give a .yaml file (cnnstat check takes directories)")
    return read_file(spec, MAX_BYTES)


def decode(raw: bytes, name: str) -> str:
    """The text of a spec file; E105 when it is over the size limit (the readers stop one byte
    past it), E103 when it is not UTF-8."""
    if len(raw) > MAX_BYTES:
        smap = SourceMap(name, raw[:200].decode("utf-8", errors="replace").partition("\n")[0])
        smap.values[("<bytes>",)] = Position(1, 1)
        err = spec_error("E105", f"file is larger than {MAX_BYTES // 1024 // 1024} MiB",
                         ("<bytes>",), hint="a spec this large is not written by hand; use "
                         "repeat and named blocks")
        err.source = smap
        raise err
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
    return build(parsed, variant_key(parsed, name, variant), overrides, input_shape)


def variant_key(parsed: Parsed, name: str, variant: str | None) -> str | None:
    """The key under ``variants:`` of a normalised variant name (None for the defaults);
    UsageError for a variant the file does not have."""
    if variant is None:
        return None
    keys = {zoo.normalise(k): k for k in parsed.model.variants}
    if variant not in keys:
        raise UsageError(f"{name}: no variant '{variant}'",
                         suggest(variant, keys, n=3) or
                         (f"its variants: {', '.join(parsed.model.variants)}" if keys
                          else "this spec has no variants"))
    return keys[variant]


def prepare(spec: str) -> tuple[Parsed, str | None]:
    """Read and validate ``spec`` once, for many configurations (``cnnstat sweep``): the parsed
    file and the key of the variant the SPEC argument names."""
    name, raw, variant = read_source(spec)
    parsed = parse(raw, name)
    return parsed, variant_key(parsed, name, variant)


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
          input_shape: tuple[int, ...] | None = None, budget: Budget | None = None,
          memo: Memo | None = None) -> Loaded:
    """Expand ``parsed`` with its defaults, or with ``variant`` (a key under ``variants:``);
    ``budget`` caps the work of all the configurations of one file together; ``memo`` reuses
    block expansions across many configurations of it (a sweep)."""
    try:
        return _build(parsed.model, parsed.source, variant, overrides or {}, input_shape,
                      budget, memo)
    except SpecError as exc:
        raise _located(exc, parsed.source) from None
    except RecursionError:
        raise _located(spec_error("E207", "the spec is nested too deeply to expand"),
                       parsed.source) from None


def _located(exc: SpecError, smap: SourceMap) -> SpecError:
    exc.source = smap
    return exc


def _build(model: SpecModel, smap: SourceMap, variant: str | None,
           overrides: dict[str, object], input_override: tuple[int, ...] | None,
           budget: Budget | None, memo: Memo | None = None) -> Loaded:
    chosen = model.variants[variant] if variant is not None else None
    _check_scaling(model)
    env = _environment(model, chosen, variant, overrides)
    inputs = _inputs(model, env, input_override)
    graph = _graph(model, env, budget, memo)
    name = f"{model.name}-{zoo.normalise(variant)}" if variant else model.name
    lint = memo.lint if memo is not None and memo.lint is not None else \
        tuple(unused_blocks(model))
    if memo is not None:
        memo.lint = lint
    return Loaded(model, name, graph, inputs[0][1], env, smap, chosen, variant,
                  lint, inputs, tuple(model.outputs or ()))


def _graph(model: SpecModel, env: dict[str, object], budget: Budget | None,
           memo: Memo | None) -> Seq:
    """The expanded graph, its names checked; with a memo (and no file budget to charge), the
    graph of the same parameters is expanded once."""
    key: tuple[Any, ...] | None = None
    if memo is not None and budget is None:
        key = tuple(sorted(env.items()))
        try:
            hit = memo.graphs.get(key)
        except TypeError:  # an unhashable value
            key, hit = None, None
        if hit is not None:
            return hit
    graph = expand(model, env, budget, memo)
    check_unique(graph, memo.names if memo is not None else None)
    if key is not None and memo is not None:
        if len(memo.graphs) >= memo.limit:
            memo.graphs.clear()
        memo.graphs[key] = graph
    return graph


def _check_scaling(model: SpecModel) -> None:
    """E206: a ``scaling:`` knob that is not a parameter, or a variant there that is not one of
    the spec's variants."""
    if model.scaling is None:
        return
    for knob in ("width", "depth", "resolution"):
        name = getattr(model.scaling, knob)
        if name is not None and name not in model.params:
            raise spec_error("E206", f"scaling: {knob} names '{name}', which is not a parameter",
                             ("scaling", knob), hint=suggest(name, model.params) or
                             "name one of the spec's params")
    for i, key in enumerate(model.scaling.variants):
        if key not in model.variants:
            raise spec_error("E206", f"scaling: variants lists '{key}', which is not a variant",
                             ("scaling", "variants", i), hint=suggest(key, model.variants) or
                             "list keys of the spec's variants")


def _inputs(model: SpecModel, env: dict[str, object],
            override: tuple[int, ...] | None) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """(name, shape) of every input: 'input' for ``input:``, else each of ``inputs:``."""
    if (model.input is None) == (model.inputs is None):
        raise spec_error("E203" if model.input is None else "E202",
                         "a spec has either 'input' (one input) or 'inputs' (named inputs)"
                         if model.input is not None else "missing required key 'input'", (),
                         hint="write input: [C, H, W], or inputs: {name: [C, H, W], ...}")
    written = {"input": model.input} if model.input is not None else dict(model.inputs or {})
    if override is not None and len(written) > 1:
        raise UsageError(f"--input: this spec has {len(written)} inputs "
                         f"({', '.join(written)}); --input sets the shape of a one-input spec",
                         "change the shapes under 'inputs:' in the spec (or --set a parameter "
                         "they use)")
    out = []
    for key, dims in written.items():
        base: SpecPath = ("input",) if model.input is not None else ("inputs", key)
        if len(dims) == 2:
            raise spec_error("E202", "an input is [C, H, W] or [features]; [H, W] gives no "
                             "channels", base, hint="add the channel count: [3, H, W] for an RGB "
                             "image, [1, H, W] for a grey one")
        shape = tuple(as_int(d, env, (*base, i), "input size") for i, d in enumerate(dims))
        if override is not None:
            shape = _override_input(shape, override)
        for i, d in enumerate(shape):
            if d < 1:
                raise spec_error("E406", f"input sizes must be positive, got {d}", (*base, i))
            check_size(d, (*base, i), "input size")
        out.append((key, shape))
    return tuple(out)


def _override_input(shape: tuple[int, ...], override: tuple[int, ...]) -> tuple[int, ...]:
    """The spec's input with ``override`` as its trailing sizes (C x H x W, H x W or features);
    UsageError for an empty override, one number for an image (not a square: ambiguous), or one
    that leaves an image without channels."""
    if not override or len(override) > 3 or any(d < 1 for d in override):
        raise UsageError(f"input {'x'.join(map(str, override)) or '(empty)'}: expected one to "
                         "three positive sizes, e.g. 3x224x224")
    if len(override) == 1 and len(shape) == 3:
        # One number is a feature count (an input of [N]); read as H or W it would silently
        # change one side only, read as a square it would mean two things.  Ask for both.
        n = override[0]
        raise UsageError(f"input {n}: the spec's input is {'x'.join(map(str, shape))} (C x H x "
                         "W); one number sets the features of an input of [N]",
                         f"give H x W, e.g. {n}x{n} (keeping the {shape[0]} channels), or "
                         f"C x H x W, e.g. {shape[0]}x{n}x{n}")
    out = override if len(override) >= len(shape) else (*shape[: len(shape) - len(override)],
                                                          *override)
    if len(out) == 2:
        raise UsageError(f"input {'x'.join(map(str, override))}: the spec's input is "
                         f"[{shape[0]}] (features), so H x W leaves no channels",
                         "give CxHxW, e.g. 3x32x32, or the number of features")
    return out


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
