"""KMIP XML encoding (Additional Message Encodings v1.0 section 6) of the item tree."""

from __future__ import annotations

import glob
import os
import xml.etree.ElementTree as ET

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from kmipd.spec import (
    CryptographicAlgorithm,
    CryptographicUsageMask,
    HashingAlgorithm,
    ObjectType,
    Operation,
    State,
    Tag,
)
from kmipd.testing import attribute
from kmipd.ttlv import Item, ItemType, decode, encode
from kmipd.ttlv.xml import (
    EncodingError,
    XmlDecodeError,
    camel_case,
    element_to_item,
    enum_from_text,
    enum_text,
    from_xml,
    mask_from_text,
    mask_text,
    parse_datetime,
    tag_from_text,
    tag_text,
    to_xml,
)

from . import TextReaderTestsMixin

VECTORS = os.environ.get("KMIPD_CONFORMANCE_DIR") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
    "shared", "conformance")


SAMPLE = Item.struct(Tag.REQUEST_MESSAGE, [
    Item.struct(Tag.REQUEST_HEADER, [
        Item.struct(Tag.PROTOCOL_VERSION, [Item.int(Tag.PROTOCOL_VERSION_MAJOR, 1),
                                           Item.int(Tag.PROTOCOL_VERSION_MINOR, 4)]),
        Item.bool(Tag.BATCH_ORDER_OPTION, True),
        Item.datetime(Tag.TIME_STAMP, 978343200),
        Item.int(Tag.BATCH_COUNT, 1),
    ]),
    Item.struct(Tag.BATCH_ITEM, [
        Item.enum(Tag.OPERATION, Operation.CREATE),
        Item.struct(Tag.REQUEST_PAYLOAD, [
            Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
            Item.struct(Tag.TEMPLATE_ATTRIBUTE, [
                attribute("Cryptographic Algorithm", Item.enum(0, CryptographicAlgorithm.AES)),
                attribute("Cryptographic Usage Mask", Item.int(0, 12)),
                attribute("x-custom", Item.enum(0, 7)),
                Item.struct(Tag.PRIVATE_KEY_TEMPLATE_ATTRIBUTE, []),
            ]),
            Item.long(Tag.USAGE_LIMITS_COUNT, 1 << 60),
            Item.interval(Tag.OFFSET, 27),
            Item.big(Tag.MODULUS, -2),
            Item.bytes(Tag.IV_COUNTER_NONCE, b"\xa1\xb2\xc3\xd4"),
            Item.text(Tag.NAME_VALUE, 'a "quoted" <name> & line\nbreak\ttab'),
            Item(0x540001, ItemType.TEXT_STRING, "extension"),
            Item(0x54FFFF, ItemType.STRUCTURE, [Item.int(0x540002, -1)]),
            Item(Tag.ATTRIBUTE_REFERENCE, ItemType.ENUMERATION, Tag.CRYPTOGRAPHIC_LENGTH),
            Item(Tag.INITIAL_DATE, ItemType.DATE_TIME_EXTENDED, 978343200_123456),
        ]),
    ]),
])

SAMPLE_XML = """\
<RequestMessage>
  <RequestHeader>
    <ProtocolVersion>
      <ProtocolVersionMajor type="Integer" value="1"/>
      <ProtocolVersionMinor type="Integer" value="4"/>
    </ProtocolVersion>
    <BatchOrderOption type="Boolean" value="true"/>
    <TimeStamp type="DateTime" value="2001-01-01T10:00:00+00:00"/>
    <BatchCount type="Integer" value="1"/>
  </RequestHeader>
  <BatchItem>
    <Operation type="Enumeration" value="Create"/>
    <RequestPayload>
      <ObjectType type="Enumeration" value="SymmetricKey"/>
      <TemplateAttribute>
        <Attribute>
          <AttributeName type="TextString" value="Cryptographic Algorithm"/>
          <AttributeValue type="Enumeration" value="AES"/>
        </Attribute>
        <Attribute>
          <AttributeName type="TextString" value="Cryptographic Usage Mask"/>
          <AttributeValue type="Integer" value="Encrypt Decrypt"/>
        </Attribute>
        <Attribute>
          <AttributeName type="TextString" value="x-custom"/>
          <AttributeValue type="Enumeration" value="0x00000007"/>
        </Attribute>
        <PrivateKeyTemplateAttribute/>
      </TemplateAttribute>
      <UsageLimitsCount type="LongInteger" value="1152921504606846976"/>
      <Offset type="Interval" value="27"/>
      <Modulus type="BigInteger" value="fffffffffffffffe"/>
      <IVCounterNonce type="ByteString" value="a1b2c3d4"/>
      <NameValue type="TextString" value="a &quot;quoted&quot; &lt;name&gt; &amp; line&#10;break&#9;tab"/>
      <TTLV tag="0x540001" type="TextString" value="extension"/>
      <TTLV tag="0x54FFFF">
        <TTLV tag="0x540002" type="Integer" value="-1"/>
      </TTLV>
      <AttributeReference type="Enumeration" value="CryptographicLength"/>
      <InitialDate type="DateTimeExtended" value="2001-01-01T10:00:00.123456+00:00"/>
    </RequestPayload>
  </BatchItem>
</RequestMessage>
"""


class NamesTests(SynchronousTestCase):
    """Name normalisation follows the profile's CamelCase rules."""

    def test_camel_case_rules(self) -> None:
        """Brackets, dashes before words, other punctuation and leading digits are handled."""
        self.assertEqual(camel_case("Unique Identifier"), "UniqueIdentifier")
        self.assertEqual(camel_case("Pre-Active"), "PreActive")
        self.assertEqual(camel_case("SHA-256"), "SHA_256")
        self.assertEqual(camel_case("3DES"), "DES3")
        self.assertEqual(camel_case("PKCS#1 v1.5"), "PKCS_1V1_5")
        self.assertEqual(camel_case("Raw (bytes)"), "RawBytes")

    def test_tag_names(self) -> None:
        """Tags map to CamelCase names and back in any spelling or as hex."""
        self.assertEqual(tag_text(Tag.UNIQUE_IDENTIFIER), "UniqueIdentifier")
        self.assertIsNone(tag_text(0x540001))
        for text in ("UniqueIdentifier", "Unique Identifier", "UNIQUE_IDENTIFIER", "0x420094"):
            self.assertEqual(tag_from_text(text), Tag.UNIQUE_IDENTIFIER)
        self.assertIsNone(tag_from_text("NoSuchTag"))

    def test_enumeration_names(self) -> None:
        """Enumeration values read by name in any spelling, hex or decimal; unnamed values as hex."""
        self.assertEqual(enum_text(HashingAlgorithm, HashingAlgorithm.SHA_256), "SHA_256")
        self.assertEqual(enum_text(CryptographicAlgorithm, 2), "DES3")
        for text in ("DES3", "3DES", "des3", "0x00000002", "2"):
            self.assertEqual(enum_from_text(CryptographicAlgorithm, text), 2)
        self.assertEqual(enum_text(State, 0x80000001), "0x80000001")
        self.assertEqual(enum_from_text(State, "PreActive"), State.PRE_ACTIVE)
        self.assertRaises(ValueError, enum_from_text, State, "Sleeping")
        self.assertRaises(ValueError, enum_from_text, State, "0x100000000")

    def test_masks(self) -> None:
        """Masks are flag names; unnamed bits are hex components; separators may be | or space."""
        self.assertEqual(mask_text(CryptographicUsageMask, 0x100C), "Encrypt Decrypt CertificateSign")
        self.assertEqual(mask_text(CryptographicUsageMask, 0), "0")
        for text in ("0x0000100c", "Encrypt Decrypt CertificateSign", "CertificateSign 0x00000004 0x0000008",
                     "CertificateSign|0x0000000c"):
            self.assertEqual(mask_from_text(CryptographicUsageMask, text), 0x100C)
        self.assertEqual(mask_from_text(CryptographicUsageMask, "0x80000000"), -(1 << 31))
        self.assertEqual(mask_text(CryptographicUsageMask, -(1 << 31)), "0x80000000")
        self.assertRaises(ValueError, mask_from_text, CryptographicUsageMask, "Encrypt Teleport")

    def test_datetime_forms(self) -> None:
        """Offsets are applied, Z and no zone mean UTC, fractions are truncated."""
        self.assertEqual(parse_datetime("2001-01-01T10:00:00+10:00"), 978307200)
        self.assertEqual(parse_datetime("2001-01-01T00:00:00Z"), 978307200)
        self.assertEqual(parse_datetime("2001-01-01T00:00:00.9"), 978307200)
        self.assertEqual(parse_datetime("2001-01-01T00:00:00.25Z", micros=True), 978307200_250000)
        self.assertRaises(ValueError, parse_datetime, "yesterday")
        self.assertRaises(ValueError, parse_datetime, "2001-02-30T00:00:00Z")


class WriteTests(SynchronousTestCase):
    """Items are written in the profile's specific element form."""

    def test_sample(self) -> None:
        """Every type, masks, context enumerations, escapes and extension tags are written exactly."""
        self.assertEqual(to_xml(SAMPLE), SAMPLE_XML)

    def test_round_trips(self) -> None:
        """xml -> Item -> xml and binary -> Item -> xml -> Item -> binary are identical."""
        self.assertEqual(from_xml(SAMPLE_XML), SAMPLE)
        self.assertEqual(to_xml(from_xml(SAMPLE_XML)), SAMPLE_XML)
        wire = encode(SAMPLE)
        self.assertEqual(encode(from_xml(to_xml(decode(wire)))), wire)

    def test_out_of_range_dates_as_hex(self) -> None:
        """A Date-Time beyond year 9999 is written as 64-bit hex and read back exactly."""
        item = Item.datetime(Tag.ARCHIVE_DATE, 1 << 40)
        text = to_xml(item)
        self.assertIn('value="0x0000010000000000"', text)
        self.assertEqual(from_xml(text), item)

    def test_big_integer_sign_extension(self) -> None:
        """Big Integers are two's complement hex padded to 8 bytes, like the binary codec."""
        for value, hexed in ((0, "0000000000000000"), (255, "00000000000000ff"),
                             (1 << 63, "00000000000000008000000000000000"), (-1, "ffffffffffffffff")):
            text = to_xml(Item.big(Tag.MODULUS, value))
            self.assertIn(f'value="{hexed}"', text)
            self.assertEqual(from_xml(text).value, value)

    def test_invalid_items_rejected(self) -> None:
        """Values that do not fit their type, or XML, raise EncodingError."""
        for item in (Item.int(Tag.BATCH_COUNT, 1 << 31), Item(Tag.BATCH_COUNT, ItemType.INTEGER, "1"),
                     Item.text(Tag.NAME_VALUE, "nul\x00"), Item(Tag.NAME_VALUE, 0x0C, "x"),
                     Item(Tag.BATCH_ORDER_OPTION, ItemType.BOOLEAN, 1)):
            self.assertRaises(EncodingError, to_xml, item)


class ReadTests(TextReaderTestsMixin, SynchronousTestCase):
    """Every form the profile allows is read; malformed input raises a named error."""

    parse = staticmethod(from_xml)
    render = staticmethod(to_xml)
    error = XmlDecodeError
    error_cases = {
        "<Nope/>": "unknown tag 'Nope'",
        "<BatchCount type='Integer'/>": "missing value attribute",
        "<BatchCount type='Integer' value='ten'/>": "'ten' is not a valid Integer",
        "<BatchCount type='Integer' value='4294967296'/>": "out of range",
        "<BatchCount type='Float' value='1'/>": "unknown type 'Float'",
        "<ObjectType type='Enumeration' value='Dragon'/>": "'Dragon' is not a value of ObjectType",
        "<AttributeValue type='Enumeration' value='AES'/>": "without a known enumeration",
        "<IVCounterNonce type='ByteString' value='abc'/>": "even-length hex",
        "<BatchOrderOption type='Boolean' value='yes'/>": "is not a Boolean",
        "<TimeStamp type='DateTime' value='noon'/>": "not an ISO 8601",
        "<BatchCount type='Integer' value='1'><X/></BatchCount>": "only a value attribute",
        "<RequestHeader>text</RequestHeader>": "text content inside a Structure",
        "<TTLV type='Integer' value='1'/>": "without a tag attribute",
        "<RequestHeader": "not well-formed XML",
        "<!DOCTYPE x [<!ENTITY a 'b'>]><RequestHeader/>": "DOCTYPE",
    }

    def test_alternative_forms(self) -> None:
        """TTLV/x-hex elements, namespaces, omitted Structure type, hex numbers are accepted."""
        text = """<RequestPayload xmlns="urn:oasis:tc:kmip:xmlns" type="Structure">
          <TTLV tag="0x420001" name="ActivationDate" type="DateTime" value="0x000000003a505520"/>
          <x540001 type="LongInteger" value="-2"/>
          <BatchCount type="Integer" value="0xffffffff"/>
          <Offset type="Interval" value="0x0000001b"/>
          <ObjectType type="Enumeration" value="0x00000002"/>
          <BatchOrderOption type="Boolean" value="0"/>
          <CryptographicUsageMask type="Integer" value="Encrypt Decrypt"/>
        </RequestPayload>"""
        self.assertEqual(from_xml(text), Item.struct(Tag.REQUEST_PAYLOAD, [
            Item.datetime(Tag.ACTIVATION_DATE, 978343200), Item.long(0x540001, -2),
            Item.int(Tag.BATCH_COUNT, -1), Item.interval(Tag.OFFSET, 27),
            Item.enum(Tag.OBJECT_TYPE, 2), Item.bool(Tag.BATCH_ORDER_OPTION, False),
            Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, 12)]))


    def test_utf16_doctype_refused(self) -> None:
        """A UTF-16 document (with or without BOM) carrying a DOCTYPE and entity is refused, not expanded."""
        document = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY one "1">]>'
                    '<BatchCount type="Integer" value="&one;"/>')
        for codec in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
            e = self.assertRaises(XmlDecodeError, from_xml, document.encode(codec))
            self.assertIn("must be UTF-8", str(e), codec)

    def test_other_encodings_refused(self) -> None:
        """A declaration naming another encoding is refused, even for plain ASCII content or a str."""
        for document in ('<?xml version="1.0" encoding="ISO-8859-1"?><BatchCount type="Integer" value="1"/>',
                         "<?xml version='1.0' encoding='UTF-16'?><BatchCount type='Integer' value='1'/>"):
            for text in (document, document.encode()):
                e = self.assertRaises(XmlDecodeError, from_xml, text)
                self.assertIn("must be UTF-8, not", str(e))

    def test_utf8_forms_accepted(self) -> None:
        """UTF-8 bytes with a BOM and/or a UTF-8 declaration, and str documents, are read."""
        expected = Item.text(Tag.UNIQUE_IDENTIFIER, "clé")
        element = '<UniqueIdentifier type="TextString" value="clé"/>'
        for document in (element, '<?xml version="1.0" encoding="utf-8"?>' + element,
                         "<?xml version='1.0' encoding='UTF8'?>" + element):
            self.assertEqual(from_xml(document), expected)
            self.assertEqual(from_xml(document.encode()), expected)
            self.assertEqual(from_xml(b"\xef\xbb\xbf" + document.encode()), expected)

    def test_utf8_dtd_refused_by_parser(self) -> None:
        """Internal entities, external entities and a bare DOCTYPE are all refused as XmlDecodeError."""
        for document in (
            '<!DOCTYPE x [<!ENTITY one "1">]><BatchCount type="Integer" value="&one;"/>',
            '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            '<UniqueIdentifier type="TextString" value="&e;"/>',
            '<!DOCTYPE BatchCount SYSTEM "http://example.invalid/kmip.dtd"><BatchCount type="Integer" value="1"/>',
            '<!DOCTYPE BatchCount><BatchCount type="Integer" value="1"/>',
        ):
            for text in (document, document.encode()):
                e = self.assertRaises(XmlDecodeError, from_xml, text)
                self.assertIn("DOCTYPE and ENTITY declarations are not allowed", str(e))

    def test_billion_laughs_refused(self) -> None:
        """Nested entity definitions are refused before any expansion."""
        entities = '<!ENTITY a0 "laugh">' + "".join(
            f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
        document = f'<!DOCTYPE x [{entities}]><UniqueIdentifier type="TextString" value="&a9;"/>'
        e = self.assertRaises(XmlDecodeError, from_xml, document.encode())
        self.assertIn("DOCTYPE", str(e))

    def test_doctype_text_outside_markup_accepted(self) -> None:
        """The check is the parser's, not a text search: "<!DOCTYPE" inside a comment or escaped is fine."""
        document = ('<!-- <!DOCTYPE x [<!ENTITY y "z">]> -->'
                    '<UniqueIdentifier type="TextString" value="&lt;!DOCTYPE x&gt;"/>')
        self.assertEqual(from_xml(document.encode()), Item.text(Tag.UNIQUE_IDENTIFIER, "<!DOCTYPE x>"))

    def test_undefined_entity_refused(self) -> None:
        """A reference to an undeclared entity is malformed XML."""
        e = self.assertRaises(XmlDecodeError, from_xml, '<BatchCount type="Integer" value="&one;"/>')
        self.assertIn("not well-formed XML", str(e))

    def test_placeholder_hook(self) -> None:
        """With a placeholder hook, $NAME values are handed to it instead of being parsed."""
        seen = []
        item = from_xml('<UniqueIdentifier type="TextString" value="$UNIQUE_IDENTIFIER_0"/>',
                        placeholder=lambda tag, typ, raw: seen.append((tag, typ, raw)) or "bound")
        self.assertEqual(item.value, "bound")
        self.assertEqual(seen, [(Tag.UNIQUE_IDENTIFIER, ItemType.TEXT_STRING, "$UNIQUE_IDENTIFIER_0")])


class VectorTests(SynchronousTestCase):
    """Every message of the OASIS conformance vectors reads and round-trips exactly."""

    def test_vectors_round_trip(self) -> None:
        """All placeholder-free vector messages survive xml -> Item -> xml -> Item and binary."""
        files = glob.glob(os.path.join(VECTORS, "*", "*", "*.xml"))
        if not files:
            raise SkipTest(f"no vectors under {VECTORS}")
        count = 0
        for path in files:
            for el in ET.parse(path).getroot():
                if not isinstance(el.tag, str):
                    continue
                item = element_to_item(el, placeholder=lambda tag, typ, raw: raw)
                if any(isinstance(n.value, str) and n.value.startswith("$") for n in item.walk()
                       if n.type != ItemType.TEXT_STRING):
                    continue
                text = to_xml(item)
                self.assertEqual(from_xml(text), item, path)
                self.assertEqual(to_xml(from_xml(text)), text, path)
                self.assertEqual(decode(encode(from_xml(text))), item, path)
                count += 1
        self.assertGreater(count, 1000)
