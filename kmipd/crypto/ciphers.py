# -*- test-case-name: tests.crypto.test_ciphers -*-
"""
Encrypt and Decrypt: block ciphers with their modes and padding, stream
ciphers, AEAD, and RSA (PKCS#1 v1.5 and OAEP).

Everything is driven by small tables: the symmetric algorithm table in
L{kmipd.crypto.keygen}, L{_MODES} for block cipher modes, L{_PADDINGS} for
symmetric padding, and L{_STREAMS} for the algorithms that take no mode.

Lenient choices, documented because clients send an object's default
Cryptographic Parameters wholesale:
  - a missing IV is generated (and returned) whether or not Random IV is set;
  - a padding method given with a mode that does not pad (CFB, OFB, CTR,
    GCM, XTS) is ignored;
  - no padding method with ECB/CBC means no padding (KMIP test case
    TC-STREAM-ENC-2-13 encrypts 3DES-ECB this way).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, cast

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import (
    AEADCipherContext,
    AEADEncryptionContext,
    Cipher,
    CipherAlgorithm,
    CipherContext,
    modes,
)
from cryptography.hazmat.primitives.ciphers import algorithms as _algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.poly1305 import Poly1305

from kmipd.crypto import BlockCipherMode as BCM
from kmipd.crypto import CryptographicAlgorithm as CA
from kmipd.crypto import PaddingMethod as PM
from kmipd.crypto import describe
from kmipd.crypto.errors import CryptographicFailure, InvalidField, Unsupported, unsupported_or_invalid
from kmipd.crypto.keygen import (
    SymmetricAlgorithm,
    check_key_length,
    cipher_algorithm,
    load_private_key,
    load_public_key,
    symmetric_algorithm,
)
from kmipd.crypto.rng import random_bytes
from kmipd.crypto.wrapping import (
    aes_key_unwrap,
    aes_key_unwrap_with_padding,
    aes_key_wrap,
    aes_key_wrap_with_padding,
    oaep_padding,
)

_legacy_modes: ModuleType
try:  # cryptography >= 47 moved CFB and OFB here
    from cryptography.hazmat.decrepit.ciphers import modes as _legacy_modes
except ImportError:  # pragma: no cover - older cryptography
    _legacy_modes = modes
_CFB = _legacy_modes.CFB if hasattr(_legacy_modes, "CFB") else modes.CFB
_OFB = _legacy_modes.OFB if hasattr(_legacy_modes, "OFB") else modes.OFB

__all__ = ["EncryptResult", "block_iv", "decrypt", "encrypt", "supported_modes"]


@dataclass(frozen=True)
class EncryptResult:
    """
    Output of L{encrypt}.

    @ivar iv: the IV/counter/nonce, only when it was generated here.
    @ivar tag: the authentication tag, only for AEAD.
    """

    data: bytes
    iv: bytes | None = None
    tag: bytes | None = None


@dataclass(frozen=True)
class _Params:
    """The optional parameters of one Encrypt/Decrypt call."""

    mode: int | None
    padding: int | None
    iv: bytes | None
    random_iv: bool
    iv_length: int | None
    tag_length: int | None
    aad: bytes | None
    counter_length: int | None
    hashing_algorithm: int | None
    mgf_hash: int | None
    tag: bytes | None = None
    label: bytes | None = None
    initial_counter: int | None = None


# --------------------------------------------------------------------------
# Block cipher modes


def _block_iv(spec: SymmetricAlgorithm) -> int:
    """IV size of modes whose IV is one block."""
    return spec.block_size or 0


@dataclass(frozen=True)
class _Mode:
    """
    One block cipher mode.

    @ivar build: C{(iv, tag, tag_length) -> cryptography Mode}.
    @ivar iv_size: default IV size in bytes for an algorithm, or C{None}
        when the mode takes no IV.
    @ivar iv_sizes: accepted IV sizes in bytes (C{None}: exactly C{iv_size}).
    @ivar padded: whether data is padded to the block size.
    @ivar algorithms: algorithms allowed with the mode (C{None}: any block
        cipher).
    """

    name: str
    build: Callable[[bytes | None, bytes | None, int | None], modes.Mode]
    iv_size: Callable[[SymmetricAlgorithm], int] | None
    padded: bool = False
    algorithms: frozenset[int] | None = None
    iv_sizes: range | None = None


_AES_ONLY = frozenset({CA.AES})

_MODES: dict[int, _Mode] = {
    BCM.ECB: _Mode("ECB", lambda iv, tag, tl: modes.ECB(), None, padded=True),
    BCM.CBC: _Mode("CBC", lambda iv, tag, tl: modes.CBC(cast(bytes, iv)), _block_iv, padded=True),
    BCM.CFB: _Mode("CFB", lambda iv, tag, tl: _CFB(cast(bytes, iv)), _block_iv),
    BCM.OFB: _Mode("OFB", lambda iv, tag, tl: _OFB(cast(bytes, iv)), _block_iv),
    BCM.CTR: _Mode(
        "CTR",
        lambda iv, tag, tl: modes.CTR(cast(bytes, iv)),
        _block_iv,
        algorithms=_AES_ONLY,
    ),
    BCM.GCM: _Mode(
        "GCM",
        lambda iv, tag, tl: modes.GCM(cast(bytes, iv), tag, min_tag_length=tl or 16),
        lambda spec: 12,
        algorithms=_AES_ONLY,
        iv_sizes=range(8, 129),
    ),
    BCM.XTS: _Mode(
        "XTS",
        lambda iv, tag, tl: modes.XTS(cast(bytes, iv)),
        lambda spec: 16,
        algorithms=_AES_ONLY,
    ),
}

#: Key wrap "modes": (wrap, unwrap) over an AES key-encryption key.
_WRAP_MODES: dict[int, tuple[Callable[[bytes, bytes], bytes], Callable[[bytes, bytes], bytes]]] = {
    BCM.NISTKEYWRAP: (aes_key_wrap, aes_key_unwrap),
    BCM.AESKEYWRAPPADDING: (aes_key_wrap_with_padding, aes_key_unwrap_with_padding),
}

#: The block-cipher paddings of the Padding Method enumeration (the others are for RSA).
_BLOCK_PADDINGS = frozenset({PM.PKCS5, PM.SSL3, PM.ZEROS, PM.ANSI_X9_23, PM.ISO_10126})

_PADDINGS: dict[int, Callable[[int], sym_padding.PKCS7 | sym_padding.ANSIX923]] = {
    PM.PKCS5: sym_padding.PKCS7,
    PM.ANSI_X9_23: sym_padding.ANSIX923,
}

#: GCM tag lengths in bytes that SP 800-38D (5.2.1.2) allows: 128, 120, 112, 104, 96 bits, and 64
#: and 32 bits for applications that bound their use (KMIP's Tag Length is in bytes).
GCM_TAG_LENGTHS = frozenset({4, 8, 12, 13, 14, 15, 16})
_GCM_TAG_BYTES = GCM_TAG_LENGTHS
#: ChaCha20-Poly1305 tag lengths in bytes: RFC 8439 defines only the 16-byte tag and no standard
#: truncates Poly1305, so a shorter tag is its prefix (verified against the full tag's first bytes).
#: 12 bytes is the shortest the KMIP 2.1 profile (CS-BC-M-CHACHA20POLY1305-1-21) uses; shorter
#: tags would weaken the authentication (a forgery succeeds with probability about 2^-8N).
CHACHA20_POLY1305_TAG_LENGTHS = frozenset(range(12, 17))
_XTS_KEY_BYTES = (32, 64)


def supported_modes(algorithm: int) -> frozenset[int]:
    """Block cipher modes usable with a symmetric algorithm (for Query)."""
    spec = symmetric_algorithm(algorithm)
    if spec.block_size is None:
        return frozenset()
    found = {m for m, mode in _MODES.items() if (mode.algorithms is None or algorithm in mode.algorithms)
             and (spec.modes is None or m in spec.modes)}
    if algorithm == CA.AES:
        found.update(_WRAP_MODES)
    return frozenset(found)


def _mode_for(algorithm: int, spec: SymmetricAlgorithm, mode: int | None) -> _Mode:
    """@raise InvalidField: missing, unknown or algorithm-incompatible mode."""
    if mode is None:
        raise InvalidField(f"A block cipher mode is required for {spec.name}.")
    found = _MODES.get(mode)
    if found is None:
        raise unsupported_or_invalid(BCM, mode, f"The block cipher mode {describe(BCM, mode)} is not supported.")
    if (found.algorithms is not None and algorithm not in found.algorithms) or (
            spec.modes is not None and mode not in spec.modes):
        raise InvalidField(f"{found.name} mode is not supported with {spec.name}.")
    return found


def _choose_iv(mode: _Mode, spec: SymmetricAlgorithm, p: _Params, encrypting: bool) -> tuple[bytes | None, bool]:
    """
    Validate or generate the IV; return it and whether it was generated.

    @raise InvalidField: IV missing (decrypt), present when not allowed,
        or of the wrong size.
    """
    if mode.iv_size is None:
        if p.iv is not None or p.random_iv:
            raise InvalidField(f"{mode.name} mode takes no IV.")
        return None, False
    if p.iv is not None and p.random_iv:
        raise InvalidField("Give either an IV or Random IV, not both.")
    if p.iv is None:
        if not encrypting:
            raise InvalidField(f"{mode.name} mode needs the IV used for encryption.")
        return random_bytes(_iv_bytes(mode, spec, p.iv_length)), True
    _check_iv(mode, spec, p.iv)
    return bytes(p.iv), False


def _iv_bytes(mode: _Mode, spec: SymmetricAlgorithm, iv_length: int | None) -> int:
    """The size in bytes of an IV to generate: the mode's default, or C{iv_length} bits.

    @raise InvalidField: C{iv_length} is not a whole number of bytes the mode accepts.
    """
    assert mode.iv_size is not None
    if iv_length is None:
        return mode.iv_size(spec)
    sizes = mode.iv_sizes or (mode.iv_size(spec),)
    if not isinstance(iv_length, int) or iv_length % 8 or iv_length // 8 not in sizes:
        raise InvalidField(f"An IV length of {iv_length} bits is not valid for {mode.name}.")
    return iv_length // 8


def _check_iv(mode: _Mode, spec: SymmetricAlgorithm, iv: object) -> None:
    """@raise InvalidField: C{iv} is not a byte string of a size the mode accepts."""
    assert mode.iv_size is not None
    sizes = mode.iv_sizes or (mode.iv_size(spec),)
    if not isinstance(iv, (bytes, bytearray)) or len(iv) not in sizes:
        raise InvalidField(f"The IV is not a valid size for {spec.name} in {mode.name} mode.")


def block_iv(algorithm: int, mode: int | None, iv: bytes | None, iv_length: int | None) -> tuple[bytes | None, bool]:
    """
    The IV for a block cipher C{mode} with the checks of L{encrypt}: C{iv} if given (its size
    checked), else a random one of the mode's size or of C{iv_length} bits; C{None} for a mode
    without IV (ECB). Returns the IV and whether it was generated (used by multi-part Encrypt
    and Decrypt, which run the cipher themselves).

    @raise InvalidField: unknown or incompatible mode, or an IV / IV Length of a size the mode
        does not accept.
    """
    spec = symmetric_algorithm(algorithm)
    found = _mode_for(algorithm, spec, mode)
    if found.iv_size is None:
        return None, False
    if iv is not None:
        _check_iv(found, spec, iv)
        return bytes(iv), False
    return random_bytes(_iv_bytes(found, spec, iv_length)), True


def _check_counter(iv: bytes, data_len: int, counter_length: int | None) -> None:
    """
    CTR with a Counter Length: C{cryptography} increments the whole block,
    which matches a shorter counter only while that counter does not wrap.

    @raise InvalidField: bad counter length, or the counter would wrap.
    """
    if counter_length is None:
        return
    bits = len(iv) * 8
    if not 1 <= counter_length <= bits:
        raise InvalidField(f"A counter length of {counter_length} bits is not valid.")
    start = int.from_bytes(iv, "big") & ((1 << counter_length) - 1)
    blocks = -(-data_len // len(iv))
    if start + blocks > 1 << counter_length:
        raise InvalidField(f"The {counter_length}-bit counter would wrap while processing the data.")


def _block_algorithm(algorithm: int, spec: SymmetricAlgorithm, key: bytes, mode: int) -> CipherAlgorithm:
    """Build the cipher algorithm, allowing XTS's double-length keys."""
    if mode == BCM.XTS:
        if not isinstance(key, (bytes, bytearray)) or len(key) not in _XTS_KEY_BYTES:
            raise InvalidField("XTS needs a 256 or 512-bit AES key (two AES keys).")
        if key[: len(key) // 2] == key[len(key) // 2 :]:
            raise InvalidField("The two halves of an XTS key must differ.")
        return _algorithms.AES(bytes(key))
    return cipher_algorithm(algorithm, key)


def _pad(spec: SymmetricAlgorithm, mode: _Mode, p: _Params, data: bytes, encrypting: bool) -> bytes:
    """Apply or remove symmetric padding for padded modes."""
    assert spec.block_size is not None
    if not mode.padded:
        return data
    if p.padding is None or p.padding == PM.NONE:
        if len(data) % spec.block_size:
            raise InvalidField(
                f"Without padding, {spec.name} {mode.name} data must be a multiple of {spec.block_size} bytes."
            )
        return data
    factory = _PADDINGS.get(p.padding)
    if factory is None:
        message = f"The padding method {describe(PM, p.padding)} is not supported for {spec.name}."
        if p.padding in _BLOCK_PADDINGS:  # a block padding the spec defines that kmipd lacks
            raise Unsupported(message)
        raise InvalidField(message)
    scheme = factory(spec.block_size * 8)
    if encrypting:
        padder = scheme.padder()
        return padder.update(data) + padder.finalize()
    if len(data) % spec.block_size or not data:
        raise InvalidField(
            f"{spec.name} {mode.name} ciphertext must be a non-empty multiple of {spec.block_size} bytes."
        )
    unpadder = scheme.unpadder()
    try:
        return unpadder.update(data) + unpadder.finalize()
    except ValueError:
        raise CryptographicFailure("The decrypted data has invalid padding.") from None


def _aead_tag_length(p: _Params, encrypting: bool, lengths: frozenset[int], name: str, rule: str) -> int:
    """The AEAD tag length in bytes: asked for (encrypting, default 16) or given (decrypting),
    one of C{lengths} (C{name} and C{rule} word the refusal)."""
    if encrypting:
        tag_length = 16 if p.tag_length is None else p.tag_length
        if tag_length not in lengths:
            raise InvalidField(f"A {name} tag length of {tag_length} bytes is not valid ({rule}).")
        return tag_length
    if p.tag is None:
        raise InvalidField(f"{name} decryption needs the authentication tag.")
    if len(p.tag) not in lengths:
        raise InvalidField(f"A {name} tag of {len(p.tag)} bytes is not valid ({rule}).")
    return len(p.tag)


def _gcm_tag_length(p: _Params, encrypting: bool) -> int:
    return _aead_tag_length(p, encrypting, _GCM_TAG_BYTES, "GCM", "SP 800-38D: 4, 8, 12-16")


def _prepared_input(spec: SymmetricAlgorithm, mode: _Mode, p: _Params, iv: bytes | None, data: bytes,
                    encrypting: bool) -> bytes:
    """C{data} checked for the mode (XTS length, CTR counter room) and padded when encrypting."""
    if p.mode == BCM.XTS and len(data) < 16:
        raise InvalidField("XTS needs at least 16 bytes of data.")
    if p.mode == BCM.CTR:
        _check_counter(iv, len(data), p.counter_length)  # type: ignore[arg-type]
    if encrypting:
        return _pad(spec, mode, p, data, True)
    if mode.padded and len(data) % spec.block_size:  # type: ignore[operator]
        raise InvalidField(f"{spec.name} {mode.name} ciphertext must be a multiple of {spec.block_size} bytes.")
    return data


def _block(
    algorithm: int,
    spec: SymmetricAlgorithm,
    key: bytes,
    data: bytes,
    p: _Params,
    encrypting: bool,
) -> EncryptResult:
    """Encrypt or decrypt with a block cipher."""
    if p.mode in _WRAP_MODES:
        if algorithm != CA.AES:
            raise InvalidField(f"Key wrap modes need an AES key, not {spec.name}.")
        wrap, unwrap = _WRAP_MODES[p.mode]
        return EncryptResult((wrap if encrypting else unwrap)(key, data))
    mode = _mode_for(algorithm, spec, p.mode)
    cipher_alg = _block_algorithm(algorithm, spec, key, p.mode)  # type: ignore[arg-type]
    is_gcm = p.mode == BCM.GCM
    if p.aad is not None and not is_gcm:
        raise InvalidField("Additional authenticated data is only used with GCM.")
    iv, generated = _choose_iv(mode, spec, p, encrypting)
    tag_length = _gcm_tag_length(p, encrypting) if is_gcm else None
    data = _prepared_input(spec, mode, p, iv, data, encrypting)
    try:
        # Cipher[Mode]: the stub's encryptor/decryptor overloads only cover concrete mode unions
        cipher: Cipher[Any] = Cipher(cipher_alg, mode.build(iv, None if encrypting else p.tag, tag_length))
        ctx: CipherContext = cipher.encryptor() if encrypting else cipher.decryptor()
    except (UnsupportedAlgorithm, ValueError) as e:
        raise InvalidField(f"{spec.name} in {mode.name} mode is not supported: {e}") from None
    if p.aad is not None:
        cast(AEADCipherContext, ctx).authenticate_additional_data(p.aad)  # only GCM gets AAD (checked above)
    try:
        out = ctx.update(data) + ctx.finalize()
    except InvalidTag:
        raise CryptographicFailure("GCM authentication failed: the tag does not match.") from None
    except ValueError as e:
        raise InvalidField(f"{spec.name} {mode.name} failed: {e}") from None
    if encrypting:
        tag = cast(AEADEncryptionContext, ctx).tag[:tag_length] if is_gcm else None
        return EncryptResult(out, iv if generated else None, tag)
    return EncryptResult(_pad(spec, mode, p, out, False))


# --------------------------------------------------------------------------
# Stream ciphers and AEAD (no block cipher mode)


def _no_mode(spec: SymmetricAlgorithm, p: _Params, allowed: frozenset[int] = frozenset()) -> None:
    """@raise InvalidField: a block cipher mode or AAD was given to a stream cipher."""
    if p.mode is not None and p.mode not in allowed:
        raise InvalidField(f"{spec.name} is a stream cipher and takes no block cipher mode.")


def _rc4(spec: SymmetricAlgorithm, key: bytes, data: bytes, p: _Params, encrypting: bool) -> EncryptResult:
    """RC4 (ARC4): no mode, no IV."""
    _no_mode(spec, p)
    if p.iv is not None or p.random_iv:
        raise InvalidField("RC4 takes no IV.")
    if p.aad is not None:
        raise InvalidField("RC4 takes no additional authenticated data.")
    ctx = Cipher(cipher_algorithm(CA.RC4, key), None).encryptor()
    return EncryptResult(ctx.update(data) + ctx.finalize())


#: ChaCha20 nonce layouts: nonce bytes -> counter bytes (OpenSSL's 16-byte IV is the state's
#: words 12-15, little-endian counter first, and carries a 32-bit counter overflow into word 13).
_CHACHA_LAYOUTS = {
    8: 8,  # [CHACHA] (Bernstein 2008, the reference of the KMIP spec): 64-bit nonce, 64-bit counter
    12: 4,  # RFC 8439: 96-bit nonce, 32-bit counter
}


def _chacha_iv(nonce: bytes, counter: int | None, data_len: int) -> bytes:
    """The 16-byte counter || nonce block for a nonce of 8, 12 or 16 bytes and an initial counter."""
    if len(nonce) == 16:
        if counter is not None:
            raise InvalidField("A 16-byte ChaCha20 nonce already holds the counter; omit the Initial Counter Value.")
        return bytes(nonce)
    width = _CHACHA_LAYOUTS.get(len(nonce))
    if width is None:
        raise InvalidField("A ChaCha20 nonce is 8 bytes (64-bit counter), 12 bytes (RFC 8439, 32-bit counter) "
                           "or 16 bytes (counter and nonce).")
    start = 0 if counter is None else counter
    blocks = -(-data_len // 64)
    if not isinstance(start, int) or start < 0 or start + blocks > 1 << (8 * width):
        raise InvalidField(f"The ChaCha20 block counter ({8 * width} bits here) would overflow.")
    return start.to_bytes(width, "little") + bytes(nonce)


def _chacha_nonce_bytes(p: _Params) -> int:
    """The nonce length to generate: IV Length (bits) or Counter Length selects the layout."""
    if p.iv_length is not None:
        if p.iv_length not in (64, 96):
            raise InvalidField("A generated ChaCha20 nonce is 64 or 96 bits.")
        return p.iv_length // 8
    if p.counter_length is not None:
        if p.counter_length not in (32, 64):
            raise InvalidField("A ChaCha20 counter is 32 (RFC 8439) or 64 bits.")
        return 8 if p.counter_length == 64 else 12
    return 12


def _chacha20(spec: SymmetricAlgorithm, key: bytes, data: bytes, p: _Params, encrypting: bool) -> EncryptResult:
    """
    ChaCha20 with the nonce layouts of L{_CHACHA_LAYOUTS} or a 16-byte counter || nonce block;
    the Initial Counter Value sets the block counter (default 0). A generated nonce is 12 bytes
    unless IV Length (64) or Counter Length (64) asks for the 8-byte layout.
    """
    _no_mode(spec, p)
    if p.aad is not None:
        raise InvalidField("ChaCha20 takes no additional authenticated data; use ChaCha20-Poly1305.")
    if p.iv is not None and p.random_iv:
        raise InvalidField("Give either a nonce or Random IV, not both.")
    check_key_length(spec, key)
    generated = p.iv is None
    if generated:
        if not encrypting:
            raise InvalidField("ChaCha20 decryption needs the nonce used for encryption.")
        nonce = random_bytes(_chacha_nonce_bytes(p))
    elif isinstance(p.iv, (bytes, bytearray)):
        nonce = bytes(p.iv)
    else:
        raise InvalidField("The ChaCha20 nonce must be a byte string.")
    iv = _chacha_iv(nonce, p.initial_counter, len(data))
    return EncryptResult(_chacha_stream(bytes(key), iv, data), nonce if generated else None)


def _chacha_stream(key: bytes, iv: bytes, data: bytes) -> bytes:
    """XOR C{data} with the key stream from the 16-byte C{iv}, carrying the 32-bit block counter
    into the next word at 2^32 (the 64-bit counter of the 8-byte layout): C{cryptography} refuses
    to wrap, so the stream is produced in segments that do not."""
    out = bytearray()
    counter = int.from_bytes(iv[:8], "little")
    rest = iv[8:]
    offset = 0
    while offset < len(data) or not out:
        room = ((1 << 32) - (counter & 0xFFFFFFFF)) * 64
        chunk = data[offset:offset + room]
        block = counter.to_bytes(8, "little") + rest
        ctx = Cipher(_algorithms.ChaCha20(key, block), None).encryptor()
        out += ctx.update(chunk) + ctx.finalize()
        offset += len(chunk)
        counter = (counter + room // 64) % (1 << 64)
        if not data:
            break
    return bytes(out)


def _chacha_keystream(key: bytes, nonce: bytes, counter: int) -> Any:
    """A ChaCha20 encryptor from block C{counter} (32-bit for a 12-byte nonce, 64-bit for 8 bytes)."""
    return Cipher(_algorithms.ChaCha20(key, counter.to_bytes(16 - len(nonce), "little") + nonce), None).encryptor()


def _poly1305_tag(key: bytes, nonce: bytes, aad: bytes, ct: bytes) -> bytes:
    """The full 16-byte tag, keyed from block 0: over AAD and ciphertext each zero-padded to 16
    bytes, then both 64-bit lengths (RFC 8439 2.8, 12-byte nonce), or over AAD || len64 ||
    ciphertext || len64 unpadded (the 8-byte nonce of [CHACHA], draft-agl-tls-chacha20poly1305)."""
    poly_key = _chacha_keystream(key, nonce, 0).update(bytes(32))
    if len(nonce) == 12:
        mac_input = (aad + bytes(-len(aad) % 16) + ct + bytes(-len(ct) % 16)
                     + len(aad).to_bytes(8, "little") + len(ct).to_bytes(8, "little"))
    else:
        mac_input = aad + len(aad).to_bytes(8, "little") + ct + len(ct).to_bytes(8, "little")
    return Poly1305.generate_tag(poly_key, mac_input)


def _chacha20_poly1305(
    spec: SymmetricAlgorithm, key: bytes, data: bytes, p: _Params, encrypting: bool
) -> EncryptResult:
    """ChaCha20-Poly1305: RFC 8439 (12-byte nonce) or the original 8-byte-nonce construction;
    optional AAD. A generated nonce is 12 bytes (IV Length 64: 8 bytes). The tag is 16 bytes or
    its first 12-15 (L{CHACHA20_POLY1305_TAG_LENGTHS}): a truncated tag is checked, in constant
    time, against the same prefix of the full tag, before the data is decrypted."""
    _no_mode(spec, p, frozenset({BCM.AEAD}))
    check_key_length(spec, key)
    if p.iv is not None and p.random_iv:
        raise InvalidField("Give either a nonce or Random IV, not both.")
    if p.initial_counter is not None:
        raise InvalidField("ChaCha20-Poly1305 fixes its block counter; omit the Initial Counter Value.")
    nonce = p.iv
    generated = nonce is None
    if generated:
        if not encrypting:
            raise InvalidField("ChaCha20-Poly1305 decryption needs the nonce.")
        if p.iv_length not in (None, 64, 96):
            raise InvalidField("A generated ChaCha20-Poly1305 nonce is 64 or 96 bits.")
        nonce = random_bytes(8 if p.iv_length == 64 else 12)
    if len(nonce) not in (8, 12):  # type: ignore[arg-type]
        raise InvalidField("A ChaCha20-Poly1305 nonce is 12 bytes (RFC 8439) or 8 bytes.")
    tag_length = _aead_tag_length(p, encrypting, CHACHA20_POLY1305_TAG_LENGTHS, "ChaCha20-Poly1305",
                                  "16, or a 12-15 byte prefix")
    key, nonce, aad = bytes(key), bytes(nonce), p.aad or b""  # type: ignore[arg-type]
    if len(nonce) == 12 and (encrypting or tag_length == 16):  # RFC 8439 itself: the library's AEAD
        aead = ChaCha20Poly1305(key)
        if encrypting:
            out = aead.encrypt(nonce, data, p.aad)
            return EncryptResult(out[:-16], nonce if generated else None, out[-16:][:tag_length])
        try:
            return EncryptResult(aead.decrypt(nonce, data + p.tag, p.aad))  # type: ignore[operator]
        except InvalidTag:
            raise CryptographicFailure("ChaCha20-Poly1305 authentication failed: the tag does not match.") from None
    if encrypting:
        ct = _chacha_keystream(key, nonce, 1).update(data)
        return EncryptResult(ct, nonce if generated else None, _poly1305_tag(key, nonce, aad, ct)[:tag_length])
    if not hmac.compare_digest(_poly1305_tag(key, nonce, aad, data)[:tag_length], p.tag):  # type: ignore[arg-type]
        raise CryptographicFailure("ChaCha20-Poly1305 authentication failed: the tag does not match.")
    return EncryptResult(_chacha_keystream(key, nonce, 1).update(data))


_StreamFn = Callable[[SymmetricAlgorithm, bytes, bytes, _Params, bool], EncryptResult]

_STREAMS: dict[int, _StreamFn] = {
    CA.RC4: _rc4,
    CA.CHACHA20: _chacha20,
    CA.CHACHA20POLY1305: _chacha20_poly1305,
}


# --------------------------------------------------------------------------
# RSA

_RSA_PADDINGS = frozenset({PM.OAEP, PM.PKCS1_V1_5})


def _rsa_padding(p: _Params) -> asym_padding.AsymmetricPadding:
    """@raise InvalidField: missing or unsupported RSA encryption padding."""
    if p.padding is None:
        raise InvalidField("RSA encryption needs a padding method (OAEP or PKCS1 v1.5).")
    if p.padding == PM.OAEP:
        return oaep_padding(p.hashing_algorithm, p.mgf_hash, p.label)
    if p.label:
        raise InvalidField("A label (P Source) is only used with OAEP padding.")
    if p.padding == PM.PKCS1_V1_5:
        return asym_padding.PKCS1v15()
    raise InvalidField(f"The padding method {describe(PM, p.padding)} is not supported for RSA encryption.")


def _rsa_check(p: _Params) -> None:
    """@raise InvalidField: symmetric-only parameters given to RSA."""
    if p.mode is not None:
        raise InvalidField("RSA takes no block cipher mode.")
    if p.iv is not None or p.random_iv or p.aad is not None or p.tag is not None:
        raise InvalidField("RSA takes no IV, AAD or tag.")


def _rsa_encrypt(key: bytes, data: bytes, p: _Params) -> EncryptResult:
    """RSA encryption with a public key (a private key's public half also works)."""
    _rsa_check(p)
    pad = _rsa_padding(p)
    try:
        public = load_public_key(key)
    except InvalidField:
        public = load_private_key(key).public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise InvalidField("The key is not an RSA key.")
    try:
        return EncryptResult(public.encrypt(data, pad))
    except ValueError as e:
        raise InvalidField(f"RSA encryption failed: {e}") from None


def _rsa_decrypt(key: bytes, data: bytes, p: _Params) -> EncryptResult:
    """RSA decryption with a private key."""
    _rsa_check(p)
    pad = _rsa_padding(p)
    private = load_private_key(key)
    if not isinstance(private, rsa.RSAPrivateKey):
        raise InvalidField("The key is not an RSA private key.")
    try:
        return EncryptResult(private.decrypt(data, pad))
    except ValueError:
        raise CryptographicFailure("RSA decryption failed.") from None


# --------------------------------------------------------------------------
# Entry points


def _run(algorithm: int | None, key: bytes, data: bytes, p: _Params, encrypting: bool) -> EncryptResult:
    """Route to RSA, a stream cipher or a block cipher."""
    if not isinstance(data, (bytes, bytearray)):
        raise InvalidField("The data must be bytes.")
    data = bytes(data)
    for name, value in (("IV/nonce", p.iv), ("additional data", p.aad), ("tag", p.tag), ("label", p.label)):
        if value is not None and not isinstance(value, (bytes, bytearray)):
            raise InvalidField(f"The {name} must be bytes.")
    if algorithm == CA.RSA:
        return (_rsa_encrypt if encrypting else _rsa_decrypt)(key, data, p)
    if p.label:
        raise InvalidField("A label (P Source) is only used with RSA-OAEP.")
    spec = symmetric_algorithm(algorithm)
    stream = _STREAMS.get(algorithm)  # type: ignore[arg-type]
    if stream is not None:
        return stream(spec, key, data, p, encrypting)
    return _block(algorithm, spec, key, data, p, encrypting)  # type: ignore[arg-type]


def encrypt(
    algorithm: int | None,
    key: bytes,
    data: bytes,
    *,
    mode: int | None = None,
    padding: int | None = None,
    iv: bytes | None = None,
    random_iv: bool = False,
    iv_length: int | None = None,
    tag_length: int | None = None,
    aad: bytes | None = None,
    counter_length: int | None = None,
    hashing_algorithm: int | None = None,
    mgf_hash: int | None = None,
    label: bytes | None = None,
    initial_counter: int | None = None,
) -> EncryptResult:
    """
    Encrypt C{data}.

    @param algorithm: Cryptographic Algorithm: AES, 3DES, Blowfish,
        Camellia, CAST5, IDEA, SEED (block, with C{mode}), RC4, ChaCha20,
        ChaCha20-Poly1305, or RSA (C{key} is then DER).
    @param mode: Block Cipher Mode: ECB, CBC, CFB, OFB for every block
        cipher; CTR, GCM, XTS, NISTKeyWrap, AESKeyWrapPadding for AES.
    @param padding: PKCS5, ANSI X9.23 or None (ECB/CBC); OAEP or PKCS1 v1.5
        (RSA).
    @param iv_length: IV length in bits when one is generated (GCM: 64-1024).
    @param tag_length: AEAD tag length in bytes (default 16; GCM: L{GCM_TAG_LENGTHS},
        ChaCha20-Poly1305: L{CHACHA20_POLY1305_TAG_LENGTHS}).
    @param counter_length: CTR counter length in bits; checked not to wrap (ChaCha20: 32 or 64,
        choosing the generated nonce's layout).
    @param initial_counter: the ChaCha20 block counter to start from (Initial Counter Value).
    @param hashing_algorithm: OAEP hash (default SHA-1).
    @param mgf_hash: OAEP MGF1 hash (default SHA-1, per KMIP).
    @param label: OAEP label (the KMIP P Source), RSA-OAEP only.
    @raise InvalidField: unsupported or inconsistent parameters.
    @raise CryptographicFailure: the primitive failed.
    """
    params = _Params(
        mode,
        padding,
        iv,
        random_iv,
        iv_length,
        tag_length,
        aad,
        counter_length,
        hashing_algorithm,
        mgf_hash,
        label=label,
        initial_counter=initial_counter,
    )
    return _run(algorithm, key, data, params, True)


def decrypt(
    algorithm: int | None,
    key: bytes,
    data: bytes,
    *,
    mode: int | None = None,
    padding: int | None = None,
    iv: bytes | None = None,
    tag: bytes | None = None,
    aad: bytes | None = None,
    counter_length: int | None = None,
    hashing_algorithm: int | None = None,
    mgf_hash: int | None = None,
    label: bytes | None = None,
    initial_counter: int | None = None,
) -> bytes:
    """
    Decrypt C{data}; parameters as for L{encrypt}, plus the AEAD C{tag}.

    @raise InvalidField: unsupported or inconsistent parameters.
    @raise CryptographicFailure: tag mismatch, bad padding, RSA failure.
    """
    params = _Params(
        mode,
        padding,
        iv,
        False,
        None,
        None,
        aad,
        counter_length,
        hashing_algorithm,
        mgf_hash,
        tag,
        label,
        initial_counter,
    )
    return _run(algorithm, key, data, params, False).data
