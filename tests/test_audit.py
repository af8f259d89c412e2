"""The audit trail (L{kmipd.audit}): one event per operation, over real TLS, with no secret in it."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import ssl
from typing import Any

from cryptography.hazmat.primitives import serialization
from twisted.internet import defer, reactor
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from kmipd.audit import AuditTrail, client_log, read_events, summarise
from kmipd.context import RequestContext
from kmipd.dispatch import Caller
from kmipd.spec import Operation, QueryFunction, Tag
from kmipd.store.memory import MemoryObjectStore
from kmipd.testing import batch_item, make_dispatcher, payload, request
from kmipd.ttlv import Item, encode

from .test_interop_pykmip import (
    CLIENT_TIMEOUT,
    LiveServiceMixin,
    make_client,
    pykmip_client,
    refused,
    run_connected,
)

#: Every event carries these (message-level and per-item).
FIELDS = {"time", "event", "client", "groups", "peer", "transport", "version", "operation", "batch_index",
          "objects", "created", "destroyed", "status", "reason", "message", "duration_ms", "correlation"}

REGISTERED_KEY = bytes(range(0x40, 0x60))  # 32 distinctive bytes
PASSWORD = "audit-test-password-7f3a"


def secret_forms(secret: bytes) -> list[str]:
    """How a key could leak into a text log: hex (both cases), base64, and latin-1 text."""
    return [secret.hex(), secret.hex().upper(), base64.b64encode(secret).decode(),
            secret.decode("latin-1")]


def https_post(port: int, ca: str, cert: str, key: str, body: bytes) -> bytes:
    """POST one binary TTLV request to /kmip over TLS (blocking)."""
    import http.client

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.load_verify_locations(ca)
    context.load_cert_chain(cert, key)
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=CLIENT_TIMEOUT)
    try:
        conn.request("POST", "/kmip", body=body, headers={"Content-Type": "application/octet-stream"})
        return conn.getresponse().read()
    finally:
        conn.close()


class LiveAuditTests(LiveServiceMixin, TestCase):
    """A PyKMIP client's session, every event checked, the whole file scanned for secrets."""

    timeout = 180

    @defer.inlineCallbacks
    def test_every_operation_audited_without_secrets(self):  # type: ignore[no-untyped-def]
        """Successes and failures of each operation kind give one complete event each; no key bytes."""
        audit_path = os.path.abspath(self.mktemp())
        yield self.start(audit_log_path=audit_path, https_listen=("tcp:0:interface=127.0.0.1",))
        from kmip.core import enums
        from kmip.pie import exceptions, objects

        pki = self.dev_pki
        seen: dict[str, Any] = {}

        def work(c: Any) -> None:
            aes = c.create(enums.CryptographicAlgorithm.AES, 256, cryptographic_usage_mask=[
                enums.CryptographicUsageMask.ENCRYPT, enums.CryptographicUsageMask.DECRYPT])
            seen["aes"] = aes
            pub, priv = c.create_key_pair(enums.CryptographicAlgorithm.RSA, 2048,
                                          public_usage_mask=[enums.CryptographicUsageMask.VERIFY],
                                          private_usage_mask=[enums.CryptographicUsageMask.SIGN])
            seen["pub"], seen["priv"] = pub, priv
            reg = c.register(objects.SymmetricKey(enums.CryptographicAlgorithm.HMAC_SHA256, 256, REGISTERED_KEY,
                                                  masks=[enums.CryptographicUsageMask.MAC_GENERATE]))
            seen["reg"] = reg
            seen["aes_bytes"] = c.get(aes).value
            seen["priv_bytes"] = c.get(priv).value
            c.get_attributes(aes, ["Cryptographic Algorithm"])
            c.get_attribute_list(aes)
            seen["located"] = c.locate()
            for uid in (aes, reg, priv):
                c.activate(uid)
            params = {"block_cipher_mode": enums.BlockCipherMode.CBC,
                      "padding_method": enums.PaddingMethod.PKCS5, "random_iv": True}
            ct, iv = c.encrypt(b"audit plaintext!", uid=aes, cryptographic_parameters=params)
            c.decrypt(ct, uid=aes, cryptographic_parameters={**params, "random_iv": False}, iv_counter_nonce=iv)
            c.mac(b"data", uid=reg, algorithm=enums.CryptographicAlgorithm.HMAC_SHA256)
            for failing in (lambda: c.get("no-such-object"), lambda: c.destroy(aes)):
                try:
                    failing()
                except exceptions.KmipOperationFailure as e:
                    seen.setdefault("failures", []).append(e.reason)
            c.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, aes)
            c.destroy(aes)

        yield run_connected(lambda: pykmip_client(self.port, pki.client_cert, pki.client_key, pki.ca_cert,
                                                  username="auditor", password=PASSWORD), work)
        # The same over HTTPS, in KMIP 2.0.
        query = encode(request(batch_item(Operation.QUERY, payload(
            Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS))), version=(2, 0)))
        https_port = self.service.https_ports[0].getHost().port
        yield deferToThread(https_post, https_port, pki.ca_cert, pki.client_cert, pki.client_key, query)
        yield self.service.audit.flushed()

        events = list(read_events(audit_path))
        ops = [e for e in events if e["event"] == "kmip.operation"]
        for e in ops:
            self.assertEqual(set(e), FIELDS, e)
            self.assertEqual(e["client"], "kmipd-client")
            self.assertRegex(e["peer"], r"^127\.0\.0\.1:\d+$")
            self.assertGreaterEqual(e["duration_ms"], 0)
            self.assertEqual(len(e["correlation"]), 32)
        ttlv = [e for e in ops if e["transport"] == "ttlv"]
        self.assertEqual({e["version"] for e in ttlv}, {"1.2"})
        by_op: dict[str, list[dict[str, Any]]] = {}
        for e in ttlv:
            by_op.setdefault(e["operation"], []).append(e)
        for name in ("CREATE", "CREATE_KEY_PAIR", "REGISTER", "GET", "GET_ATTRIBUTES", "GET_ATTRIBUTE_LIST",
                     "LOCATE", "ACTIVATE", "ENCRYPT", "DECRYPT", "MAC", "REVOKE", "DESTROY"):
            self.assertIn(name, by_op)
        aes, pub, priv, reg = seen["aes"], seen["pub"], seen["priv"], seen["reg"]
        (create,) = by_op["CREATE"]
        self.assertEqual((create["status"], create["created"], create["objects"]), ("SUCCESS", [aes], [aes]))
        (pair,) = by_op["CREATE_KEY_PAIR"]
        self.assertEqual(sorted(pair["created"]), sorted([pub, priv]))
        self.assertEqual(by_op["REGISTER"][0]["created"], [reg])
        self.assertEqual(sorted(by_op["LOCATE"][0]["objects"]), sorted(seen["located"]))
        failed_get = [e for e in by_op["GET"] if e["status"] != "SUCCESS"]
        self.assertEqual([(e["reason"], e["objects"]) for e in failed_get], [("ITEM_NOT_FOUND", ["no-such-object"])])
        destroys = by_op["DESTROY"]
        self.assertEqual([(e["status"], e["objects"], e["destroyed"]) for e in destroys], [
            ("OPERATION_FAILED", [aes], []), ("SUCCESS", [aes], [aes])])
        self.assertEqual(destroys[0]["reason"], "PERMISSION_DENIED")
        self.assertEqual(len({e["correlation"] for e in ttlv}), len(ttlv), "one correlation per request message")
        (https,) = [e for e in ops if e["transport"] == "https"]
        self.assertEqual((https["operation"], https["version"], https["status"]), ("QUERY", "2.0", "SUCCESS"))
        # Destroyed objects stay findable.
        self.assertTrue(any(aes in e["destroyed"] for e in events))

        with open(audit_path, "rb") as f:
            text = f.read().decode("utf-8")
        private_der = serialization.load_der_private_key(seen["priv_bytes"], None).private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        for secret in (REGISTERED_KEY, seen["aes_bytes"], seen["priv_bytes"], private_der[-64:]):
            for form in secret_forms(secret):
                self.assertNotIn(form, text)
        self.assertNotIn(PASSWORD, text)
        written = self.service.metrics.registry.get_sample_value("kmipd_audit_events_written_total")
        self.assertEqual(written, len(events))
        self.assertNotIn("audit plaintext", text)
        self.assertEqual(os.stat(audit_path).st_mode & 0o777, 0o600)

    @defer.inlineCallbacks
    def test_refused_client_audited(self):  # type: ignore[no-untyped-def]
        """A client whose certificate lacks the clientAuth EKU is refused, and the refusal is an event."""
        audit_path = os.path.abspath(self.mktemp())
        yield self.start(audit_log_path=audit_path)
        from cryptography import x509

        with open(self.dev_pki.ca_key, "rb") as f:
            ca_key = serialization.load_pem_private_key(f.read(), None)
        with open(self.dev_pki.ca_cert, "rb") as f:
            ca_cert = x509.load_pem_x509_certificate(f.read())
        cert, key = make_client(self.data, "no-eku", ca_key, ca_cert, None)
        how = yield deferToThread(refused, self.port, self.dev_pki.ca_cert, cert, key)
        self.assertEqual(how, "Authentication Not Successful")
        yield self.service.audit.flushed()
        (event,) = [e for e in read_events(audit_path) if e["event"] == "kmip.refused"]
        self.assertEqual((event["transport"], event["reason"]), ("ttlv", "AUTHENTICATION_NOT_SUCCESSFUL"))
        self.assertIn("clientAuth", event["message"])


class SummaryTests(TestCase):
    """L{summarise} reads identifiers from the payloads, and nothing else."""

    def test_message_level_failure(self) -> None:
        """A message that cannot be decoded still gives one event (operation none, the reason)."""
        from kmipd.audit import request_done

        dispatcher = make_dispatcher()
        reply = dispatcher.processor.process(b"\x42\x00\x78\x01\x00\x00\x00\x08garbage!", Caller("x"))
        trail = _ListTrail()
        request_done({"audit": trail}, reply, Caller("x", ("g",)), peer="p", transport="ttlv", duration=0.5)
        (event,) = trail.events
        self.assertEqual((event["operation"], event["status"], event["reason"], event["groups"]),
                         ("none", "OPERATION_FAILED", "INVALID_MESSAGE", ["g"]))

    def test_undone_creates_nothing(self) -> None:
        """An undone Create (which keeps its Response Payload) names no created object."""
        from kmipd.messages import BatchResult
        from kmipd.spec import ResultStatus

        item = batch_item(Operation.CREATE)
        made = Item.struct(Tag.RESPONSE_PAYLOAD, [Item.text(Tag.UNIQUE_IDENTIFIER, "rolled-back")])
        result = BatchResult(Operation.CREATE, None, ResultStatus.OPERATION_UNDONE, payload=made)

        class _Item:
            payload = item.find(Tag.REQUEST_PAYLOAD)

        (record,) = summarise([_Item()], [result])
        self.assertEqual((record.status, record.created, record.objects), ("OPERATION_UNDONE", (), ()))

    def test_peer_text(self) -> None:
        """Addresses read host:port, IPv6 in brackets, whatever form the transport gives."""
        from twisted.internet.address import IPv4Address, IPv6Address

        from kmipd.audit import peer_text

        self.assertEqual(peer_text(IPv4Address("TCP", "10.0.0.1", 5696)), "10.0.0.1:5696")
        self.assertEqual(peer_text(IPv6Address("TCP", "::1", 5696)), "[::1]:5696")
        self.assertEqual(peer_text(str(IPv4Address("TCP", "10.0.0.1", 7))), "10.0.0.1:7")
        self.assertEqual(peer_text("unknown"), "unknown")

    def test_client_log(self) -> None:
        """The 2.x Log operation's hook writes the client's message with its identity."""
        trail = _ListTrail()
        ctx = RequestContext(version=(2, 1), identity="alice", groups=("ops",), now=0,
                             store=MemoryObjectStore(), policy=None, audit=trail)  # type: ignore[arg-type]
        self.assertTrue(client_log(ctx, "rotating keys"))
        self.assertEqual(trail.events, [{"event": "kmip.client_log", "client": "alice", "groups": ["ops"],
                                         "version": "2.1", "message": "rotating keys"}])
        ctx.audit = None
        self.assertFalse(client_log(ctx, "nowhere"))


class LogNamespaceTests(TestCase):
    """Events logged in the kmipd.audit namespace (the Log operation's way) reach the trail."""

    @defer.inlineCallbacks
    def test_client_log_event(self):  # type: ignore[no-untyped-def]
        from kmipd.log import Logger

        path = os.path.abspath(self.mktemp())
        trail = AuditTrail(path, reactor=reactor)
        trail.startService()
        Logger(namespace="kmipd.audit").info("client {client} logged: {log_message!r}", audit_event="client_log",
                                             client="alice", log_message="rotating now", correlation="c0ffee",
                                             client_correlation=None)
        Logger(namespace="kmipd.other").info("not audit", audit_event="client_log", client="mallory")
        yield trail.stopService()
        Logger(namespace="kmipd.audit").info("after stop", audit_event="client_log", client="late")
        (event,) = read_events(path)
        self.assertEqual({k: v for k, v in event.items() if k != "time"},
                         {"event": "kmip.client_log", "client": "alice", "message": "rotating now",
                          "correlation": "c0ffee", "client_correlation": None})


class EveryOperationTests(TestCase):
    """Every registered operation, in 1.4 and 2.1, answered with success or failure, gives one full event."""

    def test_every_operation(self) -> None:
        from kmipd.audit import request_done
        from kmipd.operations.registry import operations_for

        for version in ((1, 4), (2, 1)):
            dispatcher = make_dispatcher()
            trail = _ListTrail()
            ops = operations_for(version)
            self.assertGreater(len(ops), 20)
            for op in ops:
                message = encode(request(batch_item(op, payload()), version=version))
                reply = dispatcher.processor.process(message, Caller("x"))
                request_done({"audit": trail}, reply, Caller("x"), peer="p", transport="ttlv", duration=0.001)
            self.assertEqual([e["operation"] for e in trail.events], [Operation(op).name for op in ops])
            statuses = set()
            for event in trail.events:
                self.assertEqual(set(event), FIELDS - {"time"}, event)
                self.assertEqual(event["version"], f"{version[0]}.{version[1]}")
                self.assertIn(event["status"], ("SUCCESS", "OPERATION_FAILED"))
                self.assertEqual(event["reason"] is None, event["status"] == "SUCCESS", event)
                statuses.add(event["status"])
            self.assertEqual(statuses, {"SUCCESS", "OPERATION_FAILED"})


class _ListTrail:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def emit(self, event: dict[str, Any]) -> None:
        self.events.append(event)


class TrailTests(TestCase):
    """The writer thread: file mode, reopen on SIGHUP, syslog."""

    @defer.inlineCallbacks
    def test_reopen_on_sighup(self):  # type: ignore[no-untyped-def]
        """After logrotate moves the file, SIGHUP makes the trail write a new one."""
        path = os.path.abspath(self.mktemp())
        trail = AuditTrail(path, reactor=reactor)
        trail.startService()
        self.addCleanup(lambda: trail.running and trail.stopService())
        trail.emit({"event": "one"})
        yield trail.flushed()
        os.rename(path, path + ".1")
        os.kill(os.getpid(), signal.SIGHUP)
        trail.emit({"event": "two"})
        yield trail.stopService()
        self.assertEqual([e["event"] for e in read_events(path + ".1")], ["one"])
        self.assertEqual([e["event"] for e in read_events(path)], ["two"])
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)

    @defer.inlineCallbacks
    def test_syslog(self):  # type: ignore[no-untyped-def]
        """With a syslog address each event is also one syslog datagram carrying the JSON."""
        sock_path = os.path.join(os.path.abspath(self.mktemp()))
        os.makedirs(os.path.dirname(sock_path), exist_ok=True)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        server.bind(sock_path)
        server.settimeout(CLIENT_TIMEOUT)
        self.addCleanup(server.close)
        trail = AuditTrail(None, syslog_address=sock_path, reactor=reactor)
        trail.startService()
        trail.emit({"event": "kmip.operation", "operation": "GET"})
        yield trail.stopService()
        datagram = server.recv(65536).decode()
        self.assertIn("kmipd-audit: ", datagram)
        event = json.loads(datagram.split("kmipd-audit: ", 1)[1].rstrip("\x00"))
        self.assertEqual((event["event"], event["operation"]), ("kmip.operation", "GET"))


class StartupTests(TestCase):
    def test_unwritable_audit_log_refused(self) -> None:
        """An audit_log_path that cannot be opened is a configuration error naming the key."""
        from kmipd.config import ConfigError, load_config
        from kmipd.service import KMIPService

        data = os.path.abspath(self.mktemp())
        config = load_config(None, {"data_dir": data, "audit_log_path": os.path.join(data, "missing", "a.jsonl"),
                                    "listen": ("tcp:0:interface=127.0.0.1",)})
        with self.assertRaises(ConfigError) as e:
            KMIPService(config, store=MemoryObjectStore(), tls=False)
        self.assertEqual(e.exception.key, "audit_log_path")


def _reachable(root: Any) -> list[Any]:
    """Every object reachable from C{root} through dataclass fields, containers and items."""
    import dataclasses

    found: list[Any] = []
    seen: set[int] = set()
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        found.append(obj)
        if isinstance(obj, (list, tuple, set, frozenset)):
            todo.extend(obj)
        elif isinstance(obj, dict):
            todo.extend(obj.values())
        elif isinstance(obj, Item):
            todo.append(obj.value)
        elif dataclasses.is_dataclass(obj):
            todo.extend(getattr(obj, f.name) for f in dataclasses.fields(obj))
    return found


def _reachable_bytes(root: Any) -> list[bytes]:
    """Every bytes value reachable from C{root} through dataclass fields, containers and items."""
    return [bytes(o) for o in _reachable(root) if isinstance(o, (bytes, bytearray, memoryview))]


def _reachable_items(root: Any) -> list[Item]:
    """Every L{Item} reachable from C{root}."""
    return [o for o in _reachable(root) if isinstance(o, Item)]


class PoolRecordTests(TestCase):
    """Audit records are built in the pool from the request; the reply keeps no request item."""

    def register(self, trail: Any, dispatcher: Any = None) -> Any:
        from kmipd.spec import CryptographicAlgorithm, KeyFormatType, ObjectType

        dispatcher = dispatcher or make_dispatcher()
        dispatcher.processor.service.audit = trail
        key = Item.struct(Tag.SYMMETRIC_KEY, [Item.struct(Tag.KEY_BLOCK, [
            Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.RAW),
            Item.struct(Tag.KEY_VALUE, [Item.bytes(Tag.KEY_MATERIAL, REGISTERED_KEY)]),
            Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CryptographicAlgorithm.AES),
            Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 256)])])
        body = payload(Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY), Item.struct(Tag.TEMPLATE_ATTRIBUTE, []),
                       key)
        return dispatcher.processor.process(encode(request(batch_item(Operation.REGISTER, body))), Caller("x"))

    def test_register_with_trail(self) -> None:
        """With a trail the records (the created identifier) come with the reply; the key does not."""
        from kmipd.audit import request_done

        trail = _ListTrail()
        reply = self.register(trail)
        ((record,),) = [reply.audit]
        self.assertEqual((record.operation, record.status), ("REGISTER", "SUCCESS"))
        self.assertEqual(len(record.created), 1)
        for value in _reachable_bytes(reply):
            self.assertNotIn(REGISTERED_KEY, value)
        request_done({"audit": trail}, reply, Caller("x"), peer="p", transport="ttlv", duration=0.001)
        (event,) = trail.events
        self.assertEqual(event["created"], list(record.created))

    def test_no_trail_no_records(self) -> None:
        """Without a trail nothing is summarised, and the reply still holds no key material."""
        reply = self.register(None)
        self.assertEqual(reply.audit, [])
        self.assertEqual([r.status for r in reply.results], [0x00000000])
        for value in _reachable_bytes(reply):
            self.assertNotIn(REGISTERED_KEY, value)

    def test_get_reply_holds_no_payload(self) -> None:
        """A Get's reply carries the encoded response and per-item outcomes, not the decoded key: no
        payload Item (key material) is kept until the reply is delivered on the reactor."""
        import dataclasses

        from kmipd.ttlv import decode

        dispatcher = make_dispatcher()
        registered = decode(self.register(None, dispatcher).data)
        uid = registered.find(Tag.BATCH_ITEM).find(Tag.RESPONSE_PAYLOAD).get(Tag.UNIQUE_IDENTIFIER)
        get = batch_item(Operation.GET, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid)))
        reply = dispatcher.processor.process(encode(request(get)), Caller("x"))
        self.assertIn(REGISTERED_KEY, reply.data)  # the response itself carries the key
        self.assertEqual([(r.operation, r.status, r.reason) for r in reply.results], [(Operation.GET, 0, None)])
        rest = dataclasses.replace(reply, data=b"")
        for value in _reachable_bytes(rest):
            self.assertNotIn(REGISTERED_KEY, value)
        self.assertEqual(_reachable_items(rest), [])

    def test_identifier_free_records(self) -> None:
        """summarise(identifiers=False) names operation, status and reason as the full records do,
        reading no payload (what the metrics count)."""
        from kmipd.audit import outcomes

        dispatcher = make_dispatcher()
        dispatcher.processor.service.audit = _ListTrail()
        ok = batch_item(Operation.QUERY, payload(Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS)))
        bad = batch_item(Operation.GET, payload(Item.text(Tag.UNIQUE_IDENTIFIER, "missing")))
        reply = dispatcher.processor.process(encode(request(ok, bad)), Caller("x"))
        full = [(r.operation, r.status, r.reason) for r in reply.audit]
        self.assertEqual(full, [("QUERY", "SUCCESS", None), ("GET", "OPERATION_FAILED", "ITEM_NOT_FOUND")])
        self.assertEqual([(r.operation, r.status, r.reason) for r in summarise((), reply.results, identifiers=False)],
                         full)
        self.assertEqual(outcomes(reply), summarise((), reply.results, identifiers=False))
        self.assertTrue(all(r.objects == () and r.message is None for r in outcomes(reply)))
