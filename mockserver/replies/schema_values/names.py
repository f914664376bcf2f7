"""Name hints: what a property's name says its value is.

A string named `city` gets a city and `email_address` an address (Faker providers, by whole
name or by a telling word in it); a number named `age` or `price` gets a range and a precision
that look right. An array's items are named for one of it, so `cities` holds cities.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from faker.providers.date_time import Provider as _DateTimeProvider

from mockserver.replies.schema_values.formats import (
    Maker,
    date_text,
    datetime_text,
    time_text,
    uuid_text,
)

if TYPE_CHECKING:
    from mockserver.replies.schema_values.generator import Generator

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _repaired(text: str) -> str:
    """Faker stores some capitals as UTF-8 misread as Latin-1 ("BogotÃ¡"): read them again."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text


# Real cities for English Fakers: en_US only composes names like "East Michaelton".
_CAPITALS = tuple(_repaired(country.capital) for country in _DateTimeProvider.countries)


def _city(g: Generator) -> str:
    named: Callable[[], str] | None = getattr(g.fake, "city_name", None)
    if named is not None:  # zh_CN and others list real cities
        return named()
    if g.english:
        return g.rng.choice(_CAPITALS)
    city: str = g.fake.city()
    return city


def _title(g: Generator) -> str:
    text: str = g.fake.sentence(nb_words=g.rng.randint(2, 5))
    return text.rstrip(".。")


# Whole property names (snake_case, as `_tokens` joins them) and what they hold.
_STRING_NAMES: tuple[tuple[str, Maker], ...] = (
    ("username user_name login handle screen_name", lambda g: g.fake.user_name()),
    ("first_name firstname given_name", lambda g: g.fake.first_name()),
    ("last_name lastname surname family_name", lambda g: g.fake.last_name()),
    ("country_code country_iso", lambda g: g.fake.country_code()),
    ("language_code lang_code locale", lambda g: g.fake.language_code()),
    ("currency currency_code", lambda g: g.fake.currency_code()),
    ("street street_address address_line address_line1", lambda g: g.fake.street_address()),
    ("ip ip_address ipv4 ipv4_address", lambda g: g.fake.ipv4()),
    ("mac mac_address", lambda g: g.fake.mac_address()),
    ("filename file_name", lambda g: g.fake.file_name()),
    ("path file_path filepath", lambda g: g.fake.file_path()),
    ("zip zipcode zip_code postcode postal_code", lambda g: g.fake.postcode()),
    ("timezone time_zone tz", lambda g: g.fake.timezone()),
    ("created_at updated_at timestamp datetime date_time", lambda g: datetime_text(g.rng)),
)
# Words anywhere in a property name, most telling first: `email_address` is an email.
_STRING_WORDS: tuple[tuple[str, Maker], ...] = (
    ("email mail", lambda g: g.fake.email()),
    ("phone mobile tel telephone fax cell", lambda g: g.fake.phone_number()),
    ("url uri website link homepage href", lambda g: g.fake.url()),
    ("uuid guid", lambda g: uuid_text(g.rng)),
    ("domain hostname host", lambda g: g.fake.domain_name()),
    ("company organization organisation employer business", lambda g: g.fake.company()),
    ("city town location destination origin", _city),
    ("country nation", lambda g: g.fake.country()),
    ("state province region", lambda g: g.fake.administrative_unit()),
    ("address", lambda g: g.fake.address().replace("\n", ", ")),
    ("job occupation profession role", lambda g: g.fake.job()),
    ("color colour", lambda g: g.fake.color_name()),
    ("language lang", lambda g: g.fake.language_name()),
    ("password passwd secret", lambda g: g.fake.password(length=12)),
    ("date day birthday dob birthdate", lambda g: date_text(g.rng)),
    ("time", lambda g: time_text(g.rng)[:5]),
    ("title subject headline heading product item book movie song event project task", _title),
    (
        "description summary content text message body comment note notes bio reason query"
        " question prompt answer review instructions details",
        lambda g: g.fake.sentence(),
    ),
    ("name author owner customer user person contact", lambda g: g.fake.name()),
    ("id identifier", lambda g: uuid_text(g.rng)),
    ("code sku reference ref", lambda g: g.fake.bothify("??-####").upper()),
    ("tag keyword category topic label word type kind", lambda g: g.fake.word()),
)
_BY_NAME = {name: maker for names, maker in _STRING_NAMES for name in names.split()}
_BY_WORD = tuple((frozenset(words.split()), maker) for words, maker in _STRING_WORDS)
# (low, high, decimals) for a number, by the last word of its name that has one.
_NUMBER_RANGES: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("age", (18, 90, 0)),
    ("year", (1990, 2030, 0)),
    ("month", (1, 12, 0)),
    ("day", (1, 28, 0)),
    ("hour hours", (0, 23, 0)),
    ("minute minutes second seconds", (0, 59, 0)),
    (
        "count quantity qty num number guests people adults children items limit size n k"
        " nights days page results passengers rooms",
        (1, 10, 0),
    ),
    ("rating stars", (1, 5, 1)),
    ("score percent percentage pct", (0, 100, 1)),
    ("probability confidence ratio", (0, 1, 2)),
    ("price amount cost total balance salary fee budget", (1, 1000, 2)),
    ("temperature temp celsius fahrenheit", (-10, 35, 1)),
    ("latitude lat", (-90, 90, 4)),
    ("longitude lng lon long", (-180, 180, 4)),
    ("id", (1, 99999, 0)),
    ("port", (1024, 65535, 0)),
    ("timestamp epoch", (1_600_000_000, 1_800_000_000, 0)),
    ("weight height width length distance radius", (1, 500, 1)),
)
_NUMBER_HINTS = {word: hint for words, hint in _NUMBER_RANGES for word in words.split()}


def _tokens(name: str) -> list[str]:
    """The words of a name, lower case, whether it is camelCase, snake_case or kebab-case."""
    return [t for t in re.split(r"[^a-z0-9]+", _CAMEL.sub("_", name).lower()) if t]


def string_maker(name: str) -> Maker | None:
    """The maker of what a string called `name` holds: by its whole name, else by a word in it."""
    tokens = _tokens(name)
    maker = _BY_NAME.get("_".join(tokens))
    if maker is None:
        present = set(tokens)
        maker = next((m for words, m in _BY_WORD if words & present), None)
    return maker


def number_hint(name: str) -> tuple[int, int, int] | None:
    """(low, high, decimals) for a number called `name`, from the last word that has one."""
    for token in reversed(_tokens(name)):
        if token in _NUMBER_HINTS:
            return _NUMBER_HINTS[token]
    return None


def singular(name: str) -> str:
    """An array's items are named for one of it: `cities` holds a `city`."""
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith(("sses", "xes", "ches", "shes")):
        return name[:-2]
    if name.endswith("s") and not name.endswith(("ss", "us")):
        return name[:-1]
    return name
