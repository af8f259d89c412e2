"""One KMIP 2.1 request per operation that succeeds on a fresh server: the base the general rows
of the 2.1 error tables (Invalid Field, Invalid Message, Permission Denied, Response Too Large)
are made from, by spoiling it one way each."""

from __future__ import annotations

from collections.abc import Callable

from kmipd.spec import (
    AdjustmentType,
    BlockCipherMode,
    DerivationMethod,
    DigitalSignatureAlgorithm,
    HashingAlgorithm,
    InteropFunction,
    LinkType,
    ObjectType,
    QueryFunction,
    RevocationReasonCode,
    SplitKeyMethod,
    State,
    Tag,
)
from kmipd.spec import CryptographicAlgorithm as CA
from kmipd.spec import CryptographicUsageMask as M
from kmipd.testing import payload
from kmipd.ttlv import Item

from .error_tables import Env, O
from .test_crypto_ops import cp

P = State.PRE_ACTIVE


def uid(u: str) -> Item:
    return Item.text(Tag.UNIQUE_IDENTIFIER, u)


def attrs(*items: Item, tag: int = Tag.ATTRIBUTES) -> Item:
    return Item.struct(tag, list(items))


def aes(length: int = 128, mask: int = M.ENCRYPT | M.DECRYPT) -> list[Item]:
    return [Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CA.AES), Item.int(Tag.CRYPTOGRAPHIC_LENGTH, length),
            Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, mask)]


def otype(t: int = ObjectType.SYMMETRIC_KEY) -> Item:
    return Item.enum(Tag.OBJECT_TYPE, t)


def contact(text: str = "ops") -> Item:
    return Item.text(Tag.CONTACT_INFORMATION, text)


def qf(*functions: int) -> Item:
    return payload(*[Item.enum(Tag.QUERY_FUNCTION, f) for f in functions])


def ec_pair(*common: Item) -> Item:
    return payload(attrs(Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CA.EC), Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 256),
                         *common, tag=Tag.COMMON_ATTRIBUTES),
                   attrs(Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, M.SIGN), tag=Tag.PRIVATE_KEY_ATTRIBUTES),
                   attrs(Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, M.VERIFY), tag=Tag.PUBLIC_KEY_ATTRIBUTES))


def split(env: Env, owner: str = "tester", parts: int = 3, threshold: int = 2) -> Item:
    return payload(otype(), Item.int(Tag.SPLIT_KEY_PARTS, parts), Item.int(Tag.SPLIT_KEY_THRESHOLD, threshold),
                   Item.enum(Tag.SPLIT_KEY_METHOD, SplitKeyMethod.XOR if parts == threshold
                             else SplitKeyMethod.POLYNOMIAL_SHARING_GF_2_8), attrs(*aes()))


def split_parts(env: Env, owner: str = "tester") -> list[str]:
    """Split a new AES key into 3 parts (threshold 2) owned by C{owner}; their identifiers."""
    r = env.run(O.CREATE_SPLIT_KEY, split(env), caller=owner)
    assert r.ok, r.message
    return [u.value for u in r.payload.findall(Tag.UNIQUE_IDENTIFIER)]


def join(uids: list[str], *extra: Item) -> Item:
    return payload(otype(), *[uid(u) for u in uids], attrs(*extra))


def derive(base: str, *extra: Item) -> Item:
    return payload(otype(), uid(base), Item.enum(Tag.DERIVATION_METHOD, DerivationMethod.PBKDF2),
                   Item.struct(Tag.DERIVATION_PARAMETERS, [
                       cp(hashing_algorithm=HashingAlgorithm.SHA_256),
                       Item.bytes(Tag.SALT, b"salt-salt"), Item.int(Tag.ITERATION_COUNT, 1000)]),
                   attrs(*aes(), *extra))


def exported(env: Env, owner: str = "tester") -> Item:
    """The Export response payload of a new key."""
    r = env.run(O.EXPORT, payload(uid(env.key(owner=owner))), caller=owner)
    assert r.ok, r.message
    return r.payload


def import_body(new_uid: str, ex: Item) -> Item:
    rest = [c for c in ex.value if c.tag not in (Tag.UNIQUE_IDENTIFIER, Tag.OBJECT_TYPE)]
    return payload(uid(new_uid), ex.find(Tag.OBJECT_TYPE), *rest)


Builder = Callable[[Env, str], Item]


def _mac_key(env: Env, owner: str, mask: int = M.MAC_GENERATE | M.MAC_VERIFY) -> str:
    return env.key(owner=owner, key=bytes(32), algorithm=CA.HMAC_SHA256, mask=mask)


def ec_keys(env: Env, owner: str = "tester", *, activate: bool = True) -> tuple[str, str]:
    """A new EC P-256 key pair of C{owner}'s (Active unless told): (private, public)."""
    r = env.run(O.CREATE_KEY_PAIR, ec_pair(), caller=owner)
    assert r.ok, r.message
    pair = r.payload.get(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER), r.payload.get(Tag.PUBLIC_KEY_UNIQUE_IDENTIFIER)
    for u in pair if activate else ():
        assert env.run(O.ACTIVATE, payload(uid(u)), caller=owner).ok
    return pair


def _ec_private(env: Env, owner: str) -> str:
    return ec_keys(env, owner)[0]


def _ec_public(env: Env, owner: str) -> str:
    return ec_keys(env, owner)[1]


def certificate(env: Env, owner: str = "tester") -> str:
    """A self-signed certificate of C{owner}'s, issued by Certify for a new EC key pair of theirs."""
    r = env.run(O.CERTIFY, payload(uid(_ec_public(env, owner))), caller=owner)
    assert r.ok, r.message
    return r.payload.get(Tag.UNIQUE_IDENTIFIER)


def chain(env: Env, owner: str = "tester") -> tuple[str, str]:
    """A certificate chain of C{owner}'s issued by Certify: (leaf, CA), the CA's self-signed
    certificate Active (so it can issue and is trusted), the leaf signed by the CA's key."""
    r = env.run(O.CERTIFY, payload(uid(_ec_public(env, owner)), attrs(
        Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, M.CERTIFICATE_SIGN | M.SIGN))), caller=owner)
    assert r.ok, r.message
    ca = r.payload.get(Tag.UNIQUE_IDENTIFIER)
    assert env.run(O.ACTIVATE, payload(uid(ca)), caller=owner).ok
    r = env.run(O.CERTIFY, payload(uid(_ec_public(env, owner)), attrs(Item.struct(Tag.LINK, [
        Item.enum(Tag.LINK_TYPE, LinkType.CERTIFICATE_LINK), Item.text(Tag.LINKED_OBJECT_IDENTIFIER, ca)]))),
        caller=owner)
    assert r.ok, r.message
    return r.payload.get(Tag.UNIQUE_IDENTIFIER), ca


def login_ticket(env: Env, owner: str = "tester", *fields: Item) -> Item:
    """The Ticket of a Login by C{owner} (with the Login request's C{fields})."""
    result = env.run(O.LOGIN, payload(*fields), caller=owner)
    ticket = result.payload.find(Tag.TICKET) if result.payload is not None else None
    assert ticket is not None, (result.reason, result.message)
    return ticket


def rights(*right: Item) -> Item:
    """A Rights structure of the given Right structures (one unrestricted Right if none)."""
    return Item.struct(Tag.RIGHTS, list(right) or [Item.struct(Tag.RIGHT, [])])


ECDSA = cp(digital_signature_algorithm=DigitalSignatureAlgorithm.ECDSA_WITH_SHA256)
ECB = cp(block_cipher_mode=BlockCipherMode.ECB)

#: Operation -> a builder of a request that succeeds when the objects it names belong to the
#: caller ("tester"); called with another owner, the same request names someone else's objects.
VALID: dict[int, Builder] = {
    O.ACTIVATE: lambda e, o: payload(uid(e.key(owner=o, state=P))),
    O.ADD_ATTRIBUTE: lambda e, o: payload(uid(e.key(owner=o)), Item.struct(Tag.NEW_ATTRIBUTE, [contact()])),
    O.ADJUST_ATTRIBUTE: lambda e, o: payload(uid(e.key(owner=o)), Item.enum(Tag.ATTRIBUTE_REFERENCE, Tag.EXTRACTABLE),
                                             Item.enum(Tag.ADJUSTMENT_TYPE, AdjustmentType.NEGATE)),
    O.ARCHIVE: lambda e, o: payload(uid(e.key(owner=o))),
    O.CANCEL: lambda e, o: payload(Item.bytes(Tag.ASYNCHRONOUS_CORRELATION_VALUE, e.pending(o))),
    O.CERTIFY: lambda e, o: payload(uid(_ec_public(e, o))),
    O.CHECK: lambda e, o: payload(uid(e.key(owner=o))),
    O.CREATE: lambda e, o: payload(otype(), attrs(*aes())),
    O.CREATE_KEY_PAIR: lambda e, o: ec_pair(),
    O.CREATE_SPLIT_KEY: lambda e, o: split(e),
    O.DECRYPT: lambda e, o: payload(uid(e.key(owner=o)), ECB, Item.bytes(Tag.DATA, bytes(16))),
    O.DELEGATED_LOGIN: lambda e, o: payload(rights()),
    O.DELETE_ATTRIBUTE: lambda e, o: payload(uid(e.key(owner=o, extra={"Contact Information": [contact()]})),
                                             Item.enum(Tag.ATTRIBUTE_REFERENCE, Tag.CONTACT_INFORMATION)),
    O.DERIVE_KEY: lambda e, o: derive(e.secret(owner=o)),
    O.DESTROY: lambda e, o: payload(uid(e.key(owner=o, state=P))),
    O.DISCOVER_VERSIONS: lambda e, o: payload(),
    O.ENCRYPT: lambda e, o: payload(uid(e.key(owner=o)), ECB, Item.bytes(Tag.DATA, bytes(16))),
    O.EXPORT: lambda e, o: payload(uid(e.key(owner=o))),
    O.GET: lambda e, o: payload(uid(e.key(owner=o))),
    O.GET_ATTRIBUTES: lambda e, o: payload(uid(e.key(owner=o))),
    O.GET_ATTRIBUTE_LIST: lambda e, o: payload(uid(e.key(owner=o))),
    O.GET_CONSTRAINTS: lambda e, o: payload(),
    O.GET_USAGE_ALLOCATION: lambda e, o: payload(uid(e.key(owner=o, extra={"Usage Limits": [Item.struct(
        Tag.USAGE_LIMITS, [Item.long(Tag.USAGE_LIMITS_TOTAL, 10), Item.long(Tag.USAGE_LIMITS_COUNT, 10),
                           Item.enum(Tag.USAGE_LIMITS_UNIT, 2)])]})), Item.long(Tag.USAGE_LIMITS_COUNT, 1)),
    O.HASH: lambda e, o: payload(cp(hashing_algorithm=HashingAlgorithm.SHA_256), Item.bytes(Tag.DATA, b"m")),
    O.IMPORT: lambda e, o: import_body("imported-1", exported(e)),
    O.INTEROP: lambda e, o: payload(Item.enum(Tag.INTEROP_FUNCTION, InteropFunction.BEGIN),
                                    Item.text(Tag.INTEROP_IDENTIFIER, "TC-1")),
    O.JOIN_SPLIT_KEY: lambda e, o: join(split_parts(e, o)[:2]),
    O.LOCATE: lambda e, o: payload(attrs()),
    O.LOG: lambda e, o: payload(Item.text(Tag.LOG_MESSAGE, "hello")),
    O.LOGIN: lambda e, o: payload(),
    O.LOGOUT: lambda e, o: payload(login_ticket(e, o)),
    O.MAC: lambda e, o: payload(uid(_mac_key(e, o)), Item.bytes(Tag.DATA, b"m")),
    O.MAC_VERIFY: lambda e, o: payload(uid(_mac_key(e, o)), Item.bytes(Tag.DATA, b"m"),
                                       Item.bytes(Tag.MAC_DATA, bytes(32))),
    O.MODIFY_ATTRIBUTE: lambda e, o: payload(uid(e.key(owner=o, extra={"Contact Information": [contact()]})),
                                             Item.struct(Tag.NEW_ATTRIBUTE, [contact("new")])),
    O.OBTAIN_LEASE: lambda e, o: payload(uid(e.key(owner=o))),
    O.POLL: lambda e, o: payload(Item.bytes(Tag.ASYNCHRONOUS_CORRELATION_VALUE, e.pending(o))),
    O.PING: lambda e, o: payload(),
    O.PROCESS: lambda e, o: payload(Item.bytes(Tag.ASYNCHRONOUS_CORRELATION_VALUE, e.pending(o))),
    O.QUERY: lambda e, o: qf(QueryFunction.QUERY_OPERATIONS),
    O.QUERY_ASYNCHRONOUS_REQUESTS: lambda e, o: payload(),
    O.RECOVER: lambda e, o: payload(uid(e.archived(e.key(owner=o)))),
    O.REGISTER: lambda e, o: payload(otype(), attrs(*aes()), Item.struct(Tag.SYMMETRIC_KEY, [Item.struct(
        Tag.KEY_BLOCK, [Item.enum(Tag.KEY_FORMAT_TYPE, 1), Item.struct(Tag.KEY_VALUE, [
            Item.bytes(Tag.KEY_MATERIAL, bytes(16))]), Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CA.AES),
            Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 128)])])),
    O.RE_CERTIFY: lambda e, o: payload(uid(certificate(e, o))),
    O.VALIDATE: lambda e, o: payload(*map(uid, chain(e, o))),
    O.RE_KEY: lambda e, o: payload(uid(e.key(owner=o))),
    O.RE_KEY_KEY_PAIR: lambda e, o: payload(Item.text(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER, _ec_private(e, o))),
    O.REVOKE: lambda e, o: payload(uid(e.key(owner=o)), Item.struct(Tag.REVOCATION_REASON, [
        Item.enum(Tag.REVOCATION_REASON_CODE, RevocationReasonCode.CESSATION_OF_OPERATION)])),
    O.RNG_RETRIEVE: lambda e, o: payload(Item.int(Tag.DATA_LENGTH, 16)),
    O.RNG_SEED: lambda e, o: payload(Item.bytes(Tag.DATA, bytes(16))),
    O.SET_ATTRIBUTE: lambda e, o: payload(uid(e.key(owner=o)), Item.struct(Tag.NEW_ATTRIBUTE, [contact()])),
    O.SET_CONSTRAINTS: lambda e, o: payload(Item.struct(Tag.CONSTRAINTS, [])),
    O.SET_DEFAULTS: lambda e, o: payload(),
    O.SIGN: lambda e, o: payload(uid(_ec_private(e, o)), ECDSA, Item.bytes(Tag.DATA, b"m")),
    O.SIGNATURE_VERIFY: lambda e, o: payload(uid(_ec_public(e, o)), ECDSA, Item.bytes(Tag.DATA, b"m"),
                                             Item.bytes(Tag.SIGNATURE_DATA, b"0" * 8)),
}

#: Operations whose request names an object of the caller's (Permission Denied for another's).
NAMES_OBJECT = frozenset({
    O.ACTIVATE, O.ADD_ATTRIBUTE, O.ADJUST_ATTRIBUTE, O.ARCHIVE, O.CERTIFY, O.CHECK, O.DECRYPT, O.DELETE_ATTRIBUTE,
    O.DERIVE_KEY, O.DESTROY, O.ENCRYPT, O.EXPORT, O.GET, O.GET_ATTRIBUTES, O.GET_ATTRIBUTE_LIST,
    O.GET_USAGE_ALLOCATION, O.JOIN_SPLIT_KEY, O.MAC, O.MAC_VERIFY, O.MODIFY_ATTRIBUTE, O.OBTAIN_LEASE,
    O.RECOVER, O.RE_CERTIFY, O.RE_KEY, O.RE_KEY_KEY_PAIR, O.REVOKE, O.SET_ATTRIBUTE, O.SIGN,
})  # Signature Verify: public keys are usable by all under the built-in policies (crypto rows)
