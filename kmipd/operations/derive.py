# -*- test-case-name: tests.operations.test_derive -*-
"""DeriveKey: a new Symmetric Key or Secret Data from a stored key (KMIP 1.4 4.6, 2.1 6.1.12).

Methods: PBKDF2, HASH, HMAC, ENCRYPT, NIST800-108-C and (2.x) HKDF, computed by
L{kmipd.crypto.derive}. The rules PyKMIP documents: the base object must be accessible, of a
type usable for derivation (Symmetric Key, Secret Data), Active, with the Derive Key usage bit;
the template must give the Cryptographic Length; output longer than that is truncated, shorter
is a Cryptographic Failure. A derived Symmetric Key's length must be one the algorithm table
(L{kmipd.crypto.keygen}) allows for its Cryptographic Algorithm (3DES/DES nominal lengths 112,
168 and 56 derive the 128, 192 and 64 stored bits), else Invalid Field. The new object links to
its base (Derivation Base Object) and the base to it (Derived Key).

With C{compatibility = pykmip}, as the PyKMIP server: a Pre-Active base object may be used, and
a derived Symmetric Key may have any length that is a multiple of 8, and the HMAC method is
computed as HKDF (RFC 5869) as PyKMIP's does (docs/compatibility.md).
"""

from __future__ import annotations

from ..compat import pykmip_mode
from ..context import RequestContext
from ..crypto import derive as kdf
from ..crypto.errors import CryptoError
from ..crypto.keygen import HMAC_ALGORITHMS, SYMMETRIC_ALGORITHMS, check_symmetric_length
from ..errors import (
    FeatureNotSupported,
    InvalidField,
    InvalidObjectType,
    MissingData,
    UnsupportedCryptographicParameters,
)
from ..log import Logger
from ..model.attributes import Attr, read_template
from ..model.cryptoparams import (
    CryptoParams,
    check_usable,
    crypto_errors,
    key_algorithm,
    key_of,
    object_params,
    require_type,
)
from ..model.factory import check_template, check_unique_names, link, new_object, template_value
from ..model.keyblock import body, key_block, symmetric_key
from ..model.keyformat import kmip_error, symmetric_storage_bits
from ..model.objects import ManagedObject
from ..operations._common import touch
from ..spec import CryptographicUsageMask as Mask
from ..spec import (
    DerivationMethod,
    KeyFormatType,
    LinkType,
    ObjectType,
    Operation,
    SecretDataType,
    Tag,
    enum_value_in_version,
)
from ..ttlv import Item
from ._common import load_key
from .registry import operation

_log = Logger()

_BASE_TYPES = frozenset({ObjectType.SYMMETRIC_KEY, ObjectType.SECRET_DATA})
_RESULT_TYPES = frozenset({ObjectType.SYMMETRIC_KEY, ObjectType.SECRET_DATA})


def derive_material(method: int, base_key: bytes, base_algorithm: int | None, derivation: Item,
                    params: CryptoParams, length: int) -> bytes:
    """Run derivation C{method} over the base key; C{length} in bits. Raises kmipd errors."""
    hashing = params.hashing_algorithm
    if hashing is None and base_algorithm in HMAC_ALGORITHMS:
        hashing = HMAC_ALGORITHMS[base_algorithm]
    data = derivation.get(Tag.DERIVATION_DATA)  # fields typed by the Derivation Parameters schema
    encryption = params.cryptographic_algorithm
    if method == DerivationMethod.ENCRYPT and encryption is None:
        encryption = base_algorithm
    if method == DerivationMethod.NIST800_108_C and encryption is not None and encryption not in SYMMETRIC_ALGORITHMS:
        encryption = None  # an HMAC algorithm names the PRF hash, not a CMAC cipher
    with crypto_errors():
        return kdf.derive_key(
            method,
            key_material=None if method == DerivationMethod.HASH and data is not None else base_key,
            derivation_data=data,
            salt=derivation.get(Tag.SALT),
            iterations=derivation.get(Tag.ITERATION_COUNT),
            hashing_algorithm=hashing,
            encryption_algorithm=encryption,
            mode=params.block_cipher_mode,
            padding=params.padding_method,
            iv=derivation.get(Tag.INITIALIZATION_VECTOR),
            length_bits=length,
        )


def _base_uid(ctx: RequestContext, payload: Item) -> str:
    """The one base object's Unique Identifier (the ID Placeholder when the request names none)."""
    uids = [u.value for u in payload.findall(Tag.UNIQUE_IDENTIFIER)]
    if not uids:
        if ctx.id_placeholder is None:
            raise MissingData("the Unique Identifier of the base object is required")
        uids = [ctx.id_placeholder]
    if len(uids) > 1:
        raise FeatureNotSupported("DeriveKey from more than one base object is not supported")
    return uids[0]


def _method(ctx: RequestContext, payload: Item) -> int:
    """The Derivation Method, defined in the request's version and supported by L{kdf}."""
    method = payload.get(Tag.DERIVATION_METHOD)
    if not enum_value_in_version(DerivationMethod, method, ctx.version):
        raise InvalidField(f"Derivation Method {method} is not defined in KMIP {ctx.version[0]}.{ctx.version[1]}")
    if method not in kdf.derivation_methods():
        raise UnsupportedCryptographicParameters(f"Derivation Method {DerivationMethod(method).name} is not supported")
    return method


def _length(attrs: list[Attr]) -> int:
    """The template's Cryptographic Length: required, a positive multiple of 8."""
    length = template_value(attrs, "Cryptographic Length")
    if length is None:
        raise InvalidField("the Cryptographic Length of the derived object is required")
    if not isinstance(length, int) or length <= 0 or length % 8:
        raise InvalidField("the Cryptographic Length must be a positive multiple of 8")
    return length


def _symmetric_bits(ctx: RequestContext, algorithm: object, length: int) -> int:
    """The bits to derive for a Symmetric Key of C{algorithm} and nominal C{length}, checked as Create does."""
    if algorithm is None:
        raise InvalidField("the Cryptographic Algorithm of the derived key is required")
    derived_bits = symmetric_storage_bits(algorithm, length)  # type: ignore[arg-type]
    try:
        check_symmetric_length(algorithm, derived_bits)  # type: ignore[arg-type]
    except CryptoError as e:  # as Create: the template's length, not a Cryptographic Parameter
        if not pykmip_mode(ctx):  # the PyKMIP server derives any length (docs/compatibility.md)
            raise kmip_error(e) from None
    return derived_bits


def _derivation_params(base: ManagedObject, derivation: Item) -> CryptoParams:
    """The Derivation Parameters' Cryptographic Parameters, else the base object's first, else none."""
    given = derivation.find(Tag.CRYPTOGRAPHIC_PARAMETERS)
    if given is not None:
        return CryptoParams.from_item(given)
    stored = object_params(base)
    return stored[0] if stored else CryptoParams()


@operation(Operation.DERIVE_KEY)
def derive_key(ctx: RequestContext, payload: Item) -> Item:
    """Derive a Symmetric Key or Secret Data from a base object and store it with Links."""
    object_type = payload.get(Tag.OBJECT_TYPE)  # the schema: Object Type, Derivation Method and
    if object_type not in _RESULT_TYPES:       # Derivation Parameters are present and typed
        raise InvalidObjectType("DeriveKey makes Symmetric Keys or Secret Data only")
    uid = _base_uid(ctx, payload)
    method = _method(ctx, payload)
    derivation = payload.find(Tag.DERIVATION_PARAMETERS)
    assert derivation is not None

    attrs = check_template(ctx, object_type, read_template(payload, Tag.TEMPLATE_ATTRIBUTE, Tag.ATTRIBUTES))
    length = _length(attrs)
    algorithm = template_value(attrs, "Cryptographic Algorithm")
    derived_bits = length
    if object_type == ObjectType.SYMMETRIC_KEY:
        derived_bits = _symmetric_bits(ctx, algorithm, length)

    # the base object's policy check first: a caller refused the base learns nothing about names
    base = load_key(ctx, uid, Operation.DERIVE_KEY)
    require_type(base, _BASE_TYPES, "a key derivation base object")
    check_usable(ctx, base, Mask.DERIVE_KEY, "base object", pre_active=pykmip_mode(ctx))
    check_unique_names(ctx, attrs)
    base_key = key_of(base)
    if not isinstance(base_key, bytes):
        raise InvalidField("the base object has no byte-string key material")
    params = _derivation_params(base, derivation)
    base_algorithm = key_algorithm(base)
    if method == DerivationMethod.HMAC and pykmip_mode(ctx):
        method = DerivationMethod.HKDF  # the PyKMIP server's "HMAC" derivation is HKDF (RFC 5869)
    derived = derive_material(method, base_key, base_algorithm, derivation, params, derived_bits)

    if object_type == ObjectType.SYMMETRIC_KEY:
        material = symmetric_key(derived, algorithm, length)  # type: ignore[arg-type]
    else:
        material = body(ObjectType.SECRET_DATA, key_block(KeyFormatType.OPAQUE, derived),
                        secret_type=Item.enum(Tag.SECRET_DATA_TYPE, SecretDataType.SEED))
    obj = new_object(ctx, object_type, material, attrs,
                     algorithm=algorithm if object_type == ObjectType.SYMMETRIC_KEY else None,  # type: ignore[arg-type]
                     length=length, generated=True,
                     extra=[("Link", link(LinkType.DERIVATION_BASE_OBJECT_LINK, base.uid))])
    ctx.store.add(obj)
    base.attributes.setdefault("Link", []).append(link(LinkType.DERIVED_KEY_LINK, obj.uid))
    touch(ctx, base)
    ctx.store.save(base)
    ctx.id_placeholder = obj.uid
    _log.info("derived {uid} from {base} with method {method}", uid=obj.uid, base=base.uid, method=method)
    return Item.struct(Tag.RESPONSE_PAYLOAD, [Item.text(Tag.UNIQUE_IDENTIFIER, obj.uid)])


__all__ = ["derive_key", "derive_material"]
