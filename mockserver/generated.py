"""Generated replies: plausible, seeded text when no fixture answers.

Chinese when the last user message is Chinese, English otherwise. The same body and seed give
the same content: the random source is keyed by the request's `seed` (else the server's --seed)
and a digest of the body without its streaming fields, so a streamed and a plain request agree.
"""

from __future__ import annotations

import hashlib
import json
import re
from random import Random

from faker import Faker

from mockserver import tokens
from mockserver.chat_request import ChatRequest
from mockserver.completion import Choice, Completion, Usage, latency_checkpoint
from mockserver.rules import MAX_CHOICES

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_EN_OPENERS = ("Sure!", "Good question.", "Here is a short answer.", "Of course.")
_ZH_OPENERS = ("好的！", "当然可以。", "这是个好问题。", "简单来说，")


class TextGenerator:
    """Faker instances per language, built once: creating one costs tens of milliseconds."""

    def __init__(self) -> None:
        self.en = Faker("en_US")
        self.zh = Faker("zh_CN")

    def answer(self, prompt: str, rng: Random) -> str:
        """A short Markdown answer: an opening line, a few numbered points, a closing line."""
        chinese = bool(_CJK.search(prompt))
        fake = self.zh if chinese else self.en
        fake.random = rng  # type: ignore[attr-defined]  # Faker's proxy forwards the setter
        sentence = self._zh_sentence if chinese else self._en_sentence
        opener = rng.choice(_ZH_OPENERS if chinese else _EN_OPENERS)
        colon = "：" if chinese else ": "
        points = [
            f"{i}. **{self._title(fake, chinese)}**{colon}{sentence(fake, rng)}"
            for i in range(1, rng.randint(2, 4) + 1)
        ]
        space = "" if chinese else " "
        return (
            f"{opener}{space}{sentence(fake, rng)}\n\n"
            + "\n".join(points)
            + (f"\n\n{sentence(fake, rng)}")
        )

    @staticmethod
    def _title(fake: Faker, chinese: bool) -> str:
        words: list[str] = fake.words(2)
        return "".join(words) if chinese else " ".join(words).capitalize()

    @staticmethod
    def _en_sentence(fake: Faker, rng: Random) -> str:
        sentence: str = fake.sentence(nb_words=rng.randint(7, 14))
        return sentence

    @staticmethod
    def _zh_sentence(fake: Faker, rng: Random) -> str:
        words: list[str] = fake.words(rng.randint(4, 9))
        cut = rng.randint(1, len(words) - 1)
        return "".join(words[:cut]) + "，" + "".join(words[cut:]) + "。"


def seed_key(request: ChatRequest, server_seed: int | None) -> str:
    """What the reply's randomness is keyed by: the seed in force, and the body."""
    # `seed` is in the key already, as a float: 3 and 3.0 are one seed (a float64 in the gateway).
    ignored = ("stream", "stream_options", "seed")
    body = {k: v for k, v in request.body.items() if k not in ignored}
    digest = hashlib.sha256(
        json.dumps(body, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    if request.seed is not None:
        return f"request-seed:{request.seed}:{digest}"
    if server_seed is not None:
        return f"server-seed:{server_seed}:{digest}"
    return f"body:{digest}"


def limit(content: str, stop: tuple[str, ...], max_tokens: int | None) -> tuple[str, str]:
    """Apply stop sequences, then the token limit; return the content and its finish_reason."""
    cuts = [i for i in (content.find(s) for s in stop) if i >= 0]
    if cuts:
        content = content[: min(cuts)]
    pieces = tokens.split(content)
    if max_tokens is not None and len(pieces) > max_tokens:
        return "".join(pieces[:max_tokens]), "length"
    return content, "stop"


def generate(request: ChatRequest, text: TextGenerator, server_seed: int | None) -> Completion:
    """A text reply with n choices, honouring stop and the token limit, with usage that adds up."""
    key = seed_key(request, server_seed)
    choices = []
    for index in range(min(request.n, MAX_CHOICES)):
        answer = text.answer(request.last_user_text, Random(f"{key}:{index}"))
        content, finish_reason = limit(answer, request.stop, request.max_tokens)
        choices.append(Choice(index=index, content=content, finish_reason=finish_reason))
    completion_tokens = sum(tokens.count(c.content or "") for c in choices)
    usage = Usage(
        prompt_tokens=tokens.prompt_tokens(request.messages, request.body.get("tools")),
        completion_tokens=completion_tokens,
        latency_checkpoint=latency_checkpoint(Random(key), completion_tokens),
    )
    return Completion(model=request.model, choices=tuple(choices), usage=usage)
