"""String formats: a maker for each `format` the generator can produce, from the caller's rng.

Dates and times are drawn here rather than by Faker, whose are relative to today.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from random import Random
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockserver.replies.schema_values.generator import Generator

Maker = Callable[["Generator"], Any]


def date_text(rng: Random) -> str:
    """Dates from a fixed window: Faker's are relative to today, which breaks determinism."""
    return (date(1995, 1, 1) + timedelta(days=rng.randrange(40 * 365))).isoformat()


def time_text(rng: Random) -> str:
    """HH:MM:SS with no offset: jsonschema's FormatChecker reads `time` that way."""
    return f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"


def datetime_text(rng: Random) -> str:
    """A UTC date-time from the same fixed window as `date_text`."""
    return f"{date_text(rng)}T{time_text(rng)}Z"


def _duration(rng: Random) -> str:
    """An ISO 8601 duration of days, hours and minutes."""
    return f"P{rng.randint(0, 30)}DT{rng.randint(0, 23)}H{rng.randint(0, 59)}M"


def uuid_text(rng: Random) -> str:
    """A version-4 UUID from the rng, not the OS: one seed, one id."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


FORMATS: dict[str, Maker] = {
    "date": lambda g: date_text(g.rng),
    "date-time": lambda g: datetime_text(g.rng),
    "time": lambda g: time_text(g.rng),
    "duration": lambda g: _duration(g.rng),
    "email": lambda g: g.fake.email(),
    "idn-email": lambda g: g.fake.email(),
    "uri": lambda g: g.fake.uri(),
    "url": lambda g: g.fake.uri(),
    "iri": lambda g: g.fake.uri(),
    "uri-reference": lambda g: g.fake.uri(),
    "iri-reference": lambda g: g.fake.uri(),
    "uuid": lambda g: uuid_text(g.rng),
    "ipv4": lambda g: g.fake.ipv4(),
    "ipv6": lambda g: g.fake.ipv6(),
    "hostname": lambda g: g.fake.domain_name(),
    "idn-hostname": lambda g: g.fake.domain_name(),
    "json-pointer": lambda g: "/" + "/".join(g.fake.words(g.rng.randint(1, 3))),
    "relative-json-pointer": lambda g: f"{g.rng.randint(0, 3)}/{g.fake.word()}",
    "regex": lambda g: g.rng.choice((r"^[a-z]+$", r"\d{3}-\d{4}", r"^\w+@\w+\.com$")),
}
