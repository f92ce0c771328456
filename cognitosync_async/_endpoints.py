"""Endpoints: the region's default URL, the Host header, region names, the DNS hint."""

from __future__ import annotations

import re
import socket

from ._exceptions import ParamValidationError

# botocore's validate_region_name: a region is one DNS label of the endpoint host
_REGION_NAME = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9\-]{0,61}[a-zA-Z0-9])?")


def default_endpoint(region: str, service: str = "cognito-sync") -> str:
    """``https://{service}.{region}.amazonaws.com`` (``.com.cn`` for ``cn-*`` regions)."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{service}.{region}.{suffix}"


def check_region(region: str) -> None:
    if not isinstance(region, str) or not _REGION_NAME.fullmatch(region):
        raise ParamValidationError("region_name", "must be a valid region name")


def host_header(endpoint: str) -> tuple[str, str]:
    """``(base URL without trailing slash, Host header value)`` as botocore signs it."""
    from yarl import URL

    try:
        url = URL(endpoint)
    except (TypeError, ValueError):
        url = URL()
    if not url.scheme or not url.host:
        # not echoed: the URL may carry user:password@
        raise ParamValidationError("endpoint_url", "must be an absolute http(s) URL")
    host = url.raw_host or ""
    if ":" in host:
        host = f"[{host}]"
    if url.explicit_port is not None and url.explicit_port != {"http": 80, "https": 443}.get(
        url.scheme
    ):
        host = f"{host}:{url.explicit_port}"
    return f"{url.scheme}://{host}{url.raw_path.rstrip('/')}", host


def is_dns_failure(exc: BaseException) -> bool:
    """True when the cause chain holds a name-resolution failure."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror) or type(seen).__name__ == "ClientConnectorDNSError":
            return True
        if isinstance(seen, OSError) and getattr(seen, "os_error", None) is not None:
            if isinstance(seen.os_error, socket.gaierror):  # type: ignore[attr-defined]
                return True
        seen = seen.__cause__ or seen.__context__
    return False


def dns_hint(host: str, region: str, identity_pool_id: object) -> str:
    """The message for a region's default endpoint that does not resolve."""
    hint = (
        f"could not resolve {host}: is the region {region!r} right? "
        "(region_name=, AWS_REGION / AWS_DEFAULT_REGION or the profile's region)"
    )
    pool = identity_pool_id
    if isinstance(pool, str) and ":" in pool and pool.split(":", 1)[0] != region:
        hint += (
            f"; the identity pool {pool} is in {pool.split(':', 1)[0]}, "
            f"but the client uses {region}"
        )
    return hint
