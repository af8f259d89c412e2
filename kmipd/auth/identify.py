# -*- test-case-name: tests.test_session -*-
"""Identification: from a connection's TLS client certificate to the L{Caller} behind it.

The certificate's single subject Common Name is the identity (with the clientAuth Extended Key
Usage required while C{enable_tls_client_auth} is on); the third-party authentication chain
(SLUGS) then confirms the user and supplies its groups. Both ports (TTLV and HTTPS) identify
through one L{Identifier}, driven by L{kmipd.session.Session}.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from twisted.internet.defer import Deferred, fail, succeed
from twisted.python.failure import Failure

from kmipd.auth.certgroups import certificate_groups
from kmipd.auth.chain import AuthChain, AuthenticationFailed
from kmipd.log import Logger

__all__ = ["Caller", "IdentityError", "Identifier", "identity_from_certificate"]

_log = Logger()


@dataclass(frozen=True)
class Caller:
    """Who is calling: established per connection (and again after the SLUGS cache lifetime)."""

    identity: str | None
    groups: tuple[str, ...] | None = None


class IdentityError(Exception):
    """A client certificate yields no usable identity."""


def identity_from_certificate(cert: Any, require_client_auth_eku: bool) -> str:
    """
    The client identity: the single subject Common Name of C{cert}.

    @param cert: a pyOpenSSL C{X509} (from C{transport.getPeerCertificate()})
        or a C{cryptography} certificate.
    @param require_client_auth_eku: the C{enable_tls_client_auth} setting; when
        true the certificate needs an Extended Key Usage with clientAuth.
    @raise IdentityError: no certificate, no or several CNs, or missing EKU.
    """
    if cert is None:
        raise IdentityError("the client presented no certificate")
    if hasattr(cert, "to_cryptography"):
        cert = cert.to_cryptography()
    if not isinstance(cert, x509.Certificate):
        raise IdentityError(f"not a certificate: {type(cert).__name__}")
    if require_client_auth_eku:
        _check_client_auth(cert)
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        raise IdentityError("the client certificate subject has no Common Name")
    if len(names) > 1:
        raise IdentityError("the client certificate subject has several Common Names")
    value = names[0].value
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not value.strip():
        raise IdentityError("the client certificate subject Common Name is empty")
    return value


def _check_validity(cert: Any, now: float) -> None:
    """Refuse C{cert} outside its validity period: a resumed TLS session (session ticket) is not
    verified again, so a certificate that expired since the full handshake would pass otherwise."""
    if hasattr(cert, "to_cryptography"):
        cert = cert.to_cryptography()
    if not cert.not_valid_before_utc.timestamp() <= now <= cert.not_valid_after_utc.timestamp():
        raise IdentityError(f"the client certificate is not valid now (valid from "
                            f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M:%S} to "
                            f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC)")


def _check_client_auth(cert: x509.Certificate) -> None:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        raise IdentityError(
            "the client certificate has no Extended Key Usage extension "
            "(clientAuth is required while enable_tls_client_auth is on)"
        ) from None
    if ExtendedKeyUsageOID.CLIENT_AUTH not in eku:
        raise IdentityError("the client certificate's Extended Key Usage does not include clientAuth")


class Identifier:
    """Certificate -> Deferred L{Caller}: the certificate's CN, confirmed by the authentication chain.

    @param chain: the third-party authentication chain (an empty chain accepts the CN alone).
    @param require_client_auth_eku: the C{enable_tls_client_auth} setting.
    @param require_certificate: refuse a connection without a certificate (TLS); without it (plain
        TTLV in tests) such a connection is an anonymous caller.
    @param certificate_groups: the groups are the certificate's OU values
        (L{kmipd.auth.certgroups}) and the chain is not asked (the C{certificate_groups} setting,
        without SLUGS).
    @param clock: the wall clock (seconds since the epoch) the certificate's validity is checked
        against: OpenSSL checks it on a full handshake only, not when a TLS session is resumed.
    """

    def __init__(self, chain: AuthChain, *, require_client_auth_eku: bool = True,
                 require_certificate: bool = True, certificate_groups: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        self.chain = chain
        self.clock = clock
        self.require_client_auth_eku = require_client_auth_eku
        self.require_certificate = require_certificate
        self.certificate_groups = certificate_groups

    def __call__(self, certificate: Any) -> Deferred[Caller]:
        """The caller behind C{certificate}; fails with L{IdentityError} or L{AuthenticationFailed}."""
        if certificate is None:
            if self.require_certificate:
                return fail(IdentityError("the client presented no certificate"))
            return succeed(Caller(None))
        try:
            name = identity_from_certificate(certificate, self.require_client_auth_eku)
            _check_validity(certificate, self.clock())
        except IdentityError as e:
            return fail(e)
        if self.certificate_groups:
            return succeed(Caller(name, certificate_groups(certificate)))
        d: Deferred[Caller] = self.chain.authenticate(name).addCallback(
            lambda identity: Caller(identity.name, identity.groups))

        def refused(failure: Failure) -> Failure:
            failure.trap(AuthenticationFailed)
            _log.warn("authentication failed for {client}: {reason}", client=name,
                      reason=failure.getErrorMessage())
            return failure

        d.addErrback(refused)
        return d
