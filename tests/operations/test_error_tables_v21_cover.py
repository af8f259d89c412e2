"""Every row of every KMIP 2.1 client-to-server error table (spec 2.1 section 6.1) is a test case
in C{test_error_tables_v21_*}, or listed below with the reason no request can trigger it honestly.

Login, Logout and Delegated Login are walked in C{test_error_tables_v21_login}. Ping has no error
table.
"""

from __future__ import annotations

import os

from twisted.trial.unittest import SynchronousTestCase

from kmipd.errors import PROFILE_REASONS, V2_TABLES, FailureOf, ObjectDestroyed, table_reason

from . import (
    test_error_tables_v21_attributes,
    test_error_tables_v21_certificates,
    test_error_tables_v21_crypto,
    test_error_tables_v21_general,
    test_error_tables_v21_keys,
    test_error_tables_v21_login,
    test_error_tables_v21_objects,
    test_error_tables_v21_session,
)
from .error_tables import EXCLUDED, REFUSED, TABLES, O, R, parse_spec_tables, spec_path

_NO_POLICY = ("operation policies govern managed objects; an operation naming none is allowed to every "
              "authenticated client (unauthenticated ones are refused by TLS before any request is read)")
_NO_FEATURE = ("kmipd refuses no optional feature of this operation's 2.1 request as unsupported: a value it "
               "does not implement is Invalid Field (tested in the general rows)")
_OPENSSL = ("the cryptographic library does not fail on inputs kmipd accepts; those it refuses are Bad or "
            "Unsupported Cryptographic Parameters or Invalid Field")
_REFUSED = ("kmipd refuses the operation before reading its payload (Operation Not Supported, tested): "
            "PKCS#11 needs an HSM, Re-Provision a provisioning agent, Set Endpoint Role a server-to-client role")

_PROFILE = ("the condition is answered with the other reason the table lists for it, as the OASIS KMIP 2.1 "
            "profile test cases do (docs/conformance.md): Usage Limits used up by a cryptographic operation "
            "are Permission Denied (CS-BC-M-7-21), a required IV left out is Invalid Message (CS-BC-M-11-21), "
            "Get of a destroyed object is Object Destroyed (BL-M-8-21)")

#: Rows of every table that no request can trigger.
GENERAL_UNTRIGGERABLE: dict[int, str] = {
    R.ATTESTATION_FAILED: "kmipd requires and verifies no attestation (no attestation-capable hardware)",
    R.ATTESTATION_REQUIRED: "kmipd requires and verifies no attestation (no attestation-capable hardware)",
    R.OPERATION_NOT_SUPPORTED: ("kmipd implements the operation at 2.1; the row is tested for the operations it "
                                "refuses and for Interop switched off"),
}

#: (operation, reason) -> why no honest request triggers it.
UNTRIGGERABLE: dict[tuple[int, int], str] = {
    **{(op, R.FEATURE_NOT_SUPPORTED): _NO_FEATURE for op in (
        O.ACTIVATE, O.ADD_ATTRIBUTE, O.ADJUST_ATTRIBUTE, O.ARCHIVE, O.CHECK, O.CREATE, O.CREATE_KEY_PAIR,
        O.CREATE_SPLIT_KEY, O.DECRYPT, O.DELETE_ATTRIBUTE, O.DESTROY, O.DISCOVER_VERSIONS, O.ENCRYPT,
        O.GET_ATTRIBUTES, O.GET_ATTRIBUTE_LIST, O.GET_CONSTRAINTS, O.GET_USAGE_ALLOCATION, O.HASH, O.INTEROP,
        O.JOIN_SPLIT_KEY, O.LOCATE, O.LOG, O.MAC, O.MAC_VERIFY, O.MODIFY_ATTRIBUTE, O.OBTAIN_LEASE, O.QUERY,
        O.RECOVER, O.REGISTER, O.REVOKE, O.RE_KEY, O.RE_KEY_KEY_PAIR, O.RNG_RETRIEVE, O.RNG_SEED, O.SET_ATTRIBUTE,
        O.SET_CONSTRAINTS, O.SET_DEFAULTS, O.SIGN, O.SIGNATURE_VERIFY)},
    **{(op, R.PERMISSION_DENIED): _NO_POLICY for op in (
        O.CREATE, O.CREATE_KEY_PAIR, O.DISCOVER_VERSIONS, O.GET_CONSTRAINTS, O.HASH, O.INTEROP, O.LOCATE, O.LOG,
        O.QUERY, O.REGISTER, O.RNG_RETRIEVE, O.RNG_SEED, O.SET_CONSTRAINTS, O.SET_DEFAULTS)},
    **{(op, R.CRYPTOGRAPHIC_FAILURE): _OPENSSL for op in (
        O.CREATE, O.CREATE_KEY_PAIR, O.CREATE_SPLIT_KEY, O.DERIVE_KEY, O.ENCRYPT, O.HASH, O.JOIN_SPLIT_KEY, O.MAC,
        O.MAC_VERIFY, O.RE_KEY, O.RE_KEY_KEY_PAIR, O.RNG_RETRIEVE, O.RNG_SEED, O.SIGN, O.SIGNATURE_VERIFY)},
    **{(op, reason): _REFUSED for op in REFUSED for reason in TABLES[op]
       if reason not in GENERAL_UNTRIGGERABLE},
    **{(op, R.USAGE_LIMIT_EXCEEDED): _PROFILE for op in (O.ENCRYPT, O.SIGN, O.MAC)},
    **{(op, R.MISSING_INITIALIZATION_VECTOR): _PROFILE for op in (O.ENCRYPT, O.DECRYPT)},
    (O.GET, R.KEY_VALUE_NOT_PRESENT): _PROFILE,
    (O.ADD_ATTRIBUTE, R.SERVER_LIMIT_EXCEEDED): "kmipd sets no limit on the attribute instances of an object",
    (O.ADJUST_ATTRIBUTE, R.UNSUPPORTED_ATTRIBUTE): ("kmipd knows every 2.1 attribute and adjusts any numeric, "
                                                    "interval, date or Boolean one (custom ones too); other types "
                                                    "are Invalid Data Type (tested)"),
    (O.CREATE, R.READ_ONLY_ATTRIBUTE): ("Create's table lists Attribute Read Only and Read Only Attribute for "
                                        "one condition; kmipd answers Attribute Read Only (tested)"),
    (O.CREATE, R.UNSUPPORTED_ATTRIBUTE): "kmipd knows every 2.1 attribute; a tag that is none is Invalid Attribute",
    (O.CREATE, R.SERVER_LIMIT_EXCEEDED): "no server limit bounds one Create beyond the message size (Invalid Message)",
    (O.CREATE_KEY_PAIR, R.SERVER_LIMIT_EXCEEDED): ("no server limit bounds one Create Key Pair beyond the "
                                                   "message size; large RSA keys are made asynchronously"),
    (O.REGISTER, R.SERVER_LIMIT_EXCEEDED): "no server limit bounds one Register beyond the message size",
    (O.IMPORT, R.SERVER_LIMIT_EXCEEDED): "no server limit bounds one Import beyond the message size",
    (O.JOIN_SPLIT_KEY, R.SERVER_LIMIT_EXCEEDED): ("joining costs no more than the split did, which Create Split "
                                                  "Key bounds (its row is tested)"),
    (O.CREATE_SPLIT_KEY, R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS): "kmipd implements every 2.1 Split Key Method",
    (O.JOIN_SPLIT_KEY, R.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS): "kmipd implements every 2.1 Split Key Method",
    (O.DELETE_ATTRIBUTE, R.WRONG_KEY_LIFECYCLE_STATE): ("no attribute a client may delete has a state rule in "
                                                        "the 2.1 attribute tables"),
    (O.EXPORT, R.KEY_VALUE_NOT_PRESENT): ("Export of a destroyed object returns its retained attributes without "
                                          "an object (Get answers Key Value Not Present, tested)"),
    (O.GET_CONSTRAINTS, R.INVALID_OBJECT_TYPE): "the request has no field",
    (O.IMPORT, R.ATTRIBUTE_READ_ONLY): "Import restores an object with all its attributes, server-set ones too",
    (O.IMPORT, R.ENCODING_OPTION_ERROR): ("kmipd does not unwrap an object given wrapped (Feature Not Supported, "
                                          "tested), so it reads no Encoding Option"),
    (O.REGISTER, R.ENCODING_OPTION_ERROR): ("kmipd stores a key given wrapped as it is and unwraps none, so it "
                                            "reads no Encoding Option"),
    (O.QUERY, R.UNKNOWN_OBJECT_GROUP): ("kmipd does not scope Query by Object Group (Query runs without the "
                                        "store), so no group is unknown to it"),
    (O.QUERY_ASYNCHRONOUS_REQUESTS, R.PERMISSION_DENIED): "it lists the caller's own requests only",
    (O.REGISTER, R.BAD_PASSWORD): "kmipd takes no password-protected object formats",
    (O.LOGOUT, R.FEATURE_NOT_SUPPORTED): ("Logout's one field is a Ticket of the one Ticket Type 2.1 defines "
                                          "(Login); kmipd refuses no feature of it (a malformed Ticket is "
                                          "Invalid Field, one it did not issue Invalid Ticket: tested)"),
}


def all_rows() -> list:
    return (test_error_tables_v21_general._general_rows() + test_error_tables_v21_objects.ROWS
            + test_error_tables_v21_attributes.ROWS + test_error_tables_v21_keys.ROWS
            + test_error_tables_v21_crypto.ROWS + test_error_tables_v21_session.ROWS
            + test_error_tables_v21_certificates.ROWS + test_error_tables_v21_login.ROWS)


#: Rows tested by a method rather than a L{Row} (test_error_tables_v21_general.GeneralRowsTests).
TESTED_BY_METHOD = {(op, R.OPERATION_NOT_SUPPORTED) for op in REFUSED | {O.INTEROP}}


class SpecTranscriptionTests(SynchronousTestCase):
    def test_tables_match_the_spec(self) -> None:
        """The transcribed tables are the spec text's, reason for reason."""
        path = spec_path()
        if not os.path.exists(path):
            raise self.skipTest(f"spec text not found at {path}")
        parsed = parse_spec_tables(path)
        self.assertEqual(len(parsed), 56)
        for op in set(parsed) | set(TABLES):
            self.assertEqual({R(r).name for r in TABLES.get(op, ())}, {R(r).name for r in parsed.get(op, ())},
                             O(op).name)

    def test_kmipd_tables(self) -> None:
        """kmipd's own copy (kmipd.errors.V2_TABLES, used to answer) is the same."""
        expected = {int(op): frozenset(int(r) for r in t) for op, t in TABLES.items()}
        for op, extra in PROFILE_REASONS.items():  # what the 2.1 profile test cases add (BL-M-8-21)
            expected[op] |= extra
        self.assertEqual(V2_TABLES, expected)

    def test_table_reason(self) -> None:
        """A reason the operation's table lists is kept; one it names differently is renamed; a
        condition with no row keeps its reason."""
        self.assertEqual(table_reason(O.GET, R.OBJECT_NOT_FOUND), R.OBJECT_NOT_FOUND)
        self.assertEqual(table_reason(O.ADJUST_ATTRIBUTE, R.OBJECT_NOT_FOUND), R.ITEM_NOT_FOUND)
        self.assertEqual(table_reason(O.ADJUST_ATTRIBUTE, R.ATTRIBUTE_READ_ONLY), R.READ_ONLY_ATTRIBUTE)
        self.assertEqual(table_reason(O.CHECK, R.INVALID_OBJECT_TYPE), R.ILLEGAL_OBJECT_TYPE)
        self.assertEqual(table_reason(O.SET_ATTRIBUTE, R.INVALID_ATTRIBUTE), R.INVALID_ATTRIBUTE_VALUE)
        self.assertEqual(table_reason(O.JOIN_SPLIT_KEY, R.OBJECT_DESTROYED), R.OBJECT_NOT_FOUND)
        self.assertEqual(table_reason(O.GET, R.OBJECT_ARCHIVED), R.OBJECT_ARCHIVED)  # no row: kept
        self.assertEqual(table_reason(O.PING, R.INVALID_FIELD), R.INVALID_FIELD)  # no table
        self.assertEqual(table_reason(None, R.INVALID_MESSAGE), R.INVALID_MESSAGE)
        self.assertEqual(table_reason(O.LOGOUT, R.INVALID_TICKET), R.INVALID_TICKET)  # Table 258
        # a ticket's Usage Limits used up (2.1 Table 424) has no row in Login's table: kept
        self.assertEqual(table_reason(O.LOGIN, R.USAGE_LIMIT_EXCEEDED), R.USAGE_LIMIT_EXCEEDED)
        # Poll reports the failure of the operation it polls, under that operation's reasons
        # (kmipd.errors.FailureOf maps it; test_error_tables_v21_session.PolledFailureTests)
        self.assertEqual(table_reason(O.POLL, R.INVALID_ATTRIBUTE), R.INVALID_ATTRIBUTE)
        self.assertEqual(table_reason(O.CERTIFY, R.OBJECT_NOT_FOUND), R.ITEM_NOT_FOUND)  # Table 181
        self.assertEqual(table_reason(O.CERTIFY, R.OBJECT_DESTROYED), R.ITEM_NOT_FOUND)
        self.assertEqual(table_reason(O.RE_CERTIFY, R.OBJECT_DESTROYED), R.OBJECT_NOT_FOUND)  # Table 302
        failure = FailureOf(ObjectDestroyed("gone"), O.CERTIFY)
        self.assertEqual((failure.reason_for((2, 1)), failure.reason_for((1, 4))),
                         (R.ITEM_NOT_FOUND, ObjectDestroyed.reason))


class CoverageTests(SynchronousTestCase):
    def test_every_row_is_a_case_or_explained(self) -> None:
        covered = {(r.op, r.reason) for r in all_rows()} | TESTED_BY_METHOD
        missing, both = [], []
        for op, table in TABLES.items():
            if op in EXCLUDED:
                continue
            for reason in table:
                explained = (op, reason) in UNTRIGGERABLE or reason in GENERAL_UNTRIGGERABLE
                if (op, reason) in covered and (op, reason) in UNTRIGGERABLE:
                    both.append((O(op).name, R(reason).name))
                elif (op, reason) not in covered and not explained:
                    missing.append((O(op).name, R(reason).name))
        self.assertEqual(missing, [], "rows neither tested nor explained")
        self.assertEqual(both, [], "rows tested and listed as untriggerable")

    def test_untriggerable_rows_are_rows(self) -> None:
        for op, reason in UNTRIGGERABLE:
            self.assertIn(reason, TABLES[op], (O(op).name, R(reason).name))

    def test_counts(self) -> None:
        """The walk's size (docs/conformance.md quotes it)."""
        rows = all_rows()
        ops = {op for op in TABLES if op not in EXCLUDED}
        table_rows = sum(len(TABLES[op]) for op in ops)
        # table rows only: a case for a reason the 2.1 profile vectors add (PROFILE_REASONS) is no row
        tested = {(r.op, r.reason) for r in rows if r.reason in TABLES[r.op]} | TESTED_BY_METHOD
        self.assertEqual(len(ops), 56)
        self.assertEqual(EXCLUDED, frozenset())
        self.assertGreaterEqual(len(rows), 545)
        self.assertEqual(len(tested) + sum(
            1 for op in ops for r in TABLES[op]
            if (op, r) not in tested and ((op, r) in UNTRIGGERABLE or r in GENERAL_UNTRIGGERABLE)), table_rows)
