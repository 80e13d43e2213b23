"""Placeholder."""
from __future__ import annotations

from typing import Any


def fold(layers: list[Any], items: Any, modules: dict[str, str],
         writer: Any) -> tuple[dict[str, Any], list[Any]]:
    return {}, layers
