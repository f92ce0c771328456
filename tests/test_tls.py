"""TLS failures: a handshake cut short is a connection error worth a retry; a
server that does not speak TLS, or a certificate nobody trusts, is not retried."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from support.httpserver import CREDS, DATASET, IDENTITY, POOL

from cognitosync_async import CognitoSyncClient, EndpointConnectionError, HTTPClientError

E = TypeVar("E", bound=BaseException)


async def describe(client: CognitoSyncClient) -> Any:
    return await client.describe_dataset(
        identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET
    )


async def describe_over_https(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    error: type[E],
    **options: Any,
) -> pytest.ExceptionInfo[E]:
    """``describe`` over https to a plain asyncio server on 127.0.0.1 whose connections
    ``handler`` takes; the ``error`` it must raise."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with CognitoSyncClient(
            "us-east-1", credentials=CREDS, endpoint_url=f"https://127.0.0.1:{port}", **options
        ) as client:
            with pytest.raises(error) as info:
                await describe(client)
    finally:
        server.close()
        await server.wait_closed()
    return info


async def test_tls_failure_is_not_retried() -> None:
    connections = 0

    async def not_tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    info = await describe_over_https(
        not_tls, HTTPClientError, max_attempts=3, retry_base_delay=0.001
    )
    assert not isinstance(info.value, EndpointConnectionError)
    assert isinstance(info.value.__cause__, aiohttp.ClientSSLError)
    assert connections == 1


async def test_tls_handshake_cut_short_is_retried() -> None:
    connections = 0

    async def close_notify(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.read(5)  # the ClientHello
        writer.write(bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00]))  # alert close_notify
        await writer.drain()
        try:
            await reader.read()  # until the client gives up
        finally:
            writer.close()

    info = await describe_over_https(
        close_notify, EndpointConnectionError,
        max_attempts=3, retry_base_delay=0.001, retry_max_delay=0.01,
    )
    cause = info.value.__cause__
    assert isinstance(cause, aiohttp.ClientSSLError)
    assert isinstance(cause.os_error, ssl.SSLZeroReturnError)
    assert connections == 3

def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    return ctx

async def test_untrusted_certificate_is_not_retried(tmp_path: Path) -> None:
    ctx = _self_signed(tmp_path)
    connections = 0

    async def tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        loop = asyncio.get_running_loop()
        transport = writer.transport
        try:  # loop.start_tls, not StreamWriter.start_tls: that one is Python 3.11+
            await loop.start_tls(transport, transport.get_protocol(), ctx, server_side=True)
        except (ssl.SSLError, OSError):
            pass
        finally:
            writer.close()

    info = await describe_over_https(tls, HTTPClientError, max_attempts=3, retry_base_delay=0.001)
    assert not isinstance(info.value, EndpointConnectionError)
    assert isinstance(info.value.__cause__, aiohttp.ClientConnectorCertificateError)
    assert "certificate" in str(info.value)
    assert connections == 1
