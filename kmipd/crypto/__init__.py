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

Every function takes KMIP enumeration I{values} (plain ints or any IntEnum
with the KMIP values, such as the ones in C{kmipd.spec}).  The IntEnums
below carry the subset of KMIP 2.1 values (section 11) this package uses;
they compare equal to the C{kmipd.spec} members with the same value.
"""

from __future__ import annotations

from enum import IntEnum

from cryptography.hazmat.primitives import hashes

from kmipd.crypto.errors import InvalidField

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


class CryptographicAlgorithm(IntEnum):
    """KMIP 2.1 table 443."""

    DES = 0x01
    TRIPLE_DES = 0x02
    AES = 0x03
    RSA = 0x04
    DSA = 0x05
    ECDSA = 0x06
    HMAC_SHA1 = 0x07
    HMAC_SHA224 = 0x08
    HMAC_SHA256 = 0x09
    HMAC_SHA384 = 0x0A
    HMAC_SHA512 = 0x0B
    HMAC_MD5 = 0x0C
    DH = 0x0D
    ECDH = 0x0E
    ECMQV = 0x0F
    BLOWFISH = 0x10
    CAMELLIA = 0x11
    CAST5 = 0x12
    IDEA = 0x13
    MARS = 0x14
    RC2 = 0x15
    RC4 = 0x16
    RC5 = 0x17
    SKIPJACK = 0x18
    TWOFISH = 0x19
    EC = 0x1A
    ONE_TIME_PAD = 0x1B
    CHACHA20 = 0x1C
    POLY1305 = 0x1D
    CHACHA20_POLY1305 = 0x1E
    SHA3_224 = 0x1F
    SHA3_256 = 0x20
    SHA3_384 = 0x21
    SHA3_512 = 0x22
    HMAC_SHA3_224 = 0x23
    HMAC_SHA3_256 = 0x24
    HMAC_SHA3_384 = 0x25
    HMAC_SHA3_512 = 0x26
    SHAKE_128 = 0x27
    SHAKE_256 = 0x28
    ARIA = 0x29
    SEED = 0x2A
    SM2 = 0x2B
    SM3 = 0x2C
    SM4 = 0x2D
    ED25519 = 0x37
    ED448 = 0x38


class BlockCipherMode(IntEnum):
    """KMIP 2.1 table 436."""

    CBC = 0x01
    ECB = 0x02
    PCBC = 0x03
    CFB = 0x04
    OFB = 0x05
    CTR = 0x06
    CMAC = 0x07
    CCM = 0x08
    GCM = 0x09
    CBC_MAC = 0x0A
    XTS = 0x0B
    AES_KEY_WRAP_PADDING = 0x0C
    NIST_KEY_WRAP = 0x0D
    X9_102_AESKW = 0x0E
    X9_102_TDKW = 0x0F
    X9_102_AKW1 = 0x10
    X9_102_AKW2 = 0x11
    AEAD = 0x12


class PaddingMethod(IntEnum):
    """KMIP 2.1 table 471."""

    NONE = 0x01
    OAEP = 0x02
    PKCS5 = 0x03
    SSL3 = 0x04
    ZEROS = 0x05
    ANSI_X923 = 0x06
    ISO_10126 = 0x07
    PKCS1_V1_5 = 0x08
    X9_31 = 0x09
    PSS = 0x0A


class HashingAlgorithm(IntEnum):
    """KMIP 2.1 table 454."""

    MD2 = 0x01
    MD4 = 0x02
    MD5 = 0x03
    SHA_1 = 0x04
    SHA_224 = 0x05
    SHA_256 = 0x06
    SHA_384 = 0x07
    SHA_512 = 0x08
    RIPEMD_160 = 0x09
    TIGER = 0x0A
    WHIRLPOOL = 0x0B
    SHA_512_224 = 0x0C
    SHA_512_256 = 0x0D
    SHA3_224 = 0x0E
    SHA3_256 = 0x0F
    SHA3_384 = 0x10
    SHA3_512 = 0x11


class DigitalSignatureAlgorithm(IntEnum):
    """KMIP 2.1 table 447."""

    MD2_WITH_RSA_ENCRYPTION = 0x01
    MD5_WITH_RSA_ENCRYPTION = 0x02
    SHA1_WITH_RSA_ENCRYPTION = 0x03
    SHA224_WITH_RSA_ENCRYPTION = 0x04
    SHA256_WITH_RSA_ENCRYPTION = 0x05
    SHA384_WITH_RSA_ENCRYPTION = 0x06
    SHA512_WITH_RSA_ENCRYPTION = 0x07
    RSASSA_PSS = 0x08
    DSA_WITH_SHA1 = 0x09
    DSA_WITH_SHA224 = 0x0A
    DSA_WITH_SHA256 = 0x0B
    ECDSA_WITH_SHA1 = 0x0C
    ECDSA_WITH_SHA224 = 0x0D
    ECDSA_WITH_SHA256 = 0x0E
    ECDSA_WITH_SHA384 = 0x0F
    ECDSA_WITH_SHA512 = 0x10
    SHA3_256_WITH_RSA_ENCRYPTION = 0x11
    SHA3_384_WITH_RSA_ENCRYPTION = 0x12
    SHA3_512_WITH_RSA_ENCRYPTION = 0x13


class RecommendedCurve(IntEnum):
    """The KMIP 2.1 table 477 values this package can use."""

    P_192 = 0x01
    P_224 = 0x04
    P_256 = 0x07
    P_384 = 0x0A
    P_521 = 0x0D
    SECP256K1 = 0x19
    CURVE25519 = 0x45
    CURVE448 = 0x46


class DerivationMethod(IntEnum):
    """KMIP 2.1 table 446."""

    PBKDF2 = 0x01
    HASH = 0x02
    HMAC = 0x03
    ENCRYPT = 0x04
    NIST800_108_C = 0x05
    NIST800_108_F = 0x06
    NIST800_108_DPI = 0x07
    ASYMMETRIC_KEY = 0x08
    AWS_SIGNATURE_VERSION_4 = 0x09
    HKDF = 0x0A


class MaskGenerator(IntEnum):
    """KMIP 2.1 section 11.30."""

    MGF1 = 0x01


class KeyFormatType(IntEnum):
    """KMIP 2.1 table 461."""

    RAW = 0x01
    OPAQUE = 0x02
    PKCS_1 = 0x03
    PKCS_8 = 0x04
    X_509 = 0x05
    EC_PRIVATE_KEY = 0x06
    TRANSPARENT_SYMMETRIC_KEY = 0x07
    TRANSPARENT_DSA_PRIVATE_KEY = 0x08
    TRANSPARENT_DSA_PUBLIC_KEY = 0x09
    TRANSPARENT_RSA_PRIVATE_KEY = 0x0A
    TRANSPARENT_RSA_PUBLIC_KEY = 0x0B
    TRANSPARENT_DH_PRIVATE_KEY = 0x0C
    TRANSPARENT_DH_PUBLIC_KEY = 0x0D
    TRANSPARENT_EC_PRIVATE_KEY = 0x14
    TRANSPARENT_EC_PUBLIC_KEY = 0x15
    PKCS_12 = 0x16
    PKCS_10 = 0x17


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
        return f"{enum(value).name} ({int(value):#x})"  # type: ignore[call-overload]
    except (ValueError, TypeError):
        return repr(value)


def hash_for(hashing_algorithm: int | None, what: str = "hashing algorithm") -> hashes.HashAlgorithm:
    """
    Return a fresh C{cryptography} hash instance for a KMIP Hashing Algorithm.

    @raise InvalidField: missing or unsupported value.
    """
    if hashing_algorithm is None:
        raise InvalidField(f"A {what} is required.")
    factory = _HASHES.get(hashing_algorithm)  # type: ignore[call-overload]
    if factory is None:
        raise InvalidField(f"The {what} {describe(HashingAlgorithm, hashing_algorithm)} is not supported.")
    return factory()
