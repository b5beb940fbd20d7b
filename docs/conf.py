"""Sphinx configuration: MyST Markdown, the Furo theme, autodoc; builds offline with -W."""

from __future__ import annotations

project = "finprivacy"
author = "The finprivacy developers"
copyright = "2026, the finprivacy developers"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
exclude_patterns = ["_build"]
html_theme = "furo"
html_title = "finprivacy"
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False}
suppress_warnings = ["myst.header"]
nitpicky = False
