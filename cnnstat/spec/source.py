"""Read YAML into plain data while remembering where every value came from.

PyYAML's composer gives nodes with marks; we convert nodes to Python values ourselves so that
(1) every value's spec path maps to a (line, column), (2) duplicate keys are errors rather than
silently keeping the last, and (3) alias expansion is bounded (a "billion laughs" document is
rejected instead of eating memory).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import yaml

from cnnstat.errors import SpecError, SpecPath, spec_error
from cnnstat.spec.positions import Position, SourceMap

if TYPE_CHECKING:
    from yaml._yaml import Mark as _CMark  # the marks of events parsed by libyaml

MAX_NODES = 200_000  # values after alias expansion
MAX_COMPOSED = 50_000  # YAML nodes as written (pure-Python parsing costs ~70 us per node)
MAX_DEPTH = 64
MAX_BYTES = 1024 * 1024  # the largest built-in spec is ~14 KB


def _pos(mark: yaml.Mark | _CMark | None) -> Position:
    return Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)


class _Converter:
    def __init__(self, smap: SourceMap) -> None:
        self.smap = smap
        self.count = 0

    def convert(self, node: yaml.Node, path: SpecPath, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise spec_error("E105", f"document expands to more than {MAX_NODES} values "
                             "(YAML aliases or a very large file)", path,
                             hint="write the spec out without deeply nested aliases")
        if depth > MAX_DEPTH:
            raise spec_error("E105", f"nesting deeper than {MAX_DEPTH} levels", path,
                             hint="flatten the spec; use named blocks for reuse")
        self.smap.values.setdefault(path, _pos(node.start_mark))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self.scalar(node, path)

    def scalar(self, node: yaml.Node, path: SpecPath) -> Any:
        """The value of a scalar node; an unknown tag or a malformed tagged value is E202."""
        try:
            return _scalar(node)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            self.smap.values.setdefault(path, _pos(node.start_mark))
            problem = getattr(exc, "problem", None) or str(exc)
            raise spec_error("E202", f"cannot read {node.tag!r} value: {problem}", path,
                             hint="write plain YAML values: no tags such as !!python/...") \
                from None

    def _mapping(self, node: yaml.MappingNode, path: SpecPath, depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.smap.values.setdefault((*path, "<<"), _pos(key_node.start_mark))
                raise spec_error("E202", "YAML merge keys ('<<') are not supported", (*path, "<<"),
                                 hint="use a named block with arguments instead")
            key = self.scalar(key_node, (*path, "?")) if isinstance(key_node, yaml.ScalarNode) \
                else None
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                self.smap.values.setdefault((*path, "?"), _pos(key_node.start_mark))
                raise spec_error("E202", "mapping keys must be plain names", (*path, "?"))
            child = (*path, key)
            if key in out:
                first = self.smap.keys[child]
                self.smap.keys[child] = _pos(key_node.start_mark)
                raise spec_error("E102", f"duplicate key '{key}' (first defined at line "
                                 f"{first.line})", child, hint="remove one of the two entries")
            self.smap.keys[child] = _pos(key_node.start_mark)
            out[key] = self.convert(value_node, child, depth + 1)
        return out


_CONSTRUCTOR = yaml.SafeLoader("")


class _TooMany(Exception):
    def __init__(self, mark: yaml.Mark | None) -> None:
        super().__init__("too many YAML nodes")
        self.mark = mark


class _CountingLoader(yaml.SafeLoader):
    """Stops composing after MAX_COMPOSED nodes, so a huge file fails in bounded time."""

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        self.composed = getattr(self, "composed", 0) + 1
        if self.composed > MAX_COMPOSED:
            raise _TooMany(self.peek_event().start_mark)  # type: ignore[no-untyped-call]
        # the stubs say int; PyYAML passes the key node (mappings) or None (documents) too
        return super().compose_node(parent, index)  # type: ignore[arg-type]


def _scalar(node: yaml.Node) -> Any:
    return _CONSTRUCTOR.construct_object(node, deep=True)


# Flow brackets outside quoted scalars and comments (a quote or '#' counts where a token starts).
_FLOW = re.compile(r"""(?:(?<=[\s\[{,:])|^)(?:'[^']*'|"(?:[^"\\\n]|\\.)*"|\#[^\n]*)|[\[\]{}]""",
                   re.M)


def _flow_overflow(text: str) -> int | None:
    """The offset where flow collections ([...] and {...}) nest deeper than MAX_DEPTH, if they do.

    PyYAML's scanner keeps a pending simple key per open flow level and rescans them for every
    token, so deep flow nesting costs seconds before its composer overflows the stack; this
    look at the brackets (a regular expression, no parsing) fails such a file at once.
    """
    depth = 0
    for match in _FLOW.finditer(text):
        c = match.group()
        if c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return match.start()
        elif c in "]}":
            depth = max(0, depth - 1)
    return None


def _offset_position(text: str, offset: int) -> Position:
    before = text[:offset]
    return Position(before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1)


def _too_deep(text: str) -> Position:
    """Where nesting first goes past MAX_DEPTH (the event stream is flat: no recursion)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                return _pos(event.start_mark)
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
    return Position(1, 1)


def load_yaml(text: str, name: str) -> tuple[Any, SourceMap]:
    """Parse ``text``; return the data and its source map. Raises SpecError (E1xx)."""
    smap = SourceMap(name=name, text=text)
    try:
        return _parse(text, smap), smap
    except SpecError as exc:
        exc.source = smap
        raise


def _parse(text: str, smap: SourceMap) -> Any:
    if len(text) > MAX_BYTES:
        raise spec_error("E105", f"file is larger than {MAX_BYTES // 1024 // 1024} MiB")
    overflow = _flow_overflow(text)
    if overflow is not None:
        smap.values[("<yaml>",)] = _offset_position(text, overflow)
        raise spec_error("E105", f"nesting deeper than {MAX_DEPTH} levels", ("<yaml>",),
                         hint="flatten the spec; use named blocks for reuse")
    try:
        node = yaml.compose(text, Loader=_CountingLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        smap.values[("<yaml>",)] = _pos(mark)
        problem = exc.problem or "invalid YAML"
        start = exc.context_mark
        if exc.context and start is not None and mark is not None and start.line != mark.line:
            problem += f" ({exc.context} started at line {start.line + 1}, column " \
                f"{start.column + 1})"
        hint = "indent with spaces, not tabs" if "\t" in smap.line_text(_pos(mark).line) else None
        raise spec_error("E101", f"YAML syntax error: {problem}", ("<yaml>",), hint=hint) from None
    except yaml.reader.ReaderError as exc:  # a byte YAML forbids (NUL, most control characters)
        smap.values[("<yaml>",)] = _offset_position(text, exc.position)
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise spec_error("E101", f"character U+{ord(char):04X} is not allowed in YAML",
                         ("<yaml>",), hint="remove control characters from the file") from None
    except yaml.YAMLError as exc:
        raise spec_error("E101", f"YAML error: {exc}") from None
    except _TooMany as exc:
        smap.values[("<yaml>",)] = _pos(exc.mark)
        raise spec_error("E105", f"more than {MAX_COMPOSED:,} YAML values", ("<yaml>",),
                         hint="a spec this large is not written by hand; use repeat and "
                         "named blocks") from None
    except RecursionError:  # PyYAML's composer recurses once per level of nesting
        smap.values[("<yaml>",)] = _too_deep(text)
        raise spec_error("E105", f"nesting deeper than {MAX_DEPTH} levels", ("<yaml>",),
                         hint="flatten the spec; use named blocks for reuse") from None
    if node is None:
        raise spec_error("E104", "the spec is empty",
                         hint="a spec needs at least 'input' and 'layers'")
    try:
        return _Converter(smap).convert(node, (), 0)
    except RecursionError:
        raise spec_error("E105", "document is nested too deeply") from None
