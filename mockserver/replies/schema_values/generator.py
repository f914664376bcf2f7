"""The generator core: `value_for`, and the walk that dispatches a schema by its type.

A `Generator` holds what one `value_for` call shares (root schema, rng, Faker, validator). Its
`value` flattens a schema, draws a value of a type the schema allows, and draws again while
the keywords kept as checks reject it; the kinds themselves live in numeric, strings, arrays,
objects and choices.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from random import Random
from typing import Any

import jsonschema
from faker import Faker
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from referencing.exceptions import Unresolvable

from mockserver.replies.schema_values.arrays import array_value
from mockserver.replies.schema_values.budget import Budget, OverBudget
from mockserver.replies.schema_values.choices import branch_value, enum_value
from mockserver.replies.schema_values.errors import UnsupportedSchema
from mockserver.replies.schema_values.keywords import (
    ARRAY_KEYS,
    CHECK_ONLY,
    CHECKS,
    IF,
    NUMBER_KEYS,
    OBJECT_KEYS,
    STRING_KEYS,
    type_list,
)
from mockserver.replies.schema_values.limits import (
    ATTEMPTS,
    HARD_STOP_SECONDS,
    MAX_DEPTH,
    SOFT_DEPTH,
    TRIES,
)
from mockserver.replies.schema_values.linear import linear_validator
from mockserver.replies.schema_values.names import number_hint, string_maker
from mockserver.replies.schema_values.numeric import integer_value, number_value
from mockserver.replies.schema_values.objects import object_value
from mockserver.replies.schema_values.resolve import flatten
from mockserver.replies.schema_values.strings import string_value
from mockserver.stubs.render_guard import RenderTimeout, within_limit


def value_for(
    schema: Mapping[str, Any],
    rng: Random,
    *,
    name: str = "",
    fake: Faker | None = None,
    budget: Budget | None = None,
) -> Any:
    """A value valid against `schema`, drawn from `rng`; `name` is the property it is for.

    Work is spent from `budget` (one per reply; a fresh one when None): past it, OverBudget.
    jsonschema's own checks do not look at the clock, so a watchdog stops them at
    HARD_STOP_SECONDS.
    """
    if not isinstance(schema, Mapping | bool):
        raise UnsupportedSchema("$", "a schema must be an object or a boolean")
    validator = linear_validator(schema)
    faker = fake if fake is not None else _default_faker()
    generator = Generator(schema, rng, faker, validator, budget if budget is not None else Budget())
    try:
        return within_limit(lambda: _generate(generator, schema, name), HARD_STOP_SECONDS)
    except RenderTimeout:
        raise OverBudget(f"more than {HARD_STOP_SECONDS:g} s (wall time)") from None


def _generate(generator: Generator, schema: Mapping[str, Any], name: str) -> Any:
    error = None
    with generator.bound():
        for attempt in range(TRIES):
            try:
                with generator.relaxed(attempt > 0):
                    value = generator.value(schema, "$", name, 0)
                generator.budget.clock()
                error = best_match(generator.validator.iter_errors(value))
            except RecursionError:  # e.g. {"anyOf": [{"$ref": "#"}, ...]}: jsonschema loops too
                raise UnsupportedSchema("$", "a $ref loop that never reaches a value") from None
            except Unresolvable as exc:  # e.g. {"not": {"$ref": "https://..."}}, never fetched
                raise UnsupportedSchema(
                    "$", f"{exc}: only refs into this schema ('#/...') are followed"
                ) from None
            if error is None:
                return value
    assert error is not None
    where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.schema_path)
    raise UnsupportedSchema(where, f"could not generate a valid value: {error.message}")


@functools.cache
def _default_faker() -> Faker:
    """Built once: a Faker costs tens of milliseconds to create."""
    return Faker("en_US")


class Generator:
    """One value_for call: the root schema (for $ref), the random source and the checker."""

    rng: Random
    fake: Faker
    budget: Budget

    def __init__(
        self,
        root: Mapping[str, Any] | bool,
        rng: Random,
        fake: Faker,
        validator: Validator,
        budget: Budget,
    ) -> None:
        self.root = root
        self.rng = rng
        self.validator = validator
        self.budget = budget
        self.checker = jsonschema.FormatChecker()
        self.partial = False  # some optional properties left out: a full value was rejected
        self.english = fake.locales[0].startswith("en")
        # A multi-locale Faker picks its locale with the global random: use the first one only.
        self.fake = fake[fake.locales[0]] if len(fake.locales) > 1 else fake

    @contextmanager
    def bound(self) -> Iterator[None]:
        """Faker draws from our rng while we generate, and gets its own source back after."""
        saved = self.fake.random
        self.fake.random = self.rng  # type: ignore[attr-defined]  # the proxy forwards it
        try:
            yield
        finally:
            self.fake.random = saved  # type: ignore[attr-defined]

    @contextmanager
    def relaxed(self, partial: bool) -> Iterator[None]:
        """Within: objects may leave optional properties out (a redraw after a rejection)."""
        saved = self.partial
        self.partial = saved or partial
        try:
            yield
        finally:
            self.partial = saved

    def passes(self, value: Any, schema: Any) -> bool:
        """Whether `value` satisfies a subschema, with the root's dialect and formats."""
        self.budget.node()
        return bool(self.validator.evolve(schema=schema).is_valid(value))

    def value(self, schema: Any, path: str, name: str, depth: int) -> Any:
        """A value of `schema`, drawn again until the keywords kept as checks accept it."""
        self.budget.node()
        if depth > MAX_DEPTH:
            raise UnsupportedSchema(
                path, f"nested over {MAX_DEPTH} levels deep: a recursion with no finite value?"
            )
        flat, path = flatten(self.root, schema, path)
        checks = list(flat.get(CHECKS, ()))
        checks += [{key: flat[key]} for key in CHECK_ONLY if key in flat]
        if "if" in flat:
            checks.append({k: flat[k] for k in IF if k in flat})
        if "minContains" in flat or "maxContains" in flat:
            keys = ("contains", "minContains", "maxContains")
            checks.append({k: flat[k] for k in keys if k in flat})
        if not checks:
            return self.draw(flat, path, name, depth)
        for attempt in range(ATTEMPTS):
            with self.relaxed(attempt > 0):
                value = self.draw(flat, path, name, depth)
            if all(self.passes(value, check) for check in checks):
                return value
        keywords = sorted({key for check in checks for key in check})
        raise UnsupportedSchema(path, f"no value found that also satisfies {', '.join(keywords)}")

    def draw(self, flat: dict[str, Any], path: str, name: str, depth: int) -> Any:
        """One value of a flattened schema: its const, an enum member, a branch, or a type."""
        if "const" in flat:
            return copy.deepcopy(flat["const"])
        if "enum" in flat:
            return enum_value(self, flat, path)
        if "anyOf" in flat or "oneOf" in flat:
            return branch_value(self, flat, path, name, depth)
        error: UnsupportedSchema | None = None
        for kind in self.kinds(flat, path, name, depth):
            try:
                return self.typed(kind, flat, path, name, depth)
            except UnsupportedSchema as failure:
                error = error or failure
        assert error is not None
        raise error

    def kinds(self, flat: Mapping[str, Any], path: str, name: str, depth: int) -> list[str]:
        """The types to try, most plausible first."""
        if "type" in flat:
            types = type_list(flat["type"], path)
        else:
            keys = set(flat)
            families = (
                (OBJECT_KEYS, "object"),
                (ARRAY_KEYS, "array"),
                (STRING_KEYS, "string"),
                (NUMBER_KEYS, "number"),
            )
            types = [kind for keywords, kind in families if keys & keywords]
            if not types:  # any value at all: what the name suggests, else any scalar
                hint = number_hint(name)
                if string_maker(name) is not None:
                    return ["string"]
                if hint is not None:
                    return ["integer" if hint[2] == 0 else "number"]
                types = ["string", "integer", "number", "boolean"]
        solid = [t for t in types if t != "null"]
        self.rng.shuffle(solid)
        if "null" not in types:
            return solid
        if depth >= SOFT_DEPTH or not solid or self.rng.random() < 0.1:
            return ["null", *solid]
        return [*solid, "null"]

    def typed(self, kind: str, flat: Mapping[str, Any], path: str, name: str, depth: int) -> Any:
        """A value of one JSON type, under the schema's keywords for that type."""
        if kind == "null":
            return None
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "integer":
            return integer_value(self.rng, flat, path, name)
        if kind == "number":
            return number_value(self.rng, flat, path, name)
        if kind == "string":
            text = string_value(self, flat, path, name)
            self.budget.chars(len(text))
            return text
        if kind == "array":
            return array_value(self, flat, path, name, depth)
        return object_value(self, flat, path, depth)
