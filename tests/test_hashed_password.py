"""KMIP 2.x Hashed Password credentials (2.1 9.11, Table 415) and the Server Hashed Password of
the 2.x response header (2.1 8.5), and credential types per protocol version."""

from __future__ import annotations

import hashlib
import io
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from kmipd.auth.credentials import (
    CredentialStore,
    PasswordHashError,
    hash_password,
    hash_password_kmip,
    main_hash_password,
    parse_entry,
)
from kmipd.auth.request import CredentialChecker
from kmipd.config import ConfigError, load_config
from kmipd.spec import CredentialType, HashingAlgorithm, Operation, QueryFunction, ResultReason, Tag
from kmipd.testing import FakeClock, batch_item, make_processor, payload, request, results
from kmipd.ttlv import Item, ItemType, decode, encode

FAST = {"n": 2**4, "r": 1, "p": 1}
QUERY_OPS = payload(Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS))
V14, V20, V21 = (1, 4), (2, 0), (2, 1)


def independent_value(username: str, password: str, timestamp: int, name: str = "sha256") -> bytes:
    """Hash(S1 || Timestamp) || S2, computed here from the spec's text, not with kmipd's code."""
    s1 = hashlib.new(name, username.encode() + password.encode()).digest()
    s2 = hashlib.new(name, password.encode() + username.encode()).digest()
    return hashlib.new(name, s1 + timestamp.to_bytes(8, "big")).digest() + s2


def independent_proof(username: str, password: str, timestamp: int, name: str = "sha256") -> bytes:
    """Hash(Timestamp || S1 || Hash(S2)) (2.1 Table 398)."""
    s1 = hashlib.new(name, username.encode() + password.encode()).digest()
    s2 = hashlib.new(name, password.encode() + username.encode()).digest()
    return hashlib.new(name, timestamp.to_bytes(8, "big") + s1 + hashlib.new(name, s2).digest()).digest()


def hashed_credential(username: str, timestamp: int, value: bytes, algorithm: int | None = None) -> Item:
    return Item.struct(Tag.CREDENTIAL, [
        Item.enum(Tag.CREDENTIAL_TYPE, CredentialType.HASHED_PASSWORD),
        Item.struct(Tag.CREDENTIAL_VALUE, [
            Item.text(Tag.USERNAME, username),
            Item(Tag.TIME_STAMP, ItemType.DATE_TIME_EXTENDED, timestamp),
            Item.enum(Tag.HASHING_ALGORITHM, algorithm) if algorithm is not None else None,
            Item.bytes(Tag.HASHED_PASSWORD, value),
        ]),
    ])


def password_credential(username: str, password: str) -> Item:
    return Item.struct(Tag.CREDENTIAL, [
        Item.enum(Tag.CREDENTIAL_TYPE, CredentialType.USERNAME_AND_PASSWORD),
        Item.struct(Tag.CREDENTIAL_VALUE, [Item.text(Tag.USERNAME, username), Item.text(Tag.PASSWORD, password)]),
    ])


class EntryTests(SynchronousTestCase):
    """The C{kmip-hashed} credential file entry."""

    def test_verifies_both_credential_types(self) -> None:
        """One entry verifies the password and Hashed Password values made from it, nothing else."""
        store = CredentialStore({"alice": hash_password_kmip("alice", "wonderland", **FAST)})
        self.assertTrue(store.verify("alice", "wonderland"))
        self.assertFalse(store.verify("alice", "Wonderland"))
        ts = 1_700_000_000_000_000
        value = independent_value("alice", "wonderland", ts)
        result = store.verify_hashed("alice", HashingAlgorithm.SHA_256, ts, value)
        self.assertTrue(result.verified)
        self.assertEqual(result.server_proof, independent_proof("alice", "wonderland", ts))
        for value in (independent_value("alice", "wonderland", ts + 1), independent_value("alice", "x", ts),
                      independent_value("alice", "wonderland", ts)[:-1], b""):
            self.assertFalse(store.verify_hashed("alice", HashingAlgorithm.SHA_256, ts, value).verified)

    def test_s1_kept_s2_only_hashed(self) -> None:
        """The entry holds S1 and an scrypt hash of S2, never S2 or the password."""
        entry = hash_password_kmip("alice", "wonderland", **FAST)
        s2 = hashlib.sha256(b"wonderlandalice").digest()
        import base64
        self.assertIn(base64.b64encode(hashlib.sha256(b"alicewonderland").digest()).decode(), entry)
        self.assertNotIn(base64.b64encode(s2).decode(), entry)
        self.assertNotIn("wonderland", entry)
        self.assertTrue(entry.startswith("kmip-hashed$SHA-256$"))

    def test_other_algorithm(self) -> None:
        """An entry made for SHA-512 verifies SHA-512 values and refuses SHA-256 ones, saying why."""
        store = CredentialStore({"bob": hash_password_kmip("bob", "builder", HashingAlgorithm.SHA_512, **FAST)})
        ts = 5
        value = independent_value("bob", "builder", ts, "sha512")
        good = store.verify_hashed("bob", HashingAlgorithm.SHA_512, ts, value)
        self.assertTrue(good.verified)
        self.assertEqual(good.server_proof, independent_proof("bob", "builder", ts, "sha512"))
        other = store.verify_hashed("bob", HashingAlgorithm.SHA_256, ts, independent_value("bob", "builder", ts))
        self.assertFalse(other.verified)
        self.assertIn("SHA-512", other.unverifiable)

    def test_scrypt_entry_cannot_verify(self) -> None:
        """A plain scrypt entry cannot verify a Hashed Password (S1 is not derivable): refused, with why."""
        store = CredentialStore({"carol": hash_password("pw", **FAST)})
        result = store.verify_hashed("carol", HashingAlgorithm.SHA_256, 1, independent_value("carol", "pw", 1))
        self.assertFalse(result.verified)
        self.assertIn("plain scrypt", result.unverifiable)
        unknown = store.verify_hashed("dave", HashingAlgorithm.SHA_256, 1, independent_value("dave", "pw", 1))
        self.assertEqual((unknown.verified, unknown.unverifiable), (False, "no such user"))

    def test_malformed_entries(self) -> None:
        """Malformed kmip-hashed entries are refused when the file is read, naming the problem."""
        good = hash_password_kmip("a", "b", **FAST).split("$")
        for text, words in (("kmip-hashed$SHA-256", "expected"),
                            ("$".join([good[0], "MD5", *good[2:]]), "unsupported hashing algorithm"),
                            ("$".join([good[0], good[1], "!!", *good[3:]]), "base64"),
                            ("$".join([good[0], "SHA-512", *good[2:]]), "not a SHA-512 digest"),
                            ("$".join(good[:3] + ["bcrypt"] + good[4:]), "scheme")):
            error = self.assertRaises(PasswordHashError, parse_entry, text)
            self.assertIn(words, str(error))

    def test_file_with_both_forms(self) -> None:
        """A credential file may mix both forms."""
        lines = [f"alice:{hash_password_kmip('alice', 'a', **FAST)}", f"bob:{hash_password('b', **FAST)}"]
        store = CredentialStore.from_lines(lines)
        self.assertTrue(store.verify("alice", "a"))
        self.assertTrue(store.verify("bob", "b"))


class HashPasswordCommandTests(SynchronousTestCase):
    """C{kmipd-admin hash-password --hashed-password}."""

    def run_command(self, argv: list[str], password: str = "pw\n") -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        status = main_hash_password(argv, stdin=io.StringIO(password), stdout=out, stderr=err)
        return status, out.getvalue(), err.getvalue()

    def test_makes_kmip_entry(self) -> None:
        """The line verifies Hashed Password values for the algorithm asked."""
        for argv, algorithm, name in ((["--hashed-password", "alice"], HashingAlgorithm.SHA_256, "sha256"),
                                      (["--hashed-password", "--algorithm", "SHA3-384", "alice"],
                                       HashingAlgorithm.SHA3_384, "sha3_384")):
            status, out, _ = self.run_command(argv)
            self.assertEqual(status, 0)
            store = CredentialStore.from_lines([out])
            self.assertTrue(store.verify_hashed("alice", algorithm, 9, independent_value("alice", "pw", 9, name))
                            .verified)

    def test_usage_errors(self) -> None:
        """No username, an unknown algorithm, or --algorithm alone: usage, status 2."""
        for argv in (["--hashed-password"], ["--hashed-password", "--algorithm", "MD5", "a"],
                     ["--algorithm", "SHA-512", "a"], ["--bogus", "a"]):
            status, out, err = self.run_command(argv)
            self.assertEqual((status, out), (2, ""))
            self.assertIn("usage:", err)


class HeaderTests(SynchronousTestCase):
    """Hashed Password credentials in request headers, through the processor."""

    def setUp(self) -> None:
        self.clock = FakeClock()
        self.store = CredentialStore({
            "alice": hash_password_kmip("alice", "wonderland", **FAST),
            "carol": hash_password("pw", **FAST),
        })
        self.checker = CredentialChecker(self.store, seconds=self.clock.seconds)
        self.processor = make_processor(clock=self.clock, credentials=self.checker)

    def now_us(self, offset: float = 0.0) -> int:
        return int((self.clock.seconds() + offset) * 1_000_000)

    def exchange(self, *credentials: Item, version: tuple[int, int] = V21, processor: Any = None) -> tuple[Any, Item]:
        auth = Item.struct(Tag.AUTHENTICATION, list(credentials))
        message = request(batch_item(Operation.QUERY, QUERY_OPS), version=version, header_extra=[auth])
        response = decode((processor or self.processor).process(encode(message), _caller()).data)
        return results(response)[0], response.find(Tag.RESPONSE_HEADER)

    def good(self, offset: float = 0.0, username: str = "alice", password: str = "wonderland") -> tuple[Item, int]:
        ts = self.now_us(offset)
        return hashed_credential(username, ts, independent_value(username, password, ts)), ts

    def test_verified_gets_server_hashed_password(self) -> None:
        """2.0 and 2.1: the request runs and the header carries Hash(Timestamp || S1 || Hash(S2)),
        after the Time Stamp (Table 398's order)."""
        for version in (V20, V21):
            self.clock.advance(1)
            credential, ts = self.good()
            result, header = self.exchange(credential, version=version)
            self.assertTrue(result.ok, result.message)
            self.assertEqual(header.get(Tag.SERVER_HASHED_PASSWORD), independent_proof("alice", "wonderland", ts))
            tags = [c.tag for c in header.value]
            self.assertEqual(tags.index(Tag.SERVER_HASHED_PASSWORD), tags.index(Tag.TIME_STAMP) + 1)

    def test_explicit_default_algorithm(self) -> None:
        """Naming SHA-256 is the same as leaving it out."""
        ts = self.now_us()
        result, _ = self.exchange(hashed_credential("alice", ts, independent_value("alice", "wonderland", ts),
                                                    HashingAlgorithm.SHA_256))
        self.assertTrue(result.ok)

    def test_no_proof_without_hashed_password(self) -> None:
        """A Username and Password credential gets no Server Hashed Password."""
        result, header = self.exchange(password_credential("alice", "wonderland"))
        self.assertTrue(result.ok)
        self.assertIsNone(header.find(Tag.SERVER_HASHED_PASSWORD))

    def assertRefused(self, credential: Item, reason: int = ResultReason.AUTHENTICATION_NOT_SUCCESSFUL,
                      words: str = "", version: tuple[int, int] = V21) -> Any:
        result, header = self.exchange(credential, version=version)
        self.assertFalse(result.ok)
        self.assertEqual(result.reason, reason)
        self.assertIn(words, result.message)
        self.assertIsNone(header.find(Tag.SERVER_HASHED_PASSWORD))
        return result

    def test_wrong_value(self) -> None:
        """A wrong password, a truncated value, an unknown user: Authentication Not Successful."""
        ts = self.now_us()
        self.assertRefused(hashed_credential("alice", ts, independent_value("alice", "wrong", ts)))
        self.assertRefused(hashed_credential("alice", ts + 1, independent_value("alice", "wonderland", ts + 1)[:40]))
        self.assertRefused(hashed_credential("mallory", ts + 2, independent_value("mallory", "x", ts + 2)))

    def test_plain_scrypt_user_refused_and_logged(self) -> None:
        """A user whose entry is a plain scrypt hash cannot use Hashed Password; the client learns only
        that authentication failed, the operator's log says why."""
        from twisted.logger import globalLogPublisher
        events: list[dict] = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        credential, _ = self.good(username="carol", password="pw")
        result = self.assertRefused(credential)
        self.assertEqual(result.message, "authentication not successful")
        self.assertTrue(any("plain scrypt" in str(e.get("why")) for e in events))

    def test_freshness(self) -> None:
        """A Timestamp further than the window from the server's clock is refused, either way."""
        for offset in (-301, 301):
            self.assertRefused(self.good(offset)[0], words="300 seconds")
        self.assertTrue(self.exchange(self.good(-299)[0])[0].ok)

    def test_window_configurable(self) -> None:
        """hashed_password_window bounds it (configuration key, and the checker's window)."""
        checker = CredentialChecker(self.store, seconds=self.clock.seconds, window=10)
        processor = make_processor(clock=self.clock, credentials=checker)
        self.assertFalse(self.exchange(self.good(-11)[0], processor=processor)[0].ok)
        self.assertTrue(self.exchange(self.good(-9)[0], processor=processor)[0].ok)

    def test_replay_refused(self) -> None:
        """The same credential twice, or an older Timestamp after a newer one: refused (monotonic)."""
        credential, _ = self.good(-5)
        self.assertTrue(self.exchange(credential)[0].ok)
        self.assertRefused(credential, words="does not increase")
        self.assertRefused(self.good(-6)[0], words="does not increase")
        self.assertTrue(self.exchange(self.good(-4)[0])[0].ok)

    def test_failed_attempt_does_not_advance(self) -> None:
        """A wrong value with a later Timestamp does not lock out the real client's earlier one."""
        ts = self.now_us()
        self.assertRefused(hashed_credential("alice", ts, independent_value("alice", "wrong", ts)))
        self.assertTrue(self.exchange(self.good(-1)[0])[0].ok)

    def test_unsupported_algorithm(self) -> None:
        """MD5 (and other algorithms kmipd does not accept): refused, naming the supported ones."""
        ts = self.now_us()
        for algorithm in (HashingAlgorithm.MD5, HashingAlgorithm.SHA_1, 0x7F):
            self.assertRefused(hashed_credential("alice", ts, b"x" * 32, algorithm), words="SHA-256")

    def test_algorithm_not_the_entry(self) -> None:
        """A correct SHA-512 value for a SHA-256 entry cannot be checked: refused."""
        ts = self.now_us()
        self.assertRefused(hashed_credential("alice", ts, independent_value("alice", "wonderland", ts, "sha512"),
                                             HashingAlgorithm.SHA_512))

    def test_malformed(self) -> None:
        """Missing fields or wrong types: Authentication Not Successful, naming the fields."""
        ts = self.now_us()
        broken = [
            Item.struct(Tag.CREDENTIAL, [Item.enum(Tag.CREDENTIAL_TYPE, CredentialType.HASHED_PASSWORD)]),
            Item.struct(Tag.CREDENTIAL, [Item.enum(Tag.CREDENTIAL_TYPE, CredentialType.HASHED_PASSWORD),
                                         Item.struct(Tag.CREDENTIAL_VALUE, [
                                             Item.text(Tag.USERNAME, "alice"),
                                             Item.datetime(Tag.TIME_STAMP, ts // 1_000_000),  # Date Time, not Extended
                                             Item.bytes(Tag.HASHED_PASSWORD, b"x" * 64)])]),
        ]
        for credential in broken:
            self.assertRefused(credential, words="Date Time Extended")

    def test_two_hashed_credentials(self) -> None:
        """At most one Hashed Password credential per request: Invalid Message."""
        result, _ = self.exchange(self.good(-2)[0], self.good(-1)[0])
        self.assertEqual(result.reason, ResultReason.INVALID_MESSAGE)

    def test_with_password_credential(self) -> None:
        """Both credentials in one request must verify."""
        result, header = self.exchange(password_credential("alice", "wonderland"), self.good()[0])
        self.assertTrue(result.ok)
        self.assertIsNotNone(header.find(Tag.SERVER_HASHED_PASSWORD))
        self.assertRefused(password_credential("alice", "nope"))

    def test_ignored_without_store(self) -> None:
        """Without credentials_path credentials are ignored (PyKMIP): no Server Hashed Password either."""
        processor = make_processor(clock=self.clock)
        ts = self.now_us()
        result, header = self.exchange(hashed_credential("alice", ts, b"anything"), processor=processor)
        self.assertTrue(result.ok)
        self.assertIsNone(header.find(Tag.SERVER_HASHED_PASSWORD))


class VersionTests(SynchronousTestCase):
    """Credential types exist per version (1.0 Table: Username and Password, Device; 1.2 adds
    Attestation; 2.0 adds One Time Password, Hashed Password, Ticket)."""

    def setUp(self) -> None:
        self.clock = FakeClock()
        store = CredentialStore({"alice": hash_password_kmip("alice", "wonderland", **FAST)})
        self.with_store = make_processor(clock=self.clock, credentials=CredentialChecker(store,
                                                                                         seconds=self.clock.seconds))
        self.without = make_processor(clock=self.clock)

    def reason(self, processor: Any, version: tuple[int, int], kind: int) -> int | None:
        credential = Item.struct(Tag.CREDENTIAL, [Item.enum(Tag.CREDENTIAL_TYPE, kind),
                                                  Item.struct(Tag.CREDENTIAL_VALUE, [])])
        message = request(batch_item(Operation.QUERY, QUERY_OPS), version=version,
                          header_extra=[Item.struct(Tag.AUTHENTICATION, [credential])])
        result = results(decode(processor.process(encode(message), _caller()).data))[0]
        return result.reason

    def test_2x_types_in_1x(self) -> None:
        """Hashed Password, One Time Password and Ticket in a 1.x request: Invalid Message, with or
        without a credential store."""
        for processor in (self.with_store, self.without):
            for version in ((1, 0), (1, 2), (1, 4)):
                for kind in (CredentialType.HASHED_PASSWORD, CredentialType.ONE_TIME_PASSWORD,
                             CredentialType.TICKET):
                    self.assertEqual(self.reason(processor, version, kind), ResultReason.INVALID_MESSAGE)

    def test_attestation_before_1_2(self) -> None:
        """Attestation is defined from 1.2 on."""
        self.assertEqual(self.reason(self.without, (1, 1), CredentialType.ATTESTATION), ResultReason.INVALID_MESSAGE)
        self.assertIsNone(self.reason(self.without, (1, 2), CredentialType.ATTESTATION))

    def test_1x_password_unchanged(self) -> None:
        """A 1.x Username and Password credential still verifies against a kmip-hashed entry."""
        for version in ((1, 0), (1, 4)):
            auth = Item.struct(Tag.AUTHENTICATION, [password_credential("alice", "wonderland")])
            message = request(batch_item(Operation.QUERY, QUERY_OPS), version=version, header_extra=[auth])
            response = decode(self.with_store.process(encode(message), _caller()).data)
            self.assertTrue(results(response)[0].ok)
            self.assertIsNone(response.find(Tag.RESPONSE_HEADER).find(Tag.SERVER_HASHED_PASSWORD))

    def test_unknown_type(self) -> None:
        """A Credential Type no version defines: Invalid Message (2.x reason)."""
        self.assertEqual(self.reason(self.without, V21, 0x77), ResultReason.INVALID_MESSAGE)


class ConfigTests(SynchronousTestCase):
    """The hashed_password_window key."""

    def write(self, text: str) -> str:
        path = self.mktemp()
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_key(self) -> None:
        env = {"KMIPD_DATA_DIR": "/srv/kmipd-test"}
        self.assertEqual(load_config(environ=env).hashed_password_window, 300.0)
        self.assertEqual(load_config(self.write("[server]\nhashed_password_window=30\n"),
                                     environ=env).hashed_password_window, 30.0)
        for bad in ("0", "-1", "soon"):
            error = self.assertRaises(ConfigError, load_config,
                                      self.write(f"[server]\nhashed_password_window={bad}\n"), environ=env)
            self.assertIn("hashed_password_window", str(error))


def _caller() -> Any:
    from kmipd.dispatch import Caller
    return Caller("alice")
