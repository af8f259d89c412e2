"""Register of every object type, in the 1.x and 2.x shapes, with material validation."""

from __future__ import annotations

import datetime
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from cryptography.x509.oid import NameOID
from twisted.trial.unittest import SynchronousTestCase

from kmipd.model import keyblock
from kmipd.model.attributes import to_1x
from kmipd.spec import (
    CertificateType,
    DigitalSignatureAlgorithm,
    KeyFormatType,
    ObjectType,
    Operation,
    ResultReason,
    SecretDataType,
    SplitKeyMethod,
    Tag,
    WrappingMethod,
)
from kmipd.spec import (
    CryptographicAlgorithm as CA,
)
from kmipd.spec import (
    CryptographicUsageMask as CUM,
)
from kmipd.testing import call, make_processor, payload
from kmipd.ttlv import Item

from .test_create import (
    V10,
    V14,
    V20,
    V21,
    Assertions,
    a_alg,
    a_len,
    a_mask,
    a_name,
    attrs_of,
    get_attributes,
    get_key,
    key_bytes_of,
    template,
)

RSA_KEY = rsa.generate_private_key(65537, 1024)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
DSA_KEY = dsa.generate_private_key(1024)
DER = serialization.Encoding.DER
NOENC = serialization.NoEncryption()


def register(d, object_type: int, body: Item, attrs=(), version=V14, caller="alice"):
    return call(d, Operation.REGISTER, payload(Item.enum(Tag.OBJECT_TYPE, object_type),
                                               template(version, list(attrs)), body), version=version, caller=caller)


def block(fmt: int, material: bytes | Item, alg: int | None = None, length: int | None = None) -> Item:
    return keyblock.key_block(fmt, material, algorithm=alg, length=length)


def certificate() -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kmipd test"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example")])
    now = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(RSA_KEY.public_key())
            .serial_number(4242).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(RSA_KEY, hashes.SHA256()))
    return cert.public_bytes(DER)


class RegisterKeyTests(SynchronousTestCase, Assertions):
    """Register of keys."""

    def setUp(self) -> None:
        self.d = make_processor()

    def test_symmetric_1x(self) -> None:
        """A Raw AES key registers; Get returns the same bytes; Digest is SHA-256 of them."""
        key = bytes(range(16))
        body = keyblock.body(ObjectType.SYMMETRIC_KEY, block(KeyFormatType.RAW, key, CA.AES, 128))
        r = register(self.d, ObjectType.SYMMETRIC_KEY, body, [a_mask(CUM.ENCRYPT), a_name("reg")])
        self.assertOK(r)
        self.assertEqual([c.tag for c in r.payload.value], [Tag.UNIQUE_IDENTIFIER])
        uid = r.payload.get(Tag.UNIQUE_IDENTIFIER)
        self.assertEqual(key_bytes_of(get_key(self.d, uid)), key)
        got = attrs_of(get_attributes(self.d, uid), V14)
        self.assertEqual(got["Digest"][0].get(Tag.DIGEST_VALUE), hashlib.sha256(key).digest())
        self.assertNotIn("Random Number Generator", got)
        self.assertNotIn("Original Creation Date", got)
        self.assertEqual(got["Cryptographic Algorithm"][0].value, CA.AES)

    def test_symmetric_2x(self) -> None:
        """Register in the 2.1 shape (Attributes structure)."""
        body = keyblock.body(ObjectType.SYMMETRIC_KEY, block(KeyFormatType.RAW, b"k" * 32, CA.AES, 256))
        self.assertOK(register(self.d, ObjectType.SYMMETRIC_KEY, body, [a_mask(CUM.ENCRYPT)], version=V21))

    def test_symmetric_length_mismatch(self) -> None:
        """Cryptographic Length that does not match the key bytes: Invalid Field."""
        body = keyblock.body(ObjectType.SYMMETRIC_KEY, block(KeyFormatType.RAW, b"k" * 16, CA.AES, 256))
        self.assertFails(register(self.d, ObjectType.SYMMETRIC_KEY, body), ResultReason.INVALID_FIELD)

    def test_symmetric_bad_size(self) -> None:
        """A 10-byte AES key: Invalid Field."""
        body = keyblock.body(ObjectType.SYMMETRIC_KEY, block(KeyFormatType.RAW, b"k" * 10, CA.AES))
        self.assertFails(register(self.d, ObjectType.SYMMETRIC_KEY, body), ResultReason.INVALID_FIELD)

    def test_template_block_disagree(self) -> None:
        """A template algorithm that contradicts the Key Block: Invalid Field."""
        body = keyblock.body(ObjectType.SYMMETRIC_KEY, block(KeyFormatType.RAW, b"k" * 16, CA.AES, 128))
        self.assertFails(register(self.d, ObjectType.SYMMETRIC_KEY, body, [a_alg(CA.CAMELLIA)]),
                         ResultReason.INVALID_FIELD)

    def test_triple_des_168(self) -> None:
        """A 24-byte 3DES key registered with Cryptographic Length 168 is accepted."""
        body = keyblock.body(ObjectType.SYMMETRIC_KEY, block(KeyFormatType.RAW, b"\x01" * 24, CA.TRIPLE_DES, 168))
        self.assertOK(register(self.d, ObjectType.SYMMETRIC_KEY, body))

    def test_object_type_mismatch(self) -> None:
        """Object Type Private Key with a Symmetric Key structure: Invalid Field."""
        body = keyblock.body(ObjectType.SYMMETRIC_KEY, block(KeyFormatType.RAW, b"k" * 16, CA.AES, 128))
        self.assertFails(register(self.d, ObjectType.PRIVATE_KEY, body), ResultReason.INVALID_FIELD)

    def test_no_object(self) -> None:
        """Register without the object: refused with a named error."""
        r = call(self.d, Operation.REGISTER, payload(Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY)))
        self.assertFails(r, ResultReason.MISSING_DATA)

    def test_private_key_pkcs8(self) -> None:
        """An RSA PKCS#8 private key: algorithm and length come from the DER."""
        der = RSA_KEY.private_bytes(DER, serialization.PrivateFormat.PKCS8, NOENC)
        body = keyblock.body(ObjectType.PRIVATE_KEY, block(KeyFormatType.PKCS_8, der))
        r = register(self.d, ObjectType.PRIVATE_KEY, body, [a_mask(CUM.SIGN)])
        self.assertOK(r)
        got = attrs_of(get_attributes(self.d, r.payload.get(Tag.UNIQUE_IDENTIFIER)), V14)
        self.assertEqual((got["Cryptographic Algorithm"][0].value, got["Cryptographic Length"][0].value),
                         (CA.RSA, 1024))
        self.assertEqual(got["Digest"][0].get(Tag.KEY_FORMAT_TYPE), KeyFormatType.PKCS_8)
        self.assertEqual(got["Digest"][0].get(Tag.DIGEST_VALUE), hashlib.sha256(der).digest())

    def test_private_key_malformed(self) -> None:
        """Garbage in a PKCS#1 private key: Invalid Field."""
        body = keyblock.body(ObjectType.PRIVATE_KEY, block(KeyFormatType.PKCS_1, b"\x30\x03\x02\x01\x00", CA.RSA))
        self.assertFails(register(self.d, ObjectType.PRIVATE_KEY, body), ResultReason.INVALID_FIELD)

    def test_private_key_wrong_length(self) -> None:
        """A declared length that differs from the key's modulus: Invalid Field."""
        der = RSA_KEY.private_bytes(DER, serialization.PrivateFormat.TraditionalOpenSSL, NOENC)
        body = keyblock.body(ObjectType.PRIVATE_KEY, block(KeyFormatType.PKCS_1, der, CA.RSA, 2048))
        self.assertFails(register(self.d, ObjectType.PRIVATE_KEY, body), ResultReason.INVALID_FIELD)

    def test_public_key_x509_and_ec(self) -> None:
        """An EC SubjectPublicKeyInfo public key registers as EC 256."""
        der = EC_KEY.public_key().public_bytes(DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        body = keyblock.body(ObjectType.PUBLIC_KEY, block(KeyFormatType.X_509, der, CA.EC, 256))
        self.assertOK(register(self.d, ObjectType.PUBLIC_KEY, body, [a_mask(CUM.VERIFY)]))

    def test_public_key_transparent_rsa(self) -> None:
        """A Transparent RSA Public Key structure registers and is served as PKCS#1 on request."""
        nums = RSA_KEY.public_key().public_numbers()
        km = Item.struct(Tag.KEY_MATERIAL, [Item.big(Tag.MODULUS, nums.n), Item.big(Tag.PUBLIC_EXPONENT, nums.e)])
        body = keyblock.body(ObjectType.PUBLIC_KEY, block(KeyFormatType.TRANSPARENT_RSA_PUBLIC_KEY, km, CA.RSA, 1024))
        r = register(self.d, ObjectType.PUBLIC_KEY, body)
        self.assertOK(r)
        pkcs1 = Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.PKCS_1)
        got = get_key(self.d, r.payload.get(Tag.UNIQUE_IDENTIFIER), pkcs1)
        self.assertEqual(key_bytes_of(got), RSA_KEY.public_key().public_bytes(DER, serialization.PublicFormat.PKCS1))

    def dsa_key_material(self, **fields: int) -> Item:
        params = DSA_KEY.parameters().parameter_numbers()
        return Item.struct(Tag.KEY_MATERIAL, [Item.big(Tag.P, params.p), Item.big(Tag.Q, params.q),
                                              Item.big(Tag.G, params.g)]
                           + [Item.big(getattr(Tag, name.upper()), value) for name, value in fields.items()])

    def test_transparent_dsa_round_trips(self) -> None:
        """Transparent DSA Public (P, Q, G, Y) and Private (P, Q, G, X) Keys register (2.1 sections 3.5,
        3.6; profile vectors BL-M-12/13), are served as given and as X.509 / PKCS#8 on request."""
        y, x = DSA_KEY.public_key().public_numbers().y, DSA_KEY.private_numbers().x
        spki = DSA_KEY.public_key().public_bytes(DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        cases = [(ObjectType.PUBLIC_KEY, KeyFormatType.TRANSPARENT_DSA_PUBLIC_KEY, self.dsa_key_material(y=y),
                  KeyFormatType.X_509, spki),
                 (ObjectType.PRIVATE_KEY, KeyFormatType.TRANSPARENT_DSA_PRIVATE_KEY, self.dsa_key_material(x=x),
                  KeyFormatType.PKCS_8, DSA_KEY.private_bytes(DER, serialization.PrivateFormat.PKCS8, NOENC))]
        for object_type, fmt, km, der_format, der in cases:
            body = keyblock.body(object_type, block(fmt, km, CA.DSA, 1024))
            r = register(self.d, object_type, body, version=V21)
            self.assertOK(r)
            uid = r.payload.get(Tag.UNIQUE_IDENTIFIER)
            got = get_key(self.d, uid, version=V21)
            self.assertOK(got)
            self.assertEqual(got.payload.value[2], body)
            self.assertEqual(key_bytes_of(get_key(self.d, uid, Item.enum(Tag.KEY_FORMAT_TYPE, der_format),
                                                  version=V21)), der)

    def test_dsa_pkcs8_served_transparent(self) -> None:
        """A PKCS#8 DSA private key registers as DSA 1024 and is served as Transparent DSA Private Key."""
        der = DSA_KEY.private_bytes(DER, serialization.PrivateFormat.PKCS8, NOENC)
        r = register(self.d, ObjectType.PRIVATE_KEY, keyblock.body(ObjectType.PRIVATE_KEY, block(KeyFormatType.PKCS_8,
                                                                                                  der)))
        self.assertOK(r)
        uid = r.payload.get(Tag.UNIQUE_IDENTIFIER)
        attrs = attrs_of(get_attributes(self.d, uid, ["Cryptographic Algorithm", "Cryptographic Length"]), V14)
        self.assertEqual((attrs["Cryptographic Algorithm"][0].value, attrs["Cryptographic Length"][0].value),
                         (CA.DSA, 1024))
        got = get_key(self.d, uid, Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.TRANSPARENT_DSA_PRIVATE_KEY))
        self.assertOK(got)
        km = got.payload.value[2].find(Tag.KEY_BLOCK).find(Tag.KEY_VALUE).find(Tag.KEY_MATERIAL)
        self.assertEqual(km, self.dsa_key_material(x=DSA_KEY.private_numbers().x))

    def test_transparent_dsa_refused(self) -> None:
        """A Transparent DSA key without G, or whose Y is not G^X mod P, is refused with Invalid Field."""
        y = DSA_KEY.public_key().public_numbers().y
        no_g = Item.struct(Tag.KEY_MATERIAL, [c for c in self.dsa_key_material(y=y).value if c.tag != Tag.G])
        for km in (no_g, self.dsa_key_material(y=y + 1)):
            body = keyblock.body(ObjectType.PUBLIC_KEY, block(KeyFormatType.TRANSPARENT_DSA_PUBLIC_KEY, km, CA.DSA))
            self.assertFails(register(self.d, ObjectType.PUBLIC_KEY, body, version=V21), ResultReason.INVALID_FIELD)

    def test_split_key(self) -> None:
        """A Split Key registers; inconsistent parameters are refused with Invalid Field."""
        def body(threshold: int) -> Item:
            return keyblock.body(ObjectType.SPLIT_KEY, block(KeyFormatType.RAW, b"s" * 16, CA.AES, 128),
                                 parts=Item.int(Tag.SPLIT_KEY_PARTS, 3), ident=Item.int(Tag.KEY_PART_IDENTIFIER, 1),
                                 threshold=Item.int(Tag.SPLIT_KEY_THRESHOLD, threshold),
                                 method=Item.enum(Tag.SPLIT_KEY_METHOD, SplitKeyMethod.XOR))
        self.assertOK(register(self.d, ObjectType.SPLIT_KEY, body(3)))
        self.assertFails(register(self.d, ObjectType.SPLIT_KEY, body(5)), ResultReason.INVALID_FIELD)

    def test_pgp_key(self) -> None:
        """A PGP Key (1.2+) with its version registers."""
        body = keyblock.body(ObjectType.PGP_KEY, block(KeyFormatType.OPAQUE, b"pgp-blob"),
                             version=Item.int(Tag.PGP_KEY_VERSION, 4))
        self.assertOK(register(self.d, ObjectType.PGP_KEY, body))


class RegisterOtherTests(SynchronousTestCase, Assertions):
    """Register of certificates, secret data, opaque objects and templates."""

    def setUp(self) -> None:
        self.d = make_processor()

    def cert(self, version):
        body = Item.struct(Tag.CERTIFICATE, [Item.enum(Tag.CERTIFICATE_TYPE, CertificateType.X_509),
                                             Item.bytes(Tag.CERTIFICATE_VALUE, certificate())])
        r = register(self.d, ObjectType.CERTIFICATE, body, [a_mask(CUM.VERIFY)], version=version)
        self.assertOK(r)
        return attrs_of(get_attributes(self.d, r.payload.get(Tag.UNIQUE_IDENTIFIER), version=version), version)

    def test_certificate_14(self) -> None:
        """A 1.4 X.509 certificate gets Certificate Type/Length, X.509 identifiers, signature and key algorithm."""
        got = self.cert(V14)
        self.assertEqual(got["Certificate Type"][0].value, CertificateType.X_509)
        self.assertEqual(got["Certificate Length"][0].value, len(certificate()))
        self.assertEqual(got["Digital Signature Algorithm"][0].value,
                         DigitalSignatureAlgorithm.SHA_256_WITH_RSA_ENCRYPTION)
        serial = got["X.509 Certificate Identifier"][0].get(Tag.CERTIFICATE_SERIAL_NUMBER)
        self.assertEqual(serial, (4242).to_bytes(2, "big"))
        self.assertIn("X.509 Certificate Subject", got)
        self.assertEqual((got["Cryptographic Algorithm"][0].value, got["Cryptographic Length"][0].value),
                         (CA.RSA, 1024))

    def test_certificate_10(self) -> None:
        """A 1.0 client sees the 1.0 certificate attributes, not the 1.1 X.509 ones."""
        got = self.cert(V10)
        self.assertIn("Certificate Identifier", got)
        self.assertEqual(got["Certificate Identifier"][0].get(Tag.SERIAL_NUMBER), "4242")
        self.assertIn("CN=kmipd test", got["Certificate Subject"][0].get(Tag.CERTIFICATE_SUBJECT_DISTINGUISHED_NAME))
        self.assertNotIn("X.509 Certificate Identifier", got)
        self.assertNotIn("Certificate Length", got)

    def test_certificate_20(self) -> None:
        """A 2.0 client sees Certificate Subject CN and not the 1.x-only Certificate Identifier."""
        got = self.cert(V20)
        self.assertEqual(got["Certificate Subject CN"][0].value, "kmipd test")
        self.assertNotIn("Certificate Identifier", got)

    def test_certificate_malformed(self) -> None:
        """A certificate value that is not DER X.509: Invalid Field."""
        body = Item.struct(Tag.CERTIFICATE, [Item.enum(Tag.CERTIFICATE_TYPE, CertificateType.X_509),
                                             Item.bytes(Tag.CERTIFICATE_VALUE, b"not a certificate")])
        self.assertFails(register(self.d, ObjectType.CERTIFICATE, body), ResultReason.INVALID_FIELD)

    def test_secret_data(self) -> None:
        """Secret Data (a password) registers; without Secret Data Type it is refused."""
        good = keyblock.body(ObjectType.SECRET_DATA, block(KeyFormatType.OPAQUE, b"SecretPassword"),
                             type=Item.enum(Tag.SECRET_DATA_TYPE, SecretDataType.PASSWORD))
        self.assertOK(register(self.d, ObjectType.SECRET_DATA, good, [a_mask(CUM.DERIVE_KEY)]))
        bad = keyblock.body(ObjectType.SECRET_DATA, block(KeyFormatType.OPAQUE, b"SecretPassword"))
        self.assertFails(register(self.d, ObjectType.SECRET_DATA, bad), ResultReason.INVALID_FIELD)

    def test_opaque_object(self) -> None:
        """An Opaque Object (OMOS-M-1 shape) registers; 2.x shows its Opaque Data Type attribute."""
        body = Item.struct(Tag.OPAQUE_OBJECT, [Item.enum(Tag.OPAQUE_DATA_TYPE, 0x80000001),
                                               Item.bytes(Tag.OPAQUE_DATA_VALUE, b"SecretPassword")])
        r = register(self.d, ObjectType.OPAQUE_OBJECT, body, [a_name("OMOS")], version=V20)
        self.assertOK(r)
        got = attrs_of(get_attributes(self.d, r.payload.get(Tag.UNIQUE_IDENTIFIER), version=V20), V20)
        self.assertEqual(got["Opaque Data Type"][0].value, 0x80000001)
        self.assertEqual(got["Digest"][0].get(Tag.DIGEST_VALUE), hashlib.sha256(b"SecretPassword").digest())

    def test_template_1x_only(self) -> None:
        """A Template registers in 1.x, not in 2.x, and may not contain a Name."""
        body = Item.struct(Tag.TEMPLATE, [to_1x(*a_alg(CA.AES)), to_1x(*a_len(128))])
        self.assertOK(register(self.d, ObjectType.TEMPLATE, body))
        self.assertFails(register(self.d, ObjectType.TEMPLATE, body, version=V20), ResultReason.INVALID_FIELD)
        named = Item.struct(Tag.TEMPLATE, [to_1x(*a_name("t"))])
        self.assertFails(register(self.d, ObjectType.TEMPLATE, named), ResultReason.INVALID_FIELD)

    def test_duplicate_name(self) -> None:
        """Registering a second object under a Name in use: Invalid Field."""
        body = Item.struct(Tag.OPAQUE_OBJECT, [Item.enum(Tag.OPAQUE_DATA_TYPE, 0x80000001),
                                               Item.bytes(Tag.OPAQUE_DATA_VALUE, b"x")])
        self.assertOK(register(self.d, ObjectType.OPAQUE_OBJECT, body, [a_name("same")]))
        self.assertFails(register(self.d, ObjectType.OPAQUE_OBJECT, body, [a_name("same")]), ResultReason.INVALID_FIELD)

    def test_random_number_generator_settable(self) -> None:
        """A client may record the Random Number Generator of material it registers (1.3+)."""
        rng = ("Random Number Generator", Item.struct(Tag.RANDOM_NUMBER_GENERATOR, [Item.enum(Tag.RNG_ALGORITHM, 3)]))
        body = keyblock.body(ObjectType.SYMMETRIC_KEY, block(KeyFormatType.RAW, b"k" * 16, CA.AES, 128))
        r = register(self.d, ObjectType.SYMMETRIC_KEY, body, [rng, a_len(128)])
        self.assertOK(r)
        got = attrs_of(get_attributes(self.d, r.payload.get(Tag.UNIQUE_IDENTIFIER)), V14)
        self.assertEqual(got["Random Number Generator"][0].get(Tag.RNG_ALGORITHM), 3)


def with_block_field(body: Item, tag: int, item: Item | None) -> Item:
    """C{body} (an object structure) with its Key Block field C{tag} replaced by C{item} (added if
    absent; removed if C{item} is None)."""
    kb = body.find(Tag.KEY_BLOCK)
    assert kb is not None
    kept = [c for c in kb.value if c.tag != tag]
    kb.value = kept + ([item] if item is not None else [])
    return body


def wrapped_body(kwd: list[Item]) -> Item:
    """A Symmetric Key whose Key Block holds a wrapped (Byte String) Key Value and Key Wrapping Data C{kwd}."""
    return keyblock.body(ObjectType.SYMMETRIC_KEY, Item.struct(Tag.KEY_BLOCK, [
        Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.RAW), Item.bytes(Tag.KEY_VALUE, b"w" * 24),
        Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CA.AES), Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 128),
        Item.struct(Tag.KEY_WRAPPING_DATA, kwd)]))


class RegisterKeyBlockTypeTests(SynchronousTestCase, Assertions):
    """A Key Block field of the wrong item type is Invalid Field (1.x and 2.x), like any other
    mistyped request field, never an internal error."""

    def setUp(self) -> None:
        self.d = make_processor()

    def aes(self) -> Item:
        return keyblock.body(ObjectType.SYMMETRIC_KEY, block(KeyFormatType.RAW, b"k" * 16, CA.AES, 128))

    def assertInvalid(self, body: Item, field: str) -> None:
        for version in (V10, V14, V20, V21):
            r = register(self.d, ObjectType.SYMMETRIC_KEY, body, version=version)
            self.assertFails(r, ResultReason.INVALID_FIELD)
            self.assertIn(field, r.message)

    def test_algorithm_text_string(self) -> None:
        """Cryptographic Algorithm as a Text String (was General Failure: a ValueError building the attribute)."""
        body = with_block_field(self.aes(), Tag.CRYPTOGRAPHIC_ALGORITHM, Item.text(Tag.CRYPTOGRAPHIC_ALGORITHM, "AES"))
        self.assertInvalid(body, "Cryptographic Algorithm")

    def test_algorithm_other_types(self) -> None:
        """Cryptographic Algorithm as a Byte String, a Structure or an Integer (of the right value)."""
        for bad in (Item.bytes(Tag.CRYPTOGRAPHIC_ALGORITHM, b"\x03"), Item.struct(Tag.CRYPTOGRAPHIC_ALGORITHM, []),
                    Item.int(Tag.CRYPTOGRAPHIC_ALGORITHM, CA.AES)):
            self.assertInvalid(with_block_field(self.aes(), Tag.CRYPTOGRAPHIC_ALGORITHM, bad),
                               "Cryptographic Algorithm")

    def test_other_fields(self) -> None:
        """Cryptographic Length, Key Format Type, Key Compression Type and Key Value mistyped: each named."""
        cases = [
            (Item.enum(Tag.CRYPTOGRAPHIC_LENGTH, 128), "Cryptographic Length"),
            (Item.int(Tag.KEY_FORMAT_TYPE, KeyFormatType.RAW), "Key Format Type"),
            (Item.text(Tag.KEY_COMPRESSION_TYPE, "none"), "Key Compression Type"),
            (Item.text(Tag.KEY_VALUE, "k" * 16), "Key Value"),
        ]
        for bad, field in cases:
            self.assertInvalid(with_block_field(self.aes(), bad.tag, bad), field)

    def test_unknown_field(self) -> None:
        """A field the Key Block does not define is Invalid Field too."""
        self.assertInvalid(with_block_field(self.aes(), Tag.OBJECT_TYPE, Item.enum(Tag.OBJECT_TYPE, 2)), "Object Type")

    def test_wrapped_key_wrapping_data(self) -> None:
        """Key Wrapping Data is typed as well: a Text String Wrapping Method, a mistyped Padding
        Method in its Encryption Key Information, or no Wrapping Method at all."""
        method = Item.enum(Tag.WRAPPING_METHOD, WrappingMethod.ENCRYPT)
        self.assertOK(register(self.d, ObjectType.SYMMETRIC_KEY, wrapped_body([method])))
        info = Item.struct(Tag.ENCRYPTION_KEY_INFORMATION, [
            Item.text(Tag.UNIQUE_IDENTIFIER, "kek"),
            Item.struct(Tag.CRYPTOGRAPHIC_PARAMETERS, [Item.text(Tag.PADDING_METHOD, "none")])])
        cases = [
            ([Item.text(Tag.WRAPPING_METHOD, "Encrypt")], "Wrapping Method"),
            ([method, info], "Padding Method"),
            ([Item.bytes(Tag.IV_COUNTER_NONCE, bytes(12))], "Wrapping Method"),
        ]
        for kwd, field in cases:
            self.assertInvalid(wrapped_body(kwd), field)
