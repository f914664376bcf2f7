"""tokens: an exact, stable split (joining gives the text back) and its counting rule."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.replies import tokens

SAMPLES = [
    "",
    " ",
    "\n\n",
    "Hello, world!",
    "  leading and trailing  ",
    "你好，世界。",
    "用 3 句话解释什么是token,并给一个例子。",
    "mixed 中文 and English\twith\ttabs\r\nand CRLF",
    "emoji 😀👍🏽 and flags 🇨🇳",
    "こんにちは 안녕하세요",
    "snake_case_identifier = 12345678",
    "**Markdown** _emphasis_ `code` [link](http://x.y)",
]


@pytest.mark.parametrize("text", SAMPLES, ids=range(len(SAMPLES)))
def test_split_joins_back(text: str) -> None:
    pieces = tokens.split(text)
    assert "".join(pieces) == text
    assert all(pieces), "no empty tokens"
    assert tokens.count(text) == len(pieces)


@given(st.text())
def test_split_joins_back_for_any_text(text: str) -> None:
    assert "".join(tokens.split(text)) == text


@given(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)))
def test_every_han_character_is_one_token(text: str) -> None:
    assert tokens.count(text) == len(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("你", 1),
        ("你好", 2),
        ("你好，世界。", 6),  # full-width punctuation counts like a character
        ("カタカナ", 4),
        ("한국어", 3),
        ("abcd", 1),
        ("abcde", 2),  # runs of up to four letters
        ("hello world", 4),  # "hell" "o" " worl" "d"
        ("12345678", 2),
        ("a, b", 3),  # "a" "," " b": whitespace joins the token after it
        ("!?", 2),
        ("中文abc", 3),
    ],
)
def test_count_rule(text: str, expected: int) -> None:
    assert tokens.count(text) == expected


def test_whitespace_belongs_to_the_next_token() -> None:
    assert tokens.split("a  b") == ["a", "  b"]
    assert tokens.split("你 好") == ["你", " 好"]
    assert tokens.split("end  ") == ["end", "  "]


def test_english_is_about_four_characters_per_token() -> None:
    text = (
        "The quick brown fox jumps over the lazy dog while the cat sleeps on the warm "
        "windowsill and dreams about catching birds in the garden behind the old house."
    )
    ratio = len(text) / tokens.count(text)
    assert 2.5 < ratio < 5


def test_prompt_tokens_follow_the_chat_accounting() -> None:
    one = [{"role": "user", "content": "你好"}]
    two = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "你好"}]
    base = tokens.prompt_tokens(one)
    assert base == tokens.REPLY_PRIMING + tokens.PER_MESSAGE + 1 + 2
    added = tokens.prompt_tokens(two) - base
    assert added == tokens.PER_MESSAGE + 1 + tokens.count("Be brief.")


def test_prompt_tokens_count_names_images_and_tools() -> None:
    text = [{"role": "user", "content": "hi"}]
    named = [{"role": "user", "content": "hi", "name": "alice"}]
    assert tokens.prompt_tokens(named) - tokens.prompt_tokens(text) == 1 + tokens.count("alice")
    low = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "hi"},
                {"type": "image_url", "image_url": {"url": "x", "detail": "low"}},
            ],
        }
    ]
    high = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "hi"},
                {"type": "image_url", "image_url": {"url": "x", "detail": "high"}},
            ],
        }
    ]
    assert tokens.prompt_tokens(low) < tokens.prompt_tokens(high)
    assert tokens.prompt_tokens(low) - tokens.prompt_tokens(text) == tokens.IMAGE_LOW_TOKENS
    tool = [{"type": "function", "function": {"name": "get_weather"}}]
    assert tokens.prompt_tokens(text, tool) > tokens.prompt_tokens(text)


def test_the_ascii_rule_is_the_unicode_rule_on_ascii_text() -> None:
    """split() takes a pattern without Unicode classes for ASCII text (faster): it must cut
    every ASCII text exactly where the general pattern does."""
    rng = random.Random(7)
    alphabet = [chr(i) for i in range(128)]
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        assert tokens._ASCII_TOKEN.findall(text) == tokens._TOKEN.findall(text), repr(text)
    prose = "Sure! Here is a short answer:\n\n1. **Home run**: the 3rd item, x_y-z.\x1c\x1f end"
    assert tokens.split(prose) == tokens._TOKEN.findall(prose)
    assert "".join(tokens.split(prose)) == prose
