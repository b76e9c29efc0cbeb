"""Sphinx configuration for the fupin_rules documentation."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "fupin_rules"
author = "fupin_rules developers"
copyright = "2026, fupin_rules developers"  # noqa: A001

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "policy_reference",  # docs/_ext: a generated page per policy package
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]
html_theme = "alabaster"
language = "en"
autodoc_member_order = "bysource"
autodoc_typehints = "description"
nitpicky = False

# policy_reference: installed packages are found by entry point; also document these folders
policy_reference_folders = ["../examples/county_2018"]
