# -*- test-case-name: tests.crypto.test_errors -*-
"""
Errors raised by the cryptographic primitives layer.

Every failure leaves this package as a L{CryptoError} whose C{reason} is the
name of a KMIP Result Reason, so the dispatcher can translate it without
looking at the message.
"""

from __future__ import annotations

__all__ = [
    "CRYPTOGRAPHIC_FAILURE",
    "FEATURE_NOT_SUPPORTED",
    "INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK",
    "INVALID_CORRELATION_VALUE",
    "INVALID_FIELD",
    "INVALID_MESSAGE",
    "KEY_COMPRESSION_TYPE_NOT_SUPPORTED",
    "KEY_VALUE_NOT_PRESENT",
    "REASONS",
    "CryptoError",
    "CryptographicFailure",
    "InvalidField",
    "UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS",
    "Unsupported",
    "unsupported_or_invalid",
]

INVALID_FIELD = "INVALID_FIELD"
CRYPTOGRAPHIC_FAILURE = "CRYPTOGRAPHIC_FAILURE"
INVALID_MESSAGE = "INVALID_MESSAGE"
FEATURE_NOT_SUPPORTED = "FEATURE_NOT_SUPPORTED"
KEY_COMPRESSION_TYPE_NOT_SUPPORTED = "KEY_COMPRESSION_TYPE_NOT_SUPPORTED"
INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK = "INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK"
KEY_VALUE_NOT_PRESENT = "KEY_VALUE_NOT_PRESENT"
INVALID_CORRELATION_VALUE = "INVALID_CORRELATION_VALUE"
UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS = "UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS"

#: Every reason code a L{CryptoError} may carry.
REASONS = frozenset(
    {
        INVALID_FIELD,
        CRYPTOGRAPHIC_FAILURE,
        INVALID_MESSAGE,
        FEATURE_NOT_SUPPORTED,
        KEY_COMPRESSION_TYPE_NOT_SUPPORTED,
        INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK,
        KEY_VALUE_NOT_PRESENT,
        INVALID_CORRELATION_VALUE,
        UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS,
    }
)


class CryptoError(Exception):
    """
    A cryptographic operation could not be performed.

    @ivar reason: KMIP Result Reason name, one of L{REASONS}.
    @ivar message: human readable explanation (never contains key material).
    """

    def __init__(self, reason: str, message: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown KMIP result reason {reason!r}")
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r}, {self.message!r})"


class InvalidField(CryptoError):
    """
    A parameter is missing, unsupported or inconsistent (KMIP Invalid Field).
    """

    def __init__(self, message: str) -> None:
        super().__init__(INVALID_FIELD, message)


class CryptographicFailure(CryptoError):
    """
    The primitive itself failed: bad tag, bad padding, failed unwrap.
    """

    def __init__(self, message: str) -> None:
        super().__init__(CRYPTOGRAPHIC_FAILURE, message)


class Unsupported(InvalidField):
    """
    A parameter the specification defines but kmipd does not implement (a known Block Cipher
    Mode, Padding Method, Hashing or Digital Signature Algorithm it has no code for). An
    L{InvalidField} for callers that do not distinguish; KMIP 2.x reports it as Unsupported
    Cryptographic Parameters where an operation's error table lists that reason.
    """

    def __init__(self, message: str) -> None:
        CryptoError.__init__(self, UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS, message)


def unsupported_or_invalid(enum: type, value: object, message: str) -> InvalidField:
    """L{Unsupported} if C{value} is a member of the spec enumeration C{enum}, else L{InvalidField}."""
    try:
        enum(value)
    except (ValueError, TypeError):
        return InvalidField(message)
    return Unsupported(message)
