"""Token counting: one documented rule, used for prompts, replies, limits and stream pieces.

The mock cannot ship a real tokenizer (no network for BPE files), so it counts like this:
a token is one CJK character (Han, kana, hangul, full-width punctuation), or a run of up to four
letters or digits together with the whitespace before it, or one other symbol (with the whitespace
before it). That is close to OpenAI's rule of thumb (about 4 characters per English token, about
one token per Chinese character) and, above all, it is exact and stable: `"".join(split(t)) == t`.

Completion tokens: the content, the reasoning, and each tool call's arguments.

Prompt tokens follow OpenAI's cookbook accounting for chat models: 3 tokens per message plus its
role, content and name, 3 more to prime the reply; tools count as the tokens of their JSON.
Images follow OpenAI's published rule (85 at detail low; else 85 + 170 per 512px tile of the
image scaled into 2048x2048 and then to 768 on its short side), sized from a data: URI's
header; an http(s) image is never fetched and counts as 1024x1024 (765).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from mockserver.contract.images import InvalidImage, image_tokens, inspect_image_url

_TOKEN = re.compile(
    r"\s*[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef]"
    r"|\s*[^\W_]{1,4}"
    r"|\s*[^\s]"
    r"|\s+",
)
# The same rule for ASCII text, without Unicode classes (1.5x faster, and most generated
# English is ASCII): \s as Python's str.isspace() has it below 128 (\x1c-\x1f included),
# [^\W_] as ASCII letters and digits; no CJK. tests/unit/test_tokens.py checks the two agree.
_SPACE = r"[\t\n\x0b\x0c\r\x1c-\x1f ]"
_ASCII_TOKEN = re.compile(
    rf"{_SPACE}*[A-Za-z0-9]{{1,4}}|{_SPACE}*[^\t\n\x0b\x0c\r\x1c-\x1f ]|{_SPACE}+"
)
PER_MESSAGE = 3
REPLY_PRIMING = 3
IMAGE_LOW_TOKENS = 85
IMAGE_HIGH_TOKENS = 765  # a 1024x1024 image at detail high: 85 + 4 tiles x 170


def split(text: str) -> list[str]:
    """The tokens of `text`; joining them gives `text` back."""
    return (_ASCII_TOKEN if text.isascii() else _TOKEN).findall(text)


def count(text: str) -> int:
    return len(split(text))


def _content_tokens(content: Any) -> int:
    if isinstance(content, str):
        return count(content)
    total = 0
    for part in content if isinstance(content, list) else ():
        if part.get("type") == "text":
            total += count(part.get("text") or "")
        elif part.get("type") == "image_url":
            total += _image_tokens(part.get("image_url") or {})
    return total


def _image_tokens(image: Mapping[str, Any]) -> int:
    """OpenAI's image rule from the real size (data: URIs), else as if 1024x1024."""
    detail = image.get("detail")
    if detail == "low":
        return IMAGE_LOW_TOKENS
    try:
        return image_tokens(inspect_image_url(str(image.get("url", ""))), "high")
    except (InvalidImage, ValueError):
        return IMAGE_HIGH_TOKENS


def prompt_tokens(messages: Sequence[Mapping[str, Any]], tools: Any = None) -> int:
    total = REPLY_PRIMING
    for message in messages:
        total += PER_MESSAGE + 1 + _content_tokens(message.get("content"))
        if message.get("name"):
            total += 1 + count(message["name"])
        for call in message.get("tool_calls") or ():
            total += count(json.dumps(call, ensure_ascii=False))
    if tools:
        total += count(json.dumps(tools, ensure_ascii=False))
    return total
