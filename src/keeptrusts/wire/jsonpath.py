"""Get and set values inside parsed JSON by a path tuple such as ("input", 3, "content", 0, "text")."""
from __future__ import annotations

from typing import Any


def get_path(doc: Any, path: tuple) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def set_path(doc: Any, path: tuple, value: Any) -> None:
    for p in path[:-1]:
        doc = doc[p]
    doc[path[-1]] = value
