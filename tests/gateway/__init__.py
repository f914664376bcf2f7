"""A fake gateway for the upstream tests, run in its own process (python -m tests.gateway)."""
