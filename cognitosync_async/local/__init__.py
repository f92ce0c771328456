"""A local Amazon Cognito Sync service: a faithful emulator on SQLite.

For the SDK's tests, demos and users' own test suites::

    from cognitosync_async.local import LocalCognitoSync

    async with LocalCognitoSync() as svc:
        async with CognitoSyncClient(svc.region, credentials=svc.credentials,
                                     endpoint_url=svc.endpoint_url) as client:
            ...

Modules: ``_service`` (``LocalCognitoSync``), ``server`` (the aiohttp
application and the request pipeline), ``routes`` (the Cognito Sync route
table), ``handlers`` (one module per area, Cognito Identity's included),
``context`` (what handlers share), ``storage`` (``Storage``: the stores over
one database), ``stores`` (one per area), ``database`` (SQLite and its
transactions), ``state`` (the rows), ``tokens`` (paging tokens), ``auth``
(SigV4 verification), ``faults`` (fault injection), ``cli`` (``serve`` and
friends).
"""

from __future__ import annotations

from ._errors import ServiceException
from ._service import LocalCognitoSync
from .context import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    DEFAULT_SECRET_ACCESS_KEY,
    LambdaThrottled,
    SyncTriggerHook,
)
from .faults import Faults
from .server import create_app
from .storage import DEFAULT_CREDENTIALS_TTL, Storage, mint_credentials

__all__ = [
    "DEFAULT_ACCESS_KEY_ID",
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_CREDENTIALS_TTL",
    "DEFAULT_REGION",
    "DEFAULT_SECRET_ACCESS_KEY",
    "Faults",
    "LambdaThrottled",
    "LocalCognitoSync",
    "ServiceException",
    "Storage",
    "SyncTriggerHook",
    "create_app",
    "mint_credentials",
]
