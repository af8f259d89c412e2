# -*- test-case-name: tests.test_auth_chain -*-
"""
Third-party authentication chain.

After the TLS handshake has produced a client identity (the certificate's
common name), the server asks each enabled third-party authentication plugin,
in configuration order, whether that user is valid and which groups it belongs
to.  The first plugin that succeeds wins and no further plugins are queried;
if every plugin fails, the request is refused (KMIP result reason
I{Authentication Not Successful}).  With no plugin enabled, third-party
authentication is skipped: the certificate identity is used alone and no group
information is available (L{Identity.groups} is L{None}).

This mirrors the PyKMIP server documentation ("Third-Party Integration"), but
each lookup is asynchronous and never blocks the reactor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from kmipd.auth.errors import AuthenticationFailed
from kmipd.auth.slugs import SLUGSAuthenticator
from kmipd.log import Logger

__all__ = [
    "AuthChain",
    "AuthenticationFailed",
    "Authenticator",
    "Identity",
    "build_auth_chain",
]

_log = Logger()


@dataclass(frozen=True)
class Identity:
    """
    An authenticated client identity.

    @ivar name: the client identity (certificate common name), or L{None}
        when none could be derived.
    @ivar groups: the groups the identity belongs to, or L{None} when no
        group information is available (no third-party plugin enabled).
    """

    name: str | None
    groups: tuple[str, ...] | None


class Authenticator(Protocol):
    """The shape of a third-party authentication plugin."""

    name: str

    def authenticate(self, user: str) -> Deferred[tuple[str, ...]]:
        """Return a Deferred of the user's groups, or fail with L{AuthenticationFailed}."""


class AuthChain:
    """
    Try authenticators in order; the first success wins.

    @ivar authenticators: the plugins, in configuration order.
    """

    def __init__(self, authenticators: Iterable[Authenticator] = ()) -> None:
        self.authenticators: tuple[Authenticator, ...] = tuple(authenticators)

    def authenticate(self, user: str) -> Deferred[Identity]:
        """
        Authenticate C{user} against the configured plugins.

        @return: a Deferred firing with an L{Identity} (groups from the first
            plugin that accepted the user, or L{None} with no plugins), or
            failing with L{AuthenticationFailed} if every plugin refused.
        """
        if not self.authenticators:
            return Deferred.fromCoroutine(_identity_without_plugins(user))
        return Deferred.fromCoroutine(self._try_all(user))

    async def _try_all(self, user: str) -> Identity:
        failures: list[AuthenticationFailed] = []
        for plugin in self.authenticators:
            try:
                groups = await maybeDeferred(plugin.authenticate, user)
            except AuthenticationFailed as e:
                failures.append(e)
                continue
            except Exception as e:  # noqa: BLE001 - a plugin bug is a refusal
                # A bug in a plugin must not crash the request; log it and
                # treat it as a refusal by that plugin.
                _log.failure(
                    "auth plugin {plugin} raised unexpectedly for {user}",
                    Failure(e),
                    plugin=plugin.name,
                    user=user,
                )
                failures.append(
                    AuthenticationFailed(
                        plugin.name, user, f"internal error: {type(e).__name__}"
                    )
                )
                continue
            return Identity(user, tuple(groups))
        error = AuthenticationFailed(
            "auth",
            user,
            "rejected by all {} plugin(s): {}".format(
                len(failures), "; ".join(f"{f.plugin}: {f.reason}" for f in failures)
            ),
            failures,
        )
        _log.warn(
            "third-party authentication failed for {user}: {reason}",
            plugin="auth",
            user=user,
            reason=error.reason,
        )
        raise error


async def _identity_without_plugins(user: str) -> Identity:
    return Identity(user, None)


def build_auth_chain(
    slugs_configs: Iterable[Any],
    http_client: Any,
    clock: IReactorTime,
    timeout: float = 5.0,
    cache_ttl: float = 30.0,
    failure_cache_ttl: float = 5.0,
) -> AuthChain:
    """
    Build an L{AuthChain} from C{[auth:slugs...]} configuration sections.

    @param slugs_configs: objects with C{.section} (e.g.
        C{"auth:slugs:primary"}), C{.enabled} (bool) and C{.url}, in
        configuration file order; disabled sections are skipped.
    @param http_client: a L{treq.client.HTTPClient}, shared by all plugins.
    @param clock: the reactor (timeouts and cache expiry).
    """
    plugins = []
    for config in slugs_configs:
        if not isinstance(config.enabled, bool):
            raise TypeError(
                f"[{config.section}] enabled must be a bool, not {config.enabled!r}"
            )
        if config.enabled:
            plugins.append(
                SLUGSAuthenticator(
                    config.url,
                    http_client,
                    clock,
                    timeout=timeout,
                    cache_ttl=cache_ttl,
                    failure_cache_ttl=failure_cache_ttl,
                    name=config.section,
                )
            )
    return AuthChain(plugins)
