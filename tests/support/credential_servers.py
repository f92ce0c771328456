"""Loopback ``aiohttp.web`` servers speaking the wire formats of the credential
sources: STS (query protocol, XML, error documents), the container endpoint
(Authorization header), IMDSv2 (token handshake) and the SSO portal.

Each request is recorded; answers are built from what a test configures.
STS verifies the SigV4 signature of ``AssumeRole`` with the caller's secret
(botocore's signer, an independent implementation, recomputes it).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl

import attrs
from aiohttp import web

STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
SOURCE_KEY, SOURCE_SECRET = "AKIASOURCE", "source-secret-value"


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@attrs.define
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@attrs.define
class CredentialServers:
    url: str = ""
    seen: list[Seen] = attrs.field(factory=list)
    lifetime: timedelta = timedelta(hours=1)
    #: STS: (status, XML) to answer instead of credentials
    sts_error: tuple[int, str] | None = None
    container_token: str | None = None  # required Authorization value
    container_failures: int = 0  # answer 500 this many times first
    imds_role: str = "app-role"
    imds_v1_only: bool = False
    sso_token: str = "sso-access-token"
    counter: itertools.count[int] = attrs.field(factory=lambda: itertools.count(1))
    #: every key pair the servers know (the source's, and each one they issued)
    secrets: dict[str, str] = attrs.field(factory=lambda: {SOURCE_KEY: SOURCE_SECRET})

    def creds(self, prefix: str) -> dict[str, str]:
        n = next(self.counter)
        self.secrets[f"{prefix}{n}"] = f"{prefix}-secret-{n}"
        return {
            "AccessKeyId": f"{prefix}{n}",
            "SecretAccessKey": f"{prefix}-secret-{n}",
            "Token": f"{prefix}-token-{n}",
            "Expiration": iso(datetime.now(timezone.utc) + self.lifetime),
        }

    def of(self, path_prefix: str) -> list[Seen]:
        return [s for s in self.seen if s.path.startswith(path_prefix)]


def sts_error_document(code: str, message: str) -> str:
    return (
        f'<ErrorResponse xmlns="{STS_NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{message}</Message></Error><RequestId>req-err-1</RequestId></ErrorResponse>"
    )


def _verify_sigv4(state: CredentialServers, req: Seen, host: str) -> bool:
    """Recompute the signature with botocore's signer (the test dependency)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    auth = req.headers.get("Authorization", "")
    if "Credential=" not in auth:
        return False
    scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
    key, region = scope[0], scope[2]
    secret = state.secrets.get(key)
    if secret is None:
        return False
    signed = auth.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")
    headers = {k: v for k, v in req.headers.items() if k.lower() in signed and k.lower() != "host"}
    headers["host"] = host
    aws = AWSRequest(method=req.method, url=f"http://{host}{req.path}", data=req.body,
                     headers=headers)
    token = req.headers.get("X-Amz-Security-Token")
    signer = SigV4Auth(BotoCredentials(key, secret, token), "sts", region)
    aws.context["timestamp"] = req.headers["X-Amz-Date"]
    canonical = signer.canonical_request(aws)
    sts = signer.string_to_sign(aws, canonical)
    return signer.signature(sts, aws) == auth.rsplit("Signature=", 1)[1]


def _handler(state: CredentialServers) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        seen = Seen(request.method, request.raw_path.split("?")[0], request.query_string,
                    dict(request.headers), body)
        state.seen.append(seen)
        path = seen.path
        if path == "/sts/":
            return _sts(state, seen, request.host)
        if path.startswith("/container/"):
            if state.container_failures > 0:
                state.container_failures -= 1
                return web.Response(status=500, text="busy")
            if state.container_token is not None and (
                request.headers.get("Authorization") != state.container_token
            ):
                return web.Response(status=401, text="bad token")
            return web.json_response(state.creds("ASIACONTAINER"))
        if path.startswith("/latest/"):
            return _imds(state, request)
        if path == "/federation/credentials":
            if request.headers.get("x-amz-sso_bearer_token") != state.sso_token:
                return web.json_response({"message": "Session token not found or invalid"},
                                         status=401)
            c = state.creds("ASIASSO")
            return web.json_response({"roleCredentials": {
                "accessKeyId": c["AccessKeyId"], "secretAccessKey": c["SecretAccessKey"],
                "sessionToken": c["Token"],
                "expiration": int((datetime.now(timezone.utc) + state.lifetime).timestamp() * 1000),
            }})
        return web.Response(status=404)

    return handle


def _sts(state: CredentialServers, seen: Seen, host: str) -> web.Response:
    form = dict(parse_qsl(seen.body.decode()))
    action = form.get("Action", "")
    if state.sts_error is not None:
        status, doc = state.sts_error
        return web.Response(status=status, text=doc, content_type="text/xml")
    if form.get("Version") != "2011-06-15":
        return web.Response(status=400, text=sts_error_document("InvalidAction", "version"))
    if action == "AssumeRole" and not _verify_sigv4(state, seen, host):
        return web.Response(status=403, text=sts_error_document(
            "SignatureDoesNotMatch", "The request signature we calculated does not match"))
    if action == "AssumeRoleWithWebIdentity" and not form.get("WebIdentityToken"):
        return web.Response(status=400, text=sts_error_document("InvalidIdentityToken", "no"))
    c = state.creds("ASIAROLE")
    xml = (
        f'<{action}Response xmlns="{STS_NS}"><{action}Result><Credentials>'
        f"<AccessKeyId>{c['AccessKeyId']}</AccessKeyId>"
        f"<SecretAccessKey>{c['SecretAccessKey']}</SecretAccessKey>"
        f"<SessionToken>{c['Token']}</SessionToken><Expiration>{c['Expiration']}</Expiration>"
        f"</Credentials></{action}Result><ResponseMetadata><RequestId>r1</RequestId>"
        f"</ResponseMetadata></{action}Response>"
    )
    return web.Response(text=xml, content_type="text/xml")


_IMDS_TOKEN = "imds-session-token"


def _imds(state: CredentialServers, request: web.Request) -> web.Response:
    path = request.raw_path
    if path == "/latest/api/token":
        if state.imds_v1_only:
            return web.Response(status=404)
        if request.method != "PUT" or not request.headers.get(
            "x-aws-ec2-metadata-token-ttl-seconds"
        ):
            return web.Response(status=400)
        return web.Response(text=_IMDS_TOKEN)
    if not state.imds_v1_only and request.headers.get("x-aws-ec2-metadata-token") != _IMDS_TOKEN:
        return web.Response(status=401)
    base = "/latest/meta-data/iam/security-credentials/"
    if path == base:
        return web.Response(text=state.imds_role) if state.imds_role else web.Response(status=404)
    if path == base + state.imds_role:
        return web.json_response({"Code": "Success", "Type": "AWS-HMAC",
                                  **state.creds("ASIAIMDS")})
    return web.Response(status=404)


@asynccontextmanager
async def serve_credentials() -> AsyncIterator[CredentialServers]:
    state = CredentialServers()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _handler(state))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()
