# -*- test-case-name: tests.crypto.test_splitkey -*-
"""
Secret sharing for KMIP Split Keys (spec 2.1 section 13.1, 1.4 section 2.2.5).

Four Split Key Methods:
  - XOR: C{n} parts, all needed (the threshold equals the number of parts); the secret is the
    XOR of the parts.
  - Polynomial Sharing GF(2^8): Shamir's scheme byte-wise over GF(2^8).
  - Polynomial Sharing GF(2^16): Shamir's scheme over GF(2^16) = GF(2^8)[y]/(y^2+y+m), m = {3A},
    piecewise on 16-bit pieces; an element C{uy+v} is the byte pair C{(u, v)}.
  - Polynomial Sharing Prime Field: Shamir's scheme over the integers modulo Prime Field Size,
    a prime bigger than 2^L (L the secret's length in bits); a share is the big-endian integer
    padded to the byte length of the prime.

The share of part C{i} (its Key Part Identifier, 1..n) is the polynomial evaluated at C{x = i}
(GF(2^16): the element with C{u = i >> 8, v = i & 0xFF}); the secret is the value at 0.

The GF(2^8) base field is where the versions disagree: KMIP 1.0-1.4 take the [FIPS197] field
C{x^8+x^4+x^3+x+1} (0x11B), KMIP 2.0 and 2.1 the field C{x^8+x^4+x^3+x^2+1} (285, 0x11D). The
caller passes the polynomial (L{FIELD_1X} or L{FIELD_2X}). The 2.x text also gives the GF(2^16)
product as C{((r+s)(u+v)+sv)y + (ru+svm)}; with C{y^2 = y + m} the constant term is C{mru + sv},
which is also the only reading its own inverse formula C{(uy+v)^-1 = ud^-1 y + (u+v)d^-1},
C{d = (u+v)v + mu^2} agrees with, so the field definition is implemented, not the typo.

Pure functions; randomness comes from OpenSSL's DRBG (L{kmipd.crypto.rng}) unless a test injects
C{rand}.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache

from kmipd.crypto.errors import InvalidField
from kmipd.crypto.rng import random_bytes
from kmipd.spec import SplitKeyMethod


class BadParameters(InvalidField):
    """Split parameters (method, parts, threshold, prime field) or parts that do not fit together.

    An L{InvalidField} (1.x answers it so); KMIP 2.x Create/Join Split Key tables list Bad
    Cryptographic Parameters for it.
    """


__all__ = [
    "BadParameters",
    "FIELD_1X",
    "FIELD_2X",
    "MAX_WORK",
    "M_GF16",
    "gf8_inv",
    "gf8_mul",
    "gf16_inv",
    "gf16_mul",
    "is_probable_prime",
    "join",
    "share_length",
    "split",
    "work",
]

#: GF(2^8) reduction polynomial of KMIP 1.x ([FIPS197]: x^8+x^4+x^3+x+1).
FIELD_1X = 0x11B
#: GF(2^8) reduction polynomial of KMIP 2.x ("285": x^8+x^4+x^3+x^2+1).
FIELD_2X = 0x11D
#: The constant m of GF(2^16) = GF(2^8)[y]/(y^2+y+m).
M_GF16 = 0x3A
#: Most field multiplications one split or join may cost (parts x threshold x secret bytes).
MAX_WORK = 4_000_000

Rand = Callable[[int], bytes]
SKM = SplitKeyMethod


# ---------------------------------------------------------------------------------------------
# Field arithmetic

def _shift_mul(a: int, b: int, poly: int) -> int:
    """Shift-and-add multiplication in GF(2^8) modulo C{poly} (builds the tables)."""
    result = 0
    while b:
        if b & 1:
            result ^= a
        b >>= 1
        a <<= 1
        if a & 0x100:
            a ^= poly
    return result


@lru_cache(maxsize=4)
def _tables(poly: int) -> tuple[list[int], list[int]]:
    """(exp, log) tables of GF(2^8) modulo C{poly}, over the smallest generator of the field."""
    for g in range(2, 256):
        exp = [1] * 510
        for i in range(1, 255):
            exp[i] = _shift_mul(exp[i - 1], g, poly)
        if len(set(exp[:255])) == 255:
            for i in range(255, 510):
                exp[i] = exp[i - 255]
            log = [0] * 256
            for i in range(255):
                log[exp[i]] = i
            return exp, log
    raise ValueError(f"{poly:#x} is not an irreducible polynomial of degree 8")  # pragma: no cover


def gf8_mul(a: int, b: int, poly: int) -> int:
    """The product of two GF(2^8) elements (bytes) modulo C{poly}."""
    if a == 0 or b == 0:
        return 0
    exp, log = _tables(poly)
    return exp[log[a] + log[b]]


def gf8_inv(a: int, poly: int) -> int:
    """The multiplicative inverse of a non-zero GF(2^8) element."""
    if a == 0:
        raise ZeroDivisionError("0 has no inverse in GF(2^8)")
    exp, log = _tables(poly)
    return exp[255 - log[a]]


def gf16_mul(a: int, b: int, poly: int) -> int:
    """The product of GF(2^16) elements C{a = ry+s}, C{b = uy+v} (16-bit ints, u/r the high byte)."""
    r, s, u, v = a >> 8, a & 0xFF, b >> 8, b & 0xFF
    sv = gf8_mul(s, v, poly)
    high = gf8_mul(r ^ s, u ^ v, poly) ^ sv
    low = gf8_mul(gf8_mul(r, u, poly), M_GF16, poly) ^ sv
    return (high << 8) | low


def gf16_inv(a: int, poly: int) -> int:
    """The inverse of C{uy+v}: C{ud^-1 y + (u+v)d^-1}, C{d = (u+v)v + mu^2} (spec 13.1)."""
    if a == 0:
        raise ZeroDivisionError("0 has no inverse in GF(2^16)")
    u, v = a >> 8, a & 0xFF
    d = gf8_mul(u ^ v, v, poly) ^ gf8_mul(M_GF16, gf8_mul(u, u, poly), poly)
    dinv = gf8_inv(d, poly)
    return (gf8_mul(u, dinv, poly) << 8) | gf8_mul(u ^ v, dinv, poly)


def is_probable_prime(n: int, rounds: int = 40) -> bool:
    """Miller-Rabin with deterministic small bases then random ones."""
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
    for p in small:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    nbytes = (n.bit_length() + 7) // 8 + 8
    bases = list(small) + [2 + int.from_bytes(random_bytes(nbytes), "big") % (n - 3) for _ in range(rounds)]
    for a in bases:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# Polynomial sharing in a field given by (add = xor, mul, inv) over small elements

def _eval(coeffs: list[int], x: int, mul: Callable[[int, int], int]) -> int:
    acc = 0
    for c in reversed(coeffs):
        acc = mul(acc, x) ^ c
    return acc


def _lagrange_basis(xs: list[int], mul: Callable[[int, int], int], inv: Callable[[int], int]) -> list[int]:
    """The Lagrange coefficients l_j(0) for the points C{xs} (characteristic 2: 0 - x = x)."""
    out = []
    for j, xj in enumerate(xs):
        num, den = 1, 1
        for m, xm in enumerate(xs):
            if m != j:
                num = mul(num, xm)
                den = mul(den, xj ^ xm)
        out.append(mul(num, inv(den)))
    return out


def _random_elements(count: int, width: int, rand: Rand) -> list[int]:
    raw = rand(count * width)
    return [int.from_bytes(raw[i * width:(i + 1) * width], "big") for i in range(count)]


def _split_binary(secret: bytes, parts: int, threshold: int, width: int, poly: int, rand: Rand) -> list[bytes]:
    if width == 1:
        def mul(a: int, b: int) -> int:
            return gf8_mul(a, b, poly)
    else:
        def mul(a: int, b: int) -> int:
            return gf16_mul(a, b, poly)
    shares = [bytearray() for _ in range(parts)]
    for off in range(0, len(secret), width):
        piece = int.from_bytes(secret[off:off + width], "big")
        coeffs = [piece, *_random_elements(threshold - 1, width, rand)]
        for i in range(parts):
            shares[i] += _eval(coeffs, i + 1, mul).to_bytes(width, "big")
    return [bytes(s) for s in shares]


def _join_binary(shares: Mapping[int, bytes], width: int, poly: int) -> bytes:
    if width == 1:
        def mul(a: int, b: int) -> int:
            return gf8_mul(a, b, poly)

        def inv(a: int) -> int:
            return gf8_inv(a, poly)
    else:
        def mul(a: int, b: int) -> int:
            return gf16_mul(a, b, poly)

        def inv(a: int) -> int:
            return gf16_inv(a, poly)
    ids = sorted(shares)
    basis = _lagrange_basis(ids, mul, inv)
    length = len(shares[ids[0]])
    out = bytearray()
    for off in range(0, length, width):
        secret = 0
        for i, coefficient in zip(ids, basis, strict=True):
            secret ^= mul(int.from_bytes(shares[i][off:off + width], "big"), coefficient)
        out += secret.to_bytes(width, "big")
    return bytes(out)


def _split_prime(secret: bytes, parts: int, threshold: int, prime: int, rand: Rand) -> list[bytes]:
    value = int.from_bytes(secret, "big")
    width = (prime.bit_length() + 7) // 8
    coeffs = [value] + [int.from_bytes(rand(width + 8), "big") % prime for _ in range(threshold - 1)]
    out = []
    for i in range(1, parts + 1):
        acc = 0
        for c in reversed(coeffs):
            acc = (acc * i + c) % prime
        out.append(acc.to_bytes(width, "big"))
    return out


def _join_prime(shares: Mapping[int, bytes], prime: int, length: int) -> bytes:
    ids = sorted(shares)
    secret = 0
    for j in ids:
        num, den = 1, 1
        for m in ids:
            if m != j:
                num = num * (-m) % prime
                den = den * (j - m) % prime
        secret = (secret + int.from_bytes(shares[j], "big") * num * pow(den, -1, prime)) % prime
    if secret.bit_length() > 8 * length:
        raise BadParameters("the parts do not combine to a secret of the expected length")
    return secret.to_bytes(length, "big")


# ---------------------------------------------------------------------------------------------
# The public API

def work(method: int, secret_length: int, points: int, threshold: int) -> int:
    """Field multiplications a split (C{points} = parts, evaluating a degree C{threshold - 1}
    polynomial per piece) or a join (C{points} = shares; the Lagrange basis once, then one product
    per share and piece) of a C{secret_length}-byte secret costs, roughly; callers refuse more than
    L{MAX_WORK}. XOR and the prime field (big integers) cost little."""
    if method in (SKM.POLYNOMIAL_SHARING_GF_2_8, SKM.POLYNOMIAL_SHARING_GF_2_16):
        return points * threshold * secret_length + points * points
    return points * secret_length // 64


def share_length(method: int, secret_length: int, prime: int | None = None) -> int:
    """The byte length of each share of a C{secret_length}-byte secret."""
    if method == SKM.POLYNOMIAL_SHARING_PRIME_FIELD:
        assert prime is not None
        return (prime.bit_length() + 7) // 8
    return secret_length


def _check(method: int, secret_length: int, parts: int, threshold: int, prime: int | None) -> None:
    if not 1 <= threshold <= parts:
        raise BadParameters("Split Key Threshold must be at least 1 and at most Split Key Parts")
    if secret_length < 1:
        raise InvalidField("an empty secret cannot be split")
    if method == SKM.XOR:
        if threshold != parts:
            raise BadParameters("XOR splitting needs every part: Split Key Threshold must equal Split Key Parts")
    elif method == SKM.POLYNOMIAL_SHARING_GF_2_8:
        if parts > 255:
            raise BadParameters("GF(2^8) sharing allows at most 255 parts")
    elif method == SKM.POLYNOMIAL_SHARING_GF_2_16:
        if parts > 65535:
            raise BadParameters("GF(2^16) sharing allows at most 65535 parts")
        if secret_length % 2:
            raise BadParameters("GF(2^16) sharing works on 16-bit pieces: the secret needs an even byte length")
    elif method == SKM.POLYNOMIAL_SHARING_PRIME_FIELD:
        if prime is None:
            raise BadParameters("Prime Field Size is required for Polynomial Sharing Prime Field")
        if prime <= 1 << (8 * secret_length):
            raise BadParameters("Prime Field Size must be bigger than 2^L (L the secret's length in bits)")
        if parts >= prime:
            raise BadParameters("Prime Field Size must exceed the number of parts")
        if not is_probable_prime(prime):
            raise BadParameters("Prime Field Size is not a prime")
    else:
        raise InvalidField(f"Split Key Method {method!r} is not supported")


def split(method: int, secret: bytes, parts: int, threshold: int, *, prime: int | None = None,
          poly: int = FIELD_2X, rand: Rand = random_bytes) -> list[bytes]:
    """The shares of C{secret}, in Key Part Identifier order (share 0 is part 1).

    @raise BadParameters: inconsistent parameters (the caller maps it to the version's reason).
    """
    _check(method, len(secret), parts, threshold, prime)
    if method == SKM.XOR:
        shares = [rand(len(secret)) for _ in range(parts - 1)]
        last = bytearray(secret)
        for s in shares:
            for k, b in enumerate(s):
                last[k] ^= b
        return [*shares, bytes(last)]
    if method == SKM.POLYNOMIAL_SHARING_PRIME_FIELD:
        assert prime is not None
        return _split_prime(secret, parts, threshold, prime, rand)
    width = 1 if method == SKM.POLYNOMIAL_SHARING_GF_2_8 else 2
    return _split_binary(secret, parts, threshold, width, poly, rand)


def join(method: int, shares: Mapping[int, bytes], threshold: int, secret_length: int, *,
         prime: int | None = None, poly: int = FIELD_2X) -> bytes:
    """The secret from C{shares} (Key Part Identifier -> share bytes), at least C{threshold} of them.

    @raise BadParameters: too few or inconsistent shares.
    """
    if len(shares) < threshold:
        raise BadParameters(f"at least {threshold} parts are needed, {len(shares)} given")
    if any(not 1 <= i for i in shares):
        raise BadParameters("Key Part Identifiers start at 1")
    expected = share_length(method, secret_length, prime)
    if any(len(s) != expected for s in shares.values()):
        raise BadParameters("the parts' key material has the wrong length")
    if method == SKM.XOR:
        out = bytearray(secret_length)
        for s in shares.values():
            for k, b in enumerate(s):
                out[k] ^= b
        return bytes(out)
    if method == SKM.POLYNOMIAL_SHARING_PRIME_FIELD:
        if prime is None:
            raise BadParameters("Prime Field Size is required for Polynomial Sharing Prime Field")
        return _join_prime(shares, prime, secret_length)
    if method == SKM.POLYNOMIAL_SHARING_GF_2_8:
        return _join_binary(shares, 1, poly)
    if method == SKM.POLYNOMIAL_SHARING_GF_2_16:
        if secret_length % 2:
            raise BadParameters("GF(2^16) parts need an even byte length")
        return _join_binary(shares, 2, poly)
    raise InvalidField(f"Split Key Method {method!r} is not supported")
