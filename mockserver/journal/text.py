"""Text the journal can always encode: what a client sent may not be valid Unicode."""

from __future__ import annotations


def utf8_safe(text: str) -> str:
    """`text` as valid Unicode: surrogates (a header's non-UTF-8 bytes, a lone JSON
    surrogate escape) become U+FFFD, so it can be encoded, written and served."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape" if _only_escapes(text) else "surrogatepass")
        return raw.decode("utf-8", "replace")
    return text


def _only_escapes(text: str) -> bool:
    """Whether every surrogate is one of surrogateescape's (U+DC80..U+DCFF: raw bytes)."""
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in text)
