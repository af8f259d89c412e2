# -*- test-case-name: tests.test_devcerts -*-
"""
Zero-configuration development PKI: a CA, a server and a client certificate
under C{<data_dir>/pki}, created on first use and reused afterwards.

Private keys are created with mode 0600 (never replaced); certificates are
reissued when missing, unparsable, not matching their key or CA, expiring
within 30 days, or naming other hosts / another client CN. Blocking: call at
startup, before the reactor runs.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kmipd.config import Config, ConfigError
from kmipd.log import Logger

__all__ = ["DevPKI", "DevPKIError", "config_with_dev_pki", "dev_pki_for", "ensure_dev_pki"]

_log = Logger()

VALIDITY = datetime.timedelta(days=730)
RENEW_BEFORE = datetime.timedelta(days=30)
_BACKDATE = datetime.timedelta(minutes=5)
_CA_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "kmipd (development only)"),
        x509.NameAttribute(NameOID.COMMON_NAME, "kmipd development CA"),
    ]
)


class DevPKIError(ConfigError):
    """The development PKI directory cannot be created or read."""


@dataclass(frozen=True)
class DevPKI:
    """Paths of the development PKI files (PEM)."""

    directory: str
    ca_cert: str
    ca_key: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str

    @classmethod
    def in_directory(cls, directory: str) -> DevPKI:
        """The file names kmipd uses in C{directory} (C{ca.pem}, C{ca.key}, C{server.pem}, ...)."""
        def path(name: str) -> str:
            return os.path.join(directory, name)

        return cls(directory=directory, ca_cert=path("ca.pem"), ca_key=path("ca.key"),
                   server_cert=path("server.pem"), server_key=path("server.key"),
                   client_cert=path("client.pem"), client_key=path("client.key"))


def _fail(message: str) -> DevPKIError:
    return DevPKIError(f"[kmipd] data_dir: development PKI: {message}", key="data_dir")


def _ensure_private_dir(path: str) -> None:
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:
            os.chmod(path, 0o700)
            _log.warn("Tightened permissions of {path} to 0700", path=path)
    except OSError as e:
        raise _fail(f"cannot create {path!r}: {e.strerror or e}") from None


def _write_new_file(path: str, data: bytes, mode: int, replace_existing: bool) -> bool:
    """
    Write C{data} to C{path} atomically via a private temporary file.

    Without C{replace_existing} an existing file wins (returns C{False}).
    """
    tmp = f"{path}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace_existing:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    except OSError as e:
        raise _fail(f"cannot write {path!r}: {e.strerror or e}") from None
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        except OSError:
            pass


def _load_or_create_key(path: str) -> ec.EllipticCurvePrivateKey:
    """Load the EC key at C{path}, creating it (mode 0600) when missing."""
    if not os.path.exists(path):
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        if _write_new_file(path, pem, 0o600, replace_existing=False):
            _log.info("Created development private key {path}", path=path)
            return key
    try:
        st = os.stat(path)
        if stat.S_IMODE(st.st_mode) & 0o077:
            os.chmod(path, 0o600)
            _log.warn("Tightened permissions of {path} to 0600", path=path)
        with open(path, "rb") as f:
            loaded = serialization.load_pem_private_key(f.read(), password=None)
    except OSError as e:
        raise _fail(f"cannot read {path!r}: {e.strerror or e}") from None
    except (ValueError, TypeError) as e:
        raise _fail(
            f"{path!r} is not an unencrypted PEM private key ({e}); remove it"
        ) from None
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise _fail(f"{path!r} is not an EC private key; remove it")
    return loaded


def _load_cert(path: str) -> x509.Certificate | None:
    try:
        with open(path, "rb") as f:
            return x509.load_pem_x509_certificate(f.read())
    except FileNotFoundError:
        return None
    except OSError as e:
        raise _fail(f"cannot read {path!r}: {e.strerror or e}") from None
    except ValueError:
        return None


def _same_key(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return cert.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt)


def _fresh(cert: x509.Certificate, now: datetime.datetime) -> bool:
    return (
        cert.not_valid_before_utc <= now
        and cert.not_valid_after_utc - RENEW_BEFORE > now
    )


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    now: datetime.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + VALIDITY)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False
        )
    )


def _key_usage(*, key_agreement: bool = False, key_cert_sign: bool = False,
               crl_sign: bool = False) -> x509.KeyUsage:
    """Key Usage with digitalSignature plus the given bits (EC keys: no key/data encipherment)."""
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=key_agreement,
                         key_cert_sign=key_cert_sign, crl_sign=crl_sign, encipher_only=False,
                         decipher_only=False)


def _make_ca(
    key: ec.EllipticCurvePrivateKey, now: datetime.datetime
) -> x509.Certificate:
    return (
        _builder(_CA_NAME, _CA_NAME, key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .sign(key, hashes.SHA256())
    )


def _make_leaf(
    subject_cn: str,
    key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    usage: x509.ObjectIdentifier,
    sans: Sequence[x509.GeneralName],
    now: datetime.datetime,
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)])
    builder = (
        _builder(subject, ca_cert.subject, key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(key_agreement=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(list(sans)), critical=False
        )
    return builder.sign(ca_key, hashes.SHA256())


def _sans(cert: x509.Certificate) -> set[x509.GeneralName]:
    try:
        return set(
            cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        )
    except x509.ExtensionNotFound:
        return set()


def _cn(cert: x509.Certificate) -> str | None:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if len(names) == 1 else None


def _ensure_cert(
    path: str,
    acceptable: Callable[[x509.Certificate], bool],
    make: Callable[[], x509.Certificate],
    what: str,
) -> x509.Certificate:
    existing = _load_cert(path)
    if existing is not None and acceptable(existing):
        return existing
    cert = make()
    _write_new_file(
        path,
        cert.public_bytes(serialization.Encoding.PEM),
        0o644,
        replace_existing=True,
    )
    _log.info(
        "{action} development {what} certificate {path}",
        action="Reissued" if existing is not None else "Created",
        what=what,
        path=path,
    )
    return cert


def ensure_dev_pki(
    data_dir: str,
    hostnames: Sequence[str] = ("localhost",),
    ips: Sequence[str] = ("127.0.0.1", "::1"),
    client_cn: str = "kmipd-client",
    *,
    now: datetime.datetime | None = None,
) -> DevPKI:
    """
    Create (when missing) and return the development PKI under C{data_dir/pki}.

    The CA and the server/client keys are EC P-256; the server certificate has
    SANs for C{hostnames} and C{ips} and the serverAuth EKU; the client
    certificate has CN=C{client_cn} and the clientAuth EKU. Existing valid files
    are reused. Blocking.

    @raise DevPKIError: the directory or a file cannot be created or read.
    """
    if now is None:
        now = datetime.datetime.now(datetime.timezone.utc)
    try:
        ip_names: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    except ValueError as e:
        raise _fail(f"bad IP address for the server certificate: {e}") from None
    if not hostnames and not ip_names:
        raise _fail("the server certificate needs at least one hostname or IP address")
    sans: list[x509.GeneralName] = [x509.DNSName(h) for h in hostnames]
    sans.extend(ip_names)
    server_cn = hostnames[0] if hostnames else str(ips[0])

    directory = os.path.join(data_dir, "pki")
    _ensure_private_dir(data_dir)
    _ensure_private_dir(directory)
    pki = DevPKI.in_directory(directory)

    ca_key = _load_or_create_key(pki.ca_key)
    ca_cert = _ensure_cert(
        pki.ca_cert,
        lambda c: _same_key(c, ca_key) and _fresh(c, now) and c.subject == _CA_NAME,
        lambda: _make_ca(ca_key, now),
        "CA",
    )

    server_key = _load_or_create_key(pki.server_key)
    _ensure_cert(
        pki.server_cert,
        lambda c: (
            _same_key(c, server_key)
            and _fresh(c, now)
            and _issued_by(c, ca_cert)
            and _sans(c) == set(sans)
        ),
        lambda: _make_leaf(
            server_cn,
            server_key,
            ca_cert,
            ca_key,
            ExtendedKeyUsageOID.SERVER_AUTH,
            sans,
            now,
        ),
        "server",
    )

    client_key = _load_or_create_key(pki.client_key)
    _ensure_cert(
        pki.client_cert,
        lambda c: (
            _same_key(c, client_key)
            and _fresh(c, now)
            and _issued_by(c, ca_cert)
            and _cn(c) == client_cn
        ),
        lambda: _make_leaf(
            client_cn,
            client_key,
            ca_cert,
            ca_key,
            ExtendedKeyUsageOID.CLIENT_AUTH,
            (),
            now,
        ),
        "client",
    )
    return pki


def dev_pki_for(config: Config) -> DevPKI:
    """Create (when missing) the development PKI for C{config}'s host under C{data_dir}.

    The server certificate names localhost, 127.0.0.1, ::1 and the configured C{hostname}.
    """
    hostnames = ["localhost"]
    ips = ["127.0.0.1", "::1"]
    host = config.hostname.strip("[]")
    if host not in ("", "0.0.0.0", "::"):
        try:
            if str(ipaddress.ip_address(host)) not in ips:
                ips.append(str(ipaddress.ip_address(host)))
        except ValueError:
            if host.lower() not in hostnames:
                hostnames.append(host.lower())
    pki = ensure_dev_pki(config.data_dir, hostnames=hostnames, ips=ips)
    _log.warn(
        "No certificate_path/key_path/ca_path configured: using the development "
        "PKI in {directory} (not for production)",
        directory=pki.directory,
    )
    return pki


def config_with_dev_pki(config: Config) -> Config:
    """
    Return C{config} using the development PKI when it configures no
    certificates (creating the PKI under C{data_dir}); otherwise C{config}.
    """
    if not config.uses_dev_pki:
        return config
    pki = dev_pki_for(config)
    return replace(
        config,
        certificate_path=pki.server_cert,
        key_path=pki.server_key,
        ca_path=pki.ca_cert,
    )
