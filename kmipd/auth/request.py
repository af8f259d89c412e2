# -*- test-case-name: tests.test_dispatch -*-
"""Request-header Authentication: Username/Password credentials checked against a store.

When the server has a credential store, a request carrying a Username and Password credential
must verify, or the request is refused with Authentication Not Successful; the client certificate
identity stays the identity used for ownership and policy (a credential cannot impersonate another
certificate). Without a store, credentials are ignored, as the PyKMIP server does. Runs in the
operation pool (password hashing is slow on purpose).

Password hashing is the costly part, so a request may carry at most one Username and Password
credential (more is refused with Invalid Message), and a successful verification is remembered
for a short time (L{CredentialChecker.cache_ttl}), keyed by the user name and a keyed digest of the
password, so a client repeating its credential in every request pays for scrypt once a minute.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ..errors import AuthenticationNotSuccessful, InvalidMessage
from ..spec import CredentialType, Tag
from ..ttlv import Item, ItemType

#: Seconds a successful verification is remembered.
CACHE_TTL = 60.0
#: Most remembered verifications (the oldest are forgotten first).
CACHE_SIZE = 1024


class TooManyCredentials(AuthenticationNotSuccessful):  # type: ignore[misc,valid-type]  # made by errors._error
    """A request carries more than one Username and Password credential.

    Answered with Invalid Message: it subclasses L{AuthenticationNotSuccessful} only so the
    dispatcher's credential check site, which catches that class, reports it.
    """

    reason = InvalidMessage.reason
    reason_v2 = InvalidMessage.reason_v2


def _find_deep(item: Item, tag: int) -> Item | None:
    for node in item.walk():
        if node.tag == tag and node.type == ItemType.TEXT_STRING:
            return node
    return None


class CredentialChecker:
    """Verify request-header credentials against a L{kmipd.auth.credentials.CredentialStore}.

    Thread-safe: L{check} runs on operation pool threads.

    @param store: the credential store (its C{verify} is the slow part).
    @param cache_ttl: seconds a successful verification is remembered (0 disables the cache).
    @param cache_size: most verifications remembered.
    @param seconds: the clock (monotonic seconds; injectable for tests).
    """

    def __init__(self, store: Any, *, cache_ttl: float = CACHE_TTL, cache_size: int = CACHE_SIZE,
                 seconds: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.cache_ttl = cache_ttl
        self.cache_size = cache_size
        self._seconds = seconds
        self._key = os.urandom(32)  # the cache never holds a plain (or plainly hashed) password
        self._verified: OrderedDict[tuple[str, bytes], float] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, authentication: Item, caller: Any) -> None:
        """Raise L{AuthenticationNotSuccessful} unless the Username/Password credential verifies.

        @raise TooManyCredentials: more than one Username and Password credential.
        """
        credentials = [c for c in authentication.findall(Tag.CREDENTIAL)
                       if c.get(Tag.CREDENTIAL_TYPE) == CredentialType.USERNAME_AND_PASSWORD]
        if len(credentials) > 1:
            raise TooManyCredentials("at most one Username and Password credential per request")
        for credential in credentials:
            username = _find_deep(credential, Tag.USERNAME)
            password = _find_deep(credential, Tag.PASSWORD)
            if username is None or password is None:
                raise AuthenticationNotSuccessful("credential lacks a username or password")
            if not self._verify(username.value, password.value):
                raise AuthenticationNotSuccessful("authentication not successful")

    def _verify(self, username: str, password: str) -> bool:
        """C{store.verify}, with successful results remembered for C{cache_ttl} seconds."""
        if self.cache_ttl <= 0:
            return bool(self.store.verify(username, password))
        key = (username, hmac.new(self._key, password.encode("utf-8", "surrogatepass"),
                                  hashlib.sha256).digest())
        now = self._seconds()
        with self._lock:
            expires = self._verified.get(key)
            if expires is not None:
                if now < expires:
                    return True
                del self._verified[key]
        if not self.store.verify(username, password):
            return False
        with self._lock:
            self._verified[key] = now + self.cache_ttl
            self._verified.move_to_end(key)
            while len(self._verified) > self.cache_size:
                self._verified.popitem(last=False)
        return True
