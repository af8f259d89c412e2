"""Create Split Key and Join Split Key through the dispatcher, 1.x and 2.x (spec 2.1 6.1.10, 6.1.27)."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd.crypto import splitkey as sk
from kmipd.operations.splitkey import FIELD_ATTRIBUTE
from kmipd.spec import CryptographicAlgorithm as CA
from kmipd.spec import CryptographicUsageMask as CUM
from kmipd.spec import (
    KeyFormatType,
    LinkType,
    ObjectType,
    Operation,
    ResultReason,
    SecretDataType,
    State,
    Tag,
)
from kmipd.spec import SplitKeyMethod as M
from kmipd.testing import batch_item, call, make_dispatcher, payload, request, results, send
from kmipd.ttlv import Item

from .test_create import a_alg, a_len, a_mask, a_name, aes_attrs, create, template

V12, V14, V20, V21 = (1, 2), (1, 4), (2, 0), (2, 1)
USER = "alice"
PRIME = (1 << 521) - 1


def uid(u: str) -> Item:
    return Item.text(Tag.UNIQUE_IDENTIFIER, u)


def split_payload(version, *, object_type=ObjectType.SYMMETRIC_KEY, source=None, parts=3, threshold=2,
                  method=M.POLYNOMIAL_SHARING_GF_2_8, prime=None, attrs=()):
    return payload(
        Item.enum(Tag.OBJECT_TYPE, object_type),
        uid(source) if source is not None else None,
        Item.int(Tag.SPLIT_KEY_PARTS, parts),
        Item.int(Tag.SPLIT_KEY_THRESHOLD, threshold),
        Item.enum(Tag.SPLIT_KEY_METHOD, method),
        Item.big(Tag.PRIME_FIELD_SIZE, prime) if prime is not None else None,
        template(version, list(attrs)),
    )


def join_payload(version, uids, object_type=ObjectType.SYMMETRIC_KEY, sdt=None, attrs=()):
    return payload(Item.enum(Tag.OBJECT_TYPE, object_type), *[uid(u) for u in uids],
                   Item.enum(Tag.SECRET_DATA_TYPE, sdt) if sdt is not None else None,
                   template(version, list(attrs)))


class SplitKeyTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.d = make_dispatcher()

    def call(self, op, body, version=V21, caller=USER):
        return call(self.d, op, body, version=version, caller=caller)

    def key_bytes(self, u: str, version=V21) -> bytes:
        r = self.call(Operation.GET, payload(uid(u)), version)
        self.assertTrue(r.ok, r.message)
        body = next(c for c in r.payload.value if c.tag in (Tag.SYMMETRIC_KEY, Tag.SECRET_DATA, Tag.PRIVATE_KEY,
                                                            Tag.SPLIT_KEY))
        return body.find(Tag.KEY_BLOCK).find(Tag.KEY_VALUE).get(Tag.KEY_MATERIAL)

    def aes(self, version=V21) -> str:
        r = create(self.d, aes_attrs(), version=version, caller=USER)
        self.assertTrue(r.ok, r.message)
        return r.payload.get(Tag.UNIQUE_IDENTIFIER)

    def split(self, version=V21, **kw) -> list[str]:
        r = self.call(Operation.CREATE_SPLIT_KEY, split_payload(version, **kw), version)
        self.assertTrue(r.ok, r.message)
        return [c.value for c in r.payload.findall(Tag.UNIQUE_IDENTIFIER)]

    def attrs(self, u: str) -> dict[int, list[Item]]:
        r = self.call(Operation.GET_ATTRIBUTES, payload(uid(u)))
        out: dict[int, list[Item]] = {}
        for a in r.payload.find(Tag.ATTRIBUTES).value:
            out.setdefault(a.tag, []).append(a)
        return out

    def test_every_method_round_trips_in_both_versions(self) -> None:
        """A stored AES key split by each method joins back from a threshold subset (1.4 and 2.1)."""
        for version in (V14, V21):
            for method, parts, threshold, prime in ((M.XOR, 3, 3, None), (M.POLYNOMIAL_SHARING_GF_2_8, 5, 3, None),
                                                    (M.POLYNOMIAL_SHARING_GF_2_16, 4, 2, None),
                                                    (M.POLYNOMIAL_SHARING_PRIME_FIELD, 4, 3, PRIME)):
                key = self.aes(version)
                parts_uids = self.split(version, source=key, parts=parts, threshold=threshold, method=method,
                                        prime=prime)
                self.assertEqual(len(parts_uids), parts)
                chosen = parts_uids[-threshold:]
                r = self.call(Operation.JOIN_SPLIT_KEY, join_payload(version, chosen), version)
                self.assertTrue(r.ok, (version, method, r.message))
                joined = r.payload.get(Tag.UNIQUE_IDENTIFIER)
                self.assertEqual(self.key_bytes(joined, version), self.key_bytes(key, version), (version, method))

    def test_part_objects(self) -> None:
        """Each part is a Split Key structure with the spec's fields, Raw key material, linked in order."""
        key = self.aes()
        uids = self.split(source=key, parts=3, threshold=2, method=M.POLYNOMIAL_SHARING_PRIME_FIELD, prime=PRIME)
        for i, u in enumerate(uids, 1):
            r = self.call(Operation.GET, payload(uid(u)))
            self.assertEqual(r.payload.get(Tag.OBJECT_TYPE), ObjectType.SPLIT_KEY)
            body = r.payload.find(Tag.SPLIT_KEY)
            self.assertEqual((body.get(Tag.SPLIT_KEY_PARTS), body.get(Tag.KEY_PART_IDENTIFIER),
                              body.get(Tag.SPLIT_KEY_THRESHOLD), body.get(Tag.SPLIT_KEY_METHOD),
                              body.get(Tag.PRIME_FIELD_SIZE)),
                             (3, i, 2, M.POLYNOMIAL_SHARING_PRIME_FIELD, PRIME))
            block = body.find(Tag.KEY_BLOCK)
            self.assertEqual(block.get(Tag.KEY_FORMAT_TYPE), KeyFormatType.RAW)
            self.assertEqual(block.get(Tag.CRYPTOGRAPHIC_ALGORITHM), CA.AES)
            self.assertEqual(len(block.find(Tag.KEY_VALUE).get(Tag.KEY_MATERIAL)), 66)  # bytes of 2^521-1
            links = {(lk.get(Tag.LINK_TYPE), lk.get(Tag.LINKED_OBJECT_IDENTIFIER)) for lk in self.attrs(u)[Tag.LINK]}
            self.assertIn((LinkType.PARENT_LINK, key), links)
            if i > 1:
                self.assertIn((LinkType.PREVIOUS_LINK, uids[i - 2]), links)
            if i < 3:
                self.assertIn((LinkType.NEXT_LINK, uids[i]), links)
        children = {lk.get(Tag.LINKED_OBJECT_IDENTIFIER) for lk in self.attrs(key)[Tag.LINK]
                    if lk.get(Tag.LINK_TYPE) == LinkType.CHILD_LINK}
        self.assertEqual(children, set(uids))

    def test_generated_key_and_id_placeholder(self) -> None:
        """Without a Unique Identifier the server generates the key; the ID Placeholder is part 1."""
        v = V21
        msg = request(
            batch_item(Operation.CREATE_SPLIT_KEY, split_payload(
                v, object_type=ObjectType.SPLIT_KEY, parts=2, threshold=2, method=M.XOR,
                attrs=[a_alg(CA.AES), a_len(128), a_mask(CUM.ENCRYPT), a_name("vault")])),
            batch_item(Operation.GET, payload()), version=v)
        created, got = results(send(self.d, msg, USER))
        self.assertTrue(created.ok, created.message)
        uids = [c.value for c in created.payload.findall(Tag.UNIQUE_IDENTIFIER)]
        self.assertEqual(got.payload.get(Tag.UNIQUE_IDENTIFIER), uids[0])
        self.assertEqual(got.payload.find(Tag.SPLIT_KEY).get(Tag.KEY_PART_IDENTIFIER), 1)
        a = self.attrs(uids[1])
        self.assertEqual(a[Tag.NAME][0].get(Tag.NAME_VALUE), "vault part 2")
        self.assertEqual(a[Tag.CRYPTOGRAPHIC_LENGTH][0].value, 128)
        self.assertIn(Tag.RANDOM_NUMBER_GENERATOR, a)
        r = self.call(Operation.JOIN_SPLIT_KEY, join_payload(v, uids))
        self.assertTrue(r.ok, r.message)
        self.assertEqual(len(self.key_bytes(r.payload.get(Tag.UNIQUE_IDENTIFIER))), 16)

    def test_private_key_round_trip(self) -> None:
        """A Private Key splits (as PKCS#8) and joins back into the same key."""
        r = self.call(Operation.CREATE_KEY_PAIR, payload(
            template(V21, [a_alg(CA.EC), a_len(256)], "common"), template(V21, [a_mask(CUM.SIGN)], "private"),
            template(V21, [a_mask(CUM.VERIFY)], "public")))
        priv = r.payload.get(Tag.PRIVATE_KEY_UNIQUE_IDENTIFIER)
        uids = self.split(source=priv, object_type=ObjectType.PRIVATE_KEY, parts=3, threshold=2,
                          method=M.POLYNOMIAL_SHARING_GF_2_8)
        r = self.call(Operation.JOIN_SPLIT_KEY, join_payload(V21, uids[:2], ObjectType.PRIVATE_KEY))
        self.assertTrue(r.ok, r.message)
        joined = r.payload.get(Tag.UNIQUE_IDENTIFIER)
        get = payload(uid(joined), Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.PKCS_8))
        orig = payload(uid(priv), Item.enum(Tag.KEY_FORMAT_TYPE, KeyFormatType.PKCS_8))
        a = self.call(Operation.GET, get).payload.find(Tag.PRIVATE_KEY).find(Tag.KEY_BLOCK)
        b = self.call(Operation.GET, orig).payload.find(Tag.PRIVATE_KEY).find(Tag.KEY_BLOCK)
        self.assertEqual(a.find(Tag.KEY_VALUE).get(Tag.KEY_MATERIAL), b.find(Tag.KEY_VALUE).get(Tag.KEY_MATERIAL))
        self.assertEqual(a.get(Tag.CRYPTOGRAPHIC_ALGORITHM), CA.EC)

    def test_secret_data_type(self) -> None:
        """Joining into Secret Data takes the request's Secret Data Type."""
        uids = self.split(object_type=ObjectType.SECRET_DATA, parts=2, threshold=2, method=M.XOR,
                          attrs=[a_len(256)])
        r = self.call(Operation.JOIN_SPLIT_KEY, join_payload(V21, uids, ObjectType.SECRET_DATA,
                                                             SecretDataType.PASSWORD))
        self.assertTrue(r.ok, r.message)
        got = self.call(Operation.GET, payload(uid(r.payload.get(Tag.UNIQUE_IDENTIFIER)))).payload
        self.assertEqual(got.find(Tag.SECRET_DATA).get(Tag.SECRET_DATA_TYPE), SecretDataType.PASSWORD)

    def test_field_recorded_across_versions(self) -> None:
        """Parts made by a 1.4 request join correctly in a 2.1 request (and vice versa)."""
        for made, joined_in in ((V14, V21), (V21, V14)):
            key = self.aes(made)
            uids = self.split(made, source=key, parts=3, threshold=3, method=M.POLYNOMIAL_SHARING_GF_2_16)
            poly = self.attrs(uids[0])[Tag.ATTRIBUTE][0]
            self.assertEqual(poly.get(Tag.ATTRIBUTE_NAME), FIELD_ATTRIBUTE.split("-", 1)[1])
            self.assertEqual(poly.get(Tag.ATTRIBUTE_VALUE), sk.FIELD_1X if made < (2, 0) else sk.FIELD_2X)
            r = self.call(Operation.JOIN_SPLIT_KEY, join_payload(joined_in, uids), joined_in)
            self.assertEqual(self.key_bytes(r.payload.get(Tag.UNIQUE_IDENTIFIER)), self.key_bytes(key))

    def test_protection_is_inherited(self) -> None:
        """A non-Extractable key's parts are not Extractable (Get refuses them), nor is the joined key."""
        r = create(self.d, aes_attrs() + [("Extractable", Item.bool(Tag.EXTRACTABLE, False))], version=V21,
                   caller=USER)
        key = r.payload.get(Tag.UNIQUE_IDENTIFIER)
        uids = self.split(source=key, parts=2, threshold=2, method=M.XOR,
                          attrs=[("Extractable", Item.bool(Tag.EXTRACTABLE, True))])
        for u in uids:
            self.assertEqual(self.attrs(u)[Tag.EXTRACTABLE][0].value, False)
            self.assertEqual(self.call(Operation.GET, payload(uid(u))).reason, ResultReason.NOT_EXTRACTABLE)
        r = self.call(Operation.JOIN_SPLIT_KEY, join_payload(V21, uids))
        self.assertTrue(r.ok, r.message)
        self.assertEqual(self.attrs(r.payload.get(Tag.UNIQUE_IDENTIFIER))[Tag.EXTRACTABLE][0].value, False)

    def test_not_before_1_2(self) -> None:
        """Create Split Key does not exist in KMIP 1.0/1.1."""
        r = self.call(Operation.CREATE_SPLIT_KEY, split_payload((1, 1), source="x"), (1, 1))
        self.assertEqual(r.reason, ResultReason.OPERATION_NOT_SUPPORTED)
        r = self.call(Operation.CREATE_SPLIT_KEY, split_payload(V12, source=self.aes(V12)), V12)
        self.assertTrue(r.ok, r.message)


class SplitKeyErrorTests(SynchronousTestCase):
    """The rows of the 2.x error tables kmipd can produce, and their 1.x reasons."""

    def setUp(self) -> None:
        self.d = make_dispatcher()
        r = create(self.d, aes_attrs(), version=V21, caller=USER)
        self.key = r.payload.get(Tag.UNIQUE_IDENTIFIER)

    def reason(self, op, body, version=V21, caller=USER):
        r = call(self.d, op, body, version=version, caller=caller)
        self.assertFalse(r.ok)
        return r.reason

    def parts(self, **kw) -> list[str]:
        r = call(self.d, Operation.CREATE_SPLIT_KEY, split_payload(V21, source=self.key, **kw), version=V21,
                 caller=USER)
        return [c.value for c in r.payload.findall(Tag.UNIQUE_IDENTIFIER)]

    def test_create_errors(self) -> None:
        R = ResultReason
        BAD = R.BAD_CRYPTOGRAPHIC_PARAMETERS  # 2.1 Table 195 lists it; 1.4 Invalid Field as ever
        cases = [
            (split_payload(V21, source="nope"), R.ITEM_NOT_FOUND, R.ITEM_NOT_FOUND),  # 2.1 Table 195
            (split_payload(V21, source=self.key, method=M.XOR, parts=3, threshold=2), BAD, R.INVALID_FIELD),
            (split_payload(V21, source=self.key, threshold=4), BAD, R.INVALID_FIELD),
            (split_payload(V21, source=self.key, method=M.POLYNOMIAL_SHARING_PRIME_FIELD, prime=(1 << 300) + 1),
             BAD, R.INVALID_FIELD),
            (split_payload(V21, source=self.key, object_type=ObjectType.CERTIFICATE), R.INVALID_OBJECT_TYPE,
             R.INVALID_FIELD),
            (split_payload(V21, object_type=ObjectType.PRIVATE_KEY), R.INVALID_FIELD, R.INVALID_FIELD),
            (split_payload(V21, source=self.key, parts=256, threshold=2, method=M.POLYNOMIAL_SHARING_PRIME_FIELD,
                           prime=PRIME), R.SERVER_LIMIT_EXCEEDED, R.INVALID_FIELD),
            (split_payload(V21, source=self.key, parts=0, threshold=0), BAD, R.INVALID_FIELD),
            (split_payload(V21, source=self.key, method=M.POLYNOMIAL_SHARING_PRIME_FIELD, prime=(1 << 9000) + 1),
             R.SERVER_LIMIT_EXCEEDED, R.INVALID_FIELD),
            (split_payload(V21, object_type=ObjectType.SECRET_DATA, attrs=[a_len(1 << 30)]), R.INVALID_FIELD,
             R.INVALID_FIELD),
        ]
        for body, v2, v1 in cases:
            self.assertEqual(self.reason(Operation.CREATE_SPLIT_KEY, body), v2)
            body14 = Item.struct(Tag.REQUEST_PAYLOAD, [c if c.tag != Tag.ATTRIBUTES else template(V14, [])
                                                       for c in body.value])
            self.assertEqual(self.reason(Operation.CREATE_SPLIT_KEY, body14, V14), v1)
        other = self.reason(Operation.CREATE_SPLIT_KEY, split_payload(V21, source=self.key), caller="mallory")
        self.assertEqual(other, ResultReason.PERMISSION_DENIED)

    def test_work_limit(self) -> None:
        """A split that would cost more than MAX_WORK field products is Server Limit Exceeded (2.x)."""
        body = split_payload(V21, object_type=ObjectType.SECRET_DATA, parts=255, threshold=3,
                             attrs=[a_len(8 * 8192)])
        self.assertGreater(sk.work(M.POLYNOMIAL_SHARING_GF_2_8, 8192, 255, 3), sk.MAX_WORK)
        self.assertEqual(self.reason(Operation.CREATE_SPLIT_KEY, body), ResultReason.SERVER_LIMIT_EXCEEDED)

    def test_join_errors(self) -> None:
        R = ResultReason
        BAD = R.BAD_CRYPTOGRAPHIC_PARAMETERS  # 2.1 Table 246: too few parts, parts of different splits
        uids = self.parts(parts=3, threshold=2)
        self.assertEqual(self.reason(Operation.JOIN_SPLIT_KEY, join_payload(V21, uids[:1])), BAD)
        self.assertEqual(self.reason(Operation.JOIN_SPLIT_KEY, join_payload(V14, uids[:1]), V14), R.INVALID_FIELD)
        self.assertEqual(self.reason(Operation.JOIN_SPLIT_KEY, join_payload(V14, [uids[0], uids[0]]), V14),
                         R.INVALID_FIELD)
        self.assertEqual(self.reason(Operation.JOIN_SPLIT_KEY, join_payload(V21, [uids[0], self.key])),
                         R.INVALID_OBJECT_TYPE)
        self.assertEqual(self.reason(Operation.JOIN_SPLIT_KEY, join_payload(V21, [uids[0], uids[0]])), BAD)
        self.assertEqual(self.reason(Operation.JOIN_SPLIT_KEY, join_payload(V21, uids, ObjectType.PUBLIC_KEY)),
                         R.INVALID_OBJECT_TYPE)
        self.assertEqual(self.reason(Operation.JOIN_SPLIT_KEY, join_payload(V21, [uids[0], "missing"])),
                         R.OBJECT_NOT_FOUND)
        others = self.parts(parts=3, threshold=3)
        self.assertEqual(self.reason(Operation.JOIN_SPLIT_KEY, join_payload(V21, [uids[0], others[1]])), BAD)
        self.assertEqual(self.reason(Operation.JOIN_SPLIT_KEY, join_payload(V21, uids[:2], ObjectType.PRIVATE_KEY)),
                         R.INVALID_FIELD)
        self.assertEqual(self.reason(Operation.JOIN_SPLIT_KEY, join_payload(V21, uids[:2]), caller="mallory"),
                         R.PERMISSION_DENIED)

    def test_join_parts_of_two_splits_with_the_same_parameters(self) -> None:
        """Parts of two splits of one key, or of two new secrets, with identical parameters join
        into a wrong key unless the server notices: Bad Cryptographic Parameters (2.1 Table 246)."""
        BAD = ResultReason.BAD_CRYPTOGRAPHIC_PARAMETERS
        for method, prime in ((M.POLYNOMIAL_SHARING_GF_2_8, None), (M.POLYNOMIAL_SHARING_PRIME_FIELD, PRIME)):
            first = self.parts(parts=3, threshold=2, method=method, prime=prime)
            second = self.parts(parts=3, threshold=2, method=method, prime=prime)
            for mixed in ([first[0], second[1]], [first[0], second[2]], [second[0], first[2]]):
                self.assertEqual(self.reason(Operation.JOIN_SPLIT_KEY, join_payload(V21, mixed)), BAD, mixed)
            ok = call(self.d, Operation.JOIN_SPLIT_KEY, join_payload(V21, [first[0], first[2]]), version=V21,
                      caller=USER)
            self.assertTrue(ok.ok, ok.message)
        new = []
        for _ in range(2):
            r = call(self.d, Operation.CREATE_SPLIT_KEY,
                     split_payload(V21, object_type=ObjectType.SECRET_DATA, parts=2, threshold=2, method=M.XOR,
                                   attrs=[a_len(256)]),
                     version=V21, caller=USER)
            self.assertTrue(r.ok, r.message)
            new.append([c.value for c in r.payload.findall(Tag.UNIQUE_IDENTIFIER)])
        mixed = [new[0][0], new[1][1]]
        self.assertEqual(self.reason(Operation.JOIN_SPLIT_KEY, join_payload(V21, mixed, ObjectType.SECRET_DATA)), BAD)

    def test_join_destroyed_part(self) -> None:
        """A destroyed part: Object Not Found (2.1 Table 246 lists neither Object Destroyed nor a
        lifecycle reason)."""
        uids = self.parts(parts=2, threshold=2)
        r = call(self.d, Operation.DESTROY, payload(uid(uids[1])), version=V21, caller=USER)
        self.assertTrue(r.ok, r.message)
        self.assertEqual(self.reason(Operation.JOIN_SPLIT_KEY, join_payload(V21, uids)), ResultReason.OBJECT_NOT_FOUND)

    def test_state_after_split(self) -> None:
        """Parts start Pre-Active like any new object; the source key keeps its state."""
        uids = self.parts(parts=2, threshold=2)
        r = call(self.d, Operation.GET_ATTRIBUTES, payload(uid(uids[0]), Item.enum(Tag.ATTRIBUTE_REFERENCE,
                                                                                   Tag.STATE)),
                 version=V21, caller=USER)
        self.assertEqual(r.payload.find(Tag.ATTRIBUTES).get(Tag.STATE), State.PRE_ACTIVE)
