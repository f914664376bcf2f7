"""image_url parts: URLs taken unseen, data: URIs decoded and sized, tokens by OpenAI's rule.

The test images are built here, byte by byte: the smallest real files of each format, with
whatever width and height a test wants.
"""

from __future__ import annotations

import base64
import re
import struct
import sys
import zlib

import pytest

from mockserver.contract import images
from mockserver.contract.images import ImageInfo, InvalidImage, image_tokens, inspect_image_url

SPEC_PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQ"
    "GAhKmMIQAAAABJRU5ErkJggg=="
)


class Bits:
    """A bit writer; GIF's LZW and WebP's VP8L fill bytes from the low bit up, JPEG from the top."""

    def __init__(self, lsb_first: bool) -> None:
        self.lsb_first = lsb_first
        self.bits: list[int] = []

    def put(self, value: int, width: int) -> None:
        order = range(width) if self.lsb_first else reversed(range(width))
        self.bits += [(value >> i) & 1 for i in order]

    def to_bytes(self, pad: int = 0) -> bytes:
        bits = self.bits + [pad] * (-len(self.bits) % 8)
        out = bytearray()
        for i in range(0, len(bits), 8):
            byte = bits[i : i + 8]
            weights = range(8) if self.lsb_first else reversed(range(8))
            out.append(sum(bit << w for bit, w in zip(byte, weights, strict=True)))
        return bytes(out)


def png(width: int, height: int) -> bytes:
    """A black 8-bit grayscale PNG."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    rows = b"".join(b"\x00" + bytes(width) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def gif(width: int, height: int) -> bytes:
    """A black GIF: LZW with a clear code before every pixel, so codes stay 3 bits wide."""
    bits = Bits(lsb_first=True)
    for _ in range(width * height):
        bits.put(4, 3)  # clear
        bits.put(0, 3)  # palette entry 0
    bits.put(5, 3)  # end of information
    data = bits.to_bytes()
    blocks = b"".join(
        bytes([len(data[i : i + 255])]) + data[i : i + 255] for i in range(0, len(data), 255)
    )
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", width, height, 0x80, 0, 0)  # 2-colour global palette
        + b"\x00\x00\x00\xff\xff\xff"
        + b","
        + struct.pack("<HHHHB", 0, 0, width, height, 0)
        + b"\x02"  # LZW minimum code size
        + blocks
        + b"\x00;"
    )


def jpeg(width: int, height: int) -> bytes:
    """A grey baseline JPEG: one-symbol Huffman tables, so each 8x8 block is two zero bits."""

    def segment(marker: int, body: bytes) -> bytes:
        return struct.pack(">HH", 0xFF00 | marker, len(body) + 2) + body

    one_code = bytes([1] + [0] * 15) + b"\x00"  # one code of length 1, for symbol 0
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    bits = Bits(lsb_first=False)
    bits.put(0, 2 * blocks)  # DC difference 0, then end of block
    return (
        b"\xff\xd8"
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + segment(0xDB, b"\x00" + bytes([1] * 64))
        + segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
        + segment(0xC4, b"\x00" + one_code + b"\x10" + one_code)
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + bits.to_bytes(pad=1)
        + b"\xff\xd9"
    )


def webp(width: int, height: int, *, extended: bool = False) -> bytes:
    """A black lossless WebP: single-symbol prefix codes, so pixels take no bits at all."""
    bits = Bits(lsb_first=True)
    bits.put(0x2F, 8)
    bits.put(width - 1, 14)
    bits.put(height - 1, 14)
    bits.put(0, 1)  # alpha not used
    bits.put(0, 3)  # version
    bits.put(0, 1)  # no transform
    bits.put(0, 1)  # no colour cache
    bits.put(0, 1)  # no meta prefix codes
    for symbol in (0, 0, 0, 255, 0):  # green, red, blue, alpha, distance
        bits.put(1, 1)  # a simple code
        bits.put(0, 1)  # of one symbol
        bits.put(1, 1)  # written in 8 bits
        bits.put(symbol, 8)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return kind + struct.pack("<I", len(body)) + body + b"\x00" * (len(body) % 2)

    body = chunk(b"VP8L", bits.to_bytes())
    if extended:
        canvas = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        body = chunk(b"VP8X", b"\x00\x00\x00\x00" + canvas) + body
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def test_the_spec_example_png() -> None:
    info = inspect_image_url(SPEC_PNG)
    assert info == ImageInfo(source="data", format="png", width=1, height=1, byte_size=70)
    assert image_tokens(info, "high") == 85 + 170
    assert image_tokens(info, "low") == 85


@pytest.mark.parametrize(
    ("build", "mime", "fmt"),
    [
        (png, "image/png", "png"),
        (gif, "image/gif", "gif"),
        (jpeg, "image/jpeg", "jpeg"),
        (jpeg, "image/jpg", "jpeg"),
        (webp, "image/webp", "webp"),
        (lambda w, h: webp(w, h, extended=True), "image/webp", "webp"),
    ],
    ids=["png", "gif", "jpeg", "jpg", "webp-lossless", "webp-extended"],
)
@pytest.mark.parametrize(("width", "height"), [(1, 1), (37, 20), (200, 300)])
def test_each_format_is_sized(build: object, mime: str, fmt: str, width: int, height: int) -> None:
    assert callable(build)
    data: bytes = build(width, height)
    info = inspect_image_url(data_uri(data, mime))
    assert (info.source, info.format, info.width, info.height) == ("data", fmt, width, height)
    assert info.byte_size == len(data)


def test_the_declared_type_need_not_match_the_bytes() -> None:
    """Like OpenAI, the format is read from the bytes; the media type only has to be one of four."""
    assert inspect_image_url(data_uri(gif(2, 3), "image/png")).format == "gif"


def test_mime_type_is_case_insensitive() -> None:
    assert inspect_image_url(data_uri(png(4, 4), "IMAGE/PNG")).width == 4


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/cat.png",
        "http://127.0.0.1:8080/x.jpg?size=large",
        "HTTPS://EXAMPLE.COM/a",
    ],
)
def test_http_urls_are_taken_unseen(url: str) -> None:
    info = inspect_image_url(url)
    assert info == ImageInfo(source="url")
    assert image_tokens(info, None) == image_tokens(info, "auto") == 765
    assert image_tokens(info, "low") == 85


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (data_uri(b"hello, world: not an image", "image/png"), "not a PNG, JPEG, GIF or WebP"),
        (data_uri(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/png"), "not a PNG"),
        (data_uri(b"BM" + bytes(60), "image/png"), "not a PNG"),
        ("data:image/png;base64,iVBORw0KGgo@@AAAA", "not valid base64"),
        ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUg", "not valid base64"),
        ("data:image/png;base64,iVBORw0K\nGgoAAAAN", "not valid base64"),
        ("data:image/png;base64,", "empty"),
        (data_uri(b"hello", "text/plain"), "media type 'text/plain', not an image"),
        (data_uri(png(1, 1), "application/octet-stream"), "not an image"),
        ("data:;base64,aGVsbG8=", "not an image"),
        (data_uri(png(1, 1), "image/svg+xml"), "unsupported image type 'image/svg+xml'"),
        (data_uri(png(1, 1), "image/bmp"), "unsupported image type"),
        ("data:image/png,rawbytes", "must be base64"),
        ("data:image/png;base64", "no ','"),
        (data_uri(png(8, 8)[:20], "image/png"), "not a PNG"),
        (data_uri(png(8, 8)[:40].replace(b"IHDR", b"IHDX"), "image/png"), "not a PNG"),
        (data_uri(b"\xff\xd8\xff\xe0" + bytes(30), "image/jpeg"), "JPEG image is truncated"),
        (data_uri(b"RIFF\x10\x00\x00\x00WEBPVP8L\x00", "image/webp"), "WebP image is truncated"),
        ("ftp://example.com/cat.png", "must be an http(s) URL or a data:image"),
        ("file:///etc/passwd", "must be an http(s) URL"),
        ("https://", "must be an http(s) URL"),
        ("cat.png", "must be an http(s) URL"),
        ("https://example.com/a cat.png", "whitespace"),
    ],
)
def test_invalid_images(url: str, message: str) -> None:
    with pytest.raises(InvalidImage, match=re.escape(message)):
        inspect_image_url(url)


def test_invalid_image_is_a_value_error() -> None:
    assert issubclass(InvalidImage, ValueError)


def test_size_is_bounded_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "MAX_IMAGE_BYTES", 1024)
    assert inspect_image_url(data_uri(png(16, 16), "image/png")).width == 16
    with pytest.raises(InvalidImage, match="larger than"):
        inspect_image_url("data:image/png;base64," + "A" * 2000)


def test_long_data_uris_are_not_kept_once_inspected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "MAX_CACHED_URL", 100)
    url = data_uri(png(16, 16) + bytes(200), "image/png")
    held = sys.getrefcount(url)
    assert inspect_image_url(url).width == 16
    assert sys.getrefcount(url) == held  # a cache entry would keep the whole body's string


@pytest.mark.parametrize(
    ("width", "height", "detail", "tokens"),
    [
        (1024, 1024, "high", 765),  # OpenAI's example: 768x768, 4 tiles
        (2048, 4096, "high", 1105),  # OpenAI's example: 1024x2048, then 768x1536, 6 tiles
        (4096, 8192, "high", 1105),  # the same shape, scaled down further
        (1024, 1024, "auto", 765),
        (1024, 1024, None, 765),
        (512, 512, "high", 255),
        (513, 512, "high", 425),
        (768, 768, "high", 765),
        (800, 600, "high", 765),  # short side under 768: no resize, 2x2 tiles
        (1, 1, "high", 255),
        (1, 100_000, "high", 85 + 170 * 4),  # 1x100000 fits as 0x2048: still 1 tile wide
        (1024, 1024, "low", 85),
        (4096, 8192, "low", 85),
        (1, 1, "low", 85),
    ],
)
def test_token_rule(width: int, height: int, detail: str | None, tokens: int) -> None:
    assert image_tokens(ImageInfo("data", "png", width, height, 1), detail) == tokens


def test_unknown_detail_is_refused() -> None:
    with pytest.raises(ValueError, match="detail"):
        image_tokens(ImageInfo("url"), "medium")
