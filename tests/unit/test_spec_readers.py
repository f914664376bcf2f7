"""Reading contract documents: the API-doc export, OpenAPI 3.0 (translated to draft-07) and
3.1 (validated as 2020-12), each giving the schemas and examples the document says."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import yaml

from mockserver.contract.schemas import Contract, load_overlay, overlaid
from mockserver.contract.spec import SpecError, bundled_spec, spec_from_text
from mockserver.contract.spec.document import DRAFT7, DRAFT2020, SpecDocument
from mockserver.contract.spec.export import to_openapi
from tests.spec_documents import bundled_export


def test_the_bundled_contract_written_as_an_export_reads_back_the_same() -> None:
    document = spec_from_text(bundled_export().encode(), "chat.md")
    bundled = bundled_spec()
    assert document.format == "api-doc export"
    assert document.request == bundled.request
    assert document.response == bundled.response
    assert [(e.name, e.body) for e in document.request_examples] == [
        (e.name, e.body) for e in bundled.request_examples
    ]
    assert [e.body for e in document.response_examples] == [
        e.body for e in bundled.response_examples
    ]
    named = [e for e in document.request_examples if not e.name.startswith("schema example")]
    lines = bundled_export().splitlines()
    for example in named:
        assert example.line is not None
        assert example.name in lines[example.line - 1]


def test_a_markdown_export_with_headings_and_fences_reads() -> None:
    spec = bundled_spec()
    body = {"jsonSchema": spec.request, "examples": []}
    responses = [{"code": 200, "jsonSchema": spec.response}]
    text = (
        "# 创建聊天\n\n## 请求体\n\n```json\n"
        + json.dumps(body, ensure_ascii=False)
        + "\n```\n\n## 响应：\n\n```json\n"
        + json.dumps(responses)
        + "\n```\n"
    )
    document = spec_from_text(text.encode(), "chat.md")
    assert document.request == spec.request
    assert document.response == spec.response


def test_the_openapi_31_export_round_trips() -> None:
    exported = to_openapi(bundled_spec())
    document = spec_from_text(json.dumps(exported).encode(), "chat.json")
    assert document.format == "openapi 3.1"
    assert document.request["$schema"] == DRAFT2020
    assert {k: v for k, v in document.request.items() if k != "$schema"} == {
        k: v for k, v in bundled_spec().request.items() if k not in ("$schema", "examples")
    }
    contract = Contract.compile(strict_spec=False, document=document)
    assert contract.warnings == ()
    assert [r.name for r in contract.overlay] == [r.name for r in load_overlay("request")]


OPENAPI_30 = """
openapi: 3.0.3
info: {title: gateway, version: "2"}
servers: [{url: "https://gateway.example/v1"}]
paths:
  /chat/completions:
    post:
      requestBody:
        $ref: "#/components/requestBodies/Chat"
      responses:
        200:
          content:
            application/json:
              schema:
                type: object
                required: [id, secret]
                properties:
                  id: {type: string}
                  secret: {type: string, writeOnly: true}
components:
  requestBodies:
    Chat:
      content:
        application/json; charset=utf-8:
          schema: {$ref: "#/components/schemas/Request"}
          examples:
            hello: {$ref: "#/components/examples/Hello"}
  examples:
    Hello:
      value: {model: m, messages: [{role: user, content: hi}]}
  schemas:
    Request:
      type: object
      required: [model, messages, id]
      properties:
        id: {type: string, readOnly: true}
        model: {type: string, nullable: true}
        messages: {type: array, items: {$ref: "#/components/schemas/Message"}}
        temperature: {type: number, minimum: 0, exclusiveMinimum: true, maximum: 2}
        tier: {type: string, enum: [a, b], nullable: true}
        thread: {$ref: "#/components/schemas/Node"}
    Message:
      type: object
      required: [role]
      properties:
        role: {type: string}
        content: {type: string}
        name: {allOf: [{type: string}], nullable: true}
    Node:
      type: object
      properties:
        children: {type: array, items: {$ref: "#/components/schemas/Node"}}
"""


@pytest.fixture(scope="module")
def v30() -> Contract:
    document = spec_from_text(OPENAPI_30.encode(), "gateway.yaml")
    assert document.format == "openapi 3.0"
    assert document.request["$schema"] == DRAFT7
    assert [(e.name, e.body["model"]) for e in document.request_examples] == [("hello", "m")]
    return Contract.compile(strict_spec=True, document=document)


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({}, True),  # readOnly `id` is not required of a request
        ({"model": None}, True),  # nullable: true
        ({"model": 5}, False),
        ({"temperature": 0}, False),  # exclusiveMinimum: true -> exclusive
        ({"temperature": 0.1}, True),
        ({"tier": None}, True),  # nullable enum accepts null
        ({"tier": "c"}, False),
        ({"messages": [{"role": "user", "name": None}]}, True),  # nullable allOf -> anyOf
        ({"messages": [{"role": "user", "name": 1}]}, False),
        ({"thread": {"children": [{"children": [{"children": []}]}]}}, True),  # recursion
        ({"thread": {"children": [{"children": [{"children": 1}]}]}}, False),
    ],
)
def test_openapi_30_is_translated_to_draft_07(
    v30: Contract, body: dict[str, Any], valid: bool
) -> None:
    full = {"model": "m", "messages": [{"role": "user"}], **body}
    assert v30.is_valid(full) is valid
    assert (not list(v30.explainer.iter_errors(full))) is valid


def test_openapi_30_write_only_fields_are_not_required_of_replies(v30: Contract) -> None:
    assert v30.response.is_valid({"id": "x"})
    assert not v30.response.is_valid({})


def test_openapi_yaml_with_a_bad_ref_names_it() -> None:
    text = OPENAPI_30.replace(
        'thread: {$ref: "#/components/schemas/Node"}', 'thread: {$ref: "#/components/schemas/Nod"}'
    )
    assert text != OPENAPI_30
    with pytest.raises(SpecError, match=r"\$ref '#/components/schemas/Nod' points at nothing"):
        spec_from_text(text.encode(), "gateway.yaml")


def test_an_overlay_patch_that_no_longer_applies_is_a_warning() -> None:
    schema = json.loads(json.dumps(bundled_spec().request).replace("Message", "Turn"))
    result = overlaid(schema, load_overlay("request"), "request")
    assert result.applied == ()
    assert len(result.warnings) == 2
    assert "request overlay 'legacy-function-role' no longer applies" in result.warnings[1]
    assert result.schema == schema, "a failed relaxation leaves the document as written"


def test_openapi_documents_parse_as_yaml_too() -> None:
    exported = to_openapi(bundled_spec())
    text = yaml.safe_dump(exported, allow_unicode=True, sort_keys=False)
    document = spec_from_text(text.encode(), "chat.yaml")
    assert document.request["properties"] == bundled_spec().request["properties"]


def alias_bomb_openapi(levels: int) -> str:
    """An OpenAPI document of a few hundred bytes whose request schema, aliases expanded,
    holds 4**levels schemas (the reader's walks would copy every one)."""
    anchors = ["x0: &a0 {type: string}"]
    anchors += [
        f"x{i}: &a{i} {{anyOf: [{', '.join([f'*a{i - 1}'] * 4)}]}}" for i in range(1, levels)
    ]
    request = {"schema": {"$ref": f"#/components/schemas/x{levels - 1}"}}
    reply = {"schema": {"type": "object"}}
    head = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/v1/chat/completions": {
                "post": {
                    "requestBody": {"content": {"application/json": request}},
                    "responses": {"200": {"content": {"application/json": reply}}},
                }
            }
        },
    }
    schemas = "".join(f"\n    {line}" for line in anchors)
    return yaml.safe_dump(head) + f"components:\n  schemas:{schemas}\n"


def test_yaml_aliases_are_bounded_in_a_document() -> None:
    assert len(spec_from_text(alias_bomb_openapi(4).encode(), "small.yaml").request["anyOf"]) == 4
    with pytest.raises(SpecError, match="alias bomb"):
        spec_from_text(alias_bomb_openapi(14).encode(), "bomb.yaml")


def test_a_project_export_is_read_at_the_chat_endpoint() -> None:
    """An export of several endpoints: the sections under POST /v1/chat/completions count."""
    other = (
        "创建向量\n\nPOST /v1/embeddings\n\n请求体\n\n"
        '{"jsonSchema": {"type": "object", "required": ["input"]}}\n\n'
        '响应\n\n[{"code": 200, "jsonSchema": {"type": "object"}}]\n\n'
    )
    text = other + bundled_export()
    document = spec_from_text(text.encode(), "project.md")
    assert document.request == bundled_spec().request
    named = [e for e in document.request_examples if e.line is not None]
    assert named
    for example in named:
        assert example.name in text.splitlines()[example.line - 1]  # type: ignore[operator]
    with pytest.raises(SpecError, match=r"no POST /v1/chat/completions endpoint \(it has POST"):
        spec_from_text(other.encode(), "embeddings.md")


def _diff_of(change: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The changes from the bundled contract to one with `change` applied to its request."""
    from mockserver.contract.spec.diff import diff

    old = bundled_spec()
    exported = to_openapi(old)
    exported["components"]["schemas"]["ChatCompletionRequest"]["properties"].update(change)
    new = spec_from_text(json.dumps(exported).encode(), "new.json")
    return [(c.where, c.kind, c.breaking) for c in diff(old, new)]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"n": {"type": "integer", "minimum": 1, "maximum": 8}},
            ("n", "request-maximum-narrowed", True),
        ),
        (
            {"max_tokens": {"type": "integer", "minimum": 1}},
            ("max_tokens", "request-minimum-narrowed", True),
        ),
        ({"n": {"type": "integer"}}, ("n", "request-minimum-widened", False)),
        ({"seed": {"type": "integer"}}, ("seed", "request-type-narrowed", True)),
        ({"user": {"type": ["string", "null"]}}, ("user", "request-type-widened", False)),
        ({"user": {"type": "string", "pattern": "^u-"}}, ("user", "request-pattern-changed", True)),
        (
            {"logit_bias": {"type": "object", "additionalProperties": {"type": "integer"}}},
            ("logit_bias.*", "request-type-narrowed", True),
        ),
        (
            {"user": {"allOf": [{"type": "string"}, {"maxLength": 8}]}},
            ("user", "request-allof-branch-added", True),
        ),
        (
            {"user": {"oneOf": [{"type": "string"}, {"type": "integer"}]}},
            ("user", "request-oneof-branch-added", False),
        ),
        ({"stop": {"type": "string"}}, ("stop", "request-oneof-branch-removed", True)),
    ],
)
def test_diff_classifies_bounds_types_and_branches(
    change: dict[str, Any], expected: tuple[str, str, bool]
) -> None:
    assert expected in _diff_of(change)


def test_diff_of_a_definition_that_branches_into_itself_is_quick() -> None:
    """anyOf: [$ref X] * 12 inside X: each branch's types are worked out once, not 12**8 times."""
    from mockserver.contract.spec.diff import diff

    def document(extra: dict[str, Any]) -> SpecDocument:
        node = {"anyOf": [{"$ref": "#/$defs/X"}] * 12, **extra}
        request = {
            "$defs": {"X": node},
            "type": "object",
            "properties": {"x": {"$ref": "#/$defs/X"}},
        }
        return SpecDocument("x", "sha256:0", "bundled", request, {"type": "object"})

    started = time.monotonic()
    changes = diff(document({}), document({"type": "object"}))
    assert time.monotonic() - started < 5
    assert ("x", "request-type-narrowed", True) in [(c.where, c.kind, c.breaking) for c in changes]


def test_diff_follows_refs_into_lists() -> None:
    from mockserver.contract.spec.diff import diff

    def document(kind: str) -> SpecDocument:
        request = {
            "$defs": {"U": {"anyOf": [{"type": kind}, {"type": "null"}]}},
            "type": "object",
            "properties": {"x": {"$ref": "#/$defs/U/anyOf/0"}},
        }
        return SpecDocument("x", "sha256:0", "bundled", request, {"type": "object"})

    changes = [(c.where, c.kind) for c in diff(document("string"), document("integer"))]
    assert ("x", "request-type-narrowed") in changes


def test_the_bundled_contract_passes_the_checks_start_up_skips() -> None:
    """Contract.compile skips these for the bundled document (start-up time): they must hold."""
    from mockserver.contract.schemas import check_document, example_problems

    check_document(bundled_spec())
    assert example_problems(bundled_spec()) == []
