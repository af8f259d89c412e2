"""Secret sharing math of kmipd.crypto.splitkey: field arithmetic and known answers (spec 13.1)."""

from __future__ import annotations

import itertools
import random

from twisted.trial.unittest import SynchronousTestCase

from kmipd.crypto import splitkey as sk
from kmipd.crypto.errors import InvalidField
from kmipd.spec import SplitKeyMethod as M


def fixed(*chunks: bytes):
    """A C{rand} that hands out C{chunks} in order (each call must ask for the next chunk's length)."""
    queue = list(chunks)

    def rand(n: int) -> bytes:
        chunk = queue.pop(0)
        assert len(chunk) == n, (len(chunk), n)
        return chunk

    return rand


def clmul_mod(a: int, b: int, poly: int) -> int:
    """Reference GF(2^8) product: carry-less multiply, then reduce the 15-bit result by long division."""
    product = 0
    for i in range(8):
        if b >> i & 1:
            product ^= a << i
    for bit in range(14, 7, -1):
        if product >> bit & 1:
            product ^= poly << (bit - 8)
    return product


class GF256Tests(SynchronousTestCase):
    """GF(2^8) in both fields the versions define."""

    def test_fips197_examples(self) -> None:
        """FIPS 197 4.2: {57}.{83} = {c1}, {57}.{13} = {fe}; the AES S-box inverse of {53} is {ca}."""
        self.assertEqual(sk.gf8_mul(0x57, 0x83, sk.FIELD_1X), 0xC1)
        self.assertEqual(sk.gf8_mul(0x57, 0x13, sk.FIELD_1X), 0xFE)
        self.assertEqual(sk.gf8_inv(0x53, sk.FIELD_1X), 0xCA)

    def test_field_285(self) -> None:
        """In the 2.x field (285 = 0x11D) x^8 = x^4+x^3+x^2+1 = {1d}, and {02}^-1 = {8e}."""
        self.assertEqual(sk.gf8_mul(0x80, 0x02, sk.FIELD_2X), 0x1D)
        self.assertEqual(sk.gf8_mul(0x80, 0x02, sk.FIELD_1X), 0x1B)
        self.assertEqual(sk.gf8_inv(0x02, sk.FIELD_2X), 0x8E)

    def test_matches_reference_and_inverses(self) -> None:
        """Every product equals the long-division reference; every non-zero element has an inverse."""
        for poly in (sk.FIELD_1X, sk.FIELD_2X):
            for a in range(256):
                for b in range(0, 256, 7):
                    self.assertEqual(sk.gf8_mul(a, b, poly), clmul_mod(a, b, poly))
                if a:
                    self.assertEqual(sk.gf8_mul(a, sk.gf8_inv(a, poly), poly), 1)
        self.assertRaises(ZeroDivisionError, sk.gf8_inv, 0, sk.FIELD_2X)


class GF65536Tests(SynchronousTestCase):
    """GF(2^16) = GF(2^8)[y]/(y^2+y+m), m = {3A}."""

    def test_y_squared(self) -> None:
        """y.y = y + m: the defining relation."""
        for poly in (sk.FIELD_1X, sk.FIELD_2X):
            self.assertEqual(sk.gf16_mul(0x0100, 0x0100, poly), 0x0100 | sk.M_GF16)

    def test_spec_inverse_formula_inverts_every_element(self) -> None:
        """The spec's inverse (ud^-1 y + (u+v)d^-1) times the element is 1 for all 65535 elements."""
        for poly in (sk.FIELD_1X, sk.FIELD_2X):
            for a in range(1, 1 << 16):
                self.assertEqual(sk.gf16_mul(a, sk.gf16_inv(a, poly), poly), 1, hex(a))

    def test_spec_product_typo_would_not_be_a_field(self) -> None:
        """Read literally (constant term ru + svm), the spec's product disagrees with its inverse."""
        poly = sk.FIELD_2X

        def literal(a: int, b: int) -> int:
            r, s, u, v = a >> 8, a & 0xFF, b >> 8, b & 0xFF
            sv = sk.gf8_mul(s, v, poly)
            high = sk.gf8_mul(r ^ s, u ^ v, poly) ^ sv
            return (high << 8) | (sk.gf8_mul(r, u, poly) ^ sk.gf8_mul(sv, sk.M_GF16, poly))

        bad = [a for a in range(1, 4096) if literal(a, sk.gf16_inv(a, poly)) != 1]
        self.assertTrue(bad)

    def test_field_laws_sample(self) -> None:
        """Commutative, associative and distributive on a sample."""
        rng = random.Random(1)
        for _ in range(500):
            a, b, c = (rng.randrange(1 << 16) for _ in range(3))
            mul = sk.gf16_mul
            p = sk.FIELD_2X
            self.assertEqual(mul(a, b, p), mul(b, a, p))
            self.assertEqual(mul(mul(a, b, p), c, p), mul(a, mul(b, c, p), p))
            self.assertEqual(mul(a, b ^ c, p), mul(a, b, p) ^ mul(a, c, p))


class KnownAnswerTests(SynchronousTestCase):
    """Shares computed by hand from fixed coefficients."""

    def test_gf8_shamir_1x_field(self) -> None:
        """f(x) = {2a} + {07}x in the AES field: f(1) = {2d}, f(2) = {24}, f(3) = {23}."""
        shares = sk.split(M.POLYNOMIAL_SHARING_GF_2_8, b"\x2a", 3, 2, poly=sk.FIELD_1X, rand=fixed(b"\x07"))
        self.assertEqual(shares, [b"\x2d", b"\x24", b"\x23"])
        for pair in itertools.combinations(range(3), 2):
            got = sk.join(M.POLYNOMIAL_SHARING_GF_2_8, {i + 1: shares[i] for i in pair}, 2, 1, poly=sk.FIELD_1X)
            self.assertEqual(got, b"\x2a")

    def test_gf8_field_differs_by_version(self) -> None:
        """f(x) = {80}x: f(2) is {1b} in the 1.x field and {1d} in the 2.x field."""
        one = sk.split(M.POLYNOMIAL_SHARING_GF_2_8, b"\x00", 2, 2, poly=sk.FIELD_1X, rand=fixed(b"\x80"))
        two = sk.split(M.POLYNOMIAL_SHARING_GF_2_8, b"\x00", 2, 2, poly=sk.FIELD_2X, rand=fixed(b"\x80"))
        self.assertEqual(one, [b"\x80", b"\x1b"])
        self.assertEqual(two, [b"\x80", b"\x1d"])

    def test_gf16_piecewise(self) -> None:
        """f(x) = s + c.x per 16-bit piece: f(1) = s ^ c; pieces are shared independently."""
        secret = bytes.fromhex("12345678")
        shares = sk.split(M.POLYNOMIAL_SHARING_GF_2_16, secret, 2, 2, poly=sk.FIELD_2X,
                          rand=fixed(bytes.fromhex("0001"), bytes.fromhex("0100")))
        self.assertEqual(shares[0], bytes.fromhex("12355778"))
        y_times_2 = sk.gf16_mul(0x0100, 0x0002, sk.FIELD_2X)
        self.assertEqual(shares[1], bytes.fromhex("1236") + (0x5678 ^ y_times_2).to_bytes(2, "big"))
        self.assertEqual(sk.join(M.POLYNOMIAL_SHARING_GF_2_16, {1: shares[0], 2: shares[1]}, 2, 4), secret)

    def test_prime_field(self) -> None:
        """p = 257, f(x) = 42 + 5x: shares 47, 52, 57 as two-byte integers."""
        shares = sk.split(M.POLYNOMIAL_SHARING_PRIME_FIELD, b"\x2a", 3, 2, prime=257,
                          rand=fixed(b"\x00" * 9 + b"\x05"))
        self.assertEqual(shares, [b"\x00\x2f", b"\x00\x34", b"\x00\x39"])
        self.assertEqual(sk.join(M.POLYNOMIAL_SHARING_PRIME_FIELD, {2: shares[1], 3: shares[2]}, 2, 1,
                                 prime=257), b"\x2a")

    def test_xor(self) -> None:
        """The last part is the secret XOR the random others."""
        shares = sk.split(M.XOR, b"\xff\x00", 3, 3, rand=fixed(b"\x0f\x0f", b"\x01\x02"))
        self.assertEqual(shares, [b"\x0f\x0f", b"\x01\x02", b"\xf1\x0d"])
        self.assertEqual(sk.join(M.XOR, dict(enumerate(shares, 1)), 3, 2), b"\xff\x00")


_PRIME_ABOVE_2_256 = next(p for p in range((1 << 256) + 1, (1 << 256) + 10000, 2) if sk.is_probable_prime(p))


class RoundTripTests(SynchronousTestCase):
    """Any threshold-sized subset rebuilds the secret; fewer parts do not."""

    def test_every_subset(self) -> None:
        secret = bytes(range(32))
        for method, prime in ((M.POLYNOMIAL_SHARING_GF_2_8, None), (M.POLYNOMIAL_SHARING_GF_2_16, None),
                              (M.POLYNOMIAL_SHARING_PRIME_FIELD, _PRIME_ABOVE_2_256)):
            shares = sk.split(method, secret, 5, 3, prime=prime)
            for subset in itertools.combinations(range(1, 6), 3):
                got = sk.join(method, {i: shares[i - 1] for i in subset}, 3, 32, prime=prime)
                self.assertEqual(got, secret, (method, subset))
            self.assertRaises(InvalidField, sk.join, method, {1: shares[0], 2: shares[1]}, 3, 32, prime=prime)


class ParameterTests(SynchronousTestCase):
    """Refusals, each with Invalid Field."""

    def test_refusals(self) -> None:
        cases = [
            (M.XOR, b"k", 3, 2, None),  # XOR needs all parts
            (M.POLYNOMIAL_SHARING_GF_2_8, b"k", 2, 3, None),  # threshold > parts
            (M.POLYNOMIAL_SHARING_GF_2_8, b"k", 256, 2, None),  # too many parts for GF(2^8)
            (M.POLYNOMIAL_SHARING_GF_2_16, b"odd", 3, 2, None),  # 16-bit pieces
            (M.POLYNOMIAL_SHARING_PRIME_FIELD, b"k", 3, 2, None),  # no prime
            (M.POLYNOMIAL_SHARING_PRIME_FIELD, b"k", 3, 2, 251),  # not bigger than 2^L
            (M.POLYNOMIAL_SHARING_PRIME_FIELD, b"k", 3, 2, 1 << 9 | 1 + 2),  # 515 = 5 * 103, not prime
            (99, b"k", 3, 2, None),
        ]
        for method, secret, parts, threshold, prime in cases:
            self.assertRaises(InvalidField, sk.split, method, secret, parts, threshold, prime=prime)

    def test_primality(self) -> None:
        self.assertTrue(sk.is_probable_prime((1 << 521) - 1))
        self.assertFalse(sk.is_probable_prime((1 << 521) + 1))
        self.assertFalse(sk.is_probable_prime(561))  # Carmichael
        self.assertTrue(sk.is_probable_prime(257))
