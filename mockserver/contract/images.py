"""Images in `image_url` content parts: checked as OpenAI would, and priced in prompt tokens.

An http(s) URL is accepted as it is: the mock never goes to the network, so its size is unknown.
A `data:` URI is decoded and must hold a PNG, JPEG, GIF or WebP image (the formats OpenAI takes),
whose width and height come from its header. The token price follows OpenAI's published rule for
gpt-4o-class models.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import math
import struct
import zlib
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal
from urllib.parse import urlsplit

import imagesize  # type: ignore[import-untyped]  # ships no type information

MAX_IMAGE_BYTES = 20 * 1024 * 1024  # OpenAI's limit for one image
LOW_DETAIL_TOKENS = 85  # every image at detail "low"; the base cost at "high"
TILE_TOKENS = 170  # each 512px tile at detail "high"
UNKNOWN_SIZE = (1024, 1024)  # assumed for URLs, whose bytes the mock never sees
_SUBTYPES = frozenset({"png", "jpeg", "jpg", "gif", "webp"})  # of the data URI's image/ type
_NAMES = {"png": "PNG", "jpeg": "JPEG", "gif": "GIF", "webp": "WebP"}
_PNG = b"\x89PNG\r\n\x1a\n"


class InvalidImage(ValueError):
    """An image_url that OpenAI would refuse: the message says what is wrong with it."""


@dataclass(frozen=True)
class ImageInfo:
    """One image as the mock sees it: where it came from and, if inline, what it is."""

    source: Literal["url", "data"]
    format: str | None = None  # "png", "jpeg", "gif" or "webp", read from the bytes
    width: int | None = None
    height: int | None = None
    byte_size: int | None = None


# The cache keeps its keys alive: 32 data URIs of a 16 MB body each held 512 MB after their
# requests were answered. Longer URLs are inspected anew (the rule, then the token count).
MAX_CACHED_URL = 1 << 20  # characters


def inspect_image_url(url: str) -> ImageInfo:
    """What `url` holds; InvalidImage if it is neither an http(s) URL nor a data: image."""
    return _inspect(url) if len(url) > MAX_CACHED_URL else _inspect_cached(url)


@functools.lru_cache(maxsize=32)  # the rule and the token count look at the same parts
def _inspect_cached(url: str) -> ImageInfo:
    return _inspect(url)


def _inspect(url: str) -> ImageInfo:
    if url[:5].lower() == "data:":
        return _inspect_data_uri(url)
    parts = urlsplit(url)
    if parts.scheme.lower() in ("http", "https") and parts.hostname:
        if any(c.isspace() or not c.isprintable() for c in url):
            raise InvalidImage("image URL contains whitespace or control characters")
        return ImageInfo(source="url")
    raise InvalidImage(
        "image_url must be an http(s) URL or a data:image/<type>;base64,<data> URI, "
        f"not {url[:40]!r}"
    )


def image_tokens(info: ImageInfo, detail: str | None) -> int:
    """Prompt tokens for one image: 85 at detail low, else 85 plus 170 per 512px tile."""
    if detail == "low":
        return LOW_DETAIL_TOKENS
    if detail not in (None, "auto", "high"):
        raise ValueError(f"detail must be 'low', 'high' or 'auto', not {detail!r}")
    if info.width is None or info.height is None:
        width, height = UNKNOWN_SIZE
    else:
        width, height = info.width, info.height
    return LOW_DETAIL_TOKENS + TILE_TOKENS * _tiles(width, height)


def _tiles(width: int, height: int) -> int:
    """512px tiles once the image fits in 2048x2048 and its short side is at most 768.

    Each resize gives whole pixels, rounded down, as OpenAI's worked examples do. Images are
    only ever scaled down.
    """
    if max(width, height) > 2048:
        width, height = _scaled(width, height, Fraction(2048, max(width, height)))
    if min(width, height) > 768:
        width, height = _scaled(width, height, Fraction(768, min(width, height)))
    return -(-max(width, 1) // 512) * -(-max(height, 1) // 512)


def _scaled(width: int, height: int, scale: Fraction) -> tuple[int, int]:
    return math.floor(width * scale), math.floor(height * scale)


def _inspect_data_uri(url: str) -> ImageInfo:
    header, comma, payload = url[5:].partition(",")
    if not comma:
        raise InvalidImage("data URI has no ',' before its data")
    params = header.split(";")
    mime = params[0].strip().lower()
    if not mime.startswith("image/"):
        raise InvalidImage(f"data URI has media type {mime or 'text/plain'!r}, not an image")
    # The declared type need only be one of the four: the format is read from the bytes.
    if mime.removeprefix("image/") not in _SUBTYPES:
        raise InvalidImage(f"unsupported image type {mime!r}: use png, jpeg, gif or webp")
    if params[-1].strip().lower() != "base64":
        raise InvalidImage("image data URI must be base64-encoded (';base64,')")
    if len(payload) > (MAX_IMAGE_BYTES + 2) // 3 * 4:
        raise InvalidImage(f"image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidImage(f"image data is not valid base64: {error}") from None
    if not data:
        raise InvalidImage("image data is empty")
    kind = _sniff(data)
    if kind is None:
        raise InvalidImage("image data is not a PNG, JPEG, GIF or WebP image")
    width, height = imagesize.get(io.BytesIO(data))  # never the URL: a str it would fetch
    if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
        raise InvalidImage(f"{_NAMES[kind]} image is truncated or corrupt: no size in its header")
    return ImageInfo(source="data", format=kind, width=width, height=height, byte_size=len(data))


def _sniff(data: bytes) -> str | None:
    """The format by its magic bytes; a PNG's header chunk must also pass its checksum."""
    if data.startswith(_PNG):
        length, kind = struct.unpack(">I4s", data[8:16]) if len(data) >= 16 else (0, b"")
        ihdr = data[12 : 12 + 4 + 13]
        crc = data[29:33]
        ok = kind == b"IHDR" and length == 13 and len(crc) == 4
        return "png" if ok and zlib.crc32(ihdr) == int.from_bytes(crc, "big") else None
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and data[12:16] in (b"VP8 ", b"VP8L", b"VP8X"):
        return "webp"
    return None
