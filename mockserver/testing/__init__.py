"""Testing aids: the in-process MockServer, the typed AdminClient and the pytest plugin."""
