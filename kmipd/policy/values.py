# -*- test-case-name: tests.test_policy -*-
"""Operation policy values: L{Permission}, the (object type, operation) L{Table} and L{Policy}.

Plain values shared by the built-in policies (L{kmipd.policy.builtin}), policy files
(L{kmipd.policy.loader}) and the engine (L{kmipd.policy.model.PolicyEngine}).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["Permission", "Policy", "Table", "table_from_rows"]


class Permission(enum.IntEnum):
    """
    KMIP operation policy permissions.  Lower value is more permissive, so
    C{min()} picks the most permissive control.
    """

    ALLOW_ALL = 1
    ALLOW_OWNER = 2
    DISALLOW_ALL = 3


Table = Mapping[tuple[int, int], Permission]
"""(object type, operation) -> permission; missing pairs mean Disallow All."""


def table_from_rows(rows: Iterable[tuple[int, int, Permission]]) -> Table:
    """
    Build a read-only table from C{(object_type, operation, permission)} rows.

    @raise ValueError: if a pair appears twice with different permissions.
    """
    table: dict[tuple[int, int], Permission] = {}
    for object_type, operation, permission in rows:
        key = (int(object_type), int(operation))
        previous = table.get(key)
        if previous is not None and previous != permission:
            raise ValueError(
                f"conflicting permissions for object type {key[0]} "
                f"operation {key[1]}: {previous.name} and {permission.name}"
            )
        table[key] = Permission(permission)
    return MappingProxyType(table)


@dataclass(frozen=True)
class Policy:
    """
    One named operation policy.

    @ivar preset: the table used when no group information is available (or
        the policy has no C{groups}); L{None} if the policy defines none.
    @ivar groups: group name -> table, or L{None}.
    """

    preset: Table | None = None
    groups: Mapping[str, Table] | None = None

    def permission_for(
        self,
        object_type: int,
        operation: int,
        groups: tuple[str, ...] | None,
    ) -> Permission:
        """
        The effective permission for the pair, given the caller's groups
        (L{None} when group information is unavailable).
        """
        key = (object_type, operation)
        if groups is not None and self.groups is not None:
            best = Permission.DISALLOW_ALL
            group_tables = self.groups
            for group in groups:
                table = group_tables.get(group)
                if table is not None:
                    permission = table.get(key)
                    if permission is not None and permission < best:
                        best = permission
            return best
        if self.preset is None:
            return Permission.DISALLOW_ALL
        return self.preset.get(key, Permission.DISALLOW_ALL)
