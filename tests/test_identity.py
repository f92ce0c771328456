"""CognitoIdentityClient: wire format (botocore as the oracle), validation, errors,
models, pagination, and the local service's Cognito Identity side (botocore as client)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from typing import Any

import botocore.config
import botocore.session
import pytest
from botocore.exceptions import ClientError
from support.httpserver import CREDS, FAST, Server, reply, serve

from cognitosync_async import (
    CognitoIdentityClient,
    Credentials,
    DeveloperUserAlreadyRegisteredException,
    ExternalServiceException,
    GetCredentialsForIdentityResponse,
    GetOpenIdTokenForDeveloperIdentityResponse,
    IdentityDescription,
    InvalidIdentityPoolConfigurationException,
    InvalidParameterException,
    NotAuthorizedException,
    ParamValidationError,
    ResourceConflictException,
    ResourceNotFoundException,
    ServiceError,
    TooManyRequestsException,
)
from cognitosync_async.local import LocalCognitoSync

POOL = "us-east-1:00000000-0000-0000-0000-0000000000aa"
IDENTITY = "us-east-1:11111111-1111-1111-1111-111111111111"
TARGET = "AWSCognitoIdentityService."


def botocore_identity(endpoint_url: str, creds: Credentials = CREDS) -> Any:
    return botocore.session.get_session().create_client(
        "cognito-identity",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        aws_session_token=creds.session_token,
        config=botocore.config.Config(retries={"max_attempts": 0}),
    )


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serve() as s:
        yield s


@pytest.fixture
async def svc() -> AsyncIterator[LocalCognitoSync]:
    async with LocalCognitoSync() as service:
        yield service


@pytest.fixture
def boto(svc: LocalCognitoSync) -> Iterator[Any]:
    client = botocore_identity(svc.endpoint_url, svc.credentials)
    yield client
    client.close()


@pytest.fixture
async def dev(svc: LocalCognitoSync) -> AsyncIterator[CognitoIdentityClient]:
    async with CognitoIdentityClient(
        svc.region, credentials=svc.credentials, endpoint_url=svc.endpoint_url, **FAST
    ) as client:
        yield client


def identity_client(server: Server, **kwargs: Any) -> CognitoIdentityClient:
    return CognitoIdentityClient(
        "us-east-1", credentials=CREDS, endpoint_url=server.url, **{**FAST, **kwargs}
    )


# ---------------------------------------------------------------- the client's basics


def test_default_endpoint_and_service() -> None:
    client = CognitoIdentityClient("eu-west-1", credentials=CREDS)
    assert client.endpoint_url == "https://cognito-identity.eu-west-1.amazonaws.com"
    assert CognitoIdentityClient.SERVICE == "cognito-identity"
    cn = CognitoIdentityClient("cn-north-1", credentials=CREDS)
    assert cn.endpoint_url == "https://cognito-identity.cn-north-1.amazonaws.com.cn"


# ---------------------------------------------------------------- wire: botocore is the oracle

CALLS: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("get_id", "GetId", {"identity_pool_id": POOL}, {"IdentityPoolId": POOL}),
    (
        "get_id",
        "GetId",
        {"identity_pool_id": POOL, "account_id": "123456789012",
         "logins": {"graph.facebook.com": "tok"}},
        {"AccountId": "123456789012", "IdentityPoolId": POOL,
         "Logins": {"graph.facebook.com": "tok"}},
    ),
    (
        "get_credentials_for_identity",
        "GetCredentialsForIdentity",
        {"identity_id": IDENTITY, "logins": {"accounts.google.com": "t"},
         "custom_role_arn": "arn:aws:iam::123456789012:role/custom"},
        {"IdentityId": IDENTITY, "Logins": {"accounts.google.com": "t"},
         "CustomRoleArn": "arn:aws:iam::123456789012:role/custom"},
    ),
    (
        "list_identities",
        "ListIdentities",
        {"identity_pool_id": POOL, "max_results": 60, "next_token": "abc/+=",
         "hide_disabled": False},
        {"IdentityPoolId": POOL, "MaxResults": 60, "NextToken": "abc/+=",
         "HideDisabled": False},
    ),
    (
        "get_open_id_token_for_developer_identity",
        "GetOpenIdTokenForDeveloperIdentity",
        {"identity_pool_id": POOL, "identity_id": IDENTITY, "logins": {"login.app": "u1"},
         "principal_tags": {"team": "a"}, "token_duration": 600},
        {"IdentityPoolId": POOL, "IdentityId": IDENTITY, "Logins": {"login.app": "u1"},
         "PrincipalTags": {"team": "a"}, "TokenDuration": 600},
    ),
]


@pytest.mark.parametrize(("method", "op", "kwargs", "boto_kwargs"), CALLS)
async def test_wire_matches_botocore(
    server: Server, method: str, op: str, kwargs: dict[str, Any], boto_kwargs: dict[str, Any]
) -> None:
    boto = botocore_identity(server.url)
    try:
        await asyncio.to_thread(getattr(boto, method), **boto_kwargs)
    finally:
        boto.close()
    async with identity_client(server) as client:
        await getattr(client, method)(**kwargs)
    theirs, ours = server.seen
    assert (ours.method, ours.path, ours.query) == (theirs.method, theirs.path, theirs.query)
    assert (ours.method, ours.path, ours.query) == ("POST", "/", "")
    for name in ("X-Amz-Target", "Content-Type"):
        assert ours.headers[name] == theirs.headers[name]
    assert ours.headers["X-Amz-Target"] == TARGET + op
    assert ours.headers["Content-Type"] == "application/x-amz-json-1.1"
    assert json.loads(ours.body) == json.loads(theirs.body)
    # unsigned exactly where botocore's model says authtype none
    assert ("Authorization" in ours.headers) == ("Authorization" in theirs.headers)
    if "Authorization" in theirs.headers:
        assert op in ("ListIdentities", "GetOpenIdTokenForDeveloperIdentity")
        def parts(auth: str) -> tuple[str, str]:
            cred = auth.split("Credential=")[1].split(",")[0]
            signed = auth.split("SignedHeaders=")[1].split(",")[0]
            return cred.split("/", 2)[2], signed

        assert parts(ours.headers["Authorization"]) == parts(theirs.headers["Authorization"])
        assert parts(ours.headers["Authorization"])[0] == "us-east-1/cognito-identity/aws4_request"
    else:
        assert op in ("GetId", "GetCredentialsForIdentity")
        assert "X-Amz-Security-Token" not in ours.headers


async def test_unsigned_calls_need_no_credentials(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    server.handler = reply(200, {"IdentityId": IDENTITY})
    async with CognitoIdentityClient("us-east-1", endpoint_url=server.url) as client:
        assert (await client.get_id(identity_pool_id=POOL)).identity_id == IDENTITY


# ---------------------------------------------------------------- answers and models


async def test_credentials_answer_maps_to_credentials(server: Server) -> None:
    server.handler = reply(
        200,
        {
            "IdentityId": IDENTITY,
            "Credentials": {
                "AccessKeyId": "ASIAEXAMPLE",
                "SecretKey": "SECRET-KEY-VALUE",
                "SessionToken": "SESSION-TOKEN-VALUE",
                "Expiration": 1.7e9,
            },
            "Unknown": "ignored",
        },
    )
    async with identity_client(server) as client:
        resp = await client.get_credentials_for_identity(identity_id=IDENTITY)
    assert isinstance(resp, GetCredentialsForIdentityResponse)
    creds = resp.credentials
    assert creds == Credentials(
        "ASIAEXAMPLE", "SECRET-KEY-VALUE", "SESSION-TOKEN-VALUE",
        datetime.fromtimestamp(1.7e9, timezone.utc),
    )
    assert creds.expiration is not None and creds.expiration.tzinfo == timezone.utc
    for text in (repr(resp), str(resp), repr(creds)):
        assert "SECRET-KEY-VALUE" not in text and "SESSION-TOKEN-VALUE" not in text
    token = GetOpenIdTokenForDeveloperIdentityResponse(IDENTITY, "OPENID-TOKEN")
    assert "OPENID-TOKEN" not in repr(token)


async def test_iso_expiration_and_identity_dates(server: Server) -> None:
    server.script(
        reply(200, {"Credentials": {"AccessKeyId": "A", "SecretKey": "S",
                                    "Expiration": "2030-01-02T03:04:05Z"}}),
        reply(200, {"IdentityPoolId": POOL, "Identities": [
            {"IdentityId": IDENTITY, "Logins": ["graph.facebook.com"],
             "CreationDate": 1412974057.151, "LastModifiedDate": None, "New": 1}]}),
    )
    async with identity_client(server) as client:
        creds = (await client.get_credentials_for_identity(identity_id=IDENTITY)).credentials
        page = await client.list_identities(identity_pool_id=POOL, max_results=1)
    assert creds is not None
    assert creds.expiration == datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert creds.session_token is None
    assert page.identities == [
        IdentityDescription(
            IDENTITY, ["graph.facebook.com"],
            datetime.fromtimestamp(1412974057.151, timezone.utc), None,
        )
    ]
    assert page.next_token is None


@pytest.mark.parametrize(
    "credentials",
    [
        {"AccessKeyId": "A"},
        {"SecretKey": "S"},
        "not-an-object",
        {"AccessKeyId": 1, "SecretKey": "S"},
    ],
)
async def test_unreadable_credentials_answer(server: Server, credentials: Any) -> None:
    from cognitosync_async import ResponseParseError

    server.handler = reply(200, {"IdentityId": IDENTITY, "Credentials": credentials})
    async with identity_client(server) as client:
        with pytest.raises(ResponseParseError):
            await client.get_credentials_for_identity(identity_id=IDENTITY)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("code", "cls", "status"),
    [
        ("ExternalServiceException", ExternalServiceException, 400),
        ("InvalidIdentityPoolConfigurationException",
         InvalidIdentityPoolConfigurationException, 400),
        ("DeveloperUserAlreadyRegisteredException", DeveloperUserAlreadyRegisteredException, 400),
        ("NotAuthorizedException", NotAuthorizedException, 403),
        ("ResourceConflictException", ResourceConflictException, 409),
        ("ResourceNotFoundException", ResourceNotFoundException, 404),
        ("SomethingNewException", ServiceError, 400),
    ],
)
@pytest.mark.parametrize("where", ["body-type", "header"])
async def test_errors_are_typed(
    server: Server, code: str, cls: type[ServiceError], status: int, where: str
) -> None:
    if where == "body-type":  # AWS JSON 1.1: the code in "__type", after any '#'
        server.handler = reply(
            status, {"__type": f"com.amazonaws.cognito.identity.model#{code}", "message": "m"},
            headers={"x-amzn-RequestId": "rid-1"},
        )
    else:
        server.handler = reply(status, error=code, headers={"x-amzn-RequestId": "rid-1"})
    async with identity_client(server) as client:
        with pytest.raises(ServiceError) as info:
            await client.get_id(identity_pool_id=POOL)
    assert type(info.value) is cls
    assert info.value.code == code
    assert info.value.status_code == status
    assert info.value.request_id == "rid-1"
    assert info.value.operation == "GetId"
    assert server.count == 1  # 4xx: never retried


async def test_throttling_is_retried(server: Server) -> None:
    server.script(
        reply(400, {"__type": "TooManyRequestsException", "message": "slow down"}),
        reply(200, {"IdentityId": IDENTITY}),
    )
    async with identity_client(server) as client:
        assert (await client.get_id(identity_pool_id=POOL)).identity_id == IDENTITY
    assert server.count == 2
    assert issubclass(TooManyRequestsException, ServiceError)


# ---------------------------------------------------------------- validation (no I/O)

BAD_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("get_id", {"identity_pool_id": None}, "identity_pool_id"),
    ("get_id", {"identity_pool_id": "no-colon"}, "identity_pool_id"),
    ("get_id", {"identity_pool_id": POOL, "account_id": "12x"}, "account_id"),
    ("get_id", {"identity_pool_id": POOL, "logins": {f"p{i}": "t" for i in range(11)}}, "logins"),
    ("get_id", {"identity_pool_id": POOL, "logins": {"": "t"}}, "logins"),
    ("get_id", {"identity_pool_id": POOL, "logins": {"p": ""}}, "logins"),
    ("get_credentials_for_identity", {"identity_id": None}, "identity_id"),
    ("get_credentials_for_identity", {"identity_id": IDENTITY, "custom_role_arn": "short"},
     "custom_role_arn"),
    ("list_identities", {"identity_pool_id": POOL, "max_results": None}, "max_results"),
    ("list_identities", {"identity_pool_id": POOL, "max_results": 0}, "max_results"),
    ("list_identities", {"identity_pool_id": POOL, "max_results": 61}, "max_results"),
    ("list_identities", {"identity_pool_id": POOL, "max_results": True}, "max_results"),
    ("list_identities", {"identity_pool_id": POOL, "max_results": 5, "next_token": "a b"},
     "next_token"),
    ("get_open_id_token_for_developer_identity", {"identity_pool_id": POOL, "logins": None},
     "logins"),
    ("get_open_id_token_for_developer_identity",
     {"identity_pool_id": POOL, "logins": {"a": "b"}, "token_duration": 86401}, "token_duration"),
    ("get_open_id_token_for_developer_identity",
     {"identity_pool_id": POOL, "logins": {"a": "b"}, "principal_tags": {"k": "v" * 257}},
     "principal_tags"),
]


@pytest.mark.parametrize(("method", "kwargs", "param"), BAD_CALLS)
async def test_validation_before_any_io(
    server: Server, method: str, kwargs: dict[str, Any], param: str
) -> None:
    async with identity_client(server) as client:
        with pytest.raises(ParamValidationError) as info:
            await getattr(client, method)(**kwargs)
    assert info.value.param == param
    assert server.count == 0


def test_validation_message_never_shows_a_login_token() -> None:
    from cognitosync_async._identity import LOGINS
    from cognitosync_async._validation import param

    secret = "SECRET-LOGIN-TOKEN" * 3000  # over 50,000 characters
    with pytest.raises(ParamValidationError) as info:
        LOGINS(None, param("logins"), {"graph.facebook.com": secret})
    assert "SECRET-LOGIN-TOKEN" not in str(info.value)


# ---------------------------------------------------------------- pagination


async def test_iter_identities_default_page_and_resume(server: Server) -> None:
    ids = [f"us-east-1:{i:08x}-0000-0000-0000-000000000000" for i in range(5)]

    def page(items: list[str], token: str | None) -> Any:
        body: dict[str, Any] = {"IdentityPoolId": POOL,
                                "Identities": [{"IdentityId": i} for i in items]}
        if token:
            body["NextToken"] = token
        return reply(200, body)

    server.script(page(ids[:2], "t1"), page([], "t2"), page(ids[2:], None))
    async with identity_client(server) as client:
        got = [x.identity_id async for x in client.iter_identities(identity_pool_id=POOL)]
        assert got == ids
        bodies = [json.loads(s.body) for s in server.seen]
        assert [b.get("NextToken") for b in bodies] == [None, "t1", "t2"]
        assert {b["MaxResults"] for b in bodies} == {60}

        server.seen.clear()
        server.script(page(ids[:3], "t1"), page(ids[3:], None))
        paginator = client.iter_identities(identity_pool_id=POOL, page_size=3, max_items=2)
        assert [x.identity_id async for x in paginator] == ids[:2]
        resume = paginator.next_token
        assert resume is not None
        server.seen.clear()
        server.script(page(ids[:3], "t1"), page(ids[3:], None))
        rest = client.iter_identities(identity_pool_id=POOL, page_size=3, starting_token=resume)
        assert [x.identity_id async for x in rest] == ids[2:]
    assert json.loads(server.seen[0].body)["MaxResults"] == 3


# ---------------------------------------------------------------- the local service


async def _boto(fn: Any, **kwargs: Any) -> dict[str, Any]:
    result: dict[str, Any] = await asyncio.to_thread(fn, **kwargs)
    return result


def _code(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


async def test_local_service_speaks_botocore(svc: LocalCognitoSync, boto: Any) -> None:
    first = await _boto(boto.get_id, IdentityPoolId=POOL)
    second = await _boto(boto.get_id, IdentityPoolId=POOL)
    assert first["IdentityId"] != second["IdentityId"]  # unauthenticated: a new one each time
    assert first["IdentityId"].startswith("us-east-1:")
    got = await _boto(boto.get_credentials_for_identity, IdentityId=first["IdentityId"])
    creds = got["Credentials"]
    assert got["IdentityId"] == first["IdentityId"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["SecretKey"] and creds["SessionToken"]
    ttl = (creds["Expiration"] - datetime.now(timezone.utc)).total_seconds()
    assert 3590 < ttl <= 3600
    listed = await _boto(boto.list_identities, IdentityPoolId=POOL, MaxResults=60)
    assert {i["IdentityId"] for i in listed["Identities"]} == {
        first["IdentityId"], second["IdentityId"]
    }
    assert all(i["Logins"] == [] for i in listed["Identities"])
    assert "NextToken" not in listed


async def test_local_logins_give_the_same_identity(svc: LocalCognitoSync, boto: Any) -> None:
    fb = {"graph.facebook.com": "facebook-user-1"}
    a = (await _boto(boto.get_id, IdentityPoolId=POOL, Logins=fb))["IdentityId"]
    b = (await _boto(boto.get_id, IdentityPoolId=POOL, Logins=fb))["IdentityId"]
    assert a == b
    # linking a second login keeps the identity
    both = {**fb, "accounts.google.com": "google-user-1"}
    assert (await _boto(boto.get_id, IdentityPoolId=POOL, Logins=both))["IdentityId"] == a
    google = {"accounts.google.com": "google-user-1"}
    assert (await _boto(boto.get_id, IdentityPoolId=POOL, Logins=google))["IdentityId"] == a
    # an authenticated identity needs one of its logins for credentials
    with pytest.raises(ClientError) as info:
        await _boto(boto.get_credentials_for_identity, IdentityId=a)
    assert _code(info.value) == "NotAuthorizedException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    ok = await _boto(boto.get_credentials_for_identity, IdentityId=a, Logins=fb)
    assert ok["IdentityId"] == a
    # another user's login does not open this identity
    other = (await _boto(boto.get_id, IdentityPoolId=POOL,
                         Logins={"graph.facebook.com": "facebook-user-2"}))["IdentityId"]
    assert other != a
    with pytest.raises(ClientError) as info:
        await _boto(boto.get_credentials_for_identity, IdentityId=a,
                    Logins={"graph.facebook.com": "facebook-user-2"})
    assert _code(info.value) == "NotAuthorizedException"
    # logins of two identities that would give one identity two facebook logins (C5)
    with pytest.raises(ClientError) as info:
        await _boto(boto.get_id, IdentityPoolId=POOL,
                    Logins={**google, "graph.facebook.com": "facebook-user-2"})
    assert _code(info.value) == "ResourceConflictException"
    listed = await _boto(boto.list_identities, IdentityPoolId=POOL, MaxResults=60)
    logins = {i["IdentityId"]: i["Logins"] for i in listed["Identities"]}
    assert logins[a] == ["accounts.google.com", "graph.facebook.com"]
    assert logins[other] == ["graph.facebook.com"]


async def test_local_developer_flow_with_botocore(svc: LocalCognitoSync, boto: Any) -> None:
    dev_login = {"login.example.app": "user-42"}
    issued = await _boto(boto.get_open_id_token_for_developer_identity,
                         IdentityPoolId=POOL, Logins=dev_login, TokenDuration=60)
    identity, token = issued["IdentityId"], issued["Token"]
    again = await _boto(boto.get_open_id_token_for_developer_identity,
                        IdentityPoolId=POOL, Logins=dev_login)
    assert again["IdentityId"] == identity and again["Token"] != token
    cognito = {"cognito-identity.amazonaws.com": token}
    assert (await _boto(boto.get_id, IdentityPoolId=POOL, Logins=cognito))["IdentityId"] == identity
    got = await _boto(boto.get_credentials_for_identity, IdentityId=identity, Logins=cognito)
    assert got["Credentials"]["SessionToken"]
    for bad in ({"cognito-identity.amazonaws.com": "forged"},):
        with pytest.raises(ClientError) as info:
            await _boto(boto.get_credentials_for_identity, IdentityId=identity, Logins=bad)
        assert _code(info.value) == "NotAuthorizedException"
    # the developer user belongs to `identity`: linking it to another is refused
    other = (await _boto(boto.get_id, IdentityPoolId=POOL))["IdentityId"]
    with pytest.raises(ClientError) as info:
        await _boto(boto.get_open_id_token_for_developer_identity,
                    IdentityPoolId=POOL, IdentityId=other, Logins=dev_login)
    assert _code(info.value) == "DeveloperUserAlreadyRegisteredException"
    # linking a new developer user to an existing identity
    linked = await _boto(boto.get_open_id_token_for_developer_identity,
                         IdentityPoolId=POOL, IdentityId=other, Logins={"login.example.app": "u7"})
    assert linked["IdentityId"] == other


async def test_local_developer_operations_need_developer_credentials(
    svc: LocalCognitoSync, dev: CognitoIdentityClient
) -> None:
    identity = (await dev.get_id(identity_pool_id=POOL)).identity_id
    assert identity is not None
    creds = (await dev.get_credentials_for_identity(identity_id=identity)).credentials
    assert creds is not None
    async with CognitoIdentityClient(
        svc.region, credentials=creds, endpoint_url=svc.endpoint_url, **FAST
    ) as as_identity:
        with pytest.raises(NotAuthorizedException):
            await as_identity.list_identities(identity_pool_id=POOL, max_results=5)
        with pytest.raises(NotAuthorizedException):
            await as_identity.get_open_id_token_for_developer_identity(
                identity_pool_id=POOL, logins={"login.example.app": "x"}
            )
    async with CognitoIdentityClient(
        svc.region, credentials=Credentials("AKIDUNKNOWN", "nope"),
        endpoint_url=svc.endpoint_url, **FAST,
    ) as stranger:
        with pytest.raises(ServiceError) as info:
            await stranger.list_identities(identity_pool_id=POOL, max_results=5)
        assert info.value.code == "UnrecognizedClientException"


async def test_local_signature_scope_is_cognito_identity(svc: LocalCognitoSync) -> None:
    class SyncScoped(CognitoIdentityClient):
        SERVICE = "cognito-sync"

    async with SyncScoped(
        svc.region, credentials=svc.credentials, endpoint_url=svc.endpoint_url, **FAST
    ) as wrong:
        with pytest.raises(ServiceError) as info:
            await wrong.list_identities(identity_pool_id=POOL, max_results=5)
    assert info.value.code == "InvalidSignatureException"


async def test_local_errors(svc: LocalCognitoSync, dev: CognitoIdentityClient) -> None:
    with pytest.raises(ResourceNotFoundException):
        await dev.get_credentials_for_identity(identity_id=IDENTITY)
    with pytest.raises(ResourceNotFoundException):
        await dev.list_identities(identity_pool_id="us-east-1:99999999-0000", max_results=5)
    await dev.get_id(identity_pool_id=POOL)
    with pytest.raises(InvalidParameterException):
        await dev.list_identities(identity_pool_id=POOL, max_results=5, next_token="garbage")


async def test_local_strict_pool_must_exist() -> None:
    async with LocalCognitoSync(strict=True) as strict:
        async with CognitoIdentityClient(
            strict.region, credentials=strict.credentials, endpoint_url=strict.endpoint_url,
            **FAST,
        ) as client:
            with pytest.raises(ResourceNotFoundException):
                await client.get_id(identity_pool_id=POOL)
            strict.seed_pool(POOL)
            assert (await client.get_id(identity_pool_id=POOL)).identity_id


async def test_local_iter_identities_walks_every_page(
    svc: LocalCognitoSync, dev: CognitoIdentityClient
) -> None:
    seeded = {f"us-east-1:{uuid.uuid4()}" for _ in range(125)}
    for identity in seeded:
        svc.seed_identity(POOL, identity)
    created = {(await dev.get_id(identity_pool_id=POOL)).identity_id for _ in range(3)}
    expected = seeded | created
    paginator = dev.iter_identities(identity_pool_id=POOL)
    pages = [page async for page in paginator.pages()]
    assert [len(p.identities or []) for p in pages] == [60, 60, 8]
    walked = [i.identity_id for p in pages for i in p.identities or []]
    assert len(walked) == len(set(walked)) == 128
    assert set(walked) == expected
    assert paginator.next_token is None
    everything = [i async for i in dev.iter_identities(identity_pool_id=POOL, page_size=7)]
    assert {i.identity_id for i in everything} == expected
    assert all(i.creation_date and i.creation_date.tzinfo == timezone.utc for i in everything)
    # resume partway through a page
    first = dev.iter_identities(identity_pool_id=POOL, page_size=50, max_items=75)
    head = [i.identity_id async for i in first]
    tail = [
        i.identity_id
        async for i in dev.iter_identities(
            identity_pool_id=POOL, page_size=50, starting_token=first.next_token
        )
    ]
    assert head + tail == walked
