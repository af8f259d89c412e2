"""Real clients' known deviations (kmipd.compat.DEVIATIONS), each with the requests that client sends.

The requests are written in KMIP XML (the OASIS test-vector notation) the way each client builds
them, turned into TTLV by kmipd's codec and sent through the dispatcher as bytes.
"""

from __future__ import annotations

import os

from twisted.trial.unittest import SynchronousTestCase

from kmipd.compat import DEVIATIONS, row
from kmipd.config import ConfigError, load_config
from kmipd.dispatch import Caller
from kmipd.policy.builtin import BUILTIN_POLICIES, DEFAULT_ROWS, DEFAULT_SET_ATTRIBUTE_ROWS, table_from_rows
from kmipd.policy.model import Permission, Policy, PolicyEngine
from kmipd.settings import Settings
from kmipd.spec import ObjectType, Operation, ResultReason, ResultStatus, State, Tag
from kmipd.testing import FakeClock, Result, make_processor, results
from kmipd.ttlv import decode, encode
from kmipd.ttlv.xml import from_xml

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def header(major: int, minor: int, count: int = 1) -> str:
    return f"""<RequestHeader><ProtocolVersion>
      <ProtocolVersionMajor type="Integer" value="{major}"/><ProtocolVersionMinor type="Integer" value="{minor}"/>
      </ProtocolVersion><BatchCount type="Integer" value="{count}"/></RequestHeader>"""


def message(version: tuple[int, int], operation: str, payload: str) -> str:
    return (f"<RequestMessage>{header(*version)}<BatchItem><Operation type=\"Enumeration\" value=\"{operation}\"/>"
            f"<RequestPayload>{payload}</RequestPayload></BatchItem></RequestMessage>")


def exchange(d, xml: str, caller: str = "alice") -> Result:
    """Send the XML request as TTLV bytes; the one result."""
    reply = d.process(encode(from_xml(xml)), Caller(caller))
    (result,) = results(decode(reply.data))
    return result


def attr(name: str, value: str) -> str:
    return f'<Attribute><AttributeName type="TextString" value="{name}"/>{value}</Attribute>'


def name_attr(text: str) -> str:
    return attr("Name", f'<AttributeValue><NameValue type="TextString" value="{text}"/>'
                        f'<NameType type="Enumeration" value="UninterpretedTextString"/></AttributeValue>')


def create_1x(d, version: tuple[int, int], name: str, caller: str = "alice") -> str:
    """A 1.x Create of an AES-256 key named C{name} (the conformance vectors' shape)."""
    r = exchange(d, message(version, "Create", f"""<ObjectType type="Enumeration" value="SymmetricKey"/>
        <TemplateAttribute>
          {attr("Cryptographic Algorithm", '<AttributeValue type="Enumeration" value="AES"/>')}
          {attr("Cryptographic Length", '<AttributeValue type="Integer" value="256"/>')}
          {attr("Cryptographic Usage Mask", '<AttributeValue type="Integer" value="Encrypt Decrypt"/>')}
          {name_attr(name)}
        </TemplateAttribute>"""), caller)
    assert r.ok, r
    return r.payload.get(Tag.UNIQUE_IDENTIFIER)  # type: ignore[union-attr]


def pykmip_request(version: tuple[int, int], operation: str, payload: object) -> bytes:
    """A request message encoded by PyKMIP's own message classes, as its clients send it."""
    from kmip.core import enums
    from kmip.core.messages import contents, messages
    from kmip.core.utils import BytearrayStream

    kmip_version = getattr(enums.KMIPVersion, f"KMIP_{version[0]}_{version[1]}")
    header = messages.RequestHeader(protocol_version=contents.ProtocolVersion(*version),
                                    batch_count=contents.BatchCount(1))
    item = messages.RequestBatchItem(operation=contents.Operation(getattr(enums.Operation, operation)),
                                     request_payload=payload)
    stream = BytearrayStream()
    messages.RequestMessage(request_header=header, batch_items=[item]).write(stream, kmip_version=kmip_version)
    return bytes(stream.buffer)


def send_bytes(d, data: bytes, caller: str = "alice") -> Result:
    (result,) = results(decode(d.process(data, Caller(caller)).data))
    return result


def uids(r: Result) -> list[str]:
    assert r.payload is not None, r
    return [c.value for c in r.payload.findall(Tag.UNIQUE_IDENTIFIER)]


class TableTests(SynchronousTestCase):
    """The table itself: every row names its client, the code applying it and an existing test."""

    def test_rows(self) -> None:
        """Unique keys; each row's test class exists in this module."""
        self.assertEqual(len({d.key for d in DEVIATIONS}), len(DEVIATIONS))
        for d in DEVIATIONS:
            self.assertTrue(d.client and d.deviation and d.accepted and d.where, d.key)
            module, cls = d.test.rsplit(".", 1)
            self.assertEqual(module, __name__, d.key)
            self.assertIn(cls, globals(), d.key)
        self.assertRaises(KeyError, row, "no-such-habit")

    def test_documented(self) -> None:
        """docs/operations.md lists every row (client and deviation)."""
        with open(os.path.join(_REPO, "docs", "operations.md"), encoding="utf-8") as f:
            text = f.read()
        for d in DEVIATIONS:
            self.assertIn(f"`{d.key}`", text)


class FortiOSLocateTests(SynchronousTestCase):
    """FortiOS 7.x: a KMIP 1.0 Locate whose criteria sit in a Template-Attribute."""

    def locate(self, d, name: str, version: tuple[int, int] = (1, 0)) -> Result:
        return exchange(d, message(version, "Locate", f"""<TemplateAttribute>
            {attr("Object Type", '<AttributeValue type="Enumeration" value="SymmetricKey"/>')}
            {name_attr(name)}</TemplateAttribute>"""))

    def test_criteria_applied(self) -> None:
        """The wrapped Name criterion selects its key, never another (the newest) one."""
        d = make_processor(clock=FakeClock())
        first = create_1x(d, (1, 0), "fortigate-ipsec-1")
        second = create_1x(d, (1, 0), "fortigate-ipsec-2")
        self.assertEqual(uids(self.locate(d, "fortigate-ipsec-1")), [first])
        self.assertEqual(uids(self.locate(d, "fortigate-ipsec-2")), [second])
        self.assertEqual(uids(self.locate(d, "fortigate-ipsec-3")), [])

    def test_template_reference_refused(self) -> None:
        """A Name directly in the Template-Attribute (a template reference) is Invalid Field."""
        d = make_processor()
        r = exchange(d, message((1, 0), "Locate", """<TemplateAttribute><Name>
            <NameValue type="TextString" value="t"/><NameType type="Enumeration" value="UninterpretedTextString"/>
            </Name></TemplateAttribute>"""))
        self.assertEqual(r.reason, ResultReason.INVALID_FIELD)

    def test_not_in_2x(self) -> None:
        """2.x has no Template-Attribute: the same request is an unknown field there."""
        d = make_processor()
        self.assertEqual(self.locate(d, "x", (2, 0)).reason, ResultReason.INVALID_FIELD)


class PyKMIPLocateTests(SynchronousTestCase):
    """The PyKMIP client always sends Offset Items, also at KMIP 1.2 (a 1.3 field)."""

    def test_offset_items_applied_in_1_2(self) -> None:
        """Maximum Items 1, Offset Items 1 at 1.2: the second newest key, no Located Items."""
        d = make_processor(clock=(clock := FakeClock()))
        made = []
        for i in range(3):
            made.append(create_1x(d, (1, 2), f"k{i}"))
            clock.advance(1)
        r = exchange(d, message((1, 2), "Locate", """<MaximumItems type="Integer" value="1"/>
            <OffsetItems type="Integer" value="1"/>
            """ + attr("Object Type", '<AttributeValue type="Enumeration" value="SymmetricKey"/>')))
        self.assertEqual(uids(r), [made[1]])
        self.assertIsNone(r.payload.find(Tag.LOCATED_ITEMS))  # type: ignore[union-attr]

    def test_pykmip_encoded_locate(self) -> None:
        """The bytes PyKMIP 0.11's LocateRequestPayload writes for KMIP 1.2 (Offset Items included)."""
        try:
            from kmip.core import enums
            from kmip.core.factories.attributes import AttributeFactory
            from kmip.core.messages import payloads
        except ImportError:
            raise self.skipTest("PyKMIP is not installed") from None
        d = make_processor(clock=(clock := FakeClock()))
        made = []
        for i in range(3):
            made.append(create_1x(d, (1, 2), f"p{i}"))
            clock.advance(1)
        kind = AttributeFactory().create_attribute(enums.AttributeType.OBJECT_TYPE, enums.ObjectType.SYMMETRIC_KEY)
        data = pykmip_request((1, 2), "LOCATE", payloads.LocateRequestPayload(
            maximum_items=2, offset_items=1, attributes=[kind]))
        self.assertEqual(decode(data).find(Tag.BATCH_ITEM).find(Tag.REQUEST_PAYLOAD).get(  # type: ignore[union-attr]
            Tag.OFFSET_ITEMS), 1)
        self.assertEqual(uids(send_bytes(d, data)), [made[1], made[0]])


def create_2x(object_type_in_attributes: str | None, version: tuple[int, int] = (2, 0)) -> str:
    extra = (f'<ObjectType type="Enumeration" value="{object_type_in_attributes}"/>'
             if object_type_in_attributes else "")
    return message(version, "Create", f"""<ObjectType type="Enumeration" value="SymmetricKey"/>
        <Attributes>
          <CryptographicAlgorithm type="Enumeration" value="AES"/>
          <CryptographicLength type="Integer" value="256"/>
          <CryptographicUsageMask type="Integer" value="Encrypt Decrypt"/>
          {extra}
        </Attributes>""")


class ObjectTypeInAttributesTests(SynchronousTestCase):
    """EDB TDE and others: 2.x Create/Register whose Attributes repeat the Object Type."""

    def test_equal_accepted(self) -> None:
        """Create with Object Type Symmetric Key in the Attributes too: a Symmetric Key."""
        d = make_processor()
        for version in ((2, 0), (2, 1)):
            r = exchange(d, create_2x("SymmetricKey", version))
            self.assertTrue(r.ok, r)
            self.assertEqual(r.payload.get(Tag.OBJECT_TYPE), ObjectType.SYMMETRIC_KEY)  # type: ignore[union-attr]

    def test_different_refused(self) -> None:
        """Another Object Type in the Attributes than in the payload: Invalid Field."""
        r = exchange(make_processor(), create_2x("SecretData"))
        self.assertEqual((r.status, r.reason), (ResultStatus.OPERATION_FAILED, ResultReason.INVALID_FIELD))

    def test_register(self) -> None:
        """Register of a Secret Data whose Attributes carry Object Type Secret Data."""
        d = make_processor()
        body = """<ObjectType type="Enumeration" value="SecretData"/>
            <Attributes><ObjectType type="Enumeration" value="SecretData"/>
              <CryptographicUsageMask type="Integer" value="DeriveKey"/></Attributes>
            <SecretData><SecretDataType type="Enumeration" value="Password"/>
              <KeyBlock><KeyFormatType type="Enumeration" value="Opaque"/>
                <KeyValue><KeyMaterial type="ByteString" value="73656372657431"/></KeyValue></KeyBlock>
            </SecretData>"""
        r = exchange(d, message((2, 1), "Register", body))
        self.assertTrue(r.ok, r)
        r = exchange(d, message((2, 1), "Register", body.replace(
            '<Attributes><ObjectType type="Enumeration" value="SecretData"/>',
            '<Attributes><ObjectType type="Enumeration" value="OpaqueObject"/>')))
        self.assertEqual(r.reason, ResultReason.INVALID_FIELD)

    def test_1x_unchanged(self) -> None:
        """1.x templates keep the old rule: Object Type is the server's (Read Only Attribute... refused)."""
        d = make_processor()
        r = exchange(d, message((1, 4), "Create", """<ObjectType type="Enumeration" value="SymmetricKey"/>
            <TemplateAttribute>
            """ + attr("Cryptographic Algorithm", '<AttributeValue type="Enumeration" value="AES"/>')
            + attr("Cryptographic Length", '<AttributeValue type="Integer" value="128"/>')
            + attr("Cryptographic Usage Mask", '<AttributeValue type="Integer" value="Encrypt"/>')
            + attr("Object Type", '<AttributeValue type="Enumeration" value="SymmetricKey"/>')
            + "</TemplateAttribute>"))
        self.assertFalse(r.ok)


def shared_policies() -> PolicyEngine:
    """The built-in policies plus C{shared}: anyone may Get, Add and Modify Attribute."""
    rows = DEFAULT_ROWS + DEFAULT_SET_ATTRIBUTE_ROWS
    shared = [(ot, op, Permission.ALLOW_ALL if op in (Operation.ADD_ATTRIBUTE, Operation.MODIFY_ATTRIBUTE,
                                                       Operation.GET_ATTRIBUTES) else perm)
              for ot, op, perm in rows]
    return PolicyEngine({**BUILTIN_POLICIES, "shared": Policy(preset=table_from_rows(tuple(shared)))})


def opn(value: str) -> str:
    return attr("Operation Policy Name", f'<AttributeValue type="TextString" value="{value}"/>')


class OperationPolicyNameTests(SynchronousTestCase):
    """VAST Data: Operation Policy Name added or modified after creation (1.x: client-modifiable)."""

    def setUp(self) -> None:
        self.d = make_processor(policy=shared_policies())
        self.uid = create_1x(self.d, (1, 4), "vast-key")

    def change(self, op: str, value: str, caller: str = "alice", version: tuple[int, int] = (1, 4)) -> Result:
        return exchange(self.d, message(version, op, f'<UniqueIdentifier type="TextString" value="{self.uid}"/>'
                                        + opn(value)), caller)

    def policy_of(self) -> str | None:
        with self.d.store.transaction() as tx:
            return tx.get(self.uid).value("Operation Policy Name")

    def test_add_replaces_default(self) -> None:
        """An Add by the owner replaces the server's default policy (GetAttributes does not show it)."""
        r = self.change("AddAttribute", "shared")
        self.assertTrue(r.ok, r)
        self.assertEqual(self.policy_of(), "shared")

    def test_modify(self) -> None:
        """Modify by the owner, to a policy that exists; the new policy then governs the object."""
        self.assertTrue(self.change("ModifyAttribute", "shared").ok)
        self.assertEqual(self.policy_of(), "shared")
        # under "shared" anyone may Modify Attribute, but only the owner may move the object's policy
        r = self.change("ModifyAttribute", "default", caller="bob")
        self.assertEqual(r.reason, ResultReason.PERMISSION_DENIED)
        self.assertEqual(self.policy_of(), "shared")
        self.assertTrue(self.change("ModifyAttribute", "default").ok)
        self.assertEqual(self.policy_of(), "default")

    def test_unknown_policy(self) -> None:
        """A policy that does not exist: Invalid Field, nothing changed."""
        self.assertEqual(self.change("ModifyAttribute", "no-such-policy").reason, ResultReason.INVALID_FIELD)
        self.assertEqual(self.policy_of(), "default")

    def test_current_policy_rights(self) -> None:
        """The current policy's Modify Attribute right applies: under default a stranger cannot even ask."""
        r = self.change("ModifyAttribute", "shared", caller="mallory")
        self.assertEqual(r.reason, ResultReason.PERMISSION_DENIED)
        self.assertEqual(self.policy_of(), "default")

    def test_delete_still_refused(self) -> None:
        """Deleting the Operation Policy Name stays refused (the row covers Add/Modify/Set only)."""
        r = exchange(self.d, message((1, 4), "DeleteAttribute",
                                     f'<UniqueIdentifier type="TextString" value="{self.uid}"/>'
                                     '<AttributeName type="TextString" value="Operation Policy Name"/>'))
        self.assertFalse(r.ok)
        self.assertEqual(self.policy_of(), "default")


def revoke(uid: str, reason: str = "CessationOfOperation", version: tuple[int, int] = (1, 2)) -> str:
    """The Revoke Percona's keyring (1.x) and PyKMIP scripts send for a key they no longer want."""
    return message(version, "Revoke", f"""<UniqueIdentifier type="TextString" value="{uid}"/>
        <RevocationReason><RevocationReasonCode type="Enumeration" value="{reason}"/></RevocationReason>""")


class RevokePreActiveTests(SynchronousTestCase):
    """Percona keyring / PyKMIP scripts: Revoke (non-compromise) of a never-activated key."""

    def state(self, d, uid: str):
        with d.store.transaction() as tx:
            obj = tx.get(uid)
            return obj.state, obj.value("Deactivation Date"), obj.first("Revocation Reason")

    def test_refused_by_default(self) -> None:
        """The seed's rule: Illegal Operation, the key stays Pre-Active."""
        d = make_processor()
        uid = create_1x(d, (1, 2), "percona")
        self.assertEqual(exchange(d, revoke(uid)).reason, ResultReason.ILLEGAL_OPERATION)
        self.assertEqual(self.state(d, uid)[0], State.PRE_ACTIVE)

    def test_deactivate_setting(self) -> None:
        """With revoke_preactive = deactivate: Deactivated, with Deactivation Date and Revocation Reason."""
        clock = FakeClock()
        d = make_processor(clock=clock, settings=Settings(revoke_preactive="deactivate"))
        uid = create_1x(d, (1, 2), "percona")
        r = exchange(d, revoke(uid))
        self.assertTrue(r.ok, r)
        state, date, reason = self.state(d, uid)
        self.assertEqual((state, date), (State.DEACTIVATED, int(clock.now)))
        self.assertIsNotNone(reason)
        # the Deactivated key can then be destroyed, which is why the clients revoke it
        destroyed = exchange(d, message((1, 2), "Destroy", f'<UniqueIdentifier type="TextString" value="{uid}"/>'))
        self.assertTrue(destroyed.ok, destroyed)

    def test_pykmip_encoded_revoke(self) -> None:
        """The bytes PyKMIP 0.11's RevokeRequestPayload writes (a 1.2 Revoke, Cessation of Operation)."""
        try:
            from kmip.core import attributes, enums, objects
            from kmip.core.messages import payloads
        except ImportError:
            raise self.skipTest("PyKMIP is not installed") from None
        for setting, ok in (("refuse", False), ("deactivate", True)):
            d = make_processor(settings=Settings(revoke_preactive=setting))
            uid = create_1x(d, (1, 2), "pykmip-script")
            reason = objects.RevocationReason(code=enums.RevocationReasonCode.CESSATION_OF_OPERATION)
            data = pykmip_request((1, 2), "REVOKE", payloads.RevokeRequestPayload(
                unique_identifier=attributes.UniqueIdentifier(uid),
                revocation_reason=reason))
            r = send_bytes(d, data)
            self.assertEqual(r.ok, ok, r)
            self.assertEqual(self.state(d, uid)[0], State.DEACTIVATED if ok else State.PRE_ACTIVE)

    def test_compromise_unchanged(self) -> None:
        """A compromise reason keeps its transition (Pre-Active -> Compromised) whatever the setting."""
        d = make_processor(settings=Settings(revoke_preactive="deactivate"))
        uid = create_1x(d, (1, 2), "percona")
        self.assertTrue(exchange(d, revoke(uid, "KeyCompromise")).ok)
        self.assertEqual(self.state(d, uid)[0], State.COMPROMISED)

    def test_config_key(self) -> None:
        """[server] revoke_preactive: refuse (default) or deactivate; anything else names the key."""
        self.assertEqual(load_config(environ={}).settings.revoke_preactive, "refuse")
        config = load_config(overrides={"revoke_preactive": "Deactivate"}, environ={})
        self.assertEqual(config.settings.revoke_preactive, "deactivate")
        e = self.assertRaises(ConfigError, load_config, overrides={"revoke_preactive": "maybe"}, environ={})
        self.assertEqual(e.key, "revoke_preactive")
