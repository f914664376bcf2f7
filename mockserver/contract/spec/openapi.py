"""OpenAPI 3.0 / 3.1 documents: the request and 200 response schemas of the chat operation.

Local `$ref`s ("#/components/schemas/Message", or any other pointer into the document) are
gathered under the extracted schema's `$defs` (component schemas keep their names), so each
schema stands alone, recursion included, and the bundled overlays' `/$defs/Message/...` paths
find the same definitions in a document generated from the bundled schemas.

Dialects: a 3.1 schema *is* JSON Schema 2020-12 and is validated as such (the extracted schema
gets that `$schema`, or the document's `jsonSchemaDialect`). A 3.0 schema is translated to
draft-07: `nullable: true` adds "null" to the type (or the enum, or wraps the schema in an
anyOf), and the boolean `exclusiveMinimum`/`exclusiveMaximum` become draft-07's numbers.
In both, a `readOnly` property is not required of a request and a `writeOnly` one not of a
response, as the OpenAPI specification says.
"""

from __future__ import annotations

import json
from typing import Any

import jsonpointer

from mockserver.contract.spec.document import DRAFT7, DRAFT2020, Example, SpecError, line_of

PATHS = ("/v1/chat/completions", "/chat/completions")
MEDIA = "application/json"


def operation(doc: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The POST operation of the chat completions path (a server URL may hold the /v1)."""
    paths = doc.get("paths")
    if not isinstance(paths, dict):
        raise SpecError("the OpenAPI document has no 'paths'")
    for path in PATHS:
        item = paths.get(path)
        if isinstance(item, dict):
            item = _deref(doc, item, f"paths.{path}")
            post = item.get("post")
            if isinstance(post, dict):
                return path, post
            raise SpecError(f"the OpenAPI path {path} has no 'post' operation")
    raise SpecError("the OpenAPI document has no path /v1/chat/completions (or /chat/completions)")


def _pointer(doc: Any, ref: str) -> Any:
    if not ref.startswith("#"):
        raise SpecError(
            f"$ref {ref!r} points outside the document: bundle it into one file first "
            "(e.g. `redocly bundle`)"
        )
    if ref != "#" and not ref.startswith("#/"):
        raise SpecError(f"$ref {ref!r} names an anchor: only JSON pointers (#/...) are followed")
    try:
        node = jsonpointer.resolve_pointer(doc, ref[1:])
        if isinstance(node, jsonpointer.EndOfList):  # "-": the place past a list's end
            raise jsonpointer.JsonPointerException(ref)
    except jsonpointer.JsonPointerException as exc:
        raise SpecError(f"$ref {ref!r} points at nothing in the document") from exc
    return node


def _deref(doc: dict[str, Any], node: Any, where: str) -> Any:
    """Follow $refs between OpenAPI objects (a request body or response kept in components)."""
    seen = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if ref in seen:
            raise SpecError(f"{where}: $ref {ref!r} refers to itself")
        seen.add(ref)
        node = _pointer(doc, ref)
    return node


def _json_content(doc: dict[str, Any], holder: Any, where: str) -> dict[str, Any]:
    content = holder.get("content") if isinstance(holder, dict) else None
    if not isinstance(content, dict):
        raise SpecError(f"{where} has no 'content'")
    for media, value in content.items():
        if media.split(";")[0].strip() == MEDIA and isinstance(value, dict):
            return value
    raise SpecError(f"{where} has no '{MEDIA}' content")


def _examples(doc: dict[str, Any], media: dict[str, Any], label: str, text: str) -> list[Example]:
    found: list[Example] = []
    schema = media.get("schema")
    if isinstance(schema, dict):
        schema = _deref(doc, schema, label)
        for i, value in enumerate(schema.get("examples") or ()):
            found.append(Example(f"schema example {i + 1}", value))
    if "example" in media:
        found.append(Example(f"{label} example", media["example"]))
    for name, example in (media.get("examples") or {}).items():
        example = _deref(doc, example, f"{label} example {name!r}")
        if isinstance(example, dict) and "value" in example:
            found.append(Example(str(name), example["value"], line_of(text, str(name))))
    return found


def read_openapi(
    doc: dict[str, Any], text: str
) -> tuple[dict[str, Any], dict[str, Any], list[Example], list[Example], str]:
    """(request schema, response schema, request examples, response examples, version)."""
    version = str(doc.get("openapi", ""))
    if not version.startswith(("3.0", "3.1")):
        raise SpecError(f"OpenAPI version {version!r} is not supported (3.0 and 3.1 are)")
    path, post = operation(doc)
    where = f"POST {path}"
    body = _deref(doc, post.get("requestBody"), f"{where} requestBody")
    if not isinstance(body, dict):
        raise SpecError(f"{where} has no 'requestBody'")
    request_media = _json_content(doc, body, f"{where} requestBody")
    responses = post.get("responses")
    if not isinstance(responses, dict):
        raise SpecError(f"{where} has no 'responses'")
    ok = responses.get("200", responses.get(200))  # YAML may read an unquoted 200 as a number
    if ok is None:
        raise SpecError(f"{where} has no '200' response")
    response_media = _json_content(doc, _deref(doc, ok, where), f"{where} response 200")
    dialect = DRAFT7 if version.startswith("3.0") else str(doc.get("jsonSchemaDialect", DRAFT2020))
    schemas = []
    for media, label, hidden in (
        (request_media, f"{where} requestBody", "readOnly"),
        (response_media, f"{where} response 200", "writeOnly"),
    ):
        if not isinstance(media.get("schema"), dict):
            raise SpecError(f"{label} has no 'schema' for {MEDIA}")
        schema = _Bundler(doc, nullable=version.startswith("3.0")).bundle(media["schema"])
        _unrequire(schema, hidden)
        schemas.append({"$schema": dialect, **schema})
    return (
        schemas[0],
        schemas[1],
        _examples(doc, request_media, "request", text),
        _examples(doc, response_media, "response", text),
        version[:3],
    )


class _Bundler:
    """Copies a schema with every local $ref moved under its own `$defs`."""

    def __init__(self, doc: dict[str, Any], *, nullable: bool) -> None:
        self.doc = doc
        self.nullable = nullable  # OpenAPI 3.0: translate to draft-07 on the way
        self.names: dict[str, str] = {}
        self.defs: dict[str, Any] = {}

    def bundle(self, schema: dict[str, Any]) -> dict[str, Any]:
        root: dict[str, Any] = self.copy(schema)
        if set(root) == {"$ref"}:  # the body is a named component: inline the top level
            name = root["$ref"].removeprefix("#/$defs/")
            root = dict(self.defs[name])
            if f'"#/$defs/{name}"' not in json.dumps(self.defs):
                del self.defs[name]
        if self.defs:
            root["$defs"] = {**root.get("$defs", {}), **self.defs}
        return root

    def _name(self, ref: str) -> str:
        if ref in self.names:
            return self.names[ref]
        base = ref.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~") or "root"
        base = base.replace("/", "_")
        name, n = base, 2
        while name in self.defs or name in self.names.values():
            name, n = f"{base}_{n}", n + 1
        self.names[ref] = name
        self.defs[name] = {}  # reserved: a recursive reference finds the name
        self.defs[name] = self.copy(_pointer(self.doc, ref))
        return name

    def copy(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.copy(v) for v in node]
        if not isinstance(node, dict):
            return node
        out = {k: self.copy(v) for k, v in node.items() if k != "$ref"}
        ref = node.get("$ref")
        if isinstance(ref, str):
            out["$ref"] = f"#/$defs/{self._name(ref)}"
        return _nullable_to_draft7(out) if self.nullable else out


def _nullable_to_draft7(node: dict[str, Any]) -> dict[str, Any]:
    """One OpenAPI 3.0 schema object's own keywords in draft-07 terms."""
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if isinstance(node.get(exclusive), bool) and node.pop(exclusive) and bound in node:
            node[exclusive] = node.pop(bound)
    if node.get("nullable") is not True:
        return node
    del node["nullable"]
    if isinstance(node.get("enum"), list) and None not in node["enum"]:
        node["enum"] = [*node["enum"], None]
    kind = node.get("type")
    if isinstance(kind, str):
        node["type"] = [kind, "null"]
        return node
    if isinstance(kind, list):
        node["type"] = [*kind, "null"] if "null" not in kind else kind
        return node
    return {"anyOf": [node, {"type": "null"}]}


def _unrequire(node: Any, flag: str) -> None:
    """Drop from `required` the properties marked readOnly (requests) or writeOnly (replies)."""
    if isinstance(node, list):
        for item in node:
            _unrequire(item, flag)
        return
    if not isinstance(node, dict):
        return
    properties = node.get("properties")
    if isinstance(properties, dict) and isinstance(node.get("required"), list):
        hidden = {k for k, v in properties.items() if isinstance(v, dict) and v.get(flag) is True}
        if hidden:
            node["required"] = [r for r in node["required"] if r not in hidden]
    for value in node.values():
        _unrequire(value, flag)
