# -*- test-case-name: tests.test_admin_pki -*-
"""Groups asserted by the client certificate itself (C{certificate_groups = True}).

C{kmipd-admin pki issue-client NAME --group G} writes each group as an Organizational Unit (OU)
attribute of the subject. With C{certificate_groups} on and no SLUGS configured, those OU values
are the caller's groups for the operation policies, exactly as SLUGS groups would be: the CA that
signed the certificate vouches for them as it vouches for the Common Name. Only turn it on when
every CA in C{ca_path} uses OU that way.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

__all__ = ["certificate_groups"]


def certificate_groups(cert: Any) -> tuple[str, ...]:
    """The OU values of C{cert}'s subject, in order, without duplicates."""
    if hasattr(cert, "to_cryptography"):
        cert = cert.to_cryptography()
    if not isinstance(cert, x509.Certificate):
        return ()
    values = (str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME))
    return tuple(dict.fromkeys(v for v in values if v))
