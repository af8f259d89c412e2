"""ChaCha20 nonce layouts, ChaCha20-Poly1305 variants and GCM tag lengths, against an independent
pure-Python ChaCha20 and Poly1305 (themselves checked on RFC 8439 vectors)."""

from __future__ import annotations

import struct

from twisted.trial.unittest import SynchronousTestCase

from kmipd.crypto.ciphers import CHACHA20_POLY1305_TAG_LENGTHS, GCM_TAG_LENGTHS, decrypt, encrypt
from kmipd.crypto.errors import CryptographicFailure, InvalidField
from kmipd.spec import BlockCipherMode as M
from kmipd.spec import CryptographicAlgorithm as CA

KEY = bytes(range(32))
SUNSCREEN = (b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, "
             b"sunscreen would be it.")


def _rotl(v: int, n: int) -> int:
    return ((v << n) & 0xFFFFFFFF) | (v >> (32 - n))


def chacha_block(key: bytes, words12to15: list[int]) -> bytes:
    """The ChaCha20 block function (RFC 8439 2.3) on state words 12-15 as given."""
    state = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574, *struct.unpack("<8I", key), *words12to15]
    x = list(state)

    def qr(a: int, b: int, c: int, d: int) -> None:
        x[a] = (x[a] + x[b]) & 0xFFFFFFFF
        x[d] = _rotl(x[d] ^ x[a], 16)
        x[c] = (x[c] + x[d]) & 0xFFFFFFFF
        x[b] = _rotl(x[b] ^ x[c], 12)
        x[a] = (x[a] + x[b]) & 0xFFFFFFFF
        x[d] = _rotl(x[d] ^ x[a], 8)
        x[c] = (x[c] + x[d]) & 0xFFFFFFFF
        x[b] = _rotl(x[b] ^ x[c], 7)

    for _ in range(10):
        qr(0, 4, 8, 12), qr(1, 5, 9, 13), qr(2, 6, 10, 14), qr(3, 7, 11, 15)
        qr(0, 5, 10, 15), qr(1, 6, 11, 12), qr(2, 7, 8, 13), qr(3, 4, 9, 14)
    return struct.pack("<16I", *[(a + b) & 0xFFFFFFFF for a, b in zip(x, state, strict=True)])


def chacha_xor(key: bytes, nonce: bytes, counter: int, data: bytes) -> bytes:
    """ChaCha20 with an 8-byte nonce (64-bit counter) or a 12-byte nonce (32-bit counter)."""
    out = bytearray()
    for i in range(0, len(data), 64):
        c = counter + i // 64
        if len(nonce) == 8:
            words = [c & 0xFFFFFFFF, c >> 32, *struct.unpack("<2I", nonce)]
        else:
            words = [c, *struct.unpack("<3I", nonce)]
        block = chacha_block(key, words)
        out += bytes(a ^ b for a, b in zip(data[i:i + 64], block, strict=False))
    return bytes(out)


def poly1305(key: bytes, msg: bytes) -> bytes:
    """Poly1305 (RFC 8439 2.5) with big integers."""
    r = int.from_bytes(key[:16], "little") & 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
    s = int.from_bytes(key[16:], "little")
    p = (1 << 130) - 5
    acc = 0
    for i in range(0, len(msg), 16):
        block = msg[i:i + 16] + b"\x01"
        acc = (acc + int.from_bytes(block, "little")) * r % p
    return ((acc + s) & ((1 << 128) - 1)).to_bytes(16, "little")


class ReferenceTests(SynchronousTestCase):
    """The references reproduce RFC 8439's published vectors."""

    def test_block(self) -> None:
        """RFC 8439 2.3.2: counter 1, nonce 000000090000004a00000000."""
        nonce = bytes.fromhex("000000090000004a00000000")
        block = chacha_block(KEY, [1, *struct.unpack("<3I", nonce)])
        self.assertEqual(block[:16].hex(), "10f1e7e4d13b5915500fdd1fa32071c4")

    def test_encryption(self) -> None:
        """RFC 8439 2.4.2: the sunscreen text, counter 1."""
        ct = chacha_xor(KEY, bytes.fromhex("000000000000004a00000000"), 1, SUNSCREEN)
        self.assertEqual(ct[:16].hex(), "6e2e359a2568f98041ba0728dd0d6981")

    def test_poly1305(self) -> None:
        """RFC 8439 2.5.2."""
        key = bytes.fromhex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b")
        self.assertEqual(poly1305(key, b"Cryptographic Forum Research Group").hex(),
                         "a8061dc1305136c6c22b8baf0c0127a9")


class ChaCha20LayoutTests(SynchronousTestCase):
    def test_rfc8439_with_initial_counter(self) -> None:
        nonce = bytes.fromhex("000000000000004a00000000")
        out = encrypt(CA.CHACHA20, KEY, SUNSCREEN, iv=nonce, initial_counter=1)
        self.assertEqual(out.data, chacha_xor(KEY, nonce, 1, SUNSCREEN))
        self.assertIsNone(out.iv)
        self.assertEqual(decrypt(CA.CHACHA20, KEY, out.data, iv=nonce, initial_counter=1), SUNSCREEN)

    def test_eight_byte_nonce_64_bit_counter(self) -> None:
        """[CHACHA]'s layout: the counter carries from word 12 into word 13."""
        nonce = bytes.fromhex("0102030405060708")
        data = bytes(range(200))
        out = encrypt(CA.CHACHA20, KEY, data, iv=nonce, initial_counter=0xFFFFFFFF)
        self.assertEqual(out.data, chacha_xor(KEY, nonce, 0xFFFFFFFF, data))
        self.assertEqual(encrypt(CA.CHACHA20, KEY, data, iv=nonce).data, chacha_xor(KEY, nonce, 0, data))

    def test_sixteen_byte_block(self) -> None:
        nonce = bytes.fromhex("000000000000004a00000000")
        block = (1).to_bytes(4, "little") + nonce
        self.assertEqual(encrypt(CA.CHACHA20, KEY, SUNSCREEN, iv=block).data, chacha_xor(KEY, nonce, 1, SUNSCREEN))

    def test_refusals(self) -> None:
        cases = [
            dict(iv=bytes(7)),
            dict(iv=bytes(24)),
            dict(iv=bytes(16), initial_counter=1),  # the block already holds the counter
            dict(iv=bytes(12), initial_counter=0xFFFFFFFF),  # 2 blocks: the 32-bit counter would wrap
            dict(iv=bytes(12), initial_counter=-1),
            dict(iv_length=128),
            dict(counter_length=48),
        ]
        for kw in cases:
            self.assertRaises(InvalidField, encrypt, CA.CHACHA20, KEY, bytes(100), **kw)
        self.assertEqual(len(encrypt(CA.CHACHA20, KEY, bytes(100), iv=bytes(12), initial_counter=0xFFFFFFFE).data),
                         100)

    def test_generated_nonce_layouts(self) -> None:
        """IV Length 64 or Counter Length 64 ask for the 8-byte layout; the default is 12 bytes."""
        for kw, size in (({}, 12), (dict(iv_length=96), 12), (dict(iv_length=64), 8), (dict(counter_length=64), 8),
                         (dict(counter_length=32), 12)):
            out = encrypt(CA.CHACHA20, KEY, b"data", random_iv=True, **kw)
            self.assertEqual(len(out.iv), size, kw)
            self.assertEqual(out.data, chacha_xor(KEY, out.iv, 0, b"data"))


class ChaCha20Poly1305Tests(SynchronousTestCase):
    def test_rfc8439(self) -> None:
        """The 12-byte nonce: Poly1305 key from block 0, padded MAC input (RFC 8439 2.8)."""
        nonce, aad = bytes.fromhex("070000004041424344454647"), bytes.fromhex("50515253c0c1c2c3c4c5c6c7")
        out = encrypt(CA.CHACHA20POLY1305, KEY, SUNSCREEN, iv=nonce, aad=aad)
        self.assertEqual(out.data, chacha_xor(KEY, nonce, 1, SUNSCREEN))

        def pad(b: bytes) -> bytes:
            return b + bytes(-len(b) % 16)

        poly_key = chacha_block(KEY, [0, *struct.unpack("<3I", nonce)])[:32]
        mac = pad(aad) + pad(out.data) + struct.pack("<QQ", len(aad), len(out.data))
        self.assertEqual(out.tag, poly1305(poly_key, mac))

    def test_eight_byte_nonce(self) -> None:
        """The original construction: unpadded AAD || len || ciphertext || len, 64-bit lengths."""
        nonce, aad = bytes.fromhex("0102030405060708"), b"header"
        out = encrypt(CA.CHACHA20POLY1305, KEY, SUNSCREEN, iv=nonce, aad=aad)
        self.assertEqual(out.data, chacha_xor(KEY, nonce, 1, SUNSCREEN))
        poly_key = chacha_block(KEY, [0, 0, *struct.unpack("<2I", nonce)])[:32]
        mac = aad + struct.pack("<Q", len(aad)) + out.data + struct.pack("<Q", len(out.data))
        self.assertEqual(out.tag, poly1305(poly_key, mac))
        self.assertEqual(decrypt(CA.CHACHA20POLY1305, KEY, out.data, iv=nonce, aad=aad, tag=out.tag), SUNSCREEN)
        bad = bytes([out.tag[0] ^ 1]) + out.tag[1:]
        self.assertRaises(CryptographicFailure, decrypt, CA.CHACHA20POLY1305, KEY, out.data, iv=nonce, aad=aad,
                          tag=bad)

    def test_refusals(self) -> None:
        for kw in (dict(iv=bytes(24)), dict(iv=bytes(16)), dict(iv=bytes(12), tag_length=11),
                   dict(iv=bytes(12), initial_counter=1), dict(iv_length=128)):
            self.assertRaises(InvalidField, encrypt, CA.CHACHA20POLY1305, KEY, b"x", **kw)
        self.assertRaises(InvalidField, decrypt, CA.CHACHA20POLY1305, KEY, b"x", iv=bytes(12), tag=bytes(8))

    def test_generated_nonce(self) -> None:
        for kw, size in (({}, 12), (dict(iv_length=64), 8)):
            out = encrypt(CA.CHACHA20POLY1305, KEY, b"data", random_iv=True, **kw)
            self.assertEqual(len(out.iv), size)
            self.assertEqual(decrypt(CA.CHACHA20POLY1305, KEY, out.data, iv=out.iv, tag=out.tag), b"data")


#: RFC 8439 2.8.2: the AEAD test vector (key 80..9f, the sunscreen text).
RFC_KEY = bytes(range(0x80, 0xA0))
RFC_NONCE = bytes.fromhex("070000004041424344454647")
RFC_AAD = bytes.fromhex("50515253c0c1c2c3c4c5c6c7")
RFC_TAG = bytes.fromhex("1ae10b594f09e26a7e902ecbd0600691")


def _flip(b: bytes, i: int) -> bytes:
    return b[:i] + bytes([b[i] ^ 0x01]) + b[i + 1:]


class ChaCha20Poly1305TagLengthTests(SynchronousTestCase):
    """Tag Length 12-16: a truncated tag is the full tag's prefix (KMIP 2.1 profile vector
    CS-BC-M-CHACHA20POLY1305-1-21 decrypts the RFC 8439 2.8.2 text with its first 12 bytes)."""

    def setUp(self) -> None:
        self.ct = chacha_xor(RFC_KEY, RFC_NONCE, 1, SUNSCREEN)

    def open(self, tag: bytes, data: bytes | None = None, nonce: bytes = RFC_NONCE) -> bytes:
        return decrypt(CA.CHACHA20POLY1305, RFC_KEY, self.ct if data is None else data, iv=nonce, aad=RFC_AAD,
                       tag=tag)

    def test_accepted_lengths(self) -> None:
        self.assertEqual(CHACHA20_POLY1305_TAG_LENGTHS, frozenset({12, 13, 14, 15, 16}))

    def test_known_answer_truncated_tag_decrypts(self) -> None:
        """RFC 8439 2.8.2's tag cut to 12 (and 13-16) bytes: the plaintext."""
        for n in range(12, 17):
            self.assertEqual(self.open(RFC_TAG[:n]), SUNSCREEN, n)

    def test_wrong_truncated_tag_fails(self) -> None:
        """A flipped byte of the 12-byte tag, of the ciphertext or a different AAD: Cryptographic Failure."""
        tag = RFC_TAG[:12]
        for i in (0, 5, 11):
            self.assertRaises(CryptographicFailure, self.open, _flip(tag, i))
        self.assertRaises(CryptographicFailure, self.open, tag, _flip(self.ct, 0))
        self.assertRaises(CryptographicFailure, decrypt, CA.CHACHA20POLY1305, RFC_KEY, self.ct, iv=RFC_NONCE,
                          aad=b"other", tag=tag)
        self.assertRaises(CryptographicFailure, self.open, RFC_TAG[:12], nonce=_flip(RFC_NONCE, 0))

    def test_encrypt_returns_prefix(self) -> None:
        for n in range(12, 17):
            out = encrypt(CA.CHACHA20POLY1305, RFC_KEY, SUNSCREEN, iv=RFC_NONCE, aad=RFC_AAD, tag_length=n)
            self.assertEqual((out.data, out.tag), (self.ct, RFC_TAG[:n]))

    def test_refused_lengths(self) -> None:
        """Tag Lengths 1, 11, 17 and 32 on Encrypt, and tags of those lengths on Decrypt: Invalid Field."""
        for n in (1, 11, 17, 32):
            self.assertRaises(InvalidField, encrypt, CA.CHACHA20POLY1305, RFC_KEY, SUNSCREEN, iv=RFC_NONCE,
                              tag_length=n)
            self.assertRaises(InvalidField, self.open, (RFC_TAG * 2)[:n])
        self.assertRaises(InvalidField, self.open, b"")

    def test_eight_byte_nonce(self) -> None:
        """The original construction truncates the same way."""
        nonce = bytes.fromhex("0102030405060708")
        full = encrypt(CA.CHACHA20POLY1305, KEY, SUNSCREEN, iv=nonce, aad=b"h")
        short = encrypt(CA.CHACHA20POLY1305, KEY, SUNSCREEN, iv=nonce, aad=b"h", tag_length=12)
        self.assertEqual((short.data, short.tag), (full.data, full.tag[:12]))
        self.assertEqual(decrypt(CA.CHACHA20POLY1305, KEY, short.data, iv=nonce, aad=b"h", tag=short.tag), SUNSCREEN)
        self.assertRaises(CryptographicFailure, decrypt, CA.CHACHA20POLY1305, KEY, short.data, iv=nonce, aad=b"h",
                          tag=_flip(short.tag, 11))
        for n in (1, 11, 17, 32):
            self.assertRaises(InvalidField, encrypt, CA.CHACHA20POLY1305, KEY, b"m", iv=nonce, tag_length=n)
            self.assertRaises(InvalidField, decrypt, CA.CHACHA20POLY1305, KEY, b"m", iv=nonce, tag=bytes(n))


class GCMTagLengthTests(SynchronousTestCase):
    def test_sp800_38d_lengths(self) -> None:
        """16, 15, 14, 13, 12, 8 and 4 bytes; the others are refused."""
        self.assertEqual(GCM_TAG_LENGTHS, frozenset({4, 8, 12, 13, 14, 15, 16}))
        key, iv = bytes(16), bytes(12)
        for n in range(0, 20):
            if n in GCM_TAG_LENGTHS:
                out = encrypt(CA.AES, key, b"msg", mode=M.GCM, iv=iv, tag_length=n)
                self.assertEqual(len(out.tag), n)
                self.assertEqual(decrypt(CA.AES, key, out.data, mode=M.GCM, iv=iv, tag=out.tag), b"msg")
            else:
                self.assertRaises(InvalidField, encrypt, CA.AES, key, b"msg", mode=M.GCM, iv=iv, tag_length=n)
