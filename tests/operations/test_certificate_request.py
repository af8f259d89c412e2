"""The KMIP 2.x Certificate Request managed object (spec 2.1 2.2): Register, Get, Get Attributes,
Locate, Destroy, Export/Import, Query Objects, Certify and Re-certify by a stored request, the
built-in policies' rows, and the 1.x answers (the object type does not exist there)."""

from __future__ import annotations

import hashlib
import json

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kmipd.policy.builtin import BUILTIN_POLICIES
from kmipd.policy.loader import parse_policies
from kmipd.policy.model import PolicyEngine
from kmipd.spec import CertificateRequestType as CRT
from kmipd.spec import CryptographicAlgorithm as CA
from kmipd.spec import CryptographicUsageMask as CUM
from kmipd.spec import (
    HashingAlgorithm,
    KeyFormatType,
    LinkType,
    ObjectType,
    Operation,
    QueryFunction,
    State,
    Tag,
)
from kmipd.testing import batch_item, payload, request, results, send
from kmipd.ttlv import Item

from .test_certificates import DAY, USER, V14, V21, CertificateTestCase, R, a_cn, a_link, csr_for, uid
from .test_create import a_alg, a_name

V10, V20 = (1, 0), (2, 0)
CR = ObjectType.CERTIFICATE_REQUEST
DER, PEM = serialization.Encoding.DER, serialization.Encoding.PEM


def request_body(value: bytes, kind: int = CRT.PKCS_10) -> Item:
    """A Certificate Request object structure (2.1 Table 3)."""
    return Item.struct(Tag.CERTIFICATE_REQUEST, [Item.enum(Tag.CERTIFICATE_REQUEST_TYPE, kind),
                                                 Item.bytes(Tag.CERTIFICATE_REQUEST_VALUE, value)])


def object_type_attr(t: int) -> Item:
    return Item.struct(Tag.ATTRIBUTES, [Item.enum(Tag.OBJECT_TYPE, t)])


class CertificateRequestTestCase(CertificateTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.csr = csr_for(self.key, "stored-1", san="s1.example", ca=True)

    def register(self, body: Item, attrs=(), *, object_type: int = CR, version=None, caller=USER):
        v = version or self.version
        container = Item.struct(Tag.ATTRIBUTES, [value for _, value in attrs]) if v >= V20 else \
            Item.struct(Tag.TEMPLATE_ATTRIBUTE, [])
        return self.call(Operation.REGISTER, payload(Item.enum(Tag.OBJECT_TYPE, object_type), container, body),
                         v, caller)

    def stored(self, csr: x509.CertificateSigningRequest | None = None, *, encoding=DER, attrs=(),
               caller=USER) -> str:
        """Register C{csr} (default: self.csr) and return its Unique Identifier."""
        csr = csr or self.csr
        kind = CRT.PEM if encoding == PEM else CRT.PKCS_10
        r = self.register(request_body(csr.public_bytes(encoding), kind), attrs, caller=caller)
        self.assertTrue(r.ok, r.message)
        return r.payload.get(Tag.UNIQUE_IDENTIFIER)

    def locate_requests(self, version=None, caller=USER) -> list[str]:
        v = version or self.version
        r = self.call(Operation.LOCATE, payload(object_type_attr(CR)), v, caller)
        self.assertTrue(r.ok, r.message)
        return [i.value for i in r.payload.findall(Tag.UNIQUE_IDENTIFIER)]


class RegisterTests(CertificateRequestTestCase):
    def test_register_der_and_pem_get(self) -> None:
        """2.0 and 2.1: a PKCS#10 request registers (DER as PKCS#10, PEM as PEM) and Get returns it as given."""
        for version in (V20, V21):
            for kind, encoding in ((CRT.PKCS_10, DER), (CRT.PEM, PEM)):
                body = request_body(self.csr.public_bytes(encoding), kind)
                r = self.register(body, version=version)
                self.assertTrue(r.ok, (version, kind, r.message))
                u = r.payload.get(Tag.UNIQUE_IDENTIFIER)
                got = self.ok(Operation.GET, payload(uid(u)), version)
                self.assertEqual(got.payload.get(Tag.OBJECT_TYPE), CR)
                self.assertEqual(got.payload.find(Tag.CERTIFICATE_REQUEST), body)

    def test_attributes(self) -> None:
        """Get Attributes: Object Type, State, the key's algorithm and length, a SHA-256 Digest of the value."""
        value = self.csr.public_bytes(DER)
        u = self.stored(attrs=[a_name("csr-a")])
        a = self.attrs(u)
        self.assertEqual(a[Tag.OBJECT_TYPE][0].value, CR)
        self.assertEqual(a[Tag.STATE][0].value, State.PRE_ACTIVE)
        self.assertEqual(a[Tag.CRYPTOGRAPHIC_ALGORITHM][0].value, CA.EC)
        self.assertEqual(a[Tag.CRYPTOGRAPHIC_LENGTH][0].value, 256)
        self.assertEqual(a[Tag.NAME][0].get(Tag.NAME_VALUE), "csr-a")
        digest = a[Tag.DIGEST][0]
        self.assertEqual(digest.get(Tag.HASHING_ALGORITHM), HashingAlgorithm.SHA_256)
        self.assertEqual(digest.get(Tag.DIGEST_VALUE), hashlib.sha256(value).digest())
        self.assertNotIn(Tag.CERTIFICATE_TYPE, a)  # a Certificate's attributes do not apply
        r = self.ok(Operation.GET_ATTRIBUTE_LIST, payload(uid(u)))
        self.assertIn(Tag.DIGEST, {ref.value for ref in r.payload.findall(Tag.ATTRIBUTE_REFERENCE)})

    def test_errors(self) -> None:
        """Register error rows (2.1 Table 294) for a Certificate Request."""
        good = self.csr.public_bytes(DER)
        tampered = bytearray(good)
        tampered[-5] ^= 1
        self.stored(attrs=[a_name("taken")])
        cases = [
            (request_body(bytes(tampered)), (), CR, R.INVALID_FIELD),  # signature does not verify
            (request_body(b"not a request"), (), CR, R.INVALID_FIELD),
            (request_body(self.csr.public_bytes(PEM)), (), CR, R.INVALID_FIELD),  # PEM sent as PKCS#10 (DER)
            (request_body(good, CRT.PEM), (), CR, R.INVALID_FIELD),  # DER sent as PEM
            (request_body(good, CRT.CRMF), (), CR, R.FEATURE_NOT_SUPPORTED),
            (request_body(good, 0x80000001), (), CR, R.FEATURE_NOT_SUPPORTED),  # an extension type
            (Item.struct(Tag.CERTIFICATE_REQUEST, [Item.enum(Tag.CERTIFICATE_REQUEST_TYPE, CRT.PKCS_10)]), (), CR,
             R.INVALID_FIELD),
            (Item.bytes(Tag.CERTIFICATE_REQUEST, good), (), CR, R.INVALID_FIELD),  # the 1.x byte string shape
            (request_body(good), (), ObjectType.CERTIFICATE, R.INVALID_OBJECT_TYPE),  # mismatch: 2.1 Table 294
            (request_body(good), [a_alg(CA.RSA)], CR, R.INVALID_FIELD),  # contradicts the request's key
            (request_body(good), [a_name("taken")], CR, R.NON_UNIQUE_NAME_ATTRIBUTE),
            (request_body(good), [("Certificate Type", Item.enum(Tag.CERTIFICATE_TYPE, 1))], CR,
             R.INVALID_ATTRIBUTE),  # a Certificate's attribute does not apply to a request
        ]
        for body, attrs, object_type, expected in cases:
            r = self.register(body, attrs, object_type=object_type)
            self.assertEqual(r.reason, expected, (body, attrs, r.message))
        self.assertEqual(len(self.locate_requests()), 1)  # nothing was stored by the failures

    def test_1x(self) -> None:
        """KMIP 1.x has no Certificate Request object: Register naming it is Invalid Field."""
        body = request_body(self.csr.public_bytes(DER))
        for version in (V10, V14):
            self.assertEqual(self.register(body, version=version).reason, R.INVALID_FIELD)
            self.assertEqual(self.register(body, object_type=ObjectType.CERTIFICATE, version=version).reason,
                             R.INVALID_FIELD)

    def test_invisible_to_1x_clients(self) -> None:
        """A request stored by a 2.x client does not exist for a 1.x client: Item Not Found, not located."""
        u = self.stored()
        for op in (Operation.GET, Operation.GET_ATTRIBUTES, Operation.GET_ATTRIBUTE_LIST, Operation.ACTIVATE,
                   Operation.DESTROY, Operation.CERTIFY):
            self.assertEqual(self.call(op, payload(uid(u)), V14).reason, R.ITEM_NOT_FOUND, op)
        r = self.ok(Operation.LOCATE, payload(), V14)
        self.assertNotIn(u, [i.value for i in r.payload.findall(Tag.UNIQUE_IDENTIFIER)])
        self.assertEqual(self.attrs(u)[Tag.STATE][0].value, State.PRE_ACTIVE)  # still there for 2.x


class ObjectOperationTests(CertificateRequestTestCase):
    def test_locate_by_object_type(self) -> None:
        """Locate by Object Type finds the caller's requests only (2.0 and 2.1)."""
        mine = self.stored()
        theirs = self.stored(csr_for(ec.generate_private_key(ec.SECP256R1()), "bob"), caller="bob")
        self.key_pair("not-a-request")
        for version in (V20, V21):
            self.assertEqual(self.locate_requests(version), [mine])
            self.assertEqual(self.locate_requests(version, caller="bob"), [theirs])

    def test_lifecycle_and_destroy(self) -> None:
        """Activate, Revoke and Destroy apply; a destroyed request keeps its metadata and loses its value."""
        u = self.stored()
        self.ok(Operation.ACTIVATE, payload(uid(u)))
        self.assertEqual(self.attrs(u)[Tag.STATE][0].value, State.ACTIVE)
        self.ok(Operation.REVOKE, payload(uid(u), Item.struct(Tag.REVOCATION_REASON, [
            Item.enum(Tag.REVOCATION_REASON_CODE, 5)])))  # cessation of operation
        self.ok(Operation.DESTROY, payload(uid(u)))
        self.assertEqual(self.attrs(u)[Tag.STATE][0].value, State.DESTROYED)
        self.assertEqual(self.call(Operation.GET, payload(uid(u))).reason, R.OBJECT_DESTROYED)
        # 2.1 Table 181 (Certify) lists "Item Not Found" and no Object Destroyed: a destroyed request is not found
        self.assertEqual(self.certify(u).reason, R.ITEM_NOT_FOUND)

    def test_export_import(self) -> None:
        """Export gives the request and its attributes; Import stores it back under a new identifier."""
        u = self.stored(attrs=[a_name("exported")])
        r = self.ok(Operation.EXPORT, payload(uid(u)))
        self.assertEqual(r.payload.get(Tag.OBJECT_TYPE), CR)
        body = r.payload.find(Tag.CERTIFICATE_REQUEST)
        self.assertEqual(body.get(Tag.CERTIFICATE_REQUEST_VALUE), self.csr.public_bytes(DER))
        attributes = Item.struct(Tag.ATTRIBUTES, [a for a in r.payload.find(Tag.ATTRIBUTES).value
                                                  if a.tag not in (Tag.NAME, Tag.UNIQUE_IDENTIFIER)])
        r = self.ok(Operation.IMPORT, payload(uid("imported-csr"), Item.enum(Tag.OBJECT_TYPE, CR), attributes, body))
        got = self.ok(Operation.GET, payload(uid("imported-csr")))
        self.assertEqual(got.payload.find(Tag.CERTIFICATE_REQUEST), body)
        broken = request_body(b"\x30\x03\x02\x01\x00")
        r = self.call(Operation.IMPORT, payload(uid("broken-csr"), Item.enum(Tag.OBJECT_TYPE, CR), attributes, broken))
        self.assertEqual(r.reason, R.INVALID_FIELD)

    def test_query_objects(self) -> None:
        """Query Objects lists Certificate Request at 2.0 and 2.1 only."""
        for version, listed in ((V10, False), (V14, False), (V20, True), (V21, True)):
            r = self.ok(Operation.QUERY, payload(Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OBJECTS)), version)
            self.assertEqual(CR in {i.value for i in r.payload.findall(Tag.OBJECT_TYPE)}, listed, version)


class PolicyTests(CertificateRequestTestCase):
    def test_default_policy_owner_only(self) -> None:
        """Under ``default`` another user can neither read, find, change, destroy nor certify a request."""
        _, _, ca_cert = self.ca()
        u = self.stored()
        for op, body in ((Operation.GET, payload(uid(u))), (Operation.GET_ATTRIBUTES, payload(uid(u))),
                         (Operation.GET_ATTRIBUTE_LIST, payload(uid(u))), (Operation.ACTIVATE, payload(uid(u))),
                         (Operation.DESTROY, payload(uid(u))), (Operation.EXPORT, payload(uid(u))),
                         (Operation.SET_ATTRIBUTE, payload(uid(u), Item.struct(Tag.NEW_ATTRIBUTE, [
                             Item.text(Tag.DESCRIPTION, "mine now")])))):
            self.assertEqual(self.call(op, body, caller="bob").reason, R.PERMISSION_DENIED, op)
        self.assertEqual(self.locate_requests(caller="bob"), [])
        self.assertEqual(self.certify(u, [a_link(LinkType.CERTIFICATE_LINK, ca_cert)], caller="bob").reason,
                         R.PERMISSION_DENIED)
        self.ok(Operation.SET_ATTRIBUTE, payload(uid(u), Item.struct(Tag.NEW_ATTRIBUTE, [
            Item.text(Tag.DESCRIPTION, "alice's request")])))

    def test_builtin_rows(self) -> None:
        """``default``: owner only, every operation that applies to a request; ``public``: read by all,
        changed by none."""
        engine = PolicyEngine()
        owner_ops = (Operation.LOCATE, Operation.GET, Operation.GET_ATTRIBUTES, Operation.GET_ATTRIBUTE_LIST,
                     Operation.ADD_ATTRIBUTE, Operation.MODIFY_ATTRIBUTE, Operation.DELETE_ATTRIBUTE,
                     Operation.SET_ATTRIBUTE, Operation.ACTIVATE, Operation.REVOKE, Operation.DESTROY,
                     Operation.ARCHIVE, Operation.RECOVER, Operation.CERTIFY, Operation.RE_CERTIFY)
        for op in owner_ops:
            self.assertTrue(engine.is_allowed("default", CR, op, "alice", (), "alice"), op)
            self.assertFalse(engine.is_allowed("default", CR, op, "bob", (), "alice"), op)
        for op in (Operation.RE_KEY, Operation.DERIVE_KEY, Operation.OBTAIN_LEASE, Operation.CHECK):
            self.assertFalse(engine.is_allowed("default", CR, op, "alice", (), "alice"), op)
        for op in owner_ops:
            read = op in (Operation.LOCATE, Operation.GET, Operation.GET_ATTRIBUTES, Operation.GET_ATTRIBUTE_LIST)
            self.assertEqual(engine.is_allowed("public", CR, op, "bob", (), "alice"), read, op)
            self.assertEqual(engine.is_allowed("public", CR, op, "alice", (), "alice"), read, op)
        preset = BUILTIN_POLICIES["default"].preset
        assert preset is not None
        self.assertEqual({o for (t, o) in preset if t == CR}, set(owner_ops))

    def test_policy_file_names_certificate_request(self) -> None:
        """A policy file may give rows for CERTIFICATE_REQUEST; they are applied as written."""
        text = json.dumps({"csr-readers": {"preset": {
            "CERTIFICATE_REQUEST": {"GET": "ALLOW_ALL", "CERTIFY": "ALLOW_OWNER"},
            "CERTIFICATE": {"GET": "ALLOW_ALL"}}}})
        policies = parse_policies(json.loads(text), "csr.json")
        table = policies["csr-readers"].preset
        assert table is not None
        self.assertEqual(table[(CR, Operation.GET)].name, "ALLOW_ALL")
        engine = PolicyEngine()
        engine.set_source("csr.json", policies)
        self.assertTrue(engine.is_allowed("csr-readers", CR, Operation.GET, "bob", (), "alice"))
        self.assertFalse(engine.is_allowed("csr-readers", CR, Operation.CERTIFY, "bob", (), "alice"))
        self.assertFalse(engine.is_allowed("csr-readers", CR, Operation.DESTROY, "alice", (), "alice"))


class CertifyTests(CertificateRequestTestCase):
    def inline(self, ca_cert: str, csr: x509.CertificateSigningRequest) -> x509.Certificate:
        r = self.certify(None, [a_link(LinkType.CERTIFICATE_LINK, ca_cert)], csr=csr.public_bytes(DER))
        self.assertTrue(r.ok, r.message)
        return self.cert(r.payload.get(Tag.UNIQUE_IDENTIFIER))

    def test_certify_stored_request(self) -> None:
        """Certify by the request's Unique Identifier issues what the same request inline does (DER and PEM)."""
        _, _, ca_cert = self.ca()
        expected = self.inline(ca_cert, self.csr)
        for encoding in (DER, PEM):
            u = self.stored(encoding=encoding)
            r = self.certify(u, [a_link(LinkType.CERTIFICATE_LINK, ca_cert), a_cn("ignored")])
            self.assertTrue(r.ok, r.message)
            cert_uid = r.payload.get(Tag.UNIQUE_IDENTIFIER)
            cert = self.cert(cert_uid)
            self.assertEqual(cert.subject, self.csr.subject)
            self.assertEqual(cert.issuer, expected.issuer)
            self.assertEqual(cert.public_key().public_numbers(), self.key.public_key().public_numbers())
            self.assertEqual([e.oid for e in cert.extensions], [e.oid for e in expected.extensions])
            self.assertEqual(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value,
                             expected.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
            self.assertFalse(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
            self.assertEqual((cert.not_valid_before_utc, cert.not_valid_after_utc),
                             (expected.not_valid_before_utc, expected.not_valid_after_utc))
            cert.verify_directly_issued_by(self.cert(ca_cert))
            self.assertEqual(self.links(cert_uid), {(LinkType.CERTIFICATE_LINK, ca_cert)})
            self.assertEqual(self.attrs(u)[Tag.STATE][0].value, State.PRE_ACTIVE)  # the request is unchanged

    def test_batch_register_certify_get(self) -> None:
        """Register -> Certify (ID Placeholder: the request) -> Get (ID Placeholder: the certificate)."""
        _, _, ca_cert = self.ca()
        msg = request(
            batch_item(Operation.REGISTER, payload(Item.enum(Tag.OBJECT_TYPE, CR), Item.struct(Tag.ATTRIBUTES, []),
                                                   request_body(self.csr.public_bytes(DER)))),
            batch_item(Operation.CERTIFY, payload(Item.struct(Tag.ATTRIBUTES, [
                a_link(LinkType.CERTIFICATE_LINK, ca_cert)[1]]))),
            batch_item(Operation.GET, payload()), version=V21)
        registered, certified, got = results(send(self.d, msg, USER))
        for r in (registered, certified, got):
            self.assertTrue(r.ok, r.message)
        self.assertEqual(got.payload.get(Tag.OBJECT_TYPE), ObjectType.CERTIFICATE)
        self.assertEqual(got.payload.get(Tag.UNIQUE_IDENTIFIER), certified.payload.get(Tag.UNIQUE_IDENTIFIER))
        cert = x509.load_der_x509_certificate(got.payload.find(Tag.CERTIFICATE).get(Tag.CERTIFICATE_VALUE))
        self.assertEqual(cert.subject, self.csr.subject)

    def managed_key_request(self, name: str) -> tuple[str, str, x509.CertificateSigningRequest]:
        """A managed key pair and a PKCS#10 request signed with its private key."""
        priv, pub = self.key_pair(name, alg=CA.EC, length=256, priv_mask=CUM.SIGN | CUM.CERTIFICATE_SIGN)
        r = self.ok(Operation.GET, payload(uid(priv), Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.PKCS_8)))
        der = r.payload.find(Tag.PRIVATE_KEY).find(Tag.KEY_BLOCK).find(Tag.KEY_VALUE).get(Tag.KEY_MATERIAL)
        key = serialization.load_der_private_key(der, None)
        csr = x509.CertificateSigningRequestBuilder().subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])).sign(key, hashes.SHA256())  # type: ignore[arg-type]
        return priv, pub, csr

    def test_linked_public_key(self) -> None:
        """A request linked to its managed Public Key: the certificate and the key are linked both ways,
        and without an issuer the certificate is self-signed by the key's own private key."""
        _, pub, csr = self.managed_key_request("linked")
        u = self.stored(csr, attrs=[a_link(LinkType.PUBLIC_KEY_LINK, pub)])
        r = self.certify(u)
        self.assertTrue(r.ok, r.message)
        cert_uid = r.payload.get(Tag.UNIQUE_IDENTIFIER)
        cert = self.cert(cert_uid)
        self.assertEqual(cert.subject, csr.subject)
        self.assertEqual(cert.issuer, csr.subject)
        cert.verify_directly_issued_by(cert)
        self.assertIn((LinkType.PUBLIC_KEY_LINK, pub), self.links(cert_uid))
        self.assertIn((LinkType.CERTIFICATE_LINK, cert_uid), self.links(pub))

    def test_errors(self) -> None:
        """Certify error rows (2.1 Table 181) that involve a stored request, and the 1.x answer."""
        _, _, ca_cert = self.ca()
        issuer = [a_link(LinkType.CERTIFICATE_LINK, ca_cert)]
        u = self.stored()
        _, other_pub, _ = self.managed_key_request("other")
        wrong_link = self.stored(csr_for(ec.generate_private_key(ec.SECP256R1()), "w"),
                                 attrs=[a_link(LinkType.PUBLIC_KEY_LINK, other_pub)])
        dangling = self.stored(csr_for(ec.generate_private_key(ec.SECP256R1()), "d"),
                               attrs=[a_link(LinkType.PUBLIC_KEY_LINK, "no-such-key")])
        self.assertEqual(self.certify(u, issuer, csr=self.csr.public_bytes(DER)).reason, R.INVALID_FIELD)  # both
        self.assertEqual(self.certify(u).reason, R.INVALID_FIELD)  # no issuer named, no key of its own
        self.assertEqual(self.certify(wrong_link, issuer).reason, R.INVALID_CSR)  # request for another key
        # 2.1 Table 181: "Invalid CSR, Invalid Object Type, Item Not Found, ..." (Item, not Object, Not Found)
        self.assertEqual(self.certify(dangling, issuer).reason, R.ITEM_NOT_FOUND)
        self.assertEqual(self.certify("missing", issuer).reason, R.ITEM_NOT_FOUND)
        self.assertEqual(self.certify(u, issuer, version=V14).reason, R.ITEM_NOT_FOUND)
        self.assertEqual(self.certify(u, issuer, caller="bob").reason, R.PERMISSION_DENIED)


class ReCertifyTests(CertificateRequestTestCase):
    def issued(self) -> tuple[str, str]:
        """A CA certificate and a certificate for self.key it issued (from the inline request)."""
        _, _, ca_cert = self.ca()
        r = self.certify(None, [a_link(LinkType.CERTIFICATE_LINK, ca_cert), a_name("svc-cert")],
                         csr=self.csr.public_bytes(DER))
        self.assertTrue(r.ok, r.message)
        return ca_cert, r.payload.get(Tag.UNIQUE_IDENTIFIER)

    def recertify(self, old: str, request_uid: str | None, *extra: Item, version=None, caller=USER):
        return self.call(Operation.RE_CERTIFY, payload(
            uid(old), Item.text(Tag.CERTIFICATE_REQUEST_UNIQUE_IDENTIFIER, request_uid) if request_uid else None,
            *extra), version, caller)

    def test_recertify_with_stored_request(self) -> None:
        """The renewed certificate takes the stored request's subject and extensions; links per Table 299."""
        ca_cert, old = self.issued()
        renewed = csr_for(self.key, "stored-2", san="s2.example")
        u = self.stored(renewed)
        self.clock.advance(DAY)
        r = self.recertify(old, u)
        self.assertTrue(r.ok, r.message)
        new = r.payload.get(Tag.UNIQUE_IDENTIFIER)
        cert = self.cert(new)
        self.assertEqual(cert.subject, renewed.subject)
        self.assertEqual(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value,
                         renewed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
        cert.verify_directly_issued_by(self.cert(ca_cert))
        self.assertIn((LinkType.REPLACEMENT_OBJECT_LINK, new), self.links(old))
        self.assertIn((LinkType.REPLACED_OBJECT_LINK, old), self.links(new))
        self.assertIn((LinkType.CERTIFICATE_LINK, ca_cert), self.links(new))
        self.assertEqual(self.attrs(new)[Tag.NAME][0].get(Tag.NAME_VALUE), "svc-cert")

    def test_errors(self) -> None:
        """Re-certify error rows (2.1 Table 302) that involve the Certificate Request Unique Identifier."""
        ca_cert, old = self.issued()
        u = self.stored(csr_for(self.key, "again"))
        other = self.stored(csr_for(ec.generate_private_key(ec.SECP256R1()), "another key"))
        bobs = self.stored(csr_for(self.key, "bob's"), caller="bob")
        cases = [
            (self.recertify(old, "missing"), R.OBJECT_NOT_FOUND),
            (self.recertify(old, ca_cert), R.INVALID_OBJECT_TYPE),  # a Certificate is not a request
            (self.recertify(old, other), R.INVALID_CSR),  # a request for another key
            (self.recertify(old, u, Item.enum(Tag.CERTIFICATE_REQUEST_TYPE, CRT.PKCS_10),
                            Item.bytes(Tag.CERTIFICATE_REQUEST_VALUE, self.csr.public_bytes(DER))), R.INVALID_FIELD),
            (self.recertify(old, bobs), R.PERMISSION_DENIED),
            (self.recertify(old, u, version=V14), R.INVALID_FIELD),  # not a 1.x field
            (self.recertify(old, u, Item.text(Tag.CERTIFICATE_REQUEST_UNIQUE_IDENTIFIER, u)), R.INVALID_MESSAGE),
        ]
        for r, expected in cases:
            self.assertEqual(r.reason, expected, r.message)
        self.ok(Operation.DESTROY, payload(uid(u)))
        # 2.1 Table 302 (Re-certify): "Invalid CSR, Invalid Message, Invalid Object Type, Object Not Found, ..."
        # and no Object Destroyed: a destroyed request is not found
        self.assertEqual(self.recertify(old, u).reason, R.OBJECT_NOT_FOUND)
        self.assertNotIn(LinkType.REPLACEMENT_OBJECT_LINK, {t for t, _ in self.links(old)})  # nothing renewed


class SQLStoreTests(CertificateRequestTestCase):
    """The object in the SQL store: stored sealed, found by Object Type, read back after a restart."""

    def setUp(self) -> None:
        import os

        from kmipd.store.sql import SQLObjectStore
        from kmipd.testing import make_dispatcher

        super().setUp()
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        self.url = "sqlite:///" + os.path.join(directory, "csr.sqlite")
        self.store = SQLObjectStore(self.url, b"k" * 32)
        self.addCleanup(self.store.close)
        self.d = make_dispatcher(self.store, clock=self.clock)

    def test_round_trip(self) -> None:
        from kmipd.store.sql import SQLObjectStore
        from kmipd.testing import make_dispatcher

        _, _, ca_cert = self.ca()
        u = self.stored(encoding=PEM)
        cert_uid = self.certify(u, [a_link(LinkType.CERTIFICATE_LINK, ca_cert)]).payload.get(Tag.UNIQUE_IDENTIFIER)
        store = SQLObjectStore(self.url, b"k" * 32)  # another node (or a restart) on the same database
        self.addCleanup(store.close)
        self.d = make_dispatcher(store, clock=self.clock)
        got = self.ok(Operation.GET, payload(uid(u)))
        self.assertEqual(got.payload.find(Tag.CERTIFICATE_REQUEST),
                         request_body(self.csr.public_bytes(PEM), CRT.PEM))
        self.assertEqual(self.locate_requests(), [u])
        self.assertEqual(self.cert(cert_uid).subject, self.csr.subject)
