# -*- test-case-name: tests.operations.test_crypto_ops -*-
"""What every cryptographic operation checks before touching key material.

 - L{CryptoParams}: the Cryptographic Parameters structure, read from a request or from the key's
   C{Cryptographic Parameters} attribute (the instance with the lowest index, KMIP 1.4 4.29).
 - L{check_usable}: state, Cryptographic Usage Mask, Process Start / Protect Stop dates.
 - L{consume_usage}: Usage Limits allocation (KMIP 1.4 4.29/4.31: Permission Denied when exhausted).
 - L{key_of}: the key bytes (DER for asymmetric keys) and algorithm of a managed object.
 - L{translate}/L{crypto_errors}: L{kmipd.crypto.errors.CryptoError} -> L{kmipd.errors} classes.

Result reasons follow the 1.4 conformance vectors for 1.x (usage limits, dates and usage mask:
Permission Denied; missing IV: Invalid Message) and the 2.1 reasons for 2.x.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ..context import RequestContext
from ..crypto import errors as cerr
from ..errors import (
    BadCryptographicParameters,
    CryptographicFailure,
    DateRestriction,
    FeatureNotSupported,
    IllegalOperation,
    IncompatibleUsageMask,
    InvalidCorrelationValue,
    InvalidField,
    InvalidMessage,
    InvalidObjectType,
    InvalidTagLength,
    KeyCompressionTypeNotSupported,
    KeyValueNotPresent,
    KmipError,
    MissingIV,
    UsageLimitsExhausted,
)
from ..spec import CryptographicUsageMask as Mask
from ..spec import KeyFormatType, ObjectType, State, Tag, UsageLimitsUnit, tag_name
from ..ttlv import Item, ItemType
from .keyblock import get_block, key_material
from .keyformat import from_item
from .objects import ManagedObject

_REASONS: dict[str, type[KmipError]] = {
    cerr.INVALID_FIELD: BadCryptographicParameters,
    cerr.CRYPTOGRAPHIC_FAILURE: CryptographicFailure,
    cerr.INVALID_MESSAGE: InvalidMessage,
    cerr.FEATURE_NOT_SUPPORTED: FeatureNotSupported,
    cerr.KEY_COMPRESSION_TYPE_NOT_SUPPORTED: KeyCompressionTypeNotSupported,
    cerr.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK: IncompatibleUsageMask,
    cerr.KEY_VALUE_NOT_PRESENT: KeyValueNotPresent,
    cerr.INVALID_CORRELATION_VALUE: InvalidCorrelationValue,
}


def translate(error: cerr.CryptoError, invalid_field: type[KmipError] = BadCryptographicParameters,
              unsupported: type[KmipError] | None = None) -> KmipError:
    """The L{kmipd.errors} exception for a primitive's L{CryptoError} (same reason, same message).

    Invalid Field from the primitives is a bad parameter: Bad Cryptographic Parameters in 2.x,
    unless the operation's error table has no such row (C{invalid_field} then names the class).
    A parameter the spec defines but kmipd lacks is C{unsupported} (Unsupported Cryptographic
    Parameters for the operations whose table lists it), else treated as Invalid Field.
    """
    if error.reason == cerr.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS:
        return (unsupported or invalid_field)(error.message)
    if error.reason == cerr.INVALID_FIELD:
        return invalid_field(error.message)
    return _REASONS.get(error.reason, CryptographicFailure)(error.message)


@contextmanager
def crypto_errors(invalid_field: type[KmipError] = BadCryptographicParameters,
                  unsupported: type[KmipError] | None = None) -> Iterator[None]:
    """Re-raise any L{CryptoError} inside the block as its L{kmipd.errors} class."""
    try:
        yield
    except cerr.CryptoError as e:
        raise translate(e, invalid_field, unsupported) from None


# ---------------------------------------------------------------------------------------------
# Cryptographic Parameters


@dataclass
class CryptoParams:
    """The fields of a Cryptographic Parameters structure (KMIP 1.4 3.6 / 2.1 2.1.5); C{None} = absent."""

    block_cipher_mode: int | None = None
    padding_method: int | None = None
    hashing_algorithm: int | None = None
    key_role_type: int | None = None
    digital_signature_algorithm: int | None = None
    cryptographic_algorithm: int | None = None
    random_iv: bool | None = None
    iv_length: int | None = None
    tag_length: int | None = None
    fixed_field_length: int | None = None
    invocation_field_length: int | None = None
    counter_length: int | None = None
    initial_counter_value: int | None = None
    salt_length: int | None = None
    mask_generator: int | None = None
    mask_generator_hashing_algorithm: int | None = None
    p_source: bytes | None = None
    trailer_field: int | None = None

    @classmethod
    def from_item(cls, item: Item | None) -> CryptoParams:
        """Read a Cryptographic Parameters structure (C{None} gives empty parameters)."""
        params = cls()
        if item is None:
            return params
        if item.type != ItemType.STRUCTURE:
            raise InvalidField("Cryptographic Parameters must be a structure")
        names = {f.name for f in fields(cls)}
        for child in item.value:
            try:
                name = Tag(child.tag).name.lower()
            except ValueError:
                name = None
            if name not in names:
                raise InvalidField(f"{tag_name(child.tag)} is not a Cryptographic Parameters field")
            setattr(params, name, child.value)
        return params

    def to_item(self, tag: int = Tag.CRYPTOGRAPHIC_PARAMETERS) -> Item:
        """The Cryptographic Parameters structure (fields in spec order)."""
        children: list[Item | None] = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            t = Tag[f.name.upper()]
            if isinstance(value, bool):
                children.append(Item.bool(t, value))
            elif isinstance(value, bytes):
                children.append(Item.bytes(t, value))
            elif f.name in _ENUM_FIELDS:
                children.append(Item.enum(t, value))
            else:
                children.append(Item.int(t, value))
        return Item.struct(tag, children)

    def matches(self, other: CryptoParams) -> bool:
        """True if every field set here has the same value in C{other}."""
        return all(getattr(self, f.name) is None or getattr(self, f.name) == getattr(other, f.name)
                   for f in fields(self))


_ENUM_FIELDS = frozenset({"block_cipher_mode", "padding_method", "hashing_algorithm", "key_role_type",
                          "digital_signature_algorithm", "cryptographic_algorithm", "mask_generator",
                          "mask_generator_hashing_algorithm"})


def object_params(obj: ManagedObject) -> list[CryptoParams]:
    """Every instance of the object's Cryptographic Parameters attribute, lowest index first."""
    return [CryptoParams.from_item(v) for v in obj.live("Cryptographic Parameters")]


def effective_params(obj: ManagedObject, payload: Item | None) -> CryptoParams:
    """The request's Cryptographic Parameters, else the object's with the lowest index, else empty."""
    given = payload.find(Tag.CRYPTOGRAPHIC_PARAMETERS) if payload is not None else None
    if given is not None:
        return CryptoParams.from_item(given)
    stored = object_params(obj)
    return stored[0] if stored else CryptoParams()


# ---------------------------------------------------------------------------------------------
# Usability checks

_MASK_NAMES: dict[int, str] = {
    Mask.ENCRYPT: "Encrypt", Mask.DECRYPT: "Decrypt", Mask.SIGN: "Sign", Mask.VERIFY: "Verify",
    Mask.MAC_GENERATE: "MAC Generate", Mask.MAC_VERIFY: "MAC Verify", Mask.DERIVE_KEY: "Derive Key",
    Mask.WRAP_KEY: "Wrap Key", Mask.UNWRAP_KEY: "Unwrap Key",
}

#: Usage bits whose operations apply protection (the others process protected data).
PROTECT_BITS = frozenset({Mask.ENCRYPT, Mask.SIGN, Mask.MAC_GENERATE, Mask.WRAP_KEY, Mask.DERIVE_KEY})


def check_usable(ctx: RequestContext, obj: ManagedObject, usage: int, what: str = "key", *,
                 pre_active: bool = False) -> None:
    """Refuse C{obj} for an operation needing usage bit C{usage}.

    Checks, in order: the state (Active; Deactivated/Compromised only for processing when
    C{settings.process_inactive_keys} allows it), the Cryptographic Usage Mask bit, then the
    Protect Stop Date (protecting operations) or the Process Start Date (processing operations).

    C{pre_active} also accepts a Pre-Active object (the PyKMIP server's Derive Key does).

    @raise IllegalOperation: wrong state (2.x Wrong Key Lifecycle State).
    @raise IncompatibleUsageMask: the mask lacks the bit (1.x Permission Denied).
    @raise DateRestriction: outside the object's usage dates (Permission Denied).
    """
    protect = usage in PROTECT_BITS
    state = obj.state
    allowed_states = {State.ACTIVE, State.PRE_ACTIVE} if pre_active else {State.ACTIVE}
    if not protect and ctx.settings.process_inactive_keys:
        allowed_states |= {State.DEACTIVATED, State.COMPROMISED}
    if state not in allowed_states:
        try:
            state_name = State(state).name.replace("_", " ").title()  # type: ignore[arg-type]
        except ValueError:
            state_name = str(state)
        raise IllegalOperation(f"the {what} is {state_name}, not Active")
    mask = obj.value("Cryptographic Usage Mask")
    if not isinstance(mask, int) or not (mask & usage or mask & Mask.UNRESTRICTED):
        raise IncompatibleUsageMask(
            f"the {what}'s Cryptographic Usage Mask does not allow {_MASK_NAMES.get(usage, hex(usage))}")
    if protect:
        stop = obj.value("Protect Stop Date")
        if isinstance(stop, int) and ctx.now > stop:
            raise DateRestriction(f"the {what}'s Protect Stop Date has passed")
    else:
        start = obj.value("Process Start Date")
        if isinstance(start, int) and ctx.now < start:
            raise DateRestriction(f"the {what}'s Process Start Date has not been reached")


def consume_usage(ctx: RequestContext, obj: ManagedObject, data_length: int = 0) -> None:
    """Take an allocation from the object's Usage Limits (one object, or C{data_length} bytes).

    No-op without a Usage Limits attribute. Saves the object when the count changes.
    @raise UsageLimitsExhausted: not enough left.
    """
    limits = obj.first("Usage Limits")
    if limits is None or limits.type != ItemType.STRUCTURE:
        return
    total = limits.get(Tag.USAGE_LIMITS_TOTAL)
    count = limits.get(Tag.USAGE_LIMITS_COUNT, total)
    unit = limits.get(Tag.USAGE_LIMITS_UNIT, UsageLimitsUnit.OBJECT)
    if not isinstance(count, int):
        return
    amount = data_length if unit == UsageLimitsUnit.BYTE else 1
    if amount > count:
        raise UsageLimitsExhausted("the key's Usage Limits are exhausted")
    obj.set_single("Usage Limits", Item.struct(Tag.USAGE_LIMITS, [
        Item.long(Tag.USAGE_LIMITS_TOTAL, total if isinstance(total, int) else count),
        Item.long(Tag.USAGE_LIMITS_COUNT, count - amount),
        Item.enum(Tag.USAGE_LIMITS_UNIT, unit),
    ]))
    ctx.store.save(obj)


def require_type(obj: ManagedObject, allowed: set[int] | frozenset[int], what: str) -> None:
    """@raise InvalidObjectType: C{obj} is not one of C{allowed}."""
    if obj.object_type not in allowed:
        try:
            name = ObjectType(obj.object_type).name.replace("_", " ").title()
        except ValueError:
            name = str(obj.object_type)
        raise InvalidObjectType(f"a {name} cannot be used as {what}")


# ---------------------------------------------------------------------------------------------
# Key material

_BYTE_FORMATS = frozenset({KeyFormatType.RAW, KeyFormatType.OPAQUE, KeyFormatType.PKCS_1, KeyFormatType.PKCS_8,
                           KeyFormatType.X_509, KeyFormatType.ECPRIVATEKEY})


def key_algorithm(obj: ManagedObject) -> int | None:
    """The object's Cryptographic Algorithm (attribute, else Key Block)."""
    algorithm = obj.value("Cryptographic Algorithm")
    if algorithm is None:
        block = get_block(obj.material)
        algorithm = block.get(Tag.CRYPTOGRAPHIC_ALGORITHM) if block is not None else None
    return algorithm  # type: ignore[return-value]


def key_of(obj: ManagedObject) -> bytes | dict[str, object]:
    """The key of C{obj} as the primitives take it.

    Byte formats (Raw, Opaque, PKCS#1, PKCS#8, X.509, ECPrivateKey) give their bytes, a
    Transparent Symmetric Key its Key, other transparent formats a component dict
    (C{{"modulus": n, ...}}) that L{kmipd.crypto.keygen} loads; a Certificate gives its
    public key (DER SubjectPublicKeyInfo).

    @raise KeyValueNotPresent: destroyed or wrapped (stored wrapped keys must be unwrapped first).
    """
    if obj.object_type == ObjectType.CERTIFICATE:
        return _certificate_public_key(obj)
    block = get_block(obj.material)
    if block is not None and block.find(Tag.KEY_WRAPPING_DATA) is not None:
        raise KeyValueNotPresent("the key is stored wrapped and cannot be used by the server")
    km = key_material(obj.material)
    if km.type == ItemType.BYTE_STRING:
        return km.value
    if km.type != ItemType.STRUCTURE:
        raise InvalidField("the key material has an unexpected type")
    key = km.find(Tag.KEY)
    if key is not None and key.type == ItemType.BYTE_STRING:
        return key.value
    return from_item(km)


def _certificate_public_key(obj: ManagedObject) -> bytes:
    material = obj.material
    value = material.get(Tag.CERTIFICATE_VALUE) if material is not None else None
    if not isinstance(value, bytes):
        raise KeyValueNotPresent("the certificate has no value")
    try:
        cert = x509.load_der_x509_certificate(value)
    except ValueError:
        raise InvalidField("the certificate cannot be parsed") from None
    return cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)


__all__ = [
    "PROTECT_BITS", "CryptoParams", "DateRestriction", "InvalidObjectType",
    "InvalidTagLength", "MissingIV", "UsageLimitsExhausted", "check_usable", "consume_usage",
    "crypto_errors", "effective_params", "key_algorithm", "key_of", "object_params", "require_type",
    "translate",
]
