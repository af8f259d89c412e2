# -*- test-case-name: tests.crypto.test_mac -*-
"""
MAC and MAC verify (HMAC and CMAC) and plain hashing.

HMAC takes its hash from the key's HMAC algorithm (HMAC-MD5, -SHA1,
-SHA224/256/384/512, -SHA3-*).  CMAC works with every block cipher in the
symmetric table (AES, 3DES, Blowfish, Camellia, CAST5, IDEA, SEED); RC4 and
the other stream ciphers cannot be used for CMAC and are rejected.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import cmac, constant_time, hashes, hmac

from kmipd.crypto import CryptographicAlgorithm as CA
from kmipd.crypto import describe, hash_for
from kmipd.crypto.errors import InvalidField
from kmipd.crypto.keygen import HMAC_ALGORITHMS, SYMMETRIC_ALGORITHMS, cipher_algorithm

__all__ = ["hash_data", "mac", "mac_algorithms", "mac_verify"]


def _bytes(value: object, what: str) -> bytes:
    """@raise InvalidField: C{value} is not bytes."""
    if not isinstance(value, (bytes, bytearray)):
        raise InvalidField(f"The {what} must be bytes.")
    return bytes(value)


def mac_algorithms() -> frozenset[int]:
    """Cryptographic Algorithms accepted by L{mac} (for Query)."""
    cmacs = {a for a, s in SYMMETRIC_ALGORITHMS.items() if s.block_size and s.factory}
    return frozenset(HMAC_ALGORITHMS) | frozenset(cmacs)


def mac(algorithm: int | None, key: bytes, data: bytes) -> bytes:
    """
    Compute an HMAC (for HMAC_* algorithms) or a CMAC (for block ciphers).

    @raise InvalidField: missing/unsupported algorithm or a key of the wrong
        length for the CMAC cipher.
    """
    key = _bytes(key, "key")
    data = _bytes(data, "data")
    if algorithm is None:
        raise InvalidField("A cryptographic algorithm is required for MAC.")
    hashing = HMAC_ALGORITHMS.get(algorithm)
    if hashing is not None:
        h = hmac.HMAC(key, hash_for(hashing))
        h.update(data)
        return h.finalize()
    spec = SYMMETRIC_ALGORITHMS.get(algorithm)
    if spec is None or spec.block_size is None or spec.factory is None:
        raise InvalidField(
            f"The cryptographic algorithm {describe(CA, algorithm)} is not supported "
            "for MAC (use an HMAC algorithm or a block cipher for CMAC)."
        )
    c = cmac.CMAC(cipher_algorithm(algorithm, key))  # type: ignore[arg-type]
    c.update(data)
    return c.finalize()


def mac_verify(algorithm: int | None, key: bytes, data: bytes, mac_data: bytes) -> bool:
    """
    Check C{mac_data} against a freshly computed MAC, in constant time.

    @return: C{True} when it matches.
    @raise InvalidField: as for L{mac}.
    """
    expected = mac(algorithm, key, data)
    return constant_time.bytes_eq(expected, _bytes(mac_data, "MAC data"))


def hash_data(hashing_algorithm: int | None, data: bytes) -> bytes:
    """
    Hash C{data} with a KMIP Hashing Algorithm.

    @raise InvalidField: missing or unsupported hash.
    """
    h = hashes.Hash(hash_for(hashing_algorithm))
    h.update(_bytes(data, "data"))
    return h.finalize()
