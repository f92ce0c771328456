"""``Storage``: the emulator's state in one SQLite database, a store per area.

``Storage(db_path)`` opens the :class:`~.database.Database` (``None`` = in memory;
WAL and ``synchronous=FULL`` for a file) and the stores over it: ``records``,
``pools``, ``devices`` and ``credentials``. The admin calls ``LocalCognitoSync``
and the command line use are here too; :func:`mint_credentials` creates
identity-bound credentials in it.
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timedelta, timezone
from typing import Any

from .._credentials import Credentials
from .database import Database
from .state import StoredCredentials
from .stores.credentials import CredentialStore
from .stores.devices import DeviceStore
from .stores.pools import PoolStore
from .stores.records import RecordStore

DEFAULT_CREDENTIALS_TTL = 3600.0


class Storage:
    """The emulator's state in one SQLite database (``None`` = in memory)."""

    def __init__(self, db_path: str | None = None, *, durable: bool = True) -> None:
        """``durable=False`` skips the fsync after each commit (a throw-away file)."""
        self.db_path = db_path
        self.database = Database(db_path, durable=durable)
        self.records = RecordStore(self.database)
        self.pools = PoolStore(self.database)
        self.devices = DeviceStore(self.database)
        self.credentials = CredentialStore(self.database)

    def close(self) -> None:
        self.database.close()

    def ensure(self, pool_id: str, identity_id: str | None, *, create: bool) -> None:
        """Make sure the pool (and identity) exist: create them, or raise 404."""
        self.records.ensure(pool_id, identity_id, create=create)

    def seed_pool(self, pool_id: str) -> None:
        self.records.ensure(pool_id, None, create=True)

    def seed_identity(self, pool_id: str, identity_id: str) -> None:
        self.records.ensure(pool_id, identity_id, create=True)

    def merge(self, pool_id: str, source_identity_id: str, target_identity_id: str) -> list[str]:
        """Merge the source identity into the target (see ``RecordStore.merge``)."""
        return self.records.merge(pool_id, source_identity_id, target_identity_id)

    def outbox(self, kind: str | None = None) -> list[dict[str, Any]]:
        return self.devices.outbox(kind)

    def clear_outbox(self) -> None:
        self.devices.clear_outbox()


def mint_credentials(
    storage: Storage,
    identity_pool_id: str,
    identity_id: str,
    *,
    strict: bool = False,
    ttl: float = DEFAULT_CREDENTIALS_TTL,
) -> Credentials:
    """Create identity-bound temporary credentials in ``storage`` (shared with the CLI)."""
    storage.ensure(identity_pool_id, identity_id, create=not strict)
    alphabet = string.ascii_uppercase + string.digits
    access_key_id = "ASIA" + "".join(secrets.choice(alphabet) for _ in range(16))
    expiration = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=ttl)
    stored = StoredCredentials(
        access_key_id=access_key_id,
        secret_access_key=secrets.token_urlsafe(30),
        session_token=secrets.token_urlsafe(96),
        identity_pool_id=identity_pool_id,
        identity_id=identity_id,
        expiration_ms=int(expiration.timestamp() * 1000),
    )
    storage.credentials.put(stored)
    return Credentials(
        stored.access_key_id,
        stored.secret_access_key,
        session_token=stored.session_token,
        expiration=expiration,
    )
