"""Protection Storage Masks in KMIP 2.x factory requests (spec 2.1 7.33, Tables 186, 189, 306, 316)."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kmipd.model import keyblock
from kmipd.spec import CryptographicAlgorithm as CA
from kmipd.spec import CryptographicUsageMask as CUM
from kmipd.spec import KeyFormatType, ObjectType, Operation, ProtectionStorageMask, ResultReason, Tag
from kmipd.testing import call, make_processor, payload
from kmipd.ttlv import Item

from .test_create import V21, Assertions, a_alg, a_len, a_mask, aes_attrs, template, uid_payload

PSM = ProtectionStorageMask


def masks(*values: int, tag: int = Tag.PROTECTION_STORAGE_MASKS) -> Item:
    return Item.struct(tag, [Item.int(Tag.PROTECTION_STORAGE_MASK, int(v)) for v in values])


class ProtectionStorageMaskTests(SynchronousTestCase, Assertions):
    """kmipd stores in software only: it honours masks it can satisfy and refuses the others."""

    def setUp(self) -> None:
        self.d = make_processor()

    def _create(self, *extra: Item):
        return call(self.d, Operation.CREATE, payload(Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
                                                      template(V21, aes_attrs()), *extra),
                    version=V21, caller="alice")

    def test_software_accepted(self) -> None:
        """A Software mask (alone or among alternatives) is satisfied."""
        self.assertOK(self._create(masks(PSM.SOFTWARE)))
        self.assertOK(self._create(masks(PSM.HARDWARE, PSM.SOFTWARE)))
        self.assertOK(self._create(masks()))

    def test_unsatisfiable_refused(self) -> None:
        """Hardware, or Software together with Hardware in one mask, is Protection Storage Unavailable."""
        for value in (PSM.HARDWARE, PSM.SOFTWARE | PSM.HARDWARE, PSM.ON_PREMISES):
            r = self._create(masks(value))
            self.assertFails(r, ResultReason.PROTECTION_STORAGE_UNAVAILABLE)
            self.assertIn("software", r.message)

    def test_refusal_stores_nothing(self) -> None:
        """A refused Create leaves no object behind."""
        self._create(masks(PSM.HARDWARE))
        r = call(self.d, Operation.LOCATE, payload(Item.struct(Tag.ATTRIBUTES, [])), version=V21, caller="alice")
        self.assertEqual(r.payload.findall(Tag.UNIQUE_IDENTIFIER), [])

    def test_malformed(self) -> None:
        """A mask that is not an integer mask is Invalid Field."""
        bad = Item.struct(Tag.PROTECTION_STORAGE_MASKS, [Item.text(Tag.PROTECTION_STORAGE_MASK, "x")])
        self.assertFails(self._create(bad), ResultReason.INVALID_FIELD)

    def test_register(self) -> None:
        """Register checks the masks too."""
        body = keyblock.body(ObjectType.SYMMETRIC_KEY, keyblock.key_block(KeyFormatType.RAW, b"k" * 16,
                                                                          algorithm=CA.AES, length=128))
        def reg(*extra: Item):
            return call(self.d, Operation.REGISTER, payload(Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
                                                            template(V21, [a_mask(CUM.ENCRYPT)]), body, *extra),
                        version=V21, caller="alice")
        self.assertOK(reg(masks(PSM.SOFTWARE)))
        self.assertFails(reg(masks(PSM.HARDWARE)), ResultReason.PROTECTION_STORAGE_UNAVAILABLE)

    def test_create_key_pair(self) -> None:
        """Common, Private and Public masks of CreateKeyPair each get their own reason."""
        def ckp(*extra: Item):
            return call(self.d, Operation.CREATE_KEY_PAIR, payload(
                template(V21, [a_alg(CA.RSA), a_len(1024)], "common"),
                template(V21, [a_mask(CUM.SIGN)], "private"),
                template(V21, [a_mask(CUM.VERIFY)], "public"), *extra), version=V21, caller="alice")
        self.assertOK(ckp(masks(PSM.SOFTWARE, tag=Tag.COMMON_PROTECTION_STORAGE_MASKS)))
        for tag, reason in ((Tag.COMMON_PROTECTION_STORAGE_MASKS, ResultReason.PROTECTION_STORAGE_UNAVAILABLE),
                            (Tag.PRIVATE_PROTECTION_STORAGE_MASKS,
                             ResultReason.PRIVATE_PROTECTION_STORAGE_UNAVAILABLE),
                            (Tag.PUBLIC_PROTECTION_STORAGE_MASKS, ResultReason.PUBLIC_PROTECTION_STORAGE_UNAVAILABLE)):
            self.assertFails(ckp(masks(PSM.HARDWARE, tag=tag)), reason)

    def test_rekey(self) -> None:
        """ReKey refuses masks it cannot satisfy."""
        uid = self._create().payload.get(Tag.UNIQUE_IDENTIFIER)
        r = call(self.d, Operation.RE_KEY, uid_payload(uid, masks(PSM.HARDWARE)), version=V21, caller="alice")
        self.assertFails(r, ResultReason.PROTECTION_STORAGE_UNAVAILABLE)
        self.assertOK(call(self.d, Operation.RE_KEY, uid_payload(uid, masks(PSM.SOFTWARE)), version=V21,
                           caller="alice"))
