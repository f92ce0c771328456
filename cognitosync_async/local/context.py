"""What every handler shares: the service's settings, storage, faults and hooks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

import attrs

from . import auth
from .faults import Faults, TokenBuckets
from .storage import Storage

DEFAULT_ACCESS_KEY_ID = "AKIDLOCALDEVELOPER"
DEFAULT_SECRET_ACCESS_KEY = "local-developer-secret"
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"

#: A SyncTrigger: gets the event dict, returns the (possibly changed) event dict.
SyncTriggerHook = Callable[[dict[str, Any]], "dict[str, Any] | Awaitable[dict[str, Any]]"]


class LambdaThrottled(Exception):
    """Raise from a SyncTrigger hook to answer 429 ``LambdaThrottledException``."""


@attrs.define
class ServiceState:
    """Everything the handlers share. ``faults`` may be replaced at run time."""

    storage: Storage
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    developer_keys: dict[str, str] = attrs.field(  # access key id -> secret
        factory=lambda: {DEFAULT_ACCESS_KEY_ID: DEFAULT_SECRET_ACCESS_KEY}, repr=False
    )
    strict: bool = False
    faults: Faults = attrs.field(factory=Faults)
    sync_session_ttl: float = 900.0
    bulk_publish_delay: float = 0.0
    lambdas: dict[str, SyncTriggerHook] = attrs.field(factory=dict)
    lambda_timeout: float = 5.0
    buckets: TokenBuckets = attrs.field(factory=TokenBuckets)
    #: Lifetime in seconds of the credentials Cognito Identity's GetCredentialsForIdentity mints.
    identity_credentials_ttl: float = 3600.0
    #: Seconds the service's clock runs ahead of this machine's (docs/service-behaviour.md#c1).
    clock_offset: float = 0.0
    #: Login providers Cognito Identity accepts besides the public ones (OIDC, SAML).
    login_providers: frozenset[str] = frozenset()

    def lookup(self, access_key_id: str) -> auth.KeyRecord | None:
        secret = self.developer_keys.get(access_key_id)
        if secret is not None:
            return auth.KeyRecord(
                secret_access_key=secret,
                principal=auth.Principal(
                    kind="developer", access_key_id=access_key_id, account_id=self.account_id
                ),
            )
        stored = self.storage.credentials.get(access_key_id)
        if stored is None:
            return None
        return auth.KeyRecord(
            secret_access_key=stored.secret_access_key,
            session_token=stored.session_token,
            expiration=datetime.fromtimestamp(stored.expiration_ms / 1000, tz=timezone.utc),
            principal=auth.Principal(
                kind="identity",
                access_key_id=access_key_id,
                identity_pool_id=stored.identity_pool_id,
                identity_id=stored.identity_id,
            ),
        )
