"""mockserver: a contract-validating mock of the OpenAI-compatible chat completions API.

The public API is what `__all__` names; every other module is internal and may change.
"""

from mockserver._version import __version__
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
