# -*- test-case-name: tests.crypto.test_x509 -*-
"""
X.509 certificate issuing and chain checking for Certify, Re-certify and Validate.

Pure functions over the C{cryptography} x509 API; nothing here knows about managed objects or
KMIP messages. Errors are L{CertificateError} subclasses the operations map to Result Reasons.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from kmipd.crypto.rng import random_bytes
from kmipd.spec import CertificateRequestType, DigitalSignatureAlgorithm, ValidityIndicator

__all__ = [
    "NAME_OIDS",
    "CertificateError",
    "ChainResult",
    "InvalidCSR",
    "UnsupportedRequest",
    "check_chain",
    "issue",
    "load_certificate",
    "load_csr",
    "matches",
    "name_from_parts",
    "signature_hash",
]

DSA_ = DigitalSignatureAlgorithm


class CertificateError(ValueError):
    """A certificate operation cannot be done; C{str(e)} explains why."""


class InvalidCSR(CertificateError):
    """The certificate request cannot be parsed or its signature does not verify."""


class UnsupportedRequest(CertificateError):
    """A well-formed request kmipd does not implement (CRMF, PGP)."""


#: Name part (as in the 2.x Certificate Subject/Issuer attribute names) -> OID.
NAME_OIDS: dict[str, x509.ObjectIdentifier] = {
    "CN": NameOID.COMMON_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "Email": NameOID.EMAIL_ADDRESS,
    "C": NameOID.COUNTRY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "L": NameOID.LOCALITY_NAME,
    "UID": NameOID.USER_ID,
    "Serial Number": NameOID.SERIAL_NUMBER,
    "Title": NameOID.TITLE,
    "DC": NameOID.DOMAIN_COMPONENT,
    "DN Qualifier": NameOID.DN_QUALIFIER,
}

_HASHES: dict[int, type[hashes.HashAlgorithm]] = {
    DSA_.SHA_1_WITH_RSA_ENCRYPTION: hashes.SHA1,
    DSA_.SHA_224_WITH_RSA_ENCRYPTION: hashes.SHA224,
    DSA_.SHA_256_WITH_RSA_ENCRYPTION: hashes.SHA256,
    DSA_.SHA_384_WITH_RSA_ENCRYPTION: hashes.SHA384,
    DSA_.SHA_512_WITH_RSA_ENCRYPTION: hashes.SHA512,
    DSA_.SHA3_256_WITH_RSA_ENCRYPTION: hashes.SHA3_256,
    DSA_.SHA3_384_WITH_RSA_ENCRYPTION: hashes.SHA3_384,
    DSA_.SHA3_512_WITH_RSA_ENCRYPTION: hashes.SHA3_512,
    DSA_.DSA_WITH_SHA_1: hashes.SHA1,
    DSA_.DSA_WITH_SHA224: hashes.SHA224,
    DSA_.DSA_WITH_SHA256: hashes.SHA256,
    DSA_.ECDSA_WITH_SHA_1: hashes.SHA1,
    DSA_.ECDSA_WITH_SHA224: hashes.SHA224,
    DSA_.ECDSA_WITH_SHA256: hashes.SHA256,
    DSA_.ECDSA_WITH_SHA384: hashes.SHA384,
    DSA_.ECDSA_WITH_SHA512: hashes.SHA512,
}
_RSA_DSAS = frozenset({DSA_.SHA_1_WITH_RSA_ENCRYPTION, DSA_.SHA_224_WITH_RSA_ENCRYPTION,
                       DSA_.SHA_256_WITH_RSA_ENCRYPTION, DSA_.SHA_384_WITH_RSA_ENCRYPTION,
                       DSA_.SHA_512_WITH_RSA_ENCRYPTION, DSA_.SHA3_256_WITH_RSA_ENCRYPTION,
                       DSA_.SHA3_384_WITH_RSA_ENCRYPTION, DSA_.SHA3_512_WITH_RSA_ENCRYPTION})
_EC_DSAS = frozenset({DSA_.ECDSA_WITH_SHA_1, DSA_.ECDSA_WITH_SHA224, DSA_.ECDSA_WITH_SHA256,
                      DSA_.ECDSA_WITH_SHA384, DSA_.ECDSA_WITH_SHA512})
_DSA_DSAS = frozenset({DSA_.DSA_WITH_SHA_1, DSA_.DSA_WITH_SHA224, DSA_.DSA_WITH_SHA256})


def load_csr(request_type: int, value: bytes) -> x509.CertificateSigningRequest:
    """A PKCS#10 request (DER, or PEM for request type PEM) whose self-signature verifies.

    @raise UnsupportedRequest: CRMF or PGP requests.
    @raise InvalidCSR: unparsable, or the signature does not verify.
    """
    if request_type not in (CertificateRequestType.PKCS_10, CertificateRequestType.PEM):
        raise UnsupportedRequest("only PKCS#10 certificate requests (DER or PEM) are supported")
    try:
        if request_type == CertificateRequestType.PEM:
            csr = x509.load_pem_x509_csr(value)
        else:
            csr = x509.load_der_x509_csr(value)
        valid = csr.is_signature_valid
    except (ValueError, UnsupportedAlgorithm) as e:
        raise InvalidCSR(f"the certificate request cannot be parsed: {e}") from None
    if not valid:
        raise InvalidCSR("the certificate request's signature does not verify")
    return csr


def load_certificate(der: bytes) -> x509.Certificate:
    """@raise CertificateError: not a DER X.509 certificate."""
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError as e:
        raise CertificateError(f"malformed X.509 certificate: {e}") from None


def name_from_parts(parts: Iterable[tuple[str, str]]) -> x509.Name:
    """An X.509 Name from (part, value) pairs in the order given (part a key of L{NAME_OIDS})."""
    try:
        return x509.Name([x509.NameAttribute(NAME_OIDS[p], v) for p, v in parts])
    except ValueError as e:
        raise CertificateError(f"invalid name: {e}") from None


def name_from_text(text: str) -> x509.Name:
    """An X.509 Name from an RFC 4514 (2253) string (the 1.x Certificate Subject form)."""
    try:
        return x509.Name.from_rfc4514_string(text)
    except ValueError as e:
        raise CertificateError(f"invalid distinguished name {text!r}: {e}") from None


def signature_hash(issuer_key: object, dsa_value: int | None) -> hashes.HashAlgorithm | None:
    """The hash to sign with: the Digital Signature Algorithm's, else SHA-256 (Edwards keys: none).

    @raise CertificateError: the algorithm does not fit the issuer's key type.
    """
    if isinstance(issuer_key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        if dsa_value is not None:  # KMIP has no Digital Signature Algorithm value for EdDSA
            raise CertificateError("an Edwards issuer key signs with its own algorithm")
        return None
    if dsa_value is None:
        return hashes.SHA256()
    family = (_RSA_DSAS if isinstance(issuer_key, rsa.RSAPrivateKey) else _EC_DSAS
              if isinstance(issuer_key, ec.EllipticCurvePrivateKey) else _DSA_DSAS
              if isinstance(issuer_key, dsa.DSAPrivateKey) else frozenset())
    if dsa_value not in family:
        raise CertificateError("the Digital Signature Algorithm does not fit the issuer's key")
    return _HASHES[dsa_value]()


def matches(private_key: object, public_key: object) -> bool:
    """True if C{private_key} is the private half of C{public_key}."""
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        return private_key.public_key().public_bytes(*fmt) == public_key.public_bytes(*fmt)  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


def _utc(seconds: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)


def issue(subject: x509.Name, public_key: object, issuer: x509.Name, issuer_key: object, *,
          not_before: int, not_after: int, dsa_value: int | None = None,
          extensions: Sequence[x509.Extension[x509.ExtensionType]] = (), ca: bool = False) -> bytes:
    """A DER X.509 v3 certificate for C{public_key}, signed by C{issuer_key}.

    Serial: 159 random bits from the DRBG (RFC 5280: positive, at most 20 octets). Extensions:
    the CSR's requested ones, Basic Constraints (C{ca}), Subject/Authority Key Identifiers.
    @raise CertificateError: unusable keys or parameters.
    """
    if not_after <= not_before:
        raise CertificateError("the certificate would expire before it becomes valid")
    serial = int.from_bytes(random_bytes(20), "big") >> 1 or 1
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(public_key).serial_number(serial)  # type: ignore[arg-type]
               .not_valid_before(_utc(not_before)).not_valid_after(_utc(not_after)))
    seen = set()
    for ext in extensions:
        if ext.oid in (x509.BasicConstraints.oid, x509.SubjectKeyIdentifier.oid,
                       x509.AuthorityKeyIdentifier.oid):
            continue
        builder = builder.add_extension(ext.value, ext.critical)
        seen.add(ext.oid)
    builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    try:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),  # type: ignore[arg-type]
                                        critical=False)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),  # type: ignore[attr-defined]
            critical=False)
        cert = builder.sign(issuer_key, signature_hash(issuer_key, dsa_value))  # type: ignore[arg-type]
    except (TypeError, ValueError, UnsupportedAlgorithm) as e:
        raise CertificateError(f"the certificate cannot be signed: {e}") from None
    return cert.public_bytes(serialization.Encoding.DER)


# ---------------------------------------------------------------------------------------------
# Chain validation

@dataclass
class ChainResult:
    """The verdict on a chain: a Validity Indicator value and why."""

    indicator: int
    reason: str


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _order(certs: list[x509.Certificate]) -> list[x509.Certificate] | None:
    """C{certs} as one path leaf -> top, or None if they do not form exactly one path."""
    remaining = list(dict.fromkeys(certs))  # drop duplicates, keep order
    issuers = {id(c) for c in remaining for d in remaining if d is not c and _issued_by(d, c)}
    leaves = [c for c in remaining if id(c) not in issuers]
    if len(leaves) != 1:
        return None
    path = [leaves[0]]
    remaining.remove(leaves[0])
    while remaining:
        nxt = [c for c in remaining if _issued_by(path[-1], c)]
        if len(nxt) != 1:
            return None
        path.append(nxt[0])
        remaining.remove(nxt[0])
    return path


def _self_signed(cert: x509.Certificate) -> bool:
    return _issued_by(cert, cert)


def check_chain(certs: list[x509.Certificate], at: int, *, trusted: Sequence[x509.Certificate],
                extra_issuers: Sequence[x509.Certificate] = (), distrusted: Sequence[x509.Certificate] = ()
                ) -> ChainResult:
    """Validate a chain at time C{at} (seconds).

    The certificates must form one path (each signed by the next); the path is extended with
    C{extra_issuers} (certificates the server manages) until it ends at a self-signed
    certificate. Every certificate must be within its validity period at C{at} and none may be
    in C{distrusted} (revoked/compromised on the server): else Invalid. A complete path whose
    top is in C{trusted} (a managed, usable certificate) is Valid; a path the server cannot
    complete or anchor is Unknown.
    """
    path = _order(certs)
    if path is None:
        return ChainResult(ValidityIndicator.INVALID, "the certificates do not form one chain")
    while not _self_signed(path[-1]):
        up = [c for c in extra_issuers if _issued_by(path[-1], c) and c not in path]
        if not up:
            break
        path.append(up[0])
    when = _utc(at)
    for cert in path:
        if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
            return ChainResult(ValidityIndicator.INVALID,
                               f"{cert.subject.rfc4514_string()!r} is not valid at the Validity Date")
        if cert in distrusted:
            return ChainResult(ValidityIndicator.INVALID,
                               f"{cert.subject.rfc4514_string()!r} is revoked or compromised on the server")
    top = path[-1]
    if not _self_signed(top):
        return ChainResult(ValidityIndicator.UNKNOWN, "the chain does not end at a root the server knows")
    if top in trusted:
        return ChainResult(ValidityIndicator.VALID, "the chain ends at a root the server manages")
    return ChainResult(ValidityIndicator.UNKNOWN, "the chain's root is not a certificate the server manages")
