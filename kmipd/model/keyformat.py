# -*- test-case-name: tests.operations.test_keyformat -*-
"""Key format conversion: transparent structures <-> bytes, Get conversions, Register checks.

A stored key object keeps its material in the format it was created or registered in (see
L{kmipd.model.keyblock}). L{convert} re-encodes it for a Get that asks for another Key Format Type;
L{validate_key_block} checks registered material (parses DER, compares lengths) and returns the
Cryptographic Algorithm and Length the material implies. Cryptographic work is done by
L{kmipd.crypto.keygen}; this module only maps between KMIP items and its byte/dict forms.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519

from ..crypto import keygen
from ..crypto.errors import CryptoError
from ..errors import (
    CryptographicFailure,
    FeatureNotSupported,
    IncompatibleUsageMask,
    InvalidField,
    KeyCompressionTypeNotSupported,
    KeyFormatTypeNotSupported,
    KeyValueNotPresent,
    KmipError,
)
from ..spec import (
    CryptographicAlgorithm,
    KeyCompressionType,
    KeyFormatType,
    ObjectType,
    RecommendedCurve,
    Tag,
    enum_value_in_version,
)
from ..ttlv import Item, ItemType
from . import keyblock

KFT = KeyFormatType
CA = CryptographicAlgorithm

_CRYPTO_ERRORS: dict[str, type[KmipError]] = {
    "INVALID_FIELD": InvalidField,
    "UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS": InvalidField,
    "CRYPTOGRAPHIC_FAILURE": CryptographicFailure,
    "FEATURE_NOT_SUPPORTED": FeatureNotSupported,
    "KEY_COMPRESSION_TYPE_NOT_SUPPORTED": KeyCompressionTypeNotSupported,
    "INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK": IncompatibleUsageMask,
    "KEY_VALUE_NOT_PRESENT": KeyValueNotPresent,
}


def kmip_error(err: CryptoError) -> KmipError:
    """The L{kmipd.errors} failure of the same Result Reason as a crypto-layer error."""
    return _CRYPTO_ERRORS.get(err.reason, CryptographicFailure)(err.message)


#: Transparent key component name (L{kmipd.crypto.keygen} dict key) -> (tag, item type).
_COMPONENTS: dict[str, tuple[int, int]] = {
    "modulus": (Tag.MODULUS, ItemType.BIG_INTEGER),
    "private_exponent": (Tag.PRIVATE_EXPONENT, ItemType.BIG_INTEGER),
    "public_exponent": (Tag.PUBLIC_EXPONENT, ItemType.BIG_INTEGER),
    "p": (Tag.P, ItemType.BIG_INTEGER),
    "q": (Tag.Q, ItemType.BIG_INTEGER),
    "g": (Tag.G, ItemType.BIG_INTEGER),
    "x": (Tag.X, ItemType.BIG_INTEGER),
    "y": (Tag.Y, ItemType.BIG_INTEGER),
    "prime_exponent_p": (Tag.PRIME_EXPONENT_P, ItemType.BIG_INTEGER),
    "prime_exponent_q": (Tag.PRIME_EXPONENT_Q, ItemType.BIG_INTEGER),
    "crt_coefficient": (Tag.CRT_COEFFICIENT, ItemType.BIG_INTEGER),
    "recommended_curve": (Tag.RECOMMENDED_CURVE, ItemType.ENUMERATION),
    "d": (Tag.D, ItemType.BIG_INTEGER),
    "q_string": (Tag.Q_STRING, ItemType.BYTE_STRING),
}
_BY_TAG = {tag: name for name, (tag, _) in _COMPONENTS.items()}

#: Transparent formats of private / public keys, in the order their components are encoded.
_RSA_PRIVATE = ("modulus", "private_exponent", "public_exponent", "p", "q", "prime_exponent_p",
                "prime_exponent_q", "crt_coefficient")
_TRANSPARENT_PRIVATE: dict[int, tuple[str, ...]] = {
    KFT.TRANSPARENT_RSA_PRIVATE_KEY: _RSA_PRIVATE,
    KFT.TRANSPARENT_DSA_PRIVATE_KEY: ("p", "q", "g", "x"),
    KFT.TRANSPARENT_EC_PRIVATE_KEY: ("recommended_curve", "d"),
    KFT.TRANSPARENT_ECDSA_PRIVATE_KEY: ("recommended_curve", "d"),
    KFT.TRANSPARENT_ECDH_PRIVATE_KEY: ("recommended_curve", "d"),
    KFT.TRANSPARENT_ECMQV_PRIVATE_KEY: ("recommended_curve", "d"),
}
_TRANSPARENT_PUBLIC: dict[int, tuple[str, ...]] = {
    KFT.TRANSPARENT_RSA_PUBLIC_KEY: ("modulus", "public_exponent"),
    KFT.TRANSPARENT_DSA_PUBLIC_KEY: ("p", "q", "g", "y"),
    KFT.TRANSPARENT_EC_PUBLIC_KEY: ("recommended_curve", "q_string"),
    KFT.TRANSPARENT_ECDSA_PUBLIC_KEY: ("recommended_curve", "q_string"),
    KFT.TRANSPARENT_ECDH_PUBLIC_KEY: ("recommended_curve", "q_string"),
    KFT.TRANSPARENT_ECMQV_PUBLIC_KEY: ("recommended_curve", "q_string"),
}
#: The pre-1.3 ECDSA/ECDH/ECMQV transparent formats map onto keygen's EC format.
_EC_ALIAS: dict[int, int] = {
    KFT.TRANSPARENT_ECDSA_PRIVATE_KEY: KFT.TRANSPARENT_EC_PRIVATE_KEY,
    KFT.TRANSPARENT_ECDH_PRIVATE_KEY: KFT.TRANSPARENT_EC_PRIVATE_KEY,
    KFT.TRANSPARENT_ECMQV_PRIVATE_KEY: KFT.TRANSPARENT_EC_PRIVATE_KEY,
    KFT.TRANSPARENT_ECDSA_PUBLIC_KEY: KFT.TRANSPARENT_EC_PUBLIC_KEY,
    KFT.TRANSPARENT_ECDH_PUBLIC_KEY: KFT.TRANSPARENT_EC_PUBLIC_KEY,
    KFT.TRANSPARENT_ECMQV_PUBLIC_KEY: KFT.TRANSPARENT_EC_PUBLIC_KEY,
}
_PRIVATE_BYTES = frozenset({KFT.RAW, KFT.OPAQUE, KFT.PKCS_1, KFT.PKCS_8, KFT.ECPRIVATEKEY})
_PUBLIC_BYTES = frozenset({KFT.RAW, KFT.OPAQUE, KFT.PKCS_1, KFT.X_509})
_SYMMETRIC_FORMATS = frozenset({KFT.RAW, KFT.OPAQUE, KFT.TRANSPARENT_SYMMETRIC_KEY})

#: 3DES: the nominal (parity-free) lengths clients use, and the stored key length in bits.
TRIPLE_DES_LENGTHS = {56: 64, 112: 128, 168: 192, 64: 64, 128: 128, 192: 192}
#: DES keys are 64 bits of which 56 are key bits: a nominal 56-bit DES key is stored in 8 bytes.
DES_NOMINAL_BITS = 56


def to_item(components: dict[str, Any]) -> Item:
    """A transparent C{Key Material} structure from keygen's component dict."""
    children = []
    for name, value in components.items():
        tag, typ = _COMPONENTS[name]
        children.append(Item(tag, typ, int(value) if typ == ItemType.ENUMERATION else value))
    return Item.struct(Tag.KEY_MATERIAL, children)


def from_item(material: Item) -> dict[str, Any]:
    """keygen's component dict from a transparent C{Key Material} structure."""
    out: dict[str, Any] = {}
    for child in material.value:
        name = _BY_TAG.get(child.tag)
        if name is None:
            raise InvalidField(f"unexpected field 0x{child.tag:06X} in a transparent key")
        out[name] = child.value
    return out


def _key_input(fmt: int, km: Item) -> bytes | dict[str, Any]:
    """The material of a stored key as keygen accepts it (DER bytes or a component dict)."""
    if km.type == ItemType.STRUCTURE:
        if fmt == KFT.TRANSPARENT_SYMMETRIC_KEY:
            return km.get(Tag.KEY, b"")
        return from_item(km)
    return km.value


def _check_format_in_version(fmt: int, version: tuple[int, int]) -> None:
    if not enum_value_in_version(KeyFormatType, fmt, version):
        raise KeyFormatTypeNotSupported(f"Key Format Type {fmt} is not defined in KMIP {version[0]}.{version[1]}")


def convert(object_type: int, material: Item, to_format: int | None, version: tuple[int, int],
            compression: int | None = None) -> Item:
    """C{material} (an object structure) with its Key Block re-encoded as C{to_format}.

    @raise KeyFormatTypeNotSupported: the key cannot be expressed in C{to_format}.
    @raise KeyCompressionTypeNotSupported: a compression other than "EC uncompressed" for EC keys.
    """
    block = keyblock.get_block(material)
    if compression is not None:
        _check_compression(object_type, block, compression)
    if to_format is None:
        return material
    if block is None:
        raise KeyFormatTypeNotSupported("this object has no Key Block to convert")
    current = block.get(Tag.KEY_FORMAT_TYPE)
    if to_format == current:
        return material
    _check_format_in_version(to_format, version)
    if keyblock.is_wrapped(material):
        raise KeyFormatTypeNotSupported("a wrapped key cannot be converted")
    km = keyblock.key_material(material)
    try:
        new = _converted(object_type, km, current, to_format)
    except CryptoError as e:
        raise KeyFormatTypeNotSupported(f"cannot convert the key: {e.message}") from None
    return keyblock.replace_block(material, _reformatted_block(block, to_format, new))


def _check_compression(object_type: int, block: Item | None, compression: int) -> None:
    """Only "EC uncompressed" for EC keys: kmipd does not compress keys."""
    algorithm = block.get(Tag.CRYPTOGRAPHIC_ALGORITHM) if block is not None else None
    ec_key = object_type in (ObjectType.PUBLIC_KEY, ObjectType.PRIVATE_KEY) and algorithm in (
        CA.EC, CA.ECDSA, CA.ECDH, CA.ECMQV)
    if not (ec_key and compression == KeyCompressionType.EC_PUBLIC_KEY_TYPE_UNCOMPRESSED):
        raise KeyCompressionTypeNotSupported("kmipd does not compress keys")


def _converted(object_type: int, km: Item, current: int, to_format: int) -> bytes | Item:
    """The Key Material C{km} (in format C{current}) re-encoded as C{to_format}."""
    if object_type in (ObjectType.SYMMETRIC_KEY, ObjectType.SECRET_DATA, ObjectType.SPLIT_KEY):
        raw = _key_input(current, km)
        if not isinstance(raw, bytes) or to_format not in _SYMMETRIC_FORMATS or current not in _SYMMETRIC_FORMATS:
            raise KeyFormatTypeNotSupported(f"cannot convert Key Format Type {current} to {to_format}")
        if to_format != KFT.TRANSPARENT_SYMMETRIC_KEY:
            return raw
        if object_type != ObjectType.SYMMETRIC_KEY:
            raise KeyFormatTypeNotSupported("only Symmetric Keys have a Transparent Symmetric Key form")
        return Item.struct(Tag.KEY_MATERIAL, [Item.bytes(Tag.KEY, raw)])
    if object_type not in (ObjectType.PRIVATE_KEY, ObjectType.PUBLIC_KEY):
        raise KeyFormatTypeNotSupported("this object type has no alternative key formats")
    private = object_type == ObjectType.PRIVATE_KEY
    byte_formats, transparent = (_PRIVATE_BYTES, _TRANSPARENT_PRIVATE) if private else (_PUBLIC_BYTES,
                                                                                        _TRANSPARENT_PUBLIC)
    if to_format == KFT.OPAQUE or (to_format not in byte_formats and to_format not in transparent):
        kind = "private" if private else "public"
        raise KeyFormatTypeNotSupported(f"a {kind} key cannot be served as Key Format Type {to_format}")
    converter = keygen.convert_private_key if private else keygen.convert_public_key
    out = converter(_key_input(current, km), _EC_ALIAS.get(to_format, to_format))
    return to_item(out) if isinstance(out, dict) else out


def _reformatted_block(block: Item, to_format: int, new: bytes | Item) -> Item:
    """C{block} with Key Format Type C{to_format}, Key Material C{new} and no Key Compression Type."""
    children: list[Item | None] = []
    for child in block.value:
        if child.tag == Tag.KEY_FORMAT_TYPE:
            children.append(Item.enum(Tag.KEY_FORMAT_TYPE, to_format))
        elif child.tag == Tag.KEY_VALUE:
            km_new = Item(Tag.KEY_MATERIAL, new.type, new.value) if isinstance(new, Item) \
                else Item.bytes(Tag.KEY_MATERIAL, new)
            kv = [km_new]
            kv += [c.copy() for c in child.value if c.tag != Tag.KEY_MATERIAL]
            children.append(Item.struct(Tag.KEY_VALUE, kv))
        elif child.tag == Tag.KEY_COMPRESSION_TYPE:
            continue
        else:
            children.append(child.copy())
    return Item.struct(Tag.KEY_BLOCK, children)


# ---------------------------------------------------------------------------------------------
# Register: validation of client-supplied key material

def _odd_parity(key: bytes) -> bytes:
    out = bytearray(key)
    for i, b in enumerate(out):
        b &= 0xFE
        out[i] = b | (0 if bin(b).count("1") % 2 else 1)
    return bytes(out)


def with_des_parity(key: bytes) -> bytes:
    """DES/3DES key bytes with odd parity in each byte (as FIPS 46-3 wants)."""
    return _odd_parity(key)


def symmetric_storage_bits(algorithm: int, length: int) -> int:
    """The key length in bits stored for a symmetric key of nominal C{length}."""
    if algorithm == CA.TRIPLE_DES and length in TRIPLE_DES_LENGTHS:
        return TRIPLE_DES_LENGTHS[length]
    if algorithm == CA.DES and length == DES_NOMINAL_BITS:
        return 64
    return length


def validate_key_block(object_type: int, block: Item, algorithm: int | None,
                       length: int | None, *, lenient: bool = False) -> tuple[int | None, int | None]:
    """Check a registered Key Block; return the (algorithm, length) the material has.

    C{algorithm}/C{length} are the values the client gave (template or Key Block); a value that
    contradicts the material raises L{InvalidField}. Wrapped blocks are not inspected.

    C{lenient} accepts what the PyKMIP server stores unchecked (C{compatibility = pykmip}): a
    symmetric key whose size is not one of its algorithm's key sizes, and a public or private key
    in Raw format whatever its bytes (kept as given, like Opaque).
    """
    fmt = block.get(Tag.KEY_FORMAT_TYPE)
    if fmt is None:
        raise InvalidField("the Key Block has no Key Format Type")
    value = block.find(Tag.KEY_VALUE)
    if block.find(Tag.KEY_WRAPPING_DATA) is not None:
        if value is None:
            raise InvalidField("the Key Block has no Key Value")
        return algorithm, length
    if value is None or value.type != ItemType.STRUCTURE or value.find(Tag.KEY_MATERIAL) is None:
        raise InvalidField("the Key Block has no Key Value with Key Material")
    km = value.find(Tag.KEY_MATERIAL)
    assert km is not None
    if object_type in (ObjectType.SYMMETRIC_KEY, ObjectType.SECRET_DATA, ObjectType.SPLIT_KEY):
        return _validate_symmetric(object_type, fmt, km, algorithm, length, lenient)
    if object_type in (ObjectType.PRIVATE_KEY, ObjectType.PUBLIC_KEY):
        return _validate_asymmetric(object_type, fmt, km, algorithm, length, lenient)
    # PGP keys and others: opaque to kmipd.
    if km.type == ItemType.BYTE_STRING and not km.value:
        raise InvalidField("the key material is empty")
    return algorithm, length


def _validate_symmetric(object_type: int, fmt: int, km: Item, algorithm: int | None,
                        length: int | None, lenient: bool = False) -> tuple[int | None, int | None]:
    if fmt not in _SYMMETRIC_FORMATS:
        raise InvalidField(f"Key Format Type {fmt} is not valid for this object type")
    if fmt == KFT.TRANSPARENT_SYMMETRIC_KEY:
        if km.type != ItemType.STRUCTURE or not isinstance(km.get(Tag.KEY), bytes):
            raise InvalidField("a Transparent Symmetric Key needs a Key byte string")
        raw = km.get(Tag.KEY)
    else:
        if km.type != ItemType.BYTE_STRING:
            raise InvalidField("Key Material must be a byte string in this format")
        raw = km.value
    if not raw:
        raise InvalidField("the key material is empty")
    if object_type == ObjectType.SYMMETRIC_KEY and fmt != KFT.OPAQUE:
        if length is not None and symmetric_storage_bits(algorithm or 0, length) != len(raw) * 8:
            raise InvalidField(f"Cryptographic Length {length} does not match the {len(raw) * 8}-bit key")
        spec = keygen.STORABLE_SYMMETRIC_ALGORITHMS.get(algorithm) if algorithm is not None else None
        if spec is not None and len(raw) * 8 not in spec.key_sizes and not lenient:
            raise InvalidField(f"a {len(raw) * 8}-bit key is not valid for {spec.name}")
        if length is None:
            length = len(raw) * 8
    return algorithm, length


def _validate_asymmetric(object_type: int, fmt: int, km: Item, algorithm: int | None,
                         length: int | None, lenient: bool = False) -> tuple[int | None, int | None]:
    private = object_type == ObjectType.PRIVATE_KEY
    kind = "private" if private else "public"
    allowed = (_PRIVATE_BYTES, _TRANSPARENT_PRIVATE) if private else (_PUBLIC_BYTES, _TRANSPARENT_PUBLIC)
    if not any(fmt in formats for formats in allowed):
        raise InvalidField(f"Key Format Type {fmt} is not valid for a {kind} key")
    if fmt == KFT.OPAQUE or (fmt == KFT.RAW and lenient and algorithm not in _EDWARDS_BITS):
        return algorithm, length
    if fmt == KFT.RAW:
        return _check_raw_edwards(km, algorithm, length, private=private)
    fields = (_TRANSPARENT_PRIVATE if private else _TRANSPARENT_PUBLIC).get(fmt)
    if fields is not None:
        _check_transparent_fields(km, fields, fmt, kind)
    try:
        key = (keygen.load_private_key if private else keygen.load_public_key)(_key_input(fmt, km))
    except CryptoError as e:
        raise InvalidField(f"malformed {kind} key: {e.message}") from None
    return _check_loaded(key, algorithm, length)


def _check_transparent_fields(km: Item, fields: tuple[str, ...], fmt: int, kind: str) -> None:
    """A transparent Key Material holds only the fields of its Key Format Type (2.1 section 3)."""
    if km.type != ItemType.STRUCTURE:
        raise InvalidField(f"Key Format Type {fmt} needs a Key Material structure")
    foreign = [child.tag for child in km.value if _BY_TAG.get(child.tag) not in fields]
    if foreign:
        raise InvalidField(f"malformed {kind} key: field 0x{foreign[0]:06X} is not part of Key Format Type {fmt}")


_EDWARDS_BITS: dict[int, int] = {CA.ED25519: 255, CA.ED448: 448}


def _check_raw_edwards(km: Item, algorithm: int | None, length: int | None,
                       private: bool) -> tuple[int | None, int | None]:
    if km.type != ItemType.BYTE_STRING:
        raise InvalidField("Raw key material must be a byte string")
    sizes: dict[int | None, int] = {CA.ED25519: 32, CA.ED448: 57 if private else 57}
    if algorithm in sizes and len(km.value) != sizes[algorithm]:
        raise InvalidField("the raw key has the wrong size for its algorithm")
    if algorithm not in sizes and algorithm is not None:
        raise InvalidField("Raw format asymmetric keys are only accepted for Ed25519/Ed448")
    return algorithm, length if length is not None else _EDWARDS_BITS.get(algorithm or 0)


def key_facts(key: Any) -> tuple[int, int]:
    """(Cryptographic Algorithm, Cryptographic Length) of a loaded C{cryptography} key."""
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return CA.RSA, key.key_size
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return CA.EC, key.curve.key_size
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return CA.ED25519, 255
    if isinstance(key, (ed448.Ed448PrivateKey, ed448.Ed448PublicKey)):
        return CA.ED448, 448
    if isinstance(key, (x25519.X25519PrivateKey, x25519.X25519PublicKey)):
        return CA.EC, 255
    if isinstance(key, (x448.X448PrivateKey, x448.X448PublicKey)):
        return CA.EC, 448
    if isinstance(key, (dsa.DSAPrivateKey, dsa.DSAPublicKey)):
        return CA.DSA, key.key_size
    raise InvalidField("unsupported key type")


_EC_FAMILY = frozenset({CA.EC, CA.ECDSA, CA.ECDH, CA.ECMQV})


def _check_loaded(key: Any, algorithm: int | None, length: int | None) -> tuple[int | None, int | None]:
    actual_alg, actual_len = key_facts(key)
    if algorithm is not None:
        same = algorithm == actual_alg or (actual_alg == CA.EC and algorithm in _EC_FAMILY)
        if not same:
            raise InvalidField("Cryptographic Algorithm does not match the key material")
    if length is not None and length != actual_len:
        raise InvalidField(f"Cryptographic Length {length} does not match the {actual_len}-bit key")
    return (algorithm if algorithm is not None else actual_alg), actual_len


def curve_of(material: Item) -> int | None:
    """The Recommended Curve of an EC key object, if it can be determined."""
    fmt = keyblock.format_type(material)
    try:
        km = keyblock.key_material(material)
    except KmipError:
        return None
    if km.type == ItemType.STRUCTURE:
        return km.get(Tag.RECOMMENDED_CURVE)
    try:
        key: Any = keygen.load_private_key(km.value)
    except CryptoError:
        try:
            key = keygen.load_public_key(km.value)
        except CryptoError:
            return None
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        names = {"secp192r1": RecommendedCurve.P_192, "secp224r1": RecommendedCurve.P_224,
                 "secp256r1": RecommendedCurve.P_256, "secp384r1": RecommendedCurve.P_384,
                 "secp521r1": RecommendedCurve.P_521}
        return names.get(key.curve.name)
    del fmt
    return None
