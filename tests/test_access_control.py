"""Operation policies enforced THROUGH the operations (issue 5).

L{tests.test_policy} checks the built-in tables against L{PolicyEngine} directly; here every
row of the C{default} and C{public} tables whose operation kmipd implements is sent as a real
request (decode -> dispatch -> handler -> encode) by the object's owner and by another identity,
together with the pairs the tables leave out (Disallow All), Locate filtering, the attribute
reads, the cryptographic operations, Get with key wrapping and group policies.

A policy refusal is recognised by its result: Permission Denied with the message
C{"permission denied"}.  (In KMIP 1.x several unrelated errors -- wrong state, usage mask --
share the Permission Denied reason, so the message is what tells a policy refusal apart.)

Existence: kmipd answers a request naming a missing object with Item Not Found, and a request
on an existing object the caller may not use with Permission Denied; the message of the refusal
is the same for every operation and names neither the object nor its owner, and the policy is
checked before anything else about the object (archived, destroyed, state), so nothing more
than the bare fact of existence of an object whose (random, uuid4) identifier the caller already
holds is disclosed.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from twisted.trial.unittest import SynchronousTestCase

from kmipd.model import keyblock
from kmipd.model.attributes import to_1x
from kmipd.operations.registry import REGISTRY
from kmipd.policy.builtin import (
    DEFAULT_ROWS,
    DEFAULT_SET_ATTRIBUTE_ROWS,
    PUBLIC_ROWS,
    PUBLIC_SET_ATTRIBUTE_ROWS,
)
from kmipd.policy.loader import parse_policies
from kmipd.policy.model import Permission, PolicyEngine
from kmipd.spec import (
    BlockCipherMode,
    CertificateType,
    CryptographicAlgorithm,
    CryptographicUsageMask,
    DerivationMethod,
    HashingAlgorithm,
    KeyFormatType,
    ObjectType,
    Operation,
    PaddingMethod,
    ResultReason,
    ResultStatus,
    RevocationReasonCode,
    SecretDataType,
    SplitKeyMethod,
    Tag,
    WrappingMethod,
)
from kmipd.store.memory import MemoryObjectStore
from kmipd.testing import Result, call, make_processor, payload
from kmipd.ttlv import Item

CA = CryptographicAlgorithm
M = CryptographicUsageMask
OT = ObjectType
Op = Operation

V14 = (1, 4)
V20 = (2, 0)
OWNER = "alice"
OTHER = "bob"
#: A custom attribute every test object carries (Modify/Delete Attribute act on it).
TAG_ATTRIBUTE = "x-acl-tag"
DENIED_MESSAGE = "permission denied"

RSA_KEY = rsa.generate_private_key(65537, 2048)
SYMMETRIC_MASK = int(M.ENCRYPT | M.DECRYPT | M.DERIVE_KEY | M.MAC_GENERATE | M.MAC_VERIFY
                     | M.WRAP_KEY | M.UNWRAP_KEY)


# --------------------------------------------------------------------------------------------
# Request builders


def _text_attr(name: str, value: str) -> Item:
    return to_1x(name, Item.text(Tag.ATTRIBUTE_VALUE, value))


def _template_1x(attrs: list[Item]) -> Item:
    return Item.struct(Tag.TEMPLATE_ATTRIBUTE, attrs)


def _policy_attr(policy: str) -> Item:
    return to_1x("Operation Policy Name", Item.text(Tag.OPERATION_POLICY_NAME, policy))


def _mask_attr(mask: int) -> Item:
    return to_1x("Cryptographic Usage Mask", Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, int(mask)))


def _certificate_der() -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acl test")])
    now = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(RSA_KEY.public_key())
            .serial_number(77).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(RSA_KEY, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


CERTIFICATE_DER = _certificate_der()


def _body(object_type: int) -> tuple[Item, list[Item]]:
    """The object structure to Register for C{object_type}, and extra template attributes."""
    raw = KeyFormatType.RAW
    if object_type == OT.SYMMETRIC_KEY:
        block = keyblock.key_block(raw, bytes(range(16)), algorithm=CA.AES, length=128)
        return keyblock.body(OT.SYMMETRIC_KEY, block), [_mask_attr(SYMMETRIC_MASK)]
    if object_type == OT.CERTIFICATE:
        return Item.struct(Tag.CERTIFICATE, [Item.enum(Tag.CERTIFICATE_TYPE, CertificateType.X_509),
                                             Item.bytes(Tag.CERTIFICATE_VALUE, CERTIFICATE_DER)]), []
    if object_type == OT.SPLIT_KEY:
        block = keyblock.key_block(raw, b"s" * 16, algorithm=CA.AES, length=128)
        return keyblock.body(OT.SPLIT_KEY, block, parts=Item.int(Tag.SPLIT_KEY_PARTS, 3),
                             ident=Item.int(Tag.KEY_PART_IDENTIFIER, 1),
                             threshold=Item.int(Tag.SPLIT_KEY_THRESHOLD, 2),
                             method=Item.enum(Tag.SPLIT_KEY_METHOD, SplitKeyMethod.XOR)), []
    if object_type == OT.TEMPLATE:
        return Item.struct(Tag.TEMPLATE, [to_1x("Cryptographic Algorithm",
                                                Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CA.AES))]), []
    if object_type == OT.SECRET_DATA:
        block = keyblock.key_block(KeyFormatType.OPAQUE, b"correct horse battery staple")
        return keyblock.body(OT.SECRET_DATA, block,
                             type=Item.enum(Tag.SECRET_DATA_TYPE, SecretDataType.PASSWORD)), [
            _mask_attr(M.DERIVE_KEY)]
    if object_type == OT.OPAQUE_OBJECT:
        return Item.struct(Tag.OPAQUE_OBJECT, [Item.enum(Tag.OPAQUE_DATA_TYPE, 0x80000001),
                                               Item.bytes(Tag.OPAQUE_DATA_VALUE, b"opaque")]), []
    if object_type == OT.PGP_KEY:
        block = keyblock.key_block(KeyFormatType.OPAQUE, b"pgp-blob")
        return keyblock.body(OT.PGP_KEY, block, version=Item.int(Tag.PGP_KEY_VERSION, 4)), []
    raise AssertionError(f"no builder for object type {object_type}")


def make_object(d: Any, object_type: int, policy: str = "default", caller: str = OWNER) -> str:
    """An object of C{object_type} owned by C{caller} under C{policy}; returns its uid.

    Key pairs come from CreateKeyPair (so the private key links its public key); the private
    key's uid is returned for PRIVATE_KEY, the public key's for PUBLIC_KEY.
    """
    common = [_policy_attr(policy), _text_attr(TAG_ATTRIBUTE, "v")]
    if object_type in (OT.PRIVATE_KEY, OT.PUBLIC_KEY):
        r = call(d, Op.CREATE_KEY_PAIR, payload(
            Item.struct(Tag.COMMON_TEMPLATE_ATTRIBUTE, [
                to_1x("Cryptographic Algorithm", Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CA.RSA)),
                to_1x("Cryptographic Length", Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 1024)), *common]),
            Item.struct(Tag.PRIVATE_KEY_TEMPLATE_ATTRIBUTE, [_mask_attr(M.SIGN | M.DECRYPT | M.UNWRAP_KEY)]),
            Item.struct(Tag.PUBLIC_KEY_TEMPLATE_ATTRIBUTE, [_mask_attr(M.VERIFY | M.ENCRYPT | M.WRAP_KEY)])),
            caller=caller)
        assert r.ok, r.message
        tag = Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER if object_type == OT.PRIVATE_KEY else Tag.PUBLIC_KEY_UNIQUE_IDENTIFIER
        return r.payload.get(tag)  # type: ignore[union-attr]
    body, extra = _body(object_type)
    r = call(d, Op.REGISTER, payload(Item.enum(Tag.OBJECT_TYPE, object_type),
                                     _template_1x(common + extra), body), caller=caller)
    assert r.ok, r.message
    return r.payload.get(Tag.UNIQUE_IDENTIFIER)  # type: ignore[union-attr]


def _uid(uid: str, *extra: Item | None) -> Item:
    return payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid), *extra)


def _cp(**fields: int) -> Item:
    tags = {"block_cipher_mode": Tag.BLOCK_CIPHER_MODE, "padding_method": Tag.PADDING_METHOD,
            "hashing_algorithm": Tag.HASHING_ALGORITHM, "cryptographic_algorithm": Tag.CRYPTOGRAPHIC_ALGORITHM}
    return Item.struct(Tag.CRYPTOGRAPHIC_PARAMETERS, [Item.enum(tags[k], v) for k, v in fields.items()])


#: operation -> (protocol version, payload builder(uid, object type)).  Locate is separate.
REQUESTS: dict[int, tuple[tuple[int, int], Callable[[str, int], Item]]] = {
    Op.GET: (V14, lambda uid, ot: _uid(uid)),
    Op.GET_ATTRIBUTES: (V14, lambda uid, ot: _uid(uid)),
    Op.GET_ATTRIBUTE_LIST: (V14, lambda uid, ot: _uid(uid)),
    Op.ADD_ATTRIBUTE: (V14, lambda uid, ot: _uid(uid, _text_attr("x-acl-added", "a"))),
    Op.MODIFY_ATTRIBUTE: (V14, lambda uid, ot: _uid(uid, _text_attr(TAG_ATTRIBUTE, "w"))),
    Op.DELETE_ATTRIBUTE: (V14, lambda uid, ot: _uid(uid, Item.text(Tag.ATTRIBUTE_NAME, TAG_ATTRIBUTE))),
    Op.SET_ATTRIBUTE: (V20, lambda uid, ot: _uid(uid, Item.struct(Tag.NEW_ATTRIBUTE, [
        Item.text(Tag.CONTACT_INFORMATION, "ops@example.org")]))),
    Op.OBTAIN_LEASE: (V14, lambda uid, ot: _uid(uid)),
    Op.GET_USAGE_ALLOCATION: (V14, lambda uid, ot: _uid(uid, Item.long(Tag.USAGE_LIMITS_COUNT, 1))),
    Op.ACTIVATE: (V14, lambda uid, ot: _uid(uid)),
    Op.REVOKE: (V14, lambda uid, ot: _uid(uid, Item.struct(Tag.REVOCATION_REASON, [
        Item.enum(Tag.REVOCATION_REASON_CODE, RevocationReasonCode.CESSATION_OF_OPERATION)]))),
    Op.DESTROY: (V14, lambda uid, ot: _uid(uid)),
    Op.ARCHIVE: (V14, lambda uid, ot: _uid(uid)),
    Op.RECOVER: (V14, lambda uid, ot: _uid(uid)),
    Op.CHECK: (V14, lambda uid, ot: _uid(uid)),
    Op.RE_KEY: (V14, lambda uid, ot: _uid(uid)),
    Op.RE_KEY_KEY_PAIR: (V14, lambda uid, ot: payload(Item.text(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER, uid))),
    Op.DERIVE_KEY: (V14, lambda uid, ot: payload(
        Item.enum(Tag.OBJECT_TYPE, OT.SYMMETRIC_KEY), Item.text(Tag.UNIQUE_IDENTIFIER, uid),
        Item.enum(Tag.DERIVATION_METHOD, DerivationMethod.HASH),
        Item.struct(Tag.DERIVATION_PARAMETERS, [_cp(hashing_algorithm=HashingAlgorithm.SHA_256),
                                                Item.bytes(Tag.DERIVATION_DATA, b"abc")]),
        _template_1x([to_1x("Cryptographic Algorithm", Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CA.AES)),
                      to_1x("Cryptographic Length", Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 128))]))),
}

#: Every object type the built-in tables mention (all of them can be registered).
OBJECT_TYPES = (OT.CERTIFICATE, OT.SYMMETRIC_KEY, OT.PUBLIC_KEY, OT.PRIVATE_KEY, OT.SPLIT_KEY,
                OT.TEMPLATE, OT.SECRET_DATA, OT.OPAQUE_OBJECT, OT.PGP_KEY)

#: (object type, operation) pairs where the owner's allowed request is expected to succeed
#: outright; the other allowed pairs are refused for reasons that are not the policy (wrong
#: object type for the operation, no usage limits, not archived, ...).
OWNER_SUCCEEDS = {Op.GET, Op.GET_ATTRIBUTES, Op.GET_ATTRIBUTE_LIST, Op.ADD_ATTRIBUTE,
                  Op.MODIFY_ATTRIBUTE, Op.DELETE_ATTRIBUTE, Op.DESTROY, Op.ARCHIVE, Op.LOCATE}


def policy_denied(r: Result) -> bool:
    """True if C{r} is the operation policy's refusal."""
    return (r.status == ResultStatus.OPERATION_FAILED and r.reason == ResultReason.PERMISSION_DENIED
            and r.message == DENIED_MESSAGE)


def located(d: Any, object_type: int, caller: str, version: tuple[int, int] = V14) -> list[str]:
    """The uids Locate returns to C{caller} for objects of C{object_type}."""
    if version < (2, 0):
        body = payload(to_1x("Object Type", Item.enum(Tag.OBJECT_TYPE, object_type)))
    else:
        body = payload(Item.struct(Tag.ATTRIBUTES, [Item.enum(Tag.OBJECT_TYPE, object_type)]))
    r = call(d, Op.LOCATE, body, version=version, caller=caller)
    assert r.ok, r.message
    return [u.value for u in r.payload.findall(Tag.UNIQUE_IDENTIFIER)]  # type: ignore[union-attr]


def _table(rows: tuple[tuple[int, int, Permission], ...]) -> dict[tuple[int, int], Permission]:
    return {(int(t), int(o)): p for t, o, p in rows}


DEFAULT_TABLE = _table(DEFAULT_ROWS + DEFAULT_SET_ATTRIBUTE_ROWS)
PUBLIC_TABLE = _table(PUBLIC_ROWS + PUBLIC_SET_ATTRIBUTE_ROWS)
def table_allows(policy: str, object_type: int, operation: int, caller: str) -> bool:
    """What the built-in table says about C{caller} (owner or not) doing C{operation}."""
    table = DEFAULT_TABLE if policy == "default" else PUBLIC_TABLE
    permission = table.get((int(object_type), int(operation)), Permission.DISALLOW_ALL)
    return permission is Permission.ALLOW_ALL or (permission is Permission.ALLOW_OWNER and caller == OWNER)


#: The object operations kmipd implements that a table row can govern.
OBJECT_OPERATIONS = sorted({int(o) for o in REQUESTS} | {int(Op.LOCATE)})


class BuiltinTableTests(SynchronousTestCase):
    """Each (object type, operation) pair of the built-in policies, through real requests."""

    def outcome(self, policy: str, object_type: int, operation: int, caller: str) -> tuple[bool, Result | None]:
        """(allowed?, result) of C{caller} performing C{operation} on a fresh object of C{OWNER}."""
        d = make_processor()
        uid = make_object(d, object_type, policy)
        if operation == Op.LOCATE:
            return uid in located(d, object_type, caller), None
        if operation == Op.RECOVER:
            # Archive it first where the owner may (elsewhere Recover meets a live object).
            archived = call(d, Op.ARCHIVE, _uid(uid), caller=OWNER)
            self.assertEqual(archived.ok, table_allows(policy, object_type, Op.ARCHIVE, OWNER), archived.message)
        if object_type == OT.TEMPLATE and REQUESTS[operation][0] >= (2, 0):
            return False, None  # Templates do not exist in KMIP 2.x: nothing to request
        version, build = REQUESTS[operation]
        r = call(d, operation, build(uid, object_type), version=version, caller=caller)
        return not policy_denied(r), r

    def check_table(self, policy: str, table: dict[tuple[int, int], Permission]) -> int:
        """Check every implemented pair of every object type against C{table}; return the count."""
        checked = 0
        mismatches: list[str] = []
        for object_type in OBJECT_TYPES:
            for operation in OBJECT_OPERATIONS:
                if operation not in REGISTRY:
                    continue
                permission = table.get((int(object_type), operation), Permission.DISALLOW_ALL)
                if (object_type == OT.TEMPLATE and operation in REQUESTS
                        and REQUESTS[operation][0] >= (2, 0)):
                    continue
                for caller in (OWNER, OTHER):
                    expected = table_allows(policy, object_type, operation, caller)
                    allowed, result = self.outcome(policy, object_type, operation, caller)
                    checked += 1
                    label = (f"{policy}: {OT(object_type).name} {Op(operation).name} by "
                             f"{'owner' if caller == OWNER else 'other'} ({permission.name})")
                    if allowed != expected:
                        mismatches.append(f"{label}: allowed={allowed} "
                                          f"({result and (result.reason, result.message)})")
                    elif (expected and caller == OWNER and policy == "default"
                          and operation in OWNER_SUCCEEDS and result is not None and not result.ok):
                        mismatches.append(f"{label}: owner's request failed: {result.reason} {result.message}")
        self.assertEqual(mismatches, [])
        return checked

    def test_default_table(self) -> None:
        """Every default-policy pair (and every pair it leaves out) is enforced by the operation itself."""
        checked = self.check_table("default", DEFAULT_TABLE)
        self.assertGreaterEqual(checked, len(OBJECT_TYPES) * 15 * 2)

    def test_public_table(self) -> None:
        """Every public-policy pair is enforced: Templates readable by all, nothing else for anyone."""
        self.check_table("public", PUBLIC_TABLE)

    def test_every_default_row_is_exercised(self) -> None:
        """Each default row names an operation kmipd implements or one this suite knowingly skips."""
        not_implemented = {int(o) for _, o, _ in DEFAULT_ROWS if int(o) not in REGISTRY}
        self.assertEqual(not_implemented, set())
        untested = {Op(o).name for _, o, _ in DEFAULT_ROWS + DEFAULT_SET_ATTRIBUTE_ROWS
                    if int(o) not in OBJECT_OPERATIONS}
        self.assertEqual(untested, set())

    def test_create_open_to_everyone(self) -> None:
        """Creating objects needs no policy: any identity may Create/Register under any policy name."""
        d = make_processor()
        for caller in (OWNER, OTHER, "carol"):
            for object_type in (OT.SYMMETRIC_KEY, OT.SECRET_DATA):
                make_object(d, object_type, "no-such-policy", caller=caller)

    def test_owner_and_default_policy_recorded(self) -> None:
        """A created object records its creator as owner and 'default' when no policy is named."""
        store = MemoryObjectStore()
        d = make_processor(store)
        r = call(d, Op.CREATE, payload(Item.enum(Tag.OBJECT_TYPE, OT.SYMMETRIC_KEY), _template_1x([
            to_1x("Cryptographic Algorithm", Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CA.AES)),
            to_1x("Cryptographic Length", Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 128)),
            _mask_attr(M.ENCRYPT)])), caller="carol")
        self.assertTrue(r.ok, r.message)
        with store.transaction() as tx:
            obj = tx.get(r.payload.get(Tag.UNIQUE_IDENTIFIER))
        self.assertEqual((obj.owner, obj.policy_name), ("carol", "default"))

    def test_unknown_policy_denies_owner(self) -> None:
        """An object whose Operation Policy Name is not defined is refused to everyone, owner included."""
        d = make_processor()
        uid = make_object(d, OT.SYMMETRIC_KEY, "no-such-policy")
        for caller in (OWNER, OTHER):
            self.assertTrue(policy_denied(call(d, Op.GET, _uid(uid), caller=caller)))
        self.assertEqual(located(d, OT.SYMMETRIC_KEY, OWNER), [])

    def test_no_identity_cannot_use_owner_rows(self) -> None:
        """A caller without an identity never matches an Allow Owner row (nor does an object without owner)."""
        d = make_processor()
        uid = make_object(d, OT.SYMMETRIC_KEY)
        self.assertTrue(policy_denied(call(d, Op.GET, _uid(uid), caller=None)))
        anonymous = make_object(d, OT.SYMMETRIC_KEY, caller=None)  # type: ignore[arg-type]
        self.assertTrue(policy_denied(call(d, Op.GET, _uid(anonymous), caller=None)))
        # ... but Allow All rows still apply.
        public = make_object(d, OT.PUBLIC_KEY)
        self.assertTrue(call(d, Op.GET, _uid(public), caller=None).ok)


class DenialTests(SynchronousTestCase):
    """What a refused caller learns."""

    def setUp(self) -> None:
        self.d = make_processor()
        self.uid = make_object(self.d, OT.SYMMETRIC_KEY)

    def test_same_refusal_for_every_operation(self) -> None:
        """Every refused operation answers the same reason and message, naming neither uid nor owner."""
        answers = set()
        for operation, (version, build) in REQUESTS.items():
            if operation == Op.RE_KEY_KEY_PAIR:
                continue
            r = call(self.d, operation, build(self.uid, OT.SYMMETRIC_KEY), version=version, caller=OTHER)
            answers.add((r.status, r.reason, r.message))
        self.assertEqual(answers, {(ResultStatus.OPERATION_FAILED, ResultReason.PERMISSION_DENIED,
                                    DENIED_MESSAGE)})

    def test_refusal_in_2x(self) -> None:
        """KMIP 2.x requests get the same Permission Denied refusal."""
        for version in ((2, 0), (2, 1)):
            r = call(self.d, Op.GET, _uid(self.uid), version=version, caller=OTHER)
            self.assertEqual((r.reason, r.message), (ResultReason.PERMISSION_DENIED, DENIED_MESSAGE))

    def test_missing_object_is_item_not_found(self) -> None:
        """A uid that names no object gives Item Not Found (kmipd's documented choice)."""
        r = call(self.d, Op.GET, _uid("6a1b0b0e-0000-4000-8000-000000000000"), caller=OTHER)
        self.assertEqual(r.reason, ResultReason.ITEM_NOT_FOUND)

    def test_policy_checked_before_state(self) -> None:
        """An archived, destroyed (2.x keeps its metadata) or revoked object of another owner is
        refused the same way: no state leaks. For a 1.x client a destroyed object is gone (Item Not
        Found, as for an identifier that never existed) but for its metadata, policy-checked alike."""
        archived = make_object(self.d, OT.SYMMETRIC_KEY)
        self.assertTrue(call(self.d, Op.ARCHIVE, _uid(archived), caller=OWNER).ok)
        destroyed = make_object(self.d, OT.SYMMETRIC_KEY)
        self.assertTrue(call(self.d, Op.DESTROY, _uid(destroyed), caller=OWNER).ok)
        for uid, version, operations in ((archived, V14, (Op.GET, Op.GET_ATTRIBUTES, Op.DESTROY, Op.ACTIVATE)),
                                         (destroyed, V20, (Op.GET, Op.GET_ATTRIBUTES, Op.DESTROY, Op.ACTIVATE)),
                                         (destroyed, V14, (Op.GET_ATTRIBUTES,))):
            for operation in operations:
                _, build = REQUESTS[operation]
                r = call(self.d, operation, build(uid, OT.SYMMETRIC_KEY), version=version, caller=OTHER)
                self.assertTrue(policy_denied(r), (Op(operation).name, r.reason, r.message))
        for uid, operations in ((destroyed, (Op.GET, Op.DESTROY, Op.ACTIVATE)),
                                ("never-existed", (Op.GET, Op.GET_ATTRIBUTES, Op.DESTROY, Op.ACTIVATE))):
            for operation in operations:
                r = call(self.d, operation, REQUESTS[operation][1](uid, OT.SYMMETRIC_KEY), version=V14, caller=OTHER)
                self.assertEqual(r.reason, ResultReason.ITEM_NOT_FOUND, (Op(operation).name, r.message))

    def test_refused_request_changes_nothing(self) -> None:
        """A refused Destroy / Modify Attribute leaves the object untouched for its owner."""
        for operation in (Op.DESTROY, Op.MODIFY_ATTRIBUTE, Op.DELETE_ATTRIBUTE, Op.REVOKE):
            version, build = REQUESTS[operation]
            self.assertTrue(policy_denied(call(self.d, operation, build(self.uid, OT.SYMMETRIC_KEY),
                                               version=version, caller=OTHER)))
        r = call(self.d, Op.GET_ATTRIBUTES, _uid(self.uid, Item.text(Tag.ATTRIBUTE_NAME, TAG_ATTRIBUTE),
                                                 Item.text(Tag.ATTRIBUTE_NAME, "State")), caller=OWNER)
        self.assertTrue(r.ok, r.message)
        values = {a.get(Tag.ATTRIBUTE_NAME): a.get(Tag.ATTRIBUTE_VALUE) for a in r.payload.findall(Tag.ATTRIBUTE)}
        self.assertEqual(values[TAG_ATTRIBUTE], "v")
        self.assertEqual(values["State"], 1)  # Pre-Active

    def test_id_placeholder_not_set_by_refusal(self) -> None:
        """A refused batch item does not hand its uid to the next item through the ID Placeholder."""
        from kmipd.testing import batch_item, request, results, send

        response = send(self.d, request(batch_item(Op.GET_ATTRIBUTES, _uid(self.uid)),
                                        batch_item(Op.GET, None), header_extra=[
                                            Item.enum(Tag.BATCH_ERROR_CONTINUATION_OPTION, 1)]),
                        caller=OTHER)
        first, second = results(response)
        self.assertTrue(policy_denied(first))
        self.assertEqual(second.reason, ResultReason.MISSING_DATA)


class LocateFilteringTests(SynchronousTestCase):
    """Locate returns only what the caller may Locate."""

    def setUp(self) -> None:
        self.d = make_processor()

    def test_only_own_keys(self) -> None:
        """Each identity locates only its own symmetric keys, in both 1.x and 2.x shapes."""
        mine = [make_object(self.d, OT.SYMMETRIC_KEY, caller=OWNER) for _ in range(3)]
        theirs = [make_object(self.d, OT.SYMMETRIC_KEY, caller=OTHER) for _ in range(2)]
        for version in (V14, (2, 1)):
            self.assertEqual(set(located(self.d, OT.SYMMETRIC_KEY, OWNER, version)), set(mine))
            self.assertEqual(set(located(self.d, OT.SYMMETRIC_KEY, OTHER, version)), set(theirs))
            self.assertEqual(located(self.d, OT.SYMMETRIC_KEY, "carol", version), [])

    def test_public_objects_listed_for_everyone(self) -> None:
        """Public keys and certificates (Allow All Locate) are listed to every identity."""
        public = make_object(self.d, OT.PUBLIC_KEY)
        cert = make_object(self.d, OT.CERTIFICATE)
        self.assertIn(public, located(self.d, OT.PUBLIC_KEY, OTHER))
        self.assertIn(cert, located(self.d, OT.CERTIFICATE, OTHER))
        self.assertEqual(located(self.d, OT.PRIVATE_KEY, OTHER), [])

    def test_paging_counts_only_visible(self) -> None:
        """Maximum Items / Offset Items and Located Items apply after the policy filter."""
        hidden = [make_object(self.d, OT.SYMMETRIC_KEY, caller=OWNER) for _ in range(3)]
        visible = [make_object(self.d, OT.SYMMETRIC_KEY, caller=OTHER) for _ in range(2)]
        r = call(self.d, Op.LOCATE, payload(Item.int(Tag.MAXIMUM_ITEMS, 1),
                                            to_1x("Object Type", Item.enum(Tag.OBJECT_TYPE, OT.SYMMETRIC_KEY))),
                 caller=OTHER)
        self.assertTrue(r.ok, r.message)
        self.assertEqual(r.payload.get(Tag.LOCATED_ITEMS), 2)
        uids = [u.value for u in r.payload.findall(Tag.UNIQUE_IDENTIFIER)]
        self.assertEqual(len(uids), 1)
        self.assertIn(uids[0], visible)
        self.assertNotIn(uids[0], hidden)

    def test_locate_by_name_does_not_find_others(self) -> None:
        """Locating another owner's key by its Name returns nothing."""
        name = Item.struct(Tag.NAME, [Item.text(Tag.NAME_VALUE, "alice-key"), Item.enum(Tag.NAME_TYPE, 1)])
        body, extra = _body(OT.SYMMETRIC_KEY)
        r = call(self.d, Op.REGISTER, payload(Item.enum(Tag.OBJECT_TYPE, OT.SYMMETRIC_KEY),
                                              _template_1x(extra + [to_1x("Name", name)]), body), caller=OWNER)
        self.assertTrue(r.ok, r.message)
        for caller, expected in ((OWNER, 1), (OTHER, 0)):
            found = call(self.d, Op.LOCATE, payload(to_1x("Name", name)), caller=caller)
            self.assertEqual(len(found.payload.findall(Tag.UNIQUE_IDENTIFIER)), expected)


class AttributeReadTests(SynchronousTestCase):
    """GetAttributes and GetAttributeList follow their own rows."""

    def test_get_attributes_follow_their_rows(self) -> None:
        """Another identity reads the attributes of a public key but not of a symmetric key, in 1.x and 2.x."""
        d = make_processor()
        secret = make_object(d, OT.SYMMETRIC_KEY)
        public = make_object(d, OT.PUBLIC_KEY)
        for version in (V14, (2, 1)):
            for operation in (Op.GET_ATTRIBUTES, Op.GET_ATTRIBUTE_LIST):
                self.assertTrue(policy_denied(call(d, operation, _uid(secret), version=version, caller=OTHER)))
                self.assertTrue(call(d, operation, _uid(public), version=version, caller=OTHER).ok)
                self.assertTrue(call(d, operation, _uid(secret), version=version, caller=OWNER).ok)

    def test_custom_policy_splits_get_and_get_attributes(self) -> None:
        """A policy may allow GetAttributes to all while keeping Get to the owner."""
        engine = PolicyEngine()
        engine.set_source("test", parse_policies({"metadata_shared": {"preset": {"SYMMETRIC_KEY": {
            "GET": "ALLOW_OWNER", "GET_ATTRIBUTES": "ALLOW_ALL", "GET_ATTRIBUTE_LIST": "ALLOW_ALL"}}}}, "test"))
        d = make_processor(policy=engine)
        uid = make_object(d, OT.SYMMETRIC_KEY, "metadata_shared")
        self.assertTrue(call(d, Op.GET_ATTRIBUTES, _uid(uid), caller=OTHER).ok)
        self.assertTrue(call(d, Op.GET_ATTRIBUTE_LIST, _uid(uid), caller=OTHER).ok)
        self.assertTrue(policy_denied(call(d, Op.GET, _uid(uid), caller=OTHER)))
        self.assertTrue(call(d, Op.GET, _uid(uid), caller=OWNER).ok)


def _encrypt(uid: str, **cp: int) -> Item:
    return _uid(uid, _cp(**cp) if cp else None, Item.bytes(Tag.DATA, b"sixteen byte msg"),
                Item.bytes(Tag.IV_COUNTER_NONCE, b"\0" * 16) if cp.get("block_cipher_mode") else None)


class CryptographicOperationTests(SynchronousTestCase):
    """Encrypt, Decrypt, Sign, Signature Verify, MAC: the object's policy; Get when a built-in policy has no entry."""

    def setUp(self) -> None:
        self.d = make_processor()

    def activate(self, uid: str, caller: str = OWNER) -> None:
        r = call(self.d, Op.ACTIVATE, _uid(uid), caller=caller)
        self.assertTrue(r.ok, r.message)

    def test_symmetric_key_operations(self) -> None:
        """Encrypt/Decrypt/MAC with another owner's symmetric key are refused; the owner's succeed."""
        uid = make_object(self.d, OT.SYMMETRIC_KEY)
        self.activate(uid)
        requests = {
            Op.ENCRYPT: _encrypt(uid, block_cipher_mode=BlockCipherMode.CBC, padding_method=PaddingMethod.NONE),
            Op.DECRYPT: _encrypt(uid, block_cipher_mode=BlockCipherMode.CBC, padding_method=PaddingMethod.NONE),
            Op.MAC: _uid(uid, _cp(cryptographic_algorithm=CA.HMAC_SHA256), Item.bytes(Tag.DATA, b"data")),
        }
        for operation, body in requests.items():
            r = call(self.d, operation, body, caller=OTHER)
            self.assertTrue(policy_denied(r), (Op(operation).name, r.reason, r.message))
            r = call(self.d, operation, body, caller=OWNER)
            self.assertTrue(r.ok, (Op(operation).name, r.reason, r.message))

    def test_key_pair_operations(self) -> None:
        """Anyone may verify/encrypt with a public key (Get is Allow All); only the owner signs."""
        private = make_object(self.d, OT.PRIVATE_KEY)
        r = call(self.d, Op.GET_ATTRIBUTES, _uid(private, Item.text(Tag.ATTRIBUTE_NAME, "Link")), caller=OWNER)
        public = r.payload.find(Tag.ATTRIBUTE).find(Tag.ATTRIBUTE_VALUE).get(Tag.LINKED_OBJECT_IDENTIFIER)
        self.activate(private)
        self.activate(public)
        params = _cp(padding_method=PaddingMethod.PSS, hashing_algorithm=HashingAlgorithm.SHA_256,
                     cryptographic_algorithm=CA.RSA)
        sign = _uid(private, params, Item.bytes(Tag.DATA, b"message"))
        self.assertTrue(policy_denied(call(self.d, Op.SIGN, sign, caller=OTHER)))
        signed = call(self.d, Op.SIGN, sign, caller=OWNER)
        self.assertTrue(signed.ok, signed.message)
        verify = _uid(public, params, Item.bytes(Tag.DATA, b"message"),
                      Item.bytes(Tag.SIGNATURE_DATA, signed.payload.get(Tag.SIGNATURE_DATA)))
        r = call(self.d, Op.SIGNATURE_VERIFY, verify, caller=OTHER)
        self.assertTrue(r.ok, r.message)
        oaep = _cp(padding_method=PaddingMethod.OAEP, hashing_algorithm=HashingAlgorithm.SHA_256)
        r = call(self.d, Op.ENCRYPT, _uid(public, oaep, Item.bytes(Tag.DATA, b"hi")), caller=OTHER)
        self.assertTrue(r.ok, r.message)
        r = call(self.d, Op.DECRYPT, _uid(private, oaep, Item.bytes(Tag.DATA, r.payload.get(Tag.DATA))),
                 caller=OTHER)
        self.assertTrue(policy_denied(r))

    def test_policy_entry_for_the_operation_wins(self) -> None:
        """A policy that names ENCRYPT governs Encrypt independently of its GET entry."""
        engine = PolicyEngine()
        engine.set_source("test", parse_policies({
            "encrypt_shared": {"preset": {"SYMMETRIC_KEY": {
                "GET": "ALLOW_OWNER", "ACTIVATE": "ALLOW_OWNER", "ENCRYPT": "ALLOW_ALL"}}},
            "get_shared": {"preset": {"SYMMETRIC_KEY": {
                "GET": "ALLOW_ALL", "ACTIVATE": "ALLOW_OWNER", "ENCRYPT": "DISALLOW_ALL"}}},
        }, "test"))
        self.d = make_processor(policy=engine)
        body_for = {}
        for name in ("encrypt_shared", "get_shared"):
            uid = make_object(self.d, OT.SYMMETRIC_KEY, name)
            self.activate(uid)
            body_for[name] = (uid, _encrypt(uid, block_cipher_mode=BlockCipherMode.CBC,
                                            padding_method=PaddingMethod.NONE))
        uid, body = body_for["encrypt_shared"]
        self.assertTrue(call(self.d, Op.ENCRYPT, body, caller=OTHER).ok)
        self.assertTrue(policy_denied(call(self.d, Op.GET, _uid(uid), caller=OTHER)))
        uid, body = body_for["get_shared"]
        self.assertTrue(call(self.d, Op.GET, _uid(uid), caller=OTHER).ok)
        self.assertTrue(policy_denied(call(self.d, Op.ENCRYPT, body, caller=OTHER)))
        self.assertTrue(policy_denied(call(self.d, Op.ENCRYPT, body, caller=OWNER)))

    def test_policy_file_omitting_the_operation_denies_it(self) -> None:
        """A policy file granting Get and Encrypt but omitting Decrypt and MAC denies those to everyone."""
        engine = PolicyEngine()
        engine.set_source("test", parse_policies({"encrypt_only": {"preset": {"SYMMETRIC_KEY": {
            "GET": "ALLOW_ALL", "ACTIVATE": "ALLOW_OWNER", "ENCRYPT": "ALLOW_ALL"}}}}, "test"))
        self.d = make_processor(policy=engine)
        uid = make_object(self.d, OT.SYMMETRIC_KEY, "encrypt_only")
        self.activate(uid)
        body = _encrypt(uid, block_cipher_mode=BlockCipherMode.CBC, padding_method=PaddingMethod.NONE)
        mac = _uid(uid, _cp(cryptographic_algorithm=CA.HMAC_SHA256), Item.bytes(Tag.DATA, b"data"))
        for caller in (OWNER, OTHER):
            self.assertTrue(call(self.d, Op.GET, _uid(uid), caller=caller).ok)
            self.assertTrue(call(self.d, Op.ENCRYPT, body, caller=caller).ok)
            for operation, request in ((Op.DECRYPT, body), (Op.MAC, mac)):
                r = call(self.d, operation, request, caller=caller)
                self.assertTrue(policy_denied(r), (caller, Op(operation).name, r.reason, r.message))


def _wrapping_spec(uid: str) -> Item:
    return Item.struct(Tag.KEY_WRAPPING_SPECIFICATION, [
        Item.enum(Tag.WRAPPING_METHOD, WrappingMethod.ENCRYPT),
        Item.struct(Tag.ENCRYPTION_KEY_INFORMATION, [
            Item.text(Tag.UNIQUE_IDENTIFIER, uid), _cp(block_cipher_mode=BlockCipherMode.NISTKEYWRAP)]),
    ])


class WrappedGetTests(SynchronousTestCase):
    """Get with a Key Wrapping Specification needs access to the wrapping key as well."""

    def setUp(self) -> None:
        engine = PolicyEngine()
        engine.set_source("test", parse_policies({"shared_kek": {"preset": {"SYMMETRIC_KEY": {
            "GET": "ALLOW_ALL", "ACTIVATE": "ALLOW_OWNER"}}}}, "test"))
        self.d = make_processor(policy=engine)
        self.key = make_object(self.d, OT.SYMMETRIC_KEY, caller=OWNER)

    def kek(self, caller: str, policy: str = "default") -> str:
        uid = make_object(self.d, OT.SYMMETRIC_KEY, policy, caller=caller)
        self.assertTrue(call(self.d, Op.ACTIVATE, _uid(uid), caller=caller).ok)
        return uid

    def get_wrapped(self, kek: str, caller: str = OWNER) -> Result:
        return call(self.d, Op.GET, _uid(self.key, _wrapping_spec(kek)), caller=caller)

    def test_own_wrapping_key(self) -> None:
        """The owner gets her key wrapped with her own wrapping key."""
        r = self.get_wrapped(self.kek(OWNER))
        self.assertTrue(r.ok, r.message)
        self.assertIsNotNone(r.payload.find(Tag.KEY_WRAPPING_DATA) or
                             r.payload.value[-1].find(Tag.KEY_BLOCK).find(Tag.KEY_WRAPPING_DATA))

    def test_inaccessible_wrapping_key(self) -> None:
        """A wrapping key the caller may not Get refuses the whole Get with Permission Denied."""
        r = self.get_wrapped(self.kek(OTHER))
        self.assertTrue(policy_denied(r), (r.reason, r.message))

    def test_shared_wrapping_key(self) -> None:
        """A wrapping key whose policy lets everyone Get it can wrap the owner's key."""
        r = self.get_wrapped(self.kek(OTHER, "shared_kek"))
        self.assertTrue(r.ok, r.message)

    def test_both_keys_checked(self) -> None:
        """Owning the wrapping key does not give access to the key being wrapped."""
        r = self.get_wrapped(self.kek(OTHER), caller=OTHER)
        self.assertTrue(policy_denied(r), (r.reason, r.message))

    def test_missing_wrapping_key(self) -> None:
        """A wrapping key that does not exist is reported as such (not a policy refusal)."""
        r = self.get_wrapped("6a1b0b0e-0000-4000-8000-000000000000")
        self.assertFalse(policy_denied(r))
        self.assertFalse(r.ok)


SHARED = {"shared": {
    "preset": {"SYMMETRIC_KEY": {"GET": "ALLOW_OWNER", "DESTROY": "ALLOW_OWNER", "LOCATE": "ALLOW_OWNER"}},
    "groups": {
        "Group A": {"SYMMETRIC_KEY": {"GET": "ALLOW_ALL", "LOCATE": "ALLOW_ALL", "DESTROY": "ALLOW_OWNER"}},
        "Group B": {"SYMMETRIC_KEY": {"GET": "ALLOW_ALL", "LOCATE": "ALLOW_ALL", "DESTROY": "DISALLOW_ALL"}},
        "Group C": {"SYMMETRIC_KEY": {"DESTROY": "ALLOW_ALL"}},
    }},
    "groups_only": {"groups": {"Group A": {"SYMMETRIC_KEY": {"GET": "ALLOW_ALL"}}}},
}


class GroupPolicyTests(SynchronousTestCase):
    """Group controls through operations (the caller's groups come from SLUGS in a server)."""

    def setUp(self) -> None:
        engine = PolicyEngine()
        engine.set_source("test", parse_policies(SHARED, "test"))
        self.d = make_processor(policy=engine)

    def key(self, policy: str = "shared", groups: tuple[str, ...] | None = ("Group A",)) -> str:
        body, extra = _body(OT.SYMMETRIC_KEY)
        r = call(self.d, Op.REGISTER, payload(Item.enum(Tag.OBJECT_TYPE, OT.SYMMETRIC_KEY),
                                              _template_1x([_policy_attr(policy), *extra]), body),
                 caller=OWNER, groups=groups)
        self.assertTrue(r.ok, r.message)
        return r.payload.get(Tag.UNIQUE_IDENTIFIER)

    def do(self, operation: int, uid: str, caller: str, groups: tuple[str, ...] | None) -> Result:
        if operation == Op.LOCATE:
            r = call(self.d, Op.LOCATE, payload(), caller=caller, groups=groups)
            assert r.ok
            found = [u.value for u in r.payload.findall(Tag.UNIQUE_IDENTIFIER)]
            return Result(Op.LOCATE, ResultStatus.SUCCESS if uid in found else ResultStatus.OPERATION_FAILED,
                          None if uid in found else ResultReason.PERMISSION_DENIED,
                          None if uid in found else DENIED_MESSAGE, None, None)
        return call(self.d, operation, _uid(uid), caller=caller, groups=groups)

    def test_group_b_reads_but_cannot_destroy(self) -> None:
        """Group B may Get and Locate another member's key but not Destroy it."""
        uid = self.key()
        self.assertTrue(self.do(Op.GET, uid, OTHER, ("Group B",)).ok)
        self.assertTrue(self.do(Op.LOCATE, uid, OTHER, ("Group B",)).ok)
        self.assertTrue(policy_denied(self.do(Op.DESTROY, uid, OTHER, ("Group B",))))
        self.assertTrue(self.do(Op.DESTROY, uid, OWNER, ("Group A",)).ok)

    def test_most_permissive_group(self) -> None:
        """A user in Groups B and C gets C's Allow All Destroy despite B's Disallow All."""
        uid = self.key()
        self.assertTrue(policy_denied(self.do(Op.DESTROY, uid, OTHER, ("Group B",))))
        self.assertTrue(self.do(Op.DESTROY, uid, OTHER, ("Group B", "Group C")).ok)

    def test_unlisted_group_and_no_groups(self) -> None:
        """Group information without a listed group is refused; no group information uses the preset."""
        uid = self.key()
        for operation in (Op.GET, Op.LOCATE):
            self.assertTrue(policy_denied(self.do(operation, uid, OTHER, ("Group Z",))))
            self.assertTrue(policy_denied(self.do(operation, uid, OTHER, ())))
            self.assertTrue(policy_denied(self.do(operation, uid, OWNER, ("Group Z",))))
            self.assertTrue(policy_denied(self.do(operation, uid, OTHER, None)))
            self.assertTrue(self.do(operation, uid, OWNER, None).ok)

    def test_groups_only_policy_without_group_information(self) -> None:
        """A policy with only groups refuses everyone when no group information exists, owner included."""
        uid = self.key("groups_only", None)
        self.assertTrue(policy_denied(self.do(Op.GET, uid, OWNER, None)))
        self.assertTrue(self.do(Op.GET, uid, OTHER, ("Group A",)).ok)

    def test_builtin_default_ignores_groups(self) -> None:
        """The built-in default policy has no groups: group information changes nothing."""
        uid = self.key("default")
        self.assertTrue(policy_denied(self.do(Op.GET, uid, OTHER, ("Group A",))))
        self.assertTrue(self.do(Op.GET, uid, OWNER, ("Group A",)).ok)


class PolicyNameImmutableTests(SynchronousTestCase):
    """Nobody escapes a policy by editing the Operation Policy Name attribute, except its owner
    moving it to another existing policy (kmipd.compat row operation-policy-name-after-creation)."""

    def test_policy_name_cannot_be_changed(self) -> None:
        """A non-owner the policy lets edit cannot Modify/Add/Delete it; nobody can Delete it."""
        engine = PolicyEngine()
        engine.set_source("test", parse_policies({"editable": {"preset": {"SYMMETRIC_KEY": {
            "GET": "ALLOW_OWNER", "ADD_ATTRIBUTE": "ALLOW_ALL", "MODIFY_ATTRIBUTE": "ALLOW_ALL",
            "DELETE_ATTRIBUTE": "ALLOW_ALL"}}}}, "test"))
        d = make_processor(policy=engine)
        uid = make_object(d, OT.SYMMETRIC_KEY, "editable")
        public = Item.text(Tag.OPERATION_POLICY_NAME, "public")
        delete = (Op.DELETE_ATTRIBUTE, _uid(uid, Item.text(Tag.ATTRIBUTE_NAME, "Operation Policy Name")))
        for operation, body in (
                (Op.MODIFY_ATTRIBUTE, _uid(uid, to_1x("Operation Policy Name", public))),
                (Op.ADD_ATTRIBUTE, _uid(uid, to_1x("Operation Policy Name", public))),
                delete):
            r = call(d, operation, body, caller=OTHER)
            self.assertFalse(r.ok, (OTHER, Op(operation).name))
        self.assertFalse(call(d, *delete, caller=OWNER).ok)
        nowhere = Item.text(Tag.OPERATION_POLICY_NAME, "nowhere")
        self.assertFalse(call(d, Op.MODIFY_ATTRIBUTE, _uid(uid, to_1x("Operation Policy Name", nowhere)),
                              caller=OWNER).ok)
        self.assertTrue(policy_denied(call(d, Op.GET, _uid(uid), caller=OTHER)))
        with d.store.transaction() as tx:
            self.assertEqual(tx.get(uid).policy_name, "editable")
        # the owner may move the object to another policy that exists
        self.assertTrue(call(d, Op.MODIFY_ATTRIBUTE, _uid(uid, to_1x("Operation Policy Name", public)),
                             caller=OWNER).ok)
        with d.store.transaction() as tx:
            self.assertEqual(tx.get(uid).policy_name, "public")


class SQLStoreTests(SynchronousTestCase):
    """The same enforcement on the SQL store (owner and policy name are indexed columns there)."""

    def setUp(self) -> None:
        import os

        from kmipd.store.sql import SQLObjectStore

        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        self.store = SQLObjectStore("sqlite:///" + os.path.join(directory, "acl.sqlite"), b"k" * 32)
        self.addCleanup(self.store.close)
        engine = PolicyEngine()
        engine.set_source("test", parse_policies({"shared": {"preset": {"SYMMETRIC_KEY": {
            "GET": "ALLOW_ALL", "LOCATE": "ALLOW_ALL"}}}}, "test"))
        self.d = make_processor(self.store, policy=engine)

    def test_get_and_locate(self) -> None:
        """Get and Locate follow owner and policy name as stored in SQLite."""
        private = make_object(self.d, OT.SYMMETRIC_KEY)
        shared = make_object(self.d, OT.SYMMETRIC_KEY, "shared")
        mine = make_object(self.d, OT.SYMMETRIC_KEY, caller=OTHER)
        self.assertTrue(policy_denied(call(self.d, Op.GET, _uid(private), caller=OTHER)))
        self.assertTrue(call(self.d, Op.GET, _uid(shared), caller=OTHER).ok)
        self.assertTrue(call(self.d, Op.GET, _uid(private), caller=OWNER).ok)
        self.assertEqual(set(located(self.d, OT.SYMMETRIC_KEY, OTHER)), {shared, mine})
        self.assertEqual(set(located(self.d, OT.SYMMETRIC_KEY, OWNER)), {private, shared})
