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
MissingIV = _error("MissingIV", 0x04, "An IV/Counter/Nonce is required and absent.", 0x34)
InvalidObjectType = _error("InvalidObjectType", 0x07, "The object's type cannot be used for the operation.", 0x30)
UnsupportedCryptographicParameters = _error("UnsupportedCryptographicParameters", 0x07,
                                            "Parameters the spec defines that kmipd does not implement.", 0x3E)
InvalidTagLength = _error("InvalidTagLength", 0x100, "A GCM tag length outside 4..16 bytes (1.4 vectors).", 0x24)
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
GeneralFailure = _error("GeneralFailure", 0x100, "Any other failure (details logged, not sent).")


class StoreUnavailable(KmipError):
    """The database is unreachable or past its deadline: a temporary server problem; retry later.

    General Failure is the only reason KMIP has for it (1.x and 2.x); the message says to retry.
    """

    reason = 0x100

    def __init__(self, message: str = "storage temporarily unavailable; retry") -> None:
        super().__init__(message)


# Aliases kept for the names the operation modules grew up with.
UsageLimitsExhausted = AllocationRefused = UsageLimitExceeded

del _error
