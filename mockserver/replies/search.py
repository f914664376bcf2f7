"""Search answers: content citing sources, with `url_citation` annotations whose start and end
indexes point at each citation in the content (web_search_options, or a `-search` model)."""

from __future__ import annotations

from random import Random
from typing import Any

from faker import Faker

from mockserver.contract.request import ChatRequest

SOURCES = 3


def wants_search(request: ChatRequest) -> bool:
    return request.body.get("web_search_options") is not None or request.model.endswith("-search")


def cited_answer(lines: list[str], rng: Random, fake: Faker) -> tuple[str, list[dict[str, Any]]]:
    """Join `lines`, each followed by a Markdown link to a source, and annotate every link."""
    content, annotations = "", []
    for line in lines[:SOURCES]:
        domain = fake.domain_name()
        url = f"https://{domain}/{fake.uri_path()}?utm_source=openai"
        title = fake.sentence(nb_words=rng.randint(3, 6)).rstrip(".")
        content += f"{line} "
        link = f"([{domain}]({url}))"
        start = len(content)
        content += link + "\n"
        annotations.append(
            {
                "type": "url_citation",
                "url_citation": {
                    "start_index": start,
                    "end_index": start + len(link),
                    "url": url,
                    "title": title,
                },
            }
        )
    return content.rstrip("\n"), annotations
