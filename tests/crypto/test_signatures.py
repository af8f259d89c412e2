"""
Tests for L{kmipd.crypto.signatures}.

Vectors: RSA PKCS#1 v1.5 Signature Example 1.1 (SHA-1, 1024-bit key) from
the RSA Laboratories PKCS#1 v2.1 test vectors (as shipped in
cryptography_vectors asymmetric/RSA/pkcs1v15sign-vectors.txt); Ed25519
RFC 8032 section 7.1 TEST 1.
"""

from __future__ import annotations

from functools import cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from twisted.trial.unittest import SynchronousTestCase

from kmipd.crypto import CryptographicAlgorithm as CA
from kmipd.crypto import DigitalSignatureAlgorithm as DSA
from kmipd.crypto import HashingAlgorithm as HA
from kmipd.crypto import KeyFormatType as KFT
from kmipd.crypto import PaddingMethod as P
from kmipd.crypto import RecommendedCurve as RC
from kmipd.crypto.errors import INVALID_FIELD
from kmipd.crypto.keygen import (
    convert_private_key,
    convert_public_key,
    generate_key_pair,
)
from kmipd.crypto.mac import hash_data
from kmipd.crypto.signatures import (
    SignatureParameters,
    resolve_signature_parameters,
    sign,
    verify,
)
from kmipd.testing import ReasonAssertions

h = bytes.fromhex

RSA_EXAMPLE_1 = {
    "modulus": int(
        "a56e4a0e701017589a5187dc7ea841d156f2ec0e36ad52a44dfeb1e61f7ad991d8c51056ffedb162"
        "b4c0f283a12a88a394dff526ab7291cbb307ceabfce0b1dfd5cd9508096d5b2b8b6df5d671ef6377"
        "c0921cb23c270a70e2598e6ff89d19f105acc2d3f0cb35f29280e1386b6f64c4ef22e1e1f20d0ce8"
        "cffb2249bd9a2137",
        16,
    ),
    "public_exponent": 0x010001,
    "private_exponent": int(
        "33a5042a90b27d4f5451ca9bbbd0b44771a101af884340aef9885f2a4bbe92e894a724ac3c568c8f"
        "97853ad07c0266c8c6a3ca0929f1e8f11231884429fc4d9ae55fee896a10ce707c3ed7e734e44727"
        "a39574501a532683109c2abacaba283c31b4bd2f53c3ee37e352cee34f9e503bd80c0622ad79c6dc"
        "ee883547c6a3b325",
        16,
    ),
    "p": int(
        "e7e8942720a877517273a356053ea2a1bc0c94aa72d55c6e86296b2dfc967948c0a72cbccca7eacb"
        "35706e09a1df55a1535bd9b3cc34160b3b6dcd3eda8e6443",
        16,
    ),
    "q": int(
        "b69dca1cf7d4d7ec81e75b90fcca874abcde123fd2700180aa90479b6e48de8d67ed24f9f19d85ba"
        "275874f542cd20dc723e6963364a1f9425452b269a6799fd",
        16,
    ),
}
RSA_MESSAGE_1_1 = h(
    "cdc87da223d786df3b45e0bbbc721326d1ee2af806cc315475cc6f0d9c66e1b62371d45ce2392e1a"
    "c92844c310102f156a0d8d52c1f4c40ba3aa65095786cb769757a6563ba958fed0bcc984e8b517a3"
    "d5f515b23b8a41e74aa867693f90dfb061a6e86dfaaee64472c00e5f20945729cbebe77f06ce78e0"
    "8f4098fba41f9d6193c0317e8b60d4b6084acb42d29e3808a3bc372d85e331170fcbf7cc72d0b71c"
    "296648b3a4d10f416295d0807aa625cab2744fd9ea8fd223c42537029828bd16be02546f130fd2e3"
    "3b936d2676e08aed1b73318b750a0167d0"
)
RSA_SIGNATURE_1_1 = h(
    "6bc3a06656842930a247e30d5864b4d819236ba7c68965862ad7dbc4e24af28e86bb531f03358be5"
    "fb74777c6086f850caef893f0d6fcc2d0c91ec013693b4ea00b80cd49aac4ecb5f8911afe539ada4"
    "a8f3823d1d13e472d1490547c659c7617f3d24087ddb6f2b72096167fc097cab18e9a458fcb634cd"
    "ce8ee35894c484d7"
)

ED25519_SECRET = h("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
ED25519_PUBLIC = h("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
ED25519_SIGNATURE = h(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
    "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)


@cache
def rsa_pair():
    """A 2048-bit RSA key pair shared by the RSA tests."""
    return generate_key_pair(CA.RSA, 2048)




class KnownAnswerTests(SynchronousTestCase):
    """Deterministic signature schemes against published vectors."""

    def test_rsa_pkcs1v15_sha1(self):
        """RSA PKCS#1 v1.5 SHA-1 signing reproduces Example 1.1 byte for byte."""
        private = convert_private_key(RSA_EXAMPLE_1, KFT.PKCS_1)
        public = convert_public_key(
            {"modulus": RSA_EXAMPLE_1["modulus"], "public_exponent": 0x010001},
            KFT.X_509,
        )
        sig = sign(
            private,
            RSA_MESSAGE_1_1,
            algorithm=CA.RSA,
            padding=P.PKCS1_V1_5,
            hashing_algorithm=HA.SHA_1,
        )
        self.assertEqual(sig, RSA_SIGNATURE_1_1)
        self.assertTrue(
            verify(
                public,
                RSA_MESSAGE_1_1,
                signature=RSA_SIGNATURE_1_1,
                digital_signature_algorithm=DSA.SHA_1_WITH_RSA_ENCRYPTION,
            )
        )

    def test_rsa_pkcs1v15_digested(self):
        """Signing the SHA-1 digest of the message gives the same Example 1.1 signature."""
        private = convert_private_key(RSA_EXAMPLE_1, KFT.PKCS_8)
        digest = hash_data(HA.SHA_1, RSA_MESSAGE_1_1)
        sig = sign(
            private,
            digested_data=digest,
            digital_signature_algorithm=DSA.SHA_1_WITH_RSA_ENCRYPTION,
        )
        self.assertEqual(sig, RSA_SIGNATURE_1_1)

    def test_ed25519(self):
        """Ed25519 signs the empty message as RFC 8032 TEST 1 and verifies it."""
        key = ed25519.Ed25519PrivateKey.from_private_bytes(ED25519_SECRET)
        private = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.assertEqual(convert_public_key(public, KFT.RAW), ED25519_PUBLIC)
        self.assertEqual(sign(private, b"", algorithm=CA.ED25519), ED25519_SIGNATURE)
        self.assertTrue(verify(public, b"", signature=ED25519_SIGNATURE, algorithm=CA.ED25519))
        self.assertFalse(verify(public, b"x", signature=ED25519_SIGNATURE, algorithm=CA.ED25519))


class RoundTripTests(SynchronousTestCase):
    """Sign then verify for each supported family."""

    def test_rsa_pkcs1v15_all_hashes(self):
        """RSA PKCS#1 v1.5 works with MD5, SHA-1, SHA-2 and SHA-3 and rejects altered data."""
        pair = rsa_pair()
        for hashing in (
            HA.MD5,
            HA.SHA_1,
            HA.SHA_224,
            HA.SHA_256,
            HA.SHA_384,
            HA.SHA_512,
            HA.SHA3_224,
            HA.SHA3_256,
            HA.SHA3_384,
            HA.SHA3_512,
        ):
            kw = {
                "algorithm": CA.RSA,
                "padding": P.PKCS1_V1_5,
                "hashing_algorithm": hashing,
            }
            sig = sign(pair.private_der, b"message", **kw)
            self.assertTrue(verify(pair.public_der, b"message", signature=sig, **kw), hashing)
            self.assertFalse(verify(pair.public_der, b"messagE", signature=sig, **kw), hashing)

    def test_rsa_pss(self):
        """RSASSA-PSS signatures are randomized and verify; a different MGF hash fails."""
        pair = rsa_pair()
        kw = {
            "digital_signature_algorithm": DSA.RSASSA_PSS,
            "hashing_algorithm": HA.SHA_256,
        }
        a = sign(pair.private_der, b"message", **kw)
        b = sign(pair.private_der, b"message", **kw)
        self.assertNotEqual(a, b)
        self.assertTrue(verify(pair.public_der, b"message", signature=a, **kw))
        self.assertFalse(verify(pair.public_der, b"message", signature=a, mgf_hash=HA.SHA_256, **kw))
        c = sign(pair.private_der, b"message", mgf_hash=HA.SHA_256, salt_length=0, **kw)
        self.assertEqual(
            c,
            sign(pair.private_der, b"message", mgf_hash=HA.SHA_256, salt_length=0, **kw),
        )
        self.assertTrue(verify(pair.public_der, b"message", signature=c, mgf_hash=HA.SHA_256, **kw))

    def test_ecdsa_curves(self):
        """ECDSA signs and verifies on P-256, P-384 and P-521, with data or a digest."""
        for curve, dsa, hashing in (
            (RC.P_256, DSA.ECDSA_WITH_SHA256, HA.SHA_256),
            (RC.P_384, DSA.ECDSA_WITH_SHA384, HA.SHA_384),
            (RC.P_521, DSA.ECDSA_WITH_SHA512, HA.SHA_512),
        ):
            pair = generate_key_pair(CA.ECDSA, curve=curve)
            sig = sign(pair.private_der, b"data", digital_signature_algorithm=dsa)
            self.assertTrue(
                verify(
                    pair.public_der,
                    b"data",
                    signature=sig,
                    algorithm=CA.EC,
                    hashing_algorithm=hashing,
                )
            )
            digest = hash_data(hashing, b"data")
            sig2 = sign(
                pair.private_der,
                digested_data=digest,
                algorithm=CA.ECDSA,
                hashing_algorithm=hashing,
            )
            self.assertTrue(
                verify(
                    pair.public_der,
                    b"data",
                    signature=sig2,
                    digital_signature_algorithm=dsa,
                )
            )
            self.assertFalse(
                verify(
                    pair.public_der,
                    b"other",
                    signature=sig2,
                    digital_signature_algorithm=dsa,
                )
            )

    def test_ed448(self):
        """Ed448 signs and verifies."""
        pair = generate_key_pair(CA.ED448)
        sig = sign(pair.private_der, b"data", algorithm=CA.ED448)
        self.assertEqual(len(sig), 114)
        self.assertTrue(verify(pair.public_der, b"data", signature=sig, algorithm=CA.ED448))

    def test_verify_with_private_key(self):
        """A private key DER is accepted for verification via its public half."""
        pair = generate_key_pair(CA.ED25519)
        sig = sign(pair.private_der, b"d", algorithm=CA.ED25519)
        self.assertTrue(verify(pair.private_der, b"d", signature=sig, algorithm=CA.ED25519))

    def test_garbage_signature(self):
        """A garbage signature verifies as False, not an error."""
        pair = rsa_pair()
        self.assertFalse(
            verify(
                pair.public_der,
                b"d",
                signature=b"\x00" * 256,
                digital_signature_algorithm=DSA.SHA_256_WITH_RSA_ENCRYPTION,
            )
        )


class ParameterTests(ReasonAssertions, SynchronousTestCase):
    """Parameter resolution and errors."""

    def test_digital_signature_algorithm_table(self):
        """Digital signature algorithms map to algorithm, padding and hash."""
        self.assertEqual(
            resolve_signature_parameters(None, None, None, DSA.SHA_384_WITH_RSA_ENCRYPTION),
            SignatureParameters(CA.RSA, P.PKCS1_V1_5, HA.SHA_384),
        )
        self.assertEqual(
            resolve_signature_parameters(None, None, None, DSA.ECDSA_WITH_SHA_1),
            SignatureParameters(CA.ECDSA, None, HA.SHA_1),
        )
        self.assertEqual(
            resolve_signature_parameters(None, None, HA.SHA_512, DSA.RSASSA_PSS),
            SignatureParameters(CA.RSA, P.PSS, HA.SHA_512),
        )

    def test_conflicts(self):
        """A digital signature algorithm that disagrees with the other fields is rejected."""
        self.assertReason(
            INVALID_FIELD,
            resolve_signature_parameters,
            CA.ECDSA,
            None,
            None,
            DSA.SHA_256_WITH_RSA_ENCRYPTION,
        )
        self.assertReason(
            INVALID_FIELD,
            resolve_signature_parameters,
            None,
            P.PSS,
            None,
            DSA.SHA_256_WITH_RSA_ENCRYPTION,
        )
        self.assertReason(
            INVALID_FIELD,
            resolve_signature_parameters,
            None,
            None,
            HA.SHA_1,
            DSA.SHA_256_WITH_RSA_ENCRYPTION,
        )

    def test_missing_parameters(self):
        """Nothing, RSA without padding, RSA without hash, and PSS without hash are rejected."""
        for args in (
            (None, None, None, None),
            (CA.RSA, None, HA.SHA_256, None),
            (CA.RSA, P.PKCS1_V1_5, None, None),
            (None, None, None, DSA.RSASSA_PSS),
        ):
            self.assertReason(INVALID_FIELD, resolve_signature_parameters, *args)

    def test_unsupported(self):
        """DSA signature algorithms, OAEP padding and AES are rejected."""
        self.assertReason(
            "UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS",
            resolve_signature_parameters,
            None,
            None,
            None,
            DSA.DSA_WITH_SHA256,
        )
        self.assertReason(INVALID_FIELD, resolve_signature_parameters, CA.RSA, P.OAEP, HA.SHA_1, None)
        self.assertReason(INVALID_FIELD, resolve_signature_parameters, CA.AES, None, HA.SHA_1, None)

    def test_key_mismatch(self):
        """An EC key used for RSA signing, or an RSA key for Ed25519 verification, is rejected."""
        ec_pair = generate_key_pair(CA.EC, 256)
        self.assertReason(
            INVALID_FIELD,
            sign,
            ec_pair.private_der,
            b"d",
            digital_signature_algorithm=DSA.SHA_256_WITH_RSA_ENCRYPTION,
        )
        self.assertReason(
            INVALID_FIELD,
            verify,
            rsa_pair().public_der,
            b"d",
            signature=b"s",
            algorithm=CA.ED25519,
        )

    def test_data_errors(self):
        """Both/neither data forms, a wrong digest size, Ed25519 digests and bad keys are rejected."""
        pair = rsa_pair()
        kw = {"digital_signature_algorithm": DSA.SHA_256_WITH_RSA_ENCRYPTION}
        self.assertReason(INVALID_FIELD, sign, pair.private_der, **kw)
        self.assertReason(INVALID_FIELD, sign, pair.private_der, b"d", bytes(32), **kw)
        self.assertReason(INVALID_FIELD, sign, pair.private_der, digested_data=bytes(20), **kw)
        ed = generate_key_pair(CA.ED25519)
        self.assertReason(
            INVALID_FIELD,
            sign,
            ed.private_der,
            digested_data=bytes(64),
            algorithm=CA.ED25519,
        )
        self.assertReason(INVALID_FIELD, sign, b"garbage", b"d", **kw)
        self.assertReason(INVALID_FIELD, verify, pair.public_der, b"d", **kw)
