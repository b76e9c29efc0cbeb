"""The engine's version, from the installed distribution's metadata (pyproject.toml's version).

A module of its own so that the modules recording the version in findings and reports need not
import the package root (which imports the whole public API: an import circle).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__: str = version("fupin-rules")
except PackageNotFoundError:  # pragma: no cover - a source tree on sys.path, not installed
    __version__ = "0+unknown"
