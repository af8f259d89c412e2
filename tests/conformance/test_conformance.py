"""OASIS conformance vectors replayed against kmipd, and tests of the replay runner itself.

One test per vector file and directory (generated): the vector runs against a fresh in-process
kmipd.  Vectors listed in C{expected_failures.txt} are expected failures (trial C{todo}); if one of
them passes, the test errors (C{UnexpectedPass}) so the list gets regenerated with
C{python -m tests.conformance.runner --update-expected}.  The vectors are looked up in
C{$KMIPD_CONFORMANCE_DIR} or C{<repo>/../shared/conformance}; without them these tests skip.
"""

from __future__ import annotations

import os
import re

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from kmipd.spec import Tag
from kmipd.ttlv import Item, ItemType

from . import runner
from .runner import Matcher, SelfTestExchange, load_vector

ROOT = runner.default_vector_root()
DIRECTORIES = ("kmip-1.0-1.2/mandatory", "kmip-1.0-1.2/optional", "kmip-1.4/mandatory", "kmip-1.4/optional")
EXPECTED = runner.load_expected_failures()


class VectorFailed(AssertionError):
    """kmipd's answer differs from the vector's expected response."""


class UnexpectedPass(Exception):
    """A vector listed in expected_failures.txt passed: regenerate the list."""


def _files(rel: str) -> list[str]:
    path = os.path.join(ROOT, rel)
    return runner.vector_files(path) if os.path.isdir(path) else []


def _method_name(prefix: str, file_name: str) -> str:
    return "test_" + re.sub(r"\W", "_", file_name[:-4])


def _kmipd_test(rel: str, file_name: str):
    key = f"{rel}/{file_name}"

    def test(self: SynchronousTestCase) -> None:
        ok, why = runner.replay_kmipd(os.path.join(ROOT, rel), file_name)
        if key in EXPECTED:
            if ok:
                raise UnexpectedPass(f"{key} now passes; remove it from expected_failures.txt "
                                     "(python -m tests.conformance.runner --update-expected)")
            raise VectorFailed(why)
        if not ok:
            raise VectorFailed(why)

    test.__doc__ = f"Vector {file_name} replayed against a fresh kmipd matches its expected responses."
    if key in EXPECTED:
        test.todo = (VectorFailed, EXPECTED[key])  # type: ignore[attr-defined]
    return test


def _selftest_test(rel: str, file_name: str):
    def test(self: SynchronousTestCase) -> None:
        ok, why = runner.replay_selftest(os.path.join(ROOT, rel), file_name)
        self.assertTrue(ok, why)

    test.__doc__ = f"Vector {file_name} passes when answered with its own expected responses."
    return test


def _make_class(rel: str, prefix: str, factory, doc: str) -> type:
    attrs: dict = {"__doc__": doc}
    files = _files(rel)
    for f in files:
        attrs[_method_name(prefix, f)] = factory(rel, f)
    if not files:
        def test_missing(self: SynchronousTestCase) -> None:
            """The vector directory is present."""
            raise SkipTest(f"no vectors in {os.path.join(ROOT, rel)}")
        attrs["test_missing"] = test_missing
    return type(re.sub(r"\W", "_", f"{prefix}{rel}"), (SynchronousTestCase,), attrs)


for _rel in DIRECTORIES:
    _cls = _make_class(_rel, "Kmipd_", _kmipd_test, f"Vectors of {_rel} against kmipd.")
    globals()[_cls.__name__] = _cls
    _cls = _make_class(_rel, "SelfTest_", _selftest_test, f"Runner self-test on {_rel}.")
    globals()[_cls.__name__] = _cls
del _rel, _cls


# ----------------------------------------------------------------------------- kmipd's own 2.x vectors

V2_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "v2")


def _v2_test(file_name: str, selftest: bool):
    def test(self: SynchronousTestCase) -> None:
        replay = runner.replay_selftest if selftest else runner.replay_kmipd
        ok, why = replay(V2_DIR, file_name)
        self.assertTrue(ok, why)

    test.__doc__ = (f"The 2.x conversation {file_name} passes when answered with its own expected responses."
                    if selftest else f"kmipd answers the 2.x conversation {file_name} as the spec tables say.")
    return test


class KmipdV2Vectors(SynchronousTestCase):
    """kmipd's hand-written KMIP 2.0/2.1 conversations (tests/conformance/v2, cited spec sections)."""

    def test_present(self) -> None:
        """The 2.x conversations ship with the tests."""
        self.assertTrue(runner.vector_files(V2_DIR))


for _f in runner.vector_files(V2_DIR):
    setattr(KmipdV2Vectors, _method_name("", _f), _v2_test(_f, False))
    setattr(KmipdV2Vectors, "test_selftest_" + _method_name("", _f)[5:], _v2_test(_f, True))
del _f


# ----------------------------------------------------------------------------- matcher tests

HEADER_REQ = """<RequestHeader><ProtocolVersion><ProtocolVersionMajor type="Integer" value="1"/>
<ProtocolVersionMinor type="Integer" value="4"/></ProtocolVersion><BatchCount type="Integer" value="1"/>
</RequestHeader>"""
HEADER_RESP = """<ResponseHeader><ProtocolVersion><ProtocolVersionMajor type="Integer" value="1"/>
<ProtocolVersionMinor type="Integer" value="4"/></ProtocolVersion>
<TimeStamp type="DateTime" value="$NOW"/><BatchCount type="Integer" value="1"/></ResponseHeader>"""


def _vector(*pairs: tuple[str, str]) -> str:
    """A vector from (request batch item body, response batch item body) pairs."""
    out = ["<KmipTestCase>"]
    for req, resp in pairs:
        out.append(f"<RequestMessage>{HEADER_REQ}<BatchItem>{req}</BatchItem></RequestMessage>")
        out.append(f"<ResponseMessage>{HEADER_RESP}<BatchItem>{resp}</BatchItem></ResponseMessage>")
    out.append("</KmipTestCase>")
    return "\n".join(out)


CREATE = _vector((
    """<Operation type="Enumeration" value="Create"/><RequestPayload>
       <ObjectType type="Enumeration" value="SymmetricKey"/></RequestPayload>""",
    """<Operation type="Enumeration" value="Create"/><ResultStatus type="Enumeration" value="Success"/>
       <ResponsePayload><ObjectType type="Enumeration" value="SymmetricKey"/>
       <UniqueIdentifier type="TextString" value="$UNIQUE_IDENTIFIER_0"/></ResponsePayload>""",
), (
    """<Operation type="Enumeration" value="GetAttributes"/><RequestPayload>
       <UniqueIdentifier type="TextString" value="$UNIQUE_IDENTIFIER_0"/></RequestPayload>""",
    """<Operation type="Enumeration" value="GetAttributes"/><ResultStatus type="Enumeration" value="Success"/>
       <ResponsePayload><UniqueIdentifier type="TextString" value="$UNIQUE_IDENTIFIER_0"/>
       <Attribute><AttributeName type="TextString" value="Cryptographic   Usage Mask"/>
         <AttributeValue type="Integer" value="Decrypt Encrypt"/></Attribute>
       <Attribute><AttributeName type="TextString" value="Initial Date"/>
         <AttributeValue type="DateTime" value="2012-04-27T08:12:21+00:00"/></Attribute>
       <Attribute><AttributeName type="TextString" value="Cryptographic Algorithm"/>
         <AttributeValue type="Enumeration" value="AES"/></Attribute>
       </ResponsePayload>""",
))

DECRYPT = _vector((
    """<Operation type="Enumeration" value="Decrypt"/><RequestPayload>
       <UniqueIdentifier type="TextString" value="key-1"/><Data type="ByteString" value="0011"/>
       <IVCounterNonce type="ByteString" value="aabb"/></RequestPayload>""",
    """<Operation type="Enumeration" value="Decrypt"/><ResultStatus type="Enumeration" value="Success"/>
       <ResponsePayload><UniqueIdentifier type="TextString" value="key-1"/>
       <Data type="ByteString" value="cafe"/></ResponsePayload>
       <ResultMessage type="TextString" value="fine"/>""",
))


def _find(item: Item, tag: int) -> list[Item]:
    return [n for n in item.walk() if n.tag == tag]


def _run(text: str, mutate=None) -> tuple[bool, str]:
    return Matcher().run_vector(text, SelfTestExchange(mutate=mutate))


class MatcherTests(SynchronousTestCase):
    """The matcher accepts what the harness accepts and rejects altered responses."""

    def test_selftest_passes(self) -> None:
        """An unaltered self-test answer passes, binding the placeholder in the second step."""
        self.assertEqual(_run(CREATE), (True, ""))
        self.assertEqual(_run(DECRYPT), (True, ""))

    def test_changed_enumeration_fails(self) -> None:
        """A different Result Status fails with both names in the reason."""
        def mutate(step: int, r: Item) -> None:
            _find(r, Tag.RESULT_STATUS)[0].value = 1
        ok, why = _run(CREATE, mutate)
        self.assertFalse(ok)
        self.assertIn("got OperationFailed(0x1), expected Success(0x0)", why)

    def test_placeholder_rebinding_fails(self) -> None:
        """A Unique Identifier different from the one bound in step 0 fails in step 1."""
        def mutate(step: int, r: Item) -> None:
            if step == 1:
                _find(r, Tag.UNIQUE_IDENTIFIER)[0].value = "other"
        ok, why = _run(CREATE, mutate)
        self.assertFalse(ok)
        self.assertIn("step 1", why)
        self.assertIn("$UNIQUE_IDENTIFIER_0", why)

    def test_missing_field_fails(self) -> None:
        """A response payload without its Object Type fails."""
        def mutate(step: int, r: Item) -> None:
            payload = _find(r, Tag.RESPONSE_PAYLOAD)[0]
            payload.value = [c for c in payload.value if c.tag != Tag.OBJECT_TYPE]
        ok, why = _run(CREATE, mutate)
        self.assertFalse(ok)

    def test_extra_field_fails(self) -> None:
        """An unexpected extra field in an ordered structure fails."""
        def mutate(step: int, r: Item) -> None:
            _find(r, Tag.RESPONSE_PAYLOAD)[0].value.append(Item.text(Tag.NAME_VALUE, "x"))
        ok, why = _run(CREATE, mutate)
        self.assertFalse(ok)
        self.assertIn("unexpected extra field NameValue", why)

    def test_extra_batch_item_fails(self) -> None:
        """A second batch item in the response fails."""
        def mutate(step: int, r: Item) -> None:
            r.value.append(_find(r, Tag.BATCH_ITEM)[0].copy())
        ok, why = _run(CREATE, mutate)
        self.assertFalse(ok)
        self.assertIn("unexpected extra BatchItem", why)

    def test_wrong_type_fails(self) -> None:
        """A Unique Identifier sent as a Byte String fails on its type."""
        def mutate(step: int, r: Item) -> None:
            uid = _find(r, Tag.UNIQUE_IDENTIFIER)[0]
            uid.type, uid.value = ItemType.BYTE_STRING, b"id"
        ok, why = _run(CREATE, mutate)
        self.assertFalse(ok)
        self.assertIn("type ByteString, expected TextString", why)

    def test_reordered_ordered_structure_fails(self) -> None:
        """Swapping Object Type and Unique Identifier in a Create response fails."""
        def mutate(step: int, r: Item) -> None:
            _find(r, Tag.RESPONSE_PAYLOAD)[0].value.reverse()
        self.assertFalse(_run(CREATE, mutate)[0])

    def test_get_attributes_order_is_free(self) -> None:
        """GetAttributes attributes may come in any order, but none may be missing."""
        def shuffle(step: int, r: Item) -> None:
            if step == 1:
                _find(r, Tag.RESPONSE_PAYLOAD)[0].value[1:] = _find(r, Tag.RESPONSE_PAYLOAD)[0].value[:0:-1]
        self.assertEqual(_run(CREATE, shuffle), (True, ""))

        def drop(step: int, r: Item) -> None:
            if step == 1:
                _find(r, Tag.RESPONSE_PAYLOAD)[0].value.pop()
        ok, why = _run(CREATE, drop)
        self.assertFalse(ok)
        self.assertIn('missing Attribute "Cryptographic Algorithm"', why)

    def test_changed_mask_fails(self) -> None:
        """A usage mask with another bit set fails (attribute names were space-normalised)."""
        def mutate(step: int, r: Item) -> None:
            if step == 1:
                attr = _find(r, Tag.ATTRIBUTE)[0]
                self.assertEqual(attr.value[0].value, "Cryptographic Usage Mask")
                attr.value[1].value |= 1
        ok, why = _run(CREATE, mutate)
        self.assertFalse(ok)
        self.assertIn("got 13, expected 12", why)

    def test_server_dates_are_type_checked(self) -> None:
        """A date the client never sent (Initial Date) may differ; its type may not."""
        def later(step: int, r: Item) -> None:
            if step == 1:
                _find(r, Tag.ATTRIBUTE_VALUE)[1].value += 1000
        self.assertEqual(_run(CREATE, later), (True, ""))

        def as_text(step: int, r: Item) -> None:
            if step == 1:
                value = _find(r, Tag.ATTRIBUTE_VALUE)[1]
                value.type, value.value = ItemType.TEXT_STRING, "today"
        self.assertFalse(_run(CREATE, as_text)[0])

    def test_time_stamp_and_result_message_ignored(self) -> None:
        """Response TimeStamp and ResultMessage values (and its absence) are not compared."""
        def mutate(step: int, r: Item) -> None:
            _find(r, Tag.TIME_STAMP)[0].value = 5
            _find(r, Tag.RESULT_MESSAGE)[0].value = "something else"
        self.assertEqual(_run(DECRYPT, mutate), (True, ""))

        def drop(step: int, r: Item) -> None:
            item = _find(r, Tag.BATCH_ITEM)[0]
            item.value = [c for c in item.value if c.tag != Tag.RESULT_MESSAGE]
        self.assertEqual(_run(DECRYPT, drop), (True, ""))

    def test_deterministic_output_compared(self) -> None:
        """Decrypt output with a client-supplied key and IV must match byte for byte."""
        def mutate(step: int, r: Item) -> None:
            _find(r, Tag.DATA)[0].value = b"\xca\xff"
        ok, why = _run(DECRYPT, mutate)
        self.assertFalse(ok)
        self.assertIn("got caff, expected cafe", why)

    def test_literal_identifier_bound(self) -> None:
        """A literal Unique Identifier in a response is bound on first sight, not compared."""
        def mutate(step: int, r: Item) -> None:
            _find(r, Tag.UNIQUE_IDENTIFIER)[0].value = "server-chosen"
        self.assertEqual(_run(DECRYPT, mutate), (True, ""))

    def test_request_placeholders_substituted(self) -> None:
        """The second request carries the Unique Identifier the first response bound."""
        sent: list[bytes] = []
        inner = SelfTestExchange()

        def exchange(data: bytes, expected: Item | None) -> bytes:
            sent.append(data)
            return inner(data, expected)
        self.assertEqual(Matcher().run_vector(CREATE, exchange), (True, ""))
        self.assertIn(b"srv-0", sent[1])
        self.assertNotIn(b"$UNIQUE", sent[1])

    def test_unbound_request_placeholder_fails(self) -> None:
        """A request placeholder no response introduced is a clear failure."""
        text = DECRYPT.replace('<Data type="ByteString" value="0011"/>',
                               '<Data type="ByteString" value="$DATA_7"/>')
        ok, why = _run(text)
        self.assertFalse(ok)
        self.assertIn("unbound placeholder $DATA_7", why)

    def test_server_crash_reported(self) -> None:
        """An exchange that raises makes the vector fail with the exception named."""
        def exchange(data: bytes, expected: Item | None) -> bytes:
            raise RuntimeError("boom")
        ok, why = Matcher().run_vector(CREATE, exchange)
        self.assertFalse(ok)
        self.assertIn("RuntimeError: boom", why)

    def test_bad_vector_reported(self) -> None:
        """A vector with an unknown tag fails to load with a named reason."""
        ok, why = _run(CREATE.replace("<ObjectType ", "<NoSuchTag ").replace("</ObjectType>", "</NoSuchTag>"))
        self.assertFalse(ok)
        self.assertIn("unknown tag 'NoSuchTag'", why)

    def test_load_vector_normalises_attribute_names(self) -> None:
        """Runs of spaces in AttributeName values are collapsed when a vector is loaded."""
        steps = load_vector(CREATE)
        names = [n.value for n in steps[1].expected.walk() if n.tag == Tag.ATTRIBUTE_NAME]
        self.assertEqual(names[0], "Cryptographic Usage Mask")


class RealVectorMutationTests(SynchronousTestCase):
    """Mutations of real OASIS vectors are detected."""

    def _vector(self, rel: str, name: str) -> str:
        path = os.path.join(ROOT, rel, name)
        if not os.path.exists(path):
            raise SkipTest(f"{path} not found")
        with open(path, encoding="utf-8") as fh:
            return fh.read()

    def test_known_answer_ciphertext_altered(self) -> None:
        """Changing one byte of a known-answer result (registered key and IV, CS-BC-M-10-14) fails."""
        text = self._vector("kmip-1.4/mandatory", "CS-BC-M-10-14.xml")
        self.assertEqual(_run(text), (True, ""))
        seen = []

        def mutate(step: int, r: Item) -> None:
            for n in r.walk():
                if n.tag == Tag.DATA and n.type == ItemType.BYTE_STRING and not seen:
                    n.value = bytes([n.value[0] ^ 1]) + n.value[1:]
                    seen.append(step)
        ok, why = _run(text, mutate)
        self.assertTrue(seen)
        self.assertFalse(ok)
        self.assertIn("step 1: /ResponseMessage[item 0]/BatchItem/ResponsePayload/Data: got ", why)

    def test_generated_key_ciphertext_is_random(self) -> None:
        """Encrypt output under a server-generated key (CS-BC-M-1-14) is checked for type only."""
        text = self._vector("kmip-1.4/mandatory", "CS-BC-M-1-14.xml")

        def mutate(step: int, r: Item) -> None:
            for n in r.walk():
                if n.tag == Tag.DATA and n.type == ItemType.BYTE_STRING:
                    n.value = b"\x00" * len(n.value)
        self.assertEqual(_run(text, mutate), (True, ""))

    def test_query_list_order_free_but_set_equal(self) -> None:
        """Query operation lists may be reordered (QS style), but not shortened."""
        text = self._vector("kmip-1.4/mandatory", "MSGENC-XML-M-1-14.xml")

        def reverse(step: int, r: Item) -> None:
            for n in r.walk():
                if n.tag == Tag.RESPONSE_PAYLOAD:
                    n.value.reverse()
        self.assertEqual(_run(text, reverse), (True, ""))

        def drop(step: int, r: Item) -> None:
            for n in r.walk():
                if n.tag == Tag.RESPONSE_PAYLOAD and n.value:
                    n.value.pop()
        self.assertFalse(_run(text, drop)[0])


class ExpectedFailuresFileTests(SynchronousTestCase):
    """The expected-failures data file round-trips."""

    def test_round_trip(self) -> None:
        """Written entries read back as name -> one-line reason, sorted naturally."""
        path = self.mktemp()
        runner.write_expected_failures({"d/A-M-10-14.xml": "step 0:\n  bad", "d/A-M-2-14.xml": "x"}, path)
        self.assertEqual(runner.load_expected_failures(path),
                         {"d/A-M-2-14.xml": "x", "d/A-M-10-14.xml": "step 0: bad"})
        with open(path) as fh:
            body = [line for line in fh if not line.startswith("#")]
        self.assertEqual(body[0].split()[0], "d/A-M-2-14.xml")

    def test_set_name(self) -> None:
        """Vector files group into sets by the text before -M- / -O-."""
        self.assertEqual(runner.set_name("CS-BC-M-GCM-1-14.xml"), "CS-BC")
        self.assertEqual(runner.set_name("SUITEB_128-M-1-14.xml"), "SUITEB_128")
        self.assertEqual(runner.set_name("AKLC-O-1-10.xml"), "AKLC")


class GeneratedTestTests(SynchronousTestCase):
    """Generated vector tests report listed vectors that start passing."""

    def test_listed_vector_that_passes_errors(self) -> None:
        """A vector in the expected-failures list that passes raises UnexpectedPass (not a todo error)."""
        key = "kmip-1.4/mandatory/X-M-1-14.xml"
        self.patch(runner, "replay_kmipd", lambda directory, name: (True, ""))
        self.patch(__import__(__name__, fromlist=["EXPECTED"]), "EXPECTED", {key: "not yet"})
        test = _kmipd_test("kmip-1.4/mandatory", "X-M-1-14.xml")
        self.assertEqual(test.todo, (VectorFailed, "not yet"))
        self.assertRaises(UnexpectedPass, test, self)

    def test_listed_vector_that_fails_is_expected(self) -> None:
        """A listed vector that still fails raises VectorFailed, the todo's expected error."""
        self.patch(runner, "replay_kmipd", lambda directory, name: (False, "step 0: nope"))
        self.patch(__import__(__name__, fromlist=["EXPECTED"]), "EXPECTED", {"d/Y-M-1-14.xml": "r"})
        test = _kmipd_test("d", "Y-M-1-14.xml")
        self.assertRaises(VectorFailed, test, self)
