# -*- test-case-name: tests.test_policy -*-
"""
KMIP operation policies (access control), as described by the PyKMIP server
documentation: built-in C{default}/C{public} policies, PyKMIP-format JSON
policy files, and live reloading of the policy directory.
"""

from kmipd.policy.builtin import BUILTIN_POLICIES, RESERVED_POLICY_NAMES
from kmipd.policy.loader import PolicyFileError, load_policy_file, parse_policies
from kmipd.policy.model import Permission, Policy, PolicyEngine
from kmipd.policy.reloader import PolicyDirectoryWatcher

__all__ = [
    "BUILTIN_POLICIES",
    "RESERVED_POLICY_NAMES",
    "Permission",
    "Policy",
    "PolicyDirectoryWatcher",
    "PolicyEngine",
    "PolicyFileError",
    "load_policy_file",
    "parse_policies",
]
