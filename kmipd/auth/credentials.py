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
    username:kmip-hashed$<algorithm>$<S1 base64>$scrypt$<n>$<r>$<p>$<salt>$<hash of S2>

The hash field is produced by L{hash_password} (or C{kmipd-admin
hash-password}, which calls L{main_hash_password}).  The username is
everything before the I{last} colon, so it may itself contain colons.

The second form (L{hash_password_kmip}, C{kmipd-admin hash-password
--hashed-password}) also verifies KMIP 2.x I{Hashed Password} credentials
(2.1 9.11, Table 415: C{Hash(S1 || Timestamp) || S2} with C{S1 = Hash(Username
|| Password)} and C{S2 = Hash(Password || Username)}).  Checking that value
needs S1 itself, so the entry keeps S1 (a fast, username-salted hash of the
password: weaker at rest than scrypt) and only an scrypt hash of S2; it names
the one Hashing Algorithm its S1 was made with.  A plain scrypt entry cannot
verify a Hashed Password credential (scrypt is one-way and S1 cannot be
derived from it): such a credential is refused for that user.

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

__all__ = [
    "HASHED_PASSWORD_ALGORITHMS",
    "CredentialFileError",
    "CredentialStore",
    "PasswordHashError",
    "hash_password",
    "hash_password_kmip",
    "hashed_password_value",
    "main_hash_password",
    "server_hashed_password",
]

#: KMIP Hashing Algorithm value -> (name in the file and in messages, hashlib name) usable for
#: Hashed Password credentials. MD2, MD4, MD5, SHA-1, RIPEMD-160, Tiger and Whirlpool are left
#: out: broken or not in every OpenSSL build.
HASHED_PASSWORD_ALGORITHMS: dict[int, tuple[str, str]] = {
    0x05: ("SHA-224", "sha224"),
    0x06: ("SHA-256", "sha256"),
    0x07: ("SHA-384", "sha384"),
    0x08: ("SHA-512", "sha512"),
    0x0C: ("SHA-512/224", "sha512_224"),
    0x0D: ("SHA-512/256", "sha512_256"),
    0x0E: ("SHA3-224", "sha3_224"),
    0x0F: ("SHA3-256", "sha3_256"),
    0x10: ("SHA3-384", "sha3_384"),
    0x11: ("SHA3-512", "sha3_512"),
}
#: The default Hashing Algorithm of a Hashed Password credential (2.1 9.11: SHA-256).
DEFAULT_HASHED_PASSWORD_ALGORITHM = 0x06
_ALGORITHM_BY_NAME = {name: value for value, (name, _) in HASHED_PASSWORD_ALGORITHMS.items()}
_KMIP_SCHEME = "kmip-hashed"

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


def _hash(algorithm: int, *parts: bytes) -> bytes:
    return hashlib.new(HASHED_PASSWORD_ALGORITHMS[algorithm][1], b"".join(parts)).digest()


def _timestamp_bytes(timestamp: int) -> bytes:
    """The Timestamp as hashed: its Date Time Extended value, 8 bytes big-endian (as in TTLV)."""
    return int(timestamp).to_bytes(8, "big", signed=True)


def _s1_s2(algorithm: int, username: str, password: str) -> tuple[bytes, bytes]:
    user, secret = username.encode("utf-8"), password.encode("utf-8")
    return _hash(algorithm, user, secret), _hash(algorithm, secret, user)


def hashed_password_value(username: str, password: str, timestamp: int,
                          algorithm: int = DEFAULT_HASHED_PASSWORD_ALGORITHM) -> bytes:
    """The Hashed Password a client sends: C{Hash(S1 || Timestamp) || S2} (2.1 9.11).

    @param timestamp: the credential's Timestamp (Date Time Extended: microseconds since the epoch).
    """
    s1, s2 = _s1_s2(algorithm, username, password)
    return _hash(algorithm, s1, _timestamp_bytes(timestamp)) + s2


def server_hashed_password(algorithm: int, timestamp: int, s1: bytes, s2: bytes) -> bytes:
    """The response header's Server Hashed Password: C{Hash(Timestamp || S1 || Hash(S2))} (2.1 8.5)."""
    return _hash(algorithm, _timestamp_bytes(timestamp), s1, _hash(algorithm, s2))


@dataclass(frozen=True)
class _KmipEntry:
    """An entry that verifies both Username and Password and Hashed Password credentials."""

    algorithm: int
    s1: bytes
    s2_hash: _ScryptHash

    def s2_matches(self, s2: bytes) -> bool:
        computed = _scrypt(s2, self.s2_hash.salt, self.s2_hash.n, self.s2_hash.r, self.s2_hash.p,
                           len(self.s2_hash.digest))
        return hmac.compare_digest(computed, self.s2_hash.digest)


def hash_password_kmip(username: str, password: str, algorithm: int = DEFAULT_HASHED_PASSWORD_ALGORITHM, *,
                       n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """An entry verifying Username and Password I{and} Hashed Password credentials of C{username}.

    @return: C{"kmip-hashed$<algorithm>$<S1 base64>$scrypt$n$r$p$salt$hash"} (the scrypt hash is of S2).
    """
    name = HASHED_PASSWORD_ALGORITHMS[algorithm][0]
    s1, s2 = _s1_s2(algorithm, username, password)
    salt = os.urandom(SALT_BYTES)
    digest = _scrypt(s2, salt, n, r, p, HASH_BYTES)
    return f"{_KMIP_SCHEME}${name}${_b64(s1)}$scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def parse_entry(text: str) -> _ScryptHash | _KmipEntry:
    """Parse a credential file hash field (either form of the module docstring).

    @raise PasswordHashError: naming what is wrong.
    """
    if not text.startswith(_KMIP_SCHEME + "$"):
        return parse_password_hash(text)
    fields = text.split("$", 3)
    if len(fields) != 4:
        raise PasswordHashError(f"expected {_KMIP_SCHEME}$algorithm$S1$scrypt$n$r$p$salt$hash")
    _, name, s1_text, rest = fields
    algorithm = _ALGORITHM_BY_NAME.get(name)
    if algorithm is None:
        raise PasswordHashError(f"unsupported hashing algorithm {name!r} (one of {', '.join(_ALGORITHM_BY_NAME)})")
    try:
        s1 = base64.b64decode(s1_text, validate=True)
    except (binascii.Error, ValueError):
        raise PasswordHashError("S1 must be base64") from None
    if len(s1) != hashlib.new(HASHED_PASSWORD_ALGORITHMS[algorithm][1]).digest_size:
        raise PasswordHashError(f"S1 is not a {name} digest")
    return _KmipEntry(algorithm, s1, parse_password_hash(rest))


@dataclass(frozen=True)
class HashedPasswordResult:
    """The outcome of L{CredentialStore.verify_hashed}.

    @ivar verified: whether the credential verified.
    @ivar server_proof: the Server Hashed Password for the response header (when verified).
    @ivar unverifiable: why the user's entry cannot verify a Hashed Password at all (for the
        operator's log; the client is only told authentication was not successful).
    """

    verified: bool
    server_proof: bytes | None = None
    unverifiable: str | None = None


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
        self._entries: dict[str, _ScryptHash | _KmipEntry] = {
            name: parse_entry(hashed)
            for name, hashed in (entries or {}).items()
        }
        # Verifying an unknown user costs the same as a known one.
        self._dummy = parse_password_hash(hash_password(""))
        self._dummy_kmip = _KmipEntry(DEFAULT_HASHED_PASSWORD_ALGORITHM, os.urandom(32), self._dummy)

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
                parse_entry(hashed)
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
            if isinstance(entry, _KmipEntry):
                s1, s2 = _s1_s2(entry.algorithm, username, password)
                return entry.s2_matches(s2) & hmac.compare_digest(s1, entry.s1) and known
            computed = entry.compute(password)
        except UnicodeEncodeError:
            # Lone surrogates cannot be any stored password.
            return False
        return hmac.compare_digest(computed, entry.digest) and known

    def verify_hashed(self, username: str, algorithm: int, timestamp: int, hashed: bytes,
                      s2_known: Callable[[bytes], bool] | None = None) -> HashedPasswordResult:
        """Check a Hashed Password credential (2.1 9.11) of C{username}.

        Blocking (scrypt over S2, unless C{s2_known} says this S2 was verified recently); the
        comparisons are constant-time. Freshness of C{timestamp} is the caller's business.

        @param algorithm: a key of L{HASHED_PASSWORD_ALGORITHMS}.
        """
        entry = self._entries.get(username)
        known = isinstance(entry, _KmipEntry)
        kmip = entry if isinstance(entry, _KmipEntry) else self._dummy_kmip
        size = hashlib.new(HASHED_PASSWORD_ALGORITHMS[algorithm][1]).digest_size
        first, s2 = hashed[:size], hashed[size:]
        matches = hmac.compare_digest(_hash(algorithm, kmip.s1, _timestamp_bytes(timestamp)), first)
        matches &= len(hashed) == 2 * size and kmip.algorithm == algorithm
        matches &= (s2_known is not None and s2_known(s2)) or kmip.s2_matches(s2)
        if entry is None or not known:
            why = ("no such user" if entry is None else
                   "the user's entry is a plain scrypt hash, from which S1 cannot be derived")
            return HashedPasswordResult(False, unverifiable=why)
        if kmip.algorithm != algorithm:
            return HashedPasswordResult(False, unverifiable=(
                f"the user's entry was made with {HASHED_PASSWORD_ALGORITHMS[kmip.algorithm][0]}, "
                f"not {HASHED_PASSWORD_ALGORITHMS[algorithm][0]}"))
        if not matches:
            return HashedPasswordResult(False)
        return HashedPasswordResult(True, server_hashed_password(algorithm, timestamp, kmip.s1, s2))


def _hash_options(args: list[str]) -> tuple[bool, int, str | None] | None:
    """(--hashed-password given, its algorithm, USERNAME) of C{hash-password}'s arguments, or
    C{None} when they are not valid."""
    kmip, algorithm = False, DEFAULT_HASHED_PASSWORD_ALGORITHM
    while args and args[0].startswith("--"):
        option = args.pop(0)
        if option == "--hashed-password":
            kmip = True
        elif option == "--algorithm" and args and args[0] in _ALGORITHM_BY_NAME:
            algorithm = _ALGORITHM_BY_NAME[args.pop(0)]
        else:
            return None
    if len(args) > 1 or (kmip and not args) or (algorithm != DEFAULT_HASHED_PASSWORD_ALGORITHM and not kmip):
        return None
    return kmip, algorithm, args[0] if args else None


def main_hash_password(
    argv: Sequence[str],
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """
    Print a password hash for a credential file.

    Usage: C{hash-password [--hashed-password [--algorithm NAME]] [USERNAME]}.  The password is
    read from the first line of standard input (without echo when it is a terminal).  With a
    USERNAME the output is a complete C{username:hash} line.  C{--hashed-password} makes the
    entry that also verifies KMIP 2.x Hashed Password credentials (L{hash_password_kmip}; it
    needs the USERNAME, which S1 and S2 include), for the Hashing Algorithm NAME (default
    SHA-256).

    @return: the process exit status.
    """
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    args = list(argv)
    usage = ("usage: kmipd-admin hash-password [--hashed-password [--algorithm NAME]] [USERNAME]\n\n"
             "Hash a password (the first line of stdin, or a prompt on a terminal) for the\n"
             "credentials_path file; with USERNAME, print a complete USERNAME:HASH line.\n"
             "--hashed-password: an entry that also verifies KMIP 2.x Hashed Password credentials\n"
             "(needs USERNAME; keeps S1 = Hash(username || password), weaker at rest than scrypt);\n"
             f"--algorithm: its Hashing Algorithm, one of {', '.join(_ALGORITHM_BY_NAME)} (default SHA-256).\n")
    if args and args[0] in ("-h", "--help"):
        stdout.write(usage)
        return 0
    options = _hash_options(args)
    if options is None:
        stderr.write(usage)
        return 2
    kmip, algorithm, username = options
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
    if kmip:
        assert username is not None
        hashed = hash_password_kmip(username, password, algorithm)
    else:
        hashed = hash_password(password)
    stdout.write(f"{username}:{hashed}\n" if username is not None else f"{hashed}\n")
    return 0
