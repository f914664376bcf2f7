"""The keywords the generator knows, by family, and readers that reject ill-formed values.

Each reader raises `UnsupportedSchema` at the schema's path, so a bad `minLength` or `pattern`
is reported where it is written rather than as a failure to find a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from mockserver.linear_regex import Regex, RegexError, compile_linear
from mockserver.replies.schema_values.errors import UnsupportedSchema

CHECKS = "\0checks"  # internal key of a merged schema: subschemas to verify, not generate from
TYPES = ("null", "boolean", "object", "array", "number", "integer", "string")
ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "$comment",
        "$schema",
        "$id",
        "$anchor",
        "$defs",
        "definitions",
        "deprecated",
        "readOnly",
        "writeOnly",
        "contentMediaType",
        "contentEncoding",
    }
)
LOWER_BOUNDS = frozenset({"minLength", "minItems", "minProperties", "minContains"})
UPPER_BOUNDS = frozenset({"maxLength", "maxItems", "maxProperties", "maxContains"})
CHECK_ONLY = ("not", "dependentSchemas", "propertyNames")
IF = ("if", "then", "else")
OBJECT_KEYS = frozenset(
    {
        "properties",
        "required",
        "additionalProperties",
        "patternProperties",
        "minProperties",
        "maxProperties",
        "propertyNames",
        "dependentRequired",
    }
)
ARRAY_KEYS = frozenset({"items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains"})
STRING_KEYS = frozenset({"minLength", "maxLength", "pattern", "format"})
NUMBER_KEYS = frozenset(
    {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
)


def type_list(value: Any, path: str) -> list[str]:
    """`type` as a list without repeats, whether written as one name or several."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or any(t not in TYPES for t in names):
        raise UnsupportedSchema(path, f"unknown type {value!r}")
    return list(dict.fromkeys(names))


def read_number(value: Any, path: str, key: str) -> Fraction:
    """A numeric keyword, exactly: bounds compare without float rounding."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UnsupportedSchema(path, f"{key} must be a number, not {value!r}")
    return Fraction(value)


# The largest lower bounds the generator honours; a request asking more gets the fallback.
MIN_BOUNDS = {"minLength": 10_000, "minItems": 1_000, "minProperties": 1_000, "minContains": 1_000}


def read_count(schema: Mapping[str, Any], key: str, path: str) -> int | None:
    """A length or size bound, if the schema sets it; 3.0 counts as 3."""
    value = schema.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UnsupportedSchema(path, f"{key} must be a non-negative integer, not {value!r}")
    floor = MIN_BOUNDS.get(key)
    if floor is not None and value > floor:  # a request must not make the server generate GBs
        raise UnsupportedSchema(path, f"{key} {value} is more than the mock generates ({floor})")
    return value


def compile_pattern(pattern: Any, path: str) -> Regex:
    """A `pattern` or `patternProperties` key compiled by RE2 (linear time), or an error naming
    where it is."""
    if not isinstance(pattern, str):  # compile_linear's cache would hash it first: a list raises
        raise UnsupportedSchema(path, f"pattern must be a string, not {pattern!r}")
    try:
        return compile_linear(pattern)
    except RegexError as error:
        raise UnsupportedSchema(path, f"pattern {pattern!r} does not compile: {error}") from None


def read_step(value: Any, path: str) -> Fraction:
    """multipleOf as written: 0.1 is one tenth, not the binary float nearest to it."""
    step = read_number(value, path, "multipleOf")
    step = Fraction(str(value)) if isinstance(value, float) else step
    if step <= 0:
        raise UnsupportedSchema(path, f"multipleOf must be positive, not {value!r}")
    return step
