# -*- test-case-name: tests.test_dispatch -*-
"""The request context handed explicitly to every operation handler (no shared mutable state)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .policy.model import PolicyEngine
    from .store.interface import StoreTransaction


@dataclass(frozen=True)
class ServerInfo:
    """Facts about this server that handlers report (Query, DiscoverVersions)."""

    vendor: str = "kmipd"
    version: str = "0.1.0"
    build: str = ""


@dataclass
class RequestContext:
    """One batch item's view of the world.

    @ivar version: the negotiated protocol version (responses are encoded for it).
    @ivar identity: the client identity (certificate CN), or C{None}.
    @ivar groups: the client's groups from third-party authentication, or C{None} (no group info).
    @ivar now: server time in seconds, fixed for the whole request message.
    @ivar store: the request's store transaction.
    @ivar policy: the operation policy engine.
    @ivar id_placeholder: the ID Placeholder (unique identifier of the last object a batch item
        created or used), for batch items that omit the Unique Identifier.
    @ivar services: service-wide helpers handlers may need (crypto state, limits, ...).
    """

    version: tuple[int, int]
    identity: str | None
    groups: tuple[str, ...] | None
    now: int
    store: StoreTransaction
    policy: PolicyEngine | None
    server: ServerInfo = field(default_factory=ServerInfo)
    id_placeholder: str | None = None
    services: dict[str, Any] = field(default_factory=dict)
    #: Bytes handlers with client-sized output (RNG Retrieve) have produced for this message,
    #: checked against the server's response cap before they produce more.
    response_bytes: int = 0

    @property
    def v2(self) -> bool:
        """True when the client speaks KMIP 2.0 or later (2.x attribute shapes)."""
        return self.version >= (2, 0)
