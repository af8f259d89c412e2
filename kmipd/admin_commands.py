# -*- test-case-name: tests.test_admin_objects -*-
"""The C{kmipd-admin} commands beyond the schema and the master key (see L{kmipd.admin})."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from .config import Config

__all__ = ["CommandFailed", "add_commands", "run"]

PASSPHRASE_ENV = "KMIPD_BACKUP_PASSPHRASE"


class CommandFailed(Exception):
    """A command could not do its work: the message is printed, the status returned."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def add_commands(sub: Any, add_config: Callable[[argparse.ArgumentParser, bool], None]) -> None:
    """Add C{pki}, C{objects}, C{import-pykmip}, C{export}, C{import} and C{check} to C{sub}."""
    pki = sub.add_parser("pki", help="kmipd's certificate authority and client certificates")
    pki_sub = pki.add_subparsers(dest="pki_command", metavar="PKI_COMMAND", parser_class=type(pki))
    pki_sub.required = True
    init = pki_sub.add_parser("init", help="create the CA and server certificate in <data_dir>/pki")
    add_config(init, False)
    init.add_argument("--hostname", action="append", default=[], metavar="NAME",
                      help="a DNS name for the server certificate (repeatable; default localhost)")
    init.add_argument("--ip", action="append", default=[], metavar="ADDRESS",
                      help="an IP address for the server certificate (repeatable; default 127.0.0.1, ::1)")
    init.add_argument("--force", action="store_true",
                      help="replace an existing CA (every client certificate it issued stops working)")
    issue = pki_sub.add_parser("issue-client", help="issue a client certificate (CN=NAME, clientAuth)")
    add_config(issue, False)
    issue.add_argument("name", metavar="NAME", help="the client identity (certificate CN)")
    issue.add_argument("--group", action="append", default=[], metavar="GROUP",
                       help="a group, written as an OU attribute: the client's group for policies when the "
                            "server has certificate_groups = True (repeatable)")
    issue.add_argument("--out", default=".", metavar="DIR", help="where NAME.pem and NAME.key go (default .)")
    issue.add_argument("--days", type=int, default=365, metavar="N", help="validity in days (default 365)")
    issue.add_argument("--ca-cert", metavar="PEM", help="the CA certificate (default: the configured CA)")
    issue.add_argument("--ca-key", metavar="PEM", help="the CA key (default: ca.key beside the CA certificate)")
    issue.add_argument("--force", action="store_true", help="replace existing files")

    objects = sub.add_parser("objects", help="list and inspect stored objects (metadata only)")
    obj_sub = objects.add_subparsers(dest="objects_command", metavar="OBJECTS_COMMAND", parser_class=type(objects))
    obj_sub.required = True
    listing = obj_sub.add_parser("list", help="list objects (filters combine)")
    add_config(listing, False)
    listing.add_argument("--type", metavar="TYPE", help="object type, e.g. SYMMETRIC_KEY")
    listing.add_argument("--state", metavar="STATE", help="state, e.g. ACTIVE")
    listing.add_argument("--owner", metavar="IDENTITY", help="owner identity")
    listing.add_argument("--name", metavar="NAME", help="a Name attribute value")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    show = obj_sub.add_parser("show", help="show one object's attributes")
    add_config(show, False)
    show.add_argument("uid", metavar="UID")
    show.add_argument("--json", action="store_true", help="JSON output")

    imp = sub.add_parser("import-pykmip", help="import a PyKMIP server's SQLite database (read-only, idempotent)")
    add_config(imp, False)
    imp.add_argument("path", metavar="PATH", help="the PyKMIP database file (its database_path)")

    for command, text in (("export", "write an encrypted backup of every object"),
                          ("import", "restore an encrypted backup (existing objects are kept)")):
        p = sub.add_parser(command, help=text)
        add_config(p, False)
        p.add_argument("file", metavar="FILE")
        p.add_argument("--passphrase-file", metavar="PATH",
                       help=f"file holding the backup passphrase (default: ${PASSPHRASE_ENV})")

    add_config(sub.add_parser("check", help="check configuration, certificates, database and master key"), False)


def _passphrase(args: argparse.Namespace) -> bytes:
    if args.passphrase_file:
        try:
            with open(args.passphrase_file, "rb") as f:
                value = f.read().rstrip(b"\r\n")
        except OSError as e:
            raise CommandFailed(f"--passphrase-file: {e.strerror or e}", 2) from None
    else:
        value = os.environ.get(PASSPHRASE_ENV, "").encode()
    if len(value) < 12:
        raise CommandFailed(f"a backup passphrase of at least 12 characters is needed (--passphrase-file or "
                            f"${PASSPHRASE_ENV})", 2)
    return value


def _pki(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    from .admin_pki import PKIError, init_pki, issue_client

    try:
        if args.pki_command == "init":
            pki = init_pki(config, hostnames=args.hostname, ips=args.ip, force=args.force)
            out.write(f"CA: {pki.ca_cert} (key {pki.ca_key}, keep it offline or 0600)\n"
                      f"server: {pki.server_cert} {pki.server_key}\n"
                      f"in server.conf: certificate_path={pki.server_cert} key_path={pki.server_key} "
                      f"ca_path={pki.ca_cert}\n")
            return 0
        if args.days < 1:
            raise CommandFailed("--days must be at least 1", 2)
        issued = issue_client(config, args.name, groups=args.group, out_dir=args.out, days=args.days,
                              ca_cert=args.ca_cert, ca_key=args.ca_key, force=args.force)
    except PKIError as e:
        raise CommandFailed(str(e)) from None
    out.write(f"{issued.cert_path}\n{issued.key_path}\nvalid until {issued.not_after:%Y-%m-%d}\n")
    return 0


def _open(config: Config) -> Any:
    from .admin_objects import open_store
    from .store.masterkey import MasterKeyError

    try:
        return open_store(config)
    except MasterKeyError as e:
        raise CommandFailed(str(e)) from None


def _objects(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    from .admin_objects import list_objects, show_object

    store = _open(config)
    try:
        if args.objects_command == "show":
            shown = show_object(store, args.uid)
            if shown is None:
                raise CommandFailed(f"no object {args.uid!r}")
            if args.json:
                out.write(json.dumps(shown, indent=2, default=str) + "\n")
            else:
                for key in ("uid", "object_type", "owner", "archived", "created", "has_material"):
                    out.write(f"{key}: {shown[key]}\n")
                for name, values in shown["attributes"].items():
                    for value in values:
                        out.write(f"  {name}: {json.dumps(value, default=str)}\n")
            return 0
        try:
            rows = list_objects(store, object_type=args.type, state=args.state, owner=args.owner, name=args.name)
        except ValueError as e:
            raise CommandFailed(str(e), 2) from None
        for row in rows:
            if args.json:
                out.write(json.dumps(row.as_dict()) + "\n")
            else:
                out.write(f"{row.uid}\t{row.object_type}\t{row.state}\t{row.owner or '-'}\t"
                          f"{','.join(row.names) or '-'}\n")
        return 0
    finally:
        store.close()


def _import_pykmip(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    from .admin_objects import open_store
    from .pykmip_import import import_pykmip

    if not os.path.isfile(args.path):
        raise CommandFailed(f"{args.path}: no such file")
    url = config.effective_database_url
    if url.startswith("sqlite:///"):
        own = url[len("sqlite:///"):].split("?", 1)[0]
        if os.path.exists(own) and os.path.samefile(own, args.path):
            raise CommandFailed(f"{args.path} is PyKMIP's database and also kmipd's configured database: give kmipd "
                                "a database of its own (database_url, or remove database_path) and run this again", 2)
    try:
        store = open_store(config, create_key=True)
    except Exception as e:
        raise CommandFailed(str(e)) from None
    try:
        report = import_pykmip(args.path, store, now=int(time.time()))
    except ValueError as e:
        raise CommandFailed(str(e)) from None
    finally:
        store.close()
    for line in report.lines():
        out.write(line + "\n")
    return 1 if report.failed or report.conflicts else 0


def _backup(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    from .admin_objects import BackupError, export_backup, import_backup

    passphrase = _passphrase(args)
    store = _open(config)
    try:
        if args.command == "export":
            try:
                count = export_backup(store, args.file, passphrase)
            except FileExistsError:
                raise CommandFailed(f"{args.file} exists (a backup is never overwritten)") from None
            out.write(f"exported {count} objects to {args.file}\n")
        else:
            try:
                added, present = import_backup(store, args.file, passphrase)
            except (BackupError, OSError) as e:
                raise CommandFailed(str(e)) from None
            out.write(f"restored {added} objects; {present} were already present\n")
        return 0
    finally:
        store.close()


def _check(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    from .admin_objects import check

    return check(config, out)


_COMMANDS: dict[str, Callable[[argparse.Namespace, Config, TextIO], int]] = {
    "pki": _pki, "objects": _objects, "import-pykmip": _import_pykmip, "export": _backup, "import": _backup,
    "check": _check,
}


def run(args: argparse.Namespace, config: Config, out: TextIO | None = None) -> int:
    """Run the parsed command C{args.command} with C{config}."""
    return _COMMANDS[args.command](args, config, out or sys.stdout)
