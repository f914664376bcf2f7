"""Resolution: a schema with its `$ref` and `allOf` folded into one mapping, in one dialect.

The generator reads flattened schemas only, so it never follows a reference or walks an `allOf`
itself; what the merge cannot fold in is carried along as checks (see merge.py).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

from mockserver.replies.schema_values.errors import UnsupportedSchema, at
from mockserver.replies.schema_values.keywords import ANNOTATIONS
from mockserver.replies.schema_values.limits import MAX_HOPS
from mockserver.replies.schema_values.merge import merge


def normalized(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Older drafts' spellings in 2020-12 terms, so the rest of the package knows one dialect."""
    out = dict(schema)
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        flag = out.get(exclusive)
        if isinstance(flag, bool):  # draft-04: a flag on minimum/maximum
            del out[exclusive]
            if flag and bound in out:
                out[exclusive] = out.pop(bound)
    if isinstance(out.get("items"), list):  # draft-07 tuple validation
        out["prefixItems"] = out.pop("items")
        if "additionalItems" in out:
            out["items"] = out.pop("additionalItems")
    if isinstance(out.get("dependencies"), Mapping):
        for key, dependency in out.pop("dependencies").items():
            group = "dependentRequired" if isinstance(dependency, list) else "dependentSchemas"
            out[group] = {**out.get(group, {}), key: dependency}
    return out


def deref(root: Any, ref: Any, path: str) -> tuple[Any, str]:
    """The subschema a `#/...` reference points at in `root`, and its path."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise UnsupportedSchema(path, f"$ref {ref!r}: only refs into this schema ('#/...')")
    pointer = urllib.parse.unquote(ref[1:])
    if pointer and not pointer.startswith("/"):
        raise UnsupportedSchema(path, f"$ref {ref!r}: anchors are not supported")
    node: Any = root
    where = "$"
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and token in node:
            node, where = node[token], at(where, token)
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node, where = node[int(token)], at(where, int(token))
        else:
            raise UnsupportedSchema(path, f"$ref {ref!r} points at nothing")
    return node, where


def flatten(root: Any, schema: Any, path: str, hops: int = 0) -> tuple[dict[str, Any], str]:
    """The schema with its $ref and allOf merged in, and the path errors should name."""
    if schema is True:
        return {}, path
    if schema is False:
        raise UnsupportedSchema(path, "the schema `false` accepts no value")
    if not isinstance(schema, Mapping):
        raise UnsupportedSchema(path, f"a schema must be an object or a boolean: {schema!r}")
    if hops > MAX_HOPS:
        raise UnsupportedSchema(path, "$ref/allOf chain too long: a $ref cycle?")
    own = normalized(schema)
    parts: list[dict[str, Any]] = []
    if "$ref" in own:
        target, where = deref(root, own.pop("$ref"), path)
        flat, where = flatten(root, target, where, hops + 1)
        if "allOf" not in own and not set(own) - ANNOTATIONS:
            return flat, where
        parts.append(flat)
    for i, sub in enumerate(own.pop("allOf", ())):
        parts.append(flatten(root, sub, at(at(path, "allOf"), i), hops + 1)[0])
    for part in parts:
        own = merge(own, part, path)
    return own, path
