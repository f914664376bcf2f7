"""What changed for a client between two versions of the contract (`mockserver spec diff`).

The two request schemas and the two response schemas are walked side by side, following
`$ref`s. Each difference is classified the way oasdiff classifies OpenAPI changes: in a
*request* a narrowing (a new required field, a removed enum value, a tighter bound, a removed
type) is breaking, because a request clients send today may be refused; in a *response* a
widening is breaking (a new enum value, a field that may now be absent, a new type), because a
client may receive something it does not handle. The opposite directions are not breaking.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import jsonpointer

from mockserver.contract.spec.document import SpecDocument

Side = Literal["request", "response"]
MAX_DEPTH = 64  # schemas nest deeply only by recursion, which `seen` stops anyway
_NOTES = {"description", "title", "default", "examples", "example", "$comment"}
MAX_COMPARED = 50_000  # schema nodes per side: a hostile document cannot make a diff endless
_TYPES = frozenset({"null", "boolean", "object", "array", "number", "integer", "string"})
# bound keyword -> True when a larger value accepts more
_BOUNDS = {
    "maximum": True,
    "exclusiveMaximum": True,
    "maxLength": True,
    "maxItems": True,
    "maxProperties": True,
    "minimum": False,
    "exclusiveMinimum": False,
    "minLength": False,
    "minItems": False,
    "minProperties": False,
}


@dataclass(frozen=True, slots=True)
class Change:
    side: Side
    where: str  # the field, in OpenAI's param style: messages[].content
    kind: str  # oasdiff-style id: request-property-became-required
    breaking: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "where": self.where,
            "kind": self.kind,
            "breaking": self.breaking,
            "detail": self.detail,
        }


def diff(old: SpecDocument, new: SpecDocument) -> list[Change]:
    changes: list[Change] = []
    for side, before, after in (
        ("request", old.request, new.request),
        ("response", old.response, new.response),
    ):
        _Walk(side, before, after, changes).compare(before, after, "", 0)  # type: ignore[arg-type]
    return changes


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _shown(values: Any) -> str:
    return ", ".join(_key(v) for v in values)


class _Walk:
    def __init__(self, side: Side, old_root: Any, new_root: Any, out: list[Change]) -> None:
        self.side = side
        self.roots = (old_root, new_root)
        self.out = out
        self.seen: set[tuple[int, int]] = set()
        self.alive: list[tuple[Any, Any]] = []
        # (schema, root, depth) -> its types: branches that name one definition many times
        # (anyOf: [$ref X, $ref X, ...] inside X) would be re-walked exponentially otherwise.
        self.accepts: dict[tuple[int, int, int], frozenset[str]] = {}

    def add(self, where: str, what: str, narrows: bool, detail: str) -> None:
        """`narrows`: the new document accepts (request) or promises (response) less."""
        self.record(where, what, narrows if self.side == "request" else not narrows, detail)

    def record(self, where: str, what: str, breaking: bool, detail: str) -> None:
        change = Change(self.side, where or "(body)", f"{self.side}-{what}", breaking, detail)
        self.out.append(change)

    def resolve(self, node: Any, root: Any) -> Any:
        for _ in range(MAX_DEPTH):
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
                return node
            try:
                target = jsonpointer.resolve_pointer(root, node["$ref"].removeprefix("#"))
            except jsonpointer.JsonPointerException:  # elsewhere, or nowhere: not compared
                target = None
            if not isinstance(target, dict):
                return {}
            siblings = {k: v for k, v in node.items() if k != "$ref" and k not in _NOTES}
            # Annotations beside a $ref change nothing: keep the target itself, so that
            # `seen` recognises a recursive definition the second time round.
            node = {**target, **siblings} if siblings else target
        return node

    def compare(self, old: Any, new: Any, where: str, depth: int) -> None:
        old, new = self.resolve(old, self.roots[0]), self.resolve(new, self.roots[1])
        if not isinstance(old, dict) or not isinstance(new, dict) or depth > MAX_DEPTH:
            return
        pair = (id(old), id(new))
        if pair in self.seen or len(self.seen) > MAX_COMPARED:
            return
        self.seen.add(pair)
        self.alive.append((old, new))  # merged nodes stay alive, so their ids stay unique
        self.types(old, new, where)
        self.enums(old, new, where)
        self.bounds(old, new, where)
        self.objects(old, new, where, depth)
        if "items" in old and "items" in new:
            self.compare(old["items"], new["items"], f"{where}[]", depth + 1)
        for keyword in ("oneOf", "anyOf", "allOf"):
            self.branches(old, new, where, keyword, depth)
        extra = (old.get("additionalProperties"), new.get("additionalProperties"))
        if all(isinstance(e, dict) for e in extra):
            self.compare(extra[0], extra[1], f"{where}.*" if where else "*", depth + 1)

    def effective(self, schema: Any, root: Any, depth: int = 0) -> frozenset[str]:
        """The JSON types a schema accepts: its `type`, within what its allOf members allow,
        or (without a `type`) what one of its oneOf/anyOf branches allows. Each schema (a node
        of a document, kept alive by it) is worked out once per depth."""
        key = (id(schema), id(root), depth)
        if key not in self.accepts:
            self.accepts[key] = self._effective(schema, root, depth)
        return self.accepts[key]

    def _effective(self, schema: Any, root: Any, depth: int) -> frozenset[str]:
        schema = self.resolve(schema, root)
        if not isinstance(schema, dict) or depth > 8:
            return _TYPES
        accepted = _types(schema.get("type"))
        if "type" not in schema:
            for keyword in ("oneOf", "anyOf"):
                branches = schema.get(keyword)
                if isinstance(branches, list) and branches:
                    accepted = set().union(*(self.effective(b, root, depth + 1) for b in branches))
        for member in schema.get("allOf") or ():
            accepted &= self.effective(member, root, depth + 1)
        return frozenset(accepted)

    def types(self, old: dict[str, Any], new: dict[str, Any], where: str) -> None:
        before, after = self.effective(old, self.roots[0]), self.effective(new, self.roots[1])
        removed, added = before - after, after - before
        if removed:
            self.add(where, "type-narrowed", True, f"no longer {_or(removed)}")
        if added:
            self.add(where, "type-widened", False, f"may now be {_or(added)}")

    def enums(self, old: dict[str, Any], new: dict[str, Any], where: str) -> None:
        before, after = _allowed(old), _allowed(new)
        if before is None and after is None:
            return
        if before is None:
            self.add(where, "enum-added", True, f"now limited to {_shown(after or [])}")
            return
        if after is None:
            self.add(where, "enum-removed", False, "no longer limited to listed values")
            return
        removed = [v for k, v in before.items() if k not in after]
        added = [v for k, v in after.items() if k not in before]
        if removed:
            self.add(where, "enum-value-removed", True, f"no longer allows {_shown(removed)}")
        if added:
            self.add(where, "enum-value-added", False, f"now allows {_shown(added)}")

    def bounds(self, old: dict[str, Any], new: dict[str, Any], where: str) -> None:
        for keyword, larger_accepts_more in _BOUNDS.items():
            before, after = old.get(keyword), new.get(keyword)
            if before == after or not all(
                v is None or (isinstance(v, int | float) and not isinstance(v, bool))
                for v in (before, after)
            ):
                continue
            if after is None:
                narrows = False
            elif before is None:
                narrows = True
            else:
                narrows = (after < before) == larger_accepts_more
            self.add(
                where,
                f"{keyword.lower()}-{'narrowed' if narrows else 'widened'}",
                narrows,
                f"{keyword} {before if before is not None else 'none'} -> "
                f"{after if after is not None else 'none'}",
            )
        if old.get("pattern") != new.get("pattern"):
            self.add(
                where,
                "pattern-changed",
                new.get("pattern") is not None,
                f"pattern {old.get('pattern')!r} -> {new.get('pattern')!r}",
            )

    def objects(self, old: dict[str, Any], new: dict[str, Any], where: str, depth: int) -> None:
        before, after = old.get("properties") or {}, new.get("properties") or {}
        required_before, required_after = (
            set(old.get("required") or ()),
            set(new.get("required") or ()),
        )
        closed = new.get("additionalProperties") is False
        request = self.side == "request"
        for name in sorted(after.keys() - before.keys()):
            # A new field breaks a request only when it must be sent; replies may add any.
            required = name in required_after
            kind = "required-property-added" if required else "property-added"
            detail = f"new {'required' if required else 'optional'} property {name!r}"
            self.record(_join(where, name), kind, request and required, detail)
        for name in sorted(before.keys() - after.keys()):
            at = _join(where, name)
            if request:  # still accepted unless the object is now closed
                detail = "removed; refused when sent" if closed else "no longer documented"
                self.record(at, "property-removed", closed, detail)
            else:  # clients may rely on a field that was always there
                was = name in required_before
                detail = f"{'required' if was else 'optional'} property removed"
                self.record(at, "property-removed", was, detail)
        for name in sorted(before.keys() & after.keys()):
            at = _join(where, name)
            if name in required_after and name not in required_before:
                self.add(at, "property-became-required", True, f"{name!r} is now required")
            if name in required_before and name not in required_after:
                self.add(at, "property-became-optional", False, f"{name!r} is no longer required")
            self.compare(before[name], after[name], at, depth + 1)
        for name in sorted((required_after - required_before) - after.keys()):
            self.add(
                _join(where, name), "property-became-required", True, f"{name!r} is now required"
            )
        if old.get("additionalProperties") is not False and closed:
            self.add(where, "additional-properties-refused", True, "unlisted properties refused")
        if (
            old.get("additionalProperties") is False
            and new.get("additionalProperties") is not False
        ):
            self.add(where, "additional-properties-allowed", False, "unlisted properties allowed")

    def branches(
        self, old: dict[str, Any], new: dict[str, Any], where: str, keyword: str, depth: int
    ) -> None:
        before, after = old.get(keyword), new.get(keyword)
        if not isinstance(before, list) and not isinstance(after, list):
            return
        if keyword == "allOf":  # no allOf is no condition
            before, after = before or [], after or []
        else:  # no oneOf is one alternative: the schema itself
            before = before if isinstance(before, list) else [_bare(old)]
            after = after if isinstance(after, list) else [_bare(new)]
        keys_before = {_key(_bare(o)) for o in before}
        keys_after = {_key(_bare(n)) for n in after}
        left = [b for b in before if _key(_bare(b)) not in keys_after]
        right = [b for b in after if _key(_bare(b)) not in keys_before]
        for a, b in zip(left, right, strict=False):
            self.compare(a, b, where, depth + 1)
        # One alternative fewer accepts less; one more allOf condition accepts less too.
        fewer_narrows = keyword != "allOf"
        if len(left) > len(right):
            detail = f"{len(left) - len(right)} {keyword} branch(es) fewer"
            self.add(where, f"{keyword.lower()}-branch-removed", fewer_narrows, detail)
        if len(right) > len(left):
            detail = f"{len(right) - len(left)} {keyword} branch(es) more"
            self.add(where, f"{keyword.lower()}-branch-added", not fewer_narrows, detail)


def _bare(schema: Any) -> Any:
    """A schema without its annotations or alternatives: what a branch is compared by."""
    if not isinstance(schema, dict):
        return schema
    return {k: v for k, v in schema.items() if k not in _NOTES and k not in ("oneOf", "anyOf")}


def _types(kind: Any) -> set[str]:
    """The JSON types a `type` keyword accepts; absent: all of them ("number" holds integers)."""
    listed = {kind} if isinstance(kind, str) else set(kind if isinstance(kind, list) else _TYPES)
    return listed | ({"integer"} if "number" in listed else set())


def _allowed(schema: dict[str, Any]) -> dict[str, Any] | None:
    if "const" in schema:
        return {_key(schema["const"]): schema["const"]}
    if isinstance(schema.get("enum"), list):
        return {_key(v): v for v in schema["enum"]}
    return None


def _or(types: frozenset[str]) -> str:
    return " or ".join(sorted(types))


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def table(changes: list[Change]) -> str:
    rows = [("BREAKING", "SIDE", "WHERE", "CHANGE", "DETAIL")]
    rows += [
        ("yes" if c.breaking else "no", c.side, c.where, c.kind, c.detail)
        for c in sorted(changes, key=lambda c: (not c.breaking, c.side, c.where))
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in rows
    )
