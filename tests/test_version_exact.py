"""Responses are exact for the client's version, and Maximum Response Size is checked before commit."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd.messages.versions import strip_for_version
from kmipd.spec import (
    ENUM_FOR_TAG,
    CryptographicAlgorithm,
    CryptographicUsageMask,
    ObjectType,
    Operation,
    ResultReason,
    ResultStatus,
    Tag,
    enum_value_in_version,
    tag_from_name,
    tag_in_version,
)
from kmipd.testing import attribute, batch_item, call, make_processor, payload, request, results, send
from kmipd.ttlv import Item, ItemType

V10, V14, V20 = (1, 0), (1, 4), (2, 0)


def _undefined(message: Item, version: tuple[int, int]) -> list[str]:
    """Every tag or enumeration value in C{message} that C{version} does not define."""
    bad = []
    for node in message.walk():
        if not tag_in_version(node.tag, version):
            bad.append(f"tag 0x{node.tag:06X}")
        if node.type == ItemType.ENUMERATION:
            cls = ENUM_FOR_TAG.get(node.tag)
            if cls is not None and not enum_value_in_version(cls, node.value, version):
                bad.append(f"{cls.__name__} {node.value}")
        if node.tag == Tag.ATTRIBUTE and node.type == ItemType.STRUCTURE:
            value = node.find(Tag.ATTRIBUTE_VALUE)
            tag = tag_from_name(node.get(Tag.ATTRIBUTE_NAME, ""))
            cls = ENUM_FOR_TAG.get(tag) if tag is not None else None
            if value is not None and value.type == ItemType.ENUMERATION and cls is not None \
                    and not enum_value_in_version(cls, value.value, version):
                bad.append(f"attribute {cls.__name__} {value.value}")
    return bad


class VersionExactTests(SynchronousTestCase):
    """A 1.x client never receives a value its version does not define."""

    def setUp(self) -> None:
        self.d = make_processor()

    def _create_chacha(self) -> str:
        r = call(self.d, Operation.CREATE, payload(
            Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
            Item.struct(Tag.ATTRIBUTES, [
                Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CryptographicAlgorithm.CHACHA20),
                Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 256),
                Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, CryptographicUsageMask.ENCRYPT),
            ])), version=V20)
        self.assertEqual(r.status, ResultStatus.SUCCESS, r.message)
        return r.payload.get(Tag.UNIQUE_IDENTIFIER)

    def test_chacha20_not_shown_to_1_0(self) -> None:
        """A ChaCha20 key (a 1.4+ algorithm) read by a 1.0 client shows no undefined algorithm value."""
        self.assertFalse(enum_value_in_version(CryptographicAlgorithm, CryptographicAlgorithm.CHACHA20, V10))
        uid = self._create_chacha()
        for op in (Operation.GET_ATTRIBUTES, Operation.GET):
            response = send(self.d, request(batch_item(op, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid))),
                                            version=V10))
            (r,) = results(response)
            self.assertEqual(r.status, ResultStatus.SUCCESS, r.message)
            self.assertEqual(_undefined(response, V10), [], op)
        # ...while a 1.4 client, whose version defines it, sees the algorithm.
        response = send(self.d, request(batch_item(Operation.GET_ATTRIBUTES, payload(
            Item.text(Tag.UNIQUE_IDENTIFIER, uid),
            Item.text(Tag.ATTRIBUTE_NAME, "Cryptographic Algorithm"))), version=V14))
        (r,) = results(response)
        self.assertEqual([a.get(Tag.ATTRIBUTE_VALUE) for a in r.payload.findall(Tag.ATTRIBUTE)],
                         [CryptographicAlgorithm.CHACHA20])

    def test_strip_counts_removed_items(self) -> None:
        """strip_for_version removes undefined tags, enumeration values and enumerated 1.x attributes."""
        message = Item.struct(Tag.RESPONSE_PAYLOAD, [
            Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CryptographicAlgorithm.CHACHA20),
            Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CryptographicAlgorithm.AES),
            Item.struct(Tag.ATTRIBUTES, []),
            attribute("Cryptographic Algorithm", Item.enum(0, CryptographicAlgorithm.CHACHA20)),
            attribute("Cryptographic Algorithm", Item.enum(0, CryptographicAlgorithm.AES)),
        ])
        self.assertEqual(strip_for_version(message, V10), 3)
        self.assertEqual(len(message.value), 2)
        self.assertEqual(_undefined(message, V10), [])


class MaximumResponseSizeTests(SynchronousTestCase):
    """Response Too Large is decided before the commit: the refused work did not happen."""

    def test_create_too_large_is_not_stored(self) -> None:
        """A Create whose response exceeds Maximum Response Size fails and leaves no object behind."""
        d = make_processor()
        create = payload(
            Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
            Item.struct(Tag.TEMPLATE_ATTRIBUTE, [
                attribute("Cryptographic Algorithm", Item.enum(0, CryptographicAlgorithm.AES)),
                attribute("Cryptographic Length", Item.int(0, 128)),
                attribute("Cryptographic Usage Mask", Item.int(0, CryptographicUsageMask.ENCRYPT)),
                attribute("Object Group", Item.text(0, "too-large")),
            ]))
        response = send(d, request(batch_item(Operation.CREATE, create), version=V14,
                                   header_extra=[Item.int(Tag.MAXIMUM_RESPONSE_SIZE, 50)]))
        (r,) = results(response)
        self.assertEqual((r.status, r.reason), (ResultStatus.OPERATION_FAILED, ResultReason.RESPONSE_TOO_LARGE))
        located = call(d, Operation.LOCATE, payload(attribute("Object Group", Item.text(0, "too-large"))))
        self.assertEqual(located.payload.findall(Tag.UNIQUE_IDENTIFIER), [])
        # The same request without the limit succeeds and is stored.
        response = send(d, request(batch_item(Operation.CREATE, create), version=V14))
        self.assertEqual(results(response)[0].status, ResultStatus.SUCCESS)
        located = call(d, Operation.LOCATE, payload(attribute("Object Group", Item.text(0, "too-large"))))
        self.assertEqual(len(located.payload.findall(Tag.UNIQUE_IDENTIFIER)), 1)


class StripSharedItemsTests(SynchronousTestCase):
    """Stripping a response never changes the items under it in place (they may be the store's)."""

    def test_nested_items_copied_not_changed(self) -> None:
        """A frozen structure that loses a child is replaced in the response by a copy; the count is right."""
        from kmipd.store.frozen import frozen

        shared = frozen(Item.struct(Tag.CRYPTOGRAPHIC_PARAMETERS, [
            Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CryptographicAlgorithm.CHACHA20),  # 1.4+
            Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CryptographicAlgorithm.AES),
        ]))
        untouched = frozen(Item.struct(Tag.NAME, [Item.text(Tag.NAME_VALUE, "n")]))
        message = Item.struct(Tag.RESPONSE_PAYLOAD, [untouched, Item.struct(Tag.BATCH_ITEM, [shared])])
        self.assertEqual(strip_for_version(message, V10), 1)
        self.assertIs(message.value[0], untouched)  # nothing removed under it: the same item
        self.assertEqual(message.value[1].value[0].value,
                         [Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CryptographicAlgorithm.AES)])
        self.assertEqual(len(shared.value), 2)  # the shared original still has both
        self.assertEqual(strip_for_version(message, V10), 0)  # (remembered per version: same answer)

    def test_same_answer_as_walking(self) -> None:
        """Remembered answers per version agree with the definitions, for each version in turn."""
        for version in (V10, V14, V20, V10):
            message = Item.struct(Tag.RESPONSE_PAYLOAD, [
                Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CryptographicAlgorithm.CHACHA20),
                Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
                Item.struct(Tag.ATTRIBUTES, [Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 128)]),
            ])
            strip_for_version(message, version)
            self.assertEqual(_undefined(message, version), [], version)
            self.assertEqual(message.get(Tag.OBJECT_TYPE), ObjectType.SYMMETRIC_KEY)
            self.assertEqual(message.find(Tag.ATTRIBUTES) is not None, version >= V20)


class EncodeForVersionTests(SynchronousTestCase):
    """encode_for_version: the bytes of strip_for_version + encode, in one walk when nothing is new."""

    def message(self, algorithm: int) -> Item:
        return Item.struct(Tag.RESPONSE_PAYLOAD, [
            Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, algorithm),
            Item.struct(Tag.ATTRIBUTES, [Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 128)]),
            attribute("Cryptographic Algorithm", Item.enum(0, algorithm)),
            Item.text(Tag.UNIQUE_IDENTIFIER, "u"),
        ])

    def test_same_bytes_as_strip_then_encode(self) -> None:
        """Each version, each message, twice (the second time from what the first remembered)."""
        from kmipd.messages.versions import encode_for_version
        from kmipd.ttlv import encode

        for version in (V10, V14, V20):
            for algorithm in (CryptographicAlgorithm.AES, CryptographicAlgorithm.CHACHA20,
                              CryptographicAlgorithm.AES):
                expected = self.message(algorithm)
                removed = strip_for_version(expected, version)
                self.assertEqual(encode_for_version(self.message(algorithm), version), (encode(expected), removed),
                                 (version, algorithm))

    def test_attribute_value_checked_every_time(self) -> None:
        """A 1.x Attribute is never taken as known by its tag: after one with a 1.0 algorithm, one
        with an algorithm 1.0 lacks (ChaCha20) is still removed."""
        from kmipd.messages.versions import encode_for_version
        from kmipd.ttlv import decode

        def reply(algorithm: int) -> Item:
            return Item.struct(Tag.RESPONSE_PAYLOAD, [attribute("Cryptographic Algorithm", Item.enum(0, algorithm))])

        for _ in range(2):
            data, removed = encode_for_version(reply(CryptographicAlgorithm.AES), V10)
            self.assertEqual((len(decode(data).value), removed), (1, 0))
            data, removed = encode_for_version(reply(CryptographicAlgorithm.CHACHA20), V10)
            self.assertEqual((decode(data).value, removed), ([], 1))


class EncodeResponseTests(SynchronousTestCase):
    """encode_response: the bytes of build_response, strip_for_version and encode, for every version."""

    def test_same_bytes_as_build_strip_encode(self) -> None:
        """Header options, several batch items, a payload with fields some versions lack."""
        from kmipd.messages import SUPPORTED_VERSIONS, BatchResult, build_response, encode_response
        from kmipd.ttlv import encode

        def results() -> list[BatchResult]:
            return [
                BatchResult(Operation.GET, b"\x01", ResultStatus.SUCCESS, payload=Item.struct(Tag.RESPONSE_PAYLOAD, [
                    Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
                    Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CryptographicAlgorithm.CHACHA20),
                    Item.struct(Tag.ATTRIBUTES, [Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 128)]),
                    attribute("Cryptographic Algorithm", Item.enum(0, CryptographicAlgorithm.CHACHA20)),
                    Item.text(Tag.UNIQUE_IDENTIFIER, "u")])),
                BatchResult(None, None, ResultStatus.OPERATION_FAILED, int(ResultReason.INVALID_MESSAGE), "bad"),
                BatchResult(Operation.ENCRYPT, None, ResultStatus.OPERATION_PENDING, correlation=b"c"),
            ]

        for version in SUPPORTED_VERSIONS + ((2, 1),):
            for options in ({}, {"correlation": "a" * 32}, {"correlation": "b", "server_hashed_password": b"h"}):
                for count in (0, 1, 3):
                    expected = build_response(version, 1_700_000_000, results()[:count], **options)  # type: ignore
                    removed = strip_for_version(expected, version)
                    got = encode_response(version, 1_700_000_000, results()[:count], **options)  # type: ignore
                    self.assertEqual(got, (encode(expected), removed), (version, options, count))
