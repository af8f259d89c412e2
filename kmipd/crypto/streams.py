# -*- test-case-name: tests.operations.test_crypto_ops -*-
"""Multi-part (streaming) cryptographic operations: Correlation Value, Init and Final Indicators.

KMIP 1.3+ lets a client split Encrypt, Decrypt, Sign, Signature Verify, MAC, MAC Verify and Hash
over several requests: the first carries C{Init Indicator} and gets a C{Correlation Value} back;
later ones send the Correlation Value; the last one sets C{Final Indicator}. The state in between
lives here, in the service-wide L{StreamTable} kept in C{ctx.streams}: bounded in count
(server-wide and per caller identity), in buffered bytes (per stream and in total over the table),
and in idle time (expired entries are dropped on every access).

Engines:
 - L{CipherStream}: a C{cryptography} cipher context (ECB, CBC, CFB, OFB, CTR, GCM over the block
   ciphers of L{kmipd.crypto.keygen}) with PKCS5 / ANSI X9.23 padding, producing output per part;
 - L{DigestStream}: a running hash, HMAC or CMAC (Sign/Verify of RSA/ECDSA sign the digest);
 - L{BufferStream}: collects the parts (bounded) for algorithms that only work in one shot
   (ChaCha20-Poly1305, RSA, XTS, key wrap modes, EdDSA); their output comes with the final part.

Streams are bound to the key's Unique Identifier, the operation and the caller's identity; a
stream is taken out of the table while a request works on it, so two requests never share one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Protocol, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import cmac, hashes, hmac
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.ciphers import (
    AEADCipherContext,
    AEADEncryptionContext,
    Cipher,
    CipherContext,
    modes,
)

from ..errors import CryptographicFailure, InvalidCorrelationValue, StreamTooLarge
from ..log import Logger
from . import BlockCipherMode as BCM
from . import PaddingMethod as PM
from . import hash_for
from .errors import InvalidField
from .keygen import HMAC_ALGORITHMS, SYMMETRIC_ALGORITHMS, cipher_algorithm

_legacy_modes: ModuleType
try:  # cryptography >= 47 moved CFB and OFB to the decrepit module
    from cryptography.hazmat.decrepit.ciphers import modes as _legacy_modes
except ImportError:  # pragma: no cover
    _legacy_modes = modes

_CFB = getattr(_legacy_modes, "CFB", None) or modes.CFB
_OFB = getattr(_legacy_modes, "OFB", None) or modes.OFB

_log = Logger()

DEFAULT_MAX_STREAMS = 1024
DEFAULT_MAX_STREAMS_PER_IDENTITY = 32
DEFAULT_TTL = 600
DEFAULT_MAX_BUFFER = 4 * 1024 * 1024
DEFAULT_MAX_TOTAL_BUFFER = 256 * 1024 * 1024


class Engine(Protocol):
    """One streaming computation."""

    def update(self, data: bytes) -> bytes:
        """Feed a part; return the output available so far."""

    def final(self) -> bytes:
        """Finish; return the remaining output (or the digest / collected data)."""



# ---------------------------------------------------------------------------------------------
# Engines

_MODE_BUILDERS: dict[int, Callable[[Any, Any, Any], modes.Mode]] = {
    BCM.ECB: lambda iv, tag, tl: modes.ECB(),
    BCM.CBC: lambda iv, tag, tl: modes.CBC(iv),
    BCM.CFB: lambda iv, tag, tl: _CFB(iv),
    BCM.OFB: lambda iv, tag, tl: _OFB(iv),
    BCM.CTR: lambda iv, tag, tl: modes.CTR(iv),
    BCM.GCM: lambda iv, tag, tl: modes.GCM(iv, tag, min_tag_length=tl or 16),
}
_PADDED = frozenset({BCM.ECB, BCM.CBC})
_PADDERS: dict[int | None, type[sym_padding.PKCS7] | type[sym_padding.ANSIX923]] = {
    PM.PKCS5: sym_padding.PKCS7,
    PM.ANSI_X9_23: sym_padding.ANSIX923,
}


def streamable_cipher(algorithm: int | None, mode: int | None, padding: int | None) -> bool:
    """True if L{CipherStream} handles this combination (else buffer and run one-shot)."""
    spec = SYMMETRIC_ALGORITHMS.get(algorithm)  # type: ignore[arg-type]
    if spec is None or spec.block_size is None or spec.factory is None or mode not in _MODE_BUILDERS:
        return False
    if spec.modes is not None and mode not in spec.modes:
        return False
    if mode in (BCM.CTR, BCM.GCM) and spec.block_size != 16:
        return False
    return padding in (None, PM.NONE) or mode not in _PADDED or padding in _PADDERS


class CipherStream:
    """Encryption or decryption part by part; C{tag} holds the GCM tag after L{final}."""

    def __init__(self, algorithm: int, key: bytes, mode: int, padding: int | None, iv: bytes | None,
                 encrypting: bool, *, aad: bytes | None = None, tag: bytes | None = None,
                 tag_length: int | None = None) -> None:
        spec = SYMMETRIC_ALGORITHMS[algorithm]
        self.encrypting = encrypting
        self.gcm = mode == BCM.GCM
        self.tag_length = tag_length or 16
        self.tag: bytes | None = None
        self.block = spec.block_size or 1
        self.check_alignment = mode in _PADDED and padding in (None, PM.NONE)
        try:
            # Cipher[Any]: the stub's encryptor/decryptor overloads only cover concrete mode unions
            cipher: Cipher[Any] = Cipher(cipher_algorithm(algorithm, key),
                                         _MODE_BUILDERS[mode](iv, None if encrypting else tag, tag_length))
        except ValueError as e:
            raise InvalidField(f"{spec.name}: {e}") from None
        self.ctx: CipherContext = cipher.encryptor() if encrypting else cipher.decryptor()
        if aad:
            cast(AEADCipherContext, self.ctx).authenticate_additional_data(aad)
        scheme = _PADDERS.get(padding) if mode in _PADDED else None
        self.pad = None
        if scheme is not None:
            s = scheme(self.block * 8)
            self.pad = s.padder() if encrypting else s.unpadder()
        self.seen = 0

    def update(self, data: bytes) -> bytes:
        self.seen += len(data)
        if self.encrypting:
            return self.ctx.update(self.pad.update(data) if self.pad else data)
        out = self.ctx.update(data)
        return self.pad.update(out) if self.pad else out

    def final(self) -> bytes:
        if self.check_alignment and self.seen % self.block:
            raise InvalidField(f"Without padding the data must be a multiple of {self.block} bytes.")
        try:
            if self.encrypting:
                out = (self.ctx.update(self.pad.finalize()) if self.pad else b"") + self.ctx.finalize()
                if self.gcm:
                    self.tag = cast(AEADEncryptionContext, self.ctx).tag[: self.tag_length]
                return out
            out = self.ctx.finalize()
            if self.pad is not None:
                out = self.pad.update(out) + self.pad.finalize()
            return out
        except InvalidTag:
            raise CryptographicFailure("GCM authentication failed: the tag does not match") from None
        except ValueError:
            raise CryptographicFailure("the decrypted data has invalid padding or length") from None


class DigestStream:
    """A running hash, HMAC or CMAC: parts give no output, L{final} gives the digest or MAC."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    @classmethod
    def hashing(cls, hashing_algorithm: int | None) -> DigestStream:
        return cls(hashes.Hash(hash_for(hashing_algorithm)))

    @classmethod
    def mac(cls, algorithm: int | None, key: bytes) -> DigestStream:
        hashing = HMAC_ALGORITHMS.get(algorithm)  # type: ignore[arg-type]
        if hashing is not None:
            return cls(hmac.HMAC(key, hash_for(hashing)))
        return cls(cmac.CMAC(cipher_algorithm(algorithm, key)))  # type: ignore[arg-type]

    def update(self, data: bytes) -> bytes:
        self.ctx.update(data)
        return b""

    def final(self) -> bytes:
        return self.ctx.finalize()


class BufferStream:
    """Collects the parts (at most C{limit} bytes); L{final} returns them all.

    With a C{table}, a part is also refused when it would take the bytes buffered by the streams
    in the table past the table's total budget (L{StreamTable.check_room}).
    """

    def __init__(self, limit: int = DEFAULT_MAX_BUFFER, table: StreamTable | None = None) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.limit = limit
        self.table = table

    def update(self, data: bytes) -> bytes:
        size = self.size + len(data)
        if size > self.limit:
            raise StreamTooLarge(f"a multi-part request of this kind may carry at most {self.limit} bytes")
        if self.table is not None:
            self.table.check_room(size)
        self.size = size
        self.parts.append(data)
        return b""

    def final(self) -> bytes:
        return b"".join(self.parts)


# ---------------------------------------------------------------------------------------------
# The table


@dataclass
class Stream:
    """One open multi-part operation.

    @ivar extra: what the handler needs to finish (parameters, one-shot function, ...).
    """

    operation: int
    uid: str | None
    identity: str | None
    engine: Engine
    expires: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _held(stream: Stream) -> int:
    """The bytes C{stream} buffers (only L{BufferStream} keeps its data)."""
    engine = stream.engine
    return engine.size if isinstance(engine, BufferStream) else 0


class StreamTable:
    """Open streams by Correlation Value: bounded, expiring, thread safe.

    @ivar max_streams: open streams server-wide.
    @ivar max_streams_per_identity: open streams of one caller identity.
    @ivar max_buffer: bytes one buffered stream may collect.
    @ivar max_total_buffer: bytes all the buffered streams of the table may hold together.
    """

    def __init__(self, *, max_streams: int = DEFAULT_MAX_STREAMS, ttl: int = DEFAULT_TTL,
                 max_buffer: int = DEFAULT_MAX_BUFFER,
                 max_streams_per_identity: int = DEFAULT_MAX_STREAMS_PER_IDENTITY,
                 max_total_buffer: int = DEFAULT_MAX_TOTAL_BUFFER) -> None:
        self.max_streams = max_streams
        self.max_streams_per_identity = max_streams_per_identity
        self.ttl = ttl
        self.max_buffer = max_buffer
        self.max_total_buffer = max_total_buffer
        self._streams: dict[bytes, Stream] = {}
        self._held: dict[bytes, int] = {}  # bytes buffered by each stored stream
        self._per_identity: dict[str | None, int] = {}
        self._buffered = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._streams)

    @property
    def buffered(self) -> int:
        """Bytes buffered by the streams in the table."""
        return self._buffered

    def buffer(self) -> BufferStream:
        """A L{BufferStream} bounded by this table's per-stream limit and total budget."""
        return BufferStream(self.max_buffer, self)

    def check_room(self, size: int) -> None:
        """@raise StreamTooLarge: a stream (out of the table) holding C{size} bytes would take the
        table past its total budget."""
        if self._buffered + size > self.max_total_buffer:
            raise StreamTooLarge("the server is buffering too much multi-part data; "
                                 "finish some multi-part operations or try again later")

    def _add(self, cv: bytes, stream: Stream) -> None:
        held = _held(stream)
        self._streams[cv] = stream
        self._held[cv] = held
        self._buffered += held
        self._per_identity[stream.identity] = self._per_identity.get(stream.identity, 0) + 1

    def _remove(self, cv: bytes) -> Stream:
        stream = self._streams.pop(cv)
        self._buffered -= self._held.pop(cv)
        left = self._per_identity[stream.identity] - 1
        if left:
            self._per_identity[stream.identity] = left
        else:
            del self._per_identity[stream.identity]
        return stream

    def _expire(self, now: int) -> None:
        for cv in [cv for cv, s in self._streams.items() if s.expires <= now]:
            _log.info("expired an idle multi-part crypto stream", operation=self._streams[cv].operation)
            self._remove(cv)

    def put(self, stream: Stream, now: int, correlation: bytes | None = None) -> bytes:
        """Store C{stream} (new, or back under its C{correlation}); return its Correlation Value.

        @raise InvalidCorrelationValue: a new stream beyond the server-wide or per-identity count.
        @raise StreamTooLarge: the stream's buffered bytes do not fit in the total budget.
        """
        with self._lock:
            self._expire(now)
            if correlation is None:
                if len(self._streams) >= self.max_streams:
                    raise InvalidCorrelationValue("too many open multi-part operations; finish some first")
                if self._per_identity.get(stream.identity, 0) >= self.max_streams_per_identity:
                    raise InvalidCorrelationValue(
                        f"this client already has {self.max_streams_per_identity} open multi-part "
                        "operations; finish some first")
            self.check_room(_held(stream))
            cv = correlation if correlation is not None else os.urandom(16)
            if cv in self._streams:  # a stale copy under the same value: replace it
                self._remove(cv)
            stream.expires = now + self.ttl
            self._add(cv, stream)
            return cv

    def take(self, correlation: bytes, operation: int, identity: str | None, now: int) -> Stream:
        """Remove and return the stream for C{correlation} (put it back with L{put} to continue).

        @raise InvalidCorrelationValue: unknown, expired, another operation or another caller's.
        """
        with self._lock:
            self._expire(now)
            stream = self._streams.get(correlation)
            if stream is None or stream.operation != operation or stream.identity != identity:
                raise InvalidCorrelationValue("unknown or expired Correlation Value")
            return self._remove(correlation)


__all__ = ["DEFAULT_MAX_STREAMS", "DEFAULT_MAX_STREAMS_PER_IDENTITY", "DEFAULT_MAX_TOTAL_BUFFER",
           "BufferStream", "CipherStream", "DigestStream", "Engine", "Stream", "StreamTable",
           "StreamTooLarge", "streamable_cipher"]
