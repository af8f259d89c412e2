"""KMIP JSON encoding (Additional Message Encodings v1.0 section 4) of the item tree."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd.spec import Tag
from kmipd.ttlv import Item, ItemType, decode, encode
from kmipd.ttlv.json import EncodingError, JsonDecodeError, from_json, item_to_obj, to_json

from . import TextReaderTestsMixin
from .test_xml import SAMPLE


class WriteTests(SynchronousTestCase):
    """Items are written as the profile's tag/type/value objects."""

    def test_sample_objects(self) -> None:
        """Each type uses its JSON form; structures omit their type; unknown tags are hex."""
        obj = item_to_obj(SAMPLE)
        self.assertEqual(obj["tag"], "RequestMessage")
        self.assertNotIn("type", obj)
        header, batch = obj["value"]
        self.assertEqual(header["value"][0], {"tag": "ProtocolVersion", "value": [
            {"tag": "ProtocolVersionMajor", "type": "Integer", "value": 1},
            {"tag": "ProtocolVersionMinor", "type": "Integer", "value": 4}]})
        self.assertEqual(header["value"][1:3], [
            {"tag": "BatchOrderOption", "type": "Boolean", "value": True},
            {"tag": "TimeStamp", "type": "DateTime", "value": "2001-01-01T10:00:00+00:00"}])
        payload = batch["value"][1]["value"]
        template = payload[1]["value"]
        self.assertEqual(template[0]["value"][1], {"tag": "AttributeValue", "type": "Enumeration", "value": "AES"})
        self.assertEqual(template[1]["value"][1],
                         {"tag": "AttributeValue", "type": "Integer", "value": "Encrypt|Decrypt"})
        self.assertEqual(template[3], {"tag": "PrivateKeyTemplateAttribute", "value": []})
        self.assertEqual(payload[2:], [
            {"tag": "UsageLimitsCount", "type": "LongInteger", "value": "0x1000000000000000"},
            {"tag": "Offset", "type": "Interval", "value": 27},
            {"tag": "Modulus", "type": "BigInteger", "value": "0xfffffffffffffffe"},
            {"tag": "IVCounterNonce", "type": "ByteString", "value": "a1b2c3d4"},
            {"tag": "NameValue", "type": "TextString", "value": 'a "quoted" <name> & line\nbreak\ttab'},
            {"tag": "0x540001", "type": "TextString", "value": "extension"},
            {"tag": "0x54FFFF", "value": [{"tag": "0x540002", "type": "Integer", "value": -1}]},
            {"tag": "AttributeReference", "type": "Enumeration", "value": "CryptographicLength"},
            {"tag": "InitialDate", "type": "DateTimeExtended", "value": "2001-01-01T10:00:00.123456+00:00"},
        ])

    def test_round_trips(self) -> None:
        """json -> Item -> json and binary -> Item -> json -> Item -> binary are identical."""
        text = to_json(SAMPLE)
        self.assertEqual(from_json(text), SAMPLE)
        self.assertEqual(to_json(from_json(text)), text)
        wire = encode(SAMPLE)
        self.assertEqual(encode(from_json(to_json(decode(wire)))), wire)

    def test_long_integers_beyond_double_precision_are_hex(self) -> None:
        """Long Integers at or beyond 2**52 are hex strings; smaller ones are numbers."""
        self.assertEqual(item_to_obj(Item.long(0x540001, -2))["value"], -2)
        self.assertEqual(item_to_obj(Item.long(0x540001, -(1 << 60)))["value"], "0xf000000000000000")
        self.assertEqual(from_json('{"tag":"0x540001","type":"LongInteger","value":"0xf000000000000000"}').value,
                         -(1 << 60))

    def test_invalid_item_rejected(self) -> None:
        """An item whose value does not fit its type raises EncodingError."""
        self.assertRaises(EncodingError, to_json, Item(Tag.BATCH_COUNT, ItemType.INTEGER, True))
        self.assertRaises(EncodingError, to_json, Item(Tag.NAME_VALUE, ItemType.TEXT_STRING, b"x"))


class ReadTests(TextReaderTestsMixin, SynchronousTestCase):
    """Every form the profile allows is read; malformed input raises a named error."""

    parse = staticmethod(from_json)
    render = staticmethod(to_json)
    error = JsonDecodeError
    error_cases = {
        "[1]": "expected an object",
        '{"type": "Integer", "value": 1}': "missing or non-string 'tag'",
        '{"tag": "Nope"}': "unknown tag 'Nope'",
        '{"tag": "BatchCount", "type": "Integer"}': "missing 'value'",
        '{"tag": "BatchCount", "type": "Integer", "value": 1.5}': "non-integer number",
        '{"tag": "BatchCount", "type": "Integer", "value": true}': "is not a valid Integer",
        '{"tag": "BatchCount", "type": "Integer", "value": 4294967296}': "out of range",
        '{"tag": "ObjectType", "type": "Enumeration", "value": "Dragon"}': "not a value of ObjectType",
        '{"tag": "BatchOrderOption", "type": "Boolean", "value": "yes"}': "is not a Boolean",
        '{"tag": "RequestHeader", "value": {}}': "array or null",
        '{"tag": "BatchCount", "type": "Integer", "value": 1, "extra": 2}': "unknown member",
        '{"tag": ': "not valid JSON",
    }

    def test_profile_examples(self) -> None:
        """The examples of section 4.1.6 read as the values they stand for."""
        cases = [
            ('{"tag": "ActivationDate", "type":"DateTime", "value":"2001-01-01T10:00:00+10:00"}',
             Item.datetime(Tag.ACTIVATION_DATE, 978307200)),
            ('{"tag": "0x54FFFF", "name":"SomeExtension", "type":"Integer", "value":"0x00000001"}',
             Item.int(0x54FFFF, 1)),
            ('{"tag": "ProtocolVersion", "value":null}', Item.struct(Tag.PROTOCOL_VERSION, [])),
            ('{"tag": "BatchCount", "type":"Integer", "value":"0x0000000A"}', Item.int(Tag.BATCH_COUNT, 10)),
            ('{"tag": "CryptographicUsageMask", "type":"Integer", "value": "CertificateSign|0x00000004|0x0000008"}',
             Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, 0x100C)),
            ('{"tag": "Modulus", "type":"BigInteger", "value":"0x0000000000000000"}',
             Item.big(Tag.MODULUS, 0)),
            ('{"tag": "0x420057", "type":"Enumeration", "value":2}', Item.enum(Tag.OBJECT_TYPE, 2)),
            ('{"tag": "ObjectType", "type":"Enumeration", "value":"SymmetricKey"}', Item.enum(Tag.OBJECT_TYPE, 2)),
            ('{"tag": "BatchOrderOption", "type":"Boolean", "value":"0x0000000000000001"}',
             Item.bool(Tag.BATCH_ORDER_OPTION, True)),
            ('{"tag": "ArchiveDate", "type":"DateTime", "value":"0x000000003a505520"}',
             Item.datetime(Tag.ARCHIVE_DATE, 978343200)),
            ('{"tag": "Offset", "type":"Interval", "value":"0x0000001b"}', Item.interval(Tag.OFFSET, 27)),
            ('{"tag": "Attribute", "value": [{"tag": "AttributeName", "type": "TextString", "value": "State"},'
             ' {"tag": "AttributeValue", "type": "Enumeration", "value": "Active"}]}',
             Item.struct(Tag.ATTRIBUTE, [Item.text(Tag.ATTRIBUTE_NAME, "State"),
                                         Item.enum(Tag.ATTRIBUTE_VALUE, 2)])),
        ]
        for text, item in cases:
            self.assertEqual(from_json(text), item, text)

