"""The contract: the spec's schemas from schemas/, their documented overlays, compiled once.

The spec's files stay verbatim; each overlay is a list of named JSON Patches with a reason. The
request schema is compiled twice: jsonschema-rs answers "valid?" on the hot path, and jsonschema
only runs on a failing body, to list every violation with its path.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonpatch
import jsonpointer
import jsonschema
import jsonschema.validators
import jsonschema_rs
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from mockserver.contract.spec import SpecDocument, SpecError, bundled_spec
from mockserver.resources import bundled

REQUEST_SCHEMA = "chat_completion_request.schema.json"
RESPONSE_SCHEMA = "chat_completion_response.schema.json"
CHUNK_SCHEMA = "chat_completion_chunk.schema.json"
SPEC_SOURCE = "schemas/source/gateway-api-doc.txt"  # the gateway's API doc, as exported


def schema_dir() -> Path:
    return bundled("schemas")


@cache
def load_schema(name: str) -> dict[str, Any]:
    with (schema_dir() / name).open(encoding="utf-8") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


@dataclass(frozen=True, slots=True)
class Relaxation:
    """One documented deviation from the spec's schema."""

    name: str
    reason: str
    clients: tuple[str, ...]
    patch: tuple[dict[str, Any], ...]


def load_overlay(kind: str) -> tuple[Relaxation, ...]:
    doc = load_schema(f"overlays/{kind}.overlay.json")
    return tuple(
        Relaxation(r["name"], r["reason"], tuple(r["clients"]), tuple(r["patch"]))
        for r in doc["relaxations"]
    )


def patched(schema: dict[str, Any], overlay: tuple[Relaxation, ...]) -> dict[str, Any]:
    result = copy.deepcopy(schema)
    for relaxation in overlay:
        result = jsonpatch.apply_patch(result, list(relaxation.patch))
    return result


@dataclass(frozen=True, slots=True)
class Overlaid:
    """A schema with the relaxations that applied, and a warning for each that no longer does."""

    schema: dict[str, Any]
    applied: tuple[Relaxation, ...]
    warnings: tuple[str, ...]


def overlaid(schema: dict[str, Any], overlay: tuple[Relaxation, ...], kind: str) -> Overlaid:
    """Each relaxation all or nothing: one whose paths a new document lacks is skipped, loudly."""
    result, applied, warnings = schema, [], []
    for relaxation in overlay:
        try:
            result = jsonpatch.apply_patch(result, list(relaxation.patch))
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            warnings.append(
                f"{kind} overlay {relaxation.name!r} no longer applies ({exc}); "
                "the document's schema is used as written there"
            )
            continue
        applied.append(relaxation)
    return Overlaid(result, tuple(applied), tuple(warnings))


def schema_registry() -> Registry[Any]:
    """Every file of schemas/ by name, so "chat_completion_chunk.schema.json#/..." resolves."""
    names = (REQUEST_SCHEMA, RESPONSE_SCHEMA, CHUNK_SCHEMA)
    resources = [
        (n, Resource.from_contents(load_schema(n), default_specification=DRAFT7)) for n in names
    ]
    return Registry().with_resources(resources)


@cache
def response_validator(kind: str) -> jsonschema.Draft7Validator:
    """A validator for what the mock emits: `response` (with its overlay) or `chunk`."""
    if kind == "chunk":
        schema = load_schema(CHUNK_SCHEMA)
    else:
        schema = patched(load_schema(RESPONSE_SCHEMA), load_overlay("response"))
    return jsonschema.Draft7Validator(schema, registry=schema_registry())


def validator(schema: dict[str, Any]) -> Validator:
    """jsonschema's validator for the schema's own `$schema` (draft-07 when it names none),
    with the bundled files in reach by name."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema, registry=schema_registry())


def check_document(document: SpecDocument) -> None:
    """SpecError, naming the file, unless both schemas can be compiled and used."""
    for what, schema in (("request", document.request), ("response", document.response)):
        try:
            usable(schema, what)
        except SpecError as exc:
            raise SpecError(f"{document.source}: {exc}") from exc
        except RecursionError as exc:
            raise SpecError(f"{document.source}: the {what} schema nests too deeply") from exc


def usable(schema: dict[str, Any], what: str) -> None:
    """Refuse, as SpecError, a schema that would fail mid-request: one JSON Schema itself
    refuses, or a $ref that leads nowhere (or off the machine: nothing is fetched)."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        at = "".join(f"/{p}" for p in exc.absolute_path) or "/"
        raise SpecError(
            f"the {what} schema is not valid JSON Schema at {at}: {exc.message}"
        ) from exc
    for ref in _refs(schema):
        if not ref.startswith("#"):
            raise SpecError(f"the {what} schema refers outside the document ($ref {ref!r})")
        try:
            jsonpointer.resolve_pointer(schema, ref[1:])
        except jsonpointer.JsonPointerException as exc:
            raise SpecError(f"the {what} schema's $ref {ref!r} points at nothing") from exc
    try:
        jsonschema_rs.validator_for(schema)
    except (ValueError, jsonschema_rs.ValidationError) as exc:
        raise SpecError(f"the {what} schema cannot be compiled: {exc}") from exc


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def fast_check(schema: dict[str, Any]) -> Callable[[Any], bool]:
    """A compiled "valid?" for the hot path (about 30x faster than jsonschema on a chat body).

    Anything it cannot take (a number beyond 64 bits, say) counts as "not known valid", so
    the caller asks jsonschema, which decides and explains.
    """
    compiled = jsonschema_rs.validator_for(schema)

    def is_valid(instance: Any) -> bool:
        try:
            return bool(compiled.is_valid(instance))
        except (ValueError, OverflowError, TypeError):
            return False

    return is_valid


@dataclass(frozen=True, slots=True)
class Contract:
    """The document in force: its request schema compiled for the hot path and for explaining
    failures, its response schema for checking replies, and what went wrong applying the
    overlays or checking its examples."""

    schema: dict[str, Any]
    overlay: tuple[Relaxation, ...]
    is_valid: Callable[[Any], bool]
    explainer: Validator
    response: Validator
    document: SpecDocument
    warnings: tuple[str, ...] = ()  # overlays that no longer apply, examples that break
    example_problems: tuple[ExampleProblem, ...] = ()

    @property
    def broken_examples(self) -> frozenset[str]:
        return frozenset(p.example for p in self.example_problems)

    @classmethod
    def load(cls, *, strict_spec: bool) -> Contract:
        """The bundled contract, compiled once per process and mode: every app shares it."""
        return _compiled_contract(strict_spec)

    @classmethod
    def compile(cls, *, strict_spec: bool, document: SpecDocument | None = None) -> Contract:
        document = document or bundled_spec()
        given = document.format != "bundled"  # the test suite holds the bundled one to all this
        if given:
            check_document(document)
        request = overlaid(
            document.request, () if strict_spec else load_overlay("request"), "request"
        )
        response = overlaid(document.response, load_overlay("response"), "response")
        schema = request.schema
        examples = tuple(example_problems(document)) if given else ()
        return cls(
            schema,
            request.applied,
            fast_check(schema),
            validator(schema),
            validator(response.schema),
            document,
            (*request.warnings, *response.warnings, *(str(p) for p in examples)),
            examples,
        )

    def describe(self) -> str:
        relaxed = ", ".join(r.name for r in self.overlay) or "none"
        if not self.overlay and not self.warnings:
            relaxed += " (--strict-spec)"
        warned = f"; {len(self.warnings)} warning(s)" if self.warnings else ""
        bundled = self.document.format == "bundled"
        source = f"the gateway's API doc, {SPEC_SOURCE}" if bundled else self.document.source
        kind = f"{self.document.format}, {self.document.digest}"
        return f"{source} ({kind}; request overlay: {relaxed}{warned})"

    def to_json(self) -> dict[str, Any]:
        """What /__admin/health says about the contract in force."""
        return {
            **self.document.to_json(),
            "overlay": [r.name for r in self.overlay],
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True)
class ExampleProblem:
    """A request example of the document that its own request schema refuses."""

    source: str
    line: int | None
    example: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: request example {self.example!r}: {self.path}: {self.message}"


def example_problems(document: SpecDocument) -> list[ExampleProblem]:
    """Each request example that breaks the document's own request schema (no overlay)."""
    check = validator(document.request)
    return [
        ExampleProblem(
            document.source,
            example.line,
            example.name,
            "".join(f"/{p}" for p in error.absolute_path) or "/",
            error.message,
        )
        for example in document.request_examples
        for error in check.iter_errors(example.body)
    ]


@cache
def _compiled_contract(strict_spec: bool) -> Contract:
    return Contract.compile(strict_spec=strict_spec)
