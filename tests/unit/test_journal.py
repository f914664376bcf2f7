"""The journal on its own: redaction, the bounded ring, the JSON-lines file, stream frames."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from multidict import CIMultiDict

from mockserver.journal import sink
from mockserver.journal import store as journal_module
from mockserver.journal.headers import ReceivedHeaders, redact_headers
from mockserver.journal.store import Journal, ServeEvent, encode_entry
from mockserver.state.codec import decode
from mockserver.upstream.exchange import Exchange

SECRET = "sk-proj-Zq8vT3kW9mN2xR7pL4sJ6hB1"
SECRET_MIDDLE = SECRET[3:-4]  # what a redaction must never show


def event(n: int, **fields: Any) -> ServeEvent:
    fields.setdefault("headers", {"Content-Type": "application/json"})
    return ServeEvent(
        id=f"req_{n:04d}",
        at=1_700_000_000.0 + n,
        method="POST",
        path="/v1/chat/completions",
        **fields,
    )


# --- redaction ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["Authorization", "authorization", "x-api-key", "X-Api-Key", "api-key", "Api-Key"]
)
def test_credential_headers_are_redacted(name: str) -> None:
    value = f"Bearer {SECRET}" if name.lower() == "authorization" else SECRET
    safe = redact_headers({name: value, "User-Agent": "OpenAI/Python 1.0"})
    assert set(safe) == {name, "User-Agent"}, "header names are kept as sent"
    assert SECRET not in safe[name]
    assert SECRET_MIDDLE not in safe[name]
    assert safe[name] != value
    assert safe["User-Agent"] == "OpenAI/Python 1.0", "other headers are untouched"


def test_authorization_keeps_its_scheme_and_a_recognisable_key() -> None:
    safe = redact_headers({"Authorization": f"Bearer {SECRET}"})["Authorization"]
    scheme, _, shown = safe.partition(" ")
    assert scheme == "Bearer"
    assert shown.startswith(SECRET[:3])
    assert shown.endswith(SECRET[-4:])
    assert "*" in shown


def test_short_keys_are_fully_hidden() -> None:
    safe = redact_headers({"Authorization": "Bearer abc12", "x-api-key": "k3y"})
    assert safe == {"Authorization": "Bearer *****", "x-api-key": "***"}


def test_a_secret_never_reaches_the_entry_or_the_file(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(limit=10, file=path)
    headers = {"Authorization": f"Bearer {SECRET}", "X-Api-Key": SECRET, "Api-Key": SECRET}
    journal.record(event(1, headers=redact_headers(headers)))
    journal.close()
    entry = next(iter(journal)).to_json()
    for text in (json.dumps(entry), path.read_text(encoding="utf-8")):
        assert SECRET not in text
        assert SECRET_MIDDLE not in text


def test_header_names_are_plain_strings_orjson_takes() -> None:
    """aiohttp's names are istr, which orjson refuses: every entry encoded would take the
    stdlib's path instead."""
    safe = redact_headers(CIMultiDict({"Content-Type": "application/json"}))
    assert all(type(name) is str for name in safe)
    assert orjson.loads(orjson.dumps(safe)) == {"Content-Type": "application/json"}


# --- the ring ----------------------------------------------------------------------------------


def test_the_ring_keeps_the_newest_and_forgets_the_evicted() -> None:
    journal = Journal(limit=3)
    for n in range(1, 6):
        journal.record(event(n))
    assert len(journal) == 3
    assert [e.id for e in journal] == ["req_0005", "req_0004", "req_0003"], "newest first"
    assert journal.get("req_0001") is None
    assert journal.get("req_0002") is None
    found = journal.get("req_0003")
    assert found is not None
    assert found.id == "req_0003"


def test_clear_empties_the_ring_and_the_index() -> None:
    journal = Journal(limit=3)
    journal.record(event(1))
    journal.clear()
    assert len(journal) == 0
    assert list(journal) == []
    assert journal.get("req_0001") is None
    journal.record(event(2))  # still usable after a clear
    assert [e.id for e in journal] == ["req_0002"]


# --- the JSON-lines file -----------------------------------------------------------------------


def lines_within(path: Path, count: int, seconds: float = 10.0) -> bool:
    """The file reached `count` lines: written by the journal's thread, off the event loop."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if len(path.read_text(encoding="utf-8").splitlines()) >= count:
            return True
        time.sleep(0.005)
    return False


def test_file_gets_one_json_line_per_event_as_it_happens(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text('{"earlier": "run"}\n', encoding="utf-8")
    journal = Journal(limit=2, file=path)
    for n in range(1, 4):
        journal.record(event(n, status=200, fixture="greet"))
        assert lines_within(path, n + 1), "flushed on every record (by the writer), not at close"
    journal.close()
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    first, *entries = [json.loads(line) for line in text.splitlines()]
    assert first == {"earlier": "run"}, "the file is appended to, never truncated"
    assert [e["id"] for e in entries] == ["req_0001", "req_0002", "req_0003"]
    assert len(journal) == 2, "the file keeps what the ring dropped"
    assert all(e["fixture"] == "greet" and e["status"] == 200 for e in entries)


def test_an_entry_no_encoder_takes_is_kept_as_a_note(tmp_path: Path) -> None:
    """One encoder for the file and the shared store: the note is still an entry either reads."""
    path = tmp_path / "odd.jsonl"
    journal = Journal(file=path)
    journal.record(event(1, status=500, error={"odd": object()}))
    journal.close()
    line = path.read_bytes()
    assert line.endswith(b"\n")
    note = json.loads(line)
    assert (note["id"], note["status"]) == ("req_0001", 500)
    assert "could not be encoded" in note["error"]["message"]
    assert decode(line).id == "req_0001"


def test_close_is_idempotent_and_recording_after_close_keeps_the_ring(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    journal = Journal(file=path)
    journal.close()
    journal.close()
    journal.record(event(1))
    assert [e.id for e in journal] == ["req_0001"]
    assert path.read_text(encoding="utf-8") == ""


# --- frames and timings ------------------------------------------------------------------------


def test_frames_are_kept_in_order_with_times() -> None:
    entry = event(1, stream=True)
    frames = [b'data: {"n":1}\n\n', b": ping\n\n", b"data: [DONE]\n\n"]
    for data, note in zip(frames, [None, "ping", None], strict=True):
        entry.add_frame(data, note)
        time.sleep(0.002)
    entry.duration_ms = entry.elapsed_ms()
    out = entry.to_json()
    assert [f["data"] for f in out["frames"]] == [f.decode() for f in frames]
    assert [f["fault"] for f in out["frames"]] == [None, "ping", None]
    times = [f["at_ms"] for f in out["frames"]]
    assert times == sorted(times)
    assert times[-1] > times[0]
    assert 0 <= out["first_byte_ms"] <= times[0]
    assert out["duration_ms"] >= times[-1]
    assert out["frame_count"] == 3


def test_frames_past_the_cap_are_counted_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_module, "MAX_FRAMES", 2)
    entry = event(1, stream=True)
    for n in range(5):
        entry.add_frame(f"data: {n}\n\n".encode())
    out = entry.to_json()
    assert [f["data"] for f in out["frames"]] == ["data: 0\n\n", "data: 1\n\n"]
    assert out["frame_count"] == 5
    assert entry.frames_dropped == 3


def test_summary_json_has_no_frames_but_counts_them() -> None:
    entry = event(1, stream=True)
    entry.add_frame(b"data: [DONE]\n\n")
    summary = entry.to_json(frames=False)
    assert "frames" not in summary
    assert summary["frame_count"] == 1
    full = entry.to_json()
    assert {k: v for k, v in full.items() if k != "frames"} == summary


def test_undecodable_frame_bytes_do_not_break_the_entry() -> None:
    entry = event(1)
    entry.add_frame(b"data: \xff\xfe\n\n")
    json.dumps(entry.to_json())  # a journal line must always serialise
    assert entry.frames[0].data.startswith("data: ")


def test_file_lines_past_the_queue_are_written_in_place_not_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk behind the writer thread: the queue stays bounded and no entry is dropped."""
    monkeypatch.setattr(sink, "MAX_QUEUED_LINES", 2)
    path = tmp_path / "burst.jsonl"
    journal = Journal(limit=5, file=path)
    for n in range(1, 201):
        journal.record(event(n))
    journal.close()
    ids = [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]
    assert sorted(ids) == [f"req_{n:04d}" for n in range(1, 201)]


@pytest.mark.parametrize("stream", [False, True])
def test_an_entry_read_back_from_the_shared_store_is_the_same_entry(stream: bool) -> None:
    """--state redis keeps encode_entry's bytes and decodes them for the admin API."""
    forwarded = Exchange(
        url="https://gateway.example/v1/chat/completions",
        request_headers={"Authorization": "Bearer ***"},
        request_body=b"{}",
        stream=stream,
        status=200,
    )
    if stream:
        forwarded.add_frame(b'data: {"id": "c"}\n\n')
        forwarded.add_frame(b"data: [DONE]\n\n")
        forwarded.settle()
    else:
        forwarded.journal_body = b'{"object": "chat.completion"}'
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 10_000}]}
    entry = event(1, status=200, cut_by_shutdown=True, upstream=forwarded)
    entry.parsed(json.dumps(body).encode(), body)
    entry.add_frame(b"data: [DONE]\n\n")
    assert decode(encode_entry(entry)).to_json() == entry.to_json()


def test_repeated_header_names_keep_each_value_beside_its_name() -> None:
    """A credential after a repeated name is the one redacted (names and values stay paired)."""
    headers = CIMultiDict(
        [("Accept", "a"), ("Accept", "b"), ("Authorization", f"Bearer {SECRET}"), ("X", "c")]
    )
    received = ReceivedHeaders(headers)
    assert SECRET_MIDDLE not in repr(received._values), "no raw secret kept, even unread"
    safe = received.decoded()
    assert (safe["Accept"], safe["X"]) == ("b", "c")
    assert safe["Authorization"].startswith("Bearer sk-")
    assert SECRET_MIDDLE not in safe["Authorization"]
    assert received.chars == sum(len(k) + len(v) for k, v in headers.items()) - len(
        headers["Authorization"]
    ) + len(safe["Authorization"])
