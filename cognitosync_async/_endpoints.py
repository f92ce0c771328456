"""Endpoints: the region's default URL, and the base URL and ``Host`` header of
a configured one, as botocore signs them."""

from __future__ import annotations

from ._exceptions import ParamValidationError


def default_endpoint(region: str, service: str) -> str:
    """``https://{service}.{region}.amazonaws.com`` (``.com.cn`` for ``cn-*`` regions)."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{service}.{region}.{suffix}"


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
