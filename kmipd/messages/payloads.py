# -*- test-case-name: tests.test_schema -*-
"""The request and response payload fields of every operation kmipd offers, KMIP 1.0-2.1.

Data only (the machinery is L{kmipd.messages.schema}); each entry follows the spec's payload
table for the operation (1.x section 4, 2.x section 6), and C{tests/test_schema.py} checks every
request entry against the tables of the seven spec texts. A field's versions default to the
versions that define its tag; C{since}/C{until} narrow them where the payload changed. Fields
kmipd accepts beyond the tables are marked with the L{kmipd.compat} row that explains them
(C{COMPAT_FIELDS}); C{early=True} marks a field a later version defines whose meaning is
unambiguous, accepted in earlier versions too (Key Wrap Type in a 1.2 Get).
"""

from __future__ import annotations

from dataclasses import replace

from ..compat import Deviation, row
from ..errors import InvalidField, InvalidMessage
from ..spec import Operation, Tag, enum_value_name
from ..ttlv import ItemType
from .schema import Field, OneOf, PayloadSchema, SchemaTable, describe

F = Field
S = ItemType.STRUCTURE
V1_LAST = (1, 4)
V2 = (2, 0)

# ---------------------------------------------------------------------------------------------
# Shared structures

#: 1.x Attribute (1.x 2.1.1; 2.x 7.1 adds Vendor Identification): content read by the model.
ATTRIBUTE = F(Tag.ATTRIBUTE, fields=(
    F(Tag.VENDOR_IDENTIFICATION),
    F(Tag.ATTRIBUTE_NAME, required=True, missing=InvalidField),
    F(Tag.ATTRIBUTE_INDEX),
    F(Tag.ATTRIBUTE_VALUE, types=tuple(ItemType)),
), repeat=True)

#: 1.x Template-Attribute and its Common/Private/Public variants (1.x 2.1.8).
_TEMPLATE_CONTENT = (F(Tag.NAME, repeat=True), ATTRIBUTE)


def template(tag: int, *, required: bool = False) -> Field:
    """A 1.x Template-Attribute structure (Name and Attribute, each repeatable)."""
    return F(tag, required=required, until=V1_LAST, fields=_TEMPLATE_CONTENT)


def attributes(tag: int, *, required: bool = False) -> Field:
    """A 2.x Attributes structure (open: attribute items, read by L{kmipd.model.attributes})."""
    return F(tag, required=required, since=V2)


CRYPTOGRAPHIC_PARAMETERS = F(Tag.CRYPTOGRAPHIC_PARAMETERS, fields=(
    F(Tag.BLOCK_CIPHER_MODE), F(Tag.PADDING_METHOD), F(Tag.HASHING_ALGORITHM), F(Tag.KEY_ROLE_TYPE),
    F(Tag.DIGITAL_SIGNATURE_ALGORITHM), F(Tag.CRYPTOGRAPHIC_ALGORITHM), F(Tag.RANDOM_IV), F(Tag.IV_LENGTH),
    F(Tag.TAG_LENGTH), F(Tag.FIXED_FIELD_LENGTH), F(Tag.INVOCATION_FIELD_LENGTH), F(Tag.COUNTER_LENGTH),
    F(Tag.INITIAL_COUNTER_VALUE), F(Tag.SALT_LENGTH), F(Tag.MASK_GENERATOR),
    F(Tag.MASK_GENERATOR_HASHING_ALGORITHM), F(Tag.P_SOURCE), F(Tag.TRAILER_FIELD),
))

_KEY_INFORMATION = (F(Tag.UNIQUE_IDENTIFIER, required=True), CRYPTOGRAPHIC_PARAMETERS)

KEY_WRAPPING_SPECIFICATION = F(Tag.KEY_WRAPPING_SPECIFICATION, fields=(
    F(Tag.WRAPPING_METHOD, required=True),
    F(Tag.ENCRYPTION_KEY_INFORMATION, fields=_KEY_INFORMATION),
    F(Tag.MAC_SIGNATURE_KEY_INFORMATION, fields=_KEY_INFORMATION),
    F(Tag.ATTRIBUTE_NAME, repeat=True),
    F(Tag.ENCODING_OPTION),
))

REVOCATION_REASON = F(Tag.REVOCATION_REASON, required=True, fields=(
    F(Tag.REVOCATION_REASON_CODE, required=True, missing=InvalidField),
    F(Tag.REVOCATION_MESSAGE),
))

DERIVATION_PARAMETERS = F(Tag.DERIVATION_PARAMETERS, required=True, fields=(
    CRYPTOGRAPHIC_PARAMETERS,
    F(Tag.INITIALIZATION_VECTOR),
    F(Tag.DERIVATION_DATA),
    F(Tag.SALT),
    F(Tag.ITERATION_COUNT),
))


def masks(tag: int) -> Field:
    """A 2.x Protection Storage Masks structure."""
    return F(tag, fields=(F(Tag.PROTECTION_STORAGE_MASK, repeat=True),))


def _needs(tag: int, **kwargs: object) -> Field:
    """A REQUIRED field of a managed object structure (missing: Invalid Field, as the 1.x and 2.x
    Register error tables say for an object that does not match its type)."""
    return F(tag, required=True, missing=InvalidField, **kwargs)  # type: ignore[arg-type]


#: Key Wrapping Data (1.x 2.1.5, 2.x 2.1.5): typed here; the model reads it when it unwraps.
_KEY_WRAPPING_DATA = F(Tag.KEY_WRAPPING_DATA, fields=(
    _needs(Tag.WRAPPING_METHOD),
    F(Tag.ENCRYPTION_KEY_INFORMATION, fields=_KEY_INFORMATION),
    F(Tag.MAC_SIGNATURE_KEY_INFORMATION, fields=_KEY_INFORMATION),
    F(Tag.MAC_SIGNATURE),
    F(Tag.IV_COUNTER_NONCE),
    F(Tag.ENCODING_OPTION),
))

#: Key Block (1.x 2.1.3, 2.x 2.1.3): its fields and their item types are checked here (a
#: Cryptographic Algorithm that is not an Enumeration: Invalid Field); the Key Value's content
#: (a structure, or a Byte String when wrapped) and the material are checked by the model.
_KEY_BLOCK = _needs(Tag.KEY_BLOCK, fields=(
    _needs(Tag.KEY_FORMAT_TYPE),
    F(Tag.KEY_COMPRESSION_TYPE),
    F(Tag.KEY_VALUE, types=(S, ItemType.BYTE_STRING)),
    F(Tag.CRYPTOGRAPHIC_ALGORITHM),
    F(Tag.CRYPTOGRAPHIC_LENGTH),
    _KEY_WRAPPING_DATA,
))

#: The managed object structures (1.x 2.2, 2.x 2.2), for Register requests and Get responses.
MANAGED_OBJECT = OneOf("managed object", (
    F(Tag.CERTIFICATE, types=(S,), fields=(_needs(Tag.CERTIFICATE_TYPE), _needs(Tag.CERTIFICATE_VALUE))),
    F(Tag.SYMMETRIC_KEY, fields=(_KEY_BLOCK,)),
    F(Tag.PUBLIC_KEY, fields=(_KEY_BLOCK,)),
    F(Tag.PRIVATE_KEY, fields=(_KEY_BLOCK,)),
    F(Tag.SPLIT_KEY, fields=(_needs(Tag.SPLIT_KEY_PARTS), _needs(Tag.KEY_PART_IDENTIFIER),
                             _needs(Tag.SPLIT_KEY_THRESHOLD), _needs(Tag.SPLIT_KEY_METHOD),
                             F(Tag.PRIME_FIELD_SIZE), _KEY_BLOCK)),
    F(Tag.TEMPLATE, until=V1_LAST, fields=(_needs(Tag.ATTRIBUTE, repeat=True, fields=ATTRIBUTE.fields),)),
    F(Tag.SECRET_DATA, fields=(_needs(Tag.SECRET_DATA_TYPE), _KEY_BLOCK)),
    F(Tag.OPAQUE_OBJECT, fields=(_needs(Tag.OPAQUE_DATA_TYPE), _needs(Tag.OPAQUE_DATA_VALUE))),
    F(Tag.PGP_KEY, fields=(_needs(Tag.PGP_KEY_VERSION), _KEY_BLOCK)),
    F(Tag.CERTIFICATE_REQUEST, types=(S,), since=V2,
      fields=(_needs(Tag.CERTIFICATE_REQUEST_TYPE), _needs(Tag.CERTIFICATE_REQUEST_VALUE))),
), required=True)

UID = F(Tag.UNIQUE_IDENTIFIER)
#: 2.x Attribute Reference: an Enumeration (the attribute's tag) or a structure (vendor attribute).
_REFERENCE_TYPES = (ItemType.ENUMERATION, ItemType.STRUCTURE)
REFERENCE = F(Tag.ATTRIBUTE_REFERENCE, types=_REFERENCE_TYPES)
REFERENCE_REPEATED = F(Tag.ATTRIBUTE_REFERENCE, types=_REFERENCE_TYPES, repeat=True)
UID_REQUIRED = F(Tag.UNIQUE_IDENTIFIER, required=True)

_UID_ONLY = PayloadSchema(request=(UID,), response=(UID_REQUIRED,))

#: Multi-part fields of the cryptographic operations (1.3+; the tags define the versions).
_PARTS = (F(Tag.CORRELATION_VALUE), F(Tag.INIT_INDICATOR), F(Tag.FINAL_INDICATOR))



def single_part(tag: int) -> tuple[Field, Field]:
    """A field REQUIRED in 1.2 (single-part only) and "Yes for single-part" from 1.3 (the handler
    checks that, knowing whether the request is one part of several)."""
    return F(tag, required=True, until=(1, 2)), F(tag, since=(1, 3))


_DATA = single_part(Tag.DATA)

#: The 1.x Attribute of Add/Modify Attribute, and 2.x's New/Current Attribute (one attribute item).
_ATTRIBUTE_1X = F(Tag.ATTRIBUTE, required=True, until=V1_LAST, fields=ATTRIBUTE.fields)

# ---------------------------------------------------------------------------------------------
# Asynchronous items, sessions, housekeeping and transfer (2.1 6.1.5, 6.1.12, 6.1.18, 6.1.22,
# 6.1.25, 6.1.26, 6.1.29-31, 6.1.36, 6.1.38, 6.1.39, 6.1.41, 6.1.52, 6.1.53)

#: The Asynchronous Correlation Value of Poll, Cancel and Process (their tables name Invalid Field).
_ASYNC_CORRELATION = F(Tag.ASYNCHRONOUS_CORRELATION_VALUE, required=True, missing=InvalidField)
_TICKET = F(Tag.TICKET, required=True, missing=InvalidField, fields=(
    F(Tag.TICKET_TYPE, required=True, missing=InvalidField),
    F(Tag.TICKET_VALUE, required=True, missing=InvalidField)))
_LOGIN = (F(Tag.LEASE_TIME, types=(ItemType.INTERVAL, ItemType.DATE_TIME)), F(Tag.REQUEST_COUNT),
          F(Tag.USAGE_LIMITS))
_RIGHTS = F(Tag.RIGHTS, required=True, missing=InvalidField, fields=(
    F(Tag.RIGHT, repeat=True, fields=(
        F(Tag.USAGE_LIMITS),
        F(Tag.OPERATIONS, fields=(F(Tag.OPERATION, repeat=True),)),
        F(Tag.OBJECTS, fields=(F(Tag.UNIQUE_IDENTIFIER, repeat=True),)),
        F(Tag.OBJECT_GROUPS, fields=(F(Tag.OBJECT_GROUP, repeat=True),)))),))
_CONSTRAINT = F(Tag.CONSTRAINT, repeat=True, fields=(
    F(Tag.OBJECT_TYPES, fields=(F(Tag.OBJECT_TYPE, repeat=True),)),
    F(Tag.OBJECT_GROUPS, fields=(F(Tag.OBJECT_GROUP, repeat=True),)),
    F(Tag.ATTRIBUTES)))
_ATTRIBUTES_1X = F(Tag.ATTRIBUTE, until=V1_LAST, repeat=True, fields=ATTRIBUTE.fields)

# ---------------------------------------------------------------------------------------------
# The table

#: Create Key Pair's request fields, also Re-key Key Pair's after its own identifier and Offset.
KEY_PAIR_REQUEST = (
    template(Tag.COMMON_TEMPLATE_ATTRIBUTE), template(Tag.PRIVATE_KEY_TEMPLATE_ATTRIBUTE),
    template(Tag.PUBLIC_KEY_TEMPLATE_ATTRIBUTE),
    attributes(Tag.COMMON_ATTRIBUTES), attributes(Tag.PRIVATE_KEY_ATTRIBUTES), attributes(Tag.PUBLIC_KEY_ATTRIBUTES),
    masks(Tag.COMMON_PROTECTION_STORAGE_MASKS), masks(Tag.PRIVATE_PROTECTION_STORAGE_MASKS),
    masks(Tag.PUBLIC_PROTECTION_STORAGE_MASKS))
#: The response of Create Key Pair and of Re-key Key Pair.
KEY_PAIR_RESPONSE = (
    F(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER, required=True), F(Tag.PUBLIC_KEY_UNIQUE_IDENTIFIER, required=True),
    template(Tag.PRIVATE_KEY_TEMPLATE_ATTRIBUTE), template(Tag.PUBLIC_KEY_TEMPLATE_ATTRIBUTE))

SCHEMAS: dict[int, PayloadSchema] = {
    Operation.CREATE: PayloadSchema(
        request=(F(Tag.OBJECT_TYPE, required=True, missing=InvalidField),
                 template(Tag.TEMPLATE_ATTRIBUTE, required=True),
                 attributes(Tag.ATTRIBUTES, required=True),
                 masks(Tag.PROTECTION_STORAGE_MASKS)),
        response=(F(Tag.OBJECT_TYPE, required=True), UID_REQUIRED, template(Tag.TEMPLATE_ATTRIBUTE))),
    Operation.CREATE_KEY_PAIR: PayloadSchema(
        request=KEY_PAIR_REQUEST,
        response=KEY_PAIR_RESPONSE),
    Operation.REGISTER: PayloadSchema(
        request=(F(Tag.OBJECT_TYPE, required=True, missing=InvalidField),
                 template(Tag.TEMPLATE_ATTRIBUTE, required=True),
                 attributes(Tag.ATTRIBUTES, required=True),
                 MANAGED_OBJECT,
                 masks(Tag.PROTECTION_STORAGE_MASKS)),
        response=(UID_REQUIRED, template(Tag.TEMPLATE_ATTRIBUTE))),
    Operation.RE_KEY: PayloadSchema(
        request=(UID, F(Tag.OFFSET), template(Tag.TEMPLATE_ATTRIBUTE), attributes(Tag.ATTRIBUTES),
                 masks(Tag.PROTECTION_STORAGE_MASKS)),
        response=(UID_REQUIRED, template(Tag.TEMPLATE_ATTRIBUTE))),
    Operation.RE_KEY_KEY_PAIR: PayloadSchema(
        request=(F(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER), F(Tag.OFFSET), *KEY_PAIR_REQUEST),
        response=KEY_PAIR_RESPONSE),
    Operation.DERIVE_KEY: PayloadSchema(
        request=(F(Tag.OBJECT_TYPE, required=True),
                 F(Tag.UNIQUE_IDENTIFIER, repeat=True),  # "Yes": the ID Placeholder stands in for it
                 F(Tag.DERIVATION_METHOD, required=True),
                 DERIVATION_PARAMETERS,
                 template(Tag.TEMPLATE_ATTRIBUTE, required=True),
                 attributes(Tag.ATTRIBUTES, required=True)),
        response=(UID_REQUIRED, template(Tag.TEMPLATE_ATTRIBUTE))),
    Operation.LOCATE: PayloadSchema(
        request=(F(Tag.MAXIMUM_ITEMS),
                 F(Tag.OFFSET_ITEMS, early=True),  # kmipd.compat: pykmip-locate-offset-items
                 F(Tag.STORAGE_STATUS_MASK),
                 F(Tag.OBJECT_GROUP_MEMBER),
                 F(Tag.ATTRIBUTE, until=V1_LAST, repeat=True, fields=ATTRIBUTE.fields),
                 template(Tag.TEMPLATE_ATTRIBUTE),  # kmipd.compat: fortios-locate-template-attribute
                 attributes(Tag.ATTRIBUTES, required=True)),
        response=(F(Tag.LOCATED_ITEMS), F(Tag.UNIQUE_IDENTIFIER, repeat=True))),
    Operation.CHECK: PayloadSchema(
        request=(UID, F(Tag.USAGE_LIMITS_COUNT, types=(ItemType.LONG_INTEGER, ItemType.INTEGER)),
                 F(Tag.CRYPTOGRAPHIC_USAGE_MASK), F(Tag.LEASE_TIME)),
        response=(UID_REQUIRED, F(Tag.USAGE_LIMITS_COUNT), F(Tag.CRYPTOGRAPHIC_USAGE_MASK), F(Tag.LEASE_TIME))),
    Operation.GET: PayloadSchema(
        request=(UID, F(Tag.KEY_FORMAT_TYPE), F(Tag.KEY_WRAP_TYPE, early=True), F(Tag.KEY_COMPRESSION_TYPE),
                 KEY_WRAPPING_SPECIFICATION),
        response=(F(Tag.OBJECT_TYPE, required=True), UID_REQUIRED, MANAGED_OBJECT)),
    Operation.GET_ATTRIBUTES: PayloadSchema(
        request=(UID, F(Tag.ATTRIBUTE_NAME, repeat=True, until=V1_LAST),
                 REFERENCE_REPEATED),
        response=(UID_REQUIRED, F(Tag.ATTRIBUTE, repeat=True, until=V1_LAST, fields=ATTRIBUTE.fields),
                  attributes(Tag.ATTRIBUTES, required=True))),
    Operation.GET_ATTRIBUTE_LIST: PayloadSchema(
        request=(UID,),
        response=(UID_REQUIRED, F(Tag.ATTRIBUTE_NAME, repeat=True, until=V1_LAST),
                  REFERENCE_REPEATED)),
    Operation.ADD_ATTRIBUTE: PayloadSchema(
        request=(UID, _ATTRIBUTE_1X, F(Tag.NEW_ATTRIBUTE, required=True)),
        response=(UID_REQUIRED, F(Tag.ATTRIBUTE, required=True, until=V1_LAST, fields=ATTRIBUTE.fields))),
    Operation.MODIFY_ATTRIBUTE: PayloadSchema(
        request=(UID, _ATTRIBUTE_1X, F(Tag.CURRENT_ATTRIBUTE), F(Tag.NEW_ATTRIBUTE, required=True)),
        response=(UID_REQUIRED, F(Tag.ATTRIBUTE, required=True, until=V1_LAST, fields=ATTRIBUTE.fields))),
    Operation.DELETE_ATTRIBUTE: PayloadSchema(
        request=(UID, F(Tag.ATTRIBUTE_NAME, required=True, until=V1_LAST), F(Tag.ATTRIBUTE_INDEX, until=V1_LAST),
                 F(Tag.CURRENT_ATTRIBUTE), REFERENCE),
        response=(UID_REQUIRED, F(Tag.ATTRIBUTE, required=True, until=V1_LAST, fields=ATTRIBUTE.fields))),
    Operation.SET_ATTRIBUTE: PayloadSchema(
        request=(UID, F(Tag.NEW_ATTRIBUTE, required=True)),
        response=(UID_REQUIRED,)),
    Operation.ADJUST_ATTRIBUTE: PayloadSchema(
        request=(UID, F(Tag.ATTRIBUTE_REFERENCE, types=_REFERENCE_TYPES, required=True),
                 F(Tag.ADJUSTMENT_TYPE, required=True),
                 F(Tag.ADJUSTMENT_VALUE, types=(ItemType.INTEGER, ItemType.LONG_INTEGER, ItemType.BIG_INTEGER,
                                               ItemType.INTERVAL, ItemType.DATE_TIME))),
        response=(UID_REQUIRED,)),
    Operation.OBTAIN_LEASE: PayloadSchema(
        request=(UID,),
        response=(UID_REQUIRED, F(Tag.LEASE_TIME, required=True), F(Tag.LAST_CHANGE_DATE, required=True))),
    Operation.GET_USAGE_ALLOCATION: PayloadSchema(
        request=(UID, F(Tag.USAGE_LIMITS_COUNT, required=True, missing=InvalidMessage,
                        types=(ItemType.LONG_INTEGER, ItemType.INTEGER))),
        response=(UID_REQUIRED,)),
    Operation.ACTIVATE: _UID_ONLY,
    Operation.REVOKE: PayloadSchema(
        request=(UID, REVOCATION_REASON, F(Tag.COMPROMISE_OCCURRENCE_DATE)),
        response=(UID_REQUIRED,)),
    Operation.DESTROY: _UID_ONLY,
    Operation.ARCHIVE: _UID_ONLY,
    Operation.RECOVER: _UID_ONLY,
    Operation.QUERY: PayloadSchema(
        request=(F(Tag.QUERY_FUNCTION, required=True, repeat=True, missing=InvalidField),
                 F(Tag.OBJECT_GROUPS)),  # 2.1: accepted; kmipd keeps no object groups to filter by
        response=(F(Tag.OPERATION, repeat=True), F(Tag.OBJECT_TYPE, repeat=True), F(Tag.VENDOR_IDENTIFICATION),
                  F(Tag.SERVER_INFORMATION), F(Tag.APPLICATION_NAMESPACE, repeat=True),
                  F(Tag.EXTENSION_INFORMATION, repeat=True), F(Tag.ATTESTATION_TYPE, repeat=True),
                  F(Tag.RNG_PARAMETERS, repeat=True), F(Tag.PROFILE_INFORMATION, repeat=True),
                  F(Tag.VALIDATION_INFORMATION, repeat=True), F(Tag.CAPABILITY_INFORMATION, repeat=True),
                  F(Tag.CLIENT_REGISTRATION_METHOD, repeat=True), F(Tag.DEFAULTS_INFORMATION),
                  F(Tag.PROTECTION_STORAGE_MASKS))),
    Operation.DISCOVER_VERSIONS: PayloadSchema(
        request=(F(Tag.PROTOCOL_VERSION, repeat=True, fields=(
            F(Tag.PROTOCOL_VERSION_MAJOR, required=True, missing=InvalidMessage),
            F(Tag.PROTOCOL_VERSION_MINOR, required=True, missing=InvalidMessage))),),
        response=(F(Tag.PROTOCOL_VERSION, repeat=True),)),
    Operation.ENCRYPT: PayloadSchema(
        request=(UID, CRYPTOGRAPHIC_PARAMETERS, *_DATA, F(Tag.IV_COUNTER_NONCE), *_PARTS,
                 F(Tag.AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA)),
        response=(UID_REQUIRED, F(Tag.DATA), F(Tag.IV_COUNTER_NONCE), F(Tag.CORRELATION_VALUE),
                  F(Tag.AUTHENTICATED_ENCRYPTION_TAG))),
    Operation.DECRYPT: PayloadSchema(
        request=(UID, CRYPTOGRAPHIC_PARAMETERS, *_DATA, F(Tag.IV_COUNTER_NONCE), *_PARTS,
                 F(Tag.AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA), F(Tag.AUTHENTICATED_ENCRYPTION_TAG)),
        response=(UID_REQUIRED, F(Tag.DATA), F(Tag.CORRELATION_VALUE))),
    Operation.SIGN: PayloadSchema(
        request=(UID, CRYPTOGRAPHIC_PARAMETERS, *_DATA, F(Tag.DIGESTED_DATA), *_PARTS),
        response=(UID_REQUIRED, F(Tag.SIGNATURE_DATA), F(Tag.CORRELATION_VALUE))),
    Operation.SIGNATURE_VERIFY: PayloadSchema(
        request=(UID, CRYPTOGRAPHIC_PARAMETERS, F(Tag.DATA), F(Tag.DIGESTED_DATA), *single_part(Tag.SIGNATURE_DATA),
                 *_PARTS),
        response=(UID_REQUIRED, F(Tag.VALIDITY_INDICATOR), F(Tag.DATA), F(Tag.CORRELATION_VALUE))),
    Operation.MAC: PayloadSchema(
        request=(UID, CRYPTOGRAPHIC_PARAMETERS, *_DATA, *_PARTS),
        response=(UID_REQUIRED, F(Tag.MAC_DATA), F(Tag.CORRELATION_VALUE))),
    Operation.MAC_VERIFY: PayloadSchema(
        request=(UID, CRYPTOGRAPHIC_PARAMETERS, F(Tag.DATA), *single_part(Tag.MAC_DATA), *_PARTS),
        response=(UID_REQUIRED, F(Tag.VALIDITY_INDICATOR), F(Tag.CORRELATION_VALUE))),
    Operation.RNG_RETRIEVE: PayloadSchema(
        request=(F(Tag.DATA_LENGTH, required=True),),
        response=(F(Tag.DATA, required=True),)),
    Operation.RNG_SEED: PayloadSchema(
        request=(F(Tag.DATA, required=True),),
        response=(F(Tag.DATA_LENGTH, required=True),)),
    Operation.HASH: PayloadSchema(
        request=(CRYPTOGRAPHIC_PARAMETERS, F(Tag.DATA), *_PARTS),
        response=(F(Tag.DATA), F(Tag.CORRELATION_VALUE))),
    Operation.CERTIFY: PayloadSchema(
        request=(UID, F(Tag.CERTIFICATE_REQUEST_TYPE),
                 F(Tag.CERTIFICATE_REQUEST, types=(ItemType.BYTE_STRING,), until=V1_LAST),
                 F(Tag.CERTIFICATE_REQUEST_VALUE),
                 template(Tag.TEMPLATE_ATTRIBUTE), attributes(Tag.ATTRIBUTES),
                 masks(Tag.PROTECTION_STORAGE_MASKS)),
        response=(UID_REQUIRED, template(Tag.TEMPLATE_ATTRIBUTE))),
    Operation.RE_CERTIFY: PayloadSchema(  # 1.0's table REQUIRES the request; 1.1+ make it optional
        request=(UID, F(Tag.CERTIFICATE_REQUEST_UNIQUE_IDENTIFIER),
                 F(Tag.CERTIFICATE_REQUEST_TYPE, required=True, until=(1, 0)),
                 F(Tag.CERTIFICATE_REQUEST_TYPE, since=(1, 1)),
                 F(Tag.CERTIFICATE_REQUEST, types=(ItemType.BYTE_STRING,), required=True, until=(1, 0)),
                 F(Tag.CERTIFICATE_REQUEST, types=(ItemType.BYTE_STRING,), since=(1, 1), until=V1_LAST),
                 F(Tag.CERTIFICATE_REQUEST_VALUE), F(Tag.OFFSET),
                 template(Tag.TEMPLATE_ATTRIBUTE), attributes(Tag.ATTRIBUTES),
                 masks(Tag.PROTECTION_STORAGE_MASKS)),
        response=(UID_REQUIRED, template(Tag.TEMPLATE_ATTRIBUTE))),
    Operation.VALIDATE: PayloadSchema(
        request=(F(Tag.CERTIFICATE, types=(S,), repeat=True,
                   fields=(_needs(Tag.CERTIFICATE_TYPE), _needs(Tag.CERTIFICATE_VALUE))),
                 F(Tag.UNIQUE_IDENTIFIER, repeat=True), F(Tag.VALIDITY_DATE)),
        response=(F(Tag.VALIDITY_INDICATOR, required=True),)),
    Operation.CREATE_SPLIT_KEY: PayloadSchema(
        request=(F(Tag.OBJECT_TYPE, required=True), UID,
                 F(Tag.SPLIT_KEY_PARTS, required=True), F(Tag.SPLIT_KEY_THRESHOLD, required=True),
                 F(Tag.SPLIT_KEY_METHOD, required=True), F(Tag.PRIME_FIELD_SIZE),
                 template(Tag.TEMPLATE_ATTRIBUTE, required=True), attributes(Tag.ATTRIBUTES, required=True),
                 masks(Tag.PROTECTION_STORAGE_MASKS)),
        response=(F(Tag.UNIQUE_IDENTIFIER, required=True, repeat=True),)),
    Operation.JOIN_SPLIT_KEY: PayloadSchema(
        request=(F(Tag.OBJECT_TYPE, required=True), F(Tag.UNIQUE_IDENTIFIER, required=True, repeat=True),
                 F(Tag.SECRET_DATA_TYPE), template(Tag.TEMPLATE_ATTRIBUTE), attributes(Tag.ATTRIBUTES),
                 masks(Tag.PROTECTION_STORAGE_MASKS)),
        response=(UID_REQUIRED, template(Tag.TEMPLATE_ATTRIBUTE))),
    # Poll answers with the polled operation's own response payload (6.1.38).
    Operation.POLL: PayloadSchema(request=(_ASYNC_CORRELATION,), response=()),
    Operation.CANCEL: PayloadSchema(
        request=(_ASYNC_CORRELATION,),
        response=(F(Tag.ASYNCHRONOUS_CORRELATION_VALUE, required=True), F(Tag.CANCELLATION_RESULT, required=True))),
    Operation.PROCESS: PayloadSchema(request=(_ASYNC_CORRELATION,), response=()),
    Operation.QUERY_ASYNCHRONOUS_REQUESTS: PayloadSchema(
        request=(F(Tag.ASYNCHRONOUS_CORRELATION_VALUES, fields=(F(Tag.ASYNCHRONOUS_CORRELATION_VALUE, repeat=True),)),
                 F(Tag.OPERATIONS, fields=(F(Tag.OPERATION, repeat=True),))),
        response=(F(Tag.ASYNCHRONOUS_REQUEST, repeat=True, fields=(
            F(Tag.ASYNCHRONOUS_CORRELATION_VALUE, required=True), F(Tag.OPERATION, required=True),
            F(Tag.SUBMISSION_DATE, required=True), F(Tag.PROCESSING_STAGE, required=True))),)),
    Operation.LOGIN: PayloadSchema(request=_LOGIN, response=(_TICKET,)),
    Operation.DELEGATED_LOGIN: PayloadSchema(request=(*_LOGIN, _RIGHTS), response=(_TICKET,)),
    Operation.LOGOUT: PayloadSchema(request=(_TICKET,), response=()),
    Operation.PING: PayloadSchema(request=(), response=()),
    Operation.LOG: PayloadSchema(request=(F(Tag.LOG_MESSAGE, required=True, missing=InvalidField),), response=()),
    Operation.INTEROP: PayloadSchema(
        request=(F(Tag.INTEROP_FUNCTION, required=True, missing=InvalidField),
                 F(Tag.INTEROP_IDENTIFIER, required=True, missing=InvalidField)),
        response=()),
    Operation.SET_DEFAULTS: PayloadSchema(
        request=(F(Tag.DEFAULTS_INFORMATION, fields=(F(Tag.OBJECT_DEFAULTS, repeat=True, fields=(
            F(Tag.OBJECT_TYPE, required=True, missing=InvalidField),
            F(Tag.ATTRIBUTES, required=True, missing=InvalidField))),)),),
        response=()),
    Operation.SET_CONSTRAINTS: PayloadSchema(
        request=(F(Tag.CONSTRAINTS, required=True, missing=InvalidField, fields=(_CONSTRAINT,)),), response=()),
    Operation.GET_CONSTRAINTS: PayloadSchema(
        request=(), response=(F(Tag.CONSTRAINTS, required=True, fields=(_CONSTRAINT,)),)),
    Operation.IMPORT: PayloadSchema(
        request=(F(Tag.UNIQUE_IDENTIFIER, required=True, missing=InvalidField),
                 F(Tag.OBJECT_TYPE, required=True, missing=InvalidField, since=V2),  # 1.4: the object's tag
                 F(Tag.REPLACE_EXISTING), F(Tag.KEY_WRAP_TYPE),
                 replace(_ATTRIBUTES_1X, required=True, missing=InvalidField),
                 replace(attributes(Tag.ATTRIBUTES, required=True), missing=InvalidField),
                 MANAGED_OBJECT),
        response=(UID_REQUIRED,)),
    Operation.EXPORT: PayloadSchema(
        request=(UID, F(Tag.KEY_FORMAT_TYPE), F(Tag.KEY_WRAP_TYPE), F(Tag.KEY_COMPRESSION_TYPE),
                 KEY_WRAPPING_SPECIFICATION),
        # a destroyed object is exported without its key material (6.1.18)
        response=(F(Tag.OBJECT_TYPE, required=True), UID_REQUIRED, _ATTRIBUTES_1X,
                  attributes(Tag.ATTRIBUTES, required=True), replace(MANAGED_OBJECT, required=False))),
}
"""Operation -> its payload schema. Hash's Cryptographic Parameters are REQUIRED for a single-part
request only (a continuation names its stream by Correlation Value): the handler checks that, like
the "Yes for single-part" Data of the cryptographic operations."""


def _operation_name(op: int) -> str:
    try:
        return Operation(op).name.replace("_", " ").title().replace("Rng", "RNG").replace("Mac", "MAC")
    except ValueError:
        return f"operation 0x{op:08X}"


TABLE = SchemaTable(SCHEMAS, {op: _operation_name(op) for op in SCHEMAS})
"""The compiled request shapes (per operation and version, built on first use)."""

#: Fields accepted beyond the spec's tables for a client's habit: (operation, tag) -> its row of
#: L{kmipd.compat.DEVIATIONS}.
COMPAT_FIELDS: dict[tuple[int, int], Deviation] = {
    (Operation.LOCATE, Tag.OFFSET_ITEMS): row("pykmip-locate-offset-items"),
    (Operation.LOCATE, Tag.TEMPLATE_ATTRIBUTE): row("fortios-locate-template-attribute"),
}



def request_fields_rows(offered: dict[int, list[tuple[int, int]]]) -> list[str]:
    """The Markdown rows of docs/operations.md's request field table (C{offered}: operation -> the
    versions kmipd offers it in, ascending), one per operation in enumeration order."""
    rows = []
    for op in sorted(offered):
        name = enum_value_name(Operation, op) or Operation(op).name
        rows.append(f"| {name} | {describe(SCHEMAS[op].request, offered[op])} |")
    return rows


__all__ = ["COMPAT_FIELDS", "SCHEMAS", "TABLE", "request_fields_rows"]
