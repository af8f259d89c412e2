"""Tests for L{kmipd.operations.discovery}: DiscoverVersions and Query in 1.x and 2.x."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd.context import RequestContext
from kmipd.messages import SUPPORTED_VERSIONS, parse_version, version_item
from kmipd.operations.discovery import discover_versions, query
from kmipd.operations.registry import REGISTRY
from kmipd.spec import (
    ObjectType,
    Operation,
    ProtectionStorageMask,
    QueryFunction,
    ResultReason,
    Tag,
    enum_value_in_version,
    tag_in_version,
)
from kmipd.testing import call, make_processor, payload
from kmipd.ttlv import Item


def versions_of(p: Item | None) -> list[tuple[int, int]]:
    assert p is not None
    return [parse_version(v) for v in p.findall(Tag.PROTOCOL_VERSION)]


def functions(*fs: int) -> Item:
    return payload(*[Item.enum(Tag.QUERY_FUNCTION, f) for f in fs])


def ctx(version: tuple[int, int]) -> RequestContext:
    return RequestContext(version=version, identity="t", groups=None, now=0, store=None,  # type: ignore[arg-type]
                          policy=None)


class DiscoverVersionsTests(SynchronousTestCase):
    """DiscoverVersions."""

    def test_all_versions(self) -> None:
        """With no versions offered, every supported version is listed, most preferred first."""
        result = call(make_processor(), Operation.DISCOVER_VERSIONS, payload(), version=(1, 1))
        self.assertTrue(result.ok)
        self.assertEqual(versions_of(result.payload), list(SUPPORTED_VERSIONS))
        self.assertEqual(versions_of(result.payload)[0], (2, 1))

    def test_no_payload(self) -> None:
        """A request without a payload is answered like an empty one."""
        self.assertEqual(versions_of(discover_versions(ctx((1, 2)), None)), list(SUPPORTED_VERSIONS))

    def test_intersection(self) -> None:
        """With versions offered, only the common ones are listed, in the client's order."""
        offered = payload(version_item((1, 4)), version_item((3, 0)), version_item((1, 2)), version_item((1, 9)))
        result = call(make_processor(), Operation.DISCOVER_VERSIONS, offered, version=(1, 2))
        self.assertEqual(versions_of(result.payload), [(1, 4), (1, 2)])

    def test_no_common_version(self) -> None:
        """If no offered version is supported, the list is empty."""
        result = call(make_processor(), Operation.DISCOVER_VERSIONS, payload(version_item((9, 9))),
                      version=(1, 1))
        self.assertTrue(result.ok)
        self.assertEqual(versions_of(result.payload), [])

    def test_not_in_1_0(self) -> None:
        """DiscoverVersions is a 1.1 operation: 1.0 clients get Operation Not Supported."""
        result = call(make_processor(), Operation.DISCOVER_VERSIONS, payload(), version=(1, 0))
        self.assertEqual(result.reason, ResultReason.OPERATION_NOT_SUPPORTED)

    def test_2x(self) -> None:
        """DiscoverVersions works the same in 2.x."""
        result = call(make_processor(), Operation.DISCOVER_VERSIONS, payload(version_item((2, 0))),
                      version=(2, 0))
        self.assertEqual(versions_of(result.payload), [(2, 0)])


class QueryTests(SynchronousTestCase):
    """Query."""

    def test_operations(self) -> None:
        """Query Operations lists the registered operations available in the version."""
        d = make_processor()
        for version in SUPPORTED_VERSIONS:
            result = call(d, Operation.QUERY, functions(QueryFunction.QUERY_OPERATIONS), version=version)
            ops = [i.value for i in result.payload.findall(Tag.OPERATION)]  # type: ignore[union-attr]
            self.assertIn(Operation.QUERY, ops)
            self.assertEqual(Operation.DISCOVER_VERSIONS in ops, version >= (1, 1), version)
            self.assertEqual(ops, sorted(ops))
            for op in ops:
                self.assertIn(op, REGISTRY)
                self.assertTrue(enum_value_in_version(Operation, op, version), (op, version))

    def test_objects(self) -> None:
        """Query Objects lists only object types the version defines."""
        d = make_processor()
        r10 = call(d, Operation.QUERY, functions(QueryFunction.QUERY_OBJECTS), version=(1, 0))
        types10 = [i.value for i in r10.payload.findall(Tag.OBJECT_TYPE)]  # type: ignore[union-attr]
        self.assertIn(ObjectType.SYMMETRIC_KEY, types10)
        self.assertNotIn(ObjectType.PGP_KEY, types10)
        r14 = call(d, Operation.QUERY, functions(QueryFunction.QUERY_OBJECTS), version=(1, 4))
        self.assertIn(ObjectType.PGP_KEY, [i.value for i in r14.payload.findall(Tag.OBJECT_TYPE)])  # type: ignore

    def test_server_information(self) -> None:
        """Query Server Information reports the vendor."""
        result = call(make_processor(), Operation.QUERY, functions(QueryFunction.QUERY_SERVER_INFORMATION))
        self.assertEqual(result.payload.get(Tag.VENDOR_IDENTIFICATION), "kmipd")  # type: ignore[union-attr]
        self.assertIsNotNone(result.payload.find(Tag.SERVER_INFORMATION))  # type: ignore[union-attr]

    def test_response_order(self) -> None:
        """Fields come in the spec's order whatever the request order: operations, objects, vendor."""
        result = call(make_processor(), Operation.QUERY, functions(
            QueryFunction.QUERY_SERVER_INFORMATION, QueryFunction.QUERY_OBJECTS, QueryFunction.QUERY_OPERATIONS))
        tags = [c.tag for c in result.payload.value]  # type: ignore[union-attr]
        first_object = tags.index(Tag.OBJECT_TYPE)
        self.assertTrue(all(t == Tag.OPERATION for t in tags[:first_object]))
        self.assertLess(tags.index(Tag.OBJECT_TYPE), tags.index(Tag.VENDOR_IDENTIFICATION))
        self.assertEqual(tags[-2:], [Tag.VENDOR_IDENTIFICATION, Tag.SERVER_INFORMATION])

    def test_repeated_function_answered_once(self) -> None:
        """Asking the same function twice answers it once."""
        result = call(make_processor(), Operation.QUERY, functions(
            QueryFunction.QUERY_SERVER_INFORMATION, QueryFunction.QUERY_SERVER_INFORMATION))
        self.assertEqual(len(result.payload.findall(Tag.VENDOR_IDENTIFICATION)), 1)  # type: ignore[union-attr]

    def test_capabilities(self) -> None:
        """Query Capabilities (1.3+) reports asynchronous processing, and batch undo/continue where the
        version has those fields."""
        d = make_processor()
        r14 = call(d, Operation.QUERY, functions(QueryFunction.QUERY_CAPABILITIES), version=(1, 4))
        cap = r14.payload.find(Tag.CAPABILITY_INFORMATION)  # type: ignore[union-attr]
        self.assertIsNotNone(cap)
        self.assertIs(cap.get(Tag.ASYNCHRONOUS_CAPABILITY), True)  # type: ignore[union-attr]
        self.assertIs(cap.get(Tag.BATCH_UNDO_CAPABILITY), True)  # type: ignore[union-attr]
        r12 = call(d, Operation.QUERY, functions(QueryFunction.QUERY_CAPABILITIES), version=(1, 2))
        self.assertEqual(r12.reason, ResultReason.INVALID_FIELD, "Query Capabilities is not defined in 1.2")

    def test_rngs(self) -> None:
        """Query RNGs reports one RNG Parameters structure."""
        result = call(make_processor(), Operation.QUERY, functions(QueryFunction.QUERY_RNGS), version=(1, 3))
        self.assertEqual(len(result.payload.findall(Tag.RNG_PARAMETERS)), 1)  # type: ignore[union-attr]

    def test_functions_without_information(self) -> None:
        """Functions kmipd has nothing for (e.g. Application Namespaces) answer with no items."""
        result = call(make_processor(), Operation.QUERY, functions(QueryFunction.QUERY_APPLICATION_NAMESPACES))
        self.assertTrue(result.ok)
        self.assertEqual(result.payload.value if result.payload is not None else [], [])

    def test_unknown_function(self) -> None:
        """An undefined Query Function value is Invalid Field."""
        result = call(make_processor(), Operation.QUERY, functions(0x99))
        self.assertEqual(result.reason, ResultReason.INVALID_FIELD)

    def test_no_payload(self) -> None:
        """Query without a request payload is Invalid Field."""
        result = call(make_processor(), Operation.QUERY, None)
        self.assertEqual(result.reason, ResultReason.INVALID_FIELD)

    def test_version_exact(self) -> None:
        """For every version and every function it defines, the handler emits only tags and values of that version."""
        for version in SUPPORTED_VERSIONS:
            asked = [f for f in QueryFunction if enum_value_in_version(QueryFunction, int(f), version)]
            out = query(ctx(version), functions(*asked))
            for node in out.walk():
                if node is out:
                    continue
                self.assertTrue(tag_in_version(node.tag, version), (hex(node.tag), version))
            for op in out.findall(Tag.OPERATION):
                self.assertTrue(enum_value_in_version(Operation, op.value, version))
            for t in out.findall(Tag.OBJECT_TYPE):
                self.assertTrue(enum_value_in_version(ObjectType, t.value, version))

    def test_2x(self) -> None:
        """Query works in 2.0 and 2.1 with the same functions."""
        for version in ((2, 0), (2, 1)):
            result = call(make_processor(), Operation.QUERY, functions(
                QueryFunction.QUERY_OPERATIONS, QueryFunction.QUERY_SERVER_INFORMATION), version=version)
            self.assertTrue(result.ok)
            self.assertIn(Operation.QUERY, [i.value for i in result.payload.findall(Tag.OPERATION)])  # type: ignore


class Query2xFunctionsTests(SynchronousTestCase):
    """The KMIP 2.x Query functions Defaults Information and Storage Protection Masks (2.1 6.1.40)."""

    def test_protection_storage_masks(self) -> None:
        """Query Storage Protection Masks lists the single mask kmipd provides: Software."""
        result = call(make_processor(), Operation.QUERY,
                      functions(QueryFunction.QUERY_STORAGE_PROTECTION_MASKS), version=(2, 1))
        self.assertTrue(result.ok, result.message)
        masks = result.payload.findall(Tag.PROTECTION_STORAGE_MASKS)  # type: ignore[union-attr]
        self.assertEqual(len(masks), 1)
        self.assertEqual([m.value for m in masks[0].value], [ProtectionStorageMask.SOFTWARE])

    def test_defaults_information(self) -> None:
        """Defaults Information names, per object type, the defaults new objects really get."""
        d = make_processor()
        result = call(d, Operation.QUERY, functions(QueryFunction.QUERY_DEFAULTS_INFORMATION), version=(2, 0))
        self.assertTrue(result.ok, result.message)
        info = result.payload.find(Tag.DEFAULTS_INFORMATION)  # type: ignore[union-attr]
        by_type = {o.get(Tag.OBJECT_TYPE): o.find(Tag.ATTRIBUTES) for o in info.findall(Tag.OBJECT_DEFAULTS)}
        self.assertNotIn(ObjectType.TEMPLATE, by_type)
        symmetric = by_type[ObjectType.SYMMETRIC_KEY]
        self.assertEqual((symmetric.get(Tag.SENSITIVE), symmetric.get(Tag.EXTRACTABLE),
                          symmetric.get(Tag.PROTECTION_STORAGE_MASK)), (False, True, ProtectionStorageMask.SOFTWARE))
        self.assertIsNone(by_type[ObjectType.OPAQUE_OBJECT].find(Tag.SENSITIVE))
        # A key created without those attributes carries exactly the advertised values.
        attrs = Item.struct(Tag.ATTRIBUTES, [Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, 3),
                                             Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 128),
                                             Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, 4)])
        created = call(d, Operation.CREATE, payload(Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY), attrs),
                       version=(2, 0))
        uid = created.payload.get(Tag.UNIQUE_IDENTIFIER)  # type: ignore[union-attr]
        got = call(d, Operation.GET_ATTRIBUTES, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid)), version=(2, 0))
        stored = got.payload.find(Tag.ATTRIBUTES)  # type: ignore[union-attr]
        for item in symmetric.value:
            self.assertEqual(stored.get(item.tag), item.value, hex(item.tag))

    def test_response_order(self) -> None:
        """Capability Information, Defaults Information, Protection Storage Masks come in Table 283's order."""
        result = call(make_processor(), Operation.QUERY, functions(
            QueryFunction.QUERY_STORAGE_PROTECTION_MASKS, QueryFunction.QUERY_DEFAULTS_INFORMATION,
            QueryFunction.QUERY_CAPABILITIES), version=(2, 1))
        self.assertEqual([c.tag for c in result.payload.value],  # type: ignore[union-attr]
                         [Tag.CAPABILITY_INFORMATION, Tag.DEFAULTS_INFORMATION, Tag.PROTECTION_STORAGE_MASKS])

    def test_not_in_1x(self) -> None:
        """The two functions do not exist in KMIP 1.4: Invalid Field."""
        for f in (QueryFunction.QUERY_DEFAULTS_INFORMATION, QueryFunction.QUERY_STORAGE_PROTECTION_MASKS):
            result = call(make_processor(), Operation.QUERY, functions(f), version=(1, 4))
            self.assertEqual(result.reason, ResultReason.INVALID_FIELD)


class QueryOperationsMatchBehaviourTests(SynchronousTestCase):
    """Query Operations lists, at each version, exactly the operations that are not refused with
    Operation Not Supported at that version."""

    def test_listed_iff_served(self) -> None:
        """Every operation of the version's enumeration: listed <=> not Operation Not Supported."""
        from kmipd.dispatch import Caller
        from kmipd.testing import batch_item, request, results
        from kmipd.ttlv import decode, encode

        for version in SUPPORTED_VERSIONS:
            d = make_processor()
            listed = {o.value for o in call(d, Operation.QUERY, functions(QueryFunction.QUERY_OPERATIONS),
                                            version=version).payload.findall(Tag.OPERATION)}
            for op in Operation:
                if not enum_value_in_version(Operation, int(op), version):
                    continue
                message = request(batch_item(op, payload()), version=version)
                (r,) = results(decode(d.process(encode(message), Caller("tester")).data))
                served = r.reason != ResultReason.OPERATION_NOT_SUPPORTED
                self.assertEqual(op in listed, served, f"{op.name} in KMIP {version}: listed={op in listed}")
