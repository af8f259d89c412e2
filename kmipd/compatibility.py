# -*- test-case-name: tests.operations.test_compatibility -*-
"""The C{[server] compatibility} setting: where kmipd answers as the PyKMIP server does.

C{compatibility = kmip} (the default) follows the KMIP specification and the seed;
C{compatibility = pykmip} reproduces the PyKMIP server's deviations, each listed in
docs/compatibility.md. Handlers ask L{pykmip_mode}, which reads the typed setting
(L{kmipd.settings.Settings.compatibility}).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .spec import Tag
from .ttlv import Item, ItemType

if TYPE_CHECKING:
    from .context import RequestContext

__all__ = ["KMIP", "PYKMIP", "pykmip_mode", "with_index"]

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
