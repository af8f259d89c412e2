"""Tests for kmipd.spec: generated KMIP tags, enumerations, masks, versions and attribute rules."""

from __future__ import annotations

import enum
import importlib.util
import json
import os
import re
import sys
from typing import ClassVar

from twisted.trial.unittest import SynchronousTestCase

from kmipd import spec
from kmipd.spec import (
    ENUM_FOR_TAG,
    TAG_TYPES,
    VERSIONS,
    BlockCipherMode,
    CryptographicAlgorithm,
    CryptographicUsageMask,
    HashingAlgorithm,
    KeyFormatType,
    LinkType,
    ObjectType,
    Operation,
    ProtectionStorageMask,
    RecommendedCurve,
    ResultReason,
    State,
    StorageStatusMask,
    Tag,
    enum_from_name,
    enum_value_in_version,
    enum_values_for_version,
    tag_from_name,
    tag_in_version,
    tag_name,
    tag_type,
    tag_versions,
)
from kmipd.spec.attributes import ATTRIBUTES, AttributeSpec, attribute_by_tag

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_GENERATOR = os.path.join(_REPO, "tools", "gen_spec.py")
_GENERATED = os.path.join(_REPO, "kmipd", "spec", "_generated.py")
_TABLES = os.environ.get(
    "KMIPD_KMIP_TABLES",
    os.path.join(
        os.path.dirname(_REPO), "shared", "tools", "kmip_conform", "kmip_tables.json"
    ),
)

V10, V11, V12, V13, V14, V20, V21 = VERSIONS


def _load_generator():
    modspec = importlib.util.spec_from_file_location("_kmipd_gen_spec", _GENERATOR)
    assert modspec is not None and modspec.loader is not None
    module = importlib.util.module_from_spec(modspec)
    sys.modules[modspec.name] = (
        module  # dataclasses look their module up while decorating
    )
    modspec.loader.exec_module(module)
    return module


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


class VersionsTests(SynchronousTestCase):
    """The version list."""

    def test_versions(self) -> None:
        """VERSIONS lists the seven spec versions in order."""
        self.assertEqual(
            VERSIONS, ((1, 0), (1, 1), (1, 2), (1, 3), (1, 4), (2, 0), (2, 1))
        )

    def test_version_object(self) -> None:
        """Objects with major/minor attributes are accepted as versions."""

        class PV:
            major, minor = 1, 0

        self.assertFalse(
            enum_value_in_version(Operation, Operation.DISCOVER_VERSIONS, PV())
        )
        self.assertTrue(tag_in_version(Tag.UNIQUE_IDENTIFIER, PV()))

    def test_unknown_version_is_named_error(self) -> None:
        """An unknown version raises UnknownVersionError (a ValueError), not a crash."""
        with self.assertRaises(spec.UnknownVersionError):
            tag_in_version(Tag.UNIQUE_IDENTIFIER, (3, 0))
        with self.assertRaises(ValueError):
            enum_value_in_version(Operation, 1, (1, 5))
        with self.assertRaises(spec.UnknownVersionError):
            tag_in_version(Tag.UNIQUE_IDENTIFIER, "1.0")  # type: ignore[arg-type]


class TagTests(SynchronousTestCase):
    """Tag values, names and per-version membership."""

    def test_spot_values(self) -> None:
        """Well-known tags have their spec values."""
        self.assertEqual(Tag.UNIQUE_IDENTIFIER, 0x420094)
        self.assertEqual(Tag.KEY_VALUE, 0x420045)
        self.assertEqual(Tag.REQUEST_MESSAGE, 0x420078)
        self.assertEqual(Tag.RESPONSE_MESSAGE, 0x42007B)
        self.assertEqual(Tag.ACTIVATION_DATE, 0x420001)
        self.assertEqual(Tag.ATTRIBUTES, 0x420125)
        self.assertEqual(Tag.PROTECTION_STORAGE_MASK, 0x42015E)
        self.assertEqual(Tag.ROTATE_LATEST, 0x420172)
        self.assertIsInstance(Tag.UNIQUE_IDENTIFIER, enum.IntEnum)

    def test_tags_per_version(self) -> None:
        """Tags appear exactly in the versions whose tag table lists them."""
        self.assertEqual(tag_versions(Tag.UNIQUE_IDENTIFIER), frozenset(VERSIONS))
        self.assertFalse(tag_in_version(Tag.ATTRIBUTES, V14))
        self.assertTrue(tag_in_version(Tag.ATTRIBUTES, V20))
        self.assertFalse(tag_in_version(Tag.FRESH, V10))
        self.assertTrue(tag_in_version(Tag.FRESH, V11))
        self.assertFalse(tag_in_version(Tag.ROTATE_LATEST, V20))
        self.assertTrue(tag_in_version(Tag.ROTATE_LATEST, V21))
        # Template-Attribute was dropped in 2.0 (the tag value is "(Reserved)" there).
        self.assertTrue(tag_in_version(Tag.TEMPLATE_ATTRIBUTE, V14))
        self.assertFalse(tag_in_version(Tag.TEMPLATE_ATTRIBUTE, V20))

    def test_extension_tags_always_allowed(self) -> None:
        """Tags 0x540000-0x54FFFF are allowed in every version but not beyond that range."""
        for version in VERSIONS:
            self.assertTrue(tag_in_version(0x540000, version))
            self.assertTrue(tag_in_version(0x54FFFF, version))
            self.assertFalse(tag_in_version(0x550000, version))
            self.assertFalse(tag_in_version(0x420000, version))
        self.assertEqual(tag_versions(0x540123), frozenset(VERSIONS))

    def test_tag_name(self) -> None:
        """tag_name gives the spec text name, and hex for extension or unknown tags."""
        self.assertEqual(tag_name(Tag.UNIQUE_IDENTIFIER), "Unique Identifier")
        self.assertEqual(tag_name(0x42004D), "MAC/Signature")
        self.assertEqual(tag_name(0x540001), "0x540001")
        self.assertEqual(tag_name(0x54ABCD), "0x54ABCD")
        self.assertEqual(tag_name(0x999999), "0x999999")

    def test_tag_from_name(self) -> None:
        """tag_from_name accepts spaced, CamelCase, member and hex spellings."""
        for text in (
            "Unique Identifier",
            "UniqueIdentifier",
            "uniqueidentifier",
            "UNIQUE_IDENTIFIER",
            " unique identifier ",
        ):
            self.assertEqual(tag_from_name(text), 0x420094, text)
        self.assertEqual(tag_from_name("MAC/Signature Key Information"), 0x42004E)
        self.assertEqual(tag_from_name("0x540001"), 0x540001)
        self.assertIsNone(tag_from_name("No Such Tag"))
        self.assertIsNone(tag_from_name(""))
        self.assertIsNone(tag_from_name(None))  # type: ignore[arg-type]

    def test_round_trip_all_tags(self) -> None:
        """Every tag's name maps back to its value."""
        for tag in Tag:
            self.assertEqual(tag_from_name(tag_name(tag)), tag, tag_name(tag))

    def test_member_names_follow_rule(self) -> None:
        """Each Tag member name is its spec name upper-cased with '_' for punctuation runs."""
        for member, tag in Tag.__members__.items():
            if member == tag.name:
                expected = (
                    re.sub(r"[^A-Za-z0-9]+", "_", tag_name(tag)).strip("_").upper()
                )
                self.assertEqual(member, expected)


class ItemTypeTests(SynchronousTestCase):
    """TAG_TYPES and tag_type."""

    def test_spot_types(self) -> None:
        """Tag item types match the spec's encodings."""
        expected = {
            Tag.UNIQUE_IDENTIFIER: 7,
            Tag.KEY_BLOCK: 1,
            Tag.BATCH_COUNT: 2,
            Tag.USAGE_LIMITS_TOTAL: 3,
            Tag.MODULUS: 4,
            Tag.OPERATION: 5,
            Tag.KEY_VALUE_PRESENT: 6,
            Tag.NAME_VALUE: 7,
            Tag.IV_COUNTER_NONCE: 8,
            Tag.INITIAL_DATE: 9,
            Tag.LEASE_TIME: 10,
            Tag.CRYPTOGRAPHIC_USAGE_MASK: 2,
            Tag.STORAGE_STATUS_MASK: 2,
            Tag.REQUEST_MESSAGE: 1,
            Tag.ATTRIBUTES: 1,
        }
        for tag, typ in expected.items():
            self.assertEqual(TAG_TYPES[tag], typ, tag.name)

    def test_types_are_valid(self) -> None:
        """Every recorded type is one of the eleven TTLV item types, for a known tag."""
        for tag, typ in TAG_TYPES.items():
            self.assertIn(typ, range(1, 12))
            self.assertIn(tag, Tag._value2member_map_)

    def test_most_tags_typed(self) -> None:
        """All but the type-varies tags (Attribute Value, Custom Attribute, ...) have a type."""
        untyped = {tag_name(t) for t in Tag if t not in TAG_TYPES}
        self.assertLessEqual(len(untyped), 6, untyped)
        self.assertIn("Attribute Value", untyped)

    def test_version_dependent_type(self) -> None:
        """Asynchronous Indicator is a Boolean in 1.x and an Enumeration in 2.x."""
        self.assertEqual(tag_type(Tag.ASYNCHRONOUS_INDICATOR, V14), 6)
        self.assertEqual(tag_type(Tag.ASYNCHRONOUS_INDICATOR, V20), 5)
        self.assertEqual(tag_type(Tag.UNIQUE_IDENTIFIER, V10), 7)
        self.assertIsNone(tag_type(0x540001))

    def test_variant_types(self) -> None:
        """Key Value may be a Structure or (wrapped) Byte String."""
        self.assertEqual(spec.tag_allowed_types(Tag.KEY_VALUE), frozenset({1, 8}))
        self.assertIn(5, spec.tag_allowed_types(Tag.UNIQUE_IDENTIFIER))
        self.assertEqual(spec.tag_allowed_types(Tag.BATCH_COUNT), frozenset({2}))


class EnumerationTests(SynchronousTestCase):
    """Enumeration classes, member names and values."""

    def test_spot_values(self) -> None:
        """Enumeration members have the spec's values and the documented member names."""
        self.assertEqual(CryptographicAlgorithm.AES, 3)
        self.assertEqual(CryptographicAlgorithm.TRIPLE_DES, 2)
        self.assertEqual(CryptographicAlgorithm.HMAC_SHA256, 0x09)
        self.assertEqual(Operation.CREATE, 1)
        self.assertEqual(Operation.RE_KEY, 0x04)
        self.assertEqual(Operation.GET_ATTRIBUTE_LIST, 0x0C)
        self.assertEqual(Operation.DISCOVER_VERSIONS, 0x1E)
        self.assertEqual(ObjectType.SYMMETRIC_KEY, 2)
        self.assertEqual(HashingAlgorithm.SHA_256, 6)
        self.assertEqual(RecommendedCurve.P_256, 7)
        self.assertEqual(KeyFormatType.PKCS_1, 3)
        self.assertEqual(ResultReason.ITEM_NOT_FOUND, 1)
        self.assertEqual(State.PRE_ACTIVE, 1)
        self.assertEqual(LinkType.CERTIFICATE_LINK, 0x101)
        self.assertEqual(BlockCipherMode.GCM, 9)
        self.assertEqual(spec.ResultStatus.SUCCESS, 0)

    def test_required_classes_exist(self) -> None:
        """Every enumeration class other modules rely on is exported as an IntEnum."""
        names = [
            "CryptographicAlgorithm",
            "Operation",
            "ObjectType",
            "ResultStatus",
            "ResultReason",
            "BlockCipherMode",
            "PaddingMethod",
            "HashingAlgorithm",
            "KeyFormatType",
            "KeyCompressionType",
            "State",
            "NameType",
            "LinkType",
            "QueryFunction",
            "BatchErrorContinuationOption",
            "CredentialType",
            "RevocationReasonCode",
            "CertificateType",
            "SplitKeyMethod",
            "SecretDataType",
            "OpaqueDataType",
            "WrappingMethod",
            "EncodingOption",
            "DerivationMethod",
            "RecommendedCurve",
            "DigitalSignatureAlgorithm",
            "KeyRoleType",
            "ValidityIndicator",
            "AttestationType",
            "DestroyAction",
            "ObjectGroupMember",
            "UsageLimitsUnit",
            "CancellationResult",
            "PutFunction",
            "KeyValueLocationType",
            "AlternativeNameType",
            "RNGAlgorithm",
            "DRBGAlgorithm",
            "FIPS186Variation",
            "ProfileName",
        ]
        for name in names:
            cls = getattr(spec, name)
            self.assertTrue(issubclass(cls, enum.IntEnum), name)
            if name != "OpaqueDataType":  # the spec defines only the extension range
                self.assertGreater(len(cls), 0, name)

    def test_masks_are_flags(self) -> None:
        """The three masks are IntFlag and combine."""
        for cls in (CryptographicUsageMask, StorageStatusMask, ProtectionStorageMask):
            self.assertTrue(issubclass(cls, enum.IntFlag))
        both = CryptographicUsageMask.ENCRYPT | CryptographicUsageMask.DECRYPT
        self.assertEqual(int(both), 0x0C)
        self.assertEqual(StorageStatusMask.ON_LINE_STORAGE, 1)

    def test_member_names_follow_rule(self) -> None:
        """Enumeration member names are spec names upper-cased with '_' for punctuation."""
        for cls in spec.ENUMS.values():
            for member in cls:
                spec_name = spec.enum_value_name(cls, member)
                self.assertIsNotNone(spec_name)
                expected = re.sub(r"[^A-Za-z0-9]+", "_", spec_name).strip("_").upper()
                if expected[0].isdigit():
                    self.assertTrue(
                        member.name in ("TRIPLE_DES",) or member.name == "V_" + expected
                    )
                else:
                    self.assertEqual(member.name, expected)

    def test_renamed_value_alias(self) -> None:
        """A value renamed between 1.x and 2.x has the newest name as member and the old one as alias."""
        self.assertEqual(spec.MaskGenerator["MGF1"], spec.MaskGenerator.MFG1)
        self.assertEqual(spec.MaskGenerator.MFG1.name, "MFG1")
        dsa = spec.DigitalSignatureAlgorithm
        self.assertIs(
            dsa["MD2_WITH_RSA_ENCRYPTION_PKCS_1_V1_5"], dsa.MD2_WITH_RSA_ENCRYPTION
        )

    def test_enum_from_name(self) -> None:
        """enum_from_name accepts spec, compact and member spellings and old names."""
        self.assertEqual(enum_from_name(HashingAlgorithm, "SHA-256"), 6)
        self.assertEqual(enum_from_name(HashingAlgorithm, "SHA_256"), 6)
        self.assertEqual(enum_from_name(CryptographicAlgorithm, "3DES"), 2)
        self.assertEqual(enum_from_name(spec.MaskGenerator, "MGF1"), 1)
        self.assertIsNone(enum_from_name(HashingAlgorithm, "SHA-9"))

    def test_enum_by_name(self) -> None:
        """enum_by_name finds classes by spec or class name."""
        self.assertIs(spec.enum_by_name("Object Type"), ObjectType)
        self.assertIs(spec.enum_by_name("ObjectType"), ObjectType)
        self.assertIsNone(spec.enum_by_name("Nope"))

    def test_unknown_enum_class_is_named_error(self) -> None:
        """Passing a foreign class raises UnknownEnumerationError."""

        class Other(enum.IntEnum):
            A = 1

        with self.assertRaises(spec.UnknownEnumerationError):
            enum_value_in_version(Other, 1, V10)


class EnumVersionTests(SynchronousTestCase):
    """Per-version membership of enumeration values."""

    def test_discover_versions_not_in_1_0(self) -> None:
        """Discover Versions was added in 1.1."""
        self.assertFalse(
            enum_value_in_version(Operation, Operation.DISCOVER_VERSIONS, V10)
        )
        for version in VERSIONS[1:]:
            self.assertTrue(
                enum_value_in_version(Operation, Operation.DISCOVER_VERSIONS, version)
            )

    def test_values_for_version(self) -> None:
        """enum_values_for_version grows with versions and drops removed values."""
        ops10 = enum_values_for_version(Operation, V10)
        ops14 = enum_values_for_version(Operation, V14)
        ops21 = enum_values_for_version(Operation, V21)
        self.assertIn(Operation.CREATE, ops10)
        self.assertLess(ops10, ops14)
        self.assertIn(Operation.ENCRYPT, ops14)
        self.assertNotIn(Operation.ENCRYPT, ops10)
        self.assertIn(Operation.LOG, ops21)
        self.assertNotIn(Operation.LOG, ops14)
        # Template object type was removed in 2.0
        self.assertIn(ObjectType.TEMPLATE, enum_values_for_version(ObjectType, V14))
        self.assertNotIn(ObjectType.TEMPLATE, enum_values_for_version(ObjectType, V20))

    def test_unknown_and_extension_values(self) -> None:
        """Unknown values are not in any version; 0x8XXXXXXX extensions always are."""
        self.assertFalse(enum_value_in_version(Operation, 0x7FFF, V21))
        self.assertTrue(enum_value_in_version(Operation, 0x80000001, V10))

    def test_mask_membership(self) -> None:
        """A mask value is in a version when all its bits are defined there."""
        cum = CryptographicUsageMask
        self.assertTrue(enum_value_in_version(cum, cum.SIGN | cum.VERIFY, V10))
        self.assertTrue(enum_value_in_version(cum, 0, V10))
        self.assertFalse(enum_value_in_version(cum, cum.SIGN | cum.AUTHENTICATE, V14))
        self.assertTrue(enum_value_in_version(cum, cum.SIGN | cum.AUTHENTICATE, V20))
        self.assertTrue(enum_value_in_version(cum, cum.EXPORT, V14))
        self.assertFalse(enum_value_in_version(cum, cum.EXPORT, V20))
        self.assertFalse(enum_value_in_version(cum, 0x40000000, V21))
        self.assertEqual(
            enum_values_for_version(ProtectionStorageMask, V14), frozenset()
        )

    def test_tag_enum_membership(self) -> None:
        """Tag (carried by Attribute Reference) answers membership like tag_in_version."""
        self.assertTrue(enum_value_in_version(Tag, Tag.ATTRIBUTES, V20))
        self.assertFalse(enum_value_in_version(Tag, Tag.ATTRIBUTES, V14))


class EnumForTagTests(SynchronousTestCase):
    """ENUM_FOR_TAG."""

    def test_spot_mappings(self) -> None:
        """Enumeration-typed tags map to their enumeration classes."""
        self.assertIs(ENUM_FOR_TAG[Tag.OPERATION], Operation)
        self.assertIs(ENUM_FOR_TAG[Tag.CRYPTOGRAPHIC_ALGORITHM], CryptographicAlgorithm)
        self.assertIs(ENUM_FOR_TAG[Tag.RESULT_REASON], ResultReason)
        self.assertIs(ENUM_FOR_TAG[Tag.OBJECT_TYPE], ObjectType)
        self.assertIs(ENUM_FOR_TAG[Tag.STATE], State)
        self.assertIs(
            ENUM_FOR_TAG[Tag.BATCH_ERROR_CONTINUATION_OPTION],
            spec.BatchErrorContinuationOption,
        )
        self.assertIs(
            ENUM_FOR_TAG[Tag.MASK_GENERATOR_HASHING_ALGORITHM], HashingAlgorithm
        )
        self.assertIs(ENUM_FOR_TAG[Tag.ATTRIBUTE_REFERENCE], Tag)
        self.assertIs(
            spec.MASK_FOR_TAG[Tag.CRYPTOGRAPHIC_USAGE_MASK], CryptographicUsageMask
        )

    def test_every_enumeration_tag_mapped(self) -> None:
        """Every tag typed Enumeration has an enumeration class."""
        missing = [
            tag_name(t)
            for t, typ in TAG_TYPES.items()
            if typ == 5 and t not in ENUM_FOR_TAG
        ]
        self.assertEqual(missing, [])


class ConformanceTablesTests(SynchronousTestCase):
    """Cross-check against kmip_conform's tables from the 1.4 and 2.1 specs."""

    # Names in kmip_tables.json that differ from the spec texts.
    RENAMED: ClassVar[dict[str, str]] = {"des3": "3des"}
    # kmip_tables.json lists these for 1.4 although the 1.4 text does not define them: the
    # PKCS#11 values exist from 2.0; 0x420137 is the 2.x "Reserved" tag, deliberately not a Tag.
    NOT_IN_VERSION: ClassVar[frozenset[tuple[str, str]]] = frozenset(
        {("1", "pkcs11function"), ("1", "pkcs11returncode")}
    )
    SKIP_TAGS: ClassVar[frozenset[str]] = frozenset({"extensions", "reserved"})

    def setUp(self) -> None:
        if not os.path.exists(_TABLES):
            raise self.skipTest(f"{_TABLES} not available")
        with open(_TABLES, encoding="utf-8") as f:
            self.tables = json.load(f)

    def test_tags(self) -> None:
        """Every tag in kmip_tables.json exists with the same value, in that version."""
        for major, version in (("1", V14), ("2", V21)):
            for key, (value, _) in self.tables[major]["tags"].items():
                if key in self.SKIP_TAGS:
                    continue
                self.assertEqual(tag_from_name(key), value, key)
                self.assertTrue(tag_in_version(value, version), (key, version))

    def test_enumerations_and_masks(self) -> None:
        """Every enumeration and mask value in kmip_tables.json has the same number."""
        checked = 0
        for major, version in (("1", V14), ("2", V21)):
            for section in ("enums", "masks"):
                for ename, values in self.tables[major][section].items():
                    cls = spec.enum_by_name(ename)
                    self.assertIsNotNone(cls, ename)
                    for vname, value in values.items():
                        got = enum_from_name(cls, self.RENAMED.get(vname, vname))
                        self.assertEqual(got, value, (ename, vname))
                        if (major, ename) not in self.NOT_IN_VERSION:
                            self.assertTrue(
                                enum_value_in_version(cls, value, version),
                                (ename, vname, version),
                            )
                        checked += 1
        self.assertGreater(checked, 1000)


class AttributeTests(SynchronousTestCase):
    """ATTRIBUTES and attribute_by_tag."""

    def test_spot_rules(self) -> None:
        """Attribute rules match the spec's rule tables."""
        alg = ATTRIBUTES["Cryptographic Algorithm"]
        self.assertIsInstance(alg, AttributeSpec)
        self.assertEqual(alg.tag, Tag.CRYPTOGRAPHIC_ALGORITHM)
        self.assertEqual(alg.item_type, 5)
        self.assertFalse(alg.multiple)
        self.assertFalse(alg.modifiable_by_client)
        self.assertEqual(alg.versions, frozenset(VERSIONS))

        name = ATTRIBUTES["Name"]
        self.assertTrue(name.multiple)
        self.assertEqual(name.initially_set_by, frozenset({"client"}))
        self.assertTrue(name.modifiable_by_client)
        self.assertTrue(name.deletable_by_client)
        self.assertFalse(name.server_only)
        self.assertEqual(name.object_types, frozenset())
        self.assertTrue(name.applies_to(ObjectType.SECRET_DATA))

        link = ATTRIBUTES["Link"]
        self.assertTrue(link.multiple)
        self.assertEqual(link.item_type, 1)

    def test_server_only(self) -> None:
        """Server-set attributes are server_only; client-settable ones are not."""
        for name in (
            "Unique Identifier",
            "Object Type",
            "Initial Date",
            "State",
            "Digest",
            "Last Change Date",
            "Destroy Date",
        ):
            self.assertTrue(ATTRIBUTES[name].server_only, name)
            self.assertIn("server", ATTRIBUTES[name].initially_set_by, name)
        for name in (
            "Name",
            "Activation Date",
            "Cryptographic Usage Mask",
            "Contact Information",
        ):
            self.assertFalse(ATTRIBUTES[name].server_only, name)

    def test_object_types(self) -> None:
        """Applies-to lists are read as ObjectType sets."""
        self.assertEqual(
            ATTRIBUTES["Certificate Type"].object_types,
            frozenset({ObjectType.CERTIFICATE}),
        )
        self.assertFalse(
            ATTRIBUTES["Certificate Type"].applies_to(ObjectType.SYMMETRIC_KEY)
        )
        length = ATTRIBUTES["Cryptographic Length"]
        self.assertTrue(length.applies_to(ObjectType.SYMMETRIC_KEY))
        self.assertEqual(
            ATTRIBUTES["Opaque Data Type"].object_types,
            frozenset({ObjectType.OPAQUE_OBJECT}),
        )

    def test_versions(self) -> None:
        """Attributes list the versions that define them."""
        self.assertFalse(ATTRIBUTES["Fresh"].in_version(V10))
        self.assertTrue(ATTRIBUTES["Fresh"].in_version(V11))
        self.assertEqual(ATTRIBUTES["Rotate Latest"].versions, frozenset({V21}))
        self.assertNotIn(V20, ATTRIBUTES["Operation Policy Name"].versions)

    def test_attribute_by_tag(self) -> None:
        """attribute_by_tag finds attributes and returns None for non-attribute tags."""
        self.assertIs(attribute_by_tag(Tag.NAME), ATTRIBUTES["Name"])
        self.assertIs(attribute_by_tag(0x420053), ATTRIBUTES["Name"])
        self.assertIsNone(attribute_by_tag(Tag.REQUEST_MESSAGE))
        self.assertIsNone(attribute_by_tag(0x540001))

    def test_frozen(self) -> None:
        """AttributeSpec is immutable."""
        with self.assertRaises(AttributeError):
            ATTRIBUTES["Name"].multiple = False  # type: ignore[misc]

    def test_every_attribute_tag_typed(self) -> None:
        """Every attribute's tag is a Tag member, and all but Custom Attribute have a type."""
        for name, attr in ATTRIBUTES.items():
            self.assertIn(attr.tag, Tag._value2member_map_, name)
            if name != "Custom Attribute":
                self.assertIn(attr.item_type, range(1, 12), name)


class GeneratorTests(SynchronousTestCase):
    """tools/gen_spec.py reproduces the checked-in module."""

    def setUp(self) -> None:
        self.gen = _load_generator()
        if not os.path.isdir(self.gen.DEFAULT_SPEC_DIR):
            raise self.skipTest(f"spec texts not found at {self.gen.DEFAULT_SPEC_DIR}")

    def test_deterministic_and_current(self) -> None:
        """Running the generator produces _generated.py byte for byte."""
        with open(_GENERATED, encoding="utf-8", newline="") as f:
            current = f.read()
        first = self.gen.generate()
        self.assertEqual(first, self.gen.generate())
        self.assertEqual(
            first, current, "kmipd/spec/_generated.py is stale: run tools/gen_spec.py"
        )

    def test_table_reader_joins_wrapped_rows(self) -> None:
        """A table row wrapped over two lines is read as one row."""
        text = (
            "9.1.3.1 Tags\n"
            "┌──────────────────────┐\n"
            "│         Tag          │\n"
            "├──────────┬───────────┤\n"
            "│Object    │Tag Value  │\n"
            "├──────────┼───────────┤\n"
            "│MAC/Sig   │42004E     │\n"
            "│Key Info  │           │\n"
            "└──────────┴───────────┘"
        )
        (table,) = self.gen.read_tables(text)
        self.assertEqual(table.rows[-1], ["MAC/Sig Key Info", "42004E"])
        self.assertEqual(self.gen.extract(text).tags, {0x42004E: "MAC/Sig Key Info"})

    def test_member_name(self) -> None:
        """The generator's naming rule covers punctuation and leading digits."""
        mn = self.gen.member_name
        self.assertEqual(mn("SHA-256"), "SHA_256")
        self.assertEqual(mn("PKCS#1"), "PKCS_1")
        self.assertEqual(mn("3DES"), "TRIPLE_DES")
        self.assertEqual(mn("2K Thing"), "V_2K_THING")
        self.assertEqual(self.gen.class_name("RNG Algorithm"), "RNGAlgorithm")
        self.assertEqual(self.gen.class_name("PKCS#11 Function"), "PKCS11Function")
