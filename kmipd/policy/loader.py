# -*- test-case-name: tests.test_policy -*-
"""
PyKMIP-format JSON operation policy files.

A file maps policy names to either::

    {"preset": {OBJECT_TYPE: {OPERATION: PERMISSION, ...}, ...},
     "groups": {GROUP: {OBJECT_TYPE: {OPERATION: PERMISSION, ...}, ...}, ...}}

(either section optional) or, the legacy PyKMIP form, directly to
C{{OBJECT_TYPE: {OPERATION: PERMISSION}}} (read as C{preset}).  Names are
PyKMIP enumeration member names (C{"SYMMETRIC_KEY"}, C{"GET"},
C{"ALLOW_OWNER"}).  As in PyKMIP, a policy mapped to an empty object is
skipped, and an empty C{preset} or C{groups} section counts as absent.
Unlike PyKMIP, duplicate keys in one JSON object are rejected (the winner
would be ambiguous).

Everything here is blocking and thread-safe (no shared state): call it from
a thread pool, never from the reactor thread.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from kmipd.policy.model import Permission, Policy, Table
from kmipd.spec import ObjectType, Operation

__all__ = [
    "MAX_POLICY_FILE_SIZE",
    "OBJECT_TYPE_NAMES",
    "OPERATION_NAMES",
    "PERMISSION_NAMES",
    "PolicyFileError",
    "load_policy_file",
    "parse_policies",
]

MAX_POLICY_FILE_SIZE = 16 * 1024 * 1024
"""Policy files larger than this are rejected rather than read."""


class PolicyFileError(Exception):
    """A policy file (or the policy directory) cannot be read or is invalid."""


# PyKMIP enum member name -> KMIP enumeration value (kmip.core.enums).
_PYKMIP_OBJECT_TYPES: dict[str, int] = {
    "CERTIFICATE": 0x01,
    "SYMMETRIC_KEY": 0x02,
    "PUBLIC_KEY": 0x03,
    "PRIVATE_KEY": 0x04,
    "SPLIT_KEY": 0x05,
    "TEMPLATE": 0x06,
    "SECRET_DATA": 0x07,
    "OPAQUE_DATA": 0x08,
    "PGP_KEY": 0x09,
    "CERTIFICATE_REQUEST": 0x0A,
}

_PYKMIP_OPERATIONS: dict[str, int] = {
    "CREATE": 0x01,
    "CREATE_KEY_PAIR": 0x02,
    "REGISTER": 0x03,
    "REKEY": 0x04,
    "DERIVE_KEY": 0x05,
    "CERTIFY": 0x06,
    "RECERTIFY": 0x07,
    "LOCATE": 0x08,
    "CHECK": 0x09,
    "GET": 0x0A,
    "GET_ATTRIBUTES": 0x0B,
    "GET_ATTRIBUTE_LIST": 0x0C,
    "ADD_ATTRIBUTE": 0x0D,
    "MODIFY_ATTRIBUTE": 0x0E,
    "DELETE_ATTRIBUTE": 0x0F,
    "OBTAIN_LEASE": 0x10,
    "GET_USAGE_ALLOCATION": 0x11,
    "ACTIVATE": 0x12,
    "REVOKE": 0x13,
    "DESTROY": 0x14,
    "ARCHIVE": 0x15,
    "RECOVER": 0x16,
    "VALIDATE": 0x17,
    "QUERY": 0x18,
    "CANCEL": 0x19,
    "POLL": 0x1A,
    "NOTIFY": 0x1B,
    "PUT": 0x1C,
    "REKEY_KEY_PAIR": 0x1D,
    "DISCOVER_VERSIONS": 0x1E,
    "ENCRYPT": 0x1F,
    "DECRYPT": 0x20,
    "SIGN": 0x21,
    "SIGNATURE_VERIFY": 0x22,
    "MAC": 0x23,
    "MAC_VERIFY": 0x24,
    "RNG_RETRIEVE": 0x25,
    "RNG_SEED": 0x26,
    "HASH": 0x27,
    "CREATE_SPLIT_KEY": 0x28,
    "JOIN_SPLIT_KEY": 0x29,
    "IMPORT": 0x2A,
    "EXPORT": 0x2B,
    "LOG": 0x2C,
    "LOGIN": 0x2D,
    "LOGOUT": 0x2E,
    "DELEGATED_LOGIN": 0x2F,
    "ADJUST_ATTRIBUTE": 0x30,
    "SET_ATTRIBUTE": 0x31,
    "SET_ENDPOINT_ROLE": 0x32,
    "PKCS_11": 0x33,
    "INTEROP": 0x34,
    "REPROVISION": 0x35,
}


def _resolve(enum_type: Any, names: Mapping[str, int]) -> Mapping[str, Any]:
    values = {member.value for member in enum_type}
    return MappingProxyType(
        {name: enum_type(value) for name, value in names.items() if value in values}
    )


OBJECT_TYPE_NAMES: Mapping[str, ObjectType] = _resolve(ObjectType, _PYKMIP_OBJECT_TYPES)
"""PyKMIP object type name -> L{kmipd.spec.ObjectType}."""

OPERATION_NAMES: Mapping[str, Operation] = _resolve(Operation, _PYKMIP_OPERATIONS)
"""PyKMIP operation name -> L{kmipd.spec.Operation}."""

PERMISSION_NAMES: Mapping[str, Permission] = MappingProxyType(
    {member.name: member for member in Permission}
)
"""PyKMIP policy name -> L{Permission}."""

_SECTIONS = frozenset({"preset", "groups"})


def _where(path: str, keys: tuple[str, ...]) -> str:
    if not keys:
        return f"policy file {path}"
    return f"policy file {path}, at " + " > ".join(repr(k) for k in keys)


def _expect_object(value: Any, path: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PolicyFileError(
            f"{_where(path, keys)}: expected a JSON object, got {type(value).__name__}"
        )
    return value


def _parse_table(value: Any, path: str, keys: tuple[str, ...]) -> Table:
    table: dict[tuple[int, int], Permission] = {}
    for type_name, operations in _expect_object(value, path, keys).items():
        type_keys = keys + (type_name,)
        object_type = OBJECT_TYPE_NAMES.get(type_name)
        if object_type is None:
            raise PolicyFileError(
                f"{_where(path, type_keys)}: unknown object type {type_name!r}"
            )
        for operation_name, permission_name in _expect_object(
            operations, path, type_keys
        ).items():
            op_keys = type_keys + (operation_name,)
            operation = OPERATION_NAMES.get(operation_name)
            if operation is None:
                raise PolicyFileError(
                    f"{_where(path, op_keys)}: unknown operation {operation_name!r}"
                )
            permission = (
                PERMISSION_NAMES.get(permission_name)
                if isinstance(permission_name, str)
                else None
            )
            if permission is None:
                raise PolicyFileError(
                    f"{_where(path, op_keys)}: unknown permission {permission_name!r} "
                    f"(expected one of {', '.join(PERMISSION_NAMES)})"
                )
            table[(int(object_type), int(operation))] = permission
    return MappingProxyType(table)


def _parse_policy(value: Any, path: str, name: str) -> Policy | None:
    body = _expect_object(value, path, (name,))
    if not body:
        return None
    sections = set(body)
    if sections <= _SECTIONS:
        preset = None
        groups = None
        preset_body = _expect_object(body.get("preset", {}), path, (name, "preset"))
        if preset_body:
            preset = _parse_table(preset_body, path, (name, "preset"))
        group_body = _expect_object(body.get("groups", {}), path, (name, "groups"))
        if group_body:
            groups = MappingProxyType(
                {
                    group: _parse_table(table, path, (name, "groups", group))
                    for group, table in group_body.items()
                }
            )
        return Policy(preset=preset, groups=groups)
    if sections <= OBJECT_TYPE_NAMES.keys():
        return Policy(preset=_parse_table(body, path, (name,)))
    invalid = sorted(sections - _SECTIONS - OBJECT_TYPE_NAMES.keys())
    raise PolicyFileError(
        f"{_where(path, (name,))}: invalid section {invalid[0]!r} "
        "(expected 'preset' and/or 'groups', or object type names)"
    )


def parse_policies(document: Any, path: str = "<string>") -> dict[str, Policy]:
    """
    Validate a decoded policy document and build its policies.

    @param path: the file name used in error messages.
    @raise PolicyFileError: on any structural problem or unknown name.
    """
    result: dict[str, Policy] = {}
    for name, value in _expect_object(document, path, ()).items():
        if not name:
            raise PolicyFileError(f"{_where(path, ())}: empty policy name")
        policy = _parse_policy(value, path, name)
        if policy is not None:
            result[name] = policy
    return result


def _no_duplicates(path: str) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise PolicyFileError(f"{_where(path, ())}: duplicate key {key!r}")
            result[key] = value
        return result

    return hook


def load_policy_file(path: str | os.PathLike[str]) -> dict[str, Policy]:
    """
    Read and validate one PyKMIP-format policy file (blocking).

    @return: policy name -> L{Policy}; may include reserved names, which the
        caller (L{kmipd.policy.model.PolicyEngine}) ignores.
    @raise PolicyFileError: naming the file and the offending key.
    """
    path = os.fsdecode(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_POLICY_FILE_SIZE + 1)
    except OSError as e:
        raise PolicyFileError(
            f"policy file {path}: cannot read: {e.strerror or e}"
        ) from e
    if len(raw) > MAX_POLICY_FILE_SIZE:
        raise PolicyFileError(
            f"policy file {path}: larger than {MAX_POLICY_FILE_SIZE} bytes"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise PolicyFileError(f"policy file {path}: not UTF-8: {e}") from e
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicates(path))
    except json.JSONDecodeError as e:
        raise PolicyFileError(
            f"policy file {path}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"
        ) from e
    except RecursionError as e:
        raise PolicyFileError(f"policy file {path}: JSON nested too deeply") from e
    return parse_policies(document, path)
