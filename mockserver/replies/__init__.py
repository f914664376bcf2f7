"""Replies: the Reply union and `respond` (fixture or generated), scripted and generated
completions, tokens.
"""
