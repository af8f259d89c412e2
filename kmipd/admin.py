# -*- test-case-name: tests.test_admin -*-
"""C{kmipd-admin}: offline administration of a kmipd installation.

  kmipd-admin db upgrade [--config F | --url URL]      create or upgrade the database schema
  kmipd-admin db current [--config F | --url URL]      show the schema revision
  kmipd-admin rotate-master-key [--config F] [--new-key-file P] [--batch-size N]
                                                       re-seal the database under a new master key (online)
  kmipd-admin hash-password [--hashed-password [--algorithm NAME]] [USERNAME]
                                                       hash a password for the credentials file
                                                       (--hashed-password: an entry that also verifies
                                                       KMIP 2.x Hashed Password credentials)
  kmipd-admin pki init [--hostname H] [--ip IP] [--force]   create (or replace) kmipd's CA and server certificate
  kmipd-admin pki issue-client NAME [--group G] [--out DIR] a client certificate and 0600 key signed by that CA
  kmipd-admin objects list [--type T] [--state S] [--owner O] [--name N] [--json]   metadata only
  kmipd-admin objects show UID [--json]                attributes of one object (never its key material)
  kmipd-admin import-pykmip PATH                       import a PyKMIP server's SQLite database (idempotent)
  kmipd-admin export FILE / import FILE                encrypted backup of the whole store, and its restore
  kmipd-admin check                                    configuration, certificates, database, master key
  kmipd-admin --version

Exit status: 0 success, 1 the command failed (or `check` found a problem), 2 bad usage or
configuration.

The database and master key come from the server configuration (C{database_url} /
C{database_path} / C{data_dir}, C{master_key_path}), exactly as C{twistd kmip} reads them.
Master-key rotation runs while servers keep serving (see L{kmipd.store.rotation}); if it is
interrupted, run it again to resume.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from typing import TextIO

from ._version import __version__
from .admin_commands import CommandFailed, add_commands, run
from .config import Config, ConfigError, load_config
from .store.engine import safe_url
from .store.interface import StoreError
from .store.masterkey import MasterKeyError
from .store.migrations import current, head_revision, upgrade
from .store.rotation import rotate_master_key

__all__ = ["main"]


class _UsageError(Exception):
    """Bad command line; the message is printed with the usage."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{self.format_usage()}{self.prog}: error: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise _Exit(status, message or "")


class _Exit(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message


def _parser() -> _Parser:
    parser = _Parser(prog="kmipd-admin", description="Administer a kmipd installation.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def add_config(p: argparse.ArgumentParser, url: bool) -> None:
        p.add_argument("--config", "-c", metavar="FILE", help="the kmipd server.conf")
        if url:
            p.add_argument("--url", metavar="URL", help="database URL (overrides the configuration)")

    db = sub.add_parser("db", help="database schema commands")
    db_sub = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", parser_class=_Parser)
    db_sub.required = True
    add_config(db_sub.add_parser("upgrade", help="create or upgrade the schema to this kmipd's revision"), True)
    add_config(db_sub.add_parser("current", help="show the database's schema revision"), True)

    rotate = sub.add_parser("rotate-master-key",
                            help="re-seal stored material under a new master key, online (rerun to resume)")
    add_config(rotate, False)
    rotate.add_argument("--new-key-file", metavar="PATH",
                        help="the new 32-byte key (default: generated at <master_key_path>.new)")
    rotate.add_argument("--batch-size", type=int, default=500, metavar="N", help="rows per transaction")

    sub.add_parser("hash-password", help="hash a password for the credentials file (reads stdin)",
                   add_help=False)
    parser.add_argument("--version", action="version", version=f"kmipd-admin (kmipd) {__version__}")
    add_commands(sub, add_config)
    return parser


def _config(args: argparse.Namespace) -> Config:
    return load_config(args.config)


def _url(args: argparse.Namespace) -> str:
    return args.url or _config(args).effective_database_url


def _db_upgrade(args: argparse.Namespace, out: TextIO) -> int:
    url = _url(args)
    before = current(url)
    head = head_revision()
    if before == head:
        out.write(f"database at {safe_url(url)} is already at revision {head}\n")
        return 0
    upgrade(url)
    out.write(f"database at {safe_url(url)} upgraded from {before or 'an empty database'} to {head}\n")
    return 0


def _db_current(args: argparse.Namespace, out: TextIO) -> int:
    url = _url(args)
    revision = current(url)
    head = head_revision()
    if revision is None:
        out.write(f"{safe_url(url)}: no schema (run `kmipd-admin db upgrade`); this kmipd needs {head}\n")
        return 1
    note = "up to date" if revision == head else f"this kmipd needs {head}: run `kmipd-admin db upgrade`"
    out.write(f"{revision} ({note})\n")
    return 0 if revision == head else 1


def _rotate(args: argparse.Namespace, out: TextIO) -> int:
    if args.batch_size < 1:
        raise _UsageError("kmipd-admin rotate-master-key: error: --batch-size must be at least 1")
    config = _config(args)
    url = config.effective_database_url
    revision = current(url)
    if revision != head_revision():
        raise StoreError(
            f"database at {safe_url(url)} has schema revision {revision}, this kmipd needs "
            f"{head_revision()}: run `kmipd-admin db upgrade` first"
        )
    key_path = config.effective_master_key_path

    def progress(done: int, total: int) -> None:
        out.write(f"re-sealed {done} of {total} objects\n")
        out.flush()

    result = rotate_master_key(url, key_path, args.new_key_file, batch_size=args.batch_size,
                               progress=progress)
    kept = (f"; the old key was kept at {result.old_key_path} (copy the new key file to every server, "
            "then destroy the old one once no backup needs it)" if result.old_key_path else "")
    out.write(
        f"re-encrypted {result.reencrypted} of {result.rows} objects; master key {result.new_key_id} is "
        f"current and its key file is at {key_path}{kept}\n"
    )
    return 0


def _hash_password(rest: Sequence[str], stdin: TextIO | None, stdout: TextIO, stderr: TextIO) -> int:
    try:
        from .auth.credentials import main_hash_password
    except ImportError:  # pragma: no cover - the auth package ships it
        stderr.write("kmipd-admin: hash-password is not available in this kmipd\n")
        return 2
    return main_hash_password(list(rest), stdin=stdin, stdout=stdout, stderr=stderr)


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run C{kmipd-admin} with C{argv} (default C{sys.argv[1:]}); return the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    if args_list[:1] == ["hash-password"]:
        return _hash_password(args_list[1:], stdin, out, err)
    try:
        with contextlib.redirect_stdout(out):  # --help
            args = _parser().parse_args(args_list)
        if args.command == "db":
            return (_db_upgrade if args.db_command == "upgrade" else _db_current)(args, out)
        if args.command != "rotate-master-key":
            return run(args, _config(args), out)
        return _rotate(args, out)
    except _Exit as e:
        (out if e.status == 0 else err).write(e.message)
        return e.status
    except _UsageError as e:
        err.write(f"{e}\n")
        return 2
    except ConfigError as e:
        err.write(f"kmipd-admin: configuration error: {e}\n")
        return 2
    except (StoreError, MasterKeyError) as e:
        err.write(f"kmipd-admin: {e}\n")
        return 1
    except CommandFailed as e:
        err.write(f"kmipd-admin: {e}\n")
        return e.status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
