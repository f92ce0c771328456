"""OpenTelemetry (the otel extra): one CLIENT span per call, against the local service,
read back with the SDK's in-memory exporter. Fails, not skips, without the extra when
COGNITOSYNC_REQUIRE_EXTRAS is set."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from support.extras import need

otel = need("cognitosync_async.otel", "otel")
sdk_trace = need("opentelemetry.sdk.trace", "otel")
sdk_export = need("opentelemetry.sdk.trace.export", "otel")
in_memory = need("opentelemetry.sdk.trace.export.in_memory_span_exporter", "otel")

from opentelemetry import trace  # noqa: E402
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402

from cognitosync_async import (  # noqa: E402
    CognitoIdentityClient,
    CognitoSyncClient,
    Credentials,
    HTTPRequest,
    HTTPResponse,
    MockTransport,
    ResourceNotFoundException,
)
from cognitosync_async.local import LocalCognitoSync  # noqa: E402

POOL = "us-east-1:00000000-0000-0000-0000-0000000000aa"
IDENTITY = "us-east-1:11111111-0000-0000-0000-000000000001"


@pytest.fixture
def provider() -> Iterator[tuple[Any, Any]]:
    exporter = in_memory.InMemorySpanExporter()
    tracer_provider = sdk_trace.TracerProvider()
    tracer_provider.add_span_processor(sdk_export.SimpleSpanProcessor(exporter))
    instrumentor = otel.CognitoSyncInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        yield exporter, tracer_provider
    finally:
        instrumentor.uninstrument()


@pytest.fixture
async def svc() -> AsyncIterator[LocalCognitoSync]:
    async with LocalCognitoSync() as service:
        yield service


def client_for(svc: LocalCognitoSync) -> CognitoSyncClient:
    return CognitoSyncClient(svc.region, credentials=svc.credentials,
                             endpoint_url=svc.endpoint_url)


async def test_a_call_is_one_client_span(svc: LocalCognitoSync, provider: Any) -> None:
    exporter, _ = provider
    async with client_for(svc) as client:
        await client.list_datasets(identity_pool_id=POOL, identity_id=IDENTITY)
    (span,) = exporter.get_finished_spans()
    assert span.name == "CognitoSync.ListDatasets"
    assert span.kind is SpanKind.CLIENT
    attrs = dict(span.attributes)
    request_id = attrs.pop("aws.request_id")
    assert isinstance(request_id, str) and request_id
    assert attrs == {
        "rpc.system": "aws-api",
        "rpc.service": "CognitoSync",
        "rpc.method": "ListDatasets",
        "cloud.region": "us-east-1",
        "http.response.status_code": 200,
        "cognitosync.attempts": 1,
    }
    assert span.status.status_code is StatusCode.UNSET
    assert span.events == ()


async def test_a_call_that_raises_ends_its_span_with_error(
    svc: LocalCognitoSync, provider: Any
) -> None:
    exporter, _ = provider
    async with client_for(svc) as client:
        with pytest.raises(ResourceNotFoundException) as caught:
            await client.describe_dataset(identity_pool_id=POOL, identity_id=IDENTITY,
                                          dataset_name="absent")
    (span,) = exporter.get_finished_spans()
    assert span.name == "CognitoSync.DescribeDataset"
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["http.response.status_code"] == 404
    assert span.attributes["aws.request_id"] == caught.value.request_id
    assert span.attributes["error.type"] == "ResourceNotFoundException"
    (event,) = span.events
    assert event.name == "exception"
    assert event.attributes["exception.type"].endswith("ResourceNotFoundException")


async def test_identity_client_spans_and_parenting(svc: LocalCognitoSync, provider: Any) -> None:
    exporter, tracer_provider = provider
    svc.seed_pool(POOL)
    tracer = tracer_provider.get_tracer("app")
    async with CognitoIdentityClient(
        svc.region, credentials=svc.credentials, endpoint_url=svc.endpoint_url
    ) as client:
        with tracer.start_as_current_span("handler") as parent:
            await client.list_identities(identity_pool_id=POOL, max_results=10)
        assert trace.get_current_span() is not parent  # our span left no context behind
    spans = {s.name: s for s in exporter.get_finished_spans()}
    ours = spans["CognitoIdentity.ListIdentities"]
    assert ours.attributes["rpc.service"] == "CognitoIdentity"
    assert ours.parent is not None
    assert ours.parent.span_id == spans["handler"].context.span_id


async def test_attempts_taken_on_the_span(provider: Any) -> None:
    exporter, _ = provider
    answers = [HTTPResponse(500, {"x-amzn-ErrorType": "InternalErrorException"}, b"{}"),
               HTTPResponse(200, {"x-amzn-RequestId": "rid-2"}, b"{}")]

    def handler(request: HTTPRequest) -> HTTPResponse:
        return answers.pop(0)

    async with CognitoSyncClient(
        "us-east-1", credentials=Credentials("AKIDEXAMPLE", "secret"),
        endpoint_url="http://127.0.0.1:9", transport=MockTransport(handler),
        retry_base_delay=0, retry_max_delay=0,
    ) as client:
        await client.get_cognito_events(identity_pool_id=POOL)
    (span,) = exporter.get_finished_spans()
    assert span.attributes["cognitosync.attempts"] == 2
    assert span.attributes["aws.request_id"] == "rid-2"


async def test_uninstrument_stops_the_spans(svc: LocalCognitoSync) -> None:
    exporter = in_memory.InMemorySpanExporter()
    tracer_provider = sdk_trace.TracerProvider()
    tracer_provider.add_span_processor(sdk_export.SimpleSpanProcessor(exporter))
    instrumentor = otel.CognitoSyncInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    instrumentor.uninstrument()
    async with client_for(svc) as client:
        await client.list_datasets(identity_pool_id=POOL, identity_id=IDENTITY)
    assert exporter.get_finished_spans() == ()
