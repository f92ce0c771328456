"""Identity links and merges in the local service (service-behaviour.md#c3, #c5), and who gets
credentials from GetCredentialsForIdentity. botocore's cognito-identity and cognito-sync
clients are the callers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import botocore.config
import botocore.session
import pytest
from botocore.exceptions import ClientError
from support.local_service import (
    IDENTITY,
    POOL,
    Caller,
    code_of,
    make_client,
    put,
    replace,
)

from cognitosync_async._credentials import Credentials
from cognitosync_async.local import LocalCognitoSync

FB = "graph.facebook.com"
GOOGLE = "accounts.google.com"


@pytest.fixture
def idp(svc: LocalCognitoSync) -> Iterator[Any]:
    client = botocore.session.get_session().create_client(
        "cognito-identity", region_name=svc.region, endpoint_url=svc.endpoint_url,
        aws_access_key_id=svc.credentials.access_key_id,
        aws_secret_access_key=svc.credentials.secret_access_key,
        config=botocore.config.Config(retries={"max_attempts": 0}),
    )
    yield client
    client.close()


async def _call(fn: Any, **kwargs: Any) -> dict[str, Any]:
    result: dict[str, Any] = await asyncio.to_thread(fn, **kwargs)
    return result


async def _err(fn: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as info:
        await _call(fn, **kwargs)
    return code_of(info.value)


async def _identity(idp: Any, logins: dict[str, str] | None = None) -> str:
    kwargs = {"Logins": logins} if logins else {}
    return str((await _call(idp.get_id, IdentityPoolId=POOL, **kwargs))["IdentityId"])


async def _logins_of(idp: Any) -> dict[str, list[str]]:
    listed = await _call(idp.list_identities, IdentityPoolId=POOL, MaxResults=60)
    return {i["IdentityId"]: i["Logins"] for i in listed["Identities"]}


def _creds(got: dict[str, Any]) -> Credentials:
    c = got["Credentials"]
    return Credentials(c["AccessKeyId"], c["SecretKey"], session_token=c["SessionToken"])


def _ds(identity: str, name: str) -> dict[str, str]:
    return {"IdentityPoolId": POOL, "IdentityId": identity, "DatasetName": name}


# ---------------------------------------------------------------- who gets credentials


async def test_made_up_login_gets_no_credentials_and_is_not_linked(idp: Any) -> None:
    victim = await _identity(idp, {FB: "victim-user"})
    for logins in ({"evil.example": "x"}, {FB: "attacker"}, {GOOGLE: "attacker"}, {}):
        code = await _err(idp.get_credentials_for_identity, IdentityId=victim, Logins=logins)
        assert code == "NotAuthorizedException", logins
    assert (await _logins_of(idp))[victim] == [FB]
    # the victim's own login still works
    got = await _call(idp.get_credentials_for_identity, IdentityId=victim,
                      Logins={FB: "victim-user"})
    assert got["IdentityId"] == victim


async def test_unlinked_identity_takes_a_new_login_of_an_accepted_provider(idp: Any) -> None:
    guest = await _identity(idp)
    code = await _err(idp.get_credentials_for_identity, IdentityId=guest,
                      Logins={"evil.example": "x"})
    assert code == "NotAuthorizedException"
    assert (await _logins_of(idp))[guest] == []
    got = await _call(idp.get_credentials_for_identity, IdentityId=guest, Logins={FB: "u1"})
    assert got["Credentials"]["SessionToken"]
    assert (await _logins_of(idp))[guest] == [FB]
    assert await _identity(idp, {FB: "u1"}) == guest
    # now linked: no login, or another user's, gets nothing
    assert await _err(idp.get_credentials_for_identity, IdentityId=guest) == (
        "NotAuthorizedException"
    )


async def test_get_id_refuses_providers_the_pool_does_not_accept(idp: Any) -> None:
    guest = await _identity(idp)
    assert await _err(idp.get_id, IdentityPoolId=POOL, Logins={"evil.example": "x"}) == (
        "NotAuthorizedException"
    )
    assert await _logins_of(idp) == {guest: []}
    # a Cognito user pool provider is accepted
    user_pool = "cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123"
    assert (await _identity(idp, {user_pool: "jwt"})).startswith("us-east-1:")


async def test_extra_login_providers_are_accepted() -> None:
    async with LocalCognitoSync(login_providers=("oidc.example.com",)) as svc:
        client = botocore.session.get_session().create_client(
            "cognito-identity", region_name=svc.region, endpoint_url=svc.endpoint_url,
            aws_access_key_id="x", aws_secret_access_key="y",
            config=botocore.config.Config(retries={"max_attempts": 0}),
        )
        try:
            assert await _identity(client, {"oidc.example.com": "tok"})
        finally:
            client.close()


async def test_developer_provider_name_is_not_a_login(idp: Any) -> None:
    issued = await _call(idp.get_open_id_token_for_developer_identity, IdentityPoolId=POOL,
                         Logins={"login.example.app": "user-42"})
    identity = issued["IdentityId"]
    for call, kwargs in (
        (idp.get_credentials_for_identity, {"IdentityId": identity}),
        (idp.get_id, {"IdentityPoolId": POOL}),
    ):
        code = await _err(call, **kwargs, Logins={"login.example.app": "user-42"})
        assert code == "NotAuthorizedException"
    got = await _call(idp.get_credentials_for_identity, IdentityId=identity,
                      Logins={"cognito-identity.amazonaws.com": issued["Token"]})
    assert got["IdentityId"] == identity


# ---------------------------------------------------------------- C5


async def test_second_login_of_the_same_provider_is_a_conflict(idp: Any) -> None:
    issued = await _call(idp.get_open_id_token_for_developer_identity, IdentityPoolId=POOL,
                         Logins={"login.example.app": "u1"})
    d, proof = issued["IdentityId"], {"cognito-identity.amazonaws.com": issued["Token"]}
    await _call(idp.get_credentials_for_identity, IdentityId=d, Logins={**proof, FB: "fb-1"})
    assert (await _logins_of(idp))[d] == [FB, "login.example.app"]
    code = await _err(idp.get_credentials_for_identity, IdentityId=d,
                      Logins={**proof, FB: "fb-9"})
    assert code == "ResourceConflictException"
    assert (await _logins_of(idp))[d] == [FB, "login.example.app"]
    # merging an identity whose facebook login differs is the same conflict
    b = await _identity(idp, {FB: "fb-2", GOOGLE: "g-2"})
    assert await _err(idp.get_credentials_for_identity, IdentityId=d,
                      Logins={**proof, GOOGLE: "g-2"}) == "ResourceConflictException"
    assert await _err(idp.get_id, IdentityPoolId=POOL, Logins={**proof, GOOGLE: "g-2"}) == (
        "ResourceConflictException"
    )
    logins = await _logins_of(idp)
    assert logins[b] == [GOOGLE, FB] and logins[d] == [FB, "login.example.app"]


async def test_login_of_another_identity_merges_it(
    svc: LocalCognitoSync, idp: Any, clients: Any
) -> None:
    a = await _identity(idp, {FB: "fb-1"})
    b = await _identity(idp, {GOOGLE: "g-1"})
    got_b = await _call(idp.get_credentials_for_identity, IdentityId=b, Logins={GOOGLE: "g-1"})
    as_b: Caller = clients(_creds(got_b))
    await put(as_b, "settings", [replace("theme", "dark")], identity=b)
    await put(as_b, "scores", [replace("top", "9")], identity=b)
    dev: Caller = clients(None)
    await put(dev, "settings", [replace("theme", "light")], identity=a)

    # a's user signs in with google too: b is merged into a
    got = await _call(idp.get_credentials_for_identity, IdentityId=a,
                      Logins={FB: "fb-1", GOOGLE: "g-1"})
    assert got["IdentityId"] == a
    listed = await dev("list_records", **_ds(a, "settings"))
    assert listed["MergedDatasetNames"] == [f"settings.{b}"]
    merged = await dev("list_records", **_ds(a, f"settings.{b}"))
    assert [(r["Key"], r["Value"]) for r in merged["Records"]] == [("theme", "dark")]
    names = {d["DatasetName"] for d in (await dev("list_datasets", IdentityPoolId=POOL,
                                                  IdentityId=a))["Datasets"]}
    assert names == {"settings", f"settings.{b}", f"scores.{b}"}
    # the google login now names a; b is disabled, its credentials revoked
    assert await _identity(idp, {GOOGLE: "g-1"}) == a
    assert await _err(idp.get_credentials_for_identity, IdentityId=b,
                      Logins={GOOGLE: "g-1"}) == "NotAuthorizedException"
    err = await as_b.err("list_datasets", IdentityPoolId=POOL, IdentityId=b)
    assert code_of(err) == "UnrecognizedClientException"
    assert (await _logins_of(idp))[a] == [GOOGLE, FB]
    visible = await _call(idp.list_identities, IdentityPoolId=POOL, MaxResults=60,
                          HideDisabled=True)
    assert [i["IdentityId"] for i in visible["Identities"]] == [a]
    # deleting the merged dataset drops it from MergedDatasetNames
    await dev("delete_dataset", **_ds(a, f"settings.{b}"))
    listed = await dev("list_records", **_ds(a, "settings"))
    assert "MergedDatasetNames" not in listed


# ---------------------------------------------------------------- C3


async def test_a_name_prefix_is_not_a_merge(dev: Caller) -> None:
    await put(dev, "settings", [replace("a", "1")])
    await put(dev, "settings.v2", [replace("a", "2")])
    await put(dev, f"settings.{IDENTITY}", [replace("a", "3")])
    listed = await dev("list_records", **_ds(IDENTITY, "settings"))
    assert "MergedDatasetNames" not in listed


async def test_admin_merge_records_merges(svc: LocalCognitoSync, dev: Caller) -> None:
    other = "us-east-1:33333333-3333-3333-3333-333333333333"
    await put(dev, "settings", [replace("a", "old")], identity=other)
    await put(dev, "settings.v2", [replace("a", "mine")])
    assert svc.merge(POOL, other, IDENTITY) == [f"settings.{other}"]
    listed = await dev("list_records", **_ds(IDENTITY, "settings"))
    assert listed["MergedDatasetNames"] == [f"settings.{other}"]
    creds = svc.mint_identity_credentials(POOL, IDENTITY)
    caller = Caller(make_client(svc, creds))
    try:
        listed = await caller("list_records", **_ds(IDENTITY, "settings"))
        assert listed["MergedDatasetNames"] == [f"settings.{other}"]
    finally:
        caller.close()


async def test_guest_signing_in_with_a_linked_login_is_merged(idp: Any, dev: Caller) -> None:
    """An unauthenticated identity given the login of another identity: the guest is
    merged into that identity, and the credentials (and ``IdentityId``) are that one's."""
    user = await _identity(idp, {FB: "fb-1"})
    guest = await _identity(idp)
    await put(dev, "settings", [replace("theme", "guest")], identity=guest)
    await put(dev, "settings", [replace("theme", "user")], identity=user)
    got = await _call(idp.get_credentials_for_identity, IdentityId=guest, Logins={FB: "fb-1"})
    assert got["IdentityId"] == user
    listed = await dev("list_records", **_ds(user, "settings"))
    assert listed["MergedDatasetNames"] == [f"settings.{guest}"]
    assert await _err(idp.get_credentials_for_identity, IdentityId=guest) == (
        "NotAuthorizedException"
    )
    assert (await _logins_of(idp))[user] == [FB]
