"""The API-doc export (Apifox style) the bundled contract comes from: titled sections of JSON.

Sections are found by their title line (`请求体`, `响应`, `响应示例`), bare or as a Markdown
heading; each holds one JSON document, possibly inside a ```json fence. An export of a whole
project lists several endpoints (`POST /v1/...` lines): only the chat completions one is read.
Everything is taken verbatim: the mock's relaxations live in the overlays.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from mockserver.contract.spec.document import Example, SpecError, line_of

REQUEST_BODY = "请求体"
RESPONSES = "响应"
RESPONSE_EXAMPLES = "响应示例"
_ENDPOINT = re.compile(
    r"^[ \t]*(?:#+[ \t]*)?(GET|POST|PUT|PATCH|DELETE)[ \t]+(/\S*)[ \t]*$", re.MULTILINE
)


def is_export(text: str) -> bool:
    """Any of the export's section titles: the reader then names the one that is missing."""
    return any(_find_title(text, t) is not None for t in (REQUEST_BODY, RESPONSES))


@cache
def _title_line(title: str) -> re.Pattern[str]:
    return re.compile(rf"[ \t]*(?:#+[ \t]*)?{re.escape(title)}[ \t]*[:：]?[ \t]*$", re.MULTILINE)


def _find_title(text: str, title: str) -> int | None:
    """The offset just past the line that holds only `title` (a heading counts). Only the lines
    where `title` occurs are tried: a regex tried at every line of a large OpenAPI document
    (each is asked whether it is an export) took seconds."""
    line = _title_line(title)
    at = text.find(title)
    while at >= 0:
        found = line.match(text, text.rfind("\n", 0, at) + 1)
        if found:
            return found.end()
        at = text.find(title, at + len(title))
    return None


def section(text: str, title: str, what: str) -> Any:
    """Decode the first JSON document after the line that holds only `title`."""
    start = _find_title(text, title)
    if start is None:
        raise SpecError(f"no '{title}' section ({what})")
    found = [i for i in (text.find("{", start), text.find("[", start)) if i >= 0]
    if not found:
        raise SpecError(f"the '{title}' section ({what}) holds no JSON")
    at = min(found)
    try:
        value, _ = json.JSONDecoder().raw_decode(text, at)
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"the '{title}' section ({what}) is not valid JSON: {exc.msg} "
            f"(line {text.count(chr(10), 0, exc.pos) + 1})"
        ) from exc
    return value


def _object(value: Any, key: str, where: str) -> dict[str, Any]:
    found = value.get(key) if isinstance(value, dict) else None
    if not isinstance(found, dict):
        raise SpecError(f"{where} has no '{key}' object")
    return found


def _decoded(text: Any, where: str) -> Any:
    """Example bodies are JSON written as strings in the export."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError as exc:
        raise SpecError(f"{where} is not valid JSON: {exc}") from exc


def endpoint(text: str) -> str:
    """The chat completions endpoint's part of the export, earlier lines kept blank (so line
    numbers stay those of the file); the whole text when it names no endpoint."""
    marks = list(_ENDPOINT.finditer(text))
    for i, mark in enumerate(marks):
        if mark.group(1) == "POST" and mark.group(2).rstrip("/").endswith("/chat/completions"):
            later = (m.start() for m in marks[i + 1 :] if m.group(2) != mark.group(2))
            end = next(later, len(text))
            return "\n" * text.count("\n", 0, mark.start()) + text[mark.start() : end]
    if marks:
        listed = ", ".join(f"{m.group(1)} {m.group(2)}" for m in marks[:5])
        raise SpecError(f"the export has no POST /v1/chat/completions endpoint (it has {listed})")
    return text


def read_export(
    text: str,
) -> tuple[dict[str, Any], dict[str, Any], list[Example], list[Example]]:
    """(request schema, response schema, request examples, response examples)."""
    text = endpoint(text)
    body = section(text, REQUEST_BODY, "the request body")
    request = _object(body, "jsonSchema", f"the '{REQUEST_BODY}' section")
    responses = section(text, RESPONSES, "the responses")
    if not isinstance(responses, list) or not responses:
        raise SpecError(f"the '{RESPONSES}' section lists no response")
    ok = [r for r in responses if isinstance(r, dict) and r.get("code") == 200] or responses[:1]
    response = _object(ok[0], "jsonSchema", f"the '{RESPONSES}' section's 200 response")
    examples: list[Example] = []
    for i, value in enumerate(request.get("examples") or ()):
        examples.append(Example(f"schema example {i + 1}", value))
    for i, ex in enumerate(body.get("examples") or ()):
        if not isinstance(ex, dict):
            raise SpecError(f"request example {i + 1} of '{REQUEST_BODY}' is not an object")
        name = str(ex.get("name") or f"example {i + 1}")
        body_value = _decoded(ex.get("value"), f"request example {name!r}")
        examples.append(
            Example(name, body_value, line_of(text, json.dumps(name, ensure_ascii=False)[1:-1]))
        )
    samples: list[Example] = []
    if _find_title(text, RESPONSE_EXAMPLES) is not None:
        listed = section(text, RESPONSE_EXAMPLES, "the response examples")
        for i, sample in enumerate(listed if isinstance(listed, list) else ()):
            if not isinstance(sample, dict):
                continue
            name = str(sample.get("name") or f"response example {i + 1}")
            samples.append(
                Example(name, _decoded(sample.get("data"), f"response example {name!r}"))
            )
    return request, response, examples, samples
