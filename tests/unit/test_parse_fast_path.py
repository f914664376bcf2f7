"""The request parser's orjson fast path reads every body exactly as the stdlib does."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.contract.request import parse_json_object

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)  # past 64 bits too
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same JSON kinds all the way down (1 is not 1.0 here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@settings(max_examples=150, deadline=None)
@given(values)
def test_reads_what_the_stdlib_reads(value: Any) -> None:
    raw = json.dumps({"v": value}, ensure_ascii=False).encode()
    assert same(parse_json_object(raw), json.loads(raw))


def test_edges_keep_the_stdlib_reading() -> None:
    big = parse_json_object(b'{"n": 123456789012345678901234567890, "m": -9223372036854775809}')
    assert big == {"n": 123456789012345678901234567890, "m": -9223372036854775809}
    assert isinstance(big["n"], int), "no silent float for integers past 64 bits"
    assert math.isinf(parse_json_object(b'{"x": 1e400}')["x"])
    assert parse_json_object(b'{"a": 1, "a": 2}') == {"a": 2}
