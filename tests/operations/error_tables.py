"""The KMIP 2.1 per-operation error tables (spec 2.1 section 6.1, "Error Handling - <operation>")
as data, and the machinery that turns their rows into test cases.

A 2.1 error table lists, for Result Status Operation Failed, the Result Reasons an operation SHALL
return; each listed reason is one row. L{TABLES} is their transcription (checked against the spec
text by C{SpecTranscriptionTests} when the spec is at hand). Every L{Row} is a KMIP 2.1 request
that meets the row's condition and the reason the table names for it; the test modules
C{test_error_tables_v21_*} hold the rows of each operation family, and C{test_error_tables_v21_cover}
checks that every row of every operation kmipd implements is either a case or listed in
L{UNTRIGGERABLE} with the reason it cannot be triggered honestly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from twisted.trial.unittest import SynchronousTestCase

from kmipd.errors import PROFILE_REASONS
from kmipd.model import keyblock
from kmipd.policy import parse_policies
from kmipd.policy.model import PolicyEngine
from kmipd.spec import CryptographicAlgorithm as CA
from kmipd.spec import CryptographicUsageMask as M
from kmipd.spec import ObjectType, Operation, ResultReason, ResultStatus, State, Tag
from kmipd.testing import FakeClock, batch_item, make_processor, request, results, send
from kmipd.ttlv import Item

from .test_crypto_ops import add_object

R = ResultReason
O = Operation  # noqa: E741
V21 = (2, 1)
NOW = 1_700_000_000

#: The reasons every 2.1 table lists after the operation's own ones ("general" rows).
GENERAL = frozenset({R.ATTESTATION_FAILED, R.ATTESTATION_REQUIRED, R.FEATURE_NOT_SUPPORTED, R.INVALID_FIELD,
                     R.INVALID_MESSAGE, R.OPERATION_NOT_SUPPORTED, R.PERMISSION_DENIED, R.RESPONSE_TOO_LARGE})


def _t(*specific: int, general: bool = True) -> frozenset[int]:
    return frozenset(specific) | (GENERAL if general else frozenset())


#: Spec 2.1 section 6.1: operation -> the Result Reasons its error table lists.
TABLES: dict[int, frozenset[int]] = {
    O.ACTIVATE: _t(R.INVALID_OBJECT_TYPE, R.OBJECT_NOT_FOUND, R.WRONG_KEY_LIFECYCLE_STATE),
    O.ADD_ATTRIBUTE: _t(R.ATTRIBUTE_SINGLE_VALUED, R.INVALID_ATTRIBUTE, R.NON_UNIQUE_NAME_ATTRIBUTE,
                        R.OBJECT_NOT_FOUND, R.READ_ONLY_ATTRIBUTE, R.SERVER_LIMIT_EXCEEDED,
                        R.WRONG_KEY_LIFECYCLE_STATE),
    O.ADJUST_ATTRIBUTE: _t(R.INVALID_DATA_TYPE, R.ITEM_NOT_FOUND, R.MULTI_VALUED_ATTRIBUTE, R.NUMERIC_RANGE,
                           R.OBJECT_ARCHIVED, R.READ_ONLY_ATTRIBUTE, R.UNSUPPORTED_ATTRIBUTE,
                           R.WRONG_KEY_LIFECYCLE_STATE),
    O.ARCHIVE: _t(R.OBJECT_ARCHIVED, R.OBJECT_NOT_FOUND),
    O.CANCEL: _t(R.INVALID_ASYNCHRONOUS_CORRELATION_VALUE),
    O.CERTIFY: _t(R.INVALID_CSR, R.INVALID_OBJECT_TYPE, R.ITEM_NOT_FOUND, R.PROTECTION_STORAGE_UNAVAILABLE),
    O.CHECK: _t(R.ILLEGAL_OBJECT_TYPE, R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK, R.OBJECT_NOT_FOUND,
                R.USAGE_LIMIT_EXCEEDED),
    O.CREATE: _t(R.ATTRIBUTE_READ_ONLY, R.ATTRIBUTE_SINGLE_VALUED, R.CRYPTOGRAPHIC_FAILURE, R.INVALID_ATTRIBUTE,
                 R.INVALID_ATTRIBUTE_VALUE, R.INVALID_OBJECT_TYPE, R.NON_UNIQUE_NAME_ATTRIBUTE,
                 R.READ_ONLY_ATTRIBUTE, R.SERVER_LIMIT_EXCEEDED, R.UNSUPPORTED_ATTRIBUTE,
                 R.PROTECTION_STORAGE_UNAVAILABLE),
    O.CREATE_KEY_PAIR: _t(R.ATTRIBUTE_READ_ONLY, R.ATTRIBUTE_SINGLE_VALUED, R.CRYPTOGRAPHIC_FAILURE,
                          R.INVALID_ATTRIBUTE, R.INVALID_ATTRIBUTE_VALUE, R.NON_UNIQUE_NAME_ATTRIBUTE,
                          R.SERVER_LIMIT_EXCEEDED, R.PRIVATE_PROTECTION_STORAGE_UNAVAILABLE,
                          R.PUBLIC_PROTECTION_STORAGE_UNAVAILABLE),
    O.CREATE_SPLIT_KEY: _t(R.BAD_CRYPTOGRAPHIC_PARAMETERS, R.CRYPTOGRAPHIC_FAILURE, R.INVALID_ATTRIBUTE,
                           R.INVALID_ATTRIBUTE_VALUE, R.INVALID_OBJECT_TYPE, R.ITEM_NOT_FOUND,
                           R.NON_UNIQUE_NAME_ATTRIBUTE, R.SERVER_LIMIT_EXCEEDED,
                           R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS, R.PROTECTION_STORAGE_UNAVAILABLE),
    O.DECRYPT: _t(R.BAD_CRYPTOGRAPHIC_PARAMETERS, R.CRYPTOGRAPHIC_FAILURE, R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK,
                  R.INVALID_CORRELATION_VALUE, R.INVALID_OBJECT_TYPE, R.KEY_VALUE_NOT_PRESENT,
                  R.MISSING_INITIALIZATION_VECTOR, R.OBJECT_NOT_FOUND, R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS,
                  R.WRONG_KEY_LIFECYCLE_STATE),
    O.DELEGATED_LOGIN: _t(),
    O.DELETE_ATTRIBUTE: _t(R.ATTRIBUTE_INSTANCE_NOT_FOUND, R.ATTRIBUTE_NOT_FOUND, R.ATTRIBUTE_READ_ONLY,
                           R.INVALID_ATTRIBUTE, R.OBJECT_NOT_FOUND, R.WRONG_KEY_LIFECYCLE_STATE),
    O.DERIVE_KEY: _t(R.BAD_CRYPTOGRAPHIC_PARAMETERS, R.CRYPTOGRAPHIC_FAILURE, R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK,
                     R.INVALID_ATTRIBUTE, R.INVALID_OBJECT_TYPE, R.KEY_VALUE_NOT_PRESENT,
                     R.NON_UNIQUE_NAME_ATTRIBUTE, R.OBJECT_NOT_FOUND, R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS,
                     R.WRONG_KEY_LIFECYCLE_STATE),
    O.DESTROY: _t(R.OBJECT_DESTROYED, R.OBJECT_NOT_FOUND, R.WRONG_KEY_LIFECYCLE_STATE),
    O.DISCOVER_VERSIONS: _t(),
    O.ENCRYPT: _t(R.BAD_CRYPTOGRAPHIC_PARAMETERS, R.CRYPTOGRAPHIC_FAILURE, R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK,
                  R.INVALID_CORRELATION_VALUE, R.INVALID_OBJECT_TYPE, R.KEY_VALUE_NOT_PRESENT,
                  R.MISSING_INITIALIZATION_VECTOR, R.OBJECT_NOT_FOUND, R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS,
                  R.USAGE_LIMIT_EXCEEDED, R.WRONG_KEY_LIFECYCLE_STATE),
    O.EXPORT: _t(R.BAD_CRYPTOGRAPHIC_PARAMETERS, R.ENCODING_OPTION_ERROR, R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK,
                 R.INVALID_OBJECT_TYPE, R.KEY_COMPRESSION_TYPE_NOT_SUPPORTED, R.KEY_FORMAT_TYPE_NOT_SUPPORTED,
                 R.KEY_VALUE_NOT_PRESENT, R.KEY_WRAP_TYPE_NOT_SUPPORTED, R.OBJECT_NOT_FOUND,
                 R.WRAPPING_OBJECT_ARCHIVED, R.WRAPPING_OBJECT_DESTROYED, R.WRAPPING_OBJECT_NOT_FOUND),
    O.GET: _t(R.BAD_CRYPTOGRAPHIC_PARAMETERS, R.ENCODING_OPTION_ERROR, R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK,
              R.INVALID_OBJECT_TYPE, R.KEY_COMPRESSION_TYPE_NOT_SUPPORTED, R.KEY_FORMAT_TYPE_NOT_SUPPORTED,
              R.KEY_VALUE_NOT_PRESENT, R.KEY_WRAP_TYPE_NOT_SUPPORTED, R.NOT_EXTRACTABLE, R.OBJECT_NOT_FOUND,
              R.SENSITIVE, R.WRAPPING_OBJECT_ARCHIVED, R.WRAPPING_OBJECT_DESTROYED, R.WRAPPING_OBJECT_NOT_FOUND),
    O.GET_ATTRIBUTES: _t(R.INVALID_ATTRIBUTE, R.OBJECT_NOT_FOUND),
    O.GET_ATTRIBUTE_LIST: _t(R.OBJECT_NOT_FOUND),
    O.GET_CONSTRAINTS: _t(R.INVALID_OBJECT_TYPE),
    O.GET_USAGE_ALLOCATION: _t(R.ATTRIBUTE_NOT_FOUND, R.INVALID_OBJECT_TYPE, R.OBJECT_NOT_FOUND,
                               R.USAGE_LIMIT_EXCEEDED),
    O.HASH: _t(R.CRYPTOGRAPHIC_FAILURE, R.INVALID_CORRELATION_VALUE),
    O.IMPORT: _t(R.ATTRIBUTE_READ_ONLY, R.ATTRIBUTE_SINGLE_VALUED, R.ENCODING_OPTION_ERROR, R.INVALID_ATTRIBUTE,
                 R.INVALID_ATTRIBUTE_VALUE, R.NON_UNIQUE_NAME_ATTRIBUTE, R.OBJECT_ALREADY_EXISTS,
                 R.SERVER_LIMIT_EXCEEDED, R.PROTECTION_STORAGE_UNAVAILABLE),
    O.INTEROP: _t(),
    O.JOIN_SPLIT_KEY: _t(R.ATTRIBUTE_READ_ONLY, R.ATTRIBUTE_SINGLE_VALUED, R.BAD_CRYPTOGRAPHIC_PARAMETERS,
                         R.CRYPTOGRAPHIC_FAILURE, R.INVALID_ATTRIBUTE, R.INVALID_ATTRIBUTE_VALUE,
                         R.INVALID_OBJECT_TYPE, R.NON_UNIQUE_NAME_ATTRIBUTE, R.OBJECT_NOT_FOUND,
                         R.SERVER_LIMIT_EXCEEDED, R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS,
                         R.PROTECTION_STORAGE_UNAVAILABLE),
    O.LOCATE: _t(R.INVALID_ATTRIBUTE),
    O.LOG: _t(),
    O.LOGIN: _t(),
    O.LOGOUT: _t(R.INVALID_TICKET),
    O.MAC: _t(R.BAD_CRYPTOGRAPHIC_PARAMETERS, R.CRYPTOGRAPHIC_FAILURE, R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK,
              R.INVALID_CORRELATION_VALUE, R.INVALID_OBJECT_TYPE, R.KEY_VALUE_NOT_PRESENT, R.OBJECT_NOT_FOUND,
              R.USAGE_LIMIT_EXCEEDED, R.WRONG_KEY_LIFECYCLE_STATE),
    O.MAC_VERIFY: _t(R.BAD_CRYPTOGRAPHIC_PARAMETERS, R.CRYPTOGRAPHIC_FAILURE,
                     R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK, R.INVALID_CORRELATION_VALUE, R.INVALID_OBJECT_TYPE,
                     R.KEY_VALUE_NOT_PRESENT, R.OBJECT_NOT_FOUND, R.WRONG_KEY_LIFECYCLE_STATE),
    O.MODIFY_ATTRIBUTE: _t(R.ATTRIBUTE_INSTANCE_NOT_FOUND, R.ATTRIBUTE_NOT_FOUND, R.ATTRIBUTE_READ_ONLY,
                           R.NON_UNIQUE_NAME_ATTRIBUTE, R.OBJECT_NOT_FOUND, R.WRONG_KEY_LIFECYCLE_STATE),
    O.OBTAIN_LEASE: _t(R.OBJECT_NOT_FOUND, R.USAGE_LIMIT_EXCEEDED),
    O.PKCS_11: _t(R.INVALID_ASYNCHRONOUS_CORRELATION_VALUE, R.PKCS_11_CODEC_ERROR, R.PKCS_11_INVALID_FUNCTION,
                  R.PKCS_11_INVALID_INTERFACE),
    O.POLL: _t(R.INVALID_ASYNCHRONOUS_CORRELATION_VALUE),
    O.PROCESS: _t(R.INVALID_ASYNCHRONOUS_CORRELATION_VALUE),
    O.QUERY: _t(R.UNKNOWN_OBJECT_GROUP),
    # The only table without Invalid Field.
    O.QUERY_ASYNCHRONOUS_REQUESTS: _t(general=False) | (GENERAL - {R.INVALID_FIELD}),
    O.RECOVER: _t(R.OBJECT_NOT_FOUND),
    O.REGISTER: _t(R.ATTRIBUTE_READ_ONLY, R.ATTRIBUTE_SINGLE_VALUED, R.BAD_PASSWORD, R.ENCODING_OPTION_ERROR,
                   R.INVALID_ATTRIBUTE, R.INVALID_ATTRIBUTE_VALUE, R.INVALID_OBJECT_TYPE,
                   R.NON_UNIQUE_NAME_ATTRIBUTE, R.SERVER_LIMIT_EXCEEDED, R.PROTECTION_STORAGE_UNAVAILABLE),
    O.REVOKE: _t(R.INVALID_OBJECT_TYPE, R.OBJECT_NOT_FOUND, R.WRONG_KEY_LIFECYCLE_STATE),
    O.RE_CERTIFY: _t(R.INVALID_CSR, R.INVALID_OBJECT_TYPE, R.OBJECT_NOT_FOUND, R.PROTECTION_STORAGE_UNAVAILABLE),
    O.RE_KEY: _t(R.CRYPTOGRAPHIC_FAILURE, R.INVALID_OBJECT_TYPE, R.KEY_VALUE_NOT_PRESENT, R.OBJECT_NOT_FOUND,
                 R.PROTECTION_STORAGE_UNAVAILABLE),
    O.RE_KEY_KEY_PAIR: _t(R.CRYPTOGRAPHIC_FAILURE, R.INVALID_OBJECT_TYPE, R.KEY_VALUE_NOT_PRESENT,
                          R.OBJECT_NOT_FOUND, R.PRIVATE_PROTECTION_STORAGE_UNAVAILABLE,
                          R.PUBLIC_PROTECTION_STORAGE_UNAVAILABLE),
    O.RE_PROVISION: _t(R.CRYPTOGRAPHIC_FAILURE),
    O.RNG_RETRIEVE: _t(R.CRYPTOGRAPHIC_FAILURE),
    O.RNG_SEED: _t(R.CRYPTOGRAPHIC_FAILURE),
    O.SET_ATTRIBUTE: _t(R.INVALID_ATTRIBUTE_VALUE, R.MULTI_VALUED_ATTRIBUTE, R.NON_UNIQUE_NAME_ATTRIBUTE,
                        R.OBJECT_NOT_FOUND, R.READ_ONLY_ATTRIBUTE, R.WRONG_KEY_LIFECYCLE_STATE),
    O.SET_CONSTRAINTS: _t(R.INVALID_OBJECT_TYPE),
    O.SET_DEFAULTS: _t(R.INVALID_OBJECT_TYPE),
    O.SET_ENDPOINT_ROLE: _t(),
    O.SIGN: _t(R.BAD_CRYPTOGRAPHIC_PARAMETERS, R.CRYPTOGRAPHIC_FAILURE, R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK,
               R.INVALID_CORRELATION_VALUE, R.INVALID_OBJECT_TYPE, R.KEY_VALUE_NOT_PRESENT, R.OBJECT_NOT_FOUND,
               R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS, R.USAGE_LIMIT_EXCEEDED, R.WRONG_KEY_LIFECYCLE_STATE),
    O.SIGNATURE_VERIFY: _t(R.BAD_CRYPTOGRAPHIC_PARAMETERS, R.CRYPTOGRAPHIC_FAILURE,
                           R.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK, R.INVALID_CORRELATION_VALUE,
                           R.INVALID_OBJECT_TYPE, R.KEY_VALUE_NOT_PRESENT, R.OBJECT_NOT_FOUND,
                           R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS, R.WRONG_KEY_LIFECYCLE_STATE),
    O.VALIDATE: _t(R.INVALID_OBJECT_TYPE, R.OBJECT_NOT_FOUND),
}
#: Operations kmipd does not offer (refused with Operation Not Supported; docs/operations.md).
REFUSED = frozenset({O.SET_ENDPOINT_ROLE, O.PKCS_11, O.RE_PROVISION})
#: Operations whose rows are not walked (none: Login, Logout and Delegated Login are walked in
#: C{test_error_tables_v21_login} since tickets were rebuilt).
EXCLUDED: frozenset[int] = frozenset()

#: The spec's table titles whose names differ from the Operation's name.
_TITLES = {"HASH": O.HASH, "Process Request": O.PROCESS, "PKCS#11": O.PKCS_11}


def parse_spec_tables(path: str) -> dict[int, frozenset[int]]:
    """The client-to-server error tables of the 2.1 spec text at C{path} (section 6.1 only)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start = text.index("6.1.1.1 Error Handling")
    end = text.index("6.2.1.1 Error Handling")
    heading = re.compile(r"^6\.1\.\d+\.1 Error Handling\s*[-–]\s*(.+?)\s*$")
    caption = re.compile(r"^\W*Table \d+: (.+?) Errors\s*$")
    out: dict[int, frozenset[int]] = {}
    title: str | None = None  # the section heading (Cancel has none: its caption names it)
    cells: list[str] = []
    for line in text[start:end].splitlines():
        m = heading.match(line)
        if m:
            title = m.group(1)
        elif line.strip().startswith("│") and "Result Reason" not in line:
            parts = line.split("│")
            if len(parts) >= 4:
                cells.append(parts[2].strip())
        elif caption.match(line) and cells:
            name = title or caption.match(line).group(1)  # type: ignore[union-attr]
            op = _TITLES.get(name) or Operation[re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")]
            out[op] = frozenset(_reason(n) for n in " ".join(cells).split(",") if n.strip())
            title, cells = None, []
        elif line.strip().startswith("┌"):
            cells = []
    return out


def _reason(name: str) -> int:
    key = re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_").replace("PKCS_11", "PKCS_11")
    return ResultReason[key]


def spec_path() -> str:
    """Where the 2.1 spec text is (C{KMIPD_SPEC_DIR} or ../shared/spec)."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    directory = os.environ.get("KMIPD_SPEC_DIR", os.path.join(os.path.dirname(here), "shared", "spec"))
    return os.path.join(directory, "kmip-spec-v2.1-os.txt")


# ---------------------------------------------------------------------------------------------
# Rows

#: Operation policies a deployment may well have, beside the built-in ones: C{templates} lets
#: everyone use Template objects (registered by 1.x clients); C{owner_only} keeps every
#: operation on public keys and certificates to their owner (the built-in policies let anyone
#: use them).
_ALL_OPS = ("GET", "GET_ATTRIBUTES", "GET_ATTRIBUTE_LIST", "ACTIVATE", "REVOKE", "DESTROY", "CHECK",
            "ADD_ATTRIBUTE", "MODIFY_ATTRIBUTE", "DELETE_ATTRIBUTE", "SIGNATURE_VERIFY", "ENCRYPT")
EXTRA_POLICIES = {
    "templates": {"preset": {"TEMPLATE": {op: "ALLOW_ALL" for op in _ALL_OPS}}},
    "owner_only": {"preset": {t: {op: "ALLOW_OWNER" for op in _ALL_OPS} for t in ("PUBLIC_KEY", "CERTIFICATE")}},
}


@dataclass
class Env:
    """One test's server (an in-memory store, a fake clock) and helpers to fill it."""

    case: SynchronousTestCase
    d: object = field(init=False)

    def __post_init__(self) -> None:
        engine = PolicyEngine()
        engine.set_source("tests", parse_policies(EXTRA_POLICIES, "tests"))
        self.d = make_processor(clock=FakeClock(NOW), policy=engine)

    @property
    def store(self):  # noqa: ANN201
        return self.d.store  # type: ignore[attr-defined]

    def key(self, *, state: int = State.ACTIVE, owner: str = "tester", mask: int | None = M.ENCRYPT | M.DECRYPT,
            key: bytes = bytes(range(16)), algorithm: int = CA.AES, **kw) -> str:  # noqa: ANN003
        """A stored symmetric key (Raw); a destroyed one has lost its key material, as after Destroy."""
        material = keyblock.symmetric_key(key, algorithm) if state not in (State.DESTROYED,
                                                                           State.DESTROYED_COMPROMISED) else None
        return add_object(self.d, ObjectType.SYMMETRIC_KEY, material,
                          algorithm=algorithm, length=len(key) * 8, mask=mask, state=state, owner=owner, **kw)

    def policy(self, uid: str, name: str) -> str:
        """Put the stored object C{uid} under the operation policy C{name}."""
        with self.store.transaction() as tx:
            obj = tx.get(uid)
            obj.attributes["Operation Policy Name"] = [Item.text(Tag.OPERATION_POLICY_NAME, name)]
            tx.save(obj)
        return uid

    def archived(self, uid: str) -> str:
        with self.store.transaction() as tx:
            tx.set_archived(uid, True)
        return uid

    def secret(self, *, owner: str = "tester", state: int = State.ACTIVE) -> str:
        """A stored Secret Data object (Password)."""
        material = Item.struct(Tag.SECRET_DATA, [Item.enum(Tag.SECRET_DATA_TYPE, 1), Item.struct(Tag.KEY_BLOCK, [
            Item.enum(Tag.KEY_FORMAT_TYPE, 2), Item.struct(Tag.KEY_VALUE, [Item.bytes(Tag.KEY_MATERIAL, b"pw")])])])
        return add_object(self.d, ObjectType.SECRET_DATA, material, mask=M.DERIVE_KEY, state=state, owner=owner)

    def opaque(self, *, owner: str = "tester", extra: dict[str, list[Item]] | None = None) -> str:
        """A stored Opaque Object (no lifecycle state)."""
        material = Item.struct(Tag.OPAQUE_OBJECT, [Item.enum(Tag.OPAQUE_DATA_TYPE, 0x80000000),
                                                   Item.bytes(Tag.OPAQUE_DATA_VALUE, b"opaque")])
        return add_object(self.d, ObjectType.OPAQUE_OBJECT, material, mask=None, state=State.ACTIVE, owner=owner,
                          extra=extra)

    def pending(self, owner: str = "tester") -> bytes:
        """The Asynchronous Correlation Value of a Create made asynchronous (Mandatory), not yet run."""
        body = Item.struct(Tag.REQUEST_PAYLOAD, [Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY), Item.struct(
            Tag.ATTRIBUTES, [Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CA.AES), Item.int(Tag.CRYPTOGRAPHIC_LENGTH, 128)])])
        response = send(self.d, request(batch_item(Operation.CREATE, body), version=V21,  # type: ignore[arg-type]
                                        header_extra=[Item.enum(Tag.ASYNCHRONOUS_INDICATOR, 1)]), owner)
        item = response.find(Tag.BATCH_ITEM)
        assert item is not None and item.get(Tag.RESULT_STATUS) == ResultStatus.OPERATION_PENDING, item
        return item.get(Tag.ASYNCHRONOUS_CORRELATION_VALUE)

    def run(self, op: int, body: Item | None, *, header: list[Item] | None = None, caller: str = "tester",
            version: tuple[int, int] = V21):  # noqa: ANN201
        response = send(self.d, request(batch_item(op, body), version=version, header_extra=header),  # type: ignore
                        caller)
        (result,) = results(response)
        return result


@dataclass(frozen=True)
class Row:
    """One row of an operation's 2.1 error table as a test case.

    @ivar build: makes the request payload in a fresh L{Env} (and may store objects first).
    @ivar condition: what the request does wrong (the case's name says which row it is).
    @ivar header: extra request header fields.
    @ivar v1: the 1.4 reason of the same request, when the operation exists in 1.4 and the request
        means the same there (1.x answers must not change).
    @ivar headers: makes more request header fields in the L{Env} (after C{build}), e.g. the
        Authentication of a ticket issued there.
    """

    op: int
    reason: int
    condition: str
    build: Callable[[Env], Item | None]
    header: tuple[Item, ...] = ()
    v1: int | None = None
    caller: str = "tester"
    headers: Callable[[Env], list[Item]] | None = None


def _header(row: Row, env: Env) -> list[Item]:
    return list(row.header) + (row.headers(env) if row.headers is not None else [])


def check_row(case: SynchronousTestCase, row: Row, version: tuple[int, int] = V21) -> None:
    """Run C{row} in a fresh server and check its reason (and the 1.4 one, if given)."""
    rows = TABLES[row.op] | PROFILE_REASONS.get(row.op, frozenset())  # + what the 2.1 profile vectors add
    case.assertIn(row.reason, rows, f"{R(row.reason).name} is not a row of the {O(row.op).name} table")
    env = Env(case)
    body = row.build(env)
    result = env.run(row.op, body, header=_header(row, env), caller=row.caller, version=version)
    where = f"{O(row.op).name} / {row.condition}"
    case.assertEqual(result.status, ResultStatus.OPERATION_FAILED, where)
    got = R(result.reason).name if result.reason in R._value2member_map_ else result.reason
    case.assertEqual(result.reason, row.reason, f"{where}: got {got} ({result.message})")
    case.assertTrue(result.message, where)
    if row.v1 is not None:
        env = Env(case)
        body = row.build(env)
        old = env.run(row.op, body, header=_header(row, env), caller=row.caller, version=(1, 4))
        case.assertEqual(old.reason, row.v1, f"{where} in 1.4: {old.message}")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:60]


def add_rows(namespace: dict, rows: list[Row]) -> None:
    """Add one test method per row to a test case class body (C{namespace}: its C{locals()})."""
    seen: dict[str, int] = {}
    for row in rows:
        name = f"test_{_slug(O(row.op).name)}__{_slug(R(row.reason).name)}__{_slug(row.condition)}"
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name += f"_{seen[name]}"

        def test(self: SynchronousTestCase, row: Row = row) -> None:
            check_row(self, row)

        test.__doc__ = f"{O(row.op).name}: {R(row.reason).name} when {row.condition}."
        test.__name__ = name
        namespace[name] = test
