"""The journal: what every request asked and got, bounded; the queries over it and the CI report."""
