# -*- test-case-name: tests.test_dispatch -*-
"""Request-header Authentication: Username/Password credentials checked against a store.

When the server has a credential store, a request carrying a Username and Password credential
must verify, or the request is refused with Authentication Not Successful; the client certificate
identity stays the identity used for ownership and policy (a credential cannot impersonate another
certificate). Without a store, credentials are ignored, as the PyKMIP server does. Runs in the
operation pool (password hashing is slow on purpose).
"""

from __future__ import annotations

from typing import Any

from ..errors import AuthenticationNotSuccessful
from ..spec import CredentialType, Tag
from ..ttlv import Item, ItemType


def _find_deep(item: Item, tag: int) -> Item | None:
    for node in item.walk():
        if node.tag == tag and node.type == ItemType.TEXT_STRING:
            return node
    return None


class CredentialChecker:
    """Verify request-header credentials against a L{kmipd.auth.credentials.CredentialStore}."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def check(self, authentication: Item, caller: Any) -> None:
        """Raise L{AuthenticationNotSuccessful} unless every Username/Password credential verifies."""
        for credential in authentication.findall(Tag.CREDENTIAL):
            ctype = credential.get(Tag.CREDENTIAL_TYPE)
            if ctype != CredentialType.USERNAME_AND_PASSWORD:
                continue
            username = _find_deep(credential, Tag.USERNAME)
            password = _find_deep(credential, Tag.PASSWORD)
            if username is None or password is None:
                raise AuthenticationNotSuccessful("credential lacks a username or password")
            if not self.store.verify(username.value, password.value):
                raise AuthenticationNotSuccessful("authentication not successful")
