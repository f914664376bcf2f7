"""Objects: every declared property (with what dependentRequired brings along), and extras.

A real model fills the properties a schema declares, so optional ones are left out only when
the schema gives a reason: maxProperties, or a value with all of them was rejected (`not`,
mutually exclusive oneOf branches, if/then), after which the generator draws again with each
optional property at even odds (`Generator.partial`). Deep in a recursive schema only the
required ones are kept, so it ends.

Extras fill minProperties (or a map's entries) under names from propertyNames, a
patternProperties pattern, or a word or two; each value is generated under every schema that
governs its name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mockserver.replies.schema_values.errors import UnsupportedSchema, at
from mockserver.replies.schema_values.keywords import compile_pattern, read_count
from mockserver.replies.schema_values.limits import ATTEMPTS, SOFT_DEPTH
from mockserver.replies.schema_values.patterns import from_pattern

if TYPE_CHECKING:
    from mockserver.replies.schema_values.generator import Generator


def object_value(g: Generator, flat: Mapping[str, Any], path: str, depth: int) -> dict[str, Any]:
    """An object the schema accepts, its properties in the order the schema lists them."""
    properties: Mapping[str, Any] = flat.get("properties", {})
    required = list(dict.fromkeys(flat.get("required", [])))
    low = read_count(flat, "minProperties", path) or 0
    high = read_count(flat, "maxProperties", path)
    if high is not None and (len(required) > high or low > high):
        raise UnsupportedSchema(path, f"more properties required than maxProperties {high}")
    keys = _named_keys(g, flat, required, low, high, depth)
    extras = _extra_count(g, flat, len(keys), low, high, depth)
    keys += extra_names(g, extras, flat, path, keys)
    order = {key: i for i, key in enumerate(properties)}
    keys.sort(key=lambda key: order.get(key, len(order)))
    return {key: _property(g, key, flat, path, depth) for key in keys}


def _closed(keys: list[str], depends: Mapping[str, Sequence[str]]) -> list[str]:
    """The keys with what dependentRequired makes them bring along."""
    out = list(keys)
    for key in out:  # grows while iterating: dependencies of dependencies
        out += [d for d in depends.get(key, ()) if d not in out]
    return out


def _named_keys(
    g: Generator,
    flat: Mapping[str, Any],
    required: list[str],
    low: int,
    high: int | None,
    depth: int,
) -> list[str]:
    """The required keys, the optional ones (all, or some at random once a full value was
    rejected), then more of them up to minProperties."""
    properties: Mapping[str, Any] = flat.get("properties", {})
    depends: Mapping[str, Sequence[str]] = flat.get("dependentRequired", {})
    optional = [k for k in properties if k not in required]
    keys = _closed(required, depends)
    if depth < SOFT_DEPTH:
        for key in optional:
            wanted = _closed([*keys, key], depends)
            if (not g.partial or g.rng.random() < 0.5) and (high is None or len(wanted) <= high):
                keys = wanted
    for key in optional:
        if len(keys) >= low:
            break
        wanted = _closed([*keys, key], depends)
        keys = wanted if high is None or len(wanted) <= high else keys
    return keys


def _extra_count(
    g: Generator, flat: Mapping[str, Any], taken: int, low: int, high: int | None, depth: int
) -> int:
    """How many names beyond `properties`: enough for minProperties, a few for a map."""
    extras = max(0, low - taken)
    extra = flat.get("additionalProperties", True)
    if not flat.get("properties", {}) and isinstance(extra, Mapping) and depth < SOFT_DEPTH:
        extras = max(extras, g.rng.randint(1, 3))  # a map: give it some entries
    if high is not None:
        extras = min(extras, high - taken)
    return extras


def _property(g: Generator, key: str, flat: Mapping[str, Any], path: str, depth: int) -> Any:
    """The value of `key`, under its properties schema and every patternProperties it matches."""
    properties: Mapping[str, Any] = flat.get("properties", {})
    parts: list[Any] = []
    where = at(path, "additionalProperties")
    if key in properties:
        parts.append(properties[key])
        where = at(at(path, "properties"), key)
    patterns: Mapping[str, Any] = flat.get("patternProperties", {})
    parts += [s for p, s in patterns.items() if compile_pattern(p, path).search(key)]
    if not parts:
        extra = flat.get("additionalProperties", True)
        if extra is False:
            raise UnsupportedSchema(
                path, f"{key!r} is required, but additionalProperties false forbids it"
            )
        parts.append(extra)
    schema = parts[0] if len(parts) == 1 else {"allOf": parts}
    return g.value(schema, where, key, depth + 1)


def extra_names(
    g: Generator, count: int, flat: Mapping[str, Any], path: str, taken: list[str]
) -> list[str]:
    """Names beyond `properties`: from propertyNames, else a pattern, else a word or two."""
    names: list[str] = []
    patterns = list(flat.get("patternProperties", {}))
    closed = flat.get("additionalProperties", True) is False
    for attempt in range(count * ATTEMPTS):
        if len(names) == count:
            break
        candidate = _candidate_name(g, flat, path, patterns, closed, attempt)
        if (
            isinstance(candidate, str)
            and candidate not in taken
            and candidate not in names
            and candidate not in flat.get("properties", {})
        ):
            names.append(candidate)
    if len(names) < count:
        raise UnsupportedSchema(path, f"cannot find {count} more distinct property names")
    return names


def _candidate_name(
    g: Generator,
    flat: Mapping[str, Any],
    path: str,
    patterns: list[Any],
    closed: bool,
    attempt: int,
) -> Any:
    """One try at an extra name; None (or a non-string from propertyNames) on a miss."""
    if "propertyNames" in flat:
        return g.value(flat["propertyNames"], at(path, "propertyNames"), "", 0)
    if closed and patterns:
        pattern = g.rng.choice(patterns)
        compiled = compile_pattern(pattern, path)
        matched = from_pattern(g.rng, pattern, compiled, attempt)
        if matched is None:
            return None
        # "^x_" always gives "x_": a word after it tells apart
        longer = f"{matched}{g.fake.word()}"
        return longer if compiled.search(longer) else matched
    if closed:
        raise UnsupportedSchema(
            path, "minProperties needs more properties than additionalProperties allows"
        )
    return "_".join(g.fake.words(g.rng.randint(1, 2))).lower()
