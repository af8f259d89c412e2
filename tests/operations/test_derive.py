"""Tests for kmipd.operations.derive (DeriveKey)."""

from __future__ import annotations

import hashlib
import hmac as std_hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.kbkdf import KBKDFHMAC, CounterLocation, Mode
from twisted.trial.unittest import SynchronousTestCase

from kmipd.model import keyblock
from kmipd.model.attributes import to_1x, to_2x
from kmipd.spec import (
    BlockCipherMode,
    CryptographicAlgorithm,
    CryptographicUsageMask,
    DerivationMethod,
    HashingAlgorithm,
    KeyFormatType,
    LinkType,
    ObjectType,
    Operation,
    ResultReason,
    ResultStatus,
    SecretDataType,
    State,
    Tag,
)
from kmipd.testing import FakeClock, call, make_processor, payload
from kmipd.ttlv import Item

from .test_crypto_ops import add_object, add_symmetric, cp

CA = CryptographicAlgorithm
M = CryptographicUsageMask


def name_value(text: str) -> Item:
    """A Name attribute value (Uninterpreted Text String)."""
    return Item.struct(Tag.NAME, [Item.text(Tag.NAME_VALUE, text), Item.enum(Tag.NAME_TYPE, 1)])


def template(version: tuple[int, int], **attrs: Item) -> Item:
    """A Template-Attribute (1.x) or Attributes (2.x) structure of C{name=value} items."""
    names = {"algorithm": ("Cryptographic Algorithm", lambda v: Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, v)),
             "length": ("Cryptographic Length", lambda v: Item.int(Tag.CRYPTOGRAPHIC_LENGTH, v)),
             "mask": ("Cryptographic Usage Mask", lambda v: Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, v)),
             "activation": ("Activation Date", lambda v: Item.datetime(Tag.ACTIVATION_DATE, v)),
             "name": ("Name", name_value)}
    items = []
    for key, value in attrs.items():
        name, make = names[key]
        items.append(to_1x(name, make(value)) if version < (2, 0) else to_2x(name, make(value)))
    return Item.struct(Tag.TEMPLATE_ATTRIBUTE if version < (2, 0) else Tag.ATTRIBUTES, items)


def secret(dispatcher, value: bytes, mask: int = M.DERIVE_KEY, **kw) -> str:
    """Store Secret Data (a password) usable for derivation."""
    material = keyblock.body(ObjectType.SECRET_DATA, keyblock.key_block(KeyFormatType.OPAQUE, value),
                             t=Item.enum(Tag.SECRET_DATA_TYPE, SecretDataType.PASSWORD))
    return add_object(dispatcher, ObjectType.SECRET_DATA, material, mask=mask, **kw)


class DeriveKeyTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = FakeClock()
        self.d = make_processor(clock=self.clock)

    def derive(self, base: str, method: int, params: list[Item], *, object_type: int = ObjectType.SYMMETRIC_KEY,
               version: tuple[int, int] = (1, 4), caller: str = "tester", **attrs):
        body = payload(Item.enum(Tag.OBJECT_TYPE, object_type), Item.text(Tag.UNIQUE_IDENTIFIER, base),
                       Item.enum(Tag.DERIVATION_METHOD, method), Item.struct(Tag.DERIVATION_PARAMETERS, params),
                       template(version, **attrs))
        return call(self.d, Operation.DERIVE_KEY, body, version=version, caller=caller)

    def stored(self, uid: str):
        with self.d.store.transaction() as tx:
            return tx.get(uid)

    def derived_bytes(self, result) -> bytes:
        self.assertEqual(result.status, ResultStatus.SUCCESS, result.message)
        return keyblock.key_bytes(self.stored(result.payload.get(Tag.UNIQUE_IDENTIFIER)).material)

    def test_pbkdf2_rfc6070(self) -> None:
        """PBKDF2-HMAC-SHA1 of a Secret Data password gives the RFC 6070 vector as Secret Data."""
        base = secret(self.d, b"password")
        r = self.derive(base, DerivationMethod.PBKDF2,
                        [cp(hashing_algorithm=HashingAlgorithm.SHA_1), Item.bytes(Tag.SALT, b"salt"),
                         Item.int(Tag.ITERATION_COUNT, 2)], object_type=ObjectType.SECRET_DATA, length=160)
        self.assertEqual(self.derived_bytes(r).hex(), "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957")

    def test_links_and_attributes(self) -> None:
        """The derived key links to its base and the base to it; algorithm, length and state are set."""
        base = add_symmetric(self.d, key=b"k" * 32, algorithm=CA.HMAC_SHA256, mask=M.DERIVE_KEY)
        r = self.derive(base, DerivationMethod.HMAC, [Item.bytes(Tag.DERIVATION_DATA, b"data")],
                        algorithm=CA.AES, length=128, mask=M.ENCRYPT, activation=int(self.clock.now) - 1)
        self.assertEqual(r.status, ResultStatus.SUCCESS, r.message)
        new = self.stored(r.payload.get(Tag.UNIQUE_IDENTIFIER))
        self.assertEqual(new.value("Cryptographic Algorithm"), CA.AES)
        self.assertEqual(new.value("Cryptographic Length"), 128)
        self.assertEqual(new.state, State.ACTIVE)
        self.assertEqual(new.owner, "tester")
        link = new.first("Link")
        self.assertEqual((link.get(Tag.LINK_TYPE), link.get(Tag.LINKED_OBJECT_IDENTIFIER)),
                         (LinkType.DERIVATION_BASE_OBJECT_LINK, base))
        back = self.stored(base).first("Link")
        self.assertEqual((back.get(Tag.LINK_TYPE), back.get(Tag.LINKED_OBJECT_IDENTIFIER)),
                         (LinkType.DERIVED_KEY_LINK, new.uid))
        expected = std_hmac.new(b"k" * 32, b"data", hashlib.sha256).digest()[:16]
        self.assertEqual(keyblock.key_bytes(new.material), expected)

    def test_hash_and_truncation(self) -> None:
        """HASH of the derivation data, truncated to the requested length."""
        base = add_symmetric(self.d, mask=M.DERIVE_KEY)
        r = self.derive(base, DerivationMethod.HASH, [cp(hashing_algorithm=HashingAlgorithm.SHA_256),
                                                     Item.bytes(Tag.DERIVATION_DATA, b"abc")],
                        algorithm=CA.AES, length=128)
        self.assertEqual(self.derived_bytes(r), hashlib.sha256(b"abc").digest()[:16])

    def test_encrypt_method(self) -> None:
        """ENCRYPT derives AES-ECB(base key, derivation data)."""
        base = add_symmetric(self.d, mask=M.DERIVE_KEY)
        r = self.derive(base, DerivationMethod.ENCRYPT, [cp(block_cipher_mode=BlockCipherMode.ECB),
                                                        Item.bytes(Tag.DERIVATION_DATA, bytes(16))],
                        algorithm=CA.AES, length=128)
        self.assertEqual(self.derived_bytes(r).hex(), "c6a13b37878f5b826f4f8162a1c8d879")

    def test_nist_800_108_counter(self) -> None:
        """NIST SP 800-108 counter mode with HMAC-SHA256 matches cryptography's KBKDF."""
        key = bytes(range(32))
        base = add_symmetric(self.d, key=key, mask=M.DERIVE_KEY)
        r = self.derive(base, DerivationMethod.NIST800_108_C, [cp(hashing_algorithm=HashingAlgorithm.SHA_256),
                                                              Item.bytes(Tag.DERIVATION_DATA, b"label\x00ctx")],
                        algorithm=CA.AES, length=256, version=(2, 0))
        kdf = KBKDFHMAC(hashes.SHA256(), Mode.CounterMode, 32, 4, None, CounterLocation.BeforeFixed, None, None,
                        fixed=b"label\x00ctx")
        self.assertEqual(self.derived_bytes(r), kdf.derive(key))

    def test_hkdf_only_in_2x(self) -> None:
        """HKDF (RFC 5869 test case 1) works in KMIP 2.0 and is not defined in 1.4."""
        ikm = bytes([0x0b] * 22)
        base = secret(self.d, ikm)
        params = [cp(hashing_algorithm=HashingAlgorithm.SHA_256), Item.bytes(Tag.SALT, bytes(range(13))),
                  Item.bytes(Tag.DERIVATION_DATA, bytes(range(0xf0, 0xfa)))]
        r = self.derive(base, DerivationMethod.HKDF, params, object_type=ObjectType.SECRET_DATA, length=336,
                        version=(2, 0))
        self.assertEqual(self.derived_bytes(r).hex(),
                         "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
        r = self.derive(base, DerivationMethod.HKDF, params, object_type=ObjectType.SECRET_DATA, length=336)
        self.assertEqual(r.reason, ResultReason.INVALID_FIELD)

    def test_needs_derive_key_bit(self) -> None:
        """A base object without Derive Key is refused (Permission Denied in 1.x)."""
        base = add_symmetric(self.d, mask=M.ENCRYPT)
        r = self.derive(base, DerivationMethod.HASH, [cp(hashing_algorithm=HashingAlgorithm.SHA_256)],
                        algorithm=CA.AES, length=128)
        self.assertEqual(r.reason, ResultReason.PERMISSION_DENIED)
        r = self.derive(base, DerivationMethod.HASH, [cp(hashing_algorithm=HashingAlgorithm.SHA_256)],
                        algorithm=CA.AES, length=128, version=(2, 0))
        self.assertEqual(r.reason, ResultReason.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK)

    def test_length_required(self) -> None:
        """Without a Cryptographic Length the request is Invalid Field."""
        base = add_symmetric(self.d, mask=M.DERIVE_KEY)
        r = self.derive(base, DerivationMethod.HASH, [cp(hashing_algorithm=HashingAlgorithm.SHA_256)],
                        algorithm=CA.AES)
        self.assertEqual(r.reason, ResultReason.INVALID_FIELD)
        self.assertIn("Cryptographic Length", r.message)

    def test_length_checked_against_algorithm(self) -> None:
        """A derived key's length must be one its algorithm has: AES 100 or Skipjack 128 bits is Invalid Field."""
        base = add_symmetric(self.d, mask=M.DERIVE_KEY)
        sha256 = [cp(hashing_algorithm=HashingAlgorithm.SHA_256)]
        for algorithm, length in ((CA.AES, 120), (CA.SKIPJACK, 128), (CA.HMAC_SHA256, 9000), (CA.RSA, 128)):
            for version in ((1, 4), (2, 1)):
                r = self.derive(base, DerivationMethod.HASH, sha256, algorithm=algorithm, length=length,
                                version=version)
                self.assertEqual(r.reason, ResultReason.INVALID_FIELD, (algorithm, length, r.message))
        self.assertEqual(len(self.derived_bytes(
            self.derive(base, DerivationMethod.HASH, sha256, algorithm=CA.HMAC_SHA256, length=136))), 17)

    def test_nominal_des_lengths(self) -> None:
        """3DES 168 and DES 56 (nominal lengths) derive the 24 and 8 key bytes the ciphers use."""
        base = add_symmetric(self.d, mask=M.DERIVE_KEY)
        sha512 = [cp(hashing_algorithm=HashingAlgorithm.SHA_512)]
        key = self.derived_bytes(self.derive(base, DerivationMethod.HASH, sha512, algorithm=CA.TRIPLE_DES,
                                             length=168))
        self.assertEqual(len(key), 24)
        key = self.derived_bytes(self.derive(base, DerivationMethod.HASH, sha512, algorithm=CA.DES, length=56))
        self.assertEqual(len(key), 8)

    def test_longer_than_generated(self) -> None:
        """Asking HASH (SHA-256) for 512 bits is a Cryptographic Failure."""
        base = add_symmetric(self.d, mask=M.DERIVE_KEY)
        r = self.derive(base, DerivationMethod.HASH, [cp(hashing_algorithm=HashingAlgorithm.SHA_256)],
                        object_type=ObjectType.SECRET_DATA, length=512)
        self.assertEqual(r.reason, ResultReason.CRYPTOGRAPHIC_FAILURE)

    def test_base_not_accessible(self) -> None:
        """Another caller's base object is refused with Permission Denied."""
        base = add_symmetric(self.d, mask=M.DERIVE_KEY, owner="bob")
        r = self.derive(base, DerivationMethod.HASH, [cp(hashing_algorithm=HashingAlgorithm.SHA_256)],
                        algorithm=CA.AES, length=128)
        self.assertEqual(r.reason, ResultReason.PERMISSION_DENIED)

    def test_policy_checked_before_name(self) -> None:
        """A caller refused the base object gets Permission Denied, not a verdict on the Name."""
        add_symmetric(self.d, mask=M.DERIVE_KEY, extra={"Name": [name_value("taken")]})
        bobs = add_symmetric(self.d, mask=M.DERIVE_KEY, owner="bob")
        for name in ("taken", "free"):
            r = self.derive(bobs, DerivationMethod.HASH, [cp(hashing_algorithm=HashingAlgorithm.SHA_256)],
                            algorithm=CA.AES, length=128, name=name)
            self.assertEqual(r.reason, ResultReason.PERMISSION_DENIED)

    def test_non_unique_name(self) -> None:
        """A Name another object has: Invalid Field (1.x Derive Key table), Non Unique Name Attribute (2.x)."""
        add_symmetric(self.d, mask=M.DERIVE_KEY, extra={"Name": [name_value("taken")]})
        base = add_symmetric(self.d, mask=M.DERIVE_KEY)
        params = [cp(hashing_algorithm=HashingAlgorithm.SHA_256)]
        r = self.derive(base, DerivationMethod.HASH, params, algorithm=CA.AES, length=128, name="taken")
        self.assertEqual(r.reason, ResultReason.INVALID_FIELD)
        r = self.derive(base, DerivationMethod.HASH, params, algorithm=CA.AES, length=128, name="taken",
                        version=(2, 0))
        self.assertEqual(r.reason, ResultReason.NON_UNIQUE_NAME_ATTRIBUTE)
        r = self.derive(base, DerivationMethod.HASH, params, algorithm=CA.AES, length=128, name="new")
        self.assertEqual(r.status, ResultStatus.SUCCESS, r.message)

    def test_base_type_and_result_type(self) -> None:
        """An Opaque Object base and a Public Key result are both refused."""
        opaque = add_object(self.d, ObjectType.OPAQUE_OBJECT, Item.struct(Tag.OPAQUE_OBJECT, [
            Item.enum(Tag.OPAQUE_DATA_TYPE, 0x80000000), Item.bytes(Tag.OPAQUE_DATA_VALUE, b"x")]),
            mask=M.DERIVE_KEY)
        r = self.derive(opaque, DerivationMethod.HASH, [cp(hashing_algorithm=HashingAlgorithm.SHA_256)],
                        algorithm=CA.AES, length=128)
        self.assertIn(r.reason, (ResultReason.INVALID_FIELD, ResultReason.PERMISSION_DENIED))
        self.assertEqual(r.status, ResultStatus.OPERATION_FAILED)
        base = add_symmetric(self.d, mask=M.DERIVE_KEY)
        r = self.derive(base, DerivationMethod.HASH, [cp(hashing_algorithm=HashingAlgorithm.SHA_256)],
                        object_type=ObjectType.PUBLIC_KEY, length=128)
        self.assertEqual(r.reason, ResultReason.INVALID_FIELD)

    def test_base_must_be_active(self) -> None:
        """A Pre-Active base object cannot derive keys."""
        base = add_symmetric(self.d, mask=M.DERIVE_KEY, state=State.PRE_ACTIVE)
        r = self.derive(base, DerivationMethod.HASH, [cp(hashing_algorithm=HashingAlgorithm.SHA_256)],
                        algorithm=CA.AES, length=128, version=(2, 0))
        self.assertEqual(r.reason, ResultReason.WRONG_KEY_LIFECYCLE_STATE)

    def test_missing_fields(self) -> None:
        """Missing Derivation Method or Derivation Parameters are Missing Data."""
        base = add_symmetric(self.d, mask=M.DERIVE_KEY)
        r = call(self.d, Operation.DERIVE_KEY, payload(
            Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY), Item.text(Tag.UNIQUE_IDENTIFIER, base),
            template((1, 4), algorithm=CA.AES, length=128)))
        self.assertEqual(r.reason, ResultReason.MISSING_DATA)
        r = call(self.d, Operation.DERIVE_KEY, payload(
            Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY), Item.text(Tag.UNIQUE_IDENTIFIER, base),
            Item.enum(Tag.DERIVATION_METHOD, DerivationMethod.HASH), template((1, 4), algorithm=CA.AES, length=128)))
        self.assertEqual(r.reason, ResultReason.MISSING_DATA)
