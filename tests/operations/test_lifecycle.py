"""Tests for kmipd.model.states (the state machine as data) and kmipd.operations.lifecycle."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from kmipd.model import states as lifecycle
from kmipd.model.objects import ManagedObject
from kmipd.model.states import TRANSITIONS, Cause, due_state, next_state
from kmipd.settings import Settings
from kmipd.spec import ObjectType, Operation, ResultReason, RevocationReasonCode, State, Tag
from kmipd.store.memory import MemoryObjectStore
from kmipd.testing import FakeClock, batch_item, call, make_processor, payload, request, results, send
from kmipd.ttlv import Item

NOW = 1_700_000_000
V14 = (1, 4)
V20 = (2, 0)
ENCRYPT_DECRYPT = 0x04 | 0x08

P, A, D, C = State.PRE_ACTIVE, State.ACTIVE, State.DEACTIVATED, State.COMPROMISED
X, XC = State.DESTROYED, State.DESTROYED_COMPROMISED


# -- shared helpers (also used by test_attribute_ops and test_locate) ----------------------------


def name_item(text: str, name_type: int = 1) -> Item:
    """A Name attribute value (2.x form)."""
    return Item.struct(Tag.NAME, [Item.text(Tag.NAME_VALUE, text), Item.enum(Tag.NAME_TYPE, name_type)])


def new_object(
    store: Any,
    *,
    owner: str | None = "alice",
    state: int | None = P,
    object_type: int = ObjectType.SYMMETRIC_KEY,
    name: str | None = None,
    attrs: dict[str, list[Item]] | None = None,
    algorithm: int = 3,
    length: int = 128,
    mask: int = ENCRYPT_DECRYPT,
    archived: bool = False,
) -> str:
    """Store a managed object directly (no Create needed) and return its Unique Identifier."""
    with store.transaction() as tx:
        uid = tx.new_uid()
        obj = ManagedObject(uid, int(object_type), owner, created=NOW)
        obj.attributes = {
            "Unique Identifier": [Item.text(Tag.UNIQUE_IDENTIFIER, uid)],
            "Object Type": [Item.enum(Tag.OBJECT_TYPE, int(object_type))],
            "Initial Date": [Item.datetime(Tag.INITIAL_DATE, NOW - 1000)],
            "Last Change Date": [Item.datetime(Tag.LAST_CHANGE_DATE, NOW - 1000)],
            "Cryptographic Algorithm": [Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, algorithm)],
            "Cryptographic Length": [Item.int(Tag.CRYPTOGRAPHIC_LENGTH, length)],
            "Cryptographic Usage Mask": [Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, mask)],
        }
        if state is not None:
            obj.attributes["State"] = [Item.enum(Tag.STATE, int(state))]
        if name is not None:
            obj.attributes["Name"] = [name_item(name)]
        obj.attributes.update(attrs or {})
        obj.material = Item.struct(
            Tag.SYMMETRIC_KEY,
            [
                Item.struct(
                    Tag.KEY_BLOCK,
                    [
                        Item.enum(Tag.KEY_FORMAT_TYPE, 1),
                        Item.struct(Tag.KEY_VALUE, [Item.bytes(Tag.KEY_MATERIAL, b"\x01" * 16)]),
                    ],
                )
            ],
        )
        tx.add(obj)
        if archived:
            tx.set_archived(uid, True)
    return uid


def fetch(store: Any, uid: str) -> ManagedObject | None:
    """The stored object (a fresh copy)."""
    with store.transaction() as tx:
        return tx.get(uid)


def uid_payload(uid: str, *extra: Item) -> Item:
    """A request payload naming C{uid}."""
    return payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid), *extra)


def revocation(code: int, occurrence: int | None = None) -> list[Item]:
    """Revoke payload children."""
    items = [Item.struct(Tag.REVOCATION_REASON, [Item.enum(Tag.REVOCATION_REASON_CODE, code)])]
    if occurrence is not None:
        items.append(Item.datetime(Tag.COMPROMISE_OCCURRENCE_DATE, occurrence))
    return items


def sqlite_store(case: SynchronousTestCase) -> Any:
    """A SQLObjectStore on a temporary SQLite file, closed after the test."""
    from kmipd.store.sql import SQLObjectStore

    directory = tempfile.mkdtemp()
    store = SQLObjectStore(f"sqlite:///{os.path.join(directory, 'kmipd.db')}", b"k" * 32)
    case.addCleanup(store.close)
    return store


class _Base(SynchronousTestCase):
    def setUp(self) -> None:
        self.store = MemoryObjectStore()
        self.clock = FakeClock(NOW)
        self.d = make_processor(self.store, clock=self.clock)

    def call(self, op: int, body: Item | None, version: tuple[int, int] = V14, caller: str = "alice") -> Any:
        return call(self.d, op, body, version=version, caller=caller)

    def assertFailed(self, result: Any, reason: int) -> None:
        self.assertFalse(result.ok, result)
        self.assertEqual(result.reason, reason, result.message)


# -- the state machine as data ------------------------------------------------------------------


class StateMachineDataTests(SynchronousTestCase):
    """The transition table reproduces the spec's list of transitions."""

    EXPECTED = {
        (None, Cause.CREATE): P,
        (P, Cause.DESTROY): X,
        (P, Cause.REVOKE_COMPROMISE): C,
        (P, Cause.ACTIVATE): A,
        (P, Cause.ACTIVATION_DATE): A,
        (A, Cause.REVOKE_COMPROMISE): C,
        (A, Cause.DEACTIVATION_DATE): D,
        (A, Cause.REVOKE): D,
        (D, Cause.DESTROY): X,
        (D, Cause.REVOKE_COMPROMISE): C,
        (C, Cause.DESTROY): XC,
        (X, Cause.REVOKE_COMPROMISE): XC,
    }

    def test_every_pair(self) -> None:
        """next_state allows exactly the spec's transitions and nothing else."""
        for state in [None, *State]:
            for cause in Cause:
                self.assertEqual(next_state(state, cause), self.EXPECTED.get((state, cause)), (state, cause))

    def test_numbers_cover_spec_list(self) -> None:
        """The rows carry the spec's transition numbers 1 to 10."""
        self.assertEqual({t.number for t in TRANSITIONS}, set(range(1, 11)))

    def test_transitions_from(self) -> None:
        """transitions_from lists the causes leaving a state."""
        self.assertEqual(
            lifecycle.transitions_from(A), {Cause.REVOKE_COMPROMISE: C, Cause.DEACTIVATION_DATE: D, Cause.REVOKE: D}
        )
        self.assertEqual(lifecycle.transitions_from(XC), {})

    def test_due_state(self) -> None:
        """Date-driven transitions follow the diagram (no Pre-Active -> Deactivated arrow)."""
        rows = [
            (P, None, None, P),
            (P, NOW - 1, None, A),
            (P, NOW, None, A),
            (P, NOW + 1, None, P),
            (P, NOW - 2, NOW - 1, D),
            (P, None, NOW - 1, P),
            (A, None, NOW, D),
            (A, None, NOW + 5, A),
            (D, NOW - 5, NOW - 1, D),
            (C, NOW - 5, NOW - 1, C),
            (None, NOW - 5, None, None),
        ]
        for state, activation, deactivation, expected in rows:
            self.assertEqual(
                due_state(state, activation, deactivation, NOW), expected, (state, activation, deactivation)
            )


# -- the state machine, row by row, through the operations ----------------------------------------

_SUPERSEDED = RevocationReasonCode.SUPERSEDED
_COMPROMISE = RevocationReasonCode.KEY_COMPROMISE

#: (operation, extra payload, source state, expected target state or (1.x reason, 2.x reason))
ROWS: list[tuple[int, list[Item], State, Any]] = []
for _s in State:
    ROWS.append((Operation.ACTIVATE, [], _s, A if _s == P else (0x0C, 0x43)))
    ROWS.append((Operation.REVOKE, revocation(_COMPROMISE), _s, {P: C, A: C, D: C, X: XC}.get(_s, (0x0B, 0x43))))
    ROWS.append((Operation.REVOKE, revocation(_SUPERSEDED), _s, D if _s == A else (0x0B, 0x43)))
    ROWS.append((Operation.DESTROY, [], _s, {P: X, D: X, C: XC}.get(_s, (0x0C, 0x43) if _s == A else (0x0C, 0x36))))


class StateMachineOperationTests(_Base):
    """Each (operation, state) row gives the spec's next state or the spec's error per version."""

    def test_rows(self) -> None:
        """Every row of ROWS holds in KMIP 1.4 and 2.0."""
        for version in (V14, V20):
            for op, extra, source, expected in ROWS:
                if version < (2, 0) and source in (X, XC):
                    expected = (0x01, None)  # a destroyed object is gone for a 1.x client
                uid = new_object(self.store, state=source)
                result = self.call(op, uid_payload(uid, *extra), version)
                label = (version, Operation(op).name, source.name)
                if isinstance(expected, tuple):
                    self.assertFalse(result.ok, label)
                    self.assertEqual(result.reason, expected[0] if version < (2, 0) else expected[1], label)
                    self.assertEqual(fetch(self.store, uid).state, source, label)
                else:
                    self.assertTrue(result.ok, (label, result.message))
                    self.assertEqual(result.payload.get(Tag.UNIQUE_IDENTIFIER), uid)
                    self.assertEqual(fetch(self.store, uid).state, expected, label)


class ActivateTests(_Base):
    def test_sets_activation_and_last_change_date(self) -> None:
        """Activate records the Activation Date and Last Change Date as now."""
        uid = new_object(self.store)
        self.clock.advance(50)
        self.assertTrue(self.call(Operation.ACTIVATE, uid_payload(uid)).ok)
        obj = fetch(self.store, uid)
        self.assertEqual(obj.value("Activation Date"), NOW + 50)
        self.assertEqual(obj.value("Last Change Date"), NOW + 50)

    def test_past_deactivation_date_applies(self) -> None:
        """Activating an object whose Deactivation Date has passed leaves it Deactivated."""
        uid = new_object(self.store, attrs={"Deactivation Date": [Item.datetime(Tag.DEACTIVATION_DATE, NOW - 1)]})
        self.assertTrue(self.call(Operation.ACTIVATE, uid_payload(uid)).ok)
        self.assertEqual(fetch(self.store, uid).state, D)


    def test_stateless_object(self) -> None:
        """An object without a lifecycle cannot be activated: Illegal Operation / Invalid Object Type."""
        uid = new_object(self.store, state=None, object_type=ObjectType.OPAQUE_OBJECT)
        self.assertFailed(self.call(Operation.ACTIVATE, uid_payload(uid)), ResultReason.ILLEGAL_OPERATION)
        self.assertFailed(self.call(Operation.ACTIVATE, uid_payload(uid), V20), ResultReason.INVALID_OBJECT_TYPE)

    def test_not_found(self) -> None:
        """An unknown identifier is Item Not Found."""
        self.assertFailed(self.call(Operation.ACTIVATE, uid_payload("nope")), ResultReason.ITEM_NOT_FOUND)

    def test_other_owner(self) -> None:
        """Under the default policy only the owner may activate."""
        uid = new_object(self.store)
        self.assertFailed(self.call(Operation.ACTIVATE, uid_payload(uid), caller="bob"), ResultReason.PERMISSION_DENIED)
        self.assertEqual(fetch(self.store, uid).state, P)

    def test_archived(self) -> None:
        """An archived object is refused with Object Archived."""
        uid = new_object(self.store, archived=True)
        self.assertFailed(self.call(Operation.ACTIVATE, uid_payload(uid)), ResultReason.OBJECT_ARCHIVED)

    def test_id_placeholder(self) -> None:
        """Activate without a Unique Identifier uses the ID Placeholder of an earlier batch item."""
        uid = new_object(self.store)
        response = send(
            self.d,
            request(batch_item(Operation.OBTAIN_LEASE, uid_payload(uid)), batch_item(Operation.ACTIVATE, payload())),
            caller="alice",
        )
        self.assertEqual([r.ok for r in results(response)], [True, True])
        self.assertEqual(fetch(self.store, uid).state, A)

    def test_no_identifier(self) -> None:
        """Without identifier or placeholder the request lacks data."""
        self.assertFailed(self.call(Operation.ACTIVATE, payload()), ResultReason.MISSING_DATA)


class RevokeTests(_Base):
    def test_compromise_dates(self) -> None:
        """Key Compromise sets Compromise Date (now), the given occurrence date and the reason."""
        uid = new_object(self.store, state=A)
        self.assertTrue(self.call(Operation.REVOKE, uid_payload(uid, *revocation(_COMPROMISE, 6))).ok)
        obj = fetch(self.store, uid)
        self.assertEqual(obj.value("Compromise Date"), NOW)
        self.assertEqual(obj.value("Compromise Occurrence Date"), 6)
        self.assertEqual(obj.first("Revocation Reason").get(Tag.REVOCATION_REASON_CODE), _COMPROMISE)

    def test_compromise_occurrence_defaults_to_initial_date(self) -> None:
        """Without an occurrence date, Compromise Occurrence Date is the Initial Date."""
        uid = new_object(self.store, state=A)
        self.assertTrue(
            self.call(Operation.REVOKE, uid_payload(uid, *revocation(RevocationReasonCode.CA_COMPROMISE)), V20).ok
        )
        self.assertEqual(fetch(self.store, uid).value("Compromise Occurrence Date"), NOW - 1000)

    def test_other_reason_sets_deactivation_date(self) -> None:
        """A non-compromise reason deactivates with Deactivation Date = now."""
        uid = new_object(self.store, state=A)
        self.clock.advance(7)
        self.assertTrue(self.call(Operation.REVOKE, uid_payload(uid, *revocation(_SUPERSEDED))).ok)
        obj = fetch(self.store, uid)
        self.assertEqual((obj.state, obj.value("Deactivation Date")), (D, NOW + 7))

    def test_missing_reason(self) -> None:
        """A Revoke without Revocation Reason is Missing Data."""
        uid = new_object(self.store, state=A)
        self.assertFailed(self.call(Operation.REVOKE, uid_payload(uid)), ResultReason.MISSING_DATA)

    def test_unknown_reason(self) -> None:
        """An unrecognised Revocation Reason Code is Invalid Field."""
        uid = new_object(self.store, state=A)
        self.assertFailed(self.call(Operation.REVOKE, uid_payload(uid, *revocation(0x77))), ResultReason.INVALID_FIELD)

    def test_occurrence_with_other_reason(self) -> None:
        """A Compromise Occurrence Date with a non-compromise reason is Invalid Field."""
        uid = new_object(self.store, state=A)
        self.assertFailed(
            self.call(Operation.REVOKE, uid_payload(uid, *revocation(_SUPERSEDED, 5))), ResultReason.INVALID_FIELD
        )

    def test_stateless(self) -> None:
        """An object without a lifecycle cannot be revoked."""
        uid = new_object(self.store, state=None, object_type=ObjectType.OPAQUE_OBJECT)
        self.assertFailed(
            self.call(Operation.REVOKE, uid_payload(uid, *revocation(_COMPROMISE))), ResultReason.ILLEGAL_OPERATION
        )

    def test_archived_and_missing(self) -> None:
        """Archived objects and unknown identifiers are refused."""
        uid = new_object(self.store, state=A, archived=True)
        self.assertFailed(
            self.call(Operation.REVOKE, uid_payload(uid, *revocation(_COMPROMISE))), ResultReason.OBJECT_ARCHIVED
        )
        self.assertFailed(
            self.call(Operation.REVOKE, uid_payload("x", *revocation(_COMPROMISE))), ResultReason.ITEM_NOT_FOUND
        )


class DestroyTests(_Base):
    def test_keeps_metadata(self) -> None:
        """Destroy removes the key material but keeps the attributes, adding Destroy Date."""
        uid = new_object(self.store, name="k1")
        self.assertTrue(self.call(Operation.DESTROY, uid_payload(uid), V20).ok)
        obj = fetch(self.store, uid)
        self.assertIsNone(obj.material)
        self.assertEqual(obj.value("Destroy Date"), NOW)
        self.assertEqual(obj.first("Name"), name_item("k1"))

    def test_template_removed(self) -> None:
        """A Template is removed with its metadata."""
        uid = new_object(self.store, object_type=ObjectType.TEMPLATE, state=None)
        self.assertTrue(self.call(Operation.DESTROY, uid_payload(uid)).ok)
        self.assertIsNone(fetch(self.store, uid))

    def test_stateless_object(self) -> None:
        """An object without State is destroyed and marked Destroyed."""
        uid = new_object(self.store, object_type=ObjectType.OPAQUE_OBJECT, state=None)
        self.assertTrue(self.call(Operation.DESTROY, uid_payload(uid)).ok)
        obj = fetch(self.store, uid)
        self.assertEqual((obj.state, obj.material), (X, None))

    def test_errors(self) -> None:
        """Not found, other owner and archived objects are refused."""
        self.assertFailed(self.call(Operation.DESTROY, uid_payload("x")), ResultReason.ITEM_NOT_FOUND)
        uid = new_object(self.store)
        self.assertFailed(self.call(Operation.DESTROY, uid_payload(uid), caller="bob"), ResultReason.PERMISSION_DENIED)
        uid = new_object(self.store, archived=True)
        self.assertFailed(self.call(Operation.DESTROY, uid_payload(uid)), ResultReason.OBJECT_ARCHIVED)


def _attribute_1x(name: str, value: Item) -> Item:
    from kmipd.model.attributes import to_1x

    return to_1x(name, value)


class DestroyDeletesTests(_Base):
    """Destroy deletes the object for KMIP 1.x clients; 2.x clients see the retained metadata."""

    def destroyed(self, name: str = "gone") -> str:
        uid = new_object(self.store, name=name)
        self.assertTrue(self.call(Operation.DESTROY, uid_payload(uid)).ok)
        return uid

    def test_every_operation_item_not_found_1x(self) -> None:
        """After Destroy, every 1.x operation naming the object answers Item Not Found, but for
        reading its retained metadata (tests.operations.test_compatibility.DestroyedMetadataTests)."""
        uid = self.destroyed()
        name = _attribute_1x("Name", name_item("gone"))
        requests = [
            (Operation.GET, []), (Operation.ACTIVATE, []), (Operation.REVOKE, revocation(_COMPROMISE)),
            (Operation.REVOKE, revocation(_SUPERSEDED)), (Operation.DESTROY, []),
            (Operation.ADD_ATTRIBUTE, [_attribute_1x("Contact Information",
                                                     Item.text(Tag.CONTACT_INFORMATION, "x"))]),
            (Operation.MODIFY_ATTRIBUTE, [name]), (Operation.DELETE_ATTRIBUTE, [Item.text(Tag.ATTRIBUTE_NAME, "Name")]),
            (Operation.ENCRYPT, [Item.bytes(Tag.DATA, b"data")]), (Operation.CHECK, []),
            (Operation.OBTAIN_LEASE, []), (Operation.ARCHIVE, []), (Operation.RECOVER, []),
        ]
        for version in ((1, 0), (1, 2), V14):
            for op, extra in requests:
                if op == Operation.ENCRYPT and version < (1, 2):
                    continue  # Encrypt is KMIP 1.2+
                result = self.call(op, uid_payload(uid, *extra), version)
                self.assertEqual((result.ok, result.reason), (False, ResultReason.ITEM_NOT_FOUND),
                                 (version, Operation(op).name, result.message))

    def test_locate_does_not_find_it(self) -> None:
        """Locate (1.x, and 2.x without Destroyed Storage) no longer finds a destroyed object."""
        uid = self.destroyed("twice")
        alive = new_object(self.store, name="twice")
        by_name = _attribute_1x("Name", name_item("twice"))
        for version in ((1, 2), V14):
            found = self.call(Operation.LOCATE, payload(by_name), version).payload
            self.assertEqual([c.value for c in found.findall(Tag.UNIQUE_IDENTIFIER)], [alive])
        self.assertNotEqual(uid, alive)

    def test_name_free_again(self) -> None:
        """A destroyed object's Name may be given to a new object."""
        self.destroyed("reused")
        from .test_create import a_alg, a_len, a_mask, a_name, create

        result = create(self.d, [a_alg(3), a_len(128), a_mask(ENCRYPT_DECRYPT), a_name("reused")])
        self.assertTrue(result.ok, result.message)

    def test_2x_retains_metadata(self) -> None:
        """KMIP 2.x: the metadata is retained (its Destroy: "SHALL be retained"); a second Destroy
        answers Object Destroyed, Get answers Key Value Not Present."""
        uid = self.destroyed()
        obj = fetch(self.store, uid)
        self.assertEqual((obj.state, obj.material), (X, None))
        self.assertFailed(self.call(Operation.DESTROY, uid_payload(uid), V20), ResultReason.OBJECT_DESTROYED)
        self.assertFailed(self.call(Operation.GET, uid_payload(uid), V20), ResultReason.OBJECT_DESTROYED)
        attributes = self.call(Operation.GET_ATTRIBUTES, uid_payload(uid), V20)
        self.assertTrue(attributes.ok, attributes.message)
        self.assertEqual(attributes.payload.find(Tag.ATTRIBUTES).get(Tag.STATE), X)

    def test_audit_event(self) -> None:
        """Who destroyed which object and when is logged as a structured C{audit} event."""
        from twisted.logger import globalLogPublisher

        events: list[dict[str, Any]] = []
        observer = events.append
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        uid = self.destroyed("audited")
        audit = [e for e in events if e.get("audit") == "destroy"]
        self.assertEqual(len(audit), 1)
        self.assertEqual((audit[0]["uid"], audit[0]["identity"], audit[0]["names"], audit[0]["destroy_date"]),
                         (uid, "alice", ["audited"], NOW))
        self.assertEqual(audit[0]["object_type"], "Symmetric Key")



class ArchiveRecoverTests(_Base):
    def test_archive_and_recover(self) -> None:
        """Archive takes the object off-line (Archive Date); Recover brings it back."""
        uid = new_object(self.store)
        self.assertTrue(self.call(Operation.ARCHIVE, uid_payload(uid)).ok)
        with self.store.transaction() as tx:
            self.assertTrue(tx.is_archived(uid))
        self.assertEqual(fetch(self.store, uid).value("Archive Date"), NOW)
        self.assertFailed(self.call(Operation.ACTIVATE, uid_payload(uid)), ResultReason.OBJECT_ARCHIVED)
        self.assertFailed(self.call(Operation.ARCHIVE, uid_payload(uid)), ResultReason.OBJECT_ARCHIVED)
        self.assertTrue(self.call(Operation.RECOVER, uid_payload(uid), V20).ok)
        with self.store.transaction() as tx:
            self.assertFalse(tx.is_archived(uid))
        self.assertTrue(self.call(Operation.ACTIVATE, uid_payload(uid)).ok)

    def test_recover_online(self) -> None:
        """Recover of an on-line object succeeds and changes nothing."""
        uid = new_object(self.store)
        result = self.call(Operation.RECOVER, uid_payload(uid))
        self.assertEqual(result.payload.get(Tag.UNIQUE_IDENTIFIER), uid)
        self.assertEqual(fetch(self.store, uid).value("Last Change Date"), NOW - 1000)

    def test_errors(self) -> None:
        """Unknown identifiers and other owners are refused."""
        self.assertFailed(self.call(Operation.ARCHIVE, uid_payload("x")), ResultReason.ITEM_NOT_FOUND)
        self.assertFailed(self.call(Operation.RECOVER, uid_payload("x")), ResultReason.ITEM_NOT_FOUND)
        uid = new_object(self.store)
        self.assertFailed(self.call(Operation.ARCHIVE, uid_payload(uid), caller="bob"), ResultReason.PERMISSION_DENIED)


def _limits(total: int, count: int | None = None) -> Item:
    return Item.struct(
        Tag.USAGE_LIMITS,
        [
            Item.long(Tag.USAGE_LIMITS_TOTAL, total),
            Item.long(Tag.USAGE_LIMITS_COUNT, total if count is None else count),
            Item.enum(Tag.USAGE_LIMITS_UNIT, 2),
        ],
    )


class CheckTests(_Base):
    def test_allowed(self) -> None:
        """A permitted check returns the Unique Identifier (1.x and 2.x)."""
        uid = new_object(self.store, state=A, attrs={"Usage Limits": [_limits(100)]})
        body = uid_payload(
            uid,
            Item.long(Tag.USAGE_LIMITS_COUNT, 50),
            Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, 0x04),
            Item.interval(Tag.LEASE_TIME, 60),
        )
        for version in (V14, V20):
            result = self.call(Operation.CHECK, body, version)
            self.assertTrue(result.ok, result.message)
            self.assertEqual([c.tag for c in result.payload.value], [Tag.UNIQUE_IDENTIFIER])

    def test_refusals(self) -> None:
        """Too many units, a usage the mask forbids or too long a lease is Permission Denied."""
        uid = new_object(self.store, state=A, attrs={"Usage Limits": [_limits(100, 10)]})
        for extra in (
            Item.long(Tag.USAGE_LIMITS_COUNT, 11),
            Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, 0x01),
            Item.interval(Tag.LEASE_TIME, 7200),
        ):
            result = self.call(Operation.CHECK, uid_payload(uid, extra))
            self.assertFailed(result, ResultReason.PERMISSION_DENIED)

    def test_destroyed(self) -> None:
        """Check on a destroyed object: Item Not Found in 1.x (it is gone), Wrong Key Lifecycle
        State in 2.x (which retains it)."""
        uid = new_object(self.store, state=X)
        self.assertFailed(self.call(Operation.CHECK, uid_payload(uid)), ResultReason.ITEM_NOT_FOUND)
        self.assertFailed(self.call(Operation.CHECK, uid_payload(uid), V20), ResultReason.WRONG_KEY_LIFECYCLE_STATE)

    def test_not_found_archived(self) -> None:
        """Unknown and archived objects are refused."""
        self.assertFailed(self.call(Operation.CHECK, uid_payload("x")), ResultReason.ITEM_NOT_FOUND)
        uid = new_object(self.store, archived=True)
        self.assertFailed(self.call(Operation.CHECK, uid_payload(uid)), ResultReason.OBJECT_ARCHIVED)


class ObtainLeaseTests(_Base):
    def test_default_lease(self) -> None:
        """The default lease is 3600 s and the response carries the Last Change Date."""
        uid = new_object(self.store, state=A)
        for version in (V14, V20):
            result = self.call(Operation.OBTAIN_LEASE, uid_payload(uid), version)
            self.assertEqual(
                [(c.tag, c.value) for c in result.payload.value],
                [(Tag.UNIQUE_IDENTIFIER, uid), (Tag.LEASE_TIME, 3600), (Tag.LAST_CHANGE_DATE, NOW - 1000)],
            )

    def test_configured_and_object_lease(self) -> None:
        """The service's lease_time applies unless the object has its own Lease Time."""
        self.d.service.settings = Settings(lease_time=60)
        uid = new_object(self.store)
        self.assertEqual(self.call(Operation.OBTAIN_LEASE, uid_payload(uid)).payload.get(Tag.LEASE_TIME), 60)
        uid = new_object(self.store, attrs={"Lease Time": [Item.interval(Tag.LEASE_TIME, 5)]})
        self.assertEqual(self.call(Operation.OBTAIN_LEASE, uid_payload(uid)).payload.get(Tag.LEASE_TIME), 5)

    def test_refused(self) -> None:
        """No lease for destroyed objects; unknown and archived objects are refused."""
        uid = new_object(self.store, state=X)
        self.assertFailed(self.call(Operation.OBTAIN_LEASE, uid_payload(uid)), ResultReason.ITEM_NOT_FOUND)
        self.assertFailed(self.call(Operation.OBTAIN_LEASE, uid_payload(uid), V20), ResultReason.PERMISSION_DENIED)
        self.assertFailed(self.call(Operation.OBTAIN_LEASE, uid_payload("x")), ResultReason.ITEM_NOT_FOUND)
        uid = new_object(self.store, archived=True)
        self.assertFailed(self.call(Operation.OBTAIN_LEASE, uid_payload(uid)), ResultReason.OBJECT_ARCHIVED)


class GetUsageAllocationTests(_Base):
    def test_allocates(self) -> None:
        """The allocation is taken from Usage Limits Count (1.x and 2.x)."""
        uid = new_object(self.store, state=A, attrs={"Usage Limits": [_limits(100)]})
        self.assertTrue(
            self.call(Operation.GET_USAGE_ALLOCATION, uid_payload(uid, Item.long(Tag.USAGE_LIMITS_COUNT, 30))).ok
        )
        self.assertTrue(
            self.call(Operation.GET_USAGE_ALLOCATION, uid_payload(uid, Item.long(Tag.USAGE_LIMITS_COUNT, 20)), V20).ok
        )
        limits = fetch(self.store, uid).first("Usage Limits")
        self.assertEqual(
            [(c.tag, c.value) for c in limits.value],
            [(Tag.USAGE_LIMITS_TOTAL, 100), (Tag.USAGE_LIMITS_COUNT, 50), (Tag.USAGE_LIMITS_UNIT, 2)],
        )

    def test_errors(self) -> None:
        """Missing count, no Usage Limits, wrong state and too large a request are refused per version."""
        uid = new_object(self.store, state=A, attrs={"Usage Limits": [_limits(10)]})
        self.assertFailed(self.call(Operation.GET_USAGE_ALLOCATION, uid_payload(uid)), ResultReason.INVALID_MESSAGE)
        big = Item.long(Tag.USAGE_LIMITS_COUNT, 11)
        self.assertFailed(
            self.call(Operation.GET_USAGE_ALLOCATION, uid_payload(uid, big)), ResultReason.PERMISSION_DENIED
        )
        self.assertFailed(
            self.call(Operation.GET_USAGE_ALLOCATION, uid_payload(uid, big), V20), ResultReason.USAGE_LIMIT_EXCEEDED
        )
        one = Item.long(Tag.USAGE_LIMITS_COUNT, 1)
        plain = new_object(self.store, state=A)
        self.assertFailed(
            self.call(Operation.GET_USAGE_ALLOCATION, uid_payload(plain, one)), ResultReason.ILLEGAL_OPERATION
        )
        self.assertFailed(
            self.call(Operation.GET_USAGE_ALLOCATION, uid_payload(plain, one), V20), ResultReason.ATTRIBUTE_NOT_FOUND
        )
        pre = new_object(self.store, state=P, attrs={"Usage Limits": [_limits(10)]})
        self.assertFailed(
            self.call(Operation.GET_USAGE_ALLOCATION, uid_payload(pre, one)), ResultReason.ILLEGAL_OPERATION
        )
        self.assertFailed(self.call(Operation.GET_USAGE_ALLOCATION, uid_payload("x", one)), ResultReason.ITEM_NOT_FOUND)


class DateDrivenTests(_Base):
    def test_activation_date_reached(self) -> None:
        """A future Activation Date takes effect once the clock reaches it (applied on access)."""
        uid = new_object(self.store, attrs={"Activation Date": [Item.datetime(Tag.ACTIVATION_DATE, NOW + 100)]})
        self.assertTrue(self.call(Operation.CHECK, uid_payload(uid)).ok)
        self.assertEqual(fetch(self.store, uid).state, P)
        self.clock.advance(100)
        self.assertTrue(self.call(Operation.CHECK, uid_payload(uid)).ok)
        self.assertEqual(fetch(self.store, uid).state, A)

    def test_deactivation_date_reached(self) -> None:
        """An Active object with a reached Deactivation Date is Deactivated, so Destroy succeeds."""
        uid = new_object(
            self.store, state=A, attrs={"Deactivation Date": [Item.datetime(Tag.DEACTIVATION_DATE, NOW + 10)]}
        )
        self.assertFailed(self.call(Operation.DESTROY, uid_payload(uid)), ResultReason.PERMISSION_DENIED)
        self.clock.advance(10)
        self.assertTrue(self.call(Operation.DESTROY, uid_payload(uid)).ok)
        self.assertEqual(fetch(self.store, uid).state, X)


class SQLiteLifecycleTests(SynchronousTestCase):
    """The lifecycle on the SQL store (SQLite)."""

    def test_full_lifecycle(self) -> None:
        """Activate, revoke, destroy, archive and recover work against SQLite."""
        store = sqlite_store(self)
        d = make_processor(store, clock=FakeClock(NOW))
        uid = new_object(store)
        for op, extra in (
            (Operation.ACTIVATE, []),
            (Operation.REVOKE, revocation(_SUPERSEDED)),
            (Operation.ARCHIVE, []),
            (Operation.RECOVER, []),
            (Operation.DESTROY, []),
        ):
            result = call(d, op, uid_payload(uid, *extra), caller="alice")
            self.assertTrue(result.ok, (Operation(op).name, result.message))
        obj = fetch(store, uid)
        self.assertEqual((obj.state, obj.material, obj.value("Destroy Date")), (X, None, NOW))
