"""The engine's version is the installed distribution's (pyproject.toml), recorded in findings."""

from __future__ import annotations

from importlib.metadata import version

import fupin_rules
from fupin_rules._version import __version__


def test_version_comes_from_the_package_metadata() -> None:
    assert fupin_rules.__version__ == __version__ == version("fupin-rules")
