"""``LocalCognitoSync``: run the local service in this loop or in a background thread."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Any

from aiohttp import web

from .._credentials import Credentials
from .context import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    DEFAULT_SECRET_ACCESS_KEY,
    ServiceState,
    SyncTriggerHook,
)
from .faults import Faults
from .server import create_app
from .storage import DEFAULT_CREDENTIALS_TTL, Storage, mint_credentials

__all__ = ["DEFAULT_CREDENTIALS_TTL", "LocalCognitoSync", "mint_credentials"]


class LocalCognitoSync:
    """A local Amazon Cognito Sync service on a loopback port, backed by SQLite.

    Async use (the server runs in the running loop)::

        async with LocalCognitoSync() as svc:
            ... svc.endpoint_url, svc.credentials ...

    Sync use (the server runs in a background thread with its own loop)::

        with LocalCognitoSync() as svc:          # or svc.start_in_thread() / svc.stop()
            ...

    Admin helpers (``seed_pool``, ``seed_identity``, ``mint_identity_credentials``,
    ``merge``, ``outbox``) are plain blocking calls, safe from any thread and
    usable before the server starts.
    """

    def __init__(
        self,
        *,
        db_path: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        strict: bool = False,
        access_key_id: str = DEFAULT_ACCESS_KEY_ID,
        secret_access_key: str = DEFAULT_SECRET_ACCESS_KEY,
        account_id: str = DEFAULT_ACCOUNT_ID,
        region: str = DEFAULT_REGION,
        faults: Faults | None = None,
        sync_session_ttl: float = 900.0,
        bulk_publish_delay: float = 0.0,
        lambdas: dict[str, SyncTriggerHook] | None = None,
        lambda_timeout: float = 5.0,
        identity_credentials_ttl: float = DEFAULT_CREDENTIALS_TTL,
        durable: bool = True,
        clock_offset: float = 0.0,
        login_providers: tuple[str, ...] = (),
    ) -> None:
        """``clock_offset``: seconds the service's clock runs ahead of this machine's
        (negative: behind); requests are judged, and answers dated, by that clock.
        ``login_providers``: provider names Cognito Identity accepts besides the public
        ones and Cognito user pools (e.g. an OIDC issuer)."""
        self.host = host
        self.port = port
        self.db_path = db_path
        self._storage = Storage(db_path, durable=durable)
        self._state = ServiceState(
            storage=self._storage,
            region=region,
            account_id=account_id,
            developer_keys={access_key_id: secret_access_key},
            strict=strict,
            faults=faults if faults is not None else Faults(),
            sync_session_ttl=sync_session_ttl,
            bulk_publish_delay=bulk_publish_delay,
            lambdas=dict(lambdas or {}),
            lambda_timeout=lambda_timeout,
            identity_credentials_ttl=identity_credentials_ttl,
            clock_offset=clock_offset,
            login_providers=frozenset(login_providers),
        )
        self.credentials = Credentials(access_key_id, secret_access_key)
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    # ------------------------------------------------------------------ properties

    @property
    def region(self) -> str:
        return self._state.region

    @property
    def account_id(self) -> str:
        return self._state.account_id

    @property
    def strict(self) -> bool:
        return self._state.strict

    @property
    def faults(self) -> Faults:
        return self._state.faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        self._state.faults = value
        self._state.buckets.clear()

    @property
    def lambdas(self) -> dict[str, SyncTriggerHook]:
        """SyncTrigger hooks by Lambda ARN (the ARN set with SetCognitoEvents)."""
        return self._state.lambdas

    @property
    def identity_credentials_ttl(self) -> float:
        """Seconds that credentials from Cognito Identity's GetCredentialsForIdentity last."""
        return self._state.identity_credentials_ttl

    @identity_credentials_ttl.setter
    def identity_credentials_ttl(self, value: float) -> None:
        self._state.identity_credentials_ttl = value

    @property
    def storage(self) -> Storage:
        return self._storage

    @property
    def endpoint_url(self) -> str:
        if self._runner is None and self._thread is None:
            raise RuntimeError("the local service is not running")
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._runner is not None

    # ------------------------------------------------------------------ async lifecycle

    async def start(self) -> None:
        """Start serving in the running loop (``port=0`` picks a free port)."""
        if self._closed:
            raise RuntimeError("this LocalCognitoSync has been stopped")
        if self._runner is not None:
            raise RuntimeError("the local service is already running")
        app = create_app(state=self._state)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        # the runner's public socket names: any loop's server (uvloop's too)
        self.port = int(runner.addresses[0][1])
        self._runner = runner

    async def aclose(self) -> None:
        """Stop serving and close the database."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        if self._thread is None:
            self._close_storage()

    def _close_storage(self) -> None:
        self._closed = True
        self._storage.close()

    async def __aenter__(self) -> LocalCognitoSync:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ thread lifecycle

    def start_in_thread(self) -> LocalCognitoSync:
        """Start serving in a daemon thread with its own event loop; returns ``self``."""
        if self._thread is not None or self._runner is not None:
            raise RuntimeError("the local service is already running")
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def main() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.aclose())
                loop.run_until_complete(loop.shutdown_default_executor())
                loop.close()

        thread = threading.Thread(target=main, name="cognitosync-local", daemon=True)
        self._thread = thread
        self._thread_loop = loop
        thread.start()
        ready.wait()
        if failure:
            self._thread = None
            self._thread_loop = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop a service started with :meth:`start_in_thread` and close the database."""
        thread, loop = self._thread, self._thread_loop
        if thread is None or loop is None:
            if self._runner is None:
                self._close_storage()
                return
            raise RuntimeError("started with 'async with'/start(): use 'await aclose()'")
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._thread = None
        self._thread_loop = None
        self._close_storage()

    def __enter__(self) -> LocalCognitoSync:
        return self.start_in_thread()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ admin

    def seed_pool(self, identity_pool_id: str) -> None:
        """Create an identity pool (what Cognito Identity would own)."""
        self._storage.seed_pool(identity_pool_id)

    def seed_identity(self, identity_pool_id: str, identity_id: str) -> None:
        """Create an identity (and its pool)."""
        self._storage.seed_identity(identity_pool_id, identity_id)

    def mint_identity_credentials(
        self,
        identity_pool_id: str,
        identity_id: str,
        *,
        ttl: float = DEFAULT_CREDENTIALS_TTL,
    ) -> Credentials:
        """Temporary credentials bound to one identity, with a session token and expiration.

        Creates the pool and identity unless ``strict`` (then both must be seeded:
        the service's 404 error is raised).
        """
        return mint_credentials(
            self._storage, identity_pool_id, identity_id, strict=self.strict, ttl=ttl
        )

    def merge(
        self, identity_pool_id: str, source_identity_id: str, target_identity_id: str
    ) -> list[str]:
        """Link identities (docs/service-behaviour.md#s10): the source's datasets move
        under the target as ``<name>.<sourceIdentityId>``; returns the new names."""
        self._storage.ensure(identity_pool_id, target_identity_id, create=not self.strict)
        self._storage.ensure(identity_pool_id, source_identity_id, create=not self.strict)
        return self._storage.merge(identity_pool_id, source_identity_id, target_identity_id)

    def outbox(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Push (``kind="push"``) and stream (``kind="stream"``) notifications, oldest first."""
        return self._storage.outbox(kind)

    def clear_outbox(self) -> None:
        self._storage.clear_outbox()

    def __repr__(self) -> str:
        where = f"http://{self.host}:{self.port}" if self.running else "stopped"
        return f"LocalCognitoSync({where}, db_path={self.db_path!r})"
