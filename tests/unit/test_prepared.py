"""Prepared: a reply's bytes kept once and sent again with a new id and created, byte for byte
what the encoders would have written for that id and created."""

from __future__ import annotations

import dataclasses

import pytest

from mockserver.replies.completion import Choice, Completion, Usage
from mockserver.wire import json_bytes, sse
from mockserver.wire.chunks import sse_frames
from mockserver.wire.prepared import Prepared


def completion() -> Completion:
    return Completion(
        model="gpt-4o",
        choices=(
            Choice(
                index=0, content="你好，世界。 Hello there, how can I help?", finish_reason="stop"
            ),
            Choice(index=1, content="A second choice, with \u2028 in it.", finish_reason="length"),
        ),
        usage=Usage(prompt_tokens=9, completion_tokens=20),
    )


@pytest.mark.parametrize("include_usage", [True, False])
def test_a_stream_sent_again_is_what_the_encoder_writes_for_the_new_id(
    include_usage: bool,
) -> None:
    first = completion()
    prepared = Prepared.of(first, stream=True, include_usage=include_usage)
    assert prepared is not None
    again = dataclasses.replace(first, id="chatcmpl-again", created=1_800_000_000)
    frames = sse_frames(again, include_usage=include_usage)
    encoded = prepared.encoded("chatcmpl-again", 1_800_000_000)
    assert encoded.body == b"".join(frames)
    assert encoded.sizes == tuple(map(len, frames))  # the journal cuts frames by these
    assert frames[-1] == sse.DONE
    assert prepared.size == sum(map(len, prepared.pieces))


def test_a_json_body_sent_again_is_what_the_encoder_writes_for_the_new_id() -> None:
    first = completion()
    prepared = Prepared.of(first, stream=False, include_usage=False)
    assert prepared is not None
    again = dataclasses.replace(first, id="chatcmpl-again", created=1_800_000_000)
    body = json_bytes.dumps(again.to_json())
    assert prepared.encoded("chatcmpl-again", 1_800_000_000).body == body
    assert len(prepared.pieces) == 1
    assert prepared.size == len(body) - len(body.split(b'"created":1800000000', 1)[0]) - len(
        b'"created":1800000000'
    )
