"""Sphinx configuration for kmipd's narrative documentation."""

project = "kmipd"
author = "kmipd developers"
extensions = ["myst_parser"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
master_doc = "index"
exclude_patterns = ["_build"]
html_theme = "alabaster"
myst_heading_anchors = 3
