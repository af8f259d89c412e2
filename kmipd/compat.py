# -*- test-case-name: tests.test_compat_clients -*-
"""Where kmipd deliberately departs from the strict reading of the spec: the table of real clients'
known deviations it accepts, and the C{[server] compatibility = pykmip} mode.

Client habits: one table.

kmipd is strict in what it accepts (L{kmipd.messages.schema}: unknown, repeated, missing and
mistyped fields are refused), except for the habits below, each seen in a real client, each
narrow, each applied in one named place and shown by a test that sends that client's request.
A deviation not in this table is refused; adding one means adding a row, the code that applies it
(which names its row through L{row}, so a removed row fails at import) and the test.

PyKMIP mode: C{compatibility = kmip} (the default) follows the KMIP specification and the seed;
C{compatibility = pykmip} reproduces the PyKMIP server's deviations, each listed in
docs/compatibility.md. Handlers ask L{pykmip_mode}, which reads the typed setting
(L{kmipd.settings.Settings.compatibility}).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .spec import Tag
from .ttlv import Item, ItemType

if TYPE_CHECKING:
    from .context import RequestContext

__all__ = ["DEVIATIONS", "KMIP", "PYKMIP", "REVOKE_PREACTIVE_DEACTIVATE", "REVOKE_PREACTIVE_REFUSE", "Deviation",
           "pykmip_mode", "row", "with_index"]


@dataclass(frozen=True)
class Deviation:
    """One accepted client habit.

    @ivar key: the row's name, used by the code applying it.
    @ivar client: the client(s) it comes from.
    @ivar deviation: what the client sends that the spec does not say.
    @ivar accepted: what kmipd does with it (and what it still refuses).
    @ivar where: the code that applies it.
    @ivar test: the test that sends the client's request.
    """

    key: str
    client: str
    deviation: str
    accepted: str
    where: str
    test: str


DEVIATIONS: tuple[Deviation, ...] = (
    Deviation(
        key="fortios-locate-template-attribute",
        client="FortiOS 7.x (IPsec keys)",
        deviation="KMIP 1.0 Locate whose Attribute criteria arrive wrapped in a Template-Attribute "
                  "structure (a Create/Register shape), not as Attributes of the payload",
        accepted="1.x Locate: the Template-Attribute's Attributes are applied as criteria, like "
                 "bare Attributes (never dropped: a dropped criterion returns another key); a Name "
                 "child (a template reference) is Invalid Field",
        where="kmipd.messages.payloads SCHEMAS[LOCATE]; kmipd.operations.locate._attributes",
        test="tests.test_compat_clients.FortiOSLocateTests",
    ),
    Deviation(
        key="pykmip-locate-offset-items",
        client="PyKMIP client (every Locate)",
        deviation="Offset Items (a KMIP 1.3 field) in Locate requests of KMIP 1.0-1.2",
        accepted="applied: it has one meaning in every version (a field defined only later whose "
                 "meaning is unambiguous is accepted early); the 1.x response has no Located Items",
        where="kmipd.messages.payloads SCHEMAS[LOCATE] (early=True)",
        test="tests.test_compat_clients.PyKMIPLocateTests",
    ),
    Deviation(
        key="object-type-in-attributes",
        client="EDB TDE, and other 2.x clients that copy their 1.x template",
        deviation="KMIP 2.x Create/Register whose Attributes also carry Object Type (a "
                  "server-managed attribute) next to the payload's Object Type",
        accepted="accepted and dropped when equal to the payload's Object Type; a different Object "
                 "Type is Invalid Field",
        where="kmipd.operations.create._template",
        test="tests.test_compat_clients.ObjectTypeInAttributesTests",
    ),
    Deviation(
        key="operation-policy-name-after-creation",
        client="VAST Data (1.x marks Operation Policy Name client-modifiable)",
        deviation="Add/Modify (2.x: Set) Attribute of Operation Policy Name after creation",
        accepted="allowed for the object's owner, to a policy that exists, when the object's current "
                 "policy allows Add/Modify Attribute; an Add replaces the server's default policy "
                 "(which GetAttributes does not show); others get Permission Denied or Invalid Field",
        where="kmipd.operations.attribute_ops._operation_policy_change",
        test="tests.test_compat_clients.OperationPolicyNameTests",
    ),
    Deviation(
        key="revoke-preactive",
        client="Percona keyring, PyKMIP scripts",
        deviation="Revoke with a non-compromise reason of a key that was never activated "
                  "(the seed refuses it: only an Active object is revoked for such a reason)",
        accepted="refused by default (Illegal Operation); with [server] revoke_preactive = deactivate "
                 "the Pre-Active key moves to Deactivated, with its Revocation Reason and a "
                 "Deactivation Date",
        where="kmipd.operations.lifecycle.revoke; kmipd.config revoke_preactive",
        test="tests.test_compat_clients.RevokePreActiveTests",
    ),
)

_BY_KEY = {d.key: d for d in DEVIATIONS}

#: C{[server] revoke_preactive} values.
REVOKE_PREACTIVE_REFUSE = "refuse"
REVOKE_PREACTIVE_DEACTIVATE = "deactivate"


def row(key: str) -> Deviation:
    """The row named C{key} (L{KeyError} if there is none: code applying a deviation names it)."""
    return _BY_KEY[key]


# The [server] compatibility setting. ----------------------------------------------------------------------

#: The modes (the values of C{[server] compatibility}).
KMIP = "kmip"
PYKMIP = "pykmip"


def pykmip_mode(ctx: RequestContext) -> bool:
    """True when the server runs with C{compatibility = pykmip}."""
    return ctx.settings.compatibility == PYKMIP


def with_index(attribute: Item) -> Item:
    """A 1.x C{Attribute} structure with its Attribute Index, 0 when it was left out.

    The PyKMIP server sends the index of every attribute instance it returns, and PyKMIP's tests
    read it; kmipd omits index 0 by default (the OASIS vectors do).
    """
    if attribute.type != ItemType.STRUCTURE or attribute.find(Tag.ATTRIBUTE_INDEX) is not None:
        return attribute
    children = list(attribute.value)
    at = next((i + 1 for i, c in enumerate(children) if c.tag == Tag.ATTRIBUTE_NAME), 0)
    children.insert(at, Item.int(Tag.ATTRIBUTE_INDEX, 0))
    return Item.struct(attribute.tag, children)
