"""Where things are in a spec file: positions and the map from spec paths to them.  Plain data
(no YAML here), so a cached report's source map loads without the YAML reader."""

from __future__ import annotations

from dataclasses import dataclass, field

from cnnstat.errors import SpecPath


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
