# -*- test-case-name: tests.test_policy -*-
"""
The reserved, built-in operation policies C{default} and C{public}.

The rows reproduce, in order, the tables in the PyKMIP server documentation
("Reserved Operation Policies"), which follow the KMIP specification.  Pairs
that are not listed are Disallow All.  PyKMIP's implementation adds Set
Attribute rows (KMIP 2.0) that the tables omit; they are kept separate, and so are
kmipd's rows for the KMIP 2.x Certificate Request object the 1.x tables cannot have.  These names cannot be redefined by
policy files (see L{kmipd.policy.model.PolicyEngine.set_source}).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from kmipd.policy.values import Permission, Policy, table_from_rows
from kmipd.spec import ObjectType as OT
from kmipd.spec import Operation as Op

__all__ = [
    "BUILTIN_POLICIES",
    "CERTIFICATE_REQUEST_DEFAULT_ROWS",
    "CERTIFICATE_REQUEST_PUBLIC_ROWS",
    "DEFAULT_POLICY_NAME",
    "DEFAULT_ROWS",
    "DEFAULT_SET_ATTRIBUTE_ROWS",
    "PUBLIC_POLICY_NAME",
    "PUBLIC_ROWS",
    "PUBLIC_SET_ATTRIBUTE_ROWS",
    "RESERVED_POLICY_NAMES",
]

ALLOW_ALL = Permission.ALLOW_ALL
ALLOW_OWNER = Permission.ALLOW_OWNER
DISALLOW_ALL = Permission.DISALLOW_ALL

DEFAULT_POLICY_NAME = "default"
PUBLIC_POLICY_NAME = "public"

Row = tuple[OT, Op, Permission]

# The documented table gives these six object types the same rows, all Allow Owner.
_OWNER_OPERATIONS: tuple[Op, ...] = (
    Op.RE_KEY,
    Op.RE_KEY_KEY_PAIR,
    Op.DERIVE_KEY,
    Op.LOCATE,
    Op.CHECK,
    Op.GET,
    Op.GET_ATTRIBUTES,
    Op.GET_ATTRIBUTE_LIST,
    Op.ADD_ATTRIBUTE,
    Op.MODIFY_ATTRIBUTE,
    Op.DELETE_ATTRIBUTE,
    Op.OBTAIN_LEASE,
    Op.GET_USAGE_ALLOCATION,
    Op.ACTIVATE,
    Op.REVOKE,
    Op.DESTROY,
    Op.ARCHIVE,
    Op.RECOVER,
)


def _owner_rows(object_type: OT) -> tuple[Row, ...]:
    """The documented rows of a key-like object type: every operation above, Allow Owner."""
    return tuple((object_type, operation, ALLOW_OWNER) for operation in _OWNER_OPERATIONS)


DEFAULT_ROWS: tuple[Row, ...] = (
    (OT.CERTIFICATE, Op.LOCATE, ALLOW_ALL),
    (OT.CERTIFICATE, Op.CHECK, ALLOW_ALL),
    (OT.CERTIFICATE, Op.GET, ALLOW_ALL),
    (OT.CERTIFICATE, Op.GET_ATTRIBUTES, ALLOW_ALL),
    (OT.CERTIFICATE, Op.GET_ATTRIBUTE_LIST, ALLOW_ALL),
    (OT.CERTIFICATE, Op.ADD_ATTRIBUTE, ALLOW_OWNER),
    (OT.CERTIFICATE, Op.MODIFY_ATTRIBUTE, ALLOW_OWNER),
    (OT.CERTIFICATE, Op.DELETE_ATTRIBUTE, ALLOW_OWNER),
    (OT.CERTIFICATE, Op.OBTAIN_LEASE, ALLOW_ALL),
    (OT.CERTIFICATE, Op.ACTIVATE, ALLOW_OWNER),
    (OT.CERTIFICATE, Op.REVOKE, ALLOW_OWNER),
    (OT.CERTIFICATE, Op.DESTROY, ALLOW_OWNER),
    (OT.CERTIFICATE, Op.ARCHIVE, ALLOW_OWNER),
    (OT.CERTIFICATE, Op.RECOVER, ALLOW_OWNER),
    *_owner_rows(OT.SYMMETRIC_KEY),
    (OT.PUBLIC_KEY, Op.LOCATE, ALLOW_ALL),
    (OT.PUBLIC_KEY, Op.CHECK, ALLOW_ALL),
    (OT.PUBLIC_KEY, Op.GET, ALLOW_ALL),
    (OT.PUBLIC_KEY, Op.GET_ATTRIBUTES, ALLOW_ALL),
    (OT.PUBLIC_KEY, Op.GET_ATTRIBUTE_LIST, ALLOW_ALL),
    (OT.PUBLIC_KEY, Op.ADD_ATTRIBUTE, ALLOW_OWNER),
    (OT.PUBLIC_KEY, Op.MODIFY_ATTRIBUTE, ALLOW_OWNER),
    (OT.PUBLIC_KEY, Op.DELETE_ATTRIBUTE, ALLOW_OWNER),
    (OT.PUBLIC_KEY, Op.OBTAIN_LEASE, ALLOW_ALL),
    (OT.PUBLIC_KEY, Op.ACTIVATE, ALLOW_OWNER),
    (OT.PUBLIC_KEY, Op.REVOKE, ALLOW_OWNER),
    (OT.PUBLIC_KEY, Op.DESTROY, ALLOW_OWNER),
    (OT.PUBLIC_KEY, Op.ARCHIVE, ALLOW_OWNER),
    (OT.PUBLIC_KEY, Op.RECOVER, ALLOW_OWNER),
    *_owner_rows(OT.PRIVATE_KEY),
    *_owner_rows(OT.SPLIT_KEY),
    (OT.TEMPLATE, Op.LOCATE, ALLOW_OWNER),
    (OT.TEMPLATE, Op.GET, ALLOW_OWNER),
    (OT.TEMPLATE, Op.GET_ATTRIBUTES, ALLOW_OWNER),
    (OT.TEMPLATE, Op.GET_ATTRIBUTE_LIST, ALLOW_OWNER),
    (OT.TEMPLATE, Op.ADD_ATTRIBUTE, ALLOW_OWNER),
    (OT.TEMPLATE, Op.MODIFY_ATTRIBUTE, ALLOW_OWNER),
    (OT.TEMPLATE, Op.DELETE_ATTRIBUTE, ALLOW_OWNER),
    (OT.TEMPLATE, Op.DESTROY, ALLOW_OWNER),
    *_owner_rows(OT.SECRET_DATA),
    *_owner_rows(OT.OPAQUE_OBJECT),
    *_owner_rows(OT.PGP_KEY),
)
"""The C{default} policy: (object type, operation, permission) rows."""

PUBLIC_ROWS: tuple[Row, ...] = (
    (OT.TEMPLATE, Op.LOCATE, ALLOW_ALL),
    (OT.TEMPLATE, Op.GET, ALLOW_ALL),
    (OT.TEMPLATE, Op.GET_ATTRIBUTES, ALLOW_ALL),
    (OT.TEMPLATE, Op.GET_ATTRIBUTE_LIST, ALLOW_ALL),
    (OT.TEMPLATE, Op.ADD_ATTRIBUTE, DISALLOW_ALL),
    (OT.TEMPLATE, Op.MODIFY_ATTRIBUTE, DISALLOW_ALL),
    (OT.TEMPLATE, Op.DELETE_ATTRIBUTE, DISALLOW_ALL),
    (OT.TEMPLATE, Op.DESTROY, DISALLOW_ALL),
)
"""The C{public} policy: (object type, operation, permission) rows."""

# Not in the documentation tables, but in PyKMIP's implementation
# (kmip/core/policy.py): KMIP 2.0 Set Attribute follows Modify Attribute, so
# owners can set attributes on their objects under ``default``.
DEFAULT_SET_ATTRIBUTE_ROWS: tuple[Row, ...] = tuple(
    (object_type, Op.SET_ATTRIBUTE, ALLOW_OWNER)
    for object_type in (
        OT.CERTIFICATE,
        OT.SYMMETRIC_KEY,
        OT.PUBLIC_KEY,
        OT.PRIVATE_KEY,
        OT.SPLIT_KEY,
        OT.TEMPLATE,
        OT.SECRET_DATA,
        OT.OPAQUE_OBJECT,
        OT.PGP_KEY,
    )
)
"""PyKMIP's extra C{default} rows: Set Attribute is Allow Owner."""

PUBLIC_SET_ATTRIBUTE_ROWS: tuple[Row, ...] = (
    (OT.TEMPLATE, Op.SET_ATTRIBUTE, DISALLOW_ALL),
)
"""PyKMIP's extra C{public} row (same effect as leaving the pair out)."""

# Not in the documentation tables, which are KMIP 1.x's: the KMIP 2.x Certificate Request object
# (spec 2.1 2.2). Least privilege, as for the other object types: under ``default`` only the owner
# may do anything with a request (read it, change its attributes, move it through its lifecycle,
# certify it); ``public`` lets everyone read it and no one change it, as for a public Template
# (a request is public data: a subject name and a public key, signed). Operations that do not
# apply to a request (Re-key, Derive Key, Obtain Lease, Get Usage Allocation, Check) have no row.
_CERTIFICATE_REQUEST_OWNER_OPERATIONS: tuple[Op, ...] = (
    Op.LOCATE,
    Op.GET,
    Op.GET_ATTRIBUTES,
    Op.GET_ATTRIBUTE_LIST,
    Op.ADD_ATTRIBUTE,
    Op.MODIFY_ATTRIBUTE,
    Op.DELETE_ATTRIBUTE,
    Op.SET_ATTRIBUTE,
    Op.ACTIVATE,
    Op.REVOKE,
    Op.DESTROY,
    Op.ARCHIVE,
    Op.RECOVER,
    Op.CERTIFY,
    Op.RE_CERTIFY,
)

CERTIFICATE_REQUEST_DEFAULT_ROWS: tuple[Row, ...] = tuple(
    (OT.CERTIFICATE_REQUEST, operation, ALLOW_OWNER) for operation in _CERTIFICATE_REQUEST_OWNER_OPERATIONS
)
"""The C{default} rows of the 2.x Certificate Request object: Allow Owner."""

CERTIFICATE_REQUEST_PUBLIC_ROWS: tuple[Row, ...] = tuple(
    (OT.CERTIFICATE_REQUEST, operation, ALLOW_ALL)
    for operation in (Op.LOCATE, Op.GET, Op.GET_ATTRIBUTES, Op.GET_ATTRIBUTE_LIST)
) + tuple(
    (OT.CERTIFICATE_REQUEST, operation, DISALLOW_ALL)
    for operation in (Op.ADD_ATTRIBUTE, Op.MODIFY_ATTRIBUTE, Op.DELETE_ATTRIBUTE, Op.SET_ATTRIBUTE, Op.DESTROY,
                      Op.CERTIFY, Op.RE_CERTIFY)
)
"""The C{public} rows of the 2.x Certificate Request object: everyone reads, no one changes."""

BUILTIN_POLICIES: Mapping[str, Policy] = MappingProxyType(
    {
        DEFAULT_POLICY_NAME: Policy(
            preset=table_from_rows(DEFAULT_ROWS + DEFAULT_SET_ATTRIBUTE_ROWS + CERTIFICATE_REQUEST_DEFAULT_ROWS)
        ),
        PUBLIC_POLICY_NAME: Policy(
            preset=table_from_rows(PUBLIC_ROWS + PUBLIC_SET_ATTRIBUTE_ROWS + CERTIFICATE_REQUEST_PUBLIC_ROWS)
        ),
    }
)
"""Reserved name -> built-in L{Policy} (preset only)."""

RESERVED_POLICY_NAMES: frozenset[str] = frozenset(BUILTIN_POLICIES)
"""Policy names that policy files can never define."""
