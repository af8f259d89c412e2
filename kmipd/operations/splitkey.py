# -*- test-case-name: tests.operations.test_splitkey -*-
"""Create Split Key and Join Split Key (KMIP 1.2+; spec 2.1 6.1.10 and 6.1.27, 1.4 4.39/4.40).

Create Split Key splits a stored Symmetric Key, Secret Data or Private Key (Unique Identifier
given), or a new key the server generates from the template's algorithm and length, into Split
Key Parts objects with the math of L{kmipd.crypto.splitkey}. Only the parts are stored. Each part
is a Split Key object (Key Format Type Raw) whose Key Block carries the original Cryptographic
Algorithm and, as Cryptographic Length, L (the secret's length in bits: the key length, or for a
Private Key the length of its PKCS#8 encoding, which is what is shared). Parts are linked in Key
Part Identifier order (Next / Previous Link) and, when split from a stored key, to it (Parent
Link; the key gets a Child Link to each part). A template Name becomes the Name of each part
suffixed with C{" part <i>"}, since names are unique per server. Parts of a Sensitive or
non-Extractable key are Sensitive / non-Extractable too, and so is a key joined from such parts.

KMIP 1.x and 2.x define GF(2^8) differently (see L{kmipd.crypto.splitkey}); the field a part's
shares live in is the one of the protocol version that created it, recorded on each part in the
vendor attribute C{kmipd / GF(2^8) Polynomial} (visible to 2.x clients), so Join uses the right
field whatever version joins. Registered parts without it are joined in the joining version's
field.

Join Split Key reconstructs the secret from at least Split Key Threshold parts (all of them for
XOR) and stores it as the requested Object Type: Symmetric Key, Secret Data (Secret Data Type
from the request, Seed by default) or Private Key (PKCS#8).

Policy: Create Split Key on the key to split, Join Split Key on each part; under the built-in
policies (no rows for them) both are checked as Get, since they read key material.
"""

from __future__ import annotations

from typing import Any

from ..context import RequestContext
from ..crypto import keygen
from ..crypto import splitkey as sk
from ..crypto.errors import CryptoError
from ..errors import (
    BadCryptographicParameters,
    InvalidField,
    InvalidObjectType,
    KeyValueNotPresent,
    MissingData,
    ObjectDestroyed,
    ServerLimitExceeded,
)
from ..log import Logger
from ..model import keyblock, keyformat
from ..model.attributes import Attr, read_template
from ..model.factory import (
    check_protection_masks,
    check_template,
    check_unique_names,
    link,
    new_object,
    template_value,
)
from ..model.objects import ManagedObject
from ..spec import (
    KeyFormatType,
    LinkType,
    ObjectType,
    Operation,
    SecretDataType,
    SplitKeyMethod,
    State,
    Tag,
    enum_value_in_version,
)
from ..ttlv import Item, ItemType
from ._common import load_as, touch
from .create import MAX_SECRET_DATA_BITS, generate_symmetric
from .registry import operation

_log = Logger()
KFT = KeyFormatType

#: Object types a Split Key can be made from and joined into.
SPLITTABLE = frozenset({ObjectType.SYMMETRIC_KEY, ObjectType.SECRET_DATA, ObjectType.PRIVATE_KEY})
#: Vendor attribute recording the GF(2^8) reduction polynomial of a part's shares.
FIELD_ATTRIBUTE = "kmipd-GF(2^8) Polynomial"
#: Largest number of parts one request may create.
MAX_PARTS = 255
#: Largest Prime Field Size kmipd checks for primality (secrets up to about 1 KiB).
MAX_PRIME_BITS = 8192


def field_for(version: tuple[int, int]) -> int:
    """The GF(2^8) polynomial the spec of C{version} defines (1.x: FIPS 197's; 2.x: 285)."""
    return sk.FIELD_2X if version >= (2, 0) else sk.FIELD_1X


def _int_field(payload: Item, tag: int, what: str, *, required: bool = True) -> Any:
    item = payload.find(tag)
    if item is None:
        if required:
            raise MissingData(f"{what} is required")
        return None
    if item.type not in (ItemType.INTEGER, ItemType.ENUMERATION, ItemType.BIG_INTEGER):
        raise InvalidField(f"{what} has the wrong item type")
    return item.value


def _crypto(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except sk.BadParameters as e:  # 1.x Invalid Field; 2.x tables: Bad Cryptographic Parameters
        raise BadCryptographicParameters(e.message) from None
    except CryptoError as e:
        raise keyformat.kmip_error(e) from None


def _source_secret(ctx: RequestContext, obj: ManagedObject) -> tuple[bytes, int | None]:
    """The bytes to share of a stored key, and its algorithm."""
    if obj.material is None:
        raise ObjectDestroyed(f"object {obj.uid!r} has been destroyed")
    if obj.object_type not in SPLITTABLE:
        raise InvalidObjectType("only Symmetric Keys, Secret Data and Private Keys can be split")
    if keyblock.is_wrapped(obj.material):
        raise InvalidField("a wrapped key cannot be split")
    algorithm, _ = keyblock.block_values(obj.material)
    material = obj.material
    if obj.object_type == ObjectType.PRIVATE_KEY:
        material = keyformat.convert(obj.object_type, material, KFT.PKCS_8, (2, 1))
    elif keyblock.format_type(material) not in (KFT.RAW, KFT.OPAQUE, KFT.TRANSPARENT_SYMMETRIC_KEY):
        material = keyformat.convert(obj.object_type, material, KFT.RAW, (2, 1))
    return keyblock.key_bytes(material), algorithm


def _new_secret(ctx: RequestContext, object_type: int, attrs: list[Attr]) -> tuple[bytes, int | None]:
    """A fresh secret for a split with no Unique Identifier (Symmetric Key or Secret Data)."""
    algorithm = template_value(attrs, "Cryptographic Algorithm")
    length = template_value(attrs, "Cryptographic Length")
    if object_type in (ObjectType.SPLIT_KEY, ObjectType.SYMMETRIC_KEY):
        return generate_symmetric(algorithm, length), algorithm  # type: ignore[return-value]
    if object_type == ObjectType.SECRET_DATA:
        if not isinstance(length, int) or not 8 <= length <= MAX_SECRET_DATA_BITS or length % 8:
            raise InvalidField(f"Cryptographic Length (a multiple of 8, at most {MAX_SECRET_DATA_BITS}) is "
                               "required to generate Secret Data")
        from ..crypto.rng import random_bytes

        return random_bytes(length // 8), algorithm  # type: ignore[return-value]
    raise InvalidField("the server generates Symmetric Keys and Secret Data to split; "
                       "give the Unique Identifier of a Private Key to split it")


def _part_material(method: int, parts: int, threshold: int, ident: int, prime: int | None, share: bytes,
                   algorithm: int | None, length_bits: int) -> Item:
    return keyblock.body(
        ObjectType.SPLIT_KEY,
        keyblock.key_block(KFT.RAW, share, algorithm=algorithm, length=length_bits),
        parts=Item.int(Tag.SPLIT_KEY_PARTS, parts),
        ident=Item.int(Tag.KEY_PART_IDENTIFIER, ident),
        threshold=Item.int(Tag.SPLIT_KEY_THRESHOLD, threshold),
        method=Item.enum(Tag.SPLIT_KEY_METHOD, method),
        prime=Item.big(Tag.PRIME_FIELD_SIZE, prime) if prime is not None else None,
    )


def _part_attrs(attrs: list[Attr], ident: int) -> list[Attr]:
    """The template for part C{ident}: Names get a C{" part <i>"} suffix (names are unique)."""
    out = []
    for a in attrs:
        if a.name == "Name" and a.value is not None:
            value = a.value.get(Tag.NAME_VALUE)
            children = [c.copy() for c in a.value.value if c.tag != Tag.NAME_VALUE]
            out.append(Attr("Name", Item.struct(Tag.NAME, [Item.text(Tag.NAME_VALUE, f"{value} part {ident}"),
                                                           *children])))
        elif a.name not in ("Cryptographic Algorithm", "Cryptographic Length"):
            out.append(a)
    return out


def _inherit_protection(attrs: list[Attr], sources: list[ManagedObject]) -> list[Attr]:
    """C{attrs} with Sensitive / Extractable at least as strict as every source object's.

    Splitting or joining must not launder a key: parts of a Sensitive or non-Extractable key (and
    a key joined from such parts) keep that protection whatever the template asks.
    """
    sensitive = any(o.value("Sensitive") is True for o in sources)
    locked = any(o.value("Extractable") is False for o in sources)
    out = [a for a in attrs if not ((a.name == "Sensitive" and sensitive) or (a.name == "Extractable" and locked))]
    if sensitive:
        out.append(Attr("Sensitive", Item.bool(Tag.SENSITIVE, True)))
    if locked:
        out.append(Attr("Extractable", Item.bool(Tag.EXTRACTABLE, False)))
    return out


def _split_request(ctx: RequestContext, payload: Item) -> tuple[int, int, int, int | None]:
    parts = _int_field(payload, Tag.SPLIT_KEY_PARTS, "Split Key Parts")
    threshold = _int_field(payload, Tag.SPLIT_KEY_THRESHOLD, "Split Key Threshold")
    method = _int_field(payload, Tag.SPLIT_KEY_METHOD, "Split Key Method")
    prime = _int_field(payload, Tag.PRIME_FIELD_SIZE, "Prime Field Size", required=False)
    if not enum_value_in_version(SplitKeyMethod, method, ctx.version):
        raise InvalidField(f"Split Key Method {method} is not defined in this protocol version")
    if not isinstance(parts, int) or parts < 1:
        raise BadCryptographicParameters("Split Key Parts must be at least 1")
    if parts > MAX_PARTS:
        raise ServerLimitExceeded(f"kmipd makes at most {MAX_PARTS} parts per split")
    if method != SplitKeyMethod.POLYNOMIAL_SHARING_PRIME_FIELD:
        prime = None
    elif isinstance(prime, int) and prime.bit_length() > MAX_PRIME_BITS:
        raise ServerLimitExceeded(f"kmipd tests primes of at most {MAX_PRIME_BITS} bits")
    return parts, threshold, method, prime


@operation(Operation.CREATE_SPLIT_KEY, min_version=(1, 2))
def create_split_key(ctx: RequestContext, payload: Item | None) -> Item:
    """Split a stored or new key into linked Split Key objects; return their identifiers."""
    if payload is None:
        raise MissingData("Create Split Key needs a request payload")
    object_type = payload.get(Tag.OBJECT_TYPE)
    if object_type is None:
        raise MissingData("Object Type is required")
    if object_type not in SPLITTABLE and object_type != ObjectType.SPLIT_KEY:
        raise InvalidObjectType("Create Split Key makes Split Keys of Symmetric Keys, Secret Data or Private Keys")
    parts, threshold, method, prime = _split_request(ctx, payload)
    attrs = check_template(ctx, ObjectType.SPLIT_KEY, read_template(payload, Tag.TEMPLATE_ATTRIBUTE,
                                                                      Tag.ATTRIBUTES))
    check_protection_masks(payload)
    source: ManagedObject | None = None
    uid_item = payload.find(Tag.UNIQUE_IDENTIFIER)
    if uid_item is not None:
        source = load_as(ctx, str(uid_item.value), Operation.CREATE_SPLIT_KEY, Operation.GET)
        secret, algorithm = _source_secret(ctx, source)
    else:
        secret, algorithm = _new_secret(ctx, object_type, attrs)
    poly = field_for(ctx.version)
    if sk.work(method, len(secret), parts, threshold) > sk.MAX_WORK:
        raise ServerLimitExceeded("splitting this key that way costs more than kmipd allows one request")
    shares = _crypto(sk.split, method, secret, parts, threshold, prime=prime, poly=poly)
    if source is not None:
        attrs = _inherit_protection(attrs, [source])
    part_attrs = [_part_attrs(attrs, i + 1) for i in range(parts)]
    for pa in part_attrs:
        check_unique_names(ctx, pa)
    length_bits = 8 * len(secret)
    objs: list[ManagedObject] = []
    for i, share in enumerate(shares):
        extra: list[tuple[str, Item]] = [(FIELD_ATTRIBUTE, Item.int(Tag.ATTRIBUTE_VALUE, poly))]
        if source is not None:
            extra.append(("Link", link(LinkType.PARENT_LINK, source.uid)))
        material = _part_material(method, parts, threshold, i + 1, prime, share, algorithm, length_bits)
        objs.append(new_object(ctx, ObjectType.SPLIT_KEY, material, part_attrs[i], algorithm=algorithm,
                               length=length_bits, generated=source is None, extra=extra))
    for prev, nxt in zip(objs, objs[1:], strict=False):
        prev.add_instance("Link", link(LinkType.NEXT_LINK, nxt.uid))
        nxt.add_instance("Link", link(LinkType.PREVIOUS_LINK, prev.uid))
    for obj in objs:
        ctx.store.add(obj)
    if source is not None:
        for obj in objs:
            source.add_instance("Link", link(LinkType.CHILD_LINK, obj.uid))
        touch(ctx, source)
        ctx.store.save(source)
    ctx.id_placeholder = objs[0].uid
    _log.info("split a key into {parts} parts {uids}", parts=parts, uids=[o.uid for o in objs])
    return Item.struct(Tag.RESPONSE_PAYLOAD, [Item.text(Tag.UNIQUE_IDENTIFIER, o.uid) for o in objs])


# ---------------------------------------------------------------------------------------------
# Join Split Key

def _part(ctx: RequestContext, uid: str) -> tuple[ManagedObject, dict[str, Any]]:
    obj = load_as(ctx, uid, Operation.JOIN_SPLIT_KEY, Operation.GET)
    if obj.object_type != ObjectType.SPLIT_KEY:
        raise InvalidObjectType(f"object {uid!r} is not a Split Key")
    if obj.material is None or obj.state == State.DESTROYED:
        raise ObjectDestroyed(f"Split Key {uid!r} has been destroyed")
    if keyblock.is_wrapped(obj.material):
        raise InvalidField(f"Split Key {uid!r} is wrapped")
    m = obj.material
    algorithm, length = keyblock.block_values(m)
    try:
        share = keyblock.key_bytes(m)
    except KeyValueNotPresent:
        raise ObjectDestroyed(f"Split Key {uid!r} has no key value") from None
    poly = obj.value(FIELD_ATTRIBUTE)
    facts = {
        "parts": m.get(Tag.SPLIT_KEY_PARTS), "threshold": m.get(Tag.SPLIT_KEY_THRESHOLD),
        "method": m.get(Tag.SPLIT_KEY_METHOD), "prime": m.get(Tag.PRIME_FIELD_SIZE),
        "algorithm": algorithm, "length": length, "poly": poly if poly in (sk.FIELD_1X, sk.FIELD_2X) else None,
    }
    facts["ident"] = m.get(Tag.KEY_PART_IDENTIFIER)
    facts["share"] = share
    return obj, facts


def _joined_material(object_type: int, secret: bytes, algorithm: int | None, sdt: int) -> tuple[Item, int | None,
                                                                                                  int | None]:
    """The object structure of a joined secret, with its algorithm and length."""
    if object_type == ObjectType.SYMMETRIC_KEY:
        if algorithm is None:
            raise InvalidField("the Split Keys name no Cryptographic Algorithm for the Symmetric Key")
        return keyblock.symmetric_key(secret, algorithm), algorithm, 8 * len(secret)
    if object_type == ObjectType.SECRET_DATA:
        return (Item.struct(Tag.SECRET_DATA, [Item.enum(Tag.SECRET_DATA_TYPE, sdt),
                                              keyblock.key_block(KFT.OPAQUE, secret)]), None, 8 * len(secret))
    try:
        key = keygen.load_private_key(secret)
    except CryptoError:
        raise InvalidField("the joined parts are not a PKCS#8 private key") from None
    alg, length = keyformat.key_facts(key)
    return (keyblock.body(ObjectType.PRIVATE_KEY, keyblock.key_block(KFT.PKCS_8, secret, algorithm=alg,
                                                                       length=length)), alg, length)


def _consistent(facts: list[dict[str, Any]]) -> dict[str, Any]:
    first = facts[0]
    for f in facts[1:]:
        for key in ("parts", "threshold", "method", "prime", "algorithm", "length", "poly"):
            if f[key] != first[key]:
                raise BadCryptographicParameters(f"the Split Keys disagree on {key}")
    idents = [f["ident"] for f in facts]
    if len(set(idents)) != len(idents):
        raise BadCryptographicParameters("the same Key Part Identifier was given twice")
    if not isinstance(first["length"], int) or first["length"] % 8:
        raise InvalidField("the Split Keys have no usable Cryptographic Length")
    return first


def _linked(obj: ManagedObject, link_type: int) -> str | None:
    for item in obj.live("Link"):
        if item.get(Tag.LINK_TYPE) == link_type:
            return str(item.get(Tag.LINKED_OBJECT_IDENTIFIER))
    return None


def _same_split(ctx: RequestContext, loaded: list[tuple[ManagedObject, dict[str, Any]]]) -> None:
    """Refuse parts that provably come from different splits with the same parameters.

    Nothing in a share tells its split apart, so joining parts of two splits would silently make a
    wrong key. The parts of one split share their Parent Link (when split from a stored key) and
    are chained by Next Links in Key Part Identifier order: following the chain from one given part
    must reach the next given part after exactly as many steps as their identifiers differ. Where
    the chain is broken (a link removed, an object gone) nothing is proven and the join goes on.
    """
    parents = {_linked(obj, LinkType.PARENT_LINK) for obj, _ in loaded}
    if len(parents) > 1:
        raise BadCryptographicParameters("the Split Keys come from different splits (their Parent Links differ)")
    ordered = sorted(((f["ident"], obj) for obj, f in loaded if isinstance(f["ident"], int)), key=lambda p: p[0])
    for (i, start), (j, end) in zip(ordered, ordered[1:], strict=False):
        current: ManagedObject | None = start
        for _ in range(j - i):
            nxt = _linked(current, LinkType.NEXT_LINK) if current is not None else None
            if nxt is None:
                current = None
                break
            current = end if nxt == end.uid else ctx.store.get(nxt)
            if current is None:
                break
        else:
            if current is not end:
                raise BadCryptographicParameters(
                    f"Split Keys {start.uid!r} and {end.uid!r} come from different splits (their links do not chain)")


@operation(Operation.JOIN_SPLIT_KEY, min_version=(1, 2))
def join_split_key(ctx: RequestContext, payload: Item | None) -> Item:
    """Combine Split Keys into the requested object; return its identifier."""
    if payload is None:
        raise MissingData("Join Split Key needs a request payload")
    object_type = payload.get(Tag.OBJECT_TYPE)
    if object_type is None:
        raise MissingData("Object Type is required")
    if object_type not in SPLITTABLE:
        raise InvalidObjectType("Split Keys join into a Symmetric Key, Secret Data or a Private Key")
    uids = [str(u.value) for u in payload.findall(Tag.UNIQUE_IDENTIFIER)]
    if not uids:
        raise MissingData("the Unique Identifiers of the Split Keys are required")
    sdt = payload.get(Tag.SECRET_DATA_TYPE)
    if sdt is not None and object_type != ObjectType.SECRET_DATA:
        raise InvalidField("Secret Data Type applies to Secret Data only")
    attrs = check_template(ctx, object_type, read_template(payload, Tag.TEMPLATE_ATTRIBUTE, Tag.ATTRIBUTES))
    check_protection_masks(payload)
    loaded = [_part(ctx, uid) for uid in uids]
    facts = [f for _, f in loaded]
    common = _consistent(facts)
    _same_split(ctx, loaded)
    threshold = common["threshold"]
    if len(facts) < threshold or (common["method"] == SplitKeyMethod.XOR and len(facts) != common["parts"]):
        raise BadCryptographicParameters(
            f"{common['parts'] if common['method'] == SplitKeyMethod.XOR else threshold} "
            f"parts are needed, {len(facts)} given")
    poly = common["poly"] if common["poly"] is not None else field_for(ctx.version)
    if sk.work(common["method"], common["length"] // 8, len(facts), threshold) > sk.MAX_WORK:
        raise ServerLimitExceeded("joining this many parts costs more than kmipd allows one request")
    secret = _crypto(sk.join, common["method"], {f["ident"]: f["share"] for f in facts}, threshold,
                     common["length"] // 8, prime=common["prime"], poly=poly)
    material, algorithm, length = _joined_material(object_type, secret, common["algorithm"],
                                                   sdt if sdt is not None else SecretDataType.SEED)
    check_unique_names(ctx, attrs)
    attrs = _inherit_protection([a for a in attrs if a.name not in ("Cryptographic Algorithm",
                                                                    "Cryptographic Length")],
                                [o for o, _ in loaded])
    obj = new_object(ctx, object_type, material, attrs, algorithm=algorithm, length=length, generated=False,
                     extra=[("Link", link(LinkType.PARENT_LINK, o.uid)) for o, _ in loaded])
    ctx.store.add(obj)
    ctx.id_placeholder = obj.uid
    _log.info("joined {count} split keys into {uid}", count=len(uids), uid=obj.uid)
    return Item.struct(Tag.RESPONSE_PAYLOAD, [Item.text(Tag.UNIQUE_IDENTIFIER, obj.uid)])


__all__ = ["FIELD_ATTRIBUTE", "create_split_key", "field_for", "join_split_key"]
