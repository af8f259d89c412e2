"""Create and CreateKeyPair in the 1.x and 2.x request/response shapes, with the seed's errors."""

from __future__ import annotations

import hashlib
import os

from twisted.trial.unittest import SynchronousTestCase

from kmipd.model.attributes import to_1x
from kmipd.spec import (
    CryptographicAlgorithm as CA,
)
from kmipd.spec import (
    CryptographicUsageMask as CUM,
)
from kmipd.spec import (
    KeyFormatType,
    LinkType,
    ObjectType,
    Operation,
    RecommendedCurve,
    ResultReason,
    ResultStatus,
    State,
    Tag,
)
from kmipd.testing import FakeClock, Result, batch_item, call, make_processor, payload, request, results, send
from kmipd.ttlv import Item

V10, V12, V14, V20, V21 = (1, 0), (1, 2), (1, 4), (2, 0), (2, 1)


# --------------------------------------------------------------------------------------------
# Helpers shared by the operation tests (imported by test_register/test_get/test_rekey).

def a_alg(alg: int) -> tuple[str, Item]:
    return "Cryptographic Algorithm", Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, alg)


def a_len(n: int) -> tuple[str, Item]:
    return "Cryptographic Length", Item.int(Tag.CRYPTOGRAPHIC_LENGTH, n)


def a_mask(m: int) -> tuple[str, Item]:
    return "Cryptographic Usage Mask", Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, int(m))


def a_name(n: str) -> tuple[str, Item]:
    return "Name", Item.struct(Tag.NAME, [Item.text(Tag.NAME_VALUE, n), Item.enum(Tag.NAME_TYPE, 1)])


def a_date(name: str, tag: int, t: int) -> tuple[str, Item]:
    return name, Item.datetime(tag, t)


def template(version: tuple[int, int], attrs: list[tuple[str, Item]], kind: str = "") -> Item:
    """A template container of the version's shape (C{kind}: "", "common", "private", "public")."""
    tags = {
        "": (Tag.TEMPLATE_ATTRIBUTE, Tag.ATTRIBUTES),
        "common": (Tag.COMMON_TEMPLATE_ATTRIBUTE, Tag.COMMON_ATTRIBUTES),
        "private": (Tag.PRIVATE_KEY_TEMPLATE_ATTRIBUTE, Tag.PRIVATE_KEY_ATTRIBUTES),
        "public": (Tag.PUBLIC_KEY_TEMPLATE_ATTRIBUTE, Tag.PUBLIC_KEY_ATTRIBUTES),
    }[kind]
    if version < (2, 0):
        return Item.struct(tags[0], [to_1x(n, v) for n, v in attrs])
    return Item.struct(tags[1], [v for _, v in attrs])


def aes_attrs(length: int = 256, name: str | None = None) -> list[tuple[str, Item]]:
    out = [a_alg(CA.AES), a_len(length), a_mask(CUM.ENCRYPT | CUM.DECRYPT)]
    if name:
        out.append(a_name(name))
    return out


def create(d, attrs: list[tuple[str, Item]], version=V14, caller="alice",
           object_type=ObjectType.SYMMETRIC_KEY) -> Result:
    return call(d, Operation.CREATE, payload(Item.enum(Tag.OBJECT_TYPE, object_type), template(version, attrs)),
                version=version, caller=caller)


def create_key_pair(d, common, private, public, version=V14, caller="alice") -> Result:
    return call(d, Operation.CREATE_KEY_PAIR, payload(
        template(version, common, "common"), template(version, private, "private"),
        template(version, public, "public")), version=version, caller=caller)


def uid_payload(uid: str, *extra: Item) -> Item:
    return payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid), *extra)


def get_attributes(d, uid: str, names: list[str] | None = None, version=V14, caller="alice") -> Result:
    from kmipd.model.attributes import reference

    refs = [reference(n, version) for n in names or []]
    return call(d, Operation.GET_ATTRIBUTES, uid_payload(uid, *refs), version=version, caller=caller)


def attrs_of(result: Result, version) -> dict[str, list[Item]]:
    """Attribute name -> values of a GetAttributes response in either shape."""
    from kmipd.model.attributes import name_for_tag

    out: dict[str, list[Item]] = {}
    assert result.payload is not None, result.message
    if version < (2, 0):
        for a in result.payload.findall(Tag.ATTRIBUTE):
            out.setdefault(a.get(Tag.ATTRIBUTE_NAME), []).append(a.find(Tag.ATTRIBUTE_VALUE))
    else:
        container = result.payload.find(Tag.ATTRIBUTES)
        assert container is not None
        for v in container.value:
            out.setdefault(name_for_tag(v.tag) or "?", []).append(v)
    return out


def get_key(d, uid: str, *extra: Item, version=V14, caller="alice") -> Result:
    return call(d, Operation.GET, uid_payload(uid, *extra), version=version, caller=caller)


def key_bytes_of(result: Result) -> bytes:
    assert result.payload is not None, result.message
    body = result.payload.value[2]
    return body.find(Tag.KEY_BLOCK).find(Tag.KEY_VALUE).get(Tag.KEY_MATERIAL)


class Assertions:
    """Result assertions for trial test cases."""

    def assertOK(self, r: Result) -> None:
        self.assertEqual((r.status, r.reason, r.message), (ResultStatus.SUCCESS, None, None))  # type: ignore[attr-defined]

    def assertFails(self, r: Result, reason: int) -> None:
        self.assertEqual(r.status, ResultStatus.OPERATION_FAILED, r.message)  # type: ignore[attr-defined]
        self.assertEqual(ResultReason(r.reason), ResultReason(reason), r.message)  # type: ignore[attr-defined]
        self.assertTrue(r.message)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------

class CreateTests(SynchronousTestCase, Assertions):
    """Create of symmetric keys."""

    def setUp(self) -> None:
        self.clock = FakeClock()
        self.d = make_processor(clock=self.clock)

    def test_create_1x_shape(self) -> None:
        """A 1.4 Create answers exactly Object Type and Unique Identifier, like SKLC-M-1-14."""
        r = create(self.d, aes_attrs(256, "k"))
        self.assertOK(r)
        self.assertEqual([c.tag for c in r.payload.value], [Tag.OBJECT_TYPE, Tag.UNIQUE_IDENTIFIER])
        self.assertEqual(r.payload.get(Tag.OBJECT_TYPE), ObjectType.SYMMETRIC_KEY)

    def test_create_10_attributes(self) -> None:
        """A 1.0 key has the 1.0 attribute set: no Fresh, no Original Creation Date, no 1.4 flags."""
        uid = create(self.d, aes_attrs(128, "k"), version=V10).payload.get(Tag.UNIQUE_IDENTIFIER)
        names = set(attrs_of(get_attributes(self.d, uid, version=V10), V10))
        self.assertEqual(names, {"Unique Identifier", "Object Type", "State", "Initial Date", "Last Change Date",
                                 "Cryptographic Algorithm", "Cryptographic Length", "Digest",
                                 "Cryptographic Usage Mask", "Name", "Lease Time"})

    def test_create_14_attributes(self) -> None:
        """A 1.4 key carries what SKFF-M-10-14 lists: Fresh, RNG, Sensitive/Extractable family, dates."""
        uid = create(self.d, aes_attrs(256)).payload.get(Tag.UNIQUE_IDENTIFIER)
        got = attrs_of(get_attributes(self.d, uid), V14)
        for name in ("Fresh", "Original Creation Date", "Random Number Generator", "Sensitive", "Extractable",
                     "Always Sensitive", "Never Extractable", "Lease Time"):
            self.assertIn(name, got)
        self.assertEqual(got["State"][0].value, State.PRE_ACTIVE)
        self.assertEqual(got["Initial Date"][0].value, int(self.clock.now))
        self.assertIs(got["Fresh"][0].value, True)
        self.assertNotIn("Operation Policy Name", got)

    def test_create_2x_shape(self) -> None:
        """A 2.0 Create takes an Attributes structure; the key shows 2.x attributes such as Key Format Type."""
        r = create(self.d, aes_attrs(128), version=V20)
        self.assertOK(r)
        self.assertEqual([c.tag for c in r.payload.value], [Tag.OBJECT_TYPE, Tag.UNIQUE_IDENTIFIER])
        got = attrs_of(get_attributes(self.d, r.payload.get(Tag.UNIQUE_IDENTIFIER), version=V20), V20)
        self.assertEqual(got["Key Format Type"][0].value, KeyFormatType.RAW)
        self.assertEqual(len(got["Short Unique Identifier"][0].value), 32)
        self.assertNotIn("Operation Policy Name", got)

    def test_seed_algorithm_table(self) -> None:
        """Every algorithm of the seed's table (and HMAC, ChaCha20) makes a key of the right size."""
        cases = [(CA.TRIPLE_DES, 192, 24), (CA.TRIPLE_DES, 168, 24), (CA.TRIPLE_DES, 112, 16), (CA.AES, 128, 16),
                 (CA.AES, 192, 24), (CA.AES, 256, 32), (CA.BLOWFISH, 128, 16), (CA.BLOWFISH, 256, 32),
                 (CA.CAMELLIA, 192, 24), (CA.CAST5, 64, 8), (CA.CAST5, 128, 16), (CA.IDEA, 128, 16),
                 (CA.RC4, 128, 16), (CA.RC4, 256, 32), (CA.HMAC_SHA256, 256, 32), (CA.HMAC_SHA1, 160, 20),
                 (CA.CHACHA20, 256, 32)]
        for alg, length, nbytes in cases:
            r = create(self.d, [a_alg(alg), a_len(length), a_mask(CUM.ENCRYPT)])
            self.assertOK(r)
            got = get_key(self.d, r.payload.get(Tag.UNIQUE_IDENTIFIER))
            self.assertEqual(len(key_bytes_of(got)), nbytes, (alg, length))
            block = got.payload.value[2].find(Tag.KEY_BLOCK)
            self.assertEqual(block.get(Tag.CRYPTOGRAPHIC_LENGTH), length)

    def test_triple_des_parity(self) -> None:
        """3DES keys are made with odd parity in every byte."""
        uid = create(self.d, [a_alg(CA.TRIPLE_DES), a_len(168), a_mask(CUM.ENCRYPT)]).payload.get(Tag.UNIQUE_IDENTIFIER)
        key = key_bytes_of(get_key(self.d, uid))
        self.assertTrue(all(bin(b).count("1") % 2 == 1 for b in key))

    def test_missing_algorithm(self) -> None:
        """No Cryptographic Algorithm: Invalid Field."""
        self.assertFails(create(self.d, [a_len(128), a_mask(CUM.ENCRYPT)]), ResultReason.INVALID_FIELD)

    def test_missing_length(self) -> None:
        """No Cryptographic Length: Invalid Field."""
        self.assertFails(create(self.d, [a_alg(CA.AES), a_mask(CUM.ENCRYPT)]), ResultReason.INVALID_FIELD)

    def test_missing_mask(self) -> None:
        """No Cryptographic Usage Mask: Invalid Field (in 2.x too)."""
        self.assertFails(create(self.d, [a_alg(CA.AES), a_len(128)]), ResultReason.INVALID_FIELD)
        self.assertFails(create(self.d, [a_alg(CA.AES), a_len(128)], version=V21), ResultReason.INVALID_FIELD)

    def test_unsupported_algorithm(self) -> None:
        """An asymmetric, hash or unknown algorithm in Create: Invalid Field (Skipjack is storable)."""
        self.assertFails(create(self.d, [a_alg(CA.RSA), a_len(2048), a_mask(CUM.SIGN)]), ResultReason.INVALID_FIELD)
        self.assertFails(create(self.d, [a_alg(CA.SHA3_256), a_len(256), a_mask(CUM.ENCRYPT)]),
                         ResultReason.INVALID_FIELD)
        self.assertFails(create(self.d, [a_alg(CA.ONE_TIME_PAD), a_len(128), a_mask(CUM.ENCRYPT)]),
                         ResultReason.INVALID_FIELD)

    def test_invalid_length(self) -> None:
        """A length the algorithm does not have: Invalid Field."""
        self.assertFails(create(self.d, aes_attrs(100)), ResultReason.INVALID_FIELD)
        self.assertFails(create(self.d, [a_alg(CA.IDEA), a_len(256), a_mask(CUM.ENCRYPT)]), ResultReason.INVALID_FIELD)

    def test_wrong_object_type(self) -> None:
        """Create of anything but a Symmetric Key: Invalid Field (1.x), Invalid Object Type (2.x Table 188)."""
        self.assertFails(create(self.d, aes_attrs(), object_type=ObjectType.CERTIFICATE), ResultReason.INVALID_FIELD)
        self.assertFails(create(self.d, aes_attrs(), object_type=ObjectType.CERTIFICATE, version=V21),
                         ResultReason.INVALID_OBJECT_TYPE)

    def test_activation_date_past_makes_active(self) -> None:
        """An Activation Date at or before now creates the key Active; a future one leaves it Pre-Active."""
        now = int(self.clock.now)
        past = create(self.d, aes_attrs() + [a_date("Activation Date", Tag.ACTIVATION_DATE, now)])
        future = create(self.d, aes_attrs() + [a_date("Activation Date", Tag.ACTIVATION_DATE, now + 60)])
        for r, state in ((past, State.ACTIVE), (future, State.PRE_ACTIVE)):
            got = attrs_of(get_attributes(self.d, r.payload.get(Tag.UNIQUE_IDENTIFIER), ["State"]), V14)
            self.assertEqual(got["State"][0].value, state)

    def test_server_attribute_refused(self) -> None:
        """A client may not set a server-managed attribute such as Initial Date."""
        attrs = aes_attrs() + [a_date("Initial Date", Tag.INITIAL_DATE, 5)]
        self.assertFails(create(self.d, attrs), ResultReason.PERMISSION_DENIED)
        self.assertFails(create(self.d, attrs, version=V20), ResultReason.ATTRIBUTE_READ_ONLY)

    def test_attribute_not_applicable(self) -> None:
        """Cryptographic Domain Parameters on a symmetric key: Invalid Attribute (2.x), Invalid Field (1.x)."""
        dp = ("Cryptographic Domain Parameters", Item.struct(Tag.CRYPTOGRAPHIC_DOMAIN_PARAMETERS, [
            Item.enum(Tag.RECOMMENDED_CURVE, RecommendedCurve.P_256)]))
        self.assertFails(create(self.d, aes_attrs() + [dp], version=V20), ResultReason.INVALID_ATTRIBUTE)
        self.assertFails(create(self.d, aes_attrs() + [dp]), ResultReason.INVALID_FIELD)

    def test_attribute_of_later_version(self) -> None:
        """An attribute the client's version does not define (Description in 1.2): Invalid Field."""
        desc = ("Description", Item.text(Tag.DESCRIPTION, "x"))
        self.assertFails(create(self.d, aes_attrs() + [desc], version=V12), ResultReason.INVALID_FIELD)
        self.assertOK(create(self.d, aes_attrs() + [desc], version=V14))

    def test_single_valued_twice(self) -> None:
        """A single-valued attribute given twice: Invalid Field (1.x), Attribute Single Valued (2.x)."""
        attrs = aes_attrs() + [a_len(256)]
        self.assertFails(create(self.d, attrs), ResultReason.INVALID_FIELD)
        self.assertFails(create(self.d, attrs, version=V20), ResultReason.ATTRIBUTE_SINGLE_VALUED)

    def test_duplicate_name(self) -> None:
        """A Name that a live object already has: Invalid Field."""
        self.assertOK(create(self.d, aes_attrs(name="dup")))
        self.assertFails(create(self.d, aes_attrs(name="dup")), ResultReason.INVALID_FIELD)

    def test_digest(self) -> None:
        """The Digest is SHA-256 of the Raw key bytes with Key Format Type Raw."""
        uid = create(self.d, aes_attrs()).payload.get(Tag.UNIQUE_IDENTIFIER)
        key = key_bytes_of(get_key(self.d, uid))
        digest = attrs_of(get_attributes(self.d, uid, ["Digest"]), V14)["Digest"][0]
        self.assertEqual(digest.get(Tag.DIGEST_VALUE), hashlib.sha256(key).digest())
        self.assertEqual(digest.get(Tag.KEY_FORMAT_TYPE), KeyFormatType.RAW)

    def test_custom_attribute_and_group(self) -> None:
        """Custom attributes and Object Group from the template are stored and returned."""
        extra = [("x-purpose", Item.text(Tag.ATTRIBUTE_VALUE, "tape")),
                 ("Object Group", Item.text(Tag.OBJECT_GROUP, "g1"))]
        uid = create(self.d, aes_attrs() + extra).payload.get(Tag.UNIQUE_IDENTIFIER)
        got = attrs_of(get_attributes(self.d, uid, ["x-purpose", "Object Group"]), V14)
        self.assertEqual(got["x-purpose"][0].value, "tape")
        self.assertEqual(got["Object Group"][0].value, "g1")

    def test_id_placeholder(self) -> None:
        """A batch Create then Get without Unique Identifier gets the new key."""
        message = request(
            batch_item(Operation.CREATE, payload(Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
                                                 template(V14, aes_attrs()))),
            batch_item(Operation.GET, payload()))
        created, got = results(send(self.d, message, "alice"))
        self.assertOK(got)
        self.assertEqual(got.payload.get(Tag.UNIQUE_IDENTIFIER), created.payload.get(Tag.UNIQUE_IDENTIFIER))

    def test_owner(self) -> None:
        """The creator owns the key: another identity is denied Get under the default policy."""
        uid = create(self.d, aes_attrs(), caller="alice").payload.get(Tag.UNIQUE_IDENTIFIER)
        self.assertFails(get_key(self.d, uid, caller="bob"), ResultReason.PERMISSION_DENIED)


class CreateSQLTests(SynchronousTestCase, Assertions):
    """Create and Get through the SQL store on a temporary SQLite file."""

    def test_create_get_sqlite(self) -> None:
        """A key created in SQLite is read back with the same attributes and material."""
        from kmipd.store.sql import SQLObjectStore

        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        store = SQLObjectStore("sqlite:///" + os.path.join(directory, "k.sqlite"), b"k" * 32)
        self.addCleanup(store.close)
        d = make_processor(store)
        uid = create(d, aes_attrs(name="sql")).payload.get(Tag.UNIQUE_IDENTIFIER)
        got = get_key(d, uid)
        self.assertOK(got)
        self.assertEqual(len(key_bytes_of(got)), 32)
        names = attrs_of(get_attributes(d, uid, ["Name"]), V14)["Name"]
        self.assertEqual(names[0].get(Tag.NAME_VALUE), "sql")


class CreateKeyPairTests(SynchronousTestCase, Assertions):
    """CreateKeyPair for RSA, EC and Ed25519."""

    def setUp(self) -> None:
        self.d = make_processor()

    def rsa(self, version=V14, length=2048):
        return create_key_pair(self.d, [a_alg(CA.RSA), a_len(length)], [a_name("priv"), a_mask(CUM.SIGN)],
                               [a_name("pub"), a_mask(CUM.VERIFY)], version=version)

    def test_rsa_1x(self) -> None:
        """RSA-2048 (AKLC-M-1-14 shape): two ids, PKCS#1 keys, linked both ways, per-key masks and names."""
        r = self.rsa()
        self.assertOK(r)
        self.assertEqual([c.tag for c in r.payload.value],
                         [Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER, Tag.PUBLIC_KEY_UNIQUE_IDENTIFIER])
        priv, pub = (c.value for c in r.payload.value)
        pa, ua = attrs_of(get_attributes(self.d, priv), V14), attrs_of(get_attributes(self.d, pub), V14)
        self.assertEqual(pa["Object Type"][0].value, ObjectType.PRIVATE_KEY)
        self.assertEqual(pa["Cryptographic Usage Mask"][0].value, CUM.SIGN)
        self.assertEqual(ua["Cryptographic Usage Mask"][0].value, CUM.VERIFY)
        self.assertEqual(pa["Cryptographic Length"][0].value, 2048)
        self.assertEqual(pa["Digest"][0].get(Tag.KEY_FORMAT_TYPE), KeyFormatType.PKCS_1)
        self.assertEqual(pa["Name"][0].get(Tag.NAME_VALUE), "priv")
        self.assertEqual([(v.get(Tag.LINK_TYPE), v.get(Tag.LINKED_OBJECT_IDENTIFIER)) for v in pa["Link"]],
                         [(LinkType.PUBLIC_KEY_LINK, pub)])
        self.assertEqual([(v.get(Tag.LINK_TYPE), v.get(Tag.LINKED_OBJECT_IDENTIFIER)) for v in ua["Link"]],
                         [(LinkType.PRIVATE_KEY_LINK, priv)])

    def test_rsa_2x(self) -> None:
        """A 2.1 CreateKeyPair with Common/Private Key/Public Key Attributes."""
        r = self.rsa(version=V21, length=1024)
        self.assertOK(r)
        priv = r.payload.get(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER)
        got = attrs_of(get_attributes(self.d, priv, version=V21), V21)
        self.assertEqual(got["Cryptographic Length"][0].value, 1024)
        self.assertEqual(got["Key Format Type"][0].value, KeyFormatType.PKCS_1)

    def test_rsa_4096(self) -> None:
        """RSA up to at least 4096 bits is supported."""
        self.assertOK(self.rsa(length=4096))

    def test_ec_curves(self) -> None:
        """EC keys on P-256 (by length), P-384 and P-521 (by Recommended Curve)."""
        r = create_key_pair(self.d, [a_alg(CA.EC), a_len(256)], [a_mask(CUM.SIGN)], [a_mask(CUM.VERIFY)])
        self.assertOK(r)
        for curve, bits in ((RecommendedCurve.P_384, 384), (RecommendedCurve.P_521, 521)):
            dp = ("Cryptographic Domain Parameters", Item.struct(Tag.CRYPTOGRAPHIC_DOMAIN_PARAMETERS, [
                Item.enum(Tag.RECOMMENDED_CURVE, curve)]))
            r = create_key_pair(self.d, [a_alg(CA.ECDSA), dp], [a_mask(CUM.SIGN)], [a_mask(CUM.VERIFY)], version=V20)
            self.assertOK(r)
            got = attrs_of(get_attributes(self.d, r.payload.get(Tag.PUBLIC_KEY_UNIQUE_IDENTIFIER), version=V20), V20)
            self.assertEqual(got["Cryptographic Length"][0].value, bits)

    def test_ed25519(self) -> None:
        """Ed25519 key pairs are made (2.x algorithm)."""
        r = create_key_pair(self.d, [a_alg(CA.ED25519)], [a_mask(CUM.SIGN)], [a_mask(CUM.VERIFY)], version=V21)
        self.assertOK(r)

    def test_missing_mask(self) -> None:
        """A public key template without usage mask: Invalid Field."""
        r = create_key_pair(self.d, [a_alg(CA.RSA), a_len(2048)], [a_mask(CUM.SIGN)], [])
        self.assertFails(r, ResultReason.INVALID_FIELD)

    def test_missing_algorithm_and_length(self) -> None:
        """No algorithm, or RSA without length: Invalid Field."""
        self.assertFails(create_key_pair(self.d, [a_len(2048)], [a_mask(CUM.SIGN)], [a_mask(CUM.VERIFY)]),
                         ResultReason.INVALID_FIELD)
        self.assertFails(create_key_pair(self.d, [a_alg(CA.RSA)], [a_mask(CUM.SIGN)], [a_mask(CUM.VERIFY)]),
                         ResultReason.INVALID_FIELD)

    def test_unsupported_algorithm(self) -> None:
        """A symmetric algorithm in CreateKeyPair: Invalid Field."""
        r = create_key_pair(self.d, [a_alg(CA.AES), a_len(128)], [a_mask(CUM.SIGN)], [a_mask(CUM.VERIFY)])
        self.assertFails(r, ResultReason.INVALID_FIELD)

    def test_invalid_length(self) -> None:
        """An RSA length outside what cryptography allows: Invalid Field."""
        self.assertFails(self.rsa(length=100), ResultReason.INVALID_FIELD)

    def test_placeholder_is_private_key(self) -> None:
        """After CreateKeyPair the ID Placeholder names the private key."""
        message = request(
            batch_item(Operation.CREATE_KEY_PAIR, payload(
                template(V14, [a_alg(CA.RSA), a_len(1024)], "common"), template(V14, [a_mask(CUM.SIGN)], "private"),
                template(V14, [a_mask(CUM.VERIFY)], "public"))),
            batch_item(Operation.GET, payload()))
        created, got = results(send(self.d, message, "alice"))
        self.assertOK(got)
        self.assertEqual(got.payload.get(Tag.OBJECT_TYPE), ObjectType.PRIVATE_KEY)
        self.assertEqual(got.payload.get(Tag.UNIQUE_IDENTIFIER), created.payload.get(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER))


class RequestedFormatTests(SynchronousTestCase, Assertions):
    """2.x clients may ask for the Key Format Type of generated material."""

    def setUp(self) -> None:
        self.d = make_processor()

    def test_symmetric_transparent(self) -> None:
        """Create with Key Format Type Transparent Symmetric Key stores that format."""
        kft = ("Key Format Type", Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.TRANSPARENT_SYMMETRIC_KEY))
        r = create(self.d, aes_attrs() + [kft], version=V20)
        self.assertOK(r)
        got = call(self.d, Operation.GET, uid_payload(r.payload.get(Tag.UNIQUE_IDENTIFIER)), version=V20,
                   caller="alice")
        block = got.payload.value[2].find(Tag.KEY_BLOCK)
        self.assertEqual(block.get(Tag.KEY_FORMAT_TYPE), KeyFormatType.TRANSPARENT_SYMMETRIC_KEY)

    def test_symmetric_unsupported_format(self) -> None:
        """Create asking for a format a symmetric key cannot have: Key Format Type Not Supported."""
        kft = ("Key Format Type", Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.PKCS_8))
        self.assertFails(create(self.d, aes_attrs() + [kft], version=V20), ResultReason.KEY_FORMAT_TYPE_NOT_SUPPORTED)

    def test_key_pair_pkcs8(self) -> None:
        """CreateKeyPair with a private Key Format Type PKCS#8 stores the RSA private key as PKCS#8."""
        kft = ("Key Format Type", Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.PKCS_8))
        r = create_key_pair(self.d, [a_alg(CA.RSA), a_len(1024)], [a_mask(CUM.SIGN), kft], [a_mask(CUM.VERIFY)],
                            version=V20)
        self.assertOK(r)
        got = attrs_of(get_attributes(self.d, r.payload.get(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER), version=V20), V20)
        self.assertEqual(got["Key Format Type"][0].value, KeyFormatType.PKCS_8)


class CreateSecretDataTests(SynchronousTestCase, Assertions):
    """KMIP 2.x Create of Secret Data (spec 2.1 section 6.1.8): random bytes of the requested length."""

    def setUp(self) -> None:
        self.d = make_processor(clock=FakeClock())

    def secret(self, length: int | None = 256, version=V21) -> Result:
        attrs = [a_mask(CUM.DERIVE_KEY)] + ([a_len(length)] if length is not None else [])
        return create(self.d, attrs, version=version, object_type=ObjectType.SECRET_DATA)

    def test_create_and_get(self) -> None:
        """2.1 Create of Secret Data answers Object Type and identifier; Get serves a Seed of 32 random bytes."""
        r = self.secret(256)
        self.assertOK(r)
        self.assertEqual([(c.tag, c.value) for c in r.payload.value][0], (Tag.OBJECT_TYPE, ObjectType.SECRET_DATA))
        uid = r.payload.get(Tag.UNIQUE_IDENTIFIER)
        got = get_key(self.d, uid, version=V21)
        self.assertOK(got)
        body = got.payload.value[2]
        self.assertEqual(body.tag, Tag.SECRET_DATA)
        from kmipd.spec import SecretDataType

        self.assertEqual(body.get(Tag.SECRET_DATA_TYPE), SecretDataType.SEED)
        self.assertEqual(body.find(Tag.KEY_BLOCK).get(Tag.KEY_FORMAT_TYPE), KeyFormatType.OPAQUE)
        data = key_bytes_of(got)
        self.assertEqual(len(data), 32)
        other = key_bytes_of(get_key(self.d, self.secret(256).payload.get(Tag.UNIQUE_IDENTIFIER), version=V21))
        self.assertNotEqual(data, other)
        attrs = attrs_of(get_attributes(self.d, uid, version=V21), V21)
        self.assertEqual(attrs["Cryptographic Length"][0].value, 256)
        self.assertEqual(attrs["Object Type"][0].value, ObjectType.SECRET_DATA)

    def test_length_rules(self) -> None:
        """Missing length, a length not a multiple of 8 or too large: Invalid Field (as for symmetric keys)."""
        self.assertFails(self.secret(None), ResultReason.INVALID_FIELD)
        self.assertFails(self.secret(12), ResultReason.INVALID_FIELD)
        self.assertFails(self.secret(65536 + 8), ResultReason.INVALID_FIELD)
        self.assertOK(self.secret(8))

    def test_not_in_1x(self) -> None:
        """KMIP 1.x Create makes Symmetric Keys only: Secret Data is Invalid Field."""
        self.assertFails(self.secret(256, version=V14), ResultReason.INVALID_FIELD)

    def test_derive_from_created_secret(self) -> None:
        """Created Secret Data is usable as a Derive Key base (HMAC-SHA256 derivation to an AES key)."""
        from kmipd.spec import DerivationMethod, HashingAlgorithm

        base = self.secret(256).payload.get(Tag.UNIQUE_IDENTIFIER)
        self.assertOK(call(self.d, Operation.ACTIVATE, uid_payload(base), version=V21, caller="alice"))
        params = Item.struct(Tag.DERIVATION_PARAMETERS, [
            Item.struct(Tag.CRYPTOGRAPHIC_PARAMETERS, [Item.enum(Tag.HASHING_ALGORITHM, HashingAlgorithm.SHA_256)]),
            Item.bytes(Tag.DERIVATION_DATA, b"context"),
        ])
        r = call(self.d, Operation.DERIVE_KEY, payload(
            Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY), Item.text(Tag.UNIQUE_IDENTIFIER, base),
            Item.enum(Tag.DERIVATION_METHOD, DerivationMethod.HMAC), params,
            template(V21, aes_attrs(256))), version=V21, caller="alice")
        self.assertOK(r)
