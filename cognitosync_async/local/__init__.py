"""A local Amazon Cognito Sync service: a faithful emulator on SQLite.

For the SDK's tests, demos and users' own test suites::

    from cognitosync_async.local import LocalCognitoSync

    async with LocalCognitoSync() as svc:
        async with CognitoSyncClient(svc.region, credentials=svc.credentials,
                                     endpoint_url=svc.endpoint_url) as client:
            ...

Modules: ``server`` (the aiohttp application, routing and operations),
``storage`` (SQLite and the transactional sync rules), ``auth`` (SigV4
verification), ``faults`` (fault injection), ``cli`` (``serve`` and friends).
"""

from __future__ import annotations

from ._errors import ServiceException
from ._service import DEFAULT_CREDENTIALS_TTL, LocalCognitoSync, mint_credentials
from .faults import Faults
from .server import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    DEFAULT_SECRET_ACCESS_KEY,
    LambdaThrottled,
    SyncTriggerHook,
    create_app,
)
from .storage import Storage

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
