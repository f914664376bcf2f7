"""Contract documents built in the tests from the bundled files (never from outside the repo): the
bundled contract written back as an API-doc export in the spec's layout, a second version of it
with planted changes, and OpenAPI 3.1 documents from mockserver's own export."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from mockserver.contract.spec import Example, bundled_spec
from mockserver.contract.spec.export import to_openapi

RESPONSE_ID = 127336590


def _crlf(body: Any) -> str:
    """Example bodies as the export writes them: indented JSON text with CRLF line ends."""
    return json.dumps(body, ensure_ascii=False, indent=4).replace("\n", "\r\n")


def render_export(
    request: dict[str, Any],
    response: dict[str, Any],
    examples: list[Example],
    samples: list[Example],
) -> str:
    """An API-doc export laid out like the spec: header block, then titled JSON sections."""
    header = [
        "创建聊天",
        "",
        "POST /v1/chat/completions",
        "",
        "MethodPOST",
        "Path/v1/chat/completions",
        "Typehttp",
        "",
        "参数",
        "",
        json.dumps({"query": [], "header": []}, indent=2),
    ]
    body = {
        "type": "application/json",
        "parameters": [],
        "jsonSchema": request,
        "required": True,
        "mediaType": "",
        "examples": [
            {"mediaType": "application/json", "value": _crlf(e.body), "name": e.name}
            for e in examples
            if not e.name.startswith("schema example")  # those live in jsonSchema.examples
        ],
        "oasExtensions": "",
    }
    responses = [
        {
            "id": RESPONSE_ID,
            "name": "成功",
            "code": 200,
            "contentType": "json",
            "jsonSchema": response,
            "headers": [],
        }
    ]
    shown = [
        {"name": s.name, "responseId": RESPONSE_ID, "data": _crlf(s.body), "id": f"sample-{i}"}
        for i, s in enumerate(samples)
    ]
    sections = [
        ("请求体", body),
        ("响应", responses),
        ("响应示例", shown),
    ]
    text = "\n".join(header) + "\n"
    for title, value in sections:
        text += f"\n{title}\n\n{json.dumps(value, ensure_ascii=False, indent=2)}\n"
    return text


def bundled_export() -> str:
    spec = bundled_spec()
    return render_export(
        spec.request, spec.response, list(spec.request_examples), list(spec.response_examples)
    )


# The second version of the contract: what each planted change is, for the assertions.
ADDED = "safety_identifier"  # a new optional request property (a string of at most 64)
REQUIRED = "user"  # an optional request property made required
NARROWED = ("web_search_options", "search_context_size", "high")  # enum value removed
RESPONSE_ADDED = "provider"  # a new required response property


def second_version_schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    spec = bundled_spec()
    request = copy.deepcopy(spec.request)
    request["properties"][ADDED] = {"type": "string", "maxLength": 64}
    request["required"] = [*request["required"], REQUIRED]
    size = request["$defs"]["WebSearchOptions"]["properties"]["search_context_size"]
    size["enum"] = [v for v in size["enum"] if v != NARROWED[2]]
    # The spec's own examples send no `user`: the new version's examples say so.
    examples = request.get("examples") or []
    request["examples"] = [{**e, REQUIRED: "user-1"} for e in examples]
    response = copy.deepcopy(spec.response)
    response["properties"][RESPONSE_ADDED] = {"type": "string"}
    response["required"] = [*response["required"], RESPONSE_ADDED]
    return request, response


def second_version_export(*, examples_fixed: bool = True) -> str:
    """The spec with the planted changes; its examples updated to send `user` unless asked
    not to (then every named example breaks the new schema, as a careless doc would)."""
    spec = bundled_spec()
    request, response = second_version_schemas()
    named = [e for e in spec.request_examples if not e.name.startswith("schema example")]
    if examples_fixed:
        named = [Example(e.name, {**e.body, REQUIRED: "user-1"}) for e in named]
    samples = [Example(s.name, {**s.body, RESPONSE_ADDED: "mock"}) for s in spec.response_examples]
    return render_export(request, response, named, samples)


def openapi_31(**changes: Any) -> dict[str, Any]:
    """The bundled contract exported as OpenAPI 3.1; `changes` replace request properties."""
    document = to_openapi(bundled_spec())
    properties = document["components"]["schemas"]["ChatCompletionRequest"]["properties"]
    properties.update(changes)
    return document


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    return path
