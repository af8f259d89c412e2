"""Authentication errors shared by the plugin chain (L{kmipd.auth.chain}) and its plugins."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["AuthenticationFailed"]


class AuthenticationFailed(Exception):
    """
    A user could not be authenticated.

    @ivar plugin: the name of the plugin that refused (its configuration
        section, e.g. C{"auth:slugs:primary"}), or C{"auth"} for the chain.
    @ivar user: the user that was being authenticated.
    @ivar reason: a short human readable reason (never secret material).
    @ivar causes: for a chain failure, the individual plugin failures in
        the order they were tried.
    """

    def __init__(
        self,
        plugin: str,
        user: str,
        reason: str,
        causes: Sequence[AuthenticationFailed] = (),
    ) -> None:
        super().__init__(plugin, user, reason)
        self.plugin = plugin
        self.user = user
        self.reason = reason
        self.causes = tuple(causes)

    def __str__(self) -> str:
        return f"{self.plugin}: cannot authenticate user {self.user!r}: {self.reason}"
