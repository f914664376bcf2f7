"""The command line: flags and MOCKSERVER_* variables -> Settings, one-line errors, nothing more."""

from mockserver.cli.console import run
from mockserver.cli.main import main

__all__ = ["main", "run"]
