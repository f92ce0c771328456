"""Identity-bound temporary credentials, as stored (minted by Cognito Identity's
GetCredentialsForIdentity, ``LocalCognitoSync.mint_identity_credentials`` and the
``mint-credentials`` command; looked up by SigV4 verification)."""

from __future__ import annotations

from ..database import Database
from ..state import StoredCredentials


class CredentialStore:
    """Credentials by access key id."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def put(self, creds: StoredCredentials) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO credentials VALUES (?,?,?,?,?,?)",
                (
                    creds.access_key_id,
                    creds.secret_access_key,
                    creds.session_token,
                    creds.identity_pool_id,
                    creds.identity_id,
                    creds.expiration_ms,
                ),
            )

    def get(self, access_key_id: str) -> StoredCredentials | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT * FROM credentials WHERE access_key_id=?", (access_key_id,)
            ).fetchone()
        if row is None:
            return None
        return StoredCredentials(
            access_key_id=row["access_key_id"],
            secret_access_key=row["secret_access_key"],
            session_token=row["session_token"],
            identity_pool_id=row["pool_id"],
            identity_id=row["identity_id"],
            expiration_ms=row["expiration_ms"],
        )
