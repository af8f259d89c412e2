# -*- test-case-name: tests.operations.test_certificates -*-
"""Certify, Re-certify and Validate (spec 2.1 6.1.6, 6.1.45, 6.1.57; 1.4 4.7, 4.8, 4.24).

kmipd is a small CA over the objects it manages. Certify issues an X.509 v3 certificate for a
managed Public Key (Unique Identifier, or the ID Placeholder) or for the key of a PKCS#10 request
(DER, or PEM with Certificate Request Type PEM), whose contents take precedence over the request's
attributes. The request is given inline (Certificate Request Type and Value) or, in KMIP 2.x, as a
stored Certificate Request object (L{kmipd.model.certrequest}): Certify's Unique Identifier may
name one ("the Public Key or the Certificate Request being certified", 2.1 6.1.6), Re-certify's
Certificate Request Unique Identifier names one (2.1 6.1.45); a stored request is used exactly as
the same request given inline. A Certificate Request with a Link of type Public Key Link to a
managed Public Key certifies that key (the request must be for it): the certificate and the key
are then linked as for a Certify by the key's Unique Identifier.

The issuer is named with the request's attributes, as the Link attribute defines (spec 1.4 3.35:
a Certificate's Certificate Link is "the parent certificate ... in a certificate chain"):

 - a Link of type Certificate Link names the issuer's certificate; the signing key is the
   Private Key a Link of type Private Key Link in the request names, else the one linked from
   the issuer certificate's public key (certificate -> Public Key Link -> Private Key Link);
 - without a Certificate Link the certificate is self-signed: by the Private Key Link's key if
   given, else by the private key linked from the certified public key.

The issuer certificate and key must be Active, the key with Sign or Certificate Sign in its usage
mask. The subject is the
request's, else the template's Certificate Subject attributes (2.x C{Certificate Subject CN/O/...},
1.x C{Certificate Subject} distinguished name text), else C{CN=<the public key's Name or UID>}.
Validity runs from the template's Activation Date (else now) to its Deactivation Date (else one
year). A template usage mask with Certificate
Sign makes a CA certificate (Basic Constraints CA). The certificate gets the attributes Register
gives a registered one, Links Public Key (to the key) and Certificate Link (to the issuer), and
the public key a Certificate Link to it (when the caller may change the key's attributes: a
certificate for someone else's public key does not write to their key).

Re-certify issues a new certificate for the same key, subject and issuer (or the request's),
with the dates of spec Table 298, moves the Names to it, and links Replaced/Replacement; the
public key's Certificate Link moves to the new certificate.

Validate orders the given and referenced certificates into one chain, extends it with managed
certificates up to a self-signed root, and answers Valid when every certificate is within its
validity at the Validity Date, none is Compromised on the server, and the root is an Active
managed certificate; Invalid when a check fails; Unknown when the root is not one the server
manages.

Policy: built-in policies have no rows for these operations on keys and certificates; they are
checked as Get (the certified key, Validate's certificates), Modify Attribute (the certificate
Re-certify replaces) and, for the issuer's private key, as a Sign operation (L{_common.load_key}).
A stored Certificate Request is checked as Certify (Certify) or Re-certify (Re-certify): the
C{default} policy allows them to its owner only.
"""

from __future__ import annotations

from typing import Any

from ..context import RequestContext
from ..crypto import keygen
from ..crypto import x509 as cx
from ..crypto.errors import CryptoError
from ..errors import (
    FeatureNotSupported,
    IllegalOperation,
    IncompatibleUsageMask,
    InvalidCSR,
    InvalidField,
    InvalidObjectType,
    MissingData,
    ObjectDestroyed,
)
from ..log import Logger
from ..model import certrequest
from ..model.attributes import Attr, read_template, spec_for
from ..model.cryptoparams import key_of
from ..model.factory import check_protection_masks, check_template, check_unique_names, link, new_object
from ..model.objects import ManagedObject
from ..spec import CertificateRequestType, CertificateType, LinkType, ObjectType, Operation, State, Tag
from ..spec import CryptographicUsageMask as Mask
from ..store.interface import AttributeFilter, LocateQuery
from ..ttlv import Item
from ._common import allowed, load, load_as, load_key, touch, uid_from
from .create import _certificate_attributes
from .registry import operation

_log = Logger()

#: Certificate lifetime when the template gives no Deactivation Date (seconds).
DEFAULT_VALIDITY = 365 * 24 * 3600
#: Template attributes that describe the certificate to issue rather than the object.
_DESCRIPTIVE_PREFIXES = ("Certificate Subject", "Certificate Issuer", "X.509 Certificate")
_DESCRIPTIVE = frozenset({"Digital Signature Algorithm", "Certificate Type", "Certificate Identifier",
                          "Certificate Length"})
#: Links a request uses to name the issuer (not copied as-is to the certificate).
_ISSUER_LINKS = frozenset({LinkType.PRIVATE_KEY_LINK})
#: Most managed certificates Validate walks up from a chain.
MAX_DEPTH = 16
#: Most certificates one Validate request may give (ordering them costs quadratic signature checks).
MAX_CHAIN = 32


def _links(obj: ManagedObject | None, attrs: list[Attr], link_type: int) -> str | None:
    """The Linked Object Identifier of the first Link of C{link_type} in C{attrs}, else C{obj}'s."""
    for a in attrs:
        if a.name == "Link" and a.value is not None and a.value.get(Tag.LINK_TYPE) == link_type:
            return str(a.value.get(Tag.LINKED_OBJECT_IDENTIFIER))
    if obj is not None:
        for v in obj.live("Link"):
            if v.get(Tag.LINK_TYPE) == link_type:
                return str(v.get(Tag.LINKED_OBJECT_IDENTIFIER))
    return None


def _cert_of(obj: ManagedObject) -> Any:
    if obj.object_type != ObjectType.CERTIFICATE:
        raise InvalidObjectType(f"object {obj.uid!r} is not a Certificate")
    if obj.material is None:
        raise ObjectDestroyed(f"certificate {obj.uid!r} has been destroyed")
    if obj.material.get(Tag.CERTIFICATE_TYPE) != CertificateType.X_509:
        raise FeatureNotSupported("only X.509 certificates are supported")
    try:
        return cx.load_certificate(obj.material.get(Tag.CERTIFICATE_VALUE))
    except cx.CertificateError as e:
        raise InvalidField(str(e)) from None


def _public_key_of(obj: ManagedObject) -> Any:
    if obj.object_type != ObjectType.PUBLIC_KEY:
        raise InvalidObjectType("Certify certifies a Public Key or a Certificate Request")
    if obj.material is None:
        raise ObjectDestroyed(f"public key {obj.uid!r} has been destroyed")
    try:
        return keygen.load_public_key(key_of(obj))
    except CryptoError as e:
        raise InvalidField(e.message) from None


def _private_key(ctx: RequestContext, uid: str) -> Any:
    """The issuer's signing key: loaded as for Sign, Active, Sign/Certificate Sign allowed."""
    obj = load_key(ctx, uid, Operation.SIGN)
    if obj.object_type != ObjectType.PRIVATE_KEY:
        raise InvalidObjectType(f"issuer key {uid!r} is not a Private Key")
    if obj.material is None:
        raise ObjectDestroyed(f"issuer key {uid!r} has been destroyed")
    if obj.state != State.ACTIVE:
        raise IllegalOperation("the issuer's private key is not Active")
    mask = obj.value("Cryptographic Usage Mask")
    if not isinstance(mask, int) or not mask & (Mask.SIGN | Mask.CERTIFICATE_SIGN | Mask.UNRESTRICTED):
        raise IncompatibleUsageMask("the issuer's private key may not sign certificates")
    try:
        return keygen.load_private_key(key_of(obj))
    except CryptoError as e:
        raise InvalidField(e.message) from None


# ---------------------------------------------------------------------------------------------
# Reading the request

class _Request:
    """What Certify and Re-certify read from a request."""

    def __init__(self, ctx: RequestContext, payload: Item | None) -> None:
        raw = read_template(payload, Tag.TEMPLATE_ATTRIBUTE, Tag.ATTRIBUTES)
        self.descriptive = [a for a in raw if a.name in _DESCRIPTIVE or a.name.startswith(_DESCRIPTIVE_PREFIXES)]
        rest = [a for a in raw if a not in self.descriptive]
        self.attrs = check_template(ctx, ObjectType.CERTIFICATE, rest)
        check_protection_masks(payload)
        ctype = self.value("Certificate Type")
        if ctype is not None and ctype != CertificateType.X_509:
            raise FeatureNotSupported("kmipd issues X.509 certificates only")
        self.csr = None
        value = None
        if payload is not None:
            value = payload.get(Tag.CERTIFICATE_REQUEST_VALUE, payload.get(Tag.CERTIFICATE_REQUEST))
        if value is not None:
            kind = payload.get(Tag.CERTIFICATE_REQUEST_TYPE) if payload is not None else None
            if kind is None:
                raise InvalidField("Certificate Request Type is required with a Certificate Request")
            if not isinstance(value, bytes):
                raise InvalidField("the Certificate Request must be a Byte String")
            try:
                self.csr = cx.load_csr(kind, value)
            except cx.UnsupportedRequest as e:
                raise FeatureNotSupported(str(e)) from None
            except cx.InvalidCSR as e:
                raise InvalidCSR(str(e)) from None

    def use_stored(self, obj: ManagedObject) -> None:
        """Take the request from a stored Certificate Request object (2.x) instead of inline."""
        if self.csr is not None:
            raise InvalidField("give either a stored Certificate Request or a Certificate Request Value, not both")
        if obj.object_type != ObjectType.CERTIFICATE_REQUEST:
            raise InvalidObjectType(f"object {obj.uid!r} is not a Certificate Request")
        if obj.material is None:
            raise ObjectDestroyed(f"certificate request {obj.uid!r} has been destroyed")
        self.csr = certrequest.load_request(obj.material, InvalidCSR)

    def value(self, name: str) -> Any:
        for a in self.attrs + self.descriptive:
            if a.name == name and a.value is not None:
                return a.value.value
        return None

    def subject(self) -> Any:
        """The subject name the request gives (CSR first), or None."""
        if self.csr is not None:
            return self.csr.subject
        parts = [(a.name[len("Certificate Subject "):], str(a.value.value)) for a in self.descriptive
                 if a.value is not None and a.name[len("Certificate Subject "):] in cx.NAME_OIDS
                 and a.name.startswith("Certificate Subject ")]
        try:
            if parts:
                return cx.name_from_parts(parts)
            for a in self.descriptive:
                if a.name == "Certificate Subject" and a.value is not None:
                    text = a.value.get(Tag.CERTIFICATE_SUBJECT_DISTINGUISHED_NAME)
                    if isinstance(text, str):
                        return cx.name_from_text(text)
        except cx.CertificateError as e:
            raise InvalidField(str(e)) from None
        return None

    def object_attrs(self) -> list[Attr]:
        """The template attributes to store on the certificate (issuer-naming links dropped)."""
        return [a for a in self.attrs if not (a.name == "Link" and a.value is not None
                                              and a.value.get(Tag.LINK_TYPE) in _ISSUER_LINKS)]


def _issuer(ctx: RequestContext, req: _Request, pub_obj: ManagedObject | None, subject: Any, public_key: Any,
            default_issuer_cert: str | None) -> tuple[Any, Any, str | None]:
    """(issuer name, issuer private key, issuer certificate UID or None for self-signed)."""
    cert_uid = _links(None, req.attrs, LinkType.CERTIFICATE_LINK) or default_issuer_cert
    key_uid = _links(None, req.attrs, LinkType.PRIVATE_KEY_LINK)
    if cert_uid is not None:
        issuer_obj = load(ctx, cert_uid, Operation.GET)
        issuer_cert = _cert_of(issuer_obj)
        if issuer_obj.state != State.ACTIVE:
            raise IllegalOperation("the issuer certificate is not Active")
        if key_uid is None:
            issuer_pub = _links(issuer_obj, [], LinkType.PUBLIC_KEY_LINK)
            if issuer_pub is not None:
                pub = ctx.store.get(issuer_pub)
                key_uid = _links(pub, [], LinkType.PRIVATE_KEY_LINK) if pub is not None else None
        if key_uid is None:
            raise InvalidField("the issuer certificate's private key is not managed here; name it with a "
                               "Private Key Link")
        key = _private_key(ctx, key_uid)
        if not cx.matches(key, issuer_cert.public_key()):
            raise InvalidField("the issuer's private key does not match the issuer certificate")
        return issuer_cert.subject, key, cert_uid
    if key_uid is None and pub_obj is not None:
        key_uid = _links(pub_obj, [], LinkType.PRIVATE_KEY_LINK)
    if key_uid is None:
        raise InvalidField("no issuer: give a Link of type Certificate Link to the issuer's certificate")
    key = _private_key(ctx, key_uid)
    if not cx.matches(key, public_key):
        raise InvalidField("a self-signed certificate must be signed by the certified key's private key")
    return subject, key, None


def _issue(ctx: RequestContext, req: _Request, *, subject: Any, public_key: Any, issuer: tuple[Any, Any],
           not_before: int, not_after: int, extensions: list[Any], ca: bool) -> bytes:
    dsa_value = req.value("Digital Signature Algorithm")
    try:
        return cx.issue(subject, public_key, issuer[0], issuer[1], not_before=not_before, not_after=not_after,
                        dsa_value=dsa_value, extensions=extensions, ca=ca)
    except cx.CertificateError as e:
        raise InvalidField(str(e)) from None


def _certificate_object(ctx: RequestContext, der: bytes, attrs: list[Attr],
                        extra: list[tuple[str, Item]]) -> ManagedObject:
    material = Item.struct(Tag.CERTIFICATE, [Item.enum(Tag.CERTIFICATE_TYPE, CertificateType.X_509),
                                             Item.bytes(Tag.CERTIFICATE_VALUE, der)])
    implied = _certificate_attributes(der)
    alg = next((v.value for n, v in implied if n == "Cryptographic Algorithm"), None)
    length = next((v.value for n, v in implied if n == "Cryptographic Length"), None)
    implied = [(n, v) for n, v in implied if n not in ("Cryptographic Algorithm", "Cryptographic Length")]
    return new_object(ctx, ObjectType.CERTIFICATE, material, attrs, algorithm=alg, length=length,
                      extra=implied + extra)


def _point_certificate_link(ctx: RequestContext, pub: ManagedObject, old: str | None, new: str) -> None:
    """Make C{pub}'s Certificate Link to C{old} point to C{new} (or add one)."""
    values = pub.attributes.get("Link", [])
    for i, v in enumerate(values):
        if v is not None and v.get(Tag.LINK_TYPE) == LinkType.CERTIFICATE_LINK and \
                v.get(Tag.LINKED_OBJECT_IDENTIFIER) == old:
            values[i] = link(LinkType.CERTIFICATE_LINK, new)
            break
    else:
        pub.add_instance("Link", link(LinkType.CERTIFICATE_LINK, new))
    touch(ctx, pub)
    ctx.store.save(pub)


# ---------------------------------------------------------------------------------------------
# Certify

def _subject_key(ctx: RequestContext, req: _Request, payload: Item | None) -> tuple[ManagedObject | None, Any]:
    """The managed public key (if any) and the key to certify."""
    pub_obj = None
    if req.csr is None or (payload is not None and payload.find(Tag.UNIQUE_IDENTIFIER) is not None):
        pub_obj = load_as(ctx, uid_from(ctx, payload), Operation.CERTIFY, Operation.GET)
        if pub_obj.object_type == ObjectType.CERTIFICATE_REQUEST:
            stored, pub_obj = pub_obj, None
            req.use_stored(stored)
            linked = _links(stored, [], LinkType.PUBLIC_KEY_LINK)
            if linked is not None:
                pub_obj = load_as(ctx, linked, Operation.CERTIFY, Operation.GET)
    key = _public_key_of(pub_obj) if pub_obj is not None else None
    if req.csr is not None:
        csr_key = req.csr.public_key()
        if key is not None and csr_key.public_bytes(*_SPKI) != key.public_bytes(*_SPKI):
            raise InvalidCSR("the certificate request is for another key than the Unique Identifier names")
        key = csr_key
    return pub_obj, key


def _spki() -> tuple[Any, Any]:
    from cryptography.hazmat.primitives import serialization

    return serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo


_SPKI = _spki()


def _requested_extensions(csr: Any) -> list[Any]:
    """The extensions of a PKCS#10 request a certificate takes over: the subject's alternative
    names and its key usages. Anything else (Basic Constraints, Name Constraints, policies...)
    is the issuer's to decide, not the requester's."""
    from cryptography import x509

    allowed_oids = {x509.SubjectAlternativeName.oid, x509.KeyUsage.oid, x509.ExtendedKeyUsage.oid}
    return [ext for ext in csr.extensions if ext.oid in allowed_oids]


def _default_subject(pub_obj: ManagedObject | None) -> Any:
    name = pub_obj.first("Name") if pub_obj is not None else None
    text = name.get(Tag.NAME_VALUE) if name is not None else None
    cn = text if isinstance(text, str) and text else (pub_obj.uid if pub_obj is not None else "kmipd")
    return cx.name_from_parts([("CN", cn[:64])])


def _validity(ctx: RequestContext, req: _Request) -> tuple[int, int]:
    start = req.value("Activation Date")
    start = start if isinstance(start, int) else ctx.now
    end = req.value("Deactivation Date")
    if not isinstance(end, int):
        end = start + DEFAULT_VALIDITY
    return start, end


@operation(Operation.CERTIFY)
def certify(ctx: RequestContext, payload: Item | None) -> Item:
    """Issue an X.509 certificate for a managed public key or a PKCS#10 request."""
    req = _Request(ctx, payload)
    pub_obj, public_key = _subject_key(ctx, req, payload)
    subject = req.subject() or _default_subject(pub_obj)
    issuer_name, issuer_key, issuer_uid = _issuer(ctx, req, pub_obj, subject, public_key, None)
    attrs = req.object_attrs()
    check_unique_names(ctx, attrs)
    not_before, not_after = _validity(ctx, req)
    mask = req.value("Cryptographic Usage Mask")
    extensions = _requested_extensions(req.csr) if req.csr is not None else []
    der = _issue(ctx, req, subject=subject, public_key=public_key, issuer=(issuer_name, issuer_key),
                 not_before=not_before, not_after=not_after, extensions=extensions,
                 ca=isinstance(mask, int) and bool(mask & Mask.CERTIFICATE_SIGN))
    extra: list[tuple[str, Item]] = []
    if pub_obj is not None:
        extra.append(("Link", link(LinkType.PUBLIC_KEY_LINK, pub_obj.uid)))
    if issuer_uid is not None and _links(None, attrs, LinkType.CERTIFICATE_LINK) is None:
        extra.append(("Link", link(LinkType.CERTIFICATE_LINK, issuer_uid)))
    cert = _certificate_object(ctx, der, attrs, extra)
    ctx.store.add(cert)
    if pub_obj is not None and allowed(ctx, pub_obj, Operation.ADD_ATTRIBUTE):
        _point_certificate_link(ctx, pub_obj, None, cert.uid)
    ctx.id_placeholder = cert.uid
    _log.info("certified {public_key} as {uid}", public_key=pub_obj.uid if pub_obj else None, uid=cert.uid)
    return Item.struct(Tag.RESPONSE_PAYLOAD, [Item.text(Tag.UNIQUE_IDENTIFIER, cert.uid)])


# ---------------------------------------------------------------------------------------------
# Re-certify

#: Attributes of the existing certificate Re-certify does not copy (spec 2.1 Table 299, and the
#: ones derived from the certificate value or set by the server).
_NOT_COPIED = frozenset({"Name", "Link", "Activation Date", "Deactivation Date", "Operation Policy Name",
                         "Original Creation Date", "Random Number Generator", "Fresh"})


def _copied(old: ManagedObject) -> list[Attr]:
    out: list[Attr] = []
    for name in old.attributes:
        spec = spec_for(name)
        if name in _NOT_COPIED or (spec is not None and "client" not in spec.initially_set_by):
            continue
        if spec is None and not name.startswith("x-"):
            continue
        out += [Attr(name, v.copy()) for v in old.live(name)]
    out += [Attr("Link", v.copy()) for v in old.live("Link")
            if v.get(Tag.LINK_TYPE) not in (LinkType.REPLACEMENT_OBJECT_LINK, LinkType.REPLACED_OBJECT_LINK)]
    return out


def _recertify_dates(ctx: RequestContext, old: ManagedObject, old_cert: Any, payload: Item | None,
                     req: _Request) -> tuple[list[Attr], int, int]:
    """The new certificate's Activation/Deactivation Date attributes and its validity period."""
    offset = payload.get(Tag.OFFSET) if payload is not None else None
    at1, dt1 = old.value("Activation Date"), old.value("Deactivation Date")
    if isinstance(offset, int):
        at2: Any = ctx.now + offset
        dt2: Any = dt1 + (at2 - at1) if isinstance(dt1, int) and isinstance(at1, int) else None
    else:
        at2, dt2 = at1, dt1
    at2 = req.value("Activation Date") if req.value("Activation Date") is not None else at2
    dt2 = req.value("Deactivation Date") if req.value("Deactivation Date") is not None else dt2
    attrs = [Attr("Activation Date", Item.datetime(Tag.ACTIVATION_DATE, at2))] if isinstance(at2, int) else []
    if isinstance(dt2, int):
        attrs.append(Attr("Deactivation Date", Item.datetime(Tag.DEACTIVATION_DATE, dt2)))
    lifetime = int((old_cert.not_valid_after_utc - old_cert.not_valid_before_utc).total_seconds())
    start = at2 if isinstance(at2, int) else ctx.now
    return attrs, start, dt2 if isinstance(dt2, int) else start + lifetime


def _ca_flag(cert: Any) -> bool:
    from cryptography import x509

    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


@operation(Operation.RE_CERTIFY)
def re_certify(ctx: RequestContext, payload: Item | None) -> Item:
    """Renew a certificate for the same key; link old and new; move the names."""
    req = _Request(ctx, payload)
    old = load_as(ctx, uid_from(ctx, payload), Operation.RE_CERTIFY, Operation.MODIFY_ATTRIBUTE)
    old_cert = _cert_of(old)
    request_uid = payload.get(Tag.CERTIFICATE_REQUEST_UNIQUE_IDENTIFIER) if payload is not None else None
    if request_uid is not None:  # 2.x: a stored Certificate Request (the schema: a Text String)
        req.use_stored(load_as(ctx, request_uid, Operation.RE_CERTIFY, Operation.GET))
    pub_uid = _links(old, [], LinkType.PUBLIC_KEY_LINK)
    pub_obj = ctx.store.get(pub_uid) if pub_uid is not None else None
    public_key = old_cert.public_key()
    if req.csr is not None:
        if req.csr.public_key().public_bytes(*_SPKI) != public_key.public_bytes(*_SPKI):
            raise InvalidCSR("Re-certify renews a certificate for the same key; the request is for another key")
    subject = req.subject() or old_cert.subject
    self_signed = old_cert.issuer == old_cert.subject
    default_issuer = None if self_signed else _links(old, [], LinkType.CERTIFICATE_LINK)
    if not self_signed and default_issuer is None and _links(None, req.attrs, LinkType.CERTIFICATE_LINK) is None:
        raise InvalidField("the certificate's issuer is not linked; give a Certificate Link to it")
    issuer_name, issuer_key, issuer_uid = _issuer(ctx, req, pub_obj, subject, public_key, default_issuer)
    dates, not_before, not_after = _recertify_dates(ctx, old, old_cert, payload, req)
    extensions = _requested_extensions(req.csr) if req.csr is not None else list(old_cert.extensions)
    der = _issue(ctx, req, subject=subject, public_key=public_key, issuer=(issuer_name, issuer_key),
                 not_before=not_before, not_after=not_after, extensions=extensions, ca=_ca_flag(old_cert))
    names = [Attr("Name", v.copy()) for v in old.live("Name")]
    check_unique_names(ctx, req.object_attrs())
    attrs = _merge(_copied(old) + dates + names, req.object_attrs())
    if issuer_uid is not None:
        attrs = [a for a in attrs if not (a.name == "Link" and a.value is not None
                                          and a.value.get(Tag.LINK_TYPE) == LinkType.CERTIFICATE_LINK)]
        attrs.append(Attr("Link", link(LinkType.CERTIFICATE_LINK, issuer_uid)))
    if old.value("Operation Policy Name") is not None:
        attrs.append(Attr("Operation Policy Name", old.first("Operation Policy Name").copy()))  # type: ignore[union-attr]
    old.attributes.pop("Name", None)
    new = _certificate_object(ctx, der, attrs, [("Link", link(LinkType.REPLACED_OBJECT_LINK, old.uid))])
    ctx.store.add(new)
    old.add_instance("Link", link(LinkType.REPLACEMENT_OBJECT_LINK, new.uid))
    touch(ctx, old)
    ctx.store.save(old)
    if pub_obj is not None and allowed(ctx, pub_obj, Operation.MODIFY_ATTRIBUTE):
        _point_certificate_link(ctx, pub_obj, old.uid, new.uid)
    ctx.id_placeholder = new.uid
    _log.info("re-certified {old} as {uid}", old=old.uid, uid=new.uid)
    return Item.struct(Tag.RESPONSE_PAYLOAD, [Item.text(Tag.UNIQUE_IDENTIFIER, new.uid)])


def _merge(base: list[Attr], override: list[Attr]) -> list[Attr]:
    """C{base} with single-valued attributes C{override} gives replaced, multi-valued added to."""
    single = {a.name for a in override if (spec_for(a.name) is not None and not spec_for(a.name).multiple)}  # type: ignore[union-attr]
    return [a for a in base if a.name not in single] + override


# ---------------------------------------------------------------------------------------------
# Validate

def _given_certificates(payload: Item | None) -> list[Any]:
    out = []
    for item in payload.findall(Tag.CERTIFICATE) if payload is not None else []:
        if item.get(Tag.CERTIFICATE_TYPE) != CertificateType.X_509:
            raise FeatureNotSupported("only X.509 certificates can be validated")
        value = item.get(Tag.CERTIFICATE_VALUE)
        if not isinstance(value, bytes):
            raise InvalidField("a Certificate needs a Certificate Value")
        try:
            out.append(cx.load_certificate(value))
        except cx.CertificateError as e:
            raise InvalidField(str(e)) from None
    return out


def _managed_by_subject(ctx: RequestContext, name: Any) -> list[ManagedObject]:
    """Managed X.509 certificates whose subject is C{name} that the caller may Get."""
    value = Item.struct(Tag.X_509_CERTIFICATE_SUBJECT, [Item.bytes(Tag.SUBJECT_DISTINGUISHED_NAME,
                                                                   name.public_bytes())])
    query = LocateQuery(object_types=(ObjectType.CERTIFICATE,),
                        attributes=[AttributeFilter("X.509 Certificate Subject", value)], include_destroyed=False)
    out = []
    for cand in ctx.store.locate(query):
        obj = ctx.store.get(cand.uid)
        if obj is not None and obj.material is not None and allowed(ctx, obj, Operation.GET):
            out.append(obj)
    return out


def _server_view(ctx: RequestContext, chain: list[Any]) -> tuple[list[Any], list[Any], list[Any]]:
    """Managed issuers reachable from C{chain}, and the trusted and distrusted managed certificates."""
    issuers: list[Any] = []
    trusted: list[Any] = []
    distrusted: list[Any] = []
    seen: set[bytes] = set()
    todo = [c.issuer for c in chain] + [c.subject for c in chain]
    while todo and len(seen) < MAX_DEPTH:
        name = todo.pop()
        key = name.public_bytes()
        if key in seen:
            continue
        seen.add(key)
        for obj in _managed_by_subject(ctx, name):
            try:
                cert = _cert_of(obj)
            except (InvalidField, FeatureNotSupported, InvalidObjectType, ObjectDestroyed):
                continue
            issuers.append(cert)
            state = obj.state
            if state in (State.COMPROMISED, State.DESTROYED_COMPROMISED):
                distrusted.append(cert)
            elif state == State.ACTIVE:
                trusted.append(cert)
            todo.append(cert.issuer)
    return issuers, trusted, distrusted


@operation(Operation.VALIDATE)
def validate(ctx: RequestContext, payload: Item | None) -> Item:
    """Answer Valid / Invalid / Unknown for a certificate chain at the Validity Date."""
    chain = _given_certificates(payload)
    for uid_item in payload.findall(Tag.UNIQUE_IDENTIFIER) if payload is not None else []:
        chain.append(_cert_of(load(ctx, str(uid_item.value), Operation.GET)))
    if not chain:
        raise MissingData("Validate needs at least one Certificate or Unique Identifier")
    if len(chain) > MAX_CHAIN:
        raise InvalidField(f"a chain of at most {MAX_CHAIN} certificates can be validated")
    when = payload.get(Tag.VALIDITY_DATE) if payload is not None else None
    if when is not None and not isinstance(when, int):
        raise InvalidField("Validity Date must be a Date-Time")
    issuers, trusted, distrusted = _server_view(ctx, chain)
    result = cx.check_chain(chain, when if when is not None else ctx.now, trusted=trusted,
                            extra_issuers=issuers, distrusted=distrusted)
    _log.info("validated a chain of {count}: {reason}", count=len(chain), reason=result.reason)
    return Item.struct(Tag.RESPONSE_PAYLOAD, [Item.enum(Tag.VALIDITY_INDICATOR, result.indicator)])


__all__ = ["CertificateRequestType", "certify", "re_certify", "validate"]
