"""kmipd: a KMIP key management server built on Twisted."""

import re

from setuptools import find_packages, setup

with open("kmipd/_version.py", encoding="utf-8") as f:
    VERSION = re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)  # type: ignore[union-attr]

setup(
    name="kmipd",
    version=VERSION,
    description="A KMIP (Key Management Interoperability Protocol) server on Twisted.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["kmipd", "kmipd.*"]) + ["twisted.plugins"],
    package_data={"kmipd": ["py.typed", "store/migrations/*.ini", "store/migrations/*.mako"]},
    include_package_data=True,
    install_requires=[
        "Twisted[tls]>=23.10",
        "pyOpenSSL>=23.2",
        "service-identity>=23.1",
        "cryptography>=42",
        "SQLAlchemy>=2.0",
        "alembic>=1.12",
        "treq>=23.11",
        "prometheus-client>=0.17",
    ],
    extras_require={
        # slugs (the SLUGS service used by the auth tests) is installed with --no-deps by .ci/run:
        # its cherrypy<18 pin does not run on Python 3.11.
        # pytest and testtools run PyKMIP 0.11.0's own suites (tests/test_pykmip_suites.py).
        "test": ["pykmip>=0.10", "cherrypy>=18", "routes", "cryptography_vectors", "pyyaml", "pytest", "testtools"],
        "postgres": ["psycopg[binary]>=3.1"],
        "mysql": ["pymysql>=1.1"],
        "docs": ["sphinx>=7", "myst-parser>=2"],
        "lint": ["ruff"],
    },
    entry_points={"console_scripts": ["kmipd = kmipd.cli:main", "kmipd-admin = kmipd.admin:main"]},
    classifiers=[
        "Framework :: Twisted",
        "Programming Language :: Python :: 3",
        "Topic :: Security :: Cryptography",
    ],
)
