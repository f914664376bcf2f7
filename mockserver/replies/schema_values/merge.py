"""allOf merging: two flattened schemas as one schema the generator can draw from.

Keywords that combine exactly (types, bounds, required, properties, enums, multipleOf, ...) are
combined; for the rest one side is generated from and the other kept under CHECKS, to be
verified on each drawn value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from mockserver.replies.schema_values.canon import canon
from mockserver.replies.schema_values.errors import UnsupportedSchema
from mockserver.replies.schema_values.keywords import (
    ANNOTATIONS,
    CHECKS,
    IF,
    LOWER_BOUNDS,
    UPPER_BOUNDS,
    compile_pattern,
    read_step,
    type_list,
)


def merge(a: Mapping[str, Any], b: Mapping[str, Any], path: str) -> dict[str, Any]:
    """allOf of two flattened schemas as one schema; what does not merge is kept as a check."""
    out = dict(a)
    checks = [*a.get(CHECKS, ()), *b.get(CHECKS, ())]
    if "if" in a and "if" in b:
        checks.append({k: b[k] for k in IF if k in b})
        b = {k: v for k, v in b.items() if k not in IF}
    for key, theirs in b.items():
        if key == CHECKS or key in ANNOTATIONS:
            out.setdefault(key, theirs)
        elif key not in out:
            out[key] = theirs
        else:
            out[key] = _combined(key, out[key], theirs, path, checks)
    _restrict_properties(out, a, b, path)
    _restrict_properties(out, b, a, path)
    if checks:
        out[CHECKS] = checks
    return out


def _combined(key: str, mine: Any, theirs: Any, path: str, checks: list[Any]) -> Any:
    """A keyword both sides set: one value that means both, where the two can be combined."""
    if key == "type":
        return _meet(mine, theirs, path)
    if key in LOWER_BOUNDS:
        return max(mine, theirs)
    if key in UPPER_BOUNDS:
        return min(mine, theirs)
    if key == "required":
        return list(dict.fromkeys([*mine, *theirs]))
    if key in ("properties", "patternProperties"):
        return _joined_properties(mine, theirs)
    if key == "enum":
        return _common_enum(mine, theirs, path)
    if key == "const":
        if canon(mine) != canon(theirs):
            raise UnsupportedSchema(path, f"allOf: const {mine!r} and const {theirs!r}")
        return mine
    if key == "uniqueItems":
        return bool(mine or theirs)
    if key == "multipleOf":
        step = _lcm(mine, theirs, path)
        checks += [{key: mine}, {key: theirs}]
        return step
    if key == "not":
        return {"anyOf": [mine, theirs]}
    if canon(mine) == canon(theirs):
        return mine
    return _reconciled(key, mine, theirs, checks)


def _reconciled(key: str, mine: Any, theirs: Any, checks: list[Any]) -> Any:
    """Two different values of a keyword: one that implies both, else mine with theirs checked."""
    if key == "additionalProperties":
        return False if mine is False or theirs is False else {"allOf": [mine, theirs]}
    if key in ("items", "contains", "propertyNames"):
        return {"allOf": [mine, theirs]}
    if key in ("minimum", "exclusiveMinimum"):
        return max(mine, theirs)
    if key in ("maximum", "exclusiveMaximum"):
        return min(mine, theirs)
    # pattern, format, anyOf, oneOf, prefixItems, ...: generate from one, check the other
    checks.append({key: theirs})
    return mine


def _joined_properties(mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> dict[str, Any]:
    """Both sides' properties; one named on both sides must satisfy both schemas."""
    return {**mine, **{k: {"allOf": [mine[k], v]} if k in mine else v for k, v in theirs.items()}}


def _meet(a: Any, b: Any, path: str) -> list[str]:
    """The types both sides allow; an integer is also a number."""
    left, right = type_list(a, path), type_list(b, path)
    both = [t for t in left if t in right]
    if ("integer" in left and "number" in right) or ("integer" in right and "number" in left):
        both.append("integer")
    both = list(dict.fromkeys(both))
    if not both:
        raise UnsupportedSchema(path, f"allOf: types {a!r} and {b!r} have nothing in common")
    return both


def _common_enum(mine: list[Any], theirs: list[Any], path: str) -> list[Any]:
    """The values both enums list, in my order."""
    allowed = {canon(v) for v in theirs}
    common = [v for v in mine if canon(v) in allowed]
    if not common:
        raise UnsupportedSchema(path, "allOf: the enums have no value in common")
    return common


def _lcm(a: Any, b: Any, path: str) -> int | float:
    """The least common multiple of two multipleOf steps, exactly as written."""
    x, y = read_step(a, path), read_step(b, path)
    common = Fraction(math.lcm(x.numerator, y.numerator), math.gcd(x.denominator, y.denominator))
    return int(common) if common.denominator == 1 else float(common)


def _restrict_properties(
    out: dict[str, Any], side: Mapping[str, Any], other: Mapping[str, Any], path: str
) -> None:
    """One side's additionalProperties also governs the properties only the other side names."""
    extra = side.get("additionalProperties", True)
    if extra is True:
        return
    known = side.get("properties", {})
    patterns = [compile_pattern(p, path) for p in side.get("patternProperties", {})]
    properties = dict(out.get("properties", {}))
    for key in other.get("properties", {}):
        if key in known or any(p.search(key) for p in patterns):
            continue
        if extra is not False:
            properties[key] = {"allOf": [properties[key], extra]}
        elif key in out.get("required", ()):
            raise UnsupportedSchema(
                path, f"allOf: {key!r} is required, but additionalProperties false forbids it"
            )
        else:
            del properties[key]
    if "properties" in out:
        out["properties"] = properties
