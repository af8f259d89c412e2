# -*- test-case-name: tests.ttlv.test_binary -*-
"""Named decode errors: every way a TTLV byte string can be wrong."""


class DecodeError(ValueError):
    """The bytes are not a valid TTLV encoding."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.offset = offset
        super().__init__(message if offset is None else f"{message} (at byte {offset})")


class TruncatedError(DecodeError):
    """An item (or its length) runs past the end of its parent or of the buffer."""


class PaddingError(DecodeError):
    """Padding bytes are missing or non-zero."""


class InvalidLengthError(DecodeError):
    """A primitive has a length its type does not allow."""


class UnknownTypeError(DecodeError):
    """An item type byte that TTLV does not define."""


class DepthError(DecodeError):
    """Structures are nested deeper than the configured limit."""


class MessageTooLargeError(DecodeError):
    """The message is larger than C{max_message_size}."""


class InvalidValueError(DecodeError):
    """A value is malformed for its type (Boolean other than 0/1, invalid UTF-8)."""


class TrailingDataError(DecodeError):
    """Bytes remain after the top-level item."""
