"""constraints.txt, the tested dependency versions, stays in step with setup.py, .ci/run and tox."""

from __future__ import annotations

import ast
import os
import re
from importlib import metadata

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version
from twisted.trial.unittest import SynchronousTestCase

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: The extras whose dependencies the test suite needs (.ci/run installs these).
TESTED_EXTRAS = ("test", "postgres", "mysql")


def read(*path: str) -> str:
    with open(os.path.join(ROOT, *path), encoding="utf-8") as f:
        return f.read()


def pins(text: str) -> dict[str, str]:
    """Canonical project name -> pinned version, from a constraints file's C{name==version} lines."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        if match is None:
            raise ValueError(f"not a name==version pin: {line!r}")
        name = canonicalize_name(match.group(1))
        if name in found:
            raise ValueError(f"{name} pinned twice")
        found[name] = match.group(2)
    return found


def setup_requirements() -> dict[str, list[str]]:
    """C{install_requires} (key C{""}) and C{extras_require} of setup.py, read without running it."""
    tree = ast.parse(read("setup.py"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setup":
            keywords = {k.arg: k.value for k in node.keywords}
            out: dict[str, list[str]] = {"": ast.literal_eval(keywords["install_requires"])}
            out.update(ast.literal_eval(keywords["extras_require"]))
            return out
    raise AssertionError("no setup() call in setup.py")


class ConstraintsTests(SynchronousTestCase):
    """Every requirement the tests need has one pin, inside setup.py's range."""

    def setUp(self) -> None:
        self.pins = pins(read("constraints.txt"))
        self.requirements = setup_requirements()

    def _tested(self) -> list[Requirement]:
        names = [""] + list(TESTED_EXTRAS)
        return [Requirement(r) for extra in names for r in self.requirements[extra]]

    def test_every_requirement_pinned_in_range(self) -> None:
        """install_requires and the test/postgres/mysql extras: each pinned, at a version they accept."""
        problems = []
        for requirement in self._tested():
            name = canonicalize_name(requirement.name)
            if name not in self.pins:
                problems.append(f"{requirement}: no pin")
            elif not requirement.specifier.contains(Version(self.pins[name]), prereleases=True):
                problems.append(f"{requirement}: pinned at {self.pins[name]}")
        self.assertEqual(problems, [])

    def test_requirement_extras_pinned(self) -> None:
        """What a requirement's own extras add (psycopg[binary], Twisted[tls]) is pinned too."""
        missing, checked = [], []
        for requirement in self._tested():
            for extra in requirement.extras:
                try:
                    requires = metadata.distribution(requirement.name).requires or []
                except metadata.PackageNotFoundError:
                    self.skipTest(f"{requirement.name} is not installed")
                for line in requires:
                    dependency = Requirement(line)
                    if dependency.marker is None or not dependency.marker.evaluate(
                            {**default_environment(), "extra": extra}):
                        continue
                    if dependency.marker.evaluate({**default_environment(), "extra": ""}):
                        continue  # not specific to the extra (a plain dependency with a marker)
                    checked.append(canonicalize_name(dependency.name))
                    if canonicalize_name(dependency.name) not in self.pins:
                        missing.append(f"{requirement.name}[{extra}] -> {dependency.name}")
        self.assertEqual(missing, [])
        self.assertTrue({"psycopg-binary", "pyopenssl", "service-identity"} <= set(checked), checked)

    def test_vectors_match_cryptography(self) -> None:
        """cryptography_vectors is pinned at exactly cryptography's version, and installed so here."""
        self.assertEqual(self.pins["cryptography-vectors"], self.pins["cryptography"])
        try:
            vectors = metadata.version("cryptography_vectors")
        except metadata.PackageNotFoundError:
            self.skipTest("cryptography_vectors is not installed")
        self.assertEqual(vectors, metadata.version("cryptography"))

    def test_slugs_pin(self) -> None:
        """slugs (installed with --no-deps) is pinned at the version .ci/run and tox install."""
        self.assertIn(f"'slugs=={self.pins['slugs']}'", read(".ci", "run"))
        self.assertIn(f"slugs=={self.pins['slugs']}", read("tox.ini"))

    def test_ci_and_tox_use_it(self) -> None:
        """.ci/run installs with -c constraints.txt; tox's test environments set PIP_CONSTRAINT; sdists ship it."""
        installs = [line for line in read(".ci", "run").splitlines() if "pip install" in line and "'." in line]
        self.assertTrue(installs)
        for line in installs:
            self.assertIn("-c constraints.txt", line)
        self.assertRegex(read("tox.ini"), r"(?m)^\s*PIP_CONSTRAINT\s*=\s*\{toxinidir\}/constraints\.txt$")
        self.assertRegex(read("MANIFEST.in"), r"(?m)^include constraints\.txt$")

    def test_parser(self) -> None:
        """The pin reader takes name==version lines and comments, refuses anything else."""
        self.assertEqual(pins("# c\nFoo_Bar==1.2  # x\n\nbaz==3\n"), {"foo-bar": "1.2", "baz": "3"})
        for bad in ("foo>=1\n", "foo==1\nFOO==2\n"):
            self.assertRaises(ValueError, pins, bad)
