# -*- test-case-name: tests.operations.test_create -*-
"""Building new managed objects: server-set attributes plus the client's template.

Used by Create, CreateKeyPair, Register, ReKey and ReKeyKeyPair (and anything else that makes
objects). Every attribute is stored whatever the protocol version; L{kmipd.model.attributes.render}
hides the ones a client's version does not define.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from ..compat import pykmip_mode
from ..context import RequestContext
from ..errors import (
    AttributeNotApplicable,
    AttributeSingleValued,
    FeatureNotSupported,
    InvalidField,
    KmipError,
    NonUniqueName,
    PrivateProtectionStorageUnavailable,
    ProtectionStorageUnavailable,
    PublicProtectionStorageUnavailable,
    ReadOnlyAttribute,
)
from ..spec import (
    CryptographicAlgorithm,
    HashingAlgorithm,
    KeyFormatType,
    ObjectType,
    ProtectionStorageMask,
    RNGAlgorithm,
    State,
    Tag,
    tag_name,
)
from ..spec.attributes import ATTRIBUTES
from ..store.interface import AttributeFilter, LocateQuery
from ..ttlv import Item, ItemType, encode
from . import keyblock
from .attrcheck import check_value
from .attributes import Attr, check_client_settable, is_custom, spec_for
from .objects import ManagedObject
from .quantum import check_quantum_safe
from .states import due_state

DEFAULT_POLICY = "default"

#: Object types with cryptographic material (Sensitive/Extractable and friends apply).
CRYPTOGRAPHIC_TYPES = frozenset({ObjectType.SYMMETRIC_KEY, ObjectType.PUBLIC_KEY, ObjectType.PRIVATE_KEY,
                                 ObjectType.SPLIT_KEY, ObjectType.SECRET_DATA, ObjectType.PGP_KEY})

#: Standard attributes a client may give at creation although the server usually sets them.
CLIENT_MAY_SUPPLY = frozenset({"Usage Limits", "Fresh", "Sensitive", "Extractable"})
#: ... and additionally at Register (describing how the object was made elsewhere).
CLIENT_MAY_SUPPLY_REGISTER = frozenset({"Random Number Generator", "Original Creation Date"})

#: Template inputs the spec lists as "initially set by server" that the server sets from the
#: client's request (Create's algorithm and length, Register's types).
TEMPLATE_INPUTS = frozenset({"Cryptographic Algorithm", "Cryptographic Length", "Certificate Type",
                             "Opaque Data Type", "Key Format Type"})
#: Attributes only the server may give a new object (spec rule tables: initially set by the
#: server, not modifiable by a client), beyond L{kmipd.model.attributes.SERVER_MANAGED}.
SERVER_ONLY = frozenset(name for name, spec in ATTRIBUTES.items()
                        if spec.initially_set_by == {"server"} and not spec.modifiable_by_client) \
    - TEMPLATE_INPUTS - CLIENT_MAY_SUPPLY

#: Values kmipd gives these client-settable attributes of a cryptographic object when the client
#: omits them (reported by Query Defaults Information, KMIP 2.x).
OMITTED_DEFAULTS: dict[str, bool] = {"Sensitive": False, "Extractable": True}

#: The protection kmipd's stores give every object: keys live in software (the server process and
#: its database). kmipd vouches for nothing more (no HSM, no jurisdiction guarantees).
PROTECTION_STORAGE = ProtectionStorageMask.SOFTWARE



def check_protection_masks(payload: Item | None, tag: int = Tag.PROTECTION_STORAGE_MASKS,
                           error: type[KmipError] = ProtectionStorageUnavailable) -> None:
    """Refuse a request whose Protection Storage Masks kmipd cannot honour (spec 2.1 7.33).

    The masks are alternatives: one whose bits are all provided by L{PROTECTION_STORAGE} suffices.
    An absent or empty list asks for nothing.
    """
    masks = payload.find(tag) if payload is not None else None
    if masks is None:
        return
    # a structure of Integer masks: the request payload schema checked it
    values = [m.value for m in masks.findall(Tag.PROTECTION_STORAGE_MASK)]
    if not values:
        return
    if any(value & ~int(PROTECTION_STORAGE) == 0 for value in values):
        return
    raise error("kmipd keeps objects in software storage only; none of the requested "
                "Protection Storage Masks can be satisfied")


def default_attributes(object_type: int) -> list[Item]:
    """The attribute values kmipd uses for C{object_type} when a client omits them (2.x form)."""
    out: list[Item] = []
    if object_type in CRYPTOGRAPHIC_TYPES:
        out += [Item.bool(Tag.SENSITIVE, OMITTED_DEFAULTS["Sensitive"]),
                Item.bool(Tag.EXTRACTABLE, OMITTED_DEFAULTS["Extractable"])]
    out.append(Item.int(Tag.PROTECTION_STORAGE_MASK, int(PROTECTION_STORAGE)))
    return out


def rng_parameters_value(tag: int = Tag.RNG_PARAMETERS) -> Item:
    """The RNG Parameters of the generator kmipd draws key material from (L{kmipd.crypto.rng.DRBG}).

    OpenSSL's DRBG: RNG Algorithm DRBG, DRBG Algorithm CTR over AES-256, without prediction
    resistance (spec 2.1 7.36). Tagged C{tag} (Random Number Generator for the attribute, RNG
    Parameters for Query).
    """
    from ..crypto.rng import DRBG

    return Item.struct(tag, [
        Item.enum(Tag.RNG_ALGORITHM, DRBG.rng_algorithm),
        Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, DRBG.cryptographic_algorithm)
        if DRBG.cryptographic_algorithm is not None else None,
        Item.int(Tag.CRYPTOGRAPHIC_LENGTH, DRBG.cryptographic_length)
        if DRBG.cryptographic_length is not None else None,
        Item.enum(Tag.DRBG_ALGORITHM, DRBG.drbg_algorithm) if DRBG.drbg_algorithm is not None else None,
        Item.bool(Tag.PREDICTION_RESISTANCE, False),
    ])


def rng_parameters(ctx: RequestContext) -> Item:
    """The Random Number Generator attribute value of server-generated material.

    Every generated key comes from OpenSSL's DRBG; the description is the configured
    C{rng_parameters} (L{kmipd.settings.Settings}), by default that DRBG's (L{rng_parameters_value}).
    """
    return ctx.settings.rng_item(Tag.RANDOM_NUMBER_GENERATOR)


def check_rng_request(value: Item | None, ours: Item | None = None) -> None:
    """Refuse a Create/Create Key Pair/Derive Key/Re-key template asking for a generator kmipd
    does not use (spec 2.1 4.46: the server SHALL use a matching generator or fail the request).

    A request matches when every field it gives equals those of C{ours} (the generator kmipd
    reports, default L{rng_parameters_value}); an RNG Algorithm of Unspecified asks for no
    particular generator.
    @raise FeatureNotSupported: another generator is asked for.
    """
    if value is None or value.type != ItemType.STRUCTURE:
        raise InvalidField("Random Number Generator must be an RNG Parameters structure")
    if value.get(Tag.RNG_ALGORITHM) == RNGAlgorithm.UNSPECIFIED:
        return
    reported = {c.tag: c.value for c in (ours if ours is not None else rng_parameters_value()).value}
    for field in value.value:
        if reported.get(field.tag, object()) != field.value:
            raise FeatureNotSupported(
                "kmipd generates keys with OpenSSL's CTR_DRBG over AES-256 only; the requested Random "
                f"Number Generator differs in {tag_name(field.tag)}")


def digest(material: Item | None, object_type: int) -> Item | None:
    """The mandatory SHA-256 Digest of an object body (spec 1.4 3.17, 2.1 4.21), or None if none applies.

    Keys and Secret Data: the Key Material when it is a Byte String, else its TTLV encoding, with
    the Key Format Type it was computed in; Certificates: the Certificate Value; Certificate
    Requests (2.x): the Certificate Request Value, as for a certificate; Opaque Objects: the
    Opaque Data Value. None when the Key Value is encrypted (the server has no Key Material).
    """
    if material is None:
        return None
    data: bytes | None = None
    fmt: int | None = None
    if object_type in keyblock.KEY_BLOCK_TYPES:
        block = keyblock.get_block(material)
        if block is None:
            return None
        fmt = block.get(Tag.KEY_FORMAT_TYPE)
        value = block.find(Tag.KEY_VALUE)
        if value is None:
            return None
        if value.type == ItemType.BYTE_STRING:
            return None  # encrypted Key Value: the server has no Key Material to digest (spec 2.1 4.21)
        else:
            km = value.find(Tag.KEY_MATERIAL)
            if km is None:
                return None
            data = km.value if km.type == ItemType.BYTE_STRING else encode(km)
    elif object_type == ObjectType.CERTIFICATE:
        data = material.get(Tag.CERTIFICATE_VALUE)
    elif object_type == ObjectType.CERTIFICATE_REQUEST:
        data = material.get(Tag.CERTIFICATE_REQUEST_VALUE)
    elif object_type == ObjectType.OPAQUE_OBJECT:
        data = material.get(Tag.OPAQUE_DATA_VALUE)
    if data is None:
        return None
    return Item.struct(Tag.DIGEST, [
        Item.enum(Tag.HASHING_ALGORITHM, HashingAlgorithm.SHA_256),
        Item.bytes(Tag.DIGEST_VALUE, hashlib.sha256(data).digest()),
        Item.enum(Tag.KEY_FORMAT_TYPE, fmt) if fmt is not None else None,
    ])


#: The default Key Format Type of a key object (spec 2.1 Table 81), by object type and, for
#: asymmetric keys, algorithm family; objects not listed have none kmipd can produce.
_EC_ALGORITHMS = frozenset({CryptographicAlgorithm.EC, CryptographicAlgorithm.ECDSA, CryptographicAlgorithm.ECDH,
                            CryptographicAlgorithm.ECMQV})


def default_format(object_type: int, algorithm: int | None) -> int | None:
    """The spec's default Key Format Type for a key of C{object_type} and C{algorithm}, if any."""
    if object_type in (ObjectType.SYMMETRIC_KEY, ObjectType.SPLIT_KEY, ObjectType.SECRET_DATA, ObjectType.PGP_KEY):
        return KeyFormatType.RAW
    if object_type in (ObjectType.PRIVATE_KEY, ObjectType.PUBLIC_KEY):
        if algorithm == CryptographicAlgorithm.RSA:
            return KeyFormatType.PKCS_1
        if algorithm in _EC_ALGORITHMS:
            return (KeyFormatType.TRANSPARENT_EC_PRIVATE_KEY if object_type == ObjectType.PRIVATE_KEY
                    else KeyFormatType.TRANSPARENT_EC_PUBLIC_KEY)
        if algorithm == CryptographicAlgorithm.DSA:
            return (KeyFormatType.TRANSPARENT_DSA_PRIVATE_KEY if object_type == ObjectType.PRIVATE_KEY
                    else KeyFormatType.TRANSPARENT_DSA_PUBLIC_KEY)
    return None


def digests(material: Item | None, object_type: int) -> list[Item]:
    """Every Digest kmipd gives an object: over the format it holds the object in (the mandatory
    instance of 1.x, whose servers digest a registered object in its registered format) and, when
    that is not the spec's default Key Format Type (2.1 4.21: the mandatory 2.x instance uses the
    default format), also over the default format."""
    first = digest(material, object_type)
    if first is None or material is None:
        return []
    out = [first]
    held = first.get(Tag.KEY_FORMAT_TYPE)
    algorithm, _ = keyblock.block_values(material)
    wanted = default_format(object_type, algorithm)
    if held is None or wanted is None or wanted == held:
        return out
    from .keyformat import convert

    try:
        other = digest(convert(object_type, material, wanted, (2, 1)), object_type)
    except KmipError:
        return out  # not expressible in the default format (e.g. a curve without a name)
    if other is not None and other.get(Tag.DIGEST_VALUE) != first.get(Tag.DIGEST_VALUE):
        out.append(other)  # (Opaque vs Raw bytes digest alike: no second instance)
    return out


def check_template(ctx: RequestContext, object_type: int, attrs: Iterable[Attr], *,
                   register: bool = False) -> list[Attr]:
    """Validate client-supplied attributes for a new object of C{object_type}.

    @raise ReadOnlyAttribute: a server-managed attribute.
    @raise AttributeNotApplicable: the attribute does not apply to the object type.
    @raise InvalidField: no value, not defined in the client's version.
    @raise InvalidAttributeValue: a value kmipd cannot store (L{check_value}; Invalid Field in 1.x).
    @raise AttributeSingleValued (2.x) / InvalidField (1.x): a single-valued attribute twice.
    """
    seen: set[str] = set()
    out: list[Attr] = []
    for attr in attrs:
        name = attr.name
        if attr.value is None:
            raise InvalidField(f"attribute {name!r} has no value")
        spec = spec_for(name)
        allowed = name in CLIENT_MAY_SUPPLY or (register and name in CLIENT_MAY_SUPPLY_REGISTER)
        if name == "Random Number Generator" and not register:
            check_rng_request(attr.value, rng_parameters(ctx))
        elif not allowed:
            check_client_settable(name, at_creation=True)
            if name in SERVER_ONLY:
                raise ReadOnlyAttribute(f"attribute {name!r} is set by the server")
        if spec is None:
            if not is_custom(name):
                raise InvalidField(f"unknown attribute {name!r}")
        else:
            if not spec.in_version(ctx.version):
                raise InvalidField(f"attribute {name!r} is not defined in KMIP {ctx.version[0]}.{ctx.version[1]}")
            if not spec.applies_to(object_type):
                raise AttributeNotApplicable(f"attribute {name!r} does not apply to this object type")
            if not spec.multiple:
                if name in seen:
                    raise (AttributeSingleValued if ctx.v2 else InvalidField)(
                        f"attribute {name!r} may only be given once")
            check_value(name, attr.value, ctx.version)
        seen.add(name)
        out.append(attr)
    return out


def check_unique_name(ctx: RequestContext, value: Item, *, for_new_object: bool, exclude: str | None = None) -> None:
    """Refuse a Name whose Name Value another object on the server already carries.

    "Names SHALL be unique within a given key management server" (spec 1.4 3.2, 2.1 4.32): every
    live object counts, on-line or archived. A destroyed object's name may be taken again: its key
    is gone, 1.x Locate no longer finds it, and clients that destroy a key and create its successor
    under the same name (database keyrings do) must keep working. C{exclude} is the object being
    changed (Add/Modify/Set Attribute may give an object a Name it already has). With
    C{compatibility = pykmip} names are not checked (the PyKMIP server does not).

    @param for_new_object: True when a new object would take the name (Create, Register, Derive
        Key...), False when an existing object would (Add/Modify/Set Attribute).
    @raise NonUniqueName: 2.x (Non Unique Name Attribute); 1.x Add/Modify Attribute (Illegal
        Operation, spec 1.4 11.15/11.16).
    @raise InvalidField: 1.x, a new object (spec 1.4 11.2-11.7: Invalid Field).
    """
    text = value.get(Tag.NAME_VALUE) if value.type == ItemType.STRUCTURE else None
    if not isinstance(text, str):
        raise InvalidField("Name needs a Name Value")
    if pykmip_mode(ctx):
        return  # the PyKMIP server lets several objects share a name (docs/compatibility.md)
    query = LocateQuery(attributes=[AttributeFilter("Name", Item.struct(Tag.NAME, [Item.text(Tag.NAME_VALUE, text)]))],
                        include_online=True, include_archived=True, include_destroyed=False)
    if any(c.uid != exclude for c in ctx.store.locate(query)):
        error = InvalidField if for_new_object and not ctx.v2 else NonUniqueName
        raise error(f"another object already has the name {text!r}")


def check_unique_names(ctx: RequestContext, attrs: Iterable[Attr]) -> None:
    """Refuse a new object whose template gives a Name another object has (L{check_unique_name})."""
    for attr in attrs:
        if attr.name == "Name" and attr.value is not None:
            check_unique_name(ctx, attr.value, for_new_object=True)


def new_object(
    ctx: RequestContext,
    object_type: int,
    material: Item | None,
    attrs: Iterable[Attr] = (),
    *,
    algorithm: int | None = None,
    length: int | None = None,
    generated: bool = True,
    extra: Iterable[tuple[str, Item]] = (),
) -> ManagedObject:
    """A new managed object (not yet stored): server attributes, then the client's C{attrs}.

    C{attrs} must have passed L{check_template}. C{generated} is True for material the server
    made (Create, CreateKeyPair, ReKey...): it sets Original Creation Date and Random Number
    Generator. C{extra}: further (name, value) pairs set by the operation (Links, ...).

    @raise GeneralFailure: the object claims Quantum Safe and its key is not
        (L{kmipd.model.quantum.check_quantum_safe}).
    """
    uid = ctx.store.new_uid()
    now = ctx.now
    obj = ManagedObject(uid=uid, object_type=object_type, owner=ctx.identity, material=material, created=now)
    a = obj.attributes
    a["Unique Identifier"] = [Item.text(Tag.UNIQUE_IDENTIFIER, uid)]
    a["Object Type"] = [Item.enum(Tag.OBJECT_TYPE, object_type)]
    if object_type != ObjectType.TEMPLATE:
        a["State"] = [Item.enum(Tag.STATE, State.PRE_ACTIVE)]
    a["Initial Date"] = [Item.datetime(Tag.INITIAL_DATE, now)]
    a["Last Change Date"] = [Item.datetime(Tag.LAST_CHANGE_DATE, now)]
    if generated:
        a["Original Creation Date"] = [Item.datetime(Tag.ORIGINAL_CREATION_DATE, now)]
        a["Random Number Generator"] = [rng_parameters(ctx)]
    if algorithm is not None:
        a["Cryptographic Algorithm"] = [Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, algorithm)]
    if length is not None:
        a["Cryptographic Length"] = [Item.int(Tag.CRYPTOGRAPHIC_LENGTH, length)]
    found = digests(material, object_type)
    if found:
        a["Digest"] = list(found)
    fmt = keyblock.format_type(material)
    if fmt is not None:
        a["Key Format Type"] = [Item.enum(Tag.KEY_FORMAT_TYPE, fmt)]
    a["Short Unique Identifier"] = [Item.bytes(Tag.SHORT_UNIQUE_IDENTIFIER, hashlib.sha256(uid.encode()).digest())]
    a["Protection Storage Mask"] = [Item.int(Tag.PROTECTION_STORAGE_MASK, int(PROTECTION_STORAGE))]
    a["Fresh"] = [Item.bool(Tag.FRESH, True)]
    for name, value in extra:
        a.setdefault(name, []).append(value)
    for attr in attrs:
        assert attr.value is not None
        if generated and attr.name == "Random Number Generator":
            continue  # a request's generator was checked to match ours (check_rng_request); ours is recorded
        spec = spec_for(attr.name)
        if spec is not None and not spec.multiple:
            a[attr.name] = [attr.value]
        else:
            a.setdefault(attr.name, []).append(attr.value)
    if "Operation Policy Name" not in a:
        a["Operation Policy Name"] = [Item.text(Tag.OPERATION_POLICY_NAME, DEFAULT_POLICY)]
    if object_type in CRYPTOGRAPHIC_TYPES or object_type == ObjectType.CERTIFICATE:
        a["Lease Time"] = [Item.interval(Tag.LEASE_TIME, ctx.settings.lease_time)]
    if object_type in CRYPTOGRAPHIC_TYPES:
        sensitive = bool(obj.value("Sensitive", OMITTED_DEFAULTS["Sensitive"]))
        extractable = bool(obj.value("Extractable", OMITTED_DEFAULTS["Extractable"]))
        a["Sensitive"] = [Item.bool(Tag.SENSITIVE, sensitive)]
        a["Extractable"] = [Item.bool(Tag.EXTRACTABLE, extractable)]
        a["Always Sensitive"] = [Item.bool(Tag.ALWAYS_SENSITIVE, sensitive)]
        a["Never Extractable"] = [Item.bool(Tag.NEVER_EXTRACTABLE, not extractable)]
    if object_type != ObjectType.TEMPLATE:
        obj.set_single("State", Item.enum(Tag.STATE, initial_state(obj, now)))
    check_quantum_safe(obj)  # a Quantum Safe claim its key cannot back (spec 2.1 4.45)
    return obj


def initial_state(obj: ManagedObject, now: int) -> int:
    """Pre-Active, or the state the object's dates have already brought it to (spec diagram)."""
    state = due_state(State.PRE_ACTIVE, obj.value("Activation Date"), obj.value("Deactivation Date"), now)
    return State.PRE_ACTIVE if state is None else state


def policy_is_default(obj: ManagedObject) -> bool:
    """True if the object's Operation Policy Name is the server default (not shown by default)."""
    return obj.value("Operation Policy Name") == DEFAULT_POLICY


def template_value(attrs: Iterable[Attr], name: str) -> object:
    """The value of the last instance of C{name} in C{attrs}, or None."""
    found = None
    for attr in attrs:
        if attr.name == name and attr.value is not None:
            found = attr.value.value
    return found


def link(link_type: int, uid: str) -> Item:
    """A Link attribute value."""
    return Item.struct(Tag.LINK, [Item.enum(Tag.LINK_TYPE, link_type), Item.text(Tag.LINKED_OBJECT_IDENTIFIER, uid)])


def require(condition: bool, message: str) -> None:
    """Raise InvalidField(message) unless C{condition}."""
    if not condition:
        raise InvalidField(message)


__all__ = [
    "CRYPTOGRAPHIC_TYPES", "DEFAULT_POLICY", "OMITTED_DEFAULTS", "PROTECTION_STORAGE",
    "PrivateProtectionStorageUnavailable", "ProtectionStorageUnavailable", "PublicProtectionStorageUnavailable",
    "check_protection_masks", "check_rng_request", "check_template", "check_unique_name", "check_unique_names",
    "default_attributes",
    "default_format", "digest", "digests", "initial_state", "link", "new_object", "policy_is_default", "require",
    "rng_parameters",
    "rng_parameters_value",
    "template_value",
]
