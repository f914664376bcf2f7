"""Drift between what the gateway answered and what the mock answers from a fixture.

Content is not compared (a model rarely says the same thing twice); the contract is: each reply
or chunk passes its schema, both have the same fields with the same JSON types, the same
finish_reason and tool-call names, and a stream is framed the way clients parse it (a usage
chunk when asked for, `[DONE]` last, the role sent once per choice).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from jsonschema.protocols import Validator

from mockserver.contract.schemas import response_validator
from mockserver.upstream.exchange import DONE_DATA

MAX_SCHEMA_ERRORS = 5  # per reply: the first few say enough


@dataclass(frozen=True, slots=True)
class Answer:
    """One side's answer: the status and either the JSON body or the stream's events."""

    status: int
    body: Any = None  # plain reply (parsed JSON, or text when it was not JSON)
    events: tuple[bytes, ...] | None = None  # a stream's data payloads, [DONE] included

    @property
    def chunks(self) -> list[Any]:
        parsed = []
        for data in self.events or ():
            if data != DONE_DATA:
                try:
                    parsed.append(orjson.loads(data))
                except orjson.JSONDecodeError:
                    parsed.append(data.decode("utf-8", "replace"))
        return parsed


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    for kind, name in ((dict, "object"), (list, "array"), (str, "string")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def shape(value: Any, path: str = "") -> dict[str, set[str]]:
    """JSON path (array items as `*`) -> the types seen there. A loop, not a recursion: a
    gateway's reply may nest as deep as the JSON parser allows (1024)."""
    found: dict[str, set[str]] = {}
    stack = [(value, path)]
    while stack:
        node, at = stack.pop()
        found.setdefault(at or "/", set()).add(_kind(node))
        if isinstance(node, dict):
            stack.extend((child, f"{at}/{key}") for key, child in node.items())
        elif isinstance(node, list):
            stack.extend((child, f"{at}/*") for child in node)
    return found


def _merged(shapes: Iterable[dict[str, set[str]]]) -> dict[str, set[str]]:
    merged: dict[str, set[str]] = {}
    for one in shapes:
        for path, kinds in one.items():
            merged.setdefault(path, set()).update(kinds)
    return merged


def shape_drift(gateway: dict[str, set[str]], fixture: dict[str, set[str]]) -> list[str]:
    """Fields in one and not the other, and fields whose type changed (null fits any type)."""
    problems = []
    for path in sorted(gateway.keys() - fixture.keys()):
        parent = path.rsplit("/", 1)[0] or "/"
        if parent in fixture:  # report the outermost new field only
            problems.append(f"{path}: only in the gateway's reply")
    for path in sorted(fixture.keys() - gateway.keys()):
        parent = path.rsplit("/", 1)[0] or "/"
        if parent in gateway:
            problems.append(f"{path}: missing from the gateway's reply")
    for path in sorted(gateway.keys() & fixture.keys()):
        ours, theirs = fixture[path] - {"null"}, gateway[path] - {"null"}
        if ours and theirs and not ours & theirs:
            problems.append(
                f"{path}: {'/'.join(sorted(theirs))} at the gateway, "
                f"{'/'.join(sorted(ours))} in the fixture's reply"
            )
    return problems


def schema_problems(schema: Validator, value: Any, label: str) -> list[str]:
    errors = sorted(schema.iter_errors(value), key=lambda e: list(e.path))
    return [
        f"{label} breaks the response schema at /{'/'.join(str(p) for p in e.absolute_path)}: "
        f"{e.message[:200]}"
        for e in errors[:MAX_SCHEMA_ERRORS]
    ]


def chunk_schema_problems(chunks: Sequence[Any]) -> list[str]:
    """Schema errors of a stream's chunks, one line per error with the chunks that have it."""
    where: dict[tuple[str, str], list[int]] = {}
    for index, chunk in enumerate(chunks):
        for error in response_validator("chunk").iter_errors(chunk):
            path = "/" + "/".join(str(p) for p in error.absolute_path)
            where.setdefault((path, error.message[:200]), []).append(index)
    lines = []
    for (path, message), indices in list(where.items())[:MAX_SCHEMA_ERRORS]:
        if len(indices) == 1:
            lines.append(f"chunk {indices[0]} breaks the chunk schema at {path}: {message}")
            continue
        listed = ", ".join(str(i) for i in indices[:5]) + (", ..." if len(indices) > 5 else "")
        lines.append(
            f"{len(indices)} chunks ({listed}) break the chunk schema at {path}: {message}"
        )
    return lines


def _outcomes(choices: Iterable[Mapping[str, Any]]) -> dict[int, tuple[Any, tuple[str, ...]]]:
    """choice index -> (finish_reason, tool-call names) of a plain reply."""
    result = {}
    for choice in choices:
        message = choice.get("message") or {}
        names = tuple(
            str((call.get("function") or {}).get("name"))
            for call in message.get("tool_calls") or ()
        )
        result[int(choice.get("index", 0))] = (choice.get("finish_reason"), names)
    return result


def _stream_outcomes(chunks: Sequence[Any]) -> dict[int, tuple[Any, tuple[str, ...]]]:
    finish: dict[int, Any] = {}
    names: dict[int, dict[int, str]] = {}
    for chunk in chunks:
        for choice in chunk.get("choices") or () if isinstance(chunk, dict) else ():
            index = int(choice.get("index", 0))
            finish[index] = choice.get("finish_reason") or finish.get(index)
            for call in (choice.get("delta") or {}).get("tool_calls") or ():
                name = (call.get("function") or {}).get("name")
                if name:
                    names.setdefault(index, {})[int(call.get("index", 0))] = str(name)
    return {
        i: (finish.get(i), tuple(n for _, n in sorted(names.get(i, {}).items()))) for i in finish
    }


def outcome_drift(
    gateway: Mapping[int, tuple[Any, tuple[str, ...]]],
    fixture: Mapping[int, tuple[Any, tuple[str, ...]]],
) -> list[str]:
    problems = []
    for index in sorted(gateway.keys() | fixture.keys()):
        theirs, ours = gateway.get(index), fixture.get(index)
        if theirs is None or ours is None:
            where = "the gateway's" if theirs is None else "the fixture's"
            problems.append(f"choice {index}: missing from {where} reply")
            continue
        if theirs[0] != ours[0]:
            problems.append(
                f"choice {index}: finish_reason {theirs[0]!r} at the gateway, "
                f"{ours[0]!r} in the fixture"
            )
        if theirs[1] != ours[1]:
            problems.append(
                f"choice {index}: tool calls {list(theirs[1])} at the gateway, "
                f"{list(ours[1])} in the fixture"
            )
    return problems


def framing_problems(answer: Answer, *, include_usage: bool) -> list[str]:
    """How the gateway's stream differs from what clients rely on."""
    events = answer.events or ()
    problems = []
    if not events or events[-1] != DONE_DATA:
        problems.append("stream: does not end with data: [DONE]")
    if DONE_DATA in events[:-1]:
        problems.append("stream: data: [DONE] before the end")
    parsed = answer.chunks
    chunks = [c for c in parsed if isinstance(c, dict)]
    if len(chunks) != len(parsed):
        problems.append("stream: an event that is not a JSON object")
    usage = [c for c in chunks if c.get("usage") and not c.get("choices")]
    if include_usage and not usage:
        problems.append("stream: no usage chunk although stream_options.include_usage was set")
    if not include_usage and usage:
        problems.append("stream: a usage chunk that was not asked for")
    roles: dict[int, int] = {}
    for chunk in chunks:
        for choice in chunk.get("choices") or ():
            if "role" in (choice.get("delta") or {}):
                index = int(choice.get("index", 0))
                roles[index] = roles.get(index, 0) + 1
    problems += [
        f"stream: the role is sent {n} times in choice {i}" for i, n in roles.items() if n > 1
    ]
    return problems


def drift(
    gateway: Answer,
    fixture: Answer,
    *,
    stream: bool,
    include_usage: bool,
    response_schema: Validator | None = None,
) -> list[str]:
    """Every difference between the two answers that a client could trip on. A plain reply is
    checked against `response_schema` (the contract in force; default: the bundled one)."""
    if stream and gateway.events is not None and fixture.events is not None:
        chunks, ours = gateway.chunks, fixture.chunks
        problems = chunk_schema_problems(chunks)
        problems += framing_problems(gateway, include_usage=include_usage)
        problems += shape_drift(_merged(shape(c) for c in chunks), _merged(shape(c) for c in ours))
        return problems + outcome_drift(_stream_outcomes(chunks), _stream_outcomes(ours))
    if gateway.events is not None or fixture.events is not None:
        return ["the gateway streamed where the fixture did not, or the other way round"]
    schema = response_schema or response_validator("response")
    problems = schema_problems(schema, gateway.body, "reply")
    problems += shape_drift(shape(gateway.body), shape(fixture.body))
    if isinstance(gateway.body, dict) and isinstance(fixture.body, dict):
        problems += outcome_drift(
            _outcomes(gateway.body.get("choices") or ()),
            _outcomes(fixture.body.get("choices") or ()),
        )
    return problems
