# -*- test-case-name: tests.test_tls_tickets -*-
"""
Shared TLS session-ticket keys: every worker process and every node holding the same secret
encrypts and decrypts session tickets (TLS 1.2 RFC 5077 tickets and TLS 1.3 stateless resumption
tickets) with the same key, so a client that reconnects resumes wherever its connection lands.

The key of each period (C{tls_ticket_rotation} seconds of wall-clock time) is derived with
HKDF-SHA256 from the secret (C{tls_ticket_key_path}, else the master key file) and the period
number; it is never logged or stored. OpenSSL holds one ticket key per context, so at a period
boundary older tickets stop resuming (the client gets a full handshake); sessions also expire
after one period (C{SSL_CTX_set_timeout}).

pyOpenSSL and cryptography expose neither C{SSL_CTX_ctrl} nor the ticket-key calls. cryptography
links OpenSSL statically into its extension module; when that module keeps its symbol table,
L{_resolve_ctrl} finds C{SSL_CTX_ctrl} there, checks the symbol table against two functions the
binding does expose (their offsets must give the addresses the binding reports), and
L{TicketKeys} reads every key back after setting it. Any mismatch or error turns sharing off with
one warning: each process then keeps OpenSSL's own random ticket key, as before.
"""

from __future__ import annotations

import ctypes
import hashlib
import struct
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO

from cryptography import __version__ as _cryptography_version
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from OpenSSL import SSL

from kmipd.config import Config, ConfigError
from kmipd.log import Logger

try:  # private, as in kmipd.tls: checked in _resolve_ctrl
    from OpenSSL._util import ffi as _ffi
    from OpenSSL._util import lib as _openssl_lib
except ImportError:  # pragma: no cover
    _ffi = _openssl_lib = None

__all__ = ["TICKET_KEYS_LENGTH", "TicketKeys", "derive_ticket_keys", "install_ticket_keys",
           "session_id_context", "sharing_unavailable", "ticket_secret"]

_log = Logger()

#: OpenSSL 3.x/4.x C{SSL_CTRL_SET_TLSEXT_TICKET_KEYS}: 16-byte key name, 32-byte HMAC key, 32-byte AES key.
TICKET_KEYS_LENGTH = 80
_SSL_CTRL_GET_TLSEXT_TICKET_KEYS = 58
_SSL_CTRL_SET_TLSEXT_TICKET_KEYS = 59
#: Shortest accepted C{tls_ticket_key_path} secret.
MIN_SECRET_LENGTH = 32


def derive_ticket_keys(secret: bytes, period: int) -> bytes:
    """The 80 bytes of ticket keys (name, HMAC key, AES key) of C{period} under C{secret}."""
    return HKDF(algorithm=hashes.SHA256(), length=TICKET_KEYS_LENGTH, salt=b"kmipd TLS session tickets",
                info=b"kmipd ticket keys v1 " + struct.pack(">Q", period)).derive(secret)


def ticket_secret(config: Config) -> bytes | None:
    """The secret the ticket keys derive from: C{tls_ticket_key_path} (at least 32 bytes), else the
    master key file when it is readable, else C{None} (per-process keys). Blocking: call at startup.

    @raise ConfigError: naming C{tls_ticket_key_path} when it is unreadable or too short.
    """
    if config.tls_ticket_key_path is None:
        try:
            return _read_secret(config.effective_master_key_path)
        except ValueError:
            return None
    try:
        return _read_secret(config.tls_ticket_key_path)
    except ValueError as e:
        raise ConfigError(f"[server] tls_ticket_key_path: {e}", key="tls_ticket_key_path") from None


def _read_secret(path: str) -> bytes:
    """The first 4 KiB of C{path}; L{ValueError} if unreadable or shorter than 32 bytes."""
    try:
        with open(path, "rb") as f:
            secret = f.read(4096)
    except OSError as e:
        raise ValueError(f"cannot read {path!r}: {e.strerror or e}") from None
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"{path!r} holds {len(secret)} bytes; at least {MIN_SECRET_LENGTH} random bytes "
                         "are needed")
    return secret


def session_id_context(ca_ders: Iterable[bytes], client_auth: bool, ciphers: str = "") -> bytes:
    """The session ID context: equal on every process and node trusting the same CAs with the same
    TLS 1.2 cipher list, so their sessions resume on each other, and different when either differs:
    a session whose client certificate was verified under other CAs never resumes, nor does one
    whose cipher suite C{ciphers} (the OpenSSL cipher string) no longer allows (OpenSSL checks a
    resumed TLS 1.2 session's suite against the client's list only). 32 bytes, OpenSSL's maximum."""
    digest = hashlib.sha256(b"kmipd TLS session context\0" + (b"1" if client_auth else b"0"))
    for der in ca_ders:
        digest.update(struct.pack(">I", len(der)) + der)
    digest.update(b"ciphers\0" + ciphers.encode())
    return digest.digest()


# -- finding SSL_CTX_ctrl --------------------------------------------------------------------------

_ELF64_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_ELF64_SECTION = struct.Struct("<IIQQQQIIQQ")
_ELF64_SYMBOL = struct.Struct("<IBBHQQ")
_SHT_SYMTAB, _STT_FUNC = 2, 2


def elf_function_offsets(f: BinaryIO, names: set[str]) -> dict[str, int]:
    """The symbol-table values of the functions C{names} in the ELF64 little-endian file C{f}
    (those found; none when the file is stripped or not ELF64)."""
    header = _ELF64_HEADER.unpack(f.read(_ELF64_HEADER.size))
    ident, shoff, shentsize, shnum = header[0], header[6], header[11], header[12]
    if ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] != 1 or shentsize != _ELF64_SECTION.size:
        return {}
    f.seek(shoff)
    sections = [_ELF64_SECTION.unpack(f.read(shentsize)) for _ in range(shnum)]
    found: dict[str, int] = {}
    wanted = {name.encode(): name for name in names}
    for sh_type, sh_link, offset, size in ((s[1], s[6], s[4], s[5]) for s in sections):
        if sh_type != _SHT_SYMTAB or sh_link >= len(sections):
            continue
        f.seek(sections[sh_link][4])
        strings = f.read(sections[sh_link][5])
        f.seek(offset)
        table = f.read(size)
        for st_name, st_info, _other, shndx, value, _size in _ELF64_SYMBOL.iter_unpack(table):
            if st_info & 0xF != _STT_FUNC or not shndx or not value:
                continue
            name = strings[st_name:strings.find(b"\0", st_name)]
            if name in wanted:
                found[wanted[name]] = value
    return found


#: Functions the binding exposes (through cffi's direct-call wrappers C{_cffi_d_NAME}): their
#: symbol-table offsets must map to the addresses cffi reports, else the table is not this module's.
_ANCHORS = ("SSL_CTX_set_timeout", "SSL_CTX_get_timeout")

_Ctrl = Callable[[int, int, int, Any], int]


def _checked_release(version: str) -> bool:
    """Whether this cryptography release was checked to link OpenSSL into C{_rust} with its
    C{_openssl} cffi module (42 and later; checked up to 50.x)."""
    try:
        major = int(version.split(".")[0])
    except ValueError:
        return False
    return 42 <= major < 51


def _resolve_ctrl() -> tuple[_Ctrl | None, str]:
    """C{SSL_CTX_ctrl} of the OpenSSL pyOpenSSL uses, or C{None} and why not."""
    if not sys.platform.startswith("linux") or struct.calcsize("P") != 8:
        return None, "not a 64-bit Linux build"
    if _openssl_lib is None or _ffi is None:
        return None, "OpenSSL._util is missing"
    raw = getattr(_openssl_lib, "_original_lib", None)
    if raw is None or any(not hasattr(raw, name) for name in _ANCHORS):
        return None, "cryptography's raw binding is missing"
    if not hasattr(SSL.Context(SSL.TLS_METHOD), "_context"):
        return None, "pyOpenSSL's Context has no _context"
    if not _checked_release(_cryptography_version):
        return None, f"cryptography {_cryptography_version} is not a checked release"
    from cryptography.hazmat.bindings import _rust

    names = {"SSL_CTX_ctrl"} | {f"_cffi_d_{name}" for name in _ANCHORS}
    try:
        with open(_rust.__file__, "rb") as f:
            offsets = elf_function_offsets(f, names)
    except (OSError, struct.error, TypeError) as e:
        return None, f"cannot read {getattr(_rust, '__file__', 'the binding')}: {e}"
    if set(offsets) != names:
        return None, "the binding module has no symbol table for SSL_CTX_ctrl (stripped)"
    bases = {int(_ffi.cast("uintptr_t", _ffi.addressof(raw, name))) - offsets[f"_cffi_d_{name}"]
             for name in _ANCHORS}
    if len(bases) != 1:
        return None, "the binding module's symbol table does not match the loaded module"
    prototype = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_void_p)
    return prototype(bases.pop() + offsets["SSL_CTX_ctrl"]), ""


_ctrl: _Ctrl | None = None
_unavailable: str | None = None  # None: not checked yet; "": sharing works; else why it is off


def sharing_unavailable() -> str | None:
    """Why ticket keys cannot be shared in this process, or C{None} when they can (checked once)."""
    global _ctrl, _unavailable
    if _unavailable is None:
        try:
            _ctrl, reason = _resolve_ctrl()
        except Exception as e:
            _ctrl, reason = None, f"{type(e).__name__}: {e}"
        _unavailable = reason
        if reason:
            _log.warn("TLS session tickets are keyed per process (no shared ticket keys): {reason}",
                      reason=reason)
    return _unavailable or None


def _disable(reason: str) -> None:
    """Turn sharing off for the rest of the process, logging why once."""
    global _ctrl, _unavailable
    if not _unavailable:
        _log.warn("TLS session tickets are keyed per process (no shared ticket keys): {reason}", reason=reason)
    _ctrl, _unavailable = None, reason


def _set_keys(context: SSL.Context, keys: bytes) -> bool:
    """Install C{keys} on C{context} and read them back; False (and sharing off) if that fails."""
    ctrl = _ctrl
    if ctrl is None:
        return False
    ssl_ctx = int(_ffi.cast("uintptr_t", context._context))
    buffer = ctypes.create_string_buffer(keys, TICKET_KEYS_LENGTH)
    check = ctypes.create_string_buffer(TICKET_KEYS_LENGTH)
    try:
        ok = (ctrl(ssl_ctx, _SSL_CTRL_GET_TLSEXT_TICKET_KEYS, 0, None) == TICKET_KEYS_LENGTH
              and ctrl(ssl_ctx, _SSL_CTRL_SET_TLSEXT_TICKET_KEYS, TICKET_KEYS_LENGTH, buffer) == 1
              and ctrl(ssl_ctx, _SSL_CTRL_GET_TLSEXT_TICKET_KEYS, TICKET_KEYS_LENGTH, check) == 1
              and check.raw == keys)
    except Exception as e:
        ok, why = False, f"{type(e).__name__}: {e}"
    else:
        why = "OpenSSL did not keep the ticket keys it was given"
    finally:
        ctypes.memset(buffer, 0, TICKET_KEYS_LENGTH)
        ctypes.memset(check, 0, TICKET_KEYS_LENGTH)
    if not ok:
        clear = getattr(_openssl_lib, "ERR_clear_error", None)
        if clear is not None:
            clear()  # a refused call left an error that pyOpenSSL would report later
        _disable(why)
    return ok


class TicketKeys:
    """The ticket keys of one server context: the current period's key, replaced when the period
    changes (L{refresh}, called for each new connection)."""

    def __init__(self, context: SSL.Context, secret: bytes, rotation: int,
                 clock: Callable[[], float] = time.time) -> None:
        self._context = context
        self._secret = secret
        self.rotation = rotation
        self._clock = clock
        #: The period whose key is installed (None: none installed, OpenSSL's random key in use).
        self.period: int | None = None

    def refresh(self, now: float | None = None) -> bool:
        """Install the key of the period of C{now} (default: the clock) unless it already is.
        False: sharing is off (the context keeps whichever key it had)."""
        period = int((self._clock() if now is None else now) // self.rotation)
        if period == self.period:
            return True
        if _unavailable or not _set_keys(self._context, derive_ticket_keys(self._secret, period)):
            return False
        self.period = period
        return True


def install_ticket_keys(context: SSL.Context, secret: bytes | None, rotation: int,
                        clock: Callable[[], float] = time.time) -> TicketKeys | None:
    """Share C{context}'s ticket keys (derived from C{secret}, rotated every C{rotation} seconds)
    and bound its sessions' lifetime to C{rotation}; C{None} when there is no secret or sharing
    is unavailable (one warning), leaving OpenSSL's per-process random key."""
    context.set_timeout(rotation)
    if secret is None or sharing_unavailable():
        return None
    keys = TicketKeys(context, secret, rotation, clock)
    return keys if keys.refresh() else None
