"""JSON equality as a hashable key: for enums and consts met in an allOf, and uniqueItems."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def canon(value: Any) -> Any:
    """A hashable key under which JSON-equal values (1 and 1.0, key order) are equal."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", value)
    if isinstance(value, str):
        return ("s", value)
    if value is None:
        return ("z",)
    if isinstance(value, Mapping):
        return ("o", tuple(sorted((k, canon(v)) for k, v in value.items())))
    return ("a", tuple(canon(v) for v in value))
