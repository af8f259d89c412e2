"""Tests for L{kmipd.auth.credentials}."""

from __future__ import annotations

import io

from twisted.trial.unittest import SynchronousTestCase

from kmipd.auth.credentials import (
    CredentialFileError,
    CredentialStore,
    PasswordHashError,
    hash_password,
    main_hash_password,
    parse_password_hash,
)

# Cheap parameters keep the tests fast; the format is the same.
FAST = {"n": 2**4, "r": 1, "p": 1}


class HashPasswordTests(SynchronousTestCase):
    """L{hash_password} and L{parse_password_hash}."""

    def test_format(self) -> None:
        """The hash is scrypt$n$r$p$salt$hash with the default cost parameters."""
        fields = hash_password("secret").split("$")
        self.assertEqual(fields[:4], ["scrypt", "16384", "8", "1"])
        parsed = parse_password_hash("$".join(fields))
        self.assertEqual((len(parsed.salt), len(parsed.digest)), (16, 32))

    def test_random_salt(self) -> None:
        """Hashing the same password twice gives different strings."""
        self.assertNotEqual(hash_password("x", **FAST), hash_password("x", **FAST))

    def test_malformed_hashes(self) -> None:
        """Malformed hash strings raise PasswordHashError."""
        good = hash_password("x", **FAST).split("$")
        bad = [
            "plain",
            "$".join(["bcrypt"] + good[1:]),
            "$".join(good[:1] + ["abc"] + good[2:]),
            "$".join(good[:1] + ["15"] + good[2:]),
            "$".join(good[:1] + [str(2**21)] + good[2:]),
            "$".join(good[:2] + ["0"] + good[3:]),
            "$".join(good[:4] + ["!!!"] + good[5:]),
            "$".join(good[:5] + ["AAAA"]),
        ]
        for text in bad:
            self.assertRaises(PasswordHashError, parse_password_hash, text)


class CredentialStoreTests(SynchronousTestCase):
    """L{CredentialStore} loading and verification."""

    def write(self, text: str) -> str:
        path = self.mktemp()
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_round_trip(self) -> None:
        """A file written with hash_password verifies the right passwords."""
        path = self.write(
            "# kmipd credentials\n"
            f"alice:{hash_password('wonderland', **FAST)}\n"
            "\n"
            f"svc:backup:{hash_password('pässwörd', **FAST)}\n"
        )
        store = CredentialStore.load(path)
        self.assertEqual(len(store), 2)
        self.assertTrue(store.verify("alice", "wonderland"))
        self.assertTrue(store.verify("svc:backup", "pässwörd"))

    def test_default_parameters_round_trip(self) -> None:
        """A hash with the default (production) parameters verifies."""
        store = CredentialStore({"bob": hash_password("builder")})
        self.assertTrue(store.verify("bob", "builder"))
        self.assertFalse(store.verify("bob", "Builder"))

    def test_wrong_password(self) -> None:
        """A wrong or empty password does not verify."""
        store = CredentialStore({"alice": hash_password("wonderland", **FAST)})
        self.assertFalse(store.verify("alice", "wonderlan"))
        self.assertFalse(store.verify("alice", ""))

    def test_unknown_user(self) -> None:
        """An unknown user never verifies, even with the dummy hash's password."""
        store = CredentialStore({"alice": hash_password("x", **FAST)})
        self.assertFalse(store.verify("mallory", "x"))
        self.assertFalse(store.verify("mallory", ""))

    def test_unencodable_password(self) -> None:
        """A password with lone surrogates is refused, not a crash."""
        store = CredentialStore({"alice": hash_password("x", **FAST)})
        self.assertFalse(store.verify("alice", "\ud800"))

    def assertFileError(self, text: str, line: int | None, fragment: str) -> None:
        """Assert loading C{text} raises CredentialFileError at C{line} mentioning C{fragment}."""
        path = self.write(text)
        e = self.assertRaises(CredentialFileError, CredentialStore.load, path)
        self.assertEqual((e.path, e.line), (path, line))
        self.assertIn(fragment, str(e))
        self.assertTrue(str(e).startswith(path if line is None else f"{path}:{line}:"))

    def test_missing_colon(self) -> None:
        """A line without a colon is reported with its line number."""
        self.assertFileError("# c\njustaname\n", 2, "expected username:hash")

    def test_empty_username(self) -> None:
        """A line with an empty username is reported."""
        self.assertFileError(f":{hash_password('x', **FAST)}\n", 1, "empty username")

    def test_bad_hash(self) -> None:
        """A line whose hash is not scrypt$... is reported naming the user."""
        self.assertFileError("alice:md5$abc\n", 1, "bad hash for 'alice'")

    def test_duplicate_user(self) -> None:
        """A user listed twice is reported on the second line."""
        h = hash_password("x", **FAST)
        self.assertFileError(f"alice:{h}\nalice:{h}\n", 2, "duplicate username 'alice'")

    def test_missing_file(self) -> None:
        """A missing file raises CredentialFileError, not OSError."""
        path = self.mktemp()
        e = self.assertRaises(CredentialFileError, CredentialStore.load, path)
        self.assertIsNone(e.line)

    def test_not_utf8(self) -> None:
        """A file that is not UTF-8 raises CredentialFileError."""
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(b"al\xffice:x\n")
        self.assertIn(
            "UTF-8",
            str(self.assertRaises(CredentialFileError, CredentialStore.load, path)),
        )

    def test_empty_file(self) -> None:
        """An empty file gives an empty store in which nobody verifies."""
        store = CredentialStore.load(self.write(""))
        self.assertEqual(len(store), 0)
        self.assertFalse(store.verify("", ""))


class FakeTTY(io.StringIO):
    """A StringIO that claims not to be a terminal."""

    def isatty(self) -> bool:
        return False


class MainHashPasswordTests(SynchronousTestCase):
    """L{main_hash_password}, the admin command helper."""

    def run_main(self, argv: list[str], stdin: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        status = main_hash_password(argv, FakeTTY(stdin), out, err)
        return status, out.getvalue(), err.getvalue()

    def test_prints_hash(self) -> None:
        """The password from stdin is hashed and printed; the hash verifies it."""
        status, out, _ = self.run_main([], "s3cret\n")
        self.assertEqual(status, 0)
        self.assertTrue(CredentialStore({"u": out.strip()}).verify("u", "s3cret"))

    def test_with_username_prints_file_line(self) -> None:
        """With a username the output is a complete line loadable by CredentialStore."""
        status, out, _ = self.run_main(["alice"], "pw\n")
        self.assertEqual(status, 0)
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(out)
        self.assertTrue(CredentialStore.load(path).verify("alice", "pw"))

    def test_empty_password_refused(self) -> None:
        """An empty password is refused with exit status 1 and nothing printed."""
        status, out, err = self.run_main([], "\n")
        self.assertEqual((status, out), (1, ""))
        self.assertIn("empty password", err)

    def test_usage(self) -> None:
        """Too many arguments print usage and exit 2."""
        status, out, err = self.run_main(["a", "b"], "pw\n")
        self.assertEqual((status, out), (2, ""))
        self.assertIn("usage", err)
