"""DEBUG logging: one line per attempt, and never a secret."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import pytest
from support.httpserver import DATASET, IDENTITY, POOL, Server, reply, reset, serve

from cognitosync_async import (
    CognitoSyncClient,
    Credentials,
    InternalErrorException,
    RecordPatch,
    ResourceConflictException,
)

SECRET = "wJalrXUtnFEMI-SECRET-DO-NOT-LOG"
TOKEN = "FQoGZXIvYXdzEJr-SESSION-TOKEN-DO-NOT-LOG"
VALUE = "record-value-DO-NOT-LOG"
CREDS = Credentials("AKIALOGGING", SECRET, session_token=TOKEN)
LINE = re.compile(
    r"^(?P<op>\w+) status=(?P<status>\d+) attempt=(?P<attempt>\d+) "
    r"duration=(?P<ms>[\d.]+)ms request_id=(?P<rid>\S+)$"
)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serve() as s:
        yield s


def attempt_lines(caplog: pytest.LogCaptureFixture) -> list[re.Match[str]]:
    out = []
    for rec in caplog.records:
        if rec.name.startswith("cognitosync_async"):
            match = LINE.match(rec.getMessage())
            if match:
                assert rec.levelno == logging.DEBUG
                out.append(match)
    return out


async def test_one_line_per_attempt(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="cognitosync_async")
    server.script(
        reply(500, error="InternalErrorException", headers={"x-amzn-RequestId": "rid-1"}),
        reply(503, {"message": "busy"}, headers={"x-amzn-RequestId": "rid-2"}),
        reply(200, {"Dataset": {}}, headers={"x-amzn-RequestId": "rid-3"}),
    )
    async with CognitoSyncClient(
        "us-east-1", credentials=CREDS, endpoint_url=server.url,
        retry_base_delay=0.001, retry_max_delay=0.05,
    ) as client:
        await client.describe_dataset(
            identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET
        )
    lines = attempt_lines(caplog)
    assert [(m["op"], m["status"], m["attempt"], m["rid"]) for m in lines] == [
        ("DescribeDataset", "500", "1", "rid-1"),
        ("DescribeDataset", "503", "2", "rid-2"),
        ("DescribeDataset", "200", "3", "rid-3"),
    ]
    assert all(float(m["ms"]) >= 0 for m in lines)


async def test_final_failure_logged_per_attempt(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="cognitosync_async")
    server.handler = reply(500, error="InternalErrorException", headers={"x-amzn-RequestId": "r"})
    async with CognitoSyncClient(
        "us-east-1", credentials=CREDS, endpoint_url=server.url, max_attempts=3,
        retry_base_delay=0.001, retry_max_delay=0.05,
    ) as client:
        with pytest.raises(InternalErrorException):
            await client.get_cognito_events(identity_pool_id=POOL)
    lines = attempt_lines(caplog)
    assert [(m["op"], m["attempt"]) for m in lines] == [
        ("GetCognitoEvents", "1"), ("GetCognitoEvents", "2"), ("GetCognitoEvents", "3")
    ]


async def test_quiet_above_debug(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="cognitosync_async")
    server.script(reply(500, error="InternalErrorException"), reply(200, {}))
    async with CognitoSyncClient(
        "us-east-1", credentials=CREDS, endpoint_url=server.url,
        retry_base_delay=0.001, retry_max_delay=0.05,
    ) as client:
        await client.get_cognito_events(identity_pool_id=POOL)
    assert [r for r in caplog.records if r.name.startswith("cognitosync_async")] == []


async def test_logs_never_contain_secrets(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    # Everything at DEBUG, the SDK's loggers and everyone else's.
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="cognitosync_async")
    record = {"Key": "k", "Value": VALUE, "SyncCount": 1, "LastModifiedDate": 1.7e9}
    server.script(
        # list_records: a retried throttle, then a page with the value
        reply(429, error="TooManyRequestsException"),
        reply(200, {"Records": [record], "SyncSessionToken": "sst", "DatasetSyncCount": 1}),
        # update_records: a dropped connection, a conflict echoing the value, success
        reset,
        reply(409, {"message": f"conflict on {VALUE}"}, error="ResourceConflictException"),
        reply(200, {"Records": [record]}),
    )
    async with CognitoSyncClient(
        "us-east-1", credentials=CREDS, endpoint_url=server.url,
        retry_base_delay=0.001, retry_max_delay=0.05,
    ) as client:
        page = await client.list_records(
            identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET
        )
        assert page.records is not None and page.records[0].value == VALUE
        patch = RecordPatch("replace", "k", 1, value=VALUE)
        with pytest.raises(ResourceConflictException):
            await client.update_records(
                identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET,
                record_patches=[patch], sync_session_token="sst",
                client_context="ctx",
            )
        await client.update_records(
            identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET,
            record_patches=[patch], sync_session_token="sst",
        )
    assert server.count == 5
    assert len(attempt_lines(caplog)) >= 4
    signatures = [s.headers["Authorization"].rsplit("Signature=", 1)[1] for s in server.seen]
    text = caplog.text + "\n".join(
        str(r.args) + str(getattr(r, "exc_text", "")) for r in caplog.records
    )
    for forbidden in (SECRET, TOKEN, VALUE, "Authorization", "AWS4-HMAC-SHA256", *signatures):
        assert forbidden not in text, forbidden
