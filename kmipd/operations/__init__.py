"""Operation handlers, registered in L{kmipd.operations.registry.REGISTRY} on import."""

from . import (
    asynchronous,  # noqa: F401
    attribute_ops,  # noqa: F401
    certificates,  # noqa: F401
    create,  # noqa: F401
    crypto_ops,  # noqa: F401
    derive,  # noqa: F401
    discovery,  # noqa: F401
    housekeeping,  # noqa: F401
    lifecycle,  # noqa: F401
    locate,  # noqa: F401
    rekey,  # noqa: F401
    retrieve,  # noqa: F401
    session,  # noqa: F401
    splitkey,  # noqa: F401
    transfer,  # noqa: F401
)
from .registry import REGISTRY, lookup, operation, operations_for

__all__ = ["REGISTRY", "lookup", "operation", "operations_for"]
