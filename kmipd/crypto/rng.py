# -*- test-case-name: tests.crypto.test_rng -*-
"""
The random number generator behind every piece of key material kmipd makes.

All of it comes from OpenSSL's public DRBG: symmetric keys, Secret Data, split-key coefficients
and RNG Retrieve through C{RAND_bytes} (here, via the C{ssl} module), key pairs inside OpenSSL
through the C{cryptography} package. OpenSSL 3 instantiates its DRBGs as CTR_DRBG over AES-256
(SP 800-90A, with derivation function), seeded from the operating system; that is the generator
L{DRBG} names, in the terms of KMIP's RNG Parameters (spec 2.1 section 7.36, 1.4 section 2.1.18).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from kmipd.spec import CryptographicAlgorithm, DRBGAlgorithm, RNGAlgorithm

__all__ = ["DRBG", "RNGDescription", "random_bytes"]


@dataclass(frozen=True)
class RNGDescription:
    """A generator in the fields of KMIP's RNG Parameters."""

    rng_algorithm: int
    drbg_algorithm: int | None = None
    cryptographic_algorithm: int | None = None
    cryptographic_length: int | None = None


#: OpenSSL 3's default DRBG: CTR_DRBG with AES-256.
DRBG = RNGDescription(RNGAlgorithm.DRBG, DRBGAlgorithm.CTR, CryptographicAlgorithm.AES, 256)


def random_bytes(n: int) -> bytes:
    """C{n} bytes from OpenSSL's DRBG (C{RAND_bytes})."""
    if n < 0:
        raise ValueError("negative length")
    return ssl.RAND_bytes(n) if n else b""
