"""Golden bytes: every spec example, plain and streamed, with a fixed seed, byte for byte.

Guards refactors of the reply path: the same request and seed must give the same bytes as the
recorded run. Refresh on purpose only, after reading the diff:
`MOCKSERVER_UPDATE_GOLDEN=1 python -m pytest tests/golden`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mockserver.contract.schemas import load_schema
from tests.conftest import AUTH

GOLDEN = Path(__file__).with_name("spec_examples.json")
EXAMPLES: list[dict[str, Any]] = load_schema("spec_examples.json")["requests"]
CASES = [(i, stream) for i in range(len(EXAMPLES)) for stream in (False, True)]
IDS = [f"{i:02d}-{EXAMPLES[i]['name']}-{'stream' if s else 'plain'}" for i, s in CASES]
UPDATING = os.environ.get("MOCKSERVER_UPDATE_GOLDEN") == "1"


def _golden() -> dict[str, str]:
    if not GOLDEN.exists():
        return {}
    recorded: dict[str, str] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    return recorded


RECORDED = _golden()


@pytest.fixture
async def seeded(make_client: Any) -> TestClient[Any, Any]:
    client: TestClient[Any, Any] = await make_client(seed=42)
    return client


@pytest.mark.parametrize(("index", "stream"), CASES, ids=IDS)
async def test_spec_example_bytes(seeded: TestClient[Any, Any], index: int, stream: bool) -> None:
    body = {**EXAMPLES[index]["body"], "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    else:
        body.pop("stream_options", None)
    headers = {**AUTH, "X-Mock-Fault": "seed=7"}  # ids and `created` drawn from the seed
    response = await seeded.post("/v1/chat/completions", json=body, headers=headers)
    raw = await response.read()
    assert response.status == 200, raw
    key = IDS[CASES.index((index, stream))]
    text = raw.decode("utf-8")
    if UPDATING:
        RECORDED[key] = text
        GOLDEN.write_text(
            json.dumps(RECORDED, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
            encoding="utf-8",
        )
        return
    assert key in RECORDED, f"no golden bytes for {key}: refresh with MOCKSERVER_UPDATE_GOLDEN=1"
    assert text == RECORDED[key]


def test_golden_file_covers_every_case() -> None:
    """A golden file that lost cases would let those cases change unnoticed."""
    assert UPDATING or sorted(RECORDED) == sorted(IDS)
