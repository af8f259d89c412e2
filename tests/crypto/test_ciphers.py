"""
Tests for L{kmipd.crypto.ciphers}.

Known-answer vectors and their sources:
  - AES-128 ECB/CBC/CFB/OFB/CTR: NIST SP 800-38A appendix F (F.1.1, F.2.1,
    F.3.13, F.4.1, F.5.1), first two blocks.
  - AES-128-GCM: McGrew & Viega, "The Galois/Counter Mode of Operation",
    test case 4 (60-byte plaintext with AAD).
  - AES-256-XTS: NIST CAVP XTSGenAES256.rsp COUNT 1 (tweak given as hex).
  - 3DES: NIST CAVP TECBMMT3.rsp COUNT 0.
  - Blowfish: Eric Young's test vectors (all-zero key and block).
  - CAST5: RFC 2144 appendix B.1, 128-bit key.
  - Camellia: RFC 3713 appendix A, 128-bit key.
  - IDEA: NESSIE Idea-128-64 set 1 vector 0.
  - SEED: RFC 4269 appendix B.1.
  - RC4: RFC 6229, 40-bit key 0102030405, keystream offset 0.
  - ChaCha20 and ChaCha20-Poly1305: RFC 8439 sections 2.4.2 and 2.8.2.
"""

from __future__ import annotations

import os
from functools import cache

from twisted.trial.unittest import SynchronousTestCase

from kmipd.crypto import BlockCipherMode as M
from kmipd.crypto import CryptographicAlgorithm as CA
from kmipd.crypto import HashingAlgorithm as HA
from kmipd.crypto import PaddingMethod as P
from kmipd.crypto.ciphers import decrypt, encrypt, supported_modes
from kmipd.crypto.errors import (
    CRYPTOGRAPHIC_FAILURE,
    INVALID_FIELD,
    UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS,
    CryptoError,
    InvalidField,
)
from kmipd.crypto.keygen import generate_key_pair
from kmipd.testing import ReasonAssertions

h = bytes.fromhex

AES_KEY = h("2b7e151628aed2a6abf7158809cf4f3c")
PT2 = h("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51")
IV = h("000102030405060708090a0b0c0d0e0f")

SUNSCREEN = (
    b"Ladies and Gentlemen of the class of '99: If I could offer you only one "
    b"tip for the future, sunscreen would be it."
)


@cache
def rsa_pair():
    """One 2048-bit RSA key pair shared by the RSA tests."""
    return generate_key_pair(CA.RSA, 2048)




class AESKnownAnswerTests(SynchronousTestCase):
    """AES against the NIST SP 800-38A, GCM and XTS vectors."""

    def check(self, mode, iv, expected, **kw):
        """Encrypt PT2 with AES_KEY and compare, then decrypt back."""
        out = encrypt(CA.AES, AES_KEY, PT2, mode=mode, iv=iv, **kw)
        self.assertEqual(out.data, expected)
        self.assertIsNone(out.iv)
        self.assertEqual(decrypt(CA.AES, AES_KEY, expected, mode=mode, iv=iv, **kw), PT2)

    def test_ecb(self):
        """AES-128-ECB without padding matches SP 800-38A F.1.1."""
        self.check(
            M.ECB,
            None,
            h("3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf"),
            padding=P.NONE,
        )

    def test_cbc(self):
        """AES-128-CBC without padding matches SP 800-38A F.2.1."""
        self.check(
            M.CBC,
            IV,
            h("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"),
        )

    def test_cfb(self):
        """AES-128-CFB128 matches SP 800-38A F.3.13."""
        self.check(
            M.CFB,
            IV,
            h("3b3fd92eb72dad20333449f8e83cfb4ac8a64537a0b3a93fcde3cdad9f1ce58b"),
        )

    def test_ofb(self):
        """AES-128-OFB matches SP 800-38A F.4.1."""
        self.check(
            M.OFB,
            IV,
            h("3b3fd92eb72dad20333449f8e83cfb4a7789508d16918f03f53c52dac54ed825"),
        )

    def test_ctr(self):
        """AES-128-CTR matches SP 800-38A F.5.1."""
        self.check(
            M.CTR,
            h("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"),
            h("874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"),
        )

    def test_gcm(self):
        """AES-128-GCM with AAD matches GCM test case 4, tag included."""
        key = h("feffe9928665731c6d6a8f9467308308")
        iv = h("cafebabefacedbaddecaf888")
        pt = h(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
            "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
        )
        aad = h("feedfacedeadbeeffeedfacedeadbeefabaddad2")
        ct = h(
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
            "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
        )
        tag = h("5bc94fbc3221a5db94fae95ae7121a47")
        out = encrypt(CA.AES, key, pt, mode=M.GCM, iv=iv, aad=aad, tag_length=16)
        self.assertEqual((out.data, out.tag), (ct, tag))
        self.assertEqual(decrypt(CA.AES, key, ct, mode=M.GCM, iv=iv, aad=aad, tag=tag), pt)
        short = encrypt(CA.AES, key, pt, mode=M.GCM, iv=iv, aad=aad, tag_length=12)
        self.assertEqual(short.tag, tag[:12])
        self.assertEqual(decrypt(CA.AES, key, ct, mode=M.GCM, iv=iv, aad=aad, tag=tag[:12]), pt)

    def test_xts(self):
        """AES-256-XTS matches CAVP XTSGenAES256 COUNT 1."""
        key = h(
            "1ea661c58d943a0e4801e42f4b0947149e7f9f8e3e68d0c7505210bd311a0e7c"
            "d6e13ffdf2418d8d1911c004cda58da3d619b7e2b9141e58318eea392cf41b08"
        )
        tweak = h("adf8d92627464ad2f0428e84a9f87564")
        pt = h("2eedea52cd8215e1acc647e810bbc3642e87287f8d2e57e36c0a24fbc12a202e")
        ct = h("cbaad0e2f6cea3f50b37f934d46a9b130b9d54f07e34f36af793e86f73c6d7db")
        self.assertEqual(encrypt(CA.AES, key, pt, mode=M.XTS, iv=tweak).data, ct)
        self.assertEqual(decrypt(CA.AES, key, ct, mode=M.XTS, iv=tweak), pt)

    def test_nist_key_wrap_mode(self):
        """The NISTKeyWrap mode gives the RFC 3394 section 4.1 answer."""
        kek = h("000102030405060708090A0B0C0D0E0F")
        key = h("00112233445566778899AABBCCDDEEFF")
        wrapped = h("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")
        self.assertEqual(encrypt(CA.AES, kek, key, mode=M.NISTKEYWRAP).data, wrapped)
        self.assertEqual(decrypt(CA.AES, kek, wrapped, mode=M.NISTKEYWRAP), key)

    def test_key_wrap_padding_mode(self):
        """The AESKeyWrapPadding mode gives the RFC 5649 section 6 answer."""
        kek = h("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8")
        out = encrypt(CA.AES, kek, h("466f7250617369"), mode=M.AESKEYWRAPPADDING)
        self.assertEqual(out.data, h("afbeb0f07dfbf5419200f2ccb50bb24f"))


class LegacyCipherKnownAnswerTests(SynchronousTestCase):
    """Single-block ECB vectors for the other block ciphers, plus stream ciphers."""

    def check(self, algorithm, key, pt, ct):
        """ECB without padding encrypts C{pt} to C{ct} and back."""
        self.assertEqual(encrypt(algorithm, key, pt, mode=M.ECB).data, ct)
        self.assertEqual(decrypt(algorithm, key, ct, mode=M.ECB), pt)

    def test_triple_des(self):
        """3DES three-key ECB matches CAVP TECBMMT3 COUNT 0."""
        self.check(
            CA.TRIPLE_DES,
            h("a2b5bc67da13dc92cd9d344aa238544a0e1fa79ef76810cd"),
            h("329d86bdf1bc5af4"),
            h("d946c2756d78633f"),
        )

    def test_triple_des_short_keys(self):
        """64- and 128-bit 3DES keys behave as K1=K2=K3 and K3=K1 bundles."""
        k1, k2 = h("0123456789abcdef"), h("fedcba9876543210")
        block = b"8 bytes!"
        self.assertEqual(
            encrypt(CA.TRIPLE_DES, k1, block, mode=M.ECB).data,
            encrypt(CA.TRIPLE_DES, k1 * 3, block, mode=M.ECB).data,
        )
        self.assertEqual(
            encrypt(CA.TRIPLE_DES, k1 + k2, block, mode=M.ECB).data,
            encrypt(CA.TRIPLE_DES, k1 + k2 + k1, block, mode=M.ECB).data,
        )

    def test_blowfish(self):
        """Blowfish matches Eric Young's all-zero vector."""
        self.check(CA.BLOWFISH, bytes(8), bytes(8), h("4ef997456198dd78"))

    def test_cast5(self):
        """CAST5 matches RFC 2144 B.1 (128-bit key)."""
        self.check(
            CA.CAST5,
            h("0123456712345678234567893456789a"),
            h("0123456789abcdef"),
            h("238b4fe5847e44b2"),
        )

    def test_camellia(self):
        """Camellia-128 matches RFC 3713 appendix A."""
        self.check(
            CA.CAMELLIA,
            h("0123456789abcdeffedcba9876543210"),
            h("0123456789abcdeffedcba9876543210"),
            h("67673138549669730857065648eabe43"),
        )

    def test_idea(self):
        """IDEA matches NESSIE set 1 vector 0."""
        self.check(
            CA.IDEA,
            h("80000000000000000000000000000000"),
            bytes(8),
            h("b1f5f7f87901370f"),
        )

    def test_seed(self):
        """SEED matches RFC 4269 B.1."""
        self.check(
            CA.SEED,
            bytes(16),
            h("000102030405060708090a0b0c0d0e0f"),
            h("5ebac6e0054e166819aff1cc6d346cdb"),
        )

    def test_rc4(self):
        """RC4 with the 40-bit RFC 6229 key produces the published keystream."""
        out = encrypt(CA.RC4, h("0102030405"), bytes(16))
        self.assertEqual(out.data, h("b2396305f03dc027ccc3524a0a1118a8"))
        self.assertEqual(decrypt(CA.RC4, h("0102030405"), out.data), bytes(16))

    def test_chacha20(self):
        """ChaCha20 with counter 1 matches RFC 8439 2.4.2 (16-byte nonce form)."""
        key = bytes(range(32))
        nonce = h("01000000") + h("000000000000004a00000000")
        ct = h(
            "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
            "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
            "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
            "5af90bbf74a35be6b40b8eedf2785e42874d"
        )
        self.assertEqual(encrypt(CA.CHACHA20, key, SUNSCREEN, iv=nonce).data, ct)
        self.assertEqual(decrypt(CA.CHACHA20, key, ct, iv=nonce), SUNSCREEN)

    def test_chacha20_poly1305(self):
        """ChaCha20-Poly1305 matches RFC 8439 2.8.2, tag returned separately."""
        key = h("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
        nonce = h("070000004041424344454647")
        aad = h("50515253c0c1c2c3c4c5c6c7")
        ct = h(
            "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
            "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
            "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
            "3ff4def08e4b7a9de576d26586cec64b6116"
        )
        tag = h("1ae10b594f09e26a7e902ecbd0600691")
        out = encrypt(CA.CHACHA20POLY1305, key, SUNSCREEN, iv=nonce, aad=aad)
        self.assertEqual((out.data, out.tag, out.iv), (ct, tag, None))
        self.assertEqual(
            decrypt(CA.CHACHA20POLY1305, key, ct, iv=nonce, tag=tag, aad=aad),
            SUNSCREEN,
        )


class RoundTripTests(SynchronousTestCase):
    """Every algorithm and mode decrypts what it encrypted, with generated IVs."""

    def test_block_modes(self):
        """Each block cipher round-trips through each supported mode with PKCS5 padding."""
        data = b"an odd-length message of 37 bytes!!!!"
        keys = {
            CA.AES: 32,
            CA.TRIPLE_DES: 24,
            CA.BLOWFISH: 16,
            CA.CAMELLIA: 32,
            CA.CAST5: 16,
            CA.IDEA: 16,
            CA.SEED: 16,
        }
        for algorithm, size in keys.items():
            key = os.urandom(size)
            for mode in supported_modes(algorithm) - {M.XTS, M.NISTKEYWRAP}:
                out = encrypt(algorithm, key, data, mode=mode, padding=P.PKCS5)
                back = decrypt(
                    algorithm,
                    key,
                    out.data,
                    mode=mode,
                    padding=P.PKCS5,
                    iv=out.iv,
                    tag=out.tag,
                )
                self.assertEqual(back, data, (algorithm, mode))

    def test_generated_iv_sizes(self):
        """Generated IVs have the block size (CBC), 12 bytes (GCM) or the requested IV length."""
        key = os.urandom(16)
        self.assertEqual(len(encrypt(CA.AES, key, b"x", mode=M.CBC, padding=P.PKCS5).iv), 16)
        self.assertEqual(
            len(
                encrypt(
                    CA.TRIPLE_DES,
                    os.urandom(24),
                    b"x",
                    mode=M.CBC,
                    padding=P.PKCS5,
                    random_iv=True,
                ).iv
            ),
            8,
        )
        self.assertEqual(len(encrypt(CA.AES, key, b"x", mode=M.GCM).iv), 12)
        self.assertEqual(len(encrypt(CA.AES, key, b"x", mode=M.GCM, iv_length=128).iv), 16)

    def test_generated_ivs_differ(self):
        """Two encryptions of the same data with generated IVs differ."""
        key = os.urandom(16)
        a = encrypt(CA.AES, key, b"same", mode=M.CBC, padding=P.PKCS5)
        b = encrypt(CA.AES, key, b"same", mode=M.CBC, padding=P.PKCS5)
        self.assertNotEqual((a.iv, a.data), (b.iv, b.data))

    def test_ansi_x923(self):
        """ANSI X9.23 padding fills with zeros and a length byte, and is removed again."""
        key = bytes(16)
        out = encrypt(CA.AES, key, b"abc", mode=M.ECB, padding=P.ANSI_X9_23)
        raw = decrypt(CA.AES, key, out.data, mode=M.ECB)
        self.assertEqual(raw, b"abc" + bytes(12) + b"\x0d")
        self.assertEqual(decrypt(CA.AES, key, out.data, mode=M.ECB, padding=P.ANSI_X9_23), b"abc")

    def test_pkcs5_padding_bytes(self):
        """PKCS5 padding appends N bytes of value N, visible when decrypting without padding."""
        key = bytes(16)
        out = encrypt(CA.AES, key, b"abc", mode=M.ECB, padding=P.PKCS5)
        self.assertEqual(decrypt(CA.AES, key, out.data, mode=M.ECB), b"abc" + b"\x0d" * 13)

    def test_chacha20_generated_nonce(self):
        """ChaCha20 generates a 12-byte RFC 8439 nonce (counter 0), usable to decrypt, also as a block."""
        key = os.urandom(32)
        out = encrypt(CA.CHACHA20, key, b"hello", random_iv=True)
        self.assertEqual(len(out.iv), 12)
        self.assertEqual(decrypt(CA.CHACHA20, key, out.data, iv=out.iv), b"hello")
        self.assertEqual(decrypt(CA.CHACHA20, key, out.data, iv=bytes(4) + out.iv), b"hello")

    def test_rsa_oaep(self):
        """RSA-OAEP round-trips with default SHA-1 and with SHA-256 hashes."""
        pair = rsa_pair()
        for kw in ({}, {"hashing_algorithm": HA.SHA_256, "mgf_hash": HA.SHA_256}):
            ct = encrypt(CA.RSA, pair.public_der, b"secret", padding=P.OAEP, **kw).data
            self.assertEqual(len(ct), 256)
            self.assertEqual(decrypt(CA.RSA, pair.private_der, ct, padding=P.OAEP, **kw), b"secret")

    def test_rsa_oaep_hash_mismatch(self):
        """OAEP decryption with a different hash than encryption fails cryptographically."""
        pair = rsa_pair()
        ct = encrypt(
            CA.RSA,
            pair.public_der,
            b"secret",
            padding=P.OAEP,
            hashing_algorithm=HA.SHA_256,
        ).data
        err = self.assertRaises(CryptoError, decrypt, CA.RSA, pair.private_der, ct, padding=P.OAEP)
        self.assertEqual(err.reason, CRYPTOGRAPHIC_FAILURE)

    def test_rsa_pkcs1v15(self):
        """RSA PKCS#1 v1.5 encryption round-trips, also when given the private key to encrypt."""
        pair = rsa_pair()
        for key in (pair.public_der, pair.private_der):
            ct = encrypt(CA.RSA, key, b"secret", padding=P.PKCS1_V1_5).data
            self.assertEqual(decrypt(CA.RSA, pair.private_der, ct, padding=P.PKCS1_V1_5), b"secret")


class CipherErrorTests(ReasonAssertions, SynchronousTestCase):
    """Bad parameters give named errors with the right KMIP reason."""

    def test_missing_algorithm(self):
        """No algorithm is an Invalid Field."""
        self.assertReason(INVALID_FIELD, encrypt, None, bytes(16), b"x")

    def test_unsupported_algorithm(self):
        """An algorithm with no cipher (DSA) is an Invalid Field naming it."""
        err = self.assertReason(INVALID_FIELD, encrypt, CA.DSA, bytes(16), b"x")
        self.assertIn("DSA", err.message)

    def test_missing_mode(self):
        """A block cipher without a mode is an Invalid Field asking for one."""
        err = self.assertReason(INVALID_FIELD, encrypt, CA.AES, bytes(16), b"x")
        self.assertIn("block cipher mode is required", err.message)

    def test_unsupported_mode(self):
        """A mode the spec defines with no implementation (PCBC) is Unsupported (an Invalid Field);
        a value the spec does not define is a plain Invalid Field."""
        err = self.assertReason(UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS, encrypt, CA.AES, bytes(16), b"x", mode=M.PCBC)
        self.assertIsInstance(err, InvalidField)
        self.assertReason(INVALID_FIELD, encrypt, CA.AES, bytes(16), b"x", mode=0x7777)
        self.assertReason(UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS, encrypt, CA.AES, bytes(16), b"x", mode=M.CBC,
                          padding=P.SSL3)

    def test_mode_not_for_algorithm(self):
        """GCM with 3DES and CTR with Camellia are rejected."""
        self.assertReason(INVALID_FIELD, encrypt, CA.TRIPLE_DES, bytes(24), b"x", mode=M.GCM)
        self.assertReason(INVALID_FIELD, encrypt, CA.CAMELLIA, bytes(16), b"x", mode=M.CTR)

    def test_wrong_key_length(self):
        """A 15-byte AES key is an Invalid Field naming the valid lengths."""
        err = self.assertReason(INVALID_FIELD, encrypt, CA.AES, bytes(15), b"x", mode=M.CBC)
        self.assertIn("128, 192, 256", err.message)

    def test_no_padding_requires_block_multiple(self):
        """Without padding, ECB/CBC data must be a block multiple."""
        self.assertReason(
            INVALID_FIELD,
            encrypt,
            CA.AES,
            bytes(16),
            b"x" * 17,
            mode=M.CBC,
            padding=P.NONE,
        )
        self.assertReason(
            INVALID_FIELD,
            decrypt,
            CA.AES,
            bytes(16),
            b"x" * 17,
            mode=M.CBC,
            iv=IV,
            padding=P.PKCS5,
        )

    def test_unsupported_padding(self):
        """OAEP padding on AES is an Invalid Field."""
        self.assertReason(INVALID_FIELD, encrypt, CA.AES, bytes(16), b"x", mode=M.CBC, padding=P.OAEP)

    def test_bad_padding_on_decrypt(self):
        """Ciphertext whose plaintext is not PKCS5-padded fails cryptographically."""
        ct = encrypt(CA.AES, bytes(16), bytes(16), mode=M.ECB).data
        self.assertReason(
            CRYPTOGRAPHIC_FAILURE,
            decrypt,
            CA.AES,
            bytes(16),
            ct,
            mode=M.ECB,
            padding=P.PKCS5,
        )

    def test_gcm_tag_mismatch(self):
        """A modified GCM tag or ciphertext fails with Cryptographic Failure."""
        key = os.urandom(16)
        out = encrypt(CA.AES, key, b"attack at dawn", mode=M.GCM, aad=b"hdr")
        bad_tag = bytes([out.tag[0] ^ 1]) + out.tag[1:]
        self.assertReason(
            CRYPTOGRAPHIC_FAILURE,
            decrypt,
            CA.AES,
            key,
            out.data,
            mode=M.GCM,
            iv=out.iv,
            tag=bad_tag,
            aad=b"hdr",
        )
        self.assertReason(
            CRYPTOGRAPHIC_FAILURE,
            decrypt,
            CA.AES,
            key,
            out.data,
            mode=M.GCM,
            iv=out.iv,
            tag=out.tag,
            aad=b"other",
        )

    def test_gcm_parameters(self):
        """GCM needs a tag to decrypt and a 4-16 byte tag length."""
        key = os.urandom(16)
        self.assertReason(INVALID_FIELD, decrypt, CA.AES, key, b"x", mode=M.GCM, iv=bytes(12))
        self.assertReason(INVALID_FIELD, encrypt, CA.AES, key, b"x", mode=M.GCM, tag_length=17)

    def test_chacha20_poly1305_tag_mismatch(self):
        """A flipped ChaCha20-Poly1305 ciphertext bit fails with Cryptographic Failure."""
        key = os.urandom(32)
        out = encrypt(CA.CHACHA20POLY1305, key, b"attack at dawn")
        bad = bytes([out.data[0] ^ 1]) + out.data[1:]
        self.assertReason(
            CRYPTOGRAPHIC_FAILURE,
            decrypt,
            CA.CHACHA20POLY1305,
            key,
            bad,
            iv=out.iv,
            tag=out.tag,
        )

    def test_aad_outside_aead(self):
        """AAD with CBC is an Invalid Field."""
        self.assertReason(INVALID_FIELD, encrypt, CA.AES, bytes(16), b"x", mode=M.CBC, aad=b"a")

    def test_iv_errors(self):
        """Wrong IV size, IV plus Random IV, ECB with IV, and a missing decrypt IV are rejected."""
        key = bytes(16)
        self.assertReason(INVALID_FIELD, encrypt, CA.AES, key, b"x", mode=M.CBC, iv=bytes(8))
        self.assertReason(INVALID_FIELD, encrypt, CA.AES, key, b"x", mode=M.CBC, iv=IV, random_iv=True)
        self.assertReason(INVALID_FIELD, encrypt, CA.AES, key, bytes(16), mode=M.ECB, iv=IV)
        self.assertReason(INVALID_FIELD, decrypt, CA.AES, key, bytes(16), mode=M.CBC)

    def test_ctr_counter_wrap(self):
        """A CTR counter length that would wrap is rejected, a roomy one is accepted."""
        iv = bytes(12) + b"\xff\xff\xff\xfe"
        self.assertReason(
            INVALID_FIELD,
            encrypt,
            CA.AES,
            bytes(16),
            bytes(48),
            mode=M.CTR,
            iv=iv,
            counter_length=32,
        )
        out = encrypt(CA.AES, bytes(16), bytes(32), mode=M.CTR, iv=iv, counter_length=32)
        self.assertEqual(len(out.data), 32)

    def test_xts_errors(self):
        """XTS rejects a 128-bit key, identical key halves, and short data."""
        self.assertReason(INVALID_FIELD, encrypt, CA.AES, bytes(16), bytes(16), mode=M.XTS, iv=IV)
        self.assertReason(INVALID_FIELD, encrypt, CA.AES, bytes(32), bytes(16), mode=M.XTS, iv=IV)
        self.assertReason(INVALID_FIELD, encrypt, CA.AES, os.urandom(32), bytes(8), mode=M.XTS, iv=IV)

    def test_stream_cipher_with_mode(self):
        """RC4 with a block cipher mode is an Invalid Field."""
        self.assertReason(INVALID_FIELD, encrypt, CA.RC4, bytes(16), b"x", mode=M.CBC)

    def test_key_wrap_with_non_aes(self):
        """NISTKeyWrap with a 3DES key is an Invalid Field."""
        self.assertReason(
            INVALID_FIELD,
            encrypt,
            CA.TRIPLE_DES,
            bytes(24),
            bytes(16),
            mode=M.NISTKEYWRAP,
        )

    def test_rsa_errors(self):
        """RSA without padding, with PSS padding, with garbage keys or oversize data is rejected."""
        pair = rsa_pair()
        self.assertReason(INVALID_FIELD, encrypt, CA.RSA, pair.public_der, b"x")
        self.assertReason(INVALID_FIELD, encrypt, CA.RSA, pair.public_der, b"x", padding=P.PSS)
        self.assertReason(INVALID_FIELD, encrypt, CA.RSA, b"not a key", b"x", padding=P.OAEP)
        self.assertReason(INVALID_FIELD, encrypt, CA.RSA, pair.public_der, bytes(300), padding=P.OAEP)
        self.assertReason(INVALID_FIELD, decrypt, CA.RSA, pair.public_der, bytes(256), padding=P.OAEP)
        self.assertReason(
            UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS,
            encrypt,
            CA.RSA,
            pair.public_der,
            b"x",
            padding=P.OAEP,
            hashing_algorithm=HA.MD2,
        )

    def test_rsa_decrypt_garbage(self):
        """Decrypting random bytes with RSA fails cryptographically."""
        pair = rsa_pair()
        self.assertReason(
            CRYPTOGRAPHIC_FAILURE,
            decrypt,
            CA.RSA,
            pair.private_der,
            os.urandom(256),
            padding=P.OAEP,
        )

    def test_data_type(self):
        """Non-bytes data or IV is an Invalid Field, not a TypeError."""
        self.assertReason(INVALID_FIELD, encrypt, CA.AES, bytes(16), "text", mode=M.CBC)
        self.assertReason(INVALID_FIELD, encrypt, CA.AES, bytes(16), b"x", mode=M.CBC, iv="0" * 16)


class SupportedModesTests(SynchronousTestCase):
    """L{supported_modes} reports what the mode table allows."""

    def test_aes(self):
        """AES supports every implemented mode including the key wraps."""
        self.assertEqual(
            supported_modes(CA.AES),
            {
                M.ECB,
                M.CBC,
                M.CFB,
                M.OFB,
                M.CTR,
                M.GCM,
                M.XTS,
                M.NISTKEYWRAP,
                M.AESKEYWRAPPADDING,
            },
        )

    def test_legacy_and_stream(self):
        """3DES gets the generic modes only and RC4 none."""
        self.assertEqual(supported_modes(CA.TRIPLE_DES), {M.ECB, M.CBC, M.CFB, M.OFB})
        self.assertEqual(supported_modes(CA.RC4), frozenset())


class PromotedCipherKnownAnswerTests(SynchronousTestCase):
    """DES, RC2 and SM4, once store-only, now compute; each checked against its published vectors."""

    def test_des_ecb(self):
        """DES ECB matches FIPS PUB 81 Appendix B, Table B1 ("Now is the time for all ")."""
        key = h("0123456789abcdef")
        ct = h("3fa40e8a984d4815" "6a271787ab8883f9" "893d51ec4b563b53")
        self.assertEqual(encrypt(CA.DES, key, b"Now is the time for all ", mode=M.ECB).data, ct)
        self.assertEqual(decrypt(CA.DES, key, ct, mode=M.ECB), b"Now is the time for all ")

    def test_des_cbc(self):
        """DES CBC matches FIPS PUB 81 Appendix C, Table C1 (IV 1234567890abcdef)."""
        key, iv = h("0123456789abcdef"), h("1234567890abcdef")
        ct = h("e5c7cdde872bf27c" "43e934008c389c0f" "683788499a7c05f6")
        self.assertEqual(encrypt(CA.DES, key, b"Now is the time for all ", mode=M.CBC, iv=iv).data, ct)
        self.assertEqual(decrypt(CA.DES, key, ct, mode=M.CBC, iv=iv), b"Now is the time for all ")

    def test_rc2(self):
        """RC2 with a 128-bit key (effective 128 bits) matches RFC 2268 section 5 (one CBC block, zero IV)."""
        key = h("88bca90e90875a7f0f79c384627bafb2")
        self.assertEqual(encrypt(CA.RC2, key, bytes(8), mode=M.CBC, iv=bytes(8)).data, h("2269552ab0f85ca6"))
        self.assertEqual(decrypt(CA.RC2, key, h("2269552ab0f85ca6"), mode=M.CBC, iv=bytes(8)), bytes(8))

    def test_rc2_limits(self):
        """RC2 offers CBC only, and only 128-bit keys compute: other modes and lengths are Invalid Field."""
        self.assertEqual(supported_modes(CA.RC2), frozenset({M.CBC}))
        for kwargs in ({"key": bytes(16), "mode": M.ECB}, {"key": bytes(5), "mode": M.CBC, "iv": bytes(8)}):
            key = kwargs.pop("key")
            err = self.assertRaises(CryptoError, encrypt, CA.RC2, key, bytes(8), **kwargs)
            self.assertEqual(err.reason, INVALID_FIELD)
            self.assertIn("RC2", err.message)

    def test_sm4(self):
        """SM4 matches GB/T 32907-2016 Appendix A, example 1 (key = plaintext = 0123...3210)."""
        key = h("0123456789abcdeffedcba9876543210")
        ct = h("681edf34d206965e86b3e94f536e4246")
        self.assertEqual(encrypt(CA.SM4, key, key, mode=M.ECB).data, ct)
        self.assertEqual(decrypt(CA.SM4, key, ct, mode=M.ECB), key)


class OAEPLabelTests(SynchronousTestCase):
    """The OAEP label (KMIP P Source) goes through encrypt/decrypt."""

    def test_label_round_trip(self):
        """A labelled OAEP ciphertext decrypts with the same label, also by cryptography directly."""
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding as asym_padding

        pair = rsa_pair()
        ct = encrypt(CA.RSA, pair.public_der, b"secret", padding=P.OAEP, label=b"L").data
        self.assertEqual(decrypt(CA.RSA, pair.private_der, ct, padding=P.OAEP, label=b"L"), b"secret")
        private = serialization.load_der_private_key(pair.private_der, None)
        pad = asym_padding.OAEP(asym_padding.MGF1(hashes.SHA1()), hashes.SHA1(), b"L")
        self.assertEqual(private.decrypt(ct, pad), b"secret")

    def test_wrong_label(self):
        """Decrypting with another (or no) label is a Cryptographic Failure."""
        pair = rsa_pair()
        ct = encrypt(CA.RSA, pair.public_der, b"secret", padding=P.OAEP, label=b"L").data
        for label in (b"M", None):
            err = self.assertRaises(CryptoError, decrypt, CA.RSA, pair.private_der, ct, padding=P.OAEP, label=label)
            self.assertEqual(err.reason, CRYPTOGRAPHIC_FAILURE)

    def test_label_elsewhere_refused(self):
        """A label with PKCS#1 v1.5 or a symmetric cipher is Invalid Field."""
        pair = rsa_pair()
        err = self.assertRaises(CryptoError, encrypt, CA.RSA, pair.public_der, b"x", padding=P.PKCS1_V1_5, label=b"L")
        self.assertEqual(err.reason, INVALID_FIELD)
        err = self.assertRaises(CryptoError, encrypt, CA.AES, bytes(16), bytes(16), mode=M.ECB, label=b"L")
        self.assertEqual(err.reason, INVALID_FIELD)
