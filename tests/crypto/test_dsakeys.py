"""
Tests for L{kmipd.crypto.dsakeys}: DSA keys from and to Transparent DSA components (KMIP 2.1 3.5, 3.6).
"""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives.asymmetric import dsa
from twisted.trial.unittest import SynchronousTestCase

from kmipd.crypto import KeyFormatType as KFT
from kmipd.crypto import dsakeys
from kmipd.crypto.errors import INVALID_FIELD
from kmipd.crypto.keygen import convert_private_key, convert_public_key
from kmipd.testing import ReasonAssertions

KEY = dsa.generate_private_key(1024)


def small_domain() -> tuple[int, int, int]:
    """Fresh 512-bit DSA domain parameters (160-bit q), which C{cryptography} cannot generate."""
    while True:
        q = secrets.randbits(160) | (1 << 159) | 1
        if dsakeys._probable_prime(q):
            break
    while True:
        k = secrets.randbits(512 - 160) | (1 << (512 - 161))
        p = k * q + 1
        if p.bit_length() == 512 and dsakeys._probable_prime(p, 8):
            break
    h = 2
    while (g := pow(h, (p - 1) // q, p)) == 1:
        h += 1
    return p, q, g


def private_values(key: dsa.DSAPrivateKey) -> dict[str, object]:
    numbers = key.private_numbers()
    params = numbers.public_numbers.parameter_numbers
    return {"p": params.p, "q": params.q, "g": params.g, "x": numbers.x}


class DSAKeyTests(SynchronousTestCase, ReasonAssertions):
    """Transparent DSA components <-> C{cryptography} DSA keys, with their validity checks."""

    def test_round_trip(self) -> None:
        """A 1024-bit key's components build the same private and public key."""
        values = private_values(KEY)
        self.assertEqual(dsakeys.components(dsakeys.private_key(values)), values)
        y = KEY.public_key().public_numbers().y
        public = dsakeys.public_key({**values, "y": y})
        self.assertEqual(public.public_numbers(), KEY.public_key().public_numbers())
        self.assertEqual(dsakeys.components(public)["y"], y)

    def test_512_bit_key(self) -> None:
        """A 512-bit key (as in the KMIP profile vectors) loads although DSAPrivateNumbers refuses it."""
        p, q, g = small_domain()
        x = secrets.randbelow(q - 1) + 1
        private = dsakeys.private_key({"p": p, "q": q, "g": g, "x": x})
        self.assertEqual(private.key_size, 512)
        self.assertEqual(private.public_key().public_numbers().y, pow(g, x, p))
        public = dsakeys.public_key({"p": p, "q": q, "g": g, "y": pow(g, x, p)})
        self.assertEqual(public.key_size, 512)

    def test_keygen_conversions(self) -> None:
        """keygen serves DSA keys as Transparent DSA components and loads them back."""
        values = private_values(KEY)
        self.assertEqual(convert_private_key(values, KFT.TRANSPARENT_DSA_PRIVATE_KEY), values)
        pkcs8 = convert_private_key(values, KFT.PKCS_8)
        self.assertEqual(convert_private_key(pkcs8, KFT.TRANSPARENT_DSA_PRIVATE_KEY), values)
        public_values = {"p": values["p"], "q": values["q"], "g": values["g"],
                         "y": KEY.public_key().public_numbers().y}
        x509 = convert_public_key(public_values, KFT.X_509)
        self.assertIsInstance(x509, bytes)
        self.assertEqual(convert_public_key(x509, KFT.TRANSPARENT_DSA_PUBLIC_KEY), public_values)

    def test_refused(self) -> None:
        """Missing components, a g outside the order-q subgroup, x >= q, a y that is not g^x mod p,
        a q not dividing p - 1: each is Invalid Field."""
        values = private_values(KEY)
        p, q, g = values["p"], values["q"], values["g"]
        assert isinstance(p, int) and isinstance(q, int) and isinstance(g, int)
        y = KEY.public_key().public_numbers().y
        bad_private = [{k: v for k, v in values.items() if k != "g"}, {**values, "g": p - 1},
                       {**values, "x": q}, {**values, "x": 0}, {**values, "q": q + 2}, {**values, "p": p + 2}]
        for bad in bad_private:
            self.assertReason(INVALID_FIELD, dsakeys.private_key, bad)
        public = {"p": p, "q": q, "g": g}
        for bad_y in (y + 1, 1, p - 1, p + y):
            self.assertReason(INVALID_FIELD, dsakeys.public_key, {**public, "y": bad_y})
        self.assertReason(INVALID_FIELD, dsakeys.public_key, public)

    def test_oversized_components_refused_at_once(self) -> None:
        """A huge q (a Mersenne prime of 21,701 bits, whose primality test takes minutes) or p is
        refused by its size before any arithmetic: a Register cannot buy the server's CPU."""
        def no_arithmetic(*args: object, **kwargs: object) -> bool:
            raise AssertionError("primality test run on an oversized component")

        self.patch(dsakeys, "_probable_prime", no_arithmetic)
        q = (1 << 21701) - 1
        for values in ({"p": 2 * q + 1, "q": q, "g": 4, "y": 5}, {"p": (1 << 8192) + 1, "q": (1 << 255) + 1,
                                                                   "g": 4, "y": 5},
                       {"p": (1 << 511) + 1, "q": (1 << 255) + 1, "g": 4, "y": 5},
                       {"p": (1 << 1023) + 1, "q": (1 << 300) + 1, "g": 4, "y": 5}):
            self.assertReason(INVALID_FIELD, dsakeys.public_key, values)
