"""Certify, Re-certify and Validate through the dispatcher (spec 2.1 6.1.6, 6.1.45, 6.1.57)."""

from __future__ import annotations

import datetime
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.x509.oid import NameOID
from twisted.trial.unittest import SynchronousTestCase

from kmipd.model.factory import link
from kmipd.spec import CertificateRequestType as CRT
from kmipd.spec import (
    CertificateType,
    DigitalSignatureAlgorithm,
    LinkType,
    ObjectType,
    Operation,
    ResultReason,
    RevocationReasonCode,
    Tag,
    ValidityIndicator,
)
from kmipd.spec import CryptographicAlgorithm as CA
from kmipd.spec import CryptographicUsageMask as CUM
from kmipd.testing import FakeClock, batch_item, call, make_dispatcher, payload, request, results, send
from kmipd.ttlv import Item

from .test_create import a_alg, a_date, a_len, a_mask, a_name, template

V10, V14, V21 = (1, 0), (1, 4), (2, 1)
USER = "alice"
NOW = 1_700_000_000
DAY = 86400
R = ResultReason


def uid(u: str) -> Item:
    return Item.text(Tag.UNIQUE_IDENTIFIER, u)


def a_link(link_type: int, target: str) -> tuple[str, Item]:
    return "Link", link(link_type, target)


def a_cn(cn: str) -> tuple[str, Item]:
    return "Certificate Subject CN", Item.text(Tag.CERTIFICATE_SUBJECT_CN, cn)


def csr_for(key, cn: str = "from-csr", *, san: str | None = None, ca: bool = False) -> x509.CertificateSigningRequest:
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
    if ca:  # a requester asking to become a CA, with a name constraint of its choosing
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        builder = builder.add_extension(x509.NameConstraints(permitted_subtrees=[x509.DNSName("evil.example")],
                                                             excluded_subtrees=None), critical=True)
    return builder.sign(key, hashes.SHA256())


class CertificateTestCase(SynchronousTestCase):
    version = V21

    def setUp(self) -> None:
        self.clock = FakeClock(NOW)
        self.d = make_dispatcher(clock=self.clock)

    def call(self, op, body=None, version=None, caller=USER):
        return call(self.d, op, body, version=version or self.version, caller=caller)

    def ok(self, op, body=None, version=None, caller=USER):
        r = self.call(op, body, version, caller)
        self.assertTrue(r.ok, r.message)
        return r

    def key_pair(self, name: str, *, alg=CA.RSA, length=2048, priv_mask=CUM.SIGN | CUM.CERTIFICATE_SIGN,
                 activate=True) -> tuple[str, str]:
        v = self.version
        r = self.ok(Operation.CREATE_KEY_PAIR, payload(
            template(v, [a_alg(alg), a_len(length)], "common"), template(v, [a_mask(priv_mask)], "private"),
            template(v, [a_mask(CUM.VERIFY), a_name(name)], "public")))
        priv = r.payload.get(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER)
        if activate:
            self.ok(Operation.ACTIVATE, payload(uid(priv)))
        return priv, r.payload.get(Tag.PUBLIC_KEY_UNIQUE_IDENTIFIER)

    def certify(self, public: str | None, attrs=(), *, csr: bytes | None = None, kind=CRT.PKCS_10,
                version=None, caller=USER):
        v = version or self.version
        request_tag = Tag.CERTIFICATE_REQUEST_VALUE if v >= (2, 0) else Tag.CERTIFICATE_REQUEST
        return self.call(Operation.CERTIFY, payload(
            uid(public) if public is not None else None,
            Item.enum(Tag.CERTIFICATE_REQUEST_TYPE, kind) if csr is not None else None,
            Item.bytes(request_tag, csr) if csr is not None else None,
            template(v, list(attrs))), v, caller)

    def cert(self, u: str) -> x509.Certificate:
        r = self.ok(Operation.GET, payload(uid(u)))
        body = r.payload.find(Tag.CERTIFICATE)
        self.assertEqual(body.get(Tag.CERTIFICATE_TYPE), CertificateType.X_509)
        return x509.load_der_x509_certificate(body.get(Tag.CERTIFICATE_VALUE))

    def public_key(self, u: str):
        r = self.ok(Operation.GET, payload(uid(u)))
        der = r.payload.find(Tag.PUBLIC_KEY).find(Tag.KEY_BLOCK).find(Tag.KEY_VALUE).get(Tag.KEY_MATERIAL)
        return serialization.load_der_public_key(der)

    def attrs(self, u: str) -> dict[int, list[Item]]:
        r = self.ok(Operation.GET_ATTRIBUTES, payload(uid(u)), V21)
        out: dict[int, list[Item]] = {}
        for a in r.payload.find(Tag.ATTRIBUTES).value:
            out.setdefault(a.tag, []).append(a)
        return out

    def links(self, u: str) -> set[tuple[int, str]]:
        return {(lk.get(Tag.LINK_TYPE), lk.get(Tag.LINKED_OBJECT_IDENTIFIER)) for lk in self.attrs(u).get(Tag.LINK, [])}

    def ca(self, name: str = "Root CA") -> tuple[str, str, str]:
        """A self-signed, Active CA certificate: (private key, public key, certificate)."""
        priv, pub = self.key_pair(name)
        r = self.certify(pub, [a_mask(CUM.VERIFY | CUM.CERTIFICATE_SIGN), a_cn(name)])
        self.assertTrue(r.ok, r.message)
        cert = r.payload.get(Tag.UNIQUE_IDENTIFIER)
        self.ok(Operation.ACTIVATE, payload(uid(cert)))
        return priv, pub, cert

    def leaf(self, ca_cert: str, name: str = "leaf") -> tuple[str, str]:
        _, pub = self.key_pair(name, priv_mask=CUM.SIGN)
        r = self.certify(pub, [a_link(LinkType.CERTIFICATE_LINK, ca_cert), a_cn(name)])
        self.assertTrue(r.ok, r.message)
        return pub, r.payload.get(Tag.UNIQUE_IDENTIFIER)


class CertifyTests(CertificateTestCase):
    def test_self_signed(self) -> None:
        """Without an issuer link the certificate is signed by the key's own private key."""
        priv, pub = self.key_pair("web")
        r = self.certify(pub)
        self.assertTrue(r.ok, r.message)
        u = r.payload.get(Tag.UNIQUE_IDENTIFIER)
        cert = self.cert(u)
        self.assertEqual(cert.subject, cert.issuer)
        self.assertEqual(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value, "web")
        cert.verify_directly_issued_by(cert)
        self.assertEqual(cert.public_key().public_numbers(), self.public_key(pub).public_numbers())
        self.assertEqual(cert.not_valid_before_utc.timestamp(), NOW)
        self.assertEqual(cert.not_valid_after_utc.timestamp(), NOW + 365 * DAY)
        self.assertIn((LinkType.PUBLIC_KEY_LINK, pub), self.links(u))
        self.assertIn((LinkType.CERTIFICATE_LINK, u), self.links(pub))

    def test_ed25519_issuer(self) -> None:
        """An Ed25519 key pair certifies itself; a Digital Signature Algorithm cannot be forced on it."""
        _, pub = self.key_pair("ed", alg=CA.ED25519, length=255)
        r = self.certify(pub)
        self.assertTrue(r.ok, r.message)
        cert = self.cert(r.payload.get(Tag.UNIQUE_IDENTIFIER))
        cert.verify_directly_issued_by(cert)
        forced = ("Digital Signature Algorithm", Item.enum(Tag.DIGITAL_SIGNATURE_ALGORITHM,
                                                           DigitalSignatureAlgorithm.ECDSA_WITH_SHA256))
        self.assertEqual(self.certify(pub, [forced]).reason, R.INVALID_FIELD)

    def test_attributes(self) -> None:
        """The spec's certificate attributes, and a Digest over the DER value."""
        _, pub = self.key_pair("web")
        u = self.certify(pub, [a_cn("web.example")]).payload.get(Tag.UNIQUE_IDENTIFIER)
        der = self.cert(u).public_bytes(serialization.Encoding.DER)
        a = self.attrs(u)
        self.assertEqual(a[Tag.CERTIFICATE_TYPE][0].value, CertificateType.X_509)
        self.assertEqual(a[Tag.CERTIFICATE_LENGTH][0].value, len(der))
        self.assertEqual(a[Tag.DIGITAL_SIGNATURE_ALGORITHM][0].value,
                         DigitalSignatureAlgorithm.SHA_256_WITH_RSA_ENCRYPTION)
        self.assertEqual(a[Tag.CERTIFICATE_SUBJECT_CN][0].value, "web.example")
        self.assertEqual(a[Tag.CERTIFICATE_ISSUER_CN][0].value, "web.example")
        self.assertEqual(a[Tag.X_509_CERTIFICATE_SUBJECT][0].get(Tag.SUBJECT_DISTINGUISHED_NAME),
                         self.cert(u).subject.public_bytes())
        self.assertEqual(a[Tag.DIGEST][0].get(Tag.DIGEST_VALUE), hashlib.sha256(der).digest())
        self.assertEqual(a[Tag.CRYPTOGRAPHIC_ALGORITHM][0].value, CA.RSA)
        self.assertEqual(a[Tag.OBJECT_TYPE][0].value, ObjectType.CERTIFICATE)

    def test_1x_attributes_and_payload(self) -> None:
        """KMIP 1.0: Certificate Request tag; Certificate Identifier/Subject/Issuer attributes."""
        self.version = V10
        priv, pub = self.key_pair("old")
        r = self.certify(pub, version=V10)
        self.assertTrue(r.ok, r.message)
        u = r.payload.get(Tag.UNIQUE_IDENTIFIER)
        r = self.ok(Operation.GET_ATTRIBUTES, payload(uid(u)), V10)
        names = {a.get(Tag.ATTRIBUTE_NAME) for a in r.payload.findall(Tag.ATTRIBUTE)}
        self.assertTrue({"Certificate Type", "Certificate Identifier", "Certificate Subject",
                         "Certificate Issuer"} <= names)
        self.assertNotIn("X.509 Certificate Subject", names)
        subject = ("Certificate Subject", Item.struct(Tag.CERTIFICATE_SUBJECT, [
            Item.text(Tag.CERTIFICATE_SUBJECT_DISTINGUISHED_NAME, "CN=old.example,O=Acme")]))
        r = self.certify(pub, [subject], version=V10)
        self.assertTrue(r.ok, r.message)
        self.assertEqual(self.cert(r.payload.get(Tag.UNIQUE_IDENTIFIER)).subject.rfc4514_string(),
                         "CN=old.example,O=Acme")

    def test_ca_chain(self) -> None:
        """A Certificate Link names the issuer; its key is found through the issuer's links."""
        _, ca_pub, ca_cert = self.ca()
        pub, leaf = self.leaf(ca_cert, "server.example")
        cert, root = self.cert(leaf), self.cert(ca_cert)
        self.assertEqual(cert.issuer, root.subject)
        cert.verify_directly_issued_by(root)
        self.assertTrue(root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
        self.assertFalse(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
        self.assertIn((LinkType.CERTIFICATE_LINK, ca_cert), self.links(leaf))
        self.assertIn((LinkType.PUBLIC_KEY_LINK, pub), self.links(leaf))

    def test_issuer_certificate_must_be_active(self) -> None:
        """A Pre-Active or revoked CA certificate issues nothing (2.x Wrong Key Lifecycle State)."""
        priv, pub = self.key_pair("CA")
        ca_cert = self.certify(pub, [a_mask(CUM.VERIFY | CUM.CERTIFICATE_SIGN)]).payload.get(Tag.UNIQUE_IDENTIFIER)
        _, leaf_pub = self.key_pair("leaf", priv_mask=CUM.SIGN)
        r = self.certify(leaf_pub, [a_link(LinkType.CERTIFICATE_LINK, ca_cert)])
        self.assertEqual(r.reason, R.WRONG_KEY_LIFECYCLE_STATE)
        self.ok(Operation.ACTIVATE, payload(uid(ca_cert)))
        self.assertTrue(self.certify(leaf_pub, [a_link(LinkType.CERTIFICATE_LINK, ca_cert)]).ok)
        self.ok(Operation.REVOKE, payload(uid(ca_cert), Item.struct(Tag.REVOCATION_REASON, [
            Item.enum(Tag.REVOCATION_REASON_CODE, RevocationReasonCode.CA_COMPROMISE)]),
            Item.datetime(Tag.COMPROMISE_OCCURRENCE_DATE, NOW)))
        r = self.certify(leaf_pub, [a_link(LinkType.CERTIFICATE_LINK, ca_cert)])
        self.assertEqual(r.reason, R.WRONG_KEY_LIFECYCLE_STATE)

    def test_pkcs10_der_and_pem(self) -> None:
        """A PKCS#10 request's subject and extensions win; DER and PEM both accepted."""
        _, _, ca_cert = self.ca()
        key = ec.generate_private_key(ec.SECP256R1())
        csr = csr_for(key, "client-7", san="c7.example", ca=True)
        for kind, data in ((CRT.PKCS_10, csr.public_bytes(serialization.Encoding.DER)),
                           (CRT.PEM, csr.public_bytes(serialization.Encoding.PEM))):
            r = self.certify(None, [a_link(LinkType.CERTIFICATE_LINK, ca_cert), a_cn("ignored")], csr=data, kind=kind)
            self.assertTrue(r.ok, r.message)
            cert = self.cert(r.payload.get(Tag.UNIQUE_IDENTIFIER))
            self.assertEqual(cert.subject, csr.subject)
            self.assertEqual(cert.public_key().public_numbers(), key.public_key().public_numbers())
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            self.assertEqual(san.get_values_for_type(x509.DNSName), ["c7.example"])
            # the requester does not choose to be a CA, nor its name constraints
            self.assertFalse(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
            self.assertRaises(x509.ExtensionNotFound, cert.extensions.get_extension_for_class, x509.NameConstraints)

    def test_id_placeholder(self) -> None:
        """Certify sets the ID Placeholder: a following Get without identifier returns the certificate."""
        _, pub = self.key_pair("web")
        msg = request(batch_item(Operation.CERTIFY, payload(uid(pub), template(V21, []))),
                      batch_item(Operation.GET, payload()), version=V21)
        certified, got = results(send(self.d, msg, USER))
        self.assertTrue(got.ok, got.message)
        self.assertEqual(got.payload.get(Tag.UNIQUE_IDENTIFIER), certified.payload.get(Tag.UNIQUE_IDENTIFIER))
        self.assertEqual(got.payload.get(Tag.OBJECT_TYPE), ObjectType.CERTIFICATE)

    def test_validity_from_dates(self) -> None:
        """Activation/Deactivation Dates in the attributes bound the certificate's validity."""
        _, pub = self.key_pair("web")
        r = self.certify(pub, [a_date("Activation Date", Tag.ACTIVATION_DATE, NOW + DAY),
                               a_date("Deactivation Date", Tag.DEACTIVATION_DATE, NOW + 30 * DAY)])
        cert = self.cert(r.payload.get(Tag.UNIQUE_IDENTIFIER))
        self.assertEqual(cert.not_valid_before_utc.timestamp(), NOW + DAY)
        self.assertEqual(cert.not_valid_after_utc.timestamp(), NOW + 30 * DAY)

    def test_errors(self) -> None:
        """Certify error rows, with 2.x and 1.x reasons."""
        priv, pub = self.key_pair("web")
        _, idle_pub = self.key_pair("idle", activate=False)
        _, nosign_pub = self.key_pair("nosign", priv_mask=CUM.DECRYPT)
        other = ec.generate_private_key(ec.SECP256R1())
        good = csr_for(other).public_bytes(serialization.Encoding.DER)
        tampered = bytearray(good)
        tampered[-5] ^= 1
        r = self.ok(Operation.CREATE, payload(Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
                                              template(V21, [a_alg(CA.AES), a_len(128), a_mask(CUM.ENCRYPT)])))
        sym = r.payload.get(Tag.UNIQUE_IDENTIFIER)
        cases = [
            # 2.1 Table 181 (Certify): "Invalid CSR, Invalid Object Type, Item Not Found, ..." (no Object Not Found)
            (dict(public="missing"), R.ITEM_NOT_FOUND, R.ITEM_NOT_FOUND),
            (dict(public=sym), R.INVALID_OBJECT_TYPE, R.INVALID_FIELD),
            (dict(public=None, csr=bytes(tampered)), R.INVALID_CSR, R.INVALID_FIELD),
            (dict(public=None, csr=b"not a csr"), R.INVALID_CSR, R.INVALID_FIELD),
            (dict(public=None, csr=good, kind=CRT.CRMF), R.FEATURE_NOT_SUPPORTED, R.FEATURE_NOT_SUPPORTED),
            (dict(public=pub, csr=good), R.INVALID_CSR, R.INVALID_FIELD),  # request for another key
            (dict(public=None, csr=good), R.INVALID_FIELD, R.INVALID_FIELD),  # no issuer named
            (dict(public=idle_pub), R.WRONG_KEY_LIFECYCLE_STATE, R.ILLEGAL_OPERATION),  # issuer key Pre-Active
            (dict(public=nosign_pub), R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK, R.PERMISSION_DENIED),
            (dict(public=pub, attrs=[a_link(LinkType.CERTIFICATE_LINK, pub)]), R.INVALID_OBJECT_TYPE,
             R.INVALID_FIELD),
            (dict(public=pub, attrs=[("Certificate Type", Item.enum(Tag.CERTIFICATE_TYPE, CertificateType.PGP))]),
             R.FEATURE_NOT_SUPPORTED, R.FEATURE_NOT_SUPPORTED),
        ]
        for kwargs, v2, v1 in cases:
            for version, expected in ((V21, v2), (V14, v1)):
                r = self.certify(version=version, **kwargs)
                self.assertFalse(r.ok, kwargs)
                self.assertEqual(r.reason, expected, (version, kwargs, r.message))

    def test_certify_someone_elses_key(self) -> None:
        """Bob certifies alice's public key under his own CA: allowed (Get), but alice's key is not written."""
        _, alice_pub = self.key_pair("alice-key")
        v = self.version
        r = self.call(Operation.CREATE_KEY_PAIR, payload(
            template(v, [a_alg(CA.EC), a_len(256)], "common"), template(v, [a_mask(CUM.SIGN)], "private"),
            template(v, [a_mask(CUM.VERIFY)], "public")), caller="bob")
        bob_priv, bob_pub = r.payload.get(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER), r.payload.get(
            Tag.PUBLIC_KEY_UNIQUE_IDENTIFIER)
        self.ok(Operation.ACTIVATE, payload(uid(bob_priv)), caller="bob")
        r = self.certify(alice_pub, [a_link(LinkType.PRIVATE_KEY_LINK, bob_priv)], caller="bob")
        self.assertEqual(r.reason, R.INVALID_FIELD)  # self-signed needs the certified key's own private key
        r = self.certify(bob_pub, caller="bob")
        self.assertTrue(r.ok, r.message)
        bob_ca = r.payload.get(Tag.UNIQUE_IDENTIFIER)
        self.ok(Operation.ACTIVATE, payload(uid(bob_ca)), caller="bob")
        r = self.certify(alice_pub, [a_link(LinkType.CERTIFICATE_LINK, bob_ca)], caller="bob")
        self.assertTrue(r.ok, r.message)
        self.assertEqual(self.cert(r.payload.get(Tag.UNIQUE_IDENTIFIER)).public_key().public_numbers(),
                         self.public_key(alice_pub).public_numbers())
        self.assertNotIn(LinkType.CERTIFICATE_LINK, {t for t, _ in self.links(alice_pub)})

    def test_policy(self) -> None:
        """Another user may not sign with alice's CA key."""
        _, _, ca_cert = self.ca()
        key = ec.generate_private_key(ec.SECP256R1())
        csr = csr_for(key).public_bytes(serialization.Encoding.DER)
        r = self.certify(None, [a_link(LinkType.CERTIFICATE_LINK, ca_cert)], csr=csr, caller="mallory")
        self.assertEqual(r.reason, R.PERMISSION_DENIED)


class ReCertifyTests(CertificateTestCase):
    def test_renewal(self) -> None:
        """Same key, subject and issuer; names move; links both ways; the key's link follows."""
        _, _, ca_cert = self.ca()
        _, pub = self.key_pair("svc", priv_mask=CUM.SIGN)
        r = self.certify(pub, [a_link(LinkType.CERTIFICATE_LINK, ca_cert), a_cn("svc"), a_name("svc-cert")])
        old = r.payload.get(Tag.UNIQUE_IDENTIFIER)
        self.clock.advance(DAY)
        r = self.ok(Operation.RE_CERTIFY, payload(uid(old)))
        new = r.payload.get(Tag.UNIQUE_IDENTIFIER)
        a, b = self.cert(old), self.cert(new)
        self.assertEqual((a.subject, a.issuer), (b.subject, b.issuer))
        self.assertEqual(a.public_key().public_numbers(), b.public_key().public_numbers())
        self.assertNotEqual(a.serial_number, b.serial_number)
        b.verify_directly_issued_by(self.cert(ca_cert))
        self.assertEqual(b.not_valid_before_utc.timestamp(), NOW + DAY)
        self.assertIn((LinkType.REPLACEMENT_OBJECT_LINK, new), self.links(old))
        self.assertIn((LinkType.REPLACED_OBJECT_LINK, old), self.links(new))
        self.assertIn((LinkType.CERTIFICATE_LINK, new), self.links(pub))
        self.assertNotIn((LinkType.CERTIFICATE_LINK, old), self.links(pub))
        self.assertNotIn(Tag.NAME, self.attrs(old))
        self.assertEqual(self.attrs(new)[Tag.NAME][0].get(Tag.NAME_VALUE), "svc-cert")
        self.assertEqual(self.attrs(new)[Tag.INITIAL_DATE][0].value, NOW + DAY)

    def test_offset_dates(self) -> None:
        """Table 298: AT2 = IT2 + Offset, DT2 = DT1 + (AT2 - AT1)."""
        _, pub = self.key_pair("svc")
        r = self.certify(pub, [a_date("Activation Date", Tag.ACTIVATION_DATE, NOW),
                               a_date("Deactivation Date", Tag.DEACTIVATION_DATE, NOW + 10 * DAY)])
        old = r.payload.get(Tag.UNIQUE_IDENTIFIER)
        self.clock.advance(5 * DAY)
        r = self.ok(Operation.RE_CERTIFY, payload(uid(old), Item.interval(Tag.OFFSET, DAY)))
        a = self.attrs(r.payload.get(Tag.UNIQUE_IDENTIFIER))
        at2 = NOW + 6 * DAY
        self.assertEqual(a[Tag.ACTIVATION_DATE][0].value, at2)
        self.assertEqual(a[Tag.DEACTIVATION_DATE][0].value, NOW + 10 * DAY + (at2 - NOW))
        cert = self.cert(r.payload.get(Tag.UNIQUE_IDENTIFIER))
        self.assertEqual(cert.not_valid_before_utc.timestamp(), at2)

    def test_errors(self) -> None:
        _, pub = self.key_pair("svc")
        old = self.certify(pub).payload.get(Tag.UNIQUE_IDENTIFIER)
        for body, version, expected in (
            (payload(uid("missing")), V21, R.OBJECT_NOT_FOUND),
            (payload(uid(pub)), V21, R.INVALID_OBJECT_TYPE),
            (payload(uid(pub)), V14, R.INVALID_FIELD),
            (payload(uid(old), Item.text(Tag.CERTIFICATE_REQUEST_UNIQUE_IDENTIFIER, "csr-1")), V21,
             R.OBJECT_NOT_FOUND),  # stored requests: tests/operations/test_certificate_request.py
        ):
            self.assertEqual(self.call(Operation.RE_CERTIFY, body, version).reason, expected)
        self.assertEqual(self.call(Operation.RE_CERTIFY, payload(uid(old)), caller="mallory").reason,
                         R.PERMISSION_DENIED)


class ValidateTests(CertificateTestCase):
    def validate(self, *children: Item) -> int:
        r = self.ok(Operation.VALIDATE, payload(*children))
        return r.payload.get(Tag.VALIDITY_INDICATOR)

    def test_valid_invalid_unknown(self) -> None:
        _, _, ca_cert = self.ca()
        _, leaf = self.leaf(ca_cert)
        self.assertEqual(self.validate(uid(leaf)), ValidityIndicator.VALID)
        self.assertEqual(self.validate(uid(leaf), uid(ca_cert)), ValidityIndicator.VALID)
        late = Item.datetime(Tag.VALIDITY_DATE, NOW + 400 * DAY)
        self.assertEqual(self.validate(uid(leaf), late), ValidityIndicator.INVALID)
        early = Item.datetime(Tag.VALIDITY_DATE, NOW - DAY)
        self.assertEqual(self.validate(uid(leaf), early), ValidityIndicator.INVALID)

    def test_given_certificates(self) -> None:
        """Certificates given by value; a root the server does not manage gives Unknown."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "outside")])
        when = datetime.datetime.fromtimestamp(NOW - DAY, tz=datetime.timezone.utc)
        outside = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(7).not_valid_before(when).not_valid_after(when + datetime.timedelta(days=10))
                   .sign(key, hashes.SHA256()))
        item = Item.struct(Tag.CERTIFICATE, [Item.enum(Tag.CERTIFICATE_TYPE, CertificateType.X_509),
                                             Item.bytes(Tag.CERTIFICATE_VALUE,
                                                        outside.public_bytes(serialization.Encoding.DER))])
        self.assertEqual(self.validate(item), ValidityIndicator.UNKNOWN)
        _, _, ca_cert = self.ca()
        _, leaf = self.leaf(ca_cert)
        self.assertEqual(self.validate(item, uid(leaf)), ValidityIndicator.INVALID)  # not one chain

    def test_compromised_root(self) -> None:
        """A root revoked as compromised on the server invalidates the chain."""
        _, _, ca_cert = self.ca()
        _, leaf = self.leaf(ca_cert)
        self.ok(Operation.REVOKE, payload(uid(ca_cert), Item.struct(Tag.REVOCATION_REASON, [
            Item.enum(Tag.REVOCATION_REASON_CODE, RevocationReasonCode.CA_COMPROMISE)]),
            Item.datetime(Tag.COMPROMISE_OCCURRENCE_DATE, NOW)))
        self.assertEqual(self.validate(uid(leaf)), ValidityIndicator.INVALID)

    def test_errors(self) -> None:
        _, pub = self.key_pair("k")
        for body, expected in ((payload(), R.INVALID_FIELD), (payload(uid("missing")), R.OBJECT_NOT_FOUND),
                               (payload(uid(pub)), R.INVALID_OBJECT_TYPE)):
            self.assertEqual(self.call(Operation.VALIDATE, body).reason, expected)
        bad = Item.struct(Tag.CERTIFICATE, [Item.enum(Tag.CERTIFICATE_TYPE, CertificateType.X_509),
                                            Item.bytes(Tag.CERTIFICATE_VALUE, b"junk")])
        self.assertEqual(self.call(Operation.VALIDATE, payload(bad)).reason, R.INVALID_FIELD)
        _, _, ca_cert = self.ca()
        too_many = payload(*[uid(ca_cert)] * 33)
        self.assertEqual(self.call(Operation.VALIDATE, too_many).reason, R.INVALID_FIELD)


class SignatureCheckTests(CertificateTestCase):
    def test_issued_certificate_verifies_signatures(self) -> None:
        """A certified key's certificate verifies what its private key signs (RSA PKCS#1 v1.5)."""
        priv, pub = self.key_pair("signer")
        cert = self.cert(self.certify(pub).payload.get(Tag.UNIQUE_IDENTIFIER))
        r = self.ok(Operation.SIGN, payload(uid(priv), Item.struct(Tag.CRYPTOGRAPHIC_PARAMETERS, [
            Item.enum(Tag.DIGITAL_SIGNATURE_ALGORITHM, DigitalSignatureAlgorithm.SHA_256_WITH_RSA_ENCRYPTION)]),
            Item.bytes(Tag.DATA, b"hello")))
        cert.public_key().verify(r.payload.get(Tag.SIGNATURE_DATA), b"hello", padding.PKCS1v15(), hashes.SHA256())
