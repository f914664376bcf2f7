"""A request's headers as the journal keeps them: credentials redacted on the way in, the rest
made into a plain dict only when someone reads the entry.

Every API request is journaled and few entries are ever read. Turning every header into a valid
UTF-8 `str` key and value for a dict was most of what opening an entry cost (4 us for curl's
four headers, 11 for an SDK's fifteen); taking aiohttp's own (name, value) pairs and redacting
the one or two credentials among them is a fraction of that. Secrets are still gone before the
entry exists: only the redacted pairs are kept.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from operator import itemgetter

from mockserver.contract.auth import is_secret_header, redact
from mockserver.journal.text import utf8_safe


def redact_value(value: str) -> str:
    """A credential's value reduced to its first and last characters; an `Authorization`
    keeps its scheme (`Bearer sk-********ijkl`)."""
    value = utf8_safe(value)
    scheme, _, secret = value.partition(" ")
    return f"{scheme} {redact(secret)}" if secret else redact(value)


# The names, where the credentials are among them, and the names' length in characters.
Shape = tuple[tuple[str, ...], tuple[int, ...], int]

# Lists of names kept: at most this many, each of at most this many names and characters
# (a hostile client's thousand long names are looked at, not kept).
CACHED_LISTS, CACHED_NAMES, CACHED_CHARS = 256, 64, 2048


def _shape(names: tuple[str, ...]) -> Shape:
    """These names, where the credentials are among them, and their length in characters. A
    client sends the same headers in the same order every time: the shape is cached, and its
    names tuple is one object that every entry of that client shares."""
    if len(names) <= CACHED_NAMES and sum(map(len, names)) <= CACHED_CHARS:
        return _cached_shape(names)
    return _shape_of(names)


def _shape_of(names: tuple[str, ...]) -> Shape:
    secrets = tuple(index for index, name in enumerate(names) if is_secret_header(name))
    return names, secrets, sum(map(len, names))


_cached_shape = functools.lru_cache(maxsize=CACHED_LISTS)(_shape_of)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with every credential (any name that looks like a key, token, secret or auth)
    reduced to its first and last characters, and every value made valid UTF-8. Names become
    plain str: orjson refuses aiohttp's istr keys, and every encoder would fall back to json."""
    return ReceivedHeaders(headers).decoded()


class ReceivedHeaders(Mapping[str, str]):
    """The (name, value) pairs a request came with, in order, every credential already redacted;
    decoded into a dict of valid UTF-8 (a repeated name: its last value) when first read.

    Names are aiohttp's: a known header spelled as aiohttp spells it (`Content-Type`), any
    other as the client sent it.
    """

    __slots__ = ("_decoded", "_names", "_values", "chars")

    def __init__(self, headers: Mapping[str, str]) -> None:
        # Names and values apart: the values are plain str, so the garbage collector stops
        # tracking their tuple after one look; aiohttp's names (istr) would keep a tuple of
        # pairs tracked for good, in every entry.
        pairs = tuple(headers.items())  # a repeated name comes once per value, in order
        self._names, secrets, names_chars = _shape(tuple(map(itemgetter(0), pairs)))
        values = tuple(map(itemgetter(1), pairs))
        if secrets:
            redacted = list(values)
            for index in secrets:
                redacted[index] = redact_value(redacted[index])
            values = tuple(redacted)
        self._values = values
        self._decoded: dict[str, str] | None = None
        # Characters kept, names and values: what the journal's byte bound counts.
        self.chars = names_chars + sum(map(len, values))

    def decoded(self) -> dict[str, str]:
        """The headers as a plain dict of valid UTF-8 `str` (what the journal shows)."""
        if self._decoded is None:
            self._decoded = {
                utf8_safe(str(name)): utf8_safe(value)
                for name, value in zip(self._names, self._values, strict=True)
            }
        return self._decoded

    def __getitem__(self, name: str) -> str:
        return self.decoded()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.decoded())

    def __len__(self) -> int:
        return len(self.decoded())


def header_dict(headers: ReceivedHeaders | Mapping[str, str]) -> dict[str, str]:
    """Headers as the journal shows them (an entry read back from Redis has its dict)."""
    return headers.decoded() if isinstance(headers, ReceivedHeaders) else dict(headers)


def header_size(headers: ReceivedHeaders | Mapping[str, str]) -> int:
    if isinstance(headers, ReceivedHeaders):
        return headers.chars
    return sum(len(name) + len(value) for name, value in headers.items())
