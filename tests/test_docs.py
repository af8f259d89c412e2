"""The documentation stays true to the code: docs/operations.md lists every registered operation."""

from __future__ import annotations

import os
import re

from twisted.trial.unittest import SynchronousTestCase

import kmipd.operations  # noqa: F401 -- registers the handlers
from kmipd.operations.registry import REGISTRY
from kmipd.spec import VERSIONS, Operation, enum_value_name

_DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")


def documented_operations(text: str) -> dict[str, str]:
    """Operation name -> versions cell, from the rows of the Markdown table in C{text}."""
    rows: dict[str, str] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 2 and re.fullmatch(r"\d\.\d–\d\.\d", cells[1]):
            rows[cells[0]] = cells[1]
    return rows


def registered_operations() -> dict[str, str]:
    """Spec name -> "first–last" version kmipd offers it in, for every registered operation."""
    out = {}
    for value, entry in REGISTRY.items():
        versions = [v for v in VERSIONS if entry.available_in(v)]
        name = enum_value_name(Operation, value) or Operation(value).name
        out[name] = "{}.{}–{}.{}".format(*versions[0], *versions[-1]) if versions else "none"
    return out


class OperationsPageTests(SynchronousTestCase):
    """docs/operations.md against kmipd.operations.registry.REGISTRY."""

    def setUp(self) -> None:
        with open(os.path.join(_DOCS, "operations.md"), encoding="utf-8") as f:
            self.documented = documented_operations(f.read())

    def test_every_registered_operation_documented(self) -> None:
        """Each registered operation has a row, with the versions the table offers it in."""
        registered = registered_operations()
        missing = sorted(set(registered) - set(self.documented))
        self.assertEqual(missing, [], "registered but not in docs/operations.md")
        for name, versions in registered.items():
            self.assertEqual(self.documented[name], versions, name)

    def test_no_unregistered_operation_documented(self) -> None:
        """The page lists no operation that kmipd does not register."""
        self.assertEqual(sorted(set(self.documented) - set(registered_operations())), [])

    def test_parser_reads_rows(self) -> None:
        """The row parser finds name and versions and skips the header and prose."""
        text = "| Operation | Versions |\n|---|---|\n| Get | 1.0–2.1 | Get | notes |\nprose | 1.0–2.1\n"
        self.assertEqual(documented_operations(text), {"Get": "1.0–2.1"})


class ConfigurationDocsTests(SynchronousTestCase):
    """etc/server.conf and the README name every setting and command-line option."""

    def _read(self, *path: str) -> str:
        with open(os.path.join(os.path.dirname(_DOCS), *path), encoding="utf-8") as f:
            return f.read()

    def test_server_conf_names_every_key(self) -> None:
        """Every key load_config accepts appears in etc/server.conf, set or commented out."""
        from kmipd.config import _PARSERS

        text = self._read("etc", "server.conf")
        missing = [key for key in _PARSERS if not re.search(rf"^#?{key}=", text, re.MULTILINE)]
        self.assertEqual(missing, [])

    def test_readme_names_every_option(self) -> None:
        """Every long option of `twistd kmip` appears in the README's option table."""
        from kmipd.tap import Options

        text = self._read("README.md")
        options = Options()
        names = [f"--{name}" for name in options.synonyms.values() if name not in ("help", "version")]
        self.assertTrue(names)
        self.assertEqual([n for n in sorted(set(names)) if f"`{n}" not in text and f" {n} " not in text], [])
