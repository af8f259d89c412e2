# -*- test-case-name: tests.crypto.test_derive -*-
"""
DeriveKey methods (KMIP 2.1 section 7.12 and table 445).

  - PBKDF2: C{key_material} is the password; salt and iteration count are
    required; the PRF hash defaults to SHA-1 (PKCS#5).
  - HASH: hash of the key material I{or} the derivation data (exactly one).
  - HMAC: HMAC(key material, derivation data) with the hash of the
    derivation key's HMAC algorithm (passed as C{hashing_algorithm}).
  - ENCRYPT: the derivation data encrypted under the key material
    (see L{kmipd.crypto.ciphers.encrypt}).
  - NIST800-108-C: SP 800-108 counter mode, 32-bit counter before the
    fixed input (the derivation data: Label || 0x00 || Context); HMAC with
    C{hashing_algorithm}, or CMAC with C{encryption_algorithm}.
  - HKDF: RFC 5869, salt optional, derivation data as info, SHA-256 default.

Outputs longer than C{length_bits} are truncated (PyKMIP's rule); HASH,
HMAC and ENCRYPT outputs that are too short are a Cryptographic Failure
(as in PyKMIP).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf import hkdf, kbkdf, pbkdf2

from kmipd.crypto import DerivationMethod as DM
from kmipd.crypto import HashingAlgorithm as HA
from kmipd.crypto import describe, hash_for
from kmipd.crypto.ciphers import encrypt
from kmipd.crypto.errors import CryptographicFailure, InvalidField
from kmipd.crypto.keygen import cipher_algorithm, symmetric_algorithm

__all__ = ["derivation_methods", "derive_key"]

#: Upper bound on PBKDF2 iterations, so one request cannot pin a thread.
MAX_PBKDF2_ITERATIONS = 10_000_000


@dataclass(frozen=True)
class _Request:
    """Arguments of one derivation, with the length already in bytes."""

    key_material: bytes | None
    derivation_data: bytes | None
    salt: bytes | None
    iterations: int | None
    hashing_algorithm: int | None
    encryption_algorithm: int | None
    mode: int | None
    padding: int | None
    iv: bytes | None
    length: int


def _need(value: bytes | None, what: str, method: str) -> bytes:
    """@raise InvalidField: a required byte string is missing."""
    if value is None:
        raise InvalidField(f"{method} key derivation needs {what}.")
    if not isinstance(value, (bytes, bytearray)):
        raise InvalidField(f"The {what} must be bytes.")
    return bytes(value)


def _pbkdf2(r: _Request) -> bytes:
    """PBKDF2-HMAC (RFC 8018)."""
    password = _need(r.key_material, "key material (the password)", "PBKDF2")
    salt = _need(r.salt, "a salt", "PBKDF2")
    if r.iterations is None:
        raise InvalidField("PBKDF2 key derivation needs an iteration count.")
    if (
        not isinstance(r.iterations, int)
        or isinstance(r.iterations, bool)
        or not 1 <= r.iterations <= MAX_PBKDF2_ITERATIONS
    ):
        raise InvalidField(f"The PBKDF2 iteration count must be between 1 and {MAX_PBKDF2_ITERATIONS}.")
    digest = hash_for(HA.SHA_1 if r.hashing_algorithm is None else r.hashing_algorithm)
    kdf = pbkdf2.PBKDF2HMAC(digest, r.length, salt, r.iterations)
    return kdf.derive(password)


def _hash(r: _Request) -> bytes:
    """Hash of the derivation key or of the derivation data."""
    if (r.key_material is None) == (r.derivation_data is None):
        raise InvalidField("HASH key derivation needs either key material or derivation data, not both.")
    source = _need(
        r.key_material if r.key_material is not None else r.derivation_data,
        "input",
        "HASH",
    )
    h = hashes.Hash(hash_for(r.hashing_algorithm))
    h.update(source)
    return h.finalize()


def _hmac(r: _Request) -> bytes:
    """HMAC over the derivation data, keyed with the derivation key."""
    key = _need(r.key_material, "key material", "HMAC")
    data = _need(r.derivation_data, "derivation data", "HMAC")
    h = hmac.HMAC(key, hash_for(r.hashing_algorithm))
    h.update(data)
    return h.finalize()


def _encrypt(r: _Request) -> bytes:
    """Encrypt the derivation data under the derivation key."""
    key = _need(r.key_material, "key material", "ENCRYPT")
    data = _need(r.derivation_data, "derivation data", "ENCRYPT")
    if r.encryption_algorithm is None:
        raise InvalidField("ENCRYPT key derivation needs an encryption algorithm.")
    return encrypt(r.encryption_algorithm, key, data, mode=r.mode, padding=r.padding, iv=r.iv).data


def _nist800_108_counter(r: _Request) -> bytes:
    """SP 800-108 KDF in counter mode with an HMAC or CMAC PRF."""
    key = _need(r.key_material, "key material", "NIST800-108-C")
    fixed = _need(r.derivation_data, "derivation data (Label || 0x00 || Context)", "NIST800-108-C")
    common = {
        "mode": kbkdf.Mode.CounterMode,
        "length": r.length,
        "rlen": 4,
        "llen": None,
        "location": kbkdf.CounterLocation.BeforeFixed,
        "label": None,
        "context": None,
        "fixed": fixed,
    }
    if r.encryption_algorithm is not None:
        if r.hashing_algorithm is not None:
            raise InvalidField(
                "NIST800-108-C takes a hashing algorithm (HMAC PRF) or an encryption algorithm (CMAC PRF), not both."
            )
        spec = symmetric_algorithm(r.encryption_algorithm)
        if spec.block_size is None or spec.factory is None:
            raise InvalidField(f"{spec.name} cannot be used as a CMAC PRF.")
        # Build the algorithm once so 3DES short keys are expanded, then hand
        # KBKDFCMAC the class and the normalised key.
        algo = cipher_algorithm(r.encryption_algorithm, key)
        kdf_c = kbkdf.KBKDFCMAC(type(algo), **common)  # type: ignore[arg-type]
        return kdf_c.derive(algo.key)  # type: ignore[attr-defined]
    kdf_h = kbkdf.KBKDFHMAC(hash_for(r.hashing_algorithm), **common)  # type: ignore[arg-type]
    return kdf_h.derive(key)


def _hkdf(r: _Request) -> bytes:
    """HKDF (RFC 5869)."""
    key = _need(r.key_material, "key material", "HKDF")
    digest = hash_for(HA.SHA_256 if r.hashing_algorithm is None else r.hashing_algorithm)
    limit = 255 * digest.digest_size
    if r.length > limit:
        raise InvalidField(f"HKDF with this hash can derive at most {limit * 8} bits.")
    salt = None if r.salt is None else _need(r.salt, "salt", "HKDF")
    info = None if r.derivation_data is None else _need(r.derivation_data, "derivation data", "HKDF")
    return hkdf.HKDF(digest, r.length, salt, info).derive(key)


_METHODS: dict[int, Callable[[_Request], bytes]] = {
    DM.PBKDF2: _pbkdf2,
    DM.HASH: _hash,
    DM.HMAC: _hmac,
    DM.ENCRYPT: _encrypt,
    DM.NIST800_108_C: _nist800_108_counter,
    DM.HKDF: _hkdf,
}


def derivation_methods() -> frozenset[int]:
    """Derivation Methods accepted by L{derive_key} (for Query)."""
    return frozenset(_METHODS)


def derive_key(
    method: int | None,
    *,
    key_material: bytes | None = None,
    derivation_data: bytes | None = None,
    salt: bytes | None = None,
    iterations: int | None = None,
    hashing_algorithm: int | None = None,
    encryption_algorithm: int | None = None,
    mode: int | None = None,
    padding: int | None = None,
    iv: bytes | None = None,
    length_bits: int | None = None,
) -> bytes:
    """
    Derive C{length_bits} bits of key material.

    @raise InvalidField: unsupported method, missing or bad parameters.
    @raise CryptographicFailure: the method produces fewer bits than
        requested (HASH, HMAC, ENCRYPT).
    """
    if method is None:
        raise InvalidField("A derivation method is required.")
    fn = _METHODS.get(method)
    if fn is None:
        raise InvalidField(f"The derivation method {describe(DM, method)} is not supported.")
    if length_bits is None:
        raise InvalidField("A cryptographic length is required for key derivation.")
    if not isinstance(length_bits, int) or isinstance(length_bits, bool) or length_bits <= 0 or length_bits % 8:
        raise InvalidField(f"The cryptographic length {length_bits!r} must be a positive multiple of 8.")
    request = _Request(
        key_material,
        derivation_data,
        salt,
        iterations,
        hashing_algorithm,
        encryption_algorithm,
        mode,
        padding,
        iv,
        length_bits // 8,
    )
    try:
        out = fn(request)
    except ValueError as e:  # cryptography's own parameter checks
        raise InvalidField(f"{describe(DM, method)} key derivation failed: {e}") from None
    if len(out) < request.length:
        # PyKMIP reports this as Cryptographic Failure; so do we.
        raise CryptographicFailure(
            f"The requested length of {length_bits} bits is longer than the "
            f"{len(out) * 8} bits {describe(DM, method)} derivation produces."
        )
    return out[: request.length]
