"""How deep the generator goes, how often it draws again, and what one reply may cost."""

# Levels are nested values and anyOf/oneOf choices (a choice may lead back to the same schema).
SOFT_DEPTH = 6  # from this level on: no optional properties, shortest arrays, null first
MAX_DEPTH = 40  # past this, a recursive schema has no finite value
ATTEMPTS = 25  # draws of one value before its constraints are declared unsatisfiable
TRIES = 3  # whole values drawn before the final jsonschema check gives up
MAX_HOPS = 32  # $ref/allOf resolutions at one level: more means a $ref cycle

# The budget of one generated reply, all its choices and schemas together (see budget.py).
# Ordinary tool schemas cost tens to hundreds of nodes and a few milliseconds; these bounds are
# 100x that, and keep the worst request to a fraction of a second of one core and a few MB.
MAX_NODES = 50_000  # values drawn, subschemas checked and candidates tried
MAX_CHARS = 1_000_000  # characters in all the strings generated
MAX_SECONDS = 1.0  # CPU time of the generating thread (GC pauses included: keep headroom)
# The watchdog's stop for work that does not look at the clock (jsonschema's checks). Far past
# MAX_SECONDS on purpose: its exception lands between any two bytecodes, even in a gc callback,
# where Python reports it as unraisable instead of stopping the work.
HARD_STOP_SECONDS = 5.0
