# -*- test-case-name: tests.operations.test_wrap -*-
"""Key wrapping for Get (Key Wrapping Specification) and unwrapping for Register / Import.

Supported: Wrapping Method Encrypt with an AES key (Block Cipher Mode NIST Key Wrap, RFC 3394,
the default; or AES Key Wrap Padding, RFC 5649) or an RSA public key (RSA-OAEP, the default
padding; hash and MGF1 hash from the Cryptographic Parameters, SHA-1 by default). Encoding
Option No Encoding wraps the Key Material bytes; TTLV Encoding (the default when absent, KMIP
1.4 2.1.6) wraps the TTLV-encoded Key Value structure. MAC/sign wrapping and wrapped attributes
are refused with Feature Not Supported.

Wrapping-key parameters: when the request gives Cryptographic Parameters and the wrapping key
carries Cryptographic Parameters attributes, one of them must match (KMIP 1.4 2.1.6); a key
without any such attribute accepts the request's parameters (PyKMIP clients rely on that).
"""

from __future__ import annotations

from collections.abc import Callable

from ..context import RequestContext
from ..crypto import BlockCipherMode as BCM
from ..crypto import CryptographicAlgorithm as CA
from ..crypto import PaddingMethod as PM
from ..crypto import wrapping
from ..errors import (
    BadCryptographicParameters,
    EncodingOptionError,
    FeatureNotSupported,
    InvalidField,
    ItemNotFound,
    MissingData,
    ObjectArchived,
    WrappingKeyNotFound,
    WrappingObjectArchived,
    WrappingObjectDestroyed,
)
from ..model.cryptoparams import (
    CryptoParams,
    check_usable,
    crypto_errors,
    key_algorithm,
    key_of,
    object_params,
    require_type,
)
from ..model.keyblock import get_block, replace_block
from ..model.objects import ManagedObject
from ..model.states import DESTROYED_STATES
from ..spec import CryptographicUsageMask as Mask
from ..spec import EncodingOption, ObjectType, Operation, Tag, WrappingMethod
from ..ttlv import DecodeError, Item, ItemType, decode, encode
from ._common import load_key

_AES_MODES: dict[int, tuple[Callable[[bytes, bytes], bytes], Callable[[bytes, bytes], bytes]]] = {
    BCM.NISTKEYWRAP: (wrapping.aes_key_wrap, wrapping.aes_key_unwrap),
    BCM.AESKEYWRAPPADDING: (wrapping.aes_key_wrap_with_padding, wrapping.aes_key_unwrap_with_padding),
}


#: The newest protocol version at which a No Encoding wrap request is taken to come from PyKMIP's
#: client (its default version; see L{pykmip_shape}).
PYKMIP_CLIENT_VERSION = (1, 2)


def pykmip_shape(ctx: RequestContext, wrapping_spec: Item) -> bool:
    """Whether a wrapped key goes back in the shape PyKMIP's client parses.

    The spec (1.4 2.1.4, 2.1 2.1.4; vector AX-M-2-14) makes a wrapped Key Value a Byte String.
    PyKMIP's server sends a Key Value structure holding the wrapped bytes as Key Material, and
    PyKMIP's client cannot read anything else. Its client speaks KMIP 1.2 and, because its server
    refuses any other Encoding Option, always asks for No Encoding explicitly: a request at KMIP
    1.2 or older whose Key Wrapping Specification names Encoding Option No Encoding gets PyKMIP's
    shape (the wrapped bytes are the same either way); any other request gets the spec's.
    """
    return (ctx.version <= PYKMIP_CLIENT_VERSION
            and wrapping_spec.get(Tag.ENCODING_OPTION) == EncodingOption.NO_ENCODING)



def _wrapping_key(ctx: RequestContext, info: Item, usage: int, types: frozenset[int]) -> ManagedObject:
    uid = info.get(Tag.UNIQUE_IDENTIFIER)
    if not isinstance(uid, str):
        raise MissingData("the Encryption Key Information has no Unique Identifier")
    placeholder = ctx.id_placeholder
    try:
        key = load_key(ctx, uid, Operation.GET)
    except ItemNotFound:
        raise WrappingKeyNotFound(f"no wrapping key with Unique Identifier {uid!r}") from None
    except ObjectArchived:
        raise WrappingObjectArchived(f"the wrapping key {uid!r} is archived; Recover it first") from None
    finally:
        ctx.id_placeholder = placeholder  # the wrapping key is not the object the batch is about
    if key.state in DESTROYED_STATES:  # only a 2.x client sees a destroyed object (load)
        raise WrappingObjectDestroyed(f"the wrapping key {uid!r} is destroyed")
    require_type(key, types, "a wrapping key" if usage == Mask.WRAP_KEY else "an unwrapping key")
    check_usable(ctx, key, usage, "wrapping key" if usage == Mask.WRAP_KEY else "unwrapping key")
    return key


def _params(key: ManagedObject, info: Item) -> CryptoParams:
    given = info.find(Tag.CRYPTOGRAPHIC_PARAMETERS)
    stored = object_params(key)
    if given is None:
        return stored[0] if stored else CryptoParams()
    params = CryptoParams.from_item(given)
    if stored and not any(params.matches(s) for s in stored):
        raise BadCryptographicParameters(
            "the Cryptographic Parameters do not match any Cryptographic Parameters of the wrapping key")
    return params


def _transform(key: ManagedObject, params: CryptoParams, data: bytes, wrapping_: bool) -> bytes:
    algorithm = key_algorithm(key)
    material = key_of(key)
    if algorithm == CA.AES and key.object_type == ObjectType.SYMMETRIC_KEY:
        mode = params.block_cipher_mode if params.block_cipher_mode is not None else BCM.NISTKEYWRAP
        if mode not in _AES_MODES:
            raise BadCryptographicParameters("AES key wrapping needs Block Cipher Mode NIST Key Wrap or "
                                             "AES Key Wrap Padding")
        wrap, unwrap = _AES_MODES[mode]
        with crypto_errors():
            return (wrap if wrapping_ else unwrap)(material, data)  # type: ignore[arg-type]
    if algorithm == CA.RSA:
        if params.padding_method not in (None, PM.OAEP):
            raise BadCryptographicParameters("RSA key wrapping uses OAEP padding")
        with crypto_errors():
            if wrapping_:
                return wrapping.rsa_oaep_wrap(material, data, params.hashing_algorithm,  # type: ignore[arg-type]
                                              params.mask_generator_hashing_algorithm)
            return wrapping.rsa_oaep_unwrap(material, data, params.hashing_algorithm,  # type: ignore[arg-type]
                                            params.mask_generator_hashing_algorithm)
    raise InvalidField("the wrapping key is not an AES or RSA key and cannot wrap keys")


def _encoding(value: object) -> int:
    if value is None:
        return EncodingOption.TTLV_ENCODING
    if value not in (EncodingOption.NO_ENCODING, EncodingOption.TTLV_ENCODING):
        raise EncodingOptionError(f"Encoding Option {value} is not supported")
    return value  # type: ignore[return-value]


def wrap_for_get(ctx: RequestContext, obj: ManagedObject, material: Item, wrapping_spec: Item) -> Item:
    """The object structure C{material} of C{obj} with its Key Block wrapped per C{wrapping_spec}.

    @raise MissingData: incomplete Key Wrapping Specification.
    @raise FeatureNotSupported: MAC/sign wrapping, or wrapped attributes requested.
    @raise WrappingKeyNotFound / PermissionDenied / IllegalOperation / IncompatibleUsageMask:
        the wrapping key is missing, not accessible, not Active, or lacks Wrap Key.
    @raise InvalidField / BadCryptographicParameters: the key cannot wrap, wrong parameters.
    @raise EncodingOptionError: unknown Encoding Option, or No Encoding of a transparent key.
    """
    method = wrapping_spec.get(Tag.WRAPPING_METHOD)  # the Get schema: present, an Enumeration
    if method != WrappingMethod.ENCRYPT:
        raise FeatureNotSupported("only the Encrypt wrapping method is supported")
    info = wrapping_spec.find(Tag.ENCRYPTION_KEY_INFORMATION)
    if info is None:
        raise MissingData("Encrypt wrapping needs Encryption Key Information")
    if wrapping_spec.findall(Tag.ATTRIBUTE_NAME) or wrapping_spec.findall(Tag.ATTRIBUTE_REFERENCE):
        raise FeatureNotSupported("wrapping attributes with the key is not supported")
    encoding = _encoding(wrapping_spec.get(Tag.ENCODING_OPTION))
    block = get_block(material)
    if block is None:
        raise InvalidField("only objects with a Key Block can be wrapped")
    if block.find(Tag.KEY_WRAPPING_DATA) is not None:
        raise InvalidField("the key is already wrapped")
    value = block.find(Tag.KEY_VALUE)
    if value is None or value.type != ItemType.STRUCTURE:
        raise InvalidField("the key has no Key Value to wrap")
    if encoding == EncodingOption.NO_ENCODING:
        km = value.find(Tag.KEY_MATERIAL)
        if km is None or km.type != ItemType.BYTE_STRING:
            raise EncodingOptionError("No Encoding needs Key Material in a byte-string format")
        plaintext = km.value
    else:
        plaintext = encode(value)
    key = _wrapping_key(ctx, info, Mask.WRAP_KEY, frozenset({ObjectType.SYMMETRIC_KEY, ObjectType.PUBLIC_KEY}))
    params = _params(key, info)
    wrapped = _transform(key, params, plaintext, True)
    given = info.find(Tag.CRYPTOGRAPHIC_PARAMETERS)
    kwd = Item.struct(Tag.KEY_WRAPPING_DATA, [
        Item.enum(Tag.WRAPPING_METHOD, method),
        Item.struct(Tag.ENCRYPTION_KEY_INFORMATION, [
            Item.text(Tag.UNIQUE_IDENTIFIER, key.uid), given.copy() if given is not None else None]),
        Item.enum(Tag.ENCODING_OPTION, encoding) if wrapping_spec.find(Tag.ENCODING_OPTION) is not None else None,
    ])
    if pykmip_shape(ctx, wrapping_spec):
        new_value = Item.struct(Tag.KEY_VALUE, [Item.bytes(Tag.KEY_MATERIAL, wrapped)])
    else:
        new_value = Item.bytes(Tag.KEY_VALUE, wrapped)
    children = []
    for child in block.value:
        if child.tag == Tag.KEY_VALUE:
            children.append(new_value)
        else:
            children.append(child.copy())
    children.append(kwd)
    return replace_block(material, Item.struct(Tag.KEY_BLOCK, children))


def unwrap_material(ctx: RequestContext, material: Item) -> Item:
    """The plaintext form of a wrapped object structure, unwrapped with the stored key its Key
    Wrapping Data names (Encrypt wrapping only). Unwrapped structures are returned unchanged.

    @raise as L{wrap_for_get}, for the Unwrap Key usage; CryptographicFailure if unwrapping fails.
    """
    block = get_block(material)
    kwd = block.find(Tag.KEY_WRAPPING_DATA) if block is not None else None
    if block is None or kwd is None:
        return material
    if kwd.get(Tag.WRAPPING_METHOD) != WrappingMethod.ENCRYPT:
        raise FeatureNotSupported("only keys wrapped with the Encrypt wrapping method can be unwrapped")
    info = kwd.find(Tag.ENCRYPTION_KEY_INFORMATION)
    if info is None:
        raise MissingData("the Key Wrapping Data has no Encryption Key Information")
    encoding = _encoding(kwd.get(Tag.ENCODING_OPTION))
    value = block.find(Tag.KEY_VALUE)
    if value is not None and value.type == ItemType.STRUCTURE:  # PyKMIP's shape
        value = value.find(Tag.KEY_MATERIAL)
    if value is None or value.type != ItemType.BYTE_STRING:
        raise InvalidField("a wrapped Key Value must be a Byte String")
    key = _wrapping_key(ctx, info, Mask.UNWRAP_KEY,
                        frozenset({ObjectType.SYMMETRIC_KEY, ObjectType.PRIVATE_KEY}))
    plaintext = _transform(key, _params(key, info), value.value, False)
    if encoding == EncodingOption.NO_ENCODING:
        new_value = Item.struct(Tag.KEY_VALUE, [Item.bytes(Tag.KEY_MATERIAL, plaintext)])
    else:
        try:
            new_value = decode(plaintext)
        except DecodeError:
            raise InvalidField("the unwrapped Key Value is not valid TTLV") from None
        if new_value.tag != Tag.KEY_VALUE or new_value.type != ItemType.STRUCTURE:
            raise InvalidField("the unwrapped data is not a Key Value structure")
    children = []
    for child in block.value:
        if child.tag == Tag.KEY_WRAPPING_DATA:
            continue
        children.append(new_value if child.tag == Tag.KEY_VALUE else child.copy())
    return replace_block(material, Item.struct(Tag.KEY_BLOCK, children))


def unwrap_for_register(ctx: RequestContext, material: Item) -> Item:
    """Register/Import of a wrapped key when the client asks the server to unwrap it."""
    return unwrap_material(ctx, material)


__all__ = ["PYKMIP_CLIENT_VERSION", "WrappingKeyNotFound", "pykmip_shape", "unwrap_for_register", "unwrap_material",
           "wrap_for_get"]
