# -*- test-case-name: tests.crypto.test_signatures -*-
"""
Sign and SignatureVerify.

Supported: RSA with PKCS#1 v1.5 or PSS, ECDSA (DER-encoded signatures) on
the curves of L{kmipd.crypto.keygen}, Ed25519 and Ed448; hashes MD5, SHA-1,
SHA-2 and SHA-3.  Parameters come either as a Digital Signature Algorithm
or as Cryptographic Algorithm + Padding Method + Hashing Algorithm (KMIP
2.1 section 4.16); when both are given they must agree.

PSS defaults: salt length = digest length when signing (any salt length is
accepted when verifying), MGF1 hash = SHA-1 as KMIP specifies for the Mask
Generator Hashing Algorithm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa, utils
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding

from kmipd.crypto import CryptographicAlgorithm as CA
from kmipd.crypto import DigitalSignatureAlgorithm as DSA
from kmipd.crypto import HashingAlgorithm as HA
from kmipd.crypto import PaddingMethod as PM
from kmipd.crypto import describe, hash_for
from kmipd.crypto.errors import InvalidField, unsupported_or_invalid
from kmipd.crypto.keygen import load_private_key, load_public_key

__all__ = ["SignatureParameters", "resolve_signature_parameters", "sign", "verify"]

#: Digital Signature Algorithm -> (algorithm, padding, hash); a C{None}
#: hash (RSASSA-PSS) is taken from the Hashing Algorithm parameter.
_DIGITAL_SIGNATURE_ALGORITHMS: dict[int, tuple[int, int | None, int | None]] = {
    DSA.MD5_WITH_RSA_ENCRYPTION: (CA.RSA, PM.PKCS1_V1_5, HA.MD5),
    DSA.SHA_1_WITH_RSA_ENCRYPTION: (CA.RSA, PM.PKCS1_V1_5, HA.SHA_1),
    DSA.SHA_224_WITH_RSA_ENCRYPTION: (CA.RSA, PM.PKCS1_V1_5, HA.SHA_224),
    DSA.SHA_256_WITH_RSA_ENCRYPTION: (CA.RSA, PM.PKCS1_V1_5, HA.SHA_256),
    DSA.SHA_384_WITH_RSA_ENCRYPTION: (CA.RSA, PM.PKCS1_V1_5, HA.SHA_384),
    DSA.SHA_512_WITH_RSA_ENCRYPTION: (CA.RSA, PM.PKCS1_V1_5, HA.SHA_512),
    DSA.SHA3_256_WITH_RSA_ENCRYPTION: (CA.RSA, PM.PKCS1_V1_5, HA.SHA3_256),
    DSA.SHA3_384_WITH_RSA_ENCRYPTION: (CA.RSA, PM.PKCS1_V1_5, HA.SHA3_384),
    DSA.SHA3_512_WITH_RSA_ENCRYPTION: (CA.RSA, PM.PKCS1_V1_5, HA.SHA3_512),
    DSA.RSASSA_PSS: (CA.RSA, PM.PSS, None),
    DSA.ECDSA_WITH_SHA_1: (CA.ECDSA, None, HA.SHA_1),
    DSA.ECDSA_WITH_SHA224: (CA.ECDSA, None, HA.SHA_224),
    DSA.ECDSA_WITH_SHA256: (CA.ECDSA, None, HA.SHA_256),
    DSA.ECDSA_WITH_SHA384: (CA.ECDSA, None, HA.SHA_384),
    DSA.ECDSA_WITH_SHA512: (CA.ECDSA, None, HA.SHA_512),
}

_ECDSA = frozenset({CA.ECDSA, CA.EC})
_EDDSA = frozenset({CA.ED25519, CA.ED448})


@dataclass(frozen=True)
class SignatureParameters:
    """Resolved signing parameters."""

    algorithm: int
    padding: int | None
    hashing_algorithm: int | None


def _combine(digital_signature_algorithm: int, algorithm: int | None, padding: int | None,
             hashing_algorithm: int | None) -> tuple[int | None, int | None, int | None]:
    """The (algorithm, padding, hashing) a Digital Signature Algorithm implies, checked against the
    separately given ones."""
    entry = _DIGITAL_SIGNATURE_ALGORITHMS.get(digital_signature_algorithm)
    if entry is None:
        raise unsupported_or_invalid(
            DSA, digital_signature_algorithm,
            f"The digital signature algorithm {describe(DSA, digital_signature_algorithm)} is not supported."
        )
    d_alg, d_pad, d_hash = entry
    if algorithm is not None and not (algorithm == d_alg or (d_alg in _ECDSA and algorithm in _ECDSA)):
        raise InvalidField(
            f"The cryptographic algorithm {describe(CA, algorithm)} conflicts with "
            f"the digital signature algorithm {describe(DSA, digital_signature_algorithm)}."
        )
    if padding is not None and d_pad is not None and padding != d_pad:
        raise InvalidField(
            f"The padding method {describe(PM, padding)} conflicts with the digital "
            f"signature algorithm {describe(DSA, digital_signature_algorithm)}."
        )
    if hashing_algorithm is not None and d_hash is not None and hashing_algorithm != d_hash:
        raise InvalidField(
            f"The hashing algorithm {describe(HA, hashing_algorithm)} conflicts with "
            f"the digital signature algorithm {describe(DSA, digital_signature_algorithm)}."
        )
    return (algorithm if algorithm is not None else d_alg, d_pad if d_pad is not None else padding,
            d_hash if d_hash is not None else hashing_algorithm)


def resolve_signature_parameters(
    algorithm: int | None,
    padding: int | None,
    hashing_algorithm: int | None,
    digital_signature_algorithm: int | None,
) -> SignatureParameters:
    """
    Combine a Digital Signature Algorithm with the separate parameters.

    @raise InvalidField: unknown values, conflicts or missing parameters.
    """
    if digital_signature_algorithm is not None:
        algorithm, padding, hashing_algorithm = _combine(digital_signature_algorithm, algorithm, padding,
                                                         hashing_algorithm)
    if algorithm is None:
        raise InvalidField("Signing needs a digital signature algorithm or a cryptographic algorithm.")
    if algorithm == CA.RSA:
        if padding is None:
            raise InvalidField("RSA signatures need a padding method (PKCS1 v1.5 or PSS).")
        if padding not in (PM.PKCS1_V1_5, PM.PSS):
            raise InvalidField(f"The padding method {describe(PM, padding)} is not supported for RSA signatures.")
        hash_for(hashing_algorithm)  # validates presence and support
    elif algorithm in _ECDSA:
        if padding not in (None, PM.NONE):
            raise InvalidField("ECDSA signatures take no padding method.")
        hash_for(hashing_algorithm)
        padding = None
    elif algorithm in _EDDSA:
        if padding not in (None, PM.NONE):
            raise InvalidField(f"{describe(CA, algorithm)} signatures take no padding method.")
        padding, hashing_algorithm = None, None
    else:
        raise InvalidField(f"The cryptographic algorithm {describe(CA, algorithm)} is not supported for signatures.")
    return SignatureParameters(algorithm, padding, hashing_algorithm)


def _rsa_padding(
    params: SignatureParameters,
    digest: hashes.HashAlgorithm,
    mgf_hash: int | None,
    salt_length: int | None,
    verifying: bool,
) -> asym_padding.AsymmetricPadding:
    """PKCS#1 v1.5 or PSS padding object."""
    if params.padding == PM.PKCS1_V1_5:
        return asym_padding.PKCS1v15()
    mgf = hash_for(HA.SHA_1 if mgf_hash is None else mgf_hash, "mask generator hashing algorithm")
    if salt_length is None:
        salt: int | object = asym_padding.PSS.AUTO if verifying else digest.digest_size
    elif isinstance(salt_length, int) and salt_length >= 0:
        salt = salt_length
    else:
        raise InvalidField("The PSS salt length must be a non-negative integer.")
    return asym_padding.PSS(mgf=asym_padding.MGF1(mgf), salt_length=salt)  # type: ignore[arg-type]


def _message(
    params: SignatureParameters, data: bytes | None, digested_data: bytes | None
) -> tuple[bytes, hashes.HashAlgorithm | utils.Prehashed | None]:
    """Pick the message and the hash argument for C{cryptography}."""
    if (data is None) == (digested_data is None):
        raise InvalidField("Give exactly one of data or digested data.")
    if params.hashing_algorithm is None:
        if digested_data is not None:
            raise InvalidField(f"{describe(CA, params.algorithm)} cannot sign pre-digested data.")
        return _bytes(data, "data"), None
    digest = hash_for(params.hashing_algorithm)
    if digested_data is not None:
        digested_data = _bytes(digested_data, "digested data")
        if len(digested_data) != digest.digest_size:
            raise InvalidField(
                f"Digested data must be {digest.digest_size} bytes for {describe(HA, params.hashing_algorithm)}."
            )
        return digested_data, utils.Prehashed(digest)
    return _bytes(data, "data"), digest


def _bytes(value: object, what: str) -> bytes:
    """@raise InvalidField: C{value} is not bytes."""
    if not isinstance(value, (bytes, bytearray)):
        raise InvalidField(f"The {what} must be bytes.")
    return bytes(value)


#: Key classes per signature algorithm family (private, public).
_KEY_TYPES: dict[int, tuple[type, type]] = {
    CA.RSA: (rsa.RSAPrivateKey, rsa.RSAPublicKey),
    CA.ECDSA: (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey),
    CA.EC: (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey),
    CA.ED25519: (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey),
    CA.ED448: (ed448.Ed448PrivateKey, ed448.Ed448PublicKey),
}


def _operation(
    key: object,
    params: SignatureParameters,
    message: bytes,
    hash_arg: hashes.HashAlgorithm | utils.Prehashed | None,
    mgf_hash: int | None,
    salt_length: int | None,
    verifying: bool,
) -> tuple[Callable[..., object], tuple[object, ...]]:
    """Return the key method and its trailing arguments."""
    method = key.verify if verifying else key.sign  # type: ignore[attr-defined]
    if params.algorithm == CA.RSA:
        digest = hash_for(params.hashing_algorithm)
        return method, (
            message,
            _rsa_padding(params, digest, mgf_hash, salt_length, verifying),
            hash_arg,
        )
    if params.algorithm in _ECDSA:
        return method, (message, ec.ECDSA(hash_arg))  # type: ignore[arg-type]
    return method, (message,)


def _prepare(
    der: bytes,
    data: bytes | None,
    digested_data: bytes | None,
    resolve: tuple[int | None, int | None, int | None, int | None],
    verifying: bool,
) -> tuple[SignatureParameters, object, bytes, Any]:
    """Resolve the parameters, pick the message and load the key (public half when verifying).

    @raise InvalidField: bad parameters, or a key that does not match them.
    """
    params = resolve_signature_parameters(*resolve)
    message, hash_arg = _message(params, data, digested_data)
    key: object
    if verifying:
        try:
            key = load_public_key(der)
        except InvalidField:
            key = load_private_key(der).public_key()
    else:
        key = load_private_key(der)
    if not isinstance(key, _KEY_TYPES[params.algorithm][1 if verifying else 0]):
        role = "verification key is not a {} public key" if verifying else "signing key is not a {} private key"
        raise InvalidField(f"The {role.format(describe(CA, params.algorithm))}.")
    return params, key, message, hash_arg


def sign(
    private_der: bytes,
    data: bytes | None = None,
    digested_data: bytes | None = None,
    *,
    algorithm: int | None = None,
    padding: int | None = None,
    hashing_algorithm: int | None = None,
    digital_signature_algorithm: int | None = None,
    mgf_hash: int | None = None,
    salt_length: int | None = None,
) -> bytes:
    """
    Sign C{data} (or an already computed digest) with a DER private key.

    @raise InvalidField: bad parameters, or a key that does not match them.
    """
    params, key, message, hash_arg = _prepare(
        private_der, data, digested_data, (algorithm, padding, hashing_algorithm, digital_signature_algorithm), False)
    method, args = _operation(key, params, message, hash_arg, mgf_hash, salt_length, False)
    try:
        return method(*args)  # type: ignore[return-value]
    except ValueError as e:  # e.g. PSS salt too long for the modulus
        raise InvalidField(f"Signing failed: {e}") from None


def verify(
    public_der: bytes,
    data: bytes | None = None,
    digested_data: bytes | None = None,
    signature: bytes | None = None,
    *,
    algorithm: int | None = None,
    padding: int | None = None,
    hashing_algorithm: int | None = None,
    digital_signature_algorithm: int | None = None,
    mgf_hash: int | None = None,
    salt_length: int | None = None,
) -> bool:
    """
    Verify C{signature} over C{data} (or a digest) with a DER public key
    (a private key's public half also works).

    @return: C{True} if valid, C{False} if the signature does not verify.
    @raise InvalidField: bad parameters, or a key that does not match them.
    """
    params, key, message, hash_arg = _prepare(
        public_der, data, digested_data, (algorithm, padding, hashing_algorithm, digital_signature_algorithm), True)
    signature = _bytes(signature, "signature")
    method, args = _operation(key, params, message, hash_arg, mgf_hash, salt_length, True)
    try:
        method(signature, *args)
    except InvalidSignature:
        return False
    return True
