# -*- test-case-name: tests.test_admin_pki -*-
"""C{kmipd-admin pki init} and C{pki issue-client}: a private CA for kmipd and its clients.

C{pki init} creates (or, with C{--force}, replaces) the CA and the server certificate in the
PKI directory (by default C{<data_dir>/pki}, where a server without C{certificate_path} looks).
C{pki issue-client NAME} signs a client certificate with CN=NAME and the clientAuth EKU (the
identity kmipd sees, and the owner of what that client creates); C{--group} values are written
as OU attributes, which the server takes as the client's groups (for group policies) when
C{certificate_groups = True} and no SLUGS is configured. Keys are EC P-256, written 0600.
Blocking.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .config import Config
from .devcerts import DevPKI, ensure_dev_pki

__all__ = ["IssuedClient", "PKIError", "init_pki", "issue_client", "pki_directory"]


class PKIError(Exception):
    """The CA is missing or unreadable, or an output file exists."""


@dataclass(frozen=True)
class IssuedClient:
    cert_path: str
    key_path: str
    serial: int
    not_after: datetime.datetime


def pki_directory(config: Config) -> str:
    """Where kmipd's own CA lives: the directory of C{ca_path}, else C{<data_dir>/pki}."""
    if config.ca_path:
        return os.path.dirname(os.path.abspath(config.ca_path))
    return os.path.join(config.data_dir, "pki")


def init_pki(config: Config, *, hostnames: Sequence[str] = (), ips: Sequence[str] = (),
             force: bool = False) -> DevPKI:
    """Create the CA and server certificate under C{<data_dir>/pki}; C{force} replaces the CA."""
    pki = DevPKI.in_directory(os.path.join(config.data_dir, "pki"))
    if force:
        for path in (pki.ca_cert, pki.ca_key, pki.server_cert, pki.server_key, pki.client_cert, pki.client_key):
            if os.path.exists(path):
                os.unlink(path)
    return ensure_dev_pki(config.data_dir, hostnames=list(hostnames) or ["localhost"],
                          ips=list(ips) or ["127.0.0.1", "::1"])


def _load_ca(config: Config, ca_cert: str | None,
             ca_key: str | None) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    directory = pki_directory(config)
    cert_path = ca_cert or config.ca_path or os.path.join(directory, "ca.pem")
    key_path = ca_key or os.path.join(directory, "ca.key")
    try:
        with open(cert_path, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(key_path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), None)
    except FileNotFoundError as e:
        raise PKIError(f"CA file {e.filename} not found (run `kmipd-admin pki init`, or give --ca-cert/--ca-key)") \
            from None
    except (OSError, ValueError, TypeError) as e:
        raise PKIError(f"cannot read the CA ({cert_path}, {key_path}): {e}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) and not hasattr(key, "sign"):
        raise PKIError(f"{key_path} is not a signing key")
    return cert, key  # type: ignore[return-value]


def issue_client(config: Config, name: str, *, groups: Sequence[str] = (), out_dir: str = ".", days: int = 365,
                 ca_cert: str | None = None, ca_key: str | None = None, force: bool = False) -> IssuedClient:
    """Sign a client certificate for C{name}; write C{NAME.pem} and C{NAME.key} (0600) in C{out_dir}."""
    if not name or "/" in name or name.startswith("."):
        raise PKIError(f"bad client name {name!r}")
    ca, signer = _load_ca(config, ca_cert, ca_key)
    cert_path = os.path.join(out_dir, f"{name}.pem")
    key_path = os.path.join(out_dir, f"{name}.key")
    for path in (cert_path, key_path):
        if os.path.exists(path) and not force:
            raise PKIError(f"{path} exists (use --force to replace it)")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, name)]
    attributes += [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, g) for g in groups]
    serial = x509.random_serial_number()
    not_after = now + datetime.timedelta(days=days)
    cert = (x509.CertificateBuilder().subject_name(x509.Name(attributes)).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(serial)
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=True, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
            .sign(signer, hashes.SHA256()))
    os.makedirs(out_dir, exist_ok=True)
    _write(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()), 0o600)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return IssuedClient(cert_path, key_path, serial, not_after)


def _write(path: str, data: bytes, mode: int) -> None:
    if os.path.exists(path):
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
