"""mockserver: a contract-validating mock of the OpenAI-compatible chat completions API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mockserver")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

from mockserver.app import create_app
from mockserver.settings import Settings

__all__ = ["Settings", "__version__", "create_app"]
