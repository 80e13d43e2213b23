"""Read YAML into plain data while remembering where every value came from.

PyYAML's composer gives nodes with marks; we convert nodes to Python values ourselves so that
(1) every value's spec path maps to a (line, column), (2) duplicate keys are errors rather than
silently keeping the last, and (3) alias expansion is bounded (a "billion laughs" document is
rejected instead of eating memory).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from cnnstat.errors import SpecError, SpecPath, spec_error

MAX_NODES = 200_000
MAX_DEPTH = 64
MAX_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class SourceMap:
    """Maps spec paths to source positions; keys map to the key's position, values to theirs."""

    name: str
    text: str
    values: dict[SpecPath, Position] = field(default_factory=dict)
    keys: dict[SpecPath, Position] = field(default_factory=dict)

    def locate(self, path: SpecPath) -> Position | None:
        """The position of the value at ``path``, or of its nearest located ancestor."""
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefix in self.values:
                return self.values[prefix]
        return None

    def locate_key(self, path: SpecPath) -> Position | None:
        return self.keys.get(path) or self.locate(path)

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""


def _pos(mark: yaml.Mark | None) -> Position:
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
        return _scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: SpecPath, depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise spec_error("E202", "YAML merge keys ('<<') are not supported", path,
                                 hint="use a named block with arguments instead")
            key = _scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
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


def _scalar(node: yaml.Node) -> Any:
    return _CONSTRUCTOR.construct_object(node, deep=True)


def load_yaml(text: str, name: str) -> tuple[Any, SourceMap]:
    """Parse ``text``; return the data and its source map. Raises SpecError (E1xx)."""
    smap = SourceMap(name=name, text=text)
    try:
        return _parse(text, smap), smap
    except SpecError as exc:
        exc.source = smap
        raise


_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose_slowly(text: str, smap: SourceMap) -> yaml.Node:
    """Re-parse a document libyaml rejected with the pure-Python parser, whose messages are
    more precise (it names the offending character), and raise the located E101."""
    try:
        yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        smap.values[("<yaml>",)] = _pos(mark)
        problem = exc.problem or "invalid YAML"
        hint = "indent with spaces, not tabs" if "\t" in smap.line_text(_pos(mark).line) else None
        raise spec_error("E101", f"YAML syntax error: {problem}", ("<yaml>",), hint=hint) from None
    except yaml.YAMLError as exc:
        raise spec_error("E101", f"YAML error: {exc}") from None
    raise AssertionError("the C parser rejected what the Python parser accepts")


def _parse(text: str, smap: SourceMap) -> Any:
    if len(text) > MAX_BYTES:
        raise spec_error("E105", f"file is larger than {MAX_BYTES // 1024 // 1024} MiB")
    try:
        node = yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        node = _compose_slowly(text, smap)
    if node is None:
        raise spec_error("E104", "the spec is empty",
                         hint="a spec needs at least 'input' and 'layers'")
    try:
        return _Converter(smap).convert(node, (), 0)
    except RecursionError:
        raise spec_error("E105", "document is nested too deeply") from None
