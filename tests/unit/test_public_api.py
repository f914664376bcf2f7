"""The public API: the names `mockserver` exports, its type information, and imports that work
whichever sub-package comes first (no import cycle at run time)."""

from __future__ import annotations

import importlib.metadata
import inspect
import pkgutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import mockserver

PACKAGE = Path(mockserver.__file__).parent
ROOT = PACKAGE.parent
SUBPACKAGES = [
    "contract",
    "stubs",
    "replies",
    "wire",
    "journal",
    "app",
    "cli",
    "testing",
    "replies.schema_values",
    "app.routes",
    "contract.spec",
    "upstream",
]


def test_all_is_pinned() -> None:
    assert mockserver.__all__ == [
        "AdminClient",
        "AdminError",
        "FixtureLoadError",
        "MockServer",
        "Settings",
        "SpecError",
        "__version__",
        "create_app",
    ]


def test_every_exported_name_is_what_its_module_defines() -> None:
    from mockserver.app.factory import create_app
    from mockserver.contract.spec import SpecError
    from mockserver.settings import Settings
    from mockserver.stubs.model import FixtureLoadError
    from mockserver.testing.admin_client import AdminClient, AdminError
    from mockserver.testing.runner import MockServer

    assert mockserver.AdminClient is AdminClient
    assert mockserver.AdminError is AdminError
    assert mockserver.FixtureLoadError is FixtureLoadError
    assert mockserver.MockServer is MockServer
    assert mockserver.Settings is Settings
    assert mockserver.SpecError is SpecError
    assert mockserver.create_app is create_app
    assert issubclass(AdminError, Exception)
    assert issubclass(FixtureLoadError, Exception)
    assert issubclass(SpecError, Exception)
    assert inspect.isclass(Settings)
    assert callable(create_app)


def test_version_is_the_installed_distributions() -> None:
    assert mockserver.__version__ == importlib.metadata.version("mockserver")


def test_star_import_gives_exactly_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from mockserver import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == sorted(mockserver.__all__)


def test_unknown_names_are_attribute_errors_and_dir_lists_the_public_ones() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Server'"):
        _ = mockserver.Server  # type: ignore[attr-defined]  # mypy catches it too
    assert set(mockserver.__all__) <= set(dir(mockserver))


def test_import_mockserver_stays_light() -> None:
    """The public names load on first use: importing the package starts no server stack."""
    code = (
        "import sys, mockserver; "
        "print(sorted(m for m in sys.modules if m.startswith('mockserver'))); "
        "print(sorted({'aiohttp', 'faker', 'jsonschema', 'jinja2', 'yaml'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.splitlines() == ["['mockserver', 'mockserver._version']", "[]"]


def test_py_typed_is_in_the_package() -> None:
    marker = PACKAGE / "py.typed"
    assert marker.is_file()


@pytest.mark.slow  # builds the wheel in an isolated environment: 15-18 s here
def test_py_typed_ships_in_the_wheel(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("mockserver-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "mockserver/py.typed" in names
    assert "mockserver/__init__.py" in names
    assert "mockserver/_bundled/schemas/chat_completion_request.schema.json" in names


def modules_of(subpackage: str) -> list[str]:
    """The sub-package and its own modules (not nested packages: they have their own batch)."""
    path = PACKAGE.joinpath(*subpackage.split("."))
    return [f"mockserver.{subpackage}"] + [
        f"mockserver.{subpackage}.{info.name}"
        for info in pkgutil.iter_modules([str(path)])
        if not info.ispkg
    ]


def test_every_subpackage_on_disk_is_listed_and_a_regular_package() -> None:
    """A folder of modules without __init__.py would import as a namespace package: no
    docstring, and easy to leave out of this list."""
    folders = {path.parent for path in PACKAGE.rglob("*.py") if "__pycache__" not in path.parts} - {
        PACKAGE
    }
    assert sorted(f for f in folders if not (f / "__init__.py").is_file()) == []
    on_disk = sorted(str(f.relative_to(PACKAGE)).replace("/", ".") for f in folders)
    assert on_disk == sorted(SUBPACKAGES)


def import_first(modules: list[str]) -> subprocess.Popen[str]:
    """A fresh interpreter importing `modules` in order, the first one first of all."""
    code = "; ".join(f"import {name}" for name in modules) + "; print('imported')"
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.slow  # 13 interpreters, each importing the whole package: ~13 s of CPU
def test_each_subpackage_imports_first_in_a_fresh_interpreter() -> None:
    """One interpreter per sub-package (and one for the top-level modules), all at once."""
    batches = {name: modules_of(name) for name in SUBPACKAGES}
    batches["(top level)"] = [
        f"mockserver.{info.name}"
        for info in pkgutil.iter_modules([str(PACKAGE)])
        if not info.ispkg and info.name != "__main__"  # __main__ runs the CLI
    ]
    assert all(len(modules) > 1 for modules in batches.values()), batches
    assert "mockserver.settings" in batches["(top level)"]
    running = {name: import_first(modules) for name, modules in batches.items()}
    failed = {}
    for name, process in running.items():
        out, err = process.communicate(timeout=120)
        if process.returncode != 0 or out.strip() != "imported":
            failed[name] = err.strip().splitlines()[-3:]
    assert failed == {}
