"""TTLV: the KMIP item tree and its encodings (sans-IO)."""

from .binary import decode, encode, encode_known, peek_header
from .errors import (
    DecodeError,
    DepthError,
    InvalidLengthError,
    InvalidValueError,
    MessageTooLargeError,
    PaddingError,
    TrailingDataError,
    TruncatedError,
    UnknownTypeError,
)
from .items import Item, ItemType

__all__ = [
    "Item", "ItemType", "decode", "encode", "encode_known", "peek_header",
    "DecodeError", "DepthError", "InvalidLengthError", "InvalidValueError", "MessageTooLargeError",
    "PaddingError", "TrailingDataError", "TruncatedError", "UnknownTypeError",
]
