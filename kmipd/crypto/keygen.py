# -*- test-case-name: tests.crypto.test_keygen -*-
"""
Key generation, key loading and key format conversion.

Also home of the symmetric algorithm table (algorithm -> C{cryptography}
cipher factory, valid key sizes, block size) that L{kmipd.crypto.ciphers}
and L{kmipd.crypto.mac} share, so each algorithm's facts live in one place,
and of its sibling L{STORED_ONLY_ALGORITHMS}: symmetric algorithms the KMIP
specification lists with well-defined key lengths (Skipjack, RC5, MARS,
Twofish, ...) whose keys kmipd generates, registers and serves although it
does not compute with them (a key manager stores keys for other devices).

DES is computed as 3DES with K1 = K2 = K3 (FIPS 46-3 single DES); RC2 only
with 128-bit keys (effective key length 128, RFC 2268) and only in CBC mode,
the one mode OpenSSL provides for it; RC2 keys of other lengths are stored only.

Backend limits, documented here because the PyKMIP documentation promises
more: C{cryptography} refuses RSA moduli below 1024 bits, so the 512-bit RSA
key pairs PyKMIP lists are rejected with INVALID_FIELD.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import NamedTuple, Protocol

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import (
    dsa,
    ec,
    ed448,
    ed25519,
    rsa,
    x448,
    x25519,
)
from cryptography.hazmat.primitives.ciphers import CipherAlgorithm
from cryptography.hazmat.primitives.ciphers import algorithms as _modern

from kmipd.crypto import describe, dsakeys
from kmipd.crypto.derlimits import check_key_der
from kmipd.crypto.errors import CryptographicFailure, InvalidField
from kmipd.crypto.rng import random_bytes
from kmipd.log import Logger
from kmipd.spec import BlockCipherMode as BCM
from kmipd.spec import CryptographicAlgorithm as CA
from kmipd.spec import HashingAlgorithm as HA
from kmipd.spec import KeyFormatType as KFT
from kmipd.spec import RecommendedCurve as RC

_legacy: ModuleType
try:  # cryptography >= 43 moved the legacy ciphers here
    from cryptography.hazmat.decrepit.ciphers import algorithms as _legacy
except ImportError:  # pragma: no cover - older cryptography
    _legacy = _modern

__all__ = [
    "HMAC_ALGORITHMS",
    "STORABLE_SYMMETRIC_ALGORITHMS",
    "STORED_ONLY_ALGORITHMS",
    "SYMMETRIC_ALGORITHMS",
    "KeyPair",
    "KeyPairDetails",
    "SymmetricAlgorithm",
    "check_symmetric_length",
    "cipher_algorithm",
    "convert_private_key",
    "convert_public_key",
    "generate_key_pair",
    "generate_symmetric_key",
    "load_private_key",
    "load_public_key",
    "storable_algorithm",
    "symmetric_algorithm",
]

_log = Logger()

PrivateKey = (
    rsa.RSAPrivateKey
    | dsa.DSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
    | x25519.X25519PrivateKey
    | x448.X448PrivateKey
)
PublicKey = (
    rsa.RSAPublicKey
    | dsa.DSAPublicKey
    | ec.EllipticCurvePublicKey
    | ed25519.Ed25519PublicKey
    | ed448.Ed448PublicKey
    | x25519.X25519PublicKey
    | x448.X448PublicKey
)
Transparent = dict[str, int | bytes]


# --------------------------------------------------------------------------
# Symmetric algorithms


def _des(key: bytes) -> CipherAlgorithm:
    """Single DES as 3DES with K1 = K2 = K3 (the EDE of one key is one DES encryption)."""
    return _legacy.TripleDES(key * 3)


def _triple_des(key: bytes) -> CipherAlgorithm:
    """
    Build 3DES from a 1-, 2- or 3-key bundle, expanding it to three keys
    ourselves (C{cryptography} deprecates the short forms).
    """
    if len(key) == 8:
        key = key * 3
    elif len(key) == 16:
        key = key + key[:8]
    return _legacy.TripleDES(key)


@dataclass(frozen=True)
class SymmetricAlgorithm:
    """
    What kmipd knows about one symmetric algorithm.

    @ivar factory: builds the C{cryptography} algorithm from key bytes, or
        C{None} for algorithms not used through C{Cipher} (ChaCha20-Poly1305).
    @ivar key_sizes: valid key lengths in bits (generation, registration).
    @ivar block_size: block size in bytes, C{None} for stream ciphers.
    @ivar compute_sizes: the key lengths the backend computes with, when
        fewer than C{key_sizes} (RC2: 128 only); C{None}: all of them.
    @ivar modes: the block cipher modes the backend has for it, when fewer
        than every mode (RC2: CBC only); C{None}: no restriction.
    """

    name: str
    factory: Callable[[bytes], CipherAlgorithm] | None
    key_sizes: frozenset[int]
    block_size: int | None
    compute_sizes: frozenset[int] | None = None
    modes: frozenset[int] | None = None

    def computable(self, bits: int) -> bool:
        """True if a key of C{bits} can be used for cryptographic operations."""
        return bits in (self.compute_sizes if self.compute_sizes is not None else self.key_sizes)


SYMMETRIC_ALGORITHMS: dict[int, SymmetricAlgorithm] = {
    CA.AES: SymmetricAlgorithm("AES", _modern.AES, frozenset({128, 192, 256}), 16),
    CA.TRIPLE_DES: SymmetricAlgorithm("3DES", _triple_des, frozenset({64, 128, 192}), 8),
    # FIPS 46-3: 64-bit key incl. 8 parity bits (Create accepts the nominal 56).
    CA.DES: SymmetricAlgorithm("DES", _des, frozenset({64}), 8),
    # RFC 2268: 1 to 128 bytes; OpenSSL computes RC2 with 128-bit keys, in CBC mode only.
    CA.RC2: SymmetricAlgorithm("RC2", _legacy.RC2, frozenset(range(8, 1025, 8)), 8,
                               compute_sizes=frozenset({128}), modes=frozenset({BCM.CBC})),
    # GB/T 32907-2016: 128 bits.
    CA.SM4: SymmetricAlgorithm("SM4", _modern.SM4, frozenset({128}), 16),
    CA.BLOWFISH: SymmetricAlgorithm("Blowfish", _legacy.Blowfish, frozenset(_legacy.Blowfish.key_sizes), 8),
    CA.CAMELLIA: SymmetricAlgorithm(
        "Camellia",
        _legacy.Camellia if hasattr(_legacy, "Camellia") else _modern.Camellia,
        frozenset({128, 192, 256}),
        16,
    ),
    CA.CAST5: SymmetricAlgorithm("CAST5", _legacy.CAST5, frozenset(_legacy.CAST5.key_sizes), 8),
    CA.IDEA: SymmetricAlgorithm("IDEA", _legacy.IDEA, frozenset({128}), 8),
    CA.SEED: SymmetricAlgorithm("SEED", _legacy.SEED, frozenset({128}), 16),
    CA.RC4: SymmetricAlgorithm("RC4", _legacy.ARC4, frozenset(_legacy.ARC4.key_sizes), None),
    CA.CHACHA20: SymmetricAlgorithm(
        "ChaCha20",
        # The nonce is supplied per operation by ciphers.py.
        lambda key: _modern.ChaCha20(key, b"\x00" * 16),
        frozenset({256}),
        None,
    ),
    CA.CHACHA20POLY1305: SymmetricAlgorithm("ChaCha20-Poly1305", None, frozenset({256}), None),
}

#: KMIP's value for GOST 28147-89 (KMIP 2.0).
GOST_28147_89 = CA.GOST_28147_89

#: Symmetric algorithms whose keys kmipd creates, registers and serves but
#: cannot compute with (no C{cryptography} implementation wired in): Encrypt,
#: Decrypt, MAC and key wrapping with them fail with Invalid Field, as for an
#: unknown algorithm. Key sizes are the storage sizes in bits. Algorithms
#: whose key length is not fixed by their definition (One Time Pad) or that
#: are not ciphers (hashes, GOST R 34.13-2015 modes) are absent.
STORED_ONLY_ALGORITHMS: dict[int, SymmetricAlgorithm] = {
    # IBM MARS (AES candidate): 128 to 448 bits in 32-bit steps.
    CA.MARS: SymmetricAlgorithm("MARS", None, frozenset(range(128, 449, 32)), 16),
    # RFC 2040: 1 to 255 bytes (0 is not a usable key); RC5-32 has 64-bit blocks.
    CA.RC5: SymmetricAlgorithm("RC5", None, frozenset(range(8, 2041, 8)), 8),
    # NIST Skipjack/KEA specification: 80-bit key.
    CA.SKIPJACK: SymmetricAlgorithm("Skipjack", None, frozenset({80}), 8),
    # Twofish (AES candidate): 128, 192, 256 bits.
    CA.TWOFISH: SymmetricAlgorithm("Twofish", None, frozenset({128, 192, 256}), 16),
    # RFC 8439: 256-bit one-time key.
    CA.POLY1305: SymmetricAlgorithm("Poly1305", None, frozenset({256}), None),
    # RFC 5794: 128, 192, 256 bits.
    CA.ARIA: SymmetricAlgorithm("ARIA", None, frozenset({128, 192, 256}), 16),
    # RFC 5830: 256 bits.
    GOST_28147_89: SymmetricAlgorithm("GOST 28147-89", None, frozenset({256}), 8),
}

#: Every symmetric algorithm kmipd keeps keys for: computable ones first.
STORABLE_SYMMETRIC_ALGORITHMS: dict[int, SymmetricAlgorithm] = {
    **STORED_ONLY_ALGORITHMS,
    **SYMMETRIC_ALGORITHMS,
}

#: HMAC algorithms and the hash each one uses.
HMAC_ALGORITHMS: dict[int, int] = {
    CA.HMAC_MD5: HA.MD5,
    CA.HMAC_SHA1: HA.SHA_1,
    CA.HMAC_SHA224: HA.SHA_224,
    CA.HMAC_SHA256: HA.SHA_256,
    CA.HMAC_SHA384: HA.SHA_384,
    CA.HMAC_SHA512: HA.SHA_512,
    CA.HMAC_SHA3_224: HA.SHA3_224,
    CA.HMAC_SHA3_256: HA.SHA3_256,
    CA.HMAC_SHA3_384: HA.SHA3_384,
    CA.HMAC_SHA3_512: HA.SHA3_512,
}

_HMAC_MIN_BITS = 8
_HMAC_MAX_BITS = 8192


def symmetric_algorithm(algorithm: int | None) -> SymmetricAlgorithm:
    """
    Look up a symmetric algorithm.

    @raise InvalidField: missing or not a supported symmetric algorithm.
    """
    if algorithm is None:
        raise InvalidField("A cryptographic algorithm is required.")
    spec = SYMMETRIC_ALGORITHMS.get(algorithm)
    if spec is None:
        stored = STORED_ONLY_ALGORITHMS.get(algorithm)
        if stored is not None:
            raise InvalidField(
                f"The cryptographic algorithm {stored.name} is not a supported symmetric algorithm "
                f"for cryptographic operations (kmipd stores {stored.name} keys but cannot compute with them)."
            )
        raise InvalidField(
            f"The cryptographic algorithm {describe(CA, algorithm)} is not a supported symmetric algorithm."
        )
    return spec


def storable_algorithm(algorithm: int | None) -> SymmetricAlgorithm:
    """
    Look up a symmetric algorithm whose keys kmipd can create and register,
    computable or not (L{STORABLE_SYMMETRIC_ALGORITHMS}).

    @raise InvalidField: missing or not a symmetric algorithm kmipd keeps keys for.
    """
    if algorithm is None:
        raise InvalidField("A cryptographic algorithm is required.")
    spec = STORABLE_SYMMETRIC_ALGORITHMS.get(algorithm)
    if spec is None:
        raise InvalidField(
            f"The cryptographic algorithm {describe(CA, algorithm)} is not a supported symmetric algorithm."
        )
    return spec


def check_key_length(spec: SymmetricAlgorithm, key: bytes) -> None:
    """
    @raise InvalidField: C{key} has a length not valid for C{spec}.
    """
    if not isinstance(key, (bytes, bytearray)):
        raise InvalidField("The key must be bytes.")
    if not spec.computable(len(key) * 8):
        if len(key) * 8 in spec.key_sizes:
            raise InvalidField(
                f"kmipd stores {len(key) * 8}-bit {spec.name} keys but computes with "
                f"{_ranges(spec.compute_sizes or spec.key_sizes)}-bit keys only."
            )
        raise InvalidField(
            f"A {len(key) * 8}-bit key is not valid for {spec.name} (valid lengths: {_ranges(spec.key_sizes)} bits)."
        )


def cipher_algorithm(algorithm: int | None, key: bytes) -> CipherAlgorithm:
    """
    Build the C{cryptography} algorithm object for a symmetric key.

    @raise InvalidField: unsupported algorithm or wrong key length.
    """
    spec = symmetric_algorithm(algorithm)
    check_key_length(spec, key)
    if spec.factory is None:
        raise InvalidField(f"{spec.name} cannot be used as a plain cipher.")
    try:
        return spec.factory(bytes(key))
    except ValueError as e:
        raise InvalidField(f"Invalid {spec.name} key: {e}") from None


def _ranges(sizes: frozenset[int]) -> str:
    """Render a key-size set compactly: C{"32-448 step 8"} or C{"128, 256"}."""
    ordered = sorted(sizes)
    if len(ordered) > 4:
        step = ordered[1] - ordered[0]
        if all(b - a == step for a, b in itertools.pairwise(ordered)):
            return f"{ordered[0]}-{ordered[-1]} in steps of {step}"
    return ", ".join(str(s) for s in ordered)


def check_symmetric_length(algorithm: int | None, length_bits: int | None) -> SymmetricAlgorithm | None:
    """
    Check a key length (in stored bits) against the algorithm table: a
    multiple of 8 from 8 to 8192 for HMAC algorithms, one of the algorithm's
    key sizes for symmetric ones (L{STORABLE_SYMMETRIC_ALGORITHMS}).

    @return: the symmetric algorithm's entry, C{None} for HMAC algorithms.
    @raise InvalidField: missing/unsupported algorithm or invalid length.
    """
    if length_bits is None or isinstance(length_bits, bool) or not isinstance(length_bits, int):
        raise InvalidField("A cryptographic length is required.")
    if algorithm in HMAC_ALGORITHMS:
        if length_bits % 8 or not _HMAC_MIN_BITS <= length_bits <= _HMAC_MAX_BITS:
            raise InvalidField(
                f"The cryptographic length {length_bits} is not valid for "
                f"{describe(CA, algorithm)}: use a multiple of 8 between "
                f"{_HMAC_MIN_BITS} and {_HMAC_MAX_BITS}."
            )
        return None
    spec = storable_algorithm(algorithm)
    if length_bits not in spec.key_sizes:
        raise InvalidField(
            f"The cryptographic length {length_bits} is not valid for "
            f"{spec.name} (valid lengths: {_ranges(spec.key_sizes)} bits)."
        )
    return spec


def generate_symmetric_key(algorithm: int, length_bits: int) -> bytes:
    """
    Generate random key bytes for a symmetric or HMAC algorithm, including
    the store-only algorithms of L{STORED_ONLY_ALGORITHMS}.

    @raise InvalidField: missing/unsupported algorithm or invalid length.
    """
    spec = check_symmetric_length(algorithm, length_bits)
    key = random_bytes(length_bits // 8)
    if spec is not None and spec.factory is not None and spec.computable(length_bits):
        try:
            spec.factory(key)
        except ValueError as e:  # pragma: no cover - table and backend agree
            raise CryptographicFailure(f"Generated key was rejected: {e}") from None
    _log.debug(
        "generating {algorithm} key of {length} bits",
        algorithm=spec.name if spec is not None else describe(CA, algorithm),
        length=length_bits,
    )
    return key


# --------------------------------------------------------------------------
# Key pairs

class _CurveClass(Protocol):
    """A concrete curve class: C{name} and C{key_size} are plain class attributes there
    (the C{EllipticCurve} base only declares them as instance properties)."""

    name: str
    key_size: int

    def __call__(self) -> ec.EllipticCurve: ...


_CURVES: dict[int, _CurveClass] = {
    RC.P_192: ec.SECP192R1,
    RC.P_224: ec.SECP224R1,
    RC.P_256: ec.SECP256R1,
    RC.P_384: ec.SECP384R1,
    RC.P_521: ec.SECP521R1,
    RC.SECP256K1: ec.SECP256K1,
}
_CURVE_BY_NAME: dict[str, int] = {c.name: rc for rc, c in _CURVES.items()}
_CURVE_BY_LENGTH: dict[int, int] = {
    192: RC.P_192,
    224: RC.P_224,
    256: RC.P_256,
    384: RC.P_384,
    521: RC.P_521,
}
_EC_ALGORITHMS = frozenset({CA.EC, CA.ECDSA, CA.ECDH, CA.ECMQV})

RSA_MIN_BITS = 1024
RSA_MAX_BITS = 8192


@dataclass(frozen=True)
class KeyPairDetails:
    """
    Facts about a generated key pair, for the attributes of both objects.

    @ivar length: Cryptographic Length in bits (modulus or field size).
    @ivar curve: Recommended Curve value, or C{None} for RSA.
    """

    algorithm: int
    length: int
    curve: int | None
    public_format: int
    private_format: int


class KeyPair(NamedTuple):
    """A generated key pair: encoded public key, private key, and facts."""

    public_der: bytes
    private_der: bytes
    details: KeyPairDetails


def generate_key_pair(
    algorithm: int,
    length_bits: int | None = None,
    curve: int | None = None,
    *,
    public_exponent: int = 65537,
    public_format: int | None = None,
    private_format: int | None = None,
) -> KeyPair:
    """
    Generate an asymmetric key pair.

    Supported: RSA (1024-8192 bits, multiple of 8), EC/ECDSA/ECDH/ECMQV on
    P-192/224/256/384/521 and secp256k1 (C{curve}, or implied by
    C{length_bits}), X25519/X448 (EC/ECDH with CURVE25519/CURVE448),
    Ed25519 and Ed448.

    Default encodings: RSA keys as PKCS#1 (what PyKMIP returns), every
    other key as PKCS#8 (private) and X.509 SubjectPublicKeyInfo (public).

    @raise InvalidField: unsupported algorithm, curve, length or format.
    """
    private: PrivateKey
    if algorithm == CA.RSA:
        if (
            length_bits is None
            or isinstance(length_bits, bool)
            or not RSA_MIN_BITS <= length_bits <= RSA_MAX_BITS
            or length_bits % 8
        ):
            raise InvalidField(
                f"The cryptographic length {length_bits} is not valid for RSA: "
                f"use a multiple of 8 between {RSA_MIN_BITS} and {RSA_MAX_BITS}."
            )
        if public_exponent not in (3, 65537):
            raise InvalidField("The RSA public exponent must be 3 or 65537.")
        private = rsa.generate_private_key(public_exponent, length_bits)
        length, curve = length_bits, None
        default_formats = (KFT.PKCS_1, KFT.PKCS_1)
    elif algorithm in _EC_ALGORITHMS:
        private, length, curve = _generate_ec(algorithm, length_bits, curve)
        default_formats = (KFT.X_509, KFT.PKCS_8)
    elif algorithm in (CA.ED25519, CA.ED448):
        ed25519_ = algorithm == CA.ED25519
        expected = (255, 256) if ed25519_ else (448, 456)
        if length_bits is not None and length_bits not in expected:
            raise InvalidField(f"The cryptographic length {length_bits} is not valid for {describe(CA, algorithm)}.")
        private = ed25519.Ed25519PrivateKey.generate() if ed25519_ else ed448.Ed448PrivateKey.generate()
        length = expected[0]
        curve = RC.CURVE25519 if ed25519_ else RC.CURVE448
        default_formats = (KFT.X_509, KFT.PKCS_8)
    else:
        raise InvalidField(
            f"The cryptographic algorithm {describe(CA, algorithm)} is not a supported asymmetric key pair algorithm."
        )
    public_format = default_formats[0] if public_format is None else public_format
    private_format = default_formats[1] if private_format is None else private_format
    public_der = _encode_public(private.public_key(), public_format)
    private_der = _encode_private(private, private_format)
    _log.debug(
        "generated {algorithm} key pair of {length} bits",
        algorithm=describe(CA, algorithm),
        length=length,
    )
    return KeyPair(
        public_der,
        private_der,
        KeyPairDetails(
            algorithm=algorithm,
            length=length,
            curve=curve,
            public_format=public_format,
            private_format=private_format,
        ),
    )


def _generate_ec(algorithm: int, length_bits: int | None, curve: int | None) -> tuple[PrivateKey, int, int]:
    """Generate an EC (or X25519/X448) private key; return key, length, curve."""
    if curve is None:
        if length_bits is None:
            raise InvalidField("A recommended curve or cryptographic length is required.")
        curve = _CURVE_BY_LENGTH.get(length_bits)
        if curve is None:
            raise InvalidField(f"No supported curve has the cryptographic length {length_bits}.")
    if curve in (RC.CURVE25519, RC.CURVE448) and algorithm in (CA.EC, CA.ECDH):
        length = 255 if curve == RC.CURVE25519 else 448
        if length_bits is not None and length_bits not in (length, length + 1):
            raise InvalidField(
                f"The cryptographic length {length_bits} does not match the curve {describe(RC, curve)}."
            )
        key: PrivateKey = (
            x25519.X25519PrivateKey.generate() if curve == RC.CURVE25519 else x448.X448PrivateKey.generate()
        )
        return key, length, curve
    curve_cls = _CURVES.get(curve)
    if curve_cls is None:
        raise InvalidField(
            f"The recommended curve {describe(RC, curve)} is not supported for {describe(CA, algorithm)}."
        )
    if length_bits is not None and length_bits != curve_cls.key_size:
        raise InvalidField(
            f"The cryptographic length {length_bits} does not match the curve "
            f"{describe(RC, curve)} ({curve_cls.key_size} bits)."
        )
    return ec.generate_private_key(curve_cls()), curve_cls.key_size, curve


# --------------------------------------------------------------------------
# Loading and conversion


def load_private_key(key: bytes | Mapping[str, object]) -> PrivateKey:
    """
    Load a private key from DER (PKCS#1, PKCS#8 or SEC1 ECPrivateKey) or
    from a transparent-key dict (see L{convert_private_key}).

    @raise InvalidField: the bytes are not a supported private key.
    """
    if isinstance(key, Mapping):
        return _private_from_transparent(key)
    if not isinstance(key, (bytes, bytearray)):
        raise InvalidField("The private key must be DER bytes.")
    check_key_der(key)  # before OpenSSL spends on checking the numbers
    try:
        loaded = serialization.load_der_private_key(bytes(key), password=None)
    except (ValueError, TypeError):
        raise InvalidField(
            "The private key could not be loaded (expected DER PKCS#1, PKCS#8 or ECPrivateKey)."
        ) from None
    except UnsupportedAlgorithm:
        raise InvalidField("The private key uses an unsupported algorithm.") from None
    return loaded  # type: ignore[return-value]


def load_public_key(key: bytes | Mapping[str, object]) -> PublicKey:
    """
    Load a public key from DER (X.509 SubjectPublicKeyInfo or PKCS#1
    RSAPublicKey) or from a transparent-key dict.

    @raise InvalidField: the bytes are not a supported public key.
    """
    if isinstance(key, Mapping):
        return _public_from_transparent(key)
    if not isinstance(key, (bytes, bytearray)):
        raise InvalidField("The public key must be DER bytes.")
    check_key_der(key)
    try:
        loaded = serialization.load_der_public_key(bytes(key))
    except (ValueError, TypeError):
        raise InvalidField(
            "The public key could not be loaded (expected DER SubjectPublicKeyInfo or PKCS#1)."
        ) from None
    except UnsupportedAlgorithm:
        raise InvalidField("The public key uses an unsupported algorithm.") from None
    return loaded  # type: ignore[return-value]


_RAW_KEY_TYPES = (
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
    x25519.X25519PrivateKey,
    x448.X448PrivateKey,
)
_RAW_PUBLIC_TYPES = (
    ed25519.Ed25519PublicKey,
    ed448.Ed448PublicKey,
    x25519.X25519PublicKey,
    x448.X448PublicKey,
)


def _encode_private(key: PrivateKey, to_format: int) -> bytes:
    """Encode a private key object in a DER Key Format Type."""
    der, traditional = (
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
    )
    nope = serialization.NoEncryption()
    if to_format == KFT.PKCS_8:
        return key.private_bytes(der, serialization.PrivateFormat.PKCS8, nope)
    if to_format == KFT.PKCS_1 and isinstance(key, rsa.RSAPrivateKey):
        return key.private_bytes(der, traditional, nope)
    if to_format == KFT.ECPRIVATEKEY and isinstance(key, ec.EllipticCurvePrivateKey):
        return key.private_bytes(der, traditional, nope)
    if to_format == KFT.RAW and isinstance(key, _RAW_KEY_TYPES):
        return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, nope)
    raise InvalidField(f"A {_key_kind(key)} private key cannot be encoded as {describe(KFT, to_format)}.")


def _encode_public(key: PublicKey, to_format: int) -> bytes:
    """Encode a public key object in a DER Key Format Type."""
    der = serialization.Encoding.DER
    if to_format == KFT.X_509:
        return key.public_bytes(der, serialization.PublicFormat.SubjectPublicKeyInfo)
    if to_format == KFT.PKCS_1 and isinstance(key, rsa.RSAPublicKey):
        return key.public_bytes(der, serialization.PublicFormat.PKCS1)
    if to_format == KFT.RAW and isinstance(key, _RAW_PUBLIC_TYPES):
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    raise InvalidField(f"A {_key_kind(key)} public key cannot be encoded as {describe(KFT, to_format)}.")


def _key_kind(key: object) -> str:
    """Short human name of a key object's algorithm."""
    for kind, types in (
        ("RSA", (rsa.RSAPrivateKey, rsa.RSAPublicKey)),
        ("DSA", (dsa.DSAPrivateKey, dsa.DSAPublicKey)),
        ("EC", (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)),
        ("Ed25519", (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)),
        ("Ed448", (ed448.Ed448PrivateKey, ed448.Ed448PublicKey)),
        ("X25519", (x25519.X25519PrivateKey, x25519.X25519PublicKey)),
        ("X448", (x448.X448PrivateKey, x448.X448PublicKey)),
    ):
        if isinstance(key, types):
            return kind
    return type(key).__name__


def _curve_value(curve: ec.EllipticCurve) -> int:
    """Recommended Curve value of a C{cryptography} curve."""
    value = _CURVE_BY_NAME.get(curve.name)
    if value is None:
        raise InvalidField(f"The curve {curve.name} has no supported KMIP value.")
    return value


def convert_private_key(key: bytes | Mapping[str, object], to_format: int) -> bytes | Transparent:
    """
    Re-encode a private key (DER of any supported format, or a transparent
    dict) as C{to_format}: PKCS#1 (RSA), PKCS#8, ECPrivateKey (EC), Raw
    (Ed25519/Ed448/X25519/X448), Transparent RSA Private Key (dict with
    C{modulus, private_exponent, public_exponent, p, q, prime_exponent_p,
    prime_exponent_q, crt_coefficient}), Transparent EC Private Key (dict
    with C{recommended_curve, d}) or Transparent DSA Private Key (C{p, q, g, x}).

    @raise InvalidField: unloadable key or a format that does not fit it.
    """
    loaded = load_private_key(key)
    if to_format == KFT.TRANSPARENT_RSA_PRIVATE_KEY and isinstance(loaded, rsa.RSAPrivateKey):
        nums = loaded.private_numbers()
        return {
            "modulus": nums.public_numbers.n,
            "private_exponent": nums.d,
            "public_exponent": nums.public_numbers.e,
            "p": nums.p,
            "q": nums.q,
            "prime_exponent_p": nums.dmp1,
            "prime_exponent_q": nums.dmq1,
            "crt_coefficient": nums.iqmp,
        }
    if to_format == KFT.TRANSPARENT_EC_PRIVATE_KEY and isinstance(loaded, ec.EllipticCurvePrivateKey):
        return {
            "recommended_curve": _curve_value(loaded.curve),
            "d": loaded.private_numbers().private_value,
        }
    if to_format == KFT.TRANSPARENT_DSA_PRIVATE_KEY and isinstance(loaded, dsa.DSAPrivateKey):
        return dsakeys.components(loaded)
    return _encode_private(loaded, to_format)


def convert_public_key(key: bytes | Mapping[str, object], to_format: int) -> bytes | Transparent:
    """
    Re-encode a public key (DER SPKI or PKCS#1, or a transparent dict) as
    C{to_format}: PKCS#1 (RSA), X.509 SubjectPublicKeyInfo, Raw (Edwards and
    Montgomery keys), Transparent RSA Public Key (C{modulus,
    public_exponent}), Transparent EC Public Key (C{recommended_curve,
    q_string} with the uncompressed point) or Transparent DSA Public Key
    (C{p, q, g, y}).

    @raise InvalidField: unloadable key or a format that does not fit it.
    """
    loaded = load_public_key(key)
    if to_format == KFT.TRANSPARENT_RSA_PUBLIC_KEY and isinstance(loaded, rsa.RSAPublicKey):
        nums = loaded.public_numbers()
        return {"modulus": nums.n, "public_exponent": nums.e}
    if to_format == KFT.TRANSPARENT_EC_PUBLIC_KEY and isinstance(loaded, ec.EllipticCurvePublicKey):
        return {
            "recommended_curve": _curve_value(loaded.curve),
            "q_string": loaded.public_bytes(
                serialization.Encoding.X962,
                serialization.PublicFormat.UncompressedPoint,
            ),
        }
    if to_format == KFT.TRANSPARENT_DSA_PUBLIC_KEY and isinstance(loaded, dsa.DSAPublicKey):
        return dsakeys.components(loaded)
    return _encode_public(loaded, to_format)


def _int_field(components: Mapping[str, object], name: str) -> int:
    """Fetch a required integer component of a transparent key."""
    value = components.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidField(f"The transparent key component {name!r} is missing.")
    return value


def _private_from_transparent(components: Mapping[str, object]) -> PrivateKey:
    """Build a private key from a Transparent RSA/EC/DSA Private Key dict."""
    if "x" in components:
        return dsakeys.private_key(components)
    try:
        if "modulus" in components:
            n = _int_field(components, "modulus")
            e = _int_field(components, "public_exponent")
            d = _int_field(components, "private_exponent")
            if components.get("p") is not None and components.get("q") is not None:
                p, q = _int_field(components, "p"), _int_field(components, "q")
            else:
                p, q = rsa.rsa_recover_prime_factors(n, e, d)
            numbers = rsa.RSAPrivateNumbers(
                p=p,
                q=q,
                d=d,
                dmp1=rsa.rsa_crt_dmp1(d, p),
                dmq1=rsa.rsa_crt_dmq1(d, q),
                iqmp=rsa.rsa_crt_iqmp(p, q),
                public_numbers=rsa.RSAPublicNumbers(e, n),
            )
            return numbers.private_key()
        if "d" in components:
            curve_cls = _CURVES.get(_int_field(components, "recommended_curve"))
            if curve_cls is None:
                raise InvalidField("The transparent EC key has an unsupported curve.")
            return ec.derive_private_key(_int_field(components, "d"), curve_cls())
    except (ValueError, TypeError) as e:
        raise InvalidField(f"The transparent private key is invalid: {e}") from None
    raise InvalidField("The transparent private key has unknown components.")


def _public_from_transparent(components: Mapping[str, object]) -> PublicKey:
    """Build a public key from a Transparent RSA/EC/DSA Public Key dict."""
    if "y" in components:
        return dsakeys.public_key(components)
    try:
        if "modulus" in components:
            return rsa.RSAPublicNumbers(
                _int_field(components, "public_exponent"),
                _int_field(components, "modulus"),
            ).public_key()
        if "q_string" in components:
            curve_cls = _CURVES.get(_int_field(components, "recommended_curve"))
            if curve_cls is None:
                raise InvalidField("The transparent EC key has an unsupported curve.")
            q = components["q_string"]
            if not isinstance(q, (bytes, bytearray)):
                raise InvalidField("The transparent EC key Q string must be bytes.")
            return ec.EllipticCurvePublicKey.from_encoded_point(curve_cls(), bytes(q))
    except (ValueError, TypeError) as e:
        raise InvalidField(f"The transparent public key is invalid: {e}") from None
    raise InvalidField("The transparent public key has unknown components.")
