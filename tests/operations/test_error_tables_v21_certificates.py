"""The specific rows of the KMIP 2.1 error tables of the certificate operations (spec 2.1 6.1.6
Certify, 6.1.45 Re-certify, 6.1.57 Validate): one KMIP 2.1 request per row, named after it.

The certificates are kmipd's own: L{valid_v21.certificate} (self-signed, by Certify) and
L{valid_v21.chain} (a CA certificate and a leaf it issued); requests are made with C{cryptography}.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twisted.trial.unittest import SynchronousTestCase

from kmipd.spec import CertificateRequestType as CRT
from kmipd.spec import CertificateType, LinkType, ObjectType, ProtectionStorageMask, State, Tag, ValidityIndicator
from kmipd.testing import payload
from kmipd.ttlv import Item

from .error_tables import Env, O, R, Row, add_rows
from .test_certificates import csr_for
from .valid_v21 import _ec_public, attrs, certificate, chain, ec_keys, otype, uid

DER = serialization.Encoding.DER
NO_SUCH = uid("no-such-object")
HSM = Item.struct(Tag.PROTECTION_STORAGE_MASKS, [Item.int(Tag.PROTECTION_STORAGE_MASK, ProtectionStorageMask.HARDWARE)])


def csr(*, tamper: bool = False) -> bytes:
    """A PKCS#10 request (DER) for a key kmipd does not hold; C{tamper}: its signature broken."""
    der = bytearray(csr_for(ec.generate_private_key(ec.SECP256R1())).public_bytes(DER))
    if tamper:
        der[-5] ^= 1
    return bytes(der)


def inline(value: bytes, kind: int = CRT.PKCS_10) -> tuple[Item, Item]:
    return Item.enum(Tag.CERTIFICATE_REQUEST_TYPE, kind), Item.bytes(Tag.CERTIFICATE_REQUEST_VALUE, value)


def certificate_link(target: str) -> Item:
    return Item.struct(Tag.LINK, [Item.enum(Tag.LINK_TYPE, LinkType.CERTIFICATE_LINK),
                                  Item.text(Tag.LINKED_OBJECT_IDENTIFIER, target)])


def destroyed_public(env: Env) -> str:
    """The public key of a pair never activated, destroyed."""
    _, public = ec_keys(env, activate=False)
    r = env.run(O.DESTROY, payload(uid(public)))
    assert r.ok, r.message
    return public


def destroyed_certificate(env: Env) -> str:
    u = certificate(env)  # Pre-Active: it may be destroyed
    r = env.run(O.DESTROY, payload(uid(u)))
    assert r.ok, r.message
    return u


def stored_request(env: Env, *, destroy: bool = False) -> str:
    """A Certificate Request object registered (PKCS#10), destroyed if told."""
    r = env.run(O.REGISTER, payload(otype(ObjectType.CERTIFICATE_REQUEST), attrs(), Item.struct(
        Tag.CERTIFICATE_REQUEST, list(inline(csr())))))
    assert r.ok, r.message
    u = r.payload.get(Tag.UNIQUE_IDENTIFIER)
    if destroy:
        r = env.run(O.DESTROY, payload(uid(u)))
        assert r.ok, r.message
    return u


def recertify(env: Env, *extra: Item, old: str | None = None) -> Item:
    return payload(uid(old or certificate(env)), *extra)


def request_uid(u: str) -> Item:
    return Item.text(Tag.CERTIFICATE_REQUEST_UNIQUE_IDENTIFIER, u)


def pgp(env: Env) -> Item:
    return payload(Item.struct(Tag.CERTIFICATE, [Item.enum(Tag.CERTIFICATE_TYPE, CertificateType.PGP),
                                                 Item.bytes(Tag.CERTIFICATE_VALUE, b"pgp")]))


def others_chain(env: Env) -> Item:
    """Another client's chain, its leaf under an owner-only policy."""
    leaf, ca = chain(env, "someone-else")
    env.policy(leaf, "owner_only")
    return payload(uid(leaf), uid(ca))


ROWS: list[Row] = [
    # Certify (Table 181): Invalid CSR, Invalid Object Type, Item Not Found, ..., Protection Storage Unavailable
    Row(O.CERTIFY, R.INVALID_CSR, "a Certificate Request Value that is no PKCS#10 request",
        lambda e: payload(*inline(b"not a request"))),
    Row(O.CERTIFY, R.INVALID_CSR, "a PKCS#10 request whose signature fails",
        lambda e: payload(*inline(csr(tamper=True)))),
    Row(O.CERTIFY, R.INVALID_CSR, "a request for another key than the Unique Identifier names",
        lambda e: payload(uid(_ec_public(e, "tester")), *inline(csr()))),
    Row(O.CERTIFY, R.INVALID_OBJECT_TYPE, "the Unique Identifier names a symmetric key",
        lambda e: payload(uid(e.key())), v1=R.INVALID_FIELD),
    Row(O.CERTIFY, R.INVALID_OBJECT_TYPE, "the Certificate Link names a public key, not a certificate",
        lambda e: payload(uid(_ec_public(e, "tester")), attrs(certificate_link(_ec_public(e, "tester"))))),
    Row(O.CERTIFY, R.ITEM_NOT_FOUND, "no object has the Unique Identifier", lambda e: payload(NO_SUCH),
        v1=R.ITEM_NOT_FOUND),
    Row(O.CERTIFY, R.ITEM_NOT_FOUND, "the public key is destroyed",
        lambda e: payload(uid(destroyed_public(e)))),
    Row(O.CERTIFY, R.ITEM_NOT_FOUND, "the issuer certificate the Certificate Link names does not exist",
        lambda e: payload(*inline(csr()), attrs(certificate_link("no-such-object")))),
    Row(O.CERTIFY, R.PROTECTION_STORAGE_UNAVAILABLE, "HSM protection storage",
        lambda e: payload(uid(_ec_public(e, "tester")), HSM)),
    Row(O.CERTIFY, R.FEATURE_NOT_SUPPORTED, "a CRMF request", lambda e: payload(*inline(csr(), CRT.CRMF))),
    Row(O.CERTIFY, R.FEATURE_NOT_SUPPORTED, "a PGP certificate asked for",
        lambda e: payload(uid(_ec_public(e, "tester")), attrs(Item.enum(Tag.CERTIFICATE_TYPE, CertificateType.PGP)))),
    Row(O.CERTIFY, R.INVALID_FIELD, "a request with no issuer (no Certificate Link, no managed key)",
        lambda e: payload(*inline(csr()))),
    # Re-certify (Table 302): Invalid CSR, Invalid Message, Invalid Object Type, Object Not Found, ...
    Row(O.RE_CERTIFY, R.INVALID_CSR, "a request for another key than the certificate's",
        lambda e: recertify(e, *inline(csr()))),
    Row(O.RE_CERTIFY, R.INVALID_OBJECT_TYPE, "the Unique Identifier names a symmetric key",
        lambda e: recertify(e, old=e.key()), v1=R.INVALID_FIELD),
    Row(O.RE_CERTIFY, R.INVALID_OBJECT_TYPE, "the Certificate Request Unique Identifier names a certificate",
        lambda e: recertify(e, request_uid(certificate(e)))),
    Row(O.RE_CERTIFY, R.OBJECT_NOT_FOUND, "no object has the Unique Identifier",
        lambda e: payload(NO_SUCH), v1=R.ITEM_NOT_FOUND),
    Row(O.RE_CERTIFY, R.OBJECT_NOT_FOUND, "no object has the Certificate Request Unique Identifier",
        lambda e: recertify(e, request_uid("no-such-object"))),
    Row(O.RE_CERTIFY, R.OBJECT_NOT_FOUND, "the certificate is destroyed",
        lambda e: recertify(e, old=destroyed_certificate(e))),
    Row(O.RE_CERTIFY, R.OBJECT_NOT_FOUND, "the stored Certificate Request is destroyed",
        lambda e: recertify(e, request_uid(stored_request(e, destroy=True)))),
    Row(O.RE_CERTIFY, R.INVALID_MESSAGE, "the Certificate Request Unique Identifier given twice",
        lambda e: recertify(e, request_uid(stored_request(e)), request_uid(stored_request(e)))),
    Row(O.RE_CERTIFY, R.PROTECTION_STORAGE_UNAVAILABLE, "HSM protection storage", lambda e: recertify(e, HSM)),
    Row(O.RE_CERTIFY, R.FEATURE_NOT_SUPPORTED, "a CRMF request", lambda e: recertify(e, *inline(csr(), CRT.CRMF))),
    # Validate (Table 342)
    Row(O.VALIDATE, R.PERMISSION_DENIED, "a certificate of the chain is another client's (owner-only policy)",
        others_chain),
    Row(O.VALIDATE, R.FEATURE_NOT_SUPPORTED, "a PGP certificate", pgp),
]


class CertificateRowsTests(SynchronousTestCase):
    add_rows(locals(), ROWS)

    def test_chain_fixture_is_valid(self) -> None:
        """The chain the Validate rows spoil validates (Valid), and its leaf is the CA's: with the
        CA certificate Compromised (distrusted) the same chain is Invalid."""
        env = Env(self)
        leaf, ca = chain(env)
        r = env.run(O.VALIDATE, payload(uid(leaf), uid(ca)))
        self.assertTrue(r.ok, r.message)
        self.assertEqual(r.payload.get(Tag.VALIDITY_INDICATOR), ValidityIndicator.VALID)
        with env.store.transaction() as tx:
            obj = tx.get(ca)
            obj.attributes["State"] = [Item.enum(Tag.STATE, State.COMPROMISED)]
            tx.save(obj)
        r = env.run(O.VALIDATE, payload(uid(leaf), uid(ca)))
        self.assertTrue(r.ok, r.message)
        self.assertEqual(r.payload.get(Tag.VALIDITY_INDICATOR), ValidityIndicator.INVALID)
