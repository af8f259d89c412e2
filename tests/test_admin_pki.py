"""C{kmipd-admin pki}: certificates it issues are accepted by kmipd, and refused once the CA is replaced."""

from __future__ import annotations

import io
import os
import stat
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from twisted.internet import defer
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from kmipd.admin import main
from kmipd.config import load_config
from kmipd.service import KMIPService
from kmipd.spec import CryptographicAlgorithm, ObjectType, Operation, Tag
from kmipd.testing import attribute, batch_item, payload, request, results
from kmipd.ttlv import Item, decode, encode

from .test_interop_pykmip import refused, tls_exchange


def admin(*argv: str, env_data_dir: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = os.environ.get("KMIPD_DATA_DIR")
    if env_data_dir is not None:
        os.environ["KMIPD_DATA_DIR"] = env_data_dir
    try:
        status = main(list(argv), stdout=out, stderr=err)
    finally:
        if env_data_dir is not None:
            if old is None:
                os.environ.pop("KMIPD_DATA_DIR", None)
            else:
                os.environ["KMIPD_DATA_DIR"] = old
    return status, out.getvalue(), err.getvalue()


CREATE = encode(request(batch_item(Operation.CREATE, payload(
    Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
    Item.struct(Tag.TEMPLATE_ATTRIBUTE, [
        attribute("Cryptographic Algorithm", Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CryptographicAlgorithm.AES)),
        attribute("Cryptographic Length", Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 128)),
        attribute("Cryptographic Usage Mask", Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, 12))]))), version=(1, 2)))


def create_with_policy(policy: str) -> bytes:
    return encode(request(batch_item(Operation.CREATE, payload(
        Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
        Item.struct(Tag.TEMPLATE_ATTRIBUTE, [
            attribute("Cryptographic Algorithm", Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CryptographicAlgorithm.AES)),
            attribute("Cryptographic Length", Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 128)),
            attribute("Cryptographic Usage Mask", Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, 12)),
            attribute("Operation Policy Name", Item.text(Tag.OPERATION_POLICY_NAME, policy))]))), version=(1, 2)))


def get(uid: str) -> bytes:
    return encode(request(batch_item(Operation.GET, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid))), version=(1, 2)))


FINANCE_POLICY = {"fin": {"preset": {"SYMMETRIC_KEY": {"GET": "ALLOW_OWNER"}},
                          "groups": {"finance": {"SYMMETRIC_KEY": {"GET": "ALLOW_ALL"}}}}}


class PKITests(TestCase):
    timeout = 120

    def setUp(self) -> None:
        self.data = os.path.abspath(self.mktemp())
        self.clients = os.path.join(self.data, "clients")

    def start(self, **overrides: Any) -> KMIPService:
        config = load_config(None, {"data_dir": self.data, "listen": ("tcp:0:interface=127.0.0.1",), **overrides})
        service = KMIPService(config)
        service.startService()
        self.addCleanup(lambda: service.running and service.stopService())
        return service

    @defer.inlineCallbacks
    def test_issued_client_accepted_then_refused_after_ca_replaced(self):  # type: ignore[no-untyped-def]
        """A certificate from `pki issue-client` works (its CN owns what it creates) until `pki init --force`."""
        status, out, _ = admin("pki", "init", env_data_dir=self.data)
        self.assertEqual(status, 0)
        status, out, err = admin("pki", "issue-client", "alice", "--group", "ops", "--out", self.clients,
                                 env_data_dir=self.data)
        self.assertEqual(status, 0, err)
        cert_path, key_path = os.path.join(self.clients, "alice.pem"), os.path.join(self.clients, "alice.key")
        self.assertEqual(stat.S_IMODE(os.stat(key_path).st_mode), 0o600)
        with open(cert_path, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        self.assertEqual(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value, "alice")
        self.assertEqual([a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)],
                         ["ops"])
        self.assertIn(ExtendedKeyUsageOID.CLIENT_AUTH,
                      cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)

        service = self.start()
        port = service.ports[0].getHost().port
        ca = os.path.join(self.data, "pki", "ca.pem")
        answer = yield deferToThread(tls_exchange, port, ca, cert_path, key_path, CREATE)
        (result,) = results(decode(answer))
        self.assertTrue(result.ok)
        yield service.stopService()
        status, out, _ = admin("objects", "list", "--owner", "alice", env_data_dir=self.data)
        self.assertEqual(status, 0)
        self.assertEqual(len(out.splitlines()), 1)
        self.assertIn("alice", out)

        status, _, _ = admin("pki", "init", "--force", env_data_dir=self.data)
        self.assertEqual(status, 0)
        service = self.start()
        port = service.ports[0].getHost().port
        how = yield deferToThread(refused, port, os.path.join(self.data, "pki", "ca.pem"), cert_path, key_path)
        self.assertTrue(how, "a certificate of the replaced CA was served")

    @defer.inlineCallbacks
    def test_groups_from_certificate(self):  # type: ignore[no-untyped-def]
        """With certificate_groups, `--group` values are the caller's groups for group policies."""
        import json

        admin("pki", "init", env_data_dir=self.data)
        paths = {}
        for name, groups in (("bob", []), ("alice", ["finance"]), ("carol", ["hr"])):
            argv = ["pki", "issue-client", name, "--out", self.clients]
            for g in groups:
                argv += ["--group", g]
            self.assertEqual(admin(*argv, env_data_dir=self.data)[0], 0)
            paths[name] = (os.path.join(self.clients, f"{name}.pem"), os.path.join(self.clients, f"{name}.key"))
        policies = os.path.join(self.data, "policies")
        os.makedirs(policies)
        with open(os.path.join(policies, "fin.json"), "w") as f:
            json.dump(FINANCE_POLICY, f)
        ca = os.path.join(self.data, "pki", "ca.pem")

        def run(service: KMIPService, who: str, message: bytes) -> Any:
            port = service.ports[0].getHost().port
            return deferToThread(tls_exchange, port, ca, *paths[who], message)

        service = self.start(certificate_groups=True, policy_path=policies)
        answer = yield run(service, "bob", create_with_policy("fin"))
        (created,) = results(decode(answer))
        self.assertTrue(created.ok, created.message)
        uid = created.payload.get(Tag.UNIQUE_IDENTIFIER)
        outcomes = {}
        for who in ("alice", "carol"):
            (r,) = results(decode((yield run(service, who, get(uid)))))
            outcomes[who] = r.ok
        self.assertEqual(outcomes, {"alice": True, "carol": False})
        yield service.stopService()

        service = self.start(policy_path=policies)  # groups from certificates off: preset only
        (r,) = results(decode((yield run(service, "alice", get(uid)))))
        self.assertFalse(r.ok)

    def test_issue_without_ca(self) -> None:
        """Without a CA the command fails (1) and says how to make one; files are never overwritten."""
        status, _, err = admin("pki", "issue-client", "bob", "--out", self.clients, env_data_dir=self.data)
        self.assertEqual(status, 1)
        self.assertIn("kmipd-admin pki init", err)
        admin("pki", "init", env_data_dir=self.data)
        self.assertEqual(admin("pki", "issue-client", "bob", "--out", self.clients, env_data_dir=self.data)[0], 0)
        status, _, err = admin("pki", "issue-client", "bob", "--out", self.clients, env_data_dir=self.data)
        self.assertEqual((status, "exists" in err), (1, True))
        self.assertEqual(admin("pki", "issue-client", "bob", "--days", "0", env_data_dir=self.data)[0], 2)

    def test_help(self) -> None:
        """Every pki command has --help (exit 0) and bad usage exits 2."""
        for argv in (("pki", "--help"), ("pki", "init", "--help"), ("pki", "issue-client", "--help")):
            status, out, _ = admin(*argv)
            self.assertEqual(status, 0)
            self.assertIn("usage:", out)
        self.assertEqual(admin("pki")[0], 2)
        self.assertEqual(admin("pki", "issue-client")[0], 2)

    def test_version(self) -> None:
        """`kmipd-admin --version` prints kmipd's version."""
        from kmipd import __version__

        status, out, _ = admin("--version")
        self.assertEqual((status, out.strip()), (0, f"kmipd-admin (kmipd) {__version__}"))


