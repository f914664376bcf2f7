"""Arrays: prefixItems then items, sized by minItems/maxItems, distinct under uniqueItems.

Items are named for one of the array (`cities` holds a `city`), and one is made to match
`contains` when none happened to.
"""

from __future__ import annotations

from collections.abc import Mapping
from random import Random
from typing import TYPE_CHECKING, Any

from mockserver.replies.schema_values.canon import canon
from mockserver.replies.schema_values.errors import UnsupportedSchema, at
from mockserver.replies.schema_values.keywords import read_count
from mockserver.replies.schema_values.limits import ATTEMPTS, SOFT_DEPTH
from mockserver.replies.schema_values.names import singular

if TYPE_CHECKING:
    from mockserver.replies.schema_values.generator import Generator


def array_value(
    g: Generator, flat: Mapping[str, Any], path: str, name: str, depth: int
) -> list[Any]:
    """A list the schema accepts; deep in a recursive schema, as short as allowed."""
    prefix = flat.get("prefixItems", [])
    low, high = _size_bounds(flat, path, prefix)
    size = _size(g.rng, low, high, prefix, depth)
    item_name = singular(name)
    out = _items(g, flat, path, item_name, depth, size, low)
    if "contains" in flat and not any(g.passes(v, flat["contains"]) for v in out):
        _add_contained(g, out, flat, path, item_name, depth, len(prefix), high)
    return out


def _size_bounds(flat: Mapping[str, Any], path: str, prefix: Any) -> tuple[int, int | None]:
    """minItems and maxItems; `items: false` caps the length at the prefixItems."""
    low = read_count(flat, "minItems", path) or 0
    high = read_count(flat, "maxItems", path)
    if flat.get("items", True) is False:
        high = len(prefix) if high is None else min(high, len(prefix))
    if high is not None and low > high:
        raise UnsupportedSchema(path, f"minItems {low} > maxItems {high}")
    return low, high


def _size(rng: Random, low: int, high: int | None, prefix: Any, depth: int) -> int:
    """A few items, at least the first prefixItems; the fewest allowed when deep."""
    if depth >= SOFT_DEPTH:
        return low
    floor = max(low, min(len(prefix), 3), 1)
    size = rng.randint(floor, floor + 2)
    if high is not None:
        size = max(low, min(size, high))
    return size


def _items(
    g: Generator, flat: Mapping[str, Any], path: str, name: str, depth: int, size: int, low: int
) -> list[Any]:
    """`size` items, each from its prefixItems schema or `items`; fewer if no more are distinct."""
    prefix = flat.get("prefixItems", [])
    items = flat.get("items", True)
    unique = bool(flat.get("uniqueItems"))
    out: list[Any] = []
    seen: set[Any] = set()
    for i in range(size):
        where = at(at(path, "prefixItems"), i) if i < len(prefix) else at(path, "items")
        schema = prefix[i] if i < len(prefix) else items
        for _ in range(ATTEMPTS if unique else 1):
            value = g.value(schema, where, name, depth + 1)
            if not unique or canon(value) not in seen:
                break
        else:
            if len(out) >= low:
                break
            raise UnsupportedSchema(path, f"cannot find {low} distinct items")
        seen.add(canon(value))
        out.append(value)
    return out


def _add_contained(
    g: Generator,
    out: list[Any],
    flat: Mapping[str, Any],
    path: str,
    name: str,
    depth: int,
    fixed: int,
    high: int | None,
) -> None:
    """Put in one item that matches `contains` (and `items`), past the prefixItems."""
    schema = {"allOf": [flat.get("items", True), flat["contains"]]}
    value = g.value(schema, at(path, "contains"), name, depth + 1)
    if len(out) > fixed:
        out[g.rng.randrange(fixed, len(out))] = value
    elif high is None or len(out) < high:
        out.append(value)
    else:
        raise UnsupportedSchema(path, "no room for an item matching contains")
