"""
Tests for L{kmipd.policy}: built-in policies, evaluation, collisions and the
policy file loader.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from twisted.internet.testing import EventLoggingObserver
from twisted.logger import LogLevel, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from kmipd.policy import (
    BUILTIN_POLICIES,
    RESERVED_POLICY_NAMES,
    Permission,
    Policy,
    PolicyEngine,
    PolicyFileError,
    builtin,
    load_policy_file,
    parse_policies,
)
from kmipd.policy.loader import OBJECT_TYPE_NAMES, OPERATION_NAMES, PERMISSION_NAMES
from kmipd.policy.model import table_from_rows
from kmipd.spec import ObjectType, Operation

# The tables from the PyKMIP server documentation, "Reserved Operation
# Policies", copied as text (the seed has "Secret Data / Modify", a typo for
# Modify Attribute; it is spelled out here).  The documentation gives six
# object types the same eighteen rows, all Allow Owner; OWNER_OPERATIONS lists
# them once and _owner_rows() spells them out for one object type.
OWNER_OPERATIONS = """
Rekey
Rekey Key Pair
Derive Key
Locate
Check
Get
Get Attributes
Get Attribute List
Add Attribute
Modify Attribute
Delete Attribute
Obtain Lease
Get Usage Allocation
Activate
Revoke
Destroy
Archive
Recover
"""


def _owner_rows(object_type: str) -> str:
    """The documented rows of a key-like object type: each of OWNER_OPERATIONS, Allow Owner."""
    return "".join(f"{object_type}|{op}|Allow Owner\n" for op in OWNER_OPERATIONS.strip().splitlines())


CERTIFICATE_ROWS = """
Certificate|Locate|Allow All
Certificate|Check|Allow All
Certificate|Get|Allow All
Certificate|Get Attributes|Allow All
Certificate|Get Attribute List|Allow All
Certificate|Add Attribute|Allow Owner
Certificate|Modify Attribute|Allow Owner
Certificate|Delete Attribute|Allow Owner
Certificate|Obtain Lease|Allow All
Certificate|Activate|Allow Owner
Certificate|Revoke|Allow Owner
Certificate|Destroy|Allow Owner
Certificate|Archive|Allow Owner
Certificate|Recover|Allow Owner
"""

PUBLIC_KEY_ROWS = """
Public Key|Locate|Allow All
Public Key|Check|Allow All
Public Key|Get|Allow All
Public Key|Get Attributes|Allow All
Public Key|Get Attribute List|Allow All
Public Key|Add Attribute|Allow Owner
Public Key|Modify Attribute|Allow Owner
Public Key|Delete Attribute|Allow Owner
Public Key|Obtain Lease|Allow All
Public Key|Activate|Allow Owner
Public Key|Revoke|Allow Owner
Public Key|Destroy|Allow Owner
Public Key|Archive|Allow Owner
Public Key|Recover|Allow Owner
"""

TEMPLATE_ROWS = """
Template|Locate|Allow Owner
Template|Get|Allow Owner
Template|Get Attributes|Allow Owner
Template|Get Attribute List|Allow Owner
Template|Add Attribute|Allow Owner
Template|Modify Attribute|Allow Owner
Template|Delete Attribute|Allow Owner
Template|Destroy|Allow Owner
"""

DEFAULT_TABLE = "".join([
    CERTIFICATE_ROWS.lstrip(),
    _owner_rows("Symmetric Key"),
    PUBLIC_KEY_ROWS.lstrip(),
    _owner_rows("Private Key"),
    _owner_rows("Split Key"),
    TEMPLATE_ROWS.lstrip(),
    _owner_rows("Secret Data"),
    _owner_rows("Opaque Data"),
    _owner_rows("PGP Key"),
])

PUBLIC_TABLE = """
Template|Locate|Allow All
Template|Get|Allow All
Template|Get Attributes|Allow All
Template|Get Attribute List|Allow All
Template|Add Attribute|Disallow All
Template|Modify Attribute|Disallow All
Template|Delete Attribute|Disallow All
Template|Destroy|Disallow All
"""

# Set Attribute rows PyKMIP's implementation adds to the documented tables.
DEFAULT_EXTRA = [
    (object_type, "Set Attribute", "Allow Owner")
    for object_type in (
        "Certificate",
        "Symmetric Key",
        "Public Key",
        "Private Key",
        "Split Key",
        "Template",
        "Secret Data",
        "Opaque Data",
        "PGP Key",
    )
]
PUBLIC_EXTRA = [("Template", "Set Attribute", "Disallow All")]


def _pykmip_name(text: str) -> str:
    return text.upper().replace(" ", "_")


def _rows(table: str) -> list[tuple[str, str, str]]:
    return [tuple(line.split("|")) for line in table.strip().splitlines()]  # type: ignore[misc]


def _convert(row: tuple[str, str, str]) -> tuple[ObjectType, Operation, Permission]:
    object_type, operation, permission = row
    return (
        OBJECT_TYPE_NAMES[_pykmip_name(object_type)],
        OPERATION_NAMES[_pykmip_name(operation)],
        PERMISSION_NAMES[_pykmip_name(permission)],
    )


OWNER = "John Doe"
OTHER = "Jane Doe"


class BuiltinPolicyTests(SynchronousTestCase):
    """The reserved C{default} and C{public} policies."""

    def setUp(self) -> None:
        self.engine = PolicyEngine()

    def _check_rows(self, policy_name: str, rows: list[tuple[str, str, str]]) -> None:
        for row in rows:
            object_type, operation, permission = _convert(row)
            msg = f"{policy_name}: {' / '.join(row)}"
            allowed = self.engine.is_allowed
            self.assertEqual(
                allowed(policy_name, object_type, operation, OWNER, None, OWNER),
                permission != Permission.DISALLOW_ALL,
                msg=msg + " (owner)",
            )
            self.assertEqual(
                allowed(policy_name, object_type, operation, OTHER, None, OWNER),
                permission == Permission.ALLOW_ALL,
                msg=msg + " (non-owner)",
            )
            # Group information does not matter for preset-only policies.
            self.assertEqual(
                allowed(
                    policy_name, object_type, operation, OTHER, ("Group A",), OWNER
                ),
                permission == Permission.ALLOW_ALL,
                msg=msg + " (non-owner with groups)",
            )

    def test_default_rows(self) -> None:
        """Every row of the documented C{default} table gives its permission to owner and non-owner."""
        self._check_rows("default", _rows(DEFAULT_TABLE) + DEFAULT_EXTRA)

    def test_public_rows(self) -> None:
        """Every row of the documented C{public} table gives its permission to owner and non-owner."""
        self._check_rows("public", _rows(PUBLIC_TABLE) + PUBLIC_EXTRA)

    def test_tables_match_documentation_exactly(self) -> None:
        """The built-in row data is the documented tables, row by row, in order."""
        self.assertEqual(len(_rows(DEFAULT_TABLE)), 144)
        self.assertEqual(
            list(builtin.DEFAULT_ROWS), [_convert(r) for r in _rows(DEFAULT_TABLE)]
        )
        self.assertEqual(
            list(builtin.PUBLIC_ROWS), [_convert(r) for r in _rows(PUBLIC_TABLE)]
        )
        self.assertEqual(
            list(builtin.DEFAULT_SET_ATTRIBUTE_ROWS),
            [_convert(r) for r in DEFAULT_EXTRA],
        )
        self.assertEqual(
            list(builtin.PUBLIC_SET_ATTRIBUTE_ROWS), [_convert(r) for r in PUBLIC_EXTRA]
        )

    def test_uncovered_pairs_disallowed(self) -> None:
        """Any (object type, operation) pair outside the tables is denied even to the owner."""
        for policy_name, rows, request_rows in (
            ("default", _rows(DEFAULT_TABLE) + DEFAULT_EXTRA, builtin.CERTIFICATE_REQUEST_DEFAULT_ROWS),
            ("public", _rows(PUBLIC_TABLE) + PUBLIC_EXTRA, builtin.CERTIFICATE_REQUEST_PUBLIC_ROWS),
        ):
            covered = {_convert(r)[:2] for r in rows}
            covered |= {(t, o) for t, o, p in request_rows if p != Permission.DISALLOW_ALL}
            for object_type in ObjectType:
                for operation in Operation:
                    if (object_type, operation) in covered:
                        continue
                    self.assertFalse(
                        self.engine.is_allowed(
                            policy_name, object_type, operation, OWNER, None, OWNER
                        ),
                        msg=f"{policy_name}: {object_type.name} / {operation.name}",
                    )

    def test_matches_pykmip_implementation(self) -> None:
        """The built-in tables equal PyKMIP's own (kmip.core.policy) when PyKMIP is installed, but for
        the rows of the KMIP 2.x Certificate Request object, which PyKMIP does not implement."""
        try:
            from kmip.core.policy import policies
        except ImportError:
            raise self.skipTest("PyKMIP not installed") from None
        for name in ("default", "public"):
            theirs = {
                (o.value, op.value): p.name
                for o, table in policies[name]["preset"].items()
                for op, p in table.items()
            }
            preset = BUILTIN_POLICIES[name].preset
            assert preset is not None
            ours = {key: p.name for key, p in preset.items() if key[0] != ObjectType.CERTIFICATE_REQUEST}
            self.assertEqual(ours, theirs, msg=name)

    def test_reserved_names(self) -> None:
        """The reserved names are exactly C{default} and C{public}."""
        self.assertEqual(RESERVED_POLICY_NAMES, {"default", "public"})
        self.assertEqual(self.engine.reserved_names, {"default", "public"})


class EvaluationTests(SynchronousTestCase):
    """L{PolicyEngine.is_allowed} semantics."""

    def setUp(self) -> None:
        self.engine = PolicyEngine()
        SK, GET, DESTROY = ObjectType.SYMMETRIC_KEY, Operation.GET, Operation.DESTROY
        self.engine.set_source(
            "test",
            {
                "mixed": Policy(
                    preset=table_from_rows([(SK, GET, Permission.ALLOW_OWNER)]),
                    groups={
                        "A": table_from_rows(
                            [
                                (SK, GET, Permission.DISALLOW_ALL),
                                (SK, DESTROY, Permission.ALLOW_OWNER),
                            ]
                        ),
                        "B": table_from_rows([(SK, GET, Permission.ALLOW_ALL)]),
                        "C": table_from_rows([(SK, DESTROY, Permission.DISALLOW_ALL)]),
                    },
                ),
                "groups_only": Policy(
                    groups={"A": table_from_rows([(SK, GET, Permission.ALLOW_ALL)])}
                ),
                "preset_only": Policy(
                    preset=table_from_rows([(SK, GET, Permission.ALLOW_ALL)])
                ),
                "empty": Policy(),
            },
        )

    def allowed(
        self,
        policy: str | None,
        groups: tuple[str, ...] | None,
        operation: int = Operation.GET,
        identity: str | None = OTHER,
        owner: str | None = OWNER,
    ) -> bool:
        return self.engine.is_allowed(
            policy, ObjectType.SYMMETRIC_KEY, operation, identity, groups, owner
        )

    def test_unknown_policy_denied(self) -> None:
        """An unknown or missing policy name denies everything, even to the owner."""
        self.assertFalse(self.allowed("nope", None, identity=OWNER))
        self.assertFalse(self.allowed(None, None, identity=OWNER))

    def test_owner_only(self) -> None:
        """Allow Owner allows the owner and denies anyone else."""
        self.assertTrue(self.allowed("mixed", None, identity=OWNER))
        self.assertFalse(self.allowed("mixed", None, identity=OTHER))

    def test_owner_requires_known_identities(self) -> None:
        """Allow Owner denies when the identity or the owner is unknown, even if both are None."""
        self.assertFalse(self.allowed("mixed", None, identity=None, owner=None))
        self.assertFalse(self.allowed("mixed", None, identity=None, owner=OWNER))
        self.assertFalse(self.allowed("mixed", None, identity=OWNER, owner=None))

    def test_most_permissive_group_wins(self) -> None:
        """A user in several groups gets the most permissive control among them."""
        self.assertFalse(self.allowed("mixed", ("A",)))
        self.assertTrue(self.allowed("mixed", ("A", "B")))
        self.assertTrue(self.allowed("mixed", ("B", "A")))
        # Allow Owner (A) beats Disallow All (C), for the owner only.
        self.assertTrue(
            self.allowed("mixed", ("C", "A"), Operation.DESTROY, identity=OWNER)
        )
        self.assertFalse(
            self.allowed("mixed", ("C", "A"), Operation.DESTROY, identity=OTHER)
        )

    def test_group_tables_replace_preset(self) -> None:
        """With group info, group tables apply and preset does not (A denies Get the preset lets the owner do)."""
        self.assertFalse(self.allowed("mixed", ("A",), identity=OWNER))
        # A group that does not cover the pair gives Disallow All.
        self.assertFalse(self.allowed("mixed", ("C",), identity=OWNER))

    def test_user_in_no_listed_group_denied(self) -> None:
        """A user whose groups are not listed in the policy (or who has none) is denied."""
        self.assertFalse(self.allowed("mixed", ("Z",), identity=OWNER))
        self.assertFalse(self.allowed("mixed", (), identity=OWNER))

    def test_no_group_info_uses_preset(self) -> None:
        """Without group information the preset table applies."""
        self.assertTrue(self.allowed("mixed", None, identity=OWNER))
        self.assertTrue(self.allowed("preset_only", None))

    def test_groups_only_policy_without_group_info_denied(self) -> None:
        """A policy with only groups denies users without group information."""
        self.assertFalse(self.allowed("groups_only", None, identity=OWNER))
        self.assertTrue(self.allowed("groups_only", ("A",)))

    def test_preset_only_policy_with_group_info(self) -> None:
        """Group information with a preset-only policy falls back to preset."""
        self.assertTrue(self.allowed("preset_only", ("whatever",)))
        self.assertFalse(
            self.allowed("preset_only", ("whatever",), Operation.DESTROY, OWNER)
        )

    def test_empty_policy_denies(self) -> None:
        """A policy with neither preset nor groups denies everything."""
        self.assertFalse(self.allowed("empty", None, identity=OWNER))
        self.assertFalse(self.allowed("empty", ("A",), identity=OWNER))

    def test_plain_ints_accepted(self) -> None:
        """Object type and operation may be passed as plain ints."""
        self.assertTrue(self.engine.is_allowed("preset_only", 2, 10, None, None, None))

    def test_conflicting_rows_rejected(self) -> None:
        """A table listing one pair twice with different permissions is a ValueError."""
        SK, GET = ObjectType.SYMMETRIC_KEY, Operation.GET
        self.assertRaises(
            ValueError,
            table_from_rows,
            [(SK, GET, Permission.ALLOW_ALL), (SK, GET, Permission.DISALLOW_ALL)],
        )


def _preset(permission: Permission) -> Policy:
    return Policy(
        preset=table_from_rows([(ObjectType.SYMMETRIC_KEY, Operation.GET, permission)])
    )


ALL, OWN, NONE = (
    _preset(Permission.ALLOW_ALL),
    _preset(Permission.ALLOW_OWNER),
    _preset(Permission.DISALLOW_ALL),
)


class CollisionTests(SynchronousTestCase):
    """Sources defining the same policy name: newest wins, older ones are cached and restored."""

    def setUp(self) -> None:
        self.engine = PolicyEngine()

    def test_newest_wins_and_restore_on_remove(self) -> None:
        """A later source takes over a name; removing it restores the earlier definition."""
        self.engine.set_source("a", {"p": ALL})
        self.engine.set_source("b", {"p": NONE})
        self.assertIs(self.engine.get("p"), NONE)
        self.assertEqual(self.engine.source_of("p"), "b")
        self.engine.remove_source("b")
        self.assertIs(self.engine.get("p"), ALL)
        self.engine.remove_source("a")
        self.assertIsNone(self.engine.get("p"))
        self.assertEqual(self.engine.sources(), frozenset())

    def test_restore_when_source_stops_defining(self) -> None:
        """A source that stops defining a name hands it back to the cached definition."""
        self.engine.set_source("a", {"p": ALL})
        self.engine.set_source("b", {"p": NONE, "q": OWN})
        self.engine.set_source("b", {"q": OWN})
        self.assertIs(self.engine.get("p"), ALL)
        self.assertIs(self.engine.get("q"), OWN)

    def test_removing_cached_source_keeps_effective(self) -> None:
        """Removing a shadowed source changes nothing that is in effect, and is not restored later."""
        self.engine.set_source("a", {"p": ALL})
        self.engine.set_source("b", {"p": NONE})
        self.engine.remove_source("a")
        self.assertIs(self.engine.get("p"), NONE)
        self.engine.remove_source("b")
        self.assertIsNone(self.engine.get("p"))

    def test_redefinition_by_older_source_takes_effect(self) -> None:
        """An older source that changes its definition becomes the newest one."""
        self.engine.set_source("a", {"p": ALL})
        self.engine.set_source("b", {"p": NONE})
        self.engine.set_source("a", {"p": OWN})
        self.assertIs(self.engine.get("p"), OWN)
        self.engine.remove_source("a")
        self.assertIs(self.engine.get("p"), NONE)

    def test_unchanged_redefinition_keeps_order(self) -> None:
        """An older source re-submitting the same definition does not take the name over."""
        self.engine.set_source("a", {"p": ALL, "x": OWN})
        self.engine.set_source("b", {"p": NONE})
        self.engine.set_source("a", {"p": _preset(Permission.ALLOW_ALL), "x": NONE})
        self.assertIs(self.engine.get("p"), NONE)
        self.assertIs(self.engine.get("x"), NONE)

    def test_reserved_names_ignored_and_logged(self) -> None:
        """A source cannot redefine default/public; the attempt is logged and other entries load."""
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        self.engine.set_source(
            "evil.json", {"default": ALL, "public": ALL, "mine": OWN}
        )
        self.assertIs(self.engine.get("default"), BUILTIN_POLICIES["default"])
        self.assertIs(self.engine.get("public"), BUILTIN_POLICIES["public"])
        self.assertIs(self.engine.get("mine"), OWN)
        self.assertFalse(
            self.engine.is_allowed(
                "default", ObjectType.SYMMETRIC_KEY, Operation.GET, OTHER, None, OWNER
            )
        )
        warned = sorted(
            e["policy_name"]
            for e in events
            if e.get("log_level") == LogLevel.warn and e.get("source") == "evil.json"
        )
        self.assertEqual(warned, ["default", "public"])


def _write(directory: str, name: str, content: object) -> str:
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(content if isinstance(content, str) else json.dumps(content))
    return path


class LoaderTests(SynchronousTestCase):
    """L{load_policy_file} and L{parse_policies}."""

    def setUp(self) -> None:
        self.dir = self.mktemp()
        os.makedirs(self.dir)

    def assertFileError(self, content: object, *fragments: str) -> PolicyFileError:
        path = _write(self.dir, "bad.json", content)
        error = self.assertRaises(PolicyFileError, load_policy_file, path)
        message = str(error)
        self.assertIn(path, message)
        for fragment in fragments:
            self.assertIn(fragment, message)
        return error

    def test_all_pykmip_names_resolve(self) -> None:
        """Every PyKMIP object type and operation name maps to the kmipd enum member for the same concept."""
        renamed = {"OPAQUE_DATA": "OPAQUE_OBJECT"}
        for names in (OBJECT_TYPE_NAMES, OPERATION_NAMES):
            for pykmip_name, member in names.items():
                expected = renamed.get(pykmip_name, pykmip_name).replace("_", "")
                self.assertEqual(
                    member.name.replace("_", ""), expected, msg=pykmip_name
                )
        self.assertEqual(len(OBJECT_TYPE_NAMES), 10)
        self.assertEqual(len(OPERATION_NAMES), 53)
        self.assertIs(OPERATION_NAMES["REKEY"], Operation.RE_KEY)
        self.assertIs(OBJECT_TYPE_NAMES["PGP_KEY"], ObjectType.PGP_KEY)

    def test_preset_and_groups(self) -> None:
        """A policy with preset and groups parses into both tables with enum keys."""
        path = _write(
            self.dir,
            "p.json",
            {
                "example": {
                    "preset": {
                        "CERTIFICATE": {
                            "LOCATE": "ALLOW_ALL",
                            "DESTROY": "DISALLOW_ALL",
                        }
                    },
                    "groups": {
                        "group_A": {"CERTIFICATE": {"DESTROY": "ALLOW_ALL"}},
                        "group_B": {"CERTIFICATE": {"DESTROY": "DISALLOW_ALL"}},
                    },
                }
            },
        )
        policies = load_policy_file(path)
        policy = policies["example"]
        assert policy.preset is not None and policy.groups is not None
        C = ObjectType.CERTIFICATE
        self.assertEqual(
            dict(policy.preset),
            {
                (C, Operation.LOCATE): Permission.ALLOW_ALL,
                (C, Operation.DESTROY): Permission.DISALLOW_ALL,
            },
        )
        self.assertEqual(sorted(policy.groups), ["group_A", "group_B"])
        self.assertEqual(
            policy.groups["group_A"][(C, Operation.DESTROY)], Permission.ALLOW_ALL
        )

    def test_multiple_and_legacy_policies(self) -> None:
        """A file may hold several policies, including PyKMIP's legacy flat form (read as preset)."""
        policies = parse_policies(
            {
                "one": {"preset": {"SYMMETRIC_KEY": {"GET": "ALLOW_OWNER"}}},
                "flat": {"SYMMETRIC_KEY": {"GET": "ALLOW_ALL"}},
                "groups_only": {
                    "groups": {"g": {"PGP_KEY": {"REKEY_KEY_PAIR": "ALLOW_ALL"}}}
                },
            }
        )
        self.assertEqual(sorted(policies), ["flat", "groups_only", "one"])
        flat = policies["flat"]
        assert flat.preset is not None
        self.assertIsNone(flat.groups)
        self.assertEqual(
            flat.preset[(ObjectType.SYMMETRIC_KEY, Operation.GET)], Permission.ALLOW_ALL
        )
        self.assertIsNone(policies["groups_only"].preset)

    def test_empty_policies_and_sections(self) -> None:
        """Like PyKMIP, an empty policy is skipped and empty sections count as absent."""
        policies = parse_policies(
            {
                "skip": {},
                "p": {"preset": {}, "groups": {}},
                "q": {"preset": {"TEMPLATE": {}}},
            }
        )
        self.assertEqual(sorted(policies), ["p", "q"])
        self.assertEqual(policies["p"], Policy())
        self.assertEqual(dict(policies["q"].preset or {}), {})

    def test_example_file(self) -> None:
        """etc/policy.json loads and implements the documented Group A / Group B scenario."""
        path = Path(__file__).parent.parent / "etc" / "policy.json"
        engine = PolicyEngine()
        engine.set_source(str(path), load_policy_file(path))
        self.assertEqual(
            sorted(engine.names()),
            ["default", "public", "public_certificates", "shared_keys"],
        )

        def allowed(
            identity: str, groups: tuple[str, ...] | None, op: Operation
        ) -> bool:
            return engine.is_allowed(
                "shared_keys",
                ObjectType.SYMMETRIC_KEY,
                op,
                identity,
                groups,
                "John Doe",
            )

        self.assertTrue(allowed("Jane Doe", ("Group B",), Operation.GET))
        self.assertTrue(allowed("Jane Doe", ("Group B",), Operation.LOCATE))
        self.assertFalse(allowed("Jane Doe", ("Group B",), Operation.DESTROY))
        self.assertTrue(allowed("John Doe", ("Group A",), Operation.DESTROY))
        self.assertFalse(allowed("Joe", ("Group A",), Operation.DESTROY))
        self.assertFalse(allowed("Jane Doe", None, Operation.GET))
        self.assertTrue(allowed("John Doe", None, Operation.GET))
        self.assertFalse(allowed("Eve", ("Group C",), Operation.GET))

    def test_invalid_json(self) -> None:
        """Broken JSON names the file, line and column."""
        self.assertFileError('{"p": {\n  "preset": ', "invalid JSON", "line 2")

    def test_not_an_object(self) -> None:
        """A top level that is not an object is rejected."""
        self.assertFileError("[1, 2]", "expected a JSON object", "list")

    def test_policy_not_an_object(self) -> None:
        """A policy mapped to a non-object is rejected, naming the policy."""
        self.assertFileError({"p": "ALLOW_ALL"}, "'p'", "expected a JSON object")

    def test_unknown_object_type(self) -> None:
        """An unknown object type in a table is a named error with its key path."""
        self.assertFileError(
            {"p": {"preset": {"SYMMETRIC_KEYS": {"GET": "ALLOW_ALL"}}}},
            "'p' > 'preset' > 'SYMMETRIC_KEYS'",
            "unknown object type",
        )

    def test_unknown_operation(self) -> None:
        """An unknown operation (even a kmipd spelling such as RE_KEY) is a named error."""
        self.assertFileError(
            {"p": {"groups": {"g": {"SYMMETRIC_KEY": {"RE_KEY": "ALLOW_ALL"}}}}},
            "'p' > 'groups' > 'g' > 'SYMMETRIC_KEY' > 'RE_KEY'",
            "unknown operation",
        )

    def test_unknown_permission(self) -> None:
        """An unknown or non-string permission is a named error listing the valid ones."""
        self.assertFileError(
            {"p": {"preset": {"SYMMETRIC_KEY": {"GET": "Allow All"}}}},
            "unknown permission 'Allow All'",
            "ALLOW_OWNER",
        )
        self.assertFileError(
            {"p": {"preset": {"SYMMETRIC_KEY": {"GET": 1}}}}, "unknown permission 1"
        )

    def test_invalid_section(self) -> None:
        """A policy mixing sections with something else names the invalid section."""
        self.assertFileError(
            {"p": {"preset": {}, "grups": {}}}, "'p'", "invalid section 'grups'"
        )

    def test_groups_not_an_object(self) -> None:
        """A groups section that is not an object is rejected."""
        self.assertFileError(
            {"p": {"groups": ["g"]}}, "'p' > 'groups'", "expected a JSON object"
        )

    def test_duplicate_key(self) -> None:
        """A repeated key in a JSON object is rejected."""
        self.assertFileError(
            '{"p": {"preset": {"SYMMETRIC_KEY": {"GET": "ALLOW_ALL", "GET": "DISALLOW_ALL"}}}}',
            "duplicate key 'GET'",
        )

    def test_missing_file(self) -> None:
        """A file that cannot be read gives PolicyFileError naming it."""
        path = os.path.join(self.dir, "missing.json")
        error = self.assertRaises(PolicyFileError, load_policy_file, path)
        self.assertIn(path, str(error))
        self.assertIn("cannot read", str(error))

    def test_not_utf8(self) -> None:
        """A file that is not UTF-8 gives PolicyFileError."""
        path = os.path.join(self.dir, "latin.json")
        with open(path, "wb") as f:
            f.write(b'{"p\xe9": {}}')
        error = self.assertRaises(PolicyFileError, load_policy_file, path)
        self.assertIn("not UTF-8", str(error))

    def test_reserved_names_returned_by_loader(self) -> None:
        """The loader parses reserved names; dropping them is the engine's job."""
        policies = parse_policies(
            {"default": {"preset": {"TEMPLATE": {"GET": "ALLOW_ALL"}}}}
        )
        self.assertEqual(list(policies), ["default"])
