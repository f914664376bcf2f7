"""The one error of schema_values, and the JSON paths it names the schema's faulty part by."""

from __future__ import annotations

import json
import re

_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")


class UnsupportedSchema(ValueError):
    """A schema that no value satisfies, or that uses what the generator cannot follow."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"schema at {path}: {reason}")
        self.path = path
        self.reason = reason


def at(path: str, key: str | int) -> str:
    """`path` one step further in: `$.a`, `$[0]`, or `$["odd key"]` where a name needs quoting."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if _IDENT.match(key) else f"{path}[{json.dumps(key)}]"
