"""
Tests for L{kmipd.devcerts}.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import stat

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from OpenSSL import crypto
from twisted.trial.unittest import SynchronousTestCase

from kmipd.config import load_config
from kmipd.devcerts import DevPKI, DevPKIError, config_with_dev_pki, ensure_dev_pki


def _cert(path: str) -> x509.Certificate:
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _verify_chain(ca_path: str, leaf_path: str) -> None:
    """Verify C{leaf_path} against C{ca_path} with OpenSSL (raises on failure)."""
    store = crypto.X509Store()
    store.add_cert(crypto.X509.from_cryptography(_cert(ca_path)))
    leaf = crypto.X509.from_cryptography(_cert(leaf_path))
    crypto.X509StoreContext(store, leaf).verify_certificate()


def _eku(cert: x509.Certificate) -> list:
    return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


class EnsureDevPKITests(SynchronousTestCase):
    """ensure_dev_pki creates and reuses the development PKI."""

    def setUp(self) -> None:
        self.data_dir = self.mktemp()

    def test_creates_files_with_modes(self) -> None:
        """All six files are created under data_dir/pki; keys 0600, directory 0700."""
        pki = ensure_dev_pki(self.data_dir)
        directory = os.path.join(self.data_dir, "pki")
        self.assertEqual(pki, DevPKI.in_directory(directory))
        self.assertEqual([os.path.relpath(p, self.data_dir) for p in (pki.ca_cert, pki.client_cert, pki.client_key)],
                         [os.path.join("pki", "ca.pem"), os.path.join("pki", "client.pem"),
                          os.path.join("pki", "client.key")])  # the names the docs give
        self.assertEqual(sorted(os.listdir(directory)),
                         ["ca.key", "ca.pem", "client.key", "client.pem", "server.key", "server.pem"])
        self.assertEqual(_mode(directory), 0o700)
        for key in (pki.ca_key, pki.server_key, pki.client_key):
            self.assertEqual(_mode(key), 0o600, key)
        for cert in (pki.ca_cert, pki.server_cert, pki.client_cert):
            self.assertTrue(
                _read(cert).startswith(b"-----BEGIN CERTIFICATE-----"), cert
            )
        self.assertEqual(
            sorted(os.listdir(directory)),
            sorted(
                [
                    "ca.pem",
                    "ca.key",
                    "server.pem",
                    "server.key",
                    "client.pem",
                    "client.key",
                ]
            ),
        )

    def test_chain_and_extensions(self) -> None:
        """Server and client certificates chain to the CA with the right EKU and names."""
        pki = ensure_dev_pki(self.data_dir, client_cn="alice")
        _verify_chain(pki.ca_cert, pki.server_cert)
        _verify_chain(pki.ca_cert, pki.client_cert)
        ca = _cert(pki.ca_cert)
        self.assertTrue(
            ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        )
        server = _cert(pki.server_cert)
        self.assertEqual(_eku(server), [ExtendedKeyUsageOID.SERVER_AUTH])
        sans = server.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value
        self.assertEqual(sans.get_values_for_type(x509.DNSName), ["localhost"])
        self.assertEqual(
            sans.get_values_for_type(x509.IPAddress),
            [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")],
        )
        client = _cert(pki.client_cert)
        self.assertEqual(_eku(client), [ExtendedKeyUsageOID.CLIENT_AUTH])
        self.assertEqual(
            client.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value, "alice"
        )
        lifetime = server.not_valid_after_utc - server.not_valid_before_utc
        self.assertTrue(
            datetime.timedelta(days=700) < lifetime < datetime.timedelta(days=760)
        )

    def test_idempotent(self) -> None:
        """A second call reuses every file byte for byte."""
        pki = ensure_dev_pki(self.data_dir)
        paths = [
            pki.ca_cert,
            pki.ca_key,
            pki.server_cert,
            pki.server_key,
            pki.client_cert,
            pki.client_key,
        ]
        before = [_read(p) for p in paths]
        self.assertEqual(ensure_dev_pki(self.data_dir), pki)
        self.assertEqual([_read(p) for p in paths], before)

    def test_missing_cert_reissued_with_same_key(self) -> None:
        """A deleted server certificate is reissued for the existing key."""
        pki = ensure_dev_pki(self.data_dir)
        key_before = _read(pki.server_key)
        os.unlink(pki.server_cert)
        ensure_dev_pki(self.data_dir)
        self.assertEqual(_read(pki.server_key), key_before)
        _verify_chain(pki.ca_cert, pki.server_cert)

    def test_renewal_before_expiry(self) -> None:
        """Certificates within 30 days of expiry are reissued; keys are kept and chains hold."""
        start = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
        pki = ensure_dev_pki(self.data_dir, now=start)
        keys = [_read(pki.ca_key), _read(pki.server_key), _read(pki.client_key)]
        old_client = _read(pki.client_cert)
        later = start + datetime.timedelta(days=710)
        ensure_dev_pki(self.data_dir, now=later)
        self.assertEqual(
            [_read(pki.ca_key), _read(pki.server_key), _read(pki.client_key)], keys
        )
        self.assertNotEqual(_read(pki.client_cert), old_client)
        client = _cert(pki.client_cert)
        self.assertTrue(
            client.not_valid_after_utc > later + datetime.timedelta(days=600)
        )
        client.verify_directly_issued_by(_cert(pki.ca_cert))

    def test_client_cn_change_reissues(self) -> None:
        """Asking for another client CN reissues only the client certificate."""
        pki = ensure_dev_pki(self.data_dir)
        server_before = _read(pki.server_cert)
        ensure_dev_pki(self.data_dir, client_cn="bob")
        cn = (
            _cert(pki.client_cert)
            .subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0]
            .value
        )
        self.assertEqual(cn, "bob")
        self.assertEqual(_read(pki.server_cert), server_before)

    def test_loose_permissions_tightened(self) -> None:
        """An existing world-readable key or directory is reset to 0600 / 0700."""
        pki = ensure_dev_pki(self.data_dir)
        os.chmod(pki.client_key, 0o644)
        os.chmod(pki.directory, 0o755)
        ensure_dev_pki(self.data_dir)
        self.assertEqual(_mode(pki.client_key), 0o600)
        self.assertEqual(_mode(pki.directory), 0o700)

    def test_corrupt_key_is_named_error(self) -> None:
        """A garbage key file gives a DevPKIError naming the file, not a crash."""
        pki = ensure_dev_pki(self.data_dir)
        with open(pki.server_key, "wb") as f:
            f.write(b"not a key")
        error = self.assertRaises(DevPKIError, ensure_dev_pki, self.data_dir)
        self.assertIn(pki.server_key, str(error))
        self.assertTrue(str(error).startswith("[kmipd] data_dir: "))

    def test_bad_ip(self) -> None:
        """A malformed IP address is a named error."""
        error = self.assertRaises(
            DevPKIError, ensure_dev_pki, self.data_dir, ips=("1.2.3",)
        )
        self.assertIn("bad IP address", str(error))

    def test_unwritable_data_dir(self) -> None:
        """A data_dir that cannot be created is a named error."""
        blocker = self.mktemp()
        with open(blocker, "w") as f:
            f.write("file, not a directory")
        error = self.assertRaises(
            DevPKIError, ensure_dev_pki, os.path.join(blocker, "sub")
        )
        self.assertIn("cannot create", str(error))


class ConfigWithDevPKITests(SynchronousTestCase):
    """config_with_dev_pki fills in the TLS paths."""

    def test_fills_paths(self) -> None:
        """Without configured certificates the dev PKI paths are used."""
        data_dir = self.mktemp()
        config = load_config(
            overrides={"data_dir": data_dir, "hostname": "kms.example"}
        )
        result = config_with_dev_pki(config)
        pki = os.path.join(data_dir, "pki")
        self.assertEqual(
            (result.certificate_path, result.key_path, result.ca_path),
            (
                os.path.join(pki, "server.pem"),
                os.path.join(pki, "server.key"),
                os.path.join(pki, "ca.pem"),
            ),
        )
        sans = (
            _cert(result.certificate_path)
            .extensions.get_extension_for_class(x509.SubjectAlternativeName)
            .value
        )
        self.assertEqual(
            sans.get_values_for_type(x509.DNSName), ["localhost", "kms.example"]
        )

    def test_configured_untouched(self) -> None:
        """A configuration with certificates is returned unchanged and nothing is created."""
        data_dir = self.mktemp()
        config = load_config(
            overrides={
                "data_dir": data_dir,
                "certificate_path": "/c",
                "key_path": "/k",
                "ca_path": "/ca",
            }
        )
        self.assertIs(config_with_dev_pki(config), config)
        self.assertFalse(os.path.exists(data_dir))
