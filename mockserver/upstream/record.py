"""Recording: a proxied exchange -> a fixture file that `mockserver check` accepts.

One file per request identity (the match block), named from its hash: recording the same request
again finds the file and adds nothing (a stream recorded after a plain reply adds its frames).
Files are written whole to a temporary file and renamed over, so a reader never sees half a file.
Every string (request, reply, frames) goes through the Redactor first: no key reaches a file.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from mockserver.contract.request import last_user_text, text_of
from mockserver.upstream.exchange import DONE_DATA, Exchange
from mockserver.upstream.redact import Redactor
from mockserver.upstream.replies import reply_from_chunks, reply_from_completion

log = logging.getLogger("mockserver.upstream")

MATCH_FIELDS = (
    "model",
    "last_user",
    "last_message",
    "system",
    "tools",
    "tool_choice",
    "response_format",
    "stream",
)
DEFAULT_MATCH = ("model", "last_user", "last_message", "tools", "response_format")
_GLOB = frozenset("*?[]")


def _text(value: str) -> Any:
    return {"equals": value}


def _last_message(messages: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The last message when it is not the user's (a tool result, say): two turns of one
    conversation share their last user message and must not share a fixture."""
    if not messages or messages[-1].get("role") == "user":
        return None
    last = messages[-1]
    block: dict[str, Any] = {"role": last.get("role")}
    if last.get("role") == "tool":
        names = {
            call.get("id"): (call.get("function") or {}).get("name")
            for m in messages
            for call in m.get("tool_calls") or ()
            if isinstance(call, dict)
        }
        name = names.get(last.get("tool_call_id"))
        if isinstance(name, str):
            block["tool"] = name
    content = text_of(last.get("content"))
    if content:
        block["content"] = _text(content)
    return block


def match_block(body: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """The match conditions that identify this request, for the chosen `fields`."""
    messages = [m for m in body.get("messages") or () if isinstance(m, dict)]
    model = str(body.get("model", ""))
    facts: dict[str, Any] = {
        "model": _text(model) if _GLOB & set(model) else model,
        "stream": body.get("stream") is True,
    }
    if last_user := last_user_text(messages):
        facts["last_user"] = _text(last_user)
    if (last := _last_message(messages)) is not None:
        facts["last_message"] = last
    system = "\n".join(
        text_of(m.get("content")) for m in messages if m.get("role") in ("system", "developer")
    )
    if system:
        facts["system"] = _text(system)
    names = [(t.get("function") or {}).get("name") for t in body.get("tools") or () if t]
    names += [f.get("name") for f in body.get("functions") or () if f]
    if tools := sorted({n for n in names if isinstance(n, str)}):
        facts["tools"] = tools
    choice = body.get("tool_choice")
    if isinstance(choice, str):
        facts["tool_choice"] = choice
    elif isinstance(choice, dict) and isinstance((choice.get("function") or {}).get("name"), str):
        facts["tool_choice"] = {"function": choice["function"]["name"]}
    format_type = (body.get("response_format") or {}).get("type")
    if isinstance(format_type, str) and format_type != "text":
        facts["response_format"] = format_type
    return {field: facts[field] for field in MATCH_FIELDS if field in fields and field in facts}


def fixture_name(body: Mapping[str, Any], match: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(match, sort_keys=True).encode()).hexdigest()[:12]
    model = "".join(c if c.isalnum() or c in "-._" else "-" for c in str(body.get("model", "")))
    return f"rec-{model[:40] or 'model'}-{digest}"


def recorded_reply(exchange: Exchange) -> dict[str, Any] | None:
    """The scripted reply for a complete exchange (None when it is not a chat completion)."""
    if exchange.frames:
        reply = reply_from_chunks(exchange.chunks())
        if reply is None:
            return None
        reply["frames"] = [
            {"at_ms": round(frame.at_ms), "data": data.decode("utf-8", "replace")}
            for frame in exchange.frames
            if (data := frame.data) is not None and data != DONE_DATA
        ]
        return reply
    return reply_from_completion(exchange.reply_json())


def build_fixture(
    exchange: Exchange, redactor: Redactor, fields: Sequence[str], now: float | None = None
) -> dict[str, Any] | None:
    """The fixture for a complete exchange, redacted; None when there is nothing to keep."""
    if not exchange.complete:
        return None
    try:
        body = json.loads(exchange.request_body)
    except ValueError:
        return None
    reply = recorded_reply(exchange)
    if not isinstance(body, dict) or reply is None:
        return None
    body = redactor.tree(body)
    match = match_block(body, fields)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    return {
        "name": fixture_name(body, match),
        "description": f"Recorded from {exchange.url} at {stamp}.",
        "match": match,
        "request": body,
        "reply": {**redactor.tree(reply), "verbatim": True},
    }


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as `|` blocks: a recorded reply stays readable and diffable."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(fixture: Mapping[str, Any]) -> str:
    header = "# Recorded by mockserver (serve --record). Edit freely; `mockserver check` it.\n"
    return header + yaml.dump(
        [dict(fixture)], Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100
    )


def write_atomically(path: Path, text: str) -> None:
    """Write the whole file or nothing: a temporary file beside it, renamed over it."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _has_frames(path: Path) -> bool | None:
    """Whether the recorded file holds stream frames (None: no readable recording there)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        return None
    return "frames" in (data[0].get("reply") or {})


class Recorder:
    """Writes each complete proxied exchange into `folder`, one fixture file per request."""

    def __init__(self, folder: Path, fields: Sequence[str] = DEFAULT_MATCH) -> None:
        self.folder = folder
        self.fields = tuple(fields) or DEFAULT_MATCH
        self._lock = asyncio.Lock()  # two identical requests at once: one file, written once
        # path -> (its mtime and size, whether it holds frames): a repeated request costs a
        # stat, not a parse of its (possibly many-MB) file
        self._files: dict[Path, tuple[tuple[int, int], bool | None]] = {}

    def _recorded(self, path: Path) -> bool | None:
        """_has_frames(path), read again only when the file changed since last looked at."""
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        version = (stat.st_mtime_ns, stat.st_size)
        known = self._files.get(path)
        if known is not None and known[0] == version:
            return known[1]
        found = _has_frames(path)
        self._files[path] = (version, found)
        return found

    def save(self, exchange: Exchange, redactor: Redactor) -> Path | None:
        """The file written, or None (incomplete, not a chat completion, already recorded)."""
        fixture = build_fixture(exchange, redactor, self.fields)
        if fixture is None:
            return None
        path = self.folder / f"{fixture['name']}.yaml"
        existing = self._recorded(path)
        if existing is True or (existing is False and "frames" not in fixture["reply"]):
            return None  # recorded before; a stream's frames are the only thing worth adding
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomically(path, dump(fixture))
        stat = path.stat()
        self._files[path] = ((stat.st_mtime_ns, stat.st_size), "frames" in fixture["reply"])
        return path

    async def record(self, exchange: Exchange, redactor: Redactor) -> Path | None:
        """save() off the event loop (fsync can take a while); failures are logged, not raised:
        the client's reply is still being forwarded, and an odd gateway reply (a choice index
        that is not a number, say) must not cut it."""
        async with self._lock:
            try:
                path = await asyncio.to_thread(self.save, exchange, redactor)
            except OSError as exc:
                log.warning("could not record the exchange in %s: %s", self.folder, exc)
                return None
            except Exception:
                log.exception("could not record the exchange in %s", self.folder)
                return None
        if path is not None:
            log.info("recorded %s", path)
        return path
