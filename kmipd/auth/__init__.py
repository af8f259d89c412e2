"""
Client authentication: third-party plugins (SLUGS) and request credentials.

The public names are re-exported here; see L{kmipd.auth.chain},
L{kmipd.auth.slugs} and L{kmipd.auth.credentials}.
"""

from kmipd.auth.chain import (
    AuthChain,
    AuthenticationFailed,
    Authenticator,
    Identity,
    build_auth_chain,
)
from kmipd.auth.credentials import (
    CredentialFileError,
    CredentialStore,
    hash_password,
)
from kmipd.auth.slugs import SLUGSAuthenticator, SLUGSConfigError

__all__ = [
    "AuthChain",
    "AuthenticationFailed",
    "Authenticator",
    "CredentialFileError",
    "CredentialStore",
    "Identity",
    "SLUGSAuthenticator",
    "SLUGSConfigError",
    "build_auth_chain",
    "hash_password",
]
