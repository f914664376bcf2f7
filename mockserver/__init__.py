"""mockserver: a contract-validating mock of the OpenAI-compatible chat completions API.

The public API is what `__all__` names; every other module is internal and may change. Names
are imported on first use, so `import mockserver` (and the pytest plugin) stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mockserver._version import __version__

if TYPE_CHECKING:
    from mockserver.app.factory import create_app
    from mockserver.contract.spec import SpecError
    from mockserver.settings import Settings
    from mockserver.stubs.model import FixtureLoadError
    from mockserver.testing.admin_client import AdminClient, AdminError
    from mockserver.testing.runner import MockServer

__all__ = [
    "AdminClient",
    "AdminError",
    "FixtureLoadError",
    "MockServer",
    "Settings",
    "SpecError",
    "__version__",
    "create_app",
]

_HOMES = {
    "AdminClient": "mockserver.testing.admin_client",
    "AdminError": "mockserver.testing.admin_client",
    "FixtureLoadError": "mockserver.stubs.model",
    "MockServer": "mockserver.testing.runner",
    "Settings": "mockserver.settings",
    "SpecError": "mockserver.contract.spec",
    "create_app": "mockserver.app.factory",
}


if not TYPE_CHECKING:  # type checkers see the imports above, and so catch a misspelled name

    def __getattr__(name: str) -> Any:
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value  # once imported, a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted([*globals(), *_HOMES])
