"""jsonschema validators whose `pattern` keywords run on RE2 (linear time), for clients' schemas.

jsonschema searches `pattern`, `patternProperties` and the patterns `additionalProperties`
consults with Python's backtracking `re`: a client's `"pattern": "^(a+)+$"` checked against a
generated or scripted value could pin a core for minutes, in C, where no watchdog reaches. These
three keywords are replaced with the same logic on RE2; a pattern RE2 cannot run is a
validation error naming it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from referencing import Registry

from mockserver.linear_regex import RegexError, compile_linear


def _search(pattern: Any, text: str) -> bool:
    return compile_linear(pattern).search(text) is not None


def _pattern(validator: Any, pattern: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "string"):
        return
    if not isinstance(pattern, str):  # compile_linear's cache would hash it first: a list raises
        yield ValidationError(f"{pattern!r} is not a pattern: a pattern must be a string")
        return
    try:
        found = _search(pattern, instance)
    except RegexError as exc:
        yield ValidationError(str(exc))
        return
    if not found:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: Mapping[str, Any], instance: Any, schema: Any
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        try:
            regex = compile_linear(pattern)
        except RegexError as exc:
            yield ValidationError(str(exc))
            continue
        for key, value in instance.items():
            if regex.search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _extras(instance: Mapping[str, Any], schema: Mapping[str, Any]) -> set[str]:
    properties = schema.get("properties", {})
    regexes = []
    for pattern in schema.get("patternProperties", {}):
        try:
            regexes.append(compile_linear(pattern))
        except RegexError:
            continue  # reported by patternProperties
    return {
        key for key in instance if key not in properties and not any(r.search(key) for r in regexes)
    }


def _additional_properties(validator: Any, extra: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    extras = _extras(instance, schema)
    if validator.is_type(extra, "object"):
        for key in extras:
            yield from validator.descend(instance[key], extra, path=key)
    elif not extra and extras:
        names = ", ".join(repr(key) for key in sorted(extras))
        verb = "was" if len(extras) == 1 else "were"  # jsonschema's own wording
        yield ValidationError(f"Additional properties are not allowed ({names} {verb} unexpected)")


_LINEAR = {
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
}


@functools.cache
def _linear(cls: type[Validator]) -> type[Validator]:
    return jsonschema.validators.extend(cls, _LINEAR)  # type: ignore[no-untyped-call,no-any-return]


def linear_validator(schema: Any, *, formats: bool = True) -> Validator:
    """A validator for `schema` in its own dialect (2020-12 when it names none), on RE2.

    Its registry is empty: jsonschema's default would fetch a remote $ref (a URL the client
    chose, fetched by the server, blocking the event loop); here it is Unresolvable.
    """
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    checker = jsonschema.FormatChecker() if formats else None
    return _linear(cls)(schema, format_checker=checker, registry=Registry())
