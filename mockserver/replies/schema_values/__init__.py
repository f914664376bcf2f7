"""Schema-valid values: arguments for generated tool calls and bodies for structured output.

`value_for` walks a JSON Schema (the draft-07 / 2020-12 subset that OpenAI function `parameters`
and `response_format.json_schema.schema` use) and builds a value that validates against it. Every
choice is drawn from the caller's `Random`, so one rng state gives one value, in any process.
Strings are plausible where the property name says what they are (a `city` is a city, an `email`
an address), in the Faker's language.

Keywords that only narrow a value (`not`, `if`/`then`/`else`, `dependentSchemas`, a second
`pattern` met in an `allOf`, ...) are checked rather than generated: a value that fails them is
drawn again. The finished value is checked with jsonschema, so a caller never gets an invalid
one: what cannot be satisfied raises `UnsupportedSchema` with the schema path at fault.

All the values of one reply share a `Budget` (values built, characters, time): a schema that
asks for more raises `OverBudget`, which the server answers with a 400 naming the schema.
Patterns run on RE2, in linear time.
"""

from mockserver.replies.schema_values.budget import Budget, OverBudget
from mockserver.replies.schema_values.errors import UnsupportedSchema
from mockserver.replies.schema_values.generator import value_for

__all__ = ["Budget", "OverBudget", "UnsupportedSchema", "value_for"]
