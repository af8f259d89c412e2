"""pytest plugin standing in for PyKMIP's C{kmip/tests/functional/conftest.py}.

That conftest adds a C{--config-file} option, which pytest >= 7.4 owns (an alias of C{-c}), so
it cannot load there. The harness runs the functional suite with C{--noconftest -p} this module,
which provides the same class fixture C{config_file}, with the path from
C{$KMIPD_PYKMIP_CLIENT_CONFIG}. The suite's test file itself runs unchanged.
"""

import os

import pytest


@pytest.fixture(scope="class")
def config_file(request):  # type: ignore[no-untyped-def]
    """Set C{config_file} on the test class, as PyKMIP's conftest does with C{--config-file}."""
    request.cls.config_file = os.environ["KMIPD_PYKMIP_CLIENT_CONFIG"]
