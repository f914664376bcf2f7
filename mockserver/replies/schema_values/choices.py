"""Values picked among choices: an `enum` member, or a value of one `anyOf` / `oneOf` branch.

Branches are tried in random order, except that deep in a recursive schema the one least
likely to recurse goes first, so a recursive schema ends.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mockserver.replies.schema_values.errors import UnsupportedSchema, at
from mockserver.replies.schema_values.keywords import ANNOTATIONS, CHECKS
from mockserver.replies.schema_values.limits import ATTEMPTS, SOFT_DEPTH
from mockserver.replies.schema_values.merge import merge
from mockserver.replies.schema_values.resolve import flatten

if TYPE_CHECKING:
    from mockserver.replies.schema_values.generator import Generator


def enum_value(g: Generator, flat: Mapping[str, Any], path: str) -> Any:
    """An enum member that the schema's other keywords also accept."""
    options = flat["enum"]
    if not isinstance(options, list) or not options:
        raise UnsupportedSchema(path, "enum must be a non-empty array")
    rest = {k: v for k, v in flat.items() if k not in ("enum", CHECKS) and k not in ANNOTATIONS}
    if rest:
        options = [option for option in options if g.passes(option, rest)]
    if not options:
        raise UnsupportedSchema(path, "no enum value satisfies the schema's other keywords")
    return copy.deepcopy(g.rng.choice(options))


def branch_value(g: Generator, flat: dict[str, Any], path: str, name: str, depth: int) -> Any:
    """anyOf / oneOf: a branch that can be satisfied; for oneOf, by a value of it alone."""
    key = "anyOf" if "anyOf" in flat else "oneOf"
    branches = flat[key]
    if not isinstance(branches, list) or not branches:
        raise UnsupportedSchema(path, f"{key} must be a non-empty array")
    base = {k: v for k, v in flat.items() if k != key}
    error: UnsupportedSchema | None = None
    for i in _order(g, branches, depth):
        where = at(at(path, key), i)
        try:
            merged = merge(base, flatten(g.root, branches[i], where)[0], where)
            for attempt in range(ATTEMPTS if key == "oneOf" else 1):
                with g.relaxed(attempt > 0):  # a full object may match several branches
                    value = g.value(merged, where, name, depth + 1)
                others = (b for j, b in enumerate(branches) if j != i)
                if key == "anyOf" or not any(g.passes(value, b) for b in others):
                    return value
        except UnsupportedSchema as failure:
            error = error or failure
    raise error or UnsupportedSchema(path, "oneOf: no value matches exactly one branch")


def _order(g: Generator, branches: list[Any], depth: int) -> list[int]:
    """The branches' indexes in the order to try them."""
    order = list(range(len(branches)))
    g.rng.shuffle(order)
    if depth >= SOFT_DEPTH:
        order.sort(key=lambda i: _weight(branches[i]))
    elif g.rng.random() < 0.9:  # Optional[X] is mostly an X
        order.sort(key=lambda i: _weight(branches[i]) == 0)
    return order


def _weight(schema: Any) -> int:
    """How likely a branch is to recurse: deep in a recursive schema the simplest goes first."""
    if not isinstance(schema, Mapping):
        return 1
    if "$ref" in schema or "allOf" in schema:
        return 3
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    if "null" in types:
        return 0
    return 2 if not types or {"object", "array"} & set(types) else 1
