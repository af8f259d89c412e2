# -*- test-case-name: tests.test_policy -*-
"""
Operation policy evaluation (object type x operation x identity/groups).

A L{Policy} is a C{preset} table and an optional C{groups} mapping of group
name to table.  A table maps C{(object_type, operation)} (KMIP enumeration
values, as ints) to a L{Permission}.  L{PolicyEngine} holds the reserved
built-in policies plus user policies contributed by named I{sources} (policy
files), resolves name collisions between sources, and answers
L{PolicyEngine.is_allowed} with dict lookups only.

Semantics follow the PyKMIP server documentation ("Access Control"):

  - unknown policy name: denied;
  - an (object type, operation) pair the relevant table does not cover:
    Disallow All;
  - group information available (C{groups is not None}) and the policy has
    C{groups}: the most permissive control among the user's groups that
    cover the pair is used; a user in none of the listed groups is denied;
  - otherwise C{preset} is used; a policy with only C{groups} and a user
    without group information is denied;
  - Allow Owner: allowed only when the identity equals the object's owner
    and both are known.

Collisions: when a policy name is defined by several sources, the most
recently (re)defined definition is in effect and the others are cached (a
source re-submitting an unchanged definition keeps its place); when
the effective source is removed or stops defining the name, the most recent
remaining definition is restored (PyKMIP's monitor behaviour).  The reserved
names (C{default}, C{public}) can never be (re)defined by a source.

Thread safety: mutations happen on one thread (the reactor) and publish a new
name->policy dict with a single assignment, so L{PolicyEngine.is_allowed} may
be called from any thread without locking.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from kmipd.log import Logger
from kmipd.policy.builtin import BUILTIN_POLICIES
from kmipd.policy.values import Permission, Policy, Table, table_from_rows

__all__ = [
    "Permission",
    "Policy",
    "PolicyEngine",
    "Table",
    "table_from_rows",
]

_log = Logger()


class PolicyEngine:
    """
    Named operation policies: reserved built-ins plus per-source user policies.
    """

    def __init__(self, builtins: Mapping[str, Policy] | None = None) -> None:
        """
        @param builtins: the reserved policies; defaults to
            L{kmipd.policy.builtin.BUILTIN_POLICIES} (C{default}, C{public}).
        """
        if builtins is None:
            builtins = BUILTIN_POLICIES
        self._builtins: dict[str, Policy] = dict(builtins)
        # name -> {source: policy}, insertion order = definition order; the
        # last entry is the effective one.
        self._definitions: dict[str, dict[str, Policy]] = {}
        # source -> names it currently defines
        self._by_source: dict[str, frozenset[str]] = {}
        self._effective: Mapping[str, Policy] = MappingProxyType(dict(self._builtins))

    @property
    def reserved_names(self) -> frozenset[str]:
        """Names that sources can never define."""
        return frozenset(self._builtins)

    def get(self, name: str) -> Policy | None:
        """The policy currently in effect under C{name}, or L{None}."""
        return self._effective.get(name)

    def names(self) -> frozenset[str]:
        """All policy names currently in effect."""
        return frozenset(self._effective)

    def source_of(self, name: str) -> str | None:
        """The source whose definition of C{name} is in effect (L{None} for
        built-ins and unknown names)."""
        definitions = self._definitions.get(name)
        if not definitions:
            return None
        return next(reversed(definitions))

    def sources(self) -> frozenset[str]:
        """Sources that currently contribute at least one policy."""
        return frozenset(source for source, names in self._by_source.items() if names)

    def set_source(self, source: str, policies: Mapping[str, Policy]) -> None:
        """
        Replace everything C{source} defines with C{policies}.

        Each name C{source} defines becomes the effective definition (the
        previous one is cached); names C{source} no longer defines are
        withdrawn, restoring cached definitions.  Reserved names are logged
        and ignored.
        """
        accepted: dict[str, Policy] = {}
        for name, policy in policies.items():
            if name in self._builtins:
                _log.warn(
                    "Policy {policy_name!r} in {source} would redefine a reserved "
                    "built-in policy; ignored.",
                    policy_name=name,
                    source=source,
                )
                continue
            accepted[name] = policy
        for name in self._by_source.get(source, frozenset()) - accepted.keys():
            self._withdraw(name, source)
        for name, policy in accepted.items():
            definitions = self._definitions.setdefault(name, {})
            if definitions.get(source) == policy:
                # Unchanged definition: keep its place in the collision order.
                continue
            definitions.pop(source, None)
            definitions[source] = policy
        if accepted:
            self._by_source[source] = frozenset(accepted)
        else:
            self._by_source.pop(source, None)
        self._publish()

    def remove_source(self, source: str) -> None:
        """Withdraw every definition contributed by C{source}."""
        for name in self._by_source.pop(source, frozenset()):
            self._withdraw(name, source)
        self._publish()

    def _withdraw(self, name: str, source: str) -> None:
        definitions = self._definitions.get(name)
        if definitions is None:
            return
        definitions.pop(source, None)
        if not definitions:
            del self._definitions[name]

    def _publish(self) -> None:
        effective = {
            name: definitions[next(reversed(definitions))]
            for name, definitions in self._definitions.items()
        }
        effective.update(self._builtins)
        self._effective = MappingProxyType(effective)

    def is_allowed(
        self,
        policy_name: str | None,
        object_type: int,
        operation: int,
        identity: str | None,
        groups: tuple[str, ...] | None,
        owner: str | None,
    ) -> bool:
        """
        Whether C{identity} (member of C{groups}, or L{None} when group
        information is unavailable) may perform C{operation} on an object of
        C{object_type} owned by C{owner} under policy C{policy_name}.
        """
        if policy_name is None:
            return False
        policy = self._effective.get(policy_name)
        if policy is None:
            return False
        permission = policy.permission_for(object_type, operation, groups)
        if permission is Permission.ALLOW_ALL:
            return True
        if permission is Permission.ALLOW_OWNER:
            return identity is not None and owner is not None and identity == owner
        return False
