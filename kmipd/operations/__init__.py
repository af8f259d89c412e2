"""Operation handlers, registered in L{kmipd.operations.registry.REGISTRY} on import."""

from . import discovery  # noqa: F401
from .registry import REGISTRY, lookup, operation, operations_for

__all__ = ["REGISTRY", "lookup", "operation", "operations_for"]
