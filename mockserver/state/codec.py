"""Journal entries from the shared store: what journal.store.encode_entry wrote, read back."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

import orjson

from mockserver.journal.store import Frame, ServeEvent
from mockserver.upstream.exchange import Exchange
from mockserver.wire import json_bytes


def decode(data: bytes) -> ServeEvent:
    """What to_json wrote, as a ServeEvent again (bodies stay JSON values)."""
    d: dict[str, Any] = orjson.loads(data)
    frames = [
        Frame(at_ms=f["at_ms"], raw=f["data"].encode(), fault=f["fault"])
        for f in d.get("frames", ())
    ]
    return ServeEvent(
        id=d["id"],
        at=d["at"],
        method=d["method"],
        path=d["path"],
        headers=d["headers"],
        body=d["body"],
        model=d["model"],
        stream=d["stream"],
        status=d["status"],
        fixture=d["fixture"],
        generated=d["generated"],
        violations=d["violations"],
        warnings=d["warnings"],
        error=d["error"],
        response=d["response"],
        frames=frames,
        frames_dropped=max(d["frame_count"] - len(frames), 0),
        client_hung_up=d["client_hung_up"],
        cut_by_shutdown=d.get("cut_by_shutdown", False),
        fault=d["fault"],
        duration_ms=d["duration_ms"],
        first_byte_ms=d["first_byte_ms"],
        upstream=_exchange(d.get("upstream")),
    )


def _exchange(d: dict[str, Any] | None) -> Exchange | None:
    """What Exchange.to_json wrote, as an Exchange that writes it again (its bytes are gone:
    the body is kept as the JSON the journal shows)."""
    if d is None:
        return None
    return Exchange(
        url=d["url"],
        request_headers=d["request_headers"],
        request_body=b"",
        stream=bool(d["frame_count"]),
        status=d["status"],
        headers=d["headers"],
        journal_body=None if d["body"] is None else json_bytes.dumps(d["body"]),
        first_byte_ms=d["first_byte_ms"],
        duration_ms=d["duration_ms"],
        error=d["error"],
        frame_count=d["frame_count"],
        ended_with_done=d["done"],
    )


class Stored(Sequence[ServeEvent]):
    """Entries as Redis returned them, each decoded when it is read: a listing stops at its
    limit without decoding the rest, and the admin walks that yield between slices spread the
    decoding of a full journal."""

    def __init__(self, raw: list[bytes]) -> None:
        self._raw = raw

    def __len__(self) -> int:
        return len(self._raw)

    def __iter__(self) -> Iterator[ServeEvent]:
        return map(decode, self._raw)

    @overload
    def __getitem__(self, index: int) -> ServeEvent: ...

    @overload
    def __getitem__(self, index: slice) -> Stored: ...

    def __getitem__(self, index: int | slice) -> ServeEvent | Stored:
        if isinstance(index, slice):
            return Stored(self._raw[index])
        return decode(self._raw[index])
