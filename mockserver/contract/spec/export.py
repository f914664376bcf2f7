"""A contract document as OpenAPI 3.1: for other tools (Prism, oasdiff, codegen) and for diffs.

The schema's `$defs` become `components/schemas` (so reading the file back gives the same
`$defs`, and the bundled overlays still apply), and the examples become named examples.
"""

from __future__ import annotations

import json
from typing import Any

from mockserver.contract.spec.document import DRAFT2020, SpecDocument


def _moved(node: Any) -> Any:
    """$refs into `#/$defs/...` rewritten to `#/components/schemas/...`."""
    if isinstance(node, list):
        return [_moved(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _moved(v) for k, v in node.items()}
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        out["$ref"] = "#/components/schemas/" + ref.removeprefix("#/$defs/")
    return out


def _split(schema: dict[str, Any], name: str, components: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in schema.items() if k not in ("$defs", "$schema", "examples")}
    for key, value in (schema.get("$defs") or {}).items():
        components[key] = _moved(value)
    components[name] = _moved(body)
    return {"$ref": f"#/components/schemas/{name}"}


def _named(examples: Any) -> dict[str, Any]:
    return {e.name: {"value": e.body} for e in examples}


def to_openapi(document: SpecDocument, *, title: str = "Chat completions") -> dict[str, Any]:
    components: dict[str, Any] = {}
    request = _split(document.request, "ChatCompletionRequest", components)
    response = _split(document.response, "ChatCompletionResponse", components)
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": DRAFT2020,
        "info": {
            "title": title,
            "version": document.digest,
            "description": f"Exported by mockserver from {document.describe()}.",
        },
        "paths": {
            "/v1/chat/completions": {
                "post": {
                    "operationId": "createChatCompletion",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": request,
                                "examples": _named(document.request_examples),
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "OK",
                            "content": {
                                "application/json": {
                                    "schema": response,
                                    "examples": _named(document.response_examples),
                                }
                            },
                        }
                    },
                }
            }
        },
        "components": {"schemas": components},
    }


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
