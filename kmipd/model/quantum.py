# -*- test-case-name: tests.operations.test_quantum_safe -*-
"""Whether an object may carry Quantum Safe = True (KMIP 2.1 section 4.45).

"The Quantum Safe attribute is a flag to be set to indicate an object is required to be Quantum
Safe for the given Protection Period and Protection Level" (spec 2.1 4.45; Protection Level 4.42,
Protection Period 4.43). kmipd honours the flag wherever an object could come to claim it (a new
object's attributes, Add/Set/Modify/Adjust Attribute of Quantum Safe): a claim kmipd cannot back
is refused with General Failure (the profile vector QS-M-2-21 expects General Failure for an
AES-128 key with Quantum Safe = True).

The rule (L{QUANTUM_SAFE_MIN_BITS}) is a table of symmetric algorithms and the smallest key that
is quantum safe, following NIST IR 8105 (Report on Post-Quantum Cryptography, 2016): Grover's
search only halves a symmetric key's effective strength, so 256-bit keys keep 128 bits of security
(AES-128/192 do not meet that bar); Shor's algorithm breaks RSA, DSA, Diffie-Hellman and every
elliptic-curve scheme (ECDSA, ECDH, EdDSA, SM2, GOST R 34.10) outright, so no classical asymmetric
algorithm is listed. Neither are DES/3DES, 64-bit block ciphers, RC4 or HMAC over MD5/SHA-1.

The rule ignores Protection Level and Protection Period: it answers for the strictest of them (a
key safe against a quantum adversary for ever is safe for any period). An object without a
Cryptographic Algorithm (Secret Data, Opaque Objects, most Certificates' bodies) cannot claim
Quantum Safe: kmipd does not know what the bytes will be used for, so it cannot vouch for them.
"""

from __future__ import annotations

from ..errors import GeneralFailure
from ..spec import CryptographicAlgorithm as CA
from ..ttlv import Item
from .objects import ManagedObject

#: Symmetric algorithm -> smallest Cryptographic Length (bits) that is quantum safe (NIST IR 8105:
#: Grover halves the key's strength, so 256 bits keep 128). Algorithms not listed never are.
QUANTUM_SAFE_MIN_BITS: dict[int, int] = {
    CA.AES: 256,
    CA.CAMELLIA: 256,
    CA.ARIA: 256,
    CA.TWOFISH: 256,
    CA.CHACHA20: 256,
    CA.CHACHA20POLY1305: 256,
    CA.POLY1305: 256,
    CA.HMAC_SHA224: 256,
    CA.HMAC_SHA256: 256,
    CA.HMAC_SHA384: 256,
    CA.HMAC_SHA512: 256,
    CA.HMAC_SHA3_224: 256,
    CA.HMAC_SHA3_256: 256,
    CA.HMAC_SHA3_384: 256,
    CA.HMAC_SHA3_512: 256,
}


def is_quantum_safe(algorithm: int | None, length: int | None) -> bool:
    """True when a key of C{algorithm} and C{length} bits is quantum safe (L{QUANTUM_SAFE_MIN_BITS})."""
    least = QUANTUM_SAFE_MIN_BITS.get(algorithm) if algorithm is not None else None
    return least is not None and isinstance(length, int) and length >= least


def _describe(algorithm: int | None, length: int | None) -> str:
    if algorithm is None:
        return "an object without a Cryptographic Algorithm"
    try:
        name = CA(algorithm).name.replace("_", "-")
    except ValueError:
        name = f"Cryptographic Algorithm {algorithm:#x}"
    return f"{name}-{length}" if isinstance(length, int) else name


def check_claim(obj: ManagedObject, value: Item | None) -> None:
    """Refuse C{value} as C{obj}'s Quantum Safe when it is True and C{obj}'s key is not quantum safe.

    @raise GeneralFailure: the claim cannot be backed (QS-M-2-21).
    """
    if value is None or value.value is not True:
        return
    algorithm, length = obj.value("Cryptographic Algorithm"), obj.value("Cryptographic Length")
    if not is_quantum_safe(algorithm, length):  # type: ignore[arg-type]
        raise GeneralFailure(
            f"not quantum safe: {_describe(algorithm, length)} cannot be Quantum Safe (kmipd requires a "  # type: ignore[arg-type]
            "symmetric key of at least 256 bits; Grover/Shor, NIST IR 8105)")


def check_quantum_safe(obj: ManagedObject) -> None:
    """Refuse a new object whose Quantum Safe attribute claims what its key cannot back."""
    check_claim(obj, obj.first("Quantum Safe"))


__all__ = ["QUANTUM_SAFE_MIN_BITS", "check_claim", "check_quantum_safe", "is_quantum_safe"]
