# -*- test-case-name: tests.crypto -*-
"""
Cryptographic primitives for kmipd: pure, synchronous functions over the
C{cryptography} package, meant to be run in a thread pool by the operation
handlers.  Nothing here knows about KMIP messages.

Modules:
  - L{kmipd.crypto.keygen}: symmetric keys, key pairs, key format conversion
  - L{kmipd.crypto.ciphers}: Encrypt / Decrypt (symmetric and RSA)
  - L{kmipd.crypto.signatures}: Sign / SignatureVerify
  - L{kmipd.crypto.mac}: MAC / MAC verify (HMAC, CMAC) and hashing
  - L{kmipd.crypto.derive}: DeriveKey methods
  - L{kmipd.crypto.wrapping}: AES key wrap, RSA-OAEP wrap, at-rest envelope
  - L{kmipd.crypto.errors}: L{CryptoError} with a KMIP result reason

Every function takes KMIP enumeration I{values} (plain ints or members of
the C{kmipd.spec} enumerations). The enumerations re-exported here
(C{CryptographicAlgorithm}, C{BlockCipherMode}, ...) I{are} the
C{kmipd.spec} classes, so the specification tables are the one source of
truth for their values and member names.
"""

from __future__ import annotations

from enum import IntEnum
from typing import cast

from cryptography.hazmat.primitives import hashes

from kmipd.crypto.errors import InvalidField, unsupported_or_invalid
from kmipd.spec import (
    BlockCipherMode,
    CryptographicAlgorithm,
    DerivationMethod,
    DigitalSignatureAlgorithm,
    HashingAlgorithm,
    KeyFormatType,
    MaskGenerator,
    PaddingMethod,
    RecommendedCurve,
)

__all__ = [
    "BlockCipherMode",
    "CryptographicAlgorithm",
    "DerivationMethod",
    "DigitalSignatureAlgorithm",
    "HashingAlgorithm",
    "KeyFormatType",
    "MaskGenerator",
    "PaddingMethod",
    "RecommendedCurve",
    "describe",
    "hash_for",
]


_HASHES: dict[int, type[hashes.HashAlgorithm]] = {
    HashingAlgorithm.MD5: hashes.MD5,
    HashingAlgorithm.SHA_1: hashes.SHA1,
    HashingAlgorithm.SHA_224: hashes.SHA224,
    HashingAlgorithm.SHA_256: hashes.SHA256,
    HashingAlgorithm.SHA_384: hashes.SHA384,
    HashingAlgorithm.SHA_512: hashes.SHA512,
    HashingAlgorithm.SHA_512_224: hashes.SHA512_224,
    HashingAlgorithm.SHA_512_256: hashes.SHA512_256,
    HashingAlgorithm.SHA3_224: hashes.SHA3_224,
    HashingAlgorithm.SHA3_256: hashes.SHA3_256,
    HashingAlgorithm.SHA3_384: hashes.SHA3_384,
    HashingAlgorithm.SHA3_512: hashes.SHA3_512,
}


def describe(enum: type[IntEnum], value: object) -> str:
    """
    Name an enumeration value for an error message (C{"AES (0x3)"}), even
    when it is not a member.
    """
    try:
        v = cast(int, value)  # anything else raises TypeError or ValueError, caught below
        return f"{enum(v).name} ({int(v):#x})"
    except (ValueError, TypeError):
        return repr(value)


def hash_for(hashing_algorithm: int | None, what: str = "hashing algorithm") -> hashes.HashAlgorithm:
    """
    Return a fresh C{cryptography} hash instance for a KMIP Hashing Algorithm.

    @raise InvalidField: missing or unsupported value.
    """
    if hashing_algorithm is None:
        raise InvalidField(f"A {what} is required.")
    factory = _HASHES.get(hashing_algorithm)
    if factory is None:
        raise unsupported_or_invalid(HashingAlgorithm, hashing_algorithm,
                                     f"The {what} {describe(HashingAlgorithm, hashing_algorithm)} is not supported.")
    return factory()
