"""The payload schemas: checked against the spec's tables, and enforced for every operation.

Two halves:
 - L{SpecTableTests} reads the "<Operation> Request Payload" table of each of the seven spec texts
   (with tools/gen_spec.py's table reader) and compares it, field by field (tag, REQUIRED, MAY be
   repeated), with the compiled schema kmipd enforces; every difference is listed in
   C{KNOWN_DIFFERENCES} with its reason.
 - L{EnforcementTests} sends, for every registered operation in every version that offers it, a
   request with an unknown field, a repeated single-valued field, a missing REQUIRED field and a
   mistyped field through the dispatcher, and checks the Result Reason.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from kmipd.errors import InvalidField, InvalidMessage, MissingData
from kmipd.messages import SUPPORTED_VERSIONS
from kmipd.messages.payloads import SCHEMAS, TABLE, request_fields_rows
from kmipd.messages.schema import Compiled, Field, OneOf, PayloadSchema, SchemaTable, check, compile_shape
from kmipd.operations.registry import REGISTRY
from kmipd.spec import Operation, ResultReason, Tag, tag_from_name
from kmipd.testing import call, make_dispatcher, payload
from kmipd.ttlv import Item, ItemType

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_GENERATOR = os.path.join(_REPO, "tools", "gen_spec.py")

V10, V12, V13, V14, V20, V21 = (1, 0), (1, 2), (1, 3), (1, 4), (2, 0), (2, 1)
GROUP = "managed object"

#: (operation, tag or GROUP, first version, last version) -> why kmipd's schema differs from the table.
KNOWN_DIFFERENCES: dict[tuple[int, Any, tuple[int, int], tuple[int, int]], str] = {
    (Operation.DERIVE_KEY, Tag.UNIQUE_IDENTIFIER, V10, V21):
        "REQUIRED in the table, but the ID Placeholder stands in for it (as for every other operation)",
    (Operation.HASH, Tag.CRYPTOGRAPHIC_PARAMETERS, V12, V21):
        "REQUIRED for a single-part request only; a continuation names its stream by Correlation Value",
    (Operation.REGISTER, GROUP, V10, V11 := (1, 1)):
        "1.0/1.1 tables say 'No' for the object, which Register cannot do without (1.2+ say Yes)",
    (Operation.LOCATE, Tag.OFFSET_ITEMS, V10, V12):
        "kmipd.compat pykmip-locate-offset-items: a later field with one meaning, accepted early",
    (Operation.LOCATE, Tag.TEMPLATE_ATTRIBUTE, V10, V14):
        "kmipd.compat fortios-locate-template-attribute: criteria wrapped in a Template-Attribute",
    (Operation.GET, Tag.KEY_WRAP_TYPE, V10, V13):
        "a later field with one meaning (1.4 Key Wrap Type), accepted early",
}


#: (operation, version) offered without a payload table in that version's spec text.
NO_TABLE = {
    (Operation.HASH, V12): "the 1.2 enumeration has Hash, its payload table arrives in 1.3 (same as 1.3's)",
    **{(Operation.CERTIFY, v): "every version prints the Certify request table without its box (1.x rows: "
                               "Unique Identifier, Certificate Request Type, Certificate Request, "
                               "Template-Attribute; 2.x: Certificate Request Value, Attributes, Protection "
                               "Storage Masks instead; none REQUIRED)"
       for v in ((1, 0), (1, 1), (1, 2), (1, 3), (1, 4), (2, 0), (2, 1))},
    (Operation.IMPORT, V14): "the 1.4 Import tables are captioned Export Request/Response Payload (Tables 253/254); "
                             "the Import schema follows that table's rows (4.41)",
}


def _load_generator() -> Any:
    name = "_kmipd_gen_spec_schema"
    if name in sys.modules:
        return sys.modules[name]
    modspec = importlib.util.spec_from_file_location(name, _GENERATOR)
    assert modspec is not None and modspec.loader is not None
    module = importlib.util.module_from_spec(modspec)
    sys.modules[name] = module
    modspec.loader.exec_module(module)
    return module


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


_OPERATION_BY_NORM = {_norm(op.name): int(op) for op in Operation}


def _field_of(name: str) -> Any:
    """A table row's field: its tag, or GROUP for the object-of-any-type row."""
    base = name.split(", see")[0].split(" see ")[0].strip().rstrip(",")
    if "Symmetric Key" in base and "Certificate" in base or base.startswith("Any Object"):
        return GROUP
    tag = tag_from_name(base)
    if tag is None:
        raise AssertionError(f"table row {name!r} names no tag")
    return tag


def _required(text: str) -> bool:
    """A REQUIRED cell: Yes (also "Yes, MAY be repeated"); conditional Yes ("for single-part") is No."""
    t = text.lower()
    return t.startswith("yes") and "single-part" not in t


def _repeat(text: str) -> bool:
    return "repeat" in text.lower()


def spec_request_tables() -> dict[tuple[int, tuple[int, int]], set[tuple[Any, bool, bool]]]:
    """(operation, version) -> {(field, required, repeated)} from the spec texts."""
    gen = _load_generator()
    out: dict[tuple[int, tuple[int, int]], set[tuple[Any, bool, bool]]] = {}
    for version in gen.VERSIONS:
        with open(os.path.join(gen.DEFAULT_SPEC_DIR, gen.SPEC_FILES[version]), encoding="utf-8") as f:
            text = f.read()
        for table in gen.read_tables(text):
            m = re.match(r"Table \d+: (.*) Request Payload$", table.caption)
            if not m:
                continue
            op = _OPERATION_BY_NORM.get(_norm(m.group(1)))
            if op is None or op not in SCHEMAS or (op, version) in out:
                continue  # the first table of that name (1.4 captions Import's tables Export)
            rows = [r for r in table.rows if len(r) >= 2 and r[0] and r[0] not in ("Object", "Item")
                    and "Payload" not in r[0]]
            out[(op, version)] = {(_field_of(r[0]), _required(r[1]), _repeat(r[1])) for r in rows}
    return out


def kmipd_fields(shape: Compiled) -> set[tuple[Any, bool, bool]]:
    """{(field, required, repeated)} of a compiled shape (a OneOf group counts as GROUP)."""
    required = {tags[0] if len(tags) == 1 else GROUP for tags, _, _ in shape.required}
    out = set()
    for tag, slot in shape.slots.items():
        name = GROUP if slot.group >= 0 else tag
        out.add((name, name in required, slot.repeat))
    return out


def _known(op: int, field: Any, version: tuple[int, int]) -> bool:
    return any(o == op and f == field and lo <= version <= hi for (o, f, lo, hi) in KNOWN_DIFFERENCES)


class SpecTableTests(SynchronousTestCase):
    """Every request schema matches the spec's payload table, version by version."""

    def setUp(self) -> None:
        gen = _load_generator()
        if not os.path.isdir(gen.DEFAULT_SPEC_DIR):
            raise self.skipTest(f"spec texts not found at {gen.DEFAULT_SPEC_DIR}")
        self.tables = spec_request_tables()

    def test_every_operation_has_tables(self) -> None:
        """Each registered operation's request table is found in every version that offers it."""
        for op, entry in REGISTRY.items():
            for version in SUPPORTED_VERSIONS:
                if entry.available_in(version) and (op, version) not in NO_TABLE:
                    self.assertIn((op, version), self.tables, f"{Operation(op).name} {version}")

    def test_schemas_match_tables(self) -> None:
        """Tag, REQUIRED and MAY-be-repeated agree with the table, except the listed differences."""
        compared, problems = 0, []
        for (op, version), spec_fields in sorted(self.tables.items()):
            entry = REGISTRY.get(op)
            if entry is None or not entry.available_in(version):
                continue
            ours = kmipd_fields(TABLE.request_shape(op, version))  # type: ignore[arg-type]
            for field in {f for f, _, _ in spec_fields} | {f for f, _, _ in ours}:
                want = {x for x in spec_fields if x[0] == field}
                have = {x for x in ours if x[0] == field}
                if want != have and not _known(op, field, version):
                    problems.append(f"{Operation(op).name} {version}: spec {want} but kmipd {have}")
            compared += 1
        self.assertEqual(problems, [])
        self.assertGreaterEqual(compared, 150)

    def test_known_differences_are_real(self) -> None:
        """Each listed difference is one (a stale entry is removed, not kept)."""
        for (op, field, lo, hi) in KNOWN_DIFFERENCES:
            differs = False
            for version in SUPPORTED_VERSIONS:
                if not lo <= version <= hi or (op, version) not in self.tables:
                    continue
                spec_fields = {x for x in self.tables[(op, version)] if x[0] == field}
                ours = {x for x in kmipd_fields(TABLE.request_shape(op, version)) if x[0] == field}  # type: ignore[arg-type]
                differs = differs or spec_fields != ours
            self.assertTrue(differs, f"{Operation(op).name} {field}: no difference left")


# ---------------------------------------------------------------------------------------------
# Enforcement

_SAMPLES: dict[int, Any] = {
    ItemType.INTEGER: 1, ItemType.LONG_INTEGER: 1, ItemType.BIG_INTEGER: 1, ItemType.ENUMERATION: 1,
    ItemType.BOOLEAN: True, ItemType.TEXT_STRING: "x", ItemType.BYTE_STRING: b"x", ItemType.DATE_TIME: 0,
    ItemType.INTERVAL: 1, ItemType.DATE_TIME_EXTENDED: 0,
}


def sample(tag: int, shape: Compiled) -> Item:
    """A value for C{tag} that satisfies C{shape}'s slot for it (structures: their required fields)."""
    slot = shape.slots[tag]
    kind = min(slot.types)
    if kind == ItemType.STRUCTURE:
        children = []
        if slot.nested is not None:
            children = [sample(tags[0], slot.nested) for tags, _, _ in slot.nested.required]
        return Item(tag, ItemType.STRUCTURE, children)
    return Item(tag, kind, _SAMPLES[kind])


def required_items(shape: Compiled, without: int | None = None) -> list[Item]:
    """One valid item per required field of C{shape} (all but the C{without}-th)."""
    return [sample(tags[0], shape) for i, (tags, _, _) in enumerate(shape.required) if i != without]


def wrong_type(types: frozenset[int]) -> Item:
    kind = ItemType.TEXT_STRING if ItemType.TEXT_STRING not in types else ItemType.INTEGER
    return Item(0, kind, _SAMPLES[kind])


_REASON = {InvalidField: ResultReason.INVALID_FIELD, InvalidMessage: ResultReason.INVALID_MESSAGE,
           MissingData: ResultReason.MISSING_DATA}


class EnforcementTests(SynchronousTestCase):
    """For every operation and version: unknown, repeated, missing and mistyped fields are refused."""

    def setUp(self) -> None:
        self.d = make_dispatcher()
        self.counts = {"unknown": 0, "repeated": 0, "missing": 0, "mistyped": 0}

    def cases(self):
        for op, entry in sorted(REGISTRY.items()):
            for version in SUPPORTED_VERSIONS:
                if entry.available_in(version):
                    yield op, version, TABLE.request_shape(op, version)

    def refused(self, op: int, version: tuple[int, int], body: list[Item], reason: int, what: str) -> None:
        r = call(self.d, op, payload(*body), version=version)
        self.assertEqual((r.status, r.reason), (1, reason),
                         f"{Operation(op).name} {version} {what}: {r.reason} {r.message}")
        self.assertIsNone(r.payload)

    def test_unknown_field(self) -> None:
        """A field the payload does not define in that version: Invalid Field."""
        for op, version, shape in self.cases():
            body = [*required_items(shape), Item.int(Tag.BATCH_COUNT, 1)]
            self.refused(op, version, body, ResultReason.INVALID_FIELD, "unknown field")
            self.counts["unknown"] += 1
        self.assertEqual(self.counts["unknown"], sum(1 for _ in self.cases()))

    def test_repeated_single_field(self) -> None:
        """A single-valued field given twice: Invalid Message (for every operation with one)."""
        ops, only_repeated = set(), set()
        for op, version, shape in self.cases():
            single = [t for t, s in shape.slots.items() if not s.repeat and s.group < 0]
            if not single:
                only_repeated.add(op)  # Discover Versions: Protocol Version MAY be repeated; Ping and
                continue  # Get Constraints have empty request payloads
            tag = single[0]
            body = [i for i in required_items(shape) if i.tag != tag] + [sample(tag, shape), sample(tag, shape)]
            self.refused(op, version, body, ResultReason.INVALID_MESSAGE, f"repeated {Tag(tag).name}")
            ops.add(op)
        self.assertEqual(ops | only_repeated, set(REGISTRY))
        self.assertEqual(only_repeated - ops, {Operation.DISCOVER_VERSIONS, Operation.GET_CONSTRAINTS, Operation.PING})

    def test_missing_required_field(self) -> None:
        """Each REQUIRED field left out: its error (Missing Data unless the spec names another)."""
        ops = set()
        for op, version, shape in self.cases():
            for i, (_tags, label, error) in enumerate(shape.required):
                # 2.x tables list no Missing Data: KMIP 2.x answers Invalid Field for it
                reason = ResultReason.INVALID_FIELD if error is MissingData and version >= (2, 0) else _REASON[error]
                self.refused(op, version, required_items(shape, without=i), reason, f"missing {label}")
                ops.add(op)
        without = {op for op, s in SCHEMAS.items() if not any(
            getattr(f, "required", False) for f in s.request)}
        self.assertEqual(ops | without, set(REGISTRY))

    def test_mistyped_field(self) -> None:
        """Every field of every payload, sent with a wrong item type: Invalid Field, never a crash."""
        for op, version, shape in self.cases():
            for tag, slot in shape.slots.items():
                bad = wrong_type(slot.types)
                bad.tag = tag
                body = [i for i in required_items(shape) if i.tag != tag and not (
                    slot.group >= 0 and shape.slots[i.tag].group == slot.group)] + [bad]
                self.refused(op, version, body, ResultReason.INVALID_FIELD, f"mistyped {Tag(tag).name}")
                self.counts["mistyped"] += 1
        self.assertGreater(self.counts["mistyped"], 500)

    def test_nested_shapes(self) -> None:
        """Nested structures are checked too: an unknown, repeated or mistyped field inside one."""
        reason = Item.struct(Tag.REVOCATION_REASON, [Item.enum(Tag.REVOCATION_REASON_CODE, 1),
                                                     Item.text(Tag.NAME_VALUE, "?")])
        self.refused(Operation.REVOKE, V14, [reason], ResultReason.INVALID_FIELD, "unknown nested")
        reason = Item.struct(Tag.REVOCATION_REASON, [Item.enum(Tag.REVOCATION_REASON_CODE, 1),
                                                     Item.enum(Tag.REVOCATION_REASON_CODE, 1)])
        self.refused(Operation.REVOKE, V14, [reason], ResultReason.INVALID_MESSAGE, "repeated nested")
        reason = Item.struct(Tag.REVOCATION_REASON, [Item.bytes(Tag.REVOCATION_REASON_CODE, b"\x01")])
        self.refused(Operation.REVOKE, V21, [reason], ResultReason.INVALID_FIELD, "mistyped nested")
        params = Item.struct(Tag.CRYPTOGRAPHIC_PARAMETERS, [Item.text(Tag.BLOCK_CIPHER_MODE, "CBC")])
        self.refused(Operation.ENCRYPT, V14, [params, Item.bytes(Tag.DATA, b"x")], ResultReason.INVALID_FIELD,
                     "mistyped Cryptographic Parameters field")
        secret = Item.struct(Tag.SECRET_DATA, [Item.struct(Tag.KEY_BLOCK, [])])  # no Secret Data Type
        self.refused(Operation.REGISTER, V21, [Item.enum(Tag.OBJECT_TYPE, 7), Item.struct(Tag.ATTRIBUTES, []),
                                               secret], ResultReason.INVALID_FIELD, "object without its type")
        certificate = Item.struct(Tag.CERTIFICATE, [Item.enum(Tag.CERTIFICATE_TYPE, 1),
                                                    Item.text(Tag.CERTIFICATE_VALUE, "PEM?")])
        self.refused(Operation.REGISTER, V14, [Item.enum(Tag.OBJECT_TYPE, 1), Item.struct(Tag.TEMPLATE_ATTRIBUTE, []),
                                               certificate], ResultReason.INVALID_FIELD, "mistyped Certificate Value")
        template = Item.struct(Tag.TEMPLATE_ATTRIBUTE, [Item.text(Tag.ATTRIBUTE_NAME, "x")])
        self.refused(Operation.CREATE, V12, [Item.enum(Tag.OBJECT_TYPE, 2), template], ResultReason.INVALID_FIELD,
                     "Template-Attribute holding a bare Attribute Name")

    def test_newer_minor_version_fields_ignored(self) -> None:
        """A 2.2 request (answered in 2.1) may carry fields kmipd does not know: ignored (spec 11.1);
        the same request made in 2.1 is refused."""
        body = [Item.enum(Tag.QUERY_FUNCTION, 1), Item.int(Tag.BATCH_COUNT, 7)]
        self.assertEqual(call(self.d, Operation.QUERY, payload(*body), version=(2, 1)).reason,
                         ResultReason.INVALID_FIELD)
        r = call(self.d, Operation.QUERY, payload(*body), version=(2, 2))
        self.assertTrue(r.ok, r)
        # repeated and mistyped fields are still refused
        r = call(self.d, Operation.QUERY, payload(Item.text(Tag.QUERY_FUNCTION, "x")), version=(2, 2))
        self.assertEqual(r.reason, ResultReason.INVALID_FIELD)

    def test_byte_string_for_enumeration_is_invalid_field(self) -> None:
        """Issue 11 item 5: a Byte String where an enumeration is expected is Invalid Field, no traceback."""
        r = call(self.d, Operation.GET, payload(Item.text(Tag.UNIQUE_IDENTIFIER, "1"),
                                                Item.bytes(Tag.KEY_FORMAT_TYPE, b"\x01")), version=V14)
        self.assertEqual(r.reason, ResultReason.INVALID_FIELD)
        self.flushLoggedErrors()
        r = call(self.d, Operation.CREATE, payload(Item.enum(Tag.OBJECT_TYPE, 2),
                                                   Item.text(Tag.TEMPLATE_ATTRIBUTE, "t")), version=V14)
        self.assertEqual(r.reason, ResultReason.INVALID_FIELD)
        self.assertEqual(self.flushLoggedErrors(), [])


class ResponseShapeTests(SynchronousTestCase):
    """kmipd's successful responses have the fields the response schemas (and so the spec) give."""

    def setUp(self) -> None:
        from kmipd import processor

        self.checked: list[tuple[int, tuple[int, int]]] = []
        self.problems: list[str] = []
        original = processor.Processor._run_item

        def checking(dispatcher: Any, ctx: Any, item: Any, tx: Any, isolate: bool) -> Any:
            result = original(dispatcher, ctx, item, tx, isolate)
            # Poll answers with the polled operation's own payload (2.1 6.1.38): not Poll's shape.
            if result.status == 0 and result.payload is not None and item.operation != Operation.POLL:
                shape = TABLE.response_shape(item.operation, ctx.version)
                assert shape is not None
                try:
                    check(shape, result.payload, f"{Operation(item.operation).name} response", ctx.version)
                    self.checked.append((item.operation, ctx.version))
                except (InvalidField, InvalidMessage, MissingData) as e:
                    self.problems.append(e.message)
            return result

        self.patch(processor.Processor, "_run_item", checking)

    def test_conformance_vectors(self) -> None:
        """Every successful response while replaying the OASIS vectors (1.0-1.4) and kmipd's 2.x
        conversations (tests/conformance/v2) fits its schema."""
        from tests.conformance import runner
        from tests.conformance.test_conformance import DIRECTORIES, ROOT, V2_DIR

        if not os.path.isdir(os.path.join(ROOT, DIRECTORIES[0])):
            raise self.skipTest(f"conformance vectors not found at {ROOT}")
        for directory in [os.path.join(ROOT, rel) for rel in DIRECTORIES] + [V2_DIR]:
            for name in runner.vector_files(directory):
                runner.replay_kmipd(directory, name)
        self.assertEqual(self.problems, [])
        self.assertGreater(len(self.checked), 1000)
        self.assertGreaterEqual(len({op for op, _ in self.checked}), 20)

    def test_2x_flow(self) -> None:
        """A 2.0 and 2.1 key's life: each response fits its schema."""
        from tests.operations.test_create import aes_attrs, create, get_attributes, get_key, uid_payload

        d = make_dispatcher()
        for version in (V20, V21):
            uid = create(d, aes_attrs(128), version=version).payload.get(Tag.UNIQUE_IDENTIFIER)  # type: ignore[union-attr]
            get_key(d, uid, version=version)
            get_attributes(d, uid, version=version)
            for op in (Operation.GET_ATTRIBUTE_LIST, Operation.ACTIVATE, Operation.OBTAIN_LEASE, Operation.CHECK):
                call(d, op, uid_payload(uid), version=version, caller="alice")
            call(d, Operation.ENCRYPT, uid_payload(uid, Item.bytes(Tag.DATA, b"0123456789abcdef")),
                 version=version, caller="alice")
            call(d, Operation.LOCATE, payload(Item.struct(Tag.ATTRIBUTES, [])), version=version, caller="alice")
            call(d, Operation.QUERY, payload(Item.enum(Tag.QUERY_FUNCTION, 1), Item.enum(Tag.QUERY_FUNCTION, 3)),
                 version=version)
            call(d, Operation.DISCOVER_VERSIONS, payload(), version=version)
            call(d, Operation.RNG_RETRIEVE, payload(Item.int(Tag.DATA_LENGTH, 8)), version=version)
            call(d, Operation.REVOKE, uid_payload(uid, Item.struct(Tag.REVOCATION_REASON, [
                Item.enum(Tag.REVOCATION_REASON_CODE, 2)])), version=version, caller="alice")
            call(d, Operation.DESTROY, uid_payload(uid), version=version, caller="alice")
        self.assertEqual(self.problems, [])
        self.assertGreaterEqual(len(self.checked), 26)


class DocsTests(SynchronousTestCase):
    """docs/operations.md's request field table is the schemas' (for the versions each operation has)."""

    def test_request_fields_table(self) -> None:
        """The rows between the markers are exactly L{request_fields_rows} for the registry."""
        with open(os.path.join(_REPO, "docs", "operations.md"), encoding="utf-8") as f:
            text = f.read()
        block = text.split("<!-- request-fields:", 1)[1].split("<!-- end request-fields -->", 1)[0]
        documented = [line for line in block.splitlines() if line.startswith("| ") and "Request fields" not in line]
        offered = {op: [v for v in sorted(SUPPORTED_VERSIONS) if e.available_in(v)] for op, e in REGISTRY.items()}
        self.assertEqual(documented, request_fields_rows(offered))


class MachineryTests(SynchronousTestCase):
    """L{kmipd.messages.schema} itself."""

    def test_later_field_accepted_early_only_when_marked(self) -> None:
        """An C{early} field is accepted before its version; an unmarked one is not."""
        early = compile_shape((Field(Tag.OFFSET_ITEMS, early=True),), V12)
        plain = compile_shape((Field(Tag.OFFSET_ITEMS),), V12)
        item = Item.struct(Tag.REQUEST_PAYLOAD, [Item.int(Tag.OFFSET_ITEMS, 1)])
        check(early, item, "test", V12)
        self.assertRaises(InvalidField, check, plain, item, "test", V12)

    def test_one_of(self) -> None:
        """A OneOf group: one member required, two different members refused."""
        shape = compile_shape((OneOf("thing", (Field(Tag.SYMMETRIC_KEY), Field(Tag.SECRET_DATA)), required=True),),
                              V14)
        self.assertRaises(MissingData, check, shape, Item.struct(Tag.REQUEST_PAYLOAD, []), "test", V14)
        both = Item.struct(Tag.REQUEST_PAYLOAD, [Item.struct(Tag.SYMMETRIC_KEY, []), Item.struct(Tag.SECRET_DATA, [])])
        self.assertRaises(InvalidField, check, shape, both, "test", V14)

    def test_absent_payload_checked_as_empty(self) -> None:
        """No payload at all is an empty one: required fields are still required."""
        table = SchemaTable({1: PayloadSchema(request=(Field(Tag.OBJECT_TYPE, required=True),))}, {1: "Create"})
        self.assertRaises(MissingData, table.check_request, 1, V14, None)
        self.assertEqual(table.check_request(2, V14, None).value, [])

    def test_compiled_once(self) -> None:
        """Shapes are compiled once per (operation, version) (the Get hot path does a dict lookup)."""
        self.assertIs(TABLE.request_shape(Operation.GET, V14), TABLE.request_shape(Operation.GET, V14))

    def test_every_registered_operation_has_a_schema(self) -> None:
        """The registry names a schema for each of its operations (34 today)."""
        for op, entry in REGISTRY.items():
            self.assertIs(entry.schema, SCHEMAS[op])
        self.assertGreaterEqual(len(REGISTRY), 34)
