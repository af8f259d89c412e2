# -*- test-case-name: tests.crypto.test_derlimits -*-
"""Size limits on DER key material, checked before OpenSSL loads it.

Loading a key costs what its numbers cost: OpenSSL checks an RSA private key's primes and
computes a DSA private key's y = g^x mod p, so a Register of a 65,536-bit DSA key kept a pool
thread busy for a minute. L{check_key_der} walks the DER (PKCS#1, PKCS#8, SEC1, SubjectPublicKeyInfo,
the RFC 3279 DSA parameters), reading only tags and lengths, and refuses any INTEGER longer than
L{MAX_INTEGER_BITS} (16,384: RSA keys up to that size) or, for a DSA key (id-dsa), longer than
the DSA limit of L{kmipd.crypto.dsakeys}. Bytes that are not DER are left to the loader.
"""

from __future__ import annotations

from kmipd.crypto.dsakeys import P_BITS
from kmipd.crypto.errors import InvalidField

__all__ = ["MAX_INTEGER_BITS", "check_key_der"]

#: The largest INTEGER a key may hold (bits): an RSA modulus of 16,384 bits.
MAX_INTEGER_BITS = 16384
#: DER of the id-dsa object identifier 1.2.840.10040.4.1 (RFC 3279 section 2.3.2).
_ID_DSA = bytes.fromhex("06072a8648ce380401")
_INTEGER, _BIT_STRING, _OCTET_STRING = 0x02, 0x03, 0x04
_MAX_DEPTH = 8


def check_key_der(der: bytes, max_bits: int | None = None) -> None:
    """Refuse DER key material holding an INTEGER over the limit (see the module docstring).

    @raise InvalidField: a number in the key is too large.
    """
    if max_bits is None:
        max_bits = P_BITS[1] if _ID_DSA in der else MAX_INTEGER_BITS
    largest = _largest_integer(bytes(der), 0, len(der), 0)
    if largest is not None and largest > (max_bits + 7) // 8 + 1:  # + the sign byte
        raise InvalidField(f"The key holds a number of more than {max_bits} bits.")


def _header(der: bytes, at: int, end: int) -> tuple[int, int, int] | None:
    """(tag, content start, content end) of the item at C{at}, or C{None} if it is not DER."""
    if at + 2 > end:
        return None
    tag, first = der[at], der[at + 1]
    at += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or at + count > end:
            return None
        length = int.from_bytes(der[at:at + count], "big")
        at += count
    if at + length > end:
        return None
    return tag, at, at + length


def _largest_integer(der: bytes, at: int, end: int, depth: int) -> int | None:
    """The length of the longest INTEGER in C{der[at:end]} (C{None}: not DER, or none)."""
    largest: int | None = None
    while at < end:
        item = _header(der, at, end)
        if item is None:
            return largest
        tag, start, stop = item
        found: int | None = None
        if tag == _INTEGER:
            found = stop - start
        elif depth < _MAX_DEPTH and (tag & 0x20 or tag in (_OCTET_STRING, _BIT_STRING)):
            # constructed: its items; OCTET/BIT STRING: an encapsulated key (PKCS#8, SPKI), if DER
            inner = start + 1 if tag == _BIT_STRING else start
            found = _largest_integer(der, inner, stop, depth + 1)
        if found is not None and (largest is None or found > largest):
            largest = found
        at = stop
    return largest
