"""The contract: reading the request, the spec's schemas and overlays, validation, semantic rules,
the error tree.
"""
