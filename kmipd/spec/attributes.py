"""KMIP attribute rules (who sets, modifies, deletes; object types; versions) as keyword data.

Built from ``ATTRIBUTE_RULES`` in :mod:`kmipd.spec._generated`, which ``tools/gen_spec.py`` reads
from each spec's "<Attribute> Attribute Rules" tables (sections 3.x in 1.x, 4.x in 2.x).  Where
versions disagree, the newest version's rules win; ``versions`` lists every version with a rule
table for the attribute.  Keys are the 1.x attribute names ("Cryptographic Algorithm", "Name").
"""

from __future__ import annotations

from dataclasses import dataclass

from kmipd.spec._generated import ATTRIBUTE_RULES, VERSIONS, ObjectType

__all__ = ["ATTRIBUTES", "AttributeSpec", "attribute_by_tag"]


@dataclass(frozen=True, kw_only=True)
class AttributeSpec:
    """Rules for one KMIP attribute.

    ``object_types`` empty means the attribute applies to all object types.  ``initially_set_by``
    holds ``'server'`` and/or ``'client'``.  ``server_only`` is true when a client may neither set
    the attribute initially nor modify it.  ``always_present`` is "SHALL always have a value".
    """

    name: str
    tag: int
    item_type: int
    multiple: bool
    versions: frozenset[tuple[int, int]]
    object_types: frozenset[ObjectType]
    initially_set_by: frozenset[str]
    modifiable_by_server: bool
    modifiable_by_client: bool
    deletable_by_client: bool
    server_only: bool
    always_present: bool = False

    def applies_to(self, object_type: int) -> bool:
        """True if the attribute may be set on an object of this type."""
        return not self.object_types or object_type in self.object_types

    def in_version(self, version: tuple[int, int]) -> bool:
        """True if the attribute is defined in that protocol version."""
        return tuple(version) in self.versions


def _build() -> dict[str, AttributeSpec]:
    out: dict[str, AttributeSpec] = {}
    for row in ATTRIBUTE_RULES:
        bits = int(row["versions"])  # type: ignore[call-overload]
        init = frozenset(row["initially_set_by"])  # type: ignore[call-overload]
        mod_client = bool(row["modifiable_by_client"])
        spec = AttributeSpec(
            name=str(row["name"]),
            tag=int(row["tag"]),  # type: ignore[call-overload]
            item_type=int(row["item_type"]),  # type: ignore[call-overload]
            multiple=bool(row["multiple"]),
            versions=frozenset(v for i, v in enumerate(VERSIONS) if bits & (1 << i)),
            object_types=frozenset(
                ObjectType[n]
                for n in row["object_types"]  # type: ignore[attr-defined]
            ),
            initially_set_by=init,
            modifiable_by_server=bool(row["modifiable_by_server"]),
            modifiable_by_client=mod_client,
            deletable_by_client=bool(row["deletable_by_client"]),
            server_only="client" not in init and not mod_client,
            always_present=bool(row["always_present"]),
        )
        out[spec.name] = spec
    return out


ATTRIBUTES: dict[str, AttributeSpec] = _build()
_BY_TAG: dict[int, AttributeSpec] = {a.tag: a for a in ATTRIBUTES.values()}


def attribute_by_tag(tag: int) -> AttributeSpec | None:
    """The attribute whose value carries this tag, or None if the tag is not an attribute."""
    return _BY_TAG.get(int(tag))
