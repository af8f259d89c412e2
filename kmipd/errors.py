# -*- test-case-name: tests.test_dispatch -*-
"""KMIP operation errors: the only place Result Reasons are attached to failures.

Handlers raise a L{KmipError} subclass; the dispatcher turns it into a batch item with Result
Status Operation Failed, the Result Reason for the negotiated protocol version and the Result
Message. KMIP 2.0 renamed or split some reasons (1.x Illegal Operation became Wrong Key Lifecycle
State, Index Out of Bounds became Attribute Instance Not Found, ...): each class names its 1.x
reason and, where different, its 2.x reason. Anything else a handler raises becomes General Failure
with the details logged, never sent.
"""

from __future__ import annotations

from .spec import Operation as _O
from .spec import ResultReason as _R


class KmipError(Exception):
    """A KMIP operation failure with its Result Reason values."""

    reason: int = 0x100  # General Failure
    reason_v2: int | None = None  # None: same as reason

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def reason_for(self, version: tuple[int, int]) -> int:
        """The Result Reason value to send to a client speaking C{version}."""
        if version >= (2, 0) and self.reason_v2 is not None:
            return self.reason_v2
        return self.reason


def _error(name: str, reason: int, doc: str, reason_v2: int | None = None) -> type[KmipError]:
    return type(name, (KmipError,), {"reason": reason, "reason_v2": reason_v2, "__doc__": doc,
                                     "__module__": __name__})


ItemNotFound = _error("ItemNotFound", 0x01, "No such object.", 0x37)  # 2.x tables: Object Not Found
ResponseTooLarge = _error("ResponseTooLarge", 0x02, "The response exceeds Maximum Response Size.")
AuthenticationNotSuccessful = _error("AuthenticationNotSuccessful", 0x03, "Credentials not accepted.")
InvalidMessage = _error("InvalidMessage", 0x04, "The message or a batch item cannot be parsed.")
OperationNotSupported = _error("OperationNotSupported", 0x05, "Operation not implemented in this version.")
# KMIP 2.x error tables list no Missing Data (no 2.0/2.1 operation's table has it): a required
# field or attribute left out is "data in the request" that is not valid, Invalid Field.
MissingData = _error("MissingData", 0x06, "A required field or attribute is missing.", 0x07)
InvalidField = _error("InvalidField", 0x07, "A field has a value the operation does not accept.")
FeatureNotSupported = _error("FeatureNotSupported", 0x08, "A valid request for an unimplemented feature.")
CryptographicFailure = _error("CryptographicFailure", 0x0A, "A cryptographic operation failed.")
IllegalOperation = _error("IllegalOperation", 0x0B, "Not allowed in the object's current state.", 0x43)
PermissionDenied = _error("PermissionDenied", 0x0C, "The operation policy refuses the caller.")
ObjectArchived = _error("ObjectArchived", 0x0D, "The object is archived.")
IndexOutOfBounds = _error("IndexOutOfBounds", 0x0E, "No such attribute instance.", 0x20)
KeyFormatTypeNotSupported = _error("KeyFormatTypeNotSupported", 0x10, "Key Format Type not available.")
KeyCompressionTypeNotSupported = _error("KeyCompressionTypeNotSupported", 0x11, "Key compression unsupported.")
EncodingOptionError = _error("EncodingOptionError", 0x12, "Encoding Option cannot be honoured.")
KeyValueNotPresent = _error("KeyValueNotPresent", 0x13, "The object has no key material.")
Sensitive = _error("Sensitive", 0x16, "The object is Sensitive.")
NotExtractable = _error("NotExtractable", 0x17, "The object is not Extractable.")
ObjectAlreadyExists = _error("ObjectAlreadyExists", 0x18, "The object already exists.")
UsageLimitExceeded = _error("UsageLimitExceeded", 0x0C, "Usage Limits exhausted.", 0x1A)
ReadOnlyAttribute = _error("ReadOnlyAttribute", 0x0C, "A client may not set or change this attribute.", 0x22)
# KMIP 2.x Add/Set Attribute error tables name Read Only Attribute (0x1D); Modify/Delete name
# Attribute Read Only (0x22, ReadOnlyAttribute above). 1.x: Permission Denied for both.
SetReadOnlyAttribute = _error("SetReadOnlyAttribute", 0x0C, "Add/Set Attribute of a read-only attribute.", 0x1D)
AttributeNotFound = _error("AttributeNotFound", 0x07, "The attribute is not on the object.", 0x21)
AttributeSingleValued = _error("AttributeSingleValued", 0x0B, "The attribute takes one instance.", 0x23)
AttributeNotApplicable = _error("AttributeNotApplicable", 0x07, "The attribute does not apply here.", 0x2C)
BadCryptographicParameters = _error("BadCryptographicParameters", 0x07, "Bad Cryptographic Parameters.", 0x24)
IncompatibleUsageMask = _error("IncompatibleUsageMask", 0x0C, "Usage mask forbids the operation.", 0x29)
InvalidCorrelationValue = _error("InvalidCorrelationValue", 0x07, "Unknown Correlation Value.", 0x2E)
# Lifecycle (the spec's state diagram, kmipd/lifecycle.py).
WrongLifecycleState = _error("WrongLifecycleState", 0x0C, "The object's state forbids the operation.", 0x43)
ObjectDestroyed = _error("ObjectDestroyed", 0x0C, "The object is already destroyed.", 0x36)
NoLifecycle = _error("NoLifecycle", 0x0B, "The object type has no lifecycle state.", 0x30)
NoUsageLimits = _error("NoUsageLimits", 0x0B, "The object has no Usage Limits.", 0x21)
# Attribute operations (1.x section 11 error tables, 2.x per-operation tables).
AttributeAlreadyExists = _error("AttributeAlreadyExists", 0x0B, "A second instance of a single-valued attribute.", 0x23)
NotApplicableToObject = _error("NotApplicableToObject", 0x0C, "The attribute does not apply to this object type.", 0x2C)
AttributeInstanceNotFound = _error("AttributeInstanceNotFound", 0x01, "No attribute instance there.", 0x20)
NoSuchAttribute = _error("NoSuchAttribute", 0x01, "The object does not have that attribute.", 0x21)
MultiValuedAttribute = _error("MultiValuedAttribute", 0x07, "The attribute has several instances.", 0x1E)
NonUniqueName = _error("NonUniqueName", 0x0B, "Another object already has that Name.", 0x35)
InvalidDataType = _error("InvalidDataType", 0x07, "The adjustment does not fit the attribute's type.", 0x1C)
NumericRange = _error("NumericRange", 0x07, "The adjusted value is out of range.", 0x1B)
ApplicationNamespaceNotSupported = _error("ApplicationNamespaceNotSupported", 0x0F,
                                          "Application Data omitted and cannot be generated.", 0x0F)
# Cryptographic operations.
# 2.x: using a key outside its Process Start / Protect Stop dates is a lifecycle error (spec 2.1
# 4.40/4.41 and the crypto operation tables list Wrong Key Lifecycle State, not Permission Denied).
DateRestriction = _error("DateRestriction", 0x0C, "Before Process Start Date or after Protect Stop Date.", 0x43)
# A required IV left out is Invalid Message in 2.x too: the OASIS KMIP 2.1 profile test cases
# CS-BC-M-11/12/13-21 answer it so (2.1 Tables 198/216 list it beside Missing Initialization Vector).
MissingIV = _error("MissingIV", 0x04, "An IV/Counter/Nonce is required and absent.", 0x04)
InvalidObjectType = _error("InvalidObjectType", 0x07, "The object's type cannot be used for the operation.", 0x30)
UnsupportedCryptographicParameters = _error("UnsupportedCryptographicParameters", 0x07,
                                            "Parameters the spec defines that kmipd does not implement.", 0x3E)
# General Failure in 2.x too: the OASIS KMIP 2.1 profile test cases CS-BC-M-GCM-1-21 and
# CS-BC-M-CHACHA20POLY1305-1-21 answer a Tag Length of 1 or 32 bytes so, as the 1.4 ones do.
InvalidTagLength = _error("InvalidTagLength", 0x100, "A tag length the AEAD mode does not allow.", 0x100)
StreamTooLarge = _error("StreamTooLarge", 0x07, "A buffered stream grew past its limit.", 0x24)
WrappingKeyNotFound = _error("WrappingKeyNotFound", 0x01, "The wrapping key does not exist.", 0x42)
ServerLimitExceeded = _error("ServerLimitExceeded", 0x07, "A server limit (e.g. parts per split) is exceeded.", 0x3A)
# Certificates (Certify, Re-certify, Validate).
InvalidCSR = _error("InvalidCSR", 0x07, "The certificate request is malformed or its signature fails.", 0x2F)
# Protection Storage Masks (KMIP 2.x only).
ProtectionStorageUnavailable = _error("ProtectionStorageUnavailable", 0x44, "No requested protection storage.")
PrivateProtectionStorageUnavailable = _error("PrivateProtectionStorageUnavailable", 0x48,
                                             "No requested private key protection storage.")
PublicProtectionStorageUnavailable = _error("PublicProtectionStorageUnavailable", 0x49,
                                            "No requested public key protection storage.")
# Named by the 2.x tables only; 1.x keeps the reason kmipd always answered for the condition.
KeyWrapTypeNotSupported = _error("KeyWrapTypeNotSupported", 0x08, "The Key Wrap Type cannot be served.", 0x32)
WrappingObjectArchived = _error("WrappingObjectArchived", 0x0D, "The wrapping key is archived.", 0x40)
WrappingObjectDestroyed = _error("WrappingObjectDestroyed", 0x01, "The wrapping key is destroyed.", 0x41)
IllegalObjectType = _error("IllegalObjectType", 0x0B, "Check cannot be performed on this object type.", 0x28)
InvalidAttributeValue = _error("InvalidAttributeValue", 0x07, "An attribute value kmipd cannot store.", 0x2D)
# Re-key / Re-key Key Pair of the wrong object type: Permission Denied in 1.x (as ever), 2.x tables
# list Invalid Object Type.
ObjectTypeNotRekeyable = _error("ObjectTypeNotRekeyable", 0x0C, "The object type cannot be re-keyed so.", 0x30)
NotAnAttribute = _error("NotAnAttribute", 0x07, "A tag or name that is no attribute where one is expected.", 0x2C)
GeneralFailure = _error("GeneralFailure", 0x100, "Any other failure (details logged, not sent).")


class StoreUnavailable(KmipError):
    """The database is unreachable or past its deadline: a temporary server problem; retry later.

    General Failure is the only reason KMIP has for it (1.x and 2.x); the message says to retry.
    """

    reason = 0x100

    def __init__(self, message: str = "storage temporarily unavailable; retry") -> None:
        super().__init__(message)


class StoreBusy(StoreUnavailable):
    """The database's write lock was held by another writer for longer than the lock timeout
    (SQLite's "database is locked"): answered at once, General Failure, retry later. Not retried
    by the server (a retry would wait as long again) and not an outage (the circuit breaker stays
    closed)."""


# Aliases kept for the names the operation modules grew up with.
AllocationRefused = UsageLimitExceeded
# A cryptographic operation (Encrypt, Decrypt, Sign, MAC...) on a key whose Usage Limits are used
# up: Permission Denied in 2.x as in 1.x (1.4 4.29), as the OASIS KMIP 2.1 profile test case
# CS-BC-M-7-21 answers it (2.1 Table 216 lists both reasons); Check, Get Usage Allocation and
# tickets keep Usage Limit Exceeded (their tables' reason).
UsageLimitsExhausted = _error("UsageLimitsExhausted", 0x0C, "The key's Usage Limits are used up.", 0x0C)

del _error


# KMIP 2.x per-operation error tables -------------------------------------------------------------
#
# Spec 2.1 section 6.1 gives each client-to-server operation a table of the Result Reasons it
# SHALL return (2.0's are the same). The general ones below close every table (Query Asynchronous
# Requests' lacks Invalid Field). A handler's error class names one 2.x reason for all operations;
# where an operation's table names the same condition differently (Item Not Found / Object Not
# Found, Read Only Attribute / Attribute Read Only, Invalid / Illegal Object Type) or only by the
# general reason, L{table_reason} answers with the reason the operation's table lists.

_GENERAL = frozenset({_R.ATTESTATION_FAILED, _R.ATTESTATION_REQUIRED, _R.FEATURE_NOT_SUPPORTED, _R.INVALID_FIELD,
                      _R.INVALID_MESSAGE, _R.OPERATION_NOT_SUPPORTED, _R.PERMISSION_DENIED, _R.RESPONSE_TOO_LARGE})
_LOOKUP = (_R.OBJECT_NOT_FOUND,)
_CRYPTO = (_R.BAD_CRYPTOGRAPHIC_PARAMETERS, _R.CRYPTOGRAPHIC_FAILURE, _R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK,
           _R.INVALID_CORRELATION_VALUE, _R.INVALID_OBJECT_TYPE, _R.KEY_VALUE_NOT_PRESENT, _R.OBJECT_NOT_FOUND,
           _R.WRONG_KEY_LIFECYCLE_STATE)
_GET = (_R.BAD_CRYPTOGRAPHIC_PARAMETERS, _R.ENCODING_OPTION_ERROR, _R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK,
        _R.INVALID_OBJECT_TYPE, _R.KEY_COMPRESSION_TYPE_NOT_SUPPORTED, _R.KEY_FORMAT_TYPE_NOT_SUPPORTED,
        _R.KEY_VALUE_NOT_PRESENT, _R.KEY_WRAP_TYPE_NOT_SUPPORTED, _R.OBJECT_NOT_FOUND, _R.WRAPPING_OBJECT_ARCHIVED,
        _R.WRAPPING_OBJECT_DESTROYED, _R.WRAPPING_OBJECT_NOT_FOUND)
_NEW = (_R.ATTRIBUTE_READ_ONLY, _R.ATTRIBUTE_SINGLE_VALUED, _R.INVALID_ATTRIBUTE, _R.INVALID_ATTRIBUTE_VALUE,
        _R.NON_UNIQUE_NAME_ATTRIBUTE, _R.SERVER_LIMIT_EXCEEDED)
_ASYNC = (_R.INVALID_ASYNCHRONOUS_CORRELATION_VALUE,)
_SPECIFIC: dict[int, tuple[int, ...]] = {
    _O.ACTIVATE: (_R.INVALID_OBJECT_TYPE, _R.OBJECT_NOT_FOUND, _R.WRONG_KEY_LIFECYCLE_STATE),
    _O.ADD_ATTRIBUTE: (_R.ATTRIBUTE_SINGLE_VALUED, _R.INVALID_ATTRIBUTE, _R.NON_UNIQUE_NAME_ATTRIBUTE,
                       _R.OBJECT_NOT_FOUND, _R.READ_ONLY_ATTRIBUTE, _R.SERVER_LIMIT_EXCEEDED,
                       _R.WRONG_KEY_LIFECYCLE_STATE),
    _O.ADJUST_ATTRIBUTE: (_R.INVALID_DATA_TYPE, _R.ITEM_NOT_FOUND, _R.MULTI_VALUED_ATTRIBUTE, _R.NUMERIC_RANGE,
                          _R.OBJECT_ARCHIVED, _R.READ_ONLY_ATTRIBUTE, _R.UNSUPPORTED_ATTRIBUTE,
                          _R.WRONG_KEY_LIFECYCLE_STATE),
    _O.ARCHIVE: (_R.OBJECT_ARCHIVED, _R.OBJECT_NOT_FOUND),
    _O.CANCEL: _ASYNC,
    _O.CERTIFY: (_R.INVALID_CSR, _R.INVALID_OBJECT_TYPE, _R.ITEM_NOT_FOUND, _R.PROTECTION_STORAGE_UNAVAILABLE),
    _O.CHECK: (_R.ILLEGAL_OBJECT_TYPE, _R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK, _R.OBJECT_NOT_FOUND,
               _R.USAGE_LIMIT_EXCEEDED),
    _O.CREATE: (*_NEW, _R.CRYPTOGRAPHIC_FAILURE, _R.INVALID_OBJECT_TYPE, _R.READ_ONLY_ATTRIBUTE,
                _R.UNSUPPORTED_ATTRIBUTE, _R.PROTECTION_STORAGE_UNAVAILABLE),
    _O.CREATE_KEY_PAIR: (*_NEW, _R.CRYPTOGRAPHIC_FAILURE, _R.PRIVATE_PROTECTION_STORAGE_UNAVAILABLE,
                         _R.PUBLIC_PROTECTION_STORAGE_UNAVAILABLE),
    _O.CREATE_SPLIT_KEY: (_R.BAD_CRYPTOGRAPHIC_PARAMETERS, _R.CRYPTOGRAPHIC_FAILURE, _R.INVALID_ATTRIBUTE,
                          _R.INVALID_ATTRIBUTE_VALUE, _R.INVALID_OBJECT_TYPE, _R.ITEM_NOT_FOUND,
                          _R.NON_UNIQUE_NAME_ATTRIBUTE, _R.SERVER_LIMIT_EXCEEDED,
                          _R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS, _R.PROTECTION_STORAGE_UNAVAILABLE),
    _O.DECRYPT: (*_CRYPTO, _R.MISSING_INITIALIZATION_VECTOR, _R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS),
    _O.DELEGATED_LOGIN: (),
    _O.DELETE_ATTRIBUTE: (_R.ATTRIBUTE_INSTANCE_NOT_FOUND, _R.ATTRIBUTE_NOT_FOUND, _R.ATTRIBUTE_READ_ONLY,
                          _R.INVALID_ATTRIBUTE, _R.OBJECT_NOT_FOUND, _R.WRONG_KEY_LIFECYCLE_STATE),
    _O.DERIVE_KEY: (*_CRYPTO[:3], *_CRYPTO[4:], _R.INVALID_ATTRIBUTE, _R.NON_UNIQUE_NAME_ATTRIBUTE,
                    _R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS),
    _O.DESTROY: (_R.OBJECT_DESTROYED, _R.OBJECT_NOT_FOUND, _R.WRONG_KEY_LIFECYCLE_STATE),
    _O.DISCOVER_VERSIONS: (),
    _O.ENCRYPT: (*_CRYPTO, _R.MISSING_INITIALIZATION_VECTOR, _R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS,
                 _R.USAGE_LIMIT_EXCEEDED),
    _O.EXPORT: _GET,
    _O.GET: (*_GET, _R.NOT_EXTRACTABLE, _R.SENSITIVE),
    _O.GET_ATTRIBUTES: (_R.INVALID_ATTRIBUTE, _R.OBJECT_NOT_FOUND),
    _O.GET_ATTRIBUTE_LIST: _LOOKUP,
    _O.GET_CONSTRAINTS: (_R.INVALID_OBJECT_TYPE,),
    _O.GET_USAGE_ALLOCATION: (_R.ATTRIBUTE_NOT_FOUND, _R.INVALID_OBJECT_TYPE, _R.OBJECT_NOT_FOUND,
                              _R.USAGE_LIMIT_EXCEEDED),
    _O.HASH: (_R.CRYPTOGRAPHIC_FAILURE, _R.INVALID_CORRELATION_VALUE),
    _O.IMPORT: (*_NEW, _R.ENCODING_OPTION_ERROR, _R.OBJECT_ALREADY_EXISTS, _R.PROTECTION_STORAGE_UNAVAILABLE),
    _O.INTEROP: (),
    _O.JOIN_SPLIT_KEY: (*_NEW, _R.BAD_CRYPTOGRAPHIC_PARAMETERS, _R.CRYPTOGRAPHIC_FAILURE, _R.INVALID_OBJECT_TYPE,
                        _R.OBJECT_NOT_FOUND, _R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS,
                        _R.PROTECTION_STORAGE_UNAVAILABLE),
    _O.LOCATE: (_R.INVALID_ATTRIBUTE,),
    _O.LOG: (),
    _O.LOGIN: (),
    _O.LOGOUT: (_R.INVALID_TICKET,),
    _O.MAC: (*_CRYPTO, _R.USAGE_LIMIT_EXCEEDED),
    _O.MAC_VERIFY: _CRYPTO,
    _O.MODIFY_ATTRIBUTE: (_R.ATTRIBUTE_INSTANCE_NOT_FOUND, _R.ATTRIBUTE_NOT_FOUND, _R.ATTRIBUTE_READ_ONLY,
                          _R.NON_UNIQUE_NAME_ATTRIBUTE, _R.OBJECT_NOT_FOUND, _R.WRONG_KEY_LIFECYCLE_STATE),
    _O.OBTAIN_LEASE: (_R.OBJECT_NOT_FOUND, _R.USAGE_LIMIT_EXCEEDED),
    _O.PKCS_11: (*_ASYNC, _R.PKCS_11_CODEC_ERROR, _R.PKCS_11_INVALID_FUNCTION, _R.PKCS_11_INVALID_INTERFACE),
    _O.POLL: _ASYNC,
    _O.PROCESS: _ASYNC,
    _O.QUERY: (_R.UNKNOWN_OBJECT_GROUP,),
    _O.QUERY_ASYNCHRONOUS_REQUESTS: (),
    _O.RECOVER: _LOOKUP,
    _O.REGISTER: (*_NEW, _R.BAD_PASSWORD, _R.ENCODING_OPTION_ERROR, _R.INVALID_OBJECT_TYPE,
                  _R.PROTECTION_STORAGE_UNAVAILABLE),
    _O.REVOKE: (_R.INVALID_OBJECT_TYPE, _R.OBJECT_NOT_FOUND, _R.WRONG_KEY_LIFECYCLE_STATE),
    _O.RE_CERTIFY: (_R.INVALID_CSR, _R.INVALID_OBJECT_TYPE, _R.OBJECT_NOT_FOUND, _R.PROTECTION_STORAGE_UNAVAILABLE),
    _O.RE_KEY: (_R.CRYPTOGRAPHIC_FAILURE, _R.INVALID_OBJECT_TYPE, _R.KEY_VALUE_NOT_PRESENT, _R.OBJECT_NOT_FOUND,
                _R.PROTECTION_STORAGE_UNAVAILABLE),
    _O.RE_KEY_KEY_PAIR: (_R.CRYPTOGRAPHIC_FAILURE, _R.INVALID_OBJECT_TYPE, _R.KEY_VALUE_NOT_PRESENT,
                         _R.OBJECT_NOT_FOUND, _R.PRIVATE_PROTECTION_STORAGE_UNAVAILABLE,
                         _R.PUBLIC_PROTECTION_STORAGE_UNAVAILABLE),
    _O.RE_PROVISION: (_R.CRYPTOGRAPHIC_FAILURE,),
    _O.RNG_RETRIEVE: (_R.CRYPTOGRAPHIC_FAILURE,),
    _O.RNG_SEED: (_R.CRYPTOGRAPHIC_FAILURE,),
    _O.SET_ATTRIBUTE: (_R.INVALID_ATTRIBUTE_VALUE, _R.MULTI_VALUED_ATTRIBUTE, _R.NON_UNIQUE_NAME_ATTRIBUTE,
                       _R.OBJECT_NOT_FOUND, _R.READ_ONLY_ATTRIBUTE, _R.WRONG_KEY_LIFECYCLE_STATE),
    _O.SET_CONSTRAINTS: (_R.INVALID_OBJECT_TYPE,),
    _O.SET_DEFAULTS: (_R.INVALID_OBJECT_TYPE,),
    _O.SET_ENDPOINT_ROLE: (),
    _O.SIGN: (*_CRYPTO, _R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS, _R.USAGE_LIMIT_EXCEEDED),
    _O.SIGNATURE_VERIFY: (*_CRYPTO, _R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS),
    _O.VALIDATE: (_R.INVALID_OBJECT_TYPE, _R.OBJECT_NOT_FOUND),
}
#: Operation -> the Result Reasons its KMIP 2.x error table lists (Ping has no table).
V2_TABLES: dict[int, frozenset[int]] = {
    int(op): frozenset(int(r) for r in (*specific, *_GENERAL)) for op, specific in _SPECIFIC.items()}
V2_TABLES[int(_O.QUERY_ASYNCHRONOUS_REQUESTS)] -= {int(_R.INVALID_FIELD)}
#: Reasons the OASIS KMIP 2.1 profile test cases (kmip-profiles-v2.1, test-cases/mandatory) give
#: where the operation's table does not list them: Get of a destroyed object is Object Destroyed
#: (BL-M-8-21). docs/conformance.md lists every place kmipd follows the vectors over a table.
PROFILE_REASONS: dict[int, frozenset[int]] = {int(_O.GET): frozenset({int(_R.OBJECT_DESTROYED)})}
for _op, _reasons in PROFILE_REASONS.items():
    V2_TABLES[_op] |= _reasons

#: A 2.x reason -> the reasons naming the same condition, in order of preference, for operations
#: whose table does not list the first (the last resort is a general reason every table lists).
_SAME_CONDITION: dict[int, tuple[int, ...]] = {int(k): tuple(int(r) for r in v) for k, v in {
    _R.OBJECT_NOT_FOUND: (_R.ITEM_NOT_FOUND,),
    _R.ITEM_NOT_FOUND: (_R.OBJECT_NOT_FOUND,),
    _R.ATTRIBUTE_READ_ONLY: (_R.READ_ONLY_ATTRIBUTE, _R.PERMISSION_DENIED),
    _R.READ_ONLY_ATTRIBUTE: (_R.ATTRIBUTE_READ_ONLY, _R.PERMISSION_DENIED),
    _R.INVALID_OBJECT_TYPE: (_R.ILLEGAL_OBJECT_TYPE, _R.INVALID_FIELD),
    _R.ILLEGAL_OBJECT_TYPE: (_R.INVALID_OBJECT_TYPE, _R.INVALID_FIELD),
    _R.INVALID_ATTRIBUTE: (_R.INVALID_ATTRIBUTE_VALUE, _R.INVALID_FIELD),
    _R.INVALID_ATTRIBUTE_VALUE: (_R.INVALID_ATTRIBUTE, _R.INVALID_FIELD),
    _R.ATTRIBUTE_NOT_FOUND: (_R.ITEM_NOT_FOUND, _R.INVALID_FIELD),
    _R.BAD_CRYPTOGRAPHIC_PARAMETERS: (_R.INVALID_FIELD,),
    _R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS: (_R.FEATURE_NOT_SUPPORTED,),
    _R.OBJECT_DESTROYED: (_R.WRONG_KEY_LIFECYCLE_STATE, _R.OBJECT_NOT_FOUND, _R.ITEM_NOT_FOUND),
}.items()}


#: Operations answered with their handlers' own 2.x reasons: Poll answers with the failure of the
#: asynchronous operation it reports (a L{FailureOf} that operation, mapped by its table).
_OWN_REASONS = frozenset({int(_O.POLL)})


def table_reason(operation: int | None, reason: int) -> int:
    """The KMIP 2.x Result Reason for C{reason} met by C{operation}: C{reason} if the operation's
    table lists it (or the operation has no table), else the first reason for the same condition
    that it lists (C{reason} when none does: the condition has no row)."""
    if operation in _OWN_REASONS:
        return reason
    table = V2_TABLES.get(operation) if operation is not None else None
    if table is None or reason in table:
        return reason
    return next((r for r in _SAME_CONDITION.get(reason, ()) if r in table), reason)


class FailureOf(KmipError):
    """A failure met by C{operation} and reported by another operation: Poll answers with the
    failure of the asynchronous item it polls, its KMIP 2.x reason the one C{operation}'s table
    lists (as if the item had failed synchronously); 1.x reasons are the failure's own."""

    def __init__(self, error: KmipError, operation: int) -> None:
        super().__init__(error.message)
        self.error = error
        self.operation = operation
        self.reason, self.reason_v2 = error.reason, error.reason_v2

    def reason_for(self, version: tuple[int, int]) -> int:
        reason = self.error.reason_for(version)
        return table_reason(self.operation, reason) if version >= (2, 0) else reason
