# -*- test-case-name: tests.test_config -*-
"""Service-wide settings that operation handlers read: one typed, immutable value.

Handlers see them as C{ctx.settings} (L{kmipd.context.RequestContext}); the configuration file sets
them (L{kmipd.config}: the keys are listed in docs/configuration.md), tests and embedders build
them directly. Nothing here changes while the service runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .crypto.streams import (
    DEFAULT_MAX_BUFFER,
    DEFAULT_MAX_STREAMS,
    DEFAULT_MAX_STREAMS_PER_IDENTITY,
    DEFAULT_MAX_TOTAL_BUFFER,
    DEFAULT_TTL,
    StreamTable,
)
from .spec import CryptographicAlgorithm, DRBGAlgorithm, RNGAlgorithm, Tag
from .ttlv import Item

#: The maximum Lease Time (seconds) kmipd serves unless configured otherwise.
DEFAULT_LEASE_TIME = 3600

#: kmipd draws key material from OpenSSL's DRBG (L{kmipd.crypto.rng}): CTR_DRBG over AES-256, no
#: prediction resistance (spec 2.1 7.36), as Query RNGs and the Random Number Generator attribute say.
DEFAULT_RNG_PARAMETERS: tuple[tuple[int, int], ...] = (
    (int(Tag.RNG_ALGORITHM), int(RNGAlgorithm.DRBG)),
    (int(Tag.CRYPTOGRAPHIC_ALGORITHM), int(CryptographicAlgorithm.AES)),
    (int(Tag.CRYPTOGRAPHIC_LENGTH), 256),
    (int(Tag.DRBG_ALGORITHM), int(DRBGAlgorithm.CTR)),
    (int(Tag.PREDICTION_RESISTANCE), 0),
)


@dataclass(frozen=True)
class StreamLimits:
    """Bounds of the multi-part (streaming) operation table (L{kmipd.crypto.streams.StreamTable}).

    @ivar max_streams: open streams server-wide.
    @ivar max_streams_per_identity: open streams of one caller identity.
    @ivar ttl: seconds an idle stream is kept.
    @ivar max_buffer: bytes one buffered stream may collect.
    @ivar max_total_buffer: bytes all buffered streams may hold together.
    """

    max_streams: int = DEFAULT_MAX_STREAMS
    max_streams_per_identity: int = DEFAULT_MAX_STREAMS_PER_IDENTITY
    ttl: int = DEFAULT_TTL
    max_buffer: int = DEFAULT_MAX_BUFFER
    max_total_buffer: int = DEFAULT_MAX_TOTAL_BUFFER

    def table(self) -> StreamTable:
        """A new, empty L{StreamTable} with these bounds."""
        return StreamTable(max_streams=self.max_streams, ttl=self.ttl, max_buffer=self.max_buffer,
                           max_streams_per_identity=self.max_streams_per_identity,
                           max_total_buffer=self.max_total_buffer)


@dataclass(frozen=True)
class Settings:
    """What operation handlers may be configured to do differently.

    @ivar lease_time: the maximum Lease Time (seconds) served (Obtain Lease, Check, the attribute).
    @ivar process_inactive_keys: Decrypt, Signature Verify, MAC Verify and unwrapping may use
        Deactivated and Compromised keys (KMIP 1.4 3.22 allows it "when special permission is
        granted").
    @ivar compatibility: C{"kmip"} (the specification) or C{"pykmip"} (the PyKMIP server's
        deviations, L{kmipd.compat}; docs/compatibility.md).
    @ivar rng_parameters: the RNG Parameters fields (tag, value) reported for server-generated
        material (the Random Number Generator attribute) and by Query.
    @ivar streams: bounds of the multi-part operation table.
    @ivar revoke_preactive: Revoke (non-compromise reason) of a Pre-Active key: C{"refuse"} (the
        seed's behaviour) or C{"deactivate"} (L{kmipd.compat} row C{revoke-preactive}).
    """

    lease_time: int = DEFAULT_LEASE_TIME
    process_inactive_keys: bool = False
    compatibility: str = "kmip"
    rng_parameters: tuple[tuple[int, int], ...] = DEFAULT_RNG_PARAMETERS
    streams: StreamLimits = field(default_factory=StreamLimits)
    revoke_preactive: str = "refuse"

    def rng_item(self, tag: int = Tag.RNG_PARAMETERS) -> Item:
        """The RNG Parameters structure (under C{tag}: Random Number Generator as an attribute)."""
        children = []
        for child_tag, value in self.rng_parameters:
            if child_tag == Tag.PREDICTION_RESISTANCE:
                children.append(Item.bool(child_tag, bool(value)))
            elif child_tag == Tag.CRYPTOGRAPHIC_LENGTH:
                children.append(Item.int(child_tag, value))
            else:
                children.append(Item.enum(child_tag, value))
        return Item.struct(tag, children)


__all__ = ["DEFAULT_LEASE_TIME", "DEFAULT_RNG_PARAMETERS", "Settings", "StreamLimits"]
