# -*- test-case-name: tests.test_credentials -*-
"""
Username/password credentials from the KMIP request header.

A KMIP request header may carry an I{Authentication} structure with a
I{Credential} of type I{Username and Password}.  kmipd treats it as follows:

 - The identity of a request is always the client certificate identity when
   one is present; a credential never replaces or overrides it.
 - When a credential store is configured, a credential present in a request
   B{must} verify against the store, otherwise the request is refused with
   result reason I{Authentication Not Successful}.
 - When no credential store is configured, credentials are ignored (this is
   PyKMIP's behaviour).

Store file format, UTF-8, one entry per line; blank lines and lines starting
with C{#} are ignored::

    username:scrypt$<n>$<r>$<p>$<salt base64>$<hash base64>

The hash field is produced by L{hash_password} (or C{kmipd-admin
hash-password}, which calls L{main_hash_password}).  The username is
everything before the I{last} colon, so it may itself contain colons.

L{CredentialStore.verify} runs scrypt and is deliberately slow: it blocks,
so the service must run it in a thread pool, never on the reactor thread.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import hashlib
import hmac
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

__all__ = [
    "CredentialFileError",
    "CredentialStore",
    "PasswordHashError",
    "hash_password",
    "main_hash_password",
]

#: Default scrypt cost parameters (about 16 MiB and a few tens of ms).
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32

#: Limits accepted when reading a file, so a hostile file cannot make
#: verification consume unbounded memory or CPU.
_MAX_N = 2**20
_MAX_R = 32
_MAX_P = 16
_MAX_MEMORY = 1024 * 1024 * 1024


class PasswordHashError(ValueError):
    """A password hash string is not a valid C{scrypt$n$r$p$salt$hash}."""


class CredentialFileError(ValueError):
    """
    A credential file cannot be used.

    @ivar path: the file.
    @ivar line: the 1-based line number, or L{None} for whole-file problems.
    """

    def __init__(self, path: str, line: int | None, message: str) -> None:
        where = path if line is None else f"{path}:{line}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


@dataclass(frozen=True)
class _ScryptHash:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    def compute(self, password: str) -> bytes:
        return _scrypt(
            password.encode("utf-8"),
            self.salt,
            self.n,
            self.r,
            self.p,
            len(self.digest),
        )


def _scrypt(secret: bytes, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    maxmem = 128 * r * (n + p + 2) + 1024 * 1024
    return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=maxmem)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(
    password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P
) -> str:
    """
    Hash C{password} with scrypt and a random salt.

    @return: C{"scrypt$n$r$p$salt_b64$hash_b64"}.
    """
    salt = os.urandom(SALT_BYTES)
    digest = _scrypt(password.encode("utf-8"), salt, n, r, p, HASH_BYTES)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def parse_password_hash(text: str) -> _ScryptHash:
    """
    Parse a hash made by L{hash_password}.

    @raise PasswordHashError: naming what is wrong.
    """
    fields = text.split("$")
    if len(fields) != 6:
        raise PasswordHashError("expected scrypt$n$r$p$salt$hash")
    scheme, n_text, r_text, p_text, salt_text, digest_text = fields
    if scheme != "scrypt":
        raise PasswordHashError(f"unsupported hash scheme {scheme!r}")
    try:
        n, r, p = int(n_text), int(r_text), int(p_text)
    except ValueError:
        raise PasswordHashError("n, r and p must be integers") from None
    if n < 2 or n > _MAX_N or n & (n - 1):
        raise PasswordHashError(f"n must be a power of two between 2 and {_MAX_N}")
    if not 1 <= r <= _MAX_R or not 1 <= p <= _MAX_P:
        raise PasswordHashError(f"r must be in 1..{_MAX_R} and p in 1..{_MAX_P}")
    if 128 * r * (n + p + 2) > _MAX_MEMORY:
        raise PasswordHashError("scrypt parameters need too much memory")
    try:
        salt = base64.b64decode(salt_text, validate=True)
        digest = base64.b64decode(digest_text, validate=True)
    except (binascii.Error, ValueError):
        raise PasswordHashError("salt and hash must be base64") from None
    if not salt or len(digest) < 16:
        raise PasswordHashError("salt is empty or hash is shorter than 16 bytes")
    return _ScryptHash(n, r, p, salt, digest)


class CredentialStore:
    """
    Verify KMIP Username/Password credentials against scrypt hashes.

    Build one with L{CredentialStore.load}.  L{verify} blocks (scrypt): run
    it in a thread pool.
    """

    def __init__(self, entries: Mapping[str, str] | None = None) -> None:
        """
        @param entries: username -> hash string from L{hash_password}.
        @raise PasswordHashError: if a hash is malformed.
        """
        self._entries: dict[str, _ScryptHash] = {
            name: parse_password_hash(hashed)
            for name, hashed in (entries or {}).items()
        }
        # Verifying an unknown user costs the same as a known one.
        self._dummy = parse_password_hash(hash_password(""))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, username: object) -> bool:
        return username in self._entries

    @classmethod
    def load(cls, path: str) -> CredentialStore:
        """
        Read a credential file (blocking).

        @raise CredentialFileError: the file cannot be read or a line is
            malformed (the error names the path and line).
        """
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except UnicodeDecodeError:
            raise CredentialFileError(path, None, "not valid UTF-8") from None
        except OSError as e:
            raise CredentialFileError(
                path, None, f"cannot read: {e.strerror or e}"
            ) from None
        return cls.from_lines(lines, path)

    @classmethod
    def from_lines(
        cls, lines: Iterable[str], path: str = "<credentials>"
    ) -> CredentialStore:
        """Parse C{username:hash} lines; see L{load}."""
        entries: dict[str, str] = {}
        for number, raw in enumerate(lines, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            username, sep, hashed = line.rpartition(":")
            if not sep:
                raise CredentialFileError(path, number, "expected username:hash")
            if not username:
                raise CredentialFileError(path, number, "empty username")
            if username in entries:
                raise CredentialFileError(
                    path, number, f"duplicate username {username!r}"
                )
            try:
                parse_password_hash(hashed)
            except PasswordHashError as e:
                raise CredentialFileError(
                    path, number, f"bad hash for {username!r}: {e}"
                ) from None
            entries[username] = hashed
        return cls(entries)

    def verify(self, username: str, password: str) -> bool:
        """
        Return whether C{password} is C{username}'s password.

        Blocking (scrypt); the comparison is constant-time, and an unknown
        user takes as long as a wrong password.
        """
        entry = self._entries.get(username)
        known = entry is not None
        if entry is None:
            entry = self._dummy
        try:
            computed = entry.compute(password)
        except UnicodeEncodeError:
            # Lone surrogates cannot be any stored password.
            return False
        return hmac.compare_digest(computed, entry.digest) and known


def main_hash_password(
    argv: Sequence[str],
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """
    Print a password hash for a credential file.

    Usage: C{hash-password [USERNAME]}.  The password is read from the first
    line of standard input (without echo when it is a terminal).  With a
    USERNAME the output is a complete C{username:hash} line.

    @return: the process exit status.
    """
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    args = list(argv)
    usage = ("usage: kmipd-admin hash-password [USERNAME]\n\n"
             "Hash a password (the first line of stdin, or a prompt on a terminal) for the\n"
             "credentials_path file; with USERNAME, print a complete USERNAME:HASH line.\n")
    if args and args[0] in ("-h", "--help"):
        stdout.write(usage)
        return 0
    if len(args) > 1:
        stderr.write(usage)
        return 2
    username = args[0] if args else None
    if username is not None and (not username or "\n" in username or "\r" in username):
        stderr.write("hash-password: invalid username\n")
        return 2
    if stdin.isatty():
        password = getpass.getpass("Password: ", stream=stderr)
    else:
        password = stdin.readline().rstrip("\r\n")
    if not password:
        stderr.write("hash-password: empty password\n")
        return 1
    hashed = hash_password(password)
    stdout.write(f"{username}:{hashed}\n" if username is not None else f"{hashed}\n")
    return 0
