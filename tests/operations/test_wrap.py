"""Tests for kmipd.operations.keywrap: Get with a Key Wrapping Specification, and unwrapping."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from twisted.trial.unittest import SynchronousTestCase

from kmipd.context import RequestContext
from kmipd.model import keyblock
from kmipd.operations.keywrap import unwrap_for_register, wrap_for_get
from kmipd.policy.model import PolicyEngine
from kmipd.spec import (
    BlockCipherMode,
    CryptographicAlgorithm,
    CryptographicUsageMask,
    EncodingOption,
    HashingAlgorithm,
    Operation,
    PaddingMethod,
    ResultReason,
    ResultStatus,
    State,
    Tag,
    WrappingMethod,
)
from kmipd.testing import FakeClock, call, make_processor, payload
from kmipd.ttlv import Item, ItemType

from .test_crypto_ops import add_private, add_public, add_symmetric, cp

CA = CryptographicAlgorithm
M = CryptographicUsageMask

#: RFC 3394 section 4.1: 128-bit key data wrapped with a 128-bit KEK.
KEK_3394 = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
DATA_3394 = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
WRAPPED_3394 = bytes.fromhex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")


def wrapping_spec(uid: str, params: Item | None = None, encoding: int | None = EncodingOption.NO_ENCODING,
                  method: int = WrappingMethod.ENCRYPT, extra: list[Item] | None = None) -> Item:
    """A Key Wrapping Specification with Encryption Key Information."""
    return Item.struct(Tag.KEY_WRAPPING_SPECIFICATION, [
        Item.enum(Tag.WRAPPING_METHOD, method),
        Item.struct(Tag.ENCRYPTION_KEY_INFORMATION, [Item.text(Tag.UNIQUE_IDENTIFIER, uid), params]),
        *(extra or []),
        Item.enum(Tag.ENCODING_OPTION, encoding) if encoding is not None else None,
    ])


class WrappedGetTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = FakeClock()
        self.d = make_processor(clock=self.clock)
        self.key = add_symmetric(self.d, key=DATA_3394, mask=M.ENCRYPT)

    def get(self, spec: Item, version: tuple[int, int] = (1, 4), caller: str = "tester"):
        return call(self.d, Operation.GET, payload(Item.text(Tag.UNIQUE_IDENTIFIER, self.key), spec),
                    version=version, caller=caller)

    def block(self, result) -> Item:
        self.assertEqual(result.status, ResultStatus.SUCCESS, result.message)
        return result.payload.find(Tag.SYMMETRIC_KEY).find(Tag.KEY_BLOCK)

    def test_rfc3394_no_encoding(self) -> None:
        """AES Key Wrap of the raw key bytes gives the RFC 3394 4.1 output and Key Wrapping Data."""
        kek = add_symmetric(self.d, key=KEK_3394, mask=M.WRAP_KEY)
        block = self.block(self.get(wrapping_spec(kek, cp(block_cipher_mode=BlockCipherMode.NISTKEYWRAP))))
        value = block.find(Tag.KEY_VALUE)
        self.assertEqual((value.type, value.value), (ItemType.BYTE_STRING, WRAPPED_3394))
        kwd = block.find(Tag.KEY_WRAPPING_DATA)
        self.assertEqual(kwd.get(Tag.WRAPPING_METHOD), WrappingMethod.ENCRYPT)
        self.assertEqual(kwd.find(Tag.ENCRYPTION_KEY_INFORMATION).get(Tag.UNIQUE_IDENTIFIER), kek)
        self.assertEqual(kwd.get(Tag.ENCODING_OPTION), EncodingOption.NO_ENCODING)
        self.assertEqual(block.get(Tag.CRYPTOGRAPHIC_ALGORITHM), CA.AES)

    def test_rfc5649_with_padding(self) -> None:
        """AES Key Wrap with Padding of a 20-byte key gives the RFC 5649 section 6 output."""
        kek = add_symmetric(self.d, key=bytes.fromhex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8"),
                            mask=M.WRAP_KEY)
        self.key = add_symmetric(self.d, key=bytes.fromhex("c37b7e6492584340bed12207808941155068f738"),
                                 algorithm=CA.HMAC_SHA1, mask=M.MAC_GENERATE)
        spec = wrapping_spec(kek, cp(block_cipher_mode=BlockCipherMode.AESKEYWRAPPADDING))
        value = self.block(self.get(spec)).get(Tag.KEY_VALUE)
        self.assertEqual(value.hex(), "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a")

    def test_ttlv_default_and_unwrap(self) -> None:
        """Without an Encoding Option the TTLV Key Value is wrapped; unwrapping restores the key."""
        kek = add_symmetric(self.d, key=KEK_3394, mask=M.WRAP_KEY | M.UNWRAP_KEY)
        result = self.get(wrapping_spec(kek, encoding=None), version=(2, 0))
        block = self.block(result)
        self.assertIsNone(block.find(Tag.KEY_WRAPPING_DATA).find(Tag.ENCODING_OPTION))
        with self.d.store.transaction() as tx:
            ctx = RequestContext(version=(1, 4), identity="tester", groups=None, now=int(self.clock.now),
                                 store=tx, policy=PolicyEngine())
            plain = unwrap_for_register(ctx, result.payload.find(Tag.SYMMETRIC_KEY))
        self.assertEqual(keyblock.key_bytes(plain), DATA_3394)
        self.assertIsNone(keyblock.get_block(plain).find(Tag.KEY_WRAPPING_DATA))

    def test_rsa_oaep(self) -> None:
        """Wrapping with an RSA public key uses OAEP; the private key recovers the key bytes."""
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pub = add_public(self.d, private.public_key(), CA.RSA, mask=M.WRAP_KEY)
        spec = wrapping_spec(pub, cp(padding_method=PaddingMethod.OAEP, hashing_algorithm=HashingAlgorithm.SHA_256))
        wrapped = self.block(self.get(spec)).get(Tag.KEY_VALUE)
        pad = asym_padding.OAEP(asym_padding.MGF1(hashes.SHA1()), hashes.SHA256(), None)
        self.assertEqual(private.decrypt(wrapped, pad), DATA_3394)

    def test_wrapping_key_missing(self) -> None:
        """An unknown wrapping key: Item Not Found (1.x) / Wrapping Object Not Found (2.x)."""
        self.assertEqual(self.get(wrapping_spec("nope")).reason, ResultReason.ITEM_NOT_FOUND)
        self.assertEqual(self.get(wrapping_spec("nope"), version=(2, 0)).reason,
                         ResultReason.WRAPPING_OBJECT_NOT_FOUND)

    def test_wrapping_key_not_accessible(self) -> None:
        """Another owner's wrapping key is Permission Denied."""
        kek = add_symmetric(self.d, key=KEK_3394, mask=M.WRAP_KEY, owner="bob")
        self.assertEqual(self.get(wrapping_spec(kek)).reason, ResultReason.PERMISSION_DENIED)

    def test_wrapping_key_not_active(self) -> None:
        """A Pre-Active wrapping key is refused (Wrong Key Lifecycle State in 2.x)."""
        kek = add_symmetric(self.d, key=KEK_3394, mask=M.WRAP_KEY, state=State.PRE_ACTIVE)
        self.assertEqual(self.get(wrapping_spec(kek), version=(2, 0)).reason, ResultReason.WRONG_KEY_LIFECYCLE_STATE)

    def test_wrapping_key_lacks_wrap_bit(self) -> None:
        """A wrapping key without Wrap Key is refused."""
        kek = add_symmetric(self.d, key=KEK_3394, mask=M.ENCRYPT)
        self.assertEqual(self.get(wrapping_spec(kek)).reason, ResultReason.PERMISSION_DENIED)
        self.assertEqual(self.get(wrapping_spec(kek), version=(2, 0)).reason,
                         ResultReason.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK)

    def test_wrapping_key_wrong_type_or_algorithm(self) -> None:
        """A private key, or a 3DES key, cannot wrap."""
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        priv = add_private(self.d, private, CA.RSA, mask=M.WRAP_KEY)
        self.assertEqual(self.get(wrapping_spec(priv)).reason, ResultReason.INVALID_FIELD)
        des = add_symmetric(self.d, key=bytes(range(24)), algorithm=CA.TRIPLE_DES, mask=M.WRAP_KEY)
        self.assertEqual(self.get(wrapping_spec(des)).reason, ResultReason.INVALID_FIELD)

    def test_unsupported_requests(self) -> None:
        """MAC/sign wrapping and wrapped attributes are Feature Not Supported; a bad Encoding Option is refused."""
        kek = add_symmetric(self.d, key=KEK_3394, mask=M.WRAP_KEY)
        self.assertEqual(self.get(wrapping_spec(kek, method=WrappingMethod.MAC_SIGN)).reason,
                         ResultReason.FEATURE_NOT_SUPPORTED)
        spec = wrapping_spec(kek, extra=[Item.text(Tag.ATTRIBUTE_NAME, "Name")])
        self.assertEqual(self.get(spec).reason, ResultReason.FEATURE_NOT_SUPPORTED)
        self.assertEqual(self.get(wrapping_spec(kek, encoding=7)).reason, ResultReason.ENCODING_OPTION_ERROR)

    def test_incomplete_specification(self) -> None:
        """A specification without Encryption Key Information is Missing Data."""
        spec = Item.struct(Tag.KEY_WRAPPING_SPECIFICATION, [Item.enum(Tag.WRAPPING_METHOD, WrappingMethod.ENCRYPT)])
        self.assertEqual(self.get(spec).reason, ResultReason.MISSING_DATA)

    def test_parameters_must_match_key(self) -> None:
        """Request parameters must match one of the wrapping key's Cryptographic Parameters."""
        kek = add_symmetric(self.d, key=KEK_3394, mask=M.WRAP_KEY,
                            params=[cp(block_cipher_mode=BlockCipherMode.NISTKEYWRAP)])
        spec = wrapping_spec(kek, cp(block_cipher_mode=BlockCipherMode.AESKEYWRAPPADDING))
        self.assertEqual(self.get(spec).reason, ResultReason.INVALID_FIELD)
        self.block(self.get(wrapping_spec(kek)))  # the key's own parameters are used when none are given

    def test_wrap_for_get_direct(self) -> None:
        """wrap_for_get refuses material without a Key Block."""
        from kmipd.errors import InvalidField

        with self.d.store.transaction() as tx:
            ctx = RequestContext(version=(1, 4), identity="tester", groups=None, now=0, store=tx, policy=None)
            obj = tx.get(self.key)
            opaque = Item.struct(Tag.OPAQUE_OBJECT, [Item.bytes(Tag.OPAQUE_DATA_VALUE, b"x")])
            self.assertRaises(InvalidField, wrap_for_get, ctx, obj, opaque, wrapping_spec("k"))

    def test_pykmip_client_shape(self) -> None:
        """A KMIP 1.2 request naming No Encoding (PyKMIP's client) gets the wrapped bytes in Key
        Value/Key Material, and they still unwrap."""
        kek = add_symmetric(self.d, key=KEK_3394, mask=M.WRAP_KEY | M.UNWRAP_KEY)
        result = self.get(wrapping_spec(kek), version=(1, 2))
        value = self.block(result).find(Tag.KEY_VALUE)
        self.assertEqual(value.type, ItemType.STRUCTURE)
        self.assertEqual(value.get(Tag.KEY_MATERIAL), WRAPPED_3394)
        with self.d.store.transaction() as tx:
            ctx = RequestContext(version=(1, 2), identity="tester", groups=None, now=int(self.clock.now),
                                 store=tx, policy=PolicyEngine())
            plain = unwrap_for_register(ctx, result.payload.find(Tag.SYMMETRIC_KEY))
        self.assertEqual(keyblock.key_bytes(plain), DATA_3394)

    def test_spec_shape_otherwise(self) -> None:
        """Every other request gets the spec's Byte String Key Value: KMIP 1.3 or later with No
        Encoding, and KMIP 1.2 without an Encoding Option or with TTLV Encoding."""
        kek = add_symmetric(self.d, key=KEK_3394, mask=M.WRAP_KEY)
        for version, encoding in [((1, 3), EncodingOption.NO_ENCODING), ((2, 1), EncodingOption.NO_ENCODING),
                                  ((1, 2), None), ((1, 2), EncodingOption.TTLV_ENCODING)]:
            value = self.block(self.get(wrapping_spec(kek, encoding=encoding), version=version)).find(Tag.KEY_VALUE)
            self.assertEqual(value.type, ItemType.BYTE_STRING, (version, encoding))

    def test_register_wrapped_key_is_stored_wrapped(self) -> None:
        """A key registered wrapped keeps its Key Wrapping Data and cannot be used for Encrypt."""
        kek = add_symmetric(self.d, key=KEK_3394, mask=M.WRAP_KEY)
        wrapped = self.get(wrapping_spec(kek)).payload.find(Tag.SYMMETRIC_KEY)
        from kmipd.model.attributes import to_1x

        r = call(self.d, Operation.REGISTER, payload(
            Item.enum(Tag.OBJECT_TYPE, 2), Item.struct(Tag.TEMPLATE_ATTRIBUTE, [
                to_1x("Cryptographic Usage Mask", Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, M.ENCRYPT)),
                to_1x("Activation Date", Item.datetime(Tag.ACTIVATION_DATE, int(self.clock.now) - 1))]),
            wrapped))
        self.assertEqual(r.status, ResultStatus.SUCCESS, r.message)
        uid = r.payload.get(Tag.UNIQUE_IDENTIFIER)
        with self.d.store.transaction() as tx:
            self.assertTrue(keyblock.is_wrapped(tx.get(uid).material))
        enc = call(self.d, Operation.ENCRYPT, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid),
                                                      cp(block_cipher_mode=BlockCipherMode.ECB),
                                                      Item.bytes(Tag.DATA, bytes(16))))
        self.assertEqual(enc.reason, ResultReason.KEY_VALUE_NOT_PRESENT)
