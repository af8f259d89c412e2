# -*- test-case-name: tests.crypto.test_dsakeys -*-
"""
DSA keys from and to their transparent components (KMIP 2.1 sections 2.1.7, 3.5 and 3.6).

A Transparent DSA Private Key is C{p, q, g, x}; a Transparent DSA Public Key is
C{p, q, g, y}. C{cryptography}'s C{DSAPrivateNumbers.private_key()} refuses a p
of other than 1024-4096 bits, yet the KMIP profile vectors register 512-bit
keys and C{cryptography} loads those from DER; so the components are checked
here (FIPS 186-4 section 4 / SP 800-89 domain parameter and key checks) and
then encoded as PKCS#8 or SubjectPublicKeyInfo DER (RFC 3279 section 2.3.2)
for C{cryptography} to load.

The checks: q is a (probable) prime dividing p - 1, g generates the order-q
subgroup (1 < g < p, g^q = 1 mod p), 0 < x < q, and 1 < y < p - 1 with
y^q = 1 mod p. The primality of p is not tested: a Miller-Rabin round on a
4096-bit p costs about 0.2 s of pure Python arithmetic per Register.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa

from kmipd.crypto.errors import InvalidField

__all__ = ["components", "private_key", "public_key"]

#: DER of the id-dsa object identifier 1.2.840.10040.4.1 (RFC 3279 section 2.3.2).
_ID_DSA = bytes.fromhex("06072a8648ce380401")
#: Miller-Rabin rounds on q (at most 256 bits: cheap).
_Q_ROUNDS = 24
#: Sizes accepted (bits), checked before any arithmetic so an oversized component costs nothing:
#: p of 512 (the profile vectors' legacy keys) to 4096, q of 160 to 256 (FIPS 186-4 4.2: N is
#: 160, 224 or 256).
P_BITS = (512, 4096)
Q_BITS = (160, 256)


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + _length(len(value)) + value


def _integer(n: int) -> bytes:
    return _tlv(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big"))


def _sequence(*parts: bytes) -> bytes:
    return _tlv(0x30, b"".join(parts))


def _probable_prime(n: int, rounds: int = _Q_ROUNDS) -> bool:
    """Miller-Rabin with random bases."""
    if n < 4:
        return n in (2, 3)
    if n % 2 == 0:
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        v = pow(secrets.randbelow(n - 3) + 2, d, n)
        if v in (1, n - 1):
            continue
        for _ in range(s - 1):
            v = pow(v, 2, n)
            if v == n - 1:
                break
        else:
            return False
    return True


def _field(values: Mapping[str, object], name: str) -> int:
    value = values.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidField(f"The transparent DSA key component {name!r} is missing.")
    if value <= 0:
        raise InvalidField(f"The transparent DSA key component {name!r} must be positive.")
    return value


def _domain(values: Mapping[str, object]) -> tuple[int, int, int]:
    """The checked domain parameters (p, q, g)."""
    p, q, g = _field(values, "p"), _field(values, "q"), _field(values, "g")
    if not P_BITS[0] <= p.bit_length() <= P_BITS[1] or not Q_BITS[0] <= q.bit_length() <= Q_BITS[1]:
        raise InvalidField(f"The DSA domain parameters are out of range: p must have {P_BITS[0]}-{P_BITS[1]} "
                           f"bits and q {Q_BITS[0]}-{Q_BITS[1]} bits.")
    if p % 2 == 0 or q.bit_length() >= p.bit_length():
        raise InvalidField("The DSA domain parameters are invalid: p must be an odd prime larger than q.")
    if (p - 1) % q or not _probable_prime(q):
        raise InvalidField("The DSA domain parameters are invalid: q must be a prime dividing p - 1.")
    if not 1 < g < p or pow(g, q, p) != 1:
        raise InvalidField("The DSA domain parameters are invalid: g must generate the order-q subgroup mod p.")
    return p, q, g


def _algorithm(p: int, q: int, g: int) -> bytes:
    return _sequence(_ID_DSA, _sequence(_integer(p), _integer(q), _integer(g)))


def private_key(values: Mapping[str, object]) -> dsa.DSAPrivateKey:
    """The DSA private key of checked components C{p, q, g, x}.

    @raise InvalidField: a component is missing or the components are not a DSA key.
    """
    p, q, g = _domain(values)
    x = _field(values, "x")
    if not 0 < x < q:
        raise InvalidField("The DSA private key is invalid: x must be between 0 and q.")
    der = _sequence(_integer(0), _algorithm(p, q, g), _tlv(0x04, _integer(x)))
    try:
        key = serialization.load_der_private_key(der, password=None)
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidField("The DSA private key could not be loaded.") from None
    assert isinstance(key, dsa.DSAPrivateKey)
    return key


def public_key(values: Mapping[str, object]) -> dsa.DSAPublicKey:
    """The DSA public key of checked components C{p, q, g, y}.

    @raise InvalidField: a component is missing or the components are not a DSA key.
    """
    p, q, g = _domain(values)
    y = _field(values, "y")
    if not 1 < y < p - 1 or pow(y, q, p) != 1:
        raise InvalidField("The DSA public key is invalid: y is not an element of the order-q subgroup mod p.")
    der = _sequence(_algorithm(p, q, g), _tlv(0x03, b"\x00" + _integer(y)))
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidField("The DSA public key could not be loaded.") from None
    assert isinstance(key, dsa.DSAPublicKey)
    return key


def components(key: dsa.DSAPrivateKey | dsa.DSAPublicKey) -> dict[str, int | bytes]:
    """The transparent components of a DSA key: C{p, q, g} and C{x} (private) or C{y} (public)."""
    if isinstance(key, dsa.DSAPrivateKey):
        numbers = key.private_numbers()
        params = numbers.public_numbers.parameter_numbers
        return {"p": params.p, "q": params.q, "g": params.g, "x": numbers.x}
    public = key.public_numbers()
    params = public.parameter_numbers
    return {"p": params.p, "q": params.q, "g": params.g, "y": public.y}
