"""
Bulk known-answer tests over the NIST CAVP files shipped in the
C{cryptography_vectors} package (a test-only dependency; these tests are
skipped when it is not installed, and the inline vectors in the other
modules still run).

Files: AES ECB/CBC KAT and MMT (SP 800-38A CAVP), AES-GCM decryption
(SP 800-38D CAVP, including tag-failure cases), AES key wrap KW/KWP
(SP 800-38F CAVP, including failure cases), SP 800-108 KBKDF counter mode.
"""

from __future__ import annotations

from collections.abc import Iterator

from twisted.trial.unittest import SynchronousTestCase

from kmipd.crypto import BlockCipherMode as M
from kmipd.crypto import CryptographicAlgorithm as CA
from kmipd.crypto import DerivationMethod as DM
from kmipd.crypto import HashingAlgorithm as HA
from kmipd.crypto.ciphers import decrypt, encrypt
from kmipd.crypto.derive import derive_key
from kmipd.crypto.errors import CRYPTOGRAPHIC_FAILURE, CryptoError
from kmipd.crypto.wrapping import (
    aes_key_unwrap,
    aes_key_unwrap_with_padding,
    aes_key_wrap,
    aes_key_wrap_with_padding,
)

try:
    from cryptography_vectors import open_vector_file
except ImportError:  # pragma: no cover - optional test dependency
    open_vector_file = None

SKIP = None if open_vector_file else "cryptography_vectors is not installed"
h = bytes.fromhex


def records(path: str) -> Iterator[dict[str, object]]:
    """
    Parse a NIST-style vector file into dicts; C{[KEY = VALUE]} headers and
    bare C{[ENCRYPT]}/C{[DECRYPT]} sections apply to the records after them,
    and a C{FAIL} line sets C{"FAIL": True}.
    """
    section: dict[str, object] = {}
    record: dict[str, object] = {}
    with open_vector_file(path, "r") as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#") or line.startswith("["):
                if record:
                    yield {**section, **record}
                    record = {}
                if line.startswith("["):
                    body = line[1:-1]
                    if "=" in body:
                        key, value = body.split("=", 1)
                        section[key.strip()] = value.strip()
                    else:
                        section["SECTION"] = body
                continue
            if line == "FAIL":
                record["FAIL"] = True
            elif "=" in line:
                key, value = line.split("=", 1)
                record[key.strip()] = value.strip()
    if record:
        yield {**section, **record}


class AESBlockModeVectorTests(SynchronousTestCase):
    """AES ECB and CBC against every CAVP KAT and MMT file."""

    skip = SKIP

    def test_ecb_cbc(self):
        """Every ECB/CBC record encrypts or decrypts to the listed value."""
        count = 0
        for mode, name in ((M.ECB, "ECB"), (M.CBC, "CBC")):
            for kind in ("GFSbox", "KeySbox", "VarKey", "VarTxt", "MMT"):
                for bits in (128, 192, 256):
                    path = f"ciphers/AES/{name}/{name}{kind}{bits}.rsp"
                    for r in records(path):
                        if "KEY" not in r:
                            continue
                        key, pt, ct = h(r["KEY"]), h(r["PLAINTEXT"]), h(r["CIPHERTEXT"])
                        iv = h(r["IV"]) if "IV" in r else None
                        if r["SECTION"] == "ENCRYPT":
                            self.assertEqual(encrypt(CA.AES, key, pt, mode=mode, iv=iv).data, ct, (path, r))
                        else:
                            self.assertEqual(decrypt(CA.AES, key, ct, mode=mode, iv=iv), pt, (path, r))
                        count += 1
        self.assertGreater(count, 2000)


class AESGCMVectorTests(SynchronousTestCase):
    """AES-GCM decryption against the CAVP gcmDecrypt files."""

    skip = SKIP

    def test_gcm_decrypt(self):
        """Valid records decrypt to PT and FAIL records raise Cryptographic Failure."""
        checked = failures = 0
        for bits in (128, 192, 256):
            for r in records(f"ciphers/AES/GCM/gcmDecrypt{bits}.rsp"):
                if "Key" not in r:
                    continue
                iv, tag = h(r["IV"]), h(r["Tag"])
                if len(iv) < 8:  # below cryptography's 64-bit GCM IV minimum
                    continue
                args = (CA.AES, h(r["Key"]), h(r["CT"]))
                kw = dict(mode=M.GCM, iv=iv, tag=tag, aad=h(r["AAD"]) or None)
                if r.get("FAIL"):
                    err = self.assertRaises(CryptoError, decrypt, *args, **kw)
                    self.assertEqual(err.reason, CRYPTOGRAPHIC_FAILURE)
                    failures += 1
                else:
                    self.assertEqual(decrypt(*args, **kw), h(r["PT"]))
                checked += 1
        self.assertGreater(checked, 5000)
        self.assertGreater(failures, 500)


class KeyWrapVectorTests(SynchronousTestCase):
    """AES KW and KWP against the SP 800-38F CAVP files."""

    skip = SKIP

    def test_wrap(self):
        """KW_AE and KWP_AE records wrap P to C."""
        count = 0
        for prefix, wrap in (("KW", aes_key_wrap), ("KWP", aes_key_wrap_with_padding)):
            for bits in (128, 192, 256):
                for r in records(f"keywrap/kwtestvectors/{prefix}_AE_{bits}.txt"):
                    if "K" in r:
                        self.assertEqual(wrap(h(r["K"]), h(r["P"])), h(r["C"]))
                        count += 1
        self.assertGreater(count, 500)

    def test_unwrap(self):
        """KW_AD and KWP_AD records unwrap C to P, and FAIL records are rejected."""
        count = 0
        for prefix, unwrap in (("KW", aes_key_unwrap), ("KWP", aes_key_unwrap_with_padding)):
            for bits in (128, 192, 256):
                for r in records(f"keywrap/kwtestvectors/{prefix}_AD_{bits}.txt"):
                    if "K" not in r:
                        continue
                    if r.get("FAIL"):
                        self.assertRaises(CryptoError, unwrap, h(r["K"]), h(r["C"]))
                    else:
                        self.assertEqual(unwrap(h(r["K"]), h(r["C"])), h(r["P"]))
                    count += 1
        self.assertGreater(count, 500)


class KBKDFVectorTests(SynchronousTestCase):
    """SP 800-108 counter mode, counter before the fixed data, 32-bit counter."""

    skip = SKIP

    PRFS = {
        "HMAC_SHA1": {"hashing_algorithm": HA.SHA_1},
        "HMAC_SHA224": {"hashing_algorithm": HA.SHA_224},
        "HMAC_SHA256": {"hashing_algorithm": HA.SHA_256},
        "HMAC_SHA384": {"hashing_algorithm": HA.SHA_384},
        "HMAC_SHA512": {"hashing_algorithm": HA.SHA_512},
        "CMAC_AES128": {"encryption_algorithm": CA.AES},
        "CMAC_AES192": {"encryption_algorithm": CA.AES},
        "CMAC_AES256": {"encryption_algorithm": CA.AES},
        "CMAC_TDES2": {"encryption_algorithm": CA.TRIPLE_DES},
        "CMAC_TDES3": {"encryption_algorithm": CA.TRIPLE_DES},
    }

    def test_counter_mode(self):
        """Every BEFORE_FIXED / RLEN=32 record derives KO."""
        count = 0
        for r in records("KDF/nist-800-108-KBKDF-CTR.txt"):
            if r.get("CTRLOCATION") != "BEFORE_FIXED" or r.get("RLEN") != "32_BITS":
                continue
            if "KI" not in r:
                continue
            out = derive_key(
                DM.NIST800_108_C,
                key_material=h(r["KI"]),
                derivation_data=h(r["FixedInputData"]),
                length_bits=int(r["L"]),
                **self.PRFS[r["PRF"]],
            )
            self.assertEqual(out, h(r["KO"]), r)
            count += 1
        self.assertEqual(count, 400)
