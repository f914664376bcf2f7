"""Shared state: what users observe across worker processes, behind one small interface.

One worker keeps it in memory (MemoryState wraps the Journal, FixtureSet, RateLimiter and Chaos
objects the app always had); several workers or replicas share it in Redis (RedisState).
"""

from mockserver.state.base import SharedState, StateUnavailable

__all__ = ["SharedState", "StateUnavailable"]
