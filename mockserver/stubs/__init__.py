"""The fixture engine (stubs): typed fixtures compiled at load, conditions, the fixture set,
sandboxed templates.
"""
