"""The default credential chain: where a client with no ``credentials=`` finds
them, in botocore's order (``DefaultCredentialsProvider``), and ``as_provider``.

The sources live in their own modules (``_sts``, ``_sso``,
``_process_credentials``, ``_metadata_credentials``), imported when a profile
or the environment asks for them; each imports only ``_credentials`` for the
value class, so nothing imports back into this chain.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._credentials import (
    Credentials,
    CredentialsProvider,
    RefreshableCredentials,
    StaticCredentialsProvider,
    _refreshable,
)
from ._exceptions import (
    CredentialRetrievalError,
    InvalidConfigError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
)

if TYPE_CHECKING:
    from ._metadata_credentials import InstanceMetadataFetcher
    from ._settings import Settings

log = logging.getLogger("cognitosync_async._credentials")


def _from_env(environ: Mapping[str, str]) -> Credentials | None:
    key = environ.get("AWS_ACCESS_KEY_ID")
    secret = environ.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        return Credentials(key, secret, environ.get("AWS_SESSION_TOKEN") or None)
    if key or secret:
        missing = "AWS_SECRET_ACCESS_KEY" if key else "AWS_ACCESS_KEY_ID"
        raise PartialCredentialsError(
            f"Partial credentials found in the environment, missing: {missing}"
        )
    return None


def _static_from_profile(section: Mapping[str, Any], profile: str) -> Credentials | None:
    key, secret = section.get("aws_access_key_id"), section.get("aws_secret_access_key")
    if isinstance(key, str) and key and isinstance(secret, str) and secret:
        token = section.get("aws_session_token") or section.get("aws_security_token")
        return Credentials(key, secret, token if isinstance(token, str) and token else None)
    if key or secret:
        missing = "aws_secret_access_key" if key else "aws_access_key_id"
        raise PartialCredentialsError(
            f"Partial credentials found in profile {profile!r}, missing: {missing}"
        )
    return None


def _session_name() -> str:
    return f"cognitosync-async-session-{int(time.time())}"


def _read_text(path: str) -> str:
    with open(os.path.expanduser(path), encoding="utf-8") as f:
        return f.read()


def _int_setting(section: Mapping[str, Any], key: str, profile: str) -> int | None:
    raw = section.get(key)
    if raw is None or raw == "":
        return None
    try:
        return int(str(raw))
    except ValueError:
        raise InvalidConfigError(f"{key} of profile {profile!r} must be an integer") from None


class _Resolver:
    """Finds the one source a client's credentials come from (botocore's order)."""

    def __init__(self, settings: Settings, explicit_profile: bool) -> None:
        self.s = settings
        self.env = settings.environ
        self.explicit = explicit_profile
        self.tried: list[str] = []

    def _sts_kwargs(self) -> dict[str, Any]:
        return {
            "region": self.s.region,
            "endpoint_url": self.s.endpoint_for("STS", "sts"),
            "ssl_context": self.s.ssl_context,
        }

    # ------------------------------------------------------------ web identity

    def _web_identity(
        self, token_file: str, role_arn: str, session_name: str | None
    ) -> RefreshableCredentials:
        from . import _sts

        name = session_name or _session_name()
        kwargs = self._sts_kwargs()

        async def fetch() -> Credentials:
            try:  # re-read at each refresh: the platform rotates the file
                token = (await asyncio.to_thread(_read_text, token_file)).strip()
            except OSError as exc:
                raise CredentialRetrievalError(
                    f"web identity: cannot read the token file {token_file}: "
                    f"{type(exc).__name__}"
                ) from None
            return await _sts.assume_role_with_web_identity(
                token, role_arn=role_arn, role_session_name=name, **kwargs
            )

        return _refreshable(fetch)

    def env_web_identity(self) -> RefreshableCredentials | None:
        token_file = self.env.get("AWS_WEB_IDENTITY_TOKEN_FILE")
        role_arn = self.env.get("AWS_ROLE_ARN")
        if token_file and role_arn:
            return self._web_identity(token_file, role_arn, self.env.get("AWS_ROLE_SESSION_NAME"))
        return None

    # ------------------------------------------------------------ one profile

    def profile_source(
        self, name: str, visited: tuple[str, ...] = ()
    ) -> tuple[str, CredentialsProvider] | None:
        """The profile-based steps of the chain for profile ``name``."""
        section = self.s.config.profile(name)
        role_arn = section.get("role_arn")
        if isinstance(role_arn, str) and role_arn and "web_identity_token_file" not in section:
            return "assume-role", self.assume_role(name, section, visited)
        token_file = section.get("web_identity_token_file")
        if isinstance(token_file, str) and token_file and isinstance(role_arn, str) and role_arn:
            session = section.get("role_session_name")
            return "assume-role-with-web-identity", self._web_identity(
                token_file, role_arn, session if isinstance(session, str) else None
            )
        from . import _sso

        if _sso.is_sso_profile(section):
            cfg = _sso.sso_config(name, section, self.s.config.sso_sessions)
            endpoint = self.s.endpoint_for("SSO", "sso")
            env, ctx = self.env, self.s.ssl_context

            async def fetch_sso() -> Credentials:
                return await _sso.fetch(cfg, env, endpoint_url=endpoint, ssl_context=ctx)

            return "sso", _refreshable(fetch_sso)
        static = _static_from_profile(section, name)
        if static is not None:
            return "shared-credentials-file", StaticCredentialsProvider(static)
        process = section.get("credential_process")
        if isinstance(process, str) and process:
            from . import _process_credentials

            async def fetch_process() -> Credentials:
                return await _process_credentials.fetch(process, name)

            return "custom-process", _refreshable(fetch_process)
        return None

    def assume_role(
        self, name: str, section: Mapping[str, Any], visited: tuple[str, ...]
    ) -> RefreshableCredentials:
        from . import _sts

        if "mfa_serial" in section:
            raise InvalidConfigError(
                f"profile {name!r} needs an MFA code (mfa_serial), which this SDK cannot "
                "prompt for: assume the role with `aws sts assume-role --serial-number ... "
                "--token-code ...` and pass the result as credentials="
            )
        source_profile = section.get("source_profile")
        credential_source = section.get("credential_source")
        if source_profile and credential_source:
            raise InvalidConfigError(
                f"profile {name!r} has both source_profile and credential_source; keep one"
            )
        source: CredentialsProvider
        if isinstance(source_profile, str) and source_profile:
            if source_profile not in self.s.config.profiles:
                raise InvalidConfigError(
                    f'The source_profile "{source_profile}" referenced in the profile '
                    f'"{name}" does not exist.'
                )
            if source_profile in visited and source_profile != name:
                raise InvalidConfigError(
                    f"profile {name!r}: source_profile forms a cycle "
                    f"({' -> '.join((*visited, source_profile))})"
                )
            src_section = self.s.config.profile(source_profile)
            if source_profile == name:  # a profile that is its own source: its static keys
                static = _static_from_profile(src_section, name)
                if static is None:
                    raise InvalidConfigError(
                        f"profile {name!r} is its own source_profile but has no static keys"
                    )
                source = StaticCredentialsProvider(static)
            else:
                found = self.profile_source(source_profile, (*visited, name))
                if found is None:
                    raise InvalidConfigError(
                        f"the source_profile {source_profile!r} of profile {name!r} holds "
                        "no credentials"
                    )
                source = found[1]
        elif isinstance(credential_source, str) and credential_source:
            source = self.credential_source(name, credential_source)
        else:
            raise InvalidConfigError(
                f"profile {name!r} has role_arn but neither source_profile nor credential_source"
            )
        role_arn = str(section["role_arn"])
        session = section.get("role_session_name")
        session_name = session if isinstance(session, str) and session else _session_name()
        external = section.get("external_id")
        duration = _int_setting(section, "duration_seconds", name)
        kwargs = self._sts_kwargs()

        async def fetch() -> Credentials:
            return await _sts.assume_role(
                await source.get_credentials(),
                role_arn=role_arn,
                role_session_name=session_name,
                external_id=external if isinstance(external, str) and external else None,
                duration_seconds=duration,
                **kwargs,
            )

        return _refreshable(fetch)

    def credential_source(self, name: str, kind: str) -> CredentialsProvider:
        from . import _metadata_credentials as md

        if kind == "Environment":
            creds = _from_env(self.env)
            if creds is None:
                raise CredentialRetrievalError(
                    f"profile {name!r}: credential_source Environment, but "
                    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set"
                )
            return StaticCredentialsProvider(creds)
        if kind == "EcsContainer":
            if not md.container_configured(self.env):
                raise CredentialRetrievalError(
                    f"profile {name!r}: credential_source EcsContainer, but neither "
                    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor _FULL_URI is set"
                )
            return _refreshable(md.ContainerCredentialsFetcher(self.env).fetch)
        if kind == "Ec2InstanceMetadata":
            imds = self.imds()

            async def fetch() -> Credentials:
                creds = await imds.fetch()
                if creds is None:
                    raise CredentialRetrievalError(
                        f"profile {name!r}: credential_source Ec2InstanceMetadata gave "
                        f"nothing: {imds.last_failure}"
                    )
                return creds

            return _refreshable(fetch)
        raise InvalidConfigError(
            f"profile {name!r}: unsupported credential_source {kind!r} (use Environment, "
            "EcsContainer or Ec2InstanceMetadata)"
        )

    def imds(self) -> InstanceMetadataFetcher:
        from . import _metadata_credentials as md

        cfg, prof = self.s.config, self.s.profile
        return md.InstanceMetadataFetcher(
            self.env,
            endpoint=self.env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            or cfg.get(prof, "ec2_metadata_service_endpoint"),
            timeout=self.env.get("AWS_METADATA_SERVICE_TIMEOUT")
            or cfg.get(prof, "metadata_service_timeout"),
            num_attempts=self.env.get("AWS_METADATA_SERVICE_NUM_ATTEMPTS")
            or cfg.get(prof, "metadata_service_num_attempts"),
        )

    # ------------------------------------------------------------ the chain

    async def resolve(self) -> tuple[str, CredentialsProvider]:
        from . import _metadata_credentials as md

        env, profile = self.env, self.s.profile
        if self.explicit:
            self.tried.append("environment keys: skipped, a profile was named explicitly")
        else:
            creds = _from_env(env)
            if creds is not None:
                return "env", StaticCredentialsProvider(creds)
            self.tried.append("environment keys: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY not set")
        section = self.s.config.profile(profile)
        # botocore: the profile's role_arn comes before web identity from the environment
        if "role_arn" in section and "web_identity_token_file" not in section:
            return "assume-role", self.assume_role(profile, section, ())
        if not self.explicit:
            web = self.env_web_identity()
            if web is not None:
                return "assume-role-with-web-identity", web
            self.tried.append(
                "web identity: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN not both set"
            )
        found = self.profile_source(profile)
        if found is not None:
            return found
        self.tried.append(
            f"profile {profile!r}: "
            + ("no keys, role_arn, credential_process or sso settings"
               if section else "not in the shared files (AWS_CONFIG_FILE, "
               "AWS_SHARED_CREDENTIALS_FILE)")
        )
        if md.container_configured(env):
            return "container-role", _refreshable(md.ContainerCredentialsFetcher(env).fetch)
        self.tried.append(
            "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/_FULL_URI not set"
        )
        if md.imds_disabled(env) or (
            (self.s.config.get(profile, "ec2_metadata_disabled") or "").lower() == "true"
        ):
            self.tried.append("instance metadata: disabled (AWS_EC2_METADATA_DISABLED)")
        else:
            imds = self.imds()
            creds = await imds.fetch()
            if creds is not None:
                provider = _refreshable(self._imds_fetch(imds))
                provider._current = creds  # the first answer, already fetched
                return "iam-role", provider
            self.tried.append(f"instance metadata: {imds.last_failure}")
        raise NoCredentialsError(
            "No AWS credentials found. Tried, in order: " + "; ".join(self.tried)
            + ". Pass credentials=, set the environment keys, or configure the profile."
        )

    @staticmethod
    def _imds_fetch(imds: InstanceMetadataFetcher) -> Callable[[], Awaitable[Credentials]]:
        async def fetch() -> Credentials:
            creds = await imds.fetch()
            if creds is None:
                raise CredentialRetrievalError(
                    f"instance metadata gave no credentials: {imds.last_failure}"
                )
            return creds

        return fetch


class DefaultCredentialsProvider:
    """The default chain: finds its source once (at first use, off the loop),
    then asks that source, which caches and refreshes.

    ``settings`` is the client's "resolve settings once" coroutine; without it
    the provider resolves its own (``environ``, ``profile_name``).
    ``source`` is botocore's name for the source found (``env``,
    ``assume-role``, ``assume-role-with-web-identity``, ``sso``,
    ``shared-credentials-file``, ``custom-process``, ``container-role``,
    ``iam-role``), None before the first call.
    """

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        *,
        profile_name: str | None = None,
        settings: Callable[[], Awaitable[Settings]] | None = None,
    ) -> None:
        self._environ = environ
        self._profile_name = profile_name
        self._settings = settings
        self._delegate: CredentialsProvider | None = None
        self.source: str | None = None
        self._lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return f"DefaultCredentialsProvider(source={self.source!r})"

    async def _load_settings(self) -> Settings:
        if self._settings is not None:
            return await self._settings()
        from ._settings import resolve_settings

        return await asyncio.to_thread(
            resolve_settings,
            environ=self._environ,
            profile=self._profile_name,
            env_suffix="COGNITO_SYNC",
            service_key="cognito_sync",
        )

    async def _resolve(self) -> CredentialsProvider:
        if self._delegate is not None:
            return self._delegate
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._delegate is None:
                settings = await self._load_settings()
                resolver = _Resolver(settings, explicit_profile=self._profile_name is not None)
                self.source, self._delegate = await resolver.resolve()
                log.debug("credentials from %s", self.source)
            return self._delegate

    async def get_credentials(self) -> Credentials:
        return await (await self._resolve()).get_credentials()

    async def find_source(self) -> str:
        """Which source the chain picks (botocore's name for it, as ``source``),
        without asking it for credentials yet (container and IMDS are asked, as
        botocore asks them while searching)."""
        await self._resolve()
        assert self.source is not None
        return self.source

    def invalidate(self, credentials: Credentials) -> None:
        invalidate = getattr(self._delegate, "invalidate", None)
        if callable(invalidate):
            invalidate(credentials)


def as_provider(
    credentials: Credentials | CredentialsProvider | None,
    *,
    profile_name: str | None = None,
    settings: Callable[[], Awaitable[Settings]] | None = None,
) -> CredentialsProvider:
    if credentials is None:
        return DefaultCredentialsProvider(profile_name=profile_name, settings=settings)
    if isinstance(credentials, Credentials):
        return StaticCredentialsProvider(credentials)
    if not callable(getattr(credentials, "get_credentials", None)):
        raise ParamValidationError(
            "credentials",
            "must be a Credentials or an object with "
            "`async def get_credentials(self) -> Credentials`",
        )
    return credentials
