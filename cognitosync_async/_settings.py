"""Settings of one client, resolved once at first use: explicit argument, then
environment, then the profile in the shared files (as botocore resolves them).

``resolve_settings`` does blocking I/O (the shared files, a CA bundle): run it
off the loop.
"""

from __future__ import annotations

import functools
import os
import ssl
from collections.abc import Mapping

import attrs

from ._config_files import SharedConfig, load_shared_config, profile_name
from ._exceptions import InvalidConfigError

_TRUE = ("true",)
RETRY_MODES = ("legacy", "standard", "adaptive")


def _true(value: str | None) -> bool:
    return value is not None and value.strip().lower() in _TRUE


def configured_endpoint(
    environ: Mapping[str, str],
    config: SharedConfig,
    profile: str,
    env_suffix: str,
    service_key: str,
) -> str | None:
    """The endpoint configured for a service, botocore's order:
    ``AWS_ENDPOINT_URL_<SERVICE>``, ``AWS_ENDPOINT_URL``, the profile's services
    section, the profile's ``endpoint_url``; none when
    ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` (or the profile's
    ``ignore_configured_endpoint_urls``) is true."""
    ignore = environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
    if ignore is None:
        ignore = config.get(profile, "ignore_configured_endpoint_urls")
    if _true(ignore):
        return None
    return (
        environ.get(f"AWS_ENDPOINT_URL_{env_suffix}")
        or environ.get("AWS_ENDPOINT_URL")
        or config.services_value(profile, service_key, "endpoint_url")
        or config.get(profile, "endpoint_url")
    )


@attrs.frozen
class Settings:
    """What a client (and the credential chain it owns) runs with."""

    environ: Mapping[str, str] = attrs.field(repr=False)
    profile: str
    config: SharedConfig = attrs.field(repr=False)
    region: str | None
    endpoint_url: str | None  # explicit or configured; None: the default endpoint
    max_attempts: int | None  # None: the client's default
    retry_mode: str | None
    ca_bundle: str | None
    ssl_context: ssl.SSLContext | None = attrs.field(repr=False, eq=False)

    def endpoint_for(self, env_suffix: str, service_key: str) -> str | None:
        return configured_endpoint(self.environ, self.config, self.profile, env_suffix, service_key)


@functools.lru_cache(maxsize=8)
def _ssl_context(path: str, mtime_ns: int) -> ssl.SSLContext:
    """One context per bundle file and version: loading a bundle costs ~100 ms, and
    every client of a process shares it (a context is safe to share)."""
    return ssl.create_default_context(cafile=path)


def resolve_settings(
    *,
    environ: Mapping[str, str] | None = None,
    profile: str | None = None,
    region_name: str | None = None,
    endpoint_url: str | None = None,
    env_suffix: str,
    service_key: str,
) -> Settings:
    """Blocking: reads the shared files and the CA bundle."""
    env = dict(os.environ if environ is None else environ)
    name = profile_name(env, profile)
    config = load_shared_config(env)
    config.profile(name)  # ProfileNotFound now, as botocore's first lookup raises it
    region = (
        region_name
        or env.get("AWS_REGION")
        or env.get("AWS_DEFAULT_REGION")
        or config.get(name, "region")
    )
    endpoint = endpoint_url or configured_endpoint(env, config, name, env_suffix, service_key)
    raw_attempts = env.get("AWS_MAX_ATTEMPTS") or config.get(name, "max_attempts")
    attempts: int | None = None
    if raw_attempts is not None:
        try:
            attempts = int(raw_attempts)
        except ValueError:
            attempts = 0
        if attempts < 1:
            raise InvalidConfigError(
                "max_attempts (AWS_MAX_ATTEMPTS or the profile) must be an integer >= 1"
            )
    mode = env.get("AWS_RETRY_MODE") or config.get(name, "retry_mode")
    if mode is not None and mode not in RETRY_MODES:
        raise InvalidConfigError(
            f"retry_mode (AWS_RETRY_MODE or the profile) must be one of {', '.join(RETRY_MODES)}"
        )
    ca_bundle = env.get("AWS_CA_BUNDLE") or config.get(name, "ca_bundle")
    ctx: ssl.SSLContext | None = None
    if ca_bundle:
        ca_bundle = os.path.expanduser(ca_bundle)
        try:
            ctx = _ssl_context(ca_bundle, os.stat(ca_bundle).st_mtime_ns)
        except (OSError, ssl.SSLError) as exc:
            raise InvalidConfigError(
                f"the CA bundle {ca_bundle} (AWS_CA_BUNDLE or ca_bundle) could not be "
                f"loaded: {type(exc).__name__}: {exc}"
            ) from exc
    return Settings(
        environ=env,
        profile=name,
        config=config,
        region=region or None,
        endpoint_url=endpoint or None,
        max_attempts=attempts,
        retry_mode=mode,
        ca_bundle=ca_bundle or None,
        ssl_context=ctx,
    )
