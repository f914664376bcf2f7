"""Reading a contract document: the bundled schemas/, an API-doc export, or OpenAPI 3.0/3.1.

`read_spec(path)` recognises the format from the content (not the file name) and raises
SpecError with one line naming what is missing when the document cannot serve as the contract.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from mockserver.bounded_yaml import Unbounded, safe_yaml
from mockserver.contract.spec.apifox import is_export, read_export
from mockserver.contract.spec.document import (
    Example,
    SpecDocument,
    SpecError,
    SpecFormat,
    digest_of,
)
from mockserver.contract.spec.openapi import read_openapi
from mockserver.resources import bundled

__all__ = ["Example", "SpecDocument", "SpecError", "bundled_spec", "read_spec", "spec_from_text"]

BUNDLED = "bundled"
MAX_SPEC_BYTES = 64 * 1024 * 1024  # OpenAI's own OpenAPI document is ~2 MB
# Values a YAML document may stand for with its aliases expanded: about what MAX_SPEC_BYTES of
# YAML holds without any (~20 bytes a value), so aliases cannot make a small file a huge one.
MAX_SPEC_VALUES = MAX_SPEC_BYTES // 16


def read_spec(path: Path | str) -> SpecDocument:
    """The contract document at `path` ("bundled" names the one shipped with mockserver)."""
    if str(path) == BUNDLED:
        return bundled_spec()
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise SpecError(f"{path}: {size} bytes, larger than {MAX_SPEC_BYTES} allowed")
        data = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        return spec_from_text(data, str(path))
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from exc
    except RecursionError as exc:
        raise SpecError(f"{path}: nested too deeply to read") from exc


def spec_from_text(data: bytes, source: str) -> SpecDocument:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(f"not UTF-8 text (byte {exc.start})") from exc
    digest = digest_of(data)
    parsed = _structured(text)
    if isinstance(parsed, dict) and ("openapi" in parsed or "swagger" in parsed):
        if "swagger" in parsed:
            raise SpecError("Swagger 2.0 is not supported: convert it to OpenAPI 3 first")
        request, response, examples, samples, version = read_openapi(parsed, text)
        kind: SpecFormat = "openapi 3.0" if version == "3.0" else "openapi 3.1"
        return SpecDocument(
            source, digest, kind, request, response, tuple(examples), tuple(samples)
        )
    if is_export(text):
        request, response, examples, samples = read_export(text)
        return SpecDocument(
            source, digest, "api-doc export", request, response, tuple(examples), tuple(samples)
        )
    raise SpecError(
        "neither an OpenAPI document (no 'openapi' field) nor an API-doc export "
        "(no '请求体' request-body section)"
    )


def _structured(text: str) -> Any:
    """The document as JSON or YAML, or None when it is neither (an API-doc export)."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            return json.loads(text)
        except ValueError as exc:
            if '"openapi"' in text[:4096]:
                raise SpecError(f"not valid JSON: {exc}") from exc
            return None
    if is_export(text):
        return None
    try:
        return safe_yaml(text, MAX_SPEC_VALUES)
    except Unbounded as exc:
        raise SpecError(f"not usable YAML: {exc} (line {exc.lineno})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise SpecError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}{line}") from exc


@cache
def bundled_spec() -> SpecDocument:
    """The contract shipped in schemas/ (extracted from the spec's export)."""
    folder = bundled("schemas")
    request_bytes = (folder / "chat_completion_request.schema.json").read_bytes()
    response_bytes = (folder / "chat_completion_response.schema.json").read_bytes()
    examples = json.loads((folder / "spec_examples.json").read_bytes())
    return SpecDocument(
        BUNDLED,
        digest_of(request_bytes + response_bytes),
        "bundled",
        json.loads(request_bytes),
        json.loads(response_bytes),
        tuple(Example(e["name"], e["body"]) for e in examples["requests"]),
        tuple(Example(f"response {i + 1}", r) for i, r in enumerate(examples["responses"])),
    )
