# -*- test-case-name: tests.test_dispatch -*-
"""What operation handlers see: the service-wide L{ServiceContext} and one request's L{RequestContext}.

Both are handed explicitly to every handler (no shared mutable state, no globals).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .limits import Limits
from .settings import Settings

if TYPE_CHECKING:
    from .crypto.streams import StreamTable
    from .node import MessageSession
    from .policy.model import PolicyEngine
    from .store.interface import StoreTransaction


@dataclass(frozen=True)
class ServerInfo:
    """Facts about this server that handlers report (Query, DiscoverVersions)."""

    vendor: str = "kmipd"
    version: str = __version__
    build: str = ""


@dataclass
class ServiceContext:
    """The service-wide part of every request's context (one per service).

    @ivar policy: the operation policy engine (C{None}: no access control, tests only).
    @ivar server: facts Query reports.
    @ivar settings: the handlers' typed settings.
    @ivar streams: the open multi-part operations (created from C{settings.streams}).
    @ivar audit: the audit trail (L{kmipd.audit.AuditTrail}) for handlers that write to it (the
        2.x Log operation), or C{None}.
    """

    policy: PolicyEngine | None = None
    server: ServerInfo = field(default_factory=ServerInfo)
    settings: Settings = field(default_factory=Settings)
    streams: StreamTable = field(default=None)  # type: ignore[assignment]
    audit: Any = None

    def __post_init__(self) -> None:
        if self.streams is None:
            self.streams = self.settings.streams.table()


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
    @ivar settings: the service's typed settings (L{kmipd.settings.Settings}).
    @ivar streams: the service's multi-part operation table, or C{None} (a fresh one is made).
    @ivar audit: the service's audit trail, or C{None} (see L{ServiceContext}).
    @ivar limits: the server's limits (handlers whose output size the client chooses, RNG
        Retrieve, check C{max_rng_length} and C{max_response_size}).
    @ivar response_bytes: bytes such handlers have produced for this message so far.
    @ivar session: the request message's L{kmipd.node.MessageSession} (correlation values,
        asynchronous indicator, delegated Rights) and through it the node's session state.
    """

    version: tuple[int, int]
    identity: str | None
    groups: tuple[str, ...] | None
    now: int
    store: StoreTransaction
    policy: PolicyEngine | None
    server: ServerInfo = field(default_factory=ServerInfo)
    id_placeholder: str | None = None
    settings: Settings = field(default_factory=Settings)
    streams: StreamTable = field(default=None)  # type: ignore[assignment]
    audit: Any = None
    limits: Limits = field(default_factory=Limits)
    session: MessageSession | None = None
    response_bytes: int = 0

    def __post_init__(self) -> None:
        if self.streams is None:
            self.streams = self.settings.streams.table()

    @property
    def v2(self) -> bool:
        """True when the client speaks KMIP 2.0 or later (2.x attribute shapes)."""
        return self.version >= (2, 0)
