"""Generated text draws its words the way Faker's lorem provider does (replies/generated.py's
_Lorem), without Faker's per-call costs: same Random, same calls, so the same text. If a Faker
release changes how it draws, this says so before users' seeded replies change."""

from __future__ import annotations

from random import Random

import pytest
from faker import Faker

from mockserver.replies.generated import TextGenerator, _Lorem


@pytest.mark.parametrize("locale", ["en_US", "zh_CN"])
def test_words_and_sentences_are_fakers_own(locale: str) -> None:
    fake = Faker(locale)
    lorem = _Lorem(fake)
    for seed in range(500):
        count = 1 + seed % 9
        fake.random = Random(seed)  # type: ignore[attr-defined]  # the proxy forwards it
        expected_words = fake.words(count)
        expected_sentence = fake.sentence(nb_words=7 + seed % 8)
        rng = Random(seed)
        assert lorem.words(rng, count) == expected_words
        assert lorem.sentence(rng, 7 + seed % 8) == expected_sentence


def test_answers_keep_their_text_for_a_seed() -> None:
    """Pinned: a user's snapshot of a seeded reply must not change under them."""
    text = TextGenerator()
    english = text.answer(False, Random("pin"))
    chinese = text.answer(True, Random("pin"))
    assert (len(english), english[:24]) == (520, "Good question. Home cert")
    assert (len(chinese), chinese[:8]) == (123, "当然可以。特别，")
