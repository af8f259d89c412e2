# -*- test-case-name: tests.test_dispatch -*-
"""Request-header Authentication: Username and Password and Hashed Password credentials checked
against a store.

When the server has a credential store, a request carrying a Username and Password credential
must verify, or the request is refused with Authentication Not Successful; the client certificate
identity stays the identity used for ownership and policy (a credential cannot impersonate another
certificate). Without a store, credentials are ignored, as the PyKMIP server does. Runs in the
operation pool (password hashing is slow on purpose).

Password hashing is the costly part, so a request may carry at most one Username and Password
credential (more is refused with Invalid Message), and a successful verification is remembered
for a short time (L{CredentialChecker.cache_ttl}), keyed by the user name and a keyed digest of the
password, so a client repeating its credential in every request pays for scrypt once a minute.

A Hashed Password credential (KMIP 2.x, 2.1 9.11) is checked against a C{kmip-hashed} entry of the
store (L{kmipd.auth.credentials}): its Timestamp must lie within C{window} seconds of the server's
clock and be later than the last one accepted for that user (2.1: it "SHALL monotonically
increase"; a replay is refused: on this node, and with C{replay}, e.g.
L{kmipd.store.node_state.SQLReplayGuard}, on every node sharing the database), its Hashing
Algorithm (default SHA-256) must be the entry's, and C{Hash(S1 || Timestamp) || S2} must match.
The check answers the Server Hashed Password the 2.x response header then carries. A credential
type the negotiated version does not define (Hashed Password, One Time Password or Ticket in
1.x; Attestation before 1.2) is Invalid Message.
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
from ..log import Logger
from ..spec import CredentialType, HashingAlgorithm, Tag, enum_value_in_version
from ..ttlv import Item, ItemType
from .credentials import DEFAULT_HASHED_PASSWORD_ALGORITHM, HASHED_PASSWORD_ALGORITHMS

_log = Logger()

#: Seconds a successful verification is remembered.
CACHE_TTL = 60.0
#: Most remembered verifications (the oldest are forgotten first).
CACHE_SIZE = 1024
#: Default bound (seconds) between a Hashed Password's Timestamp and the server's clock.
HASHED_PASSWORD_WINDOW = 300.0


class TooManyCredentials(AuthenticationNotSuccessful):  # type: ignore[misc,valid-type]  # made by errors._error
    """A request carries more than one Username and Password credential.

    Answered with Invalid Message: it subclasses L{AuthenticationNotSuccessful} only so the
    dispatcher's credential check site, which catches that class, reports it.
    """

    reason = InvalidMessage.reason
    reason_v2 = InvalidMessage.reason_v2


class UndefinedCredentialType(AuthenticationNotSuccessful):  # type: ignore[misc,valid-type]
    """A Credential Type the negotiated protocol version does not define (Invalid Message)."""

    reason = InvalidMessage.reason
    reason_v2 = InvalidMessage.reason_v2


def check_credential_types(authentication: Item, version: tuple[int, int]) -> None:
    """L{UndefinedCredentialType} unless every Credential's type exists in C{version}."""
    for credential in authentication.findall(Tag.CREDENTIAL):
        kind = credential.find(Tag.CREDENTIAL_TYPE)
        if kind is None or kind.type != ItemType.ENUMERATION:
            raise UndefinedCredentialType("a Credential needs a Credential Type (an Enumeration)")
        if not enum_value_in_version(CredentialType, kind.value, version):
            raise UndefinedCredentialType(
                f"Credential Type {_name(CredentialType, kind.value)} is not defined in KMIP {version[0]}.{version[1]}")


def _name(enum: Any, value: int) -> str:
    try:
        return str(enum(value).name.replace("_", " ").title())
    except ValueError:
        return f"0x{value:08X}"


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
    @param seconds: the clock (wall-clock seconds: Hashed Password Timestamps are checked against it).
    @param window: seconds a Hashed Password Timestamp may lie from C{seconds()}.
    @param replay: records the last Timestamp accepted per user where every node sees it
        (C{advance(username, timestamp) -> bool}), or C{None}: this process only.
    """

    def __init__(self, store: Any, *, cache_ttl: float = CACHE_TTL, cache_size: int = CACHE_SIZE,
                 window: float = HASHED_PASSWORD_WINDOW, seconds: Callable[[], float] = time.time,
                 replay: Any = None) -> None:
        self.store = store
        self.replay = replay
        self.cache_ttl = cache_ttl
        self.cache_size = cache_size
        self.window = window
        self._seconds = seconds
        self._key = os.urandom(32)  # the cache never holds a plain (or plainly hashed) password
        self._verified: OrderedDict[tuple[str, bytes], float] = OrderedDict()
        self._timestamps: dict[str, int] = {}  # user -> last Hashed Password Timestamp accepted
        self._lock = threading.Lock()

    def check(self, authentication: Item, caller: Any, version: tuple[int, int] | None = None) -> bytes | None:
        """Raise L{AuthenticationNotSuccessful} unless the request's credentials verify.

        @param version: the negotiated version (credential types it does not define are refused).
        @return: the Server Hashed Password for the response header when a Hashed Password
            credential verified, else C{None}.
        @raise TooManyCredentials: more than one Username and Password (or Hashed Password) credential.
        """
        if version is not None:
            check_credential_types(authentication, version)
        found = authentication.findall(Tag.CREDENTIAL)
        credentials = [c for c in found if c.get(Tag.CREDENTIAL_TYPE) == CredentialType.USERNAME_AND_PASSWORD]
        hashed = [c for c in found if c.get(Tag.CREDENTIAL_TYPE) == CredentialType.HASHED_PASSWORD]
        if len(credentials) > 1:
            raise TooManyCredentials("at most one Username and Password credential per request")
        if len(hashed) > 1:
            raise TooManyCredentials("at most one Hashed Password credential per request")
        for credential in credentials:
            username = _find_deep(credential, Tag.USERNAME)
            password = _find_deep(credential, Tag.PASSWORD)
            if username is None or password is None:
                raise AuthenticationNotSuccessful("credential lacks a username or password")
            if not self._verify(username.value, password.value):
                raise AuthenticationNotSuccessful("authentication not successful")
        return self._check_hashed(hashed[0]) if hashed else None

    def _check_hashed(self, credential: Item) -> bytes:
        """Verify one Hashed Password credential (2.1 Table 415); its Server Hashed Password."""
        value = credential.find(Tag.CREDENTIAL_VALUE)
        fields = {}
        if value is not None and value.type == ItemType.STRUCTURE:
            for tag, kind in ((Tag.USERNAME, ItemType.TEXT_STRING), (Tag.TIME_STAMP, ItemType.DATE_TIME_EXTENDED),
                              (Tag.HASHING_ALGORITHM, ItemType.ENUMERATION),
                              (Tag.HASHED_PASSWORD, ItemType.BYTE_STRING)):
                item = value.find(tag)
                if item is not None and item.type == kind:
                    fields[tag] = item.value
        if Tag.USERNAME not in fields or Tag.TIME_STAMP not in fields or Tag.HASHED_PASSWORD not in fields:
            raise AuthenticationNotSuccessful("a Hashed Password credential needs Username (Text String), "
                                              "Timestamp (Date Time Extended) and Hashed Password (Byte String)")
        username, timestamp, hashed = fields[Tag.USERNAME], fields[Tag.TIME_STAMP], fields[Tag.HASHED_PASSWORD]
        algorithm = fields.get(Tag.HASHING_ALGORITHM, DEFAULT_HASHED_PASSWORD_ALGORITHM)
        if algorithm not in HASHED_PASSWORD_ALGORITHMS:
            names = ", ".join(name for name, _ in HASHED_PASSWORD_ALGORITHMS.values())
            raise AuthenticationNotSuccessful(f"Hashing Algorithm {_name(HashingAlgorithm, algorithm)} is not "
                                              f"supported for Hashed Password credentials (supported: {names})")
        now = int(self._seconds() * 1_000_000)
        if abs(now - timestamp) > self.window * 1_000_000:
            raise AuthenticationNotSuccessful(
                f"the Hashed Password Timestamp is more than {self.window:g} seconds from the server's time")
        with self._lock:
            if timestamp <= self._timestamps.get(username, timestamp - 1):
                raise AuthenticationNotSuccessful("the Hashed Password Timestamp does not increase (a replay?)")
        cache_key = "\x00hashed:" + username  # not a user name a Username and Password cache entry can have
        result = self.store.verify_hashed(username, algorithm, timestamp, hashed,
                                          s2_known=lambda s2: self._cached(cache_key, s2, now / 1e6))
        if not result.verified:
            if result.unverifiable:
                _log.info("Hashed Password credential of {username!r} cannot be verified: {why}",
                          username=username, why=result.unverifiable)
            raise AuthenticationNotSuccessful("authentication not successful")
        self._remember(cache_key, hashed[len(hashed) // 2:], now / 1e6)
        with self._lock:
            if timestamp <= self._timestamps.get(username, timestamp - 1):  # a concurrent request won
                raise AuthenticationNotSuccessful("the Hashed Password Timestamp does not increase (a replay?)")
            self._timestamps[username] = timestamp
            if len(self._timestamps) > self.cache_size:  # older than the window: freshness refuses them anyway
                oldest = now - int(self.window * 1_000_000)
                self._timestamps = {u: t for u, t in self._timestamps.items() if t >= oldest}
        if self.replay is not None and not self.replay.advance(username, timestamp):  # every node's
            raise AuthenticationNotSuccessful("the Hashed Password Timestamp does not increase (a replay?)")
        assert result.server_proof is not None
        return bytes(result.server_proof)

    def _key_for(self, username: str, secret: bytes) -> tuple[str, bytes]:
        return username, hmac.new(self._key, secret, hashlib.sha256).digest()

    def _cached(self, username: str, secret: bytes, now: float) -> bool:
        """Whether C{secret} was verified for C{username} within C{cache_ttl}."""
        if self.cache_ttl <= 0:
            return False
        key = self._key_for(username, secret)
        with self._lock:
            expires = self._verified.get(key)
            if expires is None:
                return False
            if now < expires:
                return True
            del self._verified[key]
            return False

    def _remember(self, username: str, secret: bytes, now: float) -> None:
        if self.cache_ttl <= 0:
            return
        key = self._key_for(username, secret)
        with self._lock:
            self._verified[key] = now + self.cache_ttl
            self._verified.move_to_end(key)
            while len(self._verified) > self.cache_size:
                self._verified.popitem(last=False)

    def _verify(self, username: str, password: str) -> bool:
        """C{store.verify}, with successful results remembered for C{cache_ttl} seconds."""
        if self.cache_ttl <= 0:
            return bool(self.store.verify(username, password))
        secret = password.encode("utf-8", "surrogatepass")
        now = self._seconds()
        if self._cached(username, secret, now):
            return True
        if not self.store.verify(username, password):
            return False
        self._remember(username, secret, now)
        return True
