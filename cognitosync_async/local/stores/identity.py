"""Cognito Identity's rules that need a transaction: identities, linked logins,
merges of linked identities (docs/service-behaviour.md#c5), and the
OpenID tokens of developer-authenticated identities. C3 and C5 below are the
rules of that file."""

from __future__ import annotations

import re
import secrets
import sqlite3
import uuid
from typing import Any

from .._errors import ServiceException, identity_error, invalid_parameter, not_found
from ..database import Database
from ..state import now_ms
from ..tokens import decode_token, encode_token
from .records import RecordStore

COGNITO_LOGIN = "cognito-identity.amazonaws.com"

#: The public login providers every pool accepts here (a real pool accepts those it is
#: configured with; ``LocalCognitoSync(login_providers=...)`` adds OIDC/SAML names).
PUBLIC_PROVIDERS = frozenset(
    {
        "graph.facebook.com",
        "accounts.google.com",
        "www.amazon.com",
        "api.twitter.com",
        "appleid.apple.com",
        "www.digits.com",
    }
)
_USER_POOL_PROVIDER = re.compile(r"cognito-idp\.[a-z0-9-]+\.amazonaws\.com/[\w-]+_[0-9a-zA-Z]+")


def _error(code: str, message: str) -> ServiceException:
    return identity_error(code, message)


def _not_authorized(message: str) -> ServiceException:
    return identity_error("NotAuthorizedException", message)


class IdentityStore:
    """The Cognito Identity rules that need a transaction, on the service's database."""

    def __init__(
        self,
        database: Database,
        records: RecordStore,
        *,
        strict: bool,
        providers: frozenset[str] = frozenset(),
    ) -> None:
        self._db = database
        self._records = records
        self._strict = strict
        self._providers = providers

    def _pool(self, conn: sqlite3.Connection, pool_id: str, *, create: bool) -> None:
        if conn.execute("SELECT 1 FROM pools WHERE pool_id=?", (pool_id,)).fetchone():
            return
        if not create or self._strict:
            raise not_found(f"IdentityPool '{pool_id}' not found.")
        t = now_ms()
        conn.execute(
            "INSERT INTO pools (pool_id, created_ms, last_modified_ms) VALUES (?,?,?)",
            (pool_id, t, t),
        )

    @staticmethod
    def _new_identity(conn: sqlite3.Connection, pool_id: str) -> str:
        identity_id = f"{pool_id.split(':', 1)[0]}:{uuid.uuid4()}"
        t = now_ms()
        conn.execute("INSERT INTO identities VALUES (?,?,?,?)", (pool_id, identity_id, t, t))
        return identity_id

    def _disabled(self, conn: sqlite3.Connection, pool_id: str, identity_id: str) -> bool:
        row = conn.execute(
            "SELECT 1 FROM disabled_identities WHERE pool_id=? AND identity_id=?",
            (pool_id, identity_id),
        ).fetchone()
        return row is not None

    def _accepts(self, conn: sqlite3.Connection, pool_id: str, provider: str) -> bool:
        """Whether the pool accepts a new login of this provider (a guess: see module doc)."""
        if provider in PUBLIC_PROVIDERS or provider in self._providers:
            return True
        return _USER_POOL_PROVIDER.fullmatch(provider) is not None

    def _owner(
        self, conn: sqlite3.Connection, pool_id: str, provider: str, token: str
    ) -> str | None:
        """The identity a login names (None: a login not linked yet, of a provider the
        pool accepts); a login no caller may present → ``NotAuthorizedException``."""
        if provider == COGNITO_LOGIN:
            row = conn.execute(
                "SELECT pool_id, identity_id, expires_ms FROM openid_tokens WHERE token=?",
                (token,),
            ).fetchone()
            if row is None or row["pool_id"] != pool_id or row["expires_ms"] <= now_ms():
                raise _not_authorized("Invalid login token. Token is expired or not valid.")
            return str(row["identity_id"])
        developer = conn.execute(
            "SELECT 1 FROM developer_providers WHERE pool_id=? AND provider=?", (pool_id, provider)
        ).fetchone()
        if developer is not None:  # only through a token of GetOpenIdTokenForDeveloperIdentity
            raise _not_authorized(
                f"Invalid login token. {provider} is a developer provider: present a "
                f"{COGNITO_LOGIN} token instead."
            )
        row = conn.execute(
            "SELECT identity_id FROM identity_logins WHERE pool_id=? AND provider=? AND subject=?",
            (pool_id, provider, token),
        ).fetchone()
        if row is not None:
            return str(row["identity_id"])
        if not self._accepts(conn, pool_id, provider):
            raise _not_authorized(
                f"Invalid login token. The identity pool does not accept logins from {provider}."
            )
        return None

    @staticmethod
    def _check_one_per_provider(
        conn: sqlite3.Connection, pool_id: str, identity_ids: set[str], logins: dict[str, str]
    ) -> None:
        """C5: one login per public provider on an identity (after any merge)."""
        by_provider: dict[str, set[str]] = {}
        for provider, token in logins.items():
            if provider != COGNITO_LOGIN:
                by_provider.setdefault(provider, set()).add(token)
        for identity_id in identity_ids:
            for row in conn.execute(
                "SELECT provider, subject FROM identity_logins WHERE pool_id=? AND identity_id=?",
                (pool_id, identity_id),
            ):
                by_provider.setdefault(row["provider"], set()).add(row["subject"])
        for provider, subjects in by_provider.items():
            if len(subjects) > 1:
                raise _error(
                    "ResourceConflictException",
                    f"This identity already has a login of {provider} linked; "
                    "one login per provider can be linked to an identity.",
                )

    def _link(
        self,
        conn: sqlite3.Connection,
        pool_id: str,
        identity_id: str,
        logins: dict[str, str],
        owners: set[str],
        *,
        developer: bool = False,
    ) -> None:
        """Link ``logins`` to ``identity_id``, merging the other identities that own some
        of them into it (C5: they are disabled, their datasets reported as merged)."""
        others = owners - {identity_id}
        if not developer:
            self._check_one_per_provider(conn, pool_id, {identity_id, *others}, logins)
        for other in sorted(others):
            self._records.merge_in(conn, pool_id, other, identity_id)
        for provider, token in logins.items():
            if provider != COGNITO_LOGIN:
                conn.execute(
                    "INSERT OR IGNORE INTO identity_logins VALUES (?,?,?,?)",
                    (pool_id, provider, token, identity_id),
                )
        conn.execute(
            "UPDATE identities SET last_modified_ms=? WHERE pool_id=? AND identity_id=?",
            (now_ms(), pool_id, identity_id),
        )

    def _owners(self, conn: sqlite3.Connection, pool_id: str, logins: dict[str, str]) -> set[str]:
        return {
            owner
            for provider, token in logins.items()
            if (owner := self._owner(conn, pool_id, provider, token)) is not None
        }

    @staticmethod
    def _oldest(conn: sqlite3.Connection, pool_id: str, identity_ids: set[str]) -> str:
        return str(
            conn.execute(
                "SELECT identity_id FROM identities WHERE pool_id=? AND identity_id IN "
                f"({','.join('?' * len(identity_ids))}) ORDER BY created_ms, identity_id LIMIT 1",
                (pool_id, *sorted(identity_ids)),
            ).fetchone()[0]
        )

    def _resolve(self, conn: sqlite3.Connection, pool_id: str, logins: dict[str, str]) -> str:
        """The identity these logins name, linking the unlinked ones; new if none. Logins
        of several identities merge them into the oldest (a guess: AWS does not say)."""
        owners = self._owners(conn, pool_id, logins)
        if owners:
            identity_id = self._oldest(conn, pool_id, owners)
        else:
            identity_id = self._new_identity(conn, pool_id)
        self._link(conn, pool_id, identity_id, logins, owners)
        return identity_id

    def get_id(self, pool_id: str, logins: dict[str, str]) -> str:
        with self._db.transaction() as conn:
            self._pool(conn, pool_id, create=True)
            if not logins:
                return self._new_identity(conn, pool_id)
            return self._resolve(conn, pool_id, logins)

    def check_credentials_request(
        self, identity_id: str, logins: dict[str, str]
    ) -> tuple[str, str]:
        """The identity's pool and the identity credentials are for, once the logins
        allow them.

        Allowed: an identity with no linked login, given no login or new logins of
        providers the pool accepts (which are linked), or a login of another identity
        (the unauthenticated identity is merged into that one, whose credentials these
        are, as when a guest signs in); an identity with linked logins, given at least
        one of them (other logins given are linked, merging the identities that own
        them into it). Anything else → ``NotAuthorizedException``, and nothing is linked.
        """
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT pool_id FROM identities WHERE identity_id=? ORDER BY created_ms LIMIT 1",
                (identity_id,),
            ).fetchone()
            if row is None:
                raise not_found(f"Identity '{identity_id}' not found.")
            pool_id = str(row["pool_id"])
            if self._disabled(conn, pool_id, identity_id):
                raise _not_authorized(f"Identity '{identity_id}' is disabled.")
            linked = conn.execute(
                "SELECT 1 FROM identity_logins WHERE pool_id=? AND identity_id=? LIMIT 1",
                (pool_id, identity_id),
            ).fetchone() is not None
            owners = self._owners(conn, pool_id, logins)
            if linked and identity_id not in owners:
                raise _not_authorized(
                    f"Access to Identity '{identity_id}' is forbidden: include at least one "
                    "login linked to it."
                    if not logins
                    else "Logins don't match. Please include at least one valid login "
                    "for this identity or identity pool."
                )
            if not linked and owners - {identity_id}:
                survivor = self._oldest(conn, pool_id, owners)
                self._link(conn, pool_id, survivor, logins, owners | {identity_id})
                return pool_id, survivor
            if logins:
                self._link(conn, pool_id, identity_id, logins, owners)
            return pool_id, identity_id

    def list_identities(
        self, pool_id: str, max_results: int, next_token: str | None, hide_disabled: bool = False
    ) -> dict[str, Any]:
        after = ""
        if next_token is not None:
            position = decode_token(next_token, "NextToken")
            after = position.get("after", "")
            if not isinstance(after, str) or position.get("pool") != pool_id:
                raise invalid_parameter("Invalid NextToken")
        with self._db.transaction() as conn:
            self._pool(conn, pool_id, create=False)
            hidden = (
                "AND identity_id NOT IN (SELECT identity_id FROM disabled_identities "
                "WHERE pool_id=identities.pool_id) "
                if hide_disabled
                else ""
            )
            rows = conn.execute(
                f"SELECT * FROM identities WHERE pool_id=? AND identity_id>? {hidden}"
                "ORDER BY identity_id LIMIT ?",
                (pool_id, after, max_results + 1),
            ).fetchall()
            page = rows[:max_results]
            identities = []
            for row in page:
                providers = [
                    r["provider"]
                    for r in conn.execute(
                        "SELECT DISTINCT provider FROM identity_logins "
                        "WHERE pool_id=? AND identity_id=? ORDER BY provider",
                        (pool_id, row["identity_id"]),
                    )
                ]
                identities.append(
                    {
                        "IdentityId": row["identity_id"],
                        "Logins": providers,
                        "CreationDate": row["created_ms"] / 1000,
                        "LastModifiedDate": row["last_modified_ms"] / 1000,
                    }
                )
        out: dict[str, Any] = {"IdentityPoolId": pool_id, "Identities": identities}
        if len(rows) > max_results:
            out["NextToken"] = encode_token({"pool": pool_id, "after": page[-1]["identity_id"]})
        return out

    def open_id_token(
        self, pool_id: str, identity_id: str | None, logins: dict[str, str], duration: int
    ) -> dict[str, Any]:
        with self._db.transaction() as conn:
            self._pool(conn, pool_id, create=True)
            for provider in logins:
                if provider != COGNITO_LOGIN:
                    conn.execute(
                        "INSERT OR IGNORE INTO developer_providers VALUES (?,?)",
                        (pool_id, provider),
                    )
            owners = {
                str(r["identity_id"])
                for provider, user in logins.items()
                for r in conn.execute(
                    "SELECT identity_id FROM identity_logins "
                    "WHERE pool_id=? AND provider=? AND subject=?",
                    (pool_id, provider, user),
                )
            }
            if identity_id is None:
                if len(owners) > 1:
                    raise _error(
                        "DeveloperUserAlreadyRegisteredException",
                        "The developer users are registered with different identity IDs.",
                    )
                identity_id = owners.pop() if owners else self._new_identity(conn, pool_id)
                self._link(conn, pool_id, identity_id, logins, set(), developer=True)
            else:
                known = conn.execute(
                    "SELECT 1 FROM identities WHERE pool_id=? AND identity_id=?",
                    (pool_id, identity_id),
                ).fetchone()
                if known is None or self._disabled(conn, pool_id, identity_id):
                    raise not_found(f"Identity '{identity_id}' not found.")
                if owners - {identity_id}:
                    raise _error(
                        "DeveloperUserAlreadyRegisteredException",
                        "The developer user is already registered with a different "
                        "identity ID.",
                    )
                self._link(conn, pool_id, identity_id, logins, set(), developer=True)
            token = secrets.token_urlsafe(48)
            conn.execute(
                "INSERT INTO openid_tokens VALUES (?,?,?,?)",
                (token, pool_id, identity_id, now_ms() + duration * 1000),
            )
        return {"IdentityId": identity_id, "Token": token}
