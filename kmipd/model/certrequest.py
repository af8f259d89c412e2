# -*- test-case-name: tests.operations.test_certificate_request -*-
"""The KMIP 2.x Certificate Request managed object (spec 2.0/2.1 2.2).

A Certificate Request structure holds a Certificate Request Type and a Certificate Request Value.
kmipd stores PKCS#10 requests, DER (type PKCS#10) or PEM (type PEM), whose self-signature
verifies; CRMF and PGP requests are well-formed requests kmipd does not implement. The object
type does not exist in KMIP 1.x (L{in_version}).
"""

from __future__ import annotations

from typing import Any

from ..crypto import x509 as cx
from ..errors import FeatureNotSupported, InvalidField, KmipError
from ..spec import CertificateRequestType, ObjectType, Tag, enum_value_in_version
from ..ttlv import Item, ItemType
from . import keyformat

__all__ = ["in_version", "load_request", "registered_facts", "request_material"]


def in_version(object_type: int, version: tuple[int, int]) -> bool:
    """False for an object of a type the client's KMIP 1.x version does not define (a 2.x
    Certificate Request): for such a client the object does not exist. 2.x clients see every
    stored object (1.x Templates included)."""
    return version >= (2, 0) or enum_value_in_version(ObjectType, object_type, version)


def request_material(request_type: int, value: bytes) -> Item:
    """A Certificate Request object structure."""
    return Item.struct(Tag.CERTIFICATE_REQUEST, [Item.enum(Tag.CERTIFICATE_REQUEST_TYPE, request_type),
                                                 Item.bytes(Tag.CERTIFICATE_REQUEST_VALUE, value)])


def load_request(body: Item, invalid: type[KmipError] = InvalidField) -> Any:
    """The verified PKCS#10 request a Certificate Request structure holds.

    @param invalid: the error for a malformed request or one whose signature fails (Register's
        table has Invalid Field; Certify's and Re-certify's have Invalid CSR).
    @raise FeatureNotSupported: a request type kmipd does not implement (CRMF, PGP, extensions).
    """
    if body.type != ItemType.STRUCTURE:
        raise InvalidField("a Certificate Request must be a structure")
    kind, value = body.get(Tag.CERTIFICATE_REQUEST_TYPE), body.get(Tag.CERTIFICATE_REQUEST_VALUE)
    if not isinstance(kind, int):
        raise InvalidField("a Certificate Request needs a Certificate Request Type")
    if not isinstance(value, bytes):
        raise InvalidField("a Certificate Request needs a Certificate Request Value (a Byte String)")
    try:
        return cx.load_csr(kind, value)
    except cx.UnsupportedRequest as e:
        raise FeatureNotSupported(str(e)) from None
    except cx.InvalidCSR as e:
        raise invalid(str(e)) from None


def registered_facts(body: Item, version: tuple[int, int]) -> tuple[int | None, int | None]:
    """Check a registered Certificate Request; return its key's (Cryptographic Algorithm, Length).

    @raise InvalidField: an undefined request type, a malformed request or a failed signature.
    @raise FeatureNotSupported: a request type kmipd does not implement.
    """
    kind = body.get(Tag.CERTIFICATE_REQUEST_TYPE) if body.type == ItemType.STRUCTURE else None
    if isinstance(kind, int) and not enum_value_in_version(CertificateRequestType, kind, version):
        raise InvalidField(f"Certificate Request Type {kind} is not defined in this protocol version")
    csr = load_request(body)
    try:
        return keyformat.key_facts(csr.public_key())
    except (InvalidField, ValueError):
        return None, None  # a key type kmipd cannot describe: no algorithm attributes
