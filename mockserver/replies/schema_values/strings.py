"""Strings: from the schema's format or pattern, else what the property's name says it holds.

Every candidate is held to the whole schema (length, pattern, format), so a format met together
with a pattern or a length still gives a valid string, or a clear error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jsonschema

from mockserver.linear_regex import Regex
from mockserver.replies.schema_values.errors import UnsupportedSchema
from mockserver.replies.schema_values.formats import FORMATS
from mockserver.replies.schema_values.keywords import compile_pattern, read_count
from mockserver.replies.schema_values.limits import ATTEMPTS
from mockserver.replies.schema_values.names import string_maker
from mockserver.replies.schema_values.patterns import from_pattern, padded

if TYPE_CHECKING:
    from mockserver.replies.schema_values.generator import Generator

_FRESH = 16  # phrases drawn for padding a long string; the rest repeat them
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


@dataclass(frozen=True)
class _Wanted:
    """What a string must be: its length range, pattern and format."""

    low: int
    high: int | None
    pattern: Any
    compiled: Regex | None
    fmt: Any

    def fits(self, text: str, checker: jsonschema.FormatChecker) -> bool:
        if len(text) < self.low or (self.high is not None and len(text) > self.high):
            return False
        if self.compiled is not None and not self.compiled.search(text):
            return False
        return self.fmt is None or checker.conforms(text, self.fmt)


def _wanted(flat: Mapping[str, Any], path: str) -> _Wanted:
    low = read_count(flat, "minLength", path) or 0
    high = read_count(flat, "maxLength", path)
    if high is not None and low > high:
        raise UnsupportedSchema(path, f"minLength {low} > maxLength {high}")
    pattern = flat.get("pattern")
    compiled = None if pattern is None else compile_pattern(pattern, path)
    return _Wanted(low, high, pattern, compiled, flat.get("format"))


def string_value(g: Generator, flat: Mapping[str, Any], path: str, name: str) -> str:
    """A string the schema accepts, drawn again until one fits."""
    wanted = _wanted(flat, path)
    for attempt in range(ATTEMPTS):
        g.budget.node()
        for text in _candidates(g, wanted, name, attempt):
            if text is not None and wanted.fits(text, g.checker):
                return text
    described = ", ".join(
        f"{key} {flat[key]!r}"
        for key in ("format", "pattern", "minLength", "maxLength")
        if key in flat
    )
    raise UnsupportedSchema(path, f"no string found with {described}")


def _candidates(g: Generator, wanted: _Wanted, name: str, attempt: int) -> list[str | None]:
    """One try's strings: from the format, from the pattern, else from the name; all drawn."""
    candidates: list[str | None] = []
    if wanted.fmt in FORMATS:
        candidates.append(str(FORMATS[wanted.fmt](g)))
    if wanted.compiled is not None:
        matched = from_pattern(g.rng, str(wanted.pattern), wanted.compiled, attempt)
        candidates.append(matched and padded(matched, wanted.compiled, wanted.low))
    elif wanted.fmt not in FORMATS:
        candidates.append(text_for(g, name, wanted.low, wanted.high))
    return candidates


def string_hint(g: Generator, name: str) -> str | None:
    """What a string called `name` holds, if the name says and the Faker's locale has it."""
    maker = string_maker(name)
    if maker is None:
        return None
    try:
        return str(maker(g))
    except AttributeError:  # this locale has no such provider
        return None


def phrase(g: Generator) -> str:
    """One to three words, unspaced where the language writes without spaces."""
    words: list[str] = g.fake.words(g.rng.randint(1, 3))
    joiner = "" if any(_CJK.search(w) for w in words) else " "
    return joiner.join(words)


def text_for(g: Generator, name: str, low: int, high: int | None) -> str:
    """The name's kind of value if it has one, else a short phrase; cut or padded to fit."""
    text = string_hint(g, name)
    if text is None:
        text = phrase(g)
    if len(text) < low:  # pad with phrases, joined once (linear, not quadratic)
        joiner = "" if _CJK.search(text) else " "
        parts, size = [text], len(text)
        while size < low:  # past a few phrases, reuse them: a Faker call costs ~30 us
            parts.append(phrase(g) if len(parts) < _FRESH else g.rng.choice(parts[:_FRESH]))
            size += len(parts[-1]) + len(joiner)
        text = joiner.join(parts)
    if high is not None and len(text) > high:
        cut = text[:high]
        text = cut.rstrip() if len(cut.rstrip()) >= low else cut
    return text
