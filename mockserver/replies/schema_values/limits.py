"""How deep the generator goes and how often it draws again before it gives up."""

# Levels are nested values and anyOf/oneOf choices (a choice may lead back to the same schema).
SOFT_DEPTH = 6  # from this level on: no optional properties, shortest arrays, null first
MAX_DEPTH = 40  # past this, a recursive schema has no finite value
ATTEMPTS = 25  # draws of one value before its constraints are declared unsatisfiable
TRIES = 3  # whole values drawn before the final jsonschema check gives up
MAX_HOPS = 32  # $ref/allOf resolutions at one level: more means a $ref cycle
