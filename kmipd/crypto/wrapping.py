# -*- test-case-name: tests.crypto.test_wrapping -*-
"""
Key wrapping: AES Key Wrap (RFC 3394) and AES Key Wrap with Padding
(RFC 5649), RSA-OAEP key transport, and the at-rest envelope kmipd uses to
protect stored key material under a master key.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import keywrap
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kmipd.crypto import HashingAlgorithm as HA
from kmipd.crypto import hash_for
from kmipd.crypto.errors import CryptographicFailure, InvalidField
from kmipd.crypto.keygen import load_private_key, load_public_key

__all__ = [
    "SEAL_VERSION_AES256_GCM",
    "aes_key_unwrap",
    "aes_key_unwrap_with_padding",
    "aes_key_wrap",
    "aes_key_wrap_with_padding",
    "oaep_padding",
    "rsa_oaep_unwrap",
    "rsa_oaep_wrap",
    "seal",
    "unseal",
]

_AES_KEY_BYTES = (16, 24, 32)


def _check_kek(kek: bytes) -> None:
    """@raise InvalidField: C{kek} is not an AES key."""
    if not isinstance(kek, (bytes, bytearray)) or len(kek) not in _AES_KEY_BYTES:
        raise InvalidField("The key-encryption key must be a 128, 192 or 256-bit AES key.")


def _check_bytes(value: object, what: str) -> bytes:
    """@raise InvalidField: C{value} is not bytes."""
    if not isinstance(value, (bytes, bytearray)):
        raise InvalidField(f"The {what} must be bytes.")
    return bytes(value)


def aes_key_wrap(kek: bytes, key: bytes) -> bytes:
    """
    Wrap C{key} (at least 16 bytes, a multiple of 8) under C{kek} with
    RFC 3394 AES Key Wrap (KMIP NISTKeyWrap).

    @raise InvalidField: bad KEK or key length.
    """
    _check_kek(kek)
    key = _check_bytes(key, "key to wrap")
    if len(key) < 16 or len(key) % 8:
        raise InvalidField(
            "AES Key Wrap needs key data of at least 16 bytes in multiples of 8; "
            "use AES Key Wrap with Padding for other lengths."
        )
    return keywrap.aes_key_wrap(bytes(kek), key)


def aes_key_unwrap(kek: bytes, wrapped: bytes) -> bytes:
    """
    Unwrap RFC 3394 AES Key Wrap output.

    @raise InvalidField: bad KEK or wrapped length.
    @raise CryptographicFailure: integrity check failed.
    """
    return _unwrap(keywrap.aes_key_unwrap, kek, wrapped, 24, "AES Key Wrap")


def _unwrap(unwrap: Callable[[bytes, bytes], bytes], kek: bytes, wrapped: bytes, shortest: int, name: str) -> bytes:
    """Check the KEK and the wrapped length (at least C{shortest}, multiple of 8), then unwrap.

    @raise InvalidField: bad KEK or wrapped length.
    @raise CryptographicFailure: integrity check failed.
    """
    _check_kek(kek)
    wrapped = _check_bytes(wrapped, "wrapped key")
    if len(wrapped) < shortest or len(wrapped) % 8:
        raise InvalidField(f"{name} output must be at least {shortest} bytes in multiples of 8.")
    try:
        return unwrap(bytes(kek), wrapped)
    except keywrap.InvalidUnwrap:
        raise CryptographicFailure("AES key unwrap failed the integrity check.") from None


def aes_key_wrap_with_padding(kek: bytes, key: bytes) -> bytes:
    """
    Wrap C{key} (any non-empty length) with RFC 5649 AES Key Wrap with
    Padding (KMIP AESKeyWrapPadding).

    @raise InvalidField: bad KEK or empty key.
    """
    _check_kek(kek)
    key = _check_bytes(key, "key to wrap")
    if not key:
        raise InvalidField("The key to wrap is empty.")
    return keywrap.aes_key_wrap_with_padding(bytes(kek), key)


def aes_key_unwrap_with_padding(kek: bytes, wrapped: bytes) -> bytes:
    """
    Unwrap RFC 5649 output.

    @raise InvalidField: bad KEK or wrapped length.
    @raise CryptographicFailure: integrity check failed.
    """
    return _unwrap(keywrap.aes_key_unwrap_with_padding, kek, wrapped, 16, "AES Key Wrap with Padding")


def oaep_padding(
    hashing_algorithm: int | None = None,
    mgf_hash: int | None = None,
    label: bytes | None = None,
) -> asym_padding.OAEP:
    """
    Build OAEP padding.  Both hashes default to SHA-1, as KMIP 2.1 table 59
    specifies for the Mask Generator Hashing Algorithm.

    @raise InvalidField: unsupported hash.
    """
    digest = hash_for(HA.SHA_1 if hashing_algorithm is None else hashing_algorithm)
    mgf = hash_for(HA.SHA_1 if mgf_hash is None else mgf_hash, "mask generator hashing algorithm")
    return asym_padding.OAEP(mgf=asym_padding.MGF1(mgf), algorithm=digest, label=label or None)


def rsa_oaep_wrap(
    public_der: bytes,
    key: bytes,
    hashing_algorithm: int | None = None,
    mgf_hash: int | None = None,
) -> bytes:
    """
    Encrypt C{key} to an RSA public key with OAEP.

    @raise InvalidField: not an RSA public key, unsupported hash, or the key
        is too long for the modulus and hash.
    """
    public = load_public_key(public_der)
    if not isinstance(public, rsa.RSAPublicKey):
        raise InvalidField("RSA-OAEP wrapping needs an RSA public key.")
    pad = oaep_padding(hashing_algorithm, mgf_hash)
    key = _check_bytes(key, "key to wrap")
    limit = public.key_size // 8 - 2 * pad.algorithm.digest_size - 2
    if len(key) > limit:
        raise InvalidField(f"{len(key)} bytes is too long for RSA-OAEP with this key and hash (at most {limit}).")
    return public.encrypt(key, pad)


def rsa_oaep_unwrap(
    private_der: bytes,
    wrapped: bytes,
    hashing_algorithm: int | None = None,
    mgf_hash: int | None = None,
) -> bytes:
    """
    Decrypt an RSA-OAEP wrapped key.

    @raise InvalidField: not an RSA private key or unsupported hash.
    @raise CryptographicFailure: decryption failed.
    """
    private = load_private_key(private_der)
    if not isinstance(private, rsa.RSAPrivateKey):
        raise InvalidField("RSA-OAEP unwrapping needs an RSA private key.")
    pad = oaep_padding(hashing_algorithm, mgf_hash)
    try:
        return private.decrypt(_check_bytes(wrapped, "wrapped key"), pad)
    except ValueError:
        raise CryptographicFailure("RSA-OAEP decryption failed.") from None


# --------------------------------------------------------------------------
# At-rest envelope

#: Envelope version 1: AES-256-GCM, 12-byte random nonce, 16-byte tag.
SEAL_VERSION_AES256_GCM = 0x01
_NONCE_BYTES = 12
_TAG_BYTES = 16


def _check_master(master_key: bytes) -> AESGCM:
    """@raise InvalidField: the master key is not 32 bytes."""
    if not isinstance(master_key, (bytes, bytearray)) or len(master_key) != 32:
        raise InvalidField("The master key must be 32 bytes (AES-256).")
    return AESGCM(bytes(master_key))


def seal(master_key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """
    Encrypt C{plaintext} for storage: C{version || nonce || ciphertext ||
    tag}.  The version byte is authenticated together with C{aad} (for
    example the object's unique identifier), so a blob cannot be moved to
    another record or relabelled.

    @raise InvalidField: bad master key or argument types.
    """
    aead = _check_master(master_key)
    plaintext = _check_bytes(plaintext, "plaintext")
    aad = _check_bytes(aad, "associated data")
    header = bytes([SEAL_VERSION_AES256_GCM])
    nonce = os.urandom(_NONCE_BYTES)
    return header + nonce + aead.encrypt(nonce, plaintext, header + aad)


def unseal(master_key: bytes, blob: bytes, aad: bytes) -> bytes:
    """
    Reverse L{seal}.

    @raise InvalidField: bad master key or argument types.
    @raise CryptographicFailure: unknown version, truncated blob, wrong
        key or AAD, or any tampering.
    """
    aead = _check_master(master_key)
    blob = _check_bytes(blob, "sealed blob")
    aad = _check_bytes(aad, "associated data")
    if len(blob) < 1 + _NONCE_BYTES + _TAG_BYTES:
        raise CryptographicFailure("The sealed blob is truncated.")
    if blob[0] != SEAL_VERSION_AES256_GCM:
        raise CryptographicFailure(f"Unknown sealed blob version {blob[0]}.")
    header, nonce, body = blob[:1], blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
    try:
        return aead.decrypt(nonce, body, header + aad)
    except InvalidTag:
        raise CryptographicFailure(
            "The sealed blob failed authentication (wrong key, wrong associated data, or tampering)."
        ) from None
